//! The storage capabilities the domain needs. One trait per capability; the DynamoDB adapter
//! in `adapters::dynamo` is the real implementation.

use super::claim::ClaimNo;
use super::record::{ClaimRecord, StatusChange};
use super::status::ClaimStatus;
use chrono::{DateTime, Utc};
use std::future::Future;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
}

/// Result of trying to create a claim that may already exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insert {
    Created,
    AlreadyExists(Box<ClaimRecord>),
}

/// Result of a conditional status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Applied,
    /// Someone else changed the claim first (or it was not in the expected state).
    Stale,
}

pub trait ClaimStore {
    /// Creates the claim unless one with the same source and number exists, in one
    /// conditional write; returns the stored one otherwise.
    fn insert_claim(&self, record: &ClaimRecord) -> impl Future<Output = Result<Insert, StoreError>> + Send;

    fn get_claim(
        &self,
        source: &str,
        claim_no: &ClaimNo,
    ) -> impl Future<Output = Result<Option<ClaimRecord>, StoreError>> + Send;

    /// Every claim now in `status`, oldest first (eventually consistent: an index).
    fn claims_in_status(
        &self,
        status: ClaimStatus,
    ) -> impl Future<Output = Result<Vec<ClaimRecord>, StoreError>> + Send;

    /// In one transaction: the claim (only if still at `claim.version`) moves to
    /// `change.status`, `movements` are created (only if new), and the change's interface 6
    /// notice (if any, [`super::notice::notice_for`]) joins the outbox.
    fn advance(
        &self,
        claim: &ClaimRecord,
        change: &StatusChange,
        movements: &[super::movement::Movement],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// Keeps the borrower's masked facts (interface 2) on the claim, once.
    fn set_borrower(
        &self,
        claim: &ClaimRecord,
        facts: &super::borrower::BorrowerFacts,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;
}

pub trait NonceStore {
    /// Records a partner's nonce; `false` when it was seen before (a replay).
    fn remember_nonce(
        &self,
        partner: &str,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Result of registering an investor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    Created,
    /// An investor with this NIK exists already.
    Existing(Box<super::investor::Investor>),
    /// The phone belongs to another investor.
    PhoneTaken,
}

pub trait InvestorStore {
    /// Creates the investor and claims its phone, in one transaction.
    fn register_investor(
        &self,
        investor: &super::investor::Investor,
    ) -> impl Future<Output = Result<Registered, StoreError>> + Send;

    fn get_investor(
        &self,
        investor_id: &str,
    ) -> impl Future<Output = Result<Option<super::investor::Investor>, StoreError>> + Send;

    /// The investor id holding a phone (by keyed hash).
    fn investor_with_phone(&self, phone_hash: &str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// Result of placing an investment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Placed,
    /// The same order was placed before (same investment id): its investment as stored.
    AlreadyPlaced(Box<super::funding::Investment>),
    /// No room left on the claim, or it is no longer open.
    NoRoom,
    /// The investor's request id already placed an order on another claim.
    KeyUsedElsewhere,
}

pub trait FundingStore {
    /// In one transaction: reserves the amount on the claim (only while the claim is open and
    /// what stays open is zero or at least `min_left`, so the claim can always be filled),
    /// writes the investment and its collection movement, and counts the investment as active
    /// for the investor.
    fn place_investment(
        &self,
        claim: &ClaimRecord,
        investment: &super::funding::Investment,
        movement: &super::movement::Movement,
        min_left: super::money::Money,
    ) -> impl Future<Output = Result<Placement, StoreError>> + Send;

    fn investments(
        &self,
        claim: &super::movement::ClaimKey,
    ) -> impl Future<Output = Result<Vec<super::funding::Investment>, StoreError>> + Send;

    fn get_investment(
        &self,
        claim: &super::movement::ClaimKey,
        investment_id: &str,
    ) -> impl Future<Output = Result<Option<super::funding::Investment>, StoreError>> + Send;

    fn get_movement(
        &self,
        serial: &str,
    ) -> impl Future<Output = Result<Option<super::movement::Movement>, StoreError>> + Send;
}

/// The FIFO queue of payment steps, grouped by claim so one claim's steps never race.
pub trait StepQueue {
    fn enqueue(
        &self,
        claim: &super::movement::ClaimKey,
        step: &super::steps::Step,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Asks the notify worker to deliver the claim's outstanding interface 6 notices.
    fn announce(&self, claim: &super::movement::ClaimKey) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The interface 6 outbox.
pub trait NoticeStore {
    /// The claim's notices not yet delivered, in sequence order.
    fn undelivered_notices(
        &self,
        claim: &super::movement::ClaimKey,
    ) -> impl Future<Output = Result<Vec<super::notice::Notice>, StoreError>> + Send;

    fn mark_delivered(
        &self,
        notice: &super::notice::Notice,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Claims with a notice undelivered since before `before` (for the reconciler).
    fn claims_with_notices_due(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<super::movement::ClaimKey>, StoreError>> + Send;

    /// The reconciler re-announced the claim: its undelivered notices are not due again
    /// before `until` (the notify queue's own backoff covers the retries in between).
    fn postpone_notices(
        &self,
        claim: &super::movement::ClaimKey,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every notice of a claim, delivered or not, in sequence order.
    fn notices(
        &self,
        claim: &super::movement::ClaimKey,
    ) -> impl Future<Output = Result<Vec<(super::notice::Notice, Option<DateTime<Utc>>)>, StoreError>> + Send;
}

/// The originator's interfaces the hub calls (2, 3, 6).
pub trait Originator {
    /// Interface 2: the borrower's profile; `None` when the originator does not know them.
    fn borrower_profile(
        &self,
        borrower_uuid: &str,
    ) -> impl Future<Output = Result<Option<super::borrower::Profile>, PartnerError>> + Send;

    /// Interface 6: one notice; the originator de-duplicates by event id.
    fn notify(&self, notice: &super::notice::Notice) -> impl Future<Output = Result<(), PartnerError>> + Send;

    /// Interface 3: does this person have an active loan with the originator?
    fn has_active_loan(
        &self,
        nik: &super::people::Nik,
        phone: &super::people::Phone,
    ) -> impl Future<Output = Result<bool, PartnerError>> + Send;
}

/// A partner call that did not produce an answer we can use.
#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error("partner not configured: {0}")]
    NotConfigured(&'static str),
    #[error("partner unreachable: {0}")]
    Unreachable(String),
    #[error("partner answered {status}: {body}")]
    Refused { status: u16, body: String },
}

impl PartnerError {
    /// No usable answer (unreachable, too slow, or a server error): whether the partner acted
    /// is unknown, so the hub must ask again later.
    pub fn is_no_answer(&self) -> bool {
        matches!(self, PartnerError::Unreachable(_) | PartnerError::Refused { status: 500.., .. })
    }
}

/// Result of moving a pending movement to its final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Applied,
    /// Someone settled it first; read it again.
    AlreadySettled,
    /// A payout would take the claim's escrow below zero: refused, nothing written.
    InsufficientEscrow,
}

pub trait MovementStore {
    /// In one transaction: the movement leaves `PENDING` for `status`; a succeeded movement
    /// also posts its ledger entry and moves the claim's escrow balance (never below zero).
    fn settle_movement(
        &self,
        movement: &super::movement::Movement,
        status: super::movement::MovementStatus,
        failure_reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Settled, StoreError>> + Send;

    /// Creates a movement unless its serial exists (a retry after a transient failure).
    fn create_movement(
        &self,
        movement: &super::movement::Movement,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Movements in `stage` since before `before`, oldest first (for the reconciler).
    fn movements_in(
        &self,
        stage: super::movement::Stage,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<super::movement::Movement>, StoreError>> + Send;

    /// The chain has acted on a settled movement: it leaves the reconciler's view.
    fn mark_followed(&self, serial: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The claim's posted ledger entries, in serial order.
    fn ledger(
        &self,
        claim: &super::movement::ClaimKey,
    ) -> impl Future<Output = Result<Vec<super::movement::Posting>, StoreError>> + Send;

    /// Keeps a report that contradicts a final status, for an operator.
    fn record_contradiction(
        &self,
        serial: &str,
        reported: super::movement::MovementStatus,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The payment platform's interfaces the hub calls (8, 9, 12).
pub trait PaymentPlatform {
    /// Interface 8 or 9 for a pending movement, with the account on the other side. Answers
    /// the movement's status at the platform (idempotent on the serial) and any failure reason.
    fn request_movement(
        &self,
        movement: &super::movement::Movement,
        party: &super::claim::BankAccount,
    ) -> impl Future<Output = Result<(super::movement::MovementStatus, Option<String>), PartnerError>> + Send;

    /// Interface 12: the movement as the platform knows it; `None` when it never arrived.
    fn movement_status(
        &self,
        serial: &str,
    ) -> impl Future<Output = Result<Option<super::settlement::Report>, PartnerError>> + Send;
}

pub trait CollectionStore {
    /// In one transaction: the investment becomes `SUCCEEDED` (only if still pending), the
    /// claim (only if still at `claim.version`) takes `funded` as its funded amount, moving to
    /// `change` when given, and `movements` are created (a refund when the claim has closed).
    fn record_collected(
        &self,
        claim: &ClaimRecord,
        investment: &super::funding::Investment,
        funded: super::money::Money,
        change: Option<&StatusChange>,
        movements: &[super::movement::Movement],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// In one transaction: a succeeded investment becomes `REFUNDED` and the investor has one
    /// active investment less.
    fn mark_refunded(
        &self,
        investment: &super::funding::Investment,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// In one transaction: the investment becomes `FAILED` (only if still pending), its share
    /// of the claim is released and the investor has one active investment less.
    fn release_investment(
        &self,
        investment: &super::funding::Investment,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;
}

/// Interface 5's repayments: `pk = REPAYMENT#<source>#<serial>`, one per originator serial.
pub trait RepaymentStore {
    fn get_repayment(
        &self,
        source: &str,
        serial: &str,
    ) -> impl Future<Output = Result<Option<super::repaying::Repayment>, StoreError>> + Send;

    /// In one transaction: the repayment (only if its serial is new), the claim (only if still
    /// at `claim.version`) takes it as the repayment being collected and counts it, and its
    /// collection movement.
    fn accept_repayment(
        &self,
        claim: &ClaimRecord,
        repayment: &super::repaying::Repayment,
        collection: &super::movement::Movement,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<super::repaying::Accepted, StoreError>> + Send;

    /// In one transaction: the repayment takes its outcome (only if still collecting), the
    /// claim (only if still at `claim.version`) records the instalments paid and what was
    /// repaid, moves to the change's status (with its notice) and is no longer collecting, and
    /// the payouts are created.
    fn close_repayment(
        &self,
        claim: &ClaimRecord,
        close: &super::repaying::RepaymentClose<'_>,
        payouts: &[super::movement::Movement],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;
}
