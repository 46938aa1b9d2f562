//! Investing against moto: never oversubscribed under 50 concurrent orders, idempotent
//! orders, the interface 3 refusal, and listings.

use futures::future::join_all;
use hub::ApiError;
use hub::domain::funding::{self, InvestOrder, InvestmentStatus};
use hub::domain::investor::Investor;
use hub::domain::money::Money;
use hub::domain::movement::ClaimKey;
use hub::domain::ports::{ClaimStore, FundingStore, InvestorStore};
use hub_tests::doubles::FakeOriginator;
use hub_tests::{TestHub, WEB_SECRET, accepted_case};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Interface 3 answering `borrows` for everyone.
fn loan_book(borrows: bool) -> FakeOriginator {
    FakeOriginator { everyone_borrows: borrows, ..FakeOriginator::default() }
}

fn rupiah(v: i64) -> Money {
    Money::from_decimal(Decimal::from(v))
}

/// A listed claim of `amount` (the fixture's first accepted claim, renumbered).
async fn listed_claim(hub: &TestHub, claim_no: &str, amount: i64) -> ClaimKey {
    let (mut request, _) = accepted_case();
    request["claimNo"] = json!(claim_no);
    request["amount"] = json!(amount.to_string());
    request["upfrontFee"] = json!("0");
    hub.list_claim(&request).await
}

async fn investors(hub: &TestHub, count: u32) -> Vec<Investor> {
    hub.investors(7, count).await
}

fn order(investor: &Investor, claim: &ClaimKey, amount: i64, request_id: &str) -> InvestOrder {
    InvestOrder {
        investor_id: investor.investor_id.clone(),
        claim: claim.clone(),
        amount: rupiah(amount),
        request_id: request_id.into(),
    }
}

#[tokio::test]
async fn fifty_concurrent_orders_never_oversubscribe_a_claim() {
    let hub = TestHub::spawn().await;
    let (sqs, url) = (hub.sqs.clone(), hub.steps_url.clone());
    let claim = listed_claim(&hub, "CONC-1", 5_000_000).await;
    let people = investors(&hub, 50).await;
    let orders: Vec<InvestOrder> = people.iter().map(|p| order(p, &claim, 150_000, "r1")).collect();
    let rules = &hub.app.settings.funding;
    let now = hub.app.clock.now();
    let originator = loan_book(false);
    let results =
        join_all(orders.iter().map(|o| funding::invest(&hub.app.store, &originator, &hub.app.queues, rules, o, now)))
            .await;

    let placed: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let refused =
        results.iter().filter(|r| matches!(r, Err(ApiError::InvalidRequest(e)) if e[0].field == "amount")).count();
    let accepted: Decimal = placed.iter().map(|i| i.amount.value()).sum();
    // 50 x 150,000 = 7,500,000 offered for 5,000,000. What stays open must be 0 or at least
    // the 100,000 minimum: 5,000,000 - 150,000 k >= 100,000 gives k <= 32 (a 33rd would leave
    // 50,000 that nobody could buy).
    assert_eq!((placed.len(), refused), (32, 18));
    assert_eq!(accepted, Decimal::from(4_800_000));
    let stored = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(stored.subscribed, rupiah(4_800_000));
    assert_eq!(hub.app.store.investments(&claim).await.unwrap().len(), 32);
    let placed_count = placed.len();
    for i in placed {
        assert_eq!(i.status, InvestmentStatus::Pending);
        assert!(hub.app.store.get_movement(&i.serial).await.unwrap().is_some());
        assert_eq!(hub.app.store.get_investor(&i.investor_id).await.unwrap().unwrap().active_investments, 1);
    }
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let queued =
        attrs.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages].clone();
    assert_eq!(queued, "32", "one collection step per placed investment");
    println!(
        "50 concurrent orders of 150,000 on 5,000,000: {} placed ({accepted}, leaving {} open), {refused} refused, \
         subscribed {} <= amount",
        placed_count,
        Decimal::from(5_000_000) - accepted,
        stored.subscribed
    );
}

