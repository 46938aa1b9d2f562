//! The DynamoDB adapter: one table, `pk`/`sk` keys, TTL on `expiresAt`.
//!
//! Items: a claim is `pk = CLAIM#<source>#<claimNo>`, `sk = CLAIM`; a seen nonce is
//! `pk = NONCE#<partner>#<nonce>`, `sk = NONCE` with a TTL. Money and rates are DynamoDB
//! numbers, read back as `Decimal`. Every expression names attributes through `#aliases`, so
//! reserved words such as `status` never appear in one.

use crate::domain::claim::{BankAccount, Claim, ClaimNo};
use crate::domain::money::{Money, PercentRate};
use crate::domain::ports::{ClaimStore, Insert, NonceStore, StoreError, Transition};
use crate::domain::record::{ClaimRecord, Repaid, StatusChange};
use crate::domain::schedule::{Installment, Schedule, Term};
use crate::domain::status::ClaimStatus;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }
}

pub fn claim_pk(source: &str, claim_no: &ClaimNo) -> String {
    format!("CLAIM#{source}#{claim_no}")
}

const CLAIM_SK: &str = "CLAIM";
const NONCE_SK: &str = "NONCE";

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
                None => Err(StoreError::Unavailable(
                    "claim vanished after a conflicting write".into(),
                )),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get_claim(
        &self,
        source: &str,
        claim_no: &ClaimNo,
    ) -> Result<Option<ClaimRecord>, StoreError> {
        match self.get_item(claim_pk(source, claim_no), CLAIM_SK).await? {
            Some(item) => claim_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn change_status(
        &self,
        record: &ClaimRecord,
        from: ClaimStatus,
        change: &StatusChange,
    ) -> Result<Transition, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                "pk",
                s(claim_pk(&record.claim.source, &record.claim.claim_no)),
            )
            .key("sk", s(CLAIM_SK))
            .update_expression(
                "SET #status = :to, #history = list_append(#history, :change), #version = :next",
            )
            .condition_expression("#status = :from AND #version = :version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#history", "history")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":to", s(change.status.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":change", AttributeValue::L(vec![history_entry(change)]))
            .expression_attribute_values(":version", n(record.version))
            .expression_attribute_values(":next", n(record.version + 1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Transition::Applied),
            Err(e) if is_condition_failure(&e) => Ok(Transition::Stale),
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl NonceStore for DynamoStore {
    async fn remember_nonce(
        &self,
        partner: &str,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("NONCE#{partner}#{nonce}")))
            .item("sk", s(NONCE_SK))
            .item("expiresAt", n(expires_at.timestamp()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn history_entry(change: &StatusChange) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("status".to_owned(), s(change.status.as_str())),
        ("at".to_owned(), s(change.at.to_rfc3339())),
    ]))
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
    HashMap::from([
        ("pk".to_owned(), s(claim_pk(&claim.source, &claim.claim_no))),
        ("sk".to_owned(), s(CLAIM_SK)),
        ("claimNo".to_owned(), s(claim.claim_no.as_str())),
        ("source".to_owned(), s(&claim.source)),
        ("contentHash".to_owned(), s(&record.content_hash)),
        ("status".to_owned(), s(record.status.as_str())),
        (
            "history".to_owned(),
            AttributeValue::L(record.history.iter().map(history_entry).collect()),
        ),
        ("acceptedAt".to_owned(), s(record.accepted_at.to_rfc3339())),
        ("version".to_owned(), n(record.version)),
        ("loanPurpose".to_owned(), s(&claim.loan_purpose)),
        ("riskGrade".to_owned(), s(&claim.risk_grade)),
        ("investorRate".to_owned(), n(claim.investor_rate)),
        ("loanRate".to_owned(), n(claim.loan_rate)),
        ("term".to_owned(), n(claim.term.count())),
        (
            "termUnit".to_owned(),
            enum_name(serde_json::json!(claim.term.unit())),
        ),
        (
            "repaymentMethod".to_owned(),
            enum_name(serde_json::json!(claim.repayment_method)),
        ),
        (
            "loanType".to_owned(),
            enum_name(serde_json::json!(claim.loan_type)),
        ),
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
        ("repaidPrincipal".to_owned(), n(record.repaid.principal)),
        ("repaidInterest".to_owned(), n(record.repaid.interest)),
        ("repaidOverdueFee".to_owned(), n(record.repaid.overdue_fee)),
    ])
}

/// Typed reads out of an item; any surprise is `StoreError::Corrupt` naming the attribute.
struct Reader<'a>(&'a Item);

fn corrupt(name: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("{name}: {what}"))
}

impl<'a> Reader<'a> {
    fn get(&self, name: &str) -> Result<&'a AttributeValue, StoreError> {
        self.0.get(name).ok_or_else(|| corrupt(name, "missing"))
    }

    fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.get(name)?
            .as_s()
            .map(String::as_str)
            .map_err(|_| corrupt(name, "not a string"))
    }

    fn n<T: std::str::FromStr>(&self, name: &str) -> Result<T, StoreError> {
        let text = self
            .get(name)?
            .as_n()
            .map_err(|_| corrupt(name, "not a number"))?;
        text.parse().map_err(|_| corrupt(name, "unreadable number"))
    }

    fn money(&self, name: &str) -> Result<Money, StoreError> {
        self.n::<Decimal>(name).map(Money::from_decimal)
    }

    fn named<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        serde_json::from_value(serde_json::Value::String(self.s(name)?.to_owned()))
            .map_err(|_| corrupt(name, "unknown value"))
    }

    fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        DateTime::parse_from_rfc3339(self.s(name)?)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| corrupt(name, "not an RFC 3339 time"))
    }

    fn list(&self, name: &str) -> Result<Vec<Reader<'a>>, StoreError> {
        let list = self
            .get(name)?
            .as_l()
            .map_err(|_| corrupt(name, "not a list"))?;
        list.iter()
            .map(|v| {
                v.as_m()
                    .map(Reader)
                    .map_err(|_| corrupt(name, "entry not a map"))
            })
            .collect()
    }
}

fn claim_from_item(item: &Item) -> Result<ClaimRecord, StoreError> {
    let r = Reader(item);
    let claim_no = ClaimNo::parse(r.s("claimNo")?).map_err(|e| corrupt("claimNo", e))?;
    let term = Term::new(r.n("term")?, r.named("termUnit")?).map_err(|e| corrupt("term", e))?;
    let listed_at = DateTime::parse_from_rfc3339(r.s("listedAt")?)
        .map_err(|_| corrupt("listedAt", "bad time"))?;
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
        .map(|c| {
            Ok(StatusChange {
                status: c.named("status")?,
                at: c.time("at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(ClaimRecord {
        claim,
        content_hash: r.s("contentHash")?.to_owned(),
        schedule: Schedule { installments },
        status: r.named("status")?,
        history,
        accepted_at: r.time("acceptedAt")?,
        funded_amount: r.money("fundedAmount")?,
        repaid: Repaid {
            principal: r.money("repaidPrincipal")?,
            interest: r.money("repaidInterest")?,
            overdue_fee: r.money("repaidOverdueFee")?,
        },
        version: r.n("version")?,
    })
}
