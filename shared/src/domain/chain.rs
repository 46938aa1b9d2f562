//! The money chain's steps, run by the payment-steps worker from the FIFO steps queue. Each
//! is idempotent: a duplicate, late or retried step finds its work done and changes nothing.
//!
//! listed -> borrower checked (interface 2) -> collection succeeded -> claim FUNDING / FUNDED
//! -> borrower payout (amount - fee) -> DISBURSED -> fee payout to income; a permanent payout
//! failure -> DISBURSE_FAILED, and an expired listing or a borrower who invests here ->
//! LISTING_FAILED; both refund every succeeded investment in full. Every status change the
//! originator cares about is announced to the notify worker (interface 6).

use super::borrower::{BORROWER_IS_INVESTOR, BORROWER_UNKNOWN, NOT_FULLY_FUNDED};
use super::claim::{BankAccount, ClaimNo};
use super::error::ApiError;
use super::funding::{FundingRules, Investment, InvestmentStatus, listing_closes_at};
use super::investor::{PersonQuery, has_active_investments};
use super::movement::{ClaimKey, MAX_ATTEMPTS, Movement, MovementStatus, Purpose};
use super::people::MatchKey;
use super::ports::{
    ClaimStore, CollectionStore, FundingStore, InvestorStore, MovementStore, Originator, PaymentPlatform,
    RepaymentStore, StepQueue, Transition,
};
use super::record::{ClaimRecord, StatusChange};
use super::repaying;
use super::settlement::{Report, apply_report};
use super::status::ClaimStatus;
use super::steps::Step;
use chrono::{DateTime, Utc};

/// How often a step re-reads and retries a write another writer won.
const MAX_RACES: usize = 5;

/// What the chain needs besides storage and the queues.
pub struct Chain<'a, P, O> {
    pub payment: &'a P,
    pub originator: &'a O,
    pub match_key: &'a MatchKey,
    /// The platform's income account: upfront fees, spread and overdue fees go there.
    pub income: &'a BankAccount,
}

trait Store: ClaimStore + InvestorStore + FundingStore + MovementStore + CollectionStore + RepaymentStore + Sync {}
impl<T: ClaimStore + InvestorStore + FundingStore + MovementStore + CollectionStore + RepaymentStore + Sync> Store
    for T
{
}

pub async fn run<S, P, O>(
    store: &S,
    chain: &Chain<'_, P, O>,
    steps: &impl StepQueue,
    step: &Step,
    now: DateTime<Utc>,
) -> Result<(), ApiError>
where
    S: ClaimStore + InvestorStore + FundingStore + MovementStore + CollectionStore + RepaymentStore + Sync,
    P: PaymentPlatform,
    O: Originator,
{
    let claim_key = |source: &str, claim_no: &str| -> Result<ClaimKey, ApiError> {
        let claim_no = ClaimNo::parse(claim_no).map_err(|e| ApiError::invalid("claimNo", e))?;
        Ok(ClaimKey { source: source.to_owned(), claim_no })
    };
    match step {
        Step::RequestMovement { serial } => request_movement(store, chain, steps, serial, now).await,
        Step::MovementSettled { serial } => {
            movement_settled(store, steps, serial, now).await?;
            Ok(store.mark_followed(serial).await?)
        }
        Step::StartDisbursement { source, claim_no } => {
            start_disbursement(store, steps, &claim_key(source, claim_no)?, now).await
        }
        Step::CheckBorrower { source, claim_no } => {
            check_borrower(store, chain, steps, &claim_key(source, claim_no)?, now).await
        }
    }
}

