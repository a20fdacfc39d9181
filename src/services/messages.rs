//! Messages: storing what the user said (with its reply placeholder, atomically claiming the conversation),
//! finishing replies, and reading history. The generation itself lives in `crate::runs`.
use crate::db::Db;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    conversations,
    cursor::{CursorInfo, CursorRequest},
    events, usage,
};
use crate::{
    error::{AppError, AppResult},
    events::{Event, EventKind},
    llm::Usage,
};
use entity::{conversation, message};

pub const MAX_ATTACHMENTS: usize = 10;

/// Reply statuses: `queued` (waiting its turn), `in_progress`, then `completed`, `failed` or `cancelled`.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const IN_PROGRESS: &str = "in_progress";
    pub const COMPLETED: &str = "completed";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
}

/// An attachment as sent: `{"type":"file","url":"…"}` or `{"type":"file","fileId":"file-…"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub file_id: Option<String>,
}

/// What to do when a reply is already running in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhileBusy {
    /// 409 `conversation_busy`.
    #[default]
    Reject,
    /// Queue the message; its reply starts when the running one ends.
    Enqueue,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub content: String,
    pub attachments: Vec<Attachment>,
    pub while_busy: WhileBusy,
}

/// The stored user message, its reply placeholder, whether the conversation was claimed for it (else queued),
/// and the `message.received` event to publish.
pub struct Sent {
    pub message: message::Model,
    pub reply: message::Model,
    pub claimed: bool,
    pub event: Event,
}

