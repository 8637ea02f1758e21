//! Endpoint configuration and the secret type that keeps API keys out of logs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Which HTTP API an endpoint speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// `POST {base}/v1/chat/completions` (vLLM, llama.cpp server, Ollama, OpenAI, gateways).
    #[default]
    #[serde(alias = "openai-compatible", alias = "vllm", alias = "ollama", alias = "llamacpp")]
    Openai,
    /// `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`.
    Anthropic,
}

impl Provider {
    /// The environment variable that holds this provider's API key.
    pub fn api_key_env(self) -> &'static str {
        match self {
            Provider::Openai => "OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Openai => "openai",
            Provider::Anthropic => "anthropic",
        })
    }
}

impl std::str::FromStr for Provider {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" | "vllm" | "ollama" | "llamacpp" | "llama.cpp" => Ok(Provider::Openai),
            "anthropic" => Ok(Provider::Anthropic),
            other => Err(Error::invalid("provider", format!("{other:?} is not one of: openai, anthropic"))),
        }
    }
}

/// An API key. Its `Debug` and `Display` never show the value.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a key.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The key, for building the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replace every occurrence of the key in `text`, and anything that looks like a key or a
    /// bearer token (defence in depth for error bodies quoted to clients).
    pub fn redact(&self, text: &str) -> String {
        let text = if self.0.len() >= 4 { text.replace(&self.0, "[REDACTED]") } else { text.to_owned() };
        redact_tokens(&text)
    }
}

/// A URL with any `user:password@` taken out (for logs and errors): `nats://u:p@h:4222` becomes
/// `nats://***@h:4222`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Mask key-shaped words (`sk-…`, `key-…`, `Bearer …`, long opaque tokens) in `text`.
pub(crate) fn redact_tokens(text: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)(bearer\s+[A-Za-z0-9._~+/=-]+|\b(sk|key|pk|rk|api|token|ghp|xox[a-z])[-_][A-Za-z0-9._-]{6,}|\b[A-Za-z0-9_-]{32,}\b)",
        )
        .expect("static regex")
    });
    re.replace_all(text, "[REDACTED]").into_owned()
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "Secret(<empty>)" } else { "Secret([REDACTED])" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[REDACTED]" })
    }
}

/// One LLM endpoint and the limits shared by every agent that uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointConfig {
    /// Base URL (`http://127.0.0.1:8088`); a trailing `/v1` or `/` is accepted.
    pub base_url: String,
    /// API flavour.
    pub provider: Provider,
    /// API key (from `OPENAI_API_KEY` / `ANTHROPIC_API_KEY` or config).
    pub api_key: Secret,
    /// Total time for one HTTP attempt.
    #[serde(with = "secs")]
    pub timeout: Duration,
    /// Time to establish a connection.
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    /// Attempts per call, including the first (retries on 429, 5xx, connection errors, timeouts).
    pub max_attempts: u32,
    /// First backoff delay; doubles with jitter up to `max_backoff`.
    #[serde(with = "secs")]
    pub min_backoff: Duration,
    /// Largest backoff delay (a longer `Retry-After` is honoured up to 60 s).
    #[serde(with = "secs")]
    pub max_backoff: Duration,
    /// Requests per minute across every agent using this endpoint (0: unlimited).
    pub requests_per_minute: u32,
    /// Requests in flight at once across every agent using this endpoint.
    pub max_in_flight: usize,
    /// Consecutive failed calls that open the circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit fails fast before letting one probe through.
    #[serde(with = "secs")]
    pub breaker_cooldown: Duration,
    /// `anthropic-version` header.
    pub anthropic_version: String,
    /// Largest reply body read, bytes; a longer reply is an error (read in a stream, never
    /// buffered whole).
    pub max_reply_bytes: usize,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            base_url: "http://127.0.0.1:8088".into(),
            provider: Provider::Openai,
            api_key: Secret::default(),
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(5),
            max_attempts: 3,
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            requests_per_minute: 0,
            max_in_flight: 16,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            anthropic_version: "2023-06-01".into(),
            max_reply_bytes: 1 << 20,
        }
    }
}

