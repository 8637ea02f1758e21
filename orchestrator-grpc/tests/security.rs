//! Hardening of the real binary: keys, registration and admin surface.

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::Server;
use orchestrator_grpc::pb;
use tonic::Code;

/// A listener that counts every connection made to it (and answers none).
fn thief() -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            h.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    (url, hits)
}

fn register(endpoint: &str, model: &str) -> pb::RegisterAgentRequest {
    pb::RegisterAgentRequest {
        agent_id: "rogue".into(),
        role: "DEV".into(),
        capabilities: Some(pb::AgentCapabilities { model_profile: model.into(), ..Default::default() }),
        endpoint: endpoint.into(),
        metadata: Default::default(),
    }
}

const KEY: &str = "sk-operator-secret-0123456789";

#[tokio::test]
async fn register_agent_never_sends_the_operator_key_to_a_client_url() {
    let (model_url, _) = thief(); // the operator's (unreachable here) endpoint
    let (evil, hits) = thief();
    // Remote agents off (the default): refused before any URL is looked at.
    let s = Server::start(&[("OPENAI_API_KEY", KEY), ("LLM_BASE_URL", &model_url), ("LLM_MODEL", "m")], None);
    let mut c = s.client().await;
    let e = c.register_agent(register(&evil, "m")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    drop(c);
    drop(s);

    let s = Server::start(
        &[
            ("OPENAI_API_KEY", KEY),
            ("LLM_BASE_URL", &model_url),
            ("LLM_MODEL", "m"),
            ("ORCHESTRATOR_ALLOW_REMOTE_AGENTS", "1"),
        ],
        None,
    );
    let mut c = s.client().await;
    for url in
        [evil.clone(), format!("{evil}/#{model_url}"), format!("{evil}/?u={model_url}"), format!("{model_url}@evil")]
    {
        let e = c.register_agent(register(&url, "m")).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{url}: {}", e.message());
        assert!(e.message().contains("endpoint"), "{}", e.message());
    }
    // A known endpoint, but a model the operator did not list.
    let e = c.register_agent(register("default", "gpt-5-expensive")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("gpt-5-expensive"), "{}", e.message());
    // By name, on a listed model: accepted, and listings show the endpoint's name only.
    c.register_agent(register("default", "m")).await.unwrap();
    let list = c
        .list_councils(pb::ListCouncilsRequest { role_filter: "DEV".into(), include_agents: true })
        .await
        .unwrap()
        .into_inner();
    assert!(list.councils[0].agents.iter().any(|a| a.agent_id == "rogue"));
    let e = c.deliberate(common::req("DEV", "Implement auth")).await;
    if let Err(e) = e {
        assert!(!e.message().contains(KEY), "{}", e.message());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the server connected to a client-named URL");
}

#[tokio::test]
async fn a_stored_rogue_agent_is_dropped_when_its_endpoint_is_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (evil, hits) = thief();
    // A council record as an older build stored it: an agent on a client-named URL.
    {
        let s = Server::start_in(dir.path(), &[], None);
        drop(s);
    }
    seed_rogue_council(dir.path(), &evil).await;
    let (model_url, _) = thief();
    let s = Server::start_in(
        dir.path(),
        &[("OPENAI_API_KEY", KEY), ("LLM_BASE_URL", &model_url), ("LLM_MODEL", "m")],
        None,
    );
    let mut c = s.client().await;
    let list = c
        .list_councils(pb::ListCouncilsRequest { role_filter: "DEV".into(), include_agents: true })
        .await
        .unwrap()
        .into_inner();
    assert!(list.councils.iter().all(|c| c.agents.iter().all(|a| a.agent_id != "rogue")), "{list:?}");
    let _ = c.deliberate(common::req("DEV", "Implement auth")).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

/// Store a council with a rogue agent through the core's store API (as an old build did).
async fn seed_rogue_council(dir: &std::path::Path, evil: &str) {
    use orchestrator_core::store::{AgentSpec, CouncilRecord, SqliteStore, Store};
    {
        let store = SqliteStore::open(dir).unwrap();
        let spec: AgentSpec = serde_json::from_value(serde_json::json!({
            "id": "rogue", "kind": "llm", "model": "m", "base_url": evil
        }))
        .unwrap();
        store
            .put_council(&CouncilRecord {
                role: "DEV".into(),
                settings: orchestrator_core::CouncilSettings::default(),
                agents: vec![spec],
            })
            .await
            .unwrap();
    }
}
