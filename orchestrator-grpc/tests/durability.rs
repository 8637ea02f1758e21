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
            retry: false,
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
async fn a_crash_mid_deliberation_is_resumed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Server::start_in(dir.path(), &[], None);
        let mut c = s.client().await;
        scripted_council(&mut c, "QA", 3, 1_500).await;
        c.submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: "resumed".into(),
            request: Some(req("QA", "Slow")),
            retry: false,
        })
        .await
        .unwrap();
        wait_status(&mut c, "resumed", pb::DeliberationStatus::InProgress).await;
        s.kill();
    }
    let s = Server::start_in(dir.path(), &[], None);
    let mut c = s.client().await;
    let r = wait_status(&mut c, "resumed", pb::DeliberationStatus::Completed).await;
    assert_eq!(r.results.len(), 3);
    assert_eq!(r.metadata.unwrap().tags["attempts"], "2", "the second attempt finished it");
    // The same id with the same request: idempotent, not run again.
    c.submit_deliberation(pb::SubmitDeliberationRequest {
        task_id: "resumed".into(),
        request: Some(req("QA", "Slow")),
        retry: false,
    })
    .await
    .unwrap();
    // The same id with another request: ALREADY_EXISTS, never the other request's result.
    let e = c
        .submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: "resumed".into(),
            request: Some(req("QA", "Something else")),
            retry: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::AlreadyExists, "{}", e.message());
}

#[tokio::test]
async fn a_job_that_keeps_dying_is_failed_after_max_attempts_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = "submissions: {max_attempts: 2}\n";
    for _ in 0..2 {
        let mut s = Server::start_in(dir.path(), &[], Some(cfg));
        let mut c = s.client().await;
        if c.list_councils(pb::ListCouncilsRequest { role_filter: "QA".into(), include_agents: false })
            .await
            .unwrap()
            .into_inner()
            .councils
            .is_empty()
        {
            scripted_council(&mut c, "QA", 3, 1_500).await;
        }
        let _ = c
            .submit_deliberation(pb::SubmitDeliberationRequest {
                task_id: "doomed".into(),
                request: Some(req("QA", "Slow")),
                retry: false,
            })
            .await;
        wait_status(&mut c, "doomed", pb::DeliberationStatus::InProgress).await;
        s.kill();
    }
    let s = Server::start_in(dir.path(), &[], Some(cfg));
    let mut c = s.client().await;
    let r = wait_status(&mut c, "doomed", pb::DeliberationStatus::Failed).await;
    assert!(r.error_message.contains("gave up after 2 attempts"), "{}", r.error_message);
    // An explicit retry runs it again.
    c.submit_deliberation(pb::SubmitDeliberationRequest {
        task_id: "doomed".into(),
        request: Some(req("QA", "Slow")),
        retry: true,
    })
    .await
    .unwrap();
    wait_status(&mut c, "doomed", pb::DeliberationStatus::Completed).await;
}

#[tokio::test]
async fn a_full_submission_queue_is_resource_exhausted_and_stores_nothing() {
    let s = Server::start(&[], Some("submissions: {queue_capacity: 2, workers: 1}\n"));
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 2, 2_000).await;
    let mut codes = Vec::new();
    for i in 0..6 {
        let r = c
            .submit_deliberation(pb::SubmitDeliberationRequest {
                task_id: format!("q{i}"),
                request: Some(req("DEV", "queued")),
                retry: false,
            })
            .await;
        codes.push(r.map(|_| tonic::Code::Ok).unwrap_or_else(|e| e.code()));
    }
    // One running, two queued; the rest refused.
    assert!(codes.iter().filter(|c| **c == tonic::Code::Ok).count() <= 3, "{codes:?}");
    assert!(codes.contains(&tonic::Code::ResourceExhausted), "{codes:?}");
    let refused = codes.iter().position(|c| *c == tonic::Code::ResourceExhausted).unwrap();
    let e = c
        .get_deliberation_result(pb::GetDeliberationResultRequest { task_id: format!("q{refused}") })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "a refused submission is not stored");
}
