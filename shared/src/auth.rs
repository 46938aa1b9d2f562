//! Partner authentication (SPEC section 3): HMAC-SHA256 over method, route path, timestamp,
//! nonce and the body's SHA-256. The same code signs what the hub and its tools send.

use crate::domain::error::ApiError;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const PARTNER_ID: &str = "x-partner-id";
pub const TIMESTAMP: &str = "x-timestamp";
pub const NONCE: &str = "x-nonce";
pub const SIGNATURE: &str = "x-signature";

/// How far a request's timestamp may be from the hub's clock.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;
/// Nonces are remembered a little longer than any timestamp stays acceptable.
pub const NONCE_TTL_SECONDS: i64 = 2 * MAX_SKEW_MS / 1000;

type HmacSha256 = Hmac<Sha256>;

/// Per-partner shared secrets, loaded from configuration. `Debug` never shows a secret.
#[derive(Clone, Default)]
pub struct PartnerSecrets(BTreeMap<String, String>);

impl std::fmt::Debug for PartnerSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl PartnerSecrets {
    pub fn new(secrets: BTreeMap<String, String>) -> PartnerSecrets {
        PartnerSecrets(secrets)
    }

    pub fn get(&self, partner: &str) -> Option<&str> {
        self.0.get(partner).map(String::as_str)
    }
}

/// What a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedParts<'a> {
    pub method: &'a str,
    /// The route path from `/v1`, plus `?query` when there is one.
    pub path: &'a str,
    pub timestamp_ms: i64,
    pub nonce: &'a str,
    pub body: &'a [u8],
}

impl SignedParts<'_> {
    /// `METHOD \n PATH \n TIMESTAMP \n NONCE \n hex(SHA256(body))`; an empty body hashes as "".
    pub fn canonical(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}",
            self.method.to_ascii_uppercase(),
            self.path,
            self.timestamp_ms,
            self.nonce,
            hex::encode(Sha256::digest(self.body))
        )
    }

    pub fn sign(&self, secret: &str) -> String {
        hex::encode(self.mac(secret).finalize().into_bytes())
    }

    fn mac(&self, secret: &str) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(self.canonical().as_bytes());
        mac
    }

    /// Constant-time comparison against a hex signature.
    pub fn verify(&self, secret: &str, signature_hex: &str) -> bool {
        match hex::decode(signature_hex.trim()) {
            Ok(bytes) => self.mac(secret).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

/// The four auth headers, as found on a request.
#[derive(Debug, Clone, Copy)]
pub struct AuthHeaders<'a> {
    pub partner: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// A request whose signature and timestamp passed; its nonce still has to be new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCall {
    pub partner: String,
    pub nonce: String,
}

/// Checks signature and clock skew. Replay protection (the nonce) is the caller's next step.
pub fn verify(
    secrets: &PartnerSecrets,
    headers: AuthHeaders<'_>,
    method: &str,
    path: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<VerifiedCall, ApiError> {
    let (Some(partner), Some(timestamp), Some(nonce), Some(signature)) =
        (headers.partner, headers.timestamp, headers.nonce, headers.signature)
    else {
        return Err(ApiError::Unauthorized("X-Partner-Id, X-Timestamp, X-Nonce and X-Signature are required"));
    };
    let secret = secrets.get(partner).ok_or(ApiError::Unauthorized("unknown partner"))?;
    // Canonical digits only, so the signed text and the checked number are the same thing.
    let canonical = !timestamp.is_empty()
        && timestamp.len() <= 16
        && !timestamp.starts_with('0')
        && timestamp.bytes().all(|b| b.is_ascii_digit());
    let timestamp_ms: i64 = match timestamp.parse() {
        Ok(ms) if canonical => ms,
        _ => return Err(ApiError::Unauthorized("X-Timestamp must be unix milliseconds, digits only")),
    };
    if nonce.is_empty() || nonce.len() > 128 || !nonce.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::Unauthorized("X-Nonce must be 1 to 128 visible ASCII characters"));
    }
    let parts = SignedParts { method, path, timestamp_ms, nonce, body };
    if !parts.verify(secret, signature) {
        return Err(ApiError::Unauthorized("signature does not match"));
    }
    if now_ms.abs_diff(timestamp_ms) > MAX_SKEW_MS.unsigned_abs() {
        return Err(ApiError::Unauthorized("X-Timestamp is more than 5 minutes off"));
    }
    Ok(VerifiedCall { partner: partner.to_owned(), nonce: nonce.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> PartnerSecrets {
        PartnerSecrets::new([("doit".to_owned(), "s3cret".to_owned())].into())
    }

    #[test]
    fn signature_matches_an_independent_hmac() {
        // python3 -c 'import hmac,hashlib;b=hashlib.sha256(b"{}").hexdigest();
        //   print(hmac.new(b"s3cret",f"POST\n/v1/claims\n1700000000000\nn-1\n{b}".encode(),hashlib.sha256).hexdigest())'
        let parts = SignedParts {
            method: "POST",
            path: "/v1/claims",
            timestamp_ms: 1_700_000_000_000,
            nonce: "n-1",
            body: b"{}",
        };
        assert_eq!(parts.sign("s3cret"), "66e1acaa2c56950b7fb39c69f7292076b0320e818e6a2345796da4805506ced2");
        assert_eq!(
            parts.canonical().lines().last(),
            Some("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        );
    }

    #[test]
    fn verify_refuses_bad_signature_unknown_partner_and_skew() {
        let body = br#"{"a":1}"#;
        let now = 1_700_000_000_000;
        let sig =
            SignedParts { method: "POST", path: "/v1/claims", timestamp_ms: now, nonce: "abc", body }.sign("s3cret");
        let ts = now.to_string();
        let good =
            AuthHeaders { partner: Some("doit"), timestamp: Some(&ts), nonce: Some("abc"), signature: Some(&sig) };
        let check =
            |h: AuthHeaders<'_>, path: &str, body: &[u8], at: i64| verify(&secrets(), h, "POST", path, body, at);
        assert!(check(good, "/v1/claims", body, now).is_ok());
        assert!(check(good, "/v1/claims", body, now + MAX_SKEW_MS).is_ok());
        assert!(check(good, "/v1/claims", body, now - MAX_SKEW_MS - 1).is_err());
        assert!(check(good, "/v1/claims", b"{}", now).is_err());
        assert!(check(good, "/v1/claims/x", body, now).is_err());
        assert!(check(AuthHeaders { partner: Some("other"), ..good }, "/v1/claims", body, now).is_err());
        assert!(check(AuthHeaders { signature: Some("zz"), ..good }, "/v1/claims", body, now).is_err());
        assert!(check(AuthHeaders { nonce: None, ..good }, "/v1/claims", body, now).is_err());
    }
}
