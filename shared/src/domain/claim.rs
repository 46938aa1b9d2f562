//! Interface 1's claim: parsed from JSON into types whose constructors enforce SPEC section 4.
//! Every offending field is reported, not just the first.

use super::cost_cap::LoanType;
use super::error::FieldError;
use super::fields::Fields;
use super::money::{Currency, Money, PercentRate};
use super::schedule::{RepaymentMethod, Term, TermUnit};
use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt;

/// A claim number: the originator's loan order number, unique per originator. URL-safe, so
/// interface 7 can carry it in the path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClaimNo(String);

impl ClaimNo {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<ClaimNo, &'static str> {
        if text.trim().is_empty() {
            return Err("must not be blank");
        }
        if text.len() > Self::MAX_LEN {
            return Err("must be at most 64 characters");
        }
        let starts_well = text.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if !starts_well || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return Err("must start with a letter or digit and contain only letters, digits, '.', '_' and '-'");
        }
        Ok(ClaimNo(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClaimNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The borrower's payout account. Personal data: never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub bank_code: String,
    pub bank_name: String,
    pub account_no: String,
    pub account_name: String,
}

impl fmt::Debug for BankAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BankAccount")
            .field("bank_code", &self.bank_code)
            .field("account_no", &mask(&self.account_no))
            .finish_non_exhaustive()
    }
}

/// Keeps the last four characters: `********0996`.
pub fn mask(value: &str) -> String {
    let keep = value.chars().count().saturating_sub(4);
    value.chars().enumerate().map(|(i, c)| if i < keep { '*' } else { c }).collect()
}

/// What the originator may vary per deployment: the accepted bank codes.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    pub currency: Currency,
    pub bank_codes: Vec<String>,
    /// The largest claim amount accepted.
    pub max_amount: Money,
}

/// Every field interface 1 knows; anything else is refused rather than silently ignored.
const CLAIM_FIELDS: &[&str] = &[
    "claimNo",
    "loanPurpose",
    "riskGrade",
    "investorRate",
    "term",
    "termUnit",
    "amount",
    "loanRate",
    "upfrontFee",
    "listedAt",
    "borrowerUuid",
    "bankCode",
    "bankName",
    "bankAccountNo",
    "bankAccountName",
    "source",
    "repaymentMethod",
    "loanType",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub claim_no: ClaimNo,
    pub source: String,
    pub loan_purpose: String,
    pub risk_grade: String,
    pub investor_rate: PercentRate,
    pub loan_rate: PercentRate,
    pub term: Term,
    pub repayment_method: RepaymentMethod,
    pub loan_type: LoanType,
    pub amount: Money,
    pub upfront_fee: Money,
    pub listed_at: DateTime<FixedOffset>,
    pub borrower_uuid: String,
    pub bank: BankAccount,
}

impl Claim {
    /// Parses interface 1's body. `partner` is the authenticated caller; the claim's `source`
    /// must be that partner.
    pub fn parse(body: &Value, rules: &ClaimRules, partner: &str) -> Result<Claim, Vec<FieldError>> {
        let Some(object) = body.as_object() else {
            return Err(vec![FieldError::new("body", "must be a JSON object")]);
        };
        let mut f = Fields::new(object);
        f.only(CLAIM_FIELDS);

        let claim_no = f.parsed("claimNo", ClaimNo::parse);
        let loan_purpose = f.text("loanPurpose");
        let risk_grade = f.parsed("riskGrade", |g| {
            let ok = (1..=8).contains(&g.len())
                && g.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"+-".contains(&b));
            if ok { Ok(g.to_owned()) } else { Err("must be a short grade such as A, B+ or C-") }
        });
        let borrower_uuid = f.parsed("borrowerUuid", |u| {
            let shape = u.len() == 36
                && u.char_indices()
                    .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
            if shape {
                Ok(u.to_ascii_lowercase())
            } else {
                Err("must be a UUID such as 3f0e9a52-8d1c-4b7e-9a61-2c5d7e8f9a10")
            }
        });

        let amount = f.required("amount").and_then(|v| {
            let parsed = rules.currency.parse_amount(v).and_then(|m| match m {
                m if m.is_zero() => Err("must be greater than 0"),
                m if m > rules.max_amount => Err("is above the largest claim the hub accepts"),
                m => Ok(m),
            });
            f.check("amount", parsed)
        });
        let upfront_fee = f.required("upfrontFee").and_then(|v| f.check("upfrontFee", rules.currency.parse_amount(v)));
        if let (Some(amount), Some(fee)) = (amount, upfront_fee) {
            if fee >= amount {
                f.fail::<()>("upfrontFee", "must be less than amount");
            }
        }

        let investor_rate = f.required("investorRate").and_then(|v| f.check("investorRate", PercentRate::parse(v)));
        let loan_rate = f.required("loanRate").and_then(|v| f.check("loanRate", PercentRate::parse(v)));
        if let (Some(investor), Some(loan)) = (investor_rate, loan_rate) {
            if investor > loan {
                f.fail::<()>("investorRate", "must not exceed loanRate");
            }
        }

