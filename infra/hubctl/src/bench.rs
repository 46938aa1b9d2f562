//! Benchmarks behind `infra/bench` (issue 5): cold init of every function against a local
//! Lambda runtime API, CPU per request of interfaces 1 and 10 without I/O, and claims per
//! second through interface 1 on the local stack. Each prints its figures with `name = value`
//! lines the script collects into one table. Bench tools fail loudly with context.

use crate::client::HubClient;
use crate::portfolio;
use hub::config::Settings;
use hub::domain::intake;
use hub::domain::record::ClaimRecord;
use hub::domain::settlement::Report;
use hub::domain::views;
use hub::{ApiError, edge};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------------------------
// Cold init against a minimal local Lambda runtime API.

/// How a function is invoked, so its first invocation does no I/O where that is possible.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// API Gateway HTTP API (v2) request without signature headers: answered 401 before any
    /// store call.
    Http(&'static str, &'static str),
    /// An SQS batch with no records.
    Sqs,
    /// An EventBridge schedule: the job runs (reads the table in moto).
    Schedule,
    /// The baseline: any event.
    Hello,
}

const FUNCTIONS: &[(&str, Trigger)] = &[
    ("hello-lambda", Trigger::Hello),
    ("receive-claim", Trigger::Http("POST", "/v1/claims")),
    ("get-claim", Trigger::Http("GET", "/v1/claims/X-1")),
    ("receive-repayment", Trigger::Http("POST", "/v1/repayments")),
    ("register-investor", Trigger::Http("POST", "/v1/investors")),
    ("check-borrower-investments", Trigger::Http("POST", "/v1/checks/borrower-investments")),
    ("list-listings", Trigger::Http("GET", "/v1/listings")),
    ("invest", Trigger::Http("POST", "/v1/investments")),
    ("collection-callback", Trigger::Http("POST", "/v1/callbacks/collections")),
    ("payout-callback", Trigger::Http("POST", "/v1/callbacks/payouts")),
    ("originator-sandbox", Trigger::Http("GET", "/originator/v1/borrowers/x")),
    ("payment-sandbox", Trigger::Http("GET", "/payment/v1/movements/x")),
    ("payment-steps", Trigger::Sqs),
    ("notify-originator", Trigger::Sqs),
    ("payment-sandbox-callbacks", Trigger::Sqs),
    ("expire-listings", Trigger::Schedule),
    ("reconcile", Trigger::Schedule),
    ("mark-overdue", Trigger::Schedule),
];

fn event(trigger: Trigger) -> Value {
    match trigger {
        Trigger::Http(method, path) => json!({
            "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
            "headers": {"content-type": "application/json", "host": "bench.local"},
            "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "bench.local",
                "domainPrefix": "bench", "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1", "userAgent": "bench"}, "requestId": "bench", "routeKey": format!("{method} {path}"),
                "stage": "$default", "time": "04/Dec/2026:09:00:00 +0000", "timeEpoch": 1796288400000_i64},
            "body": "{}", "isBase64Encoded": false,
        }),
        Trigger::Sqs => json!({"Records": []}),
        Trigger::Schedule => json!({"version": "0", "id": "bench", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-12-04T09:00:00Z",
            "region": "ap-southeast-3", "resources": [], "detail": {}}),
        Trigger::Hello => json!({"hello": "world"}),
    }
}

/// What the runtime API saw of one run.
#[derive(Debug, Default, Clone, Copy)]
struct Run {
    first_next: Option<Duration>,
    answered: Option<Duration>,
    failed: bool,
}

enum Seen {
    Next(Instant),
    Answer(Instant, bool),
}

/// One HTTP/1.1 request: method, path, body. `None` at end of stream.
async fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<(String, String, Vec<u8>)>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(Some((method, path, body)))
}

