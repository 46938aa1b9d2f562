//! The payment sandbox's rules, free of AWS types: reading interfaces 8 and 9, deciding a
//! movement when it arrives, planning its callbacks, what it does to the balances, and the
//! answers.

use chrono::{DateTime, TimeDelta, Utc};
use hub::ApiError;
use hub::domain::claim::mask;
use hub::domain::money::Currency;
pub use hub::domain::movement::{MovementKind, MovementStatus};
use hub::sandbox::{self, Form};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;

/// Failure reasons the sandbox reports.
pub mod reason {
    /// The account is on the `failAccounts` list: a permanent failure.
    pub const ACCOUNT_REJECTED: &str = "ACCOUNT_REJECTED";
    /// Injected at `transientFailureRate`: the same request might pass under a new serial.
    pub const TRANSIENT: &str = "TRANSIENT";
    /// A payout larger than the escrow balance.
    pub const INSUFFICIENT_FUNDS: &str = "INSUFFICIENT_FUNDS";
}

/// SQS delays at most 900 s; each delay knob gets a third of it.
pub const MAX_DELAY_SECONDS: u64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartyKind {
    Investor,
    Borrower,
    Income,
}

impl PartyKind {
    /// Who may pay into escrow (interface 8) or be paid out of it (interface 9).
    fn allowed(kind: MovementKind) -> &'static [(&'static str, PartyKind)] {
        match kind {
            MovementKind::Collection => &[("INVESTOR", PartyKind::Investor), ("BORROWER", PartyKind::Borrower)],
            MovementKind::Payout => {
                &[("BORROWER", PartyKind::Borrower), ("INCOME", PartyKind::Income), ("INVESTOR", PartyKind::Investor)]
            }
        }
    }
}

/// The payer of a collection or the payee of a payout. Personal data: `Debug` masks it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub kind: PartyKind,
    pub bank_code: String,
    pub account_no: String,
    pub account_name: String,
}

impl fmt::Debug for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Party")
            .field("kind", &self.kind)
            .field("bank_code", &self.bank_code)
            .field("account_no", &mask(&self.account_no))
            .finish_non_exhaustive()
    }
}

/// Interface 8 or 9 as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct MovementRequest {
    pub serial_no: String,
    pub kind: MovementKind,
    pub amount: Decimal,
    pub party: Party,
    pub purpose: String,
}

/// Reads interface 8 (`payer`) or 9 (`payee`); every offending field is reported.
pub fn parse_request(kind: MovementKind, body: &Value, bank_codes: &[String]) -> Result<MovementRequest, ApiError> {
    let mut form = Form::new(body)?;
    let serial_no = form.parse("serialNo", sandbox::key);
    let amount = form.parse("amount", |v| match Currency::IDR.parse_amount(v) {
        Ok(money) if money.is_zero() => Err("must be greater than 0"),
        Ok(money) => Ok(money.value()),
        Err(reason) => Err(reason),
    });
    form.parse("currency", |v| match v.as_str() {
        Some("IDR") => Ok(()),
        _ => Err("must be IDR"),
    });
    let purpose = form.text("purpose");
    let party_field = match kind {
        MovementKind::Collection => "payer",
        MovementKind::Payout => "payee",
    };
    let party = form.nested(party_field).and_then(|mut fields| {
        let kinds = PartyKind::allowed(kind);
        let party_kind = fields.parse("kind", |v| {
            v.as_str().and_then(|s| kinds.iter().find(|(name, _)| *name == s)).map(|(_, k)| *k).ok_or(match kind {
                MovementKind::Collection => "must be INVESTOR or BORROWER",
                MovementKind::Payout => "must be BORROWER, INCOME or INVESTOR",
            })
        });
        let bank_code = fields.parse("bankCode", |v| {
            v.as_str()
                .filter(|c| bank_codes.iter().any(|known| known == c))
                .map(str::to_owned)
                .ok_or("is not a supported bank code")
        });
        let account_no = fields.parse("accountNo", account_no);
        let account_name = fields.text("accountName");
        form.absorb(fields);
        Some(Party { kind: party_kind?, bank_code: bank_code?, account_no: account_no?, account_name: account_name? })
    });
    let request =
        (|| Some(MovementRequest { serial_no: serial_no?, kind, amount: amount?, party: party?, purpose: purpose? }))();
    form.finish(request)
}

