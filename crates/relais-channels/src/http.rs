//! What every HTTP provider shares: one client setup and one reading of
//! error answers (which statuses are worth a retry, `Retry-After`).

use crate::SendError;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use std::sync::Once;
use std::time::Duration;

/// Default time allowed for one provider call, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Installs the process-wide TLS crypto provider (ring) once. reqwest and lettre are
/// built without a default provider so that the tree carries one crypto library.
pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for one provider: rustls, pooled connections, a timeout per call.
pub fn client(timeout: Duration) -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("reqwest client with rustls (ring) builds")
}

/// An HTTP/2-only client, as APNs requires. `prior_knowledge` speaks h2 without
/// TLS negotiation (for `http://` test servers); over `https://` ALPN picks h2.
pub fn client_h2(timeout: Duration, prior_knowledge: bool) -> reqwest::Client {
    install_crypto();
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")));
    if prior_knowledge {
        b = b.http2_prior_knowledge();
    }
    b.build().expect("reqwest h2 client builds")
}

/// A transport failure (no answer at all): always worth a retry.
pub fn transport_error(provider: &str, e: &reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    SendError::retryable(format!("{provider}: {what}: {}", without_url(e)))
}

/// reqwest errors print the URL, which may carry credentials or tokens.
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last.unwrap_or_else(|| "no detail".into())
}

/// The usual reading of an error status: 408, 425, 429 and 5xx are retried
/// (honouring `Retry-After`), 401/403 too (credentials being fixed: the circuit
/// breaker keeps it cheap); anything else is permanent for this message.
/// `detail` is the provider's own explanation (from its error body), kept short.
pub fn classify(provider: &str, status: StatusCode, headers: &HeaderMap, detail: &str) -> SendError {
    let detail = truncate(detail, 300);
    let reason = format!("{provider}: HTTP {}: {detail}", status.as_u16());
    let code = status.as_u16();
    if matches!(code, 401 | 403 | 408 | 425 | 429) || status.is_server_error() {
        SendError::Retryable {
            reason,
            retry_after: retry_after(headers),
        }
    } else {
        SendError::Permanent {
            reason,
            invalid_address: false,
        }
    }
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let d = now.until(at).ok()?.total(jiff::Unit::Millisecond).ok()?;
    Some(Duration::from_millis(d.max(0.0) as u64))
}

/// Cuts a string to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_are_classified() {
        let h = HeaderMap::new();
        for code in [401, 403, 408, 429, 500, 502, 503] {
            let e = classify("p", StatusCode::from_u16(code).unwrap(), &h, "x");
            assert!(e.is_retryable(), "{code}");
        }
        for code in [400, 404, 409, 410, 422] {
            let e = classify("p", StatusCode::from_u16(code).unwrap(), &h, "x");
            assert!(!e.is_retryable(), "{code}");
        }
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&later)
            .unwrap();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
