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
    fn insert_claim(
        &self,
        record: &ClaimRecord,
    ) -> impl Future<Output = Result<Insert, StoreError>> + Send;

    fn get_claim(
        &self,
        source: &str,
        claim_no: &ClaimNo,
    ) -> impl Future<Output = Result<Option<ClaimRecord>, StoreError>> + Send;

    /// Moves the claim from `from` (at `version`) to `change.status`, appending to its history,
    /// in one conditional write.
    fn change_status(
        &self,
        record: &ClaimRecord,
        from: ClaimStatus,
        change: &StatusChange,
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
