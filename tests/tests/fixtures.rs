//! The domain against every line of the sample portfolio (no storage): codes, sorted field
//! lists, figures and schedules as the fixture expects, computed by the SPEC's rules.

use hub::ApiError;
use hub::config::Settings;
use hub::domain::intake::assess;
use hub::domain::record::ClaimRecord;
use hub::domain::views::intake_answer;
use hub_tests::fixture_cases;
use hubctl::portfolio::compare_figures;
use std::collections::HashMap;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn settings() -> Settings {
    Settings::from_lookup(|name| match name {
        "HUB_TABLE" => Some("unused".into()),
        "PARTNER_SECRETS" => Some(r#"{"doit":"x"}"#.into()),
        "MATCH_KEY" => Some("fixture-match-key-123".into()),
        _ => None,
    })
    .expect("settings")
}

#[test]
fn every_fixture_line_gets_its_expected_answer() {
    let settings = settings();
    let cases = fixture_cases();
    assert_eq!(cases.len(), 216);
    let mut first_hash: HashMap<String, String> = HashMap::new();
    let mut matched = 0;
    for case in &cases {
        let want = case.expect["code"].as_str().unwrap();
        let claim_no = case.request["claimNo"].as_str().unwrap().to_owned();
        let outcome = assess(&settings.intake, "doit", &case.request, now());
        let got = match &outcome {
            Ok((claim, _)) => match first_hash.get(&claim_no) {
                Some(hash) if *hash != claim.content_hash() => "CONFLICT",
                _ => "OK",
            },
            Err(ApiError::InvalidRequest(_)) => "INVALID_REQUEST",
            Err(ApiError::RateCapExceeded(_)) => "RATE_CAP_EXCEEDED",
            Err(other) => panic!("line {}: unexpected {other:?}", case.line),
        };
        assert_eq!(got, want, "line {} ({claim_no}): {outcome:?}", case.line);
        match outcome {
            Ok((claim, schedule)) if want == "OK" => {
                first_hash.entry(claim_no).or_insert_with(|| claim.content_hash());
                let answer = intake_answer(&ClaimRecord::listed(claim, schedule, now(), String::new()));
                let diffs = compare_figures(&case.expect, &answer);
                assert!(diffs.is_empty(), "line {}: {diffs:?}", case.line);
            }
            Err(ApiError::InvalidRequest(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                let want: Vec<&str> =
                    case.expect["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
                assert_eq!(fields, want, "line {}", case.line);
            }
            _ => {}
        }
        matched += 1;
    }
    println!("fixture lines matched: {matched}/{}", cases.len());
}

#[test]
fn one_request_with_many_faults_names_every_field_sorted() {
    let body = serde_json::json!({
        "claimNo": "", "loanPurpose": 7, "riskGrade": "A", "investorRate": "12.12345", "term": -1,
        "amount": "1e6", "loanRate": "18", "upfrontFee": "-5", "listedAt": "yesterday",
        "borrowerUuid": "u", "bankCode": "NOPE", "bankName": "B", "bankAccountNo": "12",
        "bankAccountName": "N", "termUnit": "YEAR", "loanType": "OTHER", "source": "someone-else"
    });
    let Err(ApiError::InvalidRequest(errors)) = assess(&settings().intake, "doit", &body, now()) else {
        panic!("must be refused");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "amount",
            "bankAccountNo",
            "bankCode",
            "borrowerUuid",
            "claimNo",
            "investorRate",
            "listedAt",
            "loanPurpose",
            "loanType",
            "source",
            "term",
            "termUnit",
            "upfrontFee"
        ]
    );
    assert!(errors.iter().all(|e| !e.reason.is_empty()));
}

#[test]
fn a_claim_at_the_cap_passes_and_one_rupiah_over_is_refused() {
    // 1,000,000 for 10 days, consumer, 2026: cap 0.3 %/day -> at most 30,000 of cost.
    // Interest at 36.5 % = 1,000,000 x 36.5/100 x 10/365 = 10,000; fee 20,000 -> exactly 30,000.
    let mut body = serde_json::json!({
        "claimNo": "CAP-1", "loanPurpose": "p", "riskGrade": "A", "investorRate": "10", "term": 10,
        "amount": "1000000", "loanRate": "36.5", "upfrontFee": "20000", "listedAt": "2026-03-01T10:00:00+07:00",
        "borrowerUuid": "3f0e9a52-8d1c-4b7e-9a61-2c5d7e8f9a10", "bankCode": "BCA", "bankName": "BCA", "bankAccountNo": "1234567890",
        "bankAccountName": "N"
    });
    assert!(assess(&settings().intake, "doit", &body, now()).is_ok());
    body["upfrontFee"] = "20001".into();
    match assess(&settings().intake, "doit", &body, now()) {
        Err(ApiError::RateCapExceeded(figures)) => {
            assert_eq!(figures["capPercent"], "0.3");
            assert_eq!(figures["totalCost"], "30001");
        }
        other => panic!("expected RATE_CAP_EXCEEDED, got {other:?}"),
    }
}
