//! One LLM endpoint: an HTTP client with retries (backon's jittered exponential backoff, honouring
//! `Retry-After`), a rate limiter (governor) and an in-flight cap shared by every agent using the
//! endpoint, and a circuit breaker.

use std::num::NonZeroU32;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use tokio::sync::Semaphore;

use crate::error::{AgentError, Error};
use crate::llm::chat::{decode, encode, encode_completion, ChatReply, ChatRequest, CompletionRequest};
use crate::llm::circuit::CircuitBreaker;
use crate::llm::config::{EndpointConfig, Provider};

/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Most characters of an error body quoted in an error (after redaction).
const MAX_QUOTED_BODY: usize = 160;

/// One endpoint with its limits and breaker. Share it behind an `Arc` between the agents that
/// should share those limits ([`crate::AgentFactory`] keeps one per configured endpoint name);
/// there is no process-wide registry, so two configs never silently merge.
pub struct Endpoint {
    config: EndpointConfig,
    url: String,
    client: reqwest::Client,
    limiter: Option<DefaultDirectRateLimiter>,
    in_flight: Semaphore,
    breaker: CircuitBreaker,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("url", &self.url).field("provider", &self.config.provider).finish()
    }
}

enum Attempt {
    Retry { err: AgentError, retry_after: Option<Duration> },
    Fatal(AgentError),
}

impl Endpoint {
    /// A new endpoint with its own limits, rate limiter and breaker.
    pub fn new(config: EndpointConfig) -> Result<Self, Error> {
        config.validate()?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // A redirect could carry the key to another host: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.max_in_flight)
            .build()
            .map_err(|e| Error::invalid("endpoint", format!("cannot build HTTP client: {e}")))?;
        // Burst of one second's worth, so a minute's quota is not spent in one instant.
        let limiter = NonZeroU32::new(config.requests_per_minute).map(|rpm| {
            let burst = NonZeroU32::new(rpm.get() / 60).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(Quota::per_minute(rpm).allow_burst(burst))
        });
        Ok(Endpoint {
            url: config.chat_url(),
            in_flight: Semaphore::new(config.max_in_flight),
            breaker: CircuitBreaker::new(config.breaker_threshold, config.breaker_cooldown),
            client,
            limiter,
            config,
        })
    }

