//! Seen nonces: `pk = NONCE#<partner>#<nonce>`, `sk = NONCE`, expiring through the TTL.

use super::{DynamoStore, is_condition_failure, n, s, unavailable};
use crate::domain::ports::{NonceStore, StoreError};
use chrono::{DateTime, Utc};

const NONCE_SK: &str = "NONCE";

impl NonceStore for DynamoStore {
    async fn remember_nonce(&self, partner: &str, nonce: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("NONCE#{partner}#{nonce}")))
            .item("sk", s(NONCE_SK))
            .item("expiresAt", n(expires_at.timestamp()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}
