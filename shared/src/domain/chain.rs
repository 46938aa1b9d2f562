//! The money chain's steps, run by the payment-steps worker from the FIFO steps queue. Each
//! is idempotent: a duplicate, late or retried step finds its work done and changes nothing.
//!
//! collection succeeded -> claim FUNDING / FUNDED -> borrower payout (amount - fee) ->
//! DISBURSED -> fee payout to income; a permanent payout failure -> DISBURSE_FAILED -> every
//! succeeded investment refunded in full.

use super::claim::{BankAccount, ClaimNo};
use super::error::ApiError;
use super::funding::InvestmentStatus;
use super::movement::{ClaimKey, MAX_ATTEMPTS, Movement, MovementStatus, Purpose};
use super::ports::{
    ClaimStore, CollectionStore, FundingStore, InvestorStore, MovementStore, PaymentPlatform, StepQueue, Transition,
};
use super::record::{ClaimRecord, StatusChange};
use super::settlement::{Report, apply_report};
use super::status::ClaimStatus;
use super::steps::Step;
use chrono::{DateTime, Utc};

/// How often a step re-reads and retries a write another writer won.
const MAX_RACES: usize = 5;

/// What the chain needs besides storage and the queue.
pub struct Chain<'a, P> {
    pub payment: &'a P,
    /// The platform's income account: upfront fees, spread and overdue fees go there.
    pub income: &'a BankAccount,
}

trait Store: ClaimStore + InvestorStore + FundingStore + MovementStore + CollectionStore + Sync {}
impl<T: ClaimStore + InvestorStore + FundingStore + MovementStore + CollectionStore + Sync> Store for T {}

pub async fn run<S, P>(
    store: &S,
    chain: &Chain<'_, P>,
    steps: &impl StepQueue,
    step: &Step,
    now: DateTime<Utc>,
) -> Result<(), ApiError>
where
    S: ClaimStore + InvestorStore + FundingStore + MovementStore + CollectionStore + Sync,
    P: PaymentPlatform,
{
    match step {
        Step::RequestMovement { serial } => request_movement(store, chain, steps, serial, now).await,
        Step::MovementSettled { serial } => movement_settled(store, steps, serial, now).await,
        Step::StartDisbursement { source, claim_no } => {
            let key = ClaimKey {
                source: source.clone(),
                claim_no: ClaimNo::parse(claim_no).map_err(|e| ApiError::invalid("claimNo", e))?,
            };
            start_disbursement(store, steps, &key, now).await
        }
    }
}

/// Sends a pending movement to the payment platform. The serial is the platform's idempotency
/// key, so sending again after a crash never moves money twice. A final status in the answer
/// is applied exactly as a callback would be.
async fn request_movement<P: PaymentPlatform>(
    store: &impl Store,
    chain: &Chain<'_, P>,
    steps: &impl StepQueue,
    serial: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let movement = store.get_movement(serial).await?.ok_or(ApiError::NotFound("movement"))?;
    if movement.status != MovementStatus::Pending {
        return Ok(());
    }
    let party = party_account(store, chain.income, &movement).await?;
    let (status, failure_reason) = chain.payment.request_movement(&movement, &party).await.map_err(|e| {
        tracing::warn!(serial, error = %e, "payment platform did not take the movement");
        ApiError::Unavailable("the payment platform")
    })?;
    if status == MovementStatus::Pending {
        return Ok(());
    }
    let report = Report { serial: movement.serial.clone(), status, amount: movement.amount, failure_reason };
    apply_report(store, steps, movement.purpose.kind(), &report, now).await.map(|_| ())
}

/// The account on the other side of a movement.
async fn party_account(store: &impl Store, income: &BankAccount, movement: &Movement) -> Result<BankAccount, ApiError> {
    match movement.purpose {
        Purpose::Investment | Purpose::Refund => {
            let id = movement.party.as_deref().unwrap_or_default();
            Ok(store.get_investor(id).await?.ok_or(ApiError::NotFound("investor"))?.bank)
        }
        Purpose::Disbursement => Ok(claim_of(store, &movement.claim).await?.claim.bank),
        Purpose::UpfrontFee => Ok(income.clone()),
    }
}

async fn claim_of(store: &impl Store, key: &ClaimKey) -> Result<ClaimRecord, ApiError> {
    store.get_claim(&key.source, &key.claim_no).await?.ok_or(ApiError::NotFound("claim"))
}

async fn request(steps: &impl StepQueue, movements: &[Movement]) -> Result<(), ApiError> {
    for m in movements {
        steps.enqueue(&m.claim, &Step::RequestMovement { serial: m.serial.clone() }).await?;
    }
    Ok(())
}

