//! receive-claim and get-claim on real API Gateway v1/v2 and function URL events, against
//! DynamoDB in moto: gateways, base64, auth and every bad-input case.

use hub_tests::{Gateway, OTHER_PARTNER, OTHER_SECRET, TestHub, accepted_case};
use serde_json::json;

fn body_of(v: &serde_json::Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn assert_envelope(reply: &hub_tests::Reply, status: u16, code: &str) {
    assert_eq!((reply.status, reply.code()), (status, code), "{}", reply.body);
    assert!(reply.body["message"].is_string(), "{}", reply.body);
    assert!(reply.body.as_object().unwrap().contains_key("data"), "{}", reply.body);
}

#[tokio::test]
async fn every_gateway_kind_accepts_a_claim_and_reads_it_back() {
    let hub = TestHub::spawn().await;
    let (request, expect) = accepted_case();
    for gateway in Gateway::ALL {
        let mut request = request.clone();
        let claim_no = format!("GW-{gateway:?}");
        request["claimNo"] = json!(claim_no);
        let reply = hub.post("/v1/claims", body_of(&request)).via(gateway).send().await;
        assert_envelope(&reply, 200, "OK");
        assert_eq!(reply.data()["claimNo"], claim_no);
        assert_eq!(reply.data()["status"], "LISTED");
        assert_eq!(reply.data()["totalInterest"], expect["totalInterest"], "{gateway:?}");
        assert_eq!(reply.data()["disbursementAmount"], expect["disbursementAmount"]);
        assert_eq!(reply.data()["schedule"], expect["schedule"]);

        let status = hub.get(&format!("/v1/claims/{claim_no}")).via(gateway).send().await;
        assert_envelope(&status, 200, "OK");
        assert_eq!(status.data()["status"], "LISTED", "{gateway:?}");
        assert_eq!(status.data()["fundedAmount"], "0");
        assert_eq!(status.data()["repaid"]["principal"], "0");
        assert_eq!(status.data()["statusHistory"][0]["status"], "LISTED");
        assert_eq!(status.data()["schedule"], expect["schedule"]);
        assert!(status.data().get("bankAccountNo").is_none(), "no account numbers in interface 7");
    }
}

#[tokio::test]
async fn base64_bodies_and_upper_case_header_names_are_accepted() {
    let hub = TestHub::spawn().await;
    let (mut request, _) = accepted_case();
    for (i, gateway) in Gateway::ALL.into_iter().enumerate() {
        request["claimNo"] = json!(format!("B64-{i}"));
        let reply = hub.post("/v1/claims", body_of(&request)).via(gateway).base64().upper_case_headers().send().await;
        assert_envelope(&reply, 200, "OK");
    }
}

#[tokio::test]
async fn bad_bodies_get_a_4xx_naming_the_problem() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    for gateway in Gateway::ALL {
        let missing = hub.post("/v1/claims", body_of(&request)).via(gateway).content_type(None).send().await;
        assert_envelope(&missing, 415, "UNSUPPORTED_MEDIA_TYPE");
        let wrong =
            hub.post("/v1/claims", body_of(&request)).via(gateway).content_type(Some("text/plain")).send().await;
        assert_envelope(&wrong, 415, "UNSUPPORTED_MEDIA_TYPE");
        let latin1 = hub
            .post("/v1/claims", body_of(&request))
            .via(gateway)
            .content_type(Some("application/json; charset=iso-8859-1"))
            .send()
            .await;
        assert_envelope(&latin1, 415, "UNSUPPORTED_MEDIA_TYPE");

        for (body, reason) in
            [("", "empty"), ("   ", "blank"), ("null", "null"), ("[1,2]", "array"), ("{\"claimNo\":", "truncated JSON")]
        {
            let reply = hub.post("/v1/claims", body).via(gateway).send().await;
            assert_envelope(&reply, 400, "INVALID_REQUEST");
            assert_eq!(reply.fields(), ["body"], "{reason} via {gateway:?}");
        }
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000));
        let reply = hub.post("/v1/claims", big).via(gateway).send().await;
        assert_envelope(&reply, 413, "PAYLOAD_TOO_LARGE");
    }
    // A body with charset=utf-8 is fine.
    let ok =
        hub.post("/v1/claims", body_of(&request)).content_type(Some("Application/JSON; charset=UTF-8")).send().await;
    assert_envelope(&ok, 200, "OK");
}

#[tokio::test]
async fn invalid_fields_are_all_listed_and_nothing_is_written() {
    let hub = TestHub::spawn().await;
    let (mut request, _) = accepted_case();
    request["amount"] = json!("12.5");
    request["bankAccountNo"] = json!("12AB");
    request["termUnit"] = json!("WEEK");
    let reply = hub.post("/v1/claims", body_of(&request)).send().await;
    assert_envelope(&reply, 400, "INVALID_REQUEST");
    assert_eq!(reply.fields(), ["amount", "bankAccountNo", "termUnit"]);
    let claims = hub.items().await.into_iter().filter(|i| i["sk"].as_s().unwrap() == "CLAIM").count();
    assert_eq!(claims, 0);
}

