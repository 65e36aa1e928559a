//! Google OAuth 2.0 for service accounts: the JWT bearer grant (RFC 7523) as
//! Google documents it. An RS256 assertion `{iss: client_email, scope, aud:
//! token_uri, iat, exp: iat + 3600}` signed with the key file's private key is
//! POSTed as a form (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
//! `assertion=…`); the answer is `{access_token, expires_in, token_type}`.
//!
//! The access token is cached until five minutes before it expires. The cache
//! lock is held while fetching so that concurrent sends wait for one fetch
//! instead of each asking for a token.

use super::{unix_now, ConfigError};
use crate::http::{retry_after, transport_error, truncate};
use crate::SendError;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub(crate) const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts assertions valid for at most one hour.
const ASSERTION_LIFETIME_SECS: u64 = 3600;
/// A cached token is replaced this long before Google says it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The fields of a Google service-account JSON key that the grant needs.
#[derive(Deserialize)]
pub(crate) struct ServiceAccountKey {
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    #[serde(default)]
    pub token_uri: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
}

impl ServiceAccountKey {
    pub fn parse(json: &str) -> Result<ServiceAccountKey, ConfigError> {
        let key: ServiceAccountKey = serde_json::from_str(json)
            .map_err(|e| ConfigError(format!("service account key: not a Google JSON key: {e}")))?;
        if key.client_email.trim().is_empty() {
            return Err(ConfigError("service account key: empty client_email".into()));
        }
        Ok(key)
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

struct Cached {
    token: String,
    refresh_at: Instant,
}

/// Access tokens for one service account and one scope.
pub(crate) struct TokenSource {
    provider: &'static str,
    client_email: String,
    key_id: Option<String>,
    key: EncodingKey,
    token_uri: String,
    scope: &'static str,
    http: reqwest::Client,
    cache: Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

impl TokenSource {
    pub fn new(
        provider: &'static str,
        key: &ServiceAccountKey,
        token_uri: String,
        scope: &'static str,
        http: reqwest::Client,
    ) -> Result<TokenSource, ConfigError> {
        let encoding = EncodingKey::from_rsa_pem(key.private_key.as_bytes())
            .map_err(|e| ConfigError(format!("service account key: private_key is not an RSA PEM: {e}")))?;
        Ok(TokenSource {
            provider,
            client_email: key.client_email.clone(),
            key_id: key.private_key_id.clone(),
            key: encoding,
            token_uri,
            scope,
            http,
            cache: Mutex::new(None),
            fetches: AtomicU64::new(0),
        })
    }

    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// How many tokens were fetched from the token endpoint so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid access token. `rejected` is a token the API just refused (401):
    /// if the cache still holds it, it is thrown away and a new one fetched; if
    /// another task already replaced it, the replacement is returned as is.
    pub async fn token(&self, rejected: Option<&str>) -> Result<String, SendError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref() {
            let refused = rejected.is_some_and(|r| r == c.token);
            if !refused && Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        *cache = None;
        let (token, lifetime) = self.fetch().await?;
        let margin = if lifetime > REFRESH_MARGIN * 2 {
            REFRESH_MARGIN
        } else {
            lifetime / 2
        };
        *cache = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(token)
    }

    fn assertion(&self) -> Result<String, SendError> {
        let iat = unix_now();
        let claims = Claims {
            iss: &self.client_email,
            scope: self.scope,
            aud: &self.token_uri,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| {
            SendError::retryable(format!("{}: cannot sign the OAuth assertion: {e}", self.provider))
        })
    }

    /// Every failure here is about credentials, not about the message being
    /// sent: all are retryable (the circuit breaker keeps a broken key cheap).
    async fn fetch(&self) -> Result<(String, Duration), SendError> {
        let assertion = self.assertion()?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", JWT_BEARER), ("assertion", assertion.as_str())])
            .send()
            .await
            .map_err(|e| transport_error(self.provider, &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .text()
            .await
            .map_err(|e| transport_error(self.provider, &e))?;
        if !status.is_success() {
            return Err(SendError::Retryable {
                reason: format!(
                    "{}: token endpoint: HTTP {}: {}",
                    self.provider,
                    status.as_u16(),
                    oauth_error(&body)
                ),
                retry_after: retry_after(&headers),
            });
        }
        let parsed: TokenResponse = serde_json::from_str(&body).map_err(|e| {
            SendError::retryable(format!(
                "{}: token endpoint: unreadable answer: {e}",
                self.provider
            ))
        })?;
        if parsed.access_token.is_empty() {
            return Err(SendError::retryable(format!(
                "{}: token endpoint: empty access_token",
                self.provider
            )));
        }
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(3600).max(1));
        Ok((parsed.access_token, lifetime))
    }
}

/// `{"error": "invalid_grant", "error_description": "…"}` (RFC 6749 §5.2).
fn oauth_error(body: &str) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_str::<OAuthError>(body) {
        Ok(e) => match e.error_description {
            Some(d) => format!("{}: {}", e.error, truncate(&d, 200)),
            None => e.error,
        },
        Err(_) => truncate(body, 200).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_errors_are_summarised() {
        let body = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        assert_eq!(oauth_error(body), "invalid_grant: Invalid JWT Signature.");
        assert_eq!(oauth_error("<html>"), "<html>");
    }

    #[test]
    fn key_without_client_email_is_refused() {
        let e = ServiceAccountKey::parse(r#"{"client_email":" ","private_key":"x"}"#);
        assert!(e.is_err());
        assert!(ServiceAccountKey::parse("{}").is_err());
    }
}
