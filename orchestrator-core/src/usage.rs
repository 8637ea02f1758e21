//! Token usage, recorded per agent, per phase and per deliberation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::phase::Phase;

/// Tokens used by one or more model calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt (input) tokens.
    pub prompt_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
}

impl TokenUsage {
    /// Prompt plus completion tokens.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, rhs: Self) {
        self.prompt_tokens += rhs.prompt_tokens;
        self.completion_tokens += rhs.completion_tokens;
    }
}

/// Token usage of a whole deliberation, broken down by agent and phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    /// Sum over every call.
    pub total: TokenUsage,
    /// Per agent id.
    pub per_agent: BTreeMap<String, TokenUsage>,
    /// Per phase.
    pub per_phase: BTreeMap<Phase, TokenUsage>,
    /// Number of calls that reported usage.
    pub calls: u64,
}

impl UsageReport {
    /// Record the usage of one call.
    pub fn record(&mut self, agent_id: &str, phase: Phase, usage: TokenUsage) {
        self.total += usage;
        self.calls += 1;
        match self.per_agent.get_mut(agent_id) {
            Some(u) => *u += usage,
            None => {
                self.per_agent.insert(agent_id.to_owned(), usage);
            }
        }
        *self.per_phase.entry(phase).or_default() += usage;
    }
}
