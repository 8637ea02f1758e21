//! [`AgentFactory`]: builds councils of LLM agents from [`Config`].

use std::sync::Arc;

use crate::agent::Agent;
use crate::agent_kind::AgentKind;
use crate::config::{AgentEntry, Config};
use crate::council::{agent_id, AgentMeta, CouncilRegistry, CouncilSettings, Member};
use crate::error::Error;
use crate::llm::{Endpoint, EndpointConfig, EndpointPool, JudgeScorer, LlmAgent, LlmAgentConfig, LlmArchitect};
use crate::store::AgentSpec;

/// Builds agents and councils from configuration. Owns an [`EndpointPool`]: one [`Endpoint`]
/// per configured endpoint name, shared by every agent the factory builds on it.
#[derive(Debug, Clone)]
pub struct AgentFactory {
    config: Config,
    endpoints: EndpointPool,
}

/// The name of the `llm:` endpoint.
pub const DEFAULT_ENDPOINT: &str = "default";

/// Temperatures spread around `base` for `n` agents: `base + (i - (n-1)/2) * spread`, within 0..=2.
pub(crate) fn spread_temperatures(base: f32, spread: f32, n: usize) -> Vec<f32> {
    let mid = (n as f32 - 1.0) / 2.0;
    (0..n).map(|i| (base + (i as f32 - mid) * spread).clamp(0.0, 2.0)).collect()
}

