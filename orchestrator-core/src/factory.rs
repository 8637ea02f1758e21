//! [`AgentFactory`]: builds councils of LLM agents from [`Config`].

use std::sync::Arc;

use crate::agent::Agent;
use crate::config::{AgentEntry, Config};
use crate::council::{agent_id, AgentMeta, CouncilRegistry, CouncilSettings, Member};
use crate::error::Error;
use crate::llm::{Endpoint, EndpointConfig, JudgeScorer, LlmAgent, LlmAgentConfig, LlmArchitect};

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
                let var = match p {
                    crate::llm::Provider::Openai => "OPENAI_API_KEY",
                    crate::llm::Provider::Anthropic => "ANTHROPIC_API_KEY",
                };
                if let Ok(k) = std::env::var(var) {
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

    /// LLM agents for `role`: the `agents.<ROLE>` entries if configured, else `n` agents (0: the
    /// configured default) on the `llm:` defaults with spread temperatures.
    pub fn llm_agents(&self, role: &str, n: usize, model_override: Option<&str>) -> Result<Vec<Member>, Error> {
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
        let mut members = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let endpoint = self.endpoint_for(e)?;
            let model = model_override
                .filter(|m| !m.trim().is_empty())
                .map(str::to_owned)
                .or_else(|| e.model.clone())
                .unwrap_or_else(|| llm.model.clone());
            let cfg = LlmAgentConfig {
                id: e.id.clone().unwrap_or_else(|| agent_id(&role, i + 1)),
                role: role.clone(),
                model: model.clone(),
                temperature: e.temperature.unwrap_or(temps[i]),
                max_tokens: e.max_tokens.unwrap_or(llm.max_tokens),
            };
            let meta = AgentMeta {
                supported_tasks: vec!["generate".into(), "critique".into(), "revise".into()],
                model_profile: model,
                max_concurrent_tasks: endpoint.config().max_in_flight as u32,
                languages: Vec::new(),
                endpoint: endpoint.config().normalized_base(),
                metadata: [("temperature".to_owned(), format!("{:.2}", cfg.temperature))].into_iter().collect(),
            };
            members.push(Member { agent: Arc::new(LlmAgent::new(cfg, endpoint)?) as Arc<dyn Agent>, meta });
        }
        Ok(members)
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
