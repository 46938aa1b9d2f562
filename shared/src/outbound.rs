//! A signing HTTP client for any partner endpoint (the hub's, the sandboxes', a real
//! partner's): nobody computes an HMAC by hand. The hub uses it for its outbound calls, the
//! tools to call the hub.

use crate::auth::{self, SignedParts};
use reqwest::Method;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Pause before the one retry of a request that could not connect.
const CONNECT_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// An HTTP client (connection pool and TLS roots) built on its first use and shared by the
/// signing clients made with it. Building one loads the system's root certificates: a cold
/// start of a function that never calls a partner should not pay for that, and one that calls
/// two partners should pay once (PERFORMANCE.md, cold init).
#[derive(Debug, Clone, Default)]
pub struct HttpPool(Arc<OnceLock<Result<reqwest::Client, String>>>);

impl HttpPool {
    fn client(&self) -> Result<&reqwest::Client, String> {
        self.0
            .get_or_init(|| reqwest::Client::builder().build().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// `Debug` shows where it calls and as whom, never the secret.
#[derive(Clone)]
pub struct SignedClient {
    http: HttpPool,
    timeout: Duration,
    base_url: String,
    partner: String,
    secret: String,
}

/// An answer: HTTP status and the JSON envelope.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body.get("code").and_then(Value::as_str).unwrap_or("")
    }

    pub fn data(&self) -> &Value {
        self.body.get("data").unwrap_or(&Value::Null)
    }
}

impl std::fmt::Debug for SignedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedClient")
            .field("base_url", &self.base_url)
            .field("partner", &self.partner)
            .finish_non_exhaustive()
    }
}

impl SignedClient {
    /// `base_url` is everything before `/v1` (it may include an API stage).
    pub fn new(base_url: &str, partner: &str, secret: &str, timeout: Duration) -> Result<SignedClient, String> {
        SignedClient::in_pool(&HttpPool::default(), base_url, partner, secret, timeout)
    }

    /// A client whose requests go through `pool`'s HTTP client (built on the first call).
    /// `timeout` bounds each request.
    pub fn in_pool(
        pool: &HttpPool,
        base_url: &str,
        partner: &str,
        secret: &str,
        timeout: Duration,
    ) -> Result<SignedClient, String> {
        Ok(SignedClient {
            http: pool.clone(),
            timeout,
            base_url: base_url.trim_end_matches('/').to_owned(),
            partner: partner.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The four auth headers for a request to `path` (from `/v1`, with any `?query`).
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        timestamp_ms: i64,
        nonce: &str,
    ) -> [(&'static str, String); 4] {
        let signature = SignedParts { method, path, timestamp_ms, nonce, body }.sign(&self.secret);
        [
            (auth::PARTNER_ID, self.partner.clone()),
            (auth::TIMESTAMP, timestamp_ms.to_string()),
            (auth::NONCE, nonce.to_owned()),
            (auth::SIGNATURE, signature),
        ]
    }

    /// Sends a signed request; `body` is sent as `application/json` when present. A request
    /// that could not connect is sent once more, freshly signed, after a short pause: every
    /// call between the parties is idempotent (reads, serials, event ids), and a partner's
    /// process restarting should not cost a whole queue retry.
    pub async fn call(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Answer, String> {
        let verb = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|e| e.to_string())?;
        let http = self.http.client().map_err(|e| format!("{method} {path}: HTTP client: {e}"))?;
        match self.send(http, &verb, path, body).await {
            Err(e) if e.is_connect() => {
                tokio::time::sleep(CONNECT_RETRY_PAUSE).await;
                self.send(http, &verb, path, body).await
            }
            other => other,
        }
        .map_err(|e| format!("{method} {path}: {e}"))
    }

    async fn send(
        &self,
        http: &reqwest::Client,
        method: &Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, reqwest::Error> {
        let bytes = body.unwrap_or_default();
        let now = chrono::Utc::now().timestamp_millis();
        let nonce = uuid::Uuid::new_v4().to_string();
        let mut request = http.request(method.clone(), format!("{}{path}", self.base_url)).timeout(self.timeout);
        for (name, value) in self.sign(method.as_str(), path, bytes, now, &nonce) {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_vec());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer { status, body })
    }
}
