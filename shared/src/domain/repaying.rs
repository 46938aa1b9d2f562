//! Interface 5 and the repayment chain (SPEC section 5). A repayment is checked against the
//! hub's own schedule and clock, then collected from the borrower into the claim's escrow
//! (interface 8). Only a succeeded collection pays: each investor their principal and interest,
//! income the spread and any overdue fee (interface 9), and marks its instalments paid.
//!
//! DISBURSED -> REPAYING (an instalment paid, more to come) -> REPAID (all paid) -> SETTLED
//! (every payout of the claim succeeded: escrow back at zero). A failed collection makes the
//! claim REPAY_FAILED and the originator may send the repayment again under a new serial; an
//! instalment past its due date makes it OVERDUE (the sweep below).

use super::claim::ClaimNo;
use super::error::{ApiError, FieldError};
use super::fields::{Fields, sorted};
use super::funding::{Investment, InvestmentStatus};
use super::intake::jakarta;
use super::money::{Currency, Money, PercentRate};
use super::movement::{ClaimKey, Movement, Purpose, serial};
use super::ports::{ClaimStore, FundingStore, RepaymentStore, StepQueue, Transition};
use super::record::{ClaimRecord, Repaid, StatusChange};
use super::repayment::{
    Period, cap_room, days_late, due_dates, early_settlement_interest, overdue_fee, split_repayment,
};
use super::status::ClaimStatus;
use super::steps::Step;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How far in the future `repaidAt` may be: the originator's clock may run a little fast.
const REPAID_AT_LEEWAY_MINUTES: i64 = 5;

/// Why a claim is `OVERDUE` or `REPAY_FAILED`, as the history and interface 6 say it.
pub const INSTALLMENT_OVERDUE: &str = "INSTALLMENT_OVERDUE";

#[derive(Debug, Clone)]
pub struct RepaymentRules {
    /// Percent of an overdue instalment's principal added each day late (SPEC default 0.3).
    pub overdue_daily_rate: PercentRate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepaymentKind {
    /// The next instalment, with its overdue fee if late.
    Installment,
    /// Everything still owed: outstanding principal plus interest accrued since the last due
    /// date (or the disbursement), no penalty.
    EarlySettlement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepaymentStatus {
    Collecting,
    Collected,
    Failed,
}

/// What one repayment carries, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Owed {
    pub principal: Money,
    pub interest: Money,
    pub overdue_fee: Money,
}

impl Owed {
    pub fn total(&self) -> Money {
        self.principal + self.interest + self.overdue_fee
    }

    pub fn json(&self) -> Value {
        json!({
            "principal": self.principal,
            "interest": self.interest,
            "overdueFee": self.overdue_fee,
            "total": self.total(),
        })
    }
}

/// Interface 5 as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepaymentRequest {
    pub claim: ClaimKey,
    pub installment_no: u32,
    pub serial: String,
    pub kind: RepaymentKind,
    pub figures: Owed,
    pub total: Money,
    pub repaid_at: DateTime<FixedOffset>,
}

const FIELDS: &[&str] = &[
    "claimNo",
    "installmentNo",
    "repaymentSerial",
    "principal",
    "interest",
    "overdueFee",
    "total",
    "repaidAt",
    "kind",
];

