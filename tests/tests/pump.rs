//! `hubctl provision` and `hubctl pump` against moto: the queues and tables of
//! tests/templates/pump-test.yaml, and Lambda's SQS and schedule semantics, with a fake invoke
//! API standing in for `cargo lambda watch`.

use hub_tests::{aws, repo_root};
use hubctl::aws_sdk_sqs::Client as Sqs;
use hubctl::aws_sdk_sqs::types::QueueAttributeName;
use hubctl::provision::{self, LocalNames, LocalResource, Provisioned};
use hubctl::pump::{self, PumpOptions, StopHandle};
use hubctl::template::Template;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WORKER: &str = "pump-test-worker";
const ORDERS: &str = "pump-test-orders";
const TICK: &str = "pump-test-tick";
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(2);
const PATIENCE: Duration = Duration::from_secs(20);

// ---- the fake invoke API ----

/// One event the fake function received.
#[derive(Debug, Clone)]
struct Invocation {
    function: String,
    event: Value,
    at: Instant,
}

impl Invocation {
    fn records(&self) -> Vec<Value> {
        self.event["Records"].as_array().cloned().unwrap_or_default()
    }

    fn field(&self, pick: impl Fn(&Value) -> &Value) -> Vec<String> {
        self.records().iter().map(|r| pick(r).as_str().unwrap_or_default().to_owned()).collect()
    }

    fn bodies(&self) -> Vec<String> {
        self.field(|r| &r["body"])
    }

    fn receive_counts(&self) -> Vec<String> {
        self.field(|r| &r["attributes"]["ApproximateReceiveCount"])
    }

    fn sorted_ids(&self) -> Vec<String> {
        let mut ids = self.field(|r| &r["messageId"]);
        ids.sort();
        ids
    }

    fn id_of(&self, body: &str) -> Option<String> {
        self.records().iter().find(|r| r["body"] == body).and_then(|r| r["messageId"].as_str().map(str::to_owned))
    }
}

/// What the fake function does with an event.
enum Answer {
    Return(Value),
    Fail,
    Hang(Duration),
}

fn fail_items(ids: Vec<String>) -> Answer {
    let items: Vec<Value> = ids.iter().map(|id| json!({ "itemIdentifier": id })).collect();
    Answer::Return(json!({ "batchItemFailures": items }))
}

type Script = Box<dyn FnMut(&Invocation, &[Invocation]) -> Answer + Send>;

/// `POST /2015-03-31/functions/{name}/invocations`, hand-rolled HTTP/1.1 on a thread per
/// connection; records every event and answers what the script says.
struct FakeLambda {
    url: String,
    seen: Arc<Mutex<Vec<Invocation>>>,
}

fn read_request(stream: &TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let function = path.strip_prefix("/2015-03-31/functions/")?.strip_suffix("/invocations")?.to_owned();
    Some((function, body))
}

