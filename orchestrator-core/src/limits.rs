//! Input limits. Every limit is enforced with an error naming the field and the limit.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::task::Constraints;

/// Configurable input limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Most review rounds a deliberation may ask for.
    pub max_rounds: u32,
    /// Most agents in one deliberation.
    pub max_agents: usize,
    /// Largest task description, in bytes.
    pub max_task_bytes: usize,
    /// Largest rubric, in bytes.
    pub max_rubric_bytes: usize,
    /// Most requirements.
    pub max_requirements: usize,
    /// Largest single requirement, in bytes.
    pub max_requirement_bytes: usize,
    /// Most metadata entries.
    pub max_metadata_entries: usize,
    /// Largest metadata key or value, in bytes.
    pub max_metadata_bytes: usize,
    /// Test suites per task.
    pub max_tests: usize,
    /// Bytes of one test suite's code.
    pub max_test_bytes: usize,
    /// Seconds one test suite may run.
    pub max_test_seconds: u32,
    /// Most agent calls one deliberation may make: a ceiling no request can raise.
    pub max_calls: u64,
    /// Most tokens one deliberation may spend: a ceiling no request can raise.
    pub max_tokens_total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rounds: 10,
            max_agents: 32,
            max_task_bytes: 64 * 1024,
            max_rubric_bytes: 16 * 1024,
            max_requirements: 100,
            max_requirement_bytes: 1024,
            max_metadata_entries: 64,
            max_metadata_bytes: 4096,
            max_tests: 16,
            max_test_bytes: 64 * 1024,
            max_test_seconds: 120,
            max_calls: 400,
            max_tokens_total: 4_000_000,
        }
    }
}

impl Limits {
    /// Check a task description.
    pub fn check_task(&self, field: &str, description: &str) -> Result<(), Error> {
        if description.trim().is_empty() {
            return Err(Error::invalid(field, "must not be empty or whitespace"));
        }
        if description.len() > self.max_task_bytes {
            return Err(Error::invalid(
                field,
                format!("is {} bytes; the limit is {} bytes", description.len(), self.max_task_bytes),
            ));
        }
        Ok(())
    }

    /// The budget of a request: each limit the request's (0: `default`'s), never above the
    /// ceiling; a request above the ceiling is an error naming the field and the limit.
    pub fn check_budget(
        &self,
        max_calls: u64,
        max_tokens_total: u64,
        default: crate::budget::Budget,
    ) -> Result<crate::budget::Budget, Error> {
        for (field, v, max) in
            [("max_calls", max_calls, self.max_calls), ("max_tokens_total", max_tokens_total, self.max_tokens_total)]
        {
            if v > max {
                return Err(Error::invalid(field, format!("is {v}; the limit is {max} (limits.{field})")));
            }
        }
        let asked = crate::budget::Budget {
            max_calls: (max_calls > 0).then_some(max_calls).or(default.max_calls),
            max_tokens_total: (max_tokens_total > 0).then_some(max_tokens_total).or(default.max_tokens_total),
        };
        let ceiling = crate::budget::Budget {
            max_calls: (self.max_calls > 0).then_some(self.max_calls),
            max_tokens_total: (self.max_tokens_total > 0).then_some(self.max_tokens_total),
        };
        Ok(asked.min(ceiling))
    }

    /// Check a round count.
    pub fn check_rounds(&self, field: &str, rounds: i64) -> Result<u32, Error> {
        if rounds < 0 || rounds > i64::from(self.max_rounds) {
            return Err(Error::invalid(field, format!("is {rounds}; it must be between 0 and {}", self.max_rounds)));
        }
        Ok(rounds as u32)
    }

    /// Check an agent count.
    pub fn check_agents(&self, field: &str, n: i64) -> Result<usize, Error> {
        if n < 0 || n > self.max_agents as i64 {
            return Err(Error::invalid(field, format!("is {n}; it must be between 0 and {}", self.max_agents)));
        }
        Ok(n as usize)
    }

    /// Check constraints: rubric size, number and size of requirements, metadata.
    pub fn check_constraints(&self, c: &Constraints) -> Result<(), Error> {
        if c.tests.len() > self.max_tests {
            return Err(Error::invalid(
                "constraints.tests",
                format!("has {} suites; the limit is {}", c.tests.len(), self.max_tests),
            ));
        }
        for (i, t) in c.tests.iter().enumerate() {
            if t.code.trim().is_empty() {
                return Err(Error::invalid(format!("constraints.tests[{i}].code"), "must not be empty"));
            }
            if t.code.len() > self.max_test_bytes {
                return Err(Error::invalid(
                    format!("constraints.tests[{i}].code"),
                    format!("is {} bytes; the limit is {} bytes", t.code.len(), self.max_test_bytes),
                ));
            }
            if t.timeout_seconds > self.max_test_seconds {
                return Err(Error::invalid(
                    format!("constraints.tests[{i}].timeout_seconds"),
                    format!("is {}; the limit is {}", t.timeout_seconds, self.max_test_seconds),
                ));
            }
            if t.name.len() > 128 || t.name.contains(|ch: char| ch.is_control()) {
                return Err(Error::invalid(
                    format!("constraints.tests[{i}].name"),
                    "must be at most 128 bytes with no control characters",
                ));
            }
        }
        if c.rubric.len() > self.max_rubric_bytes {
            return Err(Error::invalid(
                "constraints.rubric",
                format!("is {} bytes; the limit is {} bytes", c.rubric.len(), self.max_rubric_bytes),
            ));
        }
        if c.requirements.len() > self.max_requirements {
            return Err(Error::invalid(
                "constraints.requirements",
                format!("has {} entries; the limit is {}", c.requirements.len(), self.max_requirements),
            ));
        }
        for (i, r) in c.requirements.iter().enumerate() {
            if r.trim().is_empty() {
                return Err(Error::invalid(format!("constraints.requirements[{i}]"), "must not be empty"));
            }
            if r.len() > self.max_requirement_bytes {
                return Err(Error::invalid(
                    format!("constraints.requirements[{i}]"),
                    format!("is {} bytes; the limit is {} bytes", r.len(), self.max_requirement_bytes),
                ));
            }
        }
        if c.metadata.len() > self.max_metadata_entries {
            return Err(Error::invalid(
                "constraints.metadata",
                format!("has {} entries; the limit is {}", c.metadata.len(), self.max_metadata_entries),
            ));
        }
        for (k, v) in &c.metadata {
            if k.len() > self.max_metadata_bytes || v.len() > self.max_metadata_bytes {
                return Err(Error::invalid(
                    format!("constraints.metadata[{k:.32}]"),
                    format!("key or value exceeds the limit of {} bytes", self.max_metadata_bytes),
                ));
            }
        }
        Ok(())
    }
}