impl RepaymentRequest {
    /// Reads interface 5 for originator `source`; every offending field is named.
    pub fn parse(body: &Value, currency: Currency, source: &str) -> Result<RepaymentRequest, ApiError> {
        let object = body.as_object().ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let mut f = Fields::new(object);
        f.only(FIELDS);
        let claim_no = f.parsed("claimNo", ClaimNo::parse);
        let installment_no = f.required("installmentNo").and_then(|v| {
            let n = v.as_u64().filter(|n| (1..=u64::from(u32::MAX)).contains(n)).map(|n| n as u32);
            f.check("installmentNo", n.ok_or("must be a whole number of at least 1"))
        });
        let serial = f.parsed("repaymentSerial", |s| {
            if !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
                Ok(s.to_owned())
            } else {
                Err("must be 1 to 64 letters, digits, '-', '_' or '.'")
            }
        });
        let amount = |f: &mut Fields<'_>, field: &str| {
            f.required(field).and_then(|v| {
                let parsed = currency.parse_amount(v);
                f.check(field, parsed)
            })
        };
        let principal = amount(&mut f, "principal");
        let interest = amount(&mut f, "interest");
        let overdue = amount(&mut f, "overdueFee");
        let total = amount(&mut f, "total");
        let repaid_at = f.parsed("repaidAt", |s| {
            DateTime::parse_from_rfc3339(s).map_err(|_| "must be an RFC 3339 time with an offset")
        });
        let kinds = [("INSTALLMENT", RepaymentKind::Installment), ("EARLY_SETTLEMENT", RepaymentKind::EarlySettlement)];
        let kind = match f.one_of("kind", &kinds) {
            Some(None) => f.fail("kind", "is required"),
            Some(Some(kind)) => Some(kind),
            None => None,
        };
        if let (Some(p), Some(i), Some(o), Some(t)) = (principal, interest, overdue, total) {
            if p + i + o != t {
                f.fail::<()>("total", "must equal principal + interest + overdueFee");
            }
        }
        match (claim_no, installment_no, serial, principal, interest, overdue, total, repaid_at, kind) {
            (
                Some(claim_no),
                Some(installment_no),
                Some(serial),
                Some(p),
                Some(i),
                Some(o),
                Some(total),
                Some(at),
                Some(kind),
            ) if f.errors.is_empty() => Ok(RepaymentRequest {
                claim: ClaimKey { source: source.to_owned(), claim_no },
                installment_no,
                serial,
                kind,
                figures: Owed { principal: p, interest: i, overdue_fee: o },
                total,
                repaid_at: at,
            }),
            _ => Err(ApiError::InvalidRequest(sorted(f.errors))),
        }
    }
}

/// A repayment the hub accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repayment {
    /// The originator's repayment serial: unique per originator.
    pub serial: String,
    pub claim: ClaimKey,
    /// 1 for the claim's first accepted repayment, 2 for the next...: part of its serials.
    pub ordinal: u32,
    pub installment_no: u32,
    /// How many instalments it pays: 1, or all that were left for an early settlement.
    pub installments: u32,
    pub kind: RepaymentKind,
    pub figures: Owed,
    pub repaid_at: DateTime<FixedOffset>,
    /// SHA-256 of the request as sent, to tell an exact resend from a reused serial.
    pub request_hash: String,
    pub status: RepaymentStatus,
    pub accepted_at: DateTime<Utc>,
}

impl Repayment {
    /// The subject of this repayment's movements' serials: `<ordinal>-<source>-<claimNo>`.
    fn subject(&self) -> String {
        format!("{}-{}", self.ordinal, self.claim)
    }

    /// The collection from the borrower (interface 8).
    pub fn collection(&self, borrower_uuid: &str) -> Movement {
        let amount = self.figures.total();
        Movement::pending(Purpose::Repayment, &self.claim, &self.subject(), 1, amount, Some(borrower_uuid.to_owned()))
    }

    /// Whether `movement` is (an attempt of) this repayment's collection.
    pub fn is_collected_by(&self, movement: &Movement) -> bool {
        movement.purpose == Purpose::Repayment
            && movement.serial == serial(Purpose::Repayment, &self.subject(), movement.attempt)
    }

    /// Interface 5's answer; a resend of the same request gets it again, unchanged.
    pub fn answer(&self) -> Value {
        let mut answer = json!({
            "claimNo": self.claim.claim_no.as_str(),
            "repaymentSerial": self.serial,
            "installmentNo": self.installment_no,
            "installmentsPaid": self.installments,
            "kind": self.kind,
            "repaidAt": self.repaid_at.to_rfc3339(),
            "status": "ACCEPTED",
            "collectionSerialNo": serial(Purpose::Repayment, &self.subject(), 1),
        });
        if let (Some(target), Value::Object(figures)) = (answer.as_object_mut(), self.figures.json()) {
            target.extend(figures);
        }
        answer
    }
}

/// The Jakarta date the borrower was paid: the schedule's day zero.
pub fn disbursed_on(claim: &ClaimRecord) -> Option<NaiveDate> {
    claim.disbursed_at().map(|at| at.with_timezone(&jakarta()).date_naive())
}

