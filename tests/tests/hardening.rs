//! Regressions from the first newcomer trial: inputs that crashed, bypassed or confused
//! interface 1. Each gets a clear 4xx (or the stored answer), never a crash.

use hub_tests::{TestHub, accepted_case};
use serde_json::{Value, json};

fn with(field: &str, value: Value) -> Value {
    let (mut request, _) = accepted_case();
    request["claimNo"] = json!(format!("HARD-{}", uuid::Uuid::new_v4().simple()));
    request[field] = value;
    request
}

async fn post(hub: &TestHub, body: &Value) -> hub_tests::Reply {
    hub.post("/v1/claims", body.to_string()).send().await
}

#[tokio::test]
async fn absurdly_long_numbers_are_refused_not_parsed() {
    let hub = TestHub::spawn().await;
    for (field, value) in [
        ("amount", json!(format!("{}5000000", "0".repeat(60_000)))),
        ("loanRate", json!(format!("{}24", "0".repeat(60_000)))),
        ("investorRate", json!("12.00000000000000000000000000001")),
    ] {
        let reply = post(&hub, &with(field, value)).await;
        assert_eq!((reply.status, reply.fields()), (400, vec![field.to_owned()]), "{}", reply.body);
    }
    // Integers beyond u64 arrive as JSON numbers serde cannot hold exactly.
    let body = with("amount", json!(0)).to_string().replace(r#""amount":0"#, r#""amount":100000000000000000000"#);
    let reply = hub.post("/v1/claims", body).send().await;
    assert_eq!((reply.status, reply.fields()), (400, vec!["amount".to_owned()]), "{}", reply.body);
}

#[tokio::test]
async fn a_timestamp_at_the_edge_of_i64_is_401_not_a_panic() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let reply = hub.post("/v1/claims", request.to_string()).timestamp(i64::MIN).send().await;
    assert_eq!((reply.status, reply.code()), (401, "UNAUTHORIZED"));
}

#[tokio::test]
async fn claim_numbers_must_be_readable_back_through_a_path() {
    let hub = TestHub::spawn().await;
    for claim_no in [".", "..", "-", "_x"] {
        let reply = post(&hub, &with("claimNo", json!(claim_no))).await;
        assert_eq!((reply.status, reply.fields()), (400, vec!["claimNo".to_owned()]), "{claim_no}");
    }
}

#[tokio::test]
async fn duplicate_keys_unknown_fields_and_invisible_text_are_refused() {
    let hub = TestHub::spawn().await;
    let body = with("amount", json!("3000000")).to_string().replacen('{', r#"{"amount":"1000","#, 1);
    let duplicate = hub.post("/v1/claims", body).send().await;
    assert_eq!((duplicate.status, duplicate.fields()), (400, vec!["body".to_owned()]));
    assert!(duplicate.body["data"]["errors"][0]["reason"].as_str().unwrap().contains("duplicate key"));

    let unknown = post(&hub, &with("currency", json!("USD"))).await;
    assert_eq!((unknown.status, unknown.fields()), (400, vec!["currency".to_owned()]));

    for (field, text) in [
        ("bankAccountName", "SITI\u{0}\u{1b}[31mRAHAYU\r\n"),
        ("loanPurpose", "\u{202e}evil"),
        ("loanPurpose", "\u{200b}"),
    ] {
        let reply = post(&hub, &with(field, json!(text))).await;
        assert_eq!((reply.status, reply.fields()), (400, vec![field.to_owned()]), "{text:?}");
    }
    for (field, value) in [("borrowerUuid", "x"), ("riskGrade", "🙂"), ("amount", "999999999999999")] {
        let reply = post(&hub, &with(field, json!(value))).await;
        assert_eq!((reply.status, reply.fields()), (400, vec![field.to_owned()]), "{field}={value}");
    }
}

#[tokio::test]
async fn backdating_listed_at_does_not_escape_todays_cap_and_the_future_is_refused() {
    let hub = TestHub::spawn().await;
    // 1,000,000 at 90 % for 12 months, bullet: interest 900,000 over 360 days = 0.25 %/day,
    // above the 0.2 % long-tenor consumer cap in force since 2025, under 2024's 0.3 %.
    let mut body = with("loanRate", json!("90"));
    for (k, v) in [
        ("term", json!(12)),
        ("termUnit", json!("MONTH")),
        ("repaymentMethod", json!("BULLET")),
        ("upfrontFee", json!("0")),
        ("amount", json!("1000000")),
    ] {
        body[k] = v;
    }
    body["listedAt"] = json!("2024-06-01T10:00:00+07:00");
    let reply = post(&hub, &body).await;
    assert_eq!((reply.status, reply.code()), (422, "RATE_CAP_EXCEEDED"), "{}", reply.body);
    assert_eq!(reply.data()["rule"], "DAILY_COST");
    assert_eq!(reply.data()["capPercent"], "0.2");
    // Before P2P lending was regulated (2016) a listing time is a typo, never a listing.
    for implausible in ["0000-01-01T10:00:00+07:00", "1900-01-01T10:00:00+07:00", "2015-12-31T23:59:59+07:00"] {
        let reply = post(&hub, &with("listedAt", json!(implausible))).await;
        assert_eq!((reply.status, reply.fields()), (400, vec!["listedAt".to_owned()]), "{implausible}");
    }
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let future = post(&hub, &with("listedAt", json!(tomorrow))).await;
    assert_eq!((future.status, future.fields()), (400, vec!["listedAt".to_owned()]));
}

#[tokio::test]
async fn the_total_cost_rule_is_named_when_it_is_the_one_that_trips() {
    let hub = TestHub::spawn().await;
    let mut body = with("loanRate", json!("60"));
    for (k, v) in
        [("term", json!(720)), ("termUnit", json!("DAY")), ("upfrontFee", json!("0")), ("amount", json!("1000000"))]
    {
        body[k] = v;
    }
    // Interest 1,000,000 x 60 % x 720/365 = 1,183,562 > 1,000,000: over 100 % of the amount.
    let reply = post(&hub, &body).await;
    assert_eq!((reply.status, reply.data()["rule"].as_str()), (422, Some("TOTAL_COST")), "{}", reply.body);
}

#[tokio::test]
async fn the_same_instant_in_another_offset_is_the_same_claim() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let first = post(&hub, &request).await;
    assert_eq!(first.code(), "OK");
    let listed = chrono::DateTime::parse_from_rfc3339(request["listedAt"].as_str().unwrap()).unwrap();
    let mut utc = request.clone();
    utc["listedAt"] = json!(listed.with_timezone(&chrono::Utc).to_rfc3339());
    let again = post(&hub, &utc).await;
    assert_eq!(again.body, first.body);
}

#[tokio::test]
async fn an_exact_resend_gets_its_original_answer_after_the_rules_change() {
    let mut hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let first = post(&hub, &request).await;
    assert_eq!(first.code(), "OK");
    let bank = request["bankCode"].as_str().unwrap();
    hub.app.settings.intake.claim_rules.bank_codes.retain(|code| code != bank);
    let resent = post(&hub, &request).await;
    assert_eq!(resent.body, first.body, "accepted under the old rules, answered as accepted");
    let mut changed = request.clone();
    changed["loanPurpose"] = json!("something else");
    assert_eq!(post(&hub, &changed).await.fields(), ["bankCode"]);
}