fn account_no(value: &Value) -> Result<String, &'static str> {
    match value.as_str() {
        Some(s) if (5..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) => Ok(s.to_owned()),
        _ => Err("must be 5 to 20 digits"),
    }
}

/// What `POST /payment/sandbox/settings` sets. Fields left out of a request keep their value.
/// `Debug` counts the failing accounts instead of showing them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Knobs {
    /// Accounts whose movements always fail (`ACCOUNT_REJECTED`).
    pub fail_accounts: Vec<String>,
    /// Share of movements that fail with `TRANSIENT`, 0 to 1.
    pub transient_failure_rate: f64,
    /// Processing time: a movement completes (and shows its result) this long after arriving.
    pub callback_delay_seconds: u64,
    /// How much later than completion the callback is sent.
    pub extra_delay_seconds: u64,
    /// Each callback waits a further random 0..=this, so callbacks overtake each other.
    pub reorder_jitter_seconds: u64,
    /// Share of movements whose callback is sent twice, 0 to 1.
    pub duplicate_rate: f64,
    /// Share of movements whose callback is never sent, 0 to 1.
    pub drop_rate: f64,
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs {
            fail_accounts: Vec::new(),
            transient_failure_rate: 0.0,
            callback_delay_seconds: 1,
            extra_delay_seconds: 0,
            reorder_jitter_seconds: 0,
            duplicate_rate: 0.0,
            drop_rate: 0.0,
        }
    }
}

impl fmt::Debug for Knobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Knobs")
            .field("fail_accounts", &self.fail_accounts.len())
            .field("transient_failure_rate", &self.transient_failure_rate)
            .field("callback_delay_seconds", &self.callback_delay_seconds)
            .field("extra_delay_seconds", &self.extra_delay_seconds)
            .field("reorder_jitter_seconds", &self.reorder_jitter_seconds)
            .field("duplicate_rate", &self.duplicate_rate)
            .field("drop_rate", &self.drop_rate)
            .finish()
    }
}

impl Knobs {
    /// These knobs with the fields `body` sends replaced.
    pub fn updated(&self, body: &Value) -> Result<Knobs, ApiError> {
        let mut form = Form::new(body)?;
        let seconds = |v: &Value| sandbox::whole(v, MAX_DELAY_SECONDS);
        let fail_accounts = form.parse_optional("failAccounts", |v| {
            v.as_array()
                .ok_or("must be a list of account numbers")?
                .iter()
                .map(account_no)
                .collect::<Result<Vec<_>, _>>()
        });
        let transient = form.parse_optional("transientFailureRate", sandbox::rate);
        let delay = form.parse_optional("callbackDelaySeconds", seconds);
        let extra = form.parse_optional("extraDelaySeconds", seconds);
        let jitter = form.parse_optional("reorderJitterSeconds", seconds);
        let duplicate = form.parse_optional("duplicateRate", sandbox::rate);
        let drop = form.parse_optional("dropRate", sandbox::rate);
        let knobs = (|| {
            Some(Knobs {
                fail_accounts: fail_accounts?.unwrap_or_else(|| self.fail_accounts.clone()),
                transient_failure_rate: transient?.unwrap_or(self.transient_failure_rate),
                callback_delay_seconds: delay?.unwrap_or(self.callback_delay_seconds),
                extra_delay_seconds: extra?.unwrap_or(self.extra_delay_seconds),
                reorder_jitter_seconds: jitter?.unwrap_or(self.reorder_jitter_seconds),
                duplicate_rate: duplicate?.unwrap_or(self.duplicate_rate),
                drop_rate: drop?.unwrap_or(self.drop_rate),
            })
        })();
        form.finish(knobs)
    }
}

