//! Interface 1 and 7 use cases: accept a claim idempotently, look one up.

use super::claim::ClaimRules;
use super::claim::{Claim, ClaimNo};
use super::cost_cap::CostCapTable;
use super::error::ApiError;
use super::movement::ClaimKey;
use super::ports::{ClaimStore, Insert, StepQueue, StoreError};
use super::record::ClaimRecord;
use super::schedule::Schedule;
use super::status::ClaimStatus;
use super::steps::Step;
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Jakarta (WIB, UTC+7, no daylight saving): the calendar the SPEC's dates are read in.
pub fn jakarta() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| unreachable!("+07:00 is a valid offset"))
}

/// The rules interface 1 applies, from configuration.
#[derive(Debug, Clone)]
pub struct IntakePolicy {
    pub claim_rules: ClaimRules,
    pub cost_caps: CostCapTable,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

/// How far in the future `listedAt` may be: the originator's clock may run a little fast.
const LISTED_AT_LEEWAY_MINUTES: i64 = 5;

/// The earliest plausible `listedAt`: Indonesian P2P lending has been regulated (POJK 77/2016)
/// only since 2016. Earlier is a typo or a broken clock, never a real listing.
const LISTED_AT_EARLIEST: &str = "2016-01-01T00:00:00+07:00";

fn earliest_listed_at() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(LISTED_AT_EARLIEST).unwrap_or_else(|_| unreachable!("a valid constant"))
}

/// Validates, prices and checks a claim without storing it. The cost cap is the stricter of
/// the caps in force on `listedAt`'s date and on `now`'s date, so backdating never helps.
pub fn assess(
    policy: &IntakePolicy,
    partner: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<(Claim, Schedule), ApiError> {
    let claim = Claim::parse(body, &policy.claim_rules, partner).map_err(ApiError::InvalidRequest)?;
    if claim.listed_at > now + chrono::Duration::minutes(LISTED_AT_LEEWAY_MINUTES) {
        return Err(ApiError::invalid("listedAt", "must not be in the future"));
    }
    if claim.listed_at < earliest_listed_at() {
        return Err(ApiError::invalid("listedAt", &format!("must not be before {LISTED_AT_EARLIEST}")));
    }
    let schedule =
        Schedule::build(policy.claim_rules.currency, claim.amount, claim.loan_rate, claim.term, claim.repayment_method);
    let listed_on = claim.listed_at.with_timezone(&jakarta()).date_naive();
    let today = now.with_timezone(&jakarta()).date_naive();
    let total_cost = schedule.total_interest() + claim.upfront_fee;
    for day in [listed_on, today] {
        policy.cost_caps.check(claim.loan_type, claim.amount, total_cost, claim.term.cap_days(), day).map_err(
            |breach| {
                ApiError::RateCapExceeded(json!({
                    "rule": breach.rule,
                    "totalCost": breach.total_cost,
                    "dailyCostPercent": breach.daily_cost_percent.to_string(),
                    "capPercent": breach.cap_percent.to_string(),
                    "capFrom": breach.cap_from,
                    "maxTotalCostPercentOfAmount": "100",
                }))
            },
        )?;
    }
    Ok((claim, schedule))
}

/// Interface 1: the same claim number with the same content answers the stored claim; with
/// different content it is a `CONFLICT`. A new listing queues its borrower check (interface 2);
/// a resend queues it again while it has not passed, so a lost message heals on retry.
pub async fn receive_claim(
    store: &impl ClaimStore,
    steps: &impl StepQueue,
    policy: &IntakePolicy,
    partner: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<ClaimRecord, ApiError> {
    let (claim, schedule) = match assess(policy, partner, body, now) {
        Ok(assessed) => assessed,
        Err(refusal) => return replay_if_resent(store, partner, body, refusal).await,
    };
    let record = ClaimRecord::listed(claim, schedule, now, request_hash(body));
    let stored = match store.insert_claim(&record).await? {
        Insert::Created => record,
        Insert::AlreadyExists(existing) if existing.content_hash == record.content_hash => *existing,
        Insert::AlreadyExists(_) => {
            return Err(ApiError::Conflict(format!(
                "claim {} was already received with different content",
                record.claim.claim_no
            )));
        }
    };
    if stored.borrower.is_none() && stored.status == ClaimStatus::Listed {
        let claim = &stored.claim;
        let step = Step::CheckBorrower { source: claim.source.clone(), claim_no: claim.claim_no.to_string() };
        let key = ClaimKey { source: claim.source.clone(), claim_no: claim.claim_no.clone() };
        steps.enqueue(&key, &step).await?;
    }
    Ok(stored)
}

/// SHA-256 of the request with keys sorted: the same JSON, however its keys were ordered.
pub fn request_hash(body: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let ordered: std::collections::BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                json!(ordered)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    hex::encode(Sha256::digest(sorted(body).to_string()))
}

/// A claim refused by today's rules may still be an exact resend of one accepted under
/// yesterday's configuration: then the original answer stands.
async fn replay_if_resent(
    store: &impl ClaimStore,
    partner: &str,
    body: &Value,
    refusal: ApiError,
) -> Result<ClaimRecord, ApiError> {
    let Some(claim_no) = body.get("claimNo").and_then(Value::as_str).and_then(|c| ClaimNo::parse(c).ok()) else {
        return Err(refusal);
    };
    match store.get_claim(partner, &claim_no).await? {
        Some(stored) if stored.request_hash == request_hash(body) => Ok(stored),
        _ => Err(refusal),
    }
}

/// Interface 7: a partner sees only its own claims.
pub async fn find_claim(store: &impl ClaimStore, partner: &str, claim_no: &str) -> Result<ClaimRecord, ApiError> {
    let claim_no = ClaimNo::parse(claim_no).map_err(|reason| ApiError::invalid("claimNo", reason))?;
    store.get_claim(partner, &claim_no).await?.ok_or(ApiError::NotFound("claim"))
}
