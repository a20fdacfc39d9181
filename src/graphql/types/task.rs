//! Async tasks.
use async_graphql::{ID, Json, Object, SimpleObject};
use serde_json::Value;

use super::conversation::CursorPagination;
use crate::{graphql::scalars::DateTime, services::tasks};
use entity::task;

/// An async task. `callbackSecret` is shown only in the response that created it.
pub struct Task {
    pub model: task::Model,
    pub reveal_secret: bool,
}

impl Task {
    pub fn new(model: task::Model) -> Self {
        Self { model, reveal_secret: false }
    }
}

#[Object]
impl Task {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    /// `analysis`, `agent.run` or `noop`.
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.model.kind
    }
    /// queued | running | completed | failed | cancelled
    async fn status(&self) -> &str {
        &self.model.status
    }
    /// 0–100, rising as the work is done.
    async fn progress(&self) -> i32 {
        self.model.progress
    }
    async fn input(&self) -> Json<Value> {
        Json(self.model.input.clone())
    }
    /// For `analysis`: `{"summary", "statistics", "charts": [urls], "chartFiles"}`.
    async fn result(&self) -> Option<Json<Value>> {
        self.model.result.clone().map(Json)
    }
    /// `{"code","message"}` of a failed task.
    async fn error(&self) -> Option<Json<Value>> {
        self.model.error.clone().map(Json)
    }
    /// `{"url","headers"}` POSTed the task when it ends.
    async fn callback(&self) -> Option<Json<Value>> {
        tasks::callback_json(&self.model).map(Json)
    }
    /// The secret the callback is signed with: only in the response that created the task.
    async fn callback_secret(&self) -> Option<String> {
        self.reveal_secret.then(|| tasks::callback_secret(&self.model)).flatten()
    }
    /// Attempts so far (a task is retried after a timeout or a lost worker).
    async fn attempts(&self) -> i32 {
        self.model.attempts
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.model.created_at)
    }
    async fn started_at(&self) -> Option<DateTime> {
        self.model.started_at.map(DateTime)
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.model.completed_at.map(DateTime)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.model.updated_at)
    }
}

#[derive(SimpleObject)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    pub pagination: CursorPagination,
}
