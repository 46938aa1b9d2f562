//! Test harness: a fresh hub per test, on its own DynamoDB table in moto, called through real
//! API Gateway / function URL event JSON.

use base64::Engine;
use hub::App;
use hub::config::Settings;
use hubctl::client::HubClient;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use std::path::PathBuf;

pub mod doubles;
pub mod loans;

pub const SECRET: &str = "test-secret-doit";
pub const OTHER_PARTNER: &str = "other";
pub const OTHER_SECRET: &str = "test-secret-other";
pub const WEB_SECRET: &str = "test-secret-web";
pub const PAY_SECRET: &str = "test-secret-pay";
pub const MATCH_KEY: &str = "test-match-key-0123456789";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture_cases() -> Vec<hubctl::portfolio::Case> {
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/claims-sample.jsonl")).expect("fixture");
    hubctl::portfolio::load(&text).expect("fixture parses")
}

/// The first accepted claim of the sample portfolio and its expected answer.
pub fn accepted_case() -> (Value, Value) {
    let case = fixture_cases().into_iter().find(|c| c.expect["code"] == "OK").expect("an OK line");
    (case.request, case.expect)
}

pub async fn aws() -> aws_config::SdkConfig {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "these tests need moto server: run ./infra/test, which starts it and sets AWS_ENDPOINT_URL"
    );
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// A hub with its own table, created from template.yaml's definition, and its own steps
/// (FIFO) and notify queues.
pub struct TestHub {
    pub app: App,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub steps_url: String,
    pub notices_url: String,
}

impl TestHub {
    pub async fn spawn() -> TestHub {
        let aws = aws().await;
        let table = format!("hub-test-{}", uuid::Uuid::new_v4().simple());
        let template = hubctl::template::Template::load(&repo_root().join("template.yaml")).expect("template");
        let spec = template.tables().into_iter().find(|t| t.logical_id == "HubTable").expect("HubTable");
        let dynamo = aws_sdk_dynamodb::Client::new(&aws);
        hubctl::tables::create_table(&dynamo, &spec, &table).await.expect("create table");
        let secrets =
            json!({ "doit": SECRET, OTHER_PARTNER: OTHER_SECRET, "web": WEB_SECRET, "pay": PAY_SECRET }).to_string();
        let settings = Settings::from_lookup(|name| match name {
            "HUB_TABLE" => Some(table.clone()),
            "PARTNER_SECRETS" => Some(secrets.clone()),
            "MATCH_KEY" => Some(MATCH_KEY.to_owned()),
            _ => None,
        })
        .expect("settings");
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let queue = |name: String, fifo: bool| {
            let sqs = sqs.clone();
            async move {
                let mut create = sqs.create_queue().queue_name(name);
                if fifo {
                    create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
                }
                create.send().await.expect("create queue").queue_url.expect("queue url")
            }
        };
        let id = uuid::Uuid::new_v4().simple();
        let steps_url = queue(format!("steps-{id}.fifo"), true).await;
        let notices_url = queue(format!("notices-{id}"), false).await;
        let mut app = App::new(settings, &aws);
        app.queues =
            hub::adapters::sqs::SqsQueues::new(sqs.clone(), Some(steps_url.clone()), Some(notices_url.clone()));
        TestHub { app, dynamo, sqs, steps_url, notices_url }
    }

