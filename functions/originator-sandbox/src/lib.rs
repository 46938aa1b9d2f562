//! The originator sandbox (SPEC section 3, "Counterparts"): interfaces 2, 3 and 6 as do-it
//! would serve them to the hub, under `/originator`, plus control endpoints:
//!
//! | route | what |
//! |---|---|
//! | `GET /originator/v1/borrowers/{borrowerUuid}` | interface 2, a deterministic profile |
//! | `POST /originator/v1/checks/investor-loans` | interface 3, against the active borrowers |
//! | `POST /originator/v1/notifications` | interface 6, recorded; may fail (503) or stall |
//! | `POST /originator/sandbox/settings` | set the knobs ([`domain::Knobs`]) |
//! | `GET /originator/sandbox/notifications` | what interface 6 received |
//!
//! Every route is signed like a hub endpoint (the hub calls as partner `hub`, with do-it's
//! secret). The signed PATH starts at `/v1` for the interfaces; the control endpoints sign their
//! whole path (`/originator/sandbox/settings`).

pub mod domain;
pub mod profile;
mod store;

use domain::Knobs;
use hub::config::ConfigError;
use hub::domain::intake::jakarta;
use hub::sandbox::{self, Sandbox};
use hub::{ApiError, edge};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::time::Duration;
use store::OriginatorStore;

/// Environment variables the originator sandbox reads, besides `SANDBOX_TABLE` and
/// `PARTNER_SECRETS` (the hub's JSON; the originator's entry is used).
pub mod env {
    /// Comma-separated NIKs and phones with an active loan, until settings replace them.
    pub const ACTIVE_BORROWERS: &str = "ORIGINATOR_ACTIVE_BORROWERS";
    /// The partner id the sandbox plays (the hub's variable of the same name); default `doit`.
    pub use hub::config::env::ORIGINATOR_PARTNER as PARTNER;
}

/// Built once per cold start.
#[derive(Debug, Clone)]
pub struct Originator {
    pub sandbox: Sandbox,
    store: OriginatorStore,
    defaults: Knobs,
}

impl Originator {
    pub async fn from_env() -> Result<Originator, ConfigError> {
        let aws = sandbox::aws_from_env().await;
        Originator::new(&|name| std::env::var(name).ok(), &aws)
    }

    pub fn new(var: &impl Fn(&str) -> Option<String>, aws: &aws_config::SdkConfig) -> Result<Originator, ConfigError> {
        let partner = var(env::PARTNER).unwrap_or_else(|| "doit".to_owned());
        let sandbox = Sandbox::new("originator", &partner, var, aws)?;
        let active = domain::parse_active_borrowers(&var(env::ACTIVE_BORROWERS).unwrap_or_default())
            .map_err(|e| ConfigError(format!("{}: {e}", env::ACTIVE_BORROWERS)))?;
        Ok(Originator {
            store: OriginatorStore::new(sandbox.dynamo.clone(), sandbox.table()),
            defaults: Knobs::with_active_borrowers(active),
            sandbox,
        })
    }

    async fn knobs(&self) -> Result<Knobs, ApiError> {
        Ok(self.store.knobs().await?.unwrap_or_else(|| self.defaults.clone()))
    }
}

enum Route {
    Borrower(String),
    InvestorLoans,
    Notify,
    Settings,
    Notifications,
}

fn route(req: &Request) -> Option<Route> {
    let path = sandbox::route_path(req);
    match (req.method().clone(), path) {
        (Method::GET, p) if p.starts_with("/v1/borrowers/") => {
            edge::path_param(req, "borrowerUuid", "/v1/borrowers/").map(Route::Borrower)
        }
        (Method::POST, "/v1/checks/investor-loans") => Some(Route::InvestorLoans),
        (Method::POST, "/v1/notifications") => Some(Route::Notify),
        (Method::POST, "/sandbox/settings") => Some(Route::Settings),
        (Method::GET, "/sandbox/notifications") => Some(Route::Notifications),
        _ => None,
    }
}

pub async fn handle(app: &Originator, req: Request) -> Response<Body> {
    edge::render(dispatch(app, &req).await)
}

async fn dispatch(app: &Originator, req: &Request) -> Result<Value, ApiError> {
    app.sandbox.authenticate(req).await?;
    match route(req).ok_or(ApiError::NotFound("route"))? {
        Route::Borrower(uuid) => {
            let today = app.sandbox.clock.now().with_timezone(&jakarta()).date_naive();
            let profile = profile::profile(&uuid, today).ok_or(ApiError::NotFound("borrower"))?;
            Ok(json!(profile))
        }
        Route::InvestorLoans => {
            let check = domain::parse_loan_check(&edge::json_body(req)?)?;
            let active = app.knobs().await?.has_active_loan(&check);
            Ok(json!({ "result": u8::from(active) }))
        }
        Route::Notify => notify(app, req).await,
        Route::Settings => {
            let knobs = app.knobs().await?.updated(&edge::json_body(req)?)?;
            app.store.save_knobs(&knobs).await?;
            Ok(json!(knobs))
        }
        Route::Notifications => {
            let (received, failures) = app.store.notifications().await?;
            Ok(domain::notifications_view(received, failures))
        }
    }
}

/// Interface 6: stall if told to, fail (503) if the dice say so, recording nothing, else
/// record.
async fn notify(app: &Originator, req: &Request) -> Result<Value, ApiError> {
    let notification = domain::parse_notification(&edge::json_body(req)?)?;
    let knobs = app.knobs().await?;
    if knobs.notification_stall_ms > 0 {
        tokio::time::sleep(Duration::from_millis(knobs.notification_stall_ms)).await;
    }
    if knobs.should_fail(fastrand::f64()) {
        app.store.count_injected_failure().await?;
        return Err(ApiError::Unavailable("the originator sandbox (injected failure)"));
    }
    let duplicate = app.store.record(&notification, app.sandbox.clock.now()).await?;
    Ok(domain::notification_answer(&notification.event_id, duplicate))
}
