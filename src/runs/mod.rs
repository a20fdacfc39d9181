//! Agent runs: generating replies detached from client connections. A send stores the user message and a reply
//! placeholder and opens the reply's [`RunLog`]; the conversation's runner generates replies one at a time (queued
//! ones in order), streaming into the log, which SSE responses, resumed streams and subscriptions follow.
mod attachments;
pub mod estimate;
mod log;
pub mod payload;
mod persist;
pub mod prompt;
mod recall;
pub mod replay;
mod runner;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures_util::{FutureExt, StreamExt, stream::BoxStream};
use tokio_util::sync::CancellationToken;

pub use log::RunLog;

use crate::{
    app::AppState,
    error::{AppError, AppResult},
    events::{StreamEvent, StreamEventKind},
    services::messages::{self, Sent},
};

struct Active {
    log: Arc<RunLog>,
    cancel: CancellationToken,
}

/// The replies this instance is generating or has queued, by reply id.
#[derive(Default)]
pub struct Runs {
    active: Mutex<HashMap<String, Active>>,
}

impl Runs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens the log of a reply (at send time, before it runs, so followers can wait on a queued reply).
    fn open(&self, conversation_id: &str, reply_id: &str) -> Arc<RunLog> {
        self.lock()
            .entry(reply_id.to_owned())
            .or_insert_with(|| Active {
                log: Arc::new(RunLog::new(conversation_id, reply_id)),
                cancel: CancellationToken::new(),
            })
            .log
            .clone()
    }

    fn take(&self, reply_id: &str) -> Option<(Arc<RunLog>, CancellationToken)> {
        self.lock().get(reply_id).map(|a| (a.log.clone(), a.cancel.clone()))
    }

    fn close(&self, reply_id: &str) {
        self.lock().remove(reply_id);
    }

    /// The live log of a reply, if this instance is running (or holding) it.
    pub fn log(&self, reply_id: &str) -> Option<Arc<RunLog>> {
        self.lock().get(reply_id).map(|a| a.log.clone())
    }

    /// Asks a running reply to stop. `false` when this instance is not running it.
    pub fn cancel(&self, reply_id: &str) -> bool {
        self.lock().get(reply_id).map(|a| a.cancel.cancel()).is_some()
    }

    /// A conversation is going away: its running reply is cancelled, and replies still queued end at once with
    /// an error (their followers get `error` then `done` instead of waiting forever). Returns those queued replies.
    pub fn abort_conversation(&self, conversation_id: &str) -> Vec<String> {
        let mut active = self.lock();
        let queued: Vec<String> = active
            .iter()
            .filter(|(_, a)| a.log.conversation_id == conversation_id)
            .filter_map(|(id, a)| {
                a.cancel.cancel();
                a.log.is_empty().then(|| id.clone())
            })
            .collect();
        for reply_id in &queued {
            if let Some(entry) = active.remove(reply_id) {
                let message = "the conversation was deleted before this reply started";
                entry.log.push(StreamEventKind::Error, payload::error(reply_id, "conversation_deleted", message));
                entry.log.push(StreamEventKind::Done, payload::done(reply_id, messages::status::CANCELLED));
            }
        }
        queued
    }

    /// How many replies are live or queued here (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// After a send committed: open the reply's log, publish `message.received`, and start the runner if the
/// conversation was claimed for this reply (a queued reply starts when its turn comes).
pub fn start(state: &AppState, sent: &Sent) {
    state.runs.open(&sent.reply.conversation_id, &sent.reply.id);
    state.publish(sent.event.clone());
    if sent.claimed {
        spawn(state.clone(), sent.reply.id.clone());
    } else {
        // The running reply may have ended between our claim attempt and our commit: look again.
        tokio::spawn(drain(state.clone(), sent.reply.conversation_id.clone()));
    }
}

/// Starts the conversation's next queued reply if the conversation is free.
async fn drain(state: AppState, conversation_id: String) {
    // A transient database failure must not strand a queued reply (its followers would wait forever): retry.
    for delay_ms in [0, 50, 250, 1000, 4000] {
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        match messages::claim_next_queued(&state.db, &conversation_id).await {
            Ok(Some(reply_id)) => return spawn(state, reply_id),
            Ok(None) => return,
            Err(err) => tracing::warn!(error = %err, conversation_id, "could not start a queued reply; retrying"),
        }
    }
    tracing::error!(conversation_id, "gave up starting a queued reply");
}

/// Runs one claimed reply on its own task, then the conversation's next queued one.
fn spawn(state: AppState, reply_id: String) {
    tokio::spawn(async move {
        let reply = match messages::get_any(&state.db, &reply_id).await {
            Ok(reply) => reply,
            Err(err) => {
                tracing::error!(error = %err, reply_id, "claimed reply vanished");
                return;
            }
        };
        let (log, cancel) = state
            .runs
            .take(&reply.id)
            .unwrap_or_else(|| (state.runs.open(&reply.conversation_id, &reply.id), CancellationToken::new()));
        let conversation_id = reply.conversation_id.clone();
        // A panic in the run must not leave the conversation claimed forever.
        let outcome =
            std::panic::AssertUnwindSafe(runner::run(state.clone(), reply.clone(), log, cancel)).catch_unwind().await;
        if outcome.is_err() {
            tracing::error!(reply_id = %reply.id, "reply run panicked");
            let _ = messages::release(&state.db, &conversation_id, &reply.id).await;
        }
        // The run settles its quota reservation when it records its usage; a panicked run did not.
        state.limiter.settle_quota(&reply.id);
        state.runs.close(&reply.id);
        drain(state, conversation_id).await;
    });
}

/// A reply's stream from after sequence `after`: the live log when this instance holds the reply, else the
/// stored reply replayed. Either way a finished reply's stream ends with its terminal events (`error` or
/// `message.completed`, then `done`), whatever `after` the client gives.
pub async fn follow(
    state: &AppState,
    reply: &entity::message::Model,
    after: u64,
) -> AppResult<BoxStream<'static, Arc<StreamEvent>>> {
    if let Some(log) = state.runs.log(&reply.id) {
        return Ok(log.follow(after));
    }
    // The run may have finished between the caller's read and now: read again.
    let current = messages::get_any(&state.db, &reply.id).await?;
    match replay::resume(&current, after) {
        Some(events) => Ok(futures_util::stream::iter(events.into_iter().map(Arc::new).collect::<Vec<_>>()).boxed()),
        None => Err(AppError::Conflict {
            code: "stream_unavailable",
            message: "this reply is being generated by another server instance".into(),
        }),
    }
}

/// Waits for a reply to finish and returns it as stored.
pub async fn wait(state: &AppState, reply: &entity::message::Model) -> AppResult<entity::message::Model> {
    let mut events = follow(state, reply, 0).await?;
    while events.next().await.is_some() {}
    messages::get_any(&state.db, &reply.id).await
}

/// Fails fast (before anything is stored) when no provider serves the conversation's model.
pub async fn check_model(state: &AppState, conversation: &entity::conversation::Model) -> AppResult<()> {
    use crate::services::{agents, conversations};
    let model = match conversations::model_override(conversation) {
        Some(model) => model,
        None => agents::model_ref(&agents::get(&state.db, &conversation.account_id, &conversation.agent_id).await?),
    };
    state.llm.resolve(&model).map(|_| ())
}