/// The random draws one movement needs, each uniform in `[0, 1)`; drawn at the edge so the
/// rules stay deterministic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dice {
    pub transient: f64,
    pub duplicate: f64,
    pub drop: f64,
    pub jitter: [f64; 2],
}

impl Dice {
    pub fn roll() -> Dice {
        Dice {
            transient: fastrand::f64(),
            duplicate: fastrand::f64(),
            drop: fastrand::f64(),
            jitter: [fastrand::f64(), fastrand::f64()],
        }
    }

    /// Draws that never trigger a rate-based knob.
    pub const CALM: Dice = Dice { transient: 0.999, duplicate: 0.999, drop: 0.999, jitter: [0.0, 0.0] };
}

/// A movement, decided when it arrived and never changed afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Movement {
    pub serial_no: String,
    pub kind: MovementKind,
    pub amount: Decimal,
    pub party: Party,
    pub purpose: String,
    /// `SUCCEEDED` or `FAILED`; shown as `PENDING` until `completed_at`.
    pub status: MovementStatus,
    pub failure_reason: Option<String>,
    pub received_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    /// Delay of each callback to send, in seconds: none when dropped, two when duplicated.
    pub callback_delays: Vec<u64>,
}

/// Decides `request` against the knobs and the escrow balance it would draw on.
pub fn decide(request: &MovementRequest, knobs: &Knobs, escrow: Decimal, dice: &Dice, now: DateTime<Utc>) -> Movement {
    let failure = if knobs.fail_accounts.contains(&request.party.account_no) {
        Some(reason::ACCOUNT_REJECTED)
    } else if dice.transient < knobs.transient_failure_rate {
        Some(reason::TRANSIENT)
    } else if request.kind == MovementKind::Payout && escrow < request.amount {
        Some(reason::INSUFFICIENT_FUNDS)
    } else {
        None
    };
    let base = knobs.callback_delay_seconds + knobs.extra_delay_seconds;
    let jitter = |draw: f64| (draw * (knobs.reorder_jitter_seconds + 1) as f64) as u64;
    let callback_delays = if dice.drop < knobs.drop_rate {
        vec![]
    } else if dice.duplicate < knobs.duplicate_rate {
        dice.jitter.iter().map(|d| base + jitter(*d)).collect()
    } else {
        vec![base + jitter(dice.jitter[0])]
    };
    Movement {
        serial_no: request.serial_no.clone(),
        kind: request.kind,
        amount: request.amount,
        party: request.party.clone(),
        purpose: request.purpose.clone(),
        status: match failure {
            Some(_) => MovementStatus::Failed,
            None => MovementStatus::Succeeded,
        },
        failure_reason: failure.map(str::to_owned),
        received_at: now,
        completed_at: now + TimeDelta::seconds(knobs.callback_delay_seconds as i64),
        callback_delays,
    }
}

/// What a new movement does to the sandbox's ledger, in one write with the movement.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerChange {
    pub escrow: Decimal,
    pub income: Decimal,
    /// The escrow balance must be at least this when the change applies (a paying payout).
    pub escrow_at_least: Option<Decimal>,
    pub succeeded: u64,
    pub failed: u64,
    pub callbacks_planned: u64,
    pub duplicates_injected: u64,
    pub drops_injected: u64,
}

impl Movement {
    /// A repeat of the same serial must be the same movement.
    pub fn check_repeat(&self, request: &MovementRequest) -> Result<(), ApiError> {
        if self.kind != request.kind || self.amount != request.amount {
            return Err(ApiError::Conflict(format!(
                "serial {} is already a {:?} of {}",
                self.serial_no, self.kind, self.amount
            )));
        }
        Ok(())
    }

