//! [`Orchestrator`]: the configured engine behind every interface. It turns requests into
//! deliberations (defaults, limits, deadlines, the configured scorers and verifier) and owns the
//! council lifecycle, persisted through a [`Store`]. The gRPC handlers and the Python
//! `Orchestrator` convert, call one method here, and map errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::agent_kind::AgentKind;
use crate::architect::{orchestrate, Architect, DefaultArchitect, OrchestrationOutcome};
use crate::check::{Scorer, WeightedScorer};
use crate::config::Config;
use crate::council::{council_id, AgentMeta, Council, CouncilRegistry, CouncilSettings, Member};
use crate::deliberation::Deliberation;
use crate::error::Error;
use crate::factory::AgentFactory;
use crate::request::DeliberationRequest;
use crate::scorers::{EchoScorer, PolicyScorer, RequirementsScorer};
use crate::selection::PairwiseJudge;
use crate::store::{AgentSpec, CouncilRecord, Store};
use crate::verify::{Sandbox, SuiteRunner};

/// How a request's deliberation is run, beyond the request itself.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The task id (generated when `None`).
    pub task_id: Option<String>,
    /// Rounds that replace the request's and the council's (an orchestration's options).
    pub rounds: Option<u32>,
    /// How long the caller will wait (gRPC `grpc-timeout`); the deliberation ends a little
    /// before, so the caller gets the deliberation's own deadline error.
    pub client_deadline: Option<Duration>,
}

/// Options of an orchestration: a deliberation followed by architect selection.
#[derive(Debug, Clone)]
pub struct OrchestrateOptions {
    /// Whether peer review runs (false: 0 rounds).
    pub peer_review: bool,
    /// Whether the architect chooses among the top candidates (false: rank 1 wins).
    pub architect_selection: bool,
    /// Review rounds (0: the council's).
    pub rounds: i64,
    /// Candidates the architect sees (`None`: `orchestration.architect_top_k`).
    pub top_k: Option<i64>,
}

impl Default for OrchestrateOptions {
    fn default() -> Self {
        OrchestrateOptions { peer_review: true, architect_selection: true, rounds: 0, top_k: None }
    }
}

/// A council to create.
#[derive(Debug, Clone, Default)]
pub struct CouncilRequest {
    /// The role (case-insensitive; one of the configured roles).
    pub role: String,
    /// Agents (0: `orchestration.default_num_agents`).
    pub num_agents: i64,
    /// `llm` (default) or `scripted`.
    pub agent_type: String,
    /// Review rounds (0: `orchestration.default_rounds`).
    pub rounds: i64,
    /// Whether peer review runs.
    pub peer_review: bool,
    /// Model profile (LLM councils: the model; empty: `llm.model`).
    pub model_profile: String,
    /// Free-form parameters (`latency_ms` for scripted agents, ...).
    pub custom_params: BTreeMap<String, String>,
}

/// An agent to register in a council.
#[derive(Debug, Clone, Default)]
pub struct AgentRegistration {
    /// The role.
    pub role: String,
    /// The agent id (1 to 128 bytes).
    pub agent_id: String,
    /// A configured endpoint's name or exact base URL (LLM agents).
    pub endpoint: String,
    /// `llm` or `scripted`; `None`: `llm`, which needs an endpoint.
    pub agent_type: Option<String>,
    /// The model (empty: `llm.model`); must be on the endpoint's model list.
    pub model: String,
    /// Capabilities and free-form metadata.
    pub meta: AgentMeta,
}

/// A deliberation ready to run as an orchestration.
pub struct Orchestration {
    /// The deliberation.
    pub deliberation: Deliberation,
    architect: Option<Arc<dyn Architect>>,
    top_k: usize,
}

impl std::fmt::Debug for Orchestration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orchestration").field("top_k", &self.top_k).finish_non_exhaustive()
    }
}

impl Orchestration {
    /// Run the deliberation, then the architect's selection (or rank 1 without one).
    pub async fn run(&self) -> Result<OrchestrationOutcome, Error> {
        match &self.architect {
            Some(a) => orchestrate(&self.deliberation, Some(a.as_ref()), self.top_k).await,
            None => orchestrate(&self.deliberation, None, 1).await,
        }
    }
}

