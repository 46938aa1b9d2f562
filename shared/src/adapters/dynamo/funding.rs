//! Investments (`pk = CLAIM#…`, `sk = INV#<id>`) and movements (`pk = MOVEMENT#<serial>`,
//! `sk = MOVEMENT`; pending ones indexed by `gsi1pk = MOVEMENT#PENDING` for the reconciler).

use super::claims::claim_pk;
use super::{DynamoStore, Item, Reader, cancellation_reasons, corrupt, n, s, transact, unavailable};
use crate::domain::claim::ClaimNo;
use crate::domain::funding::{Investment, InvestmentStatus, MAX_INVESTMENTS_PER_CLAIM};
use crate::domain::money::Money;
use crate::domain::movement::{ClaimKey, Entry, Movement, MovementKind, MovementStatus, Posting, Stage};
use crate::domain::ports::{CollectionStore, FundingStore, MovementStore, Placement, Settled, StoreError, Transition};
use crate::domain::record::ClaimRecord;
use crate::domain::record::StatusChange;
use crate::domain::status::ClaimStatus;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

const MOVEMENT_SK: &str = "MOVEMENT";

/// Contradicting reports kept on a movement for an operator; later ones are only logged.
const MAX_CONTRADICTIONS_KEPT: usize = 20;

/// The `gsi1` partition of movements waiting in `stage`, sorted by when they got there.
fn stage_index(stage: Stage) -> &'static str {
    match stage {
        Stage::Pending => "MOVEMENT#PENDING",
        Stage::Settled => "MOVEMENT#SETTLED",
    }
}

pub(super) fn movement_pk(serial: &str) -> String {
    format!("MOVEMENT#{serial}")
}

fn investment_sk(id: &str) -> String {
    format!("INV#{id}")
}

fn key_of(claim: &ClaimKey) -> String {
    claim_pk(&claim.source, &claim.claim_no)
}

fn enum_name<T: serde::Serialize>(value: T) -> AttributeValue {
    s(serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
}

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Unavailable(e.to_string()))
}

pub(super) fn investment_item(i: &Investment) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(key_of(&i.claim))),
        ("sk".to_owned(), s(investment_sk(&i.investment_id))),
        ("investmentId".to_owned(), s(&i.investment_id)),
        ("investorId".to_owned(), s(&i.investor_id)),
        ("source".to_owned(), s(&i.claim.source)),
        ("claimNo".to_owned(), s(i.claim.claim_no.as_str())),
        ("amount".to_owned(), n(i.amount)),
        ("status".to_owned(), enum_name(i.status)),
        ("serialNo".to_owned(), s(&i.serial)),
        ("createdAt".to_owned(), s(i.created_at.to_rfc3339())),
    ])
}

pub(super) fn movement_item(m: &Movement, created_at: &str) -> Item {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(movement_pk(&m.serial))),
        ("sk".to_owned(), s(MOVEMENT_SK)),
        ("serialNo".to_owned(), s(&m.serial)),
        ("purpose".to_owned(), enum_name(m.purpose)),
        ("source".to_owned(), s(&m.claim.source)),
        ("claimNo".to_owned(), s(m.claim.claim_no.as_str())),
        ("amount".to_owned(), n(m.amount)),
        ("status".to_owned(), enum_name(m.status)),
        ("createdAt".to_owned(), s(created_at)),
        ("attempt".to_owned(), n(m.attempt)),
    ]);
    if m.status == MovementStatus::Pending {
        item.insert("gsi1pk".to_owned(), s(stage_index(Stage::Pending)));
        item.insert("gsi1sk".to_owned(), s(created_at));
    }
    if let Some(party) = &m.party {
        item.insert("party".to_owned(), s(party));
    }
    if let Some(id) = &m.investment_id {
        item.insert("investmentId".to_owned(), s(id));
    }
    item
}

fn investment_from_item(item: &Item) -> Result<Investment, StoreError> {
    let r = Reader(item);
    Ok(Investment {
        investment_id: r.s("investmentId")?.to_owned(),
        investor_id: r.s("investorId")?.to_owned(),
        claim: claim_key(&r)?,
        amount: r.money("amount")?,
        status: r.named::<InvestmentStatus>("status")?,
        serial: r.s("serialNo")?.to_owned(),
        created_at: r.time("createdAt")?,
    })
}

pub(super) fn claim_key(r: &Reader<'_>) -> Result<ClaimKey, StoreError> {
    Ok(ClaimKey {
        source: r.s("source")?.to_owned(),
        claim_no: ClaimNo::parse(r.s("claimNo")?).map_err(|e| corrupt("claimNo", e))?,
    })
}

