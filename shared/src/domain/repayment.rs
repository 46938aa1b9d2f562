//! Repayment arithmetic (SPEC section 5): due dates, the overdue fee up to the total-cost cap,
//! early settlement, and how a collected repayment splits across investors and income. Pure
//! rules over whole rupiah; the repayment chain (issue 4) applies them.

use super::money::{Currency, Money, PercentRate};
use super::schedule::{RepaymentMethod, Term, TermUnit};
use chrono::{Days, Months, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Due dates from the disbursement date (Jakarta): DAY loans, disbursement + term days;
/// MONTH loans, the same day of the month k months later, clamped to the month's last day.
pub fn due_dates(term: Term, disbursed_on: NaiveDate, installments: u32) -> Vec<NaiveDate> {
    match term.unit() {
        TermUnit::Day => {
            vec![disbursed_on.checked_add_days(Days::new(u64::from(term.count()))).unwrap_or(NaiveDate::MAX)]
        }
        TermUnit::Month => (1..=installments)
            .map(|k| disbursed_on.checked_add_months(Months::new(k)).unwrap_or(NaiveDate::MAX))
            .collect(),
    }
}

/// Days late: repayment date minus due date; paying on the due date is on time.
pub fn days_late(due: NaiveDate, paid_on: NaiveDate) -> u32 {
    u32::try_from((paid_on - due).num_days().max(0)).unwrap_or(u32::MAX)
}

/// What the 100 % cap still allows in overdue fees: amount - (total interest + upfront fee +
/// overdue fees already charged), never below zero.
pub fn cap_room(amount: Money, total_interest: Money, upfront_fee: Money, overdue_charged: Money) -> Money {
    let used = total_interest.value() + upfront_fee.value() + overdue_charged.value();
    Money::from_decimal((amount.value() - used).max(Decimal::ZERO))
}

/// The overdue fee of one instalment `days` late: hu(principal x daily rate) a day, the day
/// that would cross the cap adding only what is left (`cap_room`).
pub fn overdue_fee(currency: Currency, principal: Money, daily_rate: PercentRate, days: u32, cap_room: Money) -> Money {
    let per_day = currency.round_half_up(principal.value() * daily_rate.percent() / Decimal::ONE_HUNDRED);
    Money::from_decimal((per_day * Decimal::from(days)).min(cap_room.value()))
}

/// Early settlement of the whole remaining loan: the outstanding principal, plus interest at
/// the borrower rate from the last due date (or the disbursement) to the repayment date,
/// ACT/365, half-up; no penalty.
pub fn early_settlement_interest(
    currency: Currency,
    outstanding: Money,
    loan_rate: PercentRate,
    from: NaiveDate,
    on: NaiveDate,
) -> Money {
    let days = Decimal::from((on - from).num_days().max(0));
    // Multiply first, divide last, so a true half-rupiah tie stays exact.
    Money::from_decimal(
        currency.round_half_up(outstanding.value() * loan_rate.percent() * days / Decimal::from(100 * 365)),
    )
}

/// Splits `total` pro rata to `weights`: every share rounds down, then the rupiah left are
/// handed out one each by largest remainder, ties to the earlier weight (the earlier
/// investment). The shares always sum to `total`. Zero weights get nothing; all-zero
/// weights give everything to nobody (an empty result is the caller's error to report).
pub fn split(total: Money, weights: &[Money]) -> Vec<Money> {
    let sum: Decimal = weights.iter().map(|w| w.value()).sum();
    if sum.is_zero() {
        return vec![Money::ZERO; weights.len()];
    }
    // In whole numbers: share = (total x weight) div sum, remainder = (total x weight) mod
    // sum. Dividing first would round the remainders and misorder near-ties.
    let scaled: Vec<Decimal> = weights.iter().map(|w| total.value() * w.value()).collect();
    let remainders: Vec<Decimal> = scaled.iter().map(|s| s % sum).collect();
    let mut shares: Vec<Decimal> = scaled.iter().zip(&remainders).map(|(s, r)| (s - r) / sum).collect();
    let handed: Decimal = shares.iter().sum();
    // Fewer rupiah are left than there are weights: each remainder is below one share.
    let left = (total.value() - handed).to_usize().unwrap_or(0);
    let mut order: Vec<usize> = (0..weights.len()).filter(|i| !weights[*i].value().is_zero()).collect();
    // Largest remainder first; the sort is stable, so ties keep the earlier investment first.
    order.sort_by(|a, b| remainders[*b].cmp(&remainders[*a]));
    for i in order.into_iter().take(left) {
        shares[i] += Decimal::ONE;
    }
    shares.into_iter().map(Money::from_decimal).collect()
}

/// The part of a year one repayment's interest covers, for investors' interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// term/365 for DAY loans, days/365 for an early settlement.
    Days(u32),
    /// 1/12 for an equal instalment, term/12 for a BULLET MONTH loan.
    Months(u32),
}

impl Period {
    /// The period of one scheduled instalment.
    pub fn of_installment(term: Term, method: RepaymentMethod) -> Period {
        match (term.unit(), method) {
            (TermUnit::Day, _) => Period::Days(term.count()),
            (TermUnit::Month, RepaymentMethod::Bullet) => Period::Months(term.count()),
            (TermUnit::Month, RepaymentMethod::EqualInstallment) => Period::Months(1),
        }
    }

