//! Repayment schedules (SPEC section 4): bullet and equal-instalment, half-up to whole rupiah,
//! the last instalment absorbing rounding.

use super::money::{Currency, Money, PercentRate};
use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TermUnit {
    Day,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepaymentMethod {
    Bullet,
    EqualInstallment,
}

/// A loan's term: a count of days or months. Constructed only through [`Term::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    count: u32,
    unit: TermUnit,
}

impl Term {
    pub const MAX_DAYS: u32 = 720;
    pub const MAX_MONTHS: u32 = 60;

    pub fn new(count: u32, unit: TermUnit) -> Result<Term, &'static str> {
        let max = match unit {
            TermUnit::Day => Self::MAX_DAYS,
            TermUnit::Month => Self::MAX_MONTHS,
        };
        match count {
            0 => Err("must be at least 1"),
            c if c > max => Err(match unit {
                TermUnit::Day => "must be at most 720 for DAY",
                TermUnit::Month => "must be at most 60 for MONTH",
            }),
            _ => Ok(Term { count, unit }),
        }
    }

    pub fn count(self) -> u32 {
        self.count
    }

    pub fn unit(self) -> TermUnit {
        self.unit
    }

    /// Days the cost cap divides by: the term in days, or 30 a month.
    pub fn cap_days(self) -> u32 {
        match self.unit {
            TermUnit::Day => self.count,
            TermUnit::Month => 30 * self.count,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Installment {
    pub installment_no: u32,
    pub principal: Money,
    pub interest: Money,
}

/// What the borrower owes: the schedule and its total interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub installments: Vec<Installment>,
}

impl Schedule {
    pub fn build(
        currency: Currency,
        amount: Money,
        rate: PercentRate,
        term: Term,
        method: RepaymentMethod,
    ) -> Schedule {
        let principal = amount.value();
        let r = rate.percent();
        let count = Decimal::from(term.count());
        let installments = match (method, term.unit()) {
            (RepaymentMethod::Bullet, unit) => {
                // Multiply first, divide last: a true half-rupiah tie stays exact.
                let per_year = match unit {
                    TermUnit::Day => Decimal::from(100 * 365),
                    TermUnit::Month => Decimal::from(100 * 12),
                };
                let interest = currency.round_half_up(principal * r * count / per_year);
                vec![Installment { installment_no: 1, principal: amount, interest: Money::from_decimal(interest) }]
            }
            (RepaymentMethod::EqualInstallment, _) => annuity(currency, principal, r, term.count()),
        };
        Schedule { installments }
    }

    pub fn total_interest(&self) -> Money {
        self.installments.iter().fold(Money::ZERO, |sum, i| sum + i.interest)
    }
}

fn annuity(currency: Currency, principal: Decimal, rate_percent: Decimal, months: u32) -> Vec<Installment> {
    let per_month = Decimal::from(100 * 12);
    let m = rate_percent / per_month;
    // payment = P*m / (1 - (1+m)^-n) = P*m*g / (g - 1) with g = (1+m)^n.
    let growth = (0..months).fold(Decimal::ONE, |g, _| g * (Decimal::ONE + m));
    let payment = currency.round_half_up(principal * m * growth / (growth - Decimal::ONE));
    let mut balance = principal;
    (1..=months)
        .map(|k| {
            let interest = currency.round_half_up(balance * rate_percent / per_month);
            let principal_k = if k == months { balance } else { payment - interest };
            balance -= principal_k;
            Installment {
                installment_no: k,
                principal: Money::from_decimal(principal_k),
                interest: Money::from_decimal(interest),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn money(v: i64) -> Money {
        Money::from_decimal(Decimal::from(v))
    }

    fn rate(s: &str) -> PercentRate {
        PercentRate::parse(&json!(s)).unwrap()
    }

    #[test]
    fn bullet_day_interest_is_amount_rate_days_over_365() {
        // 5,000,000 x 18 % x 21/365 = 51,780.82 -> 51,781
        let s = Schedule::build(
            Currency::IDR,
            money(5_000_000),
            rate("18"),
            Term::new(21, TermUnit::Day).unwrap(),
            RepaymentMethod::Bullet,
        );
        assert_eq!(
            s.installments,
            vec![Installment { installment_no: 1, principal: money(5_000_000), interest: money(51_781) }]
        );
    }

    #[test]
    fn bullet_month_interest_is_amount_rate_months_over_12() {
        // 7,500,000 x 18.25 % x 6/12 = 684,375
        let s = Schedule::build(
            Currency::IDR,
            money(7_500_000),
            rate("18.25"),
            Term::new(6, TermUnit::Month).unwrap(),
            RepaymentMethod::Bullet,
        );
        assert_eq!(s.total_interest(), money(684_375));
    }

    #[test]
    fn annuity_matches_a_hand_calculation() {
        // 1,200,000 at 12 % over 3 months: m = 1 %, pmt = 1,200,000 x 0.01 x 1.030301 / 0.030301
        // = 408,026.53 -> 408,027. Interest hu(1 % of the balance): 12,000 / 8,039.73 / 4,039.86.
        let s = Schedule::build(
            Currency::IDR,
            money(1_200_000),
            rate("12"),
            Term::new(3, TermUnit::Month).unwrap(),
            RepaymentMethod::EqualInstallment,
        );
        let got: Vec<(i64, i64)> = s
            .installments
            .iter()
            .map(|i| (i.principal.value().try_into().unwrap(), i.interest.value().try_into().unwrap()))
            .collect();
        // balance 1,200,000 -> 803,973 -> 403,986 -> 0; the last instalment takes the rest
        assert_eq!(got, vec![(396_027, 12_000), (399_987, 8_040), (403_986, 4_040)]);
        let principal_sum = s.installments.iter().fold(Money::ZERO, |a, i| a + i.principal);
        assert_eq!(principal_sum, money(1_200_000));
    }

    #[test]
    fn term_limits_follow_the_unit() {
        assert!(Term::new(0, TermUnit::Day).is_err());
        assert!(Term::new(720, TermUnit::Day).is_ok());
        assert!(Term::new(721, TermUnit::Day).is_err());
        assert!(Term::new(60, TermUnit::Month).is_ok());
        assert!(Term::new(61, TermUnit::Month).is_err());
        assert_eq!(Term::new(6, TermUnit::Month).unwrap().cap_days(), 180);
    }
}
