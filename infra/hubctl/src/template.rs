//! Reads what the local stack needs out of a SAM template, so nothing is kept twice: the
//! DynamoDB tables, the SQS queues, the HttpApi routes and the functions' environment, SQS
//! and schedule events.

use serde_yaml::Value;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Template {
    resources: serde_yaml::Mapping,
    globals: Value,
}

/// A `AWS::DynamoDB::Table` resource: its logical id and properties.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub logical_id: String,
    pub properties: Value,
}

/// One `HttpApi` event of a function: method, path and the cargo binary serving it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub binary: String,
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Template::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Template, String> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let resources = doc.get("Resources").and_then(Value::as_mapping).cloned().ok_or("no Resources section")?;
        let globals = doc.get("Globals").cloned().unwrap_or(Value::Null);
        Ok(Template { resources, globals })
    }

    fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        self.resources.iter().filter_map(move |(id, res)| {
            (res.get("Type").and_then(Value::as_str) == Some(kind))
                .then(|| (id.as_str().unwrap_or_default().to_owned(), res))
        })
    }

    pub fn tables(&self) -> Vec<TableSpec> {
        self.of_type("AWS::DynamoDB::Table")
            .map(|(logical_id, res)| TableSpec {
                logical_id,
                properties: res.get("Properties").cloned().unwrap_or(Value::Null),
            })
            .collect()
    }

    pub fn http_routes(&self) -> Vec<Route> {
        let mut routes: Vec<Route> = self
            .of_type("AWS::Serverless::Function")
            .flat_map(|(_, res)| {
                let binary = res
                    .get("Metadata")
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let events = res
                    .get("Properties")
                    .and_then(|p| p.get("Events"))
                    .and_then(Value::as_mapping)
                    .cloned()
                    .unwrap_or_default();
                events.into_iter().filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("HttpApi")).filter_map(
                    move |(_, e)| {
                        let props = e.get("Properties")?;
                        Some(Route {
                            method: props.get("Method")?.as_str()?.to_ascii_uppercase(),
                            path: props.get("Path")?.as_str()?.to_owned(),
                            binary: binary.clone(),
                        })
                    },
                )
            })
            .collect();
        routes.sort();
        routes
    }
}

/// A `AWS::SQS::Queue` resource: its logical id and properties.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub logical_id: String,
    pub properties: Value,
}

/// A queue's `RedrivePolicy`: the dead-letter queue (logical id) and after how many receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dead_letter_queue: String,
    pub max_receive_count: u64,
}

impl QueueSpec {
    pub fn is_fifo(&self) -> bool {
        self.properties.get("FifoQueue").is_some_and(is_true)
    }

    pub fn redrive(&self) -> Result<Option<Redrive>, String> {
        let Some(policy) = self.properties.get("RedrivePolicy") else {
            return Ok(None);
        };
        let target = policy
            .get("deadLetterTargetArn")
            .map(Intrinsic::of)
            .ok_or_else(|| format!("{}: RedrivePolicy has no deadLetterTargetArn", self.logical_id))?;
        let Intrinsic::GetAtt { resource, attribute } = target else {
            return Err(format!("{}: deadLetterTargetArn must be !GetAtt <queue>.Arn locally", self.logical_id));
        };
        if attribute != "Arn" {
            return Err(format!("{}: deadLetterTargetArn reads {resource}.{attribute}, not .Arn", self.logical_id));
        }
        let max_receive_count = policy
            .get("maxReceiveCount")
            .and_then(as_u64)
            .ok_or_else(|| format!("{}: RedrivePolicy has no maxReceiveCount", self.logical_id))?;
        Ok(Some(Redrive { dead_letter_queue: resource, max_receive_count }))
    }
}

/// A template value as far as the local stack can read it: a literal or one intrinsic function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intrinsic {
    Literal(String),
    Ref(String),
    GetAtt {
        resource: String,
        attribute: String,
    },
    /// `!Sub` with one string (the form with a variable map is `Unsupported`).
    Sub(String),
    /// Anything else, described for error messages.
    Unsupported(String),
}

impl Intrinsic {
    /// Reads both the short (`!Ref X`) and the long (`{Ref: X}`) form.
    pub fn of(value: &Value) -> Intrinsic {
        match value {
            Value::String(s) => Intrinsic::Literal(s.clone()),
            Value::Number(n) => Intrinsic::Literal(n.to_string()),
            Value::Bool(b) => Intrinsic::Literal(b.to_string()),
            Value::Tagged(tagged) => {
                let name = tagged.tag.to_string();
                Intrinsic::function(name.trim_start_matches('!'), &tagged.value)
            }
            Value::Mapping(m) if m.len() == 1 => match m.iter().next() {
                Some((Value::String(key), arg)) => Intrinsic::function(key.strip_prefix("Fn::").unwrap_or(key), arg),
                _ => Intrinsic::Unsupported("a mapping".to_owned()),
            },
            _ => Intrinsic::Unsupported("a non-scalar value".to_owned()),
        }
    }

