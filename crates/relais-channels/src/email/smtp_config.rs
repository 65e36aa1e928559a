//! `[email.smtp]`: the SMTP provider's configuration, and turning its DKIM part
//! into a signer.

use super::dkim::DkimSigner;
use super::dkim_key;
use super::smtp_message::SIGNED_HEADERS;
use serde::Deserialize;
use std::path::PathBuf;

/// `[email.smtp]` in the configuration file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Most connections open at once (and so most messages in flight).
    #[serde(default = "default_pool_max_size")]
    pub pool_max_size: u32,
    /// Time allowed for one message: connecting (when needed) and the whole transaction.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// The name sent in EHLO; the machine's host name when absent.
    #[serde(default)]
    pub hello_name: Option<String>,
    /// Extra trusted root certificate(s), PEM: for a relay with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub dkim: Option<DkimConfig>,
}

fn default_port() -> u16 {
    587
}
fn default_pool_max_size() -> u32 {
    10
}
fn default_timeout_secs() -> u64 {
    30
}

impl SmtpConfig {
    /// A configuration with every default (STARTTLS on 587 unless `port` says otherwise).
    pub fn new(host: impl Into<String>, port: u16) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port,
            tls: SmtpTls::default(),
            username: None,
            password: None,
            pool_max_size: default_pool_max_size(),
            timeout_secs: default_timeout_secs(),
            hello_name: None,
            ca_file: None,
            dkim: None,
        }
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("pool_max_size", &self.pool_max_size)
            .field("timeout_secs", &self.timeout_secs)
            .field("hello_name", &self.hello_name)
            .field("ca_file", &self.ca_file)
            .field("dkim", &self.dkim)
            .finish()
    }
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text, credentials included: for a relay on the same host only.
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// `[email.smtp.dkim]`: signing with the key whose public half is published at
/// `{selector}._domainkey.{domain}`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    pub domain: String,
    pub selector: String,
    /// The key itself (PEM; PKCS#1 or PKCS#8)…
    #[serde(default)]
    pub private_key_pem: Option<String>,
    /// …or the file holding it.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    #[serde(default)]
    pub algorithm: DkimAlgorithm,
}

impl std::fmt::Debug for DkimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimConfig")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field(
                "private_key_pem",
                &self.private_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("private_key_file", &self.private_key_file)
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimAlgorithm {
    #[default]
    Rsa,
    Ed25519,
}

/// A configuration that cannot work; the message says which key and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("smtp configuration: {0}")]
pub struct ConfigError(pub String);

pub(crate) fn dkim_signer(d: &DkimConfig) -> Result<DkimSigner, ConfigError> {
    let err = |m: String| ConfigError(format!("dkim: {m}"));
    let pem = match (&d.private_key_pem, &d.private_key_file) {
        (Some(pem), None) => pem.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| err(format!("private_key_file {}: {e}", path.display())))?,
        _ => {
            return Err(err(
                "give exactly one of private_key_pem and private_key_file".into()
            ))
        }
    };
    let key = match d.algorithm {
        DkimAlgorithm::Rsa => dkim_key::rsa_key(&pem),
        DkimAlgorithm::Ed25519 => dkim_key::ed25519_key(&pem),
    }
    .map_err(|e| err(format!("private key does not load: {e}")))?;
    DkimSigner::new(&d.domain, &d.selector, key, &SIGNED_HEADERS).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_redaction() {
        let cfg: SmtpConfig = serde_json::from_value(serde_json::json!({
            "host": "smtp.example", "username": "u", "password": "hunter2",
            "dkim": {"domain": "shop.example", "selector": "s1", "private_key_pem": "SECRETKEY"}
        }))
        .unwrap();
        assert_eq!(
            (cfg.port, cfg.tls, cfg.pool_max_size, cfg.timeout_secs),
            (587, SmtpTls::Starttls, 10, 30)
        );
        assert_eq!(cfg.dkim.as_ref().unwrap().algorithm, DkimAlgorithm::Rsa);
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("SECRETKEY"),
            "{shown}"
        );
        assert!(shown.contains("smtp.example"));
        let e = serde_json::from_value::<SmtpConfig>(serde_json::json!({"host": "h", "tls": "ssl"}));
        assert!(e.is_err());
    }
}