/// Sends a pending movement to the payment platform. The serial is the platform's idempotency
/// key, so sending again after a crash never moves money twice. A final status in the answer
/// is applied exactly as a callback would be.
async fn request_movement<P: PaymentPlatform, O>(
    store: &impl Store,
    chain: &Chain<'_, P, O>,
    steps: &impl StepQueue,
    serial: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let movement = store.get_movement(serial).await?.ok_or(ApiError::NotFound("movement"))?;
    if movement.status != MovementStatus::Pending {
        return Ok(());
    }
    let party = party_account(store, chain.income, &movement).await?;
    let (status, failure_reason) = match chain.payment.request_movement(&movement, &party).await {
        Ok(answer) => answer,
        // No answer (down, too slow, a server error): the movement stays pending and the reconciler asks
        // interface 12 about it, then sends it again if the platform never got it. Failing the
        // step instead would hold the claim's later steps (its FIFO group) for a visibility
        // timeout.
        Err(e) if e.is_no_answer() => {
            tracing::warn!(serial, error = %e, "payment platform did not answer; the reconciler takes it from here");
            return Ok(());
        }
        // An answer that refuses the request: the step fails, comes back, and ends in the
        // dead-letter queue (and its alarm) if the refusal stays.
        Err(e) => {
            tracing::warn!(serial, error = %e, "payment platform refused the movement");
            return Err(ApiError::Unavailable("the payment platform"));
        }
    };
    if status == MovementStatus::Pending {
        return Ok(());
    }
    let report = Report { serial: movement.serial.clone(), status, amount: movement.amount, failure_reason };
    apply_report(store, steps, movement.purpose.kind(), &report, now).await.map(|_| ())
}

