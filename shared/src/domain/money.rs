//! Money and rates. Amounts are `rust_decimal`, never floats; the currency's minor-unit rule
//! lives in [`Currency`] so a second currency is a table entry.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;
use std::fmt;

/// Currency facts the hub relies on. IDR has no minor unit in practice: whole rupiah.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    pub code: &'static str,
    pub minor_units: u32,
}

impl Currency {
    pub const IDR: Currency = Currency { code: "IDR", minor_units: 0 };

    /// Half-up rounding to the currency's smallest unit (`hu()` in the SPEC).
    pub fn round_half_up(&self, value: Decimal) -> Decimal {
        value.round_dp_with_strategy(self.minor_units, RoundingStrategy::MidpointAwayFromZero).normalize()
    }

    /// Rounding down to the smallest unit (investor shares).
    pub fn floor(&self, value: Decimal) -> Decimal {
        value.round_dp_with_strategy(self.minor_units, RoundingStrategy::ToZero).normalize()
    }

    /// Parses an amount sent as a JSON string (`"1500000"`) or an exactly converting JSON
    /// integer. No sign, exponent, whitespace or more fraction digits than the currency has.
    pub fn parse_amount(&self, value: &Value) -> Result<Money, &'static str> {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => match n.as_u64() {
                Some(int) => int.to_string(),
                None => return Err(number_fault(n)),
            },
            _ => return Err("must be an amount string such as \"1500000\""),
        };
        if text.len() > MAX_AMOUNT_TEXT {
            return Err("is too long");
        }
        if text.starts_with('-') {
            return Err("must not be negative");
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
            return Err("must be a plain decimal number without sign or exponent");
        }
        if text.contains('.') && (fraction.is_empty() || fraction.len() > self.minor_units as usize) {
            return Err(if self.minor_units == 0 {
                "must be a whole amount (no fraction)"
            } else {
                "has more decimals than the currency allows"
            });
        }
        if whole.trim_start_matches('0').len() > MAX_AMOUNT_DIGITS {
            return Err("is too large");
        }
        text.parse::<Decimal>().map(|d| Money(d.normalize())).map_err(|_| "is not a valid amount")
    }
}

/// Why a JSON number is not an acceptable amount, read from its text (never as a float).
fn number_fault(n: &serde_json::Number) -> &'static str {
    let text = n.to_string();
    if text.starts_with('-') {
        "must not be negative"
    } else {
        "must be a whole amount of at most 15 digits, sent as a string or an integer"
    }
}

/// Longest amount text looked at: longer input is refused before any parsing.
const MAX_AMOUNT_TEXT: usize = 32;

/// Whole amounts stay far below `Decimal`'s 28 digits, so schedule arithmetic never overflows.
const MAX_AMOUNT_DIGITS: usize = 15;

/// An amount of the hub's currency (IDR), already checked against its minor-unit rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Wraps a value computed by the hub itself (already rounded by [`Currency`]).
    pub fn from_decimal(value: Decimal) -> Money {
        Money(value.normalize())
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// An annual rate in percent (`"18.25"` = 18.25 % a year): 0 < rate <= 100, at most 4 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PercentRate(Decimal);

impl PercentRate {
    const MAX_DECIMALS: u32 = 4;

    pub fn parse(value: &Value) -> Result<PercentRate, &'static str> {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.is_u64() => n.to_string(),
            _ => return Err("must be a percent string such as \"18.25\""),
        };
        if text.len() > 16 {
            return Err("is too long");
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits_only(whole)
            || !digits_only(fraction)
            || (text.contains('.') && fraction.is_empty())
        {
            return Err("must be a plain decimal percent such as \"18.25\" (no sign or exponent)");
        }
        if fraction.trim_end_matches('0').len() > Self::MAX_DECIMALS as usize {
            return Err("has more than 4 decimals");
        }
        let rate: Decimal = text.parse().map_err(|_| "is not a valid percent")?;
        if rate <= Decimal::ZERO {
            return Err("must be greater than 0");
        }
        if rate > Decimal::ONE_HUNDRED {
            return Err("must be at most 100");
        }
        Ok(PercentRate(rate.normalize()))
    }

    /// Wraps a stored value the hub validated before.
    pub fn from_stored(value: Decimal) -> PercentRate {
        PercentRate(value.normalize())
    }

    pub fn percent(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for PercentRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl serde::Serialize for PercentRate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn amount(v: Value) -> Result<String, &'static str> {
        Currency::IDR.parse_amount(&v).map(|m| m.to_string())
    }

    #[test]
    fn amounts_accept_whole_rupiah_strings_and_integers_only() {
        assert_eq!(amount(json!("1500000")), Ok("1500000".into()));
        assert_eq!(amount(json!(1500000)), Ok("1500000".into()));
        assert_eq!(amount(json!("0")), Ok("0".into()));
        for bad in [
            json!("5000000.50"),
            json!("5000000."),
            json!("5000000.0"),
            json!("-1000000"),
            json!("+1000000"),
            json!("1e6"),
            json!(" 100"),
            json!(""),
            json!(1500000.5),
            json!(-5),
            json!(null),
            json!(true),
            json!("1000000000000000000"),
            json!(format!("{}1", "0".repeat(60_000))),
        ] {
            assert!(amount(bad.clone()).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn half_up_rounds_midpoints_away_from_zero() {
        let idr = Currency::IDR;
        assert_eq!(idr.round_half_up(Decimal::new(5_178_082, 2)), Decimal::new(51_781, 0));
        assert_eq!(idr.round_half_up(Decimal::new(25, 1)), Decimal::new(3, 0));
        assert_eq!(idr.round_half_up(Decimal::new(2_4999, 4)), Decimal::new(2, 0));
        assert_eq!(idr.floor(Decimal::new(2_9999, 4)), Decimal::new(2, 0));
    }

    #[test]
    fn rates_are_percent_strings_in_range_with_four_decimals_at_most() {
        let ok = |v: Value| PercentRate::parse(&v).map(|r| r.to_string());
        assert_eq!(ok(json!("18.25")), Ok("18.25".into()));
        assert_eq!(ok(json!("8")), Ok("8".into()));
        assert_eq!(ok(json!("100")), Ok("100".into()));
        assert_eq!(ok(json!("12.1234")), Ok("12.1234".into()));
        for bad in [json!("0"), json!("240"), json!("12.12345"), json!("-1"), json!(18.25), json!("1e1")] {
            assert!(ok(bad.clone()).is_err(), "{bad} must be refused");
        }
    }
}
