//! Interface 7, `GET /v1/claims/{claimNo}`: the originator polls a claim's status.

use hub::config::Role;
use hub::domain::intake::jakarta;
use hub::domain::movement::ClaimKey;
use hub::domain::ports::{FundingStore, MovementStore, NoticeStore};
use hub::domain::repaying::{self, RepaymentKind};
use hub::domain::{intake, views};
use hub::{ApiError, App, edge};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    edge::render(get(app, &req).await)
}

async fn get(app: &App, req: &Request) -> Result<Value, ApiError> {
    let caller = edge::authenticate(app, req, Role::Originator).await?;
    let claim_no = edge::path_param(req, "claimNo", "/v1/claims/").ok_or(ApiError::NotFound("route"))?;
    let record = intake::find_claim(&app.store, &caller.partner, &claim_no).await?;
    let key = ClaimKey { source: record.claim.source.clone(), claim_no: record.claim.claim_no.clone() };
    let investments = app.store.investments(&key).await?;
    let notices = app.store.notices(&key).await?;
    let ledger = app.store.ledger(&key).await?;
    let today = app.clock.now().with_timezone(&jakarta()).date_naive();
    let currency = app.settings.intake.claim_rules.currency;
    let next_due = match record.collecting {
        None => repaying::owed(&record, &app.settings.repayment, currency, RepaymentKind::Installment, today).ok(),
        Some(_) => None,
    };
    Ok(views::status_answer(&record, &investments, &notices, &ledger, today, next_due.map(|(owed, _)| owed)))
}