#[tokio::test]
async fn a_retried_order_is_the_same_investment_and_a_reused_key_conflicts() {
    let hub = TestHub::spawn().await;
    let claim = listed_claim(&hub, "IDEM-1", 1_000_000).await;
    let people = investors(&hub, 1).await;
    let rules = &hub.app.settings.funding;
    let now = hub.app.clock.now();
    let first = funding::invest(
        &hub.app.store,
        &loan_book(false),
        &hub.app.queues,
        rules,
        &order(&people[0], &claim, 300_000, "k1"),
        now,
    )
    .await
    .unwrap();
    let again = funding::invest(
        &hub.app.store,
        &loan_book(false),
        &hub.app.queues,
        rules,
        &order(&people[0], &claim, 300_000, "k1"),
        now,
    )
    .await
    .unwrap();
    assert_eq!(first, again);
    let stored = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(stored.subscribed, rupiah(300_000), "counted once");
    let reused = funding::invest(
        &hub.app.store,
        &loan_book(false),
        &hub.app.queues,
        rules,
        &order(&people[0], &claim, 200_000, "k1"),
        now,
    )
    .await;
    assert!(matches!(reused, Err(ApiError::Conflict(_))), "{reused:?}");
    // The same request id on another claim is the same order, not a second investment.
    let other = listed_claim(&hub, "IDEM-2", 1_000_000).await;
    let elsewhere = funding::invest(
        &hub.app.store,
        &loan_book(false),
        &hub.app.queues,
        rules,
        &order(&people[0], &other, 300_000, "k1"),
        now,
    )
    .await;
    assert!(matches!(elsewhere, Err(ApiError::Conflict(ref m)) if m.contains("another claim")), "{elsewhere:?}");
    let untouched = hub.app.store.get_claim("doit", &other.claim_no).await.unwrap().unwrap();
    assert_eq!(untouched.subscribed, Money::ZERO);
}

#[tokio::test]
async fn orders_are_refused_for_borrowers_small_amounts_and_closed_listings() {
    let hub = TestHub::spawn().await;
    let claim = listed_claim(&hub, "RULES-1", 1_000_000).await;
    let people = investors(&hub, 1).await;
    let rules = hub.app.settings.funding.clone();
    let now = hub.app.clock.now();
    let invest = |o: InvestOrder, originator: FakeOriginator, at| {
        let hub = &hub;
        let rules = rules.clone();
        async move { funding::invest(&hub.app.store, &originator, &hub.app.queues, &rules, &o, at).await }
    };
    let borrower = invest(order(&people[0], &claim, 200_000, "a"), loan_book(true), now).await;
    assert!(matches!(borrower, Err(ApiError::IllegalState(_))), "{borrower:?}");
    let small = invest(order(&people[0], &claim, 99_999, "b"), loan_book(false), now).await;
    assert!(matches!(small, Err(ApiError::InvalidRequest(ref e)) if e[0].field == "amount"), "{small:?}");
    let too_much = invest(order(&people[0], &claim, 1_000_001, "c"), loan_book(false), now).await;
    assert!(matches!(too_much, Err(ApiError::InvalidRequest(_))), "{too_much:?}");
    let late =
        invest(order(&people[0], &claim, 200_000, "d"), loan_book(false), now + chrono::Duration::hours(48)).await;
    assert!(matches!(late, Err(ApiError::IllegalState(_))), "{late:?}");
    let mut unknown = order(&people[0], &claim, 200_000, "e");
    unknown.claim.claim_no = hub::domain::claim::ClaimNo::parse("NOPE").unwrap();
    assert!(matches!(invest(unknown, loan_book(false), now).await, Err(ApiError::NotFound("claim"))));
    let stored = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(stored.subscribed, Money::ZERO, "nothing refused was reserved");

    // What stays open must be 0 or at least the minimum: 950,000 of 1,000,000 would strand
    // 50,000; 900,000 then the last 100,000 fill it.
    let strands = invest(order(&people[0], &claim, 950_000, "f"), loan_book(false), now).await;
    assert!(
        matches!(strands, Err(ApiError::InvalidRequest(ref e)) if e[0].reason.contains("would leave 50000")),
        "{strands:?}"
    );
    invest(order(&people[0], &claim, 900_000, "g"), loan_book(false), now).await.unwrap();
    invest(order(&people[0], &claim, 100_000, "h"), loan_book(false), now).await.unwrap();
    let full = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(full.subscribed, rupiah(1_000_000));
}