#[tokio::test]
async fn rate_cap_breaches_get_422_with_the_figures() {
    let hub = TestHub::spawn().await;
    let (mut request, _) = accepted_case();
    request["claimNo"] = json!("CAP-OVER");
    request["upfrontFee"] = json!("4000000");
    let reply = hub.post("/v1/claims", body_of(&request)).send().await;
    assert_envelope(&reply, 422, "RATE_CAP_EXCEEDED");
    assert_eq!(reply.data()["capPercent"], "0.3");
}

#[tokio::test]
async fn authentication_failures_are_401() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let body = body_of(&request);
    let now = chrono::Utc::now().timestamp_millis();
    let six_minutes = 6 * 60 * 1000;
    let cases = [
        ("unsigned", hub.post("/v1/claims", body.clone()).unsigned()),
        ("bad signature", hub.post("/v1/claims", body.clone()).signature(&"ab".repeat(32))),
        ("not hex", hub.post("/v1/claims", body.clone()).signature("not-hex")),
        ("old timestamp", hub.post("/v1/claims", body.clone()).timestamp(now - six_minutes)),
        ("future timestamp", hub.post("/v1/claims", body.clone()).timestamp(now + six_minutes)),
        ("unknown partner", hub.post("/v1/claims", body.clone()).as_partner("stranger", "whatever")),
        ("wrong secret", hub.post("/v1/claims", body.clone()).as_partner("doit", "guess")),
    ];
    for (what, call) in cases {
        let reply = call.send().await;
        assert_envelope(&reply, 401, "UNAUTHORIZED");
        assert!(!reply.body["message"].as_str().unwrap().is_empty(), "{what}");
    }
    assert_eq!(hub.items().await.len(), 0, "no nonce or claim is stored for a refused call");
}

#[tokio::test]
async fn a_replayed_nonce_is_refused_even_with_a_fresh_signature() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let first = hub.post("/v1/claims", body_of(&request)).nonce("nonce-1").send().await;
    assert_envelope(&first, 200, "OK");
    let replay = hub.post("/v1/claims", body_of(&request)).nonce("nonce-1").send().await;
    assert_envelope(&replay, 401, "UNAUTHORIZED");
    assert!(replay.body["message"].as_str().unwrap().contains("Nonce"));
    // Nonces are per partner.
    let other = hub.get("/v1/claims/X1").as_partner(OTHER_PARTNER, OTHER_SECRET).nonce("nonce-1").send().await;
    assert_envelope(&other, 404, "NOT_FOUND");
}

#[tokio::test]
async fn a_claim_is_visible_only_to_its_source_which_must_be_the_caller() {
    let hub = TestHub::spawn().await;
    let (mut request, _) = accepted_case();
    let claim_no = request["claimNo"].as_str().unwrap().to_owned();
    assert_envelope(&hub.post("/v1/claims", body_of(&request)).send().await, 200, "OK");
    let foreign = hub.get(&format!("/v1/claims/{claim_no}")).as_partner(OTHER_PARTNER, OTHER_SECRET).send().await;
    assert_envelope(&foreign, 404, "NOT_FOUND");

    request["source"] = json!("doit");
    let spoofed = hub.post("/v1/claims", body_of(&request)).as_partner(OTHER_PARTNER, OTHER_SECRET).send().await;
    assert_envelope(&spoofed, 400, "INVALID_REQUEST");
    assert_eq!(spoofed.fields(), ["source"]);
}

#[tokio::test]
async fn unknown_and_malformed_claim_numbers() {
    let hub = TestHub::spawn().await;
    for gateway in Gateway::ALL {
        assert_envelope(&hub.get("/v1/claims/NOPE-1").via(gateway).send().await, 404, "NOT_FOUND");
        assert_envelope(&hub.get("/v1/claims/bad%20no").via(gateway).send().await, 400, "INVALID_REQUEST");
    }
}

#[tokio::test]
async fn same_claim_replays_the_original_answer_and_different_content_conflicts() {
    let hub = TestHub::spawn().await;
    let (request, _) = accepted_case();
    let first = hub.post("/v1/claims", body_of(&request)).send().await;
    assert_envelope(&first, 200, "OK");

    // Same content, different JSON: amount as an integer, default termUnit spelled out.
    let mut same = request.clone();
    same["amount"] = json!(request["amount"].as_str().unwrap().parse::<u64>().unwrap());
    same["termUnit"] = json!("DAY");
    let replay = hub.post("/v1/claims", body_of(&same)).send().await;
    assert_envelope(&replay, 200, "OK");
    assert_eq!(replay.body, first.body, "a replay answers exactly the original answer");

    let mut different = request.clone();
    different["bankAccountNo"] = json!("999999999999");
    let conflict = hub.post("/v1/claims", body_of(&different)).send().await;
    assert_envelope(&conflict, 409, "CONFLICT");
}
