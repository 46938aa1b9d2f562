//! The SQS adapter: the FIFO steps queue, one message group per claim.

use crate::domain::movement::ClaimKey;
use crate::domain::ports::{StepQueue, StoreError};
use crate::domain::steps::Step;
use aws_sdk_sqs::Client;

#[derive(Debug, Clone)]
pub struct SqsStepQueue {
    client: Client,
    /// `None` when `STEPS_QUEUE_URL` is not configured: sending then fails clearly.
    url: Option<String>,
}

impl SqsStepQueue {
    pub fn new(client: Client, url: Option<String>) -> SqsStepQueue {
        SqsStepQueue { client, url }
    }
}

impl StepQueue for SqsStepQueue {
    async fn enqueue(&self, claim: &ClaimKey, step: &Step) -> Result<(), StoreError> {
        let body = serde_json::to_string(step).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let url = self.url.as_ref().ok_or_else(|| StoreError::Unavailable("STEPS_QUEUE_URL is not set".into()))?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_group_id(claim.to_string())
            .message_deduplication_id(step.dedup_id())
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
