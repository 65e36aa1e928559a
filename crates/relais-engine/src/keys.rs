//! API keys: generation, hashing, and resolution to a principal.
//!
//! Keys are 192 random bits behind a readable prefix; only their SHA-256 is
//! stored (a key is high-entropy, so a fast hash is enough and keeps the
//! ingest path cheap). Resolved keys are cached in memory.

use relais_core::{Error, ErrorCode, WorkspaceId};
use relais_store::{DynStore, KeyKind, Source};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::RwLock;

pub const ADMIN_PREFIX: &str = "relais_ak_";
pub const WRITE_PREFIX: &str = "relais_wk_";

/// A fresh random key of `kind`.
pub fn generate(kind: KeyKind) -> String {
    let bytes: [u8; 24] = rand::random();
    let prefix = match kind {
        KeyKind::Admin => ADMIN_PREFIX,
        KeyKind::Write => WRITE_PREFIX,
    };
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// What a key lets its bearer do.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    Admin { workspace: WorkspaceId },
    Write { workspace: WorkspaceId, source: Source },
}

pub struct Auth {
    store: DynStore,
    cache: RwLock<HashMap<String, Principal>>,
}

impl Auth {
    pub fn new(store: DynStore) -> Auth {
        Auth {
            store,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The principal of `key`, or `unauthorized`.
    pub async fn resolve(&self, key: &str) -> Result<Principal, Error> {
        let unauthorized = || Error::new(ErrorCode::Unauthorized, "unknown API key");
        if key.is_empty() || key.len() > 200 {
            return Err(unauthorized());
        }
        let h = hash(key);
        if let Some(p) = self.cache.read().unwrap_or_else(|p| p.into_inner()).get(&h) {
            return Ok(p.clone());
        }
        let record = self.store.find_key(&h).await?.ok_or_else(unauthorized)?;
        let principal = match (record.kind, record.source_id) {
            (KeyKind::Admin, _) => Principal::Admin {
                workspace: record.workspace_id,
            },
            (KeyKind::Write, Some(sid)) => {
                let source =
                    self.store.get_source(sid).await?.ok_or_else(|| {
                        Error::internal(format!("write key points to missing source {sid}"))
                    })?;
                Principal::Write {
                    workspace: record.workspace_id,
                    source,
                }
            }
            (KeyKind::Write, None) => return Err(Error::internal("write key without a source")),
        };
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(h, principal.clone());
        Ok(principal)
    }

    pub async fn admin(&self, key: &str) -> Result<WorkspaceId, Error> {
        match self.resolve(key).await? {
            Principal::Admin { workspace } => Ok(workspace),
            Principal::Write { .. } => Err(Error::new(
                ErrorCode::Forbidden,
                "a write key can only send events; use an admin key",
            )),
        }
    }

    pub async fn writer(&self, key: &str) -> Result<(WorkspaceId, Source), Error> {
        match self.resolve(key).await? {
            Principal::Write { workspace, source } => Ok((workspace, source)),
            Principal::Admin { .. } => Err(Error::new(
                ErrorCode::Unauthorized,
                "an admin key cannot send events; use a source's write key",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hash_stably() {
        let a = generate(KeyKind::Write);
        let b = generate(KeyKind::Write);
        assert!(a.starts_with(WRITE_PREFIX) && a.len() == WRITE_PREFIX.len() + 48);
        assert_ne!(a, b);
        assert!(generate(KeyKind::Admin).starts_with(ADMIN_PREFIX));
        assert_eq!(hash("k"), hash("k"));
        assert_eq!(hash("k").len(), 64);
    }
}
