//! Interface 4, `POST /v1/checks/borrower-investments`: does this NIK or phone belong to an
//! investor with active investments? Answers `{"result": 1}` or `{"result": 0}`.

use hub::config::Role;
use hub::domain::investor::{self, PersonQuery};
use hub::{ApiError, App, edge};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    edge::render(check(app, &req).await)
}

async fn check(app: &App, req: &Request) -> Result<Value, ApiError> {
    edge::authenticate(app, req, Role::Originator).await?;
    let query = PersonQuery::parse(&edge::json_body(req)?)?;
    let active = investor::has_active_investments(&app.store, &app.settings.match_key, &query).await?;
    Ok(json!({ "result": u8::from(active) }))
}
