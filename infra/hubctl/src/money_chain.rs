//! The main job's second act: investors register, invest in the open listings (leaving a few
//! claims short), the chain runs through a payment sandbox that duplicates, reorders and drops
//! callbacks, the clock moves past the listing window so the short claims expire with refunds,
//! and the outcome is compared with figures computed here from the SPEC's rules, not read
//! back from the hub.

use crate::client::{Answer, HubClient};
use futures::StreamExt;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// The signed clients the act needs: the originator, the investor front end, the payment
/// sandbox's control endpoint (signed as the hub).
pub struct Parties {
    pub originator: HubClient,
    pub investor_app: HubClient,
    pub payment_sandbox: HubClient,
    pub originator_sandbox: HubClient,
    /// The hub's settable clock (`HUB_CLOCK_FILE`): whole seconds ahead of the wall clock.
    pub clock_file: Option<std::path::PathBuf>,
}

/// The faults the payment sandbox injects during the act (its `/payment/sandbox/settings`).
const FAULTS: &str =
    r#"{"duplicateRate": 0.2, "dropRate": 0.05, "reorderJitterSeconds": 2, "transientFailureRate": 0.02}"#;
/// How far the clock jumps to close the listings left short: past the 48 h window.
const CLOCK_JUMP_HOURS: i64 = 49;

const INVESTORS: usize = 40;
/// Claims invested in at the same time.
const PARALLEL_CLAIMS: usize = 6;
const MIN_INVESTMENT: i64 = 100_000;
const TICKETS: [i64; 5] = [500_000, 1_000_000, 2_500_000, 250_000, 5_000_000];
const NAMES: [&str; 8] = [
    "Dewi Lestari",
    "Budi Santoso",
    "Siti Rahayu",
    "Agus Pratama",
    "Rina Wulandari",
    "Hendra Gunawan",
    "Maya Sari",
    "Joko Susilo",
];
const BANKS: [&str; 5] = ["BCA", "BRI", "BNI", "MANDIRI", "BSI"];

