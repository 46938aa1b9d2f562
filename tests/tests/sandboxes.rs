//! The counterpart sandboxes on API Gateway HTTP API events, against DynamoDB and SQS in moto
//! (the table as infra/sandbox-template.yaml defines it), and the callback worker against a
//! local stand-in for the hub.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use hub::auth::{self, AuthHeaders, PartnerSecrets, SignedParts};
use hub_tests::{aws, repo_root};
use lambda_http::{Body, Response};
use originator_sandbox::Originator;
use payment_sandbox::Payment;
use payment_sandbox::domain::{self, Dice, Knobs, MovementKind, MovementStatus};
use payment_sandbox::store::PaymentStore;
use payment_sandbox_callbacks::Worker;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The hub signs to the originator with do-it's secret and to the payment platform with pay's.
const DOIT_SECRET: &str = "sandbox-test-doit";
const PAY_SECRET: &str = "sandbox-test-pay";
const ACTIVE: &str = "081234567890, 3174055506900003";

// ---- setup ----

struct Sandboxes {
    originator: Originator,
    payment: Payment,
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// Both sandboxes on a fresh table and callback queue.
async fn spawn() -> Sandboxes {
    let aws = aws().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let table = format!("sandbox-test-{suffix}");
    let template =
        hubctl::template::Template::load(&repo_root().join("infra/sandbox-template.yaml")).expect("sandbox template");
    let spec = template.tables().into_iter().find(|t| t.logical_id == "SandboxTable").expect("SandboxTable");
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    hubctl::tables::create_table(&dynamo, &spec, &table).await.expect("create table");
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("sandbox-callbacks-{suffix}"))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    // One environment for both, as the local stack runs them: each uses its own party's secret.
    let secrets = json!({ "doit": DOIT_SECRET, "pay": PAY_SECRET, "web": "not-for-sandboxes" }).to_string();
    let vars = |name: &str| match name {
        "SANDBOX_TABLE" => Some(table.clone()),
        "PARTNER_SECRETS" => Some(secrets.clone()),
        "CALLBACK_QUEUE_URL" => Some(queue_url.clone()),
        "ORIGINATOR_ACTIVE_BORROWERS" => Some(ACTIVE.to_owned()),
        _ => None,
    };
    Sandboxes {
        originator: Originator::new(&vars, &aws).expect("originator"),
        payment: Payment::new(&vars, &aws).expect("payment"),
        dynamo,
        table,
        sqs,
        queue_url,
    }
}

// ---- calling them ----

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn from(response: Response<Body>) -> Reply {
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body().as_ref()).expect("every answer is JSON");
        Reply { status, body }
    }

    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    fn data(&self) -> &Value {
        &self.body["data"]
    }

    fn fields(&self) -> Vec<&str> {
        self.data()["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect())
            .unwrap_or_default()
    }

    fn assert(&self, status: u16, code: &str) -> &Reply {
        assert_eq!((self.status, self.code()), (status, code), "{}", self.body);
        self
    }
}

/// Method, route template and the values of its parameters.
type Route<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

#[derive(Clone, Copy)]
enum Side {
    Originator,
    Payment,
}

/// How a test request is signed.
#[derive(Clone, Copy)]
enum Signing<'a> {
    With(&'a str),
    Unsigned,
    Replay(&'a str, &'a str),
}

