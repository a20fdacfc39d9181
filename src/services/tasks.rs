//! Async tasks: a durable queue in the database. Creating a task stores it `queued` (and `task.created`); workers
//! claim it with a lease (see [`crate::tasks`]); its end is stored with `task.completed` / `task.failed` and, when
//! the task names a callback, a signed callback delivery — all in one transaction.
use crate::db::Db;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde_json::{Map, Value, json};

use super::{
    cursor::{CursorInfo, CursorRequest},
    events, files, webhooks,
};
use crate::{
    error::{AppError, AppResult},
    events::{Event, EventKind},
    graphql::scalars::format_time,
    outbound::OutboundGuard,
    webhooks::signing,
};
use entity::task;

pub mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const COMPLETED: &str = "completed";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
    pub const ALL: [&str; 5] = [QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED];
}

/// Task types: `analysis` (tables → statistics and charts), `agent.run` (an agent answers a message, for long
/// replies), `noop` (does nothing, optionally for `sleepMs`: for testing clients and measuring the queue).
pub const TYPES: [&str; 3] = ["analysis", "agent.run", "noop"];
pub const OPERATIONS: [&str; 2] = ["summarize", "visualize"];
const MAX_INPUT_BYTES: usize = 64 * 1024;
const MAX_CALLBACK_HEADERS: usize = 20;
/// Longest a `noop` task may sleep.
pub const MAX_NOOP_SLEEP_MS: u64 = 60_000;

#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub kind: String,
    pub input: Value,
    pub callback: Option<NewCallback>,
    pub timeout_secs: Option<i64>,
}

impl NewTask {
    /// Whether running it calls a model (and so needs token allowance): an agent run, or an analysis whose
    /// narrative an agent writes.
    pub fn calls_a_model(&self) -> bool {
        self.kind == "agent.run"
            || (self.kind == "analysis" && self.input.get("agentId").is_some_and(|id| !id.is_null()))
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewCallback {
    pub url: String,
    pub headers: Option<Value>,
    pub secret: Option<String>,
}

/// Headers a callback may not set: ours carry the signature and delivery identity.
fn reserved_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("x-openclaw-")
        || name.starts_with("webhook-")
        || ["content-type", "content-length", "host", "transfer-encoding", "connection"].contains(&name.as_str())
}

fn validate_callback(guard: &OutboundGuard, callback: &NewCallback) -> AppResult<Value> {
    guard
        .check_url(&callback.url)
        .map_err(|err| AppError::BadRequest { code: err.code(), message: format!("callback.url: {err}") })?;
    let mut headers = Map::new();
    match &callback.headers {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            if map.len() > MAX_CALLBACK_HEADERS {
                return Err(AppError::validation(
                    "callback.headers",
                    format!("at most {MAX_CALLBACK_HEADERS} headers"),
                ));
            }
            for (name, value) in map {
                let valid_name = http::HeaderName::from_bytes(name.as_bytes()).is_ok();
                let Some(text) = value.as_str().filter(|v| http::HeaderValue::from_str(v).is_ok()) else {
                    return Err(AppError::validation(
                        format!("callback.headers.{name}"),
                        "must be a valid header value string",
                    ));
                };
                if !valid_name {
                    return Err(AppError::validation(
                        "callback.headers",
                        format!("`{name}` is not a valid header name"),
                    ));
                }
                if reserved_header(name) {
                    return Err(AppError::validation("callback.headers", format!("`{name}` is set by the server")));
                }
                headers.insert(name.clone(), Value::String(text.to_owned()));
            }
        }
        Some(_) => {
            return Err(AppError::validation("callback.headers", "must be an object of header names to strings"));
        }
    }
    let secret = match &callback.secret {
        Some(secret) if !(8..=256).contains(&secret.len()) => {
            return Err(AppError::validation("callback.secret", "must be 8 to 256 characters"));
        }
        Some(secret) => secret.clone(),
        None => signing::generate_secret(),
    };
    Ok(json!({ "url": callback.url, "headers": headers, "secret": secret }))
}

