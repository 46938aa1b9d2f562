//! Investor returns against an independent reference (issue 4, first part): 1,000 generated
//! claims with random investor sets, each repaid on time, late or settled early. The
//! reference below works in plain integers (rates in ten-thousandths of a percent) straight
//! from SPEC section 5; only the borrower's schedule comes from the hub (it is checked against
//! the sample fixtures' own figures in fixtures.rs).

use chrono::NaiveDate;
use hub::domain::money::{Currency, Money, PercentRate};
use hub::domain::repayment::{self, Period};
use hub::domain::schedule::{RepaymentMethod, Schedule, Term, TermUnit};
use rust_decimal::Decimal;

/// xorshift64*: a reproducible stream without a dependency.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn money(v: i128) -> Money {
    Money::from_decimal(Decimal::from(v))
}

fn int(m: Money) -> i128 {
    m.value().try_into().expect("whole rupiah")
}

/// A rate in percent with up to 4 decimals, as ten-thousandths.
fn rate(e4: i128) -> PercentRate {
    PercentRate::from_stored(Decimal::new(e4 as i64, 4))
}

/// floor(n / d) and half-up round(n / d) for n >= 0, d > 0.
fn floor_div(n: i128, d: i128) -> i128 {
    n / d
}
fn half_up(n: i128, d: i128) -> i128 {
    (2 * n + d) / (2 * d)
}

/// The reference split: floor, then the remainders largest first, ties to the earlier.
fn reference_split(total: i128, weights: &[i128]) -> Vec<i128> {
    let sum: i128 = weights.iter().sum();
    let mut shares: Vec<i128> = weights.iter().map(|w| total * w / sum).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|i| (std::cmp::Reverse(total * weights[*i] % sum), *i));
    let left = total - shares.iter().sum::<i128>();
    for i in order.into_iter().take(left as usize) {
        shares[i] += 1;
    }
    shares
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    OnTime,
    Late(i64),
    /// Settles everything left early, `days` after the previous due date, at instalment k.
    Early {
        at: u32,
        days: i64,
    },
}

