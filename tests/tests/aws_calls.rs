//! Issue 5's AWS calls and dollars per loan (run by `infra/bench`, not by `infra/test`): one
//! claim's whole life, listing to `SETTLED`, through the hub's handlers and workers on moto,
//! with every DynamoDB and SQS request the hub's own clients make counted by an SDK
//! interceptor (retries included: it counts what goes on the wire). The harness's own calls
//! (creating the table and queues, playing the event source mapping) are not counted.
//!
//! `cargo test -p hub-tests --test aws_calls -- --ignored --nocapture`

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{NaiveDate, Utc};
use hub::domain::movement::ClaimKey;
use hub::domain::ports::{ClaimStore, NonceStore};
use hub::domain::settlement::Report;
use hub::domain::status::ClaimStatus;
use hub_tests::TestHub;
use hub_tests::doubles::{FakeOriginator, FakePlatform};
use hub_tests::loans::{bullet, jakarta};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

/// Requests per operation name, and items per request (transactions, batches).
#[derive(Debug, Default, Clone)]
struct Tally {
    requests: BTreeMap<String, u64>,
    items: BTreeMap<String, u64>,
    /// Items written per request, transactional or not: (transactional, items).
    writes: Vec<(bool, u64)>,
    reads: Vec<(bool, u64)>,
    /// PutItems of a request's nonce (authentication, not a state change).
    nonces: u64,
}

#[derive(Debug, Clone, Default)]
struct Counter(Arc<Mutex<Tally>>);

impl Counter {
    fn take(&self) -> Tally {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "bench-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request();
        let body: Value = request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let target = request.headers().get("x-amz-target").unwrap_or("?");
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        let items = match op.as_str() {
            "TransactWriteItems" | "TransactGetItems" => body["TransactItems"].as_array().map_or(0, Vec::len) as u64,
            "BatchWriteItem" | "BatchGetItem" => body["RequestItems"].as_object().map_or(0, |t| {
                t.values()
                    .map(|v| v.as_array().map_or(0, Vec::len) + v["Keys"].as_array().map_or(0, Vec::len))
                    .sum::<usize>()
            }) as u64,
            "SendMessageBatch" | "DeleteMessageBatch" => body["Entries"].as_array().map_or(0, Vec::len) as u64,
            _ => 1,
        };
        let mut tally = self.0.lock().unwrap();
        *tally.requests.entry(op.clone()).or_default() += 1;
        *tally.items.entry(op.clone()).or_default() += items;
        if op == "PutItem" && body["Item"]["pk"]["S"].as_str().is_some_and(|pk| pk.starts_with("NONCE#")) {
            tally.nonces += 1;
        }
        match op.as_str() {
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" => tally.writes.push((false, items)),
            "TransactWriteItems" => tally.writes.push((true, items)),
            "GetItem" | "Query" | "BatchGetItem" => tally.reads.push((false, items)),
            "TransactGetItems" => tally.reads.push((true, items)),
            _ => {}
        }
        Ok(())
    }
}

/// A bullet loan of 1,000,000 for 30 days (see `loans::bullet`) with a 10,000 upfront fee.
fn claim(claim_no: &str) -> Value {
    let mut request = bullet(claim_no);
    request["upfrontFee"] = json!("10000");
    request
}

