//! Scheduled functions: EventBridge rules (`Schedule`) and EventBridge Scheduler schedules
//! (`ScheduleV2`) invoke the function with a "Scheduled Event" on their cadence, or on a
//! faster local period.

use super::cron::CronSchedule;
use super::{Invoker, Outcome, Stop};
use crate::provision::LOCAL_ACCOUNT;
use crate::template::{FunctionSpec, ScheduleTrigger};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cadence {
    Every(Duration),
    Cron(CronSchedule),
}

fn rate(text: &str) -> Result<Duration, String> {
    let (count, unit) = text.trim().split_once(' ').ok_or_else(|| format!("rate({text}): expected rate(N unit)"))?;
    let count: u64 = count
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("rate({text}): {count} is not a positive number"))?;
    let unit_seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        other => return Err(format!("rate({text}): unknown unit {other}")),
    };
    Ok(Duration::from_secs(count * unit_seconds))
}

impl Cadence {
    /// `rate(N unit)` or `cron(...)` (UTC only); one-time `at(...)` is not run locally.
    pub fn parse(expression: &str, timezone: Option<&str>) -> Result<Cadence, String> {
        let inner = |prefix: &str| expression.trim().strip_prefix(prefix).and_then(|rest| rest.strip_suffix(')'));
        if let Some(text) = inner("rate(") {
            return rate(text).map(Cadence::Every);
        }
        if let Some(text) = inner("cron(") {
            if timezone.is_some_and(|tz| tz != "UTC" && tz != "Etc/UTC") {
                return Err(format!("{expression}: only UTC cron schedules run locally"));
            }
            return CronSchedule::parse(text).map(Cadence::Cron);
        }
        Err(format!("{expression}: not a rate() or cron() expression"))
    }

    fn next_after(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Cadence::Every(period) => Some(time + chrono::Duration::from_std(*period).ok()?),
            Cadence::Cron(cron) => cron.next_after(time),
        }
    }

    /// The first firing after `after` that is still ahead of `now` (missed ones are skipped).
    fn next_due(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut due = self.next_after(after)?;
        while due <= now {
            due = self.next_after(due)?;
        }
        Some(due)
    }
}

pub(super) struct ScheduledJob {
    function: String,
    binary: String,
    timeout: Duration,
    trigger: ScheduleTrigger,
    cadence: Cadence,
    region: String,
}

impl ScheduledJob {
    /// `period` (the local override) replaces the template's cadence.
    pub(super) fn new(
        function: &FunctionSpec,
        trigger: &ScheduleTrigger,
        period: Option<Duration>,
        region: &str,
    ) -> Result<ScheduledJob, String> {
        let cadence = match period {
            Some(period) if !period.is_zero() => Cadence::Every(period),
            _ => Cadence::parse(&trigger.expression, trigger.timezone.as_deref()).map_err(|e| {
                format!(
                    "{}.{}: {e}; give --schedule-period-seconds to run it locally",
                    function.logical_id, trigger.event_name
                )
            })?,
        };
        Ok(ScheduledJob {
            function: function.logical_id.clone(),
            binary: function.binary.clone(),
            timeout: Duration::from_secs(function.timeout_seconds),
            trigger: trigger.clone(),
            cadence,
            region: region.to_owned(),
        })
    }

    pub(super) fn describe(&self) -> String {
        let cadence = match &self.cadence {
            Cadence::Every(period) => format!("every {} s", period.as_secs_f64()),
            Cadence::Cron(_) => self.trigger.expression.clone(),
        };
        format!("schedule {} ({}): {cadence}", self.function, self.trigger.event_name)
    }

    fn name(&self) -> String {
        self.trigger.name.clone().unwrap_or_else(|| format!("{}{}", self.function, self.trigger.event_name))
    }

