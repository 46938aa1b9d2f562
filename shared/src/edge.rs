//! The HTTP edge shared by every hub endpoint: body limit, partner authentication, JSON
//! parsing and the `{code, message, data}` envelope. Works the same for API Gateway HTTP API
//! (v2), REST (v1, with or without a stage prefix), function URLs and base64 bodies, because
//! `lambda_http` turns all of them into one `Request`.

use crate::app::App;
use crate::auth::{self, AuthHeaders};
use crate::config::Role;
use crate::domain::error::ApiError;
use crate::domain::ports::NonceStore;
use crate::strict_json;
use lambda_http::http::StatusCode;
use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use std::future::Future;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub partner: String,
}

/// The route path from the `/v1` segment on, whatever stage or prefix precedes it.
pub fn route_path(req: &Request) -> &str {
    let path = req.uri().path();
    match path.find("/v1/") {
        Some(at) => &path[at..],
        None if path.ends_with("/v1") => &path[path.len() - 3..],
        None => path,
    }
}

/// What the signature covers as PATH: the route path plus `?query` when there is one.
fn signed_path(req: &Request) -> String {
    match req.uri().query() {
        Some(q) if !q.is_empty() => format!("{}?{q}", route_path(req)),
        _ => route_path(req).to_owned(),
    }
}

/// Checks size, signature, clock skew and nonce, then that the caller plays `role`. Every hub
/// endpoint calls this first.
pub async fn authenticate(app: &App, req: &Request, role: Role) -> Result<Caller, ApiError> {
    let now_ms = app.clock.wall().timestamp_millis();
    let caller = authenticate_with(&app.settings, &app.store, now_ms, req).await?;
    if app.settings.roles.role_of(&caller.partner) != role {
        return Err(ApiError::Forbidden("this partner may not call this endpoint"));
    }
    Ok(caller)
}

pub async fn authenticate_with(
    settings: &crate::config::Settings,
    nonces: &impl NonceStore,
    now_ms: i64,
    req: &Request,
) -> Result<Caller, ApiError> {
    let body = req.body().as_ref();
    if body.len() > settings.max_body_bytes {
        return Err(ApiError::PayloadTooLarge { limit: settings.max_body_bytes });
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let headers = AuthHeaders {
        partner: header(auth::PARTNER_ID),
        timestamp: header(auth::TIMESTAMP),
        nonce: header(auth::NONCE),
        signature: header(auth::SIGNATURE),
    };
    let call = auth::verify(&settings.partners, headers, req.method().as_str(), &signed_path(req), body, now_ms)?;
    let expires = chrono::DateTime::from_timestamp_millis(now_ms + auth::NONCE_TTL_SECONDS * 1000).unwrap_or_default();
    if !nonces.remember_nonce(&call.partner, &call.nonce, expires).await? {
        return Err(ApiError::Unauthorized("X-Nonce was already used"));
    }
    Ok(Caller { partner: call.partner })
}

/// The body as JSON: `application/json` (UTF-8) only, never empty or `null`.
pub fn json_body(req: &Request) -> Result<Value, ApiError> {
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut params = content_type.split(';').map(|p| p.trim().to_ascii_lowercase());
    if params.next().as_deref() != Some("application/json") {
        return Err(ApiError::UnsupportedMediaType("Content-Type must be application/json"));
    }
    if params.any(|p| p.starts_with("charset=") && p != "charset=utf-8" && p != "charset=\"utf-8\"") {
        return Err(ApiError::UnsupportedMediaType("only charset=utf-8 is accepted"));
    }
    let body = req.body().as_ref();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "is required"));
    }
    let value = strict_json::parse(body).map_err(|e| ApiError::invalid("body", &format!("is not valid JSON ({e})")))?;
    if !value.is_object() {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    Ok(value)
}

/// A path parameter, from API Gateway's `pathParameters` or, for function URLs, from the path.
pub fn path_param(req: &Request, name: &str, route_prefix: &str) -> Option<String> {
    if let Some(value) = req.path_parameters().first(name) {
        return Some(value.to_owned());
    }
    route_path(req).strip_prefix(route_prefix).filter(|rest| !rest.is_empty() && !rest.contains('/')).map(str::to_owned)
}

/// The one place an outcome becomes a status code and the `{code, message, data}` envelope.
pub fn render(result: Result<Value, ApiError>) -> Response<Body> {
    let (status, code, message, data) = match result {
        Ok(data) => (StatusCode::OK, "OK", "OK".to_owned(), data),
        Err(error) => {
            let message = error.to_string();
            match error {
                ApiError::InvalidRequest(errors) => (
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    format!("{} field(s) failed validation", errors.len()),
                    json!({ "errors": errors }),
                ),
                ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message, Value::Null),
                ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN", message, Value::Null),
                ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND", message, Value::Null),
                ApiError::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT", message, Value::Null),
                ApiError::IllegalState(_) => (StatusCode::CONFLICT, "ILLEGAL_STATE", message, Value::Null),
                ApiError::PayloadTooLarge { limit } => {
                    (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", message, json!({ "limitBytes": limit }))
                }
                ApiError::UnsupportedMediaType(_) => {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", message, Value::Null)
                }
                ApiError::Mismatch { errors, expected } => (
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    format!("{} figure(s) differ from the hub's schedule", errors.len()),
                    json!({ "errors": errors, "expected": expected }),
                ),
                ApiError::RateCapExceeded(figures) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "RATE_CAP_EXCEEDED", message, figures)
                }
                ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", message, Value::Null),
                ApiError::Internal(detail) => {
                    tracing::error!(%detail, "internal error");
                    (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "internal error".to_owned(), Value::Null)
                }
            }
        }
    };
    tracing::info!(status = status.as_u16(), code, "answered");
    let envelope = json!({ "code": code, "message": message, "data": data });
    let mut response = Response::new(Body::Text(envelope.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Runs an HTTP Lambda: configuration and clients are built once, then every request goes to
/// `handler`. This is all a function's `main` calls.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::tracing::init_default_subscriber();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    lambda_http::run(lambda_http::service_fn(|req| {
        let answer = handler(app, req);
        async move { Ok::<_, std::convert::Infallible>(answer.await) }
    }))
    .await
}