/// The HTTP API v2 event for `method route`, where `route` is the template path
/// (`/payment/v1/movements/{serialNo}`) and `params` fill it in.
fn event(
    method: &str,
    route: &str,
    params: &[(&str, &str)],
    body: Option<&Value>,
    signing: Signing<'_>,
) -> lambda_http::Request {
    let path = params.iter().fold(route.to_owned(), |path, (name, value)| path.replace(&format!("{{{name}}}"), value));
    let body = body.map(Value::to_string).unwrap_or_default();
    let signed_path = path.find("/v1/").map_or(path.as_str(), |at| &path[at..]);
    let mut headers = json!({ "content-type": "application/json" });
    let sign = |secret: &str, nonce: &str| {
        let now = chrono::Utc::now().timestamp_millis();
        let parts = SignedParts { method, path: signed_path, timestamp_ms: now, nonce, body: body.as_bytes() };
        json!({
            auth::PARTNER_ID: "hub",
            auth::TIMESTAMP: now.to_string(),
            auth::NONCE: nonce,
            auth::SIGNATURE: parts.sign(secret),
        })
    };
    let auth_headers = match signing {
        Signing::With(secret) => sign(secret, &uuid::Uuid::new_v4().to_string()),
        Signing::Replay(secret, nonce) => sign(secret, nonce),
        Signing::Unsigned => json!({}),
    };
    for (k, v) in auth_headers.as_object().into_iter().flatten() {
        headers[k] = v.clone();
    }
    let mut event: Value = serde_json::from_str(include_str!("../events/apigw-http-v2.json")).expect("template");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["routeKey"] = json!(format!("{method} {route}"));
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event["headers"] = headers;
    event["body"] = if body.is_empty() { Value::Null } else { json!(body) };
    if !params.is_empty() {
        let map: serde_json::Map<String, Value> = params.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        event["pathParameters"] = Value::Object(map);
    }
    lambda_http::request::from_str(&event.to_string()).expect("lambda_http parses the event")
}

impl Sandboxes {
    /// Delivers a request to the sandbox serving `side`.
    async fn call(&self, side: Side, signing: Signing<'_>, route: Route<'_>, body: Option<Value>) -> Reply {
        let (method, path, params) = route;
        let req = event(method, path, params, body.as_ref(), signing);
        Reply::from(match side {
            Side::Originator => originator_sandbox::handle(&self.originator, req).await,
            Side::Payment => payment_sandbox::handle(&self.payment, req).await,
        })
    }

    async fn originator(&self, method: &str, path: &str, params: &[(&str, &str)], body: Option<Value>) -> Reply {
        self.call(Side::Originator, Signing::With(DOIT_SECRET), (method, path, params), body).await
    }

    async fn payment(&self, method: &str, path: &str, params: &[(&str, &str)], body: Option<Value>) -> Reply {
        self.call(Side::Payment, Signing::With(PAY_SECRET), (method, path, params), body).await
    }

    async fn profile(&self, uuid: &str) -> Reply {
        self.originator("GET", "/originator/v1/borrowers/{borrowerUuid}", &[("borrowerUuid", uuid)], None).await
    }

    async fn check(&self, body: Value) -> Reply {
        self.originator("POST", "/originator/v1/checks/investor-loans", &[], Some(body)).await
    }

    async fn notify(&self, body: Value) -> Reply {
        self.originator("POST", "/originator/v1/notifications", &[], Some(body)).await
    }

    async fn originator_settings(&self, body: Value) -> Reply {
        self.originator("POST", "/originator/sandbox/settings", &[], Some(body)).await
    }

    async fn notifications(&self) -> Reply {
        self.originator("GET", "/originator/sandbox/notifications", &[], None).await
    }

    async fn collect(&self, serial: &str, amount: &str, account: &str) -> Reply {
        let body = json!({
            "serialNo": serial, "amount": amount, "currency": "IDR", "purpose": "INVESTMENT",
            "payer": {"kind": "INVESTOR", "bankCode": "BCA", "accountNo": account, "accountName": "SITI RAHAYU"}
        });
        self.payment("POST", "/payment/v1/collections", &[], Some(body)).await
    }

    async fn pay(&self, serial: &str, amount: &str, kind: &str, account: &str) -> Reply {
        let body = json!({
            "serialNo": serial, "amount": amount, "currency": "IDR", "purpose": "DISBURSEMENT",
            "payee": {"kind": kind, "bankCode": "BRI", "accountNo": account, "accountName": "EKA WIDODO"}
        });
        self.payment("POST", "/payment/v1/payouts", &[], Some(body)).await
    }

    async fn movement(&self, serial: &str) -> Reply {
        self.payment("GET", "/payment/v1/movements/{serialNo}", &[("serialNo", serial)], None).await
    }

    async fn payment_settings(&self, body: Value) -> Reply {
        self.payment("POST", "/payment/sandbox/settings", &[], Some(body)).await
    }

    async fn balances(&self) -> Value {
        let reply = self.payment("GET", "/payment/sandbox/balances", &[], None).await;
        reply.assert(200, "OK");
        reply.data().clone()
    }

