//! What a deliberation returns.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::failure::AgentFailure;
use crate::proposal::Proposal;
use crate::usage::UsageReport;

/// One ranked proposal with its checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedResult {
    /// The final proposal and its revision history.
    pub proposal: Proposal,
    /// One check per scorer.
    pub checks: Vec<Check>,
    /// Weighted mean of the checks' scores, in [0, 1].
    pub score: f64,
    /// True only if every check passed (false with no checks).
    pub all_passed: bool,
    /// 1 is best.
    pub rank: u32,
}

/// The outcome of a deliberation: results ranked best first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliberationOutcome {
    /// Task id.
    pub task_id: String,
    /// Role of the council.
    pub role: String,
    /// Ranked results, rank 1 first.
    pub results: Vec<RankedResult>,
    /// Author of rank 1.
    pub winner_id: String,
    /// Agents whose proposals left the deliberation.
    pub failures: Vec<AgentFailure>,
    /// Token usage.
    pub usage: UsageReport,
    /// Review rounds run.
    pub rounds: u32,
    /// Wall time.
    #[serde(with = "duration_ms")]
    pub duration: Duration,
    /// How the winner was chosen.
    #[serde(default)]
    pub selection: SelectionReport,
    /// The strategy that produced it.
    #[serde(default)]
    pub strategy: crate::strategy::Strategy,
    /// Calls and tokens spent against the budget, and whether the budget ended it early.
    #[serde(default)]
    pub budget: crate::budget::BudgetReport,
}

impl DeliberationOutcome {
    /// The rank-1 result.
    pub fn winner(&self) -> &RankedResult {
        &self.results[0]
    }
}

/// What separated the winner from the runner-up when they shared the top score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// No tie: the winner had the best score alone (or was the only proposal).
    #[default]
    None,
    /// More test cases passed.
    TestsPassed,
    /// More peers agreed with its behaviour on the tests.
    Agreement,
    /// The pairwise judge preferred it in both orders.
    Judge,
    /// A seeded random draw.
    Random,
}

impl TieBreak {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            TieBreak::None => "none",
            TieBreak::TestsPassed => "tests_passed",
            TieBreak::Agreement => "agreement",
            TieBreak::Judge => "judge",
            TieBreak::Random => "random",
        }
    }
}

/// How the winner was chosen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelectionReport {
    /// One sentence: why the winner won.
    pub reason: String,
    /// What broke the tie at the top, if there was one.
    pub tie_break: TieBreak,
    /// How many proposals shared the top score (1: no tie).
    pub tied: usize,
    /// Seed of the random draw.
    pub seed: u64,
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        Ok(Duration::from_secs_f64(ms.max(0.0) / 1000.0))
    }
}
