//! The [`Agent`] trait: a council member that proposes, critiques and revises.

use async_trait::async_trait;

use crate::error::AgentError;
use crate::proposal::{Critique, Proposal};
use crate::task::Task;
use crate::usage::TokenUsage;

/// What an agent call returns: text and, when the agent knows it, the tokens it used.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentReply {
    /// The text produced.
    pub text: String,
    /// Tokens used, if reported.
    pub usage: Option<TokenUsage>,
}

impl AgentReply {
    /// A reply with text and no usage.
    pub fn text(text: impl Into<String>) -> Self {
        AgentReply { text: text.into(), usage: None }
    }

    /// A reply with text and usage.
    pub fn with_usage(text: impl Into<String>, usage: TokenUsage) -> Self {
        AgentReply { text: text.into(), usage: Some(usage) }
    }
}

impl From<String> for AgentReply {
    fn from(text: String) -> Self {
        AgentReply::text(text)
    }
}

impl From<&str> for AgentReply {
    fn from(text: &str) -> Self {
        AgentReply::text(text)
    }
}

/// A council member. Every operation returns an error on failure; an agent never answers with
/// fallback text that could pass for a proposal.
#[async_trait]
pub trait Agent: Send + Sync {
    /// Unique id within a deliberation (for example `agent-dev-001`).
    fn id(&self) -> &str;

    /// The role this agent serves (DEV, QA, ...).
    fn role(&self) -> &str;

    /// Write a proposal for the task.
    async fn generate(&self, task: &Task) -> Result<AgentReply, AgentError>;

    /// Review a peer's proposal against the rubric (`task.constraints.rubric`).
    async fn critique(&self, task: &Task, peer: &Proposal) -> Result<AgentReply, AgentError>;

    /// Revise this agent's own proposal from the critiques it received.
    async fn revise(&self, task: &Task, own: &Proposal, critiques: &[Critique]) -> Result<AgentReply, AgentError>;
}
