//! A claim as the hub keeps it: the parsed claim, its frozen terms and where it stands.

use super::claim::Claim;
use super::money::Money;
use super::schedule::Schedule;
use super::status::ClaimStatus;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: ClaimStatus,
    pub at: DateTime<Utc>,
}

/// Repaid so far, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Repaid {
    pub principal: Money,
    pub interest: Money,
    pub overdue_fee: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    pub claim: Claim,
    pub content_hash: String,
    /// SHA-256 of the request as sent (keys sorted), to recognise an exact resend.
    pub request_hash: String,
    pub schedule: Schedule,
    pub status: ClaimStatus,
    pub history: Vec<StatusChange>,
    pub accepted_at: DateTime<Utc>,
    pub funded_amount: Money,
    /// Pending plus succeeded investments: what is no longer open.
    pub subscribed: Money,
    /// What the claim's escrow sub-account holds: collected minus paid out.
    pub escrow_balance: Money,
    pub repaid: Repaid,
    /// Bumped by every write; conditional updates compare it.
    pub version: u64,
}

impl ClaimRecord {
    /// A newly accepted claim: `LISTED` now.
    pub fn listed(claim: Claim, schedule: Schedule, now: DateTime<Utc>, request_hash: String) -> ClaimRecord {
        ClaimRecord {
            content_hash: claim.content_hash(),
            request_hash,
            claim,
            schedule,
            status: ClaimStatus::Listed,
            history: vec![StatusChange { status: ClaimStatus::Listed, at: now }],
            accepted_at: now,
            funded_amount: Money::ZERO,
            subscribed: Money::ZERO,
            escrow_balance: Money::ZERO,
            repaid: Repaid::default(),
            version: 1,
        }
    }
}
