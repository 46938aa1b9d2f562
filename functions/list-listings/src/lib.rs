//! Investor front end, `GET /v1/listings`: claims open for investment.

use hub::config::Role;
use hub::domain::{funding, views};
use hub::{ApiError, App, edge};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    edge::render(list(app, &req).await)
}

async fn list(app: &App, req: &Request) -> Result<Value, ApiError> {
    edge::authenticate(app, req, Role::InvestorApp).await?;
    let rules = &app.settings.funding;
    let open = funding::open_listings(&app.store, rules, app.clock.now()).await?;
    let listings: Vec<Value> = open.iter().map(|c| views::listing(c, rules)).collect();
    Ok(json!({ "listings": listings }))
}