    pub fn ledger_change(&self) -> LedgerChange {
        let succeeded = self.status == MovementStatus::Succeeded;
        let moved = if succeeded { self.amount } else { Decimal::ZERO };
        let (escrow, income) = match (self.kind, self.party.kind) {
            (MovementKind::Collection, _) => (moved, Decimal::ZERO),
            (MovementKind::Payout, PartyKind::Income) => (-moved, moved),
            (MovementKind::Payout, _) => (-moved, Decimal::ZERO),
        };
        let copies = self.callback_delays.len() as u64;
        LedgerChange {
            escrow,
            income,
            escrow_at_least: (self.kind == MovementKind::Payout && succeeded).then_some(self.amount),
            succeeded: u64::from(succeeded),
            failed: u64::from(!succeeded),
            callbacks_planned: copies,
            duplicates_injected: copies.saturating_sub(1),
            drops_injected: u64::from(copies == 0),
        }
    }

    /// The status a caller sees at `now`: `PENDING` until the movement completes.
    pub fn status_at(&self, now: DateTime<Utc>) -> MovementStatus {
        if now < self.completed_at { MovementStatus::Pending } else { self.status }
    }

    /// Interfaces 8 and 9's answer; a final one carries its failure reason, as interface 12's
    /// does (a request answered after the movement completed must not lose it).
    pub fn answer(&self, now: DateTime<Utc>) -> Value {
        let status = self.status_at(now);
        let mut answer = json!({ "serialNo": self.serial_no, "status": status });
        if let (MovementStatus::Failed, Some(reason)) = (status, &self.failure_reason) {
            answer["failureReason"] = json!(reason);
        }
        answer
    }

    /// Interface 12's answer.
    pub fn view(&self, now: DateTime<Utc>) -> Value {
        let status = self.status_at(now);
        let mut view = json!({
            "serialNo": self.serial_no,
            "kind": self.kind,
            "amount": self.amount.to_string(),
            "status": status,
        });
        if status != MovementStatus::Pending {
            if let Some(reason) = &self.failure_reason {
                view["failureReason"] = json!(reason);
            }
            view["completedAt"] = json!(self.completed_at.to_rfc3339());
        }
        view
    }

    /// The result the callback reports.
    pub fn callback(&self) -> Callback {
        Callback {
            kind: self.kind,
            serial_no: self.serial_no.clone(),
            status: self.status,
            amount: self.amount,
            failure_reason: self.failure_reason.clone(),
            completed_at: self.completed_at,
        }
    }
}

/// One callback to deliver (the SQS message body): interface 10 for a collection, 11 for a
/// payout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    pub kind: MovementKind,
    pub serial_no: String,
    pub status: MovementStatus,
    pub amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub completed_at: DateTime<Utc>,
}

impl Callback {
    /// The hub route, from `/v1`.
    pub fn path(&self) -> &'static str {
        match self.kind {
            MovementKind::Collection => "/v1/callbacks/collections",
            MovementKind::Payout => "/v1/callbacks/payouts",
        }
    }

    /// The request body of interface 10 / 11.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "serialNo": self.serial_no,
            "status": self.status,
            "amount": self.amount.to_string(),
            "completedAt": self.completed_at.to_rfc3339(),
        });
        if let Some(reason) = &self.failure_reason {
            body["failureReason"] = json!(reason);
        }
        body
    }
}

