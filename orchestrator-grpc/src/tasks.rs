//! Submitted (asynchronous) deliberations and their results, kept in process memory.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::pb;

/// One submitted deliberation.
#[derive(Debug, Clone)]
pub struct TaskRecord {
    /// Current status.
    pub status: pb::DeliberationStatus,
    /// The response, once completed.
    pub response: Option<pb::DeliberateResponse>,
    /// Why it failed.
    pub error: String,
    /// Role.
    pub role: String,
}

/// Task id → record.
#[derive(Debug, Default)]
pub struct TaskTable {
    inner: Mutex<HashMap<String, TaskRecord>>,
}

impl TaskTable {
    /// Insert as PENDING unless the id exists; returns false if it already existed.
    pub fn insert_new(&self, id: &str, role: &str) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.contains_key(id) {
            return false;
        }
        g.insert(
            id.to_owned(),
            TaskRecord {
                status: pb::DeliberationStatus::Pending,
                response: None,
                error: String::new(),
                role: role.to_owned(),
            },
        );
        true
    }

    /// Update a record.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut TaskRecord)) {
        if let Some(r) = self.inner.lock().unwrap_or_else(|p| p.into_inner()).get_mut(id) {
            f(r);
        }
    }

    /// A copy of a record.
    pub fn get(&self, id: &str) -> Option<TaskRecord> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }
}
