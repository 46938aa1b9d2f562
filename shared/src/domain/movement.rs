//! Money movements through the payment platform (interfaces 8-12), their deterministic serial
//! numbers, how a reported result settles one, and the double-entry ledger entries it posts.

use super::claim::ClaimNo;
use super::error::ApiError;
use super::money::Money;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A claim, named the way every key names it: originator and claim number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClaimKey {
    pub source: String,
    pub claim_no: ClaimNo,
}

impl fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.source, self.claim_no)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MovementKind {
    Collection,
    Payout,
}

/// What a movement is for; it fixes the serial's shape and the ledger accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Purpose {
    /// Investor -> escrow (interface 8).
    Investment,
    /// Escrow -> borrower, amount minus upfront fee (interface 9).
    Disbursement,
    /// Escrow -> income, the upfront fee (interface 9).
    UpfrontFee,
    /// Escrow -> investor, a succeeded investment paid back in full (interface 9).
    Refund,
    /// Borrower -> escrow, a repayment accepted through interface 5 (interface 8).
    Repayment,
    /// Escrow -> investor, their principal and interest from one repayment (interface 9).
    InvestorReturn,
    /// Escrow -> income, the spread and overdue fee of one repayment (interface 9).
    IncomeShare,
}

impl Purpose {
    pub fn kind(self) -> MovementKind {
        match self {
            Purpose::Investment | Purpose::Repayment => MovementKind::Collection,
            Purpose::Disbursement
            | Purpose::UpfrontFee
            | Purpose::Refund
            | Purpose::InvestorReturn
            | Purpose::IncomeShare => MovementKind::Payout,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MovementStatus {
    Pending,
    Succeeded,
    Failed,
}

/// The payment platform's idempotency key for a movement: derived from what the movement is
/// for, so a retried step sends the same serial. `attempt` > 1 only after a transient failure.
/// `<prefix>-<attempt>-<subject>` reads back unambiguously: the attempt is digits up to the
/// first `-`, the subject (an investment id or `<source>-<claimNo>`, after `<n>-` for the n-th
/// repayment's movements) is the rest.
pub fn serial(purpose: Purpose, subject: &str, attempt: u32) -> String {
    let prefix = match purpose {
        Purpose::Investment => "COL-INV",
        Purpose::Disbursement => "PAY-DIS",
        Purpose::UpfrontFee => "PAY-FEE",
        Purpose::Refund => "PAY-REF",
        Purpose::Repayment => "COL-REP",
        Purpose::InvestorReturn => "PAY-RET",
        Purpose::IncomeShare => "PAY-INC",
    };
    // The attempt comes before the subject, so no claim number can imitate a retry's serial.
    format!("{prefix}-{}-{subject}", attempt.max(1))
}

/// Where a movement waits for the reconciler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Sent (or about to be) and not yet reported final.
    Pending,
    /// Final, and the chain has not yet acted on it (its `MovementSettled` step is not done).
    Settled,
}

/// The failure reason a payment platform gives for a failure worth retrying.
pub const TRANSIENT: &str = "TRANSIENT";

/// Transient failures retried before an operator must look.
pub const MAX_ATTEMPTS: u32 = 5;

/// A ledger account (SPEC section 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    Escrow(String),
    Income,
    Investor(String),
    Borrower(String),
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Escrow(claim) => write!(f, "escrow:{claim}"),
            Account::Income => f.write_str("income"),
            Account::Investor(id) => write!(f, "investor:{id}"),
            Account::Borrower(id) => write!(f, "borrower:{id}"),
        }
    }
}

impl Account {
    /// What kind of account, without saying whose.
    pub fn kind(&self) -> &'static str {
        match self {
            Account::Escrow(_) => "escrow",
            Account::Income => "income",
            Account::Investor(_) => "investor",
            Account::Borrower(_) => "borrower",
        }
    }
}