fn respond(mut stream: TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

impl FakeLambda {
    fn start(script: Script) -> FakeLambda {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(vec![]));
        let script = Arc::new(Mutex::new(script));
        let recorder = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, script) = (recorder.clone(), script.clone());
                std::thread::spawn(move || {
                    let Some((function, body)) = read_request(&stream) else {
                        return;
                    };
                    let invocation = Invocation {
                        function,
                        event: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        at: Instant::now(),
                    };
                    let answer = {
                        let mut seen = seen.lock().unwrap();
                        let answer = (script.lock().unwrap())(&invocation, &seen);
                        seen.push(invocation);
                        answer
                    };
                    match answer {
                        Answer::Return(value) => respond(stream, "200 OK", &value.to_string()),
                        Answer::Fail => respond(
                            stream,
                            "500 Internal Server Error",
                            r#"{"errorType":"TestFailure","errorMessage":"scripted"}"#,
                        ),
                        Answer::Hang(time) => {
                            std::thread::sleep(time);
                            respond(stream, "200 OK", "{}");
                        }
                    }
                });
            }
        });
        FakeLambda { url, seen }
    }

    fn invocations(&self, function: &str) -> Vec<Invocation> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|i| i.function == function).cloned().collect()
    }

    /// Waits until the function's invocations satisfy `done`, and returns them.
    async fn wait_for(&self, function: &str, what: &str, done: impl Fn(&[Invocation]) -> bool) -> Vec<Invocation> {
        let started = Instant::now();
        loop {
            let invocations = self.invocations(function);
            if done(&invocations) {
                return invocations;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{function}: {what} did not happen; invocations: {:#?}",
                invocations.iter().map(Invocation::bodies).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn total_messages(invocations: &[Invocation]) -> usize {
    invocations.iter().map(|i| i.records().len()).sum()
}

fn count_deliveries(invocations: &[Invocation], body: &str) -> usize {
    invocations.iter().filter(|i| i.bodies().iter().any(|b| b == body)).count()
}

// ---- the local stack ----

fn template() -> Template {
    Template::load(&repo_root().join("tests/templates/pump-test.yaml")).expect("test template")
}

fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

const SECRET_JSON: &str = r#"{"doit":"x"}"#;

/// The test template provisioned under a fresh prefix, so tests share moto safely.
struct Stack {
    aws: aws_config::SdkConfig,
    sqs: Sqs,
    names: LocalNames,
    provisioned: Provisioned,
}

/// A pump running over a stack, stopped by `finish`.
struct RunningPump {
    stop: StopHandle,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl RunningPump {
    async fn finish(self) {
        self.stop.stop();
        let result = tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("the pump stops when told")
            .expect("the pump task");
        assert_eq!(result, Ok(()));
    }
}

fn unique_names() -> LocalNames {
    let run = uuid::Uuid::new_v4().simple().to_string();
    LocalNames::new(&format!("t{}-", &run[..8])).expect("prefix")
}

impl Stack {
    async fn provision() -> Stack {
        let aws = aws().await;
        let names = unique_names();
        let provisioned = provision::provision(&aws, &[template()], &names, &settings(&[("SECRET", SECRET_JSON)]))
            .await
            .expect("provision");
        Stack { sqs: Sqs::new(&aws), aws, names, provisioned }
    }

    fn pump(&self, lambda: &FakeLambda, schedule_period: Duration) -> RunningPump {
        let mut options = PumpOptions::new(&lambda.url);
        options.long_poll = Duration::from_secs(1);
        options.first_call_grace = Duration::ZERO;
        options.schedule_period = Some(schedule_period);
        let (stop, signal) = pump::stop_signal();
        let (aws, names) = (self.aws.clone(), self.names.clone());
        let task = tokio::spawn(async move { pump::run(&aws, &[template()], &names, options, signal).await });
        RunningPump { stop, task }
    }

    /// A pump whose schedule does not fire during a test.
    fn pump_queues(&self, lambda: &FakeLambda) -> RunningPump {
        self.pump(lambda, Duration::from_secs(3_600))
    }

    fn queue(&self, logical_id: &str) -> (String, String, String) {
        match self.provisioned.resources.get(logical_id) {
            Some(LocalResource::Queue { name, url, arn }) => (name.clone(), url.clone(), arn.clone()),
            other => panic!("{logical_id} is not a queue: {other:?}"),
        }
    }

    fn url(&self, logical_id: &str) -> String {
        self.queue(logical_id).1
    }

    async fn send(&self, logical_id: &str, body: &str, group: Option<&str>) {
        self.sqs
            .send_message()
            .queue_url(self.url(logical_id))
            .message_body(body)
            .set_message_group_id(group.map(str::to_owned))
            .send()
            .await
            .expect("send");
    }

    async fn attributes(&self, logical_id: &str) -> HashMap<String, String> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(self.url(logical_id))
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .expect("queue attributes");
        out.attributes.unwrap_or_default().into_iter().map(|(k, v)| (k.as_str().to_owned(), v)).collect()
    }

    /// Messages still in the queue, visible or in flight.
    async fn messages_left(&self, logical_id: &str) -> u64 {
        let attributes = self.attributes(logical_id).await;
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            .iter()
            .map(|k| attributes.get(*k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
            .sum()
    }

    async fn wait_until_empty(&self, logical_id: &str) {
        let started = Instant::now();
        while self.messages_left(logical_id).await > 0 {
            assert!(started.elapsed() < PATIENCE, "{logical_id} never emptied");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn always(answer: fn() -> Answer) -> Script {
    Box::new(move |_, _| answer())
}

// ---- provision ----

#[tokio::test]
async fn provision_creates_tables_and_queues_as_the_template_defines_them() {
    let aws = aws().await;
    let names = unique_names();
    let refused = provision::provision(&aws, &[template()], &names, &BTreeMap::new())
        .await
        .expect_err("SECRET has no local value");
    assert!(refused.contains("--set SECRET=VALUE"), "{refused}");
    assert!(!refused.contains("JOBS_TABLE"), "{refused}");

    let stack = Stack::provision().await;
    let table = stack.names.table("JobsTable");
    let described = aws_sdk_dynamodb::Client::new(&stack.aws)
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("JobsTable exists");
    let table_arn = described.table().and_then(|t| t.table_arn()).unwrap_or("");

    let (work_name, work_url, _) = stack.queue("WorkQueue");
    let (dead_name, _, dead_arn) = stack.queue("WorkDeadLetters");
    assert!(work_name.ends_with("WorkQueue.fifo"), "{work_name}");
    assert!(dead_name.ends_with("WorkDeadLetters.fifo"), "{dead_name}");
    let work = stack.attributes("WorkQueue").await;
    assert_eq!(work["FifoQueue"], "true");
    assert_eq!(work["ContentBasedDeduplication"], "true");
    assert_eq!(work["VisibilityTimeout"], "2");
    assert_eq!(work["MessageRetentionPeriod"], "3600");
    let redrive: Value = serde_json::from_str(&work["RedrivePolicy"]).expect("JSON policy");
    assert_eq!(redrive["deadLetterTargetArn"], dead_arn.as_str());
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "2");
    let dead = stack.attributes("WorkDeadLetters").await;
    assert_eq!(dead["MessageRetentionPeriod"], "1209600");
    let orders = stack.attributes("OrdersQueue").await;
    assert_eq!(orders.get("FifoQueue").map(String::as_str).unwrap_or("false"), "false");
    assert_eq!(orders["VisibilityTimeout"], "2");

    let env = &stack.provisioned.environment;
    assert_eq!(env["JOBS_TABLE"], table);
    assert_eq!(env["JOBS_TABLE_ARN"], table_arn);
    assert_eq!(env["WORK_QUEUE_URL"], work_url);
    assert_eq!(env["WORK_QUEUE_NAME"], work_name);
    assert_eq!(env["DEAD_LETTERS_ARN"], dead_arn);
    assert_eq!(env["ORDERS_QUEUE_URL"], stack.url("OrdersQueue"));
    assert_eq!(env["SECRET"], SECRET_JSON);
    assert_eq!(env["RUST_LOG"], "info");

    let file = provision::render_env_file(env, "test").expect("env file");
    let lines: Vec<&str> = file.lines().collect();
    assert!(lines.contains(&r#"SECRET='{"doit":"x"}'"#), "{file}");
    assert!(lines.contains(&format!("WORK_QUEUE_URL={work_url}").as_str()), "{file}");

    // Provisioning again keeps what exists; --set overrides the template.
    let again = provision::provision(
        &stack.aws,
        &[template()],
        &stack.names,
        &settings(&[("SECRET", "s"), ("RUST_LOG", "debug")]),
    )
    .await
    .expect("provision is repeatable");
    assert_eq!(again.environment["RUST_LOG"], "debug");
    assert_eq!(again.environment["WORK_QUEUE_URL"], work_url);
}

// ---- SQS event source mapping ----

#[tokio::test]
async fn batches_respect_batch_size_and_the_batching_window() {
    let stack = Stack::provision().await;
    for i in 0..12 {
        stack.send("WorkQueue", &format!("w-{i}"), Some("g")).await;
    }
    for i in 0..25 {
        stack.send("OrdersQueue", &format!("o-{i}"), None).await;
    }
    let lambda = FakeLambda::start(always(|| Answer::Return(json!({}))));
    let pump = stack.pump_queues(&lambda);
    let work = lambda.wait_for(WORKER, "12 messages", |i| total_messages(i) >= 12).await;
    let orders = lambda.wait_for(ORDERS, "25 messages", |i| total_messages(i) >= 25).await;
    stack.wait_until_empty("WorkQueue").await;
    stack.wait_until_empty("OrdersQueue").await;
    pump.finish().await;

    let sizes = |i: &[Invocation]| i.iter().map(|i| i.records().len()).collect::<Vec<_>>();
    // BatchSize 5 on the FIFO queue; BatchSize 15 gathered over receives of at most 10
    // within the 1 s window.
    assert_eq!(sizes(&work), [5, 5, 2]);
    assert_eq!(sizes(&orders), [15, 10]);
    let delivered: Vec<String> = work.iter().flat_map(Invocation::bodies).collect();
    let sent: Vec<String> = (0..12).map(|i| format!("w-{i}")).collect();
    assert_eq!(delivered, sent);

    let record = &work[0].records()[0];
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], stack.queue("WorkQueue").2.as_str());
    assert_eq!(record["attributes"]["MessageGroupId"], "g");
    for key in [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "MessageDeduplicationId",
        "SequenceNumber",
    ] {
        assert!(record["attributes"][key].is_string(), "{key} in {record}");
    }
    assert!(record["md5OfBody"].is_string() && record["receiptHandle"].is_string());
}

#[tokio::test]
async fn a_partial_batch_failure_brings_back_only_the_failed_messages_after_the_visibility_timeout() {
    let stack = Stack::provision().await;
    for (body, group) in [("ok-a", "a"), ("fail-b", "b"), ("ok-c", "c")] {
        stack.send("WorkQueue", body, Some(group)).await;
    }
    let script: Script = Box::new(|invocation, earlier| {
        let first_time = count_deliveries(earlier, "fail-b") == 0;
        match invocation.id_of("fail-b") {
            Some(id) if first_time => fail_items(vec![id]),
            _ => Answer::Return(json!({ "batchItemFailures": [] })),
        }
    });
    let lambda = FakeLambda::start(script);
    let pump = stack.pump_queues(&lambda);
    let work = lambda.wait_for(WORKER, "fail-b twice", |i| count_deliveries(i, "fail-b") >= 2).await;
    stack.wait_until_empty("WorkQueue").await;
    pump.finish().await;

    assert_eq!(work.len(), 2, "{:?}", work.iter().map(Invocation::bodies).collect::<Vec<_>>());
    assert_eq!(work[0].bodies(), ["ok-a", "fail-b", "ok-c"]);
    assert_eq!(work[1].bodies(), ["fail-b"]);
    assert_eq!(work[1].receive_counts(), ["2"]);
    let gap = work[1].at - work[0].at;
    assert!(gap >= VISIBILITY_TIMEOUT - Duration::from_millis(500), "{gap:?}");
}

#[tokio::test]
async fn a_function_error_or_timeout_brings_back_the_whole_batch() {
    let stack = Stack::provision().await;
    for body in ["o-1", "o-2", "o-3"] {
        stack.send("OrdersQueue", body, None).await;
    }
    let script: Script = Box::new(|_, earlier| match earlier.len() {
        0 => Answer::Fail,
        // OrdersFunction's Timeout is 1 s.
        1 => Answer::Hang(Duration::from_secs(3)),
        _ => Answer::Return(json!(null)),
    });
    let lambda = FakeLambda::start(script);
    let pump = stack.pump_queues(&lambda);
    let orders = lambda.wait_for(ORDERS, "three deliveries", |i| i.len() >= 3).await;
    stack.wait_until_empty("OrdersQueue").await;
    pump.finish().await;

    assert_eq!(orders.len(), 3);
    for (attempt, invocation) in orders.iter().enumerate() {
        assert_eq!(invocation.sorted_ids(), orders[0].sorted_ids());
        assert_eq!(invocation.records().len(), 3);
        let count = (attempt + 1).to_string();
        assert!(invocation.receive_counts().iter().all(|c| *c == count), "{attempt}");
    }
    for pair in orders.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= VISIBILITY_TIMEOUT - Duration::from_millis(500), "{gap:?}");
    }
}

#[tokio::test]
async fn a_message_failing_max_receive_count_times_ends_in_the_dead_letter_queue() {
    let stack = Stack::provision().await;
    stack.send("WorkQueue", "poison", Some("p")).await;
    stack.send("WorkQueue", "fine", Some("f")).await;
    let script: Script = Box::new(|invocation, _| match invocation.id_of("poison") {
        Some(id) => fail_items(vec![id]),
        None => Answer::Return(json!({})),
    });
    let lambda = FakeLambda::start(script);
    let pump = stack.pump_queues(&lambda);

    let started = Instant::now();
    let dead_letters = loop {
        let out = stack
            .sqs
            .receive_message()
            .queue_url(stack.url("WorkDeadLetters"))
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from the dead-letter queue");
        let bodies: Vec<String> =
            out.messages.unwrap_or_default().iter().filter_map(|m| m.body().map(str::to_owned)).collect();
        if !bodies.is_empty() {
            break bodies;
        }
        assert!(started.elapsed() < PATIENCE, "nothing reached the dead-letter queue");
    };
    stack.wait_until_empty("WorkQueue").await;
    pump.finish().await;

    assert_eq!(dead_letters, ["poison"]);
    let work = lambda.invocations(WORKER);
    // maxReceiveCount 2: delivered twice, then moved instead of a third delivery.
    assert_eq!(count_deliveries(&work, "poison"), 2);
    assert_eq!(count_deliveries(&work, "fine"), 1);
}

#[tokio::test]
async fn fifo_group_order_holds_across_redelivery() {
    let stack = Stack::provision().await;
    for i in 1..=4 {
        stack.send("WorkQueue", &format!("m-{i}"), Some("g")).await;
    }
    // The first batch fails from m-2 on, as a FIFO function should (stop at the first failure).
    let script: Script = Box::new(|invocation, earlier| {
        if earlier.is_empty() {
            let failed = ["m-2", "m-3", "m-4"].iter().filter_map(|b| invocation.id_of(b)).collect();
            fail_items(failed)
        } else {
            Answer::Return(json!({}))
        }
    });
    let lambda = FakeLambda::start(script);
    let pump = stack.pump_queues(&lambda);
    lambda.wait_for(WORKER, "a first batch", |i| !i.is_empty()).await;

    // m-5 arrives while m-2..m-4 are in flight: nobody may receive it before them.
    stack.send("WorkQueue", "m-5", Some("g")).await;
    let meanwhile = stack
        .sqs
        .receive_message()
        .queue_url(stack.url("WorkQueue"))
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    assert!(meanwhile.messages.unwrap_or_default().is_empty());

    let work = lambda.wait_for(WORKER, "m-5", |i| count_deliveries(i, "m-5") >= 1).await;
    stack.wait_until_empty("WorkQueue").await;
    pump.finish().await;

    let batches: Vec<Vec<String>> = work.iter().map(Invocation::bodies).collect();
    assert_eq!(batches, [vec!["m-1", "m-2", "m-3", "m-4"], vec!["m-2", "m-3", "m-4", "m-5"]]);
}

// ---- schedules ----

#[tokio::test]
async fn the_scheduled_function_runs_at_the_local_period() {
    let stack = Stack::provision().await;
    let lambda = FakeLambda::start(always(|| Answer::Return(json!({}))));
    let pump = stack.pump(&lambda, Duration::from_secs(1));
    let ticks = lambda.wait_for(TICK, "three ticks", |i| i.len() >= 3).await;
    pump.finish().await;

    let spread = ticks[ticks.len() - 1].at - ticks[0].at;
    let average = spread / u32::try_from(ticks.len() - 1).unwrap_or(1);
    assert!((Duration::from_millis(500)..Duration::from_millis(2_000)).contains(&average), "{average:?}");
    for tick in &ticks {
        let event = &tick.event;
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["detail"], json!({}));
        let rule = event["resources"][0].as_str().unwrap_or_default();
        assert!(rule.ends_with(":rule/TickFunctionTick"), "{rule}");
        assert!(event["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    assert!(lambda.invocations(WORKER).is_empty());
}
