//! LLM backends over HTTP (OpenAI-compatible chat completions and Anthropic Messages), and the
//! agent, judge scorer and architect built on them.

mod agent;
mod architect;
mod chat;
mod circuit;
mod config;
mod endpoint;
mod judge;
pub(crate) mod prompts;

pub use agent::{LlmAgent, LlmAgentConfig};
pub use architect::LlmArchitect;
pub use chat::{ChatMessage, ChatReply, ChatRequest, ResponseFormat};
pub use circuit::CircuitBreaker;
pub use config::{redact_tokens, redact_url, EndpointConfig, Provider, Secret};
pub use endpoint::Endpoint;
pub use judge::{JudgeMode, JudgeScorer};
pub use prompts::persona;
