//! Interface 1 and 7 use cases: accept a claim idempotently, look one up.

use super::claim::ClaimRules;
use super::claim::{Claim, ClaimNo};
use super::cost_cap::CostCapTable;
use super::error::ApiError;
use super::ports::{ClaimStore, Insert, StoreError};
use super::record::ClaimRecord;
use super::schedule::Schedule;
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};

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

/// Validates, prices and checks a claim without storing it.
pub fn assess(
    policy: &IntakePolicy,
    partner: &str,
    body: &Value,
) -> Result<(Claim, Schedule), ApiError> {
    let claim =
        Claim::parse(body, &policy.claim_rules, partner).map_err(ApiError::InvalidRequest)?;
    let schedule = Schedule::build(
        policy.claim_rules.currency,
        claim.amount,
        claim.loan_rate,
        claim.term,
        claim.repayment_method,
    );
    let listed_on = claim.listed_at.with_timezone(&jakarta()).date_naive();
    let total_cost = schedule.total_interest() + claim.upfront_fee;
    policy
        .cost_caps
        .check(
            claim.loan_type,
            claim.amount,
            total_cost,
            claim.term.cap_days(),
            listed_on,
        )
        .map_err(|breach| {
            ApiError::RateCapExceeded(json!({
                "totalCost": breach.total_cost,
                "dailyCostPercent": breach.daily_cost_percent.to_string(),
                "capPercent": breach.cap_percent.to_string(),
                "capFrom": breach.cap_from,
                "maxTotalCostPercentOfAmount": "100",
            }))
        })?;
    Ok((claim, schedule))
}

/// Interface 1: the same claim number with the same content answers the stored claim; with
/// different content it is a `CONFLICT`.
pub async fn receive_claim(
    store: &impl ClaimStore,
    policy: &IntakePolicy,
    partner: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<ClaimRecord, ApiError> {
    let (claim, schedule) = assess(policy, partner, body)?;
    let record = ClaimRecord::listed(claim, schedule, now);
    match store.insert_claim(&record).await? {
        Insert::Created => Ok(record),
        Insert::AlreadyExists(existing) if existing.content_hash == record.content_hash => {
            Ok(*existing)
        }
        Insert::AlreadyExists(_) => Err(ApiError::Conflict(format!(
            "claim {} was already received with different content",
            record.claim.claim_no
        ))),
    }
}

/// Interface 7: a partner sees only its own claims.
pub async fn find_claim(
    store: &impl ClaimStore,
    partner: &str,
    claim_no: &str,
) -> Result<ClaimRecord, ApiError> {
    let claim_no =
        ClaimNo::parse(claim_no).map_err(|reason| ApiError::invalid("claimNo", reason))?;
    store
        .get_claim(partner, &claim_no)
        .await?
        .ok_or(ApiError::NotFound("claim"))
}