/// Validates content and attachments, naming the field at fault.
pub fn validate(new: &NewMessage, max_chars: usize) -> AppResult<()> {
    if new.content.trim().is_empty() {
        return Err(AppError::validation("content", "must not be empty"));
    }
    if new.content.chars().count() > max_chars {
        return Err(AppError::validation("content", format!("must be at most {max_chars} characters")));
    }
    if new.attachments.len() > MAX_ATTACHMENTS {
        return Err(AppError::validation("attachments", format!("at most {MAX_ATTACHMENTS} attachments")));
    }
    for (i, attachment) in new.attachments.iter().enumerate() {
        let field = |name: &str| format!("attachments[{i}]{name}");
        if attachment.kind != "file" {
            return Err(AppError::validation(field(".type"), "must be `file`"));
        }
        match (&attachment.url, &attachment.file_id) {
            (Some(url), None) => {
                let parsed = url::Url::parse(url).map_err(|_| AppError::validation(field(".url"), "must be a URL"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() || url.len() > 2048 {
                    return Err(AppError::validation(field(".url"), "must be an http(s) URL of at most 2048 bytes"));
                }
            }
            (None, Some(id)) => {
                if !id.starts_with("file-") || id.len() > 100 {
                    return Err(AppError::validation(field(".fileId"), "must be a file id (`file-…`)"));
                }
            }
            _ => return Err(AppError::validation(field(""), "needs exactly one of `url` or `fileId`")),
        }
    }
    Ok(())
}

/// Checks what [`validate`] cannot see alone: every `fileId` is one of the caller's files (another tenant's is
/// "no file", never revealed), and every `url` passes the SSRF guard. Nothing is fetched yet.
pub async fn check_attachments(
    db: &impl ConnectionTrait,
    outbound: &crate::outbound::OutboundGuard,
    account_id: &str,
    new: &NewMessage,
) -> AppResult<()> {
    for (i, attachment) in new.attachments.iter().enumerate() {
        if let Some(id) = &attachment.file_id {
            super::files::get(db, account_id, id).await.map_err(|err| match err {
                AppError::NotFound { .. } => {
                    AppError::validation(format!("attachments[{i}].fileId"), format!("no file `{id}`"))
                }
                other => other,
            })?;
        }
        if let Some(url) = &attachment.url {
            outbound
                .check_url(url)
                .map_err(|err| AppError::validation(format!("attachments[{i}].url"), err.to_string()))?;
        }
    }
    Ok(())
}

fn attachments_json(attachments: &[Attachment]) -> Option<Value> {
    (!attachments.is_empty()).then(|| {
        Value::Array(
            attachments
                .iter()
                .map(|a| match (&a.url, &a.file_id) {
                    (Some(url), _) => json!({ "type": a.kind, "url": url }),
                    (_, file_id) => json!({ "type": a.kind, "fileId": file_id }),
                })
                .collect(),
        )
    })
}

/// Stores the user message and a reply placeholder, and claims the conversation for the reply. A busy
/// conversation either refuses (409, nothing stored) or queues the reply, as `while_busy` says.
#[tracing::instrument(skip_all, fields(account_id = %account_id, conversation_id = %conversation_id), err(level = "debug"))]
pub async fn store_user_message(db: &Db, account_id: &str, conversation_id: &str, new: NewMessage) -> AppResult<Sent> {
    let txn = crate::db::begin_write(db).await?;
    let conversation = conversations::get(&txn, account_id, conversation_id).await?;
    if conversation.status != "active" {
        return Err(AppError::Conflict {
            code: "conversation_archived",
            message: "this conversation is archived and takes no new messages".into(),
        });
    }
    let now = Utc::now();
    let (message_id, reply_id) = (crate::ids::new_id("msg"), crate::ids::new_id("msg"));
    // Claim: only one reply runs per conversation. The row lock (PostgreSQL) or the write lock taken by
    // `BEGIN IMMEDIATE` (SQLite) serializes concurrent sends, so a second one sees the claim and backs off.
    let claimed = conversation::Entity::update_many()
        .col_expr(conversation::Column::ActiveReplyId, Expr::value(reply_id.clone()))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
        .filter(conversation::Column::Id.eq(conversation_id))
        .filter(conversation::Column::ActiveReplyId.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !claimed && new.while_busy == WhileBusy::Reject {
        return Err(AppError::Conflict {
            code: "conversation_busy",
            message: "a reply is still being generated in this conversation; wait for it, cancel it, or send with \
                      \"whileBusy\": \"enqueue\""
                .into(),
        });
    }
    let message = message::ActiveModel {
        id: Set(message_id.clone()),
        account_id: Set(account_id.to_owned()),
        conversation_id: Set(conversation_id.to_owned()),
        role: Set("user".into()),
        content: Set(new.content),
        attachments: Set(attachments_json(&new.attachments)),
        status: Set(status::COMPLETED.into()),
        reply_to: Set(None),
        reply_id: Set(Some(reply_id.clone())),
        model: Set(None),
        prompt_tokens: Set(None),
        completion_tokens: Set(None),
        finish_reason: Set(None),
        error: Set(None),
        deltas: Set(None),
        trace: Set(None),
        created_at: Set(now),
        completed_at: Set(Some(now)),
    }
    .insert(&txn)
    .await?;
    let reply = message::ActiveModel {
        id: Set(reply_id),
        account_id: Set(account_id.to_owned()),
        conversation_id: Set(conversation_id.to_owned()),
        role: Set("assistant".into()),
        content: Set(String::new()),
        attachments: Set(None),
        status: Set(if claimed { status::IN_PROGRESS } else { status::QUEUED }.into()),
        reply_to: Set(Some(message_id)),
        reply_id: Set(None),
        model: Set(None),
        prompt_tokens: Set(None),
        completion_tokens: Set(None),
        finish_reason: Set(None),
        error: Set(None),
        deltas: Set(None),
        trace: Set(None),
        // A hair later than the user message, so history sorts user-then-reply even by timestamp.
        created_at: Set(now),
        completed_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let event = Event::new(
        EventKind::MessageReceived,
        account_id,
        &message.id,
        json!({ "conversationId": conversation_id, "messageId": message.id, "replyId": reply.id, "content": message.content }),
    );
    events::record(&txn, &event).await?;
    txn.commit().await?;
    Ok(Sent { message, reply, claimed, event })
}

/// Claims the conversation for its oldest queued reply, if it is free. Returns the claimed reply's id.
pub async fn claim_next_queued(db: &Db, conversation_id: &str) -> AppResult<Option<String>> {
    let txn = crate::db::begin_write(db).await?;
    let next = message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::Status.eq(status::QUEUED))
        .order_by_asc(message::Column::Id)
        .one(&txn)
        .await?;
    let Some(next) = next else { return Ok(None) };
    let claimed = conversation::Entity::update_many()
        .col_expr(conversation::Column::ActiveReplyId, Expr::value(next.id.clone()))
        .filter(conversation::Column::Id.eq(conversation_id))
        .filter(conversation::Column::ActiveReplyId.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        return Ok(None);
    }
    message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value(status::IN_PROGRESS))
        .filter(message::Column::Id.eq(next.id.as_str()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Some(next.id))
}

/// Frees the conversation if `reply_id` holds it.
pub async fn release(db: &impl ConnectionTrait, conversation_id: &str, reply_id: &str) -> AppResult<()> {
    conversation::Entity::update_many()
        .col_expr(conversation::Column::ActiveReplyId, Expr::value(Option::<String>::None))
        .filter(conversation::Column::Id.eq(conversation_id))
        .filter(conversation::Column::ActiveReplyId.eq(reply_id))
        .exec(db)
        .await?;
    Ok(())
}

/// How a reply ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: &'static str,
    pub content: String,
    pub model: String,
    pub usage: Usage,
    pub finish_reason: Option<String>,
    pub error: Option<Value>,
    /// Byte offsets where each streamed delta ended; `None` when the reply failed before its stream started
    /// (no `message.created`), so its replay has no `message.created` either.
    pub deltas: Option<Vec<usize>>,
    /// Tool calls, results and recalls, in stream order (see `runs::replay`).
    pub trace: Vec<Value>,
    pub completed_at: DateTime<Utc>,
}

/// Stores a reply's outcome, adds its tokens to the month's usage (with any `usage.threshold` it crossed), records
/// `message.sent` (completed replies) and
/// frees the conversation, in one transaction.
#[tracing::instrument(skip_all, fields(reply_id = %reply.id), err(level = "debug"))]
pub async fn finish_reply(
    db: &Db,
    plans: &crate::limits::PlanTable,
    reply: &message::Model,
    outcome: Outcome,
) -> AppResult<(message::Model, Vec<Event>)> {
    let txn = crate::db::begin_write(db).await?;
    let mut active: message::ActiveModel = reply.clone().into();
    active.status = Set(outcome.status.to_owned());
    active.content = Set(outcome.content);
    active.model = Set(Some(outcome.model));
    active.prompt_tokens = Set(Some(outcome.usage.prompt_tokens as i64));
    active.completion_tokens = Set(Some(outcome.usage.completion_tokens as i64));
    active.finish_reason = Set(outcome.finish_reason);
    active.error = Set(outcome.error);
    active.deltas = Set(outcome.deltas.map(|deltas| json!(deltas)));
    active.trace = Set((!outcome.trace.is_empty()).then_some(Value::Array(outcome.trace)));
    active.completed_at = Set(Some(outcome.completed_at));
    let stored = active.update(&txn).await?;
    let mut recorded = Vec::new();
    if outcome.usage != Usage::default() {
        recorded = usage::add(&txn, plans, &reply.account_id, outcome.completed_at, outcome.usage).await?;
    }
    if stored.status == status::COMPLETED {
        let event = Event::new(
            EventKind::MessageSent,
            &stored.account_id,
            &stored.id,
            json!({ "conversationId": stored.conversation_id, "messageId": stored.id, "content": stored.content,
                    "usage": { "promptTokens": stored.prompt_tokens, "completionTokens": stored.completion_tokens } }),
        );
        events::record(&txn, &event).await?;
        recorded.push(event);
    }
    release(&txn, &reply.conversation_id, &reply.id).await?;
    txn.commit().await?;
    Ok((stored, recorded))
}

/// The caller's message, or 404.
pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<message::Model> {
    message::Entity::find_by_id(id)
        .filter(message::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "message" })
}

/// A page of a conversation's messages, oldest first.
pub async fn list(
    db: &Db,
    account_id: &str,
    conversation_id: &str,
    cursor: &CursorRequest,
) -> AppResult<(Vec<message::Model>, CursorInfo)> {
    conversations::get(db, account_id, conversation_id).await?;
    let mut query = message::Entity::find().filter(message::Column::ConversationId.eq(conversation_id));
    if let Some(after) = &cursor.after {
        query = query.filter(message::Column::Id.gt(after.as_str()));
    }
    let rows = query.order_by_asc(message::Column::Id).limit(cursor.limit + 1).all(db).await?;
    Ok(cursor.page(rows, |m| m.id.clone()))
}

/// The history a reply is generated from: the conversation's finished messages before it (oldest first),
/// newest `limit` only.
pub async fn history(
    db: &impl ConnectionTrait,
    conversation_id: &str,
    before_id: &str,
    limit: u64,
) -> AppResult<Vec<message::Model>> {
    let mut rows = message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::Id.lt(before_id))
        .filter(message::Column::Status.is_in([status::COMPLETED, status::CANCELLED]))
        .order_by_desc(message::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    rows.reverse();
    Ok(rows)
}

/// What a reply being generated has streamed so far (a prefix of its run log), as saved periodically by
/// `runs::persist` so that a crash loses at most the events since the last save.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partial {
    /// The model label of `message.created`.
    pub model: Option<String>,
    pub content: String,
    /// Byte offsets where each streamed delta ended (as in [`Outcome::deltas`]).
    pub deltas: Vec<usize>,
    /// Tool calls, results and recalls streamed so far (as in [`Outcome::trace`]).
    pub trace: Vec<Value>,
}

