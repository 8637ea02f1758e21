//! Built-in Rust agents and scorers, usable from Python by name and config.

use std::sync::Arc;
use std::time::Duration;

use orchestrator_core::llm::{Api, Endpoint, EndpointConfig, JudgeScorer, LlmAgent, LlmAgentConfig, Provider, Secret};
use orchestrator_core::scorers::{
    CommandCheck, CommandInput, EchoScorer, PolicyRule, PolicyScorer, RequirementsScorer,
};
use orchestrator_core::testing::ScriptedAgent;
use orchestrator_core::{Agent, CheckCategory, Phase, Scorer};
use pyo3::prelude::*;

use crate::errors::{positive_seconds, to_py};

/// A Rust agent (LLM or scripted), usable in a council next to Python agents.
#[pyclass(module = "orchestrator._native", frozen)]
pub struct NativeAgent {
    pub(crate) agent: Arc<dyn Agent>,
    kind: &'static str,
}

/// Settings of an endpoint an agent or judge builds for itself (`None`: the default).
#[derive(Default)]
struct OwnEndpoint {
    provider: Option<String>,
    api_key: Option<String>,
    timeout: Option<f64>,
    max_attempts: Option<u32>,
    requests_per_minute: Option<u32>,
    max_in_flight: Option<usize>,
}

impl OwnEndpoint {
    /// The settings given, by name (to refuse them next to a shared `endpoint=`).
    fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (name, set) in [
            ("provider", self.provider.is_some()),
            ("api_key", self.api_key.is_some()),
            ("timeout", self.timeout.is_some()),
            ("max_attempts", self.max_attempts.is_some()),
            ("requests_per_minute", self.requests_per_minute.is_some()),
            ("max_in_flight", self.max_in_flight.is_some()),
        ] {
            if set {
                v.push(name);
            }
        }
        v
    }
}

fn build_endpoint(py: Python<'_>, base_url: String, o: OwnEndpoint) -> PyResult<Arc<Endpoint>> {
    let provider: Provider = o.provider.as_deref().unwrap_or("openai").parse().map_err(|e| to_py(py, e))?;
    let key = o.api_key.or_else(|| std::env::var(provider.api_key_env()).ok());
    let cfg = EndpointConfig {
        base_url,
        provider,
        api_key: Secret::new(key.unwrap_or_default()),
        timeout: positive_seconds(py, "timeout", o.timeout.unwrap_or(120.0))?,
        max_attempts: o.max_attempts.unwrap_or(3),
        requests_per_minute: o.requests_per_minute.unwrap_or(0),
        max_in_flight: o.max_in_flight.unwrap_or(16),
        ..Default::default()
    };
    Endpoint::new(cfg).map(Arc::new).map_err(|e| to_py(py, e))
}

/// The endpoint of an agent or judge: a shared [`NativeEndpoint`], or its own from `base_url`
/// and the settings. Settings next to a shared endpoint are refused: they would be ignored.
fn endpoint_for(
    py: Python<'_>,
    base_url: Option<String>,
    shared: Option<PyRef<'_, NativeEndpoint>>,
    own: OwnEndpoint,
) -> PyResult<Arc<Endpoint>> {
    match (base_url, shared) {
        (Some(url), None) => build_endpoint(py, url, own),
        (None, Some(ep)) => {
            let given = own.given();
            if !given.is_empty() {
                return Err(to_py(
                    py,
                    orchestrator_core::Error::invalid(
                        given[0],
                        format!("belongs to the shared endpoint: set {} on Endpoint(...), not here", given.join(", ")),
                    ),
                ));
            }
            Ok(ep.endpoint.clone())
        }
        (Some(_), Some(_)) => {
            Err(to_py(py, orchestrator_core::Error::invalid("endpoint", "give base_url or endpoint, not both")))
        }
        (None, None) => {
            Err(to_py(py, orchestrator_core::Error::invalid("base_url", "base_url or endpoint is required")))
        }
    }
}

/// An LLM endpoint shared by agents and judges: one rate limit, one in-flight cap and one
/// circuit breaker for every user. The key is never shown.
#[pyclass(module = "orchestrator._native", name = "Endpoint", frozen)]
pub struct NativeEndpoint {
    endpoint: Arc<Endpoint>,
}

