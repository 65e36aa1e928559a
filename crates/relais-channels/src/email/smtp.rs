//! The SMTP provider: a pool of authenticated (and encrypted) connections to one
//! relay, over which each message is one MAIL/RCPT/DATA transaction.
//!
//! Connections are lettre's [`AsyncSmtpConnection`], pooled here rather than by
//! lettre's `AsyncSmtpTransport`, for two reasons: that pool caps only *idle*
//! connections (200 concurrent sends open 200 connections), and its errors do not
//! say which command was refused, while a 550 to `RCPT TO` (the address is bad)
//! and a 550 after `DATA` (the content is refused) call for different actions.

use super::dkim_key;
use super::smtp_errors::{classify, queue_id, Stage};
use super::smtp_message::{self, Built, SIGNED_HEADERS};
use crate::{Accepted, Channel, Outgoing, Provider, SendError};
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig as LettreDkim, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

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

/// How long an idle connection is kept (servers drop them after 60 to 300 s).
const IDLE_MAX: Duration = Duration::from_secs(50);

/// Delivers e-mail through one SMTP relay. Cheap to share; at most
/// `pool_max_size` connections are open, idle ones are reused.
pub struct SmtpProvider {
    host: String,
    port: u16,
    tls: SmtpTls,
    tls_params: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    dkim: Option<LettreDkim>,
    /// One permit per connection that may exist.
    permits: Semaphore,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl std::fmt::Debug for SmtpProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpProvider")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("dkim", &self.dkim.is_some())
            .finish_non_exhaustive()
    }
}

impl SmtpProvider {
    pub fn new(cfg: SmtpConfig) -> Result<SmtpProvider, ConfigError> {
        let err = |m: String| ConfigError(m);
        if cfg.host.trim().is_empty() {
            return Err(err("host is empty".into()));
        }
        if cfg.pool_max_size == 0 || cfg.timeout_secs == 0 {
            return Err(err("pool_max_size and timeout_secs must be at least 1".into()));
        }
        let credentials = match (cfg.username, cfg.password) {
            (Some(u), Some(p)) => Some(Credentials::new(u, p)),
            (None, None) => None,
            _ => return Err(err("username and password go together".into())),
        };
        let tls_params = match cfg.tls {
            SmtpTls::None => None,
            SmtpTls::Starttls | SmtpTls::Tls => {
                crate::http::install_crypto();
                let mut b = TlsParameters::builder(cfg.host.clone());
                if let Some(path) = &cfg.ca_file {
                    let pem =
                        std::fs::read(path).map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
                    b = b.add_root_certificate(cert);
                }
                Some(b.build_rustls().map_err(|e| err(format!("TLS setup: {e}")))?)
            }
        };
        let dkim = cfg.dkim.as_ref().map(dkim_signer).transpose()?;
        let hello = match cfg.hello_name {
            Some(name) if !name.trim().is_empty() => ClientId::Domain(name),
            _ => ClientId::default(),
        };
        Ok(SmtpProvider {
            host: cfg.host,
            port: cfg.port,
            tls: cfg.tls,
            tls_params,
            credentials,
            hello,
            timeout: Duration::from_secs(cfg.timeout_secs),
            dkim,
            permits: Semaphore::new(cfg.pool_max_size as usize),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Ends the idle connections politely (QUIT). Sends may go on afterwards.
    pub async fn close(&self) {
        let conns: Vec<_> = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for (mut conn, _) in conns {
            let _ = conn.quit().await;
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let addr = (self.host.as_str(), self.port);
        let mut conn = if let SmtpTls::Tls = self.tls {
            // Implicit TLS: lettre opens the socket (and so without TCP_NODELAY).
            let tls = self.tls_params.clone();
            AsyncSmtpConnection::connect_tokio1(addr, Some(self.timeout), &self.hello, tls, None).await
        } else {
            // Our own socket, to set TCP_NODELAY: the message and its final "." go
            // in two writes, and Nagle's algorithm would hold the second until the
            // server's delayed ACK (~40 ms per message).
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|e| SendError::retryable(format!("smtp: connect failed: {e}")))?;
            let _ = stream.set_nodelay(true);
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await
        }
        .map_err(|e| classify(Stage::Connect, &e))?;
        if let (SmtpTls::Starttls, Some(params)) = (self.tls, &self.tls_params) {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(SendError::retryable(
                    "smtp: connect failed: the server does not offer STARTTLS",
                ));
            }
            conn.starttls(params.clone(), &self.hello)
                .await
                .map_err(|e| classify(Stage::Connect, &e))?;
        }
        if let Some(credentials) = &self.credentials {
            if let Err(e) = conn
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
            {
                conn.abort().await;
                return Err(classify(Stage::Auth, &e));
            }
        }
        Ok(conn)
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < IDLE_MAX && !conn.has_broken() {
                return Some(conn);
            }
            // Too old: the server has likely closed it; dropping closes our side.
        }
        None
    }

    fn put_idle(&self, conn: AsyncSmtpConnection) {
        if !conn.has_broken() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((conn, Instant::now()));
        }
    }

