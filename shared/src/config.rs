//! Configuration, read once per cold start: documented defaults in `config/defaults.json`,
//! overridden by environment variables.

use crate::auth::PartnerSecrets;
use crate::domain::claim::ClaimRules;
use crate::domain::cost_cap::{CapRow, CostCapTable};
use crate::domain::intake::IntakePolicy;
use crate::domain::money::Currency;
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
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub table: String,
    pub partners: PartnerSecrets,
    pub intake: IntakePolicy,
    pub max_body_bytes: usize,
}

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any variable lookup (tests pass a map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let defaults: Defaults = serde_json::from_str(DEFAULTS)
            .map_err(|e| ConfigError(format!("defaults.json: {e}")))?;
        let currency = match defaults.currency.as_str() {
            "IDR" => Currency::IDR,
            other => return Err(ConfigError(format!("unsupported currency {other}"))),
        };
        let table =
            var(env::TABLE).ok_or_else(|| ConfigError(format!("{} is not set", env::TABLE)))?;
        let secrets: BTreeMap<String, String> = match var(env::PARTNER_SECRETS) {
            Some(json) => serde_json::from_str(&json).map_err(|_| {
                ConfigError(format!(
                    "{} must be a JSON object of strings",
                    env::PARTNER_SECRETS
                ))
            })?,
            None => return Err(ConfigError(format!("{} is not set", env::PARTNER_SECRETS))),
        };
        let bank_codes = match var(env::BANK_CODES) {
            Some(list) => list
                .split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            None => defaults.bank_codes,
        };
        let cap_rows = match var(env::COST_CAPS) {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| ConfigError(format!("{}: {e}", env::COST_CAPS)))?,
            None => defaults.cost_caps,
        };
        let max_body_bytes = match var(env::MAX_BODY_BYTES) {
            Some(n) => n
                .parse()
                .map_err(|_| ConfigError(format!("{} must be a number", env::MAX_BODY_BYTES)))?,
            None => defaults.max_body_bytes,
        };
        Ok(Settings {
            table,
            partners: PartnerSecrets::new(secrets),
            intake: IntakePolicy {
                claim_rules: ClaimRules {
                    currency,
                    bank_codes,
                },
                cost_caps: CostCapTable::new(cap_rows).map_err(ConfigError)?,
            },
            max_body_bytes,
        })
    }
}
