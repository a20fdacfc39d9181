//! The delivery worker. It claims due deliveries with a lease (so several instances share the work and a crashed
//! instance's claims are re-claimed when their lease runs out), POSTs each signed body, records the attempt and
//! either completes the delivery or schedules the next try. Woken at once when an event is published here; polls
//! for retries and for deliveries written by other instances.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use futures_util::StreamExt;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::json;
use tokio::sync::{Notify, Semaphore, mpsc};

use super::{schedule, signing};
use crate::{
    app::AppState,
    error::AppResult,
    events::{Event, EventKind},
    outbound::OutboundError,
    services::{events, queue, webhooks},
};
use entity::{webhook, webhook_attempt, webhook_delivery};

/// Most deliveries claimed at once.
const CLAIM_BATCH: usize = 100;
/// Longest response excerpt kept per attempt.
const EXCERPT_BYTES: usize = 1024;

/// Wakes the worker when deliveries were queued on this instance.
#[derive(Default)]
pub struct DeliveryWorker {
    wake: Notify,
}

impl DeliveryWorker {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Runs the worker until the process ends: a claiming loop, concurrent senders, and one recorder that stores
/// the senders' outcomes in batches (one write transaction for many attempts: SQLite has a single writer, and
/// PostgreSQL is spared a commit per delivery).
pub fn spawn(state: AppState) {
    let (outcomes, received) = mpsc::unbounded_channel();
    tokio::spawn(record_outcomes(state.clone(), received));
    tokio::spawn(async move {
        let config = state.config.clone();
        let permits = Arc::new(Semaphore::new(config.webhook_concurrency.max(1)));
        let poll = Duration::from_millis(config.webhook_poll_ms.max(10));
        loop {
            let free = permits.available_permits();
            let claimed = match claim(&state, free).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(error = %err, "claiming webhook deliveries failed");
                    Vec::new()
                }
            };
            // Got all we asked for: more may be due. (Compared with what was asked, not with the permits free now:
            // senders finishing meanwhile must not send the loop to sleep with deliveries waiting.)
            let full = claimed.len() >= free.min(CLAIM_BATCH);
            for delivery in claimed {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                let (state, outcomes) = (state.clone(), outcomes.clone());
                tokio::spawn(async move {
                    let id = delivery.id.clone();
                    match attempt(&state, delivery).await {
                        Ok(Some(finished)) => {
                            let _ = outcomes.send(finished);
                        }
                        Ok(None) => {}
                        Err(err) => tracing::warn!(delivery_id = %id, error = %err, "a delivery attempt failed to run"),
                    }
                    drop(permit);
                });
            }
            if full || free == 0 {
                // Busy: go again as soon as a sender is free.
                if let Ok(permit) = permits.acquire().await {
                    drop(permit);
                }
                continue;
            }
            tokio::select! {
                () = state.deliveries.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    });
}

async fn claim(state: &AppState, free: usize) -> AppResult<Vec<webhook_delivery::Model>> {
    if free == 0 {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let lease = now + chrono::Duration::seconds(state.config.webhook_lease_secs as i64);
    queue::claim::<webhook_delivery::Entity>(
        &state.db,
        &queue::Claim {
            table: "webhook_deliveries",
            ready: "status = 'pending' AND next_attempt_at <= {now} AND (lease_until IS NULL OR lease_until < {now})",
            order: "next_attempt_at, id",
            set: "lease_until = {lease}",
        },
        free.min(CLAIM_BATCH) as u64,
        now,
        lease,
    )
    .await
}

/// Where a delivery goes and who signs it.
struct Target {
    url: String,
    secrets: Vec<String>,
    extra_headers: Vec<(String, String)>,
    webhook: Option<webhook::Model>,
}

/// What one HTTP attempt came to.
struct Outcome {
    status: Option<u16>,
    excerpt: Option<String>,
    error: Option<String>,
    retry_after: Option<Duration>,
    latency: Duration,
}

async fn target(state: &AppState, delivery: &webhook_delivery::Model) -> AppResult<Result<Target, &'static str>> {
    match &delivery.webhook_id {
        Some(id) => {
            let Some(hook) = webhook::Entity::find_by_id(id.as_str()).one(&state.db).await? else {
                return Ok(Err("the endpoint was deleted"));
            };
            if !hook.enabled && delivery.event_type != EventKind::WebhookTest.as_str() {
                return Ok(Err("the endpoint is disabled"));
            }
            Ok(Ok(Target {
                url: hook.url.clone(),
                secrets: webhooks::signing_secrets(&hook, Utc::now()),
                extra_headers: Vec::new(),
                webhook: Some(hook),
            }))
        }
        None => {
            let Some(url) = delivery.url.clone() else { return Ok(Err("the delivery has no URL")) };
            let extra_headers = delivery
                .headers
                .as_ref()
                .and_then(|h| h.as_object())
                .map(|map| map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            Ok(Ok(Target { url, secrets: delivery.secret.iter().cloned().collect(), extra_headers, webhook: None }))
        }
    }
}

async fn send(state: &AppState, delivery: &webhook_delivery::Model, target: &Target) -> Outcome {
    let started = Instant::now();
    let timestamp = Utc::now().timestamp();
    let secrets: Vec<&str> = target.secrets.iter().map(String::as_str).collect();
    let timeout = Duration::from_secs(state.config.webhook_timeout_secs.max(1));
    let failed = |error: String| Outcome { status: None, excerpt: None, error: Some(error), retry_after: None, latency: started.elapsed() };
    // reqwest never resolves literal-IP hosts, so the URL itself is checked first; hostnames are checked again by
    // the guarded resolver at connect time.
    if let Err(err) = state.outbound.check_url(&target.url) {
        return failed(err.to_string());
    }
    let client = match state.outbound.try_client(timeout) {
        Ok(client) => client,
        Err(err) => return failed(err.to_string()),
    };
    let mut request = client.post(&target.url);
    // The caller's own callback headers first; ours (signatures, ids) win on a clash.
    for (name, value) in &target.extra_headers {
        request = request.header(name.as_str(), value.as_str());
    }
    for (name, value) in signing::headers(&secrets, &delivery.id, &delivery.event_type, timestamp, &delivery.payload) {
        request = request.header(name, value);
    }
    let response = match request.body(delivery.payload.clone()).send().await {
        Ok(response) => response,
        Err(err) => return failed(OutboundError::from_reqwest(err).to_string()),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| schedule::parse_retry_after(v, Utc::now()));
    let mut excerpt = Vec::new();
    let mut body = response.bytes_stream();
    while excerpt.len() < EXCERPT_BYTES {
        match tokio::time::timeout(timeout, body.next()).await {
            Ok(Some(Ok(chunk))) => excerpt.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - excerpt.len())]),
            _ => break,
        }
    }
    Outcome {
        status: Some(status),
        excerpt: Some(String::from_utf8_lossy(&excerpt).into_owned()),
        error: None,
        retry_after,
        latency: started.elapsed(),
    }
}