/// Runs the chain until quiet: the steps worker, the platform's callbacks for serials starting
/// with one of `prefixes` (the others wait for a later stage), the notify worker. Answers the
/// SQS messages the event source mapping delivered (each is one receive and one delete there:
/// one claim's messages arrive one at a time) and the callbacks made.
async fn settle(
    hub: &TestHub,
    platform: &FakePlatform,
    reported: &mut HashSet<String>,
    prefixes: &[&str],
) -> (u64, u64) {
    let originator = FakeOriginator::default();
    let (mut delivered, mut called) = (0, 0);
    loop {
        let steps = hub.drain_steps(platform, &originator).await as u64;
        let mut batch: Vec<Report> =
            platform.decided.lock().unwrap().values().filter(|r| !reported.contains(&r.serial)).cloned().collect();
        batch.retain(|r| prefixes.iter().any(|p| r.serial.starts_with(p)));
        batch.sort_by(|a, b| a.serial.cmp(&b.serial));
        for report in &batch {
            reported.insert(report.serial.clone());
            let reply = hub.callback(report).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        let notices = hub.take_all(&hub.notices_url).await;
        for body in &notices {
            let a: hub::domain::notice::Announcement = serde_json::from_str(body).unwrap();
            let key = ClaimKey { source: a.source, claim_no: hub::domain::claim::ClaimNo::parse(&a.claim_no).unwrap() };
            hub::domain::notice::deliver(&hub.app.store, &originator, &key, hub.app.clock.now()).await.unwrap();
        }
        delivered += steps + notices.len() as u64;
        called += batch.len() as u64;
        if steps == 0 && batch.is_empty() && notices.is_empty() {
            return (delivered, called);
        }
    }
}

/// The size DynamoDB bills an item at: attribute names plus values (numbers as their digits).
fn item_bytes(item: &std::collections::HashMap<String, AttributeValue>) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() + value(v) + 1).sum::<usize>(),
            AttributeValue::L(l) => 3 + l.iter().map(|v| value(v) + 1).sum::<usize>(),
            AttributeValue::Ss(s) | AttributeValue::Ns(s) => s.iter().map(String::len).sum(),
            AttributeValue::B(b) => b.as_ref().len(),
            _ => 8,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

struct Stage {
    name: &'static str,
    tally: Tally,
    lambda: u64,
    api: u64,
    messages: u64,
}

