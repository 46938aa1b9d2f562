//! Interface 1, `POST /v1/claims`: the originator pushes a loan claim.

use hub::config::Role;
use hub::domain::{intake, views};
use hub::{ApiError, App, edge};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    edge::render(receive(app, &req).await)
}

async fn receive(app: &App, req: &Request) -> Result<Value, ApiError> {
    let caller = edge::authenticate(app, req, Role::Originator).await?;
    let body = edge::json_body(req)?;
    let now = app.clock.now();
    let record =
        intake::receive_claim(&app.store, &app.queues, &app.settings.intake, &caller.partner, &body, now).await?;
    Ok(views::intake_answer(&record))
}
