//! Provider-neutral chat request and reply, and their wire forms.

use serde_json::{json, Value};

use crate::llm::config::Provider;
use crate::usage::TokenUsage;

/// One message.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// Text.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage { role: "system", content: content.into() }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage { role: "user", content: content.into() }
    }
}

/// Ask for a reply in a JSON shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseFormat {
    /// Schema name.
    pub name: String,
    /// JSON schema the reply must follow.
    pub schema: Value,
}

/// A chat call.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// Model name.
    pub model: String,
    /// Messages, system first.
    pub messages: Vec<ChatMessage>,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Optional structured-output schema (OpenAI-compatible servers).
    pub response_format: Option<ResponseFormat>,
}

/// A text-completion call (`/v1/completions`): the model continues `prompt`. How a base or
/// code model is used.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    /// Model name.
    pub model: String,
    /// The text to continue.
    pub prompt: String,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Generation stops before any of these.
    pub stop: Vec<String>,
}

pub(crate) fn encode_completion(req: &CompletionRequest) -> Value {
    json!({
        "model": req.model,
        "prompt": req.prompt,
        "temperature": temperature(req.temperature),
        "max_tokens": req.max_tokens,
        "stop": req.stop,
        "stream": false,
    })
}

/// A chat reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    /// Generated text (never empty).
    pub text: String,
    /// Tokens used.
    pub usage: TokenUsage,
    /// Model that answered, as reported.
    pub model: String,
}

/// f32 temperatures as the decimal the caller wrote (0.3, not 0.30000001192092896).
fn temperature(t: f32) -> f64 {
    (f64::from(t) * 1000.0).round() / 1000.0
}

pub(crate) fn encode(provider: Provider, req: &ChatRequest) -> Value {
    match provider {
        Provider::Openai => {
            let msgs: Vec<Value> = req.messages.iter().map(|m| json!({"role": m.role, "content": m.content})).collect();
            let mut body = json!({
                "model": req.model,
                "messages": msgs,
                "temperature": temperature(req.temperature),
                "max_tokens": req.max_tokens,
                "stream": false,
            });
            if let Some(f) = &req.response_format {
                body["response_format"] =
                    json!({"type": "json_schema", "json_schema": {"name": f.name, "schema": f.schema, "strict": true}});
            }
            body
        }
        Provider::Anthropic => {
            let system: Vec<&str> =
                req.messages.iter().filter(|m| m.role == "system").map(|m| m.content.as_str()).collect();
            let msgs: Vec<Value> = req
                .messages
                .iter()
                .filter(|m| m.role != "system")
                .map(|m| json!({"role": m.role, "content": m.content}))
                .collect();
            let mut body = json!({
                "model": req.model,
                "messages": msgs,
                "temperature": temperature(req.temperature),
                "max_tokens": req.max_tokens,
            });
            if !system.is_empty() {
                body["system"] = Value::String(system.join("\n\n"));
            }
            body
        }
    }
}

/// Decode a 2xx body. `Err` carries the reason (the caller adds endpoint and status).
pub(crate) fn decode(provider: Provider, body: &[u8]) -> Result<ChatReply, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("malformed JSON body: {e}"))?;
    let (text, usage) = match provider {
        Provider::Openai => {
            let choices = v.get("choices").and_then(Value::as_array).ok_or("body has no `choices` array")?;
            let first = choices.first().ok_or("`choices` is empty")?;
            let text = first
                .pointer("/message/content")
                .and_then(Value::as_str)
                .or_else(|| first.get("text").and_then(Value::as_str))
                .ok_or("first choice has no message content")?;
            let u = v.get("usage");
            let usage = TokenUsage {
                prompt_tokens: u.and_then(|u| u.get("prompt_tokens")).and_then(Value::as_u64).unwrap_or(0),
                completion_tokens: u.and_then(|u| u.get("completion_tokens")).and_then(Value::as_u64).unwrap_or(0),
            };
            (text.to_owned(), usage)
        }
        Provider::Anthropic => {
            let content = v.get("content").and_then(Value::as_array).ok_or("body has no `content` array")?;
            let text: String = content
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("");
            let u = v.get("usage");
            let usage = TokenUsage {
                prompt_tokens: u.and_then(|u| u.get("input_tokens")).and_then(Value::as_u64).unwrap_or(0),
                completion_tokens: u.and_then(|u| u.get("output_tokens")).and_then(Value::as_u64).unwrap_or(0),
            };
            (text, usage)
        }
    };
    if text.trim().is_empty() {
        return Err("empty completion".into());
    }
    let model = v.get("model").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(ChatReply { text, usage, model })
}
