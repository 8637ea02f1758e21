//! [`LlmArchitect`]: a model picks the winner among the top-k with a stated reason.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::architect::{Architect, Selection};
use crate::error::{Error, Result};
use crate::llm::chat::{ChatMessage, ChatRequest, ResponseFormat};
use crate::llm::endpoint::Endpoint;
use crate::llm::prompts;
use crate::outcome::RankedResult;
use crate::task::Task;

/// An architect backed by a chat model. When it fails, `orchestrate` falls back to the default
/// architect and reports why.
#[derive(Debug, Clone)]
pub struct LlmArchitect {
    endpoint: Arc<Endpoint>,
    model: String,
    max_tokens: u32,
}

impl LlmArchitect {
    /// An architect using `model` on `endpoint`.
    pub fn new(endpoint: Arc<Endpoint>, model: impl Into<String>) -> Self {
        LlmArchitect { endpoint, model: model.into(), max_tokens: 128 }
    }
}

#[async_trait]
impl Architect for LlmArchitect {
    fn name(&self) -> &str {
        "llm"
    }

    async fn select(&self, task: &Task, candidates: &[RankedResult]) -> Result<Selection> {
        let listed: Vec<(String, f64, String)> =
            candidates.iter().map(|c| (c.proposal.author_id.clone(), c.score, c.proposal.content.clone())).collect();
        let schema = json!({"type": "object", "properties": {
            "choice": {"type": "integer", "minimum": 0, "maximum": candidates.len().saturating_sub(1)},
            "reason": {"type": "string"}}, "required": ["choice", "reason"], "additionalProperties": false});
        let req = ChatRequest {
            model: self.model.clone(),
            messages: vec![
                ChatMessage::system(prompts::persona("ARCHITECT")),
                ChatMessage::user(prompts::architect(task, &listed)),
            ],
            temperature: 0.0,
            max_tokens: self.max_tokens,
            response_format: Some(ResponseFormat { name: "choice".into(), schema }),
        };
        let reply = self.endpoint.chat(&req).await.map_err(|e| Error::Backend { message: e.to_string() })?;
        let v: Value = serde_json::from_str(reply.text.trim())
            .map_err(|e| Error::Backend { message: format!("architect reply is not JSON: {e}") })?;
        let index = v
            .get("choice")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Backend { message: "architect reply has no integer `choice`".into() })?
            as usize;
        if index >= candidates.len() {
            return Err(Error::Backend {
                message: format!("architect chose {index} of {} candidates", candidates.len()),
            });
        }
        let reason = v.get("reason").and_then(Value::as_str).unwrap_or("").to_owned();
        Ok(Selection { index, reason: format!("{} (model {})", reason, self.model) })
    }
}
