//! Soak test (run by hand, not in CI): the release `orchestrator` binary under mixed RPCs for a
//! while, its LLM agents on a fake model that injects faults (429, 500, hangs, huge replies,
//! malformed JSON). Prints requests served, errors by status code, RSS at start and end, and
//! whether any accepted submission was lost.
//!
//!     cargo build --release -p orchestrator-grpc
//!     cargo run --release -p orchestrator-grpc --example soak -- [seconds=600] [concurrency=16]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orchestrator_core::testing::{fake_model_server, FakeReply};
use orchestrator_grpc::pb;
use orchestrator_grpc::pb::orchestrator_service_client::OrchestratorServiceClient;

/// An OpenAI-compatible fake model; the `n`-th request gets a fault by `n % 20`.
fn fake_model() -> String {
    let raw = |status: &str, body: &str| FakeReply::Raw { status: status.into(), body: body.into() };
    fake_model_server(move |n, _| match n % 20 {
        0 => raw("429 Too Many Requests\r\nretry-after: 1", "{\"error\": \"slow down\"}"),
        1 => raw("500 Internal Server Error", "{\"error\": \"boom\"}"),
        2 => FakeReply::Hang,
        3 => FakeReply::Text("x".repeat(5 << 20)),            // huge
        4 => raw("200 OK", "{\"choices\": [ {\"message\": "), // malformed
        _ => FakeReply::Text("```python\ndef add(a, b):\n    return a + b\n```".into()),
    })
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.to_owned()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn request(i: u64) -> pb::DeliberateRequest {
    pb::DeliberateRequest {
        task_description: format!("Write add(a, b) returning the sum. Variant {}", i % 7),
        role: "DEV".into(),
        constraints: Some(pb::TaskConstraints {
            rubric: "Correct".into(),
            tests: vec![pb::TestSuite {
                name: "unit".into(),
                language: "python".into(),
                code: "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n".into(),
                timeout_seconds: 5,
            }],
            ..Default::default()
        }),
        rounds: 1,
        num_agents: 0,
        ..Default::default()
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(600);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let bin = std::env::var("ORCHESTRATOR_BIN").unwrap_or_else(|_| "target/release/orchestrator".into());
    let model = fake_model();
    let data = tempfile::tempdir().expect("data dir");
    let mut child = Command::new(&bin)
        .arg("serve")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GRPC_PORT", "0")
        .env("METRICS_PORT", "0")
        .env("RUST_LOG", "error")
        .env("ORCHESTRATOR_DATA_DIR", data.path())
        .env("LLM_BASE_URL", &model)
        .env("LLM_MODEL", "m")
        .env("LLM_TIMEOUT_SECONDS", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e} (cargo build --release -p orchestrator-grpc)"));
    let pid = child.id();
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(p) = line.strip_prefix("Orchestrator Service listening on port ") {
                let _ = tx.send(p.trim().parse::<u16>().unwrap_or(0));
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(30)).expect("the server did not start");
    let addr = format!("http://127.0.0.1:{port}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_start = rss_kib(pid);
    let codes: Arc<Mutex<BTreeMap<String, u64>>> = Default::default();
    let accepted: Arc<Mutex<Vec<String>>> = Default::default();
    let served = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (addr, codes, accepted, served) = (addr.clone(), codes.clone(), accepted.clone(), served.clone());
        workers.push(tokio::spawn(async move {
            let mut c =
                OrchestratorServiceClient::connect(addr).await.expect("connect").max_decoding_message_size(64 << 20);
            let mut i = w as u64;
            while Instant::now() < end {
                i += concurrency as u64;
                let code = match i % 6 {
                    0 | 1 => c.deliberate(request(i)).await.map(|_| ()),
                    2 => {
                        let id = format!("soak-{i}");
                        let r = c
                            .submit_deliberation(pb::SubmitDeliberationRequest {
                                task_id: id.clone(),
                                request: Some(request(i)),
                                retry: false,
                            })
                            .await;
                        if r.is_ok() {
                            accepted.lock().expect("lock").push(id);
                        }
                        r.map(|_| ())
                    }
                    3 => match c.stream_deliberation(request(i)).await {
                        Ok(s) => {
                            let mut s = s.into_inner();
                            loop {
                                match s.message().await {
                                    Ok(Some(_)) => continue,
                                    Ok(None) => break Ok(()),
                                    Err(e) => break Err(e),
                                }
                            }
                        }
                        Err(e) => Err(e),
                    },
                    4 => c.get_status(pb::GetStatusRequest { include_stats: true }).await.map(|_| ()),
                    _ => c.get_metrics(pb::GetMetricsRequest::default()).await.map(|_| ()),
                };
                served.fetch_add(1, Ordering::Relaxed);
                let key = match code {
                    Ok(()) => "OK".to_owned(),
                    Err(e) => format!("{:?}", e.code()),
                };
                *codes.lock().expect("lock").entry(key).or_default() += 1;
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    // Every accepted submission must reach a final state (or still be queued/running).
    let mut c = OrchestratorServiceClient::connect(addr.clone()).await.expect("connect");
    let ids = accepted.lock().expect("lock").clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut lost = 0;
    let mut unfinished = 0;
    for id in &ids {
        loop {
            match c.get_deliberation_result(pb::GetDeliberationResultRequest { task_id: id.clone() }).await {
                Ok(r) => {
                    let r = r.into_inner();
                    let s = r.status();
                    if matches!(
                        s,
                        pb::DeliberationStatus::Completed
                            | pb::DeliberationStatus::Failed
                            | pb::DeliberationStatus::Timeout
                    ) {
                        break;
                    }
                    if Instant::now() > deadline {
                        unfinished += 1;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(_) => {
                    lost += 1;
                    break;
                }
            }
        }
    }
    let rss_end = rss_kib(pid);
    let healthy = c.get_status(pb::GetStatusRequest { include_stats: false }).await.is_ok();
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds, "concurrency": concurrency, "requests_served": served.load(Ordering::Relaxed),
            "status_codes": *codes.lock().expect("lock"), "rss_kib_start": rss_start, "rss_kib_end": rss_end,
            "submissions_accepted": ids.len(), "submissions_lost": lost, "submissions_unfinished_after_120s": unfinished,
            "healthy_at_end": healthy,
        })
    );
}
