//! Mobile and web push: Firebase Cloud Messaging (HTTP v1, OAuth2 service
//! account) and the Apple Push Notification service (HTTP/2, ES256 provider
//! tokens). Both answer "unregistered token" in their own words; both map it to
//! [`SendError::Permanent`](crate::SendError) with `invalid_address: true` so the
//! caller removes the token.

pub mod apns;
pub mod fcm;
mod google_auth;

pub use apns::{ApnsConfig, ApnsProvider};
pub use fcm::{FcmConfig, FcmProvider};

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A `PushContent.data` key that is not delivered as data but used as the
/// collapse identifier (APNs `apns-collapse-id`, FCM `android.collapse_key`):
/// a newer notification with the same value replaces the older one on the device.
pub const COLLAPSE_ID_KEY: &str = "collapse_id";

/// A push provider's configuration is unusable (missing or unreadable key, bad
/// PEM, empty identifiers). Raised at construction, never while sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Reads a secret given either inline or as a file path (inline wins).
fn inline_or_file(what: &str, inline: Option<&str>, file: Option<&Path>) -> Result<String, ConfigError> {
    if let Some(v) = inline.filter(|v| !v.trim().is_empty()) {
        return Ok(v.to_string());
    }
    match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{what}: cannot read {}: {e}", path.display()))),
        None => Err(ConfigError(format!(
            "{what}: neither inline value nor file configured"
        ))),
    }
}

/// Seconds since the Unix epoch, for JWT `iat`/`exp` claims.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

fn default_timeout_secs() -> u64 {
    crate::http::DEFAULT_TIMEOUT.as_secs()
}
