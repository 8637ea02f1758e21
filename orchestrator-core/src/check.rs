//! Checks and the [`Scorer`] trait that produces them.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::AgentError;
use crate::proposal::Proposal;
use crate::task::Task;

/// Which slot of a check suite a check fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckCategory {
    /// Policy (deny patterns, secrets).
    Policy,
    /// Lint (a linter program).
    Lint,
    /// Dry run (a program that executes or validates the proposal).
    DryRun,
    /// Anything else (requirements coverage, LLM judge, custom scorers).
    Other,
}

impl CheckCategory {
    /// The name serde uses: policy, lint, dry_run or other.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckCategory::Policy => "policy",
            CheckCategory::Lint => "lint",
            CheckCategory::DryRun => "dry_run",
            CheckCategory::Other => "other",
        }
    }
}

impl std::str::FromStr for CheckCategory {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "policy" => CheckCategory::Policy,
            "lint" => CheckCategory::Lint,
            "dryrun" | "dry_run" => CheckCategory::DryRun,
            "other" => CheckCategory::Other,
            other => {
                return Err(crate::error::Error::invalid(
                    "category",
                    format!("{other:?} is not one of: lint, dryrun, policy, other"),
                ))
            }
        })
    }
}

/// Details of a check, filled as far as the check knows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckDetails {
    /// Policy violations or unmet requirements.
    pub violations: Vec<String>,
    /// Errors reported (lint).
    pub error_count: u32,
    /// Warnings reported (lint).
    pub warning_count: u32,
    /// Error lines (lint), truncated.
    pub errors: Vec<String>,
    /// Captured program output, truncated.
    pub output: Option<String>,
    /// Program exit code.
    pub exit_code: Option<i32>,
    /// Anything else worth reporting.
    pub extra: BTreeMap<String, String>,
    /// Test cases run (tests and peer_tests checks), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<CaseResult>,
}

/// The result of one scorer on one proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Scorer name (`policy`, `requirements`, `lint`, ...).
    pub name: String,
    /// Which suite slot this check fills.
    pub category: CheckCategory,
    /// Whether the proposal passed.
    pub passed: bool,
    /// Score in [0, 1].
    pub score: f64,
    /// One-line summary.
    pub message: String,
    /// Details.
    pub details: CheckDetails,
    /// Weight of the scorer in the proposal's score.
    pub weight: f64,
}

impl Check {
    /// A check with no details; `score` is clamped to [0, 1] (NaN becomes 0).
    pub fn new(
        name: impl Into<String>,
        category: CheckCategory,
        passed: bool,
        score: f64,
        message: impl Into<String>,
    ) -> Self {
        Check {
            name: name.into(),
            category,
            passed,
            score: clamp_score(score),
            message: message.into(),
            details: CheckDetails::default(),
            weight: 1.0,
        }
    }

    /// Attach details.
    pub fn with_details(mut self, details: CheckDetails) -> Self {
        self.details = details;
        self
    }
}

pub(crate) fn clamp_score(score: f64) -> f64 {
    if score.is_nan() {
        0.0
    } else {
        score.clamp(0.0, 1.0)
    }
}

/// Checks a proposal and grades it. A scorer that cannot run returns an error; the engine turns
/// it into a failed check with score 0 and the reason, never a pass.
#[async_trait]
pub trait Scorer: Send + Sync {
    /// Name of the check this scorer produces.
    fn name(&self) -> &str;

    /// Check one proposal.
    async fn check(&self, proposal: &Proposal, task: &Task) -> Result<Check, AgentError>;
}

/// A scorer with its weight in the proposal score.
#[derive(Clone)]
pub struct WeightedScorer {
    /// The scorer.
    pub scorer: Arc<dyn Scorer>,
    /// Positive weight.
    pub weight: f64,
}

impl std::fmt::Debug for WeightedScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightedScorer").field("name", &self.scorer.name()).field("weight", &self.weight).finish()
    }
}

/// Weighted mean of the checks' scores and whether all passed. No checks: score 0 and not passed,
/// because nothing was verified.
pub fn aggregate(checks: &[Check]) -> (f64, bool) {
    if checks.is_empty() {
        return (0.0, false);
    }
    let (mut sum, mut weights) = (0.0, 0.0);
    for c in checks {
        sum += c.score * c.weight;
        weights += c.weight;
    }
    let score = if weights > 0.0 { clamp_score(sum / weights) } else { 0.0 };
    (score, checks.iter().all(|c| c.passed))
}

/// The outcome of one test case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseResult {
    /// Suite name.
    pub suite: String,
    /// Case name (`test_empty`, or `program` for a suite without test functions).
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (truncated).
    pub message: String,
}