#[derive(Debug, Default)]
pub struct ChainSummary {
    pub investors: usize,
    pub investments: usize,
    pub refused_borrower: usize,
    pub by_status: BTreeMap<String, usize>,
    pub expected: Figures,
    pub sandbox: Figures,
    /// Interface 6: distinct events the originator sandbox recorded, and deliveries in all.
    pub notices_distinct: u64,
    pub notices_received: u64,
    pub notices_expected: u64,
    /// What the payment sandbox injected.
    pub duplicates_injected: u64,
    pub drops_injected: u64,
    pub mismatches: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Figures {
    /// The hub's own view: the claims' escrow sub-accounts added up.
    pub hub_escrow: Decimal,
    pub collected: Decimal,
    pub disbursed: Decimal,
    pub refunded: Decimal,
    pub fees: Decimal,
    pub escrow: Decimal,
}

impl ChainSummary {
    pub fn print(&self) {
        println!(
            "money chain: {} investors, {} investments placed, {} refused (investor is a borrower)",
            self.investors, self.investments, self.refused_borrower
        );
        for (status, count) in &self.by_status {
            println!("  claims {status}: {count}");
        }
        let e = &self.expected;
        println!(
            "  collected {} | disbursed to borrowers {} | refunded to investors {} | fees to income {} | left in escrow {}",
            e.collected, e.disbursed, e.refunded, e.fees, e.escrow
        );
        println!(
            "  notifications delivered (interface 6): {} distinct events of {} expected, {} deliveries in all",
            self.notices_distinct, self.notices_expected, self.notices_received
        );
        println!(
            "  payment sandbox injected {} duplicate and {} dropped callbacks (the reconciler recovered the drops)",
            self.duplicates_injected, self.drops_injected
        );
        println!(
            "  hub escrow sub-accounts {} | payment sandbox: escrow {} | income {}",
            e.hub_escrow, self.sandbox.escrow, self.sandbox.fees
        );
        println!("  ledger check passed: {}", if self.mismatches.is_empty() { "yes" } else { "no" });
        println!("money chain mismatches: {}", self.mismatches.len());
        for m in self.mismatches.iter().take(20) {
            println!("  {m}");
        }
    }
}

pub fn dec(v: &Value) -> Decimal {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

pub fn progress(text: &str) {
    eprint!("\r  {text}");
    let _ = std::io::stderr().flush();
}

fn investor_body(i: usize, nik: &str) -> Value {
    json!({
        "name": NAMES[i % NAMES.len()],
        "nik": nik,
        "phone": format!("0857{:08}", 20_000_000 + i),
        "bankCode": BANKS[i % BANKS.len()],
        "bankName": format!("Bank {}", BANKS[i % BANKS.len()]),
        "bankAccountNo": format!("{:010}", 5_100_000_000u64 + i as u64),
        "bankAccountName": NAMES[i % NAMES.len()].to_uppercase(),
    })
}

async fn post(client: &HubClient, path: &str, body: &Value) -> Result<Answer, String> {
    client.call("POST", path, Some(body.to_string().as_bytes())).await
}

/// Splits `amount` into tickets, never leaving a remainder below the minimum investment.
fn tickets(amount: i64, seed: usize) -> Vec<i64> {
    let mut left = amount;
    let mut out = Vec::new();
    let mut k = seed;
    while left > 0 {
        let mut t = TICKETS[k % TICKETS.len()].min(left);
        if left - t > 0 && left - t < MIN_INVESTMENT {
            t = left;
        }
        out.push(t);
        left -= t;
        k += 1;
    }
    out
}

pub async fn run(parties: &Parties, accepted: &[String], wait: Duration) -> Result<ChainSummary, String> {
    let mut summary = ChainSummary::default();
    let faults: Value = serde_json::from_str(FAULTS).map_err(|e| e.to_string())?;
    let set = post(&parties.payment_sandbox, "/payment/sandbox/settings", &faults).await?;
    if set.code() != "OK" {
        return Err(format!("payment sandbox settings: {}", set.body));
    }
    let mut investor_ids = Vec::new();
    for i in 0..INVESTORS {
        let nik = format!("3275{:02}{:02}{:02}{:02}{:04}", 1 + i % 30, 1 + i % 28, 1 + i % 12, 80 + i % 15, i + 1);
        let answer = post(&parties.investor_app, "/v1/investors", &investor_body(i, &nik)).await?;
        let id = answer.data()["investorId"].as_str().ok_or(format!("register investor {i}: {}", answer.body))?;
        investor_ids.push(id.to_owned());
    }
    summary.investors = investor_ids.len();

    // Someone the originator sandbox lists as an active borrower (infra/local.env) tries too.
    let borrower = post(&parties.investor_app, "/v1/investors", &investor_body(INVESTORS, "3174011111110001")).await?;
    let borrower_id = borrower.data()["investorId"].as_str().unwrap_or_default().to_owned();

    let listings = open_listings(parties, accepted, &mut summary).await?;
    if let (Some(first), false) = (listings.first(), borrower_id.is_empty()) {
        let order = json!({"investorId": borrower_id, "claimNo": first["claimNo"], "amount": "100000", "requestId": "borrower-try"});
        let answer = post(&parties.investor_app, "/v1/investments", &order).await?;
        if answer.code() == "ILLEGAL_STATE" {
            summary.refused_borrower += 1;
        } else {
            summary.mismatches.push(format!("a borrower's investment answered {}", answer.body));
        }
    }
    // Claims are independent: invest in several at once, each claim's tickets in order.
    let plans = listings.iter().enumerate().map(|(n, listing)| {
        let ids = &investor_ids;
        async move {
            let claim_no = listing["claimNo"].as_str().unwrap_or_default().to_owned();
            let open: i64 = dec(&listing["openAmount"]).try_into().unwrap_or(0);
            // Every ninth claim is left about 60 % funded, so it never disburses.
            let leave_short = n % 9 == 4;
            let target = if leave_short { (open * 6 / 10 / MIN_INVESTMENT) * MIN_INVESTMENT } else { open };
            let mut placed = (0usize, Decimal::ZERO, Vec::new());
            for (k, amount) in tickets(target, n).into_iter().enumerate() {
                let investor = &ids[(n * 7 + k) % ids.len()];
                let order = json!({"investorId": investor, "claimNo": claim_no, "amount": amount.to_string(), "requestId": format!("seed-{claim_no}-{k}")});
                match post(&parties.investor_app, "/v1/investments", &order).await {
                    Ok(answer) if answer.code() == "OK" => {
                        placed.0 += 1;
                        placed.1 += Decimal::from(amount);
                    }
                    Ok(answer) => placed.2.push(format!("{claim_no}: investment {k} of {amount} answered {}", answer.body)),
                    Err(e) => placed.2.push(format!("{claim_no}: investment {k}: {e}")),
                }
            }
            (claim_no, leave_short, placed)
        }
    });
    let mut full = Vec::new();
    let mut short = Vec::new();
    let mut results = futures::stream::iter(plans).buffer_unordered(PARALLEL_CLAIMS);
    let mut finished = 0;
    while let Some((claim_no, leave_short, (count, invested, problems))) = results.next().await {
        summary.investments += count;
        summary.mismatches.extend(problems);
        summary.expected.collected += invested;
        if leave_short {
            summary.expected.escrow += invested;
            short.push(claim_no);
        } else {
            full.push(claim_no);
        }
        finished += 1;
        progress(&format!("invested in {finished}/{} listings, {} investments", listings.len(), summary.investments));
    }
    eprintln!();

    // Wait for every fully subscribed claim to reach a final disbursement state.
    let started = Instant::now();
    let mut states: BTreeMap<String, Value> = BTreeMap::new();
    loop {
        for claim_no in full.iter().chain(&short) {
            // A busy emulator may drop a read; the next round asks again.
            if let Ok(answer) = parties.originator.call("GET", &format!("/v1/claims/{claim_no}"), None).await {
                states.insert(claim_no.clone(), answer.data().clone());
            }
        }
        let status_of = |c: &String| states.get(c).and_then(|s| s["status"].as_str()).unwrap_or("?").to_owned();
        let done = full.iter().filter(|c| matches!(status_of(c).as_str(), "DISBURSED" | "DISBURSE_FAILED")).count();
        progress(&format!("disbursed {done}/{} funded claims ({} s)", full.len(), started.elapsed().as_secs()));
        if done == full.len() || started.elapsed() > wait {
            break;
        }
        // Gently: every poll is 125 signed reads competing with the chain for the emulator.
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    eprintln!();
    for claim_no in &full {
        let Some(claim) = states.get(claim_no) else {
            summary.mismatches.push(format!("{claim_no}: never read back"));
            continue;
        };
        let amount = dec(&claim["amount"]);
        let disbursement = dec(&claim["disbursementAmount"]);
        summary.expected.disbursed += disbursement;
        summary.expected.fees += amount - disbursement;
        if claim["status"] != "DISBURSED" {
            summary.mismatches.push(format!("{claim_no}: expected DISBURSED, is {}", claim["status"]));
        }
    }
    for claim_no in &short {
        let status = states.get(claim_no).map(|s| s["status"].clone()).unwrap_or_default();
        if status != "FUNDING" {
            summary.mismatches.push(format!("{claim_no}: left short, expected FUNDING, is {status}"));
        }
    }
    // Past the listing window, the short claims expire and their investors are refunded.
    expire_short_claims(parties, &short, &mut states, &mut summary, wait).await?;
    summary.expected.refunded = summary.expected.escrow;
    summary.expected.escrow = Decimal::ZERO;
    for claim in states.values() {
        *summary.by_status.entry(claim["status"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
    }

    // Fees go to income after the borrower payout: wait for the platform's balances to settle.
    let settle_started = Instant::now();
    loop {
        if let Ok(balances) = parties.payment_sandbox.call("GET", "/payment/sandbox/balances", None).await {
            let data = balances.data();
            summary.sandbox =
                Figures { escrow: dec(&data["escrow"]), fees: dec(&data["income"]), ..Figures::default() };
            summary.duplicates_injected = data["duplicatesInjected"].as_u64().unwrap_or_default();
            summary.drops_injected = data["dropsInjected"].as_u64().unwrap_or_default();
        }
        let settled =
            summary.sandbox.escrow == summary.expected.escrow && summary.sandbox.fees == summary.expected.fees;
        if settled || settle_started.elapsed() > Duration::from_secs(180) {
            break;
        }
        progress(&format!(
            "waiting for payouts: income {} of {}, escrow {} to reach {}",
            summary.sandbox.fees, summary.expected.fees, summary.sandbox.escrow, summary.expected.escrow
        ));
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    eprintln!();
    // The hub's side of the ledger check. The hub learns of the last payouts after the
    // platform (callbacks are delayed, dropped ones wait for the reconciler): read until the two
    // agree or the wait is over.
    let hub_started = Instant::now();
    loop {
        let mut hub_escrow = Decimal::ZERO;
        for claim_no in full.iter().chain(&short) {
            match parties.originator.call("GET", &format!("/v1/claims/{claim_no}"), None).await {
                Ok(answer) => hub_escrow += dec(&answer.data()["escrowBalance"]),
                Err(e) => summary.mismatches.push(format!("{claim_no}: {e}")),
            }
        }
        summary.expected.hub_escrow = hub_escrow;
        if hub_escrow == summary.sandbox.escrow || hub_started.elapsed() > Duration::from_secs(240) {
            break;
        }
        progress(&format!(
            "waiting for the hub's escrow sub-accounts: {hub_escrow} to reach {}",
            summary.sandbox.escrow
        ));
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    eprintln!();
    if summary.expected.hub_escrow != summary.sandbox.escrow {
        summary.mismatches.push(format!(
            "hub escrow sub-accounts {} != payment platform escrow {}",
            summary.expected.hub_escrow, summary.sandbox.escrow
        ));
    }
    if summary.sandbox.escrow != summary.expected.escrow {
        summary
            .mismatches
            .push(format!("sandbox escrow {} != expected {}", summary.sandbox.escrow, summary.expected.escrow));
    }
    if summary.sandbox.fees != summary.expected.fees {
        summary
            .mismatches
            .push(format!("sandbox income {} != expected fees {}", summary.sandbox.fees, summary.expected.fees));
    }
    // One notice per accepted claim: DISBURSED (or DISBURSE_FAILED) for the funded ones,
    // LISTING_FAILED for the expired ones (also one never listed in time).
    summary.notices_expected = accepted.len() as u64;
    check_notifications(parties, &mut summary).await;
    // Back to the wall clock, so calls made after the run are not 49 h in the future.
    if let Some(path) = &parties.clock_file {
        set_clock_offset(path, 0)?;
    }
    Ok(summary)
}

/// Waits until every accepted claim is listed (its borrower check, interface 2, passed).
async fn open_listings(
    parties: &Parties,
    accepted: &[String],
    summary: &mut ChainSummary,
) -> Result<Vec<Value>, String> {
    let started = Instant::now();
    loop {
        let answer = parties.investor_app.call("GET", "/v1/listings", None).await?;
        let listings = answer.data()["listings"].as_array().cloned().unwrap_or_default();
        let listed = accepted.iter().filter(|c| listings.iter().any(|l| l["claimNo"] == c.as_str())).count();
        progress(&format!("borrower checks (interface 2) passed for {listed}/{} claims", accepted.len()));
        // A check that failed comes back after the steps queue's visibility timeout (360 s).
        if listed == accepted.len() || started.elapsed() > Duration::from_secs(480) {
            eprintln!();
            if listed < accepted.len() {
                summary.mismatches.push(format!("only {listed} of {} accepted claims were listed", accepted.len()));
            }
            let banned: Vec<&str> = ["nik", "phone", "realName", "bankAccountNo", "address", "religion"].into();
            let text = Value::Array(listings.clone()).to_string();
            for field in banned.iter().filter(|f| text.contains(&format!("\"{f}\""))) {
                summary.mismatches.push(format!("listings carry personal field {field}"));
            }
            return Ok(listings);
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// Sets the hub's clock `seconds` ahead of the wall clock. The file is replaced in one rename:
/// a function reading it while it is rewritten must never see it empty (and fall back to the
/// wall clock, stamping a posting months before the ones around it).
pub fn set_clock_offset(path: &std::path::Path, seconds: i64) -> Result<(), String> {
    let fresh = path.with_extension("new");
    std::fs::write(&fresh, seconds.to_string()).map_err(|e| format!("{}: {e}", fresh.display()))?;
    std::fs::rename(&fresh, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Moves the hub's clock past the listing window and waits for the short claims to expire.
async fn expire_short_claims(
    parties: &Parties,
    short: &[String],
    states: &mut BTreeMap<String, Value>,
    summary: &mut ChainSummary,
    wait: Duration,
) -> Result<(), String> {
    let Some(path) = &parties.clock_file else {
        summary.mismatches.push("HUB_CLOCK_FILE is not set: the short claims cannot expire".into());
        return Ok(());
    };
    set_clock_offset(path, CLOCK_JUMP_HOURS * 3600)?;
    let started = Instant::now();
    loop {
        for claim_no in short {
            if let Ok(answer) = parties.originator.call("GET", &format!("/v1/claims/{claim_no}"), None).await {
                states.insert(claim_no.clone(), answer.data().clone());
            }
        }
        let expired = short.iter().filter(|c| states.get(*c).is_some_and(|s| s["status"] == "LISTING_FAILED")).count();
        progress(&format!(
            "clock +{CLOCK_JUMP_HOURS} h: {expired}/{} short claims LISTING_FAILED ({} s)",
            short.len(),
            started.elapsed().as_secs()
        ));
        if expired == short.len() || started.elapsed() > wait {
            eprintln!();
            for claim_no in short {
                let status = states.get(claim_no).map(|s| s["status"].clone()).unwrap_or_default();
                if status != "LISTING_FAILED" {
                    summary.mismatches.push(format!("{claim_no}: expected LISTING_FAILED, is {status}"));
                }
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// What the originator sandbox recorded of interface 6.
#[derive(Debug, Default)]
pub struct NoticeRecords {
    pub distinct: u64,
    /// Deliveries in all, repeats included.
    pub received: u64,
    /// Per claim: its events' sequence numbers and statuses, in sequence order.
    pub by_claim: BTreeMap<String, Vec<(u64, String)>>,
}

pub async fn notification_records(parties: &Parties) -> Result<NoticeRecords, String> {
    let answer = parties.originator_sandbox.call("GET", "/originator/sandbox/notifications", None).await?;
    let data = answer.data();
    let distinct = data["distinct"].as_u64().ok_or_else(|| format!("originator sandbox: {}", answer.body))?;
    let mut records =
        NoticeRecords { distinct, received: data["received"].as_u64().unwrap_or_default(), ..Default::default() };
    for n in data["notifications"].as_array().into_iter().flatten() {
        let claim = n["claimNo"].as_str().unwrap_or_default().to_owned();
        let status = n["status"].as_str().unwrap_or_default().to_owned();
        records.by_claim.entry(claim).or_default().push((n["sequence"].as_u64().unwrap_or_default(), status));
    }
    for events in records.by_claim.values_mut() {
        events.sort();
    }
    Ok(records)
}

/// Interface 6 as the originator sandbox recorded it: one event per expected change, each
/// claim's sequence 1, 2, ... without gaps.
async fn check_notifications(parties: &Parties, summary: &mut ChainSummary) {
    let started = Instant::now();
    loop {
        let Ok(records) = notification_records(parties).await else {
            summary.mismatches.push("the originator sandbox did not answer".into());
            return;
        };
        summary.notices_distinct = records.distinct;
        summary.notices_received = records.received;
        if summary.notices_distinct >= summary.notices_expected || started.elapsed() > Duration::from_secs(120) {
            for (claim, events) in &records.by_claim {
                let sequences: Vec<u64> = events.iter().map(|(n, _)| *n).collect();
                if sequences != (1..=sequences.len() as u64).collect::<Vec<_>>() {
                    summary.mismatches.push(format!("{claim}: notice sequences {sequences:?}"));
                }
            }
            if summary.notices_distinct != summary.notices_expected {
                summary.mismatches.push(format!(
                    "{} distinct notifications, expected {}",
                    summary.notices_distinct, summary.notices_expected
                ));
            }
            return;
        }
        progress(&format!("notifications: {} of {}", summary.notices_distinct, summary.notices_expected));
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::tickets;

    #[test]
    fn tickets_sum_to_the_amount_and_never_leave_less_than_the_minimum() {
        for (amount, seed) in [(5_000_000, 0), (1_050_000, 3), (100_000, 5), (7_550_000, 1)] {
            let t = tickets(amount, seed);
            assert_eq!(t.iter().sum::<i64>(), amount);
            assert!(t.iter().all(|x| *x >= 100_000), "{t:?}");
        }
    }
}