    /// Every callback message on the queue now (each received once, then deleted).
    async fn queued(&self) -> Vec<SqsMessage> {
        let mut messages = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let batch = out.messages.unwrap_or_default();
            if batch.is_empty() {
                return messages;
            }
            for m in batch {
                if let Some(handle) = &m.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
                let mut message = SqsMessage::default();
                message.message_id = m.message_id;
                message.body = m.body;
                messages.push(message);
            }
        }
    }
}

// ---- originator ----

#[tokio::test]
async fn profiles_are_deterministic_realistic_indonesians() {
    let s = spawn().await;
    let uuid = "11e20b8f-6b0d-449b-af03-675a1600a35a";
    let first = s.profile(uuid).await;
    first.assert(200, "OK");
    let again = s.profile(uuid).await;
    assert_eq!(first.data(), again.data(), "same uuid, same person");
    let p = first.data();
    assert_eq!(p["borrowerUuid"], uuid);
    let nik = p["nik"].as_str().unwrap();
    assert!(nik.len() == 16 && nik.bytes().all(|b| b.is_ascii_digit()), "{nik}");
    let birth = p["birthDate"].as_str().unwrap();
    let (year, month, day) = (&birth[2..4], &birth[5..7], birth[8..10].parse::<u32>().unwrap());
    let gender = p["gender"].as_u64().unwrap();
    let encoded_day = day + if gender == 2 { 40 } else { 0 };
    assert_eq!(&nik[6..12], format!("{encoded_day:02}{month}{year}"), "NIK encodes the birth date");
    let phone = p["phone"].as_str().unwrap();
    assert!(phone.starts_with("08") && phone.len() == 12, "{phone}");
    for field in ["realName", "religion", "education", "occupation", "email", "address", "borrowerId"] {
        assert!(p[field].as_str().is_some_and(|v| !v.is_empty()), "{field}");
    }
    let docs = &p["documents"];
    assert_eq!(docs["idCard"], json!({ "verified": true, "number": nik }));
    assert_eq!(docs["familyCard"]["number"].as_str().unwrap()[..6], nik[..6]);
    assert_eq!(docs["emergencyContacts"].as_array().unwrap().len(), 2);

    let other = s.profile("6d76b07e-881e-4162-ae2e-b1547f150524").await;
    assert_ne!(other.data()["nik"], p["nik"]);
    s.profile("not-a-uuid").await.assert(404, "NOT_FOUND");
}

#[tokio::test]
async fn investor_loan_check_normalises_phone_numbers() {
    let s = spawn().await;
    for phone in ["081234567890", "6281234567890", "+62 812-3456-7890", "+6281234567890"] {
        let reply = s.check(json!({ "phone": phone })).await;
        assert_eq!(reply.assert(200, "OK").data(), &json!({ "result": 1 }), "{phone}");
    }
    let by_nik = s.check(json!({ "nik": "3174055506900003" })).await;
    assert_eq!(by_nik.data()["result"], 1);
    let stranger = s.check(json!({ "nik": "3273014101950002", "phone": "081399990000" })).await;
    assert_eq!(stranger.data()["result"], 0);
    let either = s.check(json!({ "nik": "3273014101950002", "phone": "0812 3456 7890" })).await;
    assert_eq!(either.data()["result"], 1, "either identifier matching is enough");

    let empty = s.check(json!({})).await;
    assert_eq!(empty.assert(400, "INVALID_REQUEST").fields(), ["nik", "phone"]);
    let bad = s.check(json!({ "nik": "12345", "phone": "021555" })).await;
    assert_eq!(bad.assert(400, "INVALID_REQUEST").fields(), ["nik", "phone"]);

    // Settings replace the list from ORIGINATOR_ACTIVE_BORROWERS.
    let set = s.originator_settings(json!({ "activeBorrowers": ["+62 899 1111 2222"] })).await;
    assert_eq!(set.assert(200, "OK").data()["activeBorrowers"], json!(["6289911112222"]));
    assert_eq!(s.check(json!({ "phone": "089911112222" })).await.data()["result"], 1);
    assert_eq!(s.check(json!({ "phone": "081234567890" })).await.data()["result"], 0);
}

