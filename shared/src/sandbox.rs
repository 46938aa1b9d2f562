//! What the counterpart sandboxes (the originator's and the payment platform's, SPEC section 3
//! "Counterparts") share: the hub's signature check and envelope on the sandbox's own table,
//! configuration read once per cold start, routing under a prefix, and request-field parsing.

use crate::adapters::dynamo::DynamoStore;
use crate::app::Clock;
use crate::config::{self, ConfigError, Settings};
use crate::domain::error::{ApiError, FieldError};
use crate::domain::ports::{NonceStore, StoreError};
use crate::edge::{self, Caller};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use std::future::Future;

/// Environment variables every sandbox reads (besides `MAX_BODY_BYTES` and `BANK_CODES`, read
/// as the hub reads them).
pub mod env {
    /// The DynamoDB table holding the sandboxes' state and the nonces they have seen.
    pub const TABLE: &str = "SANDBOX_TABLE";
    /// The same JSON object as the hub's, `{"partnerId": "secret"}`: one secret per pair of
    /// parties, used in both directions, so a sandbox uses the entry of the party it plays.
    pub use crate::config::env::PARTNER_SECRETS;
}

/// The partner id the hub signs its calls to the counterparts with.
pub const HUB_PARTNER: &str = "hub";

/// Reads a variable through `var`, failing when it is not set.
pub fn required(var: &impl Fn(&str) -> Option<String>, name: &str) -> Result<String, ConfigError> {
    var(name).ok_or_else(|| ConfigError(format!("{name} is not set")))
}

/// The secret `partner` (the party a sandbox plays) shares with the hub: its entry in
/// `PARTNER_SECRETS`.
pub fn shared_secret(var: &impl Fn(&str) -> Option<String>, partner: &str) -> Result<String, ConfigError> {
    let secrets: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&required(var, env::PARTNER_SECRETS)?)
            .map_err(|_| ConfigError(format!("{} must be a JSON object of strings", env::PARTNER_SECRETS)))?;
    secrets
        .get(partner)
        .cloned()
        .ok_or_else(|| ConfigError(format!("{} has no secret for {partner:?}", env::PARTNER_SECRETS)))
}

const UNUSED_MATCH_KEY: &str = "sandbox-never-matches-identities";

/// What every sandbox builds once per cold start.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The hub's settings (partner secrets, body limit, bank codes); `table` is the sandbox's.
    pub settings: Settings,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub clock: Clock,
    nonces: ScopedNonces,
}

impl Sandbox {
    /// A sandbox playing `partner` (`doit`, `pay`): it accepts the hub (`X-Partner-Id: hub`)
    /// signing with `partner`'s secret. `name` keeps its nonces apart from another sandbox's
    /// on the same table.
    pub fn new(
        name: &'static str,
        partner: &str,
        var: &impl Fn(&str) -> Option<String>,
        aws: &aws_config::SdkConfig,
    ) -> Result<Sandbox, ConfigError> {
        let table = required(var, env::TABLE)?;
        let callers = serde_json::json!({ HUB_PARTNER: shared_secret(var, partner)? }).to_string();
        // The hub's settings, read from the sandbox's variables; the sandboxes never match
        // identities by keyed hash, so the hub's match key is not asked of them.
        let settings = Settings::from_lookup(|key| match key {
            config::env::TABLE => Some(table.clone()),
            config::env::PARTNER_SECRETS => Some(callers.clone()),
            config::env::MATCH_KEY => var(key).or_else(|| Some(UNUSED_MATCH_KEY.to_owned())),
            other => var(other),
        })?;
        let dynamo = aws_sdk_dynamodb::Client::new(aws);
        Ok(Sandbox {
            nonces: ScopedNonces { scope: name, store: DynamoStore::new(dynamo.clone(), &table) },
            settings,
            dynamo,
            clock: Clock::default(),
        })
    }

    pub fn table(&self) -> &str {
        &self.settings.table
    }

    /// The hub's own check: body size, signature, clock skew, nonce.
    pub async fn authenticate(&self, req: &Request) -> Result<Caller, ApiError> {
        let now_ms = self.clock.wall().timestamp_millis();
        edge::authenticate_with(&self.settings, &self.nonces, now_ms, req).await
    }
}

/// Nonces kept per sandbox: `NONCE#<sandbox>:<partner>#<nonce>`.
#[derive(Debug, Clone)]
struct ScopedNonces {
    scope: &'static str,
    store: DynamoStore,
}

