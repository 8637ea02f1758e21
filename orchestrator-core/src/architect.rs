//! Orchestrate: a deliberation followed by an [`Architect`] choosing the winner among the top-k.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::deliberation::Deliberation;
use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::outcome::{DeliberationOutcome, RankedResult};
use crate::task::Task;

/// The architect's choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Index into the candidates.
    pub index: usize,
    /// Why this candidate.
    pub reason: String,
}

/// Picks the winner among the top-k candidates (ranked best first).
#[async_trait]
pub trait Architect: Send + Sync {
    /// Name for results and logs.
    fn name(&self) -> &str;

    /// Choose one of `candidates` (never empty).
    async fn select(&self, task: &Task, candidates: &[RankedResult]) -> Result<Selection>;
}

/// The highest-scoring candidate whose checks all passed, else rank 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultArchitect;

impl DefaultArchitect {
    /// The choice, computed synchronously.
    pub fn choose(candidates: &[RankedResult]) -> Selection {
        match candidates.iter().position(|c| c.all_passed) {
            Some(index) => Selection {
                index,
                reason: format!(
                    "highest-scoring candidate with all checks passed (rank {}, score {:.3})",
                    candidates[index].rank, candidates[index].score
                ),
            },
            None => Selection { index: 0, reason: "no candidate passed every check; chose rank 1".into() },
        }
    }
}

#[async_trait]
impl Architect for DefaultArchitect {
    fn name(&self) -> &str {
        "default"
    }

    async fn select(&self, _task: &Task, candidates: &[RankedResult]) -> Result<Selection> {
        Ok(Self::choose(candidates))
    }
}

/// What Orchestrate returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrchestrationOutcome {
    /// 16 lowercase hex characters.
    pub execution_id: String,
    /// The chosen result.
    pub winner: RankedResult,
    /// The top-k candidates the architect chose from, best first.
    pub candidates: Vec<RankedResult>,
    /// Which architect chose.
    pub architect: String,
    /// Why.
    pub reason: String,
    /// Set when the configured architect failed and the default chose instead: the failure.
    pub architect_fallback: Option<String>,
    /// The full deliberation.
    pub deliberation: DeliberationOutcome,
}

/// Run `deliberation`, then let `architect` (or the default when `None`) choose among the top `k`.
pub async fn orchestrate(
    deliberation: &Deliberation,
    architect: Option<&dyn Architect>,
    top_k: usize,
) -> Result<OrchestrationOutcome> {
    if top_k == 0 {
        return Err(Error::invalid("top_k", "must be at least 1"));
    }
    let outcome = deliberation.run().await?;
    let candidates: Vec<RankedResult> = outcome.results.iter().take(top_k).cloned().collect();
    let (selection, name, fallback) = match architect {
        None => (DefaultArchitect::choose(&candidates), "default".to_owned(), None),
        Some(a) => match a.select(deliberation.task(), &candidates).await {
            Ok(s) if s.index < candidates.len() => (s, a.name().to_owned(), None),
            Ok(s) => {
                let why = format!("architect {} chose index {} of {} candidates", a.name(), s.index, candidates.len());
                (DefaultArchitect::choose(&candidates), "default".to_owned(), Some(why))
            }
            Err(e) => {
                let why = format!("architect {} failed: {e}", a.name());
                tracing::warn!(%why, "falling back to the default architect");
                (DefaultArchitect::choose(&candidates), "default".to_owned(), Some(why))
            }
        },
    };
    Ok(OrchestrationOutcome {
        execution_id: new_id(),
        winner: candidates[selection.index].clone(),
        candidates,
        architect: name,
        reason: selection.reason,
        architect_fallback: fallback,
        deliberation: outcome,
    })
}
