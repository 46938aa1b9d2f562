//! The scheduled overdue sweep: a repaying claim whose next instalment is past its due date
//! becomes `OVERDUE` and the originator is told (SPEC section 5).

use hub::domain::repaying;
use hub::{ApiError, App};
use serde_json::{Value, json};

pub async fn run(app: &App) -> Result<Value, ApiError> {
    // Boxed: the future is deep enough to exceed the compiler's layout recursion limit.
    let sweep = repaying::mark_overdue(&app.store, &app.queues, app.clock.now());
    let marked = Box::pin(sweep).await?;
    Ok(json!({ "overdue": marked.len() }))
}
