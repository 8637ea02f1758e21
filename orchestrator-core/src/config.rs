//! Configuration in the shape of the service's ConfigMap (`config.yaml`), overlaid by
//! environment variables. Every key is documented in `docs/CONFIG.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::council::DEFAULT_ROLES;
use crate::error::Error;
use crate::limits::Limits;
use crate::llm::{EndpointConfig, Provider, Secret};

/// `orchestration:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrchestrationConfig {
    /// Rounds when a request says 0.
    pub default_rounds: u32,
    /// Agents per role created from the `llm:` defaults (`NUM_AGENTS_PER_ROLE`).
    pub default_num_agents: usize,
    /// Roles served.
    pub roles: Vec<String>,
    /// Per agent call timeout, seconds (0: none).
    pub call_timeout_seconds: f64,
    /// Deadline of a deliberation when the request sets none, seconds (0: none).
    pub default_deadline_seconds: f64,
    /// Candidates the architect chooses among.
    pub architect_top_k: usize,
    /// Minimum surviving proposals.
    pub quorum: usize,
    /// Input limits, and the per-deliberation call and token ceilings.
    pub limits: Limits,
    /// Strategy when a request names none.
    pub default_strategy: crate::strategy::Strategy,
    /// Budget when a request sets none (each `None`: the ceiling in `limits`).
    pub default_budget: crate::budget::Budget,
}

impl Default for OrchestrationConfig {
    fn default() -> Self {
        OrchestrationConfig {
            default_rounds: 1,
            default_num_agents: 3,
            roles: DEFAULT_ROLES.iter().map(|r| r.to_string()).collect(),
            call_timeout_seconds: 120.0,
            default_deadline_seconds: 600.0,
            architect_top_k: 3,
            quorum: 1,
            limits: Limits::default(),
            default_strategy: crate::strategy::Strategy::Deliberate,
            default_budget: crate::budget::Budget::default(),
        }
    }
}

/// `llm:`: the default endpoint and model for generated councils.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmDefaults {
    /// Endpoint settings (`LLM_BASE_URL`, `LLM_PROVIDER`, keys).
    #[serde(flatten)]
    pub endpoint: EndpointConfig,
    /// Model (`LLM_MODEL`); empty means no LLM councils are created.
    pub model: String,
    /// Further models agents may use on this (the `default`) endpoint, besides `model`.
    pub models: Vec<String>,
    /// Base temperature (`LLM_TEMPERATURE`); agents of a council get spread temperatures around it.
    pub temperature: f32,
    /// Spread between agents' temperatures.
    pub temperature_spread: f32,
    /// Max tokens per reply (`LLM_MAX_TOKENS`).
    pub max_tokens: u32,
    /// Use an LLM judge scorer in every deliberation.
    pub judge: bool,
    /// Use an LLM architect for Orchestrate.
    pub architect: bool,
    /// `chat` (instruction-tuned models) or `completions` (base and code models over
    /// `/v1/completions`; `LLM_API`).
    pub api: crate::llm::Api,
}

impl Default for LlmDefaults {
    fn default() -> Self {
        LlmDefaults {
            endpoint: EndpointConfig { base_url: String::new(), ..Default::default() },
            model: String::new(),
            models: Vec::new(),
            temperature: 0.7,
            temperature_spread: 0.2,
            max_tokens: 512,
            judge: false,
            architect: false,
            api: crate::llm::Api::Chat,
        }
    }
}

/// One entry of `agents.<ROLE>:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentEntry {
    /// `llm` (default) or `scripted` (a built-in test agent, asked for by name).
    pub kind: Option<crate::AgentKind>,
    /// Simulated latency of a scripted agent, ms.
    pub latency_ms: Option<u64>,
    /// Agent id (default `agent-<role>-NNN`).
    pub id: Option<String>,
    /// A named endpoint (`endpoints:`), or the exact base URL of one; default: the `llm:`
    /// endpoint (named `default`). A key goes only to the endpoint that names it.
    pub endpoint: Option<String>,
    /// Model (default: `llm.model`).
    pub model: Option<String>,
    /// Temperature (default: spread around `llm.temperature`).
    pub temperature: Option<f32>,
    /// Max tokens (default: `llm.max_tokens`).
    pub max_tokens: Option<u32>,
}

