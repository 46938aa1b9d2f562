//! The interface 6 outbox: `pk = CLAIM#<source>#<claimNo>`, `sk = NOTICE#<sequence, 10 digits>`.
//! Undelivered notices are indexed by `gsi1pk = NOTICE#DUE` (sorted by time) for the
//! reconciler; delivery removes them from the index.

use super::claims::claim_pk;
use super::funding::claim_key;
use super::{DynamoStore, Item, Reader, n, s, unavailable};
use crate::domain::movement::ClaimKey;
use crate::domain::notice::Notice;
use crate::domain::ports::{NoticeStore, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

const DUE_INDEX: &str = "NOTICE#DUE";

fn notice_sk(sequence: u32) -> String {
    format!("NOTICE#{sequence:010}")
}

pub(super) fn notice_item(notice: &Notice) -> Item {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(claim_pk(&notice.claim.source, &notice.claim.claim_no))),
        ("sk".to_owned(), s(notice_sk(notice.sequence))),
        ("eventId".to_owned(), s(&notice.event_id)),
        ("source".to_owned(), s(&notice.claim.source)),
        ("claimNo".to_owned(), s(notice.claim.claim_no.as_str())),
        ("sequence".to_owned(), n(notice.sequence)),
        ("status".to_owned(), s(notice.status.as_str())),
        ("occurredAt".to_owned(), s(notice.occurred_at.to_rfc3339())),
        ("gsi1pk".to_owned(), s(DUE_INDEX)),
        ("gsi1sk".to_owned(), s(notice.occurred_at.to_rfc3339())),
    ]);
    if let Some(reason) = &notice.reason {
        item.insert("reason".to_owned(), s(reason));
    }
    item
}

fn notice_from_item(item: &Item) -> Result<(Notice, Option<DateTime<Utc>>), StoreError> {
    let r = Reader(item);
    let notice = Notice {
        event_id: r.s("eventId")?.to_owned(),
        claim: claim_key(&r)?,
        sequence: r.n("sequence")?,
        status: r.named("status")?,
        occurred_at: r.time("occurredAt")?,
        reason: r.optional_s("reason"),
    };
    let delivered = if item.contains_key("deliveredAt") { Some(r.time("deliveredAt")?) } else { None };
    Ok((notice, delivered))
}

impl NoticeStore for DynamoStore {
    async fn undelivered_notices(&self, claim: &ClaimKey) -> Result<Vec<Notice>, StoreError> {
        Ok(self
            .notices(claim)
            .await?
            .into_iter()
            .filter(|(_, delivered)| delivered.is_none())
            .map(|(n, _)| n)
            .collect())
    }

    async fn mark_delivered(&self, notice: &Notice, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(claim_pk(&notice.claim.source, &notice.claim.claim_no)))
            .key("sk", s(notice_sk(notice.sequence)))
            .update_expression("SET #delivered = if_not_exists(#delivered, :at) REMOVE #gsi1pk, #gsi1sk")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#delivered", "deliveredAt")
            .expression_attribute_names("#gsi1pk", "gsi1pk")
            .expression_attribute_names("#gsi1sk", "gsi1sk")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn claims_with_notices_due(&self, before: DateTime<Utc>) -> Result<Vec<ClaimKey>, StoreError> {
        let items = self.in_index(DUE_INDEX, Some(before)).await?;
        let mut claims = items.iter().map(|item| claim_key(&Reader(item))).collect::<Result<Vec<_>, _>>()?;
        claims.sort();
        claims.dedup();
        Ok(claims)
    }

    async fn postpone_notices(&self, claim: &ClaimKey, until: DateTime<Utc>) -> Result<(), StoreError> {
        for notice in self.undelivered_notices(claim).await? {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(claim_pk(&notice.claim.source, &notice.claim.claim_no)))
                .key("sk", s(notice_sk(notice.sequence)))
                .update_expression("SET #gsi1sk = :until")
                .condition_expression("#gsi1pk = :due")
                .expression_attribute_names("#gsi1pk", "gsi1pk")
                .expression_attribute_names("#gsi1sk", "gsi1sk")
                .expression_attribute_values(":until", s(until.to_rfc3339()))
                .expression_attribute_values(":due", s(DUE_INDEX))
                .send()
                .await;
            // Delivered meanwhile: nothing to postpone.
            super::unless_already(result)?;
        }
        Ok(())
    }

    async fn notices(&self, claim: &ClaimKey) -> Result<Vec<(Notice, Option<DateTime<Utc>>)>, StoreError> {
        let items = self.items_under(claim_pk(&claim.source, &claim.claim_no), "NOTICE#").await?;
        items.iter().map(notice_from_item).collect()
    }
}