/// The account on the other side of a movement.
async fn party_account(store: &impl Store, income: &BankAccount, movement: &Movement) -> Result<BankAccount, ApiError> {
    match movement.purpose {
        Purpose::Investment | Purpose::Refund | Purpose::InvestorReturn => {
            let id = movement.party.as_deref().unwrap_or_default();
            Ok(store.get_investor(id).await?.ok_or(ApiError::NotFound("investor"))?.bank)
        }
        Purpose::Disbursement | Purpose::Repayment => Ok(claim_of(store, &movement.claim).await?.claim.bank),
        Purpose::UpfrontFee | Purpose::IncomeShare => Ok(income.clone()),
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
    F: Fn(&ClaimRecord) -> Result<Option<(StatusChange, Vec<Movement>)>, ApiError>,
{
    for _ in 0..MAX_RACES {
        let claim = claim_of(store, key).await?;
        let Some((next, movements)) = decide(&claim)? else { return Ok(()) };
        if store.advance(&claim, &next, &movements, now).await? == Transition::Applied {
            return followed_up(steps, key, &next, &movements).await;
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; the step will run again")))
}

/// After a status change committed: its movements go to the payment platform and its notice
/// to the originator. A send lost here is recovered by the reconciler.
async fn followed_up(
    steps: &impl StepQueue,
    key: &ClaimKey,
    change: &StatusChange,
    movements: &[Movement],
) -> Result<(), ApiError> {
    request(steps, movements).await?;
    if change.status.notifies() {
        steps.announce(key).await?;
    }
    Ok(())
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
            (StatusChange::to(ClaimStatus::Disbursing, now), vec![payout])
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
        (_, MovementStatus::Failed)
            if movement.failed_transiently()
                && movement.attempt < MAX_ATTEMPTS
                && still_wanted(store, &movement).await? =>
        {
            let retry = movement.retry();
            store.create_movement(&retry, now).await?;
            request(steps, &[retry]).await
        }
        (Purpose::Investment, status) => investment_settled(store, steps, &movement, status, now).await,
        (Purpose::Repayment, _) => repaying::repayment_settled(store, steps, &movement, now).await,
        (Purpose::InvestorReturn | Purpose::IncomeShare, MovementStatus::Succeeded) => {
            repaying::payout_settled(store, steps, key, now).await
        }
        (Purpose::Disbursement, MovementStatus::Succeeded) => {
            advance_claim(store, steps, key, now, |claim| {
                let fee = claim.claim.upfront_fee;
                let fee_payout = (!fee.is_zero())
                    .then(|| Movement::pending(Purpose::UpfrontFee, key, &key.to_string(), 1, fee, None));
                Ok((claim.status == ClaimStatus::Disbursing)
                    .then(|| (StatusChange::to(ClaimStatus::Disbursed, now), fee_payout.into_iter().collect())))
            })
            .await
        }
        (Purpose::Disbursement, MovementStatus::Failed) => {
            // No investment changes on a disbursing claim, so the refunds are read once.
            let refunds = refunds_for(store, key).await?;
            let reason = movement.failure_reason.clone().unwrap_or_else(|| "PAYOUT_FAILED".into());
            advance_claim(store, steps, key, now, |claim| {
                let change = StatusChange::because(ClaimStatus::DisburseFailed, now, &reason);
                Ok((claim.status == ClaimStatus::Disbursing).then(|| (change, refunds.clone())))
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

/// A collection is worth retrying only while its listing is open; payouts always are.
async fn still_wanted(store: &impl Store, movement: &Movement) -> Result<bool, ApiError> {
    if movement.purpose != Purpose::Investment {
        return Ok(true);
    }
    let claim = claim_of(store, &movement.claim).await?;
    Ok(matches!(claim.status, ClaimStatus::Listed | ClaimStatus::Funding))
}

/// One full refund per succeeded investment.
async fn refunds_for(store: &impl Store, key: &ClaimKey) -> Result<Vec<Movement>, ApiError> {
    Ok(store.investments(key).await?.iter().filter(|i| i.status == InvestmentStatus::Succeeded).map(refund).collect())
}

fn refund(investment: &Investment) -> Movement {
    let claim = &investment.claim;
    let investor = Some(investment.investor_id.clone());
    Movement::pending(Purpose::Refund, claim, &investment.investment_id, 1, investment.amount, investor)
}

/// A collection is final: count it toward funding, or release its share. A collection that
/// succeeds after the listing closed is refunded.
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
        let claim = claim_of(store, key).await?;
        if investment.status != InvestmentStatus::Pending {
            // Done before; its follow-up may have been lost with a crash.
            if claim.status == ClaimStatus::Funded {
                steps.enqueue(key, &start_disbursement_step(key)).await?;
            }
            return Ok(());
        }
        if status == MovementStatus::Failed {
            if store.release_investment(&investment).await? == Transition::Applied {
                return Ok(());
            }
            continue;
        }
        let (funded, change, refunds) = match claim.status {
            ClaimStatus::Listed | ClaimStatus::Funding => {
                let funded = claim.funded_amount + investment.amount;
                let next = if funded == claim.claim.amount { ClaimStatus::Funded } else { ClaimStatus::Funding };
                (funded, (next != claim.status).then(|| StatusChange::to(next, now)), vec![])
            }
            ClaimStatus::ListingFailed => (claim.funded_amount, None, vec![refund(&investment)]),
            other => {
                return Err(ApiError::IllegalState(format!(
                    "collection {} succeeded on a {other} claim",
                    movement.serial
                )));
            }
        };
        if store.record_collected(&claim, &investment, funded, change.as_ref(), &refunds, now).await?
            == Transition::Applied
        {
            request(steps, &refunds).await?;
            if change.is_some_and(|c| c.status == ClaimStatus::Funded) {
                steps.enqueue(key, &start_disbursement_step(key)).await?;
            }
            return Ok(());
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; the step will run again")))
}

fn start_disbursement_step(key: &ClaimKey) -> Step {
    Step::StartDisbursement { source: key.source.clone(), claim_no: key.claim_no.to_string() }
}

/// Closes an open listing as `LISTING_FAILED` for `reason`, refunding what was collected, if
/// `applies` still holds for the claim as it stands. `Ok(true)` when this call closed it.
pub async fn fail_listing<F>(
    store: &(impl ClaimStore + FundingStore + Sync),
    steps: &impl StepQueue,
    key: &ClaimKey,
    reason: &str,
    now: DateTime<Utc>,
    applies: F,
) -> Result<bool, ApiError>
where
    F: Fn(&ClaimRecord) -> bool,
{
    for _ in 0..MAX_RACES {
        let claim = store.get_claim(&key.source, &key.claim_no).await?.ok_or(ApiError::NotFound("claim"))?;
        if !matches!(claim.status, ClaimStatus::Listed | ClaimStatus::Funding) || !applies(&claim) {
            return Ok(false);
        }
        // Read with the claim's version: a collection settling meanwhile bumps it and this
        // attempt is stale, so the refunds always match what was collected.
        let refunds: Vec<Movement> = store
            .investments(key)
            .await?
            .iter()
            .filter(|i| i.status == InvestmentStatus::Succeeded)
            .map(refund)
            .collect();
        let change = StatusChange::because(ClaimStatus::ListingFailed, now, reason);
        if store.advance(&claim, &change, &refunds, now).await? == Transition::Applied {
            followed_up(steps, key, &change, &refunds).await?;
            return Ok(true);
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; try again")))
}

/// Closes every open listing whose window has passed. Returns the claims it closed; one
/// claim's failure does not stop the others.
pub async fn expire_listings(
    store: &(impl ClaimStore + FundingStore + Sync),
    steps: &impl StepQueue,
    rules: &FundingRules,
    now: DateTime<Utc>,
) -> Result<Vec<ClaimKey>, ApiError> {
    let mut expired = Vec::new();
    let mut failures = 0;
    for status in [ClaimStatus::Listed, ClaimStatus::Funding] {
        for claim in store.claims_in_status(status).await? {
            if now < listing_closes_at(&claim, rules) {
                continue;
            }
            let key = ClaimKey { source: claim.claim.source.clone(), claim_no: claim.claim.claim_no.clone() };
            let closes = |c: &ClaimRecord| now >= listing_closes_at(c, rules);
            match fail_listing(store, steps, &key, NOT_FULLY_FUNDED, now, closes).await {
                Ok(true) => expired.push(key),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(claim = %key, error = %e, "listing not expired; the next run tries again");
                    failures += 1;
                }
            }
        }
    }
    if failures > 0 {
        return Err(ApiError::Unavailable("storage or the steps queue (some listings were not expired)"));
    }
    Ok(expired)
}

/// Interface 2 after listing: keeps the borrower's masked facts, or closes the listing when
/// the borrower is an active investor here (or unknown to the originator).
async fn check_borrower<P, O: Originator>(
    store: &impl Store,
    chain: &Chain<'_, P, O>,
    steps: &impl StepQueue,
    key: &ClaimKey,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let claim = claim_of(store, key).await?;
    if claim.borrower.is_some() || !matches!(claim.status, ClaimStatus::Listed | ClaimStatus::Funding) {
        return Ok(());
    }
    let profile = chain.originator.borrower_profile(&claim.claim.borrower_uuid).await.map_err(|e| {
        tracing::warn!(claim = %key, error = %e, "interface 2 failed");
        ApiError::Unavailable("the originator's borrower profile")
    })?;
    let Some(profile) = profile else {
        fail_listing(store, steps, key, BORROWER_UNKNOWN, now, |c| c.borrower.is_none()).await?;
        return Ok(());
    };
    let person = PersonQuery { nik: Some(profile.nik.clone()), phone: Some(profile.phone.clone()) };
    if has_active_investments(store, chain.match_key, &person).await? {
        fail_listing(store, steps, key, BORROWER_IS_INVESTOR, now, |c| c.borrower.is_none()).await?;
        return Ok(());
    }
    let facts = profile.facts(now);
    for _ in 0..MAX_RACES {
        let claim = claim_of(store, key).await?;
        if claim.borrower.is_some() || store.set_borrower(&claim, &facts).await? == Transition::Applied {
            return Ok(());
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; the step will run again")))
}