    fn function(name: &str, arg: &Value) -> Intrinsic {
        match (name, arg) {
            ("Ref", Value::String(id)) => Intrinsic::Ref(id.clone()),
            ("GetAtt", Value::String(path)) => match path.split_once('.') {
                Some((resource, attribute)) => {
                    Intrinsic::GetAtt { resource: resource.to_owned(), attribute: attribute.to_owned() }
                }
                None => Intrinsic::Unsupported(format!("!GetAtt {path}")),
            },
            ("GetAtt", Value::Sequence(parts)) => match parts.as_slice() {
                [Value::String(resource), Value::String(attribute)] => {
                    Intrinsic::GetAtt { resource: resource.clone(), attribute: attribute.clone() }
                }
                _ => Intrinsic::Unsupported("!GetAtt with a non-literal argument".to_owned()),
            },
            ("Sub", Value::String(text)) => Intrinsic::Sub(text.clone()),
            (other, _) => Intrinsic::Unsupported(format!("!{other}")),
        }
    }
}

/// A `AWS::Serverless::Function`: what the local stack needs to run and trigger it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the cargo binary `cargo lambda watch` serves.
    pub binary: String,
    /// `Timeout` of the function, else of `Globals.Function`, else Lambda's 3 s.
    pub timeout_seconds: u64,
    /// The function's own `Environment.Variables` (Globals come from `global_environment`).
    pub environment: Vec<(String, Value)>,
    pub sqs_triggers: Vec<SqsTrigger>,
    pub schedule_triggers: Vec<ScheduleTrigger>,
}

/// An `SQS` event of a function (an event source mapping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsTrigger {
    pub event_name: String,
    /// Logical id of the queue (`Queue: !GetAtt X.Arn`).
    pub queue: String,
    pub batch_size: u64,
    pub batching_window_seconds: u64,
    pub report_batch_item_failures: bool,
    pub enabled: bool,
}

/// A `Schedule` (EventBridge rule) or `ScheduleV2` (EventBridge Scheduler) event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTrigger {
    pub event_name: String,
    /// `rate(...)`, `cron(...)` or `at(...)`, as written.
    pub expression: String,
    pub timezone: Option<String>,
    /// `Input`: sent instead of the scheduled event when given.
    pub input: Option<String>,
    /// `Name`: the rule or schedule name.
    pub name: Option<String>,
    pub scheduler: bool,
    pub enabled: bool,
}

const LAMBDA_DEFAULT_TIMEOUT_SECONDS: u64 = 3;

fn is_true(v: &Value) -> bool {
    v.as_bool() == Some(true) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn variables(holder: Option<&Value>) -> Vec<(String, Value)> {
    holder
        .and_then(|h| h.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .map(|vars| vars.iter().filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone()))).collect())
        .unwrap_or_default()
}

fn sqs_trigger(function: &str, event_name: &str, props: &Value) -> Result<SqsTrigger, String> {
    let queue = match props.get("Queue").map(Intrinsic::of) {
        Some(Intrinsic::GetAtt { resource, attribute }) if attribute == "Arn" => resource,
        _ => {
            return Err(format!("{function}.{event_name}: Queue must be !GetAtt <queue>.Arn to run locally"));
        }
    };
    let number = |key: &str, default: u64| -> Result<u64, String> {
        match props.get(key) {
            None => Ok(default),
            Some(v) => as_u64(v).ok_or_else(|| format!("{function}.{event_name}: {key} is not a number")),
        }
    };
    let report_batch_item_failures = props
        .get("FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures")));
    Ok(SqsTrigger {
        event_name: event_name.to_owned(),
        queue,
        batch_size: number("BatchSize", 10)?,
        batching_window_seconds: number("MaximumBatchingWindowInSeconds", 0)?,
        report_batch_item_failures,
        enabled: props.get("Enabled").is_none_or(is_true),
    })
}

fn schedule_trigger(
    function: &str,
    event_name: &str,
    props: &Value,
    scheduler: bool,
) -> Result<ScheduleTrigger, String> {
    let text = |key: &str| props.get(key).and_then(Value::as_str).map(str::to_owned);
    let expression = text(if scheduler { "ScheduleExpression" } else { "Schedule" })
        .ok_or_else(|| format!("{function}.{event_name}: the schedule expression must be a literal string"))?;
    let state_enabled = props.get("State").and_then(Value::as_str).is_none_or(|s| s == "ENABLED");
    Ok(ScheduleTrigger {
        event_name: event_name.to_owned(),
        expression,
        timezone: text("ScheduleExpressionTimezone"),
        input: text("Input"),
        name: text("Name"),
        scheduler,
        enabled: state_enabled && props.get("Enabled").is_none_or(is_true),
    })
}

