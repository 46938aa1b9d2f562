//! One SQS event source mapping: long-poll the queue, gather a batch (`BatchSize`,
//! `MaximumBatchingWindowInSeconds`), invoke the function, delete what succeeded. What is not
//! deleted comes back after the queue's visibility timeout (see `redelivery` for FIFO
//! queues), and moto moves a message past the `RedrivePolicy`'s `maxReceiveCount` to the
//! dead-letter queue when it is received again.

use super::redelivery::Redelivery;
use super::sqs_event::{Settlement, settle, sqs_event};
use super::{Invoker, PumpOptions, Stop};
use crate::provision::{LocalNames, queue_attributes};
use crate::template::{FunctionSpec, QueueSpec, SqsTrigger};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// SQS hands out at most 10 messages per receive (and takes 10 per batch call).
const SQS_MAX_PER_CALL: usize = 10;
const FIFO_MAX_BATCH: u64 = 10;
const STANDARD_MAX_BATCH: u64 = 10_000;
const SQS_MAX_WAIT: Duration = Duration::from_secs(20);
const SQS_DEFAULT_VISIBILITY_TIMEOUT_SECONDS: u64 = 30;
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);

/// A message and when the receive that brought it started (its visibility timeout runs
/// from then).
struct Received {
    message: Message,
    at: Instant,
}

pub(super) struct QueueWorker {
    sqs: Client,
    function: String,
    binary: String,
    timeout: Duration,
    queue: String,
    queue_url: String,
    queue_arn: String,
    fifo: bool,
    region: String,
    batch_size: usize,
    batching_window: Duration,
    report_batch_item_failures: bool,
    long_poll: Duration,
    redelivery: Redelivery,
}