    fn chain<'a, P, O>(&'a self, payment: &'a P, originator: &'a O) -> hub::domain::chain::Chain<'a, P, O> {
        let settings = &self.app.settings;
        hub::domain::chain::Chain {
            payment,
            originator,
            match_key: &settings.match_key,
            income: &settings.income_account,
        }
    }

    async fn run_step<P, O>(
        &self,
        chain: &hub::domain::chain::Chain<'_, P, O>,
        step: &hub::domain::steps::Step,
    ) -> Result<(), hub::ApiError>
    where
        P: hub::domain::ports::PaymentPlatform,
        O: hub::domain::ports::Originator,
    {
        let now = self.app.clock.now();
        Box::pin(hub::domain::chain::run(&self.app.store, chain, &self.app.queues, step, now)).await
    }

    /// Runs one step as the payment-steps worker would, with these partners.
    pub async fn run_one(
        &self,
        payment: &impl hub::domain::ports::PaymentPlatform,
        originator: &impl hub::domain::ports::Originator,
        step: &hub::domain::steps::Step,
    ) -> Result<(), hub::ApiError> {
        self.run_step(&self.chain(payment, originator), step).await
    }

    /// Plays the payment-steps worker: runs every step on the queue until it is empty.
    /// Answers how many steps ran.
    pub async fn drain_steps(
        &self,
        payment: &impl hub::domain::ports::PaymentPlatform,
        originator: &impl hub::domain::ports::Originator,
    ) -> usize {
        let chain = self.chain(payment, originator);
        let mut ran = 0;
        loop {
            let bodies = self.take_all(&self.steps_url).await;
            if bodies.is_empty() {
                return ran;
            }
            for body in bodies {
                let step: hub::domain::steps::Step = serde_json::from_str(&body).expect("a step");
                self.run_step(&chain, &step).await.unwrap_or_else(|e| panic!("step {step:?} failed: {e}"));
                ran += 1;
            }
        }
    }

    /// Plays a worker that crashes at every step: each step runs, what it sent to the queue is
    /// lost (the crash came after its write), and SQS hands the step out again; a step that
    /// fails is handed out again too. Answers how many steps ran.
    pub async fn drain_steps_crashing(
        &self,
        payment: &impl hub::domain::ports::PaymentPlatform,
        originator: &impl hub::domain::ports::Originator,
    ) -> usize {
        let chain = self.chain(payment, originator);
        let mut todo: std::collections::VecDeque<String> = self.take_all(&self.steps_url).await.into();
        let mut ran = 0;
        while let Some(body) = todo.pop_front() {
            let step: hub::domain::steps::Step = serde_json::from_str(&body).expect("a step");
            let _first_delivery = self.run_step(&chain, &step).await;
            let lost = self.take_all(&self.steps_url).await;
            let mut outcome = self.run_step(&chain, &step).await;
            for _redelivery in 0..3 {
                if outcome.is_ok() {
                    break;
                }
                outcome = self.run_step(&chain, &step).await;
            }
            outcome.unwrap_or_else(|e| panic!("step {step:?} failed after {} lost sends: {e}", lost.len()));
            todo.extend(self.take_all(&self.steps_url).await);
            ran += 1;
        }
        ran
    }

    /// Takes every message now on a queue (deleting it); bodies in order.
    pub async fn take_all(&self, url: &str) -> Vec<String> {
        let mut bodies = Vec::new();
        loop {
            let out =
                self.sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.expect("receive");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return bodies;
            }
            for m in messages {
                bodies.push(m.body().unwrap_or_default().to_owned());
                let receipt = m.receipt_handle().unwrap_or_default();
                self.sqs.delete_message().queue_url(url).receipt_handle(receipt).send().await.expect("delete");
            }
        }
    }

    /// Posts a claim through interface 1 and runs its borrower check (interface 2) with a
    /// borrower who invests nowhere: the claim is open for investment.
    pub async fn list_claim(&self, request: &Value) -> hub::domain::movement::ClaimKey {
        let reply = self.post("/v1/claims", request.to_string()).send().await;
        assert_eq!(reply.code(), "OK", "{}", reply.body);
        let platform = doubles::FakePlatform::immediate(&[]);
        self.drain_steps(&platform, &doubles::FakeOriginator::default()).await;
        let claim_no = request["claimNo"].as_str().expect("claimNo");
        let claim_no = hub::domain::claim::ClaimNo::parse(claim_no).expect("a claim number");
        hub::domain::movement::ClaimKey { source: "doit".into(), claim_no }
    }

    /// Plays the notify worker: delivers the notices of every claim announced on the notify
    /// queue. Answers how many notices were delivered; an originator that refuses stops one
    /// claim's delivery (its notices stay in the outbox).
    pub async fn deliver_notices(&self, originator: &impl hub::domain::ports::Originator) -> usize {
        let mut delivered = 0;
        for body in self.take_all(&self.notices_url).await {
            let a: hub::domain::notice::Announcement = serde_json::from_str(&body).expect("an announcement");
            let claim_no = hub::domain::claim::ClaimNo::parse(&a.claim_no).expect("claimNo");
            let key = hub::domain::movement::ClaimKey { source: a.source, claim_no };
            let now = self.app.clock.now();
            delivered += hub::domain::notice::deliver(&self.app.store, originator, &key, now).await.unwrap_or(0);
        }
        delivered
    }

    /// Runs the reconciler as if everything waiting were older than its age.
    pub async fn reconcile(
        &self,
        platform: &impl hub::domain::ports::PaymentPlatform,
    ) -> hub::domain::reconcile::Reconciled {
        let later = self.app.clock.now() + chrono::Duration::seconds(1);
        let run = hub::domain::reconcile::reconcile(
            &self.app.store,
            platform,
            &self.app.queues,
            chrono::Duration::zero(),
            later,
        );
        Box::pin(run).await.expect("reconciler run")
    }

    /// Interface 10 or 11 (by the serial's kind) as the payment platform sends it.
    pub async fn callback(&self, report: &hub::domain::settlement::Report) -> Reply {
        let path =
            if report.serial.starts_with("COL-") { "/v1/callbacks/collections" } else { "/v1/callbacks/payouts" };
        let mut body = json!({"serialNo": report.serial, "status": report.status, "amount": report.amount,
            "completedAt": "2026-12-03T10:00:00+07:00"});
        if let Some(reason) = &report.failure_reason {
            body["failureReason"] = json!(reason);
        }
        self.post(path, body.to_string()).as_partner("pay", PAY_SECRET).send().await
    }

    /// Runs the clock `hours` ahead (the settable clock, through a file of its own).
    pub fn advance_clock(&mut self, hours: i64) {
        let path = std::env::temp_dir().join(format!("hub-clock-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, (hours * 3600).to_string()).expect("clock file");
        self.app.clock = hub::app::Clock::settable(Some(path));
    }

    /// Registers `count` investors with distinct NIKs, phones and accounts (`tag` keeps
    /// several sets apart).
    pub async fn investors(&self, tag: u32, count: u32) -> Vec<hub::domain::investor::Investor> {
        let mut out = Vec::new();
        for i in 0..count {
            let body = json!({"name": format!("Investor {i}"), "nik": format!("3201{tag:02}55069{i:05}"),
                "phone": format!("0813{tag:02}{i:06}"), "bankCode": "BNI", "bankName": "BNI",
                "bankAccountNo": format!("88{tag:02}{i:06}"), "bankAccountName": format!("INVESTOR {i}")});
            let s = &self.app.settings;
            let now = self.app.clock.now();
            let investor =
                hub::domain::investor::register(&self.app.store, &s.intake.claim_rules, &s.match_key, &body, now);
            out.push(investor.await.expect("registered"));
        }
        out
    }

    /// Places an order through the domain (interface 3 answering "no loan").
    pub async fn invest(
        &self,
        investor: &hub::domain::investor::Investor,
        claim: &hub::domain::movement::ClaimKey,
        amount: i64,
        request_id: &str,
    ) -> Result<hub::domain::funding::Investment, hub::ApiError> {
        let order = hub::domain::funding::InvestOrder {
            investor_id: investor.investor_id.clone(),
            claim: claim.clone(),
            amount: hub::domain::money::Money::from_decimal(rust_decimal::Decimal::from(amount)),
            request_id: request_id.into(),
        };
        let app = &self.app;
        let originator = doubles::FakeOriginator::default();
        hub::domain::funding::invest(
            &app.store,
            &originator,
            &app.queues,
            &app.settings.funding,
            &order,
            app.clock.now(),
        )
        .await
    }

    pub fn table(&self) -> &str {
        &self.app.settings.table
    }

    pub fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> Call<'_> {
        Call::new(self, "POST", path, Some(body.into()))
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        Call::new(self, "GET", path, None)
    }

    /// Every item of the table (for counting what was written).
    pub async fn items(&self) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let out = self.dynamo.scan().table_name(self.table()).consistent_read(true).send().await.expect("scan");
        out.items.unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    HttpApiV2,
    RestV1,
    FunctionUrl,
}

