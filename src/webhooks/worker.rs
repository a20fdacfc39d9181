//! The delivery worker. It claims due deliveries with a lease (so several instances share the work and a crashed
//! instance's claims are re-claimed when their lease runs out), POSTs each signed body, records the attempt and
//! either completes the delivery or schedules the next try. Woken at once when an event is published here; polls
//! for retries and for deliveries written by other instances.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use chrono::Utc;
use futures_util::StreamExt;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, IntoActiveModel, Set, Statement,
    Value,
};
use serde_json::json;
use tokio::sync::{Notify, Semaphore, mpsc};

use super::{schedule, signing};
use crate::{
    app::AppState,
    error::AppResult,
    events::{Event, EventKind},
    outbound::OutboundError,
    services::{events, webhooks},
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
        let caps = Caps {
            account: config.webhook_account_concurrency.max(1),
            endpoint: config.webhook_endpoint_concurrency.max(1),
        };
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        loop {
            let free = permits.available_permits();
            let want = free.min(CLAIM_BATCH);
            let claimed = match claim(&state, &in_flight, caps, want).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(error = %err, "claiming webhook deliveries failed");
                    Vec::new()
                }
            };
            // Got all we asked for: more may be due. (Compared with what was asked, not with the permits free now:
            // senders finishing meanwhile must not send the loop to sleep with deliveries waiting.)
            let full = want > 0 && claimed.len() >= want;
            for (delivery, slot) in claimed {
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
                    // The room is given back first, then the loop woken to use it rather than wait for the poll, when
                    // deliveries may be waiting for it (see `Slot::finish`).
                    let wanted = slot.finish(caps);
                    drop(permit);
                    if wanted {
                        state.deliveries.wake();
                    }
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

/// The per-account and per-endpoint limits on deliveries in flight on this instance.
#[derive(Debug, Clone, Copy)]
struct Caps {
    account: usize,
    endpoint: usize,
}

/// Deliveries in flight on this instance, by account and by endpoint key (see [`endpoint_key`]).
#[derive(Debug, Default)]
struct InFlight {
    accounts: HashMap<String, usize>,
    endpoints: HashMap<String, usize>,
    /// A claim is choosing with counts read at its start: room freed meanwhile may go unused by it.
    claiming: bool,
}

impl InFlight {
    fn add(&mut self, account: &str, endpoint: &str) {
        *self.accounts.entry(account.to_owned()).or_default() += 1;
        *self.endpoints.entry(endpoint.to_owned()).or_default() += 1;
    }

    /// Returns whether due deliveries may be waiting for the room this frees: the account or the endpoint was at
    /// its cap (the claim leaves out what does not fit), or a claim running now may have missed the room.
    fn remove(&mut self, account: &str, endpoint: &str, caps: Caps) -> bool {
        let mut was_full = false;
        // Entries at zero are removed so the maps hold only what is in flight now, not every account ever seen.
        for (map, key, cap) in
            [(&mut self.accounts, account, caps.account), (&mut self.endpoints, endpoint, caps.endpoint)]
        {
            if let Some(count) = map.get_mut(key) {
                was_full |= *count >= cap;
                *count = count.saturating_sub(1);
                if *count == 0 {
                    map.remove(key);
                }
            }
        }
        was_full || self.claiming
    }

    fn account(&self, account: &str) -> usize {
        self.accounts.get(account).copied().unwrap_or(0)
    }

    fn endpoint(&self, endpoint: &str) -> usize {
        self.endpoints.get(endpoint).copied().unwrap_or(0)
    }

    /// Accounts and endpoints with no room left, which the claim query leaves out.
    fn full(&self, caps: Caps) -> (Vec<String>, Vec<String>) {
        let at_cap = |map: &HashMap<String, usize>, cap: usize| -> Vec<String> {
            map.iter().filter(|(_, count)| **count >= cap).map(|(key, _)| key.clone()).collect()
        };
        (at_cap(&self.accounts, caps.account), at_cap(&self.endpoints, caps.endpoint))
    }
}

fn lock(in_flight: &Mutex<InFlight>) -> std::sync::MutexGuard<'_, InFlight> {
    // The counts stay consistent even if a holder panicked (every change is a single step), so a poisoned lock is
    // used as is rather than stopping the worker.
    in_flight.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One delivery's place in the in-flight counts, given back by [`Slot::finish`] or, should its sender panic, when
/// dropped.
struct Slot {
    in_flight: Arc<Mutex<InFlight>>,
    account: String,
    endpoint: String,
    caps: Caps,
    given_back: bool,
}

impl Slot {
    /// Gives the place back; returns whether the claiming loop should be woken for it (see [`InFlight::remove`]).
    fn finish(mut self, caps: Caps) -> bool {
        self.given_back = true;
        lock(&self.in_flight).remove(&self.account, &self.endpoint, caps)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.given_back {
            lock(&self.in_flight).remove(&self.account, &self.endpoint, self.caps);
        }
    }
}

/// What a delivery counts against for the endpoint cap: its webhook, or a task callback's own URL. The SQL twin is
/// [`ENDPOINT_SQL`].
fn endpoint_key(delivery: &webhook_delivery::Model) -> String {
    delivery.webhook_id.clone().or_else(|| delivery.url.clone()).unwrap_or_default()
}

const ENDPOINT_SQL: &str = "COALESCE(webhook_id, url, '')";

/// Which deliveries are due. `{now}` is the current time.
const READY_SQL: &str =
    "status = 'pending' AND next_attempt_at <= {now} AND (lease_until IS NULL OR lease_until < {now})";

/// A due delivery the claim may take.
#[derive(Debug, Clone, FromQueryResult)]
struct Candidate {
    id: String,
    account_id: String,
    endpoint: String,
}

/// A claimed delivery and its place in the in-flight counts.
type Claimed = Vec<(webhook_delivery::Model, Slot)>;

/// Picks up to `want` candidates (already in round-robin order) that fit in their account's and endpoint's room.
/// A candidate passed over leaves its account or endpoint at its cap, so a sender finishing there wakes the loop
/// to take it (see [`Slot::finish`]).
fn pick(candidates: &[Candidate], in_flight: &InFlight, caps: Caps, want: usize) -> Vec<String> {
    let mut accounts: HashMap<&str, usize> = HashMap::new();
    let mut endpoints: HashMap<&str, usize> = HashMap::new();
    let mut picked = Vec::new();
    for candidate in candidates {
        if picked.len() >= want {
            break;
        }
        let account = accounts.entry(&candidate.account_id).or_insert_with(|| in_flight.account(&candidate.account_id));
        if *account >= caps.account {
            continue;
        }
        let endpoint = endpoints.entry(&candidate.endpoint).or_insert_with(|| in_flight.endpoint(&candidate.endpoint));
        if *endpoint >= caps.endpoint {
            continue;
        }
        *endpoint += 1;
        if let Some(account) = accounts.get_mut(candidate.account_id.as_str()) {
            *account += 1;
        }
        picked.push(candidate.id.clone());
    }
    picked
}

/// Claims up to `want` due deliveries fairly: round-robin across accounts (every account's oldest due delivery
/// before anyone's second), and within an account across its endpoints, never past an account's or endpoint's
/// room on this instance. Two statements: the ranked choice, then the lease. (PostgreSQL refuses `FOR UPDATE`
/// together with window functions, so the choice cannot lock; the lease re-checks that each row is still due and,
/// on PostgreSQL, skips rows another instance is leasing, so a row is never claimed twice.) What is passed over
/// stays unleased, for the next round or another instance. (Rows the query leaves out for their rank belong to an
/// account or endpoint that is at its cap once this claim is counted, so a sender finishing there wakes the loop.)
async fn claim(state: &AppState, in_flight: &Arc<Mutex<InFlight>>, caps: Caps, want: usize) -> AppResult<Claimed> {
    if want == 0 {
        return Ok(Vec::new());
    }
    lock(in_flight).claiming = true;
    let claimed = claim_fairly(state, in_flight, caps, want).await;
    lock(in_flight).claiming = false;
    claimed
}

/// The work of [`claim`], while the counts are marked as being read.
async fn claim_fairly(
    state: &AppState,
    in_flight: &Arc<Mutex<InFlight>>,
    caps: Caps,
    want: usize,
) -> AppResult<Claimed> {
    let db = &state.db;
    let backend = db.get_database_backend();
    let param = |n: usize| match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    let now = Utc::now();
    let lease = now + chrono::Duration::seconds(state.config.webhook_lease_secs as i64);
    let ready = READY_SQL.replace("{now}", &param(1));
    let (full_accounts, full_endpoints) = lock(in_flight).full(caps);

    // 1. The choice. Ranks are counted among due rows of accounts and endpoints with room: first per endpoint
    //    (oldest first), keeping at most an endpoint's cap; then per account, ordered by that endpoint rank so an
    //    account's endpoints take turns, keeping at most an account's cap. Ordering by the account rank then
    //    interleaves the accounts. A few more candidates than wanted are read, because room already used on this
    //    instance is applied afterwards, in `pick`.
    let mut values = vec![Value::from(now)];
    let mut exclude = String::new();
    for (column, keys) in [("account_id", &full_accounts), (ENDPOINT_SQL, &full_endpoints)] {
        if keys.is_empty() {
            continue;
        }
        let mut placeholders = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(Value::from(key.clone()));
            placeholders.push(param(values.len()));
        }
        exclude.push_str(&format!(" AND {column} NOT IN ({})", placeholders.join(", ")));
    }
    let choose = format!(
        "SELECT id, account_id, endpoint FROM (\
            SELECT id, account_id, endpoint, next_attempt_at, \
                ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY endpoint_rank, next_attempt_at, id) AS account_rank \
            FROM (\
                SELECT id, account_id, {ENDPOINT_SQL} AS endpoint, next_attempt_at, \
                    ROW_NUMBER() OVER (PARTITION BY {ENDPOINT_SQL} ORDER BY next_attempt_at, id) AS endpoint_rank \
                FROM webhook_deliveries WHERE {ready}{exclude}\
            ) by_endpoint WHERE endpoint_rank <= {endpoint_cap}\
        ) by_account WHERE account_rank <= {account_cap} \
        ORDER BY account_rank, next_attempt_at, id LIMIT {limit}",
        endpoint_cap = caps.endpoint,
        account_cap = caps.account,
        limit = want.saturating_mul(4),
    );
    let candidates =
        Candidate::find_by_statement(Statement::from_sql_and_values(backend, choose, values)).all(db).await?;
    let picked = pick(&candidates, &lock(in_flight), caps, want);
    if picked.is_empty() {
        return Ok(Vec::new());
    }

    // 2. The lease, of the chosen rows that are still due.
    let mut values = vec![Value::from(now), Value::from(lease)];
    let mut placeholders = Vec::with_capacity(picked.len());
    for id in &picked {
        values.push(Value::from(id.clone()));
        placeholders.push(param(values.len()));
    }
    let ids = placeholders.join(", ");
    let lease_sql = match backend {
        DatabaseBackend::Postgres => format!(
            "UPDATE webhook_deliveries SET lease_until = $2 WHERE id IN \
             (SELECT id FROM webhook_deliveries WHERE id IN ({ids}) AND {ready} FOR UPDATE SKIP LOCKED) RETURNING *"
        ),
        // One statement under SQLite's single write lock: the re-check and the lease are atomic.
        _ => format!("UPDATE webhook_deliveries SET lease_until = ?2 WHERE id IN ({ids}) AND {ready} RETURNING *"),
    };
    let mut leased =
        webhook_delivery::Model::find_by_statement(Statement::from_sql_and_values(backend, lease_sql, values))
            .all(db)
            .await?;
    // Sent in the fair order chosen (RETURNING has no order of its own).
    leased.sort_by_key(|row| picked.iter().position(|id| *id == row.id));
    let mut counts = lock(in_flight);
    let deliveries = leased
        .into_iter()
        .map(|delivery| {
            let (account, endpoint) = (delivery.account_id.clone(), endpoint_key(&delivery));
            counts.add(&account, &endpoint);
            (delivery, Slot { in_flight: in_flight.clone(), account, endpoint, caps, given_back: false })
        })
        .collect();
    Ok(deliveries)
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
    let failed = |error: String| Outcome {
        status: None,
        excerpt: None,
        error: Some(error),
        retry_after: None,
        latency: started.elapsed(),
    };
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
                Err(err) => {
                    tracing::warn!(error = %err, deliveries = pending.len(), "recording delivery attempts failed")
                }
            }
        }
    }
}