/// The configured engine: councils, their persistence, and deliberations built from requests.
pub struct Orchestrator {
    config: Config,
    factory: AgentFactory,
    registry: CouncilRegistry,
    store: Arc<dyn Store>,
    scorers: Vec<WeightedScorer>,
    runner: Arc<SuiteRunner>,
    tie_break_judge: Option<Arc<dyn PairwiseJudge>>,
    architect: Arc<dyn Architect>,
    /// The specs of every council, so a changed council is stored whole.
    specs: Mutex<HashMap<String, CouncilRecord>>,
}

impl std::fmt::Debug for Orchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orchestrator").field("registry", &self.registry).finish_non_exhaustive()
    }
}

impl Orchestrator {
    /// Build from `config` over `store`: the configured councils, then the stored ones (a stored
    /// agent the config no longer allows is dropped, with a warning), the default scorers
    /// (policy, requirements, echo, and the judge when `llm.judge` is on), the sandbox.
    pub async fn open(config: Config, store: Arc<dyn Store>) -> Result<Self, Error> {
        config.validate()?;
        let factory = AgentFactory::new(config.clone());
        let registry = factory.registry()?;
        let mut scorers = vec![
            WeightedScorer { scorer: Arc::new(PolicyScorer::new()), weight: 1.0 },
            WeightedScorer { scorer: Arc::new(RequirementsScorer::new()), weight: 1.0 },
            WeightedScorer { scorer: Arc::new(EchoScorer::new()), weight: 1.0 },
        ];
        let mut tie_break_judge = None;
        if let Some(judge) = factory.judge()? {
            let judge = Arc::new(judge);
            scorers.push(WeightedScorer { scorer: judge.clone() as Arc<dyn Scorer>, weight: 1.0 });
            tie_break_judge = Some(judge as Arc<dyn PairwiseJudge>);
        }
        let sandbox = Arc::new(Sandbox::new(config.verify.sandbox.clone()));
        match sandbox.available().await {
            Ok(()) => tracing::info!(mode = ?config.verify.sandbox.mode, "sandbox ready for test verification"),
            Err(reason) => tracing::warn!(
                %reason,
                "no sandbox available: deliberations with tests will fail their tests check \
                 (install bubblewrap, or set verify.sandbox.mode: rlimits-only explicitly)"
            ),
        }
        let runner = Arc::new(SuiteRunner::new(sandbox, config.verify.runners.clone()));
        let architect: Arc<dyn Architect> = match factory.architect()? {
            Some(a) => Arc::new(a),
            None => Arc::new(DefaultArchitect),
        };
        let mut specs = HashMap::new();
        for c in registry.list(None)? {
            let agents = factory.llm_specs(&c.role, 0, None);
            specs.insert(c.role.clone(), CouncilRecord { role: c.role.clone(), settings: c.settings.clone(), agents });
        }
        let o = Orchestrator {
            config,
            factory,
            registry,
            store,
            scorers,
            runner,
            tie_break_judge,
            architect,
            specs: Mutex::new(specs),
        };
        o.restore_councils().await?;
        Ok(o)
    }

