//! Interface 1's claim: parsed from JSON into types whose constructors enforce SPEC section 4.
//! Every offending field is reported, not just the first.

use super::cost_cap::LoanType;
use super::error::FieldError;
use super::money::{Currency, Money, PercentRate};
use super::schedule::{RepaymentMethod, Term, TermUnit};
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::fmt;

/// A claim number: the originator's loan order number, unique per originator. URL-safe, so
/// interface 7 can carry it in the path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err("may contain only letters, digits, '.', '_' and '-'");
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
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i < keep { '*' } else { c })
        .collect()
}

/// What the originator may vary per deployment: the accepted bank codes.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    pub currency: Currency,
    pub bank_codes: Vec<String>,
}

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

/// Longest free-text field we store.
const MAX_TEXT_LEN: usize = 256;

impl Claim {
    /// Parses interface 1's body. `partner` is the authenticated caller; the claim's `source`
    /// must be that partner.
    pub fn parse(
        body: &Value,
        rules: &ClaimRules,
        partner: &str,
    ) -> Result<Claim, Vec<FieldError>> {
        let Some(object) = body.as_object() else {
            return Err(vec![FieldError::new("body", "must be a JSON object")]);
        };
        let mut f = Fields {
            object,
            errors: Vec::new(),
        };

        let claim_no = f.required("claimNo").and_then(|v| {
            f.check(
                "claimNo",
                v.as_str()
                    .ok_or("must be a string")
                    .and_then(ClaimNo::parse),
            )
        });
        let loan_purpose = f.text("loanPurpose");
        let risk_grade = f.text("riskGrade");
        let borrower_uuid = f.text("borrowerUuid");
        let bank_name = f.text("bankName");
        let account_name = f.text("bankAccountName");

        let amount = f.required("amount").and_then(|v| {
            let parsed = rules.currency.parse_amount(v).and_then(|m| {
                if m.is_zero() {
                    Err("must be greater than 0")
                } else {
                    Ok(m)
                }
            });
            f.check("amount", parsed)
        });
        let upfront_fee = f
            .required("upfrontFee")
            .and_then(|v| f.check("upfrontFee", rules.currency.parse_amount(v)));
        if let (Some(amount), Some(fee)) = (amount, upfront_fee) {
            if fee >= amount {
                f.fail::<()>("upfrontFee", "must be less than amount");
            }
        }

        let investor_rate = f
            .required("investorRate")
            .and_then(|v| f.check("investorRate", PercentRate::parse(v)));
        let loan_rate = f
            .required("loanRate")
            .and_then(|v| f.check("loanRate", PercentRate::parse(v)));
        if let (Some(investor), Some(loan)) = (investor_rate, loan_rate) {
            if investor > loan {
                f.fail::<()>("investorRate", "must not exceed loanRate");
            }
        }

        let unit = f
            .one_of(
                "termUnit",
                &[("DAY", TermUnit::Day), ("MONTH", TermUnit::Month)],
            )
            .map(|u| u.unwrap_or(TermUnit::Day));
        let term = f.required("term").and_then(|v| {
            let count = v
                .as_u64()
                .ok_or("must be a positive integer")
                .and_then(|n| u32::try_from(n).map_err(|_| "is too large"));
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
                &[
                    ("BULLET", RepaymentMethod::Bullet),
                    ("EQUAL_INSTALLMENT", RepaymentMethod::EqualInstallment),
                ],
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
            .one_of(
                "loanType",
                &[
                    ("CONSUMER", LoanType::Consumer),
                    ("PRODUCTIVE", LoanType::Productive),
                ],
            )
            .map(|t| t.unwrap_or(LoanType::Consumer));

        let source = match f.optional("source") {
            None => Some(partner.to_owned()),
            Some(v) => match v.as_str().map(str::trim) {
                Some("") | None => f.fail("source", "must be a non-empty string"),
                Some(s) if s != partner => f.fail("source", "must be the calling partner"),
                Some(s) => Some(s.to_owned()),
            },
        };

        let bank_code = f.required("bankCode").and_then(|v| {
            let code = v
                .as_str()
                .filter(|c| rules.bank_codes.iter().any(|known| known == c));
            f.check(
                "bankCode",
                code.map(str::to_owned)
                    .ok_or("is not a supported bank code"),
            )
        });
        let account_no = f.required("bankAccountNo").and_then(|v| {
            let no = v
                .as_str()
                .filter(|s| (5..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
                .ok_or("must be 5 to 20 digits");
            f.check("bankAccountNo", no.map(str::to_owned))
        });
        let listed_at = f.required("listedAt").and_then(|v| {
            let parsed = v
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or(
                    "must be an RFC 3339 date-time with an offset, e.g. 2026-11-21T15:40:00+07:00",
                );
            f.check("listedAt", parsed)
        });

        let mut errors = f.errors;
        match (
            claim_no,
            loan_purpose,
            risk_grade,
            borrower_uuid,
            bank_name,
            account_name,
            amount,
            upfront_fee,
            investor_rate,
            loan_rate,
            term,
            method,
            loan_type,
            source,
            bank_code,
            account_no,
            listed_at,
        ) {
            (
                Some(claim_no),
                Some(loan_purpose),
                Some(risk_grade),
                Some(borrower_uuid),
                Some(bank_name),
                Some(account_name),
                Some(amount),
                Some(upfront_fee),
                Some(investor_rate),
                Some(loan_rate),
                Some(term),
                Some(repayment_method),
                Some(loan_type),
                Some(source),
                Some(bank_code),
                Some(account_no),
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
                bank: BankAccount {
                    bank_code,
                    bank_name,
                    account_no,
                    account_name,
                },
            }),
            _ => {
                errors.sort_by(|a, b| a.field.cmp(&b.field));
                errors.dedup_by(|a, b| a.field == b.field);
                Err(errors)
            }
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
            "listedAt": self.listed_at.to_rfc3339(),
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

/// Reads fields out of the request object, collecting one error per offending field.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn fail<T>(&mut self, field: &str, reason: &str) -> Option<T> {
        self.errors.push(FieldError::new(field, reason));
        None
    }

    fn check<T>(&mut self, field: &str, result: Result<T, &str>) -> Option<T> {
        result.map_err(|reason| self.fail::<T>(field, reason)).ok()
    }

    /// Absent and `null` both mean "not sent".
    fn optional(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field).filter(|v| !v.is_null())
    }

    fn required(&mut self, field: &str) -> Option<&'a Value> {
        let value = self.optional(field);
        if value.is_none() {
            self.fail::<()>(field, "is required");
        }
        value
    }

    fn text(&mut self, field: &str) -> Option<String> {
        let value = self.required(field)?;
        let text = match value.as_str() {
            None => Err("must be a string"),
            Some(s) if s.trim().is_empty() => Err("must not be blank"),
            Some(s) if s.len() > MAX_TEXT_LEN => Err("must be at most 256 bytes"),
            Some(s) => Ok(s.to_owned()),
        };
        self.check(field, text)
    }

    /// An optional enumerated field: `Some(None)` when absent, `None` when invalid.
    fn one_of<T: Copy>(&mut self, field: &str, choices: &[(&str, T)]) -> Option<Option<T>> {
        let Some(value) = self.optional(field) else {
            return Some(None);
        };
        let found = value
            .as_str()
            .and_then(|s| choices.iter().find(|(name, _)| *name == s));
        match found {
            Some((_, choice)) => Some(Some(*choice)),
            None => {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                self.fail(field, &format!("must be one of {}", names.join(", ")))
            }
        }
    }
}
