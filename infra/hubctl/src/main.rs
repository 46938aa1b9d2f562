//! `hubctl`: call any hub endpoint with a signed request, and drive the local stack.

use hubctl::client::HubClient;
use hubctl::provision::{self, LocalNames, LocalResource};
use hubctl::pump::{self, PumpOptions};
use hubctl::{ledger, loan_lives, money_chain, portfolio, tables, template::Template};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage:
  hubctl call METHOD PATH [JSON_FILE|-]   signed request; PATH starts at /v1
  hubctl create-tables [TEMPLATE]          create template.yaml's tables in AWS_ENDPOINT_URL
  hubctl provision TEMPLATE... --env-out FILE [--set KEY=VALUE]... [--prefix P]
                                           create the templates' tables and queues in
                                           AWS_ENDPOINT_URL, write the functions' environment
  hubctl pump TEMPLATE... [--lambda-url URL] [--schedule-period-seconds N] [--pollers N] [--prefix P]
                                           deliver SQS messages and schedules to the
                                           functions under cargo lambda watch, until Ctrl-C
  hubctl portfolio [FIXTURES]              push the sample portfolio, compare, summarise
  hubctl money-chain [FIXTURES]            register investors, invest, wait for the chain,
                                           compare with the SPEC's figures (needs PAY_SECRET,
                                           WEB_SECRET)
  hubctl loan-lives [FIXTURES]             repay the disbursed loans on the settable clock (on
                                           time, late, early, one to the fee cap), compare with
                                           the reference (needs PAY_SECRET, HUB_CLOCK_FILE)
  hubctl ledger CLAIMNO [--source S]       operator: one claim's postings and balances
  hubctl ledger-check                      operator: the portfolio-wide ledger check, against
                                           the payment sandbox's balances when PAY_SECRET is set
  hubctl bench-init LAMBDA_DIR ENV_FILE RUNS
                                           infra/bench: cold init of every release bootstrap
                                           against a local Lambda runtime API
  hubctl bench-cpu FIXTURES SECONDS        infra/bench: interfaces 1 and 10 without I/O
  hubctl bench-throughput FIXTURES CLAIMS  infra/bench: claims/s with 1, 8, 32 clients
environment:
  HUB_URL (default http://127.0.0.1:9000), HUB_PARTNER (default doit), HUB_SECRET,
  HUB_TABLE (the hub's table: create-tables, provision, ledger, loan-lives)";

const DEFAULT_LAMBDA_URL: &str = "http://127.0.0.1:9000";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn client() -> Result<HubClient, String> {
    let secret = std::env::var("HUB_SECRET").map_err(|_| "HUB_SECRET is not set".to_owned())?;
    HubClient::new(&env_or("HUB_URL", "http://127.0.0.1:9000"), &env_or("HUB_PARTNER", "doit"), &secret)
}

/// Positional arguments and `--flag value` / `--flag=value` options (flags may repeat).
struct Args {
    positional: Vec<String>,
    flags: BTreeMap<String, Vec<String>>,
}

impl Args {
    fn parse(args: &[&str], known: &[&str]) -> Result<Args, String> {
        let mut parsed = Args { positional: vec![], flags: BTreeMap::new() };
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if !arg.starts_with("--") {
                parsed.positional.push((*arg).to_owned());
                continue;
            }
            let (flag, value) = match arg.split_once('=') {
                Some((flag, value)) => (flag, value.to_owned()),
                None => {
                    let value = rest.next().ok_or_else(|| format!("{arg} needs a value"))?;
                    (*arg, (*value).to_owned())
                }
            };
            if !known.contains(&flag) {
                return Err(format!("unknown option {flag}\n{USAGE}"));
            }
            parsed.flags.entry(flag.to_owned()).or_default().push(value);
        }
        Ok(parsed)
    }

    fn one(&self, flag: &str) -> Result<Option<&str>, String> {
        match self.flags.get(flag).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([value]) => Ok(Some(value)),
            Some(_) => Err(format!("{flag} given more than once")),
        }
    }

    fn all(&self, flag: &str) -> &[String] {
        self.flags.get(flag).map(Vec::as_slice).unwrap_or_default()
    }

    fn templates(&self) -> Result<Vec<Template>, String> {
        if self.positional.is_empty() {
            return Err(format!("name at least one template\n{USAGE}"));
        }
        self.positional.iter().map(|p| Template::load(&PathBuf::from(p))).collect()
    }

    fn names(&self) -> Result<LocalNames, String> {
        Ok(LocalNames::new(self.one("--prefix")?.unwrap_or_default())?.with_env_overrides())
    }
}

