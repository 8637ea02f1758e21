//! The service over a real redis-server (`REDIS_URL`): kill -9 and restart loses no submitted
//! result, two replicas share results and never run a task twice, no Redis at start is a
//! refusal with a clear message, and Redis going away is UNAVAILABLE until it returns.

mod common;

use std::time::{Duration, Instant};

use common::{req, scripted_council, Server};
use orchestrator_core::testing::RedisServer;
use orchestrator_grpc::pb;

type Client = pb::orchestrator_service_client::OrchestratorServiceClient<tonic::transport::Channel>;

async fn result(c: &mut Client, id: &str) -> pb::GetDeliberationResultResponse {
    c.get_deliberation_result(pb::GetDeliberationResultRequest { task_id: id.into() }).await.unwrap().into_inner()
}

async fn wait_completed(c: &mut Client, id: &str, within: Duration) -> pb::GetDeliberationResultResponse {
    let deadline = Instant::now() + within;
    loop {
        let r = result(c, id).await;
        if r.status() == pb::DeliberationStatus::Completed {
            return r;
        }
        assert!(Instant::now() < deadline, "{id}: still {:?} {}", r.status(), r.error_message);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn submit(c: &mut Client, id: &str, role: &str) {
    c.submit_deliberation(pb::SubmitDeliberationRequest {
        task_id: id.into(),
        request: Some(req(role, &format!("Task {id}"))),
        retry: false,
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_deliberation_and_restart_loses_no_submitted_result() {
    let redis = RedisServer::start();
    let env = [("REDIS_URL", redis.url.as_str()), ("ORCHESTRATOR_REPLICA_ID", "replica-a")];
    let done = {
        let mut s = Server::start(&env, None);
        let mut c = s.client().await;
        scripted_council(&mut c, "QA", 3, 600).await;
        submit(&mut c, "finished-before", "QA").await;
        let done = wait_completed(&mut c, "finished-before", Duration::from_secs(15)).await;
        for i in 0..5 {
            submit(&mut c, &format!("in-flight-{i}"), "QA").await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await; // mid-deliberation
        s.kill();
        done
    };
    // A new process, new data directory: everything it knows comes from Redis.
    let s = Server::start(&env, None);
    let mut c = s.client().await;
    let again = result(&mut c, "finished-before").await;
    assert_eq!((again.results, again.winner_id), (done.results, done.winner_id));
    for i in 0..5 {
        let r = wait_completed(&mut c, &format!("in-flight-{i}"), Duration::from_secs(20)).await;
        assert_eq!(r.results.len(), 3, "the restored council ran it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_results_and_a_dead_replicas_tasks_run_once_elsewhere() {
    let redis = RedisServer::start();
    let base = [("REDIS_URL", redis.url.as_str())];
    let yaml = "storage: {claim_ttl_seconds: 2}\n";
    let mut a = Server::start(&[base[0], ("ORCHESTRATOR_REPLICA_ID", "replica-a")], Some(yaml));
    let mut ca = a.client().await;
    scripted_council(&mut ca, "QA", 3, 1_500).await;
    // B starts after the council exists: it restores it from Redis.
    let b = Server::start(&[base[0], ("ORCHESTRATOR_REPLICA_ID", "replica-b")], Some(yaml));
    let mut cb = b.client().await;
    for i in 0..4 {
        submit(&mut ca, &format!("t{i}"), "QA").await;
    }
    // While A runs them, B's scans (every 2 s) must leave them alone: owner stays replica-a.
    let until = Instant::now() + Duration::from_millis(2_500);
    while Instant::now() < until {
        for i in 0..4 {
            let r = result(&mut cb, &format!("t{i}")).await;
            if let Some(m) = r.metadata.as_ref() {
                let owner = m.tags.get("replica").cloned().unwrap_or_default();
                assert!(owner.is_empty() || owner == "replica-a", "t{i} taken from a live replica by {owner}");
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.kill(); // mid-deliberation: its claims expire within 2 s, and B takes the tasks over.
    for i in 0..4 {
        let r = wait_completed(&mut cb, &format!("t{i}"), Duration::from_secs(30)).await;
        let tags = r.metadata.unwrap().tags;
        assert_eq!(tags["replica"], "replica-b", "t{i}");
        assert_eq!(tags["attempts"], "2", "t{i}: once by A (killed), once by B, never both at once");
    }
    // Results submitted through B are readable through a third replica.
    submit(&mut cb, "via-b", "QA").await;
    let r = wait_completed(&mut cb, "via-b", Duration::from_secs(15)).await;
    let c = Server::start(&[base[0], ("ORCHESTRATOR_REPLICA_ID", "replica-c")], Some(yaml));
    assert_eq!(result(&mut c.client().await, "via-b").await.results, r.results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_redis_at_start_is_a_refusal_naming_the_setting() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .arg("serve")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GRPC_PORT", "0")
        .env("METRICS_PORT", "0")
        .env("REDIS_URL", format!("redis://:hunter2@127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("REDIS_URL") && err.contains(&format!("cannot reach Redis at 127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("hunter2") && !String::from_utf8_lossy(&out.stdout).contains("hunter2"), "password leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_is_unavailable_and_the_service_recovers_on_its_own() {
    let mut redis = RedisServer::start();
    let s = Server::start(&[("REDIS_URL", redis.url.as_str())], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 3, 0).await;
    submit(&mut c, "before", "DEV").await;
    wait_completed(&mut c, "before", Duration::from_secs(15)).await;
    redis.stop();
    let e = c
        .submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: "while-away".into(),
            request: Some(req("DEV", "x")),
            retry: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable, "{}", e.message());
    let e = c.get_deliberation_result(pb::GetDeliberationResultRequest { task_id: "before".into() }).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable);
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match c.get_deliberation_result(pb::GetDeliberationResultRequest { task_id: "before".into() }).await {
            Ok(r) => {
                assert_eq!(r.into_inner().status(), pb::DeliberationStatus::Completed);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "not recovered: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    submit(&mut c, "after", "DEV").await;
    wait_completed(&mut c, "after", Duration::from_secs(15)).await;
}
