//! `hubctl pump`: what AWS does between queues, schedules and functions, done locally against
//! `cargo lambda watch`. Every `SQS` event of a function becomes an event source mapping (long
//! poll, batch, invoke, delete what succeeded) and every `Schedule`/`ScheduleV2` event a timer
//! sending EventBridge's scheduled event; both are read from the templates. Like Lambda's
//! pollers, several workers may poll one queue at once (`pollers`); on a FIFO queue a group
//! with a message in flight is skipped by every receive, so one claim's steps still run one
//! batch at a time, in order.

mod cron;
mod invoke;
mod queue_worker;
mod redelivery;
mod schedule;
mod sqs_event;

pub use invoke::{Invoker, Outcome};
pub use schedule::Cadence;
pub use sqs_event::{Settlement, settle, sqs_event};

use crate::provision::LocalNames;
use crate::template::{QueueSpec, Template};
use queue_worker::QueueWorker;
use schedule::ScheduledJob;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

#[derive(Debug, Clone)]
pub struct PumpOptions {
    /// Where `cargo lambda watch` serves the invoke API.
    pub lambda_url: String,
    /// Replaces every schedule's own cadence (a faster local period).
    pub schedule_period: Option<Duration>,
    /// How long one receive waits for messages (SQS allows at most 20 s).
    pub long_poll: Duration,
    /// Added to a function's timeout until it has answered once: `cargo lambda watch` builds a
    /// function on its first invocation.
    pub first_call_grace: Duration,
    /// Workers polling each queue concurrently (at most `cargo lambda watch --concurrency`).
    pub pollers: usize,
}

impl PumpOptions {
    pub fn new(lambda_url: &str) -> PumpOptions {
        PumpOptions {
            lambda_url: lambda_url.to_owned(),
            schedule_period: None,
            long_poll: Duration::from_secs(20),
            first_call_grace: Duration::from_secs(600),
            pollers: 1,
        }
    }
}

/// Tells a running pump to finish: workers deliver the batch they hold, then return.
pub struct StopHandle(watch::Sender<bool>);

#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

pub fn stop_signal() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(false);
    (StopHandle(tx), Stop(rx))
}

impl StopHandle {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Stop {
    /// True once stopped, or once the handle is gone.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    pub async fn stopped(&mut self) {
        // An error means the handle is gone, which stops too.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}

/// Runs every SQS event source mapping and schedule of the templates until `stop`. Fails
/// before starting anything when a queue is missing (run `provision` first) or a schedule
/// cannot be run locally.
pub async fn run(
    aws: &aws_config::SdkConfig,
    templates: &[Template],
    names: &LocalNames,
    options: PumpOptions,
    stop: Stop,
) -> Result<(), String> {
    let region = aws.region().map(ToString::to_string).unwrap_or_default();
    let sqs = aws_sdk_sqs::Client::new(aws);
    let queues: Vec<QueueSpec> = templates.iter().flat_map(Template::queues).collect();
    let mut workers = vec![];
    let mut jobs = vec![];
    for template in templates {
        for function in template.functions()? {
            for trigger in function.sqs_triggers.iter().filter(|t| t.enabled) {
                let queue = queues.iter().find(|q| q.logical_id == trigger.queue).ok_or_else(|| {
                    format!(
                        "{}.{}: queue {} is in none of the templates",
                        function.logical_id, trigger.event_name, trigger.queue
                    )
                })?;
                for _ in 0..options.pollers.max(1) {
                    workers.push(QueueWorker::bind(&sqs, &function, trigger, queue, names, &region, &options).await?);
                }
            }
            for trigger in function.schedule_triggers.iter().filter(|t| t.enabled) {
                jobs.push(ScheduledJob::new(&function, trigger, options.schedule_period, &region)?);
            }
        }
    }
    if workers.is_empty() && jobs.is_empty() {
        println!("pump: no SQS or schedule events in the templates, nothing to do");
        return Ok(());
    }
    let invoker = Arc::new(Invoker::new(&options.lambda_url, options.first_call_grace)?);
    let mut tasks = JoinSet::new();
    for worker in workers {
        println!("pump: {}", worker.describe());
        tasks.spawn(worker.run(invoker.clone(), stop.clone()));
    }
    for job in jobs {
        println!("pump: {}", job.describe());
        tasks.spawn(job.run(invoker.clone(), stop.clone()));
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| format!("pump task failed: {e}"))?;
    }
    Ok(())
}
