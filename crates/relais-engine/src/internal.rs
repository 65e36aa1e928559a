//! Relais' own events (`Segment Entered`, `Email Opened`, …): written by the
//! engine under the workspace's internal source `relais`, naming the profile
//! in `properties.profile_id` (the processor folds them into that profile).

use crate::processor::{INTERNAL_CHANNEL, INTERNAL_SOURCE};
use relais_core::{ProfileId, SourceId, WorkspaceId};
use relais_store::{DynStore, EmittedEvent, NewEvent, Source, StoreError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// The internal source of each workspace, found or created once.
#[derive(Default)]
pub struct InternalSources {
    known: Mutex<HashMap<WorkspaceId, SourceId>>,
}

impl InternalSources {
    pub async fn get(&self, store: &DynStore, ws: WorkspaceId) -> Result<SourceId, StoreError> {
        if let Some(id) = self.known.lock().unwrap_or_else(|p| p.into_inner()).get(&ws) {
            return Ok(*id);
        }
        let id = find_or_create(store, ws).await?.id;
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ws, id);
        Ok(id)
    }
}

/// The workspace's internal source, created on first use (by whichever of
/// the processor and the dispatcher comes first).
pub async fn find_or_create(store: &DynStore, ws: WorkspaceId) -> Result<Source, StoreError> {
    let find = || async {
        Ok::<_, StoreError>(
            store
                .list_sources(ws)
                .await?
                .into_iter()
                .find(|s| s.name == INTERNAL_SOURCE && s.channel == INTERNAL_CHANNEL),
        )
    };
    if let Some(s) = find().await? {
        return Ok(s);
    }
    match store
        .create_source(ws, INTERNAL_SOURCE, INTERNAL_CHANNEL, relais_core::time::now_ms())
        .await
    {
        Ok(s) => Ok(s),
        // Created meanwhile by the other one.
        Err(StoreError::Conflict(_)) => find()
            .await?
            .ok_or_else(|| StoreError::Other("internal source vanished".into())),
        Err(e) => Err(e),
    }
}

/// One internal track event. `message_id` must be derived from what caused
/// it, so that emitting it again is harmless (the log keeps one).
#[allow(clippy::too_many_arguments)]
pub fn event(
    ws: WorkspaceId,
    source: SourceId,
    profile: ProfileId,
    name: &str,
    channel: &str,
    message_id: String,
    mut properties: Value,
    at: i64,
) -> EmittedEvent {
    if let Some(p) = properties.as_object_mut() {
        p.insert("profile_id".into(), Value::String(profile.to_string()));
    }
    let payload = json!({
        "type": "track",
        "event": name,
        "messageId": message_id,
        "timestamp": relais_core::time::format_ms(at),
        "properties": properties,
    });
    EmittedEvent {
        profile_id: profile,
        name: name.to_owned(),
        event: NewEvent {
            workspace_id: ws,
            source_id: source,
            channel: channel.to_owned(),
            message_id,
            kind: "track".to_owned(),
            received_at: at,
            timestamp: at,
            payload: payload.to_string(),
        },
    }
}
