//! [`RedisStore`]: results, submissions, councils and statistics in Redis or Valkey.
//!
//! Keys, all under one prefix (default `orchestrator`):
//! - `{prefix}:task:{task_id}`: a hash (role, status, request, outcome, events, error, attempts,
//!   owner, created_ms, updated_ms); a finished one expires after the retention period;
//! - `{prefix}:unfinished` / `{prefix}:finished`: sorted sets of task ids by creation / last
//!   update, for resuming and for retention;
//! - `{prefix}:councils`: a hash of role to council record;
//! - `{prefix}:stats`: a sorted set of statistics rows by time;
//! - `{prefix}:claim:{task_id}`: which replica runs a task (`SET NX` with an expiry the runner
//!   renews), so replicas sharing one Redis never run a task twice.
//!
//! Every multi-key change is one Lua script, so it is atomic. A write returns once Redis has
//! acknowledged it; whether it is then on disk is Redis's `appendonly`/`appendfsync` setting
//! (`docs/CONFIG.md`, "Redis durability"). The connection manager reconnects by itself: while
//! Redis is away calls fail with a storage error (the service answers UNAVAILABLE) and succeed
//! again once it is back.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

use crate::error::{Error, Result};
use crate::event::Event;
use crate::outcome::DeliberationOutcome;
use crate::proposal::now_ms;
use crate::store::{CouncilRecord, StatRow, Store, TaskRecord, TaskStatus};

/// Longest a store call waits for Redis before it fails (the RPC then answers UNAVAILABLE).
const OP_TIMEOUT: Duration = Duration::from_secs(3);

/// Bound a Redis call by [`OP_TIMEOUT`].
async fn bounded<T>(f: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T> {
    match tokio::time::timeout(OP_TIMEOUT, f).await {
        Ok(r) => r.map_err(storage),
        Err(_) => Err(storage(format!("no answer within {} s", OP_TIMEOUT.as_secs()))),
    }
}

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage { message: format!("redis: {e}") }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(storage)
}

const INSERT: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'task_id', ARGV[1], 'role', ARGV[2], 'status', 'PENDING', 'request', ARGV[3],
  'events', '[]', 'error', '', 'attempts', 0, 'owner', '', 'created_ms', ARGV[4], 'updated_ms', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
"#;

const START: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'IN_PROGRESS', 'owner', ARGV[1], 'updated_ms', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return 1
"#;

// KEYS: task, unfinished, finished. ARGV: id, status, outcome ('' = none), events, error, now, ttl_ms.
const FINISH: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'events', ARGV[4], 'error', ARGV[5], 'updated_ms', ARGV[6])
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], 'outcome') else redis.call('HSET', KEYS[1], 'outcome', ARGV[3]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
if tonumber(ARGV[7]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[7]) end
return 1
"#;

// KEYS: unfinished, finished. ARGV: task key prefix, reason, now, ttl_ms.
const INTERRUPT: &str = r#"
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'status', 'FAILED', 'error', ARGV[2], 'updated_ms', ARGV[3])
    redis.call('ZADD', KEYS[2], ARGV[3], id)
    if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', key, ARGV[4]) end
  end
  redis.call('ZREM', KEYS[1], id)
end
return #ids
"#;

// KEYS: task, unfinished, finished. ARGV: id, now.
const REOPEN: &str = r#"
local s = redis.call('HGET', KEYS[1], 'status')
if s ~= 'FAILED' and s ~= 'TIMEOUT' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'PENDING', 'events', '[]', 'error', '', 'updated_ms', ARGV[2])
redis.call('HDEL', KEYS[1], 'outcome')
redis.call('PERSIST', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[1], 'created_ms'), ARGV[1])
return 1
"#;

// KEYS: finished, stats. ARGV: task key prefix, before_ms.
const PURGE: &str = r#"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[1] .. id)
  redis.call('ZREM', KEYS[1], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
return #ids
"#;

// KEYS: claim. ARGV: owner, ttl_ms. Take a free claim, or renew our own.
const CLAIM: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

// KEYS: claim. ARGV: owner.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// Redis- (or Valkey-) backed [`Store`]. Cheap to clone: clones share one connection manager.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    retention: Option<Duration>,
    url_host: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL itself: it may carry a password.
        f.debug_struct("RedisStore").field("host", &self.url_host).field("prefix", &self.prefix).finish()
    }
}

/// `host:port` of a Redis URL, without user or password, for messages.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap_or_default().to_owned()
}