impl NonceStore for ScopedNonces {
    async fn remember_nonce(&self, partner: &str, nonce: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let scoped = format!("{}:{partner}", self.scope);
        self.store.remember_nonce(&scoped, nonce, expires_at).await
    }
}

/// The path a sandbox routes on: from `/v1/` for the partner contract, from `/sandbox/` for
/// its control endpoints, whatever prefix (`/originator`, `/payment`, a stage) precedes it.
pub fn route_path(req: &Request) -> &str {
    let path = req.uri().path();
    match path.find("/sandbox/") {
        Some(at) if !path.contains("/v1/") => &path[at..],
        _ => edge::route_path(req),
    }
}

/// Runs a sandbox's HTTP Lambda: `build` makes its state once per cold start, then every
/// request goes to `handler` (the sandboxes' counterpart of `edge::serve`).
pub async fn serve<A, B, F, Fut>(build: B, handler: F) -> Result<(), lambda_http::Error>
where
    A: Sync + 'static,
    B: Future<Output = Result<A, ConfigError>>,
    F: Fn(&'static A, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::tracing::init_default_subscriber();
    let app: &'static A = Box::leak(Box::new(build.await?));
    lambda_http::run(lambda_http::service_fn(|req| {
        let answer = handler(app, req);
        async move { Ok::<_, std::convert::Infallible>(answer.await) }
    }))
    .await
}

/// The AWS configuration from the environment (`AWS_ENDPOINT_URL` points at an emulator).
pub async fn aws_from_env() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Reads the fields of a JSON object, collecting one error per offending field (nested objects
/// report `parent.field`), so a caller learns about every problem at once.
pub struct Form<'a> {
    object: &'a Map<String, Value>,
    prefix: String,
    errors: Vec<FieldError>,
}

impl<'a> Form<'a> {
    /// `body` must be an object (`edge::json_body` guarantees it).
    pub fn new(body: &'a Value) -> Result<Form<'a>, ApiError> {
        let object = body.as_object().ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        Ok(Form { object, prefix: String::new(), errors: Vec::new() })
    }

    pub fn fail<T>(&mut self, field: &str, reason: &str) -> Option<T> {
        self.errors.push(FieldError::new(format!("{}{field}", self.prefix), reason));
        None
    }

    pub fn check<T>(&mut self, field: &str, result: Result<T, &str>) -> Option<T> {
        result.map_err(|reason| self.fail::<T>(field, reason)).ok()
    }

    /// Absent and `null` both mean "not sent".
    pub fn optional(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field).filter(|v| !v.is_null())
    }

    pub fn required(&mut self, field: &str) -> Option<&'a Value> {
        let value = self.optional(field);
        if value.is_none() {
            self.fail::<()>(field, "is required");
        }
        value
    }

    /// A required value parsed by `parse`.
    pub fn parse<T>(&mut self, field: &str, parse: impl FnOnce(&'a Value) -> Result<T, &'static str>) -> Option<T> {
        let value = self.required(field)?;
        self.check(field, parse(value))
    }

    /// An optional value parsed by `parse`: `Some(None)` when absent, `None` when invalid.
    pub fn parse_optional<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&'a Value) -> Result<T, &'static str>,
    ) -> Option<Option<T>> {
        match self.optional(field) {
            None => Some(None),
            Some(value) => self.check(field, parse(value)).map(Some),
        }
    }

    /// A required non-blank string of at most 256 bytes.
    pub fn text(&mut self, field: &str) -> Option<String> {
        self.parse(field, text)
    }

    /// A required nested object, read with its own `Form`; hand it back with [`Form::absorb`].
    pub fn nested(&mut self, field: &str) -> Option<Form<'a>> {
        let object = self.parse(field, |v| v.as_object().ok_or("must be a JSON object"))?;
        Some(Form { object, prefix: format!("{}{field}.", self.prefix), errors: Vec::new() })
    }

    pub fn absorb(&mut self, nested: Form<'_>) {
        self.errors.extend(nested.errors);
    }

    /// `value` when no field failed, else `INVALID_REQUEST` with the errors sorted by field.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        let mut errors = self.errors;
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        errors.dedup_by(|a, b| a.field == b.field);
        if !errors.is_empty() {
            return Err(ApiError::InvalidRequest(errors));
        }
        value.ok_or_else(|| ApiError::Internal("a field failed without an error".into()))
    }
}

