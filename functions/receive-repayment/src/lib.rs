//! Interface 5, `POST /v1/repayments`: the originator reports a borrower's repayment.

use hub::config::Role;
use hub::domain::intake::request_hash;
use hub::domain::repaying::{self, RepaymentRequest};
use hub::{ApiError, App, edge};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    edge::render(receive(app, &req).await)
}

async fn receive(app: &App, req: &Request) -> Result<Value, ApiError> {
    let caller = edge::authenticate(app, req, Role::Originator).await?;
    let body = edge::json_body(req)?;
    let currency = app.settings.intake.claim_rules.currency;
    let request = RepaymentRequest::parse(&body, currency, &caller.partner)?;
    let settings = &app.settings.repayment;
    let now = app.clock.now();
    let repayment =
        repaying::receive_repayment(&app.store, &app.queues, settings, currency, &request, &request_hash(&body), now)
            .await?;
    Ok(repayment.answer())
}
