//! [`LlmAgent`]: an [`Agent`] over a chat endpoint.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::agent::{Agent, AgentReply};
use crate::error::{AgentError, Error};
use crate::llm::chat::{ChatMessage, ChatRequest, CompletionRequest};
use crate::llm::config::Provider;
use crate::llm::endpoint::Endpoint;
use crate::llm::prompts;
use crate::proposal::{Critique, Proposal};
use crate::task::Task;

/// Which API an LLM agent calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// Chat completions: instruction-tuned models, prompts in words.
    #[default]
    Chat,
    /// Text completions (`/v1/completions`): base and code models continue code-shaped
    /// prefixes (see `llm/prompts.rs` for what each phase sends).
    Completions,
}

impl std::str::FromStr for Api {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "chat" => Ok(Api::Chat),
            "completions" | "completion" => Ok(Api::Completions),
            other => Err(Error::invalid("api", format!("{other:?} is not one of: chat, completions"))),
        }
    }
}

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
    /// Chat or text completions.
    pub api: Api,
}

impl Default for LlmAgentConfig {
    fn default() -> Self {
        LlmAgentConfig {
            id: String::new(),
            role: "DEV".into(),
            model: String::new(),
            temperature: 0.7,
            max_tokens: 512,
            api: Api::Chat,
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
        if config.api == Api::Completions && endpoint.config().provider != Provider::Openai {
            return Err(Error::invalid(
                "agent.api",
                format!("completions need an OpenAI-compatible endpoint (agent {})", config.id),
            ));
        }
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

    /// Continue a code-shaped prefix; the reply is `before`, a fenced python block of `head`
    /// and the continuation.
    async fn continue_code(&self, c: prompts::Completion, before: &str) -> Result<AgentReply, AgentError> {
        let req = CompletionRequest {
            model: self.config.model.clone(),
            prompt: c.prompt,
            temperature: self.config.temperature,
            max_tokens: self.config.max_tokens,
            stop: c.stop,
        };
        let reply = self.endpoint.complete(&req).await?;
        let body = reply.text.trim_end();
        if body.trim().is_empty() {
            return Err(AgentError::Backend { status: None, message: "the model continued with nothing".into() });
        }
        Ok(AgentReply::with_usage(format!("{before}```python\n{}{body}\n```\n", c.head), reply.usage))
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
        match self.config.api {
            Api::Chat => self.ask(prompts::generate(task)).await,
            Api::Completions => self.continue_code(prompts::complete_generate(task), "").await,
        }
    }

    async fn critique(&self, task: &Task, peer: &Proposal) -> Result<AgentReply, AgentError> {
        match self.config.api {
            Api::Chat => self.ask(prompts::critique(task, peer)).await,
            Api::Completions => {
                self.continue_code(prompts::complete_critique(task, peer), "A test this proposal should pass:\n").await
            }
        }
    }

    async fn revise(&self, task: &Task, own: &Proposal, critiques: &[Critique]) -> Result<AgentReply, AgentError> {
        match self.config.api {
            Api::Chat => self.ask(prompts::revise(task, own, critiques)).await,
            Api::Completions => self.continue_code(prompts::complete_revise(task, own, critiques), "").await,
        }
    }
}