/// Serves one connection of the runtime client: the first `/next` gets `event`, later ones
/// wait forever (the process is killed after its answer).
async fn serve_runtime(stream: TcpStream, event: Arc<Vec<u8>>, seen: mpsc::UnboundedSender<Seen>) {
    let mut reader = BufReader::new(stream);
    while let Ok(Some((method, path, _body))) = read_request(&mut reader).await {
        let now = Instant::now();
        let response = if method == "GET" && path.ends_with("/invocation/next") {
            if seen.send(Seen::Next(now)).is_err() {
                return;
            }
            let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
            let mut head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: bench-request-1\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:ap-southeast-3:123456789012:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0\r\n\r\n",
                event.len()
            )
            .into_bytes();
            head.extend_from_slice(&event);
            head
        } else {
            let failed = !path.ends_with("/response");
            if seen.send(Seen::Answer(now, failed)).is_err() {
                return;
            }
            b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n"
                .to_vec()
        };
        if reader.get_mut().write_all(&response).await.is_err() {
            return;
        }
    }
}

/// Starts `bootstrap` against a fresh runtime API and times it until its first answer.
async fn cold_run(bootstrap: &Path, name: &str, trigger: Trigger, env: &BTreeMap<String, String>) -> Run {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the runtime API");
    let address = listener.local_addr().expect("runtime API address");
    let body = Arc::new(serde_json::to_vec(&event(trigger)).expect("event JSON"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve_runtime(stream, body.clone(), tx.clone()));
        }
    });
    let mut command = tokio::process::Command::new(bootstrap);
    command
        .env_clear()
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let start = Instant::now();
    let mut child = command.spawn().unwrap_or_else(|e| panic!("start {}: {e}", bootstrap.display()));
    let mut run = Run::default();
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            seen = rx.recv() => match seen {
                Some(Seen::Next(at)) => { run.first_next.get_or_insert(at - start); }
                Some(Seen::Answer(at, failed)) => { run.answered = Some(at - start); run.failed = failed; break; }
                None => break,
            },
            status = child.wait() => { run.failed = true; eprintln!("{name} exited before answering: {status:?}"); break; }
            _ = &mut deadline => { run.failed = true; eprintln!("{name}: no answer in 30 s"); break; }
        }
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
    server.abort();
    run
}

