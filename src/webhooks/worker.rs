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
use tokio::sync::{Notify, Semaphore};

use super::{schedule, signing};
use crate::{
    app::AppState,
    error::AppResult,
    events::{Event, EventKind},
    outbound::OutboundError,
    services::{events, queue, webhooks},
};
use entity::{webhook, webhook_attempt, webhook_delivery};

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

/// Runs the worker until the process ends.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let config = state.config.clone();
        let permits = Arc::new(Semaphore::new(config.webhook_concurrency.max(1)));
        let poll = Duration::from_millis(config.webhook_poll_ms.max(10));
        loop {
            let claimed = match claim(&state, permits.available_permits()).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(error = %err, "claiming webhook deliveries failed");
                    Vec::new()
                }
            };
            let full = !claimed.is_empty() && claimed.len() >= permits.available_permits();
            for delivery in claimed {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                let state = state.clone();
                tokio::spawn(async move {
                    let id = delivery.id.clone();
                    if let Err(err) = attempt(&state, delivery).await {
                        tracing::warn!(delivery_id = %id, error = %err, "recording a delivery attempt failed");
                    }
                    drop(permit);
                });
            }
            if full {
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
        free.min(100) as u64,
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

/// One attempt of one claimed delivery, recorded with its consequences in one transaction.
async fn attempt(state: &AppState, delivery: webhook_delivery::Model) -> AppResult<()> {
    let target = match target(state, &delivery).await? {
        Ok(target) => target,
        Err(reason) => return give_up(state, delivery, reason).await,
    };
    let outcome = send(state, &delivery, &target).await;
    let now = Utc::now();
    let number = delivery.attempts + 1;
    let succeeded = outcome.status.is_some_and(|s| (200..300).contains(&s));
    let gone = outcome.status == Some(410);
    let txn = crate::db::begin_write(&state.db).await?;
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
    let schedule = schedule::Schedule { scale: state.config.webhook_retry_scale, max_attempts: state.config.webhook_max_attempts };
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
            active.next_attempt_at = Set(now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::days(1)));
        }
        (false, None) => {
            active.status = Set(webhooks::status::FAILED.into());
            active.completed_at = Set(Some(now));
        }
    }
    active.update(&txn).await?;
    let mut published = Vec::new();
    if let Some(hook) = target.webhook {
        published.extend(endpoint_health(state, &txn, hook, succeeded, gone).await?);
    }
    txn.commit().await?;
    for event in published {
        state.publish(event);
    }
    tracing::debug!(delivery_id = %delivery.id, attempt = number, status = ?outcome.status, "webhook delivery attempt");
    Ok(())
}

/// Tracks how long an endpoint has been failing; `410 Gone`, or failing longer than allowed, disables it with an
/// `endpoint.disabled` event.
async fn endpoint_health(
    state: &AppState,
    txn: &impl ConnectionTrait,
    hook: webhook::Model,
    succeeded: bool,
    gone: bool,
) -> AppResult<Option<Event>> {
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
