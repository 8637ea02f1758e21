//! Cluster tier: three service processes on one NATS JetStream server (Debian's nats-server),
//! 200 async deliberations, one replica killed mid-flight. Every job must reach COMPLETED exactly
//! once and be readable from every surviving replica.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{req, Server};
use futures::StreamExt;
use orchestrator_grpc::pb;

const CONFIG: &str = "
agents:
  DEV:
    - {kind: scripted, latency_ms: 200}
    - {kind: scripted, latency_ms: 200}
    - {kind: scripted, latency_ms: 200}
nats:
  concurrency: 6
  ack_wait_seconds: 2
  max_deliver: 3
";

type Client = pb::orchestrator_service_client::OrchestratorServiceClient<tonic::transport::Channel>;

async fn get(c: &mut Client, id: &str) -> pb::GetDeliberationResultResponse {
    c.get_deliberation_result(pb::GetDeliberationResultRequest { task_id: id.into() }).await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "cluster tier: needs Debian's nats-server (scripts/test-all.sh runs it)"]
async fn three_replicas_two_hundred_jobs_one_killed() {
    let nats = common::start_nats();
    let env = |id: &'static str| [("NATS_URL", nats.url.clone()), ("ORCHESTRATOR_REPLICA_ID", id.to_owned())];
    let start = |id: &'static str| {
        let e = env(id);
        let pairs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Server::start(&pairs, Some(CONFIG))
    };
    let mut replicas = vec![start("r1"), start("r2"), start("r3")];
    let mut clients = Vec::new();
    for r in &replicas {
        clients.push(r.client().await);
    }
    let run = orchestrator_core::new_id();
    let ids: Vec<String> = (0..200).map(|i| format!("job-{run}-{i}")).collect();

    // Submit (16 concurrent callers): the first 100 through one replica, the rest through all three.
    async fn submit_all(clients: Vec<Client>, ids: &[String]) -> f64 {
        let t = Instant::now();
        let chunks: Vec<Vec<String>> = ids.chunks(ids.len().div_ceil(16)).map(|c| c.to_vec()).collect();
        let calls: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut c = clients[i % clients.len()].clone();
                tokio::spawn(async move {
                    for id in chunk {
                        let r = pb::SubmitDeliberationRequest {
                            task_id: id.clone(),
                            request: Some(req("DEV", &id)),
                            retry: false,
                        };
                        c.submit_deliberation(r).await.unwrap();
                    }
                })
            })
            .collect();
        for c in calls {
            c.await.unwrap();
        }
        ids.len() as f64 / t.elapsed().as_secs_f64()
    }
    let one = submit_all(vec![clients[0].clone()], &ids[..100]).await;
    let three = submit_all(clients.clone(), &ids[100..]).await;
    // Idempotent: submitting the same id and request again does not run it twice; the same id
    // with another request is ALREADY_EXISTS.
    clients[2]
        .submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: ids[0].clone(),
            request: Some(req("DEV", &ids[0])),
            retry: false,
        })
        .await
        .unwrap();
    let e = clients[2]
        .submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: ids[0].clone(),
            request: Some(req("DEV", "dup")),
            retry: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::AlreadyExists);

    // Kill a replica while it holds jobs in flight.
    let names = ["r1", "r2", "r3"];
    let deadline = Instant::now() + Duration::from_secs(20);
    let (victim, in_flight) = loop {
        let mut owners: HashMap<String, usize> = HashMap::new();
        for id in &ids {
            let r = get(&mut clients[0], id).await;
            if r.status() == pb::DeliberationStatus::InProgress {
                *owners.entry(r.metadata.unwrap().tags["replica"].clone()).or_default() += 1;
            }
        }
        if let Some((owner, n)) = owners.into_iter().max_by_key(|(_, n)| *n).filter(|(_, n)| *n >= 2) {
            break (names.iter().position(|r| *r == owner).unwrap(), n);
        }
        assert!(Instant::now() < deadline, "no jobs in flight");
    };
    replicas[victim].kill();
    let killed_at = Instant::now();
    let dead = names[victim];
    let alive: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    eprintln!("killed {dead} with {in_flight} jobs in progress");

    // Every job completes, readable from both survivors.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut picked_up: Option<Duration> = None;
    loop {
        let mut done = 0;
        for id in &ids {
            let r = get(&mut clients[alive[0]], id).await;
            if r.status() == pb::DeliberationStatus::Completed {
                done += 1;
            }
            if picked_up.is_none() {
                if let Some(m) = &r.metadata {
                    if m.tags.get("attempts").map(String::as_str) == Some("2") {
                        picked_up = Some(killed_at.elapsed());
                    }
                }
            }
        }
        if done == ids.len() {
            break;
        }
        assert!(Instant::now() < deadline, "only {done} of {} completed", ids.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let total = killed_at.elapsed();
    let mut redelivered = 0;
    for id in &ids {
        let a = get(&mut clients[alive[0]], id).await;
        let b = get(&mut clients[alive[1]], id).await;
        assert_eq!(a.status(), pb::DeliberationStatus::Completed);
        assert_eq!(a.results, b.results, "{id}: both replicas read the same result");
        assert_eq!(a.results.len(), 3);
        let m = a.metadata.unwrap();
        // The victim may have completed jobs before it was killed; what it had in flight went elsewhere.
        if m.tags["attempts"] != "1" {
            assert_ne!(m.tags["replica"], dead, "{id}: a redelivered job completed by the dead replica");
            redelivered += 1;
        }
    }
    assert!(redelivered >= 1, "the killed replica's jobs were redelivered");

    // Exactly one completed event per job.
    let client = async_nats::connect(nats.url.as_str()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream(orchestrator_grpc::cluster::EVENTS_STREAM).await.unwrap();
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig {
            filter_subject: "orchestration.deliberation.>".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut msgs = consumer.messages().await.unwrap();
    let schema_text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events/deliberation.schema.json"))
            .unwrap();
    let schema = jsonschema::validator_for(&serde_json::from_str(&schema_text).unwrap()).unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut seen = 0;
    while seen < 201 {
        match tokio::time::timeout(Duration::from_secs(2), msgs.next()).await {
            Ok(Some(Ok(m))) => {
                // Every event, completed or failed, matches the published schema.
                let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
                let errors: Vec<String> = schema.iter_errors(&v).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "event does not match docs/events: {errors:?}");
                let e: orchestrator_grpc::cluster::DeliberationEvent = serde_json::from_value(v).unwrap();
                if e.status == "COMPLETED" && e.task_id.starts_with(&format!("job-{run}-")) {
                    *counts.entry(e.task_id).or_default() += 1;
                }
                seen += 1;
            }
            _ => break,
        }
    }
    assert_eq!(counts.len(), 200, "a completed event for every job");
    assert!(counts.values().all(|&n| n == 1), "exactly one completed event per job");
    eprintln!(
        "FIGURES submissions/s: one replica {one:.0}, three replicas {three:.0}; killed replica's jobs picked up after {:.2} s; all 200 done {:.2} s after the kill; {redelivered} redelivered",
        picked_up.map(|d| d.as_secs_f64()).unwrap_or(f64::NAN),
        total.as_secs_f64()
    );
    drop(replicas);
}