impl QueueWorker {
    /// Finds the local queue (created by `provision`) and checks the mapping's settings.
    pub(super) async fn bind(
        sqs: &Client,
        function: &FunctionSpec,
        trigger: &SqsTrigger,
        queue: &QueueSpec,
        names: &LocalNames,
        region: &str,
        options: &PumpOptions,
    ) -> Result<QueueWorker, String> {
        let fifo = queue.is_fifo();
        let max_batch = if fifo { FIFO_MAX_BATCH } else { STANDARD_MAX_BATCH };
        if !(1..=max_batch).contains(&trigger.batch_size) {
            return Err(format!(
                "{}.{}: BatchSize {} is outside 1..={max_batch}",
                function.logical_id, trigger.event_name, trigger.batch_size
            ));
        }
        let name = names.queue(queue);
        let queue_url = sqs
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_queue_does_not_exist() => {
                    format!("queue {name} ({}) does not exist: run hubctl provision first", queue.logical_id)
                }
                _ => format!("queue {name}: {}", DisplayErrorContext(e)),
            })?
            .queue_url
            .ok_or_else(|| format!("queue {name}: no URL in the answer"))?;
        let mut attributes =
            queue_attributes(sqs, &queue_url, &[QueueAttributeName::QueueArn, QueueAttributeName::VisibilityTimeout])
                .await?;
        let queue_arn =
            attributes.remove(&QueueAttributeName::QueueArn).ok_or_else(|| format!("queue {name} has no ARN"))?;
        let visibility_timeout = attributes
            .get(&QueueAttributeName::VisibilityTimeout)
            .and_then(|v| v.parse().ok())
            .unwrap_or(SQS_DEFAULT_VISIBILITY_TIMEOUT_SECONDS);
        Ok(QueueWorker {
            sqs: sqs.clone(),
            function: function.logical_id.clone(),
            binary: function.binary.clone(),
            timeout: Duration::from_secs(function.timeout_seconds),
            queue: queue.logical_id.clone(),
            queue_url,
            queue_arn,
            fifo,
            region: region.to_owned(),
            batch_size: usize::try_from(trigger.batch_size).unwrap_or(SQS_MAX_PER_CALL),
            batching_window: Duration::from_secs(trigger.batching_window_seconds),
            report_batch_item_failures: trigger.report_batch_item_failures,
            long_poll: options.long_poll.min(SQS_MAX_WAIT),
            redelivery: Redelivery::new(Duration::from_secs(visibility_timeout)),
        })
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "sqs {} <- {} (batch size {}, window {} s{})",
            self.function,
            self.queue,
            self.batch_size,
            self.batching_window.as_secs(),
            if self.report_batch_item_failures { ", ReportBatchItemFailures" } else { "" }
        )
    }

    pub(super) async fn run(mut self, invoker: Arc<Invoker>, mut stop: Stop) {
        while !stop.is_stopped() {
            match self.collect_batch(&stop).await {
                Ok(batch) if batch.is_empty() => {}
                Ok(batch) => self.deliver(&invoker, batch).await,
                Err(e) => {
                    println!("sqs {} <- {}: {e}", self.function, self.queue);
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_AFTER_ERROR) => {}
                        _ = stop.stopped() => {}
                    }
                }
            }
        }
    }

    /// Receives until the batch is full or the batching window (opened by the first message)
    /// has passed; an empty batch only when stopped.
    async fn collect_batch(&mut self, stop: &Stop) -> Result<Vec<Received>, String> {
        let mut stop = stop.clone();
        let mut batch: Vec<Received> = vec![];
        let mut window_ends: Option<Instant> = None;
        loop {
            self.release_due().await;
            let wanted = match window_ends {
                None => self.long_poll,
                Some(end) => end.saturating_duration_since(Instant::now()),
            };
            let received = match self.redelivery.receive_wait(wanted, Instant::now()) {
                Some(wait) => {
                    let at = Instant::now();
                    let want = (self.batch_size - batch.len()).min(SQS_MAX_PER_CALL);
                    let messages = self.receive(want, wait).await?;
                    messages.into_iter().map(|message| Received { message, at }).collect()
                }
                None => {
                    // A release is due before a receive could end: wait for it instead.
                    let due = self.redelivery.next_due().unwrap_or_else(Instant::now);
                    tokio::select! {
                        _ = tokio::time::sleep_until(due) => {}
                        _ = stop.stopped() => {}
                    }
                    vec![]
                }
            };
            if !received.is_empty() && window_ends.is_none() {
                window_ends = Some(Instant::now() + self.batching_window);
            }
            batch.extend(received);
            let window_over = window_ends.is_some_and(|end| Instant::now() >= end);
            let full = batch.len() >= self.batch_size;
            if full || (window_over && !batch.is_empty()) || (batch.is_empty() && stop.is_stopped()) {
                return Ok(batch);
            }
        }
    }

    async fn receive(&self, count: usize, wait: Duration) -> Result<Vec<Message>, String> {
        // Whole seconds, rounded up so a short rest of the window still waits.
        let seconds = wait.min(SQS_MAX_WAIT).as_secs() + u64::from(wait.subsec_nanos() > 0);
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::try_from(count).unwrap_or(10))
            .wait_time_seconds(i32::try_from(seconds).unwrap_or(0))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| format!("receive: {}", DisplayErrorContext(e)))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Invokes the function with the batch, deletes what it settled, logs one line (never a
    /// message body).
    async fn deliver(&mut self, invoker: &Invoker, batch: Vec<Received>) {
        let messages: Vec<Message> = batch.iter().map(|r| r.message.clone()).collect();
        let event = sqs_event(&messages, &self.queue_arn, &self.region, self.fifo);
        let outcome = invoker.invoke(&self.binary, self.timeout, &event).await;
        let ids: Vec<&str> = messages.iter().filter_map(Message::message_id).collect();
        let settlement = settle(&outcome, self.report_batch_item_failures, &ids);
        let (done, kept): (Vec<Received>, Vec<Received>) =
            batch.into_iter().partition(|r| settlement.deletes(r.message.message_id().unwrap_or_default()));
        let delete_problem = self.delete(&done).await.err();
        if self.fifo {
            for received in &kept {
                if let Some(handle) = received.message.receipt_handle() {
                    self.redelivery.keep(handle.to_owned(), received.at);
                }
            }
        }
        let why = match &settlement {
            Settlement::DeleteAll => String::new(),
            Settlement::KeepFailed(_) => " (batchItemFailures)".to_owned(),
            Settlement::KeepAll(why) => format!(" ({why})"),
        };
        let problem = delete_problem.map(|e| format!("; delete failed: {e}")).unwrap_or_default();
        println!(
            "sqs {} <- {}: batch {}, failures {}{why}{problem}",
            self.function,
            self.queue,
            messages.len(),
            kept.len()
        );
    }

    async fn delete(&self, received: &[Received]) -> Result<(), String> {
        for chunk in received.chunks(SQS_MAX_PER_CALL) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .set_receipt_handle(r.message.receipt_handle().map(str::to_owned))
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, String>>()?;
            let out = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            if !out.failed.is_empty() {
                return Err(format!("{} messages not deleted", out.failed.len()));
            }
        }
        Ok(())
    }

    /// Makes the kept messages whose visibility timeout has ended visible again.
    async fn release_due(&mut self) {
        let due = self.redelivery.take_due(Instant::now());
        for chunk in due.chunks(SQS_MAX_PER_CALL) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            let released = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            if let Err(e) = released {
                println!(
                    "sqs {} <- {}: release for redelivery failed: {}",
                    self.function,
                    self.queue,
                    DisplayErrorContext(e)
                );
            }
        }
    }
}
