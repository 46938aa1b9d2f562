//! The originator sandbox's items in the sandbox table: its knobs and counters under
//! `pk = ORIGINATOR`, each notification under `pk = ORIGINATOR#NOTIFICATION`, `sk = eventId`
//! (one partition, so one query lists them all).

use crate::domain::{Knobs, Notification, Received};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use hub::domain::ports::StoreError;
use hub::sandbox::items::{self, Item, doc, from_doc, n, number, s, unavailable};

const PK: &str = "ORIGINATOR";
const SETTINGS: &str = "SETTINGS";
const STATS: &str = "STATS";
const NOTIFICATIONS: &str = "ORIGINATOR#NOTIFICATION";

#[derive(Debug, Clone)]
pub struct OriginatorStore {
    client: Client,
    table: String,
}

impl OriginatorStore {
    pub fn new(client: Client, table: &str) -> OriginatorStore {
        OriginatorStore { client, table: table.to_owned() }
    }

    /// The knobs last set, if any were.
    pub async fn knobs(&self) -> Result<Option<Knobs>, StoreError> {
        items::get_doc(&self.client, &self.table, PK, SETTINGS).await
    }

    pub async fn save_knobs(&self, knobs: &Knobs) -> Result<(), StoreError> {
        items::put_doc(&self.client, &self.table, PK, SETTINGS, knobs).await
    }

    /// Records a delivery of `notification`; `true` when its event id was seen before (the
    /// first content is kept, the receive count goes up).
    pub async fn record(&self, notification: &Notification, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let first = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(NOTIFICATIONS))
            .item("sk", s(&notification.event_id))
            .item("doc", doc(notification)?)
            .item("receivedCount", n(1))
            .item("firstReceivedAt", s(now.to_rfc3339()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await;
        match first {
            Ok(_) => Ok(false),
            Err(e) if items::is_condition_failure(&e) => {
                self.add(NOTIFICATIONS, &notification.event_id, "receivedCount").await?;
                Ok(true)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    pub async fn count_injected_failure(&self) -> Result<(), StoreError> {
        self.add(PK, STATS, "failuresInjected").await
    }

    /// Every recorded notification and the number of injected failures.
    pub async fn notifications(&self) -> Result<(Vec<Received>, u64), StoreError> {
        let mut received = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":pk", s(NOTIFICATIONS))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                received.push(received_from(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let failures = match items::get(&self.client, &self.table, PK, STATS).await? {
            Some(item) => number(&item, "failuresInjected")?,
            None => 0,
        };
        Ok((received, failures))
    }

    async fn add(&self, pk: &str, sk: &str, counter: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("ADD #counter :one")
            .expression_attribute_names("#counter", counter)
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn received_from(item: &Item) -> Result<Received, StoreError> {
    let first = item
        .get("firstReceivedAt")
        .and_then(|v| v.as_s().ok())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| StoreError::Corrupt("firstReceivedAt".into()))?;
    Ok(Received {
        notification: from_doc(item)?,
        received_count: number(item, "receivedCount")?,
        first_received_at: first.with_timezone(&Utc),
    })
}
