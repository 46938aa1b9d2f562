//! The hub's one error type. Each variant maps to one wire `code` and HTTP status in
//! `edge::render`; nothing else decides statuses.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), reason: reason.into() }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    InvalidRequest(Vec<FieldError>),
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    IllegalState(String),
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// The claim costs the borrower more than the regulator allows; `data` carries the figures.
    #[error("total cost exceeds the regulatory cap")]
    RateCapExceeded(Value),
    /// Figures that do not match the hub's own: 400 with the fields and the expected figures.
    #[error("figures do not match")]
    Mismatch { errors: Vec<FieldError>, expected: Value },
    /// A partner we depend on did not answer; worth retrying later.
    #[error("{0} is unavailable, try again later")]
    Unavailable(&'static str),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, reason: &str) -> ApiError {
        ApiError::InvalidRequest(vec![FieldError::new(field, reason)])
    }
}
