//! Agent failures recorded during a deliberation.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::agent_error::AgentError;
use crate::error_kind::ErrorKind;
use crate::phase::Phase;

/// One agent call that failed or timed out; the agent's proposal left the deliberation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentFailure {
    /// The agent whose call failed.
    pub agent_id: String,
    /// The phase of the failed call.
    pub phase: Phase,
    /// The round (1-based) for critique and revise, 0 for generate and score.
    pub round: u32,
    /// Human-readable reason.
    pub reason: String,
    /// Classification of the failure.
    pub error_kind: ErrorKind,
    /// The original error, for bindings that re-raise it (not serialized).
    #[serde(skip)]
    pub source: Option<Arc<AgentError>>,
}

impl AgentFailure {
    pub(crate) fn new(agent_id: &str, phase: Phase, round: u32, err: AgentError) -> Self {
        AgentFailure {
            agent_id: agent_id.to_owned(),
            phase,
            round,
            reason: err.to_string(),
            error_kind: err.kind(),
            source: Some(Arc::new(err)),
        }
    }
}

/// `agent-1 (generate): reason; agent-2 (critique round 1): reason`.
pub(crate) fn describe(failures: &[AgentFailure]) -> String {
    if failures.is_empty() {
        return "none".to_owned();
    }
    failures
        .iter()
        .map(|f| match f.phase {
            Phase::Critique | Phase::Revise => format!("{} ({} round {}): {}", f.agent_id, f.phase, f.round, f.reason),
            _ => format!("{} ({}): {}", f.agent_id, f.phase, f.reason),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
