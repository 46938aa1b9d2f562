//! The DynamoDB adapter against moto: conditional writes, idempotency under concurrency,
//! number round trips, nonces and conditional status changes.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use futures::future::join_all;
use hub::domain::intake::{assess, receive_claim};
use hub::domain::money::Money;
use hub::domain::movement::ClaimKey;
use hub::domain::ports::{ClaimStore, Insert, NonceStore, NoticeStore, Transition};
use hub::domain::record::{ClaimRecord, StatusChange};
use hub::domain::status::ClaimStatus;
use hub_tests::{TestHub, accepted_case, fixture_cases};
use rust_decimal::Decimal;
use serde_json::json;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn record(hub: &TestHub, request: &serde_json::Value) -> ClaimRecord {
    let (claim, schedule) = assess(&hub.app.settings.intake, "doit", request, hub.app.clock.now()).unwrap();
    ClaimRecord::listed(claim, schedule, hub.app.clock.now(), String::new())
}

fn claim_items(items: &[std::collections::HashMap<String, AttributeValue>]) -> usize {
    items.iter().filter(|i| i["sk"].as_s().unwrap() == "CLAIM").count()
}

#[tokio::test]
async fn every_accepted_fixture_claim_round_trips_exactly() {
    let hub = TestHub::spawn().await;
    let mut stored = 0;
    for case in fixture_cases().iter().filter(|c| c.expect["code"] == "OK") {
        let rec = record(&hub, &case.request).await;
        match hub.app.store.insert_claim(&rec).await.unwrap() {
            Insert::Created => stored += 1,
            Insert::AlreadyExists(existing) => {
                assert_eq!(*existing, rec.clone_with_time(existing.accepted_at))
            }
        }
        let back = hub.app.store.get_claim("doit", &rec.claim.claim_no).await.unwrap().unwrap();
        assert_eq!(back.claim, rec.claim, "line {}", case.line);
        assert_eq!(back.schedule, rec.schedule, "line {}", case.line);
    }
    assert_eq!(stored, 125, "133 accepted lines, 8 of them replays");
}

trait WithTime {
    fn clone_with_time(&self, at: chrono::DateTime<Utc>) -> ClaimRecord;
}

impl WithTime for ClaimRecord {
    fn clone_with_time(&self, at: chrono::DateTime<Utc>) -> ClaimRecord {
        let mut r = self.clone();
        r.accepted_at = at;
        r.history[0].at = at;
        r
    }
}

#[tokio::test]
async fn money_is_stored_as_numbers_and_read_back_as_decimals() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let rec = record(&hub, &request).await;
    hub.app.store.insert_claim(&rec).await.unwrap();
    let items = hub.items().await;
    let item = items.iter().find(|i| i["sk"].as_s().unwrap() == "CLAIM").unwrap();
    assert_eq!(dec(item["amount"].as_n().unwrap()), dec(request["amount"].as_str().unwrap()));
    assert!(item["investorRate"].as_n().is_ok());

    // Another writer (or the emulator) may spell numbers with trailing zeros.
    hub.dynamo
        .update_item()
        .table_name(hub.table())
        .key("pk", item["pk"].clone())
        .key("sk", item["sk"].clone())
        .update_expression("SET #a = :a, #f = :f")
        .expression_attribute_names("#a", "amount")
        .expression_attribute_names("#f", "fundedAmount")
        .expression_attribute_values(":a", AttributeValue::N(format!("{}.00", request["amount"].as_str().unwrap())))
        .expression_attribute_values(":f", AttributeValue::N("70.00".into()))
        .send()
        .await
        .unwrap();
    let back = hub.app.store.get_claim("doit", &rec.claim.claim_no).await.unwrap().unwrap();
    assert_eq!(back.claim.amount, rec.claim.amount);
    assert_eq!(back.funded_amount, Money::from_decimal(dec("70")));
    assert_eq!(back.funded_amount.to_string(), "70");
}

#[tokio::test]
async fn concurrent_identical_submissions_write_one_item_and_answer_alike() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let policy = &hub.app.settings.intake;
    let now = hub.app.clock.now();
    let attempts = (0..16).map(|i| {
        let at = now + chrono::Duration::milliseconds(i);
        receive_claim(&hub.app.store, &hub.app.queues, policy, "doit", &request, at)
    });
    let answers: Vec<_> = join_all(attempts).await.into_iter().map(|r| r.unwrap()).collect();
    let first = &answers[0];
    assert!(answers.iter().all(|a| a == first), "all 16 get the stored claim");
    assert_eq!(claim_items(&hub.items().await), 1);
    println!(
        "{} concurrent identical submissions: {} identical answers, {} item",
        answers.len(),
        answers.iter().filter(|a| *a == first).count(),
        claim_items(&hub.items().await)
    );
}