async fn record_batch(state: &AppState, batch: &[Finished]) -> AppResult<Vec<Event>> {
    let schedule =
        schedule::Schedule { scale: state.config.webhook_retry_scale, max_attempts: state.config.webhook_max_attempts };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, account: &str, endpoint: &str) -> Candidate {
        Candidate { id: id.into(), account_id: account.into(), endpoint: endpoint.into() }
    }

    #[test]
    fn pick_keeps_within_the_room_left_on_this_instance() {
        let caps = Caps { account: 3, endpoint: 2 };
        let mut in_flight = InFlight::default();
        in_flight.add("x", "x1");
        in_flight.add("x", "x1");
        // In the query's round-robin order: x's endpoint x1 is already full here, x has one place left.
        let candidates = [
            candidate("1", "x", "x1"),
            candidate("2", "y", "y1"),
            candidate("3", "x", "x2"),
            candidate("4", "y", "y1"),
            candidate("5", "x", "x2"),
            candidate("6", "y", "y1"),
        ];
        assert_eq!(pick(&candidates, &in_flight, caps, 10), ["2", "3", "4"]);
        assert_eq!(pick(&candidates, &in_flight, caps, 2), ["2", "3"], "stops at what was wanted");
    }

    #[test]
    fn in_flight_counts_forget_what_finished_and_tell_when_a_cap_is_freed() {
        let caps = Caps { account: 2, endpoint: 2 };
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        let slot = |endpoint: &str| {
            lock(&in_flight).add("x", endpoint);
            Slot {
                in_flight: in_flight.clone(),
                account: "x".into(),
                endpoint: endpoint.into(),
                caps,
                given_back: false,
            }
        };
        assert!(!slot("x1").finish(caps), "neither x nor x1 was at its cap");
        let (first, second) = (slot("x1"), slot("x2"));
        assert_eq!(lock(&in_flight).full(caps), (vec!["x".to_owned()], vec![]));
        assert!(first.finish(caps), "x was at its cap: its deliveries may be waiting");
        assert_eq!(lock(&in_flight).account("x"), 1);
        lock(&in_flight).claiming = true;
        assert!(slot("x1").finish(caps), "a claim running now may have read the count before this room was freed");
        lock(&in_flight).claiming = false;
        drop(second); // as if its sender panicked
        let counts = lock(&in_flight);
        assert!(counts.accounts.is_empty() && counts.endpoints.is_empty(), "{counts:?}");
    }
}
