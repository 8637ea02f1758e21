//! [`LlmAgent`]: an [`Agent`] over a chat endpoint.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::agent::{Agent, AgentReply};
use crate::error::{AgentError, Error};
use crate::llm::chat::{ChatMessage, ChatRequest};
use crate::llm::endpoint::Endpoint;
use crate::llm::prompts;
use crate::proposal::{Critique, Proposal};
use crate::task::Task;

/// Settings of one LLM agent; each agent has its own model, temperature and max tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmAgentConfig {
    /// Agent id.
    pub id: String,
    /// Role (selects the persona).
    pub role: String,
    /// Model name.
    pub model: String,
    /// Sampling temperature (0..=2).
    pub temperature: f32,
    /// Most tokens per reply.
    pub max_tokens: u32,
}

impl Default for LlmAgentConfig {
    fn default() -> Self {
        LlmAgentConfig {
            id: String::new(),
            role: "DEV".into(),
            model: String::new(),
            temperature: 0.7,
            max_tokens: 512,
        }
    }
}

impl LlmAgentConfig {
    /// Check the values; errors name the field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.id.trim().is_empty() {
            return Err(Error::invalid("agent.id", "must not be empty"));
        }
        if self.model.trim().is_empty() {
            return Err(Error::invalid("agent.model", format!("must not be empty (agent {})", self.id)));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(Error::invalid(
                "agent.temperature",
                format!("is {}; it must be within 0..=2", self.temperature),
            ));
        }
        if self.max_tokens == 0 || self.max_tokens > 32_768 {
            return Err(Error::invalid("agent.max_tokens", format!("is {}; it must be 1..=32768", self.max_tokens)));
        }
        Ok(())
    }
}

/// An agent whose proposals, critiques and revisions come from a chat model.
#[derive(Debug, Clone)]
pub struct LlmAgent {
    config: LlmAgentConfig,
    endpoint: Arc<Endpoint>,
}

impl LlmAgent {
    /// An agent on `endpoint` (share one `Arc<Endpoint>` between agents that share limits).
    pub fn new(config: LlmAgentConfig, endpoint: Arc<Endpoint>) -> Result<Self, Error> {
        config.validate()?;
        Ok(LlmAgent { config, endpoint })
    }

    /// Its settings.
    pub fn config(&self) -> &LlmAgentConfig {
        &self.config
    }

    /// Its endpoint.
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    async fn ask(&self, user: String) -> Result<AgentReply, AgentError> {
        let req = ChatRequest {
            model: self.config.model.clone(),
            messages: vec![
                ChatMessage::system(prompts::system(&self.config.id, &self.config.role)),
                ChatMessage::user(user),
            ],
            temperature: self.config.temperature,
            max_tokens: self.config.max_tokens,
            response_format: None,
        };
        let reply = self.endpoint.chat(&req).await?;
        Ok(AgentReply::with_usage(reply.text, reply.usage))
    }
}

#[async_trait]
impl Agent for LlmAgent {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn role(&self) -> &str {
        &self.config.role
    }

    async fn generate(&self, task: &Task) -> Result<AgentReply, AgentError> {
        self.ask(prompts::generate(task)).await
    }

    async fn critique(&self, task: &Task, peer: &Proposal) -> Result<AgentReply, AgentError> {
        self.ask(prompts::critique(task, peer)).await
    }

    async fn revise(&self, task: &Task, own: &Proposal, critiques: &[Critique]) -> Result<AgentReply, AgentError> {
        self.ask(prompts::revise(task, own, critiques)).await
    }
}
