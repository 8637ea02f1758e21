//! The task a council deliberates on, and its constraints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Constraints that come with a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Constraints {
    /// Rubric text that critiques and judges grade against.
    pub rubric: String,
    /// Requirements a proposal must address.
    pub requirements: Vec<String>,
    /// Free-form metadata passed through to agents.
    pub metadata: BTreeMap<String, String>,
    /// Upper bound on review rounds the caller allows (0: no bound from the caller).
    pub max_iterations: u32,
    /// Whole-deliberation deadline in seconds (0: none from the caller).
    pub timeout_seconds: u32,
    /// Test suites run against every proposal in the sandbox (the `tests` check).
    pub tests: Vec<crate::verify::TestSuite>,
}

/// What a council is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Task id (free-form; the service uses it for async results).
    pub id: String,
    /// The task description.
    pub description: String,
    /// The role of the council (DEV, QA, ARCHITECT, DEVOPS, DATA).
    pub role: String,
    /// Rubric, requirements and limits.
    pub constraints: Constraints,
}
