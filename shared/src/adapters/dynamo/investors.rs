//! Investors: `pk = INVESTOR#<id>`, `sk = INVESTOR`; the phone's keyed hash is claimed by
//! `pk = PHONE#<hash>`, `sk = PHONE`, so one phone belongs to one investor.

use super::{DynamoStore, Item, Reader, cancellation_reasons, corrupt, n, s, unavailable};
use crate::domain::claim::BankAccount;
use crate::domain::investor::Investor;
use crate::domain::people::{Nik, Phone};
use crate::domain::ports::{InvestorStore, Registered, StoreError};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use std::collections::HashMap;

const INVESTOR_SK: &str = "INVESTOR";
const PHONE_SK: &str = "PHONE";

fn investor_pk(id: &str) -> String {
    format!("INVESTOR#{id}")
}

fn phone_pk(hash: &str) -> String {
    format!("PHONE#{hash}")
}

fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", "pk")
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl InvestorStore for DynamoStore {
    async fn register_investor(&self, investor: &Investor) -> Result<Registered, StoreError> {
        let phone_claim = HashMap::from([
            ("pk".to_owned(), s(phone_pk(&investor.phone_hash))),
            ("sk".to_owned(), s(PHONE_SK)),
            ("investorId".to_owned(), s(&investor.investor_id)),
        ]);
        let result = self
            .client
            .transact_write_items()
            .transact_items(put_new(&self.table, investor_item(investor))?)
            .transact_items(put_new(&self.table, phone_claim)?)
            .send()
            .await;
        let Err(error) = result else { return Ok(Registered::Created) };
        let reasons = cancellation_reasons(&error);
        match reasons.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["ConditionalCheckFailed", _] => match self.get_investor(&investor.investor_id).await? {
                Some(existing) => Ok(Registered::Existing(Box::new(existing))),
                None => Err(StoreError::Unavailable("investor vanished after a conflicting write".into())),
            },
            [_, "ConditionalCheckFailed"] => Ok(Registered::PhoneTaken),
            _ => Err(unavailable(error)),
        }
    }

    async fn get_investor(&self, investor_id: &str) -> Result<Option<Investor>, StoreError> {
        match self.get_item(investor_pk(investor_id), INVESTOR_SK).await? {
            Some(item) => investor_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn investor_with_phone(&self, phone_hash: &str) -> Result<Option<String>, StoreError> {
        match self.get_item(phone_pk(phone_hash), PHONE_SK).await? {
            Some(item) => Reader(&item).s("investorId").map(|id| Some(id.to_owned())),
            None => Ok(None),
        }
    }
}

fn investor_item(investor: &Investor) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(investor_pk(&investor.investor_id))),
        ("sk".to_owned(), s(INVESTOR_SK)),
        ("investorId".to_owned(), s(&investor.investor_id)),
        ("name".to_owned(), s(&investor.name)),
        ("nik".to_owned(), s(investor.nik.as_str())),
        ("phone".to_owned(), s(investor.phone.as_str())),
        ("nikHash".to_owned(), s(&investor.nik_hash)),
        ("phoneHash".to_owned(), s(&investor.phone_hash)),
        ("bankCode".to_owned(), s(&investor.bank.bank_code)),
        ("bankName".to_owned(), s(&investor.bank.bank_name)),
        ("bankAccountNo".to_owned(), s(&investor.bank.account_no)),
        ("bankAccountName".to_owned(), s(&investor.bank.account_name)),
        ("registeredAt".to_owned(), s(investor.registered_at.to_rfc3339())),
        ("activeInvestments".to_owned(), n(investor.active_investments)),
    ])
}

fn investor_from_item(item: &Item) -> Result<Investor, StoreError> {
    let r = Reader(item);
    Ok(Investor {
        investor_id: r.s("investorId")?.to_owned(),
        name: r.s("name")?.to_owned(),
        nik: Nik::parse(r.s("nik")?).map_err(|e| corrupt("nik", e))?,
        phone: Phone::parse(r.s("phone")?).map_err(|e| corrupt("phone", e))?,
        nik_hash: r.s("nikHash")?.to_owned(),
        phone_hash: r.s("phoneHash")?.to_owned(),
        bank: BankAccount {
            bank_code: r.s("bankCode")?.to_owned(),
            bank_name: r.s("bankName")?.to_owned(),
            account_no: r.s("bankAccountNo")?.to_owned(),
            account_name: r.s("bankAccountName")?.to_owned(),
        },
        registered_at: r.time("registeredAt")?,
        active_investments: r.n("activeInvestments")?,
    })
}
