//! `hubctl`: call any hub endpoint with a signed request, and drive the local stack.

use hubctl::client::HubClient;
use hubctl::{portfolio, tables, template::Template};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  hubctl call METHOD PATH [JSON_FILE|-]   signed request; PATH starts at /v1
  hubctl create-tables [TEMPLATE]          create template.yaml's tables in AWS_ENDPOINT_URL
  hubctl portfolio [FIXTURES]              push the sample portfolio, compare, summarise
environment:
  HUB_URL (default http://127.0.0.1:9000), HUB_PARTNER (default doit), HUB_SECRET,
  HUB_TABLE (table name for create-tables)";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn client() -> Result<HubClient, String> {
    let secret = std::env::var("HUB_SECRET").map_err(|_| "HUB_SECRET is not set".to_owned())?;
    HubClient::new(
        &env_or("HUB_URL", "http://127.0.0.1:9000"),
        &env_or("HUB_PARTNER", "doit"),
        &secret,
    )
}

async fn run(args: &[String]) -> Result<bool, String> {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["call", method, path, rest @ ..] => {
            let body = match rest.first() {
                None => None,
                Some(&"-") => {
                    Some(std::io::read_to_string(std::io::stdin()).map_err(|e| e.to_string())?)
                }
                Some(file) => {
                    Some(std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?)
                }
            };
            let answer = client()?
                .call(method, path, body.as_deref().map(str::as_bytes))
                .await?;
            println!("HTTP {}", answer.status);
            println!(
                "{}",
                serde_json::to_string_pretty(&answer.body).unwrap_or_default()
            );
            Ok(answer.status < 400)
        }
        ["create-tables", rest @ ..] => {
            let path = PathBuf::from(rest.first().copied().unwrap_or("template.yaml"));
            let template = Template::load(&path)?;
            let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let dynamo = aws_sdk_dynamodb::Client::new(&aws);
            for spec in template.tables() {
                let name = if spec.logical_id == "HubTable" {
                    env_or("HUB_TABLE", "HubTable")
                } else {
                    spec.logical_id.clone()
                };
                tables::create_table(&dynamo, &spec, &name).await?;
                println!("table {name} ready ({})", spec.logical_id);
            }
            Ok(true)
        }
        ["portfolio", rest @ ..] => {
            let path = rest
                .first()
                .copied()
                .unwrap_or("tests/fixtures/claims-sample.jsonl");
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let cases = portfolio::load(&text)?;
            let summary = portfolio::run(&client()?, &cases).await;
            summary.print();
            Ok(summary.mismatches.is_empty())
        }
        _ => Err(USAGE.to_owned()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
