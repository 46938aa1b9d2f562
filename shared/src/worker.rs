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

#[cfg(test)]
mod tests {
    use super::run_batch;
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};

    fn message(id: &str, group: Option<&str>) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_owned());
        m.body = Some(id.to_owned());
        if let Some(group) = group {
            m.attributes.insert("MessageGroupId".to_owned(), group.to_owned());
        }
        m
    }

    /// Runs a batch where the bodies in `failing` fail; answers the reported ids and the
    /// bodies that ran, in order.
    async fn run(messages: Vec<SqsMessage>, failing: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut event = SqsEvent::default();
        event.records = messages;
        let mut ran = Vec::new();
        let response = run_batch(event, |m| {
            let body = m.body.unwrap_or_default();
            ran.push(body.clone());
            let fails = failing.contains(&body.as_str());
            async move { if fails { Err(format!("{body} failed")) } else { Ok(()) } }
        })
        .await;
        (response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect(), ran)
    }

    #[tokio::test]
    async fn a_standard_queue_reports_only_the_messages_that_failed() {
        let messages = ["m1", "m2", "m3", "m4"].map(|id| message(id, None)).to_vec();
        let (failed, ran) = run(messages, &["m2", "m4"]).await;
        assert_eq!(failed, ["m2", "m4"]);
        assert_eq!(ran, ["m1", "m2", "m3", "m4"], "a failure does not stop the others");
    }

    #[tokio::test]
    async fn a_fifo_queue_reports_the_rest_of_a_failed_group_without_running_it() {
        let messages = vec![
            message("a1", Some("A")),
            message("b1", Some("B")),
            message("a2", Some("A")),
            message("b2", Some("B")),
            message("a3", Some("A")),
            message("c1", Some("C")),
        ];
        let (failed, ran) = run(messages, &["a2"]).await;
        assert_eq!(failed, ["a2", "a3"], "a3 comes back after a2, in order");
        assert_eq!(ran, ["a1", "b1", "a2", "b2", "c1"], "other groups go on");
        let (failed, _) = run(vec![message("x", Some("X"))], &[]).await;
        assert!(failed.is_empty());
    }
}
