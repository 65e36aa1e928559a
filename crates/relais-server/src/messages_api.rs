//! Messages over HTTP: one send (`POST /api/v1/messages`), the outbox as a
//! queryable list, the suppression list and tasks for people. Thin: the
//! work is in `relais_engine::messaging`.

use crate::api::Admin;
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use relais_core::time::now_ms;
use relais_core::{Error, ErrorCode};
use relais_engine::messaging::{self, ListQuery, MessagePage, MessageView, SendRequest};
use relais_store::{Suppression, TaskChange, TaskChangeResult, TaskFilter, TaskRecord, TaskStatus};
use serde::Deserialize;

#[utoipa::path(post, path = "/api/v1/messages", tag = "messages", request_body = SendRequest,
    responses((status = 201, description = "stored: queued for delivery, or skipped with the reason (governance, unreachable)", body = MessageView),
              (status = 200, description = "a message with this idempotency key exists: it is returned unchanged", body = MessageView),
              (status = 400, description = "invalid channel, content or template (code invalid_field / invalid_template)"),
              (status = 404, description = "no such profile")),
    security(("admin_key" = [])))]
pub async fn send(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Json(req): Json<SendRequest>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let (view, created) = messaging::send(&state.engine, ws, req).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/messages", tag = "messages", params(ListQuery),
    responses((status = 200, description = "newest first", body = MessagePage)),
    security(("admin_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<MessagePage>> {
    Ok(Json(messaging::list(&state.engine, ws, q).await?))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messages",
    responses((status = 200, description = "the message, its rendered content and every attempt", body = MessageView)),
    security(("admin_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<MessageView>> {
    Ok(Json(messaging::get(&state.engine, ws, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/suppressions", tag = "messages",
    responses((status = 200, description = "addresses never sent to again, newest first")),
    security(("admin_key" = [])))]
pub async fn suppressions(
    State(state): State<AppState>,
    Admin(ws): Admin,
) -> ApiResult<Json<Vec<Suppression>>> {
    Ok(Json(state.engine.store.list_suppressions(ws, 1_000).await?))
}

#[utoipa::path(delete, path = "/api/v1/suppressions/{channel}/{address}", tag = "messages",
    responses((status = 204, description = "removed"), (status = 404, description = "not on the list")),
    security(("admin_key" = [])))]
pub async fn unsuppress(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path((channel, address)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if state
        .engine
        .store
        .delete_suppression(ws, &channel, &address)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::not_found(format!("{address} is not suppressed on {channel}")).into())
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TaskQuery {
    /// open, claimed, done, cancelled
    pub status: Option<String>,
    pub queue: Option<String>,
    pub assignee: Option<String>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "messages", params(TaskQuery),
    responses((status = 200, description = "tasks by due date")),
    security(("admin_key" = [])))]
pub async fn tasks(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(q): Query<TaskQuery>,
) -> ApiResult<Json<Vec<TaskRecord>>> {
    let status = match q.status.as_deref() {
        Some(s) => Some(TaskStatus::parse(s).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidField,
                format!("status: {s:?} is not one of open, claimed, done, cancelled"),
            )
        })?),
        None => None,
    };
    let f = TaskFilter {
        status,
        queue: q.queue,
        assignee: q.assignee,
        profile_id: None,
        limit: q.limit.unwrap_or(100).clamp(1, 1_000),
    };
    Ok(Json(state.engine.store.list_tasks(ws, &f).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskAction {
    /// Who claims or completes (an agent's id or e-mail).
    pub by: String,
    /// The result, for `complete` ("reached", "no answer", …).
    #[serde(default)]
    pub outcome: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/{action}", tag = "messages", request_body = TaskAction,
    params(("action" = String, Path, description = "claim or complete")),
    responses((status = 200, description = "the task as it is now; `complete` puts a `Task Completed` event on the customer's timeline"),
              (status = 409, description = "already done, or claimed by someone else")),
    security(("admin_key" = [])))]
pub async fn task_action(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path((id, action)): Path<(String, String)>,
    Json(body): Json<TaskAction>,
) -> ApiResult<Json<TaskRecord>> {
    let engine = &state.engine;
    let change = match action.as_str() {
        "claim" => TaskChange::Claim { by: body.by.clone() },
        "complete" => TaskChange::Complete {
            by: body.by.clone(),
            outcome: body.outcome.clone(),
        },
        other => return Err(Error::not_found(format!("no task action {other:?} (claim, complete)")).into()),
    };
    let task = engine
        .store
        .get_task(ws, &id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no task {id}")))?;
    let mut emitted = Vec::new();
    if matches!(change, TaskChange::Complete { .. }) {
        let extra = serde_json::json!({ "by": body.by, "outcome": body.outcome, "title": task.title, "queue": task.queue });
        let at = now_ms();
        let ev = relais_engine::internal::event(
            ws,
            engine.messaging.sources.get(&engine.store, ws).await?,
            task.profile_id,
            "Task Completed",
            "task",
            format!("{id}:completed"),
            extra,
            at,
        );
        emitted.push(ev);
    }
    match engine
        .store
        .change_task(ws, &id, &change, now_ms(), &emitted)
        .await?
    {
        TaskChangeResult::Changed(t) => Ok(Json(t)),
        TaskChangeResult::NotFound => Err(Error::not_found(format!("no task {id}")).into()),
        TaskChangeResult::Refused { why, .. } => Err(Error::new(ErrorCode::Conflict, why).into()),
    }
}