/// One entry of `endpoints.<name>:`: an LLM endpoint agents may refer to by name (or by this
/// exact base URL). Its key is read from `api_key_env` and sent to this endpoint only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedEndpoint {
    /// Base URL (`https://vllm.internal:8000`).
    pub base_url: String,
    /// API flavour.
    pub provider: Provider,
    /// Environment variable holding this endpoint's key (empty: no key).
    pub api_key_env: String,
    /// Models agents may use on this endpoint; a model not listed is refused.
    pub models: Vec<String>,
    /// The key, read from `api_key_env` by [`Config::apply_env`]; never serialized.
    #[serde(skip)]
    pub api_key: Secret,
}

/// `storage:`.
/// The engine's configuration: orchestration defaults and limits, LLM endpoints and models,
/// configured councils, verification. (The service adds its own sections around it.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `orchestration:`.
    pub orchestration: OrchestrationConfig,
    /// `llm:`.
    pub llm: LlmDefaults,
    /// `agents:` per role.
    pub agents: BTreeMap<String, Vec<AgentEntry>>,
    /// `endpoints:`: named LLM endpoints besides the `llm:` one (which is named `default`).
    pub endpoints: BTreeMap<String, NamedEndpoint>,
    /// Allow built-in scripted test agents (councils of `agent_type: scripted`, RegisterAgent
    /// with `agent_type=scripted`, `kind: scripted` in `agents:`). A development switch, off by
    /// default (`ORCHESTRATOR_ALLOW_TEST_AGENTS=1`, `serve --allow-test-agents`).
    pub allow_test_agents: bool,
    /// Let clients register LLM agents (RegisterAgent) on a named endpoint and a listed model
    /// (`ORCHESTRATOR_ALLOW_REMOTE_AGENTS=1`). Off by default.
    pub remote_agents: bool,
    /// `verify:`: the sandbox, runners for other languages, peer tests.
    pub verify: crate::verify::VerifyConfig,
}

impl Config {
    /// Parse YAML.
    pub fn from_yaml(text: &str) -> Result<Self, Error> {
        parse_config_yaml(text)
    }

