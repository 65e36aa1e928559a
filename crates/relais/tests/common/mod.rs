//! A real `relais` binary on a loopback port, over a real SQLite file or a
//! real PostgreSQL (a fresh schema per server), for integration tests.

#![allow(dead_code)]

use base64::Engine as _;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const ADMIN_KEY: &str = "relais_ak_test_admin_key_000000000000";
pub const WRITE_KEY: &str = "relais_wk_test_write_key_000000000000";

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub dir: PathBuf,
    pub backend: Backend,
    schema: String,
    /// `relais.toml` passed as RELAIS_CONFIG, when the test configured one.
    config: Option<PathBuf>,
    _tmp: tempfile::TempDir,
    pub http: reqwest::Client,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn pg_url() -> String {
    std::env::var("RELAIS_TEST_DATABASE_URL").expect("RELAIS_TEST_DATABASE_URL")
}

impl Server {
    pub fn start(backend: Backend) -> Server {
        Server::start_with_config(backend, None)
    }

    /// With a `relais.toml` (providers pointing at the test's servers…).
    pub fn start_with_config(backend: Backend, toml: Option<&str>) -> Server {
        relais_channels::http::install_crypto();
        let tmp = tempfile::tempdir().expect("tempdir");
        let schema = format!(
            "relais_it_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let config = toml.map(|t| {
            let p = tmp.path().join("relais.toml");
            std::fs::write(&p, t).expect("write relais.toml");
            p
        });
        let mut s = Server {
            child: None,
            base: String::new(),
            dir: tmp.path().to_owned(),
            backend,
            schema,
            config,
            _tmp: tmp,
            http: reqwest::Client::new(),
        };
        s.spawn();
        s
    }

    /// `relais <args>` against this server's store; returns stdout.
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.command().args(args).output().expect("run relais");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_relais"));
        c.env_remove("RELAIS_DATABASE_URL")
            .env("RELAIS_DATA_DIR", &self.dir)
            .env("RELAIS_LOG", "warn");
        if let Some(p) = &self.config {
            c.env("RELAIS_CONFIG", p);
        }
        if let Backend::Postgres = self.backend {
            c.env("RELAIS_DATABASE_URL", pg_url())
                .env("RELAIS_DATABASE_SCHEMA", &self.schema);
        }
        c
    }

    fn spawn(&mut self) {
        let mut child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RELAIS_ADMIN_KEY", ADMIN_KEY)
            .env("RELAIS_WRITE_KEY", WRITE_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn relais");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("relais exited before listening")
                .expect("read stdout");
            if let Some(rest) = line.strip_prefix("relais listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.base = base;
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown, no drain.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill -9");
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        unsafe_sigterm(c.id());
        c.wait().expect("wait")
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn basic(key: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
        )
    }

    /// POST to the tracking API with the default write key.
    pub async fn track(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(path, Some(WRITE_KEY), body.to_string().into_bytes(), &[])
            .await
    }

    pub async fn send(
        &self,
        path: &str,
        key: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).body(body);
        if let Some(k) = key {
            req = req.header("authorization", Self::basic(k));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// GET on the admin API with `key` (default admin key).
    pub async fn get_as(&self, key: &str, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(ADMIN_KEY, path).await
    }

    /// Any method on the admin API with the default admin key.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, self.url(path)).bearer_auth(ADMIN_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// `POST` with the admin key and a body of any type (CSV, NDJSON, a
    /// raw e-mail…); the answer as JSON (`Null` when it is not JSON).
    pub async fn admin_post(&self, path: &str, content_type: &str, body: impl Into<String>) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", content_type)
            .body(body.into())
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Every message of the workspace (`GET /api/v1/messages`), page by page.
    pub async fn all_messages(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let (code, page) = self.get(&format!("/api/v1/messages?limit=500{cursor}")).await;
            assert_eq!(code, 200, "{page}");
            out.extend(page["messages"].as_array().cloned().unwrap_or_default());
            match page["next"].as_str() {
                Some(n) => cursor = format!("&cursor={n}"),
                None => return out,
            }
        }
    }

    /// Waits until everything ingested so far is processed.
    pub async fn settle(&self) {
        let (s, v) = self.get("/api/v1/pipeline?wait=20000").await;
        assert_eq!(s, 200, "pipeline did not settle: {v}");
    }

    /// Opens the server's store directly (for durability checks).
    pub async fn store(&self) -> relais_store::DynStore {
        match self.backend {
            Backend::Sqlite => relais_store::open(None, None, &self.dir).await.unwrap(),
            Backend::Postgres => std::sync::Arc::new(
                relais_store::postgres::PgStore::connect(&pg_url(), Some(&self.schema))
                    .await
                    .unwrap(),
            ),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn unsafe_sigterm(pid: u32) {
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
}

/// A profile's identities as `type:value` strings.
impl Server {
    /// Polls `GET /api/v1/messages/{id}` until the message reaches `status`
    /// (15 s at most); the message as it is then.
    pub async fn message_when(&self, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            let (code, m) = self.get(&format!("/api/v1/messages/{id}")).await;
            assert_eq!(code, 200, "{m}");
            if m["status"] == status {
                return m;
            }
            last = m;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("message {id} never reached {status}: {last}");
    }

    /// The names of a profile's events (200 newest), once everything
    /// ingested so far is processed.
    pub async fn event_names(&self, profile: &str) -> Vec<String> {
        self.settle().await;
        let (code, page) = self
            .get(&format!("/api/v1/profiles/{profile}/events?limit=200"))
            .await;
        assert_eq!(code, 200, "{page}");
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

pub fn identities(profile: &Value) -> Vec<String> {
    profile["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|i| format!("{}:{}", i["type"].as_str().unwrap(), i["value"].as_str().unwrap()))
        .collect()
}

/// The profile's messages (`user_id:{who}`), newest first.
pub async fn messages_of(s: &Server, who: &str) -> Vec<Value> {
    let (code, page) = s.get(&format!("/api/v1/messages?profile=user_id:{who}")).await;
    assert_eq!(code, 200, "{page}");
    page["messages"].as_array().cloned().unwrap_or_default()
}

/// The profile's journey passages, each with its trace.
pub async fn passages(s: &Server, who: &str) -> Vec<Value> {
    let (code, v) = s.get(&format!("/api/v1/profiles/user_id:{who}/journeys")).await;
    assert_eq!(code, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

/// A passage's trace as `step:kind` strings, oldest first.
pub fn trace_steps(passage: &Value) -> Vec<String> {
    passage["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{}:{}", t["step"].as_str().unwrap(), t["kind"].as_str().unwrap()))
        .collect()
}

/// The detail of the first trace row of `step` with `kind`.
pub fn trace_detail(passage: &Value, step: &str, kind: &str) -> String {
    passage["trace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == step && t["kind"] == kind)
        .and_then(|t| t["detail"].as_str())
        .unwrap_or_else(|| panic!("no {step}:{kind} in {passage}"))
        .to_owned()
}

pub async fn wait_for<F: std::future::Future<Output = bool>>(mut f: impl FnMut() -> F, what: &str) {
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// One test per backend for tests that start their own server (with a
/// configuration): `both_backends_with_config!(name)`, `name(Backend)`.
#[macro_export]
macro_rules! both_backends_with_config {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[cfg_attr(not(relais_pg), ignore = "RELAIS_TEST_DATABASE_URL not set: PostgreSQL tests skipped")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// One test per backend: `both_backends!(name, body_fn)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Server::start(super::common::Backend::Sqlite)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[cfg_attr(not(relais_pg), ignore = "RELAIS_TEST_DATABASE_URL not set: PostgreSQL tests skipped")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Server::start(super::common::Backend::Postgres)).await;
                }
            )*
        }
    };
}
