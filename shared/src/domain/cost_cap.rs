//! The regulator's all-in daily cost cap (SPEC sections 3 and 4), as an effective-dated table
//! loaded from configuration.

use super::money::Money;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoanType {
    Consumer,
    Productive,
}

/// One row: from `from` (inclusive) until the next row of the same loan type, percent a day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapRow {
    pub loan_type: LoanType,
    pub from: NaiveDate,
    pub short_tenor_percent: Decimal,
    pub long_tenor_percent: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostCapTable {
    rows: Vec<CapRow>,
}

/// Which limit a claim breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CapRule {
    /// Interest + fees per day above the cap in force.
    DailyCost,
    /// Interest + fees above 100 % of the amount.
    TotalCost,
}

/// Why a claim breaks the cap, with the figures a partner needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapBreach {
    pub rule: CapRule,
    pub total_cost: Money,
    pub daily_cost_percent: Decimal,
    pub cap_percent: Decimal,
    pub cap_from: Option<NaiveDate>,
}

impl CostCapTable {
    /// Tenors up to this many days use the short-tenor cap.
    pub const SHORT_TENOR_DAYS: u32 = 180;

    pub fn new(mut rows: Vec<CapRow>) -> Result<CostCapTable, String> {
        for loan_type in [LoanType::Consumer, LoanType::Productive] {
            if !rows.iter().any(|r| r.loan_type == loan_type) {
                return Err(format!("cost cap table has no row for {loan_type:?}"));
            }
        }
        rows.sort_by_key(|r| r.from);
        Ok(CostCapTable { rows })
    }

    /// The cap (percent a day) in force on `date`; the first row also applies before its date.
    pub fn cap_on(&self, loan_type: LoanType, tenor_days: u32, date: NaiveDate) -> (Decimal, NaiveDate) {
        let mut of_type = self.rows.iter().filter(|r| r.loan_type == loan_type);
        let first = of_type.clone().next();
        let row = of_type.by_ref().filter(|r| r.from <= date).last().or(first).unwrap_or(&self.rows[0]);
        let cap = if tenor_days <= Self::SHORT_TENOR_DAYS { row.short_tenor_percent } else { row.long_tenor_percent };
        (cap, row.from)
    }

    /// Checks total interest + upfront fee against 100 % of the amount and the daily cap.
    pub fn check(
        &self,
        loan_type: LoanType,
        amount: Money,
        total_cost: Money,
        tenor_days: u32,
        listed_on: NaiveDate,
    ) -> Result<(), CapBreach> {
        let (cap, from) = self.cap_on(loan_type, tenor_days, listed_on);
        let days = Decimal::from(tenor_days);
        let hundred = Decimal::ONE_HUNDRED;
        // Compare cost*100 > cap*amount*days: exact, no division.
        let over_daily = total_cost.value() * hundred > cap * amount.value() * days;
        let over_total = total_cost > amount;
        if over_daily || over_total {
            let daily = (total_cost.value() * hundred / amount.value() / days).round_dp(6).normalize();
            return Err(CapBreach {
                rule: if over_total { CapRule::TotalCost } else { CapRule::DailyCost },
                total_cost,
                daily_cost_percent: daily,
                cap_percent: cap,
                cap_from: Some(from),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn table() -> CostCapTable {
        let row = |t, from: &str, s: &str, l: &str| CapRow {
            loan_type: t,
            from: from.parse().unwrap(),
            short_tenor_percent: d(s),
            long_tenor_percent: d(l),
        };
        CostCapTable::new(vec![
            row(LoanType::Consumer, "2025-01-01", "0.3", "0.2"),
            row(LoanType::Consumer, "2024-01-01", "0.3", "0.3"),
            row(LoanType::Productive, "2024-01-01", "0.1", "0.1"),
            row(LoanType::Productive, "2026-01-01", "0.1", "0.067"),
        ])
        .unwrap()
    }

    #[test]
    fn cap_steps_down_on_its_date_and_first_row_applies_before() {
        let t = table();
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(t.cap_on(LoanType::Consumer, 181, day("2024-12-31")).0, d("0.3"));
        assert_eq!(t.cap_on(LoanType::Consumer, 181, day("2025-01-01")).0, d("0.2"));
        assert_eq!(t.cap_on(LoanType::Consumer, 180, day("2026-06-01")).0, d("0.3"));
        assert_eq!(t.cap_on(LoanType::Productive, 200, day("2023-05-01")).0, d("0.1"));
        assert_eq!(t.cap_on(LoanType::Productive, 200, day("2026-01-01")).0, d("0.067"));
    }

    #[test]
    fn check_refuses_above_daily_cap_and_accepts_exactly_at_it() {
        let t = table();
        let m = |v: i64| Money::from_decimal(Decimal::from(v));
        let on = "2026-11-21".parse().unwrap();
        // 1,000,000 over 10 days at 0.3 %/day allows exactly 30,000.
        assert!(t.check(LoanType::Consumer, m(1_000_000), m(30_000), 10, on).is_ok());
        let breach = t.check(LoanType::Consumer, m(1_000_000), m(30_001), 10, on).unwrap_err();
        assert_eq!(breach.cap_percent, d("0.3"));
        // Above 100 % of the amount is refused whatever the daily figure.
        assert!(t.check(LoanType::Consumer, m(1_000), m(1_001), 720, on).is_err());
    }
}
