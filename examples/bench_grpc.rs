//! Load generator over loopback: Deliberate requests per second with built-in zero-latency
//! (scripted) agents, and GetStatus latency percentiles. Bounded in count and time.
//!
//!     cargo run --release -p orchestrator-grpc --example bench_grpc -- [deliberations] [concurrency]

use std::time::{Duration, Instant};

use orchestrator_grpc::pb;
use orchestrator_grpc::pb::orchestrator_service_client::OrchestratorServiceClient;
use orchestrator_grpc::{serve, ServeOptions, ServerConfig};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let time_limit = Duration::from_secs(60);

    let mut config = ServerConfig::default();
    config.service.metrics_port = 0;
    config.service.max_concurrent_requests = 1024;
    // The benchmark uses scripted agents, a development switch.
    config.core.allow_test_agents = true;
    let data = tempfile::tempdir().expect("temporary data directory");
    config.storage.path = data.path().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(config, ServeOptions { listener: Some(listener) }, async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let channel = tonic::transport::Channel::from_shared(addr).expect("uri").connect().await.expect("connect");
    let mut client = OrchestratorServiceClient::new(channel.clone());
    client
        .create_council(pb::CreateCouncilRequest {
            role: "DEV".into(),
            num_agents: 3,
            config: Some(pb::CouncilConfig {
                agent_type: "scripted".into(),
                enable_peer_review: true,
                ..Default::default()
            }),
        })
        .await
        .expect("council");
    let req = pb::DeliberateRequest {
        task_description: "Implement user authentication".into(),
        role: "DEV".into(),
        constraints: Some(pb::TaskConstraints {
            rubric: "Secure, maintainable code".into(),
            requirements: vec!["Unit tests".into(), "Error handling".into()],
            ..Default::default()
        }),
        rounds: 1,
        num_agents: 3,
        ..Default::default()
    };

    let started = Instant::now();
    let per_worker = total / concurrency;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let mut c = OrchestratorServiceClient::new(channel.clone());
            let req = req.clone();
            tokio::spawn(async move {
                let mut ok = 0usize;
                for _ in 0..per_worker {
                    if started.elapsed() > time_limit {
                        break;
                    }
                    let r = c.deliberate(req.clone()).await.expect("deliberate");
                    assert_eq!(r.get_ref().results.len(), 3);
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let mut done = 0;
    for w in workers {
        done += w.await.expect("worker");
    }
    let wall = started.elapsed().as_secs_f64();

    let mut lat = Vec::with_capacity(5_000);
    for _ in 0..5_000 {
        let t = Instant::now();
        client.get_status(pb::GetStatusRequest { include_stats: true }).await.expect("status");
        lat.push(t.elapsed());
        if started.elapsed() > time_limit * 2 {
            break;
        }
    }
    lat.sort();
    let pct = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6;
    println!(
        "{}",
        serde_json::json!({"bench": "grpc_loopback", "deliberations": done, "concurrency": concurrency,
            "wall_s": wall, "deliberate_rps": done as f64 / wall,
            "get_status_calls": lat.len(), "get_status_p50_us": pct(0.50), "get_status_p99_us": pct(0.99)})
    );
    let _ = stop.send(());
    let _ = server.await;
}