#[pymethods]
impl NativeEndpoint {
    #[new]
    #[pyo3(signature = (base_url, provider = "openai", api_key = None, timeout = 120.0, max_attempts = 3,
        requests_per_minute = 0, max_in_flight = 16))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        base_url: String,
        provider: &str,
        api_key: Option<String>,
        timeout: f64,
        max_attempts: u32,
        requests_per_minute: u32,
        max_in_flight: usize,
    ) -> PyResult<Self> {
        let own = OwnEndpoint {
            provider: Some(provider.to_owned()),
            api_key,
            timeout: Some(timeout),
            max_attempts: Some(max_attempts),
            requests_per_minute: Some(requests_per_minute),
            max_in_flight: Some(max_in_flight),
        };
        Ok(NativeEndpoint { endpoint: build_endpoint(py, base_url, own)? })
    }

    /// The base URL.
    #[getter]
    fn base_url(&self) -> String {
        self.endpoint.config().base_url.clone()
    }

    /// The per-call timeout, seconds.
    #[getter]
    fn timeout(&self) -> f64 {
        self.endpoint.config().timeout.as_secs_f64()
    }

    /// Whether the circuit breaker is open now (calls fail fast until the next probe).
    fn circuit_open(&self) -> bool {
        self.endpoint.circuit_open()
    }

    fn __repr__(&self) -> String {
        let c = self.endpoint.config();
        format!(
            "Endpoint(base_url={:?}, provider={:?}, timeout={})",
            c.base_url,
            c.provider.to_string(),
            c.timeout.as_secs_f64()
        )
    }
}

#[pymethods]
impl NativeAgent {
    /// An LLM agent on an OpenAI-compatible or Anthropic endpoint: its own (`base_url` and the
    /// endpoint settings) or a shared [`NativeEndpoint`] (`endpoint=`).
    #[staticmethod]
    #[pyo3(signature = (agent_id, model, base_url = None, role = "DEV", provider = None,
        temperature = 0.7, max_tokens = 512, api_key = None, timeout = None, max_attempts = None,
        requests_per_minute = None, max_in_flight = None, endpoint = None, api = "chat"))]
    #[allow(clippy::too_many_arguments)]
    fn llm(
        py: Python<'_>,
        agent_id: String,
        model: String,
        base_url: Option<String>,
        role: &str,
        provider: Option<String>,
        temperature: f32,
        max_tokens: u32,
        api_key: Option<String>,
        timeout: Option<f64>,
        max_attempts: Option<u32>,
        requests_per_minute: Option<u32>,
        max_in_flight: Option<usize>,
        endpoint: Option<PyRef<'_, NativeEndpoint>>,
        api: &str,
    ) -> PyResult<Self> {
        let api: Api = api.parse().map_err(|e| to_py(py, e))?;
        let own = OwnEndpoint { provider, api_key, timeout, max_attempts, requests_per_minute, max_in_flight };
        let ep = endpoint_for(py, base_url, endpoint, own)?;
        let cfg = LlmAgentConfig { id: agent_id, role: role.to_owned(), model, temperature, max_tokens, api };
        let agent = LlmAgent::new(cfg, ep).map_err(|e| to_py(py, e))?;
        Ok(NativeAgent { agent: Arc::new(agent), kind: "llm" })
    }

    /// A scripted test agent (no network): replies naming itself, after `latency` seconds;
    /// `fail_on=("generate", 1)` fails that call.
    #[staticmethod]
    #[pyo3(signature = (agent_id, role = "DEV", latency = 0.0, replies = None, fail_on = None))]
    fn scripted(
        py: Python<'_>,
        agent_id: String,
        role: &str,
        latency: f64,
        replies: Option<Vec<String>>,
        fail_on: Option<(String, usize)>,
    ) -> PyResult<Self> {
        if !(latency.is_finite() && latency >= 0.0) {
            return Err(to_py(py, orchestrator_core::Error::invalid("latency", "must be non-negative seconds")));
        }
        let mut a = ScriptedAgent::new(agent_id, role).latency(Duration::from_secs_f64(latency));
        if let Some(r) = replies {
            a = a.generate_replies(r);
        }
        if let Some((phase, n)) = fail_on {
            let not_a_call = || {
                to_py(
                    py,
                    orchestrator_core::Error::invalid(
                        "fail_on",
                        format!("{phase:?} is not generate, critique or revise"),
                    ),
                )
            };
            let parsed: Phase = phase.parse().map_err(|_| not_a_call())?;
            if !matches!(parsed, Phase::Generate | Phase::Critique | Phase::Revise) {
                return Err(not_a_call());
            }
            let phase = parsed;
            a = a.fail_on(phase, n);
        }
        Ok(NativeAgent { agent: Arc::new(a), kind: "scripted" })
    }

    /// The agent id.
    #[getter]
    fn agent_id(&self) -> String {
        self.agent.id().to_owned()
    }

    /// The role.
    #[getter]
    fn role(&self) -> String {
        self.agent.role().to_owned()
    }

    fn __repr__(&self) -> String {
        format!("NativeAgent(kind={:?}, agent_id={:?}, role={:?})", self.kind, self.agent.id(), self.agent.role())
    }
}