    /// The chat URL (no credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Whether the breaker is failing calls fast now.
    pub fn circuit_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.config.max_in_flight - self.in_flight.available_permits()
    }

    /// One chat call with retries, rate limiting, the in-flight cap and the breaker.
    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatReply, AgentError> {
        self.call(&self.url, &encode(self.config.provider, req)).await
    }

    /// One text-completion call (`/v1/completions`, OpenAI-compatible endpoints only), under
    /// the same retries, rate limit, in-flight cap and breaker as chat.
    pub async fn complete(&self, req: &CompletionRequest) -> Result<ChatReply, AgentError> {
        if self.config.provider != Provider::Openai {
            return Err(AgentError::Backend {
                status: None,
                message: format!("{}: text completions need an OpenAI-compatible endpoint", self.url),
            });
        }
        self.call(&self.config.completions_url(), &encode_completion(req)).await
    }

    async fn call(&self, url: &str, body: &serde_json::Value) -> Result<ChatReply, AgentError> {
        let permit = self
            .breaker
            .acquire()
            .map_err(|rem| AgentError::Unavailable(format!("{}: circuit open, next probe in {rem:?}", self.url)))?;
        // Dropped unfinished (this call cancelled by a timeout), the guard counts a failure.
        let guard = self.breaker.guard(permit);
        let result = self.with_retries(url, body).await;
        let endpoint_ok = match &result {
            Ok(_) => true,
            Err(e) => !e.is_endpoint_fault(),
        };
        guard.finish(endpoint_ok);
        result
    }

    async fn with_retries(&self, url: &str, body: &serde_json::Value) -> Result<ChatReply, AgentError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_max_times(self.config.max_attempts as usize - 1)
            .with_jitter()
            .build();
        let mut attempt = 1;
        loop {
            if let Some(l) = &self.limiter {
                l.until_ready().await;
            }
            let res = {
                let _slot =
                    self.in_flight.acquire().await.map_err(|_| AgentError::Unavailable("endpoint closed".into()))?;
                self.once(url, body).await
            };
            match res {
                Ok(r) => return Ok(r),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry { err, retry_after }) => match backoff.next() {
                    None => return Err(err),
                    Some(delay) => {
                        let wait = retry_after.map(|r| r.min(MAX_RETRY_AFTER)).unwrap_or_default().max(delay);
                        tracing::debug!(url = %self.url, attempt, ?wait, error = %err, "retrying LLM call");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                },
            }
        }
    }

    fn redact(&self, s: &str) -> String {
        self.config.api_key.redact(s)
    }

    /// An error body as quoted to callers: redacted first, then capped.
    fn quote_body(&self, bytes: &[u8]) -> String {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4 * MAX_QUOTED_BODY)]).into_owned();
        let redacted = self.redact(head.trim());
        let mut out: String = redacted.chars().take(MAX_QUOTED_BODY).collect();
        if redacted.chars().count() > MAX_QUOTED_BODY || bytes.len() > 4 * MAX_QUOTED_BODY {
            out.push('…');
        }
        out
    }

    async fn once(&self, url: &str, body: &serde_json::Value) -> Result<ChatReply, Attempt> {
        let mut rb = self.client.post(url).timeout(self.config.timeout).json(body);
        let key = &self.config.api_key;
        rb = match self.config.provider {
            Provider::Openai if !key.is_empty() => rb.bearer_auth(key.expose()),
            Provider::Openai => rb,
            Provider::Anthropic => {
                rb.header("x-api-key", key.expose()).header("anthropic-version", self.config.anthropic_version.as_str())
            }
        };
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => return Err(self.transport_error(&e)),
        };
        let status = resp.status();
        let retry_after =
            resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(retry_after);
        let bytes = match self.read_capped(resp).await {
            Ok(b) => b,
            Err(a) => return Err(a),
        };
        if status.is_success() {
            return decode(self.config.provider, &bytes).map_err(|reason| {
                Attempt::Fatal(AgentError::http(
                    status.as_u16(),
                    format!(
                        "{} answered {} with an unusable body: {}",
                        self.url,
                        status.as_u16(),
                        self.redact(&reason)
                    ),
                ))
            });
        }
        let msg = format!("{} answered {}: {}", self.url, status.as_u16(), self.quote_body(&bytes));
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            // Overloaded or failing: the endpoint's fault, retried, and counted by the breaker.
            Err(Attempt::Retry { err: AgentError::http(status.as_u16(), msg), retry_after })
        } else {
            Err(Attempt::Fatal(AgentError::http(status.as_u16(), msg)))
        }
    }

    /// The body, read chunk by chunk up to `max_reply_bytes`; a longer one is an error and is
    /// not read further.
    async fn read_capped(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, Attempt> {
        let cap = self.config.max_reply_bytes;
        let too_big = || {
            Attempt::Fatal(AgentError::Backend {
                status: None,
                message: format!("{} sent a reply larger than max_reply_bytes ({cap} bytes)", self.url),
            })
        };
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() + c.len() > cap {
                        return Err(too_big());
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(self.transport_error(&e)),
            }
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> Attempt {
        let err = if e.is_timeout() {
            AgentError::Timeout(self.config.timeout)
        } else if e.is_connect() {
            AgentError::Unavailable(format!("{}: cannot connect: {}", self.url, self.redact(&source_chain(e))))
        } else {
            AgentError::Unavailable(format!("{}: request failed: {}", self.url, self.redact(&source_chain(e))))
        };
        Attempt::Retry { err, retry_after: None }
    }
}

/// A `Retry-After` of seconds, saturated and capped at [`MAX_RETRY_AFTER`] (never a panic).
fn retry_after(value: &str) -> Option<Duration> {
    let s = value.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0)?;
    Some(Duration::try_from_secs_f64(s).unwrap_or(MAX_RETRY_AFTER).min(MAX_RETRY_AFTER))
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_saturates_and_caps() {
        assert_eq!(retry_after("1e20"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("1.8e19"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("-1"), None);
        assert_eq!(retry_after("NaN"), None);
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