/// An attempt made, waiting to be recorded.
struct Finished {
    delivery: webhook_delivery::Model,
    webhook_id: Option<String>,
    outcome: Outcome,
    at: chrono::DateTime<Utc>,
}

/// One attempt of one claimed delivery (`None` when it could not be attempted and was given up at once).
async fn attempt(state: &AppState, delivery: webhook_delivery::Model) -> AppResult<Option<Finished>> {
    let target = match target(state, &delivery).await? {
        Ok(target) => target,
        Err(reason) => return give_up(state, delivery, reason).await.map(|()| None),
    };
    let outcome = send(state, &delivery, &target).await;
    Ok(Some(Finished { delivery, webhook_id: target.webhook.map(|hook| hook.id), outcome, at: Utc::now() }))
}

/// Stores outcomes as they come, many per transaction.
async fn record_outcomes(state: AppState, mut received: mpsc::UnboundedReceiver<Finished>) {
    const BATCH: usize = 256;
    let mut batch = Vec::with_capacity(BATCH);
    while received.recv_many(&mut batch, BATCH).await > 0 {
        let mut pending = std::mem::take(&mut batch);
        // A failed write (database briefly unavailable) is retried; the leases outlive a few seconds of retrying,
        // and if they do not, the deliveries are simply sent again (at least once).
        for delay in [0u64, 100, 500, 2000] {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            match record_batch(&state, &pending).await {
                Ok(published) => {
                    published.into_iter().for_each(|event| state.publish(event));
                    pending.clear();
                    break;
                }
                Err(err) => tracing::warn!(error = %err, deliveries = pending.len(), "recording delivery attempts failed"),
            }
        }
    }
}