        let unit = f
            .one_of("termUnit", &[("DAY", TermUnit::Day), ("MONTH", TermUnit::Month)])
            .map(|u| u.unwrap_or(TermUnit::Day));
        let term = f.required("term").and_then(|v| {
            let count = match v {
                Value::Number(n) => match n.as_u64() {
                    Some(n) => u32::try_from(n).map_err(|_| "is too large"),
                    None if n.to_string().starts_with('-') => Err("must be at least 1"),
                    None if n.to_string().contains(['.', 'e', 'E']) => Err("must be a whole number"),
                    None => Err("is too large"),
                },
                _ => Err("must be an integer"),
            };
            let count = f.check("term", count)?;
            match unit {
                Some(unit) => f.check("term", Term::new(count, unit)),
                None if count == 0 => f.fail("term", "must be at least 1"),
                None => None,
            }
        });
        let method = f
            .one_of(
                "repaymentMethod",
                &[("BULLET", RepaymentMethod::Bullet), ("EQUAL_INSTALLMENT", RepaymentMethod::EqualInstallment)],
            )
            .and_then(|method| {
                let unit = unit?;
                match (method, unit) {
                    (Some(RepaymentMethod::EqualInstallment), TermUnit::Day) => {
                        f.fail::<()>("repaymentMethod", "EQUAL_INSTALLMENT needs termUnit MONTH");
                        None
                    }
                    (Some(m), _) => Some(m),
                    (None, TermUnit::Day) => Some(RepaymentMethod::Bullet),
                    (None, TermUnit::Month) => Some(RepaymentMethod::EqualInstallment),
                }
            });
        let loan_type = f
            .one_of("loanType", &[("CONSUMER", LoanType::Consumer), ("PRODUCTIVE", LoanType::Productive)])
            .map(|t| t.unwrap_or(LoanType::Consumer));

        let source = match f.optional("source") {
            None => Some(partner.to_owned()),
            Some(v) => match v.as_str().map(str::trim) {
                Some("") | None => f.fail("source", "must be a non-empty string"),
                Some(s) if s != partner => f.fail("source", "must be the calling partner"),
                Some(s) => Some(s.to_owned()),
            },
        };

        let bank = f.bank_account(&rules.bank_codes);
        let listed_at = f.required("listedAt").and_then(|v| {
            let parsed = v
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or("must be an RFC 3339 date-time with an offset, e.g. 2026-11-21T15:40:00+07:00");
            f.check("listedAt", parsed)
        });

        let errors = f.errors;
        match (
            claim_no,
            loan_purpose,
            risk_grade,
            borrower_uuid,
            amount,
            upfront_fee,
            investor_rate,
            loan_rate,
            term,
            method,
            loan_type,
            source,
            bank,
            listed_at,
        ) {
            (
                Some(claim_no),
                Some(loan_purpose),
                Some(risk_grade),
                Some(borrower_uuid),
                Some(amount),
                Some(upfront_fee),
                Some(investor_rate),
                Some(loan_rate),
                Some(term),
                Some(repayment_method),
                Some(loan_type),
                Some(source),
                Some(bank),
                Some(listed_at),
            ) if errors.is_empty() => Ok(Claim {
                claim_no,
                source,
                loan_purpose,
                risk_grade,
                investor_rate,
                loan_rate,
                term,
                repayment_method,
                loan_type,
                amount,
                upfront_fee,
                listed_at,
                borrower_uuid,
                bank,
            }),
            _ => Err(super::fields::sorted(errors)),
        }
    }

    /// The disbursement: amount minus the upfront fee.
    pub fn disbursement_amount(&self) -> Money {
        self.amount - self.upfront_fee
    }

    /// The claim's canonical content, independent of JSON formatting, defaults spelled out.
    pub fn canonical(&self) -> Value {
        json!({
            "claimNo": self.claim_no.as_str(),
            "source": self.source,
            "loanPurpose": self.loan_purpose,
            "riskGrade": self.risk_grade,
            "investorRate": self.investor_rate,
            "loanRate": self.loan_rate,
            "term": self.term.count(),
            "termUnit": self.term.unit(),
            "repaymentMethod": self.repayment_method,
            "loanType": self.loan_type,
            "amount": self.amount,
            "upfrontFee": self.upfront_fee,
            "listedAt": self.listed_at.with_timezone(&chrono::Utc).to_rfc3339(),
            "borrowerUuid": self.borrower_uuid,
            "bankCode": self.bank.bank_code,
            "bankName": self.bank.bank_name,
            "bankAccountNo": self.bank.account_no,
            "bankAccountName": self.bank.account_name,
        })
    }

    /// SHA-256 of the canonical content: equal for the same claim however it was formatted.
    pub fn content_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().to_string()))
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::domain::record::ClaimRecord;
    use crate::domain::schedule::Schedule;
    use rust_decimal::Decimal;

    /// A listed claim of 3,000,000 over 3 months, as interface 1 would accept it.
    pub fn sample_record() -> ClaimRecord {
        let rules = ClaimRules {
            currency: Currency::IDR,
            bank_codes: vec!["BCA".into()],
            max_amount: Money::from_decimal(Decimal::from(1_000_000_000)),
        };
        let body = serde_json::json!({
            "claimNo": "C-1", "loanPurpose": "modal usaha", "riskGrade": "B", "investorRate": "12",
            "loanRate": "24", "term": 3, "termUnit": "MONTH", "amount": "3000000", "upfrontFee": "60000",
            "listedAt": "2026-12-03T10:00:00+07:00", "borrowerUuid": "3f0e9a52-8d1c-4b7e-9a61-2c5d7e8f9a10",
            "bankCode": "BCA", "bankName": "Bank Central Asia", "bankAccountNo": "1234567890",
            "bankAccountName": "SITI RAHAYU", "source": "doit"
        });
        let claim = Claim::parse(&body, &rules, "doit").expect("the sample claim is valid");
        let schedule =
            Schedule::build(Currency::IDR, claim.amount, claim.loan_rate, claim.term, claim.repayment_method);
        let now = claim.listed_at.with_timezone(&chrono::Utc);
        ClaimRecord::listed(claim, schedule, now, "hash".into())
    }
}