fn settings(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .filter(|(key, _)| !key.is_empty())
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .ok_or_else(|| format!("--set {pair}: expected KEY=VALUE"))
        })
        .collect()
}

async fn provision_command(rest: &[&str]) -> Result<bool, String> {
    let args = Args::parse(rest, &["--env-out", "--set", "--prefix"])?;
    let env_out = args.one("--env-out")?.ok_or_else(|| format!("provision needs --env-out FILE\n{USAGE}"))?;
    let templates = args.templates()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let provisioned = provision::provision(&aws, &templates, &args.names()?, &settings(args.all("--set"))?).await?;
    for (logical_id, resource) in provisioned.resources.iter() {
        match resource {
            LocalResource::Table { name, .. } => println!("table {name} ready ({logical_id})"),
            LocalResource::Queue { name, .. } => println!("queue {name} ready ({logical_id})"),
        }
    }
    let comment = format!("written by hubctl provision from {}", args.positional.join(" "));
    let text = provision::render_env_file(&provisioned.environment, &comment)?;
    std::fs::write(env_out, text).map_err(|e| format!("{env_out}: {e}"))?;
    println!("{} environment variables written to {env_out}", provisioned.environment.len());
    Ok(true)
}

async fn pump_command(rest: &[&str]) -> Result<bool, String> {
    let args = Args::parse(rest, &["--lambda-url", "--schedule-period-seconds", "--prefix", "--pollers"])?;
    let templates = args.templates()?;
    let mut options = PumpOptions::new(args.one("--lambda-url")?.unwrap_or(DEFAULT_LAMBDA_URL));
    if let Some(seconds) = args.one("--schedule-period-seconds")? {
        let seconds: f64 = seconds
            .parse()
            .ok()
            .filter(|s: &f64| *s > 0.0 && s.is_finite())
            .ok_or_else(|| format!("--schedule-period-seconds {seconds}: not a positive number"))?;
        options.schedule_period = Some(Duration::from_secs_f64(seconds));
    }
    if let Some(pollers) = args.one("--pollers")? {
        options.pollers = pollers
            .parse()
            .ok()
            .filter(|n| (1..=16).contains(n))
            .ok_or_else(|| format!("--pollers {pollers}: 1 to 16"))?;
    }
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Runs until Ctrl-C or a signal ends the process; messages in flight then come back
    // after their visibility timeout.
    let names = args.names()?;
    let (_keep_running, stop) = pump::stop_signal();
    tokio::select! {
        result = pump::run(&aws, &templates, &names, options, stop) => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(true)
}

fn secret(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn parties() -> Result<money_chain::Parties, String> {
    let url = env_or("HUB_URL", "http://127.0.0.1:9000");
    Ok(money_chain::Parties {
        originator: client()?,
        investor_app: HubClient::new(&url, "web", &secret("WEB_SECRET")?)?,
        payment_sandbox: payment_sandbox()?,
        originator_sandbox: HubClient::new(&url, "hub", &secret("HUB_SECRET")?)?,
        clock_file: std::env::var_os("HUB_CLOCK_FILE").map(Into::into),
    })
}

/// The payment sandbox's control endpoints, signed as the hub.
fn payment_sandbox() -> Result<HubClient, String> {
    HubClient::new(&env_or("HUB_URL", "http://127.0.0.1:9000"), "hub", &secret("PAY_SECRET")?)
}

fn fixture_cases(rest: &[&str]) -> Result<Vec<portfolio::Case>, String> {
    let path = rest.first().copied().unwrap_or("tests/fixtures/claims-sample.jsonl");
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    portfolio::load(&text)
}

/// The hub's table, read as the operator reads it.
async fn hub_store() -> Result<hub::adapters::dynamo::DynamoStore, String> {
    let table = secret("HUB_TABLE")?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(hub::adapters::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table))
}

async fn ledger_command(rest: &[&str]) -> Result<bool, String> {
    let args = Args::parse(rest, &["--source"])?;
    let [claim_no] = args.positional.as_slice() else { return Err(USAGE.to_owned()) };
    let claim_no = hub::domain::claim::ClaimNo::parse(claim_no).map_err(|e| format!("{claim_no}: {e}"))?;
    let source = args.one("--source")?.unwrap_or("doit").to_owned();
    let key = hub::domain::movement::ClaimKey { source, claim_no };
    ledger::print_claim(&ledger::read_claim(&hub_store().await?, &key).await?);
    Ok(true)
}

async fn ledger_check() -> Result<bool, String> {
    let store = hub_store().await?;
    let platform = match std::env::var("PAY_SECRET") {
        Ok(_) => Some(ledger::platform_balances(&payment_sandbox()?).await?),
        Err(_) => None,
    };
    let check = ledger::check(&ledger::read_portfolio(&store).await?, platform);
    check.print();
    Ok(check.passed())
}

async fn run(args: &[String]) -> Result<bool, String> {
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["call", method, path, rest @ ..] => {
            let body = match rest.first() {
                None => None,
                Some(&"-") => Some(std::io::read_to_string(std::io::stdin()).map_err(|e| e.to_string())?),
                Some(file) => Some(std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?),
            };
            let answer = client()?.call(method, path, body.as_deref().map(str::as_bytes)).await?;
            println!("HTTP {}", answer.status);
            println!("{}", serde_json::to_string_pretty(&answer.body).unwrap_or_default());
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
        ["provision", rest @ ..] => provision_command(rest).await,
        ["pump", rest @ ..] => pump_command(rest).await,
        ["portfolio", rest @ ..] => {
            let summary = portfolio::run(&client()?, &fixture_cases(rest)?).await;
            summary.print();
            Ok(summary.mismatches.is_empty())
        }
        ["money-chain", rest @ ..] => {
            // The claims the portfolio act had accepted: the fixture's OK answers.
            let mut accepted: Vec<String> = fixture_cases(rest)?
                .iter()
                .filter(|c| c.expect["code"] == "OK")
                .filter_map(|c| c.request["claimNo"].as_str().map(str::to_owned))
                .collect();
            accepted.sort();
            accepted.dedup();
            let summary = money_chain::run(&parties()?, &accepted, Duration::from_secs(900)).await?;
            summary.print();
            Ok(summary.mismatches.is_empty())
        }
        ["loan-lives", rest @ ..] => {
            let summary =
                loan_lives::run(&parties()?, &hub_store().await?, &fixture_cases(rest)?, Duration::from_secs(600))
                    .await?;
            summary.print();
            Ok(summary.mismatches.is_empty())
        }
        ["ledger", rest @ ..] => ledger_command(rest).await,
        ["ledger-check"] => ledger_check().await,
        ["bench-init", dir, env_file, runs] => {
            let runs = runs.parse().map_err(|_| format!("bench-init: RUNS {runs} is not a number"))?;
            hubctl::bench::init(dir.as_ref(), env_file.as_ref(), runs).await
        }
        ["bench-cpu", fixtures, seconds] => {
            let seconds = seconds.parse().map_err(|_| format!("bench-cpu: SECONDS {seconds} is not a number"))?;
            hubctl::bench::cpu(fixtures.as_ref(), seconds)
        }
        ["bench-throughput", fixtures, claims] => {
            let claims = claims.parse().map_err(|_| format!("bench-throughput: CLAIMS {claims} is not a number"))?;
            hubctl::bench::throughput(fixtures.as_ref(), claims).await
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