impl AgentFactory {
    /// A factory over `config`.
    pub fn new(config: Config) -> Self {
        AgentFactory { config, endpoints: EndpointPool::new() }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `llm.base_url` and `llm.model` are both set.
    pub fn llm_configured(&self) -> bool {
        !self.config.llm.endpoint.base_url.trim().is_empty() && !self.config.llm.model.trim().is_empty()
    }

    /// The endpoint an agent refers to: `""` or `default` is the `llm:` endpoint; otherwise the
    /// name of an `endpoints:` entry, or exactly the base URL of a configured endpoint. Returns
    /// its name, its settings (with its own key only) and the models allowed on it. Any other
    /// URL is refused: a key never goes to a host the operator did not name.
    pub fn resolve_endpoint(&self, reference: &str) -> Result<(String, EndpointConfig, Vec<String>), Error> {
        let r = reference.trim();
        let llm = &self.config.llm;
        let default = || {
            let mut models = vec![llm.model.clone()];
            models.extend(llm.models.iter().cloned());
            models.retain(|m| !m.trim().is_empty());
            (DEFAULT_ENDPOINT.to_owned(), llm.endpoint.clone(), models)
        };
        let named = |name: &str, e: &crate::config::NamedEndpoint| {
            let cfg = EndpointConfig {
                base_url: e.base_url.clone(),
                provider: e.provider,
                api_key: e.api_key.clone(),
                ..llm.endpoint.clone()
            };
            (name.to_owned(), cfg, e.models.clone())
        };
        let found = if r.is_empty() || r == DEFAULT_ENDPOINT {
            if llm.endpoint.base_url.trim().is_empty() {
                return Err(Error::invalid("endpoint", "no endpoint given and llm.base_url (LLM_BASE_URL) is not set"));
            }
            Some(default())
        } else if let Some(e) = self.config.endpoints.get(r) {
            Some(named(r, e))
        } else {
            let base = EndpointConfig::openai(r).normalized_base();
            if !llm.endpoint.base_url.trim().is_empty() && llm.endpoint.normalized_base() == base {
                Some(default())
            } else {
                self.config
                    .endpoints
                    .iter()
                    .find(|(_, e)| EndpointConfig::openai(e.base_url.clone()).normalized_base() == base)
                    .map(|(n, e)| named(n, e))
            }
        };
        found.ok_or_else(|| {
            let mut names: Vec<&str> = self.config.endpoints.keys().map(String::as_str).collect();
            if !llm.endpoint.base_url.trim().is_empty() {
                names.insert(0, DEFAULT_ENDPOINT);
            }
            Error::invalid(
                "endpoint",
                format!(
                    "is not a configured endpoint; name one of [{}] (see endpoints: in the config)",
                    names.join(", ")
                ),
            )
        })
    }

    /// Whether the circuit of the endpoint called `name` is open now (`None`: not built yet).
    pub fn circuit_open(&self, name: &str) -> Option<bool> {
        self.endpoints.get(name).map(|e| e.circuit_open())
    }

    /// The factory's endpoints.
    pub fn endpoints(&self) -> &EndpointPool {
        &self.endpoints
    }

    /// The shared endpoint called `name` (see [`AgentFactory::resolve_endpoint`]).
    fn endpoint(&self, name: &str, cfg: EndpointConfig) -> Result<Arc<Endpoint>, Error> {
        self.endpoints.get_or_build(name, cfg)
    }

    /// Specs of the LLM agents for `role`: the `agents.<ROLE>` entries if configured (and `n` is
    /// 0), else `n` agents (0: the configured default) on the `llm:` defaults with spread
    /// temperatures. `model_override` replaces the model of every agent.
    pub fn llm_specs(&self, role: &str, n: usize, model_override: Option<&str>) -> Vec<AgentSpec> {
        let role = role.to_ascii_uppercase();
        let llm = &self.config.llm;
        let entries: Vec<AgentEntry> = match self.config.agents.get(&role) {
            Some(list) if !list.is_empty() && n == 0 => list.clone(),
            _ => {
                let n = if n == 0 { self.config.orchestration.default_num_agents } else { n };
                vec![AgentEntry::default(); n]
            }
        };
        let temps = spread_temperatures(llm.temperature, llm.temperature_spread, entries.len());
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let model = model_override
                    .filter(|m| !m.trim().is_empty())
                    .map(str::to_owned)
                    .or_else(|| e.model.clone())
                    .unwrap_or_else(|| llm.model.clone());
                AgentSpec {
                    id: e.id.clone().unwrap_or_else(|| agent_id(&role, i + 1)),
                    kind: e.kind.unwrap_or_default(),
                    model,
                    endpoint: e.endpoint.clone().unwrap_or_default(),
                    registered: false,
                    temperature: e.temperature.unwrap_or(temps[i]),
                    max_tokens: e.max_tokens.unwrap_or(llm.max_tokens),
                    latency_ms: e.latency_ms.unwrap_or(0),
                    meta: AgentMeta::default(),
                }
            })
            .collect()
    }

    /// Build a council member from its spec (`llm` or `scripted`).
    pub fn member(&self, role: &str, spec: &AgentSpec) -> Result<Member, Error> {
        let role = role.to_ascii_uppercase();
        match spec.kind {
            AgentKind::Scripted => {
                if !self.config.allow_test_agents {
                    return Err(Error::PermissionDenied {
                        message: "scripted test agents are off on this server (a development switch: \
                                  ORCHESTRATOR_ALLOW_TEST_AGENTS=1 or serve --allow-test-agents)"
                            .into(),
                    });
                }
                #[cfg(feature = "testing")]
                {
                    let agent = crate::testing::ScriptedAgent::new(spec.id.clone(), role)
                        .latency(std::time::Duration::from_millis(spec.latency_ms));
                    let mut meta = spec.meta.clone();
                    if meta.model_profile.is_empty() {
                        meta.model_profile = "scripted".into();
                    }
                    if meta.supported_tasks.is_empty() {
                        meta.supported_tasks = vec!["generate".into(), "critique".into(), "revise".into()];
                    }
                    Ok(Member { agent: Arc::new(agent) as Arc<dyn Agent>, meta })
                }
                #[cfg(not(feature = "testing"))]
                Err(Error::invalid("agent.kind", "scripted agents need the `testing` feature"))
            }
            AgentKind::Llm => {
                let (name, ep_cfg, models) = self.resolve_endpoint(&spec.endpoint)?;
                let model = if spec.model.is_empty() { self.config.llm.model.clone() } else { spec.model.clone() };
                if !models.contains(&model) {
                    return Err(Error::invalid(
                        "model",
                        format!("{model:?} is not on the model list of endpoint {name:?} ({})", models.join(", ")),
                    ));
                }
                let endpoint = self.endpoint(&name, ep_cfg)?;
                let cfg = LlmAgentConfig {
                    id: spec.id.clone(),
                    role,
                    model,
                    temperature: spec.temperature,
                    max_tokens: if spec.max_tokens == 0 { self.config.llm.max_tokens } else { spec.max_tokens },
                    api: self.config.llm.api,
                };
                let mut meta = spec.meta.clone();
                if meta.model_profile.is_empty() {
                    meta.model_profile = cfg.model.clone();
                }
                if meta.supported_tasks.is_empty() {
                    meta.supported_tasks = vec!["generate".into(), "critique".into(), "revise".into()];
                }
                if meta.max_concurrent_tasks == 0 {
                    meta.max_concurrent_tasks = endpoint.config().max_in_flight as u32;
                }
                // The endpoint's name, never its URL: the URL may be internal.
                meta.endpoint = name;
                meta.metadata.insert("temperature".to_owned(), format!("{:.2}", cfg.temperature));
                Ok(Member { agent: Arc::new(LlmAgent::new(cfg, endpoint)?) as Arc<dyn Agent>, meta })
            }
        }
    }

    /// A member registered by a client (RegisterAgent). LLM agents need `remote_agents: true`
    /// and a configured endpoint and listed model; the rules of [`AgentFactory::member`] apply.
    pub fn registered_member(&self, role: &str, spec: &AgentSpec) -> Result<Member, Error> {
        if spec.kind == AgentKind::Llm && !self.config.remote_agents {
            return Err(Error::PermissionDenied {
                message: "this server does not accept client-registered LLM agents \
                          (remote_agents: true or ORCHESTRATOR_ALLOW_REMOTE_AGENTS=1 allows them)"
                    .into(),
            });
        }
        self.member(role, spec)
    }

    /// Rebuild a stored member: a client-registered one goes through
    /// [`AgentFactory::registered_member`] again, so a changed config can refuse it.
    pub fn stored_member(&self, role: &str, spec: &AgentSpec) -> Result<Member, Error> {
        if spec.registered {
            self.registered_member(role, spec)
        } else {
            self.member(role, spec)
        }
    }

    /// Agent specs for a new council of `n` agents of `settings.agent_type` (CreateCouncil):
    /// scripted agents take `custom_params.latency_ms`; LLM agents need an LLM configured and use
    /// `settings.model_profile` when set.
    pub fn council_specs(&self, role: &str, n: usize, settings: &CouncilSettings) -> Result<Vec<AgentSpec>, Error> {
        match settings.agent_type {
            AgentKind::Scripted => {
                let latency_ms = match settings.custom_params.get("latency_ms") {
                    Some(v) => v.parse().map_err(|_| {
                        Error::invalid(
                            "config.custom_params.latency_ms",
                            format!("{v:?} is not a number of milliseconds"),
                        )
                    })?,
                    None => 0,
                };
                Ok((1..=n)
                    .map(|i| AgentSpec {
                        id: agent_id(role, i),
                        kind: AgentKind::Scripted,
                        latency_ms,
                        ..Default::default()
                    })
                    .collect())
            }
            AgentKind::Llm => {
                if !self.llm_configured() {
                    return Err(Error::invalid(
                        "config.agent_type",
                        "no LLM is configured (set LLM_BASE_URL and LLM_MODEL, or llm: in the config); \
                         use agent_type \"scripted\" for built-in test agents",
                    ));
                }
                let model = Some(settings.model_profile.as_str()).filter(|m| !m.is_empty());
                Ok(self.llm_specs(role, n, model))
            }
        }
    }

    /// LLM agents for `role` (see [`AgentFactory::llm_specs`]).
    pub fn llm_agents(&self, role: &str, n: usize, model_override: Option<&str>) -> Result<Vec<Member>, Error> {
        self.llm_specs(role, n, model_override).iter().map(|s| self.member(role, s)).collect()
    }

    /// A registry with the configured roles and, when an LLM is configured (or `agents:` lists
    /// agents for a role), one council per role.
    pub fn registry(&self) -> Result<CouncilRegistry, Error> {
        let o = &self.config.orchestration;
        let settings = CouncilSettings {
            rounds: o.default_rounds,
            model_profile: self.config.llm.model.clone(),
            agent_type: AgentKind::Llm,
            ..Default::default()
        };
        let reg = CouncilRegistry::with_roles(o.roles.clone(), settings.clone());
        for role in reg.roles().to_vec() {
            let listed = self.config.agents.get(&role).is_some_and(|l| !l.is_empty());
            if listed || self.llm_configured() {
                let members = self.llm_agents(&role, 0, None)?;
                reg.create_council(&role, members, settings.clone())?;
            }
        }
        for role in self.config.agents.keys() {
            reg.role(role).map_err(|_| {
                Error::invalid(format!("agents.{role}"), format!("unknown role; roles are: {}", reg.roles().join(", ")))
            })?;
        }
        Ok(reg)
    }

    /// The judge scorer on the default endpoint, if `llm.judge` is on.
    pub fn judge(&self) -> Result<Option<JudgeScorer>, Error> {
        if !(self.config.llm.judge && self.llm_configured()) {
            return Ok(None);
        }
        let (name, cfg, _) = self.resolve_endpoint(DEFAULT_ENDPOINT)?;
        Ok(Some(JudgeScorer::new(self.endpoint(&name, cfg)?, self.config.llm.model.clone())))
    }

    /// The LLM architect on the default endpoint, if `llm.architect` is on.
    pub fn architect(&self) -> Result<Option<LlmArchitect>, Error> {
        if !(self.config.llm.architect && self.llm_configured()) {
            return Ok(None);
        }
        let (name, cfg, _) = self.resolve_endpoint(DEFAULT_ENDPOINT)?;
        Ok(Some(LlmArchitect::new(self.endpoint(&name, cfg)?, self.config.llm.model.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperatures_are_spread_for_diversity() {
        assert_eq!(
            spread_temperatures(0.7, 0.2, 3).iter().map(|t| (t * 10.0).round() as i32).collect::<Vec<_>>(),
            vec![5, 7, 9]
        );
        assert_eq!(spread_temperatures(0.0, 0.2, 3)[0], 0.0, "clamped at 0");
    }
}
