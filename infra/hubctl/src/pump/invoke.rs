//! Invokes a function through `cargo lambda watch`'s Lambda invoke API, with the function's
//! timeout.

use serde_json::Value;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function returned this payload.
    Answered(Vec<u8>),
    /// The function failed; the error type only (its message may carry personal data).
    FunctionError(String),
    TimedOut,
    /// The invoke API could not be reached.
    Unreachable(String),
}

pub struct Invoker {
    http: reqwest::Client,
    lambda_url: String,
    first_call_grace: Duration,
    answered: Mutex<HashSet<String>>,
}

impl Invoker {
    pub fn new(lambda_url: &str, first_call_grace: Duration) -> Result<Invoker, String> {
        let http = reqwest::Client::builder().build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Invoker {
            http,
            lambda_url: lambda_url.trim_end_matches('/').to_owned(),
            first_call_grace,
            answered: Mutex::new(HashSet::new()),
        })
    }

    fn has_answered(&self, binary: &str) -> bool {
        self.answered.lock().map(|set| set.contains(binary)).unwrap_or(false)
    }

    fn mark_answered(&self, binary: &str) {
        if let Ok(mut set) = self.answered.lock() {
            set.insert(binary.to_owned());
        }
    }

    /// `POST {lambda_url}/2015-03-31/functions/{binary}/invocations` with `event`.
    pub async fn invoke(&self, binary: &str, timeout: Duration, event: &Value) -> Outcome {
        let url = format!("{}/2015-03-31/functions/{binary}/invocations", self.lambda_url);
        let limit = if self.has_answered(binary) { timeout } else { timeout + self.first_call_grace };
        let call = async {
            let response = self.http.post(&url).json(event).send().await?;
            let status = response.status();
            let function_error =
                response.headers().get("x-amz-function-error").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, function_error, body))
        };
        match tokio::time::timeout(limit, call).await {
            Err(_) => Outcome::TimedOut,
            Ok(Err(e)) => Outcome::Unreachable(e.to_string()),
            Ok(Ok((status, function_error, body))) => {
                self.mark_answered(binary);
                if status.is_success() && function_error.is_none() {
                    Outcome::Answered(body.to_vec())
                } else {
                    Outcome::FunctionError(error_type(status.as_u16(), &body))
                }
            }
        }
    }
}

/// `errorType` of a Lambda error payload, else the HTTP status.
fn error_type(status: u16, body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("errorType").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("HTTP {status}"))
}
