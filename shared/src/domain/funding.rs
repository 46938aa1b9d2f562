//! Investing in a listed claim (SPEC section 5, funding): the amount rules, the investment
//! and its collection movement. Subscriptions never exceed the claim, even concurrently: the
//! store places an investment only if the claim's subscribed amount still leaves room.

use super::claim::ClaimNo;
use super::error::ApiError;
use super::fields::{Fields, sorted};
use super::investor::Investor;
use super::money::{Currency, Money};
use super::movement::{ClaimKey, Movement, Purpose};
use super::ports::{ClaimStore, FundingStore, InvestorStore, Originator, Placement, StepQueue};
use super::record::ClaimRecord;
use super::status::ClaimStatus;
use super::steps::Step;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The most orders one claim takes. Its refunds, and each repayment's payouts, are written in
/// one DynamoDB transaction with the claim (at most 100 items), so the number is bounded.
pub const MAX_INVESTMENTS_PER_CLAIM: u32 = 90;

#[derive(Debug, Clone)]
pub struct FundingRules {
    pub min_investment: Money,
    /// How long a claim stays open for investment after the hub accepted it.
    pub listing_window: Duration,
}

/// An investor's order, as the investor front end sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestOrder {
    pub investor_id: String,
    pub claim: ClaimKey,
    pub amount: Money,
    /// The front end's idempotency key: the same key is the same investment.
    pub request_id: String,
}

