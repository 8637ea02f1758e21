#![allow(dead_code)]

use std::sync::Arc;

use orchestrator_core::scorers::{PolicyScorer, RequirementsScorer};
use orchestrator_core::testing::ScriptedAgent;
use orchestrator_core::{Agent, Deliberation, DeliberationBuilder};

pub fn scripted(n: usize) -> Vec<ScriptedAgent> {
    (1..=n).map(|i| ScriptedAgent::new(format!("agent-dev-{i:03}"), "DEV")).collect()
}

pub fn dyns(agents: &[ScriptedAgent]) -> Vec<Arc<dyn Agent>> {
    agents.iter().map(|a| Arc::new(a.clone()) as Arc<dyn Agent>).collect()
}

pub fn builder(agents: &[ScriptedAgent]) -> DeliberationBuilder {
    Deliberation::builder()
        .task("Implement user authentication")
        .role("DEV")
        .rubric("Secure, maintainable code")
        .requirement("Unit tests")
        .agents(dyns(agents))
        .scorer(Arc::new(PolicyScorer::new()), 1.0)
        .scorer(Arc::new(RequirementsScorer::new()), 1.0)
}