    /// One delivery on a pooled connection. A reused connection that turns out to
    /// be dead before anything was accepted is replaced once by a fresh one.
    async fn deliver(&self, built: &Built) -> Result<String, SendError> {
        let mut reused = true;
        let mut conn = match self.take_idle() {
            Some(c) => c,
            None => {
                reused = false;
                self.connect().await?
            }
        };
        loop {
            match transaction(&mut conn, built).await {
                Ok(reply) => {
                    self.put_idle(conn);
                    return Ok(reply);
                }
                Err((Stage::MailFrom, e)) if reused && e.status().is_none() => {
                    conn.abort().await;
                    reused = false;
                    conn = self.connect().await?;
                }
                Err((stage, e)) => {
                    let code = e.status().map(|c| c.to_string());
                    // After a refusal the connection is fine once reset; 421 means it is closing.
                    if code.is_some() && code.as_deref() != Some("421") && !conn.has_broken() {
                        if conn.command(Rset).await.is_ok() {
                            self.put_idle(conn);
                        }
                    } else {
                        conn.abort().await;
                    }
                    return Err(classify(stage, &e));
                }
            }
        }
    }
}

/// MAIL FROM, RCPT TO, DATA and the content; the 250 reply text on success.
async fn transaction(
    conn: &mut AsyncSmtpConnection,
    built: &Built,
) -> Result<String, (Stage, lettre::transport::smtp::Error)> {
    let mut params = Vec::new();
    if !built.bytes.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let utf8 = [&built.from, &built.to]
        .iter()
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if utf8 && conn.server_info().supports_feature(Extension::SmtpUtfEight) {
        params.push(MailParameter::SmtpUtfEight);
    }
    let mail = Mail::new(Some(built.from.clone()), params);
    conn.command(mail).await.map_err(|e| (Stage::MailFrom, e))?;
    conn.command(Rcpt::new(built.to.clone(), vec![]))
        .await
        .map_err(|e| (Stage::RcptTo, e))?;
    conn.command(Data).await.map_err(|e| (Stage::Data, e))?;
    let reply = conn.message(&built.bytes).await.map_err(|e| (Stage::Data, e))?;
    Ok(reply.message().collect::<Vec<_>>().join(" "))
}

fn dkim_signer(d: &DkimConfig) -> Result<LettreDkim, ConfigError> {
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
        DkimAlgorithm::Rsa => {
            let pkcs1 = dkim_key::rsa_pkcs1_pem(&pem).map_err(err)?;
            DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa)
        }
        DkimAlgorithm::Ed25519 => {
            let seed = dkim_key::ed25519_seed_b64(&pem).map_err(err)?;
            DkimSigningKey::new(&seed, DkimSigningAlgorithm::Ed25519)
        }
    }
    .map_err(|e| err(format!("private key does not load: {e}")))?;
    let headers = SIGNED_HEADERS
        .iter()
        .map(|h| HeaderName::new_from_ascii_str(h))
        .collect();
    // relaxed/relaxed survives the re-folding and re-spacing relays do.
    let canonicalization = DkimCanonicalization {
        header: DkimCanonicalizationType::Relaxed,
        body: DkimCanonicalizationType::Relaxed,
    };
    Ok(LettreDkim::new(
        d.selector.clone(),
        d.domain.clone(),
        key,
        headers,
        canonicalization,
    ))
}

#[async_trait::async_trait]
impl Provider for SmtpProvider {
    fn name(&self) -> &str {
        "smtp"
    }

    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        let built = smtp_message::build(msg, self.dkim.as_ref())?;
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let reply = tokio::time::timeout(self.timeout, self.deliver(&built))
            .await
            .map_err(|_| SendError::retryable(format!("smtp: no answer within {:?}", self.timeout)))??;
        let provider_message_id = queue_id(&reply).unwrap_or_else(|| built.message_id.clone());
        Ok(Accepted {
            provider_message_id: Some(provider_message_id),
            detail: Some(serde_json::json!({ "message_id": built.message_id, "reply": reply })),
        })
    }
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

    #[test]
    fn bad_configurations_are_refused() {
        let mut cfg = SmtpConfig::new("smtp.example", 25);
        cfg.username = Some("u".into());
        assert!(SmtpProvider::new(cfg)
            .unwrap_err()
            .0
            .contains("username and password"));
        let mut cfg = SmtpConfig::new("smtp.example", 25);
        cfg.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(SmtpProvider::new(cfg).unwrap_err().0.contains("ca_file"));
        let mut cfg = SmtpConfig::new("smtp.example", 25);
        cfg.dkim = Some(DkimConfig {
            domain: "d".into(),
            selector: "s".into(),
            private_key_pem: Some(
                "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----".into(),
            ),
            private_key_file: None,
            algorithm: DkimAlgorithm::Rsa,
        });
        assert!(SmtpProvider::new(cfg).unwrap_err().0.contains("dkim"));
        let p = SmtpProvider::new(SmtpConfig::new("smtp.example", 25)).unwrap();
        assert_eq!((p.name(), p.channel()), ("smtp", Channel::Email));
    }
}