impl Template {
    fn function_globals(&self) -> Option<&Value> {
        self.globals.get("Function")
    }

    pub fn queues(&self) -> Vec<QueueSpec> {
        self.of_type("AWS::SQS::Queue")
            .map(|(logical_id, res)| QueueSpec {
                logical_id,
                properties: res.get("Properties").cloned().unwrap_or(Value::Null),
            })
            .collect()
    }

    /// `Globals.Function.Environment.Variables`, unresolved.
    pub fn global_environment(&self) -> Vec<(String, Value)> {
        variables(self.function_globals())
    }

    /// Every serverless function with its timeout, environment and SQS/schedule events.
    pub fn functions(&self) -> Result<Vec<FunctionSpec>, String> {
        let default_timeout = self
            .function_globals()
            .and_then(|g| g.get("Timeout"))
            .and_then(as_u64)
            .unwrap_or(LAMBDA_DEFAULT_TIMEOUT_SECONDS);
        self.of_type("AWS::Serverless::Function")
            .map(|(logical_id, res)| {
                let props = res.get("Properties");
                let mut spec = FunctionSpec {
                    binary: res
                        .get("Metadata")
                        .and_then(|m| m.get("BuildProperties"))
                        .and_then(|b| b.get("Binary"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    timeout_seconds: props.and_then(|p| p.get("Timeout")).and_then(as_u64).unwrap_or(default_timeout),
                    environment: variables(props),
                    sqs_triggers: vec![],
                    schedule_triggers: vec![],
                    logical_id,
                };
                let events = props.and_then(|p| p.get("Events")).and_then(Value::as_mapping);
                for (name, event) in events.into_iter().flatten() {
                    let name = name.as_str().unwrap_or_default();
                    let event_props = event.get("Properties").unwrap_or(&Value::Null);
                    match event.get("Type").and_then(Value::as_str) {
                        Some("SQS") => spec.sqs_triggers.push(sqs_trigger(&spec.logical_id, name, event_props)?),
                        Some(kind @ ("Schedule" | "ScheduleV2")) => spec.schedule_triggers.push(schedule_trigger(
                            &spec.logical_id,
                            name,
                            event_props,
                            kind == "ScheduleV2",
                        )?),
                        _ => {}
                    }
                }
                let triggered = !spec.sqs_triggers.is_empty() || !spec.schedule_triggers.is_empty();
                if triggered && spec.binary.is_empty() {
                    return Err(format!(
                        "{}: no Metadata.BuildProperties.Binary, so nothing to invoke",
                        spec.logical_id
                    ));
                }
                Ok(spec)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "
Globals:
  Function:
    Timeout: 7
    Environment: {Variables: {LOG: info}}
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: worker}}
    Properties:
      Timeout: 2
      Environment: {Variables: {QUEUE: !Ref Jobs}}
      Events:
        Work:
          Type: SQS
          Properties: {Queue: {'Fn::GetAtt': [Jobs, Arn]}, Enabled: false}
        Nightly:
          Type: ScheduleV2
          Properties: {ScheduleExpression: cron(0 1 * * ? *), State: DISABLED}
        Api:
          Type: HttpApi
  Tick:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: tick}}
    Properties:
      Events:
        Every:
          Type: Schedule
          Properties: {Schedule: rate(5 minutes), Input: '{\"k\":1}'}
";

    #[test]
    fn functions_carry_timeouts_environment_and_triggers() {
        let template = Template::parse(TEMPLATE).unwrap();
        assert_eq!(template.global_environment(), [("LOG".to_owned(), Value::from("info"))]);
        let functions = template.functions().unwrap();
        let worker = &functions[0];
        assert_eq!((worker.binary.as_str(), worker.timeout_seconds), ("worker", 2));
        assert_eq!(worker.environment[0].0, "QUEUE");
        let work = &worker.sqs_triggers[0];
        assert_eq!((work.queue.as_str(), work.batch_size, work.enabled), ("Jobs", 10, false));
        let nightly = &worker.schedule_triggers[0];
        assert!(nightly.scheduler && !nightly.enabled);
        let tick = &functions[1];
        assert_eq!(tick.timeout_seconds, 7);
        let every = &tick.schedule_triggers[0];
        assert_eq!((every.expression.as_str(), every.input.as_deref()), ("rate(5 minutes)", Some("{\"k\":1}")));
    }

    #[test]
    fn a_queue_event_must_name_a_queue_arn() {
        let template = Template::parse(&TEMPLATE.replace("{'Fn::GetAtt': [Jobs, Arn]}", "!Ref Jobs")).unwrap();
        assert!(template.functions().unwrap_err().contains("Worker.Work"));
    }
}
