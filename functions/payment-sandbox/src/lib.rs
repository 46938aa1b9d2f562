//! The payment sandbox (SPEC section 3, "Counterparts"): interfaces 8, 9 and 12 as the payment
//! platform would serve them to the hub, under `/payment`, plus control endpoints:
//!
//! | route | what |
//! |---|---|
//! | `POST /payment/v1/collections` | interface 8: payer -> escrow |
//! | `POST /payment/v1/payouts` | interface 9: escrow -> payee |
//! | `GET /payment/v1/movements/{serialNo}` | interface 12 |
//! | `POST /payment/sandbox/settings` | set the knobs ([`domain::Knobs`]) |
//! | `GET /payment/sandbox/balances` | escrow, income and what was injected ([`domain::Ledger`]) |
//!
//! A movement is decided when it arrives and written with its balance change in one
//! transaction; its callbacks (interfaces 10/11) go to an SQS queue with a delay, and the
//! `payment-sandbox-callbacks` worker delivers them. Every route is signed like a hub endpoint
//! (the hub calls as partner `hub` with the payment platform's secret). The signed PATH starts
//! at `/v1` for the interfaces; the control endpoints sign their whole path
//! (`/payment/sandbox/settings`).

pub mod domain;
pub mod store;

use domain::{Dice, Knobs, MovementKind, MovementRequest};
use hub::config::ConfigError;
use hub::sandbox::{self, Sandbox};
use hub::{ApiError, edge};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use store::{PaymentStore, Stored};

/// Environment variables the payment sandbox reads, besides `SANDBOX_TABLE`, `PARTNER_SECRETS`
/// (the hub's JSON; the payment platform's entry is used) and `BANK_CODES`.
pub mod env {
    /// The SQS queue the callbacks wait on.
    pub const CALLBACK_QUEUE_URL: &str = "CALLBACK_QUEUE_URL";
    /// The partner id the payment platform has at the hub; default [`DEFAULT_PARTNER`](super::DEFAULT_PARTNER).
    pub const PARTNER: &str = "PAYMENT_PARTNER";
}

/// The payment platform's partner id unless `PAYMENT_PARTNER` says otherwise.
pub const DEFAULT_PARTNER: &str = "pay";

/// The partner id the payment platform plays, from `var`.
pub fn partner(var: &impl Fn(&str) -> Option<String>) -> String {
    var(env::PARTNER).unwrap_or_else(|| DEFAULT_PARTNER.to_owned())
}

/// How often a new movement is re-decided after losing a race (same serial, or an escrow
/// balance that changed under it).
const ATTEMPTS: usize = 5;

