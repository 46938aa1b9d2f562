//! Investor front end, `POST /v1/investors`: register an investor (NIK, phone, bank account).

use hub::config::Role;
use hub::domain::investor;
use hub::{ApiError, App, edge};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    edge::render(register(app, &req).await)
}

async fn register(app: &App, req: &Request) -> Result<Value, ApiError> {
    edge::authenticate(app, req, Role::InvestorApp).await?;
    let body = edge::json_body(req)?;
    let settings = &app.settings;
    let investor =
        investor::register(&app.store, &settings.intake.claim_rules, &settings.match_key, &body, app.clock.now())
            .await?;
    Ok(json!({ "investorId": investor.investor_id, "registeredAt": investor.registered_at }))
}