fn notification(event_id: &str, sequence: u64) -> Value {
    json!({
        "eventId": event_id, "claimNo": "DI2026112107000000", "source": "doit",
        "sequence": sequence, "status": "DISBURSED", "occurredAt": "2026-11-22T09:00:00+07:00"
    })
}

#[tokio::test]
async fn notifications_are_recorded_once_counted_raw_and_can_fail_or_stall() {
    let s = spawn().await;
    let first = s.notify(notification("EV-2", 2)).await;
    assert_eq!(first.assert(200, "OK").data(), &json!({ "eventId": "EV-2", "duplicate": false }));
    let again = s.notify(notification("EV-2", 2)).await;
    assert_eq!(again.data()["duplicate"], true);
    s.notify(notification("EV-1", 1)).await.assert(200, "OK");
    s.notify(json!({ "eventId": "EV-3" })).await.assert(400, "INVALID_REQUEST");

    s.originator_settings(json!({ "notificationFailRate": 1 })).await.assert(200, "OK");
    s.notify(notification("EV-4", 3)).await.assert(503, "UNAVAILABLE");

    let seen = s.notifications().await;
    let data = seen.assert(200, "OK").data();
    assert_eq!(data["distinct"], 2);
    assert_eq!(data["received"], 3);
    assert_eq!(data["failuresInjected"], 1);
    let order: Vec<&str> =
        data["notifications"].as_array().unwrap().iter().map(|n| n["eventId"].as_str().unwrap()).collect();
    assert_eq!(order, ["EV-1", "EV-2"], "listed in sequence order");
    assert_eq!(data["notifications"][1]["receivedCount"], 2);

    s.originator_settings(json!({ "notificationFailRate": 0, "notificationStallMs": 300 })).await.assert(200, "OK");
    let started = Instant::now();
    s.notify(notification("EV-5", 4)).await.assert(200, "OK");
    assert!(started.elapsed() >= Duration::from_millis(300));
    s.originator_settings(json!({ "notificationStallMs": 60000 })).await.assert(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn every_sandbox_route_needs_a_valid_signature() {
    let s = spawn().await;
    let originator_routes: [Route<'_>; 5] = [
        ("GET", "/originator/v1/borrowers/{borrowerUuid}", &[("borrowerUuid", "11e20b8f-6b0d-449b-af03-675a1600a35a")]),
        ("POST", "/originator/v1/checks/investor-loans", &[]),
        ("POST", "/originator/v1/notifications", &[]),
        ("POST", "/originator/sandbox/settings", &[]),
        ("GET", "/originator/sandbox/notifications", &[]),
    ];
    for route in originator_routes {
        for signing in [Signing::Unsigned, Signing::With(PAY_SECRET)] {
            let reply = s.call(Side::Originator, signing, route, Some(json!({}))).await;
            reply.assert(401, "UNAUTHORIZED");
        }
    }
    let payment_routes: [Route<'_>; 5] = [
        ("POST", "/payment/v1/collections", &[]),
        ("POST", "/payment/v1/payouts", &[]),
        ("GET", "/payment/v1/movements/{serialNo}", &[("serialNo", "COL-INV-1")]),
        ("POST", "/payment/sandbox/settings", &[]),
        ("GET", "/payment/sandbox/balances", &[]),
    ];
    for route in payment_routes {
        for signing in [Signing::Unsigned, Signing::With(DOIT_SECRET)] {
            let reply = s.call(Side::Payment, signing, route, Some(json!({}))).await;
            reply.assert(401, "UNAUTHORIZED");
        }
    }
    let replay = Signing::Replay(PAY_SECRET, "nonce-once");
    let balances = ("GET", "/payment/sandbox/balances", &[][..]);
    s.call(Side::Payment, replay, balances, None).await.assert(200, "OK");
    s.call(Side::Payment, replay, balances, None).await.assert(401, "UNAUTHORIZED");
    // Each sandbox keeps its own nonces.
    let replay = Signing::Replay(DOIT_SECRET, "nonce-once");
    let notifications = ("GET", "/originator/sandbox/notifications", &[][..]);
    s.call(Side::Originator, replay, notifications, None).await.assert(200, "OK");
}

// ---- payment ----

#[tokio::test]
async fn a_serial_is_one_movement_and_moves_money_once() {
    let s = spawn().await;
    s.payment_settings(json!({ "callbackDelaySeconds": 0 })).await.assert(200, "OK");
    let first = s.collect("COL-INV-A1", "1000000", "1234567890").await;
    assert_eq!(first.assert(200, "OK").data(), &json!({ "serialNo": "COL-INV-A1", "status": "SUCCEEDED" }));
    let repeat = s.collect("COL-INV-A1", "1000000", "1234567890").await;
    assert_eq!(repeat.assert(200, "OK").data(), first.data());
    s.collect("COL-INV-A1", "999999", "1234567890").await.assert(409, "CONFLICT");
    s.pay("COL-INV-A1", "1000000", "BORROWER", "1234567890").await.assert(409, "CONFLICT");

    let balances = s.balances().await;
    assert_eq!(balances["escrow"], "1000000");
    assert_eq!(balances["movements"], 1);
    assert_eq!(balances["callbacksPlanned"], 1);

    let view = s.movement("COL-INV-A1").await;
    let data = view.assert(200, "OK").data();
    assert_eq!(
        (&data["kind"], &data["amount"], &data["status"]),
        (&json!("COLLECTION"), &json!("1000000"), &json!("SUCCEEDED"))
    );
    assert!(data["completedAt"].is_string());
    s.movement("COL-INV-NOPE").await.assert(404, "NOT_FOUND");

    let queued = s.queued().await;
    assert_eq!(queued.len(), 1, "one callback for one movement");
    let callback: Value = serde_json::from_str(queued[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(callback["serialNo"], "COL-INV-A1");
    assert_eq!(callback["status"], "SUCCEEDED");
    assert_eq!(callback["amount"], "1000000");

    let bad = s.payment("POST", "/payment/v1/payouts", &[], Some(json!({ "serialNo": "x", "amount": "-5" }))).await;
    assert_eq!(bad.assert(400, "INVALID_REQUEST").fields(), ["amount", "currency", "payee", "purpose"]);
}

#[tokio::test]
async fn escrow_never_goes_negative() {
    let s = spawn().await;
    s.payment_settings(json!({ "callbackDelaySeconds": 0 })).await.assert(200, "OK");
    s.collect("COL-INV-B1", "500000", "1234567890").await.assert(200, "OK");
    let too_much = s.pay("PAY-DIS-doit-B", "600000", "BORROWER", "2233445566").await;
    assert_eq!(too_much.assert(200, "OK").data()["status"], "FAILED");
    let view = s.movement("PAY-DIS-doit-B").await;
    assert_eq!(view.data()["failureReason"], "INSUFFICIENT_FUNDS");
    assert_eq!(s.balances().await["escrow"], "500000");

    let fee = s.pay("PAY-FEE-doit-B", "200000", "INCOME", "7000000001").await;
    assert_eq!(fee.data()["status"], "SUCCEEDED");
    let balances = s.balances().await;
    assert_eq!((&balances["escrow"], &balances["income"]), (&json!("300000"), &json!("200000")));

    let mut statuses = Vec::new();
    for i in 0..5 {
        let serial = format!("PAY-REF-C{i}");
        let reply = s.pay(&serial, "100000", "INVESTOR", "3344556677").await;
        statuses.push(reply.data()["status"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(statuses, ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED", "FAILED"]);
    let balances = s.balances().await;
    assert_eq!(balances["escrow"], "0");
    assert_eq!((&balances["succeeded"], &balances["failed"]), (&json!(5), &json!(3)));

    // Concurrent payouts are guarded by the ledger write's condition: a payout decided on a
    // stale balance loses its transaction (and is decided again). Shown here directly, since
    // moto undoes a cancelled transaction by restoring a snapshot of the whole table, which
    // also undoes the writes other requests made meanwhile.
    s.collect("COL-INV-B2", "300000", "1234567890").await.assert(200, "OK");
    let body = json!({
        "serialNo": "PAY-REF-STALE", "amount": "400000", "currency": "IDR", "purpose": "REFUND",
        "payee": {"kind": "INVESTOR", "bankCode": "BRI", "accountNo": "3344556677", "accountName": "EKA WIDODO"}
    });
    let request = domain::parse_request(MovementKind::Payout, &body, &["BRI".to_owned()]).unwrap();
    let stale_escrow = Decimal::from(1_000_000);
    let now = chrono::Utc::now();
    let stale = domain::decide(&request, &Knobs::default(), stale_escrow, &Dice::CALM, now);
    assert_eq!(stale.status, MovementStatus::Succeeded);
    let store = PaymentStore::new(s.dynamo.clone(), &s.table);
    assert!(!store.create(&stale).await.unwrap(), "the stale payout loses");
    assert!(store.movement("PAY-REF-STALE").await.unwrap().is_none());
    assert_eq!(s.balances().await["escrow"], "300000");
}

#[tokio::test]
async fn knobs_fail_accounts_and_inject_duplicates_and_drops() {
    let s = spawn().await;
    s.collect("COL-INV-K0", "100000", "1234567890").await.assert(200, "OK");
    let pending = s.movement("COL-INV-K0").await;
    assert_eq!(pending.data()["status"], "PENDING", "the default delay is 1 s");
    assert!(pending.data().get("completedAt").is_none());

    let set = s.payment_settings(json!({ "failAccounts": ["9999900000"], "callbackDelaySeconds": 0 })).await;
    assert_eq!(set.assert(200, "OK").data()["failAccounts"], json!(["9999900000"]));
    let rejected = s.collect("COL-INV-K1", "100000", "9999900000").await;
    assert_eq!(rejected.data()["status"], "FAILED");
    assert_eq!(s.movement("COL-INV-K1").await.data()["failureReason"], "ACCOUNT_REJECTED");
    let rejected = s.pay("PAY-DIS-doit-K", "1000", "BORROWER", "9999900000").await;
    assert_eq!(s.movement("PAY-DIS-doit-K").await.data()["failureReason"], "ACCOUNT_REJECTED");
    assert_eq!(rejected.data()["status"], "FAILED");

    s.payment_settings(json!({ "transientFailureRate": 1 })).await.assert(200, "OK");
    s.collect("COL-INV-K2", "100000", "1234567890").await;
    assert_eq!(s.movement("COL-INV-K2").await.data()["failureReason"], "TRANSIENT");

    s.payment_settings(json!({ "transientFailureRate": 0, "duplicateRate": 1 })).await.assert(200, "OK");
    s.collect("COL-INV-K3", "100000", "1234567890").await;
    let queued = callbacks_for(&s.queued().await, "COL-INV-K3");
    assert_eq!(queued.len(), 2, "a duplicated callback is queued twice");
    assert_eq!(queued[0], queued[1]);

    s.payment_settings(json!({ "duplicateRate": 0, "dropRate": 1 })).await.assert(200, "OK");
    s.collect("COL-INV-K4", "100000", "1234567890").await;
    let queued = callbacks_for(&s.queued().await, "COL-INV-K4");
    assert!(queued.is_empty(), "a dropped callback is never queued");
    assert_eq!(s.movement("COL-INV-K4").await.data()["status"], "SUCCEEDED");

    let balances = s.balances().await;
    assert_eq!(balances["duplicatesInjected"], 1);
    assert_eq!(balances["dropsInjected"], 1);
    assert_eq!(balances["escrow"], "300000", "K0, K3 and K4 succeeded");

    let bad = s.payment_settings(json!({ "dropRate": 2, "reorderJitterSeconds": 901, "failAccounts": ["x"] })).await;
    assert_eq!(bad.assert(400, "INVALID_REQUEST").fields(), ["dropRate", "failAccounts", "reorderJitterSeconds"]);
}

/// The bodies of the queued callbacks for `serial`.
fn callbacks_for(messages: &[SqsMessage], serial: &str) -> Vec<String> {
    let quoted = format!("\"{serial}\"");
    messages.iter().filter_map(|m| m.body.clone()).filter(|b| b.contains(&quoted)).collect()
}

// ---- callbacks worker ----

/// One request the stand-in hub received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A stand-in hub on a local port answering `status_for(path)`; returns its base URL (with a
/// stage prefix, which the signature must not cover) and what it received.
fn fake_hub(status_for: fn(&str) -> u16) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            reader.read_line(&mut line).expect("request line");
            let mut parts = line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
            let mut headers = BTreeMap::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).expect("header");
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((k, v)) = header.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let length = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            let status = status_for(&path);
            let code = if status == 200 { "OK" } else { "INTERNAL" };
            let answer = json!({ "code": code, "message": "", "data": null }).to_string();
            // Logged before answering, so the test sees it once the worker has its answer.
            log.lock().expect("log").push(Received { method, path, headers, body });
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (format!("http://127.0.0.1:{port}/prod"), received)
}

fn worker(hub_url: &str) -> Worker {
    let secrets = json!({ "pay": PAY_SECRET }).to_string();
    Worker::new(&|name: &str| match name {
        "HUB_URL" => Some(hub_url.to_owned()),
        "PARTNER_SECRETS" => Some(secrets.clone()),
        _ => None,
    })
    .expect("worker")
}

fn sqs_event(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

#[tokio::test]
async fn callbacks_reach_the_hub_signed_as_pay_and_failures_are_retried() {
    let s = spawn().await;
    s.payment_settings(json!({ "callbackDelaySeconds": 0 })).await.assert(200, "OK");
    s.collect("COL-INV-W1", "750000", "1234567890").await.assert(200, "OK");
    s.pay("PAY-DIS-doit-W", "900000", "BORROWER", "2233445566").await.assert(200, "OK");
    let mut queued = s.queued().await;
    assert_eq!(queued.len(), 2);
    let mut garbage = SqsMessage::default();
    garbage.message_id = Some("garbage".into());
    garbage.body = Some("{not json".into());
    queued.push(garbage);

    // The hub takes collections and fails payouts.
    let (hub_url, received) = fake_hub(|path| if path.ends_with("/collections") { 200 } else { 500 });
    let response = payment_sandbox_callbacks::handle(&worker(&hub_url), sqs_event(queued.clone())).await;
    let mut failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    failed.sort();
    let payout_id = queued
        .iter()
        .find(|m| m.body.as_deref().is_some_and(|b| b.contains("PAY-DIS-doit-W")))
        .and_then(|m| m.message_id.clone())
        .unwrap();
    let mut expected = vec!["garbage".to_owned(), payout_id];
    expected.sort();
    assert_eq!(failed, expected, "the refused payout and the unreadable message are retried");

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let secrets = PartnerSecrets::new([("pay".to_owned(), PAY_SECRET.to_owned())].into());
    for request in &received {
        assert_eq!(request.method, "POST");
        let route = request.path.strip_prefix("/prod").unwrap();
        assert!(route == "/v1/callbacks/collections" || route == "/v1/callbacks/payouts", "{route}");
        let header = |name: &str| request.headers.get(name).map(String::as_str);
        let verified = auth::verify(
            &secrets,
            AuthHeaders {
                partner: header(auth::PARTNER_ID),
                timestamp: header(auth::TIMESTAMP),
                nonce: header(auth::NONCE),
                signature: header(auth::SIGNATURE),
            },
            "POST",
            route,
            &request.body,
            chrono::Utc::now().timestamp_millis(),
        );
        assert_eq!(verified.expect("signed as pay").partner, "pay");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        if route.ends_with("/collections") {
            assert_eq!(body["serialNo"], "COL-INV-W1");
            assert_eq!((&body["status"], &body["amount"]), (&json!("SUCCEEDED"), &json!("750000")));
            assert!(body.get("failureReason").is_none());
        } else {
            assert_eq!(body["serialNo"], "PAY-DIS-doit-W");
            assert_eq!(body["status"], "FAILED");
            assert_eq!(body["failureReason"], "INSUFFICIENT_FUNDS");
        }
        assert!(body["completedAt"].is_string());
    }

    // A hub nobody answers at: every message is retried.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let response = payment_sandbox_callbacks::handle(
        &worker(&format!("http://127.0.0.1:{closed}")),
        sqs_event(queued[..1].to_vec()),
    )
    .await;
    assert_eq!(response.batch_item_failures.len(), 1);
}
