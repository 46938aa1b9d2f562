//! The scheduled reconciler: whatever a lost callback or a lost queue message left waiting
//! longer than the configured age is picked up again.
//! - A pending movement: interface 12 is asked, and a final answer is applied exactly as a
//!   callback would be (a late callback after that is a harmless duplicate); a movement the
//!   platform never received is requested again under its serial.
//! - A settled movement whose step never ran: the step is queued again.
//! - An undelivered interface 6 notice: announced again (then at most hourly).
//! - A claim still `FUNDED`: its disbursement step is queued again.
//! - A listing whose borrower was never checked: the check is queued again.

use super::error::ApiError;
use super::movement::{MovementStatus, Stage};
use super::ports::{ClaimStore, FundingStore, MovementStore, NoticeStore, PaymentPlatform, StepQueue};
use super::settlement::apply_report;
use super::status::ClaimStatus;
use super::steps::Step;
use chrono::{DateTime, Duration, Utc};

/// Interface 12 queries per run at most, oldest first: a run stays well inside its timeout
/// and never floods the platform; the rest waits for the next run.
pub const MAX_QUERIES_PER_RUN: usize = 50;

/// How long a re-announced claim's notices wait before the reconciler announces them again;
/// meanwhile the notify queue retries with its own backoff.
pub const NOTICE_REANNOUNCE: Duration = Duration::hours(1);

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    /// Pending movements asked about through interface 12.
    pub queried: usize,
    /// Final answers that settled a movement (its callback never came).
    pub settled: usize,
    /// Movements the platform had never received, requested again.
    pub requested_again: usize,
    pub steps_requeued: usize,
    pub notices_announced: usize,
    pub disbursements_requeued: usize,
    pub borrower_checks_requeued: usize,
    /// Items that could not be handled this run (they are tried again next run).
    pub failures: usize,
}

pub async fn reconcile<S>(
    store: &S,
    payment: &impl PaymentPlatform,
    steps: &impl StepQueue,
    age: Duration,
    now: DateTime<Utc>,
) -> Result<Reconciled, ApiError>
where
    S: ClaimStore + FundingStore + MovementStore + NoticeStore + Sync,
{
    let before = now - age;
    let mut done = Reconciled::default();
    for movement in store.movements_in(Stage::Pending, before).await?.into_iter().take(MAX_QUERIES_PER_RUN) {
        let result = async {
            let answer = payment.movement_status(&movement.serial).await.map_err(|e| {
                tracing::warn!(serial = %movement.serial, error = %e, "interface 12 failed");
                ApiError::Unavailable("the payment platform's status query")
            })?;
            match answer {
                None => {
                    steps.enqueue(&movement.claim, &Step::RequestMovement { serial: movement.serial.clone() }).await?;
                    Ok((false, true))
                }
                Some(report) if report.status == MovementStatus::Pending => Ok((false, false)),
                Some(report) => Ok((apply_report(store, steps, movement.purpose.kind(), &report, now).await?, false)),
            }
        }
        .await;
        done.queried += 1;
        if let Ok((settled, requested)) = &result {
            done.settled += usize::from(*settled);
            done.requested_again += usize::from(*requested);
        }
        tally(&mut done, result.map(|_| ()), "movement");
    }
    for movement in store.movements_in(Stage::Settled, before).await? {
        let step = Step::MovementSettled { serial: movement.serial.clone() };
        let result = steps.enqueue(&movement.claim, &step).await.map_err(ApiError::from);
        done.steps_requeued += usize::from(result.is_ok());
        tally(&mut done, result, "settled movement");
    }
    for claim in store.claims_with_notices_due(before).await? {
        let result = async {
            steps.announce(&claim).await?;
            store.postpone_notices(&claim, now + NOTICE_REANNOUNCE).await
        }
        .await
        .map_err(ApiError::from);
        done.notices_announced += usize::from(result.is_ok());
        tally(&mut done, result, "notice");
    }
    for claim in store.claims_in_status(ClaimStatus::Funded).await? {
        // FUNDED lasts one step; one still there after the age lost its disbursement step.
        if claim.history.last().is_some_and(|c| c.at >= before) {
            continue;
        }
        let key = super::movement::ClaimKey { source: claim.claim.source.clone(), claim_no: claim.claim.claim_no };
        let step = Step::StartDisbursement { source: key.source.clone(), claim_no: key.claim_no.to_string() };
        let result = steps.enqueue(&key, &step).await.map_err(ApiError::from);
        done.disbursements_requeued += usize::from(result.is_ok());
        tally(&mut done, result, "disbursement");
    }
    for claim in store.claims_in_status(ClaimStatus::Listed).await? {
        if claim.borrower.is_some() || claim.accepted_at >= before {
            continue;
        }
        let key = super::movement::ClaimKey { source: claim.claim.source.clone(), claim_no: claim.claim.claim_no };
        let step = Step::CheckBorrower { source: key.source.clone(), claim_no: key.claim_no.to_string() };
        let result = steps.enqueue(&key, &step).await.map_err(ApiError::from);
        done.borrower_checks_requeued += usize::from(result.is_ok());
        tally(&mut done, result, "borrower check");
    }
    Ok(done)
}

fn tally(done: &mut Reconciled, result: Result<(), ApiError>, what: &str) {
    if let Err(e) = result {
        tracing::warn!(error = %e, what, "reconciler: tried again next run");
        done.failures += 1;
    }
}
