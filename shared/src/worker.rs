//! Workers. SQS: a generic per-message runner that reports failed message ids (partial batch
//! failures), keeping FIFO order: once a message of a group fails, the later messages of that
//! group in the batch are reported failed without running, so they come back in order.

use crate::app::App;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{LambdaEvent, service_fn};
use std::collections::HashSet;
use std::future::Future;

/// Runs `handle` on each message in order and lists the ones to deliver again.
pub async fn run_batch<F, Fut>(event: SqsEvent, mut handle: F) -> SqsBatchResponse
where
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut response = SqsBatchResponse::default();
    let mut blocked_groups = HashSet::new();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let group = message.attributes.get("MessageGroupId").cloned();
        if group.as_ref().is_some_and(|g| blocked_groups.contains(g)) {
            response.add_failure(id);
            continue;
        }
        if let Err(reason) = handle(message).await {
            tracing::warn!(message_id = %id, %reason, "message failed; it will be delivered again");
            if let Some(group) = group {
                blocked_groups.insert(group);
            }
            response.add_failure(id);
        }
    }
    response
}

/// Runs an SQS-triggered Lambda: configuration and clients built once, then every batch goes
/// through [`run_batch`] with `handler` per message.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static App, SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    lambda_runtime::tracing::init_default_subscriber();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, std::convert::Infallible>(run_batch(event.payload, |m| handler(app, m)).await)
    }))
    .await
}

/// Runs a scheduled Lambda (an EventBridge schedule): configuration and clients built once,
/// then `job` per event; its summary is the invocation's result, an error fails it.
pub async fn serve_scheduled<F, Fut>(job: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static App) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, crate::ApiError>>,
{
    lambda_runtime::tracing::init_default_subscriber();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    let job = &job;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        let summary = job(app).await.map_err(|e| e.to_string())?;
        tracing::info!(%summary, "scheduled run done");
        Ok::<_, String>(summary)
    }))
    .await
}
