//! LLM backends over HTTP (OpenAI-compatible chat completions and Anthropic Messages), and the
//! agent, judge scorer and architect built on them.

//!
//! Everything here but the prompt texts needs the `llm` feature. The prompts are always built:
//! the echo scorer must recognise our own prompt in a proposal whoever wrote the agent.

#[cfg(feature = "llm")]
mod agent;
#[cfg(feature = "llm")]
mod architect;
#[cfg(feature = "llm")]
mod chat;
#[cfg(feature = "llm")]
mod circuit;
#[cfg(feature = "llm")]
mod config;
#[cfg(feature = "llm")]
mod endpoint;
#[cfg(feature = "llm")]
mod judge;
#[cfg(feature = "llm")]
mod pool;
pub(crate) mod prompts;

#[cfg(feature = "llm")]
pub use agent::{Api, LlmAgent, LlmAgentConfig};
#[cfg(feature = "llm")]
pub use architect::LlmArchitect;
#[cfg(feature = "llm")]
pub use chat::{ChatMessage, ChatReply, ChatRequest, CompletionRequest, ResponseFormat};
#[cfg(feature = "llm")]
pub use config::{redact_url, EndpointConfig, Provider, Secret};
#[cfg(feature = "llm")]
pub use endpoint::Endpoint;
#[cfg(feature = "llm")]
pub use judge::{JudgeMode, JudgeScorer};
#[cfg(feature = "llm")]
pub use pool::EndpointPool;
pub use prompts::persona;
