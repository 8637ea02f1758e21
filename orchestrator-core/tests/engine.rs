//! The round engine: protocol, ranking, failures, quorum, timeouts, deadline, cancellation, events.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{builder, dyns, scripted};
use orchestrator_core::testing::{Behaviour, BehaviourAgent, ScriptedAgent};
use orchestrator_core::{Agent, Deliberation, Error, ErrorKind, Event, Phase, TokenUsage, Topology};
use proptest::prelude::*;

#[tokio::test]
async fn every_agent_generates_once_and_critiques_and_revises_once_per_round() {
    let agents = scripted(4);
    let out = builder(&agents).rounds(3).build().unwrap().run().await.unwrap();
    for a in &agents {
        let c = a.counters();
        assert_eq!(c.calls(Phase::Generate), 1);
        assert_eq!(c.calls(Phase::Critique), 3);
        assert_eq!(c.calls(Phase::Revise), 3);
        assert_eq!(c.critiques_received.load(Ordering::SeqCst), 3, "ring: one critique per round");
    }
    assert_eq!(out.results.len(), 4);
    for r in &out.results {
        assert_eq!(r.proposal.revisions.len(), 3, "one history entry per round");
        // The author revised its own text: the first revision is its own generated proposal.
        assert!(r.proposal.revisions[0].starts_with(&format!("Proposal by {}", r.proposal.author_id)));
        assert!(r.proposal.content.contains("## Revision"));
        assert_eq!(r.proposal.author_role, "DEV");
    }
    assert!(out.failures.is_empty());
    assert_eq!(out.rounds, 3);
}

#[tokio::test]
async fn ring_reviewer_i_reviews_author_i_plus_one() {
    let agents = scripted(3);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    builder(&agents)
        .events(Arc::new(move |e: Event| sink.lock().unwrap().push(e)))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    let mut pairs: Vec<(String, String)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::CritiqueGiven { reviewer_id, author_id, .. } => Some((reviewer_id.clone(), author_id.clone())),
            _ => None,
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("agent-dev-001".into(), "agent-dev-002".into()),
            ("agent-dev-002".into(), "agent-dev-003".into()),
            ("agent-dev-003".into(), "agent-dev-001".into()),
        ]
    );
}

#[tokio::test]
async fn all_to_all_gives_each_proposal_n_minus_one_critiques() {
    let agents = scripted(5);
    builder(&agents).topology(Topology::AllToAll).rounds(2).build().unwrap().run().await.unwrap();
    for a in &agents {
        let c = a.counters();
        assert_eq!(c.calls(Phase::Critique), 4 * 2);
        assert_eq!(c.critiques_received.load(Ordering::SeqCst), 4 * 2);
    }
}

#[tokio::test]
async fn zero_rounds_means_no_peer_review() {
    let agents = scripted(3);
    let out = builder(&agents).rounds(0).build().unwrap().run().await.unwrap();
    for a in &agents {
        assert_eq!(a.counters().calls(Phase::Critique), 0);
        assert_eq!(a.counters().calls(Phase::Revise), 0);
    }
    assert!(out.results.iter().all(|r| r.proposal.revisions.is_empty()));
}

#[tokio::test]
async fn ranking_prefers_real_quality_and_checks_are_honest() {
    let agents: Vec<Arc<dyn Agent>> = vec![
        Arc::new(BehaviourAgent::new("poor", "DEV", Behaviour::Poor)),
        Arc::new(BehaviourAgent::new("excellent", "DEV", Behaviour::Excellent)),
        Arc::new(BehaviourAgent::new("concise", "DEV", Behaviour::Concise)),
    ];
    let out = Deliberation::builder()
        .task("Build a login endpoint")
        .requirement("Unit tests")
        .requirement("Error handling")
        .agents(agents)
        .scorer(Arc::new(orchestrator_core::scorers::PolicyScorer::new()), 1.0)
        .scorer(Arc::new(orchestrator_core::scorers::RequirementsScorer::new()), 1.0)
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    assert_eq!(out.winner_id, out.results[0].proposal.author_id);
    let poor = out.results.iter().find(|r| r.proposal.author_id == "poor").unwrap();
    assert_eq!(poor.rank, 3);
    assert!(!poor.all_passed);
    assert!(poor.score < 0.5, "poor score {}", poor.score);
    let policy = poor.checks.iter().find(|c| c.name == "policy").unwrap();
    assert!(!policy.passed);
    assert!(policy.details.violations.iter().any(|v| v.starts_with("hardcoded-password")));
    let best = &out.results[0];
    assert!(best.all_passed);
    assert!((best.score - 1.0).abs() < 1e-9);
}

