//! `relais apply -f journey.yaml`: journeys as code, through a running
//! server's API (so its runner sees the change at once). Idempotent: a file
//! applied twice prints `unchanged` the second time.

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Args)]
pub struct ApplyArgs {
    /// Journey definition files (YAML or JSON, docs/journeys.md); matched by name.
    #[arg(short = 'f', long = "file", required = true)]
    pub files: Vec<PathBuf>,
    /// Activate each journey after applying it.
    #[arg(long)]
    pub activate: bool,
    /// The running server.
    #[arg(long, env = "RELAIS_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An admin key of the workspace.
    #[arg(long, env = "RELAIS_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: String,
}

pub async fn run(a: ApplyArgs) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let endpoint = format!(
        "{}/api/v1/journeys/apply?activate={}",
        a.url.trim_end_matches('/'),
        a.activate
    );
    let mut failed = 0;
    for file in &a.files {
        let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let yaml = file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        let ct = if yaml {
            "application/yaml"
        } else {
            "application/json"
        };
        let resp = http
            .post(&endpoint)
            .bearer_auth(&a.admin_key)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .with_context(|| format!("cannot reach {} (is `relais serve` running?)", a.url))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            failed += 1;
            let msg = v["error"]["message"].as_str().unwrap_or("no message");
            let code = v["error"]["code"].as_str().unwrap_or("error");
            eprintln!("{}: {status} {code}: {msg}", file.display());
            continue;
        }
        let j = &v["journey"];
        println!(
            "{}: {} {:?} ({}, version {}, {}){}",
            file.display(),
            v["action"].as_str().unwrap_or("?"),
            j["name"].as_str().unwrap_or(""),
            j["id"].as_str().unwrap_or(""),
            j["version"],
            j["status"].as_str().unwrap_or(""),
            if v["activated"] == true {
                ", activated now"
            } else {
                ""
            }
        );
        for w in j["warnings"].as_array().into_iter().flatten() {
            println!(
                "  warning at {}: {}",
                w["path"].as_str().unwrap_or(""),
                w["message"].as_str().unwrap_or("")
            );
        }
    }
    if failed > 0 {
        bail!("{failed} of {} files not applied", a.files.len());
    }
    Ok(())
}
