//! Claims: `pk = CLAIM#<source>#<claimNo>`, `sk = CLAIM`.

use super::{DynamoStore, Item, Reader, corrupt, is_condition_failure, n, s, unavailable};
use crate::domain::borrower::BorrowerFacts;
use crate::domain::claim::{BankAccount, Claim, ClaimNo};
use crate::domain::money::PercentRate;
use crate::domain::movement::Movement;
use crate::domain::notice::notice_for;
use crate::domain::ports::{ClaimStore, Insert, StoreError, Transition};
use crate::domain::record::{ClaimRecord, Repaid, StatusChange};
use crate::domain::schedule::{Installment, Schedule, Term};
use crate::domain::status::ClaimStatus;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::DateTime;
use chrono::Utc;
use std::collections::HashMap;

pub fn claim_pk(source: &str, claim_no: &ClaimNo) -> String {
    format!("CLAIM#{source}#{claim_no}")
}

const CLAIM_SK: &str = "CLAIM";

/// `gsi1` partition of claims in a status, sorted by acceptance time.
pub(super) fn status_index(status: ClaimStatus) -> String {
    format!("CLAIMSTATUS#{status}")
}

impl ClaimStore for DynamoStore {
    async fn insert_claim(&self, record: &ClaimRecord) -> Result<Insert, StoreError> {
        let pk = claim_pk(&record.claim.source, &record.claim.claim_no);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(claim_item(record)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Insert::Created),
            Err(e) if is_condition_failure(&e) => match self.get_item(pk, CLAIM_SK).await? {
                Some(item) => Ok(Insert::AlreadyExists(Box::new(claim_from_item(&item)?))),
                None => Err(StoreError::Unavailable("claim vanished after a conflicting write".into())),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get_claim(&self, source: &str, claim_no: &ClaimNo) -> Result<Option<ClaimRecord>, StoreError> {
        match self.get_item(claim_pk(source, claim_no), CLAIM_SK).await? {
            Some(item) => claim_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn claims_in_status(&self, status: ClaimStatus) -> Result<Vec<ClaimRecord>, StoreError> {
        let items = self.in_index(&status_index(status), None).await?;
        items.iter().map(claim_from_item).collect()
    }

    async fn advance(
        &self,
        claim: &ClaimRecord,
        change: &StatusChange,
        movements: &[Movement],
        at: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let mut request = self.client.transact_write_items();
        for item in claim_update(&self.table, claim, &ClaimEdit { change: Some(change), ..ClaimEdit::default() })? {
            request = request.transact_items(item);
        }
        for movement in movements {
            request = request.transact_items(super::funding::put_movement(&self.table, movement, at)?);
        }
        super::transact(request).await
    }

    async fn set_borrower(&self, claim: &ClaimRecord, facts: &BorrowerFacts) -> Result<Transition, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(claim_pk(&claim.claim.source, &claim.claim.claim_no)))
            .key("sk", s(CLAIM_SK))
            .update_expression("SET #borrower = :facts, #version = :next")
            .condition_expression("#version = :version")
            .expression_attribute_names("#borrower", "borrower")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":facts", borrower_item(facts))
            .expression_attribute_values(":version", n(claim.version))
            .expression_attribute_values(":next", n(claim.version + 1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Transition::Applied),
            Err(e) if is_condition_failure(&e) => Ok(Transition::Stale),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// What one claim write changes besides its version: plain attributes to set or remove, and a
/// status change.
#[derive(Default)]
pub(super) struct ClaimEdit<'a> {
    pub change: Option<&'a StatusChange>,
    pub set: Vec<(&'static str, AttributeValue)>,
    pub remove: Vec<&'static str>,
}

/// The write of one claim change, conditional on `claim.version`: the version bump, the
/// edit's attributes, and a status change with its history entry and its interface 6 notice
/// (put in the outbox by the same transaction).
pub(super) fn claim_update(
    table: &str,
    claim: &ClaimRecord,
    edit: &ClaimEdit<'_>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
    let mut expression = vec!["#version = :next".to_owned()];
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(claim_pk(&claim.claim.source, &claim.claim.claim_no)))
        .key("sk", s(CLAIM_SK))
        .condition_expression("#version = :version")
        .expression_attribute_names("#version", "version")
        .expression_attribute_values(":version", n(claim.version))
        .expression_attribute_values(":next", n(claim.version + 1));
    for (i, (name, value)) in edit.set.iter().enumerate() {
        expression.push(format!("#set{i} = :set{i}"));
        update = update
            .expression_attribute_names(format!("#set{i}"), *name)
            .expression_attribute_values(format!(":set{i}"), value.clone());
    }
    if let Some(change) = edit.change {
        expression.push("#status = :to, #gsi1pk = :index, #history = list_append(#history, :change)".to_owned());
        update = update
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#gsi1pk", "gsi1pk")
            .expression_attribute_names("#history", "history")
            .expression_attribute_values(":to", s(change.status.as_str()))
            .expression_attribute_values(":index", s(status_index(change.status)))
            .expression_attribute_values(":change", AttributeValue::L(vec![history_entry(change)]));
    }
    let mut update_expression = format!("SET {}", expression.join(", "));
    if !edit.remove.is_empty() {
        let names: Vec<String> = (0..edit.remove.len()).map(|i| format!("#remove{i}")).collect();
        update_expression.push_str(&format!(" REMOVE {}", names.join(", ")));
        for (alias, name) in names.iter().zip(&edit.remove) {
            update = update.expression_attribute_names(alias, *name);
        }
    }
    let update = update.update_expression(update_expression).build().map_err(built)?;
    let mut items = vec![TransactWriteItem::builder().update(update).build()];
    if let Some(notice) = edit.change.and_then(|change| notice_for(claim, change)) {
        let put = Put::builder().table_name(table).set_item(Some(super::notices::notice_item(&notice))).build();
        items.push(TransactWriteItem::builder().put(put.map_err(built)?).build());
    }
    Ok(items)
}

fn borrower_item(facts: &BorrowerFacts) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("maskedName".to_owned(), s(&facts.masked_name)),
        ("age".to_owned(), n(facts.age)),
        ("gender".to_owned(), n(facts.gender)),
        ("education".to_owned(), s(&facts.education)),
        ("occupation".to_owned(), s(&facts.occupation)),
        ("verifiedDocuments".to_owned(), n(facts.verified_documents)),
        ("checkedAt".to_owned(), s(facts.checked_at.to_rfc3339())),
    ]))
}

