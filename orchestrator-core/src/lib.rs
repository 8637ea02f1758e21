//! # orchestrator-core
//!
//! A multi-agent deliberation engine. A council of [`Agent`]s gets a task; each agent proposes,
//! peers critique each other's proposals over review rounds, every author revises its own
//! proposal, [`Scorer`]s check the final proposals, and the results come back ranked with a
//! winner. See `docs/ARCHITECTURE.md` for the layers, the data flow and a glossary.
//!
//! ```no_run
//! # async fn demo() -> orchestrator_core::Result<()> {
//! use std::sync::Arc;
//! use orchestrator_core::{Deliberation, scorers::{PolicyScorer, RequirementsScorer}, testing::ScriptedAgent};
//!
//! let outcome = Deliberation::builder()
//!     .task("Implement user authentication")
//!     .role("DEV")
//!     .requirement("Unit tests")
//!     .agent(Arc::new(ScriptedAgent::new("agent-dev-001", "DEV")))
//!     .agent(Arc::new(ScriptedAgent::new("agent-dev-002", "DEV")))
//!     .scorer(Arc::new(PolicyScorer::new()), 1.0)
//!     .scorer(Arc::new(RequirementsScorer::new()), 1.0)
//!     .build()?
//!     .run()
//!     .await?;
//! println!("winner: {}", outcome.winner_id);
//! # Ok(()) }
//! ```

mod agent;
mod agent_error;
mod agent_kind;
mod architect;
mod budget;
mod check;
#[cfg(feature = "config")]
mod config;
mod council;
mod deliberation;
mod engine;
mod error;
mod error_kind;
mod event;
#[cfg(feature = "config")]
mod factory;
mod failure;
mod ids;
mod limits;
#[cfg(feature = "config")]
mod orchestrator;
mod outcome;
mod phase;
mod proposal;
mod request;
mod selection;
mod strategy;
mod task;
mod topology;
mod usage;

pub mod llm;
pub mod scorers;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

pub use agent::{Agent, AgentReply};
pub use agent_kind::AgentKind;
pub use architect::{orchestrate, Architect, DefaultArchitect, OrchestrationOutcome, Selection};
pub use budget::{Budget, BudgetReport};
pub use check::{aggregate, Check, CheckCategory, CheckDetails, Scorer, WeightedScorer};
#[cfg(feature = "config")]
pub use config::{
    parse_config_yaml, read_config_yaml, AgentEntry, Config, LlmDefaults, NamedEndpoint, OrchestrationConfig,
};
pub use council::{agent_id, council_id, AgentMeta, Council, CouncilRegistry, CouncilSettings, Member, DEFAULT_ROLES};
pub use deliberation::{Deliberation, DeliberationBuilder};
pub use error::{AgentError, Error, ErrorKind, Result};
pub use event::{Event, EventSink, SharedEventSink};
#[cfg(feature = "config")]
pub use factory::{AgentFactory, DEFAULT_ENDPOINT};
pub use failure::AgentFailure;
pub use ids::new_id;
pub use limits::Limits;
#[cfg(feature = "config")]
pub use orchestrator::{
    AgentRegistration, CouncilRequest, OrchestrateOptions, Orchestration, Orchestrator, RunOptions,
};
pub use outcome::{DeliberationOutcome, RankedResult};
pub use phase::{Phase, UnknownPhase};
pub use proposal::{now_ms, Critique, Proposal};
pub use request::DeliberationRequest;
pub use selection::{select, PairwiseJudge, SelectionReport, TieBreak};
pub use strategy::Strategy;
pub use task::{Constraints, Task};
pub use topology::Topology;
pub use usage::{TokenUsage, UsageReport};

/// The crate version, reported by the service as `orchestrator_version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
