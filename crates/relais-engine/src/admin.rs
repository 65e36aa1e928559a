//! Workspaces, sources and their credentials.

use crate::keys;
use relais_core::identity::is_valid_kind;
use relais_core::time::now_ms;
use relais_core::{Error, ErrorCode, WorkspaceId};
use relais_store::{DynStore, KeyKind, KeyRecord, Source, StoreError, Workspace};
use serde::Serialize;

/// Keys in clear: shown once, at creation, never again.
#[derive(Debug, Clone, Serialize)]
pub struct Credentials {
    pub workspace: Workspace,
    pub source: Source,
    pub admin_key: String,
    pub write_key: String,
}

pub const DEFAULT_WORKSPACE: &str = "default";
pub const DEFAULT_SOURCE: &str = "default";
pub const DEFAULT_CHANNEL: &str = "web";

fn check_name(what: &str, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} name {name:?} must be 1-64 letters, digits, '-', '_' or '.'"
        )))
    }
}

fn conflict<'a>(what: &'a str, name: &'a str) -> impl FnOnce(StoreError) -> Error + 'a {
    move |e| match e {
        StoreError::Conflict(_) => Error::new(ErrorCode::Conflict, format!("{what} {name:?} already exists")),
        other => other.into(),
    }
}

async fn store_key(
    store: &DynStore,
    ws: WorkspaceId,
    kind: KeyKind,
    source: Option<&Source>,
    given: Option<String>,
) -> Result<String, Error> {
    let key = given.unwrap_or_else(|| keys::generate(kind));
    if key.len() < 16 {
        return Err(Error::invalid("a key must be at least 16 characters long"));
    }
    store
        .insert_key(&KeyRecord {
            hash: keys::hash(&key),
            prefix: key.chars().take(14).collect(),
            workspace_id: ws,
            kind,
            source_id: source.map(|s| s.id),
            created_at: now_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => Error::new(ErrorCode::Conflict, "this key is already in use"),
            other => other.into(),
        })?;
    Ok(key)
}

/// A source and a write key for it.
pub async fn create_source(
    store: &DynStore,
    ws: WorkspaceId,
    name: &str,
    channel: &str,
    write_key: Option<String>,
) -> Result<(Source, String), Error> {
    check_name("source", name)?;
    if !is_valid_kind(channel) {
        return Err(Error::invalid(format!(
            "channel {channel:?} must be a lower-case name such as web, app, store, call_centre, crm, server"
        )));
    }
    if channel == crate::processor::INTERNAL_CHANNEL {
        return Err(Error::invalid(format!(
            "channel {channel:?} is reserved for the events Relais emits itself"
        )));
    }
    let source = store
        .create_source(ws, name, channel, now_ms())
        .await
        .map_err(conflict("source", name))?;
    let key = store_key(store, ws, KeyKind::Write, Some(&source), write_key).await?;
    Ok((source, key))
}

pub async fn create_admin_key(
    store: &DynStore,
    ws: WorkspaceId,
    given: Option<String>,
) -> Result<String, Error> {
    store_key(store, ws, KeyKind::Admin, None, given).await
}

/// A workspace with a default source, an admin key and a write key.
pub async fn create_workspace(
    store: &DynStore,
    name: &str,
    admin_key: Option<String>,
    write_key: Option<String>,
) -> Result<Credentials, Error> {
    check_name("workspace", name)?;
    let workspace = store
        .create_workspace(name, now_ms())
        .await
        .map_err(conflict("workspace", name))?;
    let (source, write_key) =
        create_source(store, workspace.id, DEFAULT_SOURCE, DEFAULT_CHANNEL, write_key).await?;
    let admin_key = create_admin_key(store, workspace.id, admin_key).await?;
    Ok(Credentials {
        workspace,
        source,
        admin_key,
        write_key,
    })
}

/// On the very first start (no workspace yet) creates the default
/// workspace, with the given keys (`RELAIS_ADMIN_KEY`, `RELAIS_WRITE_KEY`) or
/// fresh ones. Returns the credentials so the caller can print them once.
pub async fn bootstrap(
    store: &DynStore,
    admin_key: Option<String>,
    write_key: Option<String>,
) -> Result<Option<Credentials>, Error> {
    if !store.list_workspaces().await?.is_empty() {
        return Ok(None);
    }
    create_workspace(store, DEFAULT_WORKSPACE, admin_key, write_key)
        .await
        .map(Some)
}

pub async fn workspace_by_name(store: &DynStore, name: &str) -> Result<Workspace, Error> {
    store
        .list_workspaces()
        .await?
        .into_iter()
        .find(|w| w.name == name)
        .ok_or_else(|| Error::not_found(format!("no workspace named {name:?}")))
}
