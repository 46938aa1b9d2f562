//! The DynamoDB adapter: one table, `pk`/`sk` keys, TTL on `expiresAt`.
//!
//! Items: a claim is `pk = CLAIM#<source>#<claimNo>`, `sk = CLAIM`; a seen nonce is
//! `pk = NONCE#<partner>#<nonce>`, `sk = NONCE` with a TTL; an investor is
//! `pk = INVESTOR#<id>`, `sk = INVESTOR`, and its phone is claimed by
//! `pk = PHONE#<keyed hash>`, `sk = PHONE`. Money and rates are DynamoDB numbers, read back as
//! `Decimal`. Every expression names attributes through `#aliases`, so reserved words such as
//! `status` never appear in one.

mod claims;
mod funding;
mod investors;
mod nonces;
mod notices;
mod repayments;

pub use claims::claim_pk;

use crate::domain::money::Money;
use crate::domain::ports::StoreError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// Items of a `gsi1` partition, oldest first; with `before`, only those whose sort time is
    /// earlier (the reconciler's work lists). Eventually consistent, as indexes are.
    async fn in_index(&self, index: &str, before: Option<DateTime<Utc>>) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .expression_attribute_names("#gsi1pk", "gsi1pk")
            .expression_attribute_values(":index", s(index));
        let query = match before {
            None => query.key_condition_expression("#gsi1pk = :index"),
            Some(before) => query
                .key_condition_expression("#gsi1pk = :index AND #gsi1sk < :before")
                .expression_attribute_names("#gsi1sk", "gsi1sk")
                .expression_attribute_values(":before", s(before.to_rfc3339())),
        };
        query.into_paginator().items().send().collect::<Result<Vec<_>, _>>().await.map_err(unavailable)
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, in sort-key order
    /// (a claim's investments, ledger entries or notices), read consistently.
    async fn items_under(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable)
    }
}

fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// A conditional write whose failed condition means "already so, nothing to do".
fn unless_already<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<(), StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Err(e) if !is_condition_failure(&e) => Err(unavailable(e)),
        _ => Ok(()),
    }
}

/// The per-item reasons DynamoDB gives for a cancelled transaction, in item order.
fn cancellation_reasons<R>(
    error: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Vec<String> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_owned()).collect()
        }
        _ => Vec::new(),
    }
}

/// Sends a conditional transaction: `Applied`, or `Stale` when one of its conditions failed.
/// A transaction cancelled for any other reason (a conflict with another transaction on the
/// same item, throttling) is an error, so the caller's step runs again.
async fn transact(
    request: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<crate::domain::ports::Transition, StoreError> {
    use crate::domain::ports::Transition;
    match request.send().await {
        Ok(_) => Ok(Transition::Applied),
        Err(e) => {
            let reasons = cancellation_reasons(&e);
            let only_conditions = reasons.iter().all(|r| r == "ConditionalCheckFailed" || r == "None");
            if reasons.iter().any(|r| r == "ConditionalCheckFailed") && only_conditions {
                Ok(Transition::Stale)
            } else {
                Err(unavailable(e))
            }
        }
    }
}

fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Typed reads out of an item; any surprise is `StoreError::Corrupt` naming the attribute.
struct Reader<'a>(&'a Item);

fn corrupt(name: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("{name}: {what}"))
}

impl<'a> Reader<'a> {
    fn get(&self, name: &str) -> Result<&'a AttributeValue, StoreError> {
        self.0.get(name).ok_or_else(|| corrupt(name, "missing"))
    }

    fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.get(name)?.as_s().map(String::as_str).map_err(|_| corrupt(name, "not a string"))
    }

    fn n<T: std::str::FromStr>(&self, name: &str) -> Result<T, StoreError> {
        let text = self.get(name)?.as_n().map_err(|_| corrupt(name, "not a number"))?;
        text.parse().map_err(|_| corrupt(name, "unreadable number"))
    }

    fn money(&self, name: &str) -> Result<Money, StoreError> {
        self.n::<Decimal>(name).map(Money::from_decimal)
    }

    fn named<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        serde_json::from_value(serde_json::Value::String(self.s(name)?.to_owned()))
            .map_err(|_| corrupt(name, "unknown value"))
    }

    fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        DateTime::parse_from_rfc3339(self.s(name)?)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| corrupt(name, "not an RFC 3339 time"))
    }

    fn optional_s(&self, name: &str) -> Option<String> {
        self.0.get(name).and_then(|v| v.as_s().ok()).cloned()
    }

    fn optional_map(&self, name: &str) -> Option<Reader<'a>> {
        self.0.get(name).and_then(|v| v.as_m().ok()).map(Reader)
    }

    fn list(&self, name: &str) -> Result<Vec<Reader<'a>>, StoreError> {
        let list = self.get(name)?.as_l().map_err(|_| corrupt(name, "not a list"))?;
        list.iter().map(|v| v.as_m().map(Reader).map_err(|_| corrupt(name, "entry not a map"))).collect()
    }
}
