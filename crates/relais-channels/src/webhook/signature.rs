//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>, spec:
//! <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>).
//!
//! The secret is `whsec_` + base64 of the key bytes. The signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`; the signature is HMAC-SHA256 of it,
//! base64, sent as `v1,<sig>` in `webhook-signature` (several, space-separated,
//! while a secret is being rotated). Receivers reject timestamps too far from now.

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use sha2::Sha256;
use std::time::Duration;

const PREFIX: &str = "whsec_";

/// The key of one webhook endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("webhook secret must be \"whsec_\" followed by base64")]
    NotBase64,
    #[error("webhook secret is empty")]
    Empty,
}

impl WebhookSecret {
    /// Reads `whsec_<base64>` (the prefix is optional, as in the reference libraries).
    pub fn parse(s: &str) -> Result<WebhookSecret, SecretError> {
        let b64 = s.trim().strip_prefix(PREFIX).unwrap_or(s.trim());
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| SecretError::NotBase64)?;
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(WebhookSecret(key))
    }

    pub fn from_bytes(key: Vec<u8>) -> WebhookSecret {
        WebhookSecret(key)
    }

    /// The `whsec_…` form.
    pub fn to_whsec(&self) -> String {
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&self.0)
        )
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// The `webhook-signature` value for one delivery: `v1,<base64>`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret.mac(id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag))
}

/// Why a received webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("header {0} is not a valid value")]
    InvalidHeader(&'static str),
    #[error("webhook-timestamp is outside the tolerance")]
    Timestamp,
    #[error("no matching signature")]
    Signature,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, VerifyError> {
    headers
        .get(name)
        .ok_or(VerifyError::MissingHeader(name))?
        .to_str()
        .map_err(|_| VerifyError::InvalidHeader(name))
}

/// Checks a received webhook: `webhook-id`, `webhook-timestamp` within
/// `tolerance` of now (either way), and at least one `v1` signature of
/// `webhook-signature` matching (constant-time).
pub fn verify(
    secret: &WebhookSecret,
    headers: &HeaderMap,
    body: &[u8],
    tolerance: Duration,
) -> Result<(), VerifyError> {
    verify_at(
        secret,
        headers,
        body,
        tolerance,
        jiff::Timestamp::now().as_second(),
    )
}

/// [`verify`] with the current time given (Unix seconds).
pub fn verify_at(
    secret: &WebhookSecret,
    headers: &HeaderMap,
    body: &[u8],
    tolerance: Duration,
    now: i64,
) -> Result<(), VerifyError> {
    let id = header(headers, "webhook-id")?;
    let ts: i64 = header(headers, "webhook-timestamp")?
        .trim()
        .parse()
        .map_err(|_| VerifyError::InvalidHeader("webhook-timestamp"))?;
    let signatures = header(headers, "webhook-signature")?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(ts) > tolerance.unsigned_abs() {
        return Err(VerifyError::Timestamp);
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let matched = signatures
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, sig)| engine.decode(sig).ok())
        .any(|sig| secret.mac(id, ts, body).verify_slice(&sig).is_ok());
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    // The reference implementation's test vector (standard-webhooks, libraries/rust).
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn headers(id: &str, ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", HeaderValue::from_str(id).unwrap());
        h.insert(
            "webhook-timestamp",
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        h.insert("webhook-signature", HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn signs_the_reference_vector() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(sign(&secret, ID, TS, BODY), SIG);
        assert_eq!(secret.to_whsec(), SECRET);
        // The prefix is optional.
        assert_eq!(WebhookSecret::parse(&SECRET[6..]).unwrap(), secret);
        assert_eq!(WebhookSecret::parse("whsec_!!"), Err(SecretError::NotBase64));
        assert_eq!(WebhookSecret::parse("whsec_"), Err(SecretError::Empty));
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
    }

    #[test]
    fn verifies_within_tolerance_and_rejects_tampering() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let five_min = Duration::from_secs(300);
        assert_eq!(
            verify_at(&secret, &headers(ID, TS, SIG), BODY, five_min, TS + 10),
            Ok(())
        );
        assert_eq!(
            verify_at(&secret, &headers(ID, TS, SIG), BODY, five_min, TS + 301),
            Err(VerifyError::Timestamp)
        );
        assert_eq!(
            verify_at(&secret, &headers(ID, TS, SIG), BODY, five_min, TS - 301),
            Err(VerifyError::Timestamp)
        );
        assert_eq!(
            verify_at(&secret, &headers(ID, TS, SIG), b"{}", five_min, TS),
            Err(VerifyError::Signature)
        );
        assert_eq!(
            verify_at(&secret, &headers("msg_other", TS, SIG), BODY, five_min, TS),
            Err(VerifyError::Signature)
        );
        let other = WebhookSecret::from_bytes(b"another key".to_vec());
        assert_eq!(
            verify_at(&other, &headers(ID, TS, SIG), BODY, five_min, TS),
            Err(VerifyError::Signature)
        );
        // One good signature among several (rotation); a v2 with the same bytes is ignored.
        let multi = format!("v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= {SIG} v1,garbage");
        assert_eq!(
            verify_at(&secret, &headers(ID, TS, &multi), BODY, five_min, TS),
            Ok(())
        );
        let v2 = SIG.replacen("v1,", "v2,", 1);
        assert_eq!(
            verify_at(&secret, &headers(ID, TS, &v2), BODY, five_min, TS),
            Err(VerifyError::Signature)
        );
        let mut h = headers(ID, TS, SIG);
        h.remove("webhook-id");
        assert_eq!(
            verify(&secret, &h, BODY, five_min),
            Err(VerifyError::MissingHeader("webhook-id"))
        );
        let mut h = headers(ID, TS, SIG);
        h.insert("webhook-timestamp", HeaderValue::from_static("yesterday"));
        assert_eq!(
            verify(&secret, &h, BODY, five_min),
            Err(VerifyError::InvalidHeader("webhook-timestamp"))
        );
    }
}
