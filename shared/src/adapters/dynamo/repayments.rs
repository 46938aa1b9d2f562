//! Repayments (interface 5): `pk = REPAYMENT#<source>#<serial>`, `sk = REPAYMENT`.

use super::claims::{ClaimEdit, claim_update};
use super::funding::{claim_key, put_movement};
use super::{DynamoStore, Item, Reader, cancellation_reasons, n, s, transact, unavailable};
use crate::domain::movement::Movement;
use crate::domain::ports::{RepaymentStore, StoreError, Transition};
use crate::domain::record::ClaimRecord;
use crate::domain::repaying::{Accepted, Owed, Repayment, RepaymentClose, RepaymentStatus};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

const REPAYMENT_SK: &str = "REPAYMENT";

fn repayment_pk(source: &str, serial: &str) -> String {
    format!("REPAYMENT#{source}#{serial}")
}

fn name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Unavailable(e.to_string()))
}

fn repayment_item(r: &Repayment) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(repayment_pk(&r.claim.source, &r.serial))),
        ("sk".to_owned(), s(REPAYMENT_SK)),
        ("repaymentSerial".to_owned(), s(&r.serial)),
        ("source".to_owned(), s(&r.claim.source)),
        ("claimNo".to_owned(), s(r.claim.claim_no.as_str())),
        ("ordinal".to_owned(), n(r.ordinal)),
        ("installmentNo".to_owned(), n(r.installment_no)),
        ("installments".to_owned(), n(r.installments)),
        ("kind".to_owned(), s(name(r.kind))),
        ("principal".to_owned(), n(r.figures.principal)),
        ("interest".to_owned(), n(r.figures.interest)),
        ("overdueFee".to_owned(), n(r.figures.overdue_fee)),
        ("repaidAt".to_owned(), s(r.repaid_at.to_rfc3339())),
        ("requestHash".to_owned(), s(&r.request_hash)),
        ("status".to_owned(), s(name(r.status))),
        ("acceptedAt".to_owned(), s(r.accepted_at.to_rfc3339())),
    ])
}

fn repayment_from_item(item: &Item) -> Result<Repayment, StoreError> {
    let r = Reader(item);
    let repaid_at =
        DateTime::parse_from_rfc3339(r.s("repaidAt")?).map_err(|_| super::corrupt("repaidAt", "bad time"))?;
    Ok(Repayment {
        serial: r.s("repaymentSerial")?.to_owned(),
        claim: claim_key(&r)?,
        ordinal: r.n("ordinal")?,
        installment_no: r.n("installmentNo")?,
        installments: r.n("installments")?,
        kind: r.named("kind")?,
        figures: Owed {
            principal: r.money("principal")?,
            interest: r.money("interest")?,
            overdue_fee: r.money("overdueFee")?,
        },
        repaid_at,
        request_hash: r.s("requestHash")?.to_owned(),
        status: r.named("status")?,
        accepted_at: r.time("acceptedAt")?,
    })
}

impl RepaymentStore for DynamoStore {
    async fn get_repayment(&self, source: &str, serial: &str) -> Result<Option<Repayment>, StoreError> {
        match self.get_item(repayment_pk(source, serial), REPAYMENT_SK).await? {
            Some(item) => repayment_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn accept_repayment(
        &self,
        claim: &ClaimRecord,
        repayment: &Repayment,
        collection: &Movement,
        at: DateTime<Utc>,
    ) -> Result<Accepted, StoreError> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(repayment_item(repayment)))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", "pk")
                .build(),
        )?;
        let edit = ClaimEdit {
            set: vec![("collecting", s(&repayment.serial)), ("repaymentsAccepted", n(repayment.ordinal))],
            ..ClaimEdit::default()
        };
        let mut request =
            self.client.transact_write_items().transact_items(TransactWriteItem::builder().put(put).build());
        for item in claim_update(&self.table, claim, &edit)? {
            request = request.transact_items(item);
        }
        request = request.transact_items(put_movement(&self.table, collection, at)?);
        let Err(error) = request.send().await else { return Ok(Accepted::Applied) };
        let reasons = cancellation_reasons(&error);
        match reasons.iter().position(|r| r == "ConditionalCheckFailed") {
            Some(0) => Ok(Accepted::SerialTaken),
            Some(_) => Ok(Accepted::Stale),
            None => Err(unavailable(error)),
        }
    }

    async fn close_repayment(
        &self,
        claim: &ClaimRecord,
        close: &RepaymentClose<'_>,
        payouts: &[Movement],
        at: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let repayment = close.repayment;
        let outcome = built(
            Update::builder()
                .table_name(&self.table)
                .key("pk", s(repayment_pk(&repayment.claim.source, &repayment.serial)))
                .key("sk", s(REPAYMENT_SK))
                .update_expression("SET #status = :outcome, #closedAt = :at")
                .condition_expression("#status = :collecting")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#closedAt", "closedAt")
                .expression_attribute_values(":outcome", s(name(close.outcome)))
                .expression_attribute_values(":collecting", s(name(RepaymentStatus::Collecting)))
                .expression_attribute_values(":at", s(at.to_rfc3339()))
                .build(),
        )?;
        let edit = ClaimEdit {
            change: Some(close.change),
            set: vec![
                ("installmentsPaid", n(close.paid)),
                ("repaidPrincipal", n(close.repaid.principal)),
                ("repaidInterest", n(close.repaid.interest)),
                ("repaidOverdueFee", n(close.repaid.overdue_fee)),
            ],
            remove: vec!["collecting"],
        };
        let mut request =
            self.client.transact_write_items().transact_items(TransactWriteItem::builder().update(outcome).build());
        for item in claim_update(&self.table, claim, &edit)? {
            request = request.transact_items(item);
        }
        for payout in payouts {
            request = request.transact_items(put_movement(&self.table, payout, at)?);
        }
        transact(request).await
    }
}
