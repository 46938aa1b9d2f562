//! The listing's side exits and the notices (issue 3): the borrower check (interface 2), the
//! expiry into LISTING_FAILED with refunds (also of a collection that succeeds late), interface
//! 6 delivery while the originator is down, and the reconciler re-sending lost work.

use hub::ApiError;
use hub::domain::chain;
use hub::domain::claim::BankAccount;
use hub::domain::funding::InvestmentStatus;
use hub::domain::movement::Movement;
use hub::domain::movement::MovementStatus;
use hub::domain::ports::{ClaimStore, FundingStore, NoticeStore, PartnerError, PaymentPlatform};
use hub::domain::settlement::Report;
use hub::domain::status::ClaimStatus;
use hub_tests::doubles::{FakeOriginator, FakePlatform};
use hub_tests::{TestHub, WEB_SECRET, accepted_case};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

fn claim_request(claim_no: &str, amount: i64) -> Value {
    let (mut request, _) = accepted_case();
    request["claimNo"] = json!(claim_no);
    request["amount"] = json!(amount.to_string());
    request["upfrontFee"] = json!("0");
    request
}

#[tokio::test]
async fn a_borrower_who_invests_here_or_is_unknown_fails_listing_with_a_reason() {
    let hub = TestHub::spawn().await;
    let platform = FakePlatform::immediate(&[]);
    let people = hub.investors(2, 1).await;
    let open = hub.list_claim(&claim_request("OPEN-1", 1_000_000)).await;
    hub.invest(&people[0], &open, 200_000, "a").await.unwrap();

    // The investor (active investment above) borrows: interface 2 gives their NIK.
    let reply = hub.post("/v1/claims", claim_request("SELF-1", 1_000_000).to_string()).send().await;
    assert_eq!(reply.code(), "OK");
    let listings = hub.get("/v1/listings").as_partner("web", WEB_SECRET).send().await;
    let listed: Vec<&str> =
        listings.data()["listings"].as_array().unwrap().iter().filter_map(|l| l["claimNo"].as_str()).collect();
    assert_eq!(listed, ["OPEN-1"], "a claim is listed only once its borrower passed the checks");
    let key = hub::domain::movement::ClaimKey {
        source: "doit".into(),
        claim_no: hub::domain::claim::ClaimNo::parse("SELF-1").unwrap(),
    };
    let early = hub.invest(&people[0], &key, 100_000, "b").await;
    assert!(matches!(early, Err(ApiError::IllegalState(_))), "{early:?}");

    let investor = &people[0];
    let borrower = FakeOriginator::with_borrower(investor.nik.as_str(), &format!("0{}", &investor.phone.as_str()[2..]));
    hub.drain_steps(&platform, &borrower).await;
    let claim = hub.app.store.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    assert_eq!(claim.status, ClaimStatus::ListingFailed);
    assert_eq!(claim.history.last().unwrap().reason.as_deref(), Some("BORROWER_IS_INVESTOR"));

    let unknown = FakeOriginator { unknown_borrowers: true, ..FakeOriginator::default() };
    assert_eq!(hub.post("/v1/claims", claim_request("GHOST-1", 1_000_000).to_string()).send().await.code(), "OK");
    hub.drain_steps(&platform, &unknown).await;
    let ghost = hub
        .app
        .store
        .get_claim("doit", &hub::domain::claim::ClaimNo::parse("GHOST-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ghost.status, ghost.history.last().unwrap().reason.as_deref()),
        (ClaimStatus::ListingFailed, Some("BORROWER_UNKNOWN"))
    );

    // Both reach the originator through interface 6 with their reasons.
    let originator = FakeOriginator::default();
    assert_eq!(hub.deliver_notices(&originator).await, 2);
    let mut reasons: Vec<String> = originator.received().iter().filter_map(|n| n.reason.clone()).collect();
    reasons.sort();
    assert_eq!(reasons, ["BORROWER_IS_INVESTOR", "BORROWER_UNKNOWN"]);

    // The open claim's listing shows masked facts only.
    let listing = &listings.data()["listings"][0];
    assert_eq!(listing["borrower"]["maskedName"], "S*** R***");
    let text = listings.body.to_string();
    for private in ["Siti Rahayu", "\"nik\"", "\"phone\"", "bankAccountNo"] {
        assert!(!text.contains(private), "{private} leaked into listings");
    }
}

#[tokio::test]
async fn an_expired_listing_refunds_what_was_collected_and_a_collection_that_succeeds_late() {
    let mut hub = TestHub::spawn().await;
    let originator = FakeOriginator::default();
    let platform = FakePlatform::calling_back();
    let claim = hub.list_claim(&claim_request("EXP-1", 1_000_000)).await;
    let people = hub.investors(3, 2).await;
    let early = hub.invest(&people[0], &claim, 400_000, "a").await.unwrap();
    let late = hub.invest(&people[1], &claim, 300_000, "b").await.unwrap();
    hub.drain_steps(&platform, &originator).await;
    let decided = platform.decided.lock().unwrap().clone();
    assert_eq!(hub.callback(&decided[&early.serial]).await.data()["applied"], true);
    hub.drain_steps(&platform, &originator).await;

    // Before the window closes nothing expires; after it, the claim fails and is refunded.
    let now = hub.app.clock.now();
    let rules = hub.app.settings.funding.clone();
    assert!(chain::expire_listings(&hub.app.store, &hub.app.queues, &rules, now).await.unwrap().is_empty());
    hub.advance_clock(48);
    let expired = chain::expire_listings(&hub.app.store, &hub.app.queues, &rules, hub.app.clock.now()).await.unwrap();
    assert_eq!(expired, [claim.clone()]);
    hub.drain_steps(&platform, &originator).await;
    // The late collection succeeds after the expiry: it is refunded too.
    assert_eq!(hub.callback(&decided[&late.serial]).await.data()["applied"], true);
    hub.drain_steps(&platform, &originator).await;
    let refunds: Vec<_> =
        platform.decided.lock().unwrap().values().filter(|r| r.serial.starts_with("PAY-REF")).cloned().collect();
    assert_eq!(refunds.len(), 2, "{refunds:?}");
    for refund in &refunds {
        assert_eq!(hub.callback(refund).await.data()["applied"], true);
    }
    hub.drain_steps(&platform, &originator).await;

    let record = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(record.status, ClaimStatus::ListingFailed);
    assert_eq!(record.escrow_balance.value(), Decimal::ZERO, "400,000 + 300,000 in, both refunded");
    let mut refunded: Vec<Decimal> = refunds.iter().map(|r| r.amount.value()).collect();
    refunded.sort();
    assert_eq!(refunded, [Decimal::from(300_000), Decimal::from(400_000)]);
    for i in hub.app.store.investments(&claim).await.unwrap() {
        assert_eq!(i.status, InvestmentStatus::Refunded);
    }
    assert_eq!(hub.deliver_notices(&originator).await, 1);
    let notice = &originator.received()[0];
    assert_eq!(
        (notice.status, notice.sequence, notice.reason.as_deref()),
        (ClaimStatus::ListingFailed, 1, Some("NOT_FULLY_FUNDED"))
    );
}

#[tokio::test]
async fn notices_wait_while_the_originator_is_down_and_arrive_once_in_order() {
    let hub = TestHub::spawn().await;
    let originator = FakeOriginator::default();
    let claim = hub.list_claim(&claim_request("NOTE-1", 1_000_000)).await;
    let people = hub.investors(4, 1).await;
    hub.invest(&people[0], &claim, 1_000_000, "all").await.unwrap();
    hub.drain_steps(&FakePlatform::immediate(&[]), &originator).await;

    originator.down.store(true, Ordering::SeqCst);
    assert_eq!(hub.deliver_notices(&originator).await, 0, "the originator is down");
    let key = claim.clone();
    assert_eq!(hub.app.store.undelivered_notices(&key).await.unwrap().len(), 1, "kept in the outbox");
    // The reconciler announces it again once it is older than the configured age.
    let done = hub.reconcile(&FakePlatform::calling_back()).await;
    assert_eq!(done.notices_announced, 1);
    let again = hub.reconcile(&FakePlatform::calling_back()).await;
    assert_eq!(again.notices_announced, 0, "re-announced at most hourly; the queue's backoff retries meanwhile");
    originator.down.store(false, Ordering::SeqCst);
    assert_eq!(hub.deliver_notices(&originator).await, 1);
    assert_eq!(hub.deliver_notices(&originator).await, 0, "nothing left to send");
    let received = originator.received();
    assert_eq!(received.len(), 1);
    assert_eq!((received[0].status, received[0].sequence), (ClaimStatus::Disbursed, 1));
    assert_eq!(received[0].event_id, "EV-1-doit-NOTE-1");
    let answer = hub.get("/v1/claims/NOTE-1").send().await;
    assert_eq!(answer.data()["notifications"][0]["eventId"], "EV-1-doit-NOTE-1");
    assert!(answer.data()["notifications"][0]["deliveredAt"].is_string());
    // The movements as posted: collected into escrow, paid to the borrower (no fee here).
    let ledger = answer.data()["ledger"].as_array().unwrap();
    let moves: Vec<(&str, &str, &str)> = ledger
        .iter()
        .map(|l| (l["from"].as_str().unwrap(), l["to"].as_str().unwrap(), l["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert!(moves.contains(&("investor", "escrow", "1000000")), "{moves:?}");
    assert!(moves.contains(&("escrow", "borrower", "1000000")), "{moves:?}");
    assert!(!answer.body.to_string().contains(&people[0].investor_id), "interface 7 does not name investors");
}

#[tokio::test]
async fn the_reconciler_resends_lost_requests_and_settles_what_was_never_called_back() {
    let hub = TestHub::spawn().await;
    let originator = FakeOriginator::default();
    let platform = FakePlatform::calling_back();
    let claim = hub.list_claim(&claim_request("REC-1", 1_000_000)).await;
    let people = hub.investors(5, 1).await;
    let investment = hub.invest(&people[0], &claim, 1_000_000, "all").await.unwrap();
    // The step carrying the request is lost.
    assert_eq!(hub.take_all(&hub.steps_url).await.len(), 1);
    let first = hub.reconcile(&platform).await;
    assert_eq!((first.queried, first.requested_again, first.settled), (1, 1, 0));
    hub.drain_steps(&platform, &originator).await;
    assert_eq!(platform.serials(), [investment.serial.clone()]);
    // Its callback never comes: interface 12 answers and the reconciler applies it.
    let second = hub.reconcile(&platform).await;
    assert_eq!((second.queried, second.settled), (1, 1));
    hub.drain_steps(&platform, &originator).await;
    let movement = hub.app.store.get_movement(&investment.serial).await.unwrap().unwrap();
    assert_eq!(movement.status, MovementStatus::Succeeded);
    // The callback arrives late after all: a harmless duplicate.
    let report = platform.decided.lock().unwrap()[&investment.serial].clone();
    let late = hub.callback(&report).await;
    assert_eq!((late.status, late.data()["applied"].as_bool()), (200, Some(false)));
    let record = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(record.status, ClaimStatus::Disbursing, "funded once, disbursement requested");
}

#[tokio::test]
async fn a_claim_left_funded_by_a_lost_step_is_disbursed_by_the_reconciler() {
    let hub = TestHub::spawn().await;
    let originator = FakeOriginator::default();
    let platform = FakePlatform::calling_back();
    let claim = hub.list_claim(&claim_request("LOST-1", 1_000_000)).await;
    let people = hub.investors(6, 1).await;
    let investment = hub.invest(&people[0], &claim, 1_000_000, "all").await.unwrap();
    hub.drain_steps(&platform, &originator).await;
    let report = platform.decided.lock().unwrap()[&investment.serial].clone();
    assert_eq!(hub.callback(&report).await.data()["applied"], true);
    // The settled step runs, but the disbursement step it sends is lost (say, dead-lettered).
    let settled = hub.take_all(&hub.steps_url).await;
    assert_eq!(settled.len(), 1);
    let chain = chain::Chain {
        payment: &platform,
        originator: &originator,
        match_key: &hub.app.settings.match_key,
        income: &hub.app.settings.income_account,
    };
    let step = serde_json::from_str(&settled[0]).unwrap();
    chain::run(&hub.app.store, &chain, &hub.app.queues, &step, hub.app.clock.now()).await.unwrap();
    assert_eq!(hub.take_all(&hub.steps_url).await.len(), 1, "the StartDisbursement step, lost");
    let funded = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(funded.status, ClaimStatus::Funded);

    let done = hub.reconcile(&platform).await;
    assert_eq!(done.disbursements_requeued, 1);
    hub.drain_steps(&platform, &originator).await;
    let record = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(record.status, ClaimStatus::Disbursing);
    assert!(platform.serials().contains(&"PAY-DIS-1-doit-LOST-1".to_owned()));
}

/// A payment platform that answers interfaces 8 and 9 with `error` and never acts on them.
struct Answering(fn() -> PartnerError);

impl PaymentPlatform for Answering {
    async fn request_movement(
        &self,
        _: &Movement,
        _: &BankAccount,
    ) -> Result<(MovementStatus, Option<String>), PartnerError> {
        Err((self.0)())
    }

    async fn movement_status(&self, _: &str) -> Result<Option<Report>, PartnerError> {
        Ok(None)
    }
}

#[tokio::test]
async fn a_platform_that_does_not_answer_leaves_the_movement_to_the_reconciler_and_a_refusal_fails_the_step() {
    let hub = TestHub::spawn().await;
    let originator = FakeOriginator::default();
    let claim = hub.list_claim(&claim_request("SILENT-1", 1_000_000)).await;
    let people = hub.investors(7, 1).await;
    let investment = hub.invest(&people[0], &claim, 1_000_000, "all").await.unwrap();
    let step = hub.take_all(&hub.steps_url).await;
    let step: hub::domain::steps::Step = serde_json::from_str(&step[0]).unwrap();
    // Refused with a 4xx: the step fails (SQS brings it back, then its dead-letter queue).
    let refusing = Answering(|| PartnerError::Refused { status: 400, body: "INVALID_REQUEST".into() });
    let refused = hub.run_one(&refusing, &originator, &step).await;
    assert!(matches!(refused, Err(ApiError::Unavailable(_))), "{refused:?}");
    // No answer, or a server error: the step ends, the movement stays pending for the reconciler.
    hub.run_one(&Answering(|| PartnerError::Unreachable("timed out".into())), &originator, &step).await.unwrap();
    let server_error = Answering(|| PartnerError::Refused { status: 502, body: "Bad Gateway".into() });
    hub.run_one(&server_error, &originator, &step).await.unwrap();
    let movement = hub.app.store.get_movement(&investment.serial).await.unwrap().unwrap();
    assert_eq!(movement.status, MovementStatus::Pending);

    let platform = FakePlatform::calling_back();
    let done = hub.reconcile(&platform).await;
    assert_eq!((done.queried, done.requested_again), (1, 1), "never received: requested again");
    hub.drain_steps(&platform, &originator).await;
    assert_eq!(platform.serials(), [investment.serial.clone()], "the same serial, once");
}