#[tokio::test]
async fn concurrent_conflicting_submissions_let_exactly_one_content_win() {
    let hub = TestHub::spawn().await;
    let (a, _) = accepted_case();
    let mut b = a.clone();
    b["bankAccountNo"] = json!("999999999999");
    let policy = &hub.app.settings.intake;
    let now = hub.app.clock.now();
    let bodies: Vec<_> = (0..16).map(|i| if i % 2 == 0 { a.clone() } else { b.clone() }).collect();
    let results =
        join_all(bodies.iter().map(|body| receive_claim(&hub.app.store, &hub.app.queues, policy, "doit", body, now)))
            .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results.iter().filter(|r| matches!(r, Err(hub::ApiError::Conflict(_)))).count();
    assert_eq!((ok, conflicts), (8, 8), "one content wins all its 8 calls, the other gets 8 conflicts");
    assert_eq!(claim_items(&hub.items().await), 1);
}

#[tokio::test]
async fn nonces_are_remembered_once_per_partner_with_a_ttl() {
    let hub = TestHub::spawn().await;
    let expires = Utc::now() + chrono::Duration::minutes(10);
    let store = &hub.app.store;
    assert!(store.remember_nonce("doit", "n-1", expires).await.unwrap());
    assert!(!store.remember_nonce("doit", "n-1", expires).await.unwrap());
    assert!(store.remember_nonce("other", "n-1", expires).await.unwrap());
    let concurrent = join_all((0..10).map(|_| store.remember_nonce("doit", "n-2", expires))).await;
    assert_eq!(concurrent.iter().filter(|r| *r.as_ref().unwrap()).count(), 1);
    let items = hub.items().await;
    assert!(items.iter().all(|i| i["expiresAt"].as_n().unwrap().parse::<i64>().unwrap() == expires.timestamp()));
}

#[tokio::test]
async fn status_changes_are_conditional_on_state_and_version() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let rec = record(&hub, &request).await;
    let store = &hub.app.store;
    store.insert_claim(&rec).await.unwrap();
    let at = hub.app.clock.now();
    let change = StatusChange::to(ClaimStatus::Funding, at);

    let racers = join_all((0..8).map(|_| store.advance(&rec, &change, &[], at))).await;
    let applied = racers.iter().filter(|r| matches!(r, Ok(Transition::Applied))).count();
    assert_eq!(applied, 1, "exactly one of 8 concurrent transitions from the same version wins");

    let now = store.get_claim("doit", &rec.claim.claim_no).await.unwrap().unwrap();
    assert_eq!(now.status, ClaimStatus::Funding);
    assert_eq!(now.version, 2);
    assert_eq!(now.history.iter().map(|c| c.status).collect::<Vec<_>>(), [ClaimStatus::Listed, ClaimStatus::Funding]);

    // A writer holding the old version is stale.
    assert_eq!(store.advance(&rec, &change, &[], at).await.unwrap(), Transition::Stale);

    // A change the originator is told about puts its notice in the outbox in the same write.
    let key = ClaimKey { source: "doit".into(), claim_no: rec.claim.claim_no.clone() };
    assert!(store.notices(&key).await.unwrap().is_empty(), "FUNDING is not notified");
    let failed = StatusChange::because(ClaimStatus::ListingFailed, at, "NOT_FULLY_FUNDED");
    assert_eq!(store.advance(&now, &failed, &[], at).await.unwrap(), Transition::Applied);
    let notices = store.undelivered_notices(&key).await.unwrap();
    assert_eq!(notices.len(), 1);
    let expected_id = format!("EV-1-doit-{}", rec.claim.claim_no);
    assert_eq!((notices[0].sequence, notices[0].event_id.as_str()), (1, expected_id.as_str()));
    assert_eq!(notices[0].reason.as_deref(), Some("NOT_FULLY_FUNDED"));
    let later = at + chrono::Duration::seconds(1);
    assert_eq!(store.claims_with_notices_due(later).await.unwrap(), [key.clone()]);
    assert!(store.claims_with_notices_due(at).await.unwrap().is_empty(), "not due before it happened");
    store.mark_delivered(&notices[0], later).await.unwrap();
    assert!(store.undelivered_notices(&key).await.unwrap().is_empty());
    assert!(store.claims_with_notices_due(later).await.unwrap().is_empty(), "delivered notices leave the index");
}
