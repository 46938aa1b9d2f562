//! The money chain up to funding, against moto: collections requested with deterministic
//! serials, interface 10 callbacks applied once (duplicates, contradictions, wrong amounts,
//! unknown serials), the ledger and escrow, and the claim reaching FUNDING then FUNDED.

use hub::domain::chain;
use hub::domain::funding::{Investment, InvestmentStatus};
use hub::domain::investor::Investor;
use hub::domain::money::Money;
use hub::domain::movement::{ClaimKey, MovementStatus};
use hub::domain::ports::{ClaimStore, FundingStore, InvestorStore, PaymentPlatform};
use hub::domain::status::ClaimStatus;
use hub::domain::steps::Step;
use hub_tests::doubles::{FakeOriginator, FakePlatform};
use hub_tests::{PAY_SECRET, TestHub, accepted_case};
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::HashMap;

fn rupiah(v: i64) -> Money {
    Money::from_decimal(Decimal::from(v))
}

struct Setup {
    hub: TestHub,
    claim: ClaimKey,
    people: Vec<Investor>,
}

async fn setup(amount: i64, investors: u32) -> Setup {
    let hub = TestHub::spawn().await;
    let (mut request, _) = accepted_case();
    request["claimNo"] = json!("CHAIN-1");
    request["amount"] = json!(amount.to_string());
    request["upfrontFee"] = json!("0");
    let claim = hub.list_claim(&request).await;
    let people = hub.investors(0, investors).await;
    Setup { claim, hub, people }
}

impl Setup {
    async fn invest(&self, who: usize, amount: i64) -> Investment {
        self.hub.invest(&self.people[who], &self.claim, amount, &format!("order-{who}")).await.unwrap()
    }

    async fn callback(&self, serial: &str, status: &str, amount: &str) -> hub_tests::Reply {
        let body =
            json!({"serialNo": serial, "status": status, "amount": amount, "completedAt": "2026-12-03T10:00:00+07:00"});
        self.hub.post("/v1/callbacks/collections", body.to_string()).as_partner("pay", PAY_SECRET).send().await
    }

    async fn step(&self, step: Step) {
        self.run(&FakePlatform::calling_back(), &step).await.unwrap();
    }

    async fn run(&self, platform: &impl PaymentPlatform, step: &Step) -> Result<(), hub::ApiError> {
        let app = &self.hub.app;
        let originator = FakeOriginator::default();
        let chain = chain::Chain {
            payment: platform,
            originator: &originator,
            match_key: &app.settings.match_key,
            income: &app.settings.income_account,
        };
        chain::run(&app.store, &chain, &app.queues, step, app.clock.now()).await
    }

    async fn drain(&self, platform: &impl PaymentPlatform) -> usize {
        self.hub.drain_steps(platform, &FakeOriginator::default()).await
    }

    async fn claim_status(&self) -> (ClaimStatus, Money) {
        let c = self.hub.app.store.get_claim("doit", &self.claim.claim_no).await.unwrap().unwrap();
        (c.status, c.funded_amount)
    }
}

#[tokio::test]
async fn a_collection_step_sends_the_same_serial_however_often_it_runs() {
    let s = setup(1_000_000, 1).await;
    let investment = s.invest(0, 400_000).await;
    let platform = FakePlatform::calling_back();
    let step = Step::RequestMovement { serial: investment.serial.clone() };
    // The worker crashed after sending and SQS delivers the step again: same serial both times.
    for _ in 0..2 {
        s.run(&platform, &step).await.unwrap();
    }
    let sent = platform.asked.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(serial, amount, account)| {
        serial == &format!("COL-INV-1-{}", investment.investment_id)
            && *amount == rupiah(400_000)
            && account == "8800000000"
    }));
}

