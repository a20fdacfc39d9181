//! The task worker pool. Each worker claims one due task at a time with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), renews the lease while the task runs (reporting progress with it), and stores the outcome only if
//! the task is still its own — so a task whose worker died is re-claimed once the lease runs out and is never run
//! by two workers at once. Cancelling is noticed at the next heartbeat (at once on this instance).
mod agent_run;
mod analysis;

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;
use futures_util::FutureExt;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

use crate::{
    app::AppState,
    error::AppError,
    services::{
        queue,
        tasks::{self, Ending, Lease},
    },
};
use entity::task;

/// Wakes idle workers and stops running tasks that were cancelled on this instance.
#[derive(Default)]
pub struct TaskWorkers {
    wake: Notify,
    running: std::sync::Mutex<HashMap<String, Arc<Notify>>>,
}

impl TaskWorkers {
    /// A task was queued here.
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// A task was cancelled: stop it now if it runs here.
    pub fn cancelled(&self, task_id: &str) {
        if let Some(stop) = self.running.lock().unwrap_or_else(|e| e.into_inner()).get(task_id) {
            stop.notify_one();
        }
    }
}

/// A failure inside a task handler.
#[derive(Debug)]
pub struct TaskError {
    pub code: &'static str,
    pub message: String,
    pub retryable: bool,
}

impl TaskError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retryable: false }
    }
}

impl From<AppError> for TaskError {
    fn from(err: AppError) -> Self {
        let retryable = matches!(err, AppError::Unavailable | AppError::Internal(_));
        Self { code: err.code(), message: err.public_message(), retryable }
    }
}

/// What a handler gets: the task, the app, and a way to report progress.
pub struct TaskContext {
    pub state: AppState,
    pub task: task::Model,
    progress: mpsc::UnboundedSender<i32>,
}

impl TaskContext {
    /// Reports progress (0–99; 100 is set on completion). Stored with the next heartbeat, which follows at once.
    pub fn progress(&self, percent: i32) {
        let _ = self.progress.send(percent);
    }
}

/// Starts `config.task_workers` workers.
pub fn spawn(state: AppState) {
    let instance = uuid::Uuid::now_v7().simple().to_string();
    for n in 0..state.config.task_workers {
        let state = state.clone();
        let owner = format!("{instance}-{n}");
        tokio::spawn(async move { worker(state, owner).await });
    }
}

async fn worker(state: AppState, owner: String) {
    let poll = Duration::from_millis(state.config.task_poll_ms.max(10));
    loop {
        let wake = state.tasks.wake.notified();
        match claim(&state, &owner).await {
            Ok(Some(task)) => run(&state, &owner, task).await,
            Ok(None) => {
                tokio::select! {
                    () = wake => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "claiming a task failed");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

async fn claim(state: &AppState, owner: &str) -> Result<Option<task::Model>, AppError> {
    let now = Utc::now();
    let lease = now + chrono::Duration::seconds(state.config.task_lease_secs as i64);
    // The owner is our own generated `[0-9a-f-]` string, safe to inline.
    let set = format!(
        "status = 'running', lease_until = {{lease}}, lease_owner = '{owner}', attempts = attempts + 1, \
         started_at = COALESCE(started_at, {{now}}), updated_at = {{now}}"
    );
    let claimed = queue::claim::<task::Entity>(
        &state.db,
        &queue::Claim {
            table: "tasks",
            ready: "(status = 'queued' AND run_after <= {now}) OR (status = 'running' AND lease_until < {now})",
            order: "run_after, id",
            set: &set,
        },
        1,
        now,
        lease,
    )
    .await?;
    Ok(claimed.into_iter().next())
}

/// Runs one claimed task to its end (or until it stops being ours).
async fn run(state: &AppState, owner: &str, task: task::Model) {
    let lease = Lease { owner: owner.to_owned(), seconds: state.config.task_lease_secs as i64 };
    let id = task.id.clone();
    if task.attempts > task.max_attempts {
        // Its previous workers died mid-run: give up rather than crash-loop.
        let ending = Ending::Failed {
            code: "worker_lost".into(),
            message: format!("the task was interrupted {} times", task.max_attempts),
            retryable: false,
        };
        publish(state, tasks::finish(&state.db, &id, &lease, ending).await);
        return;
    }
    let stop = Arc::new(Notify::new());
    state.tasks.running.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), stop.clone());
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
    let timeout = Duration::from_secs(task.timeout_secs.max(1) as u64);
    let context = TaskContext { state: state.clone(), task: task.clone(), progress: progress_tx };
    let handler = std::panic::AssertUnwindSafe(execute(context)).catch_unwind();
    let handler = tokio::time::timeout(timeout, handler);
    tokio::pin!(handler);
    let beat = Duration::from_secs((state.config.task_lease_secs / 3).max(1));
    let ending = loop {
        tokio::select! {
            outcome = &mut handler => break Some(match outcome {
                Err(_) => Ending::Failed {
                    code: "task_timeout".into(),
                    message: format!("the task did not finish within {} s", timeout.as_secs()),
                    retryable: true,
                },
                Ok(Err(_)) => Ending::Failed { code: "internal_error".into(), message: "the task handler panicked".into(), retryable: false },
                Ok(Ok(Ok(result))) => Ending::Completed(result),
                Ok(Ok(Err(err))) => Ending::Failed { code: err.code.into(), message: err.message, retryable: err.retryable },
            }),
            Some(percent) = progress_rx.recv() => {
                if !beat_once(state, &id, &lease, Some(percent)).await { break None; }
            }
            () = tokio::time::sleep(beat) => {
                if !beat_once(state, &id, &lease, None).await { break None; }
            }
            () = stop.notified() => break None,
        }
    };
    state.tasks.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    match ending {
        Some(ending) => publish(state, tasks::finish(&state.db, &id, &lease, ending).await),
        None => tracing::info!(task_id = %id, "task stopped: cancelled or no longer ours"),
    }
}

/// Renews the lease; false when the task is no longer ours.
async fn beat_once(state: &AppState, id: &str, lease: &Lease, progress: Option<i32>) -> bool {
    match tasks::heartbeat(&state.db, id, lease, progress).await {
        Ok(Some(event)) => {
            if let Some(event) = event {
                state.publish(event);
            }
            true
        }
        Ok(None) => false,
        // A failed heartbeat is not proof of loss: keep going, the next one may succeed before the lease ends.
        Err(err) => {
            tracing::warn!(task_id = %id, error = %err, "task heartbeat failed");
            true
        }
    }
}

fn publish(state: &AppState, finished: Result<Vec<crate::events::Event>, AppError>) {
    match finished {
        Ok(events) => events.into_iter().for_each(|event| state.publish(event)),
        Err(err) => tracing::warn!(error = %err, "storing a task's outcome failed; it will be re-claimed"),
    }
}

async fn execute(context: TaskContext) -> Result<Value, TaskError> {
    match context.task.kind.as_str() {
        "analysis" => analysis::run(&context).await,
        "agent.run" => agent_run::run(&context).await,
        "noop" => {
            let ms = context.task.input.get("sleepMs").and_then(Value::as_u64).unwrap_or(0);
            if ms > 0 {
                context.progress(50);
                tokio::time::sleep(Duration::from_millis(ms.min(tasks::MAX_NOOP_SLEEP_MS))).await;
            }
            Ok(json!({ "input": context.task.input }))
        }
        other => Err(TaskError::new("unknown_task_type", format!("no handler for task type `{other}`"))),
    }
}
