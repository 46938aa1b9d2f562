//! The originator sandbox's rules, free of AWS types: its knobs, interface 3's active-loan
//! check and interface 6's notifications.

use chrono::{DateTime, Utc};
use hub::ApiError;
use hub::domain::people::{Nik, Phone};
use hub::domain::status::ClaimStatus;
use hub::sandbox::{self, Form};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;

/// Longest stall the sandbox accepts (the function's timeout is 30 s).
pub const MAX_STALL_MS: u64 = 25_000;

/// What `POST /originator/sandbox/settings` sets. Fields left out of a request keep their value.
/// `Debug` counts the active borrowers instead of showing them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Knobs {
    /// Share of interface 6 calls answered 503 (not recorded), 0 to 1.
    pub notification_fail_rate: f64,
    /// How long interface 6 waits before answering.
    pub notification_stall_ms: u64,
    /// Borrowers with an active loan: NIKs (16 digits) and phones, in canonical form.
    pub active_borrowers: Vec<String>,
}

impl fmt::Debug for Knobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Knobs")
            .field("notification_fail_rate", &self.notification_fail_rate)
            .field("notification_stall_ms", &self.notification_stall_ms)
            .field("active_borrowers", &self.active_borrowers.len())
            .finish()
    }
}

impl Knobs {
    pub fn with_active_borrowers(active_borrowers: Vec<String>) -> Knobs {
        Knobs { notification_fail_rate: 0.0, notification_stall_ms: 0, active_borrowers }
    }

    /// These knobs with the fields `body` sends replaced.
    pub fn updated(&self, body: &Value) -> Result<Knobs, ApiError> {
        let mut form = Form::new(body)?;
        let fail_rate = form.parse_optional("notificationFailRate", sandbox::rate);
        let stall = form.parse_optional("notificationStallMs", |v| sandbox::whole(v, MAX_STALL_MS));
        let active = form.parse_optional("activeBorrowers", identity_list);
        let knobs = fail_rate.zip(stall).zip(active).map(|((rate, stall), active)| Knobs {
            notification_fail_rate: rate.unwrap_or(self.notification_fail_rate),
            notification_stall_ms: stall.unwrap_or(self.notification_stall_ms),
            active_borrowers: active.unwrap_or_else(|| self.active_borrowers.clone()),
        });
        form.finish(knobs)
    }

    /// Whether interface 6 fails this time, given a uniform `draw` in `[0, 1)`.
    pub fn should_fail(&self, draw: f64) -> bool {
        draw < self.notification_fail_rate
    }

    /// Interface 3: does either identifier belong to someone with an active loan?
    pub fn has_active_loan(&self, check: &LoanCheck) -> bool {
        let nik = check.nik.as_ref().map(Nik::as_str);
        let phone = check.phone.as_ref().map(Phone::as_str);
        self.active_borrowers.iter().any(|known| Some(known.as_str()) == nik || Some(known.as_str()) == phone)
    }
}

/// A NIK or a phone number in canonical form (`628…` for phones), so `08…`, `628…` and
/// `+62 8…` match each other.
pub fn canonical_identity(text: &str) -> Result<String, &'static str> {
    if let Ok(nik) = Nik::parse(text) {
        return Ok(nik.as_str().to_owned());
    }
    Phone::parse(text)
        .map(|p| p.as_str().to_owned())
        .map_err(|_| "must hold NIKs (16 digits) or Indonesian mobile numbers")
}

/// `ORIGINATOR_ACTIVE_BORROWERS`: comma-separated NIKs and phones.
pub fn parse_active_borrowers(list: &str) -> Result<Vec<String>, &'static str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(canonical_identity).collect()
}

fn identity_list(value: &Value) -> Result<Vec<String>, &'static str> {
    value
        .as_array()
        .ok_or("must be a list of NIKs and phone numbers")?
        .iter()
        .map(|v| v.as_str().ok_or("must be a list of strings").and_then(canonical_identity))
        .collect()
}

/// Interface 3's question: a NIK, a phone or both.
#[derive(Debug, Clone)]
pub struct LoanCheck {
    pub nik: Option<Nik>,
    pub phone: Option<Phone>,
}

pub fn parse_loan_check(body: &Value) -> Result<LoanCheck, ApiError> {
    let mut form = Form::new(body)?;
    let nik = form.parse_optional("nik", |v| v.as_str().ok_or("must be a string").and_then(Nik::parse));
    let phone = form.parse_optional("phone", |v| v.as_str().ok_or("must be a string").and_then(Phone::parse));
    if let (Some(None), Some(None)) = (&nik, &phone) {
        form.fail::<()>("nik", "nik or phone is required");
        form.fail::<()>("phone", "nik or phone is required");
    }
    let check = nik.zip(phone).map(|(nik, phone)| LoanCheck { nik, phone });
    form.finish(check)
}