#[tokio::test]
async fn callbacks_fund_the_claim_once_whatever_arrives() {
    let s = setup(1_000_000, 2).await;
    let first = s.invest(0, 600_000).await;
    let second = s.invest(1, 400_000).await;

    let reply = s.callback(&first.serial, "SUCCEEDED", "600000").await;
    assert_eq!((reply.status, reply.data()["applied"].as_bool()), (200, Some(true)), "{}", reply.body);
    s.step(Step::MovementSettled { serial: first.serial.clone() }).await;
    assert_eq!(s.claim_status().await, (ClaimStatus::Funding, rupiah(600_000)));

    // Duplicate callback and duplicate step: acknowledged, nothing changes.
    let dup = s.callback(&first.serial, "SUCCEEDED", "600000").await;
    assert_eq!((dup.status, dup.data()["applied"].as_bool()), (200, Some(false)));
    s.step(Step::MovementSettled { serial: first.serial.clone() }).await;
    assert_eq!(s.claim_status().await, (ClaimStatus::Funding, rupiah(600_000)));

    // A failure after the success never undoes it; it is kept for an operator.
    let contra = s.callback(&first.serial, "FAILED", "600000").await;
    assert_eq!((contra.status, contra.data()["applied"].as_bool()), (200, Some(false)));
    let movement = s.hub.app.store.get_movement(&first.serial).await.unwrap().unwrap();
    assert_eq!(movement.status, MovementStatus::Succeeded);
    let items = s.hub.items().await;
    let stored = items.iter().find(|i| i["pk"].as_s().unwrap() == &format!("MOVEMENT#{}", first.serial)).unwrap();
    assert_eq!(stored["contradictions"].as_l().unwrap().len(), 1);

    // Wrong amount and unknown serial are refused.
    assert_eq!(s.callback(&second.serial, "SUCCEEDED", "400001").await.code(), "CONFLICT");
    assert_eq!(s.callback("COL-INV-nope", "SUCCEEDED", "1").await.status, 404);
    let bad = s
        .hub
        .post("/v1/callbacks/collections", json!({"serialNo": "", "status": "MAYBE"}).to_string())
        .as_partner("pay", PAY_SECRET)
        .send()
        .await;
    assert_eq!(bad.fields(), ["amount", "serialNo", "status"]);
    let loose = json!({"serialNo": second.serial, "status": "FAILED", "amount": "400000", "failureReason": "no money!",
        "completedAt": "yesterday", "note": "x"});
    let loose = s.hub.post("/v1/callbacks/collections", loose.to_string()).as_partner("pay", PAY_SECRET).send().await;
    assert_eq!(loose.fields(), ["completedAt", "failureReason", "note"], "codes, times and known fields only");
    let mixed =
        json!({"serialNo": second.serial, "status": "SUCCEEDED", "amount": "400000", "failureReason": "TRANSIENT"});
    let mixed = s.hub.post("/v1/callbacks/collections", mixed.to_string()).as_partner("pay", PAY_SECRET).send().await;
    assert_eq!(
        (mixed.status, mixed.fields()),
        (400, vec!["failureReason".to_owned()]),
        "a success has no failure reason"
    );
    let not_pay = s.hub.post("/v1/callbacks/collections", json!({}).to_string()).send().await;
    assert_eq!(not_pay.status, 403, "an originator may not report movements");

    // The second collection completes the claim.
    assert_eq!(s.callback(&second.serial, "SUCCEEDED", "400000").await.data()["applied"], true);
    s.step(Step::MovementSettled { serial: second.serial.clone() }).await;
    assert_eq!(s.claim_status().await, (ClaimStatus::Funded, rupiah(1_000_000)));
    let claim = s.hub.app.store.get_claim("doit", &s.claim.claim_no).await.unwrap().unwrap();
    let history: Vec<ClaimStatus> = claim.history.iter().map(|c| c.status).collect();
    assert_eq!(history, [ClaimStatus::Listed, ClaimStatus::Funding, ClaimStatus::Funded]);

    // Ledger: two entries into this claim's escrow, 1,000,000 in all; escrow holds it.
    let ledger: Vec<_> = items
        .iter()
        .chain(s.hub.items().await.iter())
        .filter(|i| i["sk"].as_s().unwrap().starts_with("LEDGER#"))
        .cloned()
        .collect();
    let mut serials: Vec<String> = ledger.iter().map(|i| i["serialNo"].as_s().unwrap().clone()).collect();
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 2);
    let claim_item = s.hub.items().await.into_iter().find(|i| i["sk"].as_s().unwrap() == "CLAIM").unwrap();
    assert_eq!(claim_item["escrowBalance"].as_n().unwrap().parse::<Decimal>().unwrap(), Decimal::from(1_000_000));
}

#[tokio::test]
async fn a_failed_collection_releases_its_share() {
    let s = setup(1_000_000, 1).await;
    let investment = s.invest(0, 700_000).await;
    assert_eq!(s.callback(&investment.serial, "FAILED", "700000").await.data()["applied"], true);
    s.step(Step::MovementSettled { serial: investment.serial.clone() }).await;
    let claim = s.hub.app.store.get_claim("doit", &s.claim.claim_no).await.unwrap().unwrap();
    assert_eq!((claim.status, claim.subscribed, claim.funded_amount), (ClaimStatus::Listed, Money::ZERO, Money::ZERO));
    let stored = s.hub.app.store.get_investment(&s.claim, &investment.investment_id).await.unwrap().unwrap();
    assert_eq!(stored.status, InvestmentStatus::Failed);
    let investor = s.hub.app.store.get_investor(&s.people[0].investor_id).await.unwrap().unwrap();
    assert_eq!(investor.active_investments, 0);
    assert!(
        !s.hub.items().await.iter().any(|i| i["sk"].as_s().unwrap().starts_with("LEDGER#")),
        "a failure posts nothing"
    );
}