#[test]
fn investor_returns_match_an_independent_calculation_for_1000_claims() {
    let mut dice = Dice(0x5EED_2026_1203);
    let (mut repayments, mut late, mut early, mut payouts) = (0, 0, 0, 0);
    let daily_late_e4 = 3_000; // 0.3 % a day
    for claim in 0..1_000 {
        let amount = i128::from(1 + dice.below(200)) * 100_000;
        let loan_e4 = i128::from(120_000 + dice.below(120_000)); // 12 % to 24 % a year
        let investor_e4 = loan_e4 - i128::from(dice.below(60_000)); // up to 6 points less
        let (term, method) = if dice.below(2) == 0 {
            (Term::new(7 + dice.below(170) as u32, TermUnit::Day).unwrap(), RepaymentMethod::Bullet)
        } else {
            let months = 1 + dice.below(12) as u32;
            let method = if dice.below(4) == 0 { RepaymentMethod::Bullet } else { RepaymentMethod::EqualInstallment };
            (Term::new(months, TermUnit::Month).unwrap(), method)
        };
        let schedule = Schedule::build(Currency::IDR, money(amount), rate(loan_e4), term, method);
        let fee = amount / 50;
        // Investors: 1 to 8 tickets in whole 1,000s summing to the amount.
        let count = 1 + dice.below(8) as usize;
        let mut invested: Vec<i128> = (0..count).map(|_| 1 + i128::from(dice.below(50))).collect();
        let units: i128 = invested.iter().sum();
        let mut left = amount / 1_000;
        for (k, w) in invested.iter_mut().enumerate() {
            *w = if k + 1 == count {
                left
            } else {
                (amount / 1_000 * *w / units).max(1).min(left - (count - k - 1) as i128)
            };
            left -= *w;
        }
        let invested: Vec<i128> = invested.into_iter().map(|u| u * 1_000).collect();
        assert_eq!(invested.iter().sum::<i128>(), amount, "claim {claim}: tickets");

        let disbursed = NaiveDate::from_ymd_opt(2026, 1 + dice.below(12) as u32, 1 + dice.below(28) as u32).unwrap();
        let n = schedule.installments.len() as u32;
        let due = repayment::due_dates(term, disbursed, n);
        let kind = match dice.below(5) {
            0 => Kind::Late(1 + dice.below(40) as i64),
            1 if n > 1 => Kind::Early { at: 1 + dice.below(u64::from(n - 1)) as u32, days: dice.below(25) as i64 },
            _ => Kind::OnTime,
        };
        let mut outstanding = invested.clone();
        let mut principal_left = amount;
        let mut overdue_charged = 0;
        let total_interest = int(schedule.total_interest());
        for (k, inst) in schedule.installments.iter().enumerate() {
            let k1 = k as u32 + 1;
            let (principal, interest, fee_due, period, investor_period_n, per_year) = match kind {
                Kind::Early { at, days } if k1 == at + 1 => {
                    // Everything left, interest from the previous due date.
                    let from = due[k - 1];
                    let on = from + chrono::Duration::days(days);
                    let interest = repayment::early_settlement_interest(
                        Currency::IDR,
                        money(principal_left),
                        rate(loan_e4),
                        from,
                        on,
                    );
                    let expected = half_up(principal_left * loan_e4 * i128::from(days), 100 * 10_000 * 365);
                    assert_eq!(int(interest), expected, "claim {claim}: early interest");
                    early += 1;
                    (principal_left, expected, 0, Period::Days(days as u32), i128::from(days), 365)
                }
                Kind::Early { at, .. } if k1 > at + 1 => break,
                _ => {
                    let days_late = match kind {
                        Kind::Late(d) if k == 0 => d,
                        _ => 0,
                    };
                    let paid_on = due[k] + chrono::Duration::days(days_late);
                    let days = repayment::days_late(due[k], paid_on);
                    let room =
                        repayment::cap_room(money(amount), money(total_interest), money(fee), money(overdue_charged));
                    let fee_due =
                        repayment::overdue_fee(Currency::IDR, inst.principal, rate(daily_late_e4), days, room);
                    let per_day = half_up(int(inst.principal) * daily_late_e4, 100 * 10_000);
                    let cap_left = (amount - total_interest - fee - overdue_charged).max(0);
                    let expected_fee = (per_day * i128::from(days)).min(cap_left);
                    assert_eq!(int(fee_due), expected_fee, "claim {claim}: overdue fee");
                    if days > 0 {
                        late += 1;
                    }
                    overdue_charged += expected_fee;
                    let (n_period, per_year) = match (term.unit(), method) {
                        (TermUnit::Day, _) => (i128::from(term.count()), 365),
                        (TermUnit::Month, RepaymentMethod::Bullet) => (i128::from(term.count()), 12),
                        (TermUnit::Month, RepaymentMethod::EqualInstallment) => (1, 12),
                    };
                    let period = Period::of_installment(term, method);
                    (int(inst.principal), int(inst.interest), expected_fee, period, n_period, per_year)
                }
            };
            let got = repayment::split_repayment(
                money(principal),
                money(interest),
                money(fee_due),
                &invested.iter().map(|v| money(*v)).collect::<Vec<_>>(),
                &outstanding.iter().map(|v| money(*v)).collect::<Vec<_>>(),
                rate(investor_e4),
                period,
            )
            .unwrap_or_else(|| panic!("claim {claim}: the spread went negative"));
            // The repayment that clears the loan pays each investor what they still have.
            let principals = if principal == outstanding.iter().sum::<i128>() {
                outstanding.clone()
            } else {
                reference_split(principal, &invested)
            };
            let interests: Vec<i128> = outstanding
                .iter()
                .map(|o| floor_div(o * investor_e4 * investor_period_n, 100 * 10_000 * per_year))
                .collect();
            let spread = interest - interests.iter().sum::<i128>();
            assert!(spread >= 0, "claim {claim}: spread {spread}");
            let got_pairs: Vec<(i128, i128)> = got.investors.iter().map(|(p, i)| (int(*p), int(*i))).collect();
            let want_pairs: Vec<(i128, i128)> = principals.iter().copied().zip(interests.iter().copied()).collect();
            assert_eq!(got_pairs, want_pairs, "claim {claim} instalment {k1}");
            assert_eq!((int(got.spread), int(got.overdue_fee)), (spread, fee_due), "claim {claim} instalment {k1}");
            assert_eq!(int(got.total()), principal + interest + fee_due, "claim {claim}: every split sums exactly");
            for (o, p) in outstanding.iter_mut().zip(&principals) {
                *o -= p;
            }
            principal_left -= principal;
            repayments += 1;
            payouts += got.investors.len();
        }
        assert!(outstanding.iter().all(|o| *o == 0), "claim {claim}: each investor got exactly their principal back");
        assert_eq!(principal_left, 0, "claim {claim}: all principal repaid");
    }
    println!(
        "investor returns: 1000 claims, {repayments} repayments ({late} late, {early} early settlements), \
         {payouts} investor payouts, all equal to the reference, every split exact"
    );
}
