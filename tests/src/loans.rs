//! Claims and repayments as the originator would send them, for the repayment tests.

use crate::{TestHub, accepted_case};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde_json::{Value, json};

pub fn jakarta() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7")
}

/// The sample portfolio's first accepted claim under `claim_no`, with `fields` replaced.
pub fn claim_request(claim_no: &str, fields: &[(&str, Value)]) -> Value {
    let (mut request, _) = accepted_case();
    request["claimNo"] = json!(claim_no);
    for (k, v) in fields {
        request[*k] = v.clone();
    }
    request
}

/// 1,000,000 for 30 days at 18 % (investors 10 %), no fee: interest hu(1,000,000 x 0.18 x
/// 30/365) = hu(14,794.52) = 14,795.
pub fn bullet(claim_no: &str) -> Value {
    claim_request(
        claim_no,
        &[
            ("amount", json!("1000000")),
            ("term", json!(30)),
            ("termUnit", json!("DAY")),
            ("loanRate", json!("18")),
            ("investorRate", json!("10")),
            ("upfrontFee", json!("0")),
        ],
    )
}

/// 10:00 in Jakarta on `day`, as RFC 3339.
pub fn at(day: NaiveDate) -> String {
    let ten = day.and_hms_opt(3, 0, 0).expect("a time");
    DateTime::<FixedOffset>::from_naive_utc_and_offset(ten, jakarta()).to_rfc3339()
}

/// Moves the hub's clock to the day after `day` (Jakarta), so a repayment made on `day` lies
/// in the past.
pub fn clock_after(hub: &mut TestHub, day: NaiveDate) {
    let next = day.succ_opt().expect("a next day").and_hms_opt(5, 0, 0).expect("a time");
    let target = next.and_local_timezone(jakarta()).single().expect("fixed offset");
    let hours = (target.with_timezone(&Utc) - Utc::now()).num_hours() + 1;
    hub.advance_clock(hours);
}

/// An interface 5 body: `figures` are principal, interest and overdue fee.
pub fn repayment(claim_no: &str, serial: &str, no: u32, figures: [i64; 3], on: NaiveDate, kind: &str) -> Value {
    let [principal, interest, fee] = figures;
    json!({
        "claimNo": claim_no, "installmentNo": no, "repaymentSerial": serial,
        "principal": principal.to_string(), "interest": interest.to_string(), "overdueFee": fee.to_string(),
        "total": (principal + interest + fee).to_string(), "repaidAt": at(on), "kind": kind,
    })
}
