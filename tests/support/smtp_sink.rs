//! A real SMTP server for tests: `tests/python/smtp_sink.py` (aiosmtpd)
//! started per test, and DKIM checked by another implementation (dkimpy,
//! `tests/python/dkim_verify.py`). Shared by the provider tests of
//! relais-channels and the binary's end-to-end tests (`#[path]` include).
//! The interpreter comes from `RELAIS_TEST_PYTHON`, else from
//! `scripts/py-setup.sh` (a virtual environment under target/); without one
//! these tests fail, saying why.

#![allow(dead_code)]

use relais_channels::email::{SmtpConfig, SmtpTls};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Ok(p) = std::env::var("RELAIS_TEST_PYTHON") {
            return p;
        }
        let out = std::process::Command::new("bash")
            .arg(repo_root().join("scripts/py-setup.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("bash runs scripts/py-setup.sh");
        let path = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_owned();
        assert!(
            out.status.success() && !path.is_empty(),
            "these tests need Python with aiosmtpd and dkimpy: scripts/py-setup.sh failed ({}); \
             set RELAIS_TEST_PYTHON to an interpreter that has them",
            out.status
        );
        path
    })
}

/// A running smtp_sink.py; killed when dropped.
pub struct Sink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    _child: Child,
    _stdin: ChildStdin,
}

impl Sink {
    pub async fn start(args: &[&str]) -> Sink {
        Sink::start_on(0, args).await
    }

    pub async fn start_on(port: u16, args: &[&str]) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/python/smtp_sink.py"))
            .arg("--out")
            .arg(dir.path())
            .args(["--port", &port.to_string(), "--max-seconds", "120"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // aiosmtpd logs refused handshakes with tracebacks: kept out of the test output.
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("the sink starts");
        let mut first = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut first).await.unwrap();
        let port = first
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("sink printed {first:?}, not a port"));
        let stdin = child.stdin.take().unwrap();
        Sink {
            port,
            dir,
            _child: child,
            _stdin: stdin,
        }
    }

    pub fn log(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("log.jsonl")).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    pub fn connections(&self) -> u64 {
        std::fs::read_to_string(self.dir.path().join("connections")).map_or(0, |s| s.trim().parse().unwrap())
    }

    pub fn eml(&self, entry: &Value) -> Vec<u8> {
        std::fs::read(self.dir.path().join(entry["file"].as_str().unwrap())).unwrap()
    }

    pub fn config(&self) -> SmtpConfig {
        let mut cfg = SmtpConfig::new("127.0.0.1", self.port);
        cfg.tls = SmtpTls::None;
        cfg.timeout_secs = 10;
        cfg.hello_name = Some("client.relais.test".into());
        cfg
    }
}

pub fn run(cmd: &str, args: &[&str], dir: &Path) {
    let st = std::process::Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// Runs dkim_verify.py; true when dkimpy says the signature holds.
pub fn dkim_verifies(eml: &[u8], pubkey: &Path) -> bool {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), eml).unwrap();
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/python/dkim_verify.py"))
        .arg(file.path())
        .arg(pubkey)
        .output()
        .unwrap();
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("dkim_verify.py failed: {}", String::from_utf8_lossy(&out.stderr)),
    }
}