impl RedisStore {
    /// Connect to `url` (`redis://[:password@]host:port[/db]`, `rediss://` for TLS if the
    /// client was built with it) and check the server answers. Finished records expire after
    /// `retention` (none: kept until purged). Fails with a clear message when Redis cannot be
    /// reached.
    pub async fn open(url: &str, prefix: &str, retention: Option<Duration>) -> Result<Self> {
        let host = host_of(url);
        let unreachable =
            |e: redis::RedisError| Error::Unavailable { message: format!("cannot reach Redis at {host}: {e}") };
        let client = redis::Client::open(url)
            .map_err(|e| Error::invalid("storage.redis_url", format!("is not a Redis URL ({host}): {e}")))?;
        // One plain connection first: the manager below retries a refused connection with
        // backoff, but a service with no Redis should refuse to start at once.
        let timed_out = || Error::Unavailable { message: format!("cannot reach Redis at {host}: timed out after 5 s") };
        let mut probe = tokio::time::timeout(Duration::from_secs(5), client.get_multiplexed_async_connection())
            .await
            .map_err(|_| timed_out())?
            .map_err(unreachable)?;
        let _: String = redis::cmd("PING").query_async(&mut probe).await.map_err(unreachable)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(OP_TIMEOUT)
            .set_number_of_retries(2)
            .set_max_delay(500);
        let conn = tokio::time::timeout(Duration::from_secs(5), ConnectionManager::new_with_config(client, config))
            .await
            .map_err(|_| timed_out())?
            .map_err(unreachable)?;
        Ok(RedisStore { conn, prefix: prefix.to_owned(), retention, url_host: host })
    }

    /// The server's `appendonly` and `appendfsync` settings, when it lets us read them
    /// (`CONFIG GET` is often disabled on managed Redis).
    pub async fn persistence(&self) -> Option<(String, String)> {
        let mut c = self.conn.clone();
        let get = |name: &'static str| redis::cmd("CONFIG").arg("GET").arg(name).clone();
        let a: Vec<String> = get("appendonly").query_async(&mut c).await.ok()?;
        let f: Vec<String> = get("appendfsync").query_async(&mut c).await.ok()?;
        Some((a.get(1)?.clone(), f.get(1)?.clone()))
    }

    fn key(&self, what: &str) -> String {
        format!("{}:{what}", self.prefix)
    }

    fn task_key(&self, id: &str) -> String {
        format!("{}:task:{id}", self.prefix)
    }

    fn ttl_ms(&self) -> i64 {
        self.retention.map_or(0, |d| d.as_millis().min(i64::MAX as u128) as i64)
    }

    async fn run(&self, script: &str, keys: &[String], args: &[String]) -> Result<i64> {
        let mut c = self.conn.clone();
        let s = Script::new(script);
        let mut inv = s.prepare_invoke();
        keys.iter().for_each(|k| {
            inv.key(k);
        });
        args.iter().for_each(|a| {
            inv.arg(a);
        });
        bounded(inv.invoke_async(&mut c)).await
    }