/// Checks a task's input for its type, naming the field at fault.
async fn validate_input(
    db: &impl ConnectionTrait,
    guard: &OutboundGuard,
    account_id: &str,
    kind: &str,
    input: &Value,
) -> AppResult<()> {
    let Value::Object(fields) = input else { return Err(AppError::validation("input", "must be an object")) };
    if serde_json::to_vec(input).map(|b| b.len()).unwrap_or(0) > MAX_INPUT_BYTES {
        return Err(AppError::validation("input", format!("must be at most {MAX_INPUT_BYTES} bytes of JSON")));
    }
    let string = |name: &str| fields.get(name).and_then(Value::as_str);
    if let Some(agent_id) = fields.get("agentId") {
        let id = agent_id.as_str().ok_or_else(|| AppError::validation("input.agentId", "must be a string"))?;
        super::agents::get(db, account_id, id)
            .await
            .map_err(|_| AppError::validation("input.agentId", "no such agent"))?;
    }
    match kind {
        "analysis" => {
            match (fields.get("fileUrl"), fields.get("fileId")) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(AppError::validation("input", "give exactly one of `fileUrl` and `fileId`"));
                }
                (Some(url), None) => {
                    let url = url.as_str().ok_or_else(|| AppError::validation("input.fileUrl", "must be a string"))?;
                    guard.check_url(url).map_err(|err| AppError::BadRequest {
                        code: err.code(),
                        message: format!("input.fileUrl: {err}"),
                    })?;
                }
                (None, Some(id)) => {
                    let id = id.as_str().ok_or_else(|| AppError::validation("input.fileId", "must be a string"))?;
                    files::get(db, account_id, id)
                        .await
                        .map_err(|_| AppError::validation("input.fileId", "no such file"))?;
                }
            }
            if let Some(ops) = fields.get("operations") {
                let ops = ops.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
                    AppError::validation("input.operations", "must be a non-empty array of `summarize`, `visualize`")
                })?;
                for op in ops {
                    if !op.as_str().is_some_and(|op| OPERATIONS.contains(&op)) {
                        return Err(AppError::validation(
                            "input.operations",
                            format!("unknown operation {op} (known: summarize, visualize)"),
                        ));
                    }
                }
            }
        }
        "agent.run" => {
            let content = string("content").filter(|c| !c.trim().is_empty());
            if content.is_none() {
                return Err(AppError::validation("input.content", "the message to send is required"));
            }
            match (fields.get("conversationId"), fields.get("agentId")) {
                (None, None) => return Err(AppError::validation("input", "give `agentId` or `conversationId`")),
                (Some(id), _) => {
                    let id =
                        id.as_str().ok_or_else(|| AppError::validation("input.conversationId", "must be a string"))?;
                    super::conversations::get(db, account_id, id)
                        .await
                        .map_err(|_| AppError::validation("input.conversationId", "no such conversation"))?;
                }
                _ => {}
            }
        }
        "noop" => {
            if let Some(ms) = fields.get("sleepMs")
                && ms.as_u64().is_none_or(|ms| ms > MAX_NOOP_SLEEP_MS)
            {
                return Err(AppError::validation(
                    "input.sleepMs",
                    format!("must be an integer from 0 to {MAX_NOOP_SLEEP_MS}"),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Stores a new task, `queued`, with `task.created`. Returns the task, the event, and the callback secret when
/// the server generated it (shown only in this response).
pub async fn create(
    db: &Db,
    guard: &OutboundGuard,
    account_id: &str,
    new: NewTask,
    max_attempts: u32,
    max_timeout_secs: u64,
) -> AppResult<(task::Model, Event)> {
    if !TYPES.contains(&new.kind.as_str()) {
        return Err(AppError::validation(
            "type",
            format!("unknown task type `{}` (known: {})", new.kind, TYPES.join(", ")),
        ));
    }
    let timeout = new.timeout_secs.unwrap_or(max_timeout_secs as i64);
    if !(1..=max_timeout_secs as i64).contains(&timeout) {
        return Err(AppError::validation("timeoutSeconds", format!("must be between 1 and {max_timeout_secs}")));
    }
    let callback = new.callback.as_ref().map(|c| validate_callback(guard, c)).transpose()?;
    let txn = crate::db::begin_write(db).await?;
    validate_input(&txn, guard, account_id, &new.kind, &new.input).await?;
    let now = Utc::now();
    let created = task::ActiveModel {
        id: Set(crate::ids::new_id("task")),
        account_id: Set(account_id.to_owned()),
        kind: Set(new.kind),
        input: Set(new.input),
        status: Set(status::QUEUED.into()),
        progress: Set(0),
        result: Set(None),
        error: Set(None),
        callback: Set(callback),
        attempts: Set(0),
        max_attempts: Set(max_attempts.max(1) as i32),
        timeout_secs: Set(timeout as i32),
        run_after: Set(now),
        lease_until: Set(None),
        lease_owner: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(None),
        completed_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let event = Event::new(EventKind::TaskCreated, account_id, &created.id, to_json(&created));
    events::record(&txn, &event).await?;
    txn.commit().await?;
    Ok((created, event))
}

pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<task::Model> {
    task::Entity::find_by_id(id)
        .filter(task::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "task" })
}

pub async fn get_any(db: &impl ConnectionTrait, id: &str) -> AppResult<task::Model> {
    task::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound { resource: "task" })
}

/// The account's tasks, newest first.
pub async fn list(
    db: &Db,
    account_id: &str,
    status_filter: Option<String>,
    type_filter: Option<String>,
    cursor: CursorRequest,
) -> AppResult<(Vec<task::Model>, CursorInfo)> {
    let mut query = task::Entity::find().filter(task::Column::AccountId.eq(account_id));
    if let Some(wanted) = status_filter {
        if !status::ALL.contains(&wanted.as_str()) {
            return Err(AppError::validation("status", format!("must be one of {}", status::ALL.join(", "))));
        }
        query = query.filter(task::Column::Status.eq(wanted));
    }
    if let Some(kind) = type_filter {
        if !TYPES.contains(&kind.as_str()) {
            return Err(AppError::validation("type", format!("must be one of {}", TYPES.join(", "))));
        }
        query = query.filter(task::Column::Kind.eq(kind));
    }
    if let Some(after) = &cursor.after {
        query = query.filter(task::Column::Id.lt(after.as_str()));
    }
    let rows = query.order_by_desc(task::Column::Id).limit(cursor.limit + 1).all(db).await?;
    Ok(cursor.page(rows, |t| t.id.clone()))
}

/// Cancels a queued or running task (a running one is stopped by its worker at the next check).
pub async fn cancel(db: &Db, account_id: &str, id: &str) -> AppResult<(task::Model, Event)> {
    let txn = crate::db::begin_write(db).await?;
    let current = get(&txn, account_id, id).await?;
    if ![status::QUEUED, status::RUNNING].contains(&current.status.as_str()) {
        return Err(AppError::Conflict {
            code: "task_not_cancellable",
            message: format!("the task is already {}", current.status),
        });
    }
    let now = Utc::now();
    let mut active = current.into_active_model();
    active.status = Set(status::CANCELLED.into());
    active.lease_until = Set(None);
    active.completed_at = Set(Some(now));
    active.updated_at = Set(now);
    let cancelled = active.update(&txn).await?;
    let event = Event::new(EventKind::TaskCancelled, account_id, &cancelled.id, to_json(&cancelled));
    events::record(&txn, &event).await?;
    txn.commit().await?;
    Ok((cancelled, event))
}

/// The worker's hold on a task it runs.
#[derive(Debug, Clone)]
pub struct Lease {
    pub owner: String,
    pub seconds: i64,
}

/// Renews the lease and, when `progress` is given, stores it with a `task.progress` event. `Ok(None)` means the
/// task is no longer this worker's (cancelled, or its lease expired and another worker took it): stop.
pub async fn heartbeat(
    db: &Db,
    task_id: &str,
    lease: &Lease,
    progress: Option<i32>,
) -> AppResult<Option<Option<Event>>> {
    let txn = crate::db::begin_write(db).await?;
    let Some(current) = owned(&txn, task_id, lease).await? else { return Ok(None) };
    let now = Utc::now();
    let mut active = current.clone().into_active_model();
    active.lease_until = Set(Some(now + chrono::Duration::seconds(lease.seconds)));
    active.updated_at = Set(now);
    let mut event = None;
    if let Some(progress) = progress.map(|p| p.clamp(0, 99)).filter(|p| *p > current.progress) {
        active.progress = Set(progress);
        let updated = active.update(&txn).await?;
        let e = Event::new(
            EventKind::TaskProgress,
            &updated.account_id,
            &updated.id,
            json!({ "taskId": updated.id, "status": updated.status, "progress": updated.progress }),
        );
        events::record(&txn, &e).await?;
        event = Some(e);
    } else {
        active.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(Some(event))
}

async fn owned(db: &impl ConnectionTrait, task_id: &str, lease: &Lease) -> AppResult<Option<task::Model>> {
    Ok(task::Entity::find_by_id(task_id)
        .filter(task::Column::Status.eq(status::RUNNING))
        .filter(task::Column::LeaseOwner.eq(lease.owner.as_str()))
        .one(db)
        .await?)
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Ending {
    Completed(Value),
    /// `retryable` failures (timeouts, a lost worker) are queued again while attempts remain.
    Failed {
        code: String,
        message: String,
        retryable: bool,
    },
}

/// Stores a run's end — `completed` or `failed` with its event and callback, or back to `queued` for a retry —
/// if the task is still this worker's. Returns the events to publish.
pub async fn finish(db: &Db, task_id: &str, lease: &Lease, ending: Ending) -> AppResult<Vec<Event>> {
    let txn = crate::db::begin_write(db).await?;
    let Some(current) = owned(&txn, task_id, lease).await? else { return Ok(Vec::new()) };
    let now = Utc::now();
    let attempts_left = current.attempts < current.max_attempts;
    let mut active = current.clone().into_active_model();
    active.lease_until = Set(None);
    active.lease_owner = Set(None);
    active.updated_at = Set(now);
    let kind = match &ending {
        Ending::Failed { retryable: true, .. } if attempts_left => {
            active.status = Set(status::QUEUED.into());
            active.run_after = Set(now + chrono::Duration::seconds(retry_delay_secs(current.attempts)));
            active.update(&txn).await?;
            txn.commit().await?;
            return Ok(Vec::new());
        }
        Ending::Completed(result) => {
            active.status = Set(status::COMPLETED.into());
            active.progress = Set(100);
            active.result = Set(Some(result.clone()));
            EventKind::TaskCompleted
        }
        Ending::Failed { code, message, .. } => {
            active.status = Set(status::FAILED.into());
            active.error = Set(Some(json!({ "code": code, "message": message })));
            EventKind::TaskFailed
        }
    };
    active.completed_at = Set(Some(now));
    let ended = active.update(&txn).await?;
    let body = to_json(&ended);
    let event = Event::new(kind, &ended.account_id, &ended.id, body.clone());
    events::record(&txn, &event).await?;
    enqueue_callback(&txn, &ended, &event, &body).await?;
    txn.commit().await?;
    Ok(vec![event])
}

/// Retries of a task wait 2ˢ seconds (s = attempts so far), at most a minute.
fn retry_delay_secs(attempts: i32) -> i64 {
    1i64 << attempts.clamp(0, 6)
}

/// The task's callback, if it has one: a delivery of the task itself, signed with the callback's secret and
/// carrying the caller's headers, retried like a webhook.
async fn enqueue_callback(
    db: &impl ConnectionTrait,
    ended: &task::Model,
    event: &Event,
    body: &Value,
) -> AppResult<()> {
    let Some(callback) = &ended.callback else { return Ok(()) };
    let Some(url) = callback.get("url").and_then(Value::as_str) else { return Ok(()) };
    let mut delivery = webhooks::new_delivery(&ended.account_id, event, signing::body(body));
    delivery.task_id = Set(Some(ended.id.clone()));
    delivery.url = Set(Some(url.to_owned()));
    delivery.headers = Set(callback.get("headers").cloned());
    delivery.secret = Set(callback.get("secret").and_then(Value::as_str).map(str::to_owned));
    delivery.insert(db).await?;
    Ok(())
}

/// The task as the API shows it (the callback's secret never appears).
pub fn to_json(t: &task::Model) -> Value {
    let time = |at: Option<DateTime<Utc>>| at.map(format_time);
    json!({
        "id": t.id,
        "type": t.kind,
        "status": t.status,
        "progress": t.progress,
        "input": t.input,
        "result": t.result,
        "error": t.error,
        "callback": callback_json(t),
        "attempts": t.attempts,
        "createdAt": format_time(t.created_at),
        "startedAt": time(t.started_at),
        "completedAt": time(t.completed_at),
        "updatedAt": format_time(t.updated_at),
    })
}

/// The task's callback as shown: `{"url","headers"}`, never the secret.
pub fn callback_json(t: &task::Model) -> Option<Value> {
    t.callback.as_ref().map(|c| json!({ "url": c.get("url"), "headers": c.get("headers") }))
}

/// The callback's signing secret (shown once, in the create response).
pub fn callback_secret(t: &task::Model) -> Option<String> {
    t.callback.as_ref()?.get("secret")?.as_str().map(str::to_owned)
}
