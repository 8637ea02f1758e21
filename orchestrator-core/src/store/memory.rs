//! [`MemoryStore`]: the [`Store`] in process memory. Nothing survives the process; for programs
//! and tests that want councils and task records without a file (the Python `Orchestrator`'s
//! default), with the same semantics as the SQLite store.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{CouncilRecord, StatRow, Store, TaskRecord, TaskStatus};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::outcome::DeliberationOutcome;
use crate::proposal::now_ms;

#[derive(Debug, Default)]
struct State {
    tasks: BTreeMap<String, TaskRecord>,
    councils: BTreeMap<String, CouncilRecord>,
    stats: Vec<StatRow>,
}

/// A [`Store`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert_task(&self, record: &TaskRecord) -> Result<bool> {
        Ok(self.with(|s| {
            if s.tasks.contains_key(&record.task_id) {
                return false;
            }
            s.tasks.insert(record.task_id.clone(), record.clone());
            true
        }))
    }

    async fn start_task(&self, task_id: &str, owner: &str) -> Result<()> {
        self.with(|s| {
            if let Some(t) = s.tasks.get_mut(task_id) {
                t.status = TaskStatus::InProgress;
                t.owner = owner.to_owned();
                t.attempts += 1;
                t.updated_ms = now_ms();
            }
        });
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
        self.with(|s| match s.tasks.get_mut(task_id) {
            Some(t) => {
                t.status = status;
                t.outcome = outcome.cloned();
                t.events = events.to_vec();
                t.error = error.to_owned();
                t.updated_ms = now_ms();
                Ok(())
            }
            None => Err(Error::NotFound { what: "task", id: task_id.to_owned() }),
        })
    }

    async fn task(&self, task_id: &str) -> Result<Option<TaskRecord>> {
        Ok(self.with(|s| s.tasks.get(task_id).cloned()))
    }

    async fn interrupt_unfinished(&self, reason: &str) -> Result<usize> {
        Ok(self.with(|s| {
            let now = now_ms();
            let mut n = 0;
            for t in s.tasks.values_mut().filter(|t| !t.status.is_final()) {
                t.status = TaskStatus::Failed;
                t.error = reason.to_owned();
                t.updated_ms = now;
                n += 1;
            }
            n
        }))
    }

    async fn unfinished(&self) -> Result<Vec<TaskRecord>> {
        let mut v: Vec<TaskRecord> =
            self.with(|s| s.tasks.values().filter(|t| !t.status.is_final()).cloned().collect());
        v.sort_by_key(|t| t.created_ms);
        Ok(v)
    }

    async fn reopen_task(&self, task_id: &str) -> Result<bool> {
        Ok(self.with(|s| match s.tasks.get_mut(task_id) {
            Some(t) if matches!(t.status, TaskStatus::Failed | TaskStatus::Timeout) => {
                t.status = TaskStatus::Pending;
                t.outcome = None;
                t.events.clear();
                t.error.clear();
                t.updated_ms = now_ms();
                true
            }
            _ => false,
        }))
    }

    async fn put_council(&self, council: &CouncilRecord) -> Result<()> {
        self.with(|s| s.councils.insert(council.role.clone(), council.clone()));
        Ok(())
    }

    async fn delete_council(&self, role: &str) -> Result<()> {
        self.with(|s| s.councils.remove(role));
        Ok(())
    }

    async fn councils(&self) -> Result<Vec<CouncilRecord>> {
        Ok(self.with(|s| s.councils.values().cloned().collect()))
    }

    async fn record_stats(&self, rows: &[StatRow]) -> Result<()> {
        self.with(|s| s.stats.extend_from_slice(rows));
        Ok(())
    }

    async fn stats(&self, since_ms: i64) -> Result<Vec<StatRow>> {
        Ok(self.with(|s| s.stats.iter().filter(|r| r.at_ms >= since_ms).cloned().collect()))
    }

    async fn purge(&self, before_ms: i64) -> Result<usize> {
        Ok(self.with(|s| {
            let before = s.tasks.len();
            s.tasks.retain(|_, t| !(t.updated_ms < before_ms && t.status.is_final()));
            s.stats.retain(|r| r.at_ms >= before_ms);
            before - s.tasks.len()
        }))
    }
}
