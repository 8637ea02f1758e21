//! Durable results: a restart keeps finished results, councils and statistics; a crash during a
//! deliberation leaves a FAILED record with the reason, never a missing or corrupt one.

mod common;

use std::time::{Duration, Instant};

use common::{req, scripted_council, Server};
use orchestrator_grpc::pb;

async fn wait_status(
    c: &mut pb::orchestrator_service_client::OrchestratorServiceClient<tonic::transport::Channel>,
    id: &str,
    want: pb::DeliberationStatus,
) -> pb::GetDeliberationResultResponse {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = c
            .get_deliberation_result(pb::GetDeliberationResultRequest { task_id: id.into() })
            .await
            .unwrap()
            .into_inner();
        if r.status() == want {
            return r;
        }
        assert!(Instant::now() < deadline, "{id}: still {:?}", r.status());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn results_councils_and_stats_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let mut s = Server::start_in(dir.path(), &[], None);
        let mut c = s.client().await;
        scripted_council(&mut c, "DEV", 3, 0).await;
        let mut meta = std::collections::HashMap::new();
        meta.insert("agent_type".to_owned(), "scripted".to_owned());
        c.register_agent(pb::RegisterAgentRequest {
            agent_id: "extra".into(),
            role: "DEV".into(),
            capabilities: None,
            endpoint: String::new(),
            metadata: meta,
        })
        .await
        .unwrap();
        c.submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: "keep-me".into(),
            request: Some(req("DEV", "Persist")),
        })
        .await
        .unwrap();
        let r = wait_status(&mut c, "keep-me", pb::DeliberationStatus::Completed).await;
        c.deliberate(req("DEV", "sync one")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await; // statistics are written behind the response
        s.kill();
        r
    };
    let s = Server::start_in(dir.path(), &[], None);
    let mut c = s.client().await;
    let again = wait_status(&mut c, "keep-me", pb::DeliberationStatus::Completed).await;
    assert_eq!(again.results, first.results);
    assert_eq!(again.winner_id, first.winner_id);
    assert_eq!(again.results.len(), 4);
    let councils = c
        .list_councils(pb::ListCouncilsRequest { role_filter: "DEV".into(), include_agents: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(councils.councils[0].num_agents, 4, "the council and the registered agent were restored");
    assert_eq!(c.deliberate(req("DEV", "after restart")).await.unwrap().into_inner().results.len(), 4);
    let st = c.get_status(pb::GetStatusRequest { include_stats: true }).await.unwrap().into_inner().stats.unwrap();
    assert!(st.total_deliberations >= 3, "statistics restored: {st:?}");
}

#[tokio::test]
async fn a_crash_mid_deliberation_leaves_a_failed_record_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Server::start_in(dir.path(), &[], None);
        let mut c = s.client().await;
        scripted_council(&mut c, "QA", 3, 3_000).await;
        c.submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: "doomed".into(),
            request: Some(req("QA", "Slow")),
        })
        .await
        .unwrap();
        wait_status(&mut c, "doomed", pb::DeliberationStatus::InProgress).await;
        s.kill();
    }
    let s = Server::start_in(dir.path(), &[], None);
    let mut c = s.client().await;
    let r = c
        .get_deliberation_result(pb::GetDeliberationResultRequest { task_id: "doomed".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), pb::DeliberationStatus::Failed);
    assert!(r.error_message.contains("interrupted"), "{}", r.error_message);
    assert!(r.results.is_empty());
    // Resubmitting the same id does not run it again.
    c.submit_deliberation(pb::SubmitDeliberationRequest { task_id: "doomed".into(), request: Some(req("QA", "Slow")) })
        .await
        .unwrap();
    let r = c
        .get_deliberation_result(pb::GetDeliberationResultRequest { task_id: "doomed".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), pb::DeliberationStatus::Failed);
}
