//! The scheduled reconciler (interface 12): see `hub::domain::reconcile`.

use hub::domain::reconcile;
use hub::{ApiError, App};
use serde_json::{Value, json};

pub async fn run(app: &App) -> Result<Value, ApiError> {
    let now = app.clock.now();
    // Boxed: the future is deep enough to exceed the compiler's layout recursion limit.
    let run = reconcile::reconcile(&app.store, &app.payment, &app.queues, app.settings.reconcile_after, now);
    let done = Box::pin(run).await?;
    Ok(json!(done))
}
