//! Configuration, read once per cold start: documented defaults in `config/defaults.json`,
//! overridden by environment variables.

use crate::auth::PartnerSecrets;
use crate::domain::claim::{BankAccount, ClaimRules};
use crate::domain::cost_cap::{CapRow, CostCapTable};
use crate::domain::funding::FundingRules;
use crate::domain::intake::IntakePolicy;
use crate::domain::money::{Currency, PercentRate};
use crate::domain::people::MatchKey;
use crate::domain::repaying::RepaymentRules;
use serde::Deserialize;
use std::collections::BTreeMap;

const DEFAULTS: &str = include_str!("../config/defaults.json");

/// Environment variables the hub reads.
pub mod env {
    /// The DynamoDB table holding claims and nonces.
    pub const TABLE: &str = "HUB_TABLE";
    /// JSON object `{"partnerId": "secret"}`; in AWS a Secrets Manager dynamic reference.
    pub const PARTNER_SECRETS: &str = "PARTNER_SECRETS";
    /// Comma-separated bank codes replacing the default list.
    pub const BANK_CODES: &str = "BANK_CODES";
    /// JSON array of cap rows replacing the default cost-cap table.
    pub const COST_CAPS: &str = "COST_CAPS";
    /// Largest accepted request body in bytes.
    pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";
    /// Key of the keyed hash that matches NIKs and phones (interfaces 3 and 4).
    pub const MATCH_KEY: &str = "MATCH_KEY";
    /// The FIFO queue of payment steps.
    pub const STEPS_QUEUE_URL: &str = "STEPS_QUEUE_URL";
    /// The queue of interface 6 announcements for the notify worker.
    pub const NOTICES_QUEUE_URL: &str = "NOTICES_QUEUE_URL";
    /// Seconds a movement, step or notice may wait before the reconciler picks it up.
    pub const RECONCILE_AFTER_SECONDS: &str = "RECONCILE_AFTER_SECONDS";
    /// First delay, in seconds, before a notice the originator did not take is tried again;
    /// it doubles per attempt up to 15 minutes.
    pub const NOTICE_BACKOFF_SECONDS: &str = "NOTICE_BACKOFF_SECONDS";
    /// Seconds the hub waits for a partner (interfaces 2, 3, 6, 8, 9, 12) to answer.
    pub const PARTNER_TIMEOUT_SECONDS: &str = "PARTNER_TIMEOUT_SECONDS";
    /// Local runs and tests only: a file holding whole seconds the hub's clock runs ahead.
    pub const CLOCK_FILE: &str = "HUB_CLOCK_FILE";
    /// Base URL of the originator's interfaces 2, 3 and 6 (everything before `/v1`).
    pub const ORIGINATOR_URL: &str = "ORIGINATOR_URL";
    /// JSON `{bankCode, bankName, accountNo, accountName}` of the platform's income account.
    pub const INCOME_ACCOUNT: &str = "INCOME_ACCOUNT";
    /// Base URL of the payment platform's interfaces 8, 9 and 12 (everything before `/v1`).
    pub const PAYMENT_URL: &str = "PAYMENT_URL";
    /// The payment partner id whose secret signs calls to PAYMENT_URL.
    pub const PAYMENT_PARTNER: &str = "PAYMENT_PARTNER";
    /// The originator partner id whose secret signs calls to ORIGINATOR_URL.
    pub const ORIGINATOR_PARTNER: &str = "ORIGINATOR_PARTNER";
    /// Largest claim amount accepted, whole rupiah.
    pub const MAX_CLAIM_AMOUNT: &str = "MAX_CLAIM_AMOUNT";
    /// Smallest investment, whole rupiah.
    pub const MIN_INVESTMENT: &str = "MIN_INVESTMENT";
    /// Hours a claim stays open for investment after the hub accepted it.
    pub const LISTING_WINDOW_HOURS: &str = "LISTING_WINDOW_HOURS";
    /// Percent of an overdue instalment's principal charged per day late (e.g. `0.3`).
    pub const OVERDUE_DAILY_RATE_PERCENT: &str = "OVERDUE_DAILY_RATE_PERCENT";
    /// Comma-separated partner ids of payment platforms (they call interfaces 10 and 11).
    pub const PAYMENT_PARTNERS: &str = "PAYMENT_PARTNERS";
    /// Comma-separated partner ids of investor front ends (they call the investor API).
    pub const INVESTOR_APP_PARTNERS: &str = "INVESTOR_APP_PARTNERS";
}