impl EndpointConfig {
    /// An OpenAI-compatible endpoint at `base_url`.
    pub fn openai(base_url: impl Into<String>) -> Self {
        EndpointConfig { base_url: base_url.into(), ..Default::default() }
    }

    /// An Anthropic endpoint at `base_url`.
    pub fn anthropic(base_url: impl Into<String>) -> Self {
        EndpointConfig { base_url: base_url.into(), provider: Provider::Anthropic, ..Default::default() }
    }

    /// The base URL without a trailing `/` or `/v1`.
    pub fn normalized_base(&self) -> String {
        let mut b = self.base_url.trim().trim_end_matches('/').to_owned();
        if let Some(s) = b.strip_suffix("/v1") {
            b = s.to_owned();
        }
        b
    }

    /// Full URL of the chat call.
    pub fn chat_url(&self) -> String {
        match self.provider {
            Provider::Openai => format!("{}/v1/chat/completions", self.normalized_base()),
            Provider::Anthropic => format!("{}/v1/messages", self.normalized_base()),
        }
    }

    /// The text-completions URL (OpenAI-compatible servers: vLLM, llama.cpp, OpenAI).
    pub fn completions_url(&self) -> String {
        format!("{}/v1/completions", self.normalized_base())
    }

    /// Check the values; errors name the field.
    pub fn validate(&self) -> Result<(), Error> {
        let b = self.normalized_base();
        let url = reqwest::Url::parse(&b)
            .map_err(|e| Error::invalid("endpoint.base_url", format!("{b:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid("endpoint.base_url", format!("{b:?} must be an http:// or https:// URL")));
        }
        if !url.username().is_empty() || url.password().is_some() || b.contains('@') {
            return Err(Error::invalid("endpoint.base_url", "must not contain credentials; use api_key"));
        }
        if url.query().is_some() || url.fragment().is_some() || b.contains(['?', '#']) {
            return Err(Error::invalid("endpoint.base_url", "must not contain a query or a fragment"));
        }
        if self.max_attempts == 0 || self.max_attempts > 10 {
            return Err(Error::invalid(
                "endpoint.max_attempts",
                format!("is {}; it must be 1..=10", self.max_attempts),
            ));
        }
        if self.max_in_flight == 0 {
            return Err(Error::invalid("endpoint.max_in_flight", "must be at least 1"));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::invalid("endpoint.timeout", "timeouts must be greater than zero"));
        }
        if self.max_reply_bytes < 1024 || self.max_reply_bytes > 64 << 20 {
            return Err(Error::invalid(
                "endpoint.max_reply_bytes",
                format!("is {}; it must be 1024 to {} bytes", self.max_reply_bytes, 64 << 20),
            ));
        }
        for (field, d) in [("endpoint.timeout", self.timeout), ("endpoint.connect_timeout", self.connect_timeout)] {
            if d > Duration::from_secs(24 * 3600) {
                return Err(Error::invalid(field, format!("is {d:?}; the limit is 24 hours")));
            }
        }
        if self.breaker_threshold == 0 {
            return Err(Error::invalid("endpoint.breaker_threshold", "must be at least 1"));
        }
        Ok(())
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() || v < 0.0 {
            return Err(serde::de::Error::custom("durations are non-negative seconds"));
        }
        Ok(Duration::from_secs_f64(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_taken_out_of_urls() {
        assert_eq!(redact_url("nats://user:s3cret@nats.svc:4222"), "nats://***@nats.svc:4222");
        assert_eq!(redact_url("nats://token@nats.svc"), "nats://***@nats.svc");
        assert_eq!(redact_url("nats://nats.svc:4222/x@y"), "nats://nats.svc:4222/x@y");
        assert_eq!(redact_url("plain"), "plain");
    }
}
