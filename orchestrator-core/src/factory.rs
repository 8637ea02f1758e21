//! [`AgentFactory`]: builds councils of LLM agents from [`Config`].

use std::sync::Arc;

use crate::agent::Agent;
use crate::config::{AgentEntry, Config};
use crate::council::{agent_id, AgentMeta, CouncilRegistry, CouncilSettings, Member};
use crate::error::Error;
use crate::llm::{Endpoint, EndpointConfig, JudgeScorer, LlmAgent, LlmAgentConfig, LlmArchitect};
use crate::store::AgentSpec;

/// Builds agents and councils from configuration.
#[derive(Debug, Clone)]
pub struct AgentFactory {
    config: Config,
}

/// Temperatures spread around `base` for `n` agents: `base + (i - (n-1)/2) * spread`, within 0..=2.
pub fn spread_temperatures(base: f32, spread: f32, n: usize) -> Vec<f32> {
    let mid = (n as f32 - 1.0) / 2.0;
    (0..n).map(|i| (base + (i as f32 - mid) * spread).clamp(0.0, 2.0)).collect()
}

impl AgentFactory {
    /// A factory over `config`.
    pub fn new(config: Config) -> Self {
        AgentFactory { config }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `llm.base_url` and `llm.model` are both set.
    pub fn llm_configured(&self) -> bool {
        !self.config.llm.endpoint.base_url.trim().is_empty() && !self.config.llm.model.trim().is_empty()
    }

    fn endpoint_for(&self, entry: &AgentEntry) -> Result<Arc<Endpoint>, Error> {
        let d = &self.config.llm.endpoint;
        let mut cfg: EndpointConfig = d.clone();
        if let Some(url) = &entry.endpoint {
            cfg.base_url = url.clone();
        }
        if let Some(p) = entry.provider {
            cfg.provider = p;
            if p != d.provider {
                cfg.api_key = Default::default();
                if let Ok(k) = std::env::var(p.api_key_env()) {
                    cfg.api_key = crate::llm::Secret::new(k);
                }
            }
        }
        if cfg.base_url.trim().is_empty() {
            return Err(Error::invalid(
                "agents[].endpoint",
                "no endpoint given and llm.base_url (LLM_BASE_URL) is not set",
            ));
        }
        Endpoint::shared(cfg)
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
                    kind: e.kind.clone().unwrap_or_else(|| "llm".into()),
                    model,
                    base_url: e.endpoint.clone().unwrap_or_default(),
                    provider: e.provider,
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
        match spec.kind.as_str() {
            "scripted" => {
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
            "llm" | "" => {
                let endpoint = self.endpoint_for(&AgentEntry {
                    endpoint: Some(spec.base_url.clone()).filter(|u| !u.is_empty()),
                    provider: spec.provider,
                    ..Default::default()
                })?;
                let cfg = LlmAgentConfig {
                    id: spec.id.clone(),
                    role,
                    model: if spec.model.is_empty() { self.config.llm.model.clone() } else { spec.model.clone() },
                    temperature: spec.temperature,
                    max_tokens: if spec.max_tokens == 0 { self.config.llm.max_tokens } else { spec.max_tokens },
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
                if meta.endpoint.is_empty() {
                    meta.endpoint = endpoint.config().normalized_base();
                }
                meta.metadata.insert("temperature".to_owned(), format!("{:.2}", cfg.temperature));
                Ok(Member { agent: Arc::new(LlmAgent::new(cfg, endpoint)?) as Arc<dyn Agent>, meta })
            }
            other => Err(Error::invalid("agent.kind", format!("{other:?} is not one of: llm, scripted"))),
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
            agent_type: "llm".into(),
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
        Ok(Some(JudgeScorer::new(Endpoint::shared(self.config.llm.endpoint.clone())?, self.config.llm.model.clone())))
    }

    /// The LLM architect on the default endpoint, if `llm.architect` is on.
    pub fn architect(&self) -> Result<Option<LlmArchitect>, Error> {
        if !(self.config.llm.architect && self.llm_configured()) {
            return Ok(None);
        }
        Ok(Some(LlmArchitect::new(Endpoint::shared(self.config.llm.endpoint.clone())?, self.config.llm.model.clone())))
    }
}
