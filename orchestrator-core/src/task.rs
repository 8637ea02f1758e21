//! The task a council deliberates on, and its constraints.

use std::collections::BTreeMap;
use std::time::Duration;

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
    pub tests: Vec<TestSuite>,
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

/// A test suite given with the task (`TaskConstraints.tests`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct TestSuite {
    /// Name (default `tests`).
    pub name: String,
    /// Language (default `python`).
    pub language: String,
    /// The test code.
    pub code: String,
    /// Wall-clock limit for the whole suite, seconds (0: the default, 10 s).
    pub timeout_seconds: u32,
}

impl TestSuite {
    /// A Python suite.
    pub fn python(code: impl Into<String>) -> Self {
        TestSuite { name: "tests".into(), language: "python".into(), code: code.into(), timeout_seconds: 0 }
    }

    /// The language, lowercased (`python` when empty).
    pub fn lang(&self) -> String {
        let l = self.language.trim().to_ascii_lowercase();
        if l.is_empty() || l == "py" || l == "python3" {
            "python".into()
        } else {
            l
        }
    }

    /// The name (`tests` when empty).
    pub fn display_name(&self) -> &str {
        if self.name.trim().is_empty() {
            "tests"
        } else {
            self.name.trim()
        }
    }

    /// The wall-clock limit.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(if self.timeout_seconds == 0 { 10 } else { u64::from(self.timeout_seconds.min(600)) })
    }
}
