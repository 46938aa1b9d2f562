//! The steps of the money chain, carried by the FIFO steps queue. Each step is idempotent:
//! running it twice, late or after a crash changes nothing the first run did not.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Step {
    /// Send a pending movement to the payment platform (interface 8 or 9).
    RequestMovement { serial: String },
    /// A movement reached a final status: move the claim and its investments on.
    MovementSettled { serial: String },
    /// A funded claim: pay the borrower.
    StartDisbursement { source: String, claim_no: String },
    /// A new listing: fetch the borrower's profile (interface 2) and run the conflict check.
    CheckBorrower { source: String, claim_no: String },
}

impl Step {
    /// SQS FIFO de-duplication id: the same step for the same movement is sent once per
    /// five-minute window; later duplicates are harmless because every step is idempotent.
    pub fn dedup_id(&self) -> String {
        match self {
            Step::RequestMovement { serial } => format!("request-{serial}"),
            Step::MovementSettled { serial } => format!("settled-{serial}"),
            Step::StartDisbursement { source, claim_no } => format!("disburse-{source}-{claim_no}"),
            Step::CheckBorrower { source, claim_no } => format!("borrower-{source}-{claim_no}"),
        }
    }
}