/// What a partner may call. Partners not named as payment platforms or investor front ends
/// are originators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Originator,
    Payment,
    InvestorApp,
}

#[derive(Debug, Clone)]
pub struct PartnerRoles {
    payment: Vec<String>,
    investor_app: Vec<String>,
}

impl PartnerRoles {
    pub fn role_of(&self, partner: &str) -> Role {
        if self.payment.iter().any(|p| p == partner) {
            Role::Payment
        } else if self.investor_app.iter().any(|p| p == partner) {
            Role::InvestorApp
        } else {
            Role::Originator
        }
    }
}

/// A whole number from a variable, `None` when it is not set.
fn number<T: std::str::FromStr>(var: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<T>, ConfigError> {
    var(name).map(|v| v.trim().parse().map_err(|_| ConfigError(format!("{name} must be a whole number")))).transpose()
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Defaults {
    currency: String,
    bank_codes: Vec<String>,
    cost_caps: Vec<CapRow>,
    max_body_bytes: usize,
    min_investment: String,
    listing_window_hours: i64,
    overdue_daily_rate_percent: String,
    reconcile_after_seconds: i64,
    notice_backoff_seconds: i32,
    partner_timeout_seconds: u64,
    max_claim_amount: String,
    income_account: IncomeAccount,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IncomeAccount {
    bank_code: String,
    bank_name: String,
    account_no: String,
    account_name: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub table: String,
    pub partners: PartnerSecrets,
    pub intake: IntakePolicy,
    pub max_body_bytes: usize,
    pub match_key: MatchKey,
    pub roles: PartnerRoles,
    pub funding: FundingRules,
    pub repayment: RepaymentRules,
    pub steps_queue_url: Option<String>,
    pub notices_queue_url: Option<String>,
    pub reconcile_after: chrono::Duration,
    pub notice_backoff_seconds: i32,
    pub partner_timeout: std::time::Duration,
    pub clock_file: Option<std::path::PathBuf>,
    pub originator_url: Option<String>,
    /// The originator whose shared secret signs the hub's calls to `originator_url`.
    pub originator_partner: String,
    pub payment_url: Option<String>,
    /// The platform's own account: upfront fees, spread and overdue fees are paid there.
    pub income_account: BankAccount,
    /// The payment platform whose shared secret signs the hub's calls to `payment_url`.
    pub payment_partner: String,
}

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any variable lookup (tests pass a map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let defaults: Defaults =
            serde_json::from_str(DEFAULTS).map_err(|e| ConfigError(format!("defaults.json: {e}")))?;
        let currency = match defaults.currency.as_str() {
            "IDR" => Currency::IDR,
            other => return Err(ConfigError(format!("unsupported currency {other}"))),
        };
        let table = var(env::TABLE).ok_or_else(|| ConfigError(format!("{} is not set", env::TABLE)))?;
        let secrets: BTreeMap<String, String> = match var(env::PARTNER_SECRETS) {
            Some(json) => serde_json::from_str(&json)
                .map_err(|_| ConfigError(format!("{} must be a JSON object of strings", env::PARTNER_SECRETS)))?,
            None => return Err(ConfigError(format!("{} is not set", env::PARTNER_SECRETS))),
        };
        // Partner ids become a claim's source, part of serials and event ids joined by '-'.
        if let Some(bad) = secrets.keys().find(|id| {
            !(1..=32).contains(&id.len())
                || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }) {
            return Err(ConfigError(format!(
                "{}: partner id {bad:?} must be 1 to 32 of a-z, 0-9, '_'",
                env::PARTNER_SECRETS
            )));
        }
        let bank_codes = match var(env::BANK_CODES) {
            Some(list) => list.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
            None => defaults.bank_codes,
        };
        let cap_rows = match var(env::COST_CAPS) {
            Some(json) => serde_json::from_str(&json).map_err(|e| ConfigError(format!("{}: {e}", env::COST_CAPS)))?,
            None => defaults.cost_caps,
        };
        let max_body_bytes = match var(env::MAX_BODY_BYTES) {
            Some(n) => n.parse().map_err(|_| ConfigError(format!("{} must be a number", env::MAX_BODY_BYTES)))?,
            None => defaults.max_body_bytes,
        };
        let match_key = var(env::MATCH_KEY)
            .filter(|k| k.len() >= 16)
            .map(|k| MatchKey::new(&k))
            .ok_or_else(|| ConfigError(format!("{} must be set to at least 16 characters", env::MATCH_KEY)))?;
        let roles = PartnerRoles {
            payment: list(&var(env::PAYMENT_PARTNERS).unwrap_or_else(|| "pay".into())),
            investor_app: list(&var(env::INVESTOR_APP_PARTNERS).unwrap_or_else(|| "web".into())),
        };
        let max_amount = var(env::MAX_CLAIM_AMOUNT).unwrap_or(defaults.max_claim_amount);
        let max_amount = currency
            .parse_amount(&serde_json::Value::String(max_amount))
            .map_err(|e| ConfigError(format!("{} {e}", env::MAX_CLAIM_AMOUNT)))?;
        let min_investment = var(env::MIN_INVESTMENT).unwrap_or(defaults.min_investment);
        let min_investment = currency
            .parse_amount(&serde_json::Value::String(min_investment))
            .map_err(|e| ConfigError(format!("{} {e}", env::MIN_INVESTMENT)))?;
        let window_hours = match var(env::LISTING_WINDOW_HOURS) {
            Some(h) => {
                h.parse().map_err(|_| ConfigError(format!("{} must be whole hours", env::LISTING_WINDOW_HOURS)))?
            }
            None => defaults.listing_window_hours,
        };
        let overdue = var(env::OVERDUE_DAILY_RATE_PERCENT).unwrap_or(defaults.overdue_daily_rate_percent);
        let overdue_daily_rate = PercentRate::parse(&serde_json::Value::String(overdue))
            .map_err(|e| ConfigError(format!("{} {e}", env::OVERDUE_DAILY_RATE_PERCENT)))?;
        Ok(Settings {
            table,
            partners: PartnerSecrets::new(secrets),
            intake: IntakePolicy {
                claim_rules: ClaimRules { currency, bank_codes, max_amount },
                cost_caps: CostCapTable::new(cap_rows).map_err(ConfigError)?,
            },
            max_body_bytes,
            match_key,
            roles,
            funding: FundingRules { min_investment, listing_window: chrono::Duration::hours(window_hours) },
            repayment: RepaymentRules { overdue_daily_rate },
            steps_queue_url: var(env::STEPS_QUEUE_URL),
            notices_queue_url: var(env::NOTICES_QUEUE_URL),
            reconcile_after: chrono::Duration::seconds(
                number(&var, env::RECONCILE_AFTER_SECONDS)?.unwrap_or(defaults.reconcile_after_seconds),
            ),
            notice_backoff_seconds: number(&var, env::NOTICE_BACKOFF_SECONDS)?
                .unwrap_or(defaults.notice_backoff_seconds)
                .max(1),
            partner_timeout: std::time::Duration::from_secs(
                number(&var, env::PARTNER_TIMEOUT_SECONDS)?.unwrap_or(defaults.partner_timeout_seconds).max(1),
            ),
            clock_file: var(env::CLOCK_FILE).map(Into::into),
            originator_url: var(env::ORIGINATOR_URL),
            originator_partner: var(env::ORIGINATOR_PARTNER).unwrap_or_else(|| "doit".into()),
            payment_url: var(env::PAYMENT_URL),
            income_account: {
                let a = match var(env::INCOME_ACCOUNT) {
                    Some(json) => {
                        serde_json::from_str(&json).map_err(|e| ConfigError(format!("{}: {e}", env::INCOME_ACCOUNT)))?
                    }
                    None => defaults.income_account,
                };
                BankAccount {
                    bank_code: a.bank_code,
                    bank_name: a.bank_name,
                    account_no: a.account_no,
                    account_name: a.account_name,
                }
            },
            payment_partner: var(env::PAYMENT_PARTNER).unwrap_or_else(|| "pay".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_secrets(secrets: &str) -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| match name {
            env::TABLE => Some("t".into()),
            env::PARTNER_SECRETS => Some(secrets.into()),
            env::MATCH_KEY => Some("a-match-key-of-16+".into()),
            _ => None,
        })
    }

    #[test]
    fn partner_ids_cannot_blur_serials_or_event_ids() {
        assert!(with_secrets(r#"{"doit": "s", "pay_2": "s"}"#).is_ok());
        // "a-b" + claim "c" and "a" + claim "b-c" would share every serial.
        for bad in [r#"{"a-b": "s"}"#, r#"{"Doit": "s"}"#, r#"{"": "s"}"#] {
            let error = with_secrets(bad).unwrap_err().to_string();
            assert!(error.contains("partner id"), "{bad}: {error}");
        }
    }
}