/// The claim's due dates, once disbursed.
pub fn claim_due_dates(claim: &ClaimRecord) -> Option<Vec<NaiveDate>> {
    let count = u32::try_from(claim.schedule.installments.len()).ok()?;
    disbursed_on(claim).map(|day| due_dates(claim.claim.term, day, count))
}

/// The fee an instalment `days` late owes, up to what the 100 % cap still allows.
fn fee_for(claim: &ClaimRecord, rules: &RepaymentRules, principal: Money, days: u32, currency: Currency) -> Money {
    let room = cap_room(
        claim.claim.amount,
        claim.schedule.total_interest(),
        claim.claim.upfront_fee,
        claim.repaid.overdue_fee,
    );
    overdue_fee(currency, principal, rules.overdue_daily_rate, days, room)
}

/// What a repayment of `kind` made on `paid_on` (Jakarta) must carry, and how many
/// instalments it pays. Refuses what the claim's state does not allow.
pub fn owed(
    claim: &ClaimRecord,
    rules: &RepaymentRules,
    currency: Currency,
    kind: RepaymentKind,
    paid_on: NaiveDate,
) -> Result<(Owed, u32), ApiError> {
    let dues = claim_due_dates(claim).ok_or_else(|| ApiError::IllegalState("the claim is not disbursed".into()))?;
    let next = claim.installments_paid as usize;
    let (Some(installment), Some(due)) = (claim.schedule.installments.get(next), dues.get(next)) else {
        return Err(ApiError::IllegalState("every instalment of the claim is paid".into()));
    };
    match kind {
        RepaymentKind::Installment => {
            let fee = fee_for(claim, rules, installment.principal, days_late(*due, paid_on), currency);
            Ok((Owed { principal: installment.principal, interest: installment.interest, overdue_fee: fee }, 1))
        }
        RepaymentKind::EarlySettlement => {
            if paid_on > *due {
                return Err(ApiError::IllegalState(format!(
                    "instalment {} is overdue (due {due}): pay it before settling early",
                    installment.installment_no
                )));
            }
            let rest = &claim.schedule.installments[next..];
            let outstanding = Money::from_decimal(rest.iter().map(|i| i.principal.value()).sum());
            let from = match next {
                0 => disbursed_on(claim).unwrap_or(paid_on),
                n => dues[n - 1],
            };
            let interest = early_settlement_interest(currency, outstanding, claim.claim.loan_rate, from, paid_on);
            let count = u32::try_from(rest.len()).unwrap_or(u32::MAX);
            Ok((Owed { principal: outstanding, interest, overdue_fee: Money::ZERO }, count))
        }
    }
}

