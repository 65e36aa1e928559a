//! User-defined computed traits ("products viewed in the last 7 days"):
//! an aggregate of an event property over a window, kept live per profile
//! by the processor like segment conditions, readable by conditions
//! (`{"computed": "<name>", …}`) and shown on the profile.

use crate::segments::registry;
use crate::Engine;
use relais_core::computed::{BUILTIN_NAMES, RFM_NAMES};
use relais_core::condition::parse_computed;
use relais_core::time::format_ms;
use relais_core::{Error, ErrorCode, SegmentId, WorkspaceId};
use serde_json::{json, Value};

fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!("computed trait name {name:?} must be 1-64 characters of a-z, 0-9 and _, starting with a letter"),
        ));
    }
    if BUILTIN_NAMES.contains(&name) || RFM_NAMES.contains(&name) {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("{name:?} is a built-in computed trait; choose another name"),
        ));
    }
    Ok(())
}

/// Creates or replaces a definition.
pub async fn put(engine: &Engine, ws: WorkspaceId, name: &str, mut def: Value) -> Result<Value, Error> {
    check_name(name)?;
    let obj = def.as_object_mut().ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidBody,
            "the body must be a JSON object: {\"event\", \"fn\", …}",
        )
    })?;
    match obj.get("name") {
        None => {
            obj.insert("name".into(), Value::from(name));
        }
        Some(Value::String(n)) if n == name => {}
        Some(other) => {
            return Err(Error::new(
                ErrorCode::InvalidField,
                format!("name {other} in the body differs from {name:?} in the path"),
            ))
        }
    }
    let parsed = parse_computed(&def)
        .map_err(|e| Error::new(ErrorCode::InvalidCondition, format!("computed trait {e}")))?;
    let text = serde_json::to_string(&parsed).expect("a definition serialises");
    let rec = engine
        .store
        .put_computed_trait(ws, name, &text, relais_core::time::now_ms())
        .await?;
    // Segments reading this trait are recomputed over every profile.
    for seg in users_of(engine, ws, name).await? {
        engine.store.restart_backfill(ws, seg).await?;
    }
    engine.pipeline.reload_definitions().await;
    Ok(view(&rec))
}

fn view(r: &relais_store::ComputedTraitRecord) -> Value {
    json!({
        "name": r.name,
        "definition": serde_json::from_str::<Value>(&r.definition).unwrap_or(Value::Null),
        "created_at": format_ms(r.created_at),
        "updated_at": format_ms(r.updated_at),
    })
}

pub async fn list(engine: &Engine, ws: WorkspaceId) -> Result<Value, Error> {
    let all = engine.store.list_computed_traits(Some(ws)).await?;
    Ok(json!({
        "computed_traits": all.iter().map(view).collect::<Vec<_>>(),
        "built_in": BUILTIN_NAMES.iter().chain(RFM_NAMES).collect::<Vec<_>>(),
    }))
}

/// Segments whose condition reads the computed trait `name`.
async fn users_of(engine: &Engine, ws: WorkspaceId, name: &str) -> Result<Vec<SegmentId>, Error> {
    Ok(engine
        .store
        .list_segments(Some(ws))
        .await?
        .iter()
        .filter_map(|s| registry::compile(s).ok())
        .filter(|c| c.deps.computed.contains(name))
        .map(|c| c.id)
        .collect())
}

pub async fn delete(engine: &Engine, ws: WorkspaceId, name: &str) -> Result<(), Error> {
    let users: Vec<String> = users_of(engine, ws, name)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    if !users.is_empty() {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "computed trait {name:?} is used by {}; change those first",
                users.join(", ")
            ),
        ));
    }
    if !engine.store.delete_computed_trait(ws, name).await? {
        return Err(Error::not_found(format!("no computed trait {name:?}")));
    }
    engine.pipeline.reload_definitions().await;
    Ok(())
}
