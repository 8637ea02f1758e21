//! The three shared workloads (see `../shared/bench/README.md`) with scripted agents, on one thread.
//!
//!     cargo run --release -p orchestrator-core --example bench_workloads -- --workload all
//!
//! Prints one JSON line per workload.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator_core::scorers::{PolicyRule, PolicyScorer, RequirementsScorer};
use orchestrator_core::testing::ScriptedAgent;
use orchestrator_core::{Agent, Constraints, Deliberation, Scorer};

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

fn setup(n: usize, latency: Duration) -> Setup {
    let proposal = PROPOSAL_PART.repeat(2);
    let agents = (1..=n)
        .map(|i| {
            let id = format!("agent-dev-{i:03}");
            let text = format!("# Proposal by {id}\n{proposal}");
            Arc::new(ScriptedAgent::new(id, "DEV").generate_replies([text]).latency(latency)) as Arc<dyn Agent>
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
    let s = setup(3, Duration::ZERO);
    let t = Instant::now();
    for i in 0..count {
        let out = deliberation(&s, format!("Implement user authentication #{i}"), 1).run().await.expect("w1 run");
        assert_eq!(out.results.len(), 3);
    }
    let dt = t.elapsed().as_secs_f64();
    serde_json::json!({"workload": "w1", "impl": "rust-orchestrator-core", "deliberations": count, "wall_s": dt,
        "deliberations_per_s": count as f64 / dt, "us_per_deliberation": dt / count as f64 * 1e6, "peak_rss_mb": peak_rss_mb()})
}

async fn fanout(name: &str, n_delib: usize, n_agents: usize, rounds: u32, latency_ms: u64) -> serde_json::Value {
    let s = setup(n_agents, Duration::from_millis(latency_ms));
    let delibs: Vec<Deliberation> = (0..n_delib).map(|i| deliberation(&s, format!("task {i}"), rounds)).collect();
    let t = Instant::now();
    let outs = futures::future::join_all(delibs.iter().map(|d| d.run())).await;
    let dt = t.elapsed().as_secs_f64();
    for o in &outs {
        assert_eq!(o.as_ref().expect("fan-out run").results.len(), n_agents);
    }
    let ideal = (1 + 2 * rounds) as f64 * latency_ms as f64 / 1000.0;
    serde_json::json!({"workload": name, "impl": "rust-orchestrator-core", "deliberations": n_delib, "agents": n_agents,
        "rounds": rounds, "latency_ms": latency_ms, "wall_s": dt, "ideal_s": ideal, "overhead_s": dt - ideal,
        "peak_rss_mb": peak_rss_mb()})
}

fn main() {
    let mut workload = "all".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--workload" => workload = args.next().unwrap_or_default(),
            other => {
                eprintln!("unknown argument {other}; usage: bench_workloads [--workload w1|w2|w3|all]");
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
    // One thread, as the workloads specify.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    for w in todo {
        let line = rt.block_on(async {
            match w {
                "w1" => w1(20_000).await,
                "w2" => fanout("w2", 1000, 3, 1, 50).await,
                _ => fanout("w3", 100, 5, 3, 20).await,
            }
        });
        println!("{line}");
    }
}