impl std::str::FromStr for Account {
    type Err = String;
    fn from_str(s: &str) -> Result<Account, String> {
        match s.split_once(':') {
            None if s == "income" => Ok(Account::Income),
            Some(("escrow", who)) => Ok(Account::Escrow(who.to_owned())),
            Some(("investor", who)) => Ok(Account::Investor(who.to_owned())),
            Some(("borrower", who)) => Ok(Account::Borrower(who.to_owned())),
            _ => Err(format!("unknown account {s:?}")),
        }
    }
}

/// An entry as posted: when, and for which movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub entry: Entry,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One double-entry posting: `amount` leaves `credit` and arrives in `debit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub serial: String,
    pub debit: Account,
    pub credit: Account,
    pub amount: Money,
}

/// A movement as the hub tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub serial: String,
    pub purpose: Purpose,
    pub claim: ClaimKey,
    pub amount: Money,
    pub status: MovementStatus,
    /// The investor or borrower on the other side (`None` for the income account).
    pub party: Option<String>,
    pub investment_id: Option<String>,
    pub failure_reason: Option<String>,
    /// 1, or more after transient failures; part of the serial.
    pub attempt: u32,
}

impl Movement {
    /// A new pending movement; `subject` (an investment id, or the claim for disbursement and
    /// fee) and `attempt` fix its serial.
    pub fn pending(
        purpose: Purpose,
        claim: &ClaimKey,
        subject: &str,
        attempt: u32,
        amount: Money,
        party: Option<String>,
    ) -> Movement {
        Movement {
            serial: serial(purpose, subject, attempt),
            purpose,
            claim: claim.clone(),
            amount,
            status: MovementStatus::Pending,
            party,
            investment_id: matches!(purpose, Purpose::Investment | Purpose::Refund).then(|| subject.to_owned()),
            failure_reason: None,
            attempt,
        }
    }

    /// The same movement tried again under the next serial, after a transient failure.
    pub fn retry(&self) -> Movement {
        let subject = self.subject();
        let mut next =
            Movement::pending(self.purpose, &self.claim, subject, self.attempt + 1, self.amount, self.party.clone());
        next.investment_id.clone_from(&self.investment_id);
        next
    }

    /// The serial without its prefix and attempt: what `serial` was given as `subject`.
    fn subject(&self) -> &str {
        let after_prefix = self.serial.splitn(3, '-').nth(2).unwrap_or_default();
        after_prefix.split_once('-').map(|(_, subject)| subject).unwrap_or_default()
    }

    /// Worth another attempt under a new serial: the platform said the failure was transient.
    pub fn failed_transiently(&self) -> bool {
        self.status == MovementStatus::Failed && self.failure_reason.as_deref() == Some(TRANSIENT)
    }

    /// The posting a succeeded movement makes. Failed movements post nothing.
    pub fn entry(&self) -> Entry {
        let escrow = Account::Escrow(self.claim.to_string());
        let party = self.party.clone().unwrap_or_default();
        let (debit, credit) = match self.purpose {
            Purpose::Investment => (escrow, Account::Investor(party)),
            Purpose::Disbursement => (Account::Borrower(party), escrow),
            Purpose::UpfrontFee => (Account::Income, escrow),
            Purpose::Refund | Purpose::InvestorReturn => (Account::Investor(party), escrow),
            Purpose::Repayment => (escrow, Account::Borrower(party)),
            Purpose::IncomeShare => (Account::Income, escrow),
        };
        Entry { serial: self.serial.clone(), debit, credit, amount: self.amount }
    }
}

/// What a reported result (callback or status query) does to a movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The movement moves from pending to this final status.
    Apply(MovementStatus),
    /// The same final status again: acknowledged, nothing changes.
    Duplicate,
    /// A different final status after a final one: never undone, recorded for an operator.
    Contradiction { kept: MovementStatus, reported: MovementStatus },
    /// Still pending at the payment platform: nothing to do yet.
    StillPending,
}

