//! Councils: the agents of each role, with the role's default settings.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::agent::Agent;
use crate::deliberation::{Deliberation, DeliberationBuilder};
use crate::error::{Error, Result};
use crate::topology::Topology;

/// The roles every registry knows unless configured otherwise.
pub const DEFAULT_ROLES: [&str; 5] = ["DEV", "QA", "ARCHITECT", "DEVOPS", "DATA"];

/// Default settings of a council.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CouncilSettings {
    /// Review rounds when a request does not say (request value 0).
    pub rounds: u32,
    /// Whether peer review runs at all (false: 0 rounds).
    pub peer_review: bool,
    /// Model profile label (for example the model name).
    pub model_profile: String,
    /// Kind of agent.
    pub agent_type: crate::AgentKind,
    /// Critique topology.
    pub topology: Topology,
    /// Free-form parameters.
    pub custom_params: BTreeMap<String, String>,
}

impl Default for CouncilSettings {
    fn default() -> Self {
        CouncilSettings {
            rounds: 1,
            peer_review: true,
            model_profile: String::new(),
            agent_type: crate::AgentKind::Llm,
            topology: Topology::Ring,
            custom_params: BTreeMap::new(),
        }
    }
}

/// Descriptive data about an agent, for listings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentMeta {
    /// Task kinds the agent supports.
    pub supported_tasks: Vec<String>,
    /// Model or profile name.
    pub model_profile: String,
    /// Most tasks the agent takes at once.
    pub max_concurrent_tasks: u32,
    /// Languages it works in.
    pub languages: Vec<String>,
    /// Endpoint it calls, if any (never includes credentials).
    pub endpoint: String,
    /// Free-form metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A council member: the agent and what is known about it.
#[derive(Clone)]
pub struct Member {
    /// The agent.
    pub agent: Arc<dyn Agent>,
    /// Its description.
    pub meta: AgentMeta,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member").field("id", &self.agent.id()).field("meta", &self.meta).finish()
    }
}

/// A council as stored.
#[derive(Debug, Clone)]
pub struct Council {
    /// `council-<role lowercase>`.
    pub id: String,
    /// Role.
    pub role: String,
    /// Members in order.
    pub members: Vec<Member>,
    /// Defaults.
    pub settings: CouncilSettings,
}

/// The id of the council of `role`.
pub fn council_id(role: &str) -> String {
    format!("council-{}", role.to_ascii_lowercase())
}

/// The id of the `n`-th (1-based) generated agent of `role`: `agent-dev-001`.
pub fn agent_id(role: &str, n: usize) -> String {
    format!("agent-{}-{n:03}", role.to_ascii_lowercase())
}

/// Thread-safe map from role to council.
#[derive(Debug)]
pub struct CouncilRegistry {
    roles: Vec<String>,
    councils: RwLock<HashMap<String, Council>>,
    default_settings: CouncilSettings,
}

impl Default for CouncilRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl CouncilRegistry {
    /// A registry with the default roles and no councils.
    pub fn new() -> Self {
        Self::with_roles(DEFAULT_ROLES.iter().map(|r| r.to_string()).collect(), CouncilSettings::default())
    }

    /// A registry with these roles (upper-cased) and default council settings.
    pub fn with_roles(roles: Vec<String>, default_settings: CouncilSettings) -> Self {
        let mut roles: Vec<String> = roles.into_iter().map(|r| r.trim().to_ascii_uppercase()).collect();
        roles.dedup();
        CouncilRegistry { roles, councils: RwLock::new(HashMap::new()), default_settings }
    }

    /// Known roles.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Default council settings.
    pub fn default_settings(&self) -> &CouncilSettings {
        &self.default_settings
    }

