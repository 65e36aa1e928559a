//! Engine settings (from `relais.toml` / `RELAIS_*` via the binary).

use relais_core::message::Limits;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// Tracking API size limits.
    pub limits: Limits,
    /// Events accepted but not yet durable, across all requests. Past this,
    /// ingest answers 503 with `Retry-After` instead of queueing more.
    pub ingest_queue_events: usize,
    /// Most events written in one group commit.
    pub max_group_events: usize,
    /// Log entries processed (and committed) per processor transaction.
    pub process_batch: usize,
    /// Traits that identify a customer besides user id, anonymous id,
    /// e-mail and phone (e.g. a loyalty card number).
    pub identity_traits: Vec<String>,
    /// Profiles kept in the processor's memory before its caches are reset.
    pub profile_cache: usize,
    /// Seconds between two refreshes of a workspace's RFM cut points
    /// (0: only on demand, `POST /api/v1/rfm/refresh`).
    pub rfm_refresh_secs: u64,
    /// Providers, limits and retries (`[engine.channels]`).
    pub channels: crate::messaging::config::ChannelsConfig,
    /// Consent, caps, quiet hours, control group (`[engine.governance]`).
    pub governance: crate::messaging::config::GovernanceConfig,
    /// Stock thresholds, online locations, price-drop rule, fan-out limit
    /// (`[engine.catalog]`).
    pub catalog: crate::catalog::CatalogConfig,
    /// The HTTP header in which the CDN or load balancer in front of Relais
    /// passes the country of the client's IP address (`CF-IPCountry`,
    /// `CloudFront-Viewer-Country`…): events that report no
    /// `context.location.country` get it. Unset: no header is trusted.
    pub country_header: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            limits: Limits::default(),
            ingest_queue_events: 250_000,
            max_group_events: 25_000,
            process_batch: 5_000,
            identity_traits: vec!["loyalty_id".to_owned()],
            profile_cache: 1_000_000,
            rfm_refresh_secs: 3_600,
            channels: Default::default(),
            governance: Default::default(),
            catalog: Default::default(),
            country_header: None,
        }
    }
}