    async fn read_task(&self, id: &str) -> Result<Option<TaskRecord>> {
        let mut c = self.conn.clone();
        let h: std::collections::HashMap<String, String> = bounded(c.hgetall(self.task_key(id))).await?;
        if h.is_empty() {
            return Ok(None);
        }
        let field = |k: &str| h.get(k).cloned().unwrap_or_default();
        let num = |k: &str| field(k).parse::<i64>().unwrap_or(0);
        let status = field("status");
        Ok(Some(TaskRecord {
            task_id: id.to_owned(),
            role: field("role"),
            status: TaskStatus::parse(&status).ok_or_else(|| storage(format!("bad status {status:?} for {id}")))?,
            request: serde_json::from_str(&field("request")).map_err(storage)?,
            outcome: h.get("outcome").map(|o| serde_json::from_str(o)).transpose().map_err(storage)?,
            events: serde_json::from_str(h.get("events").map_or("[]", String::as_str)).map_err(storage)?,
            error: field("error"),
            attempts: num("attempts").max(0) as u32,
            owner: field("owner"),
            created_ms: num("created_ms"),
            updated_ms: num("updated_ms"),
        }))
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn insert_task(&self, r: &TaskRecord) -> Result<bool> {
        let keys = [self.task_key(&r.task_id), self.key("unfinished")];
        let args = [r.task_id.clone(), r.role.clone(), json(&r.request)?, r.created_ms.to_string()];
        Ok(self.run(INSERT, &keys, &args).await? == 1)
    }

    async fn start_task(&self, task_id: &str, owner: &str) -> Result<()> {
        let args = [owner.to_owned(), now_ms().to_string()];
        self.run(START, &[self.task_key(task_id)], &args).await?;
        Ok(())
    }

    async fn finish_task(
        &self,
        task_id: &str,
        status: TaskStatus,
        outcome: Option<&DeliberationOutcome>,
        events: &[Event],
        error: &str,
    ) -> Result<()> {
        let keys = [self.task_key(task_id), self.key("unfinished"), self.key("finished")];
        let args = [
            task_id.to_owned(),
            status.as_str().to_owned(),
            outcome.map(json).transpose()?.unwrap_or_default(),
            json(&events)?,
            error.to_owned(),
            now_ms().to_string(),
            if status.is_final() { self.ttl_ms().to_string() } else { "0".to_owned() },
        ];
        if self.run(FINISH, &keys, &args).await? == 0 {
            return Err(Error::NotFound { what: "task", id: task_id.to_owned() });
        }
        Ok(())
    }

    async fn task(&self, task_id: &str) -> Result<Option<TaskRecord>> {
        self.read_task(task_id).await
    }

    async fn interrupt_unfinished(&self, reason: &str) -> Result<usize> {
        let keys = [self.key("unfinished"), self.key("finished")];
        let args = [self.task_key(""), reason.to_owned(), now_ms().to_string(), self.ttl_ms().to_string()];
        Ok(self.run(INTERRUPT, &keys, &args).await?.max(0) as usize)
    }

    async fn unfinished(&self) -> Result<Vec<TaskRecord>> {
        let mut c = self.conn.clone();
        let ids: Vec<String> = bounded(c.zrange(self.key("unfinished"), 0, -1)).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = self.read_task(&id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn reopen_task(&self, task_id: &str) -> Result<bool> {
        let keys = [self.task_key(task_id), self.key("unfinished"), self.key("finished")];
        Ok(self.run(REOPEN, &keys, &[task_id.to_owned(), now_ms().to_string()]).await? == 1)
    }

    async fn put_council(&self, council: &CouncilRecord) -> Result<()> {
        let mut c = self.conn.clone();
        bounded(c.hset::<_, _, _, ()>(self.key("councils"), &council.role, json(council)?)).await
    }

    async fn delete_council(&self, role: &str) -> Result<()> {
        let mut c = self.conn.clone();
        bounded(c.hdel::<_, _, ()>(self.key("councils"), role)).await
    }

    async fn councils(&self) -> Result<Vec<CouncilRecord>> {
        let mut c = self.conn.clone();
        let all: std::collections::BTreeMap<String, String> = bounded(c.hgetall(self.key("councils"))).await?;
        all.values().map(|v| serde_json::from_str(v).map_err(storage)).collect()
    }

    async fn record_stats(&self, rows: &[StatRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut c = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic();
        for row in rows {
            // A unique member per row: equal rows are still counted twice.
            let member = json(&(row, crate::ids::new_id()))?;
            pipe.zadd(self.key("stats"), member, row.at_ms).ignore();
        }
        bounded(pipe.query_async::<()>(&mut c)).await
    }

    async fn stats(&self, since_ms: i64) -> Result<Vec<StatRow>> {
        let mut c = self.conn.clone();
        let members: Vec<String> = bounded(c.zrangebyscore(self.key("stats"), since_ms, "+inf")).await?;
        members
            .iter()
            .map(|m| serde_json::from_str::<(StatRow, String)>(m).map(|(row, _)| row).map_err(storage))
            .collect()
    }

    async fn purge(&self, before_ms: i64) -> Result<usize> {
        let keys = [self.key("finished"), self.key("stats")];
        Ok(self.run(PURGE, &keys, &[self.task_key(""), before_ms.to_string()]).await?.max(0) as usize)
    }

    fn shared(&self) -> bool {
        true
    }

    async fn claim(&self, task_id: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let ttl_ms = ttl.as_millis().max(1).to_string();
        Ok(self.run(CLAIM, &[self.key(&format!("claim:{task_id}"))], &[owner.to_owned(), ttl_ms]).await? == 1)
    }

    async fn release(&self, task_id: &str, owner: &str) -> Result<()> {
        self.run(RELEASE, &[self.key(&format!("claim:{task_id}"))], &[owner.to_owned()]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn messages_name_the_host_never_the_password() {
        assert_eq!(host_of("redis://:s3cret@cache.internal:6380/2"), "cache.internal:6380");
        assert_eq!(host_of("redis://user:pw@h:1"), "h:1");
        assert_eq!(host_of("redis://127.0.0.1:6379"), "127.0.0.1:6379");
    }
}
