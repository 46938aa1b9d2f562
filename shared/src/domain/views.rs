//! The answers of interfaces 1 and 7. Amounts are strings.

use super::funding::{FundingRules, Investment, listing_closes_at, open_amount};
use super::movement::Posting;
use super::notice::Notice;
use super::record::ClaimRecord;
use super::repaying::{Owed, claim_due_dates};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

/// Interface 1's answer: the claim as accepted. A replay renders the same stored record, so
/// it answers byte for byte what the first call did.
pub fn intake_answer(record: &ClaimRecord) -> Value {
    let accepted = record.history.first().map(|c| c.status).unwrap_or(record.status);
    json!({
        "claimNo": record.claim.claim_no.as_str(),
        "status": accepted,
        "acceptedAt": record.accepted_at,
        "amount": record.claim.amount,
        "totalInterest": record.schedule.total_interest(),
        "disbursementAmount": record.claim.disbursement_amount(),
        "schedule": record.schedule.installments,
    })
}

/// The schedule as it stands on `today` (Jakarta): due dates once disbursed, and each
/// instalment `PAID`, `COLLECTING`, `OVERDUE` or `DUE`.
fn schedule_now(record: &ClaimRecord, today: NaiveDate) -> Value {
    let dues = claim_due_dates(record);
    let rows = record.schedule.installments.iter().enumerate().map(|(k, i)| {
        let mut row = json!({"installmentNo": i.installment_no, "principal": i.principal, "interest": i.interest});
        if let Some(due) = dues.as_ref().and_then(|d| d.get(k)) {
            let paid = (k as u32) < record.installments_paid;
            let state = match () {
                _ if paid => "PAID",
                _ if k as u32 == record.installments_paid && record.collecting.is_some() => "COLLECTING",
                _ if *due < today => "OVERDUE",
                _ => "DUE",
            };
            row["dueDate"] = json!(due.to_string());
            row["state"] = json!(state);
        }
        row
    });
    Value::Array(rows.collect())
}

/// Interface 7's answer: the claim as it stands now, with its investments, ledger and the
/// interface 6 notices it produced; once disbursed, the schedule with due dates and what the
/// next instalment costs today (`nextInstallmentDue`, overdue fee included).
pub fn status_answer(
    record: &ClaimRecord,
    investments: &[Investment],
    notices: &[(Notice, Option<DateTime<Utc>>)],
    ledger: &[Posting],
    today: NaiveDate,
    next_due: Option<Owed>,
) -> Value {
    let claim = &record.claim;
    json!({
        "claimNo": claim.claim_no.as_str(),
        "source": claim.source,
        "status": record.status,
        "acceptedAt": record.accepted_at,
        "listedAt": claim.listed_at.to_rfc3339(),
        "amount": claim.amount,
        "upfrontFee": claim.upfront_fee,
        "investorRate": claim.investor_rate,
        "loanRate": claim.loan_rate,
        "term": claim.term.count(),
        "termUnit": claim.term.unit(),
        "repaymentMethod": claim.repayment_method,
        "loanType": claim.loan_type,
        "totalInterest": record.schedule.total_interest(),
        "disbursementAmount": claim.disbursement_amount(),
        "schedule": schedule_now(record, today),
        "installmentsPaid": record.installments_paid,
        "nextInstallmentDue": next_due.map(|o| o.json()),
        "fundedAmount": record.funded_amount,
        "escrowBalance": record.escrow_balance,
        "investments": investments.iter().map(|i| json!({
            "investmentId": i.investment_id,
            "amount": i.amount,
            "status": i.status,
            "serialNo": i.serial,
            "createdAt": i.created_at,
        })).collect::<Vec<_>>(),
        "repaid": {
            "principal": record.repaid.principal,
            "interest": record.repaid.interest,
            "overdueFee": record.repaid.overdue_fee,
        },
        "statusHistory": record.history.iter().map(|c| {
            let mut entry = json!({"status": c.status, "at": c.at});
            if let Some(reason) = &c.reason {
                entry["reason"] = json!(reason);
            }
            entry
        }).collect::<Vec<_>>(),
        "ledger": ledger.iter().map(|p| json!({
            "serialNo": p.entry.serial,
            "from": p.entry.credit.kind(),
            "to": p.entry.debit.kind(),
            "amount": p.entry.amount,
            "at": p.at,
        })).collect::<Vec<_>>(),
        "notifications": notices.iter().map(|(n, delivered)| json!({
            "eventId": n.event_id,
            "sequence": n.sequence,
            "status": n.status,
            "deliveredAt": delivered,
        })).collect::<Vec<_>>(),
    })
}

/// A listing as investors see it: the loan's terms, never the borrower's NIK, phone, name or
/// account.
pub fn listing(record: &ClaimRecord, rules: &FundingRules) -> Value {
    let claim = &record.claim;
    json!({
        "claimNo": claim.claim_no.as_str(),
        "source": claim.source,
        "status": record.status,
        "riskGrade": claim.risk_grade,
        "loanPurpose": claim.loan_purpose,
        "loanType": claim.loan_type,
        "amount": claim.amount,
        "openAmount": open_amount(record),
        "investorRate": claim.investor_rate,
        "term": claim.term.count(),
        "termUnit": claim.term.unit(),
        "repaymentMethod": claim.repayment_method,
        "listedAt": claim.listed_at.to_rfc3339(),
        "closesAt": listing_closes_at(record, rules),
        "borrower": record.borrower.as_ref().map(|b| json!({
            "maskedName": b.masked_name,
            "age": b.age,
            "gender": b.gender,
            "education": b.education,
            "occupation": b.occupation,
            "verifiedDocuments": b.verified_documents,
        })),
    })
}

/// An investment as the investor front end sees it.
pub fn investment(investment: &Investment) -> Value {
    json!({
        "investmentId": investment.investment_id,
        "investorId": investment.investor_id,
        "claimNo": investment.claim.claim_no.as_str(),
        "source": investment.claim.source,
        "amount": investment.amount,
        "status": investment.status,
        "serialNo": investment.serial,
        "createdAt": investment.created_at,
    })
}