#[tokio::test]
async fn a_failing_agent_is_dropped_and_reported() {
    let mut agents = scripted(3);
    agents[1] = agents[1].clone().fail_on(Phase::Generate, 1);
    let out = builder(&agents).build().unwrap().run().await.unwrap();
    assert_eq!(out.results.len(), 2);
    assert_eq!(out.failures.len(), 1);
    let f = &out.failures[0];
    assert_eq!(f.agent_id, "agent-dev-002");
    assert_eq!(f.phase, Phase::Generate);
    assert!(f.reason.contains("scripted failure"));
    assert!(out.results.iter().all(|r| r.proposal.author_id != "agent-dev-002"));
    // Ring over the two survivors: each still got one critique.
    assert_eq!(agents[0].counters().critiques_received.load(Ordering::SeqCst), 1);
    assert_eq!(agents[2].counters().critiques_received.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn failing_critic_and_reviser_are_recorded_with_phase_and_round() {
    let mut agents = scripted(4);
    agents[0] = agents[0].clone().fail_on(Phase::Critique, 2);
    agents[3] = agents[3].clone().fail_on(Phase::Revise, 1);
    let out = builder(&agents).rounds(2).build().unwrap().run().await.unwrap();
    let mut got: Vec<(String, Phase, u32)> =
        out.failures.iter().map(|f| (f.agent_id.clone(), f.phase, f.round)).collect();
    got.sort();
    assert_eq!(got, vec![("agent-dev-001".into(), Phase::Critique, 2), ("agent-dev-004".into(), Phase::Revise, 1)]);
    assert_eq!(out.results.len(), 2);
}

#[tokio::test]
async fn quorum_failure_returns_error_listing_every_failure() {
    let mut agents = scripted(3);
    agents[0] = agents[0].clone().fail_on(Phase::Generate, 1);
    agents[1] = agents[1].clone().fail_on(Phase::Generate, 1);
    let err = builder(&agents).quorum(2).build().unwrap().run().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuorumNotReached);
    match &err {
        Error::QuorumNotReached { quorum, surviving, failures } => {
            assert_eq!((*quorum, *surviving), (2, 1));
            assert_eq!(failures.len(), 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("agent-dev-001") && msg.contains("agent-dev-002"), "{msg}");
}

#[tokio::test]
async fn empty_reply_is_a_failure_not_a_proposal() {
    let agents = vec![ScriptedAgent::new("a", "DEV").generate_replies(["   "]), ScriptedAgent::new("b", "DEV")];
    let out = builder(&agents).build().unwrap().run().await.unwrap();
    assert_eq!(out.results.len(), 1);
    assert_eq!(out.failures[0].agent_id, "a");
    assert!(out.failures[0].reason.contains("empty"));
}

#[tokio::test(start_paused = true)]
async fn per_call_timeout_fires_under_virtual_clock() {
    let agents = vec![
        ScriptedAgent::new("slow", "DEV").latency(Duration::from_secs(30)),
        ScriptedAgent::new("fast-1", "DEV").latency(Duration::from_millis(100)),
        ScriptedAgent::new("fast-2", "DEV").latency(Duration::from_millis(100)),
    ];
    let started = tokio::time::Instant::now();
    let out = builder(&agents).call_timeout(Duration::from_secs(1)).build().unwrap().run().await.unwrap();
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].agent_id, "slow");
    assert_eq!(out.failures[0].error_kind, ErrorKind::DeadlineExceeded);
    assert!(out.failures[0].reason.contains("timed out"));
    // generate waits for the timeout (1 s), then one round of 100 ms critiques and revisions.
    assert_eq!(started.elapsed(), Duration::from_millis(1200));
    assert_eq!(agents[0].counters().cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn deadline_cancels_every_in_flight_call() {
    let agents: Vec<ScriptedAgent> =
        (0..3).map(|i| ScriptedAgent::new(format!("a{i}"), "DEV").latency(Duration::from_secs(10))).collect();
    let started = tokio::time::Instant::now();
    let err = builder(&agents).deadline(Duration::from_secs(15)).build().unwrap().run().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeadlineExceeded);
    assert_eq!(started.elapsed(), Duration::from_secs(15));
    for a in &agents {
        let c = a.counters();
        assert_eq!(c.calls(Phase::Critique), 1, "critiques were in flight");
        assert_eq!(c.cancelled.load(Ordering::SeqCst), 1, "the in-flight critique was cancelled");
        assert_eq!(c.in_flight.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_seconds_constraint_becomes_the_deadline() {
    let agents = vec![ScriptedAgent::new("a", "DEV").latency(Duration::from_secs(5))];
    let c = orchestrator_core::Constraints { timeout_seconds: 2, ..Default::default() };
    let err = builder(&agents).constraints(c).build().unwrap().run().await.unwrap_err();
    assert!(matches!(err, Error::DeadlineExceeded { deadline, .. } if deadline == Duration::from_secs(2)));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_cancels_in_flight_calls() {
    let agents: Vec<ScriptedAgent> =
        (0..3).map(|i| ScriptedAgent::new(format!("a{i}"), "DEV").latency(Duration::from_secs(10))).collect();
    let d = builder(&agents).build().unwrap();
    let handle = tokio::spawn(async move { d.run().await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(agents.iter().map(|a| a.counters().in_flight.load(Ordering::SeqCst)).sum::<usize>(), 3);
    handle.abort();
    let _ = handle.await;
    for a in &agents {
        assert_eq!(a.counters().in_flight.load(Ordering::SeqCst), 0);
        assert_eq!(a.counters().cancelled.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn max_concurrency_bounds_calls_in_flight() {
    let agents: Vec<ScriptedAgent> =
        (0..6).map(|i| ScriptedAgent::new(format!("a{i}"), "DEV").latency(Duration::from_millis(10))).collect();
    let started = tokio::time::Instant::now();
    builder(&agents).max_concurrency(2).build().unwrap().run().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(90), "6 calls, 2 at a time, 3 phases");
    let started = tokio::time::Instant::now();
    builder(&agents).build().unwrap().run().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(30), "unbounded: one wave per phase");
}

#[tokio::test]
async fn events_are_emitted_in_protocol_order() {
    let agents = scripted(3);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = builder(&agents).events(Arc::new(tx)).build().unwrap().run().await.unwrap();
    let mut names = Vec::new();
    while let Ok(e) = rx.try_recv() {
        names.push(e.name());
    }
    assert_eq!(names.first(), Some(&"deliberation_started"));
    assert_eq!(names.last(), Some(&"completed"));
    assert_eq!(names.iter().filter(|n| **n == "proposal_generated").count(), 3);
    assert_eq!(names.iter().filter(|n| **n == "critique_given").count(), 3);
    assert_eq!(names.iter().filter(|n| **n == "proposal_revised").count(), 3);
    assert_eq!(names.iter().filter(|n| **n == "proposal_scored").count(), 3);
    let last_generated = names.iter().rposition(|n| *n == "proposal_generated").unwrap();
    let first_critique = names.iter().position(|n| *n == "critique_given").unwrap();
    assert!(last_generated < first_critique);
    assert!(!out.winner_id.is_empty());
}

#[tokio::test]
async fn token_usage_is_recorded_per_agent_and_phase() {
    let u = TokenUsage { prompt_tokens: 10, completion_tokens: 5 };
    let agents: Vec<ScriptedAgent> = scripted(3).into_iter().map(|a| a.usage(u)).collect();
    let out = builder(&agents).build().unwrap().run().await.unwrap();
    assert_eq!(out.usage.calls, 9);
    assert_eq!(out.usage.total.total(), 9 * 15);
    assert_eq!(out.usage.per_agent["agent-dev-001"].prompt_tokens, 30);
    assert_eq!(out.usage.per_phase[&Phase::Critique].completion_tokens, 15);
}

#[test]
fn build_rejects_bad_values_naming_the_field() {
    let agents = scripted(2);
    let field = |r: orchestrator_core::Result<Deliberation>| match r.unwrap_err() {
        Error::InvalidInput { field, message } => format!("{field}: {message}"),
        other => panic!("unexpected {other:?}"),
    };
    assert!(field(Deliberation::builder().task("x").build()).starts_with("agents"));
    assert!(field(builder(&agents).task("  \n").build()).starts_with("task_description"));
    let dup = vec![ScriptedAgent::new("same", "DEV"), ScriptedAgent::new("same", "DEV")];
    assert!(field(builder(&dup).build()).contains("duplicate agent id"));
    let m = field(builder(&agents).rounds(11).build());
    assert!(m.starts_with("rounds") && m.contains("10"), "{m}");
    let m = field(builder(&agents).quorum(3).build());
    assert!(m.starts_with("quorum") && m.contains('2'), "{m}");
    assert!(field(builder(&agents).quorum(0).build()).starts_with("quorum"));
    let m = field(builder(&agents).scorer(Arc::new(orchestrator_core::scorers::PolicyScorer::new()), 0.0).build());
    assert!(m.starts_with("scorers[2].weight"), "{m}");
    let m = field(builder(&agents).scorer(Arc::new(orchestrator_core::scorers::PolicyScorer::new()), f64::NAN).build());
    assert!(m.starts_with("scorers[2].weight"), "{m}");
    assert!(field(builder(&agents).task("x".repeat(70_000)).build()).contains("limit is 65536"));
    let many = (0..101).fold(builder(&agents), |b, i| b.requirement(format!("r{i}")));
    assert!(field(many.build()).starts_with("constraints.requirements"));
    assert!(field(builder(&agents).call_timeout(Duration::ZERO).build()).starts_with("call_timeout"));
    assert!(field(builder(&agents).max_concurrency(0).build()).starts_with("max_concurrency"));
}

#[tokio::test]
async fn max_iterations_caps_rounds() {
    let agents = scripted(2);
    let c = orchestrator_core::Constraints { max_iterations: 1, ..Default::default() };
    let out = builder(&agents).constraints(c).rounds(4).build().unwrap().run().await.unwrap();
    assert_eq!(out.rounds, 1);
}

fn run_blocking(d: Deliberation) -> orchestrator_core::Result<orchestrator_core::DeliberationOutcome> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(d.run())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn invariants_hold_for_any_council(
        n in 1usize..7,
        rounds in 0u32..4,
        all_to_all in any::<bool>(),
        failing in proptest::collection::vec(any::<bool>(), 7),
    ) {
        let agents: Vec<ScriptedAgent> = (0..n).map(|i| {
            let a = ScriptedAgent::new(format!("agent-{i}"), "DEV").generate_replies([
                if i % 2 == 0 { "Covers unit tests.".to_owned() } else { format!("Plain text {i}") },
            ]);
            if failing[i] && i > 0 { a.fail_on(Phase::Generate, 1) } else { a }
        }).collect();
        let topology = if all_to_all { Topology::AllToAll } else { Topology::Ring };
        let out = run_blocking(builder(&agents).rounds(rounds).topology(topology).build().unwrap()).unwrap();
        let expected_failures = (1..n).filter(|&i| failing[i]).count();
        prop_assert_eq!(out.failures.len(), expected_failures);
        prop_assert_eq!(out.results.len(), n - expected_failures);
        let ranks: Vec<u32> = out.results.iter().map(|r| r.rank).collect();
        prop_assert_eq!(ranks, (1..=out.results.len() as u32).collect::<Vec<_>>());
        for w in out.results.windows(2) {
            prop_assert!(w[0].score >= w[1].score);
        }
        prop_assert_eq!(&out.winner_id, &out.results[0].proposal.author_id);
        let survivors = out.results.len();
        for r in &out.results {
            prop_assert!((0.0..=1.0).contains(&r.score));
            let expected = if survivors > 1 { rounds as usize } else { 0 };
            prop_assert_eq!(r.proposal.revisions.len(), expected);
        }
        for a in &agents {
            prop_assert!(a.counters().calls(Phase::Generate) == 1);
        }
    }
}

#[tokio::test]
async fn deliberations_are_independent_when_run_concurrently() {
    let agents = scripted(3);
    let ds: Vec<Deliberation> = (0..50).map(|i| builder(&agents).task(format!("task {i}")).build().unwrap()).collect();
    let outs = futures::future::join_all(ds.iter().map(|d| d.run())).await;
    for (i, o) in outs.into_iter().enumerate() {
        let o = o.unwrap();
        assert!(o.results.iter().all(|r| r.proposal.revisions[0].contains(&format!("task {i}"))));
    }
    let _ = dyns(&agents);
}
