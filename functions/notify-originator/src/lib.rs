//! Interface 6's worker: takes announcements from the notify queue and delivers the claim's
//! outstanding notices to the originator, in sequence order. While the originator is down a
//! message backs off (doubling, up to 15 minutes); after the queue's receive budget it goes
//! to the dead-letter queue, whose alarm calls an operator. Nothing is dropped silently.

use aws_lambda_events::event::sqs::SqsMessage;
use hub::App;
use hub::domain::claim::ClaimNo;
use hub::domain::movement::ClaimKey;
use hub::domain::notice::{self, Announcement};

/// Longest backoff SQS allows a message to hide for, within our taste: 15 minutes.
const MAX_BACKOFF_SECONDS: i32 = 900;

pub async fn handle(app: &App, message: SqsMessage) -> Result<(), String> {
    let body = message.body.as_deref().ok_or("message has no body")?;
    let announcement: Announcement = serde_json::from_str(body).map_err(|e| format!("not an announcement: {e}"))?;
    let claim_no = ClaimNo::parse(&announcement.claim_no).map_err(|e| format!("claimNo {e}"))?;
    let claim = ClaimKey { source: announcement.source, claim_no };
    match notice::deliver(&app.store, &app.originator, &claim, app.clock.now()).await {
        Ok(_) => Ok(()),
        Err(error) => {
            let receives = message.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
            let delay = backoff(app.settings.notice_backoff_seconds, receives);
            if let Some(receipt) = message.receipt_handle.as_deref() {
                if let Err(e) = app.queues.back_off_notice(receipt, delay).await {
                    tracing::warn!(error = %e, "could not delay the retry; it comes back after the visibility timeout");
                }
            }
            Err(format!("{error}; next try in {delay} s"))
        }
    }
}

/// `base` seconds after the first failure, doubling with every receive, at most 15 minutes.
pub fn backoff(base: i32, receives: u32) -> i32 {
    let doubled = i64::from(base) << receives.saturating_sub(1).min(20);
    doubled.min(i64::from(MAX_BACKOFF_SECONDS)) as i32
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_fifteen_minutes() {
        let delays: Vec<i32> = (1..=7).map(|n| super::backoff(30, n)).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(super::backoff(1, 1000), 900);
    }
}
