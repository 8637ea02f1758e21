//! Councils, architect selection and statistics.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{builder, scripted};
use orchestrator_core::testing::ScriptedAgent;
use orchestrator_core::{
    orchestrate, Architect, CouncilRegistry, CouncilSettings, DefaultArchitect, Error, ErrorKind, Member, RankedResult,
    Selection, Task,
};

fn member(id: &str) -> Member {
    Member { agent: Arc::new(ScriptedAgent::new(id, "DEV")), meta: Default::default() }
}

#[test]
fn no_agents_error_has_the_documented_message() {
    let reg = CouncilRegistry::new();
    let err = reg.deliberation("QA", 0, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoAgents);
    assert_eq!(
        err.to_string(),
        "No agents configured for role: QA. Agents must be registered before deliberation can occur."
    );
    let err = reg.deliberation("CHEF", 0, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("DEV, QA, ARCHITECT, DEVOPS, DATA"), "{err}");
}

#[tokio::test]
async fn councils_create_register_list_delete() {
    let reg = CouncilRegistry::new();
    let c = reg
        .create_council("dev", vec![member("agent-dev-001"), member("agent-dev-002")], CouncilSettings::default())
        .unwrap();
    assert_eq!(c.id, "council-dev");
    assert!(matches!(reg.create_council("DEV", vec![], CouncilSettings::default()), Err(Error::AlreadyExists { .. })));
    assert_eq!(reg.register_agent("DEV", member("agent-dev-003")).unwrap(), "council-dev");
    assert!(matches!(reg.register_agent("DEV", member("agent-dev-003")), Err(Error::AlreadyExists { .. })));
    assert_eq!(reg.list(None).unwrap().len(), 1);
    assert_eq!(reg.list(Some("QA")).unwrap().len(), 0);
    assert_eq!(reg.active_councils(), 1);
    let out = reg.deliberation("DEV", 2, None).unwrap().task("t").build().unwrap().run().await.unwrap();
    assert_eq!(out.results.len(), 2);
    assert!(reg.deliberation("DEV", 4, None).unwrap_err().to_string().contains("num_agents"));
    reg.unregister_agent("DEV", "agent-dev-001").unwrap();
    assert!(matches!(reg.unregister_agent("DEV", "agent-dev-001"), Err(Error::NotFound { .. })));
    assert_eq!(reg.delete_council("DEV").unwrap().members.len(), 2);
    assert!(matches!(reg.delete_council("DEV"), Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn default_architect_picks_best_all_passed_candidate() {
    let mut agents = scripted(3);
    agents[1] = agents[1].clone().generate_replies(["Covers unit tests"]).revise_replies(["Covers unit tests"]);
    let d = builder(&agents).build().unwrap();
    let o = orchestrate(&d, None, 3).await.unwrap();
    assert_eq!(o.execution_id.len(), 16);
    assert!(o.execution_id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(o.winner.proposal.author_id, "agent-dev-002");
    assert!(o.winner.all_passed);
    assert_eq!(o.candidates.len(), 3);
    assert!(o.architect_fallback.is_none());
}

struct Broken;

#[async_trait]
impl Architect for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    async fn select(&self, _: &Task, _: &[RankedResult]) -> orchestrator_core::Result<Selection> {
        Err(Error::Unavailable { message: "model down".into() })
    }
}

#[tokio::test]
async fn failing_architect_falls_back_and_says_so() {
    let agents = scripted(3);
    let d = builder(&agents).build().unwrap();
    let o = orchestrate(&d, Some(&Broken), 2).await.unwrap();
    assert_eq!(o.candidates.len(), 2);
    assert_eq!(o.architect, "default");
    assert!(o.architect_fallback.unwrap().contains("model down"));
    assert_eq!(o.winner, o.candidates[DefaultArchitect::choose(&o.candidates).index]);
}
