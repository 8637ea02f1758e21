//! Faults inside the service, driven in-process: a deliberation that panics must end FAILED (a
//! submitted job) or with an error status (a stream), never OK without a result, and never be
//! re-run. The cluster variants (panic, oversized result, lost publish ack) are in the slow tier
//! because they need a NATS JetStream server.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use orchestrator_core::{Agent, AgentError, AgentMeta, AgentReply, CouncilSettings, Critique, Member, Proposal, Task};
use orchestrator_grpc::pb;
use orchestrator_grpc::pb::orchestrator_service_server::OrchestratorService;
use orchestrator_grpc::OrchestratorApp;
use tonic::Request;

/// An agent whose generate panics (a bug in an agent or in the engine looks the same from here).
struct Panics {
    id: String,
}

#[async_trait]
impl Agent for Panics {
    fn id(&self) -> &str {
        &self.id
    }
    fn role(&self) -> &str {
        "DEV"
    }
    async fn generate(&self, _task: &Task) -> Result<AgentReply, AgentError> {
        panic!("agent {} exploded", self.id)
    }
    async fn critique(&self, _task: &Task, _peer: &Proposal) -> Result<AgentReply, AgentError> {
        unreachable!()
    }
    async fn revise(&self, _t: &Task, _own: &Proposal, _c: &[Critique]) -> Result<AgentReply, AgentError> {
        unreachable!()
    }
}

/// An agent that answers with `bytes` bytes of text.
struct Big {
    id: String,
    bytes: usize,
}

#[async_trait]
impl Agent for Big {
    fn id(&self) -> &str {
        &self.id
    }
    fn role(&self) -> &str {
        "DEV"
    }
    async fn generate(&self, _task: &Task) -> Result<AgentReply, AgentError> {
        tokio::task::yield_now().await; // a real agent awaits: the run cannot finish in one poll
        Ok(AgentReply { text: "x ".repeat(self.bytes / 2), usage: Default::default() })
    }
    async fn critique(&self, _task: &Task, _peer: &Proposal) -> Result<AgentReply, AgentError> {
        tokio::task::yield_now().await;
        Ok(AgentReply { text: "fine".into(), usage: Default::default() })
    }
    async fn revise(&self, _t: &Task, own: &Proposal, _c: &[Critique]) -> Result<AgentReply, AgentError> {
        tokio::task::yield_now().await;
        Ok(AgentReply { text: own.content.clone(), usage: Default::default() })
    }
}

fn member(agent: Arc<dyn Agent>) -> Member {
    Member { agent, meta: AgentMeta::default() }
}

async fn app_with(dir: &std::path::Path, extra_yaml: &str, council: Vec<Member>) -> Arc<OrchestratorApp> {
    let yaml = format!("storage: {{path: {}}}\n{extra_yaml}", dir.join("orchestrator.db").display());
    let config = orchestrator_grpc::ServerConfig::from_yaml(&yaml).unwrap();
    let app = OrchestratorApp::start(config).await.unwrap();
    let settings = CouncilSettings::default();
    app.registry().delete_council("DEV").ok();
    app.registry().create_council("DEV", council, settings).unwrap();
    app
}

fn panicking_council() -> Vec<Member> {
    (1..=3).map(|i| member(Arc::new(Panics { id: format!("p{i}") }))).collect()
}

