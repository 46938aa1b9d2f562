//! Investor returns against the independent reference (`hubctl::reference`, SPEC section 5 in
//! plain integers, no hub code): 1,000 generated claims with random investor sets, each repaid
//! on time, late or settled early. Only the borrower's schedule comes from the hub (it is
//! checked against the sample fixtures' own figures in fixtures.rs).

use chrono::{NaiveDate, TimeDelta};
use hub::domain::money::{Currency, Money, PercentRate};
use hub::domain::repayment::{self, Period};
use hub::domain::schedule::{RepaymentMethod, Schedule, Term, TermUnit};
use hubctl::reference::{self, Kind, Loan, Terms, Unit};
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

#[derive(Debug, Clone, Copy)]
enum Fate {
    OnTime,
    /// The first instalment is paid `days` late.
    Late(i64),
    /// Settles everything left `days` after instalment `at`'s due date.
    Early {
        at: usize,
        days: i64,
    },
}

/// A generated claim: terms, the hub's schedule, 1 to 8 tickets in whole 1,000s.
fn generate(dice: &mut Dice) -> (Terms, Schedule, Term, RepaymentMethod, Vec<i128>) {
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
    let count = 1 + dice.below(8) as usize;
    let mut units: Vec<i128> = (0..count).map(|_| 1 + i128::from(dice.below(50))).collect();
    let weight: i128 = units.iter().sum();
    let mut left = amount / 1_000;
    for (k, w) in units.iter_mut().enumerate() {
        *w = if k + 1 == count {
            left
        } else {
            (amount / 1_000 * *w / weight).max(1).min(left - (count - k - 1) as i128)
        };
        left -= *w;
    }
    let invested: Vec<i128> = units.into_iter().map(|u| u * 1_000).collect();
    assert_eq!(invested.iter().sum::<i128>(), amount, "tickets sum to the amount");
    let terms = Terms {
        amount,
        upfront_fee: amount / 50,
        loan_rate_e4: loan_e4,
        investor_rate_e4: investor_e4,
        term: term.count(),
        unit: if term.unit() == TermUnit::Day { Unit::Day } else { Unit::Month },
        method: if method == RepaymentMethod::Bullet {
            reference::Method::Bullet
        } else {
            reference::Method::EqualInstallment
        },
        schedule: schedule.installments.iter().map(|i| (int(i.principal), int(i.interest))).collect(),
    };
    (terms, schedule, term, method, invested)
}

#[test]
fn investor_returns_match_an_independent_calculation_for_1000_claims() {
    let mut dice = Dice(0x5EED_2026_1203);
    let (mut repayments, mut late, mut early, mut payouts, mut capped) = (0, 0, 0, 0, 0);
    let daily_late_e4 = 3_000; // 0.3 % a day
    for claim in 0..1_000 {
        let (terms, schedule, term, method, invested) = generate(&mut dice);
        let disbursed = NaiveDate::from_ymd_opt(2026, 1 + dice.below(12) as u32, 1 + dice.below(28) as u32).unwrap();
        let n = terms.schedule.len();
        let hub_due = repayment::due_dates(term, disbursed, n as u32);
        let (amount, total_interest, upfront_fee) = (terms.amount, terms.total_interest(), terms.upfront_fee);
        let mut loan = Loan::new(terms, disbursed, invested.clone(), daily_late_e4).unwrap();
        assert_eq!(hub_due, loan.due, "claim {claim}: due dates");
        let fate = match dice.below(5) {
            0 => Fate::Late(1 + dice.below(400) as i64),
            1 if n > 1 => Fate::Early { at: 1 + dice.below(n as u64 - 1) as usize, days: dice.below(25) as i64 },
            _ => Fate::OnTime,
        };
        let mut hub_overdue_charged = Money::ZERO;
        while !loan.is_repaid() {
            let k = loan.paid;
            let (kind, on) = match fate {
                Fate::Late(days) if k == 0 => (Kind::Installment, loan.due[0] + TimeDelta::days(days)),
                Fate::Early { at, days } if k == at => (Kind::EarlySettlement, loan.due[k - 1] + TimeDelta::days(days)),
                _ => (Kind::Installment, loan.due[k]),
            };
            let outstanding: Vec<Money> = loan.outstanding.iter().map(|o| money(*o)).collect();
            let expected = loan.pay(kind, on).unwrap_or_else(|e| panic!("claim {claim}: {e}"));
            // The hub's figures for the same repayment, from its own functions.
            let (principal, interest, fee, period) = match kind {
                Kind::Installment => {
                    let room = repayment::cap_room(
                        money(amount),
                        money(total_interest),
                        money(upfront_fee),
                        hub_overdue_charged,
                    );
                    let days = repayment::days_late(hub_due[k], on);
                    let inst = &schedule.installments[k];
                    let fee = repayment::overdue_fee(Currency::IDR, inst.principal, rate(daily_late_e4), days, room);
                    if days > 0 {
                        late += 1;
                        capped += usize::from(int(fee) == int(room) && int(fee) > 0);
                    }
                    (inst.principal, inst.interest, fee, Period::of_installment(term, method))
                }
                Kind::EarlySettlement => {
                    early += 1;
                    let left = money(outstanding.iter().map(|o| int(*o)).sum());
                    let from = hub_due[k - 1];
                    let interest = repayment::early_settlement_interest(
                        Currency::IDR,
                        left,
                        rate(loan.terms.loan_rate_e4),
                        from,
                        on,
                    );
                    (left, interest, Money::ZERO, Period::Days((on - from).num_days() as u32))
                }
            };
            hub_overdue_charged = hub_overdue_charged + fee;
            let o = expected.owed;
            assert_eq!(
                (int(principal), int(interest), int(fee)),
                (o.principal, o.interest, o.overdue_fee),
                "claim {claim} repayment at {k}"
            );
            let invested_money: Vec<Money> = invested.iter().map(|v| money(*v)).collect();
            let got = repayment::split_repayment(
                principal,
                interest,
                fee,
                &invested_money,
                &outstanding,
                rate(loan.terms.investor_rate_e4),
                period,
            )
            .unwrap_or_else(|| panic!("claim {claim}: the spread went negative"));
            let got_pairs: Vec<(i128, i128)> = got.investors.iter().map(|(p, i)| (int(*p), int(*i))).collect();
            assert_eq!(got_pairs, expected.investors, "claim {claim} repayment at {k}");
            assert_eq!((int(got.spread), int(got.overdue_fee)), (expected.spread, o.overdue_fee), "claim {claim}");
            assert_eq!(int(got.total()), o.total(), "claim {claim}: every split sums exactly");
            repayments += 1;
            payouts += got.investors.len();
        }
        assert!(
            loan.outstanding.iter().all(|o| *o == 0),
            "claim {claim}: each investor got exactly their principal back"
        );
    }
    println!(
        "investor returns: 1000 claims, {repayments} repayments ({late} late, {capped} of them at the fee cap, \
         {early} early settlements), {payouts} investor payouts, all equal to the reference, every split exact"
    );
}