#[tokio::test]
async fn listings_show_open_claims_without_personal_data() {
    let hub = TestHub::spawn().await;
    let claim = listed_claim(&hub, "LIST-1", 1_000_000).await;
    let people = investors(&hub, 1).await;
    let rules = &hub.app.settings.funding;
    funding::invest(
        &hub.app.store,
        &loan_book(false),
        &hub.app.queues,
        rules,
        &order(&people[0], &claim, 400_000, "x"),
        hub.app.clock.now(),
    )
    .await
    .unwrap();
    let reply = hub.get("/v1/listings").as_partner("web", WEB_SECRET).send().await;
    assert_eq!(reply.code(), "OK", "{}", reply.body);
    let listings = reply.data()["listings"].as_array().unwrap();
    let listing = listings.iter().find(|l| l["claimNo"] == "LIST-1").unwrap();
    assert_eq!(listing["openAmount"], "600000");
    let text = Value::Array(listings.clone()).to_string();
    let (request, _) = accepted_case();
    for private in ["bankAccountNo", "bankAccountName", "borrowerUuid"] {
        assert!(!text.contains(request[private].as_str().unwrap()), "{private} leaked into listings");
    }
    let as_originator = hub.get("/v1/listings").send().await;
    assert_eq!(as_originator.status, 403);
}

#[tokio::test]
async fn the_invest_endpoint_parses_and_reports_an_unreachable_originator() {
    let hub = TestHub::spawn().await;
    let claim = listed_claim(&hub, "EP-1", 1_000_000).await;
    let people = investors(&hub, 1).await;
    let post = |body: Value| hub.post("/v1/investments", body.to_string()).as_partner("web", WEB_SECRET).send();
    let bad = post(json!({"investorId": "", "claimNo": "bad no", "amount": "1.5", "requestId": ""})).await;
    assert_eq!(bad.fields(), ["amount", "claimNo", "investorId", "requestId"]);
    let unknown =
        post(json!({"investorId": "INV-nobody", "claimNo": "EP-1", "amount": "200000", "requestId": "r"})).await;
    assert_eq!((unknown.status, unknown.code()), (404, "NOT_FOUND"));
    let body = json!({"investorId": people[0].investor_id, "claimNo": claim.claim_no.as_str(), "amount": "200000", "requestId": "r"});
    let down = post(body).await;
    assert_eq!((down.status, down.code()), (503, "UNAVAILABLE"), "no originator configured in this test");
}

#[tokio::test]
async fn a_claim_takes_at_most_ninety_orders_so_its_refunds_fit_one_transaction() {
    let hub = TestHub::spawn().await;
    let claim = listed_claim(&hub, "MANY-1", 20_000_000).await;
    let people = investors(&hub, 1).await;
    // One investor, 91 orders of the 100,000 minimum on 20,000,000: room for all by amount.
    for i in 0..90 {
        hub.invest(&people[0], &claim, 100_000, &format!("m{i}")).await.unwrap();
    }
    let refused = hub.invest(&people[0], &claim, 100_000, "m90").await;
    assert!(matches!(&refused, Err(ApiError::InvalidRequest(e)) if e[0].field == "amount"), "{refused:?}");
    let stored = hub.app.store.get_claim("doit", &claim.claim_no).await.unwrap().unwrap();
    assert_eq!(stored.subscribed, rupiah(9_000_000));
    println!("orders on one claim: 90 placed (9,000,000), the 91st refused");
}
