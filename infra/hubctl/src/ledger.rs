//! The operator's view of the ledger (SPEC section 5), read straight from the hub's table: one
//! claim's postings and balances, and the portfolio-wide check that every claim's escrow
//! sub-account is zero once final, debits equal credits, no account the hub holds (a claim's
//! escrow, income) is ever negative, and the hub's totals match the payment platform's.
//!
//! Investor and borrower accounts are the outside world's side of the postings: their sign is
//! their position (an investor whose money is still lent out stands below zero), so only the
//! accounts the hub holds are checked for negatives.

use crate::client::HubClient;
use hub::adapters::dynamo::DynamoStore;
use hub::domain::movement::{Account, ClaimKey, Posting};
use hub::domain::ports::{ClaimStore, MovementStore};
use hub::domain::record::ClaimRecord;
use hub::domain::status::ClaimStatus;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;

/// One claim and its postings, oldest first.
pub struct ClaimLedger {
    pub record: ClaimRecord,
    pub postings: Vec<Posting>,
}

impl ClaimLedger {
    pub fn key(&self) -> ClaimKey {
        ClaimKey { source: self.record.claim.source.clone(), claim_no: self.record.claim.claim_no.clone() }
    }

    fn escrow_account(&self) -> Account {
        Account::Escrow(self.key().to_string())
    }

    /// Every account's balance: what arrived minus what left.
    pub fn balances(&self) -> BTreeMap<Account, Decimal> {
        balances(&self.postings)
    }

    /// The escrow sub-account after each posting, in time order (money in first at a tie).
    fn escrow_running(&self) -> Vec<Decimal> {
        let escrow = self.escrow_account();
        let mut moves: Vec<(chrono::DateTime<chrono::Utc>, Decimal)> = self
            .postings
            .iter()
            .filter_map(|p| {
                let amount = p.entry.amount.value();
                if p.entry.debit == escrow {
                    Some((p.at, amount))
                } else if p.entry.credit == escrow {
                    Some((p.at, -amount))
                } else {
                    None
                }
            })
            .collect();
        moves.sort_by(|a, b| (a.0, std::cmp::Reverse(a.1)).cmp(&(b.0, std::cmp::Reverse(b.1))));
        moves
            .iter()
            .scan(Decimal::ZERO, |balance, (_, amount)| {
                *balance += amount;
                Some(*balance)
            })
            .collect()
    }
}

fn balances(postings: &[Posting]) -> BTreeMap<Account, Decimal> {
    let mut out: BTreeMap<Account, Decimal> = BTreeMap::new();
    for p in postings {
        *out.entry(p.entry.debit.clone()).or_default() += p.entry.amount.value();
        *out.entry(p.entry.credit.clone()).or_default() -= p.entry.amount.value();
    }
    out
}

pub async fn read_claim(store: &DynamoStore, key: &ClaimKey) -> Result<ClaimLedger, String> {
    let record = store
        .get_claim(&key.source, &key.claim_no)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("claim {key} not found"))?;
    let postings = store.ledger(key).await.map_err(|e| e.to_string())?;
    Ok(ClaimLedger { record, postings })
}

/// Every claim of the table, whatever its status, with its postings.
pub async fn read_portfolio(store: &DynamoStore) -> Result<Vec<ClaimLedger>, String> {
    let mut out = Vec::new();
    for status in ClaimStatus::ALL {
        for listed in store.claims_in_status(status).await.map_err(|e| e.to_string())? {
            let key = ClaimKey { source: listed.claim.source.clone(), claim_no: listed.claim.claim_no.clone() };
            out.push(read_claim(store, &key).await?);
        }
    }
    Ok(out)
}

/// The payment platform's escrow and income balances (the sandbox's control endpoint).
pub async fn platform_balances(payment_sandbox: &HubClient) -> Result<(Decimal, Decimal), String> {
    let answer = payment_sandbox.call("GET", "/payment/sandbox/balances", None).await?;
    let number = |v: &Value| v.as_str().and_then(|s| s.parse::<Decimal>().ok());
    match (number(&answer.data()["escrow"]), number(&answer.data()["income"])) {
        (Some(escrow), Some(income)) => Ok((escrow, income)),
        _ => Err(format!("payment sandbox balances: {}", answer.body)),
    }
}