fn escrow(items: &[HashMap<String, aws_sdk_dynamodb::types::AttributeValue>]) -> Decimal {
    let claim = items.iter().find(|i| i["sk"].as_s().unwrap() == "CLAIM").unwrap();
    claim["escrowBalance"].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_funded_claim_is_disbursed_and_its_fee_paid_to_income() {
    // 1,000,000 with an upfront fee: take the fixture claim's own fee.
    let s = setup(1_000_000, 2).await;
    let claim = s.hub.app.store.get_claim("doit", &s.claim.claim_no).await.unwrap().unwrap();
    let fee = claim.claim.upfront_fee;
    s.invest(0, 600_000).await;
    s.invest(1, 400_000).await;
    let platform = FakePlatform::immediate(&[]);
    let steps = s.drain(&platform).await;
    let claim = s.hub.app.store.get_claim("doit", &s.claim.claim_no).await.unwrap().unwrap();
    assert_eq!(claim.status, ClaimStatus::Disbursed, "after {steps} steps");
    let history: Vec<ClaimStatus> = claim.history.iter().map(|c| c.status).collect();
    assert_eq!(
        history,
        [
            ClaimStatus::Listed,
            ClaimStatus::Funding,
            ClaimStatus::Funded,
            ClaimStatus::Disbursing,
            ClaimStatus::Disbursed
        ]
    );
    let asked = platform.serials();
    assert!(asked.contains(&"PAY-DIS-1-doit-CHAIN-1".to_owned()), "{asked:?}");
    assert_eq!(asked.contains(&"PAY-FEE-1-doit-CHAIN-1".to_owned()), !fee.is_zero(), "{asked:?}");
    // Escrow: 1,000,000 in, (1,000,000 - fee) to the borrower, fee to income: zero left.
    assert_eq!(escrow(&s.hub.items().await), Decimal::ZERO);
}

#[tokio::test]
async fn a_transient_payout_failure_retries_under_a_new_serial() {
    let s = setup(1_000_000, 1).await;
    s.invest(0, 1_000_000).await;
    let platform = FakePlatform::immediate(&[("PAY-DIS", 2, "TRANSIENT")]);
    s.drain(&platform).await;
    let claim = s.hub.app.store.get_claim("doit", &s.claim.claim_no).await.unwrap().unwrap();
    assert_eq!(claim.status, ClaimStatus::Disbursed);
    let asked = platform.serials();
    let payouts: Vec<&String> = asked.iter().filter(|a| a.starts_with("PAY-DIS")).collect();
    assert_eq!(payouts, ["PAY-DIS-1-doit-CHAIN-1", "PAY-DIS-2-doit-CHAIN-1", "PAY-DIS-3-doit-CHAIN-1"]);
    assert_eq!(escrow(&s.hub.items().await), Decimal::ZERO);
}

#[tokio::test]
async fn a_permanent_payout_failure_refunds_every_investor_in_full() {
    let s = setup(1_000_000, 2).await;
    s.invest(0, 700_000).await;
    s.invest(1, 300_000).await;
    let platform = FakePlatform::immediate(&[("PAY-DIS", 1, "ACCOUNT_REJECTED")]);
    s.drain(&platform).await;
    let claim = s.hub.app.store.get_claim("doit", &s.claim.claim_no).await.unwrap().unwrap();
    assert_eq!(claim.status, ClaimStatus::DisburseFailed);
    let asked = platform.serials();
    assert_eq!(asked.iter().filter(|a| a.starts_with("PAY-REF")).count(), 2, "{asked:?}");
    assert_eq!(escrow(&s.hub.items().await), Decimal::ZERO, "700,000 + 300,000 in, both back out");
    for investment in s.hub.app.store.investments(&s.claim).await.unwrap() {
        assert_eq!(investment.status, InvestmentStatus::Refunded);
    }
    for person in &s.people {
        assert_eq!(s.hub.app.store.get_investor(&person.investor_id).await.unwrap().unwrap().active_investments, 0);
    }
}
