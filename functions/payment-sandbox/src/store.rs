//! The payment sandbox's items in the sandbox table: knobs and ledger under `pk = PAYMENT`
//! (`sk = SETTINGS`, `sk = LEDGER`), each movement under `pk = PAYMENT#MOVEMENT#<serialNo>`,
//! `sk = MOVEMENT`, with `dispatched` telling whether its callbacks are on the queue.

use crate::domain::{Knobs, Ledger, Movement};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use hub::domain::ports::StoreError;
use hub::sandbox::items::{self, Item, doc, from_doc, n, number, s, unavailable};

const PK: &str = "PAYMENT";
const SETTINGS: &str = "SETTINGS";
const LEDGER: &str = "LEDGER";
const MOVEMENT: &str = "MOVEMENT";

fn movement_pk(serial_no: &str) -> String {
    format!("PAYMENT#MOVEMENT#{serial_no}")
}

/// A stored movement and whether its callbacks were handed to the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub movement: Movement,
    pub dispatched: bool,
}

#[derive(Debug, Clone)]
pub struct PaymentStore {
    client: Client,
    table: String,
}

impl PaymentStore {
    pub fn new(client: Client, table: &str) -> PaymentStore {
        PaymentStore { client, table: table.to_owned() }
    }

    pub async fn knobs(&self) -> Result<Option<Knobs>, StoreError> {
        items::get_doc(&self.client, &self.table, PK, SETTINGS).await
    }

    pub async fn save_knobs(&self, knobs: &Knobs) -> Result<(), StoreError> {
        items::put_doc(&self.client, &self.table, PK, SETTINGS, knobs).await
    }

    pub async fn ledger(&self) -> Result<Ledger, StoreError> {
        let Some(item) = items::get(&self.client, &self.table, PK, LEDGER).await? else {
            return Ok(Ledger::default());
        };
        Ok(Ledger {
            escrow: number(&item, "escrow")?,
            income: number(&item, "income")?,
            movements: number(&item, "movements")?,
            succeeded: number(&item, "succeeded")?,
            failed: number(&item, "failed")?,
            callbacks_planned: number(&item, "callbacksPlanned")?,
            duplicates_injected: number(&item, "duplicatesInjected")?,
            drops_injected: number(&item, "dropsInjected")?,
        })
    }

    pub async fn movement(&self, serial_no: &str) -> Result<Option<Stored>, StoreError> {
        let item = items::get(&self.client, &self.table, &movement_pk(serial_no), MOVEMENT).await?;
        item.map(|item| stored_from(&item)).transpose()
    }

    /// Writes a new movement and its ledger change in one transaction. `false` when it lost:
    /// the serial exists already, or the escrow no longer covers a payout.
    pub async fn create(&self, movement: &Movement) -> Result<bool, StoreError> {
        let change = movement.ledger_change();
        let put = Put::builder()
            .table_name(&self.table)
            .item("pk", s(movement_pk(&movement.serial_no)))
            .item("sk", s(MOVEMENT))
            .item("doc", doc(movement)?)
            .item("dispatched", AttributeValue::Bool(movement.callback_delays.is_empty()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .build()
            .map_err(unavailable)?;
        let counters = [
            ("escrow", n(change.escrow)),
            ("income", n(change.income)),
            ("movements", n(1)),
            ("succeeded", n(change.succeeded)),
            ("failed", n(change.failed)),
            ("callbacksPlanned", n(change.callbacks_planned)),
            ("duplicatesInjected", n(change.duplicates_injected)),
            ("dropsInjected", n(change.drops_injected)),
        ];
        let adds: Vec<String> = counters.iter().map(|(name, _)| format!("#{name} :{name}")).collect();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(PK))
            .key("sk", s(LEDGER))
            .update_expression(format!("ADD {}", adds.join(", ")));
        for (name, value) in counters {
            update = update
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), value);
        }
        if let Some(least) = change.escrow_at_least {
            update = update.condition_expression("#escrow >= :least").expression_attribute_values(":least", n(least));
        }
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update.build().map_err(unavailable)?).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_transaction_canceled_exception()) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Takes the right to send a movement's callbacks; `false` when they were sent already.
    pub async fn claim_dispatch(&self, serial_no: &str) -> Result<bool, StoreError> {
        self.set_dispatched(serial_no, true).await
    }

    /// Gives the right back after the queue refused a callback, so a repeat sends them.
    pub async fn release_dispatch(&self, serial_no: &str) -> Result<(), StoreError> {
        self.set_dispatched(serial_no, false).await.map(|_| ())
    }

    /// Flips `dispatched` to `to`; `false` when it already was `to`.
    async fn set_dispatched(&self, serial_no: &str, to: bool) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(movement_pk(serial_no)))
            .key("sk", s(MOVEMENT))
            .update_expression("SET #dispatched = :to")
            .condition_expression("#dispatched = :from")
            .expression_attribute_names("#dispatched", "dispatched")
            .expression_attribute_values(":to", AttributeValue::Bool(to))
            .expression_attribute_values(":from", AttributeValue::Bool(!to))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if items::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn stored_from(item: &Item) -> Result<Stored, StoreError> {
    let dispatched = item
        .get("dispatched")
        .and_then(|v| v.as_bool().ok())
        .copied()
        .ok_or_else(|| StoreError::Corrupt("dispatched: missing".into()))?;
    Ok(Stored { movement: from_doc(item)?, dispatched })
}