/// `KEY=VALUE` lines as `hubctl provision` writes them (comments and blanks skipped).
fn read_env_file(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let quoted = ['\'', '`', '"'].into_iter().find_map(|q| v.strip_prefix(q).and_then(|v| v.strip_suffix(q)));
            let v = quoted.unwrap_or(v);
            (k.trim().to_owned(), v.to_owned())
        })
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `hubctl bench-init LAMBDA_DIR ENV_FILE RUNS`: every function's `bootstrap` under
/// `LAMBDA_DIR/<name>/`, started RUNS times round-robin (so load on the machine spreads evenly),
/// hello-world among them.
pub async fn init(lambda_dir: &Path, env_file: &Path, runs: usize) -> Result<bool, String> {
    let function_env = read_env_file(env_file);
    let mut base: BTreeMap<String, String> = BTreeMap::new();
    // SSL_CERT_*: where TLS clients find root certificates (infra/bench points them at one
    // bundle, as on Lambda's provided.al2023; PERFORMANCE.md).
    let keys = ["PATH", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    for key in keys.into_iter().chain(["SSL_CERT_FILE", "SSL_CERT_DIR"]) {
        if let Ok(value) = std::env::var(key) {
            base.insert(key.to_owned(), value);
        }
    }
    let mut known: Vec<&str> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
    known.push("hubctl");
    for entry in std::fs::read_dir(lambda_dir).map_err(|e| format!("{}: {e}", lambda_dir.display()))? {
        let name = entry.map_err(|e| e.to_string())?.file_name().to_string_lossy().into_owned();
        if !known.contains(&name.as_str()) {
            return Err(format!("{name}: a function bench-init does not know; add it to bench::FUNCTIONS"));
        }
    }
    let mut results: BTreeMap<&str, Vec<Run>> = BTreeMap::new();
    for round in 0..runs {
        for (name, trigger) in FUNCTIONS {
            let bootstrap = lambda_dir.join(name).join("bootstrap");
            let env = match trigger {
                Trigger::Hello => base.clone(),
                _ => base.iter().chain(function_env.iter()).map(|(k, v)| (k.clone(), v.clone())).collect(),
            };
            let run = cold_run(&bootstrap, name, *trigger, &env).await;
            if run.failed && round == 0 {
                eprintln!("{name}: the first run failed (answered with an error or not at all)");
            }
            results.entry(name).or_default().push(run);
        }
    }
    let hello = median(results["hello-lambda"].iter().filter_map(|r| r.answered).map(ms).collect());
    let mut ok = true;
    for (name, trigger) in FUNCTIONS {
        let runs = &results[name];
        let answered = median(runs.iter().filter_map(|r| r.answered).map(ms).collect());
        let init = median(runs.iter().filter_map(|r| r.first_next).map(ms).collect());
        let failures = runs.iter().filter(|r| r.failed).count();
        let size = std::fs::metadata(lambda_dir.join(name).join("bootstrap")).map(|m| m.len()).unwrap_or(0);
        let kind = match trigger {
            Trigger::Http(..) => "http-401",
            Trigger::Sqs => "sqs-empty",
            Trigger::Schedule => "schedule",
            Trigger::Hello => "baseline",
        };
        ok &= failures == 0;
        println!(
            "init {name} kind={kind} runs={} failures={failures} size_bytes={size} init_ms={init:.2} answer_ms={answered:.2} ratio={:.2}",
            runs.len(),
            answered / hello
        );
    }
    Ok(ok)
}

// ---------------------------------------------------------------------------------------------
// CPU per request, no I/O.

/// Times `work` over every body, repeated for about `budget`; answers nanoseconds per body
/// (the median of 15 rounds).
fn time_per_body<T>(bodies: &[T], budget: Duration, mut work: impl FnMut(&T)) -> f64 {
    let start = Instant::now();
    for body in bodies {
        work(body);
    }
    let once = start.elapsed().max(Duration::from_micros(1));
    let rounds = 15;
    let reps = ((budget.as_secs_f64() / rounds as f64 / once.as_secs_f64()) as usize).max(1);
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..reps {
            for body in bodies {
                work(body);
            }
        }
        samples.push(start.elapsed().as_secs_f64() * 1e9 / (reps * bodies.len()) as f64);
    }
    median(samples)
}

/// Interface 1's pure work, as the handler does it after authentication: the strict JSON
/// parse and checks of `edge::json_body`, `intake::assess` (validate, cost cap, schedule), the
/// record the store would get (content and request hashes), `views::intake_answer` and the
/// envelope `edge::render` serialises.
fn intake_work(settings: &Settings, body: &[u8], now: chrono::DateTime<chrono::Utc>) -> (u16, usize) {
    let result = hub::strict_json::parse(body)
        .map_err(|e| ApiError::invalid("body", &format!("is not valid JSON ({e})")))
        .and_then(|value| {
            let (claim, schedule) = intake::assess(&settings.intake, "doit", &value, now)?;
            let record = ClaimRecord::listed(claim, schedule, now, intake::request_hash(&value));
            Ok(views::intake_answer(&record))
        });
    let response = edge::render(result);
    (response.status().as_u16(), response.body().len())
}

/// Interface 10's pure work: parse, `Report::parse` (fields, amount, status), the answer.
fn callback_work(settings: &Settings, body: &[u8]) -> (u16, usize) {
    let result = hub::strict_json::parse(body)
        .map_err(|e| ApiError::invalid("body", &format!("is not valid JSON ({e})")))
        .and_then(|value| Report::parse(&value, settings.intake.claim_rules.currency))
        .map(|report| json!({"serialNo": report.serial, "applied": true}));
    let response = edge::render(result);
    (response.status().as_u16(), response.body().len())
}