pub(super) fn movement_from_item(item: &Item) -> Result<Movement, StoreError> {
    let r = Reader(item);
    Ok(Movement {
        serial: r.s("serialNo")?.to_owned(),
        purpose: r.named("purpose")?,
        claim: claim_key(&r)?,
        amount: r.money("amount")?,
        status: r.named("status")?,
        party: r.optional_s("party"),
        investment_id: r.optional_s("investmentId"),
        failure_reason: r.optional_s("failureReason"),
        attempt: r.n("attempt")?,
    })
}

impl FundingStore for DynamoStore {
    async fn place_investment(
        &self,
        claim: &ClaimRecord,
        investment: &Investment,
        movement: &Movement,
        min_left: Money,
    ) -> Result<Placement, StoreError> {
        // Fills the claim exactly, or leaves at least `min_left` open.
        let room = claim.claim.amount - investment.amount;
        let room_keeping_min = room - min_left;
        let reserve = built(
            Update::builder()
                .table_name(&self.table)
                .key("pk", s(key_of(&investment.claim)))
                .key("sk", s("CLAIM"))
                .update_expression(
                    "SET #subscribed = #subscribed + :amount, #placed = if_not_exists(#placed, :zero) + :one",
                )
                .condition_expression(
                    "#status IN (:listed, :funding) AND (#subscribed = :room OR #subscribed <= :roomKeepingMin) \
                     AND (attribute_not_exists(#placed) OR #placed < :maxPlaced)",
                )
                .expression_attribute_names("#subscribed", "subscribedAmount")
                .expression_attribute_names("#placed", "investmentsPlaced")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":maxPlaced", n(MAX_INVESTMENTS_PER_CLAIM))
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":amount", n(investment.amount))
                .expression_attribute_values(":room", n(room))
                .expression_attribute_values(":roomKeepingMin", n(room_keeping_min))
                .expression_attribute_values(":listed", s(ClaimStatus::Listed.as_str()))
                .expression_attribute_values(":funding", s(ClaimStatus::Funding.as_str()))
                .build(),
        )?;
        let put_new = |item: Item| {
            built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", "pk")
                    .build(),
            )
            .map(|put| TransactWriteItem::builder().put(put).build())
        };
        let count_active = built(
            Update::builder()
                .table_name(&self.table)
                .key("pk", s(format!("INVESTOR#{}", investment.investor_id)))
                .key("sk", s("INVESTOR"))
                .update_expression("ADD #active :one")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#active", "activeInvestments")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":one", n(1))
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(reserve).build())
            .transact_items(put_new(investment_item(investment))?)
            .transact_items(put_new(movement_item(movement, &investment.created_at.to_rfc3339()))?)
            .transact_items(TransactWriteItem::builder().update(count_active).build())
            .send()
            .await;
        let Err(error) = result else { return Ok(Placement::Placed) };
        let reasons = cancellation_reasons(&error);
        let failed = |i: usize| reasons.get(i).map(String::as_str) == Some("ConditionalCheckFailed");
        if failed(1) {
            let existing = self.get_item(key_of(&investment.claim), &investment_sk(&investment.investment_id)).await?;
            return match existing {
                Some(item) => Ok(Placement::AlreadyPlaced(Box::new(investment_from_item(&item)?))),
                None => Err(StoreError::Unavailable("investment vanished after a conflicting write".into())),
            };
        }
        if failed(2) {
            // The collection's serial derives from investor and request id only.
            return Ok(Placement::KeyUsedElsewhere);
        }
        if failed(0) {
            return Ok(Placement::NoRoom);
        }
        Err(unavailable(error))
    }

    async fn investments(&self, claim: &ClaimKey) -> Result<Vec<Investment>, StoreError> {
        let out = self.items_under(key_of(claim), "INV#").await?;
        out.iter().map(investment_from_item).collect()
    }

    async fn get_investment(&self, claim: &ClaimKey, investment_id: &str) -> Result<Option<Investment>, StoreError> {
        match self.get_item(key_of(claim), &investment_sk(investment_id)).await? {
            Some(item) => investment_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn get_movement(&self, serial: &str) -> Result<Option<Movement>, StoreError> {
        match self.get_item(movement_pk(serial), MOVEMENT_SK).await? {
            Some(item) => movement_from_item(&item).map(Some),
            None => Ok(None),
        }
    }
}

impl MovementStore for DynamoStore {
    async fn settle_movement(
        &self,
        movement: &Movement,
        status: MovementStatus,
        failure_reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Settled, StoreError> {
        let mut settle = Update::builder()
            .table_name(&self.table)
            .key("pk", s(movement_pk(&movement.serial)))
            .key("sk", s(MOVEMENT_SK))
            .update_expression(
                "SET #status = :to, #settledAt = :at, #reason = :reason, #gsi1pk = :stage, #gsi1sk = :at",
            )
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#settledAt", "settledAt")
            .expression_attribute_names("#reason", "failureReason")
            .expression_attribute_names("#gsi1pk", "gsi1pk")
            .expression_attribute_names("#gsi1sk", "gsi1sk")
            .expression_attribute_values(":to", enum_name(status))
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .expression_attribute_values(":stage", s(stage_index(Stage::Settled)))
            .expression_attribute_values(":pending", enum_name(MovementStatus::Pending));
        settle = match failure_reason {
            Some(reason) => settle.expression_attribute_values(":reason", s(reason)),
            None => settle.expression_attribute_values(":reason", AttributeValue::Null(true)),
        };
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(built(settle.build())?).build());
        if status == MovementStatus::Succeeded {
            let entry = movement.entry();
            let ledger = HashMap::from([
                ("pk".to_owned(), s(key_of(&movement.claim))),
                ("sk".to_owned(), s(format!("LEDGER#{}", movement.serial))),
                ("serialNo".to_owned(), s(&movement.serial)),
                ("debit".to_owned(), s(entry.debit.to_string())),
                ("credit".to_owned(), s(entry.credit.to_string())),
                ("amount".to_owned(), n(entry.amount)),
                ("at".to_owned(), s(at.to_rfc3339())),
            ]);
            let put = built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(ledger))
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", "pk")
                    .build(),
            )?;
            let into_escrow = movement.purpose.kind() == MovementKind::Collection;
            let mut escrow = Update::builder()
                .table_name(&self.table)
                .key("pk", s(key_of(&movement.claim)))
                .key("sk", s("CLAIM"))
                .expression_attribute_names("#escrow", "escrowBalance")
                .expression_attribute_values(":amount", n(movement.amount));
            escrow = if into_escrow {
                escrow.update_expression("ADD #escrow :amount")
            } else {
                escrow.update_expression("SET #escrow = #escrow - :amount").condition_expression("#escrow >= :amount")
            };
            request = request
                .transact_items(TransactWriteItem::builder().put(put).build())
                .transact_items(TransactWriteItem::builder().update(built(escrow.build())?).build());
        }
        let Err(error) = request.send().await else { return Ok(Settled::Applied) };
        let reasons = cancellation_reasons(&error);
        let failed = |i: usize| reasons.get(i).map(String::as_str) == Some("ConditionalCheckFailed");
        if failed(0) || failed(1) {
            return Ok(Settled::AlreadySettled);
        }
        if failed(2) {
            return Ok(Settled::InsufficientEscrow);
        }
        Err(unavailable(error))
    }

    async fn create_movement(&self, movement: &Movement, at: DateTime<Utc>) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(movement_item(movement, &at.to_rfc3339())))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await;
        // Exists already: a retried step.
        super::unless_already(result)
    }

    async fn movements_in(&self, stage: Stage, before: DateTime<Utc>) -> Result<Vec<Movement>, StoreError> {
        // The index holds keys and sort times; each movement is read whole.
        let mut movements = Vec::new();
        for item in self.in_index(stage_index(stage), Some(before)).await? {
            let serial = Reader(&item).s("serialNo")?.to_owned();
            movements.extend(self.get_movement(&serial).await?);
        }
        Ok(movements)
    }

    async fn ledger(&self, claim: &ClaimKey) -> Result<Vec<Posting>, StoreError> {
        let items = self.items_under(key_of(claim), "LEDGER#").await?;
        items
            .iter()
            .map(|item| {
                let r = Reader(item);
                let account = |name: &str| r.s(name)?.parse().map_err(|e: String| corrupt(name, &e));
                let entry = Entry {
                    serial: r.s("serialNo")?.to_owned(),
                    debit: account("debit")?,
                    credit: account("credit")?,
                    amount: r.money("amount")?,
                };
                Ok(Posting { entry, at: r.time("at")? })
            })
            .collect()
    }

    async fn mark_followed(&self, serial: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(movement_pk(serial)))
            .key("sk", s(MOVEMENT_SK))
            .update_expression("REMOVE #gsi1pk, #gsi1sk")
            .condition_expression("#gsi1pk = :settled")
            .expression_attribute_names("#gsi1pk", "gsi1pk")
            .expression_attribute_names("#gsi1sk", "gsi1sk")
            .expression_attribute_values(":settled", s(stage_index(Stage::Settled)))
            .send()
            .await;
        super::unless_already(result)
    }

    async fn record_contradiction(
        &self,
        serial: &str,
        reported: MovementStatus,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let note = AttributeValue::M(HashMap::from([
            ("reported".to_owned(), enum_name(reported)),
            ("at".to_owned(), s(at.to_rfc3339())),
        ]));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(movement_pk(serial)))
            .key("sk", s(MOVEMENT_SK))
            .update_expression("SET #c = list_append(if_not_exists(#c, :empty), :note)")
            .condition_expression("attribute_not_exists(#c) OR size(#c) < :kept")
            .expression_attribute_names("#c", "contradictions")
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":note", AttributeValue::L(vec![note]))
            .expression_attribute_values(":kept", n(MAX_CONTRADICTIONS_KEPT))
            .send()
            .await;
        // The first ones are kept; an operator needs no more copies.
        super::unless_already(result)
    }
}