    async fn restore_councils(&self) -> Result<(), Error> {
        for mut rec in self.store.councils().await? {
            let mut members = Vec::with_capacity(rec.agents.len());
            rec.agents.retain(|s| match self.factory.stored_member(&rec.role, s) {
                Ok(m) => {
                    members.push(m);
                    true
                }
                Err(e) => {
                    tracing::warn!(role = %rec.role, agent = %s.id, error = %e, "dropped a stored agent the config does not allow");
                    false
                }
            });
            self.registry.put_council(Council {
                id: council_id(&rec.role),
                role: rec.role.clone(),
                members,
                settings: rec.settings.clone(),
            })?;
            self.lock_specs().insert(rec.role.clone(), rec);
        }
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The agent factory (and its endpoints).
    pub fn factory(&self) -> &AgentFactory {
        &self.factory
    }

    /// The council registry.
    pub fn registry(&self) -> &CouncilRegistry {
        &self.registry
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The deliberation for a request: every value checked against the limits (errors name the
    /// field and the limit), the council's agents, the configured scorers, verifier and judge,
    /// and the deadline: the request's `timeout_seconds`, else `default_deadline_seconds`, never
    /// past the caller's own deadline.
    pub fn deliberation_for(&self, req: &DeliberationRequest, opts: &RunOptions) -> Result<Deliberation, Error> {
        let o = &self.config.orchestration;
        let limits = &o.limits;
        let role = self.registry.role(&req.role)?;
        limits.check_task("task_description", &req.task_description)?;
        limits.check_constraints(&req.constraints)?;
        let rounds = limits.check_rounds("rounds", i64::from(req.rounds))?;
        let num_agents = limits.check_agents("num_agents", i64::from(req.num_agents))?;
        let rounds = opts.rounds.or(if rounds == 0 { None } else { Some(rounds) });
        let mut b = self
            .registry
            .deliberation(&role, num_agents, rounds)?
            .task(req.task_description.clone())
            .constraints(req.constraints.clone())
            .scorers(self.scorers.iter().cloned())
            .verifier(self.runner.clone())
            .peer_tests(self.config.verify.peer_tests)
            .limits(limits.clone());
        if let Some(j) = &self.tie_break_judge {
            b = b.tie_break_judge(j.clone());
        }
        if let Some(id) = &opts.task_id {
            b = b.task_id(id.clone());
        }
        if o.call_timeout_seconds > 0.0 {
            b = b.call_timeout(Duration::from_secs_f64(o.call_timeout_seconds));
        }
        let mut deadline = if req.constraints.timeout_seconds > 0 {
            Some(Duration::from_secs(u64::from(req.constraints.timeout_seconds)))
        } else if o.default_deadline_seconds > 0.0 {
            Some(Duration::from_secs_f64(o.default_deadline_seconds))
        } else {
            None
        };
        if let Some(c) = opts.client_deadline {
            // Finish a little before the caller gives up, so it gets our DEADLINE_EXCEEDED.
            let c = c.saturating_sub((c / 10).min(Duration::from_millis(50))).max(Duration::from_millis(1));
            deadline = Some(deadline.map_or(c, |d| d.min(c)));
        }
        if let Some(d) = deadline {
            b = b.deadline(d);
        }
        b = b.strategy(req.strategy.unwrap_or(o.default_strategy)).budget(limits.check_budget(
            req.max_calls,
            req.max_tokens_total,
            o.default_budget,
        )?);
        let council_size = self.registry.council(&role).map_or(0, |c| c.members.len());
        let n = if num_agents == 0 { council_size } else { num_agents };
        b.quorum(o.quorum.clamp(1, n.max(1))).build()
    }

    /// An orchestration for a request: its deliberation (rounds from the options) and the
    /// configured architect (the LLM one when `llm.architect` is on, else the default).
    pub fn orchestration_for(
        &self,
        req: &DeliberationRequest,
        options: &OrchestrateOptions,
        mut run: RunOptions,
    ) -> Result<Orchestration, Error> {
        let limits = &self.config.orchestration.limits;
        if options.rounds < 0 {
            return Err(Error::invalid(
                "options.deliberation_rounds",
                format!("is {}; it must not be negative", options.rounds),
            ));
        }
        run.rounds = if !options.peer_review {
            Some(0)
        } else if options.rounds > 0 {
            Some(limits.check_rounds("options.deliberation_rounds", options.rounds)?)
        } else {
            None
        };
        let top_k = match options.top_k {
            Some(k) if k >= 1 => k as usize,
            Some(k) => {
                return Err(Error::invalid("options.custom_params.top_k", format!("is {k}; it must be at least 1")))
            }
            None => self.config.orchestration.architect_top_k,
        };
        let deliberation = self.deliberation_for(req, &run)?;
        let architect = options.architect_selection.then(|| self.architect.clone());
        Ok(Orchestration { deliberation, architect, top_k })
    }

    /// Create a council of `num_agents` agents (LLM agents on the `llm:` defaults, or scripted
    /// test agents where the config allows them) and store it.
    pub async fn create_council(&self, req: CouncilRequest) -> Result<Council, Error> {
        let o = &self.config.orchestration;
        let role = self.registry.role(&req.role)?;
        let mut n = o.limits.check_agents("num_agents", req.num_agents)?;
        if n == 0 {
            n = o.default_num_agents;
        }
        let agent_type = AgentKind::parse("config.agent_type", &req.agent_type)?;
        let rounds = o.limits.check_rounds("config.deliberation_rounds", req.rounds)?;
        let settings = CouncilSettings {
            rounds: if rounds == 0 { o.default_rounds } else { rounds },
            peer_review: req.peer_review,
            model_profile: if req.model_profile.is_empty() && agent_type == AgentKind::Llm {
                self.config.llm.model.clone()
            } else {
                req.model_profile
            },
            agent_type,
            custom_params: req.custom_params,
            ..Default::default()
        };
        if self.registry.council(&role).is_some() {
            return Err(Error::AlreadyExists { what: "council", id: council_id(&role) });
        }
        let specs = self.factory.council_specs(&role, n, &settings)?;
        let members = specs.iter().map(|s| self.factory.member(&role, s)).collect::<Result<Vec<Member>, Error>>()?;
        let council = self.registry.create_council(&role, members, settings.clone())?;
        self.persist(CouncilRecord { role, settings, agents: specs }).await?;
        Ok(council)
    }

    /// Delete a council and its stored record.
    pub async fn delete_council(&self, role: &str) -> Result<Council, Error> {
        let c = self.registry.delete_council(role)?;
        self.lock_specs().remove(&c.role);
        self.store.delete_council(&c.role).await?;
        Ok(c)
    }

    /// Register an agent (an LLM agent on a configured endpoint and listed model, where the
    /// config allows client agents; or a scripted test agent where that is allowed), within
    /// `limits.max_agents`, and store the council. Returns the council id.
    pub async fn register_agent(&self, reg: AgentRegistration) -> Result<String, Error> {
        let role = self.registry.role(&reg.role)?;
        let id = reg.agent_id.trim().to_owned();
        if id.is_empty() || id.len() > 128 {
            return Err(Error::invalid("agent_id", "must be 1 to 128 bytes"));
        }
        let kind = match reg.agent_type.as_deref() {
            Some(k) => AgentKind::parse("metadata.agent_type", k)?,
            None if reg.endpoint.is_empty() => {
                return Err(Error::invalid(
                    "endpoint",
                    "an LLM endpoint is required (or metadata agent_type=scripted for a built-in test agent)",
                ))
            }
            None => AgentKind::Llm,
        };
        let spec = AgentSpec {
            id: id.clone(),
            kind,
            model: reg.model,
            endpoint: reg.endpoint,
            registered: true,
            temperature: self.config.llm.temperature,
            max_tokens: self.config.llm.max_tokens,
            latency_ms: 0,
            meta: reg.meta,
        };
        let member = self.factory.registered_member(&role, &spec)?;
        let council_id =
            self.registry.register_agent_within(&role, member, self.config.orchestration.limits.max_agents)?;
        let mut record = self.record_of(&role);
        if let Some(c) = self.registry.council(&role) {
            record.settings = c.settings;
        }
        record.agents.retain(|a| a.id != id);
        record.agents.push(spec);
        self.persist(record).await?;
        Ok(council_id)
    }

    /// Remove an agent from its council and store the council.
    pub async fn unregister_agent(&self, role: &str, agent_id: &str) -> Result<(), Error> {
        let role = self.registry.role(role)?;
        self.registry.unregister_agent(&role, agent_id)?;
        let mut record = self.record_of(&role);
        record.agents.retain(|a| a.id != agent_id);
        self.persist(record).await
    }

    fn lock_specs(&self) -> std::sync::MutexGuard<'_, HashMap<String, CouncilRecord>> {
        self.specs.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn persist(&self, record: CouncilRecord) -> Result<(), Error> {
        self.store.put_council(&record).await?;
        self.lock_specs().insert(record.role.clone(), record);
        Ok(())
    }

    fn record_of(&self, role: &str) -> CouncilRecord {
        self.lock_specs().get(role).cloned().unwrap_or_else(|| CouncilRecord {
            role: role.to_owned(),
            settings: self.registry.default_settings().clone(),
            agents: Vec::new(),
        })
    }
}