fn bench_settings() -> Settings {
    let secrets = json!({"doit": "bench-secret", "pay": "bench-pay", "web": "bench-web"}).to_string();
    Settings::from_lookup(|name| match name {
        "HUB_TABLE" => Some("bench".to_owned()),
        "PARTNER_SECRETS" => Some(secrets.clone()),
        "MATCH_KEY" => Some("bench-match-key-0123456789".to_owned()),
        _ => None,
    })
    .expect("bench settings")
}

/// `hubctl bench-cpu FIXTURES SECONDS`
pub fn cpu(fixtures: &Path, seconds: f64) -> Result<bool, String> {
    let text = std::fs::read_to_string(fixtures).map_err(|e| format!("{}: {e}", fixtures.display()))?;
    let cases = portfolio::load(&text)?;
    let settings = bench_settings();
    let now = chrono::Utc::now();
    let budget = Duration::from_secs_f64(seconds);
    let claims: Vec<Vec<u8>> = cases.iter().map(|c| c.request.to_string().into_bytes()).collect();
    let outcomes: Vec<u16> = claims.iter().map(|b| intake_work(&settings, b, now).0).collect();
    let accepted = outcomes.iter().filter(|s| **s == 200).count();
    let expected = cases.iter().filter(|c| c.expect["code"] == "OK" || c.expect["code"] == "CONFLICT").count();
    if accepted != expected {
        return Err(format!("bench-cpu: {accepted} bodies pass interface 1's checks, the fixture expects {expected}"));
    }
    let bytes: usize = claims.iter().map(Vec::len).sum();
    let bare = time_per_body(&claims, budget, |b| {
        black_box(serde_json::from_slice::<Value>(black_box(b)).ok());
    });
    let full = time_per_body(&claims, budget, |b| {
        black_box(intake_work(&settings, black_box(b), now));
    });
    println!(
        "cpu intake bodies={} accepted={accepted} mean_bytes={} serde_ns={bare:.0} hub_ns={full:.0} ratio={:.2}",
        claims.len(),
        bytes / claims.len().max(1),
        full / bare
    );
    // Interface 10 bodies: one collection report per accepted claim, as the payment
    // platform sends them (success, a few failures with a reason).
    let callbacks: Vec<Vec<u8>> = cases
        .iter()
        .filter(|c| c.expect["code"] == "OK")
        .enumerate()
        .map(|(i, c)| {
            let mut body = json!({"serialNo": format!("COL-INV-1-{}-{i:03}", c.request["claimNo"].as_str().unwrap_or("X")),
                "status": "SUCCEEDED", "amount": c.request["amount"].clone(), "completedAt": "2026-12-03T10:00:00+07:00"});
            if i % 10 == 9 {
                body["status"] = json!("FAILED");
                body["failureReason"] = json!("INSUFFICIENT_FUNDS");
            }
            body.to_string().into_bytes()
        })
        .collect();
    if let Some(bad) = callbacks.iter().find(|b| callback_work(&settings, b).0 != 200) {
        return Err(format!("bench-cpu: a callback body is refused: {}", String::from_utf8_lossy(bad)));
    }
    let bare = time_per_body(&callbacks, budget, |b| {
        black_box(serde_json::from_slice::<Value>(black_box(b)).ok());
    });
    let full = time_per_body(&callbacks, budget, |b| {
        black_box(callback_work(&settings, black_box(b)));
    });
    println!(
        "cpu callback bodies={} mean_bytes={} serde_ns={bare:.0} hub_ns={full:.0} ratio={:.2}",
        callbacks.len(),
        callbacks.iter().map(Vec::len).sum::<usize>() / callbacks.len().max(1),
        full / bare
    );
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Throughput through interface 1 on the local stack.

/// Distinct valid claims: the fixture's accepted claims under fresh claim numbers.
fn distinct_claims(fixtures: &Path, tag: &str, count: usize) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(fixtures).map_err(|e| format!("{}: {e}", fixtures.display()))?;
    let ok: Vec<Value> =
        portfolio::load(&text)?.into_iter().filter(|c| c.expect["code"] == "OK").map(|c| c.request).collect();
    if ok.is_empty() {
        return Err("no accepted claim in the fixture".into());
    }
    Ok((0..count)
        .map(|i| {
            let mut claim = ok[i % ok.len()].clone();
            claim["claimNo"] = json!(format!("BENCH-{tag}-{i:06}"));
            claim.to_string().into_bytes()
        })
        .collect())
}