/// US$ list prices, us-east-1 (PERFORMANCE.md cites the pages and the date read).
const DYNAMO_PER_MILLION_WRU: &str = "0.625";
const DYNAMO_PER_MILLION_RRU: &str = "0.125";
const SQS_STANDARD_PER_MILLION: &str = "0.40";
const SQS_FIFO_PER_MILLION: &str = "0.50";
const LAMBDA_PER_MILLION: &str = "0.20";
const LAMBDA_ARM_PER_GB_SECOND: &str = "0.0000133334";
const HTTP_API_PER_MILLION: &str = "1.00";
/// Assumed billed duration per invocation (PERFORMANCE.md argues it): most invocations are a
/// few DynamoDB round trips (~5-10 ms each in-region) plus a partner call for payment steps.
const ASSUMED_MS_PER_INVOCATION: &str = "100";

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
#[ignore = "a benchmark: infra/bench runs it"]
async fn one_claims_whole_life_in_aws_calls_and_dollars() {
    let mut hub = TestHub::spawn().await;
    let counter = Counter::default();
    let aws = hub_tests::aws().await;
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws).interceptor(counter.clone()).build(),
    );
    let sqs =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&aws).interceptor(counter.clone()).build());
    let table = hub.table().to_owned();
    // The harness reads the claim through a store of its own, not counted.
    let plain = hub::adapters::dynamo::DynamoStore::new(hub.dynamo.clone(), table.clone());
    hub.app.store = hub::adapters::dynamo::DynamoStore::new(dynamo, table);
    hub.app.queues =
        hub::adapters::sqs::SqsQueues::new(sqs, Some(hub.steps_url.clone()), Some(hub.notices_url.clone()));
    let platform = FakePlatform::calling_back();
    let mut reported = HashSet::new();
    let mut stages = Vec::new();
    let claim_no = "BENCH-LIFE-1";

    // Investors register once, not per loan: kept out of the per-loan figures.
    let people = hub.investors(90, 3).await;
    counter.take();

    // 1. Listing: interface 1, then the borrower check (interface 2) on the steps queue.
    let reply = hub.post("/v1/claims", claim(claim_no).to_string()).send().await;
    assert_eq!(reply.code(), "OK", "{}", reply.body);
    let (messages, _) = settle(&hub, &platform, &mut reported, &[]).await;
    stages.push(Stage { name: "listing", tally: counter.take(), lambda: 1 + messages, api: 1, messages });

    // 2. Funding: three orders (the invest handler's nonce write, then the domain; interface
    // 3 is a partner call), their collections (interface 8) and callbacks (interface 10), to
    // FUNDED and the disbursement's request.
    let key = ClaimKey { source: "doit".into(), claim_no: hub::domain::claim::ClaimNo::parse(claim_no).unwrap() };
    for (i, (person, amount)) in people.iter().zip([500_000, 300_000, 200_000]).enumerate() {
        let expires = Utc::now() + chrono::Duration::minutes(10);
        assert!(hub.app.store.remember_nonce("web", &uuid::Uuid::new_v4().to_string(), expires).await.unwrap());
        hub.invest(person, &key, amount, &format!("order-{i}")).await.unwrap();
    }
    let (messages, callbacks) = settle(&hub, &platform, &mut reported, &["COL-INV"]).await;
    stages.push(Stage {
        name: "funding",
        tally: counter.take(),
        lambda: 3 + callbacks + messages,
        api: 3 + callbacks,
        messages,
    });

    // 3. Disbursement: the borrower's payout, then the fee to income (interfaces 9, 11), the
    // DISBURSED notice (interface 6).
    let (messages, callbacks) = settle(&hub, &platform, &mut reported, &["PAY-DIS", "PAY-FEE"]).await;
    stages.push(Stage {
        name: "disbursement",
        tally: counter.take(),
        lambda: callbacks + messages,
        api: callbacks,
        messages,
    });
    let record = plain.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    assert_eq!(record.status, ClaimStatus::Disbursed);
    let day0 = record.disbursed_at().unwrap().with_timezone(&jakarta()).date_naive();

    // 4. Repayment on the due date (interface 5) and its collection.
    let due: NaiveDate = day0 + chrono::Duration::days(30);
    let target = due.succ_opt().unwrap().and_hms_opt(5, 0, 0).unwrap().and_local_timezone(jakarta()).unwrap();
    hub.advance_clock((target.with_timezone(&Utc) - Utc::now()).num_hours() + 1);
    let interest = 14_795; // hu(1,000,000 x 0.18 x 30 / 365)
    let repaid_at = due.and_hms_opt(3, 0, 0).unwrap().and_local_timezone(jakarta()).unwrap().to_rfc3339();
    let body = json!({"claimNo": claim_no, "installmentNo": 1, "repaymentSerial": "R-1", "principal": "1000000",
        "interest": interest.to_string(), "overdueFee": "0", "total": (1_000_000 + interest).to_string(),
        "repaidAt": repaid_at, "kind": "INSTALLMENT"});
    let reply = hub.post("/v1/repayments", body.to_string()).send().await;
    assert_eq!(reply.code(), "OK", "{}", reply.body);
    let (messages, callbacks) = settle(&hub, &platform, &mut reported, &["COL-REP"]).await;
    stages.push(Stage {
        name: "repayment",
        tally: counter.take(),
        lambda: 1 + callbacks + messages,
        api: 1 + callbacks,
        messages,
    });

    // 5. Settlement: investors' returns and the income payout (interfaces 9, 11), SETTLED.
    let (messages, callbacks) = settle(&hub, &platform, &mut reported, &["PAY-"]).await;
    stages.push(Stage {
        name: "settlement",
        tally: counter.take(),
        lambda: callbacks + messages,
        api: callbacks,
        messages,
    });
    let record = plain.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    assert_eq!(record.status, ClaimStatus::Settled, "serials: {:?}", platform.serials());
    let history: Vec<String> = record.history.iter().map(|c| format!("{:?}", c.status)).collect();
    println!("calls claim_history {}", history.join(" -> "));

    // Billed sizes: every claim-partition item at its final (largest) size.
    let items = hub.items().await;
    let claim_pk = format!("CLAIM#doit#{claim_no}");
    let in_claim: Vec<_> =
        items.iter().filter(|i| i.get("pk").and_then(|v| v.as_s().ok()) == Some(&claim_pk)).collect();
    let claim_item = in_claim
        .iter()
        .find(|i| i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("CLAIM"))
        .map(|i| item_bytes(i))
        .unwrap_or(0);
    let partition: usize = in_claim.iter().map(|i| item_bytes(i)).sum();
    let largest = items.iter().map(item_bytes).max().unwrap_or(0);
    println!("calls item_bytes claim={claim_item} claim_partition={partition} largest_item={largest}");
    // Upper bound: every write billed at the largest item's size (1 KB units), every read at
    // the whole claim partition's (4 KB units, strongly consistent); transactions twice.
    let wru_per_item = largest.div_ceil(1024) as u64;
    let rru_per_read = partition.div_ceil(4096) as u64;

    let mut total = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, Decimal::ZERO);
    for stage in &stages {
        let t = &stage.tally;
        let writes: u64 = t.writes.len() as u64;
        let transactions = t.writes.iter().filter(|(tx, _)| *tx).count() as u64;
        let state_writes = writes - t.nonces;
        let wru: u64 = t.writes.iter().map(|(tx, n)| n * wru_per_item * if *tx { 2 } else { 1 }).sum();
        let rru: u64 = t.reads.iter().map(|(tx, n)| n * rru_per_read * if *tx { 2 } else { 1 }).sum();
        let sends =
            t.items.get("SendMessage").copied().unwrap_or(0) + t.items.get("SendMessageBatch").copied().unwrap_or(0);
        let ops: Vec<String> = t
            .requests
            .iter()
            .map(|(op, n)| {
                let items = t.items[op];
                if items != *n { format!("{op}={n}({items} items)") } else { format!("{op}={n}") }
            })
            .collect();
        println!(
            "calls stage={} dynamo_requests={} dynamo_writes={writes} nonce_writes={} state_writes={state_writes} transactions={transactions} sqs_sends={sends} \
             sqs_receives={} sqs_deletes={} lambda_invocations={} api_requests={} wru<={wru} rru<={rru} ops: {}",
            stage.name,
            t.writes.len() + t.reads.len(),
            t.nonces,
            stage.messages,
            stage.messages,
            stage.lambda,
            stage.api,
            ops.join(" ")
        );
        total.0 += wru;
        total.1 += rru;
        total.2 += sends + 2 * stage.messages;
        total.3 += stage.lambda;
        total.4 += stage.api;
        total.5 += (t.writes.len() + t.reads.len()) as u64;
    }
    // Cost of 1,000 loans. SQS: the steps queue is FIFO, the notices queue standard; all
    // priced as FIFO (the dearer) for a bound.
    let thousand = Decimal::from(1000);
    let million = Decimal::from(1_000_000);
    let dynamo = (Decimal::from(total.0) * d(DYNAMO_PER_MILLION_WRU)
        + Decimal::from(total.1) * d(DYNAMO_PER_MILLION_RRU))
        / million
        * thousand;
    let sqs = Decimal::from(total.2) * d(SQS_FIFO_PER_MILLION) / million * thousand;
    let gb_seconds = Decimal::from(total.3) * d(ASSUMED_MS_PER_INVOCATION) / Decimal::from(1000) * d("0.125");
    let lambda = (Decimal::from(total.3) * d(LAMBDA_PER_MILLION) / million + gb_seconds * d(LAMBDA_ARM_PER_GB_SECOND))
        * thousand;
    let api = Decimal::from(total.4) * d(HTTP_API_PER_MILLION) / million * thousand;
    total.6 = dynamo + sqs + lambda + api;
    let _ = SQS_STANDARD_PER_MILLION;
    println!(
        "calls per_loan dynamo_requests={} wru<={} rru<={} sqs_requests={} lambda_invocations={} api_requests={}",
        total.5, total.0, total.1, total.2, total.3, total.4
    );
    println!(
        "cost per_1000_loans_usd dynamodb={} sqs={} lambda={} http_api={} total={}",
        dynamo.round_dp(4),
        sqs.round_dp(4),
        lambda.round_dp(4),
        api.round_dp(4),
        total.6.round_dp(4)
    );
}