    /// The scheduled event (or the event's `Input` when the template gives one).
    pub(super) fn event(&self, time: DateTime<Utc>) -> Value {
        if let Some(input) = &self.trigger.input {
            return serde_json::from_str(input).unwrap_or_else(|_| json!(input));
        }
        let (source, resource) = if self.trigger.scheduler {
            let arn = format!("arn:aws:scheduler:{}:{LOCAL_ACCOUNT}:schedule/default/{}", self.region, self.name());
            ("aws.scheduler", arn)
        } else {
            let arn = format!("arn:aws:events:{}:{LOCAL_ACCOUNT}:rule/{}", self.region, self.name());
            ("aws.events", arn)
        };
        json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event",
            "source": source,
            "account": LOCAL_ACCOUNT,
            "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "region": self.region,
            "resources": [resource],
            "detail": {},
        })
    }

    /// Fires on the cadence until stopped; one invocation at a time, a late one skips the
    /// firings it missed. Async invocations are not retried.
    pub(super) async fn run(self, invoker: Arc<Invoker>, mut stop: Stop) {
        let mut due = self.cadence.next_due(Utc::now(), Utc::now());
        while let Some(time) = due {
            let wait = (time - Utc::now()).to_std().unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.stopped() => return,
            }
            let outcome = invoker.invoke(&self.binary, self.timeout, &self.event(time)).await;
            let result = match outcome {
                Outcome::Answered(_) => "ok".to_owned(),
                Outcome::FunctionError(kind) => format!("function error {kind}"),
                Outcome::TimedOut => "timed out".to_owned(),
                Outcome::Unreachable(why) => format!("not invoked: {why}"),
            };
            println!("schedule {} ({}): {result}", self.function, self.trigger.event_name);
            due = self.cadence.next_due(time, Utc::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_crons_parse_and_others_are_refused() {
        assert_eq!(Cadence::parse("rate(1 minute)", None), Ok(Cadence::Every(Duration::from_secs(60))));
        assert_eq!(Cadence::parse("rate(2 hours)", None), Ok(Cadence::Every(Duration::from_secs(7_200))));
        assert!(Cadence::parse("rate(0 minutes)", None).is_err());
        assert!(Cadence::parse("rate(5 fortnights)", None).is_err());
        assert!(Cadence::parse("cron(0 12 * * ? *)", None).is_ok());
        assert!(Cadence::parse("cron(0 12 * * ? *)", Some("Asia/Jakarta")).is_err());
        assert!(Cadence::parse("at(2030-01-01T00:00:00)", None).is_err());
    }

    #[test]
    fn missed_firings_are_skipped() {
        let every = Cadence::Every(Duration::from_secs(10));
        let start = DateTime::from_timestamp(1_000, 0).unwrap();
        let now = DateTime::from_timestamp(1_035, 0).unwrap();
        assert_eq!(every.next_due(start, now), DateTime::from_timestamp(1_040, 0));
    }

    #[test]
    fn the_scheduled_event_parses_as_the_rust_runtime_parses_it() {
        let function = FunctionSpec {
            logical_id: "Tick".into(),
            binary: "tick".into(),
            timeout_seconds: 3,
            environment: vec![],
            sqs_triggers: vec![],
            schedule_triggers: vec![],
        };
        let trigger = ScheduleTrigger {
            event_name: "Every".into(),
            expression: "rate(1 minute)".into(),
            timezone: None,
            input: None,
            name: None,
            scheduler: false,
            enabled: true,
        };
        let job = ScheduledJob::new(&function, &trigger, None, "ap-southeast-3").unwrap();
        let time = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let event: aws_lambda_events::event::eventbridge::EventBridgeEvent =
            serde_json::from_value(job.event(time)).unwrap();
        assert_eq!(event.detail_type, "Scheduled Event");
        assert_eq!(event.source, "aws.events");
        assert_eq!(event.time, Some(time));
        assert_eq!(event.resources, Some(vec!["arn:aws:events:ap-southeast-3:123456789012:rule/TickEvery".to_owned()]));
    }
}
