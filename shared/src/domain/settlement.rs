//! Interfaces 10 and 11 (and the reconciler, which applies interface 12's answers the same
//! way): a reported result settles a movement at most once.

use super::error::{ApiError, FieldError};
use super::fields::{Fields, sorted};
use super::money::{Currency, Money};
use super::movement::{MovementKind, MovementStatus, Settlement, settle};
use super::ports::{FundingStore, MovementStore, Settled, StepQueue};
use super::steps::Step;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A payment platform's report on one movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub serial: String,
    pub status: MovementStatus,
    pub amount: Money,
    pub failure_reason: Option<String>,
}

/// A failure reason is a code (it reaches the claim's history and interface 6): 1 to 64 of
/// `A-Z a-z 0-9 _ . -`.
fn reason_code(text: &str) -> Result<String, &'static str> {
    let ok = (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok { Ok(text.to_owned()) } else { Err("must be a code of 1 to 64 letters, digits, '_', '.' or '-'") }
}

/// What interfaces 10 and 11 send.
const CALLBACK_FIELDS: &[&str] = &["serialNo", "status", "amount", "failureReason", "completedAt"];
/// What interface 12 answers: a callback's fields plus the movement's kind.
const STATUS_FIELDS: &[&str] = &["serialNo", "kind", "status", "amount", "failureReason", "completedAt"];

impl Report {
    /// Parses a callback body (interfaces 10 and 11): a final status.
    pub fn parse(body: &Value, currency: Currency) -> Result<Report, ApiError> {
        Report::parse_with(body, currency, CALLBACK_FIELDS, false)
    }

    /// Parses interface 12's answer, which may still be `PENDING`.
    pub fn parse_status(body: &Value, currency: Currency) -> Result<Report, ApiError> {
        Report::parse_with(body, currency, STATUS_FIELDS, true)
    }

    fn parse_with(body: &Value, currency: Currency, known: &[&str], pending: bool) -> Result<Report, ApiError> {
        let object = body.as_object().ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let mut f = Fields::new(object);
        f.only(known);
        let serial = f.parsed("serialNo", |s| {
            if !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()) {
                Ok(s.to_owned())
            } else {
                Err("must be 1 to 128 visible ASCII characters")
            }
        });
        let statuses = [
            ("SUCCEEDED", MovementStatus::Succeeded),
            ("FAILED", MovementStatus::Failed),
            ("PENDING", MovementStatus::Pending),
        ];
        let status = f.one_of("status", &statuses[..if pending { 3 } else { 2 }]);
        let status = match status {
            Some(None) => f.fail("status", "is required"),
            Some(Some(s)) => Some(s),
            None => None,
        };
        let amount = f.required("amount").and_then(|v| {
            let amount = currency.parse_amount(v);
            f.check("amount", amount)
        });
        let failure_reason = match f.optional("failureReason") {
            None => None,
            Some(v) => f.check("failureReason", v.as_str().ok_or("must be a string").and_then(reason_code)),
        };
        if failure_reason.is_some() && status.is_some_and(|s| s != MovementStatus::Failed) {
            f.fail::<()>("failureReason", "is only allowed when status is FAILED");
        }
        if let Some(v) = f.optional("completedAt") {
            let at = v.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
            f.check("completedAt", at.ok_or("must be an RFC 3339 time"));
        }
        match (serial, status, amount) {
            (Some(serial), Some(status), Some(amount)) if f.errors.is_empty() => {
                Ok(Report { serial, status, amount, failure_reason })
            }
            _ => Err(ApiError::InvalidRequest(sorted(f.errors))),
        }
    }
}

/// Applies a report. `Ok(true)` when it changed the movement, `Ok(false)` when it was a
/// duplicate, a contradiction (kept for an operator) or still pending.
pub async fn apply_report<S>(
    store: &S,
    steps: &impl StepQueue,
    kind: MovementKind,
    report: &Report,
    now: DateTime<Utc>,
) -> Result<bool, ApiError>
where
    S: FundingStore + MovementStore + Sync,
{
    // Two reports racing: the loser reads the movement again and sees a duplicate.
    let mut attempts = 0;
    let (movement, applied) = loop {
        attempts += 1;
        let movement = store.get_movement(&report.serial).await?.ok_or(ApiError::NotFound("movement"))?;
        if movement.purpose.kind() != kind {
            return Err(ApiError::InvalidRequest(vec![FieldError::new(
                "serialNo",
                "names a movement of the other kind",
            )]));
        }
        match settle(&movement, report.status, report.amount)? {
            Settlement::Apply(status) => {
                match store.settle_movement(&movement, status, report.failure_reason.as_deref(), now).await? {
                    Settled::Applied => break (movement, true),
                    Settled::AlreadySettled if attempts < 3 => continue,
                    Settled::AlreadySettled => return Err(ApiError::Internal("movement keeps changing".into())),
                    Settled::InsufficientEscrow => {
                        tracing::error!(serial = %movement.serial, "payout reported succeeded but escrow is short");
                        store.record_contradiction(&movement.serial, status, now).await?;
                        return Ok(false);
                    }
                }
            }
            Settlement::Duplicate => break (movement, false),
            Settlement::Contradiction { kept, reported } => {
                tracing::warn!(serial = %movement.serial, ?kept, ?reported, "contradicting report kept for an operator");
                store.record_contradiction(&movement.serial, reported, now).await?;
                return Ok(false);
            }
            Settlement::StillPending => return Ok(false),
        }
    };
    // Also after a duplicate: the first report's step may have been lost in a crash. Steps
    // are idempotent, so sending one again is harmless.
    steps.enqueue(&movement.claim, &Step::MovementSettled { serial: movement.serial.clone() }).await?;
    Ok(applied)
}
