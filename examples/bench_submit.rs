//! Asynchronous submissions against a running service: submit N deliberations from C concurrent
//! clients, each polling `GetDeliberationResult` every millisecond until its task finishes, and
//! print submissions per second and submit-to-result latency percentiles as one JSON line.
//!
//!     cargo run --release -p orchestrator-grpc --example bench_submit -- --addr http://127.0.0.1:50055 \
//!         [--count 2000] [--concurrency 128] [--role DEV] [--agents 3]
//!
//! `bench/load/run.sh --cluster` runs it against one and three replicas sharing a nats-server.
//! The latency includes up to one poll interval (1 ms) of waiting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use orchestrator_grpc::pb;
use orchestrator_grpc::pb::orchestrator_service_client::OrchestratorServiceClient;

struct Args {
    addrs: Vec<String>,
    count: usize,
    concurrency: usize,
    role: String,
    agents: i32,
}

fn args() -> Args {
    let mut a = Args { addrs: vec![], count: 2000, concurrency: 128, role: "DEV".into(), agents: 3 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => a.addrs.push(value),
            "--count" => a.count = value.parse().expect("--count: a number"),
            "--concurrency" => a.concurrency = value.parse().expect("--concurrency: a number"),
            "--role" => a.role = value,
            "--agents" => a.agents = value.parse().expect("--agents: a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.addrs.is_empty(), "--addr is required (repeat it to spread clients over replicas)");
    a
}

#[tokio::main]
async fn main() {
    let a = args();
    let request = pb::DeliberateRequest {
        task_description: "Write a function that parses ISO-8601 durations and returns seconds.".into(),
        role: a.role.clone(),
        constraints: Some(pb::TaskConstraints {
            rubric: "Correct, tested, short.".into(),
            requirements: vec!["unit tests".into(), "error handling".into()],
            ..Default::default()
        }),
        rounds: 1,
        num_agents: a.agents,
        ..Default::default()
    };
    let mut clients = Vec::new();
    for addr in &a.addrs {
        let channel = tonic::transport::Endpoint::from_shared(addr.clone()).expect("address").connect().await;
        clients.push(OrchestratorServiceClient::new(channel.unwrap_or_else(|e| panic!("connect {addr}: {e}"))));
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..a.concurrency {
        let (mut client, next, request, count) =
            (clients[w % clients.len()].clone(), next.clone(), request.clone(), a.count);
        workers.push(tokio::spawn(async move {
            let mut submit_us = Histogram::<u64>::new(3).expect("histogram");
            let mut result_us = Histogram::<u64>::new(3).expect("histogram");
            let mut failed = 0usize;
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let t = Instant::now();
                let sub = pb::SubmitDeliberationRequest { request: Some(request.clone()), ..Default::default() };
                let id = client.submit_deliberation(sub).await.expect("SubmitDeliberation").into_inner().task_id;
                submit_us.record(t.elapsed().as_micros() as u64).expect("record");
                loop {
                    let r = client
                        .get_deliberation_result(pb::GetDeliberationResultRequest { task_id: id.clone() })
                        .await
                        .expect("GetDeliberationResult")
                        .into_inner();
                    let status = pb::DeliberationStatus::try_from(r.status).unwrap_or_default();
                    match status {
                        pb::DeliberationStatus::Completed => break,
                        pb::DeliberationStatus::Failed | pb::DeliberationStatus::Timeout => {
                            failed += 1;
                            break;
                        }
                        _ => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                result_us.record(t.elapsed().as_micros() as u64).expect("record");
            }
            (submit_us, result_us, failed)
        }));
    }
    let mut submit_us = Histogram::<u64>::new(3).expect("histogram");
    let mut result_us = Histogram::<u64>::new(3).expect("histogram");
    let mut failed = 0;
    for w in workers {
        let (s, r, f) = w.await.expect("worker");
        submit_us.add(s).expect("merge");
        result_us.add(r).expect("merge");
        failed += f;
    }
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(failed, 0, "{failed} submitted deliberations failed");
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "replicas": a.addrs.len(), "count": a.count, "concurrency": a.concurrency, "wall_s": wall,
            "completed_per_s": a.count as f64 / wall,
            "submit_p50_ms": ms(&submit_us, 0.5), "submit_p99_ms": ms(&submit_us, 0.99),
            "result_p50_ms": ms(&result_us, 0.5), "result_p99_ms": ms(&result_us, 0.99),
        })
    );
}
