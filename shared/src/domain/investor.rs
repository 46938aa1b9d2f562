//! Investors (the hub's own API for its investor front end) and interface 4's question:
//! does this person have active investments here?

use super::claim::{BankAccount, ClaimRules};
use super::error::{ApiError, FieldError};
use super::fields::{Fields, sorted};
use super::people::{MatchKey, Nik, Phone};
use super::ports::{InvestorStore, Registered};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A registered investor. Raw NIK and phone are kept because interface 3 must send them to
/// the originator; matching (interface 4) uses only the keyed hashes. `Debug` shows no
/// personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Investor {
    pub investor_id: String,
    pub name: String,
    pub nik: Nik,
    pub phone: Phone,
    pub nik_hash: String,
    pub phone_hash: String,
    pub bank: BankAccount,
    pub registered_at: DateTime<Utc>,
    /// Investments pending or paid in and not yet paid back.
    pub active_investments: u32,
}

impl std::fmt::Debug for Investor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Investor")
            .field("investor_id", &self.investor_id)
            .field("active_investments", &self.active_investments)
            .finish_non_exhaustive()
    }
}

impl Investor {
    /// Parses a registration. The investor id derives from the NIK's keyed hash: one person,
    /// one investor, and a retried registration finds the same id.
    pub fn register(
        body: &Value,
        rules: &ClaimRules,
        key: &MatchKey,
        now: DateTime<Utc>,
    ) -> Result<Investor, ApiError> {
        let object = body.as_object().ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let mut f = Fields::new(object);
        f.only(&["name", "nik", "phone", "bankCode", "bankName", "bankAccountNo", "bankAccountName"]);
        let name = f.text("name");
        let nik = f.parsed("nik", Nik::parse);
        let phone = f.parsed("phone", Phone::parse);
        let bank = f.bank_account(&rules.bank_codes);
        match (name, nik, phone, bank) {
            (Some(name), Some(nik), Some(phone), Some(bank)) if f.errors.is_empty() => {
                let nik_hash = key.nik(&nik);
                Ok(Investor {
                    investor_id: investor_id(&nik_hash),
                    phone_hash: key.phone(&phone),
                    nik_hash,
                    name,
                    nik,
                    phone,
                    bank,
                    registered_at: now,
                    active_investments: 0,
                })
            }
            _ => Err(ApiError::InvalidRequest(sorted(f.errors))),
        }
    }

    /// Same person, same details: a retried registration.
    pub fn same_registration(&self, other: &Investor) -> bool {
        (&self.name, &self.nik, &self.phone, &self.bank) == (&other.name, &other.nik, &other.phone, &other.bank)
    }
}

/// Interface 4's (and 3's) question: NIK and/or phone, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonQuery {
    pub nik: Option<Nik>,
    pub phone: Option<Phone>,
}

impl PersonQuery {
    pub fn parse(body: &Value) -> Result<PersonQuery, ApiError> {
        let object = body.as_object().ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let mut f = Fields::new(object);
        f.only(&["nik", "phone"]);
        let nik =
            f.optional("nik").and_then(|v| f.check("nik", v.as_str().ok_or("must be a string").and_then(Nik::parse)));
        let phone = f
            .optional("phone")
            .and_then(|v| f.check("phone", v.as_str().ok_or("must be a string").and_then(Phone::parse)));
        if f.errors.is_empty() && nik.is_none() && phone.is_none() {
            return Err(ApiError::InvalidRequest(vec![
                FieldError::new("nik", "nik or phone is required"),
                FieldError::new("phone", "nik or phone is required"),
            ]));
        }
        if !f.errors.is_empty() {
            return Err(ApiError::InvalidRequest(sorted(f.errors)));
        }
        Ok(PersonQuery { nik, phone })
    }
}

/// Registers an investor; a retried registration answers the same investor.
pub async fn register(
    store: &impl InvestorStore,
    rules: &ClaimRules,
    key: &MatchKey,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Investor, ApiError> {
    let investor = Investor::register(body, rules, key, now)?;
    match store.register_investor(&investor).await? {
        Registered::Created => Ok(investor),
        Registered::Existing(existing) if existing.same_registration(&investor) => Ok(*existing),
        Registered::Existing(_) => {
            Err(ApiError::Conflict("an investor with this NIK is registered with other details".into()))
        }
        Registered::PhoneTaken => Err(ApiError::Conflict("this phone belongs to another investor".into())),
    }
}

/// Interface 4: 1 when the NIK or the phone belongs to an investor with active investments.
pub async fn has_active_investments(
    store: &impl InvestorStore,
    key: &MatchKey,
    query: &PersonQuery,
) -> Result<bool, ApiError> {
    let mut ids = Vec::new();
    if let Some(nik) = &query.nik {
        ids.push(investor_id(&key.nik(nik)));
    }
    if let Some(phone) = &query.phone {
        ids.extend(store.investor_with_phone(&key.phone(phone)).await?);
    }
    for id in ids {
        if store.get_investor(&id).await?.is_some_and(|i| i.active_investments > 0) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn investor_id(nik_hash: &str) -> String {
    format!("INV-{}", &nik_hash[..20])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;
    use serde_json::json;

    fn rules() -> ClaimRules {
        ClaimRules {
            currency: Currency::IDR,
            bank_codes: vec!["BCA".into()],
            max_amount: crate::domain::money::Money::ZERO,
        }
    }

    fn body() -> Value {
        json!({"name": "Dewi Lestari", "nik": "3174055506900003", "phone": "0812-3456-7890",
               "bankCode": "BCA", "bankName": "Bank Central Asia", "bankAccountNo": "1234567890", "bankAccountName": "DEWI LESTARI"})
    }

    #[test]
    fn registration_derives_a_stable_id_from_the_nik() {
        let key = MatchKey::new("k");
        let a = Investor::register(&body(), &rules(), &key, Utc::now()).unwrap();
        let mut other_phone = body();
        other_phone["phone"] = json!("+62 812 3456 7890");
        let b = Investor::register(&other_phone, &rules(), &key, Utc::now()).unwrap();
        assert_eq!(a.investor_id, b.investor_id);
        assert!(a.same_registration(&b), "the same phone spelled differently");
        assert!(a.investor_id.starts_with("INV-") && a.investor_id.len() == 24);
    }

    #[test]
    fn registration_names_every_bad_field() {
        let bad = json!({"name": " ", "nik": "123", "phone": "555", "bankCode": "XX", "bankName": "B", "bankAccountNo": "1", "bankAccountName": "N"});
        let Err(ApiError::InvalidRequest(errors)) = Investor::register(&bad, &rules(), &MatchKey::new("k"), Utc::now())
        else {
            panic!("must be refused")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["bankAccountNo", "bankCode", "name", "nik", "phone"]);
    }

    #[test]
    fn a_person_query_needs_nik_or_phone() {
        assert!(PersonQuery::parse(&json!({"phone": "081234567890"})).is_ok());
        assert!(PersonQuery::parse(&json!({"nik": "3174055506900003"})).is_ok());
        assert!(matches!(PersonQuery::parse(&json!({})), Err(ApiError::InvalidRequest(e)) if e.len() == 2));
        assert!(
            matches!(PersonQuery::parse(&json!({"nik": "x"})), Err(ApiError::InvalidRequest(e)) if e[0].field == "nik")
        );
    }
}
