//! Built-in Rust agents and scorers, usable from Python by name and config.

use std::sync::Arc;
use std::time::Duration;

use orchestrator_core::llm::{Endpoint, EndpointConfig, JudgeScorer, LlmAgent, LlmAgentConfig, Provider, Secret};
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

#[allow(clippy::too_many_arguments)]
fn endpoint(
    py: Python<'_>,
    base_url: String,
    provider: &str,
    api_key: Option<String>,
    timeout: f64,
    max_attempts: u32,
    requests_per_minute: u32,
    max_in_flight: usize,
) -> PyResult<Arc<Endpoint>> {
    let provider: Provider = provider.parse().map_err(|e| to_py(py, e))?;
    let key = api_key.or_else(|| std::env::var(provider.api_key_env()).ok());
    let cfg = EndpointConfig {
        base_url,
        provider,
        api_key: Secret::new(key.unwrap_or_default()),
        timeout: positive_seconds(py, "timeout", timeout)?,
        max_attempts,
        requests_per_minute,
        max_in_flight,
        ..Default::default()
    };
    // Each native agent has its own endpoint, so its own timeout and limits hold.
    Endpoint::new(cfg).map(Arc::new).map_err(|e| to_py(py, e))
}

#[pymethods]
impl NativeAgent {
    /// An LLM agent on an OpenAI-compatible or Anthropic endpoint.
    #[staticmethod]
    #[pyo3(signature = (agent_id, model, base_url, role = "DEV", provider = "openai",
        temperature = 0.7, max_tokens = 512, api_key = None, timeout = 120.0, max_attempts = 3,
        requests_per_minute = 0, max_in_flight = 16))]
    #[allow(clippy::too_many_arguments)]
    fn llm(
        py: Python<'_>,
        agent_id: String,
        model: String,
        base_url: String,
        role: &str,
        provider: &str,
        temperature: f32,
        max_tokens: u32,
        api_key: Option<String>,
        timeout: f64,
        max_attempts: u32,
        requests_per_minute: u32,
        max_in_flight: usize,
    ) -> PyResult<Self> {
        let ep = endpoint(py, base_url, provider, api_key, timeout, max_attempts, requests_per_minute, max_in_flight)?;
        let agent =
            LlmAgent::new(LlmAgentConfig { id: agent_id, role: role.to_owned(), model, temperature, max_tokens }, ep)
                .map_err(|e| to_py(py, e))?;
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

    /// An LLM judge grading against the rubric and requirements in strict JSON.
    #[staticmethod]
    #[pyo3(signature = (model, base_url, provider = "openai", api_key = None, pass_threshold = 0.7,
        max_tokens = 128, timeout = 120.0))]
    #[allow(clippy::too_many_arguments)]
    fn judge(
        py: Python<'_>,
        model: String,
        base_url: String,
        provider: &str,
        api_key: Option<String>,
        pass_threshold: f64,
        max_tokens: u32,
        timeout: f64,
    ) -> PyResult<Self> {
        let ep = endpoint(py, base_url, provider, api_key, timeout, 3, 0, 16)?;
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