/// A non-blank string of at most 256 bytes.
pub fn text(value: &Value) -> Result<String, &'static str> {
    match value.as_str() {
        None => Err("must be a string"),
        Some(s) if s.trim().is_empty() => Err("must not be blank"),
        Some(s) if s.len() > 256 => Err("must be at most 256 bytes"),
        Some(s) => Ok(s.to_owned()),
    }
}

/// A probability: a JSON number from 0 to 1.
pub fn rate(value: &Value) -> Result<f64, &'static str> {
    match value.as_f64() {
        Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("must be a number from 0 to 1"),
    }
}

/// A JSON integer from 0 to `max`.
pub fn whole(value: &Value, max: u64) -> Result<u64, &'static str> {
    match value.as_u64() {
        Some(n) if n <= max => Ok(n),
        _ => Err("must be a whole number within the allowed range"),
    }
}

/// A URL-safe key (serial, event id): 1 to 128 letters, digits, `.`, `_`, `-`.
pub fn key(value: &Value) -> Result<String, &'static str> {
    let text = value.as_str().ok_or("must be a string")?;
    if text.is_empty() || text.len() > 128 {
        return Err("must be 1 to 128 characters");
    }
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Err("may contain only letters, digits, '.', '_' and '-'");
    }
    Ok(text.to_owned())
}

/// DynamoDB helpers for the sandboxes' items: keys `pk`/`sk`, state kept as JSON documents
/// (`doc`) beside plain counters.
pub mod items {
    use crate::domain::ports::StoreError;
    use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
    use aws_sdk_dynamodb::types::AttributeValue;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::collections::HashMap;

    pub type Item = HashMap<String, AttributeValue>;

    pub fn s(value: impl Into<String>) -> AttributeValue {
        AttributeValue::S(value.into())
    }

    pub fn n(value: impl ToString) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    /// A value as a JSON document attribute.
    pub fn doc<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
        serde_json::to_string(value).map(AttributeValue::S).map_err(|e| StoreError::Corrupt(format!("doc: {e}")))
    }

    /// The `doc` attribute read back.
    pub fn from_doc<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
        let text =
            item.get("doc").and_then(|v| v.as_s().ok()).ok_or_else(|| StoreError::Corrupt("doc: missing".into()))?;
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("doc: {e}")))
    }

    /// A number attribute; absent counts as zero (counters start missing).
    pub fn number<T: std::str::FromStr + Default>(item: &Item, name: &str) -> Result<T, StoreError> {
        match item.get(name) {
            None => Ok(T::default()),
            Some(value) => value
                .as_n()
                .ok()
                .and_then(|text| text.parse().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("{name}: not a number"))),
        }
    }

    pub fn is_condition_failure<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
        error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
    }

    pub fn unavailable<E: std::error::Error>(e: E) -> StoreError {
        StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
    }

    /// One item by key, read consistently.
    pub async fn get(
        client: &aws_sdk_dynamodb::Client,
        table: &str,
        pk: &str,
        sk: &str,
    ) -> Result<Option<Item>, StoreError> {
        let out = client
            .get_item()
            .table_name(table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// The JSON document kept at a key, if any.
    pub async fn get_doc<T: DeserializeOwned>(
        client: &aws_sdk_dynamodb::Client,
        table: &str,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        match get(client, table, pk, sk).await? {
            Some(item) => from_doc(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Replaces the JSON document kept at a key.
    pub async fn put_doc<T: Serialize>(
        client: &aws_sdk_dynamodb::Client,
        table: &str,
        pk: &str,
        sk: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        client
            .put_item()
            .table_name(table)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("doc", doc(value)?)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_reports_every_field_sorted_with_nested_names() {
        let body = json!({"b": "", "payer": {"accountNo": 5}, "rate": 2});
        let mut form = Form::new(&body).unwrap();
        let b = form.text("b");
        let a = form.text("a");
        let rate = form.parse("rate", rate);
        let mut payer = form.nested("payer").unwrap();
        let account = payer.text("accountNo");
        form.absorb(payer);
        let Err(ApiError::InvalidRequest(errors)) = form.finish(b.zip(a).zip(rate).zip(account)) else {
            panic!("expected field errors");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "b", "payer.accountNo", "rate"]);
    }

    #[test]
    fn keys_are_url_safe() {
        assert!(key(&json!("PAY-DIS-doit-C1_2.x")).is_ok());
        for bad in [json!(""), json!("a/b"), json!(7), json!("x".repeat(129))] {
            assert!(key(&bad).is_err(), "{bad}");
        }
    }
}
