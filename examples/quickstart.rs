//! A deliberation among three built-in behaviour agents, scored by the policy and requirements
//! checks. No network needed.
//!
//!     cargo run -p orchestrator-core --example quickstart

use std::sync::Arc;

use orchestrator_core::scorers::{PolicyScorer, RequirementsScorer};
use orchestrator_core::testing::{Behaviour, BehaviourAgent};
use orchestrator_core::{Agent, Deliberation};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), orchestrator_core::Error> {
    let agents: Vec<Arc<dyn Agent>> = vec![
        Arc::new(BehaviourAgent::new("agent-dev-001", "DEV", Behaviour::Excellent)),
        Arc::new(BehaviourAgent::new("agent-dev-002", "DEV", Behaviour::Concise)),
        Arc::new(BehaviourAgent::new("agent-dev-003", "DEV", Behaviour::Poor)),
    ];
    let outcome = Deliberation::builder()
        .task("Implement user authentication")
        .role("DEV")
        .rubric("Secure, maintainable code")
        .requirement("Unit tests")
        .requirement("Error handling")
        .agents(agents)
        .rounds(1)
        .scorer(Arc::new(PolicyScorer::new()), 1.0)
        .scorer(Arc::new(RequirementsScorer::new()), 1.0)
        .build()?
        .run()
        .await?;
    for r in &outcome.results {
        println!("#{} {} score {:.2} all_passed {}", r.rank, r.proposal.author_id, r.score, r.all_passed);
        for c in &r.checks {
            println!("    {:<13} {} {:.2} {}", c.name, if c.passed { "PASS" } else { "FAIL" }, c.score, c.message);
        }
    }
    println!("winner: {}", outcome.winner_id);
    Ok(())
}
