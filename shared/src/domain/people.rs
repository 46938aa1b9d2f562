//! Personal identifiers: NIK and Indonesian phone numbers, normalised and matched through a
//! keyed hash so the hub never needs the raw value to answer interfaces 3 and 4.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// A 16-digit Indonesian national identity number. Personal data: `Debug` masks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Nik(String);

impl Nik {
    pub fn parse(text: &str) -> Result<Nik, &'static str> {
        let text = text.trim();
        if text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Nik(text.to_owned()))
        } else {
            Err("must be 16 digits")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nik({})", super::claim::mask(&self.0))
    }
}

/// An Indonesian mobile number in one canonical form, `628…`: `08…`, `628…`, `+62 8…` and
/// `0062 8…` are the same number.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(text: &str) -> Result<Phone, &'static str> {
        let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect();
        let digits = compact
            .strip_prefix('+')
            .or_else(|| compact.strip_prefix("00"))
            .map(str::to_owned)
            .unwrap_or_else(|| compact.clone());
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a phone number such as 0812-3456-7890 or +62 812 3456 7890");
        }
        let national = if let Some(rest) = digits.strip_prefix("62") {
            rest.to_owned()
        } else if let Some(rest) = digits.strip_prefix('0') {
            rest.to_owned()
        } else {
            return Err("must start with 0, 62 or +62");
        };
        if !national.starts_with('8') || !(9..=12).contains(&national.len()) {
            return Err("must be an Indonesian mobile number (8xx, 9 to 12 digits after the country code)");
        }
        Ok(Phone(format!("62{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", super::claim::mask(&self.0))
    }
}

/// HMAC-SHA256 under the hub's matching key: equal identifiers give equal hashes, and the
/// hashes are useless without the key.
#[derive(Clone)]
pub struct MatchKey(Vec<u8>);

impl fmt::Debug for MatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MatchKey(..)")
    }
}

impl MatchKey {
    pub fn new(secret: &str) -> MatchKey {
        MatchKey(secret.as_bytes().to_vec())
    }

    fn hash(&self, kind: &str, value: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn nik(&self, nik: &Nik) -> String {
        self.hash("nik", nik.as_str())
    }

    pub fn phone(&self, phone: &Phone) -> String {
        self.hash("phone", phone.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_spellings_of_one_number_are_equal() {
        let canonical = Phone::parse("081234567890").unwrap();
        for spelling in ["6281234567890", "+62 812-3456-7890", "+6281234567890", "0062 812 3456 7890", "0812.3456.7890"]
        {
            assert_eq!(Phone::parse(spelling).unwrap(), canonical, "{spelling}");
        }
        assert_eq!(canonical.as_str(), "6281234567890");
        for bad in ["", "12345", "+1 555 123 4567", "0212345678", "08abc", "+62"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nik_is_sixteen_digits_and_never_shown_whole() {
        let nik = Nik::parse("3174055506900003").unwrap();
        assert_eq!(format!("{nik:?}"), "Nik(************0003)");
        assert!(Nik::parse("317405550690000").is_err());
        assert!(Nik::parse("31740555069000O3").is_err());
    }

    #[test]
    fn keyed_hashes_match_equal_values_and_depend_on_the_key() {
        let key = MatchKey::new("k1");
        let a = Phone::parse("081234567890").unwrap();
        let b = Phone::parse("+62 812 3456 7890").unwrap();
        assert_eq!(key.phone(&a), key.phone(&b));
        assert_ne!(MatchKey::new("k2").phone(&a), key.phone(&a));
        let nik = Nik::parse("6281234567890123").unwrap();
        assert_ne!(key.nik(&nik), key.phone(&a), "kinds are separated");
    }
}
