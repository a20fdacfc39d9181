//! Limiter state in Redis, shared by every instance pointed at it (`OPENCLAW_REDIS_URL`). Each operation is one
//! Lua script, so a read-modify-write is atomic across instances. The connection is lazy and reconnects by
//! itself: a Redis that is down or restarting makes calls fail fast, and the limiter fails open or closed as
//! configured — it never waits on Redis for long nor lifts a limit for good (state comes back with Redis, or
//! starts again from a full allowance if Redis lost it).
use std::time::Duration;

use redis::{Script, aio::ConnectionManager};

use super::{
    gcra::{self, Decision, Rate},
    store::{LimitStore, StoreError},
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

const REFRESH: &str = r"
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
";

const HELD: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
";

pub struct RedisStore {
    connection: ConnectionManager,
    take: Script,
    acquire: Script,
    refresh: Script,
    held: Script,
}

impl RedisStore {
    /// Does not connect yet: the first call does, and a Redis that is down does not stop the server starting.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("OPENCLAW_REDIS_URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| anyhow::anyhow!("OPENCLAW_REDIS_URL: {e}"))?;
        Ok(Self {
            connection,
            take: Script::new(TAKE),
            acquire: Script::new(ACQUIRE),
            refresh: Script::new(REFRESH),
            held: Script::new(HELD),
        })
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
        Ok(taken == 1)
    }

    async fn refresh(&self, key: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let _: i64 = self
            .refresh
            .key(key)
            .arg(holder)
            .arg(now_ms + ttl_ms)
            .arg(ttl_ms)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        redis::cmd("ZREM").arg(key).arg(holder).query_async::<i64>(&mut connection).await.map_err(unavailable)?;
        Ok(())
    }

    async fn held(&self, key: &str, now_ms: i64) -> Result<u32, StoreError> {
        let mut connection = self.connection.clone();
        let held: i64 = self.held.key(key).arg(now_ms).invoke_async(&mut connection).await.map_err(unavailable)?;
        Ok(u32::try_from(held).unwrap_or(0))
    }

    fn needs_refresh(&self) -> bool {
        true
    }
}