/// Interface 5. A resend of the same request answers the original answer; the same serial
/// with other content is a `CONFLICT`. An accepted repayment starts its collection.
pub async fn receive_repayment<S>(
    store: &S,
    steps: &impl StepQueue,
    rules: &RepaymentRules,
    currency: Currency,
    request: &RepaymentRequest,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Repayment, ApiError>
where
    S: ClaimStore + RepaymentStore + Sync,
{
    for _ in 0..5 {
        if let Some(existing) = store.get_repayment(&request.claim.source, &request.serial).await? {
            return replay(existing, request_hash);
        }
        let key = &request.claim;
        let claim = store.get_claim(&key.source, &key.claim_no).await?.ok_or(ApiError::NotFound("claim"))?;
        let repayment = assess(&claim, rules, currency, request, request_hash, now)?;
        let collection = repayment.collection(&claim.claim.borrower_uuid);
        match store.accept_repayment(&claim, &repayment, &collection, now).await? {
            Accepted::Applied => {
                steps.enqueue(key, &Step::RequestMovement { serial: collection.serial }).await?;
                return Ok(repayment);
            }
            // Another request took the serial or changed the claim first: look again.
            Accepted::SerialTaken | Accepted::Stale => continue,
        }
    }
    Err(ApiError::Conflict(format!("claim {} kept changing; send the repayment again", request.claim)))
}

fn replay(existing: Repayment, request_hash: &str) -> Result<Repayment, ApiError> {
    if existing.request_hash == request_hash {
        Ok(existing)
    } else {
        Err(ApiError::Conflict(format!("repayment serial {} was already used with different content", existing.serial)))
    }
}

/// Checks a repayment against the claim as it stands and the hub's schedule and clock.
fn assess(
    claim: &ClaimRecord,
    rules: &RepaymentRules,
    currency: Currency,
    request: &RepaymentRequest,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Repayment, ApiError> {
    use ClaimStatus::*;
    match claim.status {
        Disbursed | Repaying | Overdue | RepayFailed => {}
        Repaid | Settled => {
            return Err(ApiError::IllegalState(format!("the claim is {}: nothing is owed", claim.status)));
        }
        other => return Err(ApiError::IllegalState(format!("the claim is {other}: it was never disbursed"))),
    }
    if let Some(serial) = &claim.collecting {
        return Err(ApiError::IllegalState(format!("repayment {serial} of this claim is still being collected")));
    }
    let next = claim.installments_paid + 1;
    if request.installment_no < next {
        return Err(ApiError::IllegalState(format!("instalment {} is already paid", request.installment_no)));
    }
    if request.installment_no != next {
        return Err(ApiError::invalid("installmentNo", &format!("the next instalment to pay is {next}")));
    }
    if request.repaid_at > now + chrono::Duration::minutes(REPAID_AT_LEEWAY_MINUTES) {
        return Err(ApiError::invalid("repaidAt", "must not be in the future"));
    }
    if claim.disbursed_at().is_some_and(|at| request.repaid_at < at) {
        return Err(ApiError::invalid("repaidAt", "must not be before the disbursement"));
    }
    let paid_on = request.repaid_at.with_timezone(&jakarta()).date_naive();
    let (expected, installments) = owed(claim, rules, currency, request.kind, paid_on)?;
    let sent = &request.figures;
    let mismatches: Vec<FieldError> = [
        ("principal", sent.principal, expected.principal),
        ("interest", sent.interest, expected.interest),
        ("overdueFee", sent.overdue_fee, expected.overdue_fee),
        ("total", request.total, expected.total()),
    ]
    .into_iter()
    .filter(|(_, got, want)| got != want)
    .map(|(field, _, want)| FieldError::new(field, format!("must be {want} on {paid_on}")))
    .collect();
    if !mismatches.is_empty() {
        return Err(ApiError::Mismatch { errors: sorted(mismatches), expected: expected.json() });
    }
    Ok(Repayment {
        serial: request.serial.clone(),
        claim: request.claim.clone(),
        ordinal: claim.repayments_accepted + 1,
        installment_no: request.installment_no,
        installments,
        kind: request.kind,
        figures: expected,
        repaid_at: request.repaid_at,
        request_hash: request_hash.to_owned(),
        status: RepaymentStatus::Collecting,
        accepted_at: now,
    })
}

/// Result of accepting a repayment in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    Applied,
    /// Another repayment holds this serial already.
    SerialTaken,
    /// The claim changed since it was read.
    Stale,
}

/// Succeeded investments in the order they were made: the order splits hand out remainders.
pub fn in_invest_order(mut investments: Vec<Investment>) -> Vec<Investment> {
    investments.retain(|i| matches!(i.status, InvestmentStatus::Succeeded));
    investments.sort_by(|a, b| (a.created_at, &a.investment_id).cmp(&(b.created_at, &b.investment_id)));
    investments
}

/// Each investor's principal still outstanding after the claim's first `paid` instalments.
pub fn outstanding_after(claim: &ClaimRecord, invested: &[Money], paid: u32) -> Vec<Money> {
    let mut outstanding: Vec<Decimal> = invested.iter().map(|m| m.value()).collect();
    for installment in claim.schedule.installments.iter().take(paid as usize) {
        for (left, share) in outstanding.iter_mut().zip(super::repayment::split(installment.principal, invested)) {
            *left -= share.value();
        }
    }
    outstanding.into_iter().map(Money::from_decimal).collect()
}

/// The payouts of a collected repayment: one per investor owed something, and one to income
/// for the spread and overdue fee. They sum exactly to what was collected.
pub fn payouts(
    claim: &ClaimRecord,
    repayment: &Repayment,
    investments: &[Investment],
) -> Result<Vec<Movement>, ApiError> {
    let invested: Vec<Money> = investments.iter().map(|i| i.amount).collect();
    let outstanding = outstanding_after(claim, &invested, claim.installments_paid);
    let period = match repayment.kind {
        RepaymentKind::Installment => Period::of_installment(claim.claim.term, claim.claim.repayment_method),
        RepaymentKind::EarlySettlement => {
            let dues = claim_due_dates(claim).unwrap_or_default();
            let from = match claim.installments_paid as usize {
                0 => disbursed_on(claim),
                n => dues.get(n - 1).copied(),
            };
            let on = repayment.repaid_at.with_timezone(&jakarta()).date_naive();
            let days = from.map(|from| (on - from).num_days().max(0)).unwrap_or(0);
            Period::Days(u32::try_from(days).unwrap_or(0))
        }
    };
    let figures = &repayment.figures;
    let split = split_repayment(
        figures.principal,
        figures.interest,
        figures.overdue_fee,
        &invested,
        &outstanding,
        claim.claim.investor_rate,
        period,
    )
    .ok_or_else(|| ApiError::Internal(format!("investors' interest exceeds what {} collected", repayment.serial)))?;
    if split.total() != figures.total() {
        return Err(ApiError::Internal(format!("the split of {} does not sum to what it collected", repayment.serial)));
    }
    let subject = repayment.subject();
    let mut movements: Vec<Movement> = investments
        .iter()
        .zip(&split.investors)
        .filter(|(_, (principal, interest))| !(*principal + *interest).is_zero())
        .map(|(investment, (principal, interest))| {
            let mut payout = Movement::pending(
                Purpose::InvestorReturn,
                &repayment.claim,
                &format!("{}-{}", repayment.ordinal, investment.investment_id),
                1,
                *principal + *interest,
                Some(investment.investor_id.clone()),
            );
            payout.investment_id = Some(investment.investment_id.clone());
            payout
        })
        .collect();
    let income = split.spread + split.overdue_fee;
    if !income.is_zero() {
        movements.push(Movement::pending(Purpose::IncomeShare, &repayment.claim, &subject, 1, income, None));
    }
    Ok(movements)
}

/// The status a claim takes once a repayment was collected: `REPAID` when nothing is left,
/// `OVERDUE` when the next instalment is already late, `REPAYING` otherwise.
fn status_after_collection(claim: &ClaimRecord, paid: u32, today: NaiveDate) -> ClaimStatus {
    let dues = claim_due_dates(claim).unwrap_or_default();
    match dues.get(paid as usize) {
        None => ClaimStatus::Repaid,
        Some(due) if *due < today => ClaimStatus::Overdue,
        Some(_) => ClaimStatus::Repaying,
    }
}

/// The repayment collection `movement` is final. Collected: the instalments are paid, the
/// money goes out to investors and income. Failed for good: the claim is `REPAY_FAILED`.
/// A late or repeated step finds the repayment closed and does nothing.
pub async fn repayment_settled<S>(
    store: &S,
    steps: &impl StepQueue,
    movement: &Movement,
    now: DateTime<Utc>,
) -> Result<(), ApiError>
where
    S: ClaimStore + FundingStore + RepaymentStore + Sync,
{
    let key = &movement.claim;
    for _ in 0..5 {
        let claim = store.get_claim(&key.source, &key.claim_no).await?.ok_or(ApiError::NotFound("claim"))?;
        let Some(serial) = &claim.collecting else { return Ok(()) };
        let repayment = store.get_repayment(&key.source, serial).await?.ok_or(ApiError::NotFound("repayment"))?;
        if !repayment.is_collected_by(movement) {
            return Ok(());
        }
        let (outcome, change, paid, repaid, movements) =
            if movement.status == super::movement::MovementStatus::Succeeded {
                let investments = in_invest_order(store.investments(key).await?);
                let movements = payouts(&claim, &repayment, &investments)?;
                let paid = claim.installments_paid + repayment.installments;
                let today = now.with_timezone(&jakarta()).date_naive();
                let status = status_after_collection(&claim, paid, today);
                let f = &repayment.figures;
                let repaid = Repaid {
                    principal: claim.repaid.principal + f.principal,
                    interest: claim.repaid.interest + f.interest,
                    overdue_fee: claim.repaid.overdue_fee + f.overdue_fee,
                };
                (RepaymentStatus::Collected, StatusChange::to(status, now), paid, repaid, movements)
            } else {
                let reason = movement.failure_reason.clone().unwrap_or_else(|| "COLLECTION_FAILED".into());
                let change = StatusChange::because(ClaimStatus::RepayFailed, now, &reason);
                (RepaymentStatus::Failed, change, claim.installments_paid, claim.repaid, vec![])
            };
        let close = RepaymentClose { repayment: &repayment, outcome, change: &change, paid, repaid };
        if store.close_repayment(&claim, &close, &movements, now).await? == Transition::Applied {
            for m in &movements {
                steps.enqueue(key, &Step::RequestMovement { serial: m.serial.clone() }).await?;
            }
            steps.announce(key).await?;
            return Ok(());
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; the step will run again")))
}

/// How a repayment closes, written with the claim in one transaction.
#[derive(Debug, Clone)]
pub struct RepaymentClose<'a> {
    pub repayment: &'a Repayment,
    pub outcome: RepaymentStatus,
    pub change: &'a StatusChange,
    /// Instalments paid after it.
    pub paid: u32,
    /// Repaid so far after it.
    pub repaid: Repaid,
}

/// A repayment payout succeeded: once the claim is `REPAID` and its escrow is empty (every
/// payout went out), the claim is `SETTLED`.
pub async fn payout_settled(
    store: &(impl ClaimStore + Sync),
    steps: &impl StepQueue,
    key: &ClaimKey,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for _ in 0..5 {
        let claim = store.get_claim(&key.source, &key.claim_no).await?.ok_or(ApiError::NotFound("claim"))?;
        if claim.status != ClaimStatus::Repaid || !claim.escrow_balance.is_zero() || claim.collecting.is_some() {
            return Ok(());
        }
        let change = StatusChange::to(ClaimStatus::Settled, now);
        if store.advance(&claim, &change, &[], now).await? == Transition::Applied {
            steps.announce(key).await?;
            return Ok(());
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; the step will run again")))
}

/// The overdue sweep: every repaying claim whose next instalment is past its due date (and
/// not being collected) becomes `OVERDUE`. Returns the claims it marked.
pub async fn mark_overdue(
    store: &(impl ClaimStore + Sync),
    steps: &impl StepQueue,
    now: DateTime<Utc>,
) -> Result<Vec<ClaimKey>, ApiError> {
    let today = now.with_timezone(&jakarta()).date_naive();
    let late = |claim: &ClaimRecord| {
        claim.collecting.is_none()
            && matches!(claim.status, ClaimStatus::Disbursed | ClaimStatus::Repaying | ClaimStatus::RepayFailed)
            && claim_due_dates(claim)
                .and_then(|d| d.get(claim.installments_paid as usize).copied())
                .is_some_and(|due| due < today)
    };
    let mut marked = Vec::new();
    let mut failures = 0;
    for status in [ClaimStatus::Disbursed, ClaimStatus::Repaying, ClaimStatus::RepayFailed] {
        for listed in store.claims_in_status(status).await? {
            let key = ClaimKey { source: listed.claim.source.clone(), claim_no: listed.claim.claim_no.clone() };
            match mark_one_overdue(store, steps, &key, now, &late).await {
                Ok(true) => marked.push(key),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(claim = %key, error = %e, "not marked overdue; the next run tries again");
                    failures += 1;
                }
            }
        }
    }
    if failures > 0 {
        return Err(ApiError::Unavailable("storage or the steps queue (some claims were not marked overdue)"));
    }
    Ok(marked)
}

async fn mark_one_overdue(
    store: &(impl ClaimStore + Sync),
    steps: &impl StepQueue,
    key: &ClaimKey,
    now: DateTime<Utc>,
    late: &impl Fn(&ClaimRecord) -> bool,
) -> Result<bool, ApiError> {
    for _ in 0..5 {
        // The index is eventually consistent: decide on the claim read now.
        let claim = store.get_claim(&key.source, &key.claim_no).await?.ok_or(ApiError::NotFound("claim"))?;
        if !late(&claim) {
            return Ok(false);
        }
        let change = StatusChange::because(ClaimStatus::Overdue, now, INSTALLMENT_OVERDUE);
        if store.advance(&claim, &change, &[], now).await? == Transition::Applied {
            steps.announce(key).await?;
            return Ok(true);
        }
    }
    Err(ApiError::Conflict(format!("claim {key} kept changing; try again")))
}