    /// The canonical (upper-case) role, or [`Error::UnknownRole`] / [`Error::InvalidInput`].
    pub fn role(&self, role: &str) -> Result<String> {
        let r = role.trim().to_ascii_uppercase();
        if r.is_empty() {
            return Err(Error::invalid(
                "role",
                format!("must not be empty; valid roles are: {}", self.roles.join(", ")),
            ));
        }
        if self.roles.contains(&r) {
            Ok(r)
        } else {
            Err(Error::UnknownRole { role: role.to_owned(), valid: self.roles.clone() })
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Council>> {
        self.councils.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Council>> {
        self.councils.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Create the council of `role`. Fails with [`Error::AlreadyExists`] if it exists.
    pub fn create_council(&self, role: &str, members: Vec<Member>, settings: CouncilSettings) -> Result<Council> {
        let role = self.role(role)?;
        check_unique(&members)?;
        let mut g = self.write();
        if g.contains_key(&role) {
            return Err(Error::AlreadyExists { what: "council", id: council_id(&role) });
        }
        let council = Council { id: council_id(&role), role: role.clone(), members, settings };
        g.insert(role, council.clone());
        Ok(council)
    }

    /// Insert or replace the council of `role` (used when restoring from a store).
    pub fn put_council(&self, council: Council) -> Result<()> {
        let role = self.role(&council.role)?;
        self.write().insert(role, council);
        Ok(())
    }

    /// Delete the council of `role`; returns how many agents it had.
    pub fn delete_council(&self, role: &str) -> Result<Council> {
        let role = self.role(role)?;
        self.write().remove(&role).ok_or(Error::NotFound { what: "council", id: council_id(&role) })
    }

    /// Add an agent to the council of `role`, creating the council with default settings if needed.
    /// Returns the council id.
    pub fn register_agent(&self, role: &str, member: Member) -> Result<String> {
        self.register_agent_within(role, member, usize::MAX)
    }

    /// [`CouncilRegistry::register_agent`], refused when the council already has `max_agents`
    /// (a bigger council could not deliberate at all).
    pub fn register_agent_within(&self, role: &str, member: Member, max_agents: usize) -> Result<String> {
        let role = self.role(role)?;
        let mut g = self.write();
        let council = g.entry(role.clone()).or_insert_with(|| Council {
            id: council_id(&role),
            role: role.clone(),
            members: Vec::new(),
            settings: self.default_settings.clone(),
        });
        if council.members.iter().any(|m| m.agent.id() == member.agent.id()) {
            return Err(Error::AlreadyExists { what: "agent", id: member.agent.id().to_owned() });
        }
        if council.members.len() >= max_agents {
            return Err(Error::ResourceExhausted {
                message: format!(
                    "the {role} council has {} agents; the limit is {max_agents} (orchestration.limits.max_agents)",
                    council.members.len()
                ),
            });
        }
        council.members.push(member);
        Ok(council.id.clone())
    }

    /// Remove one agent from the council of `role`.
    pub fn unregister_agent(&self, role: &str, agent_id: &str) -> Result<()> {
        let role = self.role(role)?;
        let mut g = self.write();
        let council = g.get_mut(&role).ok_or(Error::NotFound { what: "council", id: council_id(&role) })?;
        let before = council.members.len();
        council.members.retain(|m| m.agent.id() != agent_id);
        if council.members.len() == before {
            return Err(Error::NotFound { what: "agent", id: agent_id.to_owned() });
        }
        Ok(())
    }

    /// The council of `role`, if any.
    pub fn council(&self, role: &str) -> Option<Council> {
        let role = self.role(role).ok()?;
        self.read().get(&role).cloned()
    }

    /// Councils, optionally only the one of `role_filter`, in role order.
    pub fn list(&self, role_filter: Option<&str>) -> Result<Vec<Council>> {
        let filter = match role_filter {
            Some(r) if !r.trim().is_empty() => Some(self.role(r)?),
            _ => None,
        };
        let g = self.read();
        Ok(self
            .roles
            .iter()
            .filter(|r| filter.as_ref().is_none_or(|f| f == *r))
            .filter_map(|r| g.get(r).cloned())
            .collect())
    }

    /// Councils with at least one agent.
    pub fn active_councils(&self) -> usize {
        self.read().values().filter(|c| !c.members.is_empty()).count()
    }

    /// Agents per role.
    pub fn agents_per_role(&self) -> BTreeMap<String, usize> {
        self.read().iter().map(|(r, c)| (r.clone(), c.members.len())).collect()
    }

    /// A builder for a deliberation of `role` with `num_agents` agents (0: all of the council)
    /// and `rounds` review rounds (`None`: the council default).
    pub fn deliberation(&self, role: &str, num_agents: usize, rounds: Option<u32>) -> Result<DeliberationBuilder> {
        let role = self.role(role)?;
        let g = self.read();
        let council = g.get(&role).filter(|c| !c.members.is_empty()).ok_or(Error::NoAgents { role: role.clone() })?;
        let n = if num_agents == 0 { council.members.len() } else { num_agents };
        if n > council.members.len() {
            return Err(Error::invalid(
                "num_agents",
                format!("is {n}; the council for {role} has {} agents", council.members.len()),
            ));
        }
        let rounds = rounds.unwrap_or(if council.settings.peer_review { council.settings.rounds } else { 0 });
        Ok(Deliberation::builder()
            .role(role)
            .agents(council.members.iter().take(n).map(|m| m.agent.clone()))
            .topology(council.settings.topology)
            .rounds(rounds))
    }
}

fn check_unique(members: &[Member]) -> Result<()> {
    crate::ids::check_unique_ids(members.iter().map(|m| m.agent.id()))
}