fn borrower_from_item(r: &Reader<'_>) -> Result<BorrowerFacts, StoreError> {
    Ok(BorrowerFacts {
        masked_name: r.s("maskedName")?.to_owned(),
        age: r.n("age")?,
        gender: r.n("gender")?,
        education: r.s("education")?.to_owned(),
        occupation: r.s("occupation")?.to_owned(),
        verified_documents: r.n("verifiedDocuments")?,
        checked_at: r.time("checkedAt")?,
    })
}

fn history_entry(change: &StatusChange) -> AttributeValue {
    let mut entry =
        HashMap::from([("status".to_owned(), s(change.status.as_str())), ("at".to_owned(), s(change.at.to_rfc3339()))]);
    if let Some(reason) = &change.reason {
        entry.insert("reason".to_owned(), s(reason));
    }
    AttributeValue::M(entry)
}

fn claim_item(record: &ClaimRecord) -> Item {
    let claim = &record.claim;
    let schedule = record
        .schedule
        .installments
        .iter()
        .map(|i| {
            AttributeValue::M(HashMap::from([
                ("installmentNo".to_owned(), n(i.installment_no)),
                ("principal".to_owned(), n(i.principal)),
                ("interest".to_owned(), n(i.interest)),
            ]))
        })
        .collect();
    let enum_name = |v: serde_json::Value| s(v.as_str().unwrap_or_default());
    let mut item = HashMap::from([
        ("pk".to_owned(), s(claim_pk(&claim.source, &claim.claim_no))),
        ("sk".to_owned(), s(CLAIM_SK)),
        ("claimNo".to_owned(), s(claim.claim_no.as_str())),
        ("source".to_owned(), s(&claim.source)),
        ("contentHash".to_owned(), s(&record.content_hash)),
        ("requestHash".to_owned(), s(&record.request_hash)),
        ("status".to_owned(), s(record.status.as_str())),
        ("gsi1pk".to_owned(), s(status_index(record.status))),
        ("gsi1sk".to_owned(), s(record.accepted_at.to_rfc3339())),
        ("history".to_owned(), AttributeValue::L(record.history.iter().map(history_entry).collect())),
        ("acceptedAt".to_owned(), s(record.accepted_at.to_rfc3339())),
        ("version".to_owned(), n(record.version)),
        ("loanPurpose".to_owned(), s(&claim.loan_purpose)),
        ("riskGrade".to_owned(), s(&claim.risk_grade)),
        ("investorRate".to_owned(), n(claim.investor_rate)),
        ("loanRate".to_owned(), n(claim.loan_rate)),
        ("term".to_owned(), n(claim.term.count())),
        ("termUnit".to_owned(), enum_name(serde_json::json!(claim.term.unit()))),
        ("repaymentMethod".to_owned(), enum_name(serde_json::json!(claim.repayment_method))),
        ("loanType".to_owned(), enum_name(serde_json::json!(claim.loan_type))),
        ("amount".to_owned(), n(claim.amount)),
        ("upfrontFee".to_owned(), n(claim.upfront_fee)),
        ("listedAt".to_owned(), s(claim.listed_at.to_rfc3339())),
        ("borrowerUuid".to_owned(), s(&claim.borrower_uuid)),
        ("bankCode".to_owned(), s(&claim.bank.bank_code)),
        ("bankName".to_owned(), s(&claim.bank.bank_name)),
        ("bankAccountNo".to_owned(), s(&claim.bank.account_no)),
        ("bankAccountName".to_owned(), s(&claim.bank.account_name)),
        ("schedule".to_owned(), AttributeValue::L(schedule)),
        ("fundedAmount".to_owned(), n(record.funded_amount)),
        ("subscribedAmount".to_owned(), n(record.subscribed)),
        ("escrowBalance".to_owned(), n(record.escrow_balance)),
        ("repaidPrincipal".to_owned(), n(record.repaid.principal)),
        ("repaidInterest".to_owned(), n(record.repaid.interest)),
        ("repaidOverdueFee".to_owned(), n(record.repaid.overdue_fee)),
    ]);
    if let Some(facts) = &record.borrower {
        item.insert("borrower".to_owned(), borrower_item(facts));
    }
    item.insert("installmentsPaid".to_owned(), n(record.installments_paid));
    item.insert("repaymentsAccepted".to_owned(), n(record.repayments_accepted));
    if let Some(serial) = &record.collecting {
        item.insert("collecting".to_owned(), s(serial));
    }
    item
}

