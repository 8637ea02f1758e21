//! The three shared workloads (see `bench/reference/README.md`) with scripted agents, on one thread.
//!
//!     cargo run --release -p orchestrator-core --example bench_workloads -- --workload all
//!
//! Prints one JSON line per workload. `--concurrency N` runs N deliberations at once in w2 and w3
//! (default 1,000 and 100), e.g. `--workload w2 --concurrency 10000`.
//!
//! The agents are the reference's: fixed text of about 600 bytes after a given latency. Their
//! latency is simulated with a precise timer thread (`--timer precise`, the default) because
//! tokio's timer wheel rounds every sleep up to the next millisecond, which would add up to 1 ms
//! per phase that no real agent (whose reply arrives as network I/O) pays. `--timer tokio` uses
//! `tokio::time::sleep` instead, to show that rounding.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use orchestrator_core::scorers::{PolicyRule, PolicyScorer, RequirementsScorer};
use orchestrator_core::{Agent, AgentError, AgentReply, Constraints, Critique, Deliberation, Proposal, Scorer, Task};
use tokio::sync::oneshot;

// jemalloc, as in the service binary: glibc malloc spent a quarter of the fan-out CPU time in malloc/free.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One pending wake-up of the precise timer.
struct Pending {
    at: Instant,
    seq: u64,
    tx: oneshot::Sender<()>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A timer thread with sub-millisecond precision (futex timeouts), waking tokio tasks.
fn precise_timer() -> &'static mpsc::Sender<(Instant, oneshot::Sender<()>)> {
    static TX: OnceLock<mpsc::Sender<(Instant, oneshot::Sender<()>)>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<(Instant, oneshot::Sender<()>)>();
        std::thread::spawn(move || {
            let mut heap: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
            let mut seq = 0u64;
            loop {
                let now = Instant::now();
                while heap.peek().is_some_and(|Reverse(p)| p.at <= now) {
                    if let Some(Reverse(p)) = heap.pop() {
                        let _ = p.tx.send(());
                    }
                }
                let next = match heap.peek() {
                    Some(Reverse(p)) => rx.recv_timeout(p.at.saturating_duration_since(Instant::now())),
                    None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                };
                match next {
                    Ok((at, tx)) => {
                        seq += 1;
                        heap.push(Reverse(Pending { at, seq, tx }));
                        // Take everything already queued before sleeping again.
                        while let Ok((at, tx)) = rx.try_recv() {
                            seq += 1;
                            heap.push(Reverse(Pending { at, seq, tx }));
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        tx
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Timer {
    Precise,
    Tokio,
}

async fn wait(latency: Duration, timer: Timer) {
    if latency.is_zero() {
        return;
    }
    match timer {
        Timer::Tokio => tokio::time::sleep(latency).await,
        Timer::Precise => {
            let (tx, rx) = oneshot::channel();
            precise_timer().send((Instant::now() + latency, tx)).expect("timer thread");
            let _ = rx.await;
        }
    }
}

/// The reference's agent: same texts, same latency on every call.
struct BenchAgent {
    id: String,
    latency: Duration,
    timer: Timer,
    proposal: String,
}

#[async_trait]
impl Agent for BenchAgent {
    fn id(&self) -> &str {
        &self.id
    }
    fn role(&self) -> &str {
        "DEV"
    }
    async fn generate(&self, task: &Task) -> Result<AgentReply, AgentError> {
        wait(self.latency, self.timer).await;
        let head: String = task.description.chars().take(60).collect();
        Ok(AgentReply::text(format!("# Proposal by {} for: {head}\n{}", self.id, self.proposal)))
    }
    async fn critique(&self, task: &Task, peer: &Proposal) -> Result<AgentReply, AgentError> {
        wait(self.latency, self.timer).await;
        let rubric: String = task.constraints.rubric.chars().take(40).collect();
        Ok(AgentReply::text(format!(
            "Review by {} against '{rubric}': tighten error handling; {} chars.",
            self.id,
            peer.content.len()
        )))
    }
    async fn revise(&self, _task: &Task, own: &Proposal, critiques: &[Critique]) -> Result<AgentReply, AgentError> {
        wait(self.latency, self.timer).await;
        let mut text = String::with_capacity(own.content.len() + 16 + 81 * critiques.len());
        text.push_str(&own.content);
        text.push_str("\n## Revision\n");
        for (i, c) in critiques.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(&c.text[..c.text.len().min(80)]);
        }
        Ok(AgentReply::text(text))
    }
}

const PROPOSAL_PART: &str =
    "## Approach\nValidate input at the boundary, hash passwords with argon2, issue short-lived JWTs \
signed with a rotating key, and keep refresh tokens server-side.\n## Tests\nUnit tests cover \
expiry, tampering and replay; property tests cover the token codec.\n## Risks\nClock skew \
between services; mitigated with a 30 s leeway.\n";

struct Setup {
    agents: Vec<Arc<dyn Agent>>,
    policy: Arc<dyn Scorer>,
    requirements: Arc<dyn Scorer>,
    constraints: Constraints,
}

fn setup(n: usize, latency: Duration, timer: Timer) -> Setup {
    let proposal = PROPOSAL_PART.repeat(2);
    let agents = (1..=n)
        .map(|i| {
            Arc::new(BenchAgent { id: format!("agent-dev-{i:03}"), latency, timer, proposal: proposal.clone() })
                as Arc<dyn Agent>
        })
        .collect();
    // The reference's policy patterns, so both sides do the same work.
    let rules = vec![
        PolicyRule::new("api-key", r#"(?i)api[_-]?key\s*=\s*['"][^'"]+"#),
        PolicyRule::new("password", r#"(?i)password\s*=\s*['"]"#),
        PolicyRule::new("todo", r"\bTODO\b"),
        PolicyRule::new("private-key", r"BEGIN (RSA|EC) PRIVATE KEY"),
    ];
    Setup {
        agents,
        policy: Arc::new(PolicyScorer::with_rules(rules).expect("rules compile")),
        requirements: Arc::new(RequirementsScorer::new()),
        constraints: Constraints {
            rubric: "Secure, maintainable code".into(),
            requirements: vec!["Unit tests".into(), "Error handling".into()],
            ..Default::default()
        },
    }
}

fn deliberation(s: &Setup, task: String, rounds: u32) -> Deliberation {
    Deliberation::builder()
        .task(task)
        .task_id("bench")
        .role("DEV")
        .constraints(s.constraints.clone())
        .agents(s.agents.iter().cloned())
        .rounds(rounds)
        .scorer(s.policy.clone(), 1.0)
        .scorer(s.requirements.clone(), 1.0)
        .build()
        .expect("valid deliberation")
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn w1(count: usize) -> serde_json::Value {
    let s = setup(3, Duration::ZERO, Timer::Tokio);
    let t = Instant::now();
    for i in 0..count {
        let out = deliberation(&s, format!("Implement user authentication #{i}"), 1).run().await.expect("w1 run");
        assert_eq!(out.results.len(), 3);
    }
    let dt = t.elapsed().as_secs_f64();
    serde_json::json!({"workload": "w1", "impl": "rust-orchestrator-core", "threads": 1, "deliberations": count, "wall_s": dt,
        "deliberations_per_s": count as f64 / dt, "us_per_deliberation": dt / count as f64 * 1e6, "peak_rss_mb": peak_rss_mb()})
}

async fn fanout(
    name: &str,
    n_delib: usize,
    n_agents: usize,
    rounds: u32,
    latency_ms: u64,
    timer: Timer,
    keep_outcomes: bool,
) -> serde_json::Value {
    let s = setup(n_agents, Duration::from_millis(latency_ms), timer);
    let delibs: Vec<Deliberation> = (0..n_delib).map(|i| deliberation(&s, format!("task {i}"), rounds)).collect();
    let t = Instant::now();
    // Each deliberation is its own task, as each RPC is in the service, so every worker helps.
    // Each outcome is checked and dropped as it arrives, as the service sends and drops it; the
    // memory figure is what deliberations in flight cost (`--keep-outcomes` holds all of them
    // until the end, as the reference's asyncio.gather does).
    let mut set = tokio::task::JoinSet::new();
    for d in delibs {
        set.spawn(async move { d.run().await });
    }
    let mut kept = Vec::new();
    while let Some(out) = set.join_next().await {
        let out = out.expect("task").expect("fan-out run");
        assert_eq!(out.results.len(), n_agents);
        if keep_outcomes {
            kept.push(out);
        }
    }
    let dt = t.elapsed().as_secs_f64();
    drop(kept);
    let ideal = (1 + 2 * rounds) as f64 * latency_ms as f64 / 1000.0;
    let threads = tokio::runtime::Handle::current().metrics().num_workers();
    serde_json::json!({"workload": name, "impl": "rust-orchestrator-core", "threads": threads, "deliberations": n_delib, "agents": n_agents,
        "rounds": rounds, "latency_ms": latency_ms, "outcomes_kept": keep_outcomes, "timer": if timer == Timer::Precise { "precise" } else { "tokio" }, "wall_s": dt, "ideal_s": ideal, "overhead_s": dt - ideal,
        "peak_rss_mb": peak_rss_mb()})
}

fn main() {
    let mut workload = "all".to_owned();
    let mut timer = Timer::Precise;
    let mut latency_override: Option<u64> = None;
    let mut concurrency: Option<usize> = None;
    let mut keep_outcomes = false;
    let mut threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--workload" => workload = args.next().unwrap_or_default(),
            "--timer" => {
                timer = match args.next().as_deref() {
                    Some("tokio") => Timer::Tokio,
                    Some("precise") => Timer::Precise,
                    other => {
                        eprintln!("--timer must be precise or tokio (got {other:?})");
                        std::process::exit(2);
                    }
                }
            }
            "--latency-ms" => latency_override = args.next().and_then(|t| t.parse().ok()),
            "--concurrency" => concurrency = args.next().and_then(|t| t.parse().ok()).filter(|c| *c >= 1),
            "--keep-outcomes" => keep_outcomes = true,
            "--threads" => threads = args.next().and_then(|t| t.parse().ok()).filter(|t| *t >= 1).unwrap_or(1),
            other => {
                eprintln!("unknown argument {other}; usage: bench_workloads [--workload w1|w2|w3|all] [--threads N] [--timer precise|tokio] [--latency-ms N] [--concurrency N] [--keep-outcomes]");
                std::process::exit(2);
            }
        }
    }
    let todo: Vec<&str> = match workload.as_str() {
        "all" => vec!["w1", "w2", "w3"],
        "w1" | "w2" | "w3" => vec![workload.as_str()],
        other => {
            eprintln!("--workload must be one of w1, w2, w3, all (got {other:?})");
            std::process::exit(2);
        }
    };
    // w1 runs on one thread, as the workload specifies; the fan-out workloads use every core
    // (`--threads 1` runs them on one thread too).
    for w in todo {
        let rt = if w == "w1" || threads == 1 {
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
        } else {
            tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().expect("runtime")
        };
        let line = rt.block_on(async {
            match w {
                "w1" => w1(20_000).await,
                "w2" => {
                    fanout(
                        "w2",
                        concurrency.unwrap_or(1000),
                        3,
                        1,
                        latency_override.unwrap_or(50),
                        timer,
                        keep_outcomes,
                    )
                    .await
                }
                _ => {
                    fanout("w3", concurrency.unwrap_or(100), 5, 3, latency_override.unwrap_or(20), timer, keep_outcomes)
                        .await
                }
            }
        });
        println!("{line}");
    }
}