/// Interface 6's event: a claim's status change, de-duplicated by `event_id` and ordered by
/// `sequence` within the claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub event_id: String,
    pub claim_no: String,
    pub source: String,
    pub sequence: u64,
    pub status: ClaimStatus,
    pub occurred_at: DateTime<chrono::FixedOffset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub fn parse_notification(body: &Value) -> Result<Notification, ApiError> {
    let mut form = Form::new(body)?;
    let event_id = form.parse("eventId", sandbox::key);
    let claim_no = form.parse("claimNo", sandbox::key);
    let source = form.text("source");
    let sequence = form.parse("sequence", |v| match v.as_u64() {
        Some(n) if n >= 1 => Ok(n),
        _ => Err("must be an integer from 1"),
    });
    let status = form.parse("status", |v| {
        v.as_str().and_then(|s| s.parse::<ClaimStatus>().ok()).ok_or("must be a claim status such as DISBURSED")
    });
    let occurred_at = form.parse("occurredAt", |v| {
        v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).ok_or("must be an RFC 3339 time with an offset")
    });
    let reason = form.parse_optional("reason", sandbox::text);
    let notification = (|| {
        Some(Notification {
            event_id: event_id?,
            claim_no: claim_no?,
            source: source?,
            sequence: sequence?,
            status: status?,
            occurred_at: occurred_at?,
            reason: reason?,
        })
    })();
    form.finish(notification)
}

/// A notification as the sandbox keeps it: first content, how often it came.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub notification: Notification,
    pub received_count: u64,
    pub first_received_at: DateTime<Utc>,
}

/// Interface 6's answer.
pub fn notification_answer(event_id: &str, duplicate: bool) -> Value {
    json!({ "eventId": event_id, "duplicate": duplicate })
}

/// `GET /originator/sandbox/notifications`: every event in claim and sequence order, with the
/// distinct and raw counts and the failures the sandbox injected.
pub fn notifications_view(mut received: Vec<Received>, failures_injected: u64) -> Value {
    received.sort_by(|a, b| {
        let key = |r: &Received| {
            let n = &r.notification;
            (n.source.clone(), n.claim_no.clone(), n.sequence, n.event_id.clone())
        };
        key(a).cmp(&key(b))
    });
    let raw: u64 = received.iter().map(|r| r.received_count).sum();
    let list: Vec<Value> = received
        .iter()
        .map(|r| {
            let mut item = json!(r.notification);
            item["receivedCount"] = json!(r.received_count);
            item["firstReceivedAt"] = json!(r.first_received_at.to_rfc3339());
            item
        })
        .collect();
    json!({
        "distinct": received.len(),
        "received": raw,
        "failuresInjected": failures_injected,
        "notifications": list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_spellings_match_and_niks_match() {
        let knobs = Knobs::with_active_borrowers(parse_active_borrowers("081234567890, 3174055506900003").unwrap());
        for phone in ["081234567890", "6281234567890", "+62 812-3456-7890"] {
            let check = parse_loan_check(&json!({ "phone": phone })).unwrap();
            assert!(knobs.has_active_loan(&check), "{phone}");
        }
        let nik = parse_loan_check(&json!({ "nik": "3174055506900003", "phone": "0899" }));
        assert!(nik.is_err(), "a bad phone is refused even with a good NIK");
        let nik = parse_loan_check(&json!({ "nik": "3174055506900003" })).unwrap();
        assert!(knobs.has_active_loan(&nik));
        let other = parse_loan_check(&json!({ "phone": "081299999999" })).unwrap();
        assert!(!knobs.has_active_loan(&other));
    }

    #[test]
    fn a_check_needs_nik_or_phone() {
        let Err(ApiError::InvalidRequest(errors)) = parse_loan_check(&json!({})) else {
            panic!("expected field errors");
        };
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn settings_merge_and_validate() {
        let knobs = Knobs::with_active_borrowers(vec![]);
        let next =
            knobs.updated(&json!({ "notificationFailRate": 0.5, "activeBorrowers": ["+6281234567890"] })).unwrap();
        assert_eq!(next.notification_fail_rate, 0.5);
        assert_eq!(next.active_borrowers, ["6281234567890"]);
        assert_eq!(next.notification_stall_ms, 0);
        let bad = knobs.updated(&json!({ "notificationFailRate": 2, "notificationStallMs": -1 }));
        let Err(ApiError::InvalidRequest(errors)) = bad else {
            panic!("expected field errors");
        };
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn notifications_need_every_field() {
        let ok = json!({
            "eventId": "E-1", "claimNo": "C1", "source": "doit", "sequence": 1,
            "status": "DISBURSED", "occurredAt": "2026-11-21T15:40:00+07:00"
        });
        assert_eq!(parse_notification(&ok).unwrap().sequence, 1);
        let Err(ApiError::InvalidRequest(errors)) = parse_notification(&json!({ "sequence": 0, "status": "NOPE" }))
        else {
            panic!("expected field errors");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["claimNo", "eventId", "occurredAt", "sequence", "source", "status"]);
    }
}