    /// Read a YAML file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, Error> {
        read_config_yaml(path)
    }

    /// Overlay environment variables (see `docs/CONFIG.md`) using `get` to read them.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, Error> {
            v.trim().parse().map_err(|_| Error::invalid(name, format!("cannot parse {v:?}")))
        }
        if let Some(v) = get("LLM_BASE_URL") {
            self.llm.endpoint.base_url = v;
        }
        if let Some(v) = get("LLM_PROVIDER") {
            self.llm.endpoint.provider = v.parse()?;
        }
        if let Some(v) = get("LLM_MODEL") {
            self.llm.model = v;
        }
        if let Some(v) = get("LLM_API") {
            self.llm.api =
                v.parse().map_err(|_| Error::invalid("LLM_API", format!("{v:?} is not one of: chat, completions")))?;
        }
        if let Some(v) = get("LLM_TEMPERATURE") {
            self.llm.temperature = parse("LLM_TEMPERATURE", &v)?;
        }
        if let Some(v) = get("LLM_MAX_TOKENS") {
            self.llm.max_tokens = parse("LLM_MAX_TOKENS", &v)?;
        }
        if let Some(v) = get("LLM_TIMEOUT_SECONDS") {
            self.llm.endpoint.timeout = std::time::Duration::from_secs_f64(parse("LLM_TIMEOUT_SECONDS", &v)?);
        }
        if let Some(v) = get("NUM_AGENTS_PER_ROLE") {
            self.orchestration.default_num_agents = parse("NUM_AGENTS_PER_ROLE", &v)?;
        }
        if let Some(v) = get("ORCHESTRATOR_SANDBOX") {
            self.verify.sandbox.mode = match v.trim() {
                "bubblewrap" | "bwrap" => crate::verify::SandboxMode::Bubblewrap,
                "rlimits-only" => crate::verify::SandboxMode::RlimitsOnly,
                other => {
                    return Err(Error::invalid(
                        "ORCHESTRATOR_SANDBOX",
                        format!("{other:?} is not one of: bubblewrap, rlimits-only"),
                    ))
                }
            };
        }
        if let Some(v) = get("ORCHESTRATOR_ALLOW_TEST_AGENTS") {
            self.allow_test_agents = parse_flag("ORCHESTRATOR_ALLOW_TEST_AGENTS", &v)?;
        }
        if let Some(v) = get("ORCHESTRATOR_ALLOW_REMOTE_AGENTS") {
            self.remote_agents = parse_flag("ORCHESTRATOR_ALLOW_REMOTE_AGENTS", &v)?;
        }
        if self.llm.endpoint.api_key.is_empty() {
            if let Some(k) = get(self.llm.endpoint.provider.api_key_env()) {
                self.llm.endpoint.api_key = Secret::new(k);
            }
        }
        for (name, e) in &mut self.endpoints {
            if e.api_key_env.trim().is_empty() {
                continue;
            }
            match get(e.api_key_env.trim()) {
                Some(k) => e.api_key = Secret::new(k),
                None => {
                    return Err(Error::invalid(
                        format!("endpoints.{name}.api_key_env"),
                        format!("names {:?}, which is not set", e.api_key_env),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Check the configuration: every error names the key and the limit.
    pub fn validate(&self) -> Result<(), Error> {
        let day = 24.0 * 3600.0;
        let o = &self.orchestration;
        for (key, v) in [
            ("orchestration.call_timeout_seconds", o.call_timeout_seconds),
            ("orchestration.default_deadline_seconds", o.default_deadline_seconds),
        ] {
            if !(v.is_finite() && (0.0..=day * 366.0).contains(&v)) {
                return Err(Error::invalid(key, format!("is {v}; it must be 0 to {} (a year)", day * 366.0)));
            }
        }
        if !self.llm.endpoint.base_url.trim().is_empty() {
            self.llm.endpoint.validate().map_err(|e| match e {
                Error::InvalidInput { field, message } => {
                    Error::invalid(format!("llm.{}", field.trim_start_matches("endpoint.")), message)
                }
                other => other,
            })?;
        }
        for (name, e) in &self.endpoints {
            let cfg = EndpointConfig { base_url: e.base_url.clone(), ..self.llm.endpoint.clone() };
            cfg.validate().map_err(|err| Error::invalid(format!("endpoints.{name}.base_url"), err.to_string()))?;
            if e.models.is_empty() {
                return Err(Error::invalid(format!("endpoints.{name}.models"), "lists no model; agents need one"));
            }
        }
        if o.limits.max_agents == 0 || o.limits.max_rounds > 100 || o.limits.max_agents > 1024 {
            return Err(Error::invalid(
                "orchestration.limits",
                "max_agents must be 1 to 1024 and max_rounds at most 100",
            ));
        }
        Ok(())
    }

    /// Overlay the process environment.
    pub fn apply_process_env(&mut self) -> Result<(), Error> {
        self.apply_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }
}

/// A boolean environment value: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`.
pub(crate) fn parse_flag(name: &str, v: &str) -> Result<bool, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(Error::invalid(name, format!("{other:?} is not one of: 1, 0, true, false"))),
    }
}

/// Parse a YAML config document: the engine's [`Config`], or a server's config that flattens it.
pub fn parse_config_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_yaml_ng::from_str(text).map_err(|e| Error::invalid("config", format!("invalid YAML: {e}")))
}

/// Read a YAML config file (see [`parse_config_yaml`]).
pub fn read_config_yaml<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid("config", format!("cannot read {}: {e}", path.display())))?;
    parse_config_yaml(&text)
}
