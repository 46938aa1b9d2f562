//! Investor front end, `POST /v1/investments`: invest an amount in a listed claim.

use hub::config::Role;
use hub::domain::funding::{self, InvestOrder};
use hub::domain::views;
use hub::{ApiError, App, edge};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    edge::render(invest(app, &req).await)
}

async fn invest(app: &App, req: &Request) -> Result<Value, ApiError> {
    edge::authenticate(app, req, Role::InvestorApp).await?;
    let order = InvestOrder::parse(&edge::json_body(req)?, app.settings.intake.claim_rules.currency)?;
    let investment =
        funding::invest(&app.store, &app.originator, &app.queues, &app.settings.funding, &order, app.clock.now())
            .await?;
    Ok(views::investment(&investment))
}