    fn year_fraction(self) -> (Decimal, Decimal) {
        match self {
            Period::Days(d) => (Decimal::from(d), Decimal::from(365)),
            Period::Months(m) => (Decimal::from(m), Decimal::from(12)),
        }
    }
}

/// One investor's interest for a period: floor(outstanding principal x rate/100 x period).
pub fn investor_interest(outstanding: Money, rate: PercentRate, period: Period) -> Money {
    let (n, per_year) = period.year_fraction();
    Money::from_decimal((outstanding.value() * rate.percent() * n / (Decimal::ONE_HUNDRED * per_year)).floor())
}

/// Where one collected repayment goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payouts {
    /// Per investor, in the order given: principal back and interest.
    pub investors: Vec<(Money, Money)>,
    /// Interest collected minus interest paid to investors: to income.
    pub spread: Money,
    /// To income.
    pub overdue_fee: Money,
}

impl Payouts {
    pub fn total(&self) -> Money {
        let investors: Decimal = self.investors.iter().map(|(p, i)| p.value() + i.value()).sum();
        Money::from_decimal(investors + self.spread.value() + self.overdue_fee.value())
    }
}

/// Splits a collected repayment (investors in the order they invested): `principal` pro rata
/// to the amounts invested (a repayment that clears the loan pays each investor exactly what
/// they still have outstanding, so rounding never leaves anyone a rupiah short or over); each
/// investor's interest on their outstanding principal before this repayment; the rest of the
/// interest (the spread) and the overdue fee to income. `None` if investors' interest would exceed what was collected
/// (the spread may never be negative).
pub fn split_repayment(
    principal: Money,
    interest: Money,
    overdue_fee: Money,
    invested: &[Money],
    outstanding: &[Money],
    investor_rate: PercentRate,
    period: Period,
) -> Option<Payouts> {
    let still_owed: Decimal = outstanding.iter().map(|o| o.value()).sum();
    let principals = if principal.value() == still_owed { outstanding.to_vec() } else { split(principal, invested) };
    let interests: Vec<Money> = outstanding.iter().map(|o| investor_interest(*o, investor_rate, period)).collect();
    let paid: Decimal = interests.iter().map(|i| i.value()).sum();
    let spread = interest.value() - paid;
    if spread.is_sign_negative() {
        return None;
    }
    Some(Payouts {
        investors: principals.into_iter().zip(interests).collect(),
        spread: Money::from_decimal(spread),
        overdue_fee,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(v: i64) -> Money {
        Money::from_decimal(Decimal::from(v))
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn month_due_dates_clamp_to_the_months_last_day() {
        let term = Term::new(3, TermUnit::Month).unwrap();
        assert_eq!(due_dates(term, day("2026-01-31"), 3), [day("2026-02-28"), day("2026-03-31"), day("2026-04-30")]);
        let days = Term::new(30, TermUnit::Day).unwrap();
        assert_eq!(due_dates(days, day("2026-12-15"), 1), [day("2027-01-14")]);
        assert_eq!(days_late(day("2027-01-14"), day("2027-01-14")), 0);
        assert_eq!(days_late(day("2027-01-14"), day("2027-01-17")), 3);
    }

    #[test]
    fn the_overdue_fee_stops_exactly_at_the_cap() {
        // 1,000,000 at 0.3 % a day: 3,000 a day. Cap room 10,000: day 4 adds only 1,000.
        let rate = PercentRate::from_stored(Decimal::new(3, 1));
        let fee = |days| overdue_fee(Currency::IDR, rp(1_000_000), rate, days, rp(10_000));
        assert_eq!([fee(0), fee(3), fee(4), fee(400)], [rp(0), rp(9_000), rp(10_000), rp(10_000)]);
        assert_eq!(cap_room(rp(1_000_000), rp(900_000), rp(150_000), rp(0)), rp(0), "never below zero");
    }

    #[test]
    fn splits_round_down_then_hand_out_by_largest_remainder_ties_to_the_earlier() {
        // 100 over 1:1:1 -> 33.33 each, one rupiah left, to the first (a tie).
        assert_eq!(split(rp(100), &[rp(1), rp(1), rp(1)]), [rp(34), rp(33), rp(33)]);
        // 10 over 3:7:0 -> exact.
        assert_eq!(split(rp(10), &[rp(3), rp(7), rp(0)]), [rp(3), rp(7), rp(0)]);
        // 5 over 2:2:6 -> 1, 1, 3 exact; 7 over 2:2:6 -> 1.4, 1.4, 4.2 -> 1, 1, 4 + 1 to the first .4.
        assert_eq!(split(rp(7), &[rp(2), rp(2), rp(6)]), [rp(2), rp(1), rp(4)]);
    }

    #[test]
    fn a_repayment_splits_exactly_and_the_spread_is_what_investors_do_not_get() {
        // 1,000,000 at 24 % borrower / 12 % investor, one month: interest 20,000 collected.
        let rate = PercentRate::from_stored(Decimal::from(12));
        let invested = [rp(600_000), rp(400_000)];
        let p =
            split_repayment(rp(1_000_000), rp(20_000), rp(0), &invested, &invested, rate, Period::Months(1)).unwrap();
        assert_eq!(p.investors, [(rp(600_000), rp(6_000)), (rp(400_000), rp(4_000))]);
        assert_eq!((p.spread, p.total()), (rp(10_000), rp(1_020_000)));
        assert!(split_repayment(rp(0), rp(1), rp(0), &invested, &invested, rate, Period::Months(1)).is_none());
    }
}
