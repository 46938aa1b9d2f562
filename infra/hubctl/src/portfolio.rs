//! Pushes the sample portfolio through interface 1, reads every accepted claim back through
//! interface 7 and compares both answers with the fixture's expected ones.

use crate::client::{Answer, HubClient};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Debug, Default)]
pub struct Summary {
    pub sent: usize,
    pub accepted: usize,
    pub refused: BTreeMap<String, usize>,
    pub mismatches: Vec<String>,
}

impl Summary {
    pub fn print(&self) {
        println!("portfolio: {} claims sent, {} accepted", self.sent, self.accepted);
        for (code, count) in &self.refused {
            println!("  refused {code}: {count}");
        }
        println!("mismatches: {}", self.mismatches.len());
        for m in self.mismatches.iter().take(20) {
            println!("  {m}");
        }
    }
}

/// One fixture line: the request and what the hub must answer.
pub struct Case {
    pub line: usize,
    pub request: Value,
    pub expect: Value,
}

pub fn load(text: &str) -> Result<Vec<Case>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1))?;
            Ok(Case { line: i + 1, request: v["request"].clone(), expect: v["expect"].clone() })
        })
        .collect()
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// Differences between an answer's `data` and the fixture's expected figures.
pub fn compare_figures(expect: &Value, data: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    for key in ["totalInterest", "disbursementAmount"] {
        if decimal(&expect[key]) != decimal(&data[key]) {
            diffs.push(format!("{key}: expected {} got {}", expect[key], data[key]));
        }
    }
    let empty = Vec::new();
    let want = expect["schedule"].as_array().unwrap_or(&empty);
    let got = data["schedule"].as_array().unwrap_or(&empty);
    let same = want.len() == got.len()
        && want.iter().zip(got).all(|(w, g)| {
            w["installmentNo"] == g["installmentNo"]
                && decimal(&w["principal"]) == decimal(&g["principal"])
                && decimal(&w["interest"]) == decimal(&g["interest"])
        });
    if !same {
        diffs.push(format!("schedule: expected {} got {}", expect["schedule"], data["schedule"]));
    }
    diffs
}

/// Differences between an interface 1 answer and the fixture's expectation.
pub fn compare(expect: &Value, answer: &Answer) -> Vec<String> {
    let want = expect["code"].as_str().unwrap_or("");
    if answer.code() != want {
        return vec![format!("code: expected {want} got {} ({})", answer.code(), answer.body)];
    }
    match want {
        "OK" => compare_figures(expect, answer.data()),
        "INVALID_REQUEST" => {
            let mut fields: Vec<&str> = answer.data()["errors"]
                .as_array()
                .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
                .unwrap_or_default();
            fields.sort_unstable();
            let expected: Vec<&str> =
                expect["fields"].as_array().map(|f| f.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            if fields == expected { vec![] } else { vec![format!("fields: expected {expected:?} got {fields:?}")] }
        }
        _ => vec![],
    }
}

/// Runs every case in order (replays and conflicts depend on it), printing progress to stderr.
pub async fn run(client: &HubClient, cases: &[Case]) -> Summary {
    let mut summary = Summary::default();
    let total = cases.len();
    for (i, case) in cases.iter().enumerate() {
        let body = case.request.to_string();
        summary.sent += 1;
        let claim_no = case.request["claimNo"].as_str().unwrap_or_default().to_owned();
        let outcome = async {
            let answer = client.call("POST", "/v1/claims", Some(body.as_bytes())).await?;
            let mut diffs = compare(&case.expect, &answer);
            if answer.code() == "OK" && diffs.is_empty() {
                let status = client.call("GET", &format!("/v1/claims/{claim_no}"), None).await?;
                if status.code() != "OK" {
                    diffs.push(format!("interface 7: {}", status.body));
                } else {
                    diffs.extend(
                        compare_figures(&case.expect, status.data()).into_iter().map(|d| format!("interface 7 {d}")),
                    );
                }
            }
            Ok::<_, String>((answer.code().to_owned(), diffs))
        }
        .await;
        match outcome {
            Ok((code, diffs)) => {
                if code == "OK" {
                    summary.accepted += 1;
                } else {
                    *summary.refused.entry(code).or_default() += 1;
                }
                summary.mismatches.extend(diffs.into_iter().map(|d| format!("line {} ({claim_no}): {d}", case.line)));
            }
            Err(e) => summary.mismatches.push(format!("line {}: {e}", case.line)),
        }
        if (i + 1) % 24 == 0 || i + 1 == total {
            eprint!("\r  sent {:>3}/{total}, mismatches {}", i + 1, summary.mismatches.len());
            let _ = std::io::stderr().flush();
        }
    }
    eprintln!();
    summary
}
