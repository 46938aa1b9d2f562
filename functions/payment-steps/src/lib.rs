//! The money chain's worker: takes payment steps from the FIFO steps queue (grouped by claim)
//! and runs each; a failed step comes back, in order, after the visibility timeout.

use aws_lambda_events::event::sqs::SqsMessage;
use hub::App;
use hub::domain::{chain, steps::Step};

pub async fn handle(app: &App, message: SqsMessage) -> Result<(), String> {
    let body = message.body.as_deref().ok_or("message has no body")?;
    let step: Step = serde_json::from_str(body).map_err(|e| format!("not a payment step: {e}"))?;
    // Boxed: the chain's future is deep enough to exceed the compiler's layout recursion limit.
    let chain = chain::Chain {
        payment: &app.payment,
        originator: &app.originator,
        match_key: &app.settings.match_key,
        income: &app.settings.income_account,
    };
    Box::pin(chain::run(&app.store, &chain, &app.queues, &step, app.clock.now())).await.map_err(|e| e.to_string())
}
