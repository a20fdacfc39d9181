//! Limiter state in Redis, shared by every instance pointed at it (`OPENCLAW_REDIS_URL`). Each operation is one
//! Lua script, so a read-modify-write is atomic across instances. The connection is lazy and reconnects by
//! itself: a Redis that is down or restarting makes calls fail fast, and the limiter fails open or closed as
//! configured — it never waits on Redis for long nor lifts a limit for good (state comes back with Redis, or
//! starts again from a full allowance if Redis lost it).
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::{Script, aio::ConnectionManager};

use super::{
    Clock,
    gcra::{self, Decision, Rate},
    store::{Admission, LimitStore, RateRequest, SlotRequest, StoreError},
};

/// The GCRA step of [`gcra::apply`], atomically: returns {allowed, tat}. Times are integral microseconds, exact
/// in Lua's doubles (below 2^53) and stored with `%d` (`tostring` would round to 14 digits). Keys expire once the
/// allowance is whole again, so idle accounts cost no memory.
const TAKE: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + cost * interval
if new_tat - now > tolerance then return {0, tat} end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
end
return {1, new_tat}
";

/// Slots are a sorted set of holders scored by expiry: expired ones (a crashed instance's) are dropped first.
const ACQUIRE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
";

/// [`LimitStore::admit`] for a batch of requests in one round trip and one script call: for request i,
/// KEYS[2i-1..2i] = {slots, rate}; ARGV[10(i-1)+1..] = {now_ms, holder, max_slots (0 = none), slot expiry,
/// slot ttl, now_us, interval, tolerance, cost, rate? (0/1)}; max_slots -1 marks a release of the holder's slot
/// (queued releases ride along with admissions instead of costing round trips of their own). Returns {slot, allowed, tat} per request, with
/// slot -1 (not asked) / 0 (refused) / 1 (taken) / 2 (free but not taken: the rate refused), allowed -1 when no
/// rate was asked. Requests run in order, exactly as if sent one by one.
const ADMIT: &str = r"
local out = {}
for i = 1, #KEYS / 2 do
  local slots, rate, a = KEYS[2 * i - 1], KEYS[2 * i], 10 * (i - 1)
  local slot = -1
  local max = tonumber(ARGV[a + 3])
  if max < 0 then
    -- A release riding along with the batch.
    redis.call('ZREM', slots, ARGV[a + 2])
  elseif max > 0 then
    slot = 1
    if redis.call('ZCARD', slots) >= max then
      -- Full: drop slots whose holders stopped refreshing them (a crashed instance's) before refusing.
      redis.call('ZREMRANGEBYSCORE', slots, '-inf', ARGV[a + 1])
      if redis.call('ZCARD', slots) >= max then slot = 0 end
    end
  end
  local allowed, tat = -1, 0
  if tonumber(ARGV[a + 10]) == 1 then
    local now = tonumber(ARGV[a + 6])
    local interval = tonumber(ARGV[a + 7])
    local tolerance = tonumber(ARGV[a + 8])
    local cost = tonumber(ARGV[a + 9])
    if slot == 0 then cost = 0 end
    tat = tonumber(redis.call('GET', rate) or now)
    if tat < now then tat = now end
    local new_tat = tat + cost * interval
    if new_tat - now > tolerance then
      allowed = 0
    else
      allowed = 1
      if cost > 0 then
        redis.call('SET', rate, string.format('%d', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
        tat = new_tat
      end
    end
  end
  if slot == 1 and allowed == 0 then slot = 2 end
  if slot == 1 then
    redis.call('ZADD', slots, ARGV[a + 4], ARGV[a + 2])
    redis.call('PEXPIRE', slots, ARGV[a + 5])
  end
  out[3 * i - 2], out[3 * i - 1], out[3 * i] = slot, allowed, tat
end
return out
";

/// The script's {slot, allowed, tat} for one request.
type AdmitAnswer = Result<(i64, i64, i64), StoreError>;

/// One request waiting for admission, owned so that it can wait in the batching queue.
struct PendingAdmit {
    keys: [String; 2],
    /// Everything reaches Lua as text anyway.
    args: [String; 10],
    /// `None` for a release: nobody waits for it.
    reply: Option<tokio::sync::oneshot::Sender<AdmitAnswer>>,
}

impl PendingAdmit {
    fn release(key: &str, holder: &str) -> Self {
        let mut args = ["0"; 10].map(str::to_owned);
        args[1] = holder.to_owned();
        args[2] = "-1".to_owned();
        Self { keys: [key.to_owned(), String::new()], args, reply: None }
    }

    /// Hands the answer to the waiting request. If it stopped waiting (its client went away) after a slot was
    /// taken for it, returns the release of that slot, which nobody else would ever send.
    fn answer(self, result: AdmitAnswer) -> Option<PendingAdmit> {
        let reply = self.reply?;
        let took_slot = matches!(result, Ok((1, _, _)));
        match reply.send(result) {
            Err(_) if took_slot => Some(Self::release(&self.keys[0], &self.args[1])),
            _ => None,
        }
    }
}

/// Admissions queued while a batch is in flight go together in the next one: under load many requests share
/// one round trip and one script call; alone, a request goes at once.
async fn send_admissions(
    mut connection: ConnectionManager,
    script: Script,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<PendingAdmit>,
) {
    let mut batch = Vec::with_capacity(ADMIT_BATCH);
    // Releases of slots taken for requests that stopped waiting; they ride along with the next batch.
    let mut orphaned: Vec<PendingAdmit> = Vec::new();
    loop {
        batch.append(&mut orphaned);
        if queue.recv_many(&mut batch, ADMIT_BATCH).await == 0 {
            return;
        }
        let mut invocation = script.prepare_invoke();
        for pending in &batch {
            invocation.key(&pending.keys[0]).key(&pending.keys[1]);
            for arg in &pending.args {
                invocation.arg(arg);
            }
        }
        let answer: Result<Vec<i64>, _> = invocation.invoke_async(&mut connection).await;
        match answer {
            Ok(values) if values.len() == 3 * batch.len() => {
                for (pending, chunk) in batch.drain(..).zip(values.chunks(3)) {
                    orphaned.extend(pending.answer(Ok((chunk[0], chunk[1], chunk[2]))));
                }
            }
            Ok(values) => {
                let message = format!("admit answered {} values for {} requests", values.len(), batch.len());
                batch.drain(..).for_each(|p| drop(p.answer(Err(StoreError::Unavailable(message.clone())))));
            }
            Err(err) => {
                // Lost releases are not retried, and a slot the script may have taken before the answer was lost
                // is not refreshed: either way it expires on its own after the slot TTL.
                let message = err.to_string();
                batch.drain(..).for_each(|p| drop(p.answer(Err(StoreError::Unavailable(message.clone())))));
            }
        }
    }
}

/// The most admissions sent in one round trip.
const ADMIT_BATCH: usize = 128;

const HELD: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
";

pub struct RedisStore {
    connection: ConnectionManager,
    /// The slots this instance holds (holder → key), refreshed together so that they outlive the slot TTL for
    /// as long as their requests run — and no longer once this instance dies.
    held: Arc<Mutex<HashMap<String, String>>>,
    /// Admissions and releases, sent in batches by one background task (a release never waits on Redis).
    admissions: tokio::sync::mpsc::UnboundedSender<PendingAdmit>,
    take: Script,
    acquire: Script,
    count: Script,
}

impl RedisStore {
    /// Does not connect yet: the first call does, and a Redis that is down does not stop the server starting.
    pub fn new(url: &str, clock: Clock, slot_ttl_ms: i64) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("OPENCLAW_REDIS_URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| anyhow::anyhow!("OPENCLAW_REDIS_URL: {e}"))?;
        let (admissions, waiting) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(send_admissions(connection.clone(), Script::new(ADMIT), waiting));
        let held = Arc::new(Mutex::new(HashMap::new()));
        tokio::spawn(refresh_held(connection.clone(), Arc::downgrade(&held), clock, slot_ttl_ms));
        Ok(Self {
            connection,
            held,
            admissions,
            take: Script::new(TAKE),
            acquire: Script::new(ACQUIRE),
            count: Script::new(HELD),
        })
    }
}

/// Every third of the slot TTL, pushes the expiry of every slot this instance holds (one pipelined round trip).
/// Stops when the store is dropped.
async fn refresh_held(
    mut connection: ConnectionManager,
    held: std::sync::Weak<Mutex<HashMap<String, String>>>,
    clock: Clock,
    ttl_ms: i64,
) {
    let mut every = tokio::time::interval(Duration::from_millis(u64::try_from(ttl_ms / 3).unwrap_or(1000).max(1)));
    every.tick().await;
    loop {
        every.tick().await;
        let Some(held) = held.upgrade() else { return };
        let slots: Vec<(String, String)> =
            held.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(h, k)| (h.clone(), k.clone())).collect();
        drop(held);
        if slots.is_empty() {
            continue;
        }
        let expiry = clock.now_ms() + ttl_ms;
        let mut pipe = redis::pipe();
        for (holder, key) in &slots {
            pipe.cmd("ZADD").arg(key).arg("XX").arg(expiry).arg(holder).ignore();
            pipe.cmd("PEXPIRE").arg(key).arg(ttl_ms).ignore();
        }
        if let Err(err) = pipe.query_async::<()>(&mut connection).await {
            tracing::warn!(error = %err, "could not refresh concurrency slots");
        }
    }
}

impl RedisStore {
    fn hold(&self, key: &str, holder: &str) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(holder.to_owned(), key.to_owned());
    }
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

#[async_trait::async_trait]
impl LimitStore for RedisStore {
    async fn take(&self, key: &str, now_us: i64, cost: u32, rate: Rate) -> Result<Decision, StoreError> {
        let mut connection = self.connection.clone();
        let (allowed, tat): (i64, i64) = self
            .take
            .key(key)
            .arg(now_us)
            .arg(rate.interval_us())
            .arg(rate.tolerance_us())
            .arg(cost)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(gcra::decide(allowed == 1, tat, now_us, cost, rate))
    }

    async fn acquire(&self, key: &str, holder: &str, max: u32, now_ms: i64, ttl_ms: i64) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let taken: i64 = self
            .acquire
            .key(key)
            .arg(now_ms)
            .arg(holder)
            .arg(max)
            .arg(now_ms + ttl_ms)
            .arg(ttl_ms)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        if taken == 1 {
            self.hold(key, holder);
        }
        Ok(taken == 1)
    }

    fn release(&self, key: &str, holder: &str) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(holder);
        let _ = self.admissions.send(PendingAdmit::release(key, holder));
    }

    async fn admit(
        &self,
        slot: Option<SlotRequest<'_>>,
        rate: Option<RateRequest<'_>>,
    ) -> Result<Admission, StoreError> {
        let slot_request = slot;
        let (slot_key, [a1, a2, a3, a4, a5]) = match slot {
            Some(s) => (s.key, [s.now_ms, 0, i64::from(s.max), s.now_ms + s.ttl_ms, s.ttl_ms].map(|n| n.to_string())),
            None => ("", ["0"; 5].map(str::to_owned)),
        };
        let a2 = slot.map_or(a2, |s| s.holder.to_owned());
        let (rate_key, [b1, b2, b3, b4, b5]) = match rate {
            Some(r) => (
                r.key,
                [r.now_us, r.rate.interval_us(), r.rate.tolerance_us(), i64::from(r.cost), 1].map(|n| n.to_string()),
            ),
            None => ("", ["0", "1", "0", "0", "0"].map(str::to_owned)),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let pending = PendingAdmit {
            keys: [slot_key.to_owned(), rate_key.to_owned()],
            args: [a1, a2, a3, a4, a5, b1, b2, b3, b4, b5],
            reply: Some(reply),
        };
        self.admissions.send(pending).map_err(|_| StoreError::Unavailable("the admission sender stopped".into()))?;
        let (taken, allowed, tat) =
            answer.await.map_err(|_| StoreError::Unavailable("the admission sender stopped".into()))??;
        let decision = rate.map(|r| {
            let cost = if taken == 0 { 0 } else { r.cost };
            gcra::decide(allowed == 1, tat, r.now_us, cost, r.rate)
        });
        let slot = match taken {
            -1 | 2 => None,
            0 => Some(false),
            _ => Some(true),
        };
        if let (Some(true), Some(s)) = (slot, slot_request) {
            self.hold(s.key, s.holder);
        }
        Ok(Admission { slot, rate: decision })
    }

    async fn held(&self, key: &str, now_ms: i64) -> Result<u32, StoreError> {
        let mut connection = self.connection.clone();
        let held: i64 = self.count.key(key).arg(now_ms).invoke_async(&mut connection).await.map_err(unavailable)?;
        Ok(u32::try_from(held).unwrap_or(0))
    }
}
