//! Reads request fields out of a JSON object, collecting one error per offending field, so a
//! partner learns about every problem at once.

use super::claim::BankAccount;
use super::error::FieldError;
use serde_json::{Map, Value};

/// Longest free-text field we store.
const MAX_TEXT_LEN: usize = 256;

/// Control characters, zero-width and bidirectional formatting characters: they hide or
/// reorder what an operator reads.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    pub(crate) errors: Vec<FieldError>,
}

/// Errors sorted by field name, one per field.
pub(crate) fn sorted(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.dedup_by(|a, b| a.field == b.field);
    errors
}

impl<'a> Fields<'a> {
    pub(crate) fn new(object: &'a Map<String, Value>) -> Fields<'a> {
        Fields { object, errors: Vec::new() }
    }

    pub(crate) fn fail<T>(&mut self, field: &str, reason: &str) -> Option<T> {
        self.errors.push(FieldError::new(field, reason));
        None
    }

    pub(crate) fn check<T>(&mut self, field: &str, result: Result<T, &str>) -> Option<T> {
        result.map_err(|reason| self.fail::<T>(field, reason)).ok()
    }

    /// Absent and `null` both mean "not sent".
    pub(crate) fn optional(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field).filter(|v| !v.is_null())
    }

    pub(crate) fn required(&mut self, field: &str) -> Option<&'a Value> {
        let value = self.optional(field);
        if value.is_none() {
            self.fail::<()>(field, "is required");
        }
        value
    }

    /// A required, visible, single-line string.
    pub(crate) fn text(&mut self, field: &str) -> Option<String> {
        let value = self.required(field)?;
        let text = match value.as_str() {
            None => Err("must be a string"),
            Some(s) if s.chars().any(invisible) => Err("must not contain control or invisible formatting characters"),
            Some(s) if s.trim().is_empty() => Err("must not be blank"),
            Some(s) if s.len() > MAX_TEXT_LEN => Err("must be at most 256 bytes"),
            Some(s) => Ok(s.to_owned()),
        };
        self.check(field, text)
    }

    /// Refuses every field not in `known`, one error each.
    pub(crate) fn only(&mut self, known: &[&str]) {
        let unknown: Vec<String> = self.object.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect();
        for field in unknown {
            self.fail::<()>(&field, "is not a known field");
        }
    }

    /// A required string field parsed by `parse`.
    pub(crate) fn parsed<T>(&mut self, field: &str, parse: impl FnOnce(&str) -> Result<T, &'static str>) -> Option<T> {
        let value = self.required(field)?;
        let parsed = value.as_str().ok_or("must be a string").and_then(parse);
        self.check(field, parsed)
    }

    /// An optional enumerated field: `Some(None)` when absent, `None` when invalid.
    pub(crate) fn one_of<T: Copy>(&mut self, field: &str, choices: &[(&str, T)]) -> Option<Option<T>> {
        let Some(value) = self.optional(field) else {
            return Some(None);
        };
        let found = value.as_str().and_then(|s| choices.iter().find(|(name, _)| *name == s));
        match found {
            Some((_, choice)) => Some(Some(*choice)),
            None => {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                self.fail(field, &format!("must be one of {}", names.join(", ")))
            }
        }
    }

    /// `bankCode` (one of `codes`), `bankName`, `bankAccountNo` (5-20 digits), `bankAccountName`.
    pub(crate) fn bank_account(&mut self, codes: &[String]) -> Option<BankAccount> {
        let bank_code = self.parsed("bankCode", |c| {
            codes.iter().find(|known| *known == c).cloned().ok_or("is not a supported bank code")
        });
        let bank_name = self.text("bankName");
        let account_no = self.parsed("bankAccountNo", |s| {
            if (5..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
                Ok(s.to_owned())
            } else {
                Err("must be 5 to 20 digits")
            }
        });
        let account_name = self.text("bankAccountName");
        Some(BankAccount {
            bank_code: bank_code?,
            bank_name: bank_name?,
            account_no: account_no?,
            account_name: account_name?,
        })
    }
}
