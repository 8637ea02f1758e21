//! Typed progress events, emitted to an optional subscriber so callers can stream progress.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::failure::AgentFailure;

/// A progress event of one deliberation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The deliberation started.
    DeliberationStarted {
        /// Task id.
        task_id: String,
        /// Agents in the council.
        agents: Vec<String>,
        /// Review rounds.
        rounds: u32,
    },
    /// An agent produced its proposal.
    ProposalGenerated {
        /// Author.
        agent_id: String,
        /// Proposal length in bytes.
        content_len: usize,
    },
    /// A reviewer critiqued a proposal.
    CritiqueGiven {
        /// Reviewer.
        reviewer_id: String,
        /// Author of the reviewed proposal.
        author_id: String,
        /// Round (1-based).
        round: u32,
    },
    /// An author revised its proposal.
    ProposalRevised {
        /// Author.
        agent_id: String,
        /// Round (1-based).
        round: u32,
        /// New length in bytes.
        content_len: usize,
    },
    /// A final proposal was scored.
    ProposalScored {
        /// Author.
        agent_id: String,
        /// Weighted score.
        score: f64,
        /// Whether every check passed.
        all_passed: bool,
    },
    /// An agent call failed; its proposal left the deliberation.
    AgentFailed {
        /// The failure.
        failure: AgentFailure,
    },
    /// The deliberation finished with a winner.
    Completed {
        /// Winning agent.
        winner_id: String,
        /// Wall time in ms.
        duration_ms: u64,
    },
}

impl Event {
    /// Short name (`proposal_generated`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Event::DeliberationStarted { .. } => "deliberation_started",
            Event::ProposalGenerated { .. } => "proposal_generated",
            Event::CritiqueGiven { .. } => "critique_given",
            Event::ProposalRevised { .. } => "proposal_revised",
            Event::ProposalScored { .. } => "proposal_scored",
            Event::AgentFailed { .. } => "agent_failed",
            Event::Completed { .. } => "completed",
        }
    }
}

/// Receives events. Must not block: it is called on the engine's task.
pub trait EventSink: Send + Sync {
    /// Handle one event.
    fn emit(&self, event: Event);
}

impl<F: Fn(Event) + Send + Sync> EventSink for F {
    fn emit(&self, event: Event) {
        self(event)
    }
}

/// Sends events into an unbounded channel; a closed receiver is ignored.
impl EventSink for tokio::sync::mpsc::UnboundedSender<Event> {
    fn emit(&self, event: Event) {
        let _ = self.send(event);
    }
}

/// Shared handle to a subscriber.
pub type SharedEventSink = Arc<dyn EventSink>;