async fn wait_final(app: &Arc<OrchestratorApp>, id: &str, within: Duration) -> pb::GetDeliberationResultResponse {
    let deadline = Instant::now() + within;
    loop {
        let r = app
            .get_deliberation_result(Request::new(pb::GetDeliberationResultRequest { task_id: id.into() }))
            .await
            .unwrap()
            .into_inner();
        let pending =
            r.status == pb::DeliberationStatus::Pending as i32 || r.status == pb::DeliberationStatus::InProgress as i32;
        if !pending {
            return r;
        }
        assert!(Instant::now() < deadline, "task {id} still {} after {within:?}", r.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn submit_req(id: &str) -> pb::SubmitDeliberationRequest {
    pb::SubmitDeliberationRequest {
        task_id: id.into(),
        request: Some(common::req("DEV", "Write a parser")),
        retry: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_is_failed_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), "", panicking_council()).await;
    app.submit_deliberation(Request::new(submit_req("boom-1"))).await.unwrap();
    let r = wait_final(&app, "boom-1", Duration::from_secs(20)).await;
    assert_eq!(r.status, pb::DeliberationStatus::Failed as i32, "{r:?}");
    assert!(r.error_message.contains("panicked") && r.error_message.contains("exploded"), "{}", r.error_message);
    // The service is still serving.
    let s = app.get_status(Request::new(pb::GetStatusRequest { include_stats: false })).await.unwrap().into_inner();
    assert_eq!(s.status, "healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_stream_ends_with_internal_not_ok() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), "", panicking_council()).await;
    let mut stream =
        app.stream_deliberation(Request::new(common::req("DEV", "Write a parser"))).await.unwrap().into_inner();
    use futures::StreamExt;
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item);
    }
    let status = match last {
        Some(Err(s)) => s,
        other => panic!("the stream must end with an error status, got {other:?}"),
    };
    assert_eq!(status.code(), tonic::Code::Internal);
    assert!(status.message().contains("panicked"), "{}", status.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_unary_deliberation_is_internal() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), "", panicking_council()).await;
    let err = app.deliberate(Request::new(common::req("DEV", "Write a parser"))).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Internal, "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_result_is_failed_once_locally() {
    let dir = tempfile::tempdir().unwrap();
    let council = (1..=3).map(|i| member(Arc::new(Big { id: format!("b{i}"), bytes: 40 << 10 }))).collect();
    let app = app_with(dir.path(), "service: {max_message_bytes: 65536}\n", council).await;
    app.submit_deliberation(Request::new(submit_req("big-1"))).await.unwrap();
    let r = wait_final(&app, "big-1", Duration::from_secs(30)).await;
    assert_eq!(r.status, pb::DeliberationStatus::Failed as i32);
    assert!(r.error_message.contains("over the limit"), "{}", r.error_message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reader_that_stops_reading_does_not_freeze_its_deliberation() {
    // In-process, so no HTTP/2 window or send buffer can absorb the updates: the handler's own
    // channel (64 updates) is all there is. 32 agents x 10 rounds is about 700 updates.
    let dir = tempfile::tempdir().unwrap();
    let council = (1..=32).map(|i| member(Arc::new(Big { id: format!("b{i}"), bytes: 64 }))).collect();
    let app = app_with(dir.path(), "", council).await;
    let mut r = common::req("DEV", "many events");
    r.rounds = 10;
    r.num_agents = 32;
    let mut stream = app.stream_deliberation(Request::new(r)).await.unwrap().into_inner();
    // Read nothing; the deliberation must still finish.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = app.get_status(Request::new(pb::GetStatusRequest { include_stats: true })).await.unwrap().into_inner();
        if st.stats.unwrap().total_deliberations >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the deliberation froze behind a reader that does not read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Progress was dropped; the final result never is.
    use futures::StreamExt;
    let mut updates = Vec::new();
    while let Some(u) = stream.next().await {
        updates.push(u.unwrap());
    }
    assert!(updates.len() < 600, "nothing was dropped ({} updates): the test did not fill the buffer", updates.len());
    let last = updates.pop().unwrap();
    assert_eq!(last.status, "complete");
    assert_eq!(last.partial_result.unwrap().results.len(), 32);
}

// ---- cluster (slow tier: needs nats-server) ----

fn cluster_yaml(url: &str, ack_wait_seconds: u32) -> String {
    format!("nats: {{url: \"{url}\", ack_wait_seconds: {ack_wait_seconds}, max_deliver: 3}}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: needs nats-server"]
async fn cluster_a_panicking_job_is_failed_once_not_redelivered() {
    let n = common::start_nats();
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), &cluster_yaml(&n.url, 1), panicking_council()).await;
    app.submit_deliberation(Request::new(submit_req("cboom-1"))).await.unwrap();
    let r = wait_final(&app, "cboom-1", Duration::from_secs(30)).await;
    assert_eq!(r.status, pb::DeliberationStatus::Failed as i32, "{r:?}");
    assert!(r.error_message.contains("panicked"), "{}", r.error_message);
    // Were the heartbeat left running, the job would never be redelivered and stay claimed; were
    // the panic not caught, the worker would die. Neither: wait past several ack-waits and the
    // record is still the one FAILED run.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let again = wait_final(&app, "cboom-1", Duration::from_secs(1)).await;
    assert_eq!(again.status, pb::DeliberationStatus::Failed as i32);
    assert_eq!(again.error_message, r.error_message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: needs nats-server"]
async fn cluster_a_result_over_the_nats_limit_is_failed_once() {
    let n = common::start_nats();
    let dir = tempfile::tempdir().unwrap();
    // Three 600 KB proposals: the record is far over NATS's 1 MiB message limit.
    let council = (1..=3).map(|i| member(Arc::new(Big { id: format!("b{i}"), bytes: 600 << 10 }))).collect();
    let app = app_with(dir.path(), &cluster_yaml(&n.url, 10), council).await;
    app.submit_deliberation(Request::new(submit_req("cbig-1"))).await.unwrap();
    let r = wait_final(&app, "cbig-1", Duration::from_secs(30)).await;
    assert_eq!(r.status, pb::DeliberationStatus::Failed as i32, "{r:?}");
    assert!(r.error_message.contains("over the limit"), "{}", r.error_message);
    tokio::time::sleep(Duration::from_secs(12)).await;
    let again = wait_final(&app, "cbig-1", Duration::from_secs(1)).await;
    assert_eq!(again.status, pb::DeliberationStatus::Failed as i32, "re-run after the limit: {again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: needs nats-server"]
async fn cluster_a_pending_task_whose_job_was_lost_is_republished() {
    let n = common::start_nats();
    let dir = tempfile::tempdir().unwrap();
    let council = (1..=3).map(|i| member(Arc::new(Big { id: format!("b{i}"), bytes: 64 }))).collect();
    let app = app_with(dir.path(), &cluster_yaml(&n.url, 1), council).await;
    // What a lost publish ack can leave behind: the PENDING record is stored, the job is not on
    // the stream. Written straight to the tasks stream, aged past the stale limit.
    let request = orchestrator_grpc::convert::request(common::req("DEV", "Write a parser")).unwrap();
    let mut record = orchestrator_core::store::TaskRecord::pending("lost-1".into(), request);
    record.updated_ms -= 3_600_000;
    record.created_ms -= 3_600_000;
    let js = async_nats::jetstream::new(async_nats::connect(n.url.as_str()).await.unwrap());
    js.publish("orchestrator.tasks.lost-1", serde_json::to_vec(&record).unwrap().into()).await.unwrap().await.unwrap();
    let r = wait_final(&app, "lost-1", Duration::from_secs(30)).await;
    assert_eq!(r.status, pb::DeliberationStatus::Completed as i32, "{r:?}");
}
