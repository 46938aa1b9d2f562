//! Interface 10, `POST /v1/callbacks/collections`: the payment platform reports a collection.

use hub::config::Role;
use hub::domain::movement::MovementKind;
use hub::domain::settlement::{self, Report};
use hub::{ApiError, App, edge};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    edge::render(callback(app, &req, MovementKind::Collection).await)
}

/// Shared by interfaces 10 and 11: they differ only in the movement kind they report.
pub async fn callback(app: &App, req: &Request, kind: MovementKind) -> Result<Value, ApiError> {
    edge::authenticate(app, req, Role::Payment).await?;
    let report = Report::parse(&edge::json_body(req)?, app.settings.intake.claim_rules.currency)?;
    let applied = settlement::apply_report(&app.store, &app.queues, kind, &report, app.clock.now()).await?;
    Ok(json!({ "serialNo": report.serial, "applied": applied }))
}
