//! The claim lifecycle (SPEC section 3).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClaimStatus {
    Listed,
    Funding,
    Funded,
    Disbursing,
    Disbursed,
    Repaying,
    Repaid,
    Settled,
    ListingFailed,
    DisburseFailed,
    Overdue,
    RepayFailed,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 12] = [
        ClaimStatus::Listed,
        ClaimStatus::Funding,
        ClaimStatus::Funded,
        ClaimStatus::Disbursing,
        ClaimStatus::Disbursed,
        ClaimStatus::Repaying,
        ClaimStatus::Repaid,
        ClaimStatus::Settled,
        ClaimStatus::ListingFailed,
        ClaimStatus::DisburseFailed,
        ClaimStatus::Overdue,
        ClaimStatus::RepayFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Listed => "LISTED",
            ClaimStatus::Funding => "FUNDING",
            ClaimStatus::Funded => "FUNDED",
            ClaimStatus::Disbursing => "DISBURSING",
            ClaimStatus::Disbursed => "DISBURSED",
            ClaimStatus::Repaying => "REPAYING",
            ClaimStatus::Repaid => "REPAID",
            ClaimStatus::Settled => "SETTLED",
            ClaimStatus::ListingFailed => "LISTING_FAILED",
            ClaimStatus::DisburseFailed => "DISBURSE_FAILED",
            ClaimStatus::Overdue => "OVERDUE",
            ClaimStatus::RepayFailed => "REPAY_FAILED",
        }
    }

    /// Final states: nothing moves after them.
    pub fn is_final(self) -> bool {
        matches!(self, ClaimStatus::Settled | ClaimStatus::ListingFailed | ClaimStatus::DisburseFailed)
    }

    /// Statuses the originator is told about through interface 6 (SPEC section 3).
    pub fn notifies(self) -> bool {
        use ClaimStatus::*;
        matches!(self, ListingFailed | Disbursed | DisburseFailed | Repaying | Repaid | Settled | Overdue | RepayFailed)
    }

    /// The transitions the lifecycle allows; every status change is checked against this.
    pub fn can_move_to(self, next: ClaimStatus) -> bool {
        use ClaimStatus::*;
        matches!(
            (self, next),
            (Listed, Funding | Funded | ListingFailed)
                | (Funding, Funding | Funded | ListingFailed)
                | (Funded, Disbursing)
                | (Disbursing, Disbursed | DisburseFailed)
                | (Disbursed, Repaying | Repaid | Overdue | RepayFailed)
                | (Repaying, Repaying | Repaid | Overdue | RepayFailed)
                | (Overdue, Repaying | Repaid | Overdue | RepayFailed)
                | (RepayFailed, Repaying | Repaid | Overdue)
                | (Repaid, Settled)
        )
    }
}

impl fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClaimStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClaimStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown claim status {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::ClaimStatus::*;
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in ClaimStatus::ALL {
            assert_eq!(status.as_str().parse::<ClaimStatus>(), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }

    #[test]
    fn happy_path_and_side_exits_are_allowed_and_nothing_leaves_a_final_state() {
        let path = [Listed, Funding, Funded, Disbursing, Disbursed, Repaying, Repaid, Settled];
        for pair in path.windows(2) {
            assert!(pair[0].can_move_to(pair[1]), "{} -> {}", pair[0], pair[1]);
        }
        assert!(Listed.can_move_to(ListingFailed));
        assert!(Disbursing.can_move_to(DisburseFailed));
        assert!(!Listed.can_move_to(Disbursed));
        assert!(!Funded.can_move_to(ListingFailed));
        for done in ClaimStatus::ALL.into_iter().filter(|s| s.is_final()) {
            assert!(ClaimStatus::ALL.into_iter().all(|next| !done.can_move_to(next)), "{done}");
        }
    }
}