/// A transaction item creating `movement` unless its serial exists.
pub(super) fn put_movement(
    table: &str,
    movement: &Movement,
    at: DateTime<Utc>,
) -> Result<TransactWriteItem, StoreError> {
    let put = built(
        Put::builder()
            .table_name(table)
            .set_item(Some(movement_item(movement, &at.to_rfc3339())))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl CollectionStore for DynamoStore {
    async fn mark_refunded(&self, investment: &Investment) -> Result<Transition, StoreError> {
        let refunded = built(
            Update::builder()
                .table_name(&self.table)
                .key("pk", s(key_of(&investment.claim)))
                .key("sk", s(investment_sk(&investment.investment_id)))
                .update_expression("SET #status = :to")
                .condition_expression("#status = :succeeded")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":to", enum_name(InvestmentStatus::Refunded))
                .expression_attribute_values(":succeeded", enum_name(InvestmentStatus::Succeeded))
                .build(),
        )?;
        let inactive = investor_active_delta(&self.table, &investment.investor_id, -1)?;
        transact(
            self.client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(refunded).build())
                .transact_items(TransactWriteItem::builder().update(inactive).build()),
        )
        .await
    }

    async fn record_collected(
        &self,
        claim: &ClaimRecord,
        investment: &Investment,
        funded: Money,
        change: Option<&StatusChange>,
        movements: &[Movement],
        at: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let succeed = investment_status_update(&self.table, investment, InvestmentStatus::Succeeded)?;
        let mut request =
            self.client.transact_write_items().transact_items(TransactWriteItem::builder().update(succeed).build());
        let edit = super::claims::ClaimEdit { change, set: vec![("fundedAmount", n(funded))], remove: vec![] };
        for item in super::claims::claim_update(&self.table, claim, &edit)? {
            request = request.transact_items(item);
        }
        for movement in movements {
            request = request.transact_items(put_movement(&self.table, movement, at)?);
        }
        transact(request).await
    }

    async fn release_investment(&self, investment: &Investment) -> Result<Transition, StoreError> {
        let fail = investment_status_update(&self.table, investment, InvestmentStatus::Failed)?;
        let release = built(
            Update::builder()
                .table_name(&self.table)
                .key("pk", s(key_of(&investment.claim)))
                .key("sk", s("CLAIM"))
                .update_expression("SET #subscribed = #subscribed - :amount")
                .expression_attribute_names("#subscribed", "subscribedAmount")
                .expression_attribute_values(":amount", n(investment.amount))
                .build(),
        )?;
        let inactive = investor_active_delta(&self.table, &investment.investor_id, -1)?;
        transact(
            self.client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(fail).build())
                .transact_items(TransactWriteItem::builder().update(release).build())
                .transact_items(TransactWriteItem::builder().update(inactive).build()),
        )
        .await
    }
}

/// One more (or fewer) active investments for an investor.
fn investor_active_delta(table: &str, investor_id: &str, delta: i64) -> Result<Update, StoreError> {
    built(
        Update::builder()
            .table_name(table)
            .key("pk", s(format!("INVESTOR#{investor_id}")))
            .key("sk", s("INVESTOR"))
            .update_expression("ADD #active :delta")
            .expression_attribute_names("#active", "activeInvestments")
            .expression_attribute_values(":delta", n(delta))
            .build(),
    )
}

/// The investment leaves `PENDING` for `to`, only if it is still pending.
fn investment_status_update(table: &str, investment: &Investment, to: InvestmentStatus) -> Result<Update, StoreError> {
    built(
        Update::builder()
            .table_name(table)
            .key("pk", s(key_of(&investment.claim)))
            .key("sk", s(investment_sk(&investment.investment_id)))
            .update_expression("SET #status = :to")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", enum_name(to))
            .expression_attribute_values(":pending", enum_name(InvestmentStatus::Pending))
            .build(),
    )
}