/// Saves a running reply's progress. Only a reply still `in_progress` is written: a save that lands after the
/// reply finished (the saver is stopped before the outcome is stored, but a write may be in flight) must never
/// overwrite the outcome. `true` when the row was written.
pub async fn save_partial(db: &impl ConnectionTrait, reply_id: &str, partial: &Partial) -> AppResult<bool> {
    let trace = (!partial.trace.is_empty()).then(|| Value::Array(partial.trace.clone()));
    let written = message::Entity::update_many()
        .col_expr(message::Column::Content, Expr::value(partial.content.clone()))
        .col_expr(message::Column::Deltas, Expr::value(json!(partial.deltas)))
        .col_expr(message::Column::Trace, Expr::value(trace))
        .col_expr(message::Column::Model, Expr::value(partial.model.clone()))
        .filter(message::Column::Id.eq(reply_id))
        .filter(message::Column::Status.eq(status::IN_PROGRESS))
        .exec(db)
        .await?
        .rows_affected;
    Ok(written == 1)
}

/// On start-up: replies left `in_progress` or `queued` by a previous process can never finish; they are marked
/// failed (`interrupted`) and their conversations freed. What a reply had streamed up to its last periodic save
/// (`content`, delta offsets, trace) is kept, so its replay gives the same events with the same ids as the live
/// stream up to that point, then `error` (`interrupted`) and `done`. (Single-instance: with several instances
/// sharing a database this needs run leases, which come with the scale-out work.)
pub async fn fail_interrupted(db: &Db) -> AppResult<u64> {
    let now = Utc::now();
    let failed = message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value(status::FAILED))
        .col_expr(
            message::Column::Error,
            Expr::value(json!({ "code": "interrupted",
                                "message": "the server stopped before this reply finished; the text saved before the stop is kept" })),
        )
        .col_expr(message::Column::CompletedAt, Expr::value(now))
        .filter(message::Column::Status.is_in([status::IN_PROGRESS, status::QUEUED]))
        .exec(db)
        .await?
        .rows_affected;
    conversation::Entity::update_many()
        .col_expr(conversation::Column::ActiveReplyId, Expr::value(Option::<String>::None))
        .filter(conversation::Column::ActiveReplyId.is_not_null())
        .exec(db)
        .await?;
    Ok(failed)
}

/// A message by id, whatever its account (for the runner, which got the id from a claimed row).
pub async fn get_any(db: &impl ConnectionTrait, id: &str) -> AppResult<message::Model> {
    message::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound { resource: "message" })
}
