//! Interface 6: status notifications to the originator. A notice is written to an outbox in
//! the same transaction as the status change it reports, then delivered at least once, in
//! sequence order, by the notify worker; the reconciler re-announces any left undelivered.

use super::error::ApiError;
use super::movement::ClaimKey;
use super::ports::{NoticeStore, Originator};
use super::record::{ClaimRecord, StatusChange};
use super::status::ClaimStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `EV-<sequence>-<source>-<claimNo>`: the same event keeps its id on every delivery.
    pub event_id: String,
    pub claim: ClaimKey,
    /// 1, 2, ... per claim, in the order the changes happened.
    pub sequence: u32,
    pub status: ClaimStatus,
    pub occurred_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// The notice `change` produces on `record` (as it stands before the change), numbered after
/// the claim's earlier notices; `None` when the originator is not told about that status.
pub fn notice_for(record: &ClaimRecord, change: &StatusChange) -> Option<Notice> {
    if !change.status.notifies() {
        return None;
    }
    let earlier = record.history.iter().filter(|c| c.status.notifies()).count();
    let sequence = u32::try_from(earlier + 1).unwrap_or(u32::MAX);
    let claim = ClaimKey { source: record.claim.source.clone(), claim_no: record.claim.claim_no.clone() };
    Some(Notice {
        event_id: format!("EV-{sequence}-{claim}"),
        claim,
        sequence,
        status: change.status,
        occurred_at: change.at,
        reason: change.reason.clone(),
    })
}

/// What the notify queue carries: "deliver this claim's notices".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Announcement {
    pub source: String,
    pub claim_no: String,
}

impl Announcement {
    pub fn of(claim: &ClaimKey) -> Announcement {
        Announcement { source: claim.source.clone(), claim_no: claim.claim_no.to_string() }
    }
}

/// Delivers the claim's undelivered notices in sequence order, stopping at the first the
/// originator does not take (the message then comes back later, with backoff). Returns how
/// many were delivered.
pub async fn deliver(
    store: &impl NoticeStore,
    originator: &impl Originator,
    claim: &ClaimKey,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let mut delivered = 0;
    for notice in store.undelivered_notices(claim).await? {
        originator.notify(&notice).await.map_err(|e| {
            tracing::warn!(event_id = %notice.event_id, error = %e, "originator did not take the notice");
            ApiError::Unavailable("the originator")
        })?;
        store.mark_delivered(&notice, now).await?;
        delivered += 1;
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::claim::tests_support::sample_record;

    #[test]
    fn notices_are_numbered_per_claim_and_only_for_statuses_the_originator_cares_about() {
        let mut record = sample_record();
        let at = record.accepted_at;
        assert_eq!(notice_for(&record, &StatusChange::to(ClaimStatus::Funding, at)), None);
        assert_eq!(notice_for(&record, &StatusChange::to(ClaimStatus::Funded, at)), None);
        let first = notice_for(&record, &StatusChange::to(ClaimStatus::Disbursed, at)).unwrap();
        assert_eq!(first.sequence, 1);
        assert_eq!(first.event_id, format!("EV-1-{}-{}", record.claim.source, record.claim.claim_no));
        record.history.push(StatusChange::to(ClaimStatus::Disbursed, at));
        record.history.push(StatusChange::to(ClaimStatus::Repaying, at));
        let third = notice_for(&record, &StatusChange::because(ClaimStatus::Overdue, at, "LATE")).unwrap();
        assert_eq!((third.sequence, third.reason.as_deref()), (3, Some("LATE")));
    }
}
