//! `events(types, after)`: the account's events, live, resumable from an event id; `taskProgress(id)`: one
//! task's state as it changes, ending when the task ends.
use std::collections::HashSet;

use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt, stream};

use crate::{
    app::AppState,
    error::AppError,
    events::{BusMessage, Delivery, Event, EventKind, Topic},
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::{DomainEvent, Task},
    },
    services::{cursor::CursorRequest, events, tasks},
};

#[derive(Default)]
pub struct EventSubscription;

/// Events stored after `after`, read page by page (the catch-up part of a resumed subscription).
async fn backlog(app: &AppState, account_id: &str, types: &[EventKind], after: String) -> Result<Vec<Event>, AppError> {
    let mut all = Vec::new();
    let mut cursor = Some(after);
    while let Some(after) = cursor.take() {
        let request = CursorRequest::new(Some(after), Some(100))?;
        let (page, info) = events::list(&app.db, account_id, types, request).await?;
        all.extend(page);
        cursor = info.next_cursor;
        if all.len() > 10_000 {
            return Err(AppError::validation("after", "more than 10000 events to replay; page with the events query"));
        }
    }
    Ok(all)
}

fn lagged(n: u64, last: Option<&str>) -> async_graphql::Error {
    let resume = last.map_or_else(String::new, |id| format!("; resubscribe with after: \"{id}\""));
    AppError::Conflict {
        code: "subscription_lagged",
        message: format!("this subscriber fell behind and missed {n} events{resume}"),
    }
    .into_graphql()
}

#[Subscription]
impl EventSubscription {
    /// Every event of the account (optionally only `types`), as it happens. With `after` (an event id), the
    /// events stored since then are replayed first, each exactly once, then live ones follow.
    #[graphql(guard = "ScopeGuard(\"events:read\")")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<String>>,
        after: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<DomainEvent>> + use<>> {
        let app = ctx.app().gql()?.clone();
        let account_id = ctx.principal().gql()?.account_id.clone();
        let types = events::parse_types("types", &types.unwrap_or_default()).gql()?;
        // Subscribe before reading the backlog, so nothing committed in between is missed.
        let live = app.events.subscribe(Topic::Account(account_id.clone()));
        let replayed = match after {
            Some(after) => {
                events::get(&app.db, &account_id, &after)
                    .await
                    .map_err(|_| AppError::validation("after", "no such event"))
                    .gql()?;
                backlog(&app, &account_id, &types, after.0).await.gql()?
            }
            None => Vec::new(),
        };
        let seen: HashSet<String> = replayed.iter().map(|e| e.id.clone()).collect();
        let mut last = replayed.last().map(|e| e.id.clone());
        let wanted = move |kind: EventKind| types.is_empty() || types.contains(&kind);
        let live = live.filter_map(move |delivery| {
            let item = match delivery {
                Delivery::Message(BusMessage::Event(event)) if wanted(event.kind) && !seen.contains(&event.id) => {
                    last = Some(event.id.clone());
                    Some(Ok(DomainEvent::from(event.as_ref())))
                }
                Delivery::Lagged(n) => Some(Err(lagged(n, last.as_deref()))),
                _ => None,
            };
            async move { item }
        });
        Ok(stream::iter(replayed.into_iter().map(|e| Ok(DomainEvent::from(&e)))).chain(live))
    }

    /// The task now, then again each time it changes (progress, status), ending once it has ended.
    #[graphql(guard = "ScopeGuard(\"tasks:read\")")]
    async fn task_progress(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Task>> + use<>> {
        let app = ctx.app().gql()?.clone();
        let account_id = ctx.principal().gql()?.account_id.clone();
        let live = app.events.subscribe(Topic::Account(account_id.clone()));
        let current = tasks::get(&app.db, &account_id, &id).await.gql()?;
        let task_id = current.id.clone();
        let ended = |status: &str| ![tasks::status::QUEUED, tasks::status::RUNNING].contains(&status);
        let first_ended = ended(&current.status);
        let changes = live
            .filter_map(move |delivery| {
                let relevant = match delivery {
                    Delivery::Message(BusMessage::Event(event)) => {
                        event.subject_id == task_id && event.kind.as_str().starts_with("task.")
                    }
                    Delivery::Lagged(_) => true, // re-read the task: its latest state is what matters
                    _ => false,
                };
                let (app, account_id, task_id) = (app.clone(), account_id.clone(), task_id.clone());
                async move {
                    if !relevant {
                        return None;
                    }
                    Some(tasks::get(&app.db, &account_id, &task_id).await.map_err(AppError::into_graphql))
                }
            })
            .scan(first_ended, move |done, item| {
                let out = if *done {
                    None
                } else {
                    if let Ok(task) = &item {
                        *done = ended(&task.status);
                    }
                    Some(item.map(Task::new))
                };
                async move { out }
            });
        Ok(stream::once(async move { Ok(Task::new(current)) }).chain(changes))
    }
}