/// Moves the claim to `next` with `movements`, re-reading while others win; `decide` sees the
/// claim as it stands and says what to do (`None`: nothing, the work is done).
async fn advance_claim<F>(
    store: &impl Store,
    steps: &impl StepQueue,
    key: &ClaimKey,
    now: DateTime<Utc>,
    decide: F,
) -> Result<(), ApiError>
where
    F: Fn(&ClaimRecord) -> Result<Option<(ClaimStatus, Vec<Movement>)>, ApiError>,
{
    for _ in 0..MAX_RACES {
        let claim = claim_of(store, key).await?;
        let Some((next, movements)) = decide(&claim)? else { return Ok(()) };
        let change = StatusChange { status: next, at: now };
        if store.advance(&claim, &change, &movements, now).await? == Transition::Applied {
            return request(steps, &movements).await;
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; the step will run again")))
}

/// A funded claim: FUNDED -> DISBURSING with the borrower payout.
async fn start_disbursement(
    store: &impl Store,
    steps: &impl StepQueue,
    key: &ClaimKey,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    advance_claim(store, steps, key, now, |claim| {
        Ok((claim.status == ClaimStatus::Funded).then(|| {
            let payout = Movement::pending(
                Purpose::Disbursement,
                key,
                &key.to_string(),
                1,
                claim.claim.disbursement_amount(),
                Some(claim.claim.borrower_uuid.clone()),
            );
            (ClaimStatus::Disbursing, vec![payout])
        }))
    })
    .await
}

/// Moves the claim and its investments on once a movement is final.
async fn movement_settled(
    store: &impl Store,
    steps: &impl StepQueue,
    serial: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let movement = store.get_movement(serial).await?.ok_or(ApiError::NotFound("movement"))?;
    let key = &movement.claim;
    match (movement.purpose, movement.status) {
        (_, MovementStatus::Pending) => Err(ApiError::IllegalState(format!("{serial} is still pending"))),
        (_, MovementStatus::Failed) if movement.failed_transiently() && movement.attempt < MAX_ATTEMPTS => {
            let retry = movement.retry();
            store.create_movement(&retry, now).await?;
            request(steps, &[retry]).await
        }
        (Purpose::Investment, status) => investment_settled(store, steps, &movement, status, now).await,
        (Purpose::Disbursement, MovementStatus::Succeeded) => {
            advance_claim(store, steps, key, now, |claim| {
                let fee = claim.claim.upfront_fee;
                let fee_payout = (!fee.is_zero())
                    .then(|| Movement::pending(Purpose::UpfrontFee, key, &key.to_string(), 1, fee, None));
                Ok((claim.status == ClaimStatus::Disbursing)
                    .then(|| (ClaimStatus::Disbursed, fee_payout.into_iter().collect())))
            })
            .await
        }
        (Purpose::Disbursement, MovementStatus::Failed) => {
            let refunds = refunds_for(store, key).await?;
            advance_claim(store, steps, key, now, |claim| {
                Ok((claim.status == ClaimStatus::Disbursing).then(|| (ClaimStatus::DisburseFailed, refunds.clone())))
            })
            .await
        }
        (Purpose::Refund, MovementStatus::Succeeded) => {
            let id = movement.investment_id.as_deref().unwrap_or_default();
            let investment = store.get_investment(key, id).await?.ok_or(ApiError::NotFound("investment"))?;
            if investment.status == InvestmentStatus::Succeeded {
                store.mark_refunded(&investment).await?;
            }
            Ok(())
        }
        (Purpose::UpfrontFee, MovementStatus::Succeeded) => Ok(()),
        (purpose, MovementStatus::Failed) => {
            // Money stays in escrow, visible to the ledger check; an operator must act.
            tracing::error!(serial, ?purpose, attempt = movement.attempt, "payout failed for good; operator needed");
            Ok(())
        }
    }
}

/// One full refund per succeeded investment.
async fn refunds_for(store: &impl Store, key: &ClaimKey) -> Result<Vec<Movement>, ApiError> {
    Ok(store
        .investments(key)
        .await?
        .into_iter()
        .filter(|i| i.status == InvestmentStatus::Succeeded)
        .map(|i| Movement::pending(Purpose::Refund, key, &i.investment_id, 1, i.amount, Some(i.investor_id)))
        .collect())
}

/// A collection is final: count it toward funding, or release its share.
async fn investment_settled(
    store: &impl Store,
    steps: &impl StepQueue,
    movement: &Movement,
    status: MovementStatus,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let key = &movement.claim;
    let investment_id = movement.investment_id.as_deref().unwrap_or_default();
    for _ in 0..MAX_RACES {
        let investment = store.get_investment(key, investment_id).await?.ok_or(ApiError::NotFound("investment"))?;
        if investment.status != InvestmentStatus::Pending {
            return Ok(());
        }
        if status == MovementStatus::Failed {
            if store.release_investment(&investment).await? == Transition::Applied {
                return Ok(());
            }
            continue;
        }
        let claim = claim_of(store, key).await?;
        if !matches!(claim.status, ClaimStatus::Listed | ClaimStatus::Funding) {
            return Err(ApiError::IllegalState(format!(
                "collection succeeded on a {} claim; refunding it is not part of this release",
                claim.status
            )));
        }
        let funded = claim.funded_amount + investment.amount;
        let next = if funded == claim.claim.amount { ClaimStatus::Funded } else { ClaimStatus::Funding };
        let change = (next != claim.status).then_some(StatusChange { status: next, at: now });
        if store.record_collected(&claim, &investment, funded, change.as_ref()).await? == Transition::Applied {
            if next == ClaimStatus::Funded {
                let step = Step::StartDisbursement { source: key.source.clone(), claim_no: key.claim_no.to_string() };
                steps.enqueue(key, &step).await?;
            }
            return Ok(());
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; the step will run again")))
}