/// The portfolio-wide check's figures and what it found wrong.
#[derive(Debug, Default)]
pub struct PortfolioCheck {
    pub claims: usize,
    pub by_status: BTreeMap<String, usize>,
    pub postings: usize,
    pub debits: Decimal,
    pub credits: Decimal,
    /// The claims' escrow sub-accounts added up, and the income account.
    pub escrow: Decimal,
    pub income: Decimal,
    /// The payment platform's escrow and income, when asked.
    pub platform: Option<(Decimal, Decimal)>,
    pub problems: Vec<String>,
}

impl PortfolioCheck {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn print(&self) {
        println!(
            "ledger check: {} claims, {} postings; debits {} = credits {}: {}",
            self.claims,
            self.postings,
            self.debits,
            self.credits,
            if self.debits == self.credits { "yes" } else { "NO" }
        );
        println!("  hub: escrow sub-accounts {} | income {}", self.escrow, self.income);
        if let Some((escrow, income)) = self.platform {
            println!("  payment platform: escrow {escrow} | income {income}");
        }
        println!("  ledger check passed: {}", if self.passed() { "yes" } else { "no" });
        for p in self.problems.iter().take(20) {
            println!("  {p}");
        }
    }
}

/// Checks every claim's ledger, and the hub's totals against the platform's when given.
pub fn check(ledgers: &[ClaimLedger], platform: Option<(Decimal, Decimal)>) -> PortfolioCheck {
    let mut c = PortfolioCheck { claims: ledgers.len(), platform, ..PortfolioCheck::default() };
    let mut all: BTreeMap<Account, Decimal> = BTreeMap::new();
    for ledger in ledgers {
        let key = ledger.key();
        let escrow = ledger.escrow_account();
        c.postings += ledger.postings.len();
        *c.by_status.entry(ledger.record.status.as_str().to_owned()).or_default() += 1;
        for p in &ledger.postings {
            let amount = p.entry.amount.value();
            c.debits += amount;
            c.credits += amount;
            if amount <= Decimal::ZERO || p.entry.debit == p.entry.credit {
                c.problems.push(format!(
                    "{key}: {} posts {amount} from {} to {}",
                    p.entry.serial, p.entry.credit, p.entry.debit
                ));
            }
            if p.entry.debit != escrow && p.entry.credit != escrow {
                c.problems.push(format!("{key}: {} does not touch the claim's escrow", p.entry.serial));
            }
        }
        for (account, balance) in ledger.balances() {
            *all.entry(account).or_default() += balance;
        }
        let running = ledger.escrow_running();
        let balance = running.last().copied().unwrap_or_default();
        if let Some(low) = running.iter().min().filter(|low| low.is_sign_negative()) {
            c.problems.push(format!("{key}: escrow went down to {low}"));
        }
        if balance != ledger.record.escrow_balance.value() {
            c.problems.push(format!(
                "{key}: postings give escrow {balance}, the claim says {}",
                ledger.record.escrow_balance
            ));
        }
        if ledger.record.status.is_final() && !balance.is_zero() {
            c.problems.push(format!("{key}: {} with {balance} left in escrow", ledger.record.status));
        }
        c.escrow += balance;
    }
    c.income = all.get(&Account::Income).copied().unwrap_or_default();
    if c.income.is_sign_negative() {
        c.problems.push(format!("income is negative: {}", c.income));
    }
    let net: Decimal = all.values().sum();
    if !net.is_zero() {
        c.problems.push(format!("balances sum to {net}, not zero"));
    }
    if let Some((escrow, income)) = platform {
        if escrow != c.escrow {
            c.problems.push(format!("hub escrow {} != payment platform escrow {escrow}", c.escrow));
        }
        if income != c.income {
            c.problems.push(format!("hub income {} != payment platform income {income}", c.income));
        }
    }
    c
}

/// One claim's postings and the balances they leave.
pub fn print_claim(ledger: &ClaimLedger) {
    let r = &ledger.record;
    println!(
        "claim {} | {} | amount {} | escrow {} | {} postings",
        ledger.key(),
        r.status,
        r.claim.amount,
        r.escrow_balance,
        ledger.postings.len()
    );
    for p in &ledger.postings {
        println!(
            "  {}  {:<44} {:>14}  {} -> {}",
            p.at.to_rfc3339(),
            p.entry.serial,
            p.entry.amount,
            p.entry.credit,
            p.entry.debit
        );
    }
    println!("balances:");
    for (account, balance) in ledger.balances() {
        println!("  {account:<60} {balance:>14}");
    }
}