fn claim_from_item(item: &Item) -> Result<ClaimRecord, StoreError> {
    let r = Reader(item);
    let claim_no = ClaimNo::parse(r.s("claimNo")?).map_err(|e| corrupt("claimNo", e))?;
    let term = Term::new(r.n("term")?, r.named("termUnit")?).map_err(|e| corrupt("term", e))?;
    let listed_at = DateTime::parse_from_rfc3339(r.s("listedAt")?).map_err(|_| corrupt("listedAt", "bad time"))?;
    let claim = Claim {
        claim_no,
        source: r.s("source")?.to_owned(),
        loan_purpose: r.s("loanPurpose")?.to_owned(),
        risk_grade: r.s("riskGrade")?.to_owned(),
        investor_rate: PercentRate::from_stored(r.n("investorRate")?),
        loan_rate: PercentRate::from_stored(r.n("loanRate")?),
        term,
        repayment_method: r.named("repaymentMethod")?,
        loan_type: r.named("loanType")?,
        amount: r.money("amount")?,
        upfront_fee: r.money("upfrontFee")?,
        listed_at,
        borrower_uuid: r.s("borrowerUuid")?.to_owned(),
        bank: BankAccount {
            bank_code: r.s("bankCode")?.to_owned(),
            bank_name: r.s("bankName")?.to_owned(),
            account_no: r.s("bankAccountNo")?.to_owned(),
            account_name: r.s("bankAccountName")?.to_owned(),
        },
    };
    let installments = r
        .list("schedule")?
        .iter()
        .map(|i| {
            Ok(Installment {
                installment_no: i.n("installmentNo")?,
                principal: i.money("principal")?,
                interest: i.money("interest")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let history = r
        .list("history")?
        .iter()
        .map(|c| Ok(StatusChange { status: c.named("status")?, at: c.time("at")?, reason: c.optional_s("reason") }))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(ClaimRecord {
        claim,
        content_hash: r.s("contentHash")?.to_owned(),
        request_hash: r.s("requestHash")?.to_owned(),
        schedule: Schedule { installments },
        status: r.named("status")?,
        history,
        accepted_at: r.time("acceptedAt")?,
        funded_amount: r.money("fundedAmount")?,
        subscribed: r.money("subscribedAmount")?,
        escrow_balance: r.money("escrowBalance")?,
        repaid: Repaid {
            principal: r.money("repaidPrincipal")?,
            interest: r.money("repaidInterest")?,
            overdue_fee: r.money("repaidOverdueFee")?,
        },
        version: r.n("version")?,
        borrower: r.optional_map("borrower").map(|b| borrower_from_item(&b)).transpose()?,
        installments_paid: r.n("installmentsPaid")?,
        repayments_accepted: r.n("repaymentsAccepted")?,
        collecting: r.optional_s("collecting"),
    })
}
