//! Slow tier: the service with LLM councils created at startup from LLM_BASE_URL and LLM_MODEL.

mod common;

use common::{req, Server};
use orchestrator_grpc::pb;

#[tokio::test]
#[ignore = "slow tier: needs the local model (scripts/local-model.sh start)"]
async fn startup_councils_from_llm_env_deliberate_against_the_real_model() {
    let base = std::env::var("LLM_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8088".into());
    let model = std::env::var("LLM_MODEL").unwrap_or_else(|_| "gemma3-270m".into());
    let s = Server::start(
        &[("LLM_BASE_URL", &base), ("LLM_MODEL", &model), ("NUM_AGENTS_PER_ROLE", "2"), ("LLM_MAX_TOKENS", "32")],
        None,
    );
    let mut c = s.client().await;
    let list =
        c.list_councils(pb::ListCouncilsRequest { role_filter: String::new(), include_agents: true }).await.unwrap();
    let councils = list.into_inner().councils;
    assert_eq!(councils.len(), 5, "every role gets a council");
    assert!(councils.iter().all(|c| c.num_agents == 2 && c.model == model));
    let mut q = req("QA", "Write a test plan for a login form.");
    q.rounds = 1;
    let r = c.deliberate(q).await.unwrap().into_inner();
    assert_eq!(r.results.len(), 2);
    assert!(r.results.iter().all(|x| !x.proposal.as_ref().unwrap().content.trim().is_empty()));
    let usage = r.metadata.unwrap().usage.unwrap();
    assert!(usage.completion_tokens > 0 && usage.prompt_tokens > 0);
}