/// Built once per cold start.
#[derive(Debug, Clone)]
pub struct Payment {
    pub sandbox: Sandbox,
    store: PaymentStore,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Payment {
    pub async fn from_env() -> Result<Payment, ConfigError> {
        let aws = sandbox::aws_from_env().await;
        Payment::new(&|name| std::env::var(name).ok(), &aws)
    }

    pub fn new(var: &impl Fn(&str) -> Option<String>, aws: &aws_config::SdkConfig) -> Result<Payment, ConfigError> {
        let sandbox = Sandbox::new("payment", &partner(var), var, aws)?;
        Ok(Payment {
            store: PaymentStore::new(sandbox.dynamo.clone(), sandbox.table()),
            sqs: aws_sdk_sqs::Client::new(aws),
            queue_url: sandbox::required(var, env::CALLBACK_QUEUE_URL)?,
            sandbox,
        })
    }

    async fn knobs(&self) -> Result<Knobs, ApiError> {
        Ok(self.store.knobs().await?.unwrap_or_default())
    }
}

enum Route {
    Collect,
    Pay,
    Movement(String),
    Settings,
    Balances,
}

fn route(req: &Request) -> Option<Route> {
    match (req.method().clone(), sandbox::route_path(req)) {
        (Method::POST, "/v1/collections") => Some(Route::Collect),
        (Method::POST, "/v1/payouts") => Some(Route::Pay),
        (Method::GET, p) if p.starts_with("/v1/movements/") => {
            edge::path_param(req, "serialNo", "/v1/movements/").map(Route::Movement)
        }
        (Method::POST, "/sandbox/settings") => Some(Route::Settings),
        (Method::GET, "/sandbox/balances") => Some(Route::Balances),
        _ => None,
    }
}

pub async fn handle(app: &Payment, req: Request) -> Response<Body> {
    edge::render(dispatch(app, &req).await)
}

async fn dispatch(app: &Payment, req: &Request) -> Result<Value, ApiError> {
    app.sandbox.authenticate(req).await?;
    let now = app.sandbox.clock.now();
    match route(req).ok_or(ApiError::NotFound("route"))? {
        Route::Collect => movement_request(app, MovementKind::Collection, req).await,
        Route::Pay => movement_request(app, MovementKind::Payout, req).await,
        Route::Movement(serial_no) => {
            let stored = app.store.movement(&serial_no).await?;
            let stored = stored.ok_or(ApiError::NotFound("movement"))?;
            Ok(stored.movement.view(now))
        }
        Route::Settings => {
            let knobs = app.knobs().await?.updated(&edge::json_body(req)?)?;
            app.store.save_knobs(&knobs).await?;
            Ok(json!(knobs))
        }
        Route::Balances => Ok(json!(app.store.ledger().await?)),
    }
}

/// Interfaces 8 and 9: the movement for this serial (made now, or as it stands), with its
/// callbacks on the queue.
async fn movement_request(app: &Payment, kind: MovementKind, req: &Request) -> Result<Value, ApiError> {
    let bank_codes = &app.sandbox.settings.intake.claim_rules.bank_codes;
    let request = domain::parse_request(kind, &edge::json_body(req)?, bank_codes)?;
    let stored = find_or_create(app, &request).await?;
    if !stored.dispatched {
        send_callbacks(app, &stored).await?;
    }
    Ok(stored.movement.answer(app.sandbox.clock.now()))
}

async fn find_or_create(app: &Payment, request: &MovementRequest) -> Result<Stored, ApiError> {
    for _ in 0..ATTEMPTS {
        if let Some(stored) = app.store.movement(&request.serial_no).await? {
            stored.movement.check_repeat(request)?;
            return Ok(stored);
        }
        let knobs = app.knobs().await?;
        let escrow = app.store.ledger().await?.escrow;
        let now = app.sandbox.clock.now();
        let movement = domain::decide(request, &knobs, escrow, &Dice::roll(), now);
        if app.store.create(&movement).await? {
            tracing::info!(
                serial_no = %movement.serial_no,
                status = ?movement.status,
                callbacks = movement.callback_delays.len(),
                "movement decided"
            );
            let dispatched = movement.callback_delays.is_empty();
            return Ok(Stored { movement, dispatched });
        }
    }
    Err(ApiError::Internal(format!("serial {} kept losing races", request.serial_no)))
}

/// Puts the callbacks on the queue, once: whoever claims the dispatch sends them. If the
/// queue refuses one, the claim is released so a repeat of the request sends them (again).
async fn send_callbacks(app: &Payment, stored: &Stored) -> Result<(), ApiError> {
    let movement = &stored.movement;
    if !app.store.claim_dispatch(&movement.serial_no).await? {
        return Ok(());
    }
    let body = json!(movement.callback()).to_string();
    for delay in &movement.callback_delays {
        let sent = app
            .sqs
            .send_message()
            .queue_url(&app.queue_url)
            .message_body(&body)
            .delay_seconds(i32::try_from(*delay).unwrap_or(900))
            .send()
            .await;
        if let Err(e) = sent {
            app.store.release_dispatch(&movement.serial_no).await?;
            return Err(ApiError::Internal(format!("callback queue: {}", aws_sdk_sqs::error::DisplayErrorContext(e))));
        }
    }
    Ok(())
}
