//! The scheduled expiry: listings not fully funded within the window become `LISTING_FAILED`
//! and what was collected is refunded (SPEC section 3).

use hub::domain::chain;
use hub::{ApiError, App};
use serde_json::{Value, json};

pub async fn run(app: &App) -> Result<Value, ApiError> {
    // Boxed: the future is deep enough to exceed the compiler's layout recursion limit.
    let expiry = chain::expire_listings(&app.store, &app.queues, &app.settings.funding, app.clock.now());
    let expired = Box::pin(expiry).await?;
    Ok(json!({ "expired": expired.len() }))
}
