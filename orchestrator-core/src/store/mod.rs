//! Durable records: deliberations (request, status, events, result, failures, usage, timings),
//! councils and their agents, and statistics. [`SqliteStore`] is the embedded default;
//! [`RedisStore`] shares them through Redis or Valkey; [`MemoryStore`] keeps them in memory.

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::council::{AgentMeta, CouncilSettings};
use crate::error::Result;
use crate::event::Event;
use crate::outcome::DeliberationOutcome;
use crate::request::DeliberationRequest;

/// Status of a stored deliberation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// Accepted, not started.
    Pending,
    /// Running.
    InProgress,
    /// Finished with a result.
    Completed,
    /// Finished without a result (`error` says why).
    Failed,
    /// The deadline passed.
    Timeout,
}

impl TaskStatus {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "PENDING",
            TaskStatus::InProgress => "IN_PROGRESS",
            TaskStatus::Completed => "COMPLETED",
            TaskStatus::Failed => "FAILED",
            TaskStatus::Timeout => "TIMEOUT",
        }
    }

    /// Parse a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => TaskStatus::Pending,
            "IN_PROGRESS" => TaskStatus::InProgress,
            "COMPLETED" => TaskStatus::Completed,
            "FAILED" => TaskStatus::Failed,
            "TIMEOUT" => TaskStatus::Timeout,
            _ => return None,
        })
    }

    /// Whether the deliberation is over.
    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Timeout)
    }
}

/// One stored deliberation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Task id.
    pub task_id: String,
    /// Role.
    pub role: String,
    /// Status.
    pub status: TaskStatus,
    /// The request.
    pub request: DeliberationRequest,
    /// The result, once completed (ranked results, failures, usage, duration).
    pub outcome: Option<DeliberationOutcome>,
    /// Every progress event, in order.
    pub events: Vec<Event>,
    /// Why it failed.
    pub error: String,
    /// Times it was started (more than 1 after a redelivery).
    pub attempts: u32,
    /// Which process runs or ran it.
    pub owner: String,
    /// Created (Unix ms).
    pub created_ms: i64,
    /// Last changed (Unix ms).
    pub updated_ms: i64,
}

impl TaskRecord {
    /// A new PENDING record.
    pub fn pending(task_id: String, request: DeliberationRequest) -> Self {
        let now = crate::proposal::now_ms();
        TaskRecord {
            task_id,
            role: request.role.clone(),
            status: TaskStatus::Pending,
            request,
            outcome: None,
            events: Vec::new(),
            error: String::new(),
            attempts: 0,
            owner: String::new(),
            created_ms: now,
            updated_ms: now,
        }
    }
}

/// How to rebuild an agent after a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentSpec {
    /// Agent id.
    pub id: String,
    /// Kind of agent.
    pub kind: crate::AgentKind,
    /// Model (llm).
    pub model: String,
    /// Endpoint (llm): a configured endpoint's name or exact base URL; empty: `default`.
    #[serde(alias = "base_url")]
    pub endpoint: String,
    /// Registered by a client (RegisterAgent), so it is checked against `remote_agents` again
    /// whenever it is rebuilt.
    pub registered: bool,
    /// Sampling temperature (llm).
    pub temperature: f32,
    /// Max tokens (llm).
    pub max_tokens: u32,
    /// Simulated latency (scripted).
    pub latency_ms: u64,
    /// Description for listings.
    pub meta: AgentMeta,
}

/// A stored council.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouncilRecord {
    /// Role.
    pub role: String,
    /// Settings.
    pub settings: CouncilSettings,
    /// Agents, in order.
    pub agents: Vec<AgentSpec>,
}

/// One finished deliberation or orchestration, for statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatRow {
    /// Role.
    pub role: String,
    /// Wall time.
    pub duration_ms: f64,
    /// Whether it succeeded.
    pub ok: bool,
    /// An orchestration (else a deliberation).
    pub orchestration: bool,
    /// When (Unix ms).
    pub at_ms: i64,
}

/// A durable store. Every method is safe to call from many tasks at once and does not block the
/// async runtime.
#[async_trait]
pub trait Store: Send + Sync {
    /// Insert a record unless its id exists; true if inserted. Durable when it returns.
    async fn insert_task(&self, record: &TaskRecord) -> Result<bool>;
    /// Mark a record running by `owner` (counts an attempt).
    async fn start_task(&self, task_id: &str, owner: &str) -> Result<()>;
    /// Store the final status with the outcome and events, atomically. Durable when it returns.
    async fn finish_task(
        &self,
        task_id: &str,
        status: TaskStatus,
        outcome: Option<&DeliberationOutcome>,
        events: &[Event],
        error: &str,
    ) -> Result<()>;
    /// A record.
    async fn task(&self, task_id: &str) -> Result<Option<TaskRecord>>;
    /// Mark every PENDING or IN_PROGRESS record FAILED with `reason` (at startup, after a
    /// crash); returns how many.
    async fn interrupt_unfinished(&self, reason: &str) -> Result<usize>;
    /// Unfinished records (PENDING or IN_PROGRESS), oldest first, to resume after a restart.
    async fn unfinished(&self) -> Result<Vec<TaskRecord>>;
    /// Make a FAILED or TIMEOUT record PENDING again (an explicit retry); false when the record
    /// is missing or not in one of those states.
    async fn reopen_task(&self, task_id: &str) -> Result<bool>;
    /// Insert or replace a council.
    async fn put_council(&self, council: &CouncilRecord) -> Result<()>;
    /// Remove a council.
    async fn delete_council(&self, role: &str) -> Result<()>;
    /// Every stored council.
    async fn councils(&self) -> Result<Vec<CouncilRecord>>;
    /// Record finished deliberations or orchestrations, in one transaction.
    async fn record_stats(&self, rows: &[StatRow]) -> Result<()>;
    /// Statistics rows since `since_ms`.
    async fn stats(&self, since_ms: i64) -> Result<Vec<StatRow>>;
    /// Remove finished records and statistics older than `before_ms`; returns records removed.
    async fn purge(&self, before_ms: i64) -> Result<usize>;
    /// Claim the right to run `task_id` for `ttl`, or renew `owner`'s claim; false while another
    /// owner holds it. A store one process owns (SQLite, memory) has no one to share with and
    /// always grants it; a shared store (Redis) makes replicas run each task once.
    async fn claim(&self, _task_id: &str, _owner: &str, _ttl: std::time::Duration) -> Result<bool> {
        Ok(true)
    }
    /// Whether other processes share this store (then claims matter and unfinished tasks may
    /// belong to a live replica).
    fn shared(&self) -> bool {
        false
    }
    /// Give up `owner`'s claim on `task_id` (a no-op when another owner holds it).
    async fn release(&self, _task_id: &str, _owner: &str) -> Result<()> {
        Ok(())
    }
}