/// A Rust scorer: policy, requirements, command check or LLM judge.
#[pyclass(module = "orchestrator._native", frozen)]
pub struct NativeScorer {
    pub(crate) scorer: Arc<dyn Scorer>,
}

#[pymethods]
impl NativeScorer {
    /// Deny patterns: `rules` maps a rule name to a regex; `None` uses the defaults (secrets,
    /// private keys, credentials in URLs).
    #[staticmethod]
    #[pyo3(signature = (rules = None))]
    fn policy(py: Python<'_>, rules: Option<Vec<(String, String)>>) -> PyResult<Self> {
        let s = match rules {
            None => PolicyScorer::new(),
            Some(r) => PolicyScorer::with_rules(r.into_iter().map(|(n, p)| PolicyRule::new(n, p)).collect())
                .map_err(|e| to_py(py, e))?,
        };
        Ok(NativeScorer { scorer: Arc::new(s) })
    }

    /// Fails a proposal that is mostly copied from the task or the agents' prompt.
    #[staticmethod]
    fn echo() -> Self {
        NativeScorer { scorer: Arc::new(EchoScorer::new()) }
    }

    /// Which requirements the proposal addresses.
    #[staticmethod]
    #[pyo3(signature = (word_coverage = 1.0))]
    fn requirements(word_coverage: f64) -> Self {
        NativeScorer { scorer: Arc::new(RequirementsScorer::with_word_coverage(word_coverage)) }
    }

    /// Run `program args...` on the proposal (stdin, or a file substituted for `{file}`);
    /// exit status 0 passes.
    #[staticmethod]
    #[pyo3(signature = (name, program, args = Vec::new(), input = "stdin", suffix = "",
        timeout = 30.0, category = "lint"))]
    #[allow(clippy::too_many_arguments)]
    fn command(
        py: Python<'_>,
        name: String,
        program: String,
        args: Vec<String>,
        input: &str,
        suffix: &str,
        timeout: f64,
        category: &str,
    ) -> PyResult<Self> {
        let input = CommandInput::parse(input, suffix).map_err(|e| to_py(py, e))?;
        let category: CheckCategory = category.parse().map_err(|e| to_py(py, e))?;
        let timeout = positive_seconds(py, "timeout", timeout)?;
        let c = CommandCheck::new(name, program, args)
            .map_err(|e| to_py(py, e))?
            .input(input)
            .category(category)
            .timeout(timeout);
        Ok(NativeScorer { scorer: Arc::new(c) })
    }

    /// An LLM judge grading against the rubric and requirements in strict JSON, on its own
    /// endpoint (`base_url`) or a shared one (`endpoint=`).
    #[staticmethod]
    #[pyo3(signature = (model, base_url = None, provider = None, api_key = None, pass_threshold = 0.7,
        max_tokens = 128, timeout = None, endpoint = None))]
    #[allow(clippy::too_many_arguments)]
    fn judge(
        py: Python<'_>,
        model: String,
        base_url: Option<String>,
        provider: Option<String>,
        api_key: Option<String>,
        pass_threshold: f64,
        max_tokens: u32,
        timeout: Option<f64>,
        endpoint: Option<PyRef<'_, NativeEndpoint>>,
    ) -> PyResult<Self> {
        let own = OwnEndpoint { provider, api_key, timeout, ..Default::default() };
        let ep = endpoint_for(py, base_url, endpoint, own)?;
        Ok(NativeScorer {
            scorer: Arc::new(JudgeScorer::new(ep, model).pass_threshold(pass_threshold).max_tokens(max_tokens)),
        })
    }

    /// The check name.
    #[getter]
    fn name(&self) -> String {
        self.scorer.name().to_owned()
    }

    fn __repr__(&self) -> String {
        format!("NativeScorer(name={:?})", self.scorer.name())
    }
}
