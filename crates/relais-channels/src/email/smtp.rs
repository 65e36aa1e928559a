//! The SMTP provider: a pool of authenticated (and encrypted) connections to one
//! relay, over which each message is one MAIL/RCPT/DATA transaction.
//!
//! Connections are lettre's [`AsyncSmtpConnection`], pooled here rather than by
//! lettre's `AsyncSmtpTransport`, for two reasons: that pool caps only *idle*
//! connections (200 concurrent sends open 200 connections), and its errors do not
//! say which command was refused, while a 550 to `RCPT TO` (the address is bad)
//! and a 550 after `DATA` (the content is refused) call for different actions.

pub use super::smtp_config::{ConfigError, DkimAlgorithm, DkimConfig, SmtpConfig, SmtpTls};

use super::dkim::DkimSigner;
use super::smtp_config::dkim_signer;
use super::smtp_errors::{classify, queue_id, Stage};
use super::smtp_message::{self, Built};
use crate::{Accepted, Channel, Outgoing, Provider, SendError};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

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
    dkim: Option<Arc<DkimSigner>>,
    /// Bounds concurrent RSA signing to the number of cores.
    signers: Semaphore,
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
        let dkim = cfg.dkim.as_ref().map(dkim_signer).transpose()?.map(Arc::new);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
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
            signers: Semaphore::new(cores),
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
            // Our own socket, to set TCP_NODELAY: otherwise Nagle's algorithm holds
            // the last, partial segment of a message until the server's delayed ACK
            // (~40 ms a message: 358/s instead of thousands in the benchmark).
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
    let reply = match &built.data {
        // `command` writes what it is given in one write and reads the reply: the
        // prepared payload goes out whole, rather than through lettre's byte-wise
        // dot-stuffing and a second write for the final ".".
        Some(data) => conn.command(RawData(data)).await,
        None => conn.message(&built.bytes).await,
    }
    .map_err(|e| (Stage::Data, e))?;
    Ok(reply.message().collect::<Vec<_>>().join(" "))
}

/// A prepared DATA payload, written as is.
struct RawData<'a>(&'a str);

impl std::fmt::Display for RawData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
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
        let composed = smtp_message::compose(msg)?;
        let built = match &self.dkim {
            Some(dkim) if dkim.is_slow() => {
                // An RSA-2048 signature costs ~0.7 ms of CPU: off the async workers,
                // and no more at once than there are cores.
                let _signing = self
                    .signers
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                let dkim = Arc::clone(dkim);
                tokio::task::spawn_blocking(move || smtp_message::finish(composed, Some(&dkim)))
                    .await
                    .map_err(|e| SendError::retryable(format!("smtp: signing failed: {e}")))??
            }
            // Ed25519 costs ~90 µs for a 40 KB newsletter (mostly hashing the body),
            // about what building the message costs: done here.
            dkim => smtp_message::finish(composed, dkim.as_deref())?,
        };
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