impl Gateway {
    pub const ALL: [Gateway; 3] = [Gateway::HttpApiV2, Gateway::RestV1, Gateway::FunctionUrl];
}

/// The answer a handler gave: HTTP status and the parsed envelope.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    fn from(response: Response<Body>) -> Reply {
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body().as_ref()).expect("every answer is JSON");
        Reply { status, body }
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The `field`s of an `INVALID_REQUEST`, in answer order.
    pub fn fields(&self) -> Vec<String> {
        self.data()["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// One request, signed like a partner would, delivered as a gateway event.
pub struct Call<'a> {
    hub: &'a TestHub,
    pub gateway: Gateway,
    pub method: String,
    pub path: String,
    pub body: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub partner: String,
    pub secret: String,
    pub timestamp_ms: i64,
    pub nonce: String,
    pub base64: bool,
    pub upper_case_headers: bool,
    pub signature: Option<String>,
    pub unsigned: bool,
}

impl<'a> Call<'a> {
    fn new(hub: &'a TestHub, method: &str, path: &str, body: Option<Vec<u8>>) -> Call<'a> {
        Call {
            hub,
            gateway: Gateway::HttpApiV2,
            method: method.to_owned(),
            path: path.to_owned(),
            content_type: body.as_ref().map(|_| "application/json".to_owned()),
            body,
            partner: "doit".to_owned(),
            secret: SECRET.to_owned(),
            timestamp_ms: chrono::Utc::now().timestamp_millis(),
            nonce: uuid::Uuid::new_v4().to_string(),
            base64: false,
            upper_case_headers: false,
            signature: None,
            unsigned: false,
        }
    }

    pub fn via(mut self, gateway: Gateway) -> Self {
        self.gateway = gateway;
        self
    }

    pub fn content_type(mut self, value: Option<&str>) -> Self {
        self.content_type = value.map(str::to_owned);
        self
    }

    pub fn as_partner(mut self, partner: &str, secret: &str) -> Self {
        self.partner = partner.to_owned();
        self.secret = secret.to_owned();
        self
    }

    pub fn timestamp(mut self, ms: i64) -> Self {
        self.timestamp_ms = ms;
        self
    }

    pub fn nonce(mut self, nonce: &str) -> Self {
        self.nonce = nonce.to_owned();
        self
    }

    pub fn base64(mut self) -> Self {
        self.base64 = true;
        self
    }

    pub fn upper_case_headers(mut self) -> Self {
        self.upper_case_headers = true;
        self
    }

    pub fn signature(mut self, signature: &str) -> Self {
        self.signature = Some(signature.to_owned());
        self
    }

    pub fn unsigned(mut self) -> Self {
        self.unsigned = true;
        self
    }

    fn headers(&self) -> Vec<(String, String)> {
        let body = self.body.as_deref().unwrap_or_default();
        let client = HubClient::new("http://unused", &self.partner, &self.secret).expect("client");
        let mut headers: Vec<(String, String)> = if self.unsigned {
            vec![]
        } else {
            client
                .sign(&self.method, &self.path, body, self.timestamp_ms, &self.nonce)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        };
        if let Some(sig) = &self.signature {
            headers.retain(|(k, _)| k != hub::auth::SIGNATURE);
            headers.push((hub::auth::SIGNATURE.to_owned(), sig.clone()));
        }
        if let Some(ct) = &self.content_type {
            headers.push(("content-type".to_owned(), ct.clone()));
        }
        if self.upper_case_headers {
            for (k, _) in headers.iter_mut() {
                *k = k.to_ascii_uppercase();
            }
        }
        headers
    }

    /// The gateway event this call arrives as.
    pub fn event(&self) -> Value {
        let (template, _) = match self.gateway {
            Gateway::HttpApiV2 => (include_str!("../events/apigw-http-v2.json"), ()),
            Gateway::RestV1 => (include_str!("../events/apigw-rest-v1.json"), ()),
            Gateway::FunctionUrl => (include_str!("../events/function-url.json"), ()),
        };
        let mut event: Value = serde_json::from_str(template).expect("event template");
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let claim_route = path.strip_prefix("/v1/claims/").map(|no| ("/v1/claims/{claimNo}", no));
        let body = self.body.as_ref().map(|b| {
            if self.base64 {
                base64::engine::general_purpose::STANDARD.encode(b)
            } else {
                String::from_utf8(b.clone()).expect("text body")
            }
        });
        let headers: serde_json::Map<String, Value> =
            self.headers().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        event["body"] = body.map(Value::String).unwrap_or(Value::Null);
        event["isBase64Encoded"] = json!(self.base64);
        match self.gateway {
            Gateway::HttpApiV2 | Gateway::FunctionUrl => {
                event["rawPath"] = json!(path);
                event["rawQueryString"] = json!(query);
                event["requestContext"]["http"]["method"] = json!(self.method);
                event["requestContext"]["http"]["path"] = json!(path);
                let mut all = event["headers"].as_object().cloned().unwrap_or_default();
                all.remove("content-type");
                all.extend(headers);
                event["headers"] = Value::Object(all);
                if self.gateway == Gateway::HttpApiV2 {
                    let resource = claim_route.map(|(r, _)| r).unwrap_or(path);
                    event["routeKey"] = json!(format!("{} {resource}", self.method));
                    event["requestContext"]["routeKey"] = event["routeKey"].clone();
                    if let Some((_, no)) = claim_route {
                        event["pathParameters"] = json!({ "claimNo": no });
                    }
                }
            }
            Gateway::RestV1 => {
                let resource = claim_route.map(|(r, _)| r).unwrap_or(path);
                event["resource"] = json!(resource);
                event["path"] = json!(path);
                event["httpMethod"] = json!(self.method);
                event["requestContext"]["httpMethod"] = json!(self.method);
                event["requestContext"]["path"] = json!(format!("/prod{path}"));
                event["requestContext"]["resourcePath"] = json!(resource);
                if let Some((_, no)) = claim_route {
                    event["pathParameters"] = json!({ "claimNo": no });
                }
                if !query.is_empty() {
                    let params: serde_json::Map<String, Value> = query
                        .split('&')
                        .filter_map(|p| p.split_once('='))
                        .map(|(k, v)| (k.to_owned(), json!(v)))
                        .collect();
                    event["queryStringParameters"] = Value::Object(params.clone());
                    event["multiValueQueryStringParameters"] =
                        Value::Object(params.into_iter().map(|(k, v)| (k, json!([v]))).collect());
                }
                let mut all = event["headers"].as_object().cloned().unwrap_or_default();
                all.remove("Content-Type");
                all.extend(headers);
                event["multiValueHeaders"] = Value::Object(all.iter().map(|(k, v)| (k.clone(), json!([v]))).collect());
                event["headers"] = Value::Object(all);
            }
        }
        event
    }

    /// Delivers the event to the function API Gateway would route it to.
    pub async fn send(self) -> Reply {
        let request = lambda_http::request::from_str(&self.event().to_string()).expect("lambda_http parses the event");
        let app = &self.hub.app;
        let response = match (self.method.as_str(), self.path.as_str()) {
            ("POST", "/v1/claims") => receive_claim::handle(app, request).await,
            ("POST", "/v1/repayments") => receive_repayment::handle(app, request).await,
            ("POST", "/v1/investors") => register_investor::handle(app, request).await,
            ("POST", "/v1/checks/borrower-investments") => check_borrower_investments::handle(app, request).await,
            ("POST", "/v1/investments") => invest::handle(app, request).await,
            ("GET", "/v1/listings") => list_listings::handle(app, request).await,
            ("POST", "/v1/callbacks/collections") => collection_callback::handle(app, request).await,
            ("POST", "/v1/callbacks/payouts") => payout_callback::handle(app, request).await,
            _ => get_claim::handle(app, request).await,
        };
        Reply::from(response)
    }
}
