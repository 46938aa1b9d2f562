//! When messages a FIFO function did not finish become visible again.
//!
//! SQS makes them visible once the visibility timeout has passed since they were received.
//! moto does too, but only drops a message from its in-flight set when a later receive walks
//! past it, and skips the message's group while any other message of the group is still in
//! that set. With several messages of one group returning together, it hands out the last one
//! first (moto 5.2.5: `SQSBackend.receive_message`). So the worker releases them itself, all
//! at once, when their timeout is due (`ChangeMessageVisibility` 0), and keeps its own
//! receives from spanning that moment.

use std::time::Duration;
use tokio::time::Instant;

/// moto may answer a long poll up to a second after its wait time.
pub(super) const MOTO_POLL_OVERRUN: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(super) struct Redelivery {
    visibility_timeout: Duration,
    /// Receipt handles and when their visibility timeout ends.
    kept: Vec<(String, Instant)>,
}

impl Redelivery {
    pub(super) fn new(visibility_timeout: Duration) -> Redelivery {
        Redelivery { visibility_timeout, kept: vec![] }
    }

    /// A message received at `received_at` that goes back to the queue.
    pub(super) fn keep(&mut self, receipt_handle: String, received_at: Instant) {
        self.kept.push((receipt_handle, received_at + self.visibility_timeout));
    }

    pub(super) fn next_due(&self) -> Option<Instant> {
        self.kept.iter().map(|(_, due)| *due).min()
    }

    /// The receipt handles whose visibility timeout has ended by `now`.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<String> {
        let (due, later) = std::mem::take(&mut self.kept).into_iter().partition(|(_, at)| *at <= now);
        self.kept = later;
        due.into_iter().map(|(handle, _)| handle).collect()
    }

    /// How long a receive may wait so that it ends before the next release, or `None` when
    /// the release is too close to receive at all (sleep until it instead).
    pub(super) fn receive_wait(&self, wanted: Duration, now: Instant) -> Option<Duration> {
        let Some(due) = self.next_due() else {
            return Some(wanted);
        };
        let room = due.saturating_duration_since(now).saturating_sub(MOTO_POLL_OVERRUN);
        // Whole seconds only: SQS waits in seconds.
        let room = Duration::from_secs(room.as_secs());
        (!room.is_zero()).then(|| wanted.min(room))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_come_due_after_the_visibility_timeout() {
        let start = Instant::now();
        let mut redelivery = Redelivery::new(Duration::from_secs(5));
        redelivery.keep("a".into(), start);
        redelivery.keep("b".into(), start);
        assert_eq!(redelivery.receive_wait(Duration::from_secs(20), start), Some(Duration::from_secs(4)));
        assert_eq!(redelivery.receive_wait(Duration::from_secs(20), start + Duration::from_millis(4_500)), None);
        assert!(redelivery.take_due(start + Duration::from_secs(4)).is_empty());
        assert_eq!(redelivery.take_due(start + Duration::from_secs(5)), ["a", "b"]);
        assert_eq!(redelivery.next_due(), None);
    }
}
