//! The payment sandbox's callback worker: takes the callbacks the payment sandbox queued (with
//! their delays, duplicates and drops already applied) and POSTs each to the hub as interface
//! 10 (collections) or 11 (payouts), signed as the payment platform (partner `pay`). A message the hub does not
//! answer with 2xx is reported as a batch item failure, so SQS delivers it again (and, after
//! the queue's `maxReceiveCount`, moves it to the dead-letter queue).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use hub::config::ConfigError;
use hub::outbound::SignedClient;
use hub::sandbox;
use payment_sandbox::domain::Callback;
use std::time::Duration;

/// Environment variables the worker reads, besides `PARTNER_SECRETS` (the hub's JSON; the
/// payment platform's entry signs) and `PAYMENT_PARTNER` (default `pay`).
pub mod env {
    /// The hub's base URL: everything before `/v1` (including any stage).
    pub const HUB_URL: &str = "HUB_URL";
}

/// How long one callback may take; the function's timeout leaves room for a batch of them.
const HUB_TIMEOUT: Duration = Duration::from_secs(10);

/// Built once per cold start. (No `Debug`: the client holds the secret.)
pub struct Worker {
    hub: SignedClient,
}

impl Worker {
    pub fn from_env() -> Result<Worker, ConfigError> {
        Worker::new(&|name| std::env::var(name).ok())
    }

    pub fn new(var: &impl Fn(&str) -> Option<String>) -> Result<Worker, ConfigError> {
        let hub_url = sandbox::required(var, env::HUB_URL)?;
        let partner = payment_sandbox::partner(var);
        let secret = sandbox::shared_secret(var, &partner)?;
        let hub = SignedClient::new(&hub_url, &partner, &secret, HUB_TIMEOUT)
            .map_err(|e| ConfigError(format!("HTTP client: {e}")))?;
        Ok(Worker { hub })
    }
}

/// Delivers every message of the batch concurrently; the ones that failed are reported so
/// SQS redelivers only those.
pub async fn handle(worker: &Worker, event: SqsEvent) -> SqsBatchResponse {
    let results = join_all(event.records.iter().map(|m| deliver(worker, m))).await;
    let mut response = SqsBatchResponse::default();
    for (message, result) in event.records.iter().zip(results) {
        if let Err(reason) = result {
            tracing::warn!(message_id = ?message.message_id, %reason, "callback not delivered");
            response.add_failure(message.message_id.clone().unwrap_or_default());
        }
    }
    response
}

async fn deliver(worker: &Worker, message: &SqsMessage) -> Result<(), String> {
    let body = message.body.as_deref().ok_or("message has no body")?;
    let callback: Callback = serde_json::from_str(body).map_err(|e| format!("message is not a callback: {e}"))?;
    let request = callback.body().to_string();
    let answer = worker.hub.call("POST", callback.path(), Some(request.as_bytes())).await?;
    tracing::info!(serial_no = %callback.serial_no, status = answer.status, "callback delivered");
    if (200..300).contains(&answer.status) {
        Ok(())
    } else {
        Err(format!("hub answered {} {}", answer.status, answer.code()))
    }
}
