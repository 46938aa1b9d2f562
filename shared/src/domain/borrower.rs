//! Interface 2: the borrower's profile, fetched after listing by a step so interface 1 stays
//! fast. Only masked, minimised facts are kept (for listings); NIK and phone are used once, as
//! keyed hashes, to see whether the borrower is an active investor here.

use super::people::{Nik, Phone};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Interface 2's answer, as far as the hub reads it. `Debug` shows no personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Profile {
    pub nik: Nik,
    pub phone: Phone,
    pub real_name: String,
    pub age: u32,
    /// 0 unknown, 1 male, 2 female.
    pub gender: u8,
    pub education: String,
    pub occupation: String,
    /// Of the five documents (ID card, bank card, emergency contacts, insurance card, family
    /// card), how many the originator verified.
    pub verified_documents: u8,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile").field("age", &self.age).field("gender", &self.gender).finish_non_exhaustive()
    }
}

const DOCUMENTS: [&str; 5] = ["idCard", "bankCard", "emergencyContacts", "insuranceCard", "familyCard"];

impl Profile {
    /// Reads interface 2's `data`. The reason names the first field that is missing or wrong.
    pub fn parse(data: &Value) -> Result<Profile, String> {
        let text = |field: &str| {
            data.get(field).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("{field} is missing"))
        };
        let nik = Nik::parse(&text("nik")?).map_err(|e| format!("nik {e}"))?;
        let phone = Phone::parse(&text("phone")?).map_err(|e| format!("phone {e}"))?;
        let age = data.get("age").and_then(Value::as_u64).filter(|a| *a < 150).ok_or("age is missing")?;
        let gender = data.get("gender").and_then(Value::as_u64).filter(|g| *g <= 2).ok_or("gender is not 0, 1 or 2")?;
        let documents = data.get("documents").ok_or("documents is missing")?;
        let verified = DOCUMENTS
            .iter()
            .filter(|d| documents.get(**d).and_then(|doc| doc.get("verified")).and_then(Value::as_bool) == Some(true))
            .count();
        Ok(Profile {
            nik,
            phone,
            real_name: text("realName")?,
            age: age as u32,
            gender: gender as u8,
            education: text("education")?,
            occupation: text("occupation")?,
            verified_documents: verified as u8,
        })
    }

    /// What investors may see.
    pub fn facts(&self, now: DateTime<Utc>) -> BorrowerFacts {
        BorrowerFacts {
            masked_name: mask_name(&self.real_name),
            age: self.age,
            gender: self.gender,
            education: self.education.chars().take(40).collect(),
            occupation: self.occupation.chars().take(40).collect(),
            verified_documents: self.verified_documents,
            checked_at: now,
        }
    }
}

/// The borrower as listings show them: no NIK, phone, full name, address or account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BorrowerFacts {
    pub masked_name: String,
    pub age: u32,
    pub gender: u8,
    pub education: String,
    pub occupation: String,
    pub verified_documents: u8,
    pub checked_at: DateTime<Utc>,
}

/// `Siti Rahayu` -> `S*** R***`: initials only.
pub fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .map(|initial| format!("{}***", initial.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a claim failed listing.
pub const BORROWER_IS_INVESTOR: &str = "BORROWER_IS_INVESTOR";
pub const BORROWER_UNKNOWN: &str = "BORROWER_UNKNOWN";
pub const NOT_FULLY_FUNDED: &str = "NOT_FULLY_FUNDED";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_profile_keeps_only_masked_facts() {
        let data = json!({
            "borrowerUuid": "u", "borrowerId": "B1", "realName": "siti  Rahayu Putri", "phone": "0812-3456-7890",
            "nik": "3174055506900003", "birthDate": "1990-06-15", "age": 36, "gender": 2, "education": "SMA",
            "occupation": "Ibu rumah tangga", "email": "s@example.id", "religion": "Islam", "address": "Jl. Mawar 1",
            "documents": {"idCard": {"verified": true, "number": "3174055506900003"}, "bankCard": {"verified": true},
                          "emergencyContacts": {"verified": false}, "insuranceCard": {"verified": true},
                          "familyCard": {"verified": true}}
        });
        let profile = Profile::parse(&data).unwrap();
        assert_eq!(profile.phone.as_str(), "6281234567890");
        let facts = profile.facts(Utc::now());
        assert_eq!(facts.masked_name, "S*** R*** P***");
        assert_eq!((facts.age, facts.gender, facts.verified_documents), (36, 2, 4));
        let mut bad = data.clone();
        bad["gender"] = json!(7);
        assert_eq!(Profile::parse(&bad).unwrap_err(), "gender is not 0, 1 or 2");
    }
}