/// Decides how a report settles a movement. The amount must match the movement exactly.
pub fn settle(movement: &Movement, reported: MovementStatus, amount: Money) -> Result<Settlement, ApiError> {
    if amount != movement.amount {
        return Err(ApiError::Conflict(format!(
            "amount {amount} does not match movement {} of {}",
            movement.serial, movement.amount
        )));
    }
    Ok(match (movement.status, reported) {
        (_, MovementStatus::Pending) => Settlement::StillPending,
        (MovementStatus::Pending, final_status) => Settlement::Apply(final_status),
        (kept, reported) if kept == reported => Settlement::Duplicate,
        (kept, reported) => Settlement::Contradiction { kept, reported },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn movement(purpose: Purpose, status: MovementStatus) -> Movement {
        Movement {
            serial: serial(purpose, "doit-C1", 1),
            purpose,
            claim: ClaimKey { source: "doit".into(), claim_no: ClaimNo::parse("C1").unwrap() },
            amount: Money::from_decimal(Decimal::from(500_000)),
            status,
            party: Some("I-1".into()),
            investment_id: None,
            failure_reason: None,
            attempt: 1,
        }
    }

    #[test]
    fn serials_are_deterministic_per_purpose_and_attempt() {
        assert_eq!(serial(Purpose::Investment, "abc", 1), "COL-INV-1-abc");
        assert_eq!(serial(Purpose::Disbursement, "doit-C1", 1), "PAY-DIS-1-doit-C1");
        assert_eq!(serial(Purpose::Disbursement, "doit-C1", 2), "PAY-DIS-2-doit-C1");
        // Claim X's retry and claim "X-R2" (or "2-…") never share a serial.
        assert_ne!(serial(Purpose::Disbursement, "doit-X", 2), serial(Purpose::Disbursement, "doit-X-R2", 1));
        assert_ne!(serial(Purpose::Disbursement, "doit-X", 2), serial(Purpose::Disbursement, "2-doit-X", 1));
        assert_eq!(Purpose::Refund.kind(), MovementKind::Payout);
    }

    #[test]
    fn a_report_applies_once_and_never_undoes_a_final_status() {
        use MovementStatus::*;
        let amount = Money::from_decimal(Decimal::from(500_000));
        let pending = movement(Purpose::Investment, Pending);
        assert_eq!(settle(&pending, Succeeded, amount).unwrap(), Settlement::Apply(Succeeded));
        assert_eq!(settle(&pending, Pending, amount).unwrap(), Settlement::StillPending);
        let done = movement(Purpose::Investment, Succeeded);
        assert_eq!(settle(&done, Succeeded, amount).unwrap(), Settlement::Duplicate);
        assert_eq!(
            settle(&done, Failed, amount).unwrap(),
            Settlement::Contradiction { kept: Succeeded, reported: Failed }
        );
        let wrong = Money::from_decimal(Decimal::from(499_999));
        assert!(matches!(settle(&pending, Succeeded, wrong), Err(ApiError::Conflict(_))));
    }

    #[test]
    fn accounts_read_back_as_written() {
        for account in [Account::Escrow("doit-C1".into()), Account::Income, Account::Investor("INV-1".into())] {
            assert_eq!(account.to_string().parse::<Account>(), Ok(account));
        }
        assert!("wallet:x".parse::<Account>().is_err());
    }

    #[test]
    fn entries_move_money_through_the_claims_escrow() {
        use MovementStatus::Succeeded;
        let escrow = Account::Escrow("doit-C1".into());
        let e = movement(Purpose::Investment, Succeeded).entry();
        assert_eq!((e.debit, e.credit), (escrow.clone(), Account::Investor("I-1".into())));
        let e = movement(Purpose::UpfrontFee, Succeeded).entry();
        assert_eq!((e.debit, e.credit), (Account::Income, escrow.clone()));
        let e = movement(Purpose::Refund, Succeeded).entry();
        assert_eq!((e.debit, e.credit), (Account::Investor("I-1".into()), escrow));
    }
}
