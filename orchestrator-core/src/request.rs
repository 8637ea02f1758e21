//! A deliberation request as the service receives it (before councils are resolved): what async
//! submissions store and what distributed workers receive.

use serde::{Deserialize, Serialize};

use crate::task::Constraints;

/// What to deliberate on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliberationRequest {
    /// The task.
    pub task_description: String,
    /// Council role.
    pub role: String,
    /// Rubric, requirements, limits.
    pub constraints: Constraints,
    /// Review rounds (0: council default).
    pub rounds: u32,
    /// Agents (0: whole council).
    pub num_agents: u32,
    /// How the council works (`None`: `orchestration.default_strategy`).
    pub strategy: Option<crate::strategy::Strategy>,
    /// Most agent calls (0: the configured default, never above `limits.max_calls`).
    pub max_calls: u64,
    /// Most tokens over every call (0: the configured default, never above
    /// `limits.max_tokens_total`).
    pub max_tokens_total: u64,
}