/// Posts `claims` with `clients` concurrent signed clients; answers claims per second.
async fn post_all(client: &HubClient, claims: Vec<Vec<u8>>, clients: usize) -> Result<f64, String> {
    let queue = Arc::new(std::sync::Mutex::new(claims));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let queue = queue.clone();
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            loop {
                let next = queue.lock().map_err(|_| "queue lock".to_owned())?.pop();
                let Some(body) = next else { return Ok::<usize, String>(done) };
                let answer = client.call("POST", "/v1/claims", Some(&body)).await?;
                if answer.status != 200 {
                    return Err(format!("interface 1 answered {}: {}", answer.status, answer.body));
                }
                done += 1;
            }
        }));
    }
    let mut done = 0;
    for task in tasks {
        done += task.await.map_err(|e| e.to_string())??;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// `hubctl bench-throughput FIXTURES CLAIMS_PER_LEVEL`: claims/s with 1, 8 and 32 clients
/// (HUB_URL, HUB_SECRET), then what bounds them: signing alone, and moto's PutItem alone
/// (HUB_TABLE in AWS_ENDPOINT_URL), each with 1 and 8 concurrent callers.
pub async fn throughput(fixtures: &Path, per_level: usize) -> Result<bool, String> {
    let url = std::env::var("HUB_URL").unwrap_or_else(|_| "http://127.0.0.1:9000".into());
    let secret = std::env::var("HUB_SECRET").map_err(|_| "HUB_SECRET is not set".to_owned())?;
    let client = HubClient::new(&url, "doit", &secret)?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    // Warm-up: cargo lambda watch starts the function on its first request.
    post_all(&client, distinct_claims(fixtures, &format!("{run}-warm"), 8)?, 4).await?;
    for clients in [1usize, 8, 32] {
        let claims = distinct_claims(fixtures, &format!("{run}-c{clients}"), per_level)?;
        let rate = post_all(&client, claims, clients).await?;
        println!("throughput clients={clients} claims={per_level} claims_per_s={rate:.1}");
    }
    // Signing alone: what a client spends per request before sending.
    let body = distinct_claims(fixtures, &run, 1)?.remove(0);
    let start = Instant::now();
    let n = 20_000;
    for i in 0..n {
        black_box(client.sign("POST", "/v1/claims", &body, 1_796_288_400_000 + i, &format!("nonce-{i}")));
    }
    println!("throughput signing_per_s={:.0}", n as f64 / start.elapsed().as_secs_f64());
    // moto alone: a nonce-sized PutItem, the cheapest of interface 1's three calls.
    let table = std::env::var("HUB_TABLE").map_err(|_| "HUB_TABLE is not set".to_owned())?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    for callers in [1usize, 8] {
        let puts = 400;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..callers {
            let dynamo = dynamo.clone();
            let table = table.clone();
            let run = run.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..puts / callers {
                    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
                    dynamo
                        .put_item()
                        .table_name(&table)
                        .item("pk", S(format!("NONCE#bench-{run}-{callers}-{c}-{i}")))
                        .item("sk", S("NONCE".into()))
                        .item("expiresAt", N("1796288400".into()))
                        .condition_expression("attribute_not_exists(pk)")
                        .send()
                        .await
                        .map_err(|e| format!("PutItem: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
                }
                Ok::<(), String>(())
            }));
        }
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        println!("throughput moto_putitem callers={callers} per_s={:.0}", puts as f64 / start.elapsed().as_secs_f64());
    }
    Ok(true)
}