/// The sandbox's accounts and what it injected (`GET /payment/sandbox/balances`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ledger {
    pub escrow: Decimal,
    pub income: Decimal,
    pub movements: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub callbacks_planned: u64,
    pub duplicates_injected: u64,
    pub drops_injected: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> Vec<String> {
        vec!["BCA".into(), "BRI".into()]
    }

    fn payout(amount: &str) -> MovementRequest {
        let body = json!({
            "serialNo": "PAY-DIS-doit-C1", "amount": amount, "currency": "IDR", "purpose": "DISBURSEMENT",
            "payee": {"kind": "BORROWER", "bankCode": "BCA", "accountNo": "1234567890", "accountName": "EKA WIDODO"}
        });
        parse_request(MovementKind::Payout, &body, &codes()).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn requests_report_every_bad_field() {
        let body = json!({"serialNo": "a/b", "amount": "1.5", "currency": "USD", "payer": {"kind": "INCOME", "bankCode": "XXX", "accountNo": "12"}});
        let Err(ApiError::InvalidRequest(errors)) = parse_request(MovementKind::Collection, &body, &codes()) else {
            panic!("expected field errors");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "amount",
                "currency",
                "payer.accountName",
                "payer.accountNo",
                "payer.bankCode",
                "payer.kind",
                "purpose",
                "serialNo"
            ]
        );
    }

    #[test]
    fn payouts_never_overdraw_and_knobs_fail_movements() {
        let knobs = Knobs::default();
        let request = payout("500000");
        let m = decide(&request, &knobs, Decimal::from(400_000), &Dice::CALM, now());
        assert_eq!(m.failure_reason.as_deref(), Some(reason::INSUFFICIENT_FUNDS));
        assert_eq!(m.ledger_change().escrow, Decimal::ZERO);
        let m = decide(&request, &knobs, Decimal::from(500_000), &Dice::CALM, now());
        assert_eq!(m.status, MovementStatus::Succeeded);
        assert_eq!(m.ledger_change().escrow, Decimal::from(-500_000));
        assert_eq!(m.ledger_change().escrow_at_least, Some(Decimal::from(500_000)));

        let rejecting = Knobs { fail_accounts: vec!["1234567890".into()], ..Knobs::default() };
        let m = decide(&request, &rejecting, Decimal::from(900_000), &Dice::CALM, now());
        assert_eq!(m.failure_reason.as_deref(), Some(reason::ACCOUNT_REJECTED));
        let flaky = Knobs { transient_failure_rate: 0.5, ..Knobs::default() };
        let dice = Dice { transient: 0.2, ..Dice::CALM };
        let m = decide(&request, &flaky, Decimal::from(900_000), &dice, now());
        assert_eq!(m.failure_reason.as_deref(), Some(reason::TRANSIENT));
        // Asked again once completed, interface 9 answers the reason with the status: without
        // it the hub would take a transient failure for a permanent one.
        assert_eq!(m.answer(now())["status"], "PENDING");
        let later = m.completed_at + TimeDelta::seconds(1);
        assert_eq!(m.answer(later)["failureReason"], reason::TRANSIENT);
    }

    #[test]
    fn callbacks_are_planned_from_the_knobs() {
        let knobs = Knobs {
            callback_delay_seconds: 2,
            extra_delay_seconds: 3,
            reorder_jitter_seconds: 10,
            duplicate_rate: 1.0,
            ..Knobs::default()
        };
        let dice = Dice { jitter: [0.0, 0.99], ..Dice::CALM };
        let m = decide(&payout("1"), &knobs, Decimal::from(10), &dice, now());
        assert_eq!(m.callback_delays, [5, 15]);
        assert_eq!(m.ledger_change().duplicates_injected, 1);
        assert_eq!(m.status_at(now()), MovementStatus::Pending);
        assert_eq!(m.status_at(now() + TimeDelta::seconds(2)), MovementStatus::Succeeded);
        let dropped = Knobs { drop_rate: 1.0, ..knobs };
        let m = decide(&payout("1"), &dropped, Decimal::from(10), &dice, now());
        assert!(m.callback_delays.is_empty());
        assert_eq!(m.ledger_change().drops_injected, 1);
        assert_eq!(m.callback().path(), "/v1/callbacks/payouts");
    }

    #[test]
    fn a_repeat_with_another_amount_is_a_conflict() {
        let m = decide(&payout("100"), &Knobs::default(), Decimal::from(100), &Dice::CALM, now());
        assert!(m.check_repeat(&payout("100")).is_ok());
        assert!(matches!(m.check_repeat(&payout("101")), Err(ApiError::Conflict(_))));
    }
}