impl InvestOrder {
    pub fn parse(body: &Value, currency: Currency) -> Result<InvestOrder, ApiError> {
        let object = body.as_object().ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let mut f = Fields::new(object);
        f.only(&["investorId", "claimNo", "source", "amount", "requestId"]);
        let investor_id = f.text("investorId");
        let claim_no = f.parsed("claimNo", ClaimNo::parse);
        let source = match f.optional("source") {
            None => Some("doit".to_owned()),
            Some(_) => f.text("source"),
        };
        let amount = f.required("amount").and_then(|v| {
            let amount = currency.parse_amount(v);
            f.check("amount", amount)
        });
        let request_id = f.parsed("requestId", |s| {
            if !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
                Ok(s.to_owned())
            } else {
                Err("must be 1 to 64 letters, digits, '-', '_' or '.'")
            }
        });
        match (investor_id, claim_no, source, amount, request_id) {
            (Some(investor_id), Some(claim_no), Some(source), Some(amount), Some(request_id))
                if f.errors.is_empty() =>
            {
                Ok(InvestOrder { investor_id, claim: ClaimKey { source, claim_no }, amount, request_id })
            }
            _ => Err(ApiError::InvalidRequest(sorted(f.errors))),
        }
    }

    /// Deterministic: a retried order names the same investment.
    /// The claim is not part of it: one request id is one order, whichever claim it names.
    pub fn investment_id(&self) -> String {
        let digest = Sha256::digest(format!("{}|{}", self.investor_id, self.request_id));
        format!("IV-{}", &hex::encode(digest)[..20])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvestmentStatus {
    /// Collection requested, not yet confirmed: it holds its share of the claim.
    Pending,
    /// Collected into escrow: it counts toward funding.
    Succeeded,
    /// Collection failed: its share is released.
    Failed,
    /// Paid back in full after the claim failed.
    Refunded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Investment {
    pub investment_id: String,
    pub investor_id: String,
    pub claim: ClaimKey,
    pub amount: Money,
    pub status: InvestmentStatus,
    pub serial: String,
    pub created_at: DateTime<Utc>,
}

/// When the listing window of a claim closes.
pub fn listing_closes_at(claim: &ClaimRecord, rules: &FundingRules) -> DateTime<Utc> {
    claim.accepted_at + rules.listing_window
}

/// The amount still open: the claim amount minus pending and succeeded investments.
pub fn open_amount(claim: &ClaimRecord) -> Money {
    claim.claim.amount - claim.subscribed
}

/// Checks an order against the claim as read; the store re-checks the room atomically.
pub fn check_order(
    order: &InvestOrder,
    claim: &ClaimRecord,
    rules: &FundingRules,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !matches!(claim.status, ClaimStatus::Listed | ClaimStatus::Funding) {
        return Err(ApiError::IllegalState(format!("claim is {}, not open for investment", claim.status)));
    }
    if now >= listing_closes_at(claim, rules) {
        return Err(ApiError::IllegalState("the claim's listing window has closed".into()));
    }
    if claim.borrower.is_none() {
        return Err(ApiError::IllegalState("the borrower checks are still running; try again shortly".into()));
    }
    if order.amount < rules.min_investment {
        return Err(ApiError::invalid("amount", &format!("must be at least {}", rules.min_investment)));
    }
    let open = open_amount(claim);
    if order.amount > open {
        return Err(ApiError::invalid("amount", &format!("must be at most the open amount {open}")));
    }
    let left = open - order.amount;
    if left > Money::ZERO && left < rules.min_investment {
        return Err(ApiError::invalid(
            "amount",
            &format!(
                "would leave {left} open, less than anyone may invest; invest {open}, or at most {}",
                open - rules.min_investment
            ),
        ));
    }
    Ok(())
}

/// The investment an accepted order creates, and the collection that pays it into escrow.
pub fn investment_for(order: &InvestOrder, investor: &Investor, now: DateTime<Utc>) -> (Investment, Movement) {
    let investment_id = order.investment_id();
    let movement = Movement::pending(
        Purpose::Investment,
        &order.claim,
        &investment_id,
        1,
        order.amount,
        Some(investor.investor_id.clone()),
    );
    let serial = movement.serial.clone();
    let investment = Investment {
        investment_id,
        investor_id: investor.investor_id.clone(),
        claim: order.claim.clone(),
        amount: order.amount,
        status: InvestmentStatus::Pending,
        serial,
        created_at: now,
    };
    (investment, movement)
}

/// The investor front end's invest call: checks the order, asks the originator (interface 3),
/// places the investment without oversubscribing, and queues its collection. A retried order
/// answers the investment it placed.
pub async fn invest<S>(
    store: &S,
    originator: &impl Originator,
    steps: &impl StepQueue,
    rules: &FundingRules,
    order: &InvestOrder,
    now: DateTime<Utc>,
) -> Result<Investment, ApiError>
where
    S: ClaimStore + InvestorStore + FundingStore + Sync,
{
    if let Some(placed) = store.get_investment(&order.claim, &order.investment_id()).await? {
        let placed = replay(order, placed)?;
        if placed.status == InvestmentStatus::Pending {
            // The first call may have stored the order and lost the send.
            steps.enqueue(&order.claim, &Step::RequestMovement { serial: placed.serial.clone() }).await?;
        }
        return Ok(placed);
    }
    let investor = store.get_investor(&order.investor_id).await?.ok_or(ApiError::NotFound("investor"))?;
    let claim =
        store.get_claim(&order.claim.source, &order.claim.claim_no).await?.ok_or(ApiError::NotFound("claim"))?;
    check_order(order, &claim, rules, now)?;
    let borrows = originator.has_active_loan(&investor.nik, &investor.phone).await.map_err(|e| {
        tracing::warn!(error = %e, "interface 3 failed");
        ApiError::Unavailable("the originator's loan check")
    })?;
    if borrows {
        return Err(ApiError::IllegalState("the investor has an active loan with the originator".into()));
    }
    let (investment, movement) = investment_for(order, &investor, now);
    let investment = match store.place_investment(&claim, &investment, &movement, rules.min_investment).await? {
        Placement::Placed => investment,
        Placement::AlreadyPlaced(placed) => replay(order, *placed)?,
        Placement::KeyUsedElsewhere => {
            return Err(ApiError::Conflict("requestId was used for an order on another claim".into()));
        }
        Placement::NoRoom => {
            return Err(ApiError::invalid(
                "amount",
                &format!(
                    "exceeds what is still open on the claim (or the claim has its {MAX_INVESTMENTS_PER_CLAIM} \
                     orders, the most one claim takes)"
                ),
            ));
        }
    };
    steps.enqueue(&order.claim, &Step::RequestMovement { serial: investment.serial.clone() }).await?;
    Ok(investment)
}

fn replay(order: &InvestOrder, placed: Investment) -> Result<Investment, ApiError> {
    if placed.amount != order.amount || placed.investor_id != order.investor_id {
        return Err(ApiError::Conflict("requestId was used for a different order".into()));
    }
    Ok(placed)
}

/// Claims open for investment now: listed or part-funded, borrower checked, inside the
/// listing window, with something left to subscribe. Oldest first.
pub async fn open_listings(
    store: &impl ClaimStore,
    rules: &FundingRules,
    now: DateTime<Utc>,
) -> Result<Vec<ClaimRecord>, ApiError> {
    let mut open = Vec::new();
    for status in [ClaimStatus::Listed, ClaimStatus::Funding] {
        open.extend(store.claims_in_status(status).await?);
    }
    open.retain(|c| c.borrower.is_some() && now < listing_closes_at(c, rules) && open_amount(c) > Money::ZERO);
    open.sort_by_key(|c| c.accepted_at);
    Ok(open)
}
