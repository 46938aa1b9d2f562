//! The money chain's steps, run by the payment-steps worker from the FIFO steps queue. Each
//! is idempotent: a duplicate, late or retried step finds its work done and changes nothing.

use super::claim::BankAccount;
use super::error::ApiError;
use super::movement::{Movement, MovementStatus, Purpose};
use super::ports::{
    ClaimStore, CollectionStore, FundingStore, InvestorStore, MovementStore, PaymentPlatform, StepQueue, Transition,
};
use super::record::StatusChange;
use super::settlement::{Report, apply_report};
use super::status::ClaimStatus;
use super::steps::Step;
use chrono::{DateTime, Utc};

/// How often a step re-reads and retries a write another writer won.
const MAX_RACES: usize = 5;

pub async fn run<S>(
    store: &S,
    payment: &impl PaymentPlatform,
    steps: &impl StepQueue,
    step: &Step,
    now: DateTime<Utc>,
) -> Result<(), ApiError>
where
    S: ClaimStore + InvestorStore + FundingStore + MovementStore + CollectionStore + Sync,
{
    match step {
        Step::RequestMovement { serial } => request_movement(store, payment, steps, serial, now).await,
        Step::MovementSettled { serial } => movement_settled(store, serial, now).await,
    }
}

/// Sends a pending movement to the payment platform. The serial is the platform's idempotency
/// key, so sending again after a crash never moves money twice. A final status in the answer
/// is applied exactly as a callback would be.
async fn request_movement<S>(
    store: &S,
    payment: &impl PaymentPlatform,
    steps: &impl StepQueue,
    serial: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError>
where
    S: ClaimStore + InvestorStore + FundingStore + MovementStore + Sync,
{
    let movement = store.get_movement(serial).await?.ok_or(ApiError::NotFound("movement"))?;
    if movement.status != MovementStatus::Pending {
        return Ok(());
    }
    let party = party_account(store, &movement).await?;
    let status = payment.request_movement(&movement, &party).await.map_err(|e| {
        tracing::warn!(serial, error = %e, "payment platform did not take the movement");
        ApiError::Unavailable("the payment platform")
    })?;
    if status == MovementStatus::Pending {
        return Ok(());
    }
    let report = Report { serial: movement.serial.clone(), status, amount: movement.amount, failure_reason: None };
    apply_report(store, steps, movement.purpose.kind(), &report, now).await.map(|_| ())
}

/// The account on the other side of a movement.
async fn party_account<S>(store: &S, movement: &Movement) -> Result<BankAccount, ApiError>
where
    S: ClaimStore + InvestorStore + Sync,
{
    match movement.purpose {
        Purpose::Investment | Purpose::Refund => {
            let id = movement.party.as_deref().unwrap_or_default();
            let investor = store.get_investor(id).await?.ok_or(ApiError::NotFound("investor"))?;
            Ok(investor.bank)
        }
        Purpose::Disbursement | Purpose::UpfrontFee => Err(ApiError::IllegalState(format!(
            "{:?} movements are not part of this release of the chain",
            movement.purpose
        ))),
    }
}

/// Moves the claim and its investment on once a movement is final.
async fn movement_settled<S>(store: &S, serial: &str, now: DateTime<Utc>) -> Result<(), ApiError>
where
    S: ClaimStore + FundingStore + CollectionStore + Sync,
{
    let movement = store.get_movement(serial).await?.ok_or(ApiError::NotFound("movement"))?;
    let investment_id = movement.investment_id.as_deref().unwrap_or_default();
    match (movement.purpose, movement.status) {
        (_, MovementStatus::Pending) => Err(ApiError::IllegalState(format!("{serial} is still pending"))),
        (Purpose::Investment, status) => {
            for _ in 0..MAX_RACES {
                let investment = store
                    .get_investment(&movement.claim, investment_id)
                    .await?
                    .ok_or(ApiError::NotFound("investment"))?;
                if investment.status != super::funding::InvestmentStatus::Pending {
                    return Ok(());
                }
                let outcome = if status == MovementStatus::Failed {
                    store.release_investment(&investment).await?
                } else {
                    let claim = store
                        .get_claim(&movement.claim.source, &movement.claim.claim_no)
                        .await?
                        .ok_or(ApiError::NotFound("claim"))?;
                    if !matches!(claim.status, ClaimStatus::Listed | ClaimStatus::Funding) {
                        return Err(ApiError::IllegalState(format!(
                            "collection succeeded on a {} claim; its refund is not part of this release",
                            claim.status
                        )));
                    }
                    let funded = claim.funded_amount + investment.amount;
                    let next = if funded == claim.claim.amount { ClaimStatus::Funded } else { ClaimStatus::Funding };
                    let change = (next != claim.status).then_some(StatusChange { status: next, at: now });
                    store.record_collected(&claim, &investment, funded, change.as_ref()).await?
                };
                if outcome == Transition::Applied {
                    return Ok(());
                }
            }
            Err(ApiError::Conflict(format!("{serial}: the claim kept changing; try the step again")))
        }
        (purpose, _) => {
            Err(ApiError::IllegalState(format!("{purpose:?} movements are not part of this release of the chain")))
        }
    }
}
