//! A claim as the hub keeps it: the parsed claim, its frozen terms and where it stands.

use super::borrower::BorrowerFacts;
use super::claim::Claim;
use super::money::Money;
use super::schedule::Schedule;
use super::status::ClaimStatus;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: ClaimStatus,
    pub at: DateTime<Utc>,
    /// Why, for side exits (`NOT_FULLY_FUNDED`, `BORROWER_IS_INVESTOR`, a payout's failure).
    pub reason: Option<String>,
}

impl StatusChange {
    pub fn to(status: ClaimStatus, at: DateTime<Utc>) -> StatusChange {
        StatusChange { status, at, reason: None }
    }

    pub fn because(status: ClaimStatus, at: DateTime<Utc>, reason: &str) -> StatusChange {
        StatusChange { status, at, reason: Some(reason.to_owned()) }
    }
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
    /// Masked facts from interface 2, once the borrower checks passed; investors see the claim
    /// only then.
    pub borrower: Option<BorrowerFacts>,
    /// Instalments whose repayment was collected (they are paid in order).
    pub installments_paid: u32,
    /// Repayments accepted through interface 5 so far: the next one's ordinal, in its serials.
    pub repayments_accepted: u32,
    /// The repayment (its originator serial) whose collection is under way, if any.
    pub collecting: Option<String>,
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
            history: vec![StatusChange::to(ClaimStatus::Listed, now)],
            accepted_at: now,
            funded_amount: Money::ZERO,
            subscribed: Money::ZERO,
            escrow_balance: Money::ZERO,
            repaid: Repaid::default(),
            version: 1,
            borrower: None,
            installments_paid: 0,
            repayments_accepted: 0,
            collecting: None,
        }
    }

    /// When the borrower was paid: the first `DISBURSED` in the history.
    pub fn disbursed_at(&self) -> Option<DateTime<Utc>> {
        self.history.iter().find(|c| c.status == ClaimStatus::Disbursed).map(|c| c.at)
    }
}
