//! The SQS adapter: the FIFO steps queue (one message group per claim) and the notify queue
//! (standard; the notify worker delivers a claim's notices in sequence order itself).

use crate::domain::movement::ClaimKey;
use crate::domain::notice::Announcement;
use crate::domain::ports::{StepQueue, StoreError};
use crate::domain::steps::Step;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;

#[derive(Debug, Clone)]
pub struct SqsQueues {
    client: Client,
    /// `None` when not configured: sending then fails clearly.
    steps_url: Option<String>,
    notices_url: Option<String>,
}

fn unavailable(e: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

fn configured<'a>(url: &'a Option<String>, name: &str) -> Result<&'a str, StoreError> {
    url.as_deref().ok_or_else(|| StoreError::Unavailable(format!("{name} is not set")))
}

impl SqsQueues {
    pub fn new(client: Client, steps_url: Option<String>, notices_url: Option<String>) -> SqsQueues {
        SqsQueues { client, steps_url, notices_url }
    }

    /// Keeps a failed notify message invisible for `seconds` before it is tried again (the
    /// backoff while the originator is down).
    pub async fn back_off_notice(&self, receipt_handle: &str, seconds: i32) -> Result<(), StoreError> {
        let url = configured(&self.notices_url, crate::config::env::NOTICES_QUEUE_URL)?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl StepQueue for SqsQueues {
    async fn enqueue(&self, claim: &ClaimKey, step: &Step) -> Result<(), StoreError> {
        let body = serde_json::to_string(step).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(configured(&self.steps_url, crate::config::env::STEPS_QUEUE_URL)?)
            .message_body(body)
            .message_group_id(claim.to_string())
            .message_deduplication_id(step.dedup_id())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn announce(&self, claim: &ClaimKey) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(&Announcement::of(claim)).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(configured(&self.notices_url, crate::config::env::NOTICES_QUEUE_URL)?)
            .message_body(body)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