async fn record_batch(state: &AppState, batch: &[Finished]) -> AppResult<Vec<Event>> {
    let schedule = schedule::Schedule { scale: state.config.webhook_retry_scale, max_attempts: state.config.webhook_max_attempts };
    let txn = crate::db::begin_write(&state.db).await?;
    let mut published = Vec::new();
    for Finished { delivery, webhook_id, outcome, at } in batch {
        let now = *at;
        let number = delivery.attempts + 1;
        let succeeded = outcome.status.is_some_and(|s| (200..300).contains(&s));
        let gone = outcome.status == Some(410);
        webhook_attempt::ActiveModel {
            id: Set(crate::ids::new_id("att")),
            delivery_id: Set(delivery.id.clone()),
            attempt: Set(number),
            status_code: Set(outcome.status.map(i32::from)),
            latency_ms: Set(outcome.latency.as_millis() as i64),
            response_excerpt: Set(outcome.excerpt.clone()),
            error: Set(outcome.error.clone()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let next = if succeeded || gone { None } else { schedule.delay_after(number as u32, outcome.retry_after) };
        let mut active = delivery.clone().into_active_model();
        active.attempts = Set(number);
        active.lease_until = Set(None);
        active.last_status = Set(outcome.status.map(i32::from));
        active.last_error = Set(outcome.error.clone());
        active.updated_at = Set(now);
        match (succeeded, next) {
            (true, _) => {
                active.status = Set(webhooks::status::SUCCEEDED.into());
                active.completed_at = Set(Some(now));
            }
            (false, Some(delay)) => {
                active.next_attempt_at =
                    Set(now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::days(1)));
            }
            (false, None) => {
                active.status = Set(webhooks::status::FAILED.into());
                active.completed_at = Set(Some(now));
            }
        }
        active.update(&txn).await?;
        if let Some(id) = webhook_id {
            published.extend(endpoint_health(state, &txn, id, succeeded, gone).await?);
        }
        tracing::debug!(delivery_id = %delivery.id, attempt = number, status = ?outcome.status, "webhook delivery attempt");
    }
    txn.commit().await?;
    Ok(published)
}

/// Tracks how long an endpoint has been failing; `410 Gone`, or failing longer than allowed, disables it with an
/// `endpoint.disabled` event.
async fn endpoint_health(
    state: &AppState,
    txn: &impl ConnectionTrait,
    webhook_id: &str,
    succeeded: bool,
    gone: bool,
) -> AppResult<Option<Event>> {
    // The endpoint as it is now (an earlier outcome of the same batch may have changed it).
    let Some(hook) = webhook::Entity::find_by_id(webhook_id).one(txn).await? else { return Ok(None) };
    if !hook.enabled || (succeeded && hook.failing_since.is_none()) {
        return Ok(None); // already disabled, or healthy and staying so
    }
    let now = Utc::now();
    let failing_since = hook.failing_since;
    let too_long = failing_since
        .is_some_and(|since| now - since >= chrono::Duration::seconds(state.config.webhook_disable_after_secs as i64));
    let reason = match (succeeded, gone, too_long) {
        (true, _, _) => None,
        (false, true, _) => Some("the endpoint answered 410 Gone"),
        (false, false, true) => Some("the endpoint kept failing"),
        (false, false, false) => None,
    };
    let (id, account_id, url) = (hook.id.clone(), hook.account_id.clone(), hook.url.clone());
    let mut active = hook.into_active_model();
    match (succeeded, reason) {
        (true, _) => {
            if failing_since.is_none() {
                return Ok(None);
            }
            active.failing_since = Set(None);
        }
        (false, None) => {
            if failing_since.is_some() {
                return Ok(None);
            }
            active.failing_since = Set(Some(now));
        }
        (false, Some(reason)) => {
            active.enabled = Set(false);
            active.disabled_reason = Set(Some(reason.to_owned()));
        }
    }
    active.updated_at = Set(now);
    let disabled = reason.is_some() && !succeeded;
    active.update(txn).await?;
    if !disabled {
        return Ok(None);
    }
    tracing::warn!(webhook_id = %id, reason, "webhook endpoint disabled");
    let event = Event::new(
        EventKind::EndpointDisabled,
        &account_id,
        &id,
        json!({ "webhookId": id, "url": url, "reason": reason.unwrap_or_default() }),
    );
    events::record(txn, &event).await?;
    Ok(Some(event))
}

/// A delivery that cannot be attempted (its endpoint is gone or disabled) fails without an HTTP attempt.
async fn give_up(state: &AppState, delivery: webhook_delivery::Model, reason: &str) -> AppResult<()> {
    let now = Utc::now();
    let mut active = delivery.into_active_model();
    active.status = Set(webhooks::status::FAILED.into());
    active.lease_until = Set(None);
    active.last_error = Set(Some(reason.to_owned()));
    active.updated_at = Set(now);
    active.completed_at = Set(Some(now));
    active.update(&state.db).await?;
    Ok(())
}
