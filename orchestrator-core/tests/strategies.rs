//! Strategies at equal rules, and budgets: scripted agents, deterministic.

mod common;

use std::collections::BTreeSet;

use common::{builder, scripted};
use orchestrator_core::testing::ScriptedAgent;
use orchestrator_core::verify::TestSuite;
use orchestrator_core::{ErrorKind, Phase, Strategy, TokenUsage};

fn calls(agents: &[ScriptedAgent], phase: Phase) -> usize {
    agents.iter().map(|a| a.counters().calls(phase)).sum()
}

#[tokio::test]
async fn best_of_n_generates_once_per_agent_and_never_critiques() {
    let agents = scripted(3);
    let out = builder(&agents).rounds(2).strategy(Strategy::BestOfN).build().unwrap().run().await.unwrap();
    assert_eq!(out.results.len(), 3);
    assert_eq!((calls(&agents, Phase::Generate), calls(&agents, Phase::Critique)), (3, 0));
    assert_eq!(calls(&agents, Phase::Revise), 0);
    assert_eq!(out.strategy, Strategy::BestOfN);
    assert_eq!(out.rounds, 0);
    assert_eq!(out.budget.calls, 3);
}

#[tokio::test]
async fn single_makes_one_call_by_an_agent_the_seed_draws_not_the_first_seat() {
    let mut chosen = BTreeSet::new();
    for seed in 0..12u64 {
        let agents = scripted(3);
        let out =
            builder(&agents).quorum(3).strategy(Strategy::Single).seed(seed).build().unwrap().run().await.unwrap();
        assert_eq!(out.results.len(), 1);
        assert_eq!(out.budget.calls, 1);
        assert_eq!(out.selection.seed, seed);
        chosen.insert(out.winner_id.clone());
    }
    assert_eq!(chosen.len(), 3, "every seat is drawn for some seed: {chosen:?}");
}

#[tokio::test]
async fn deliberate_is_todays_protocol() {
    let agents = scripted(3);
    let out = builder(&agents).rounds(1).build().unwrap().run().await.unwrap();
    assert_eq!(out.strategy, Strategy::Deliberate);
    assert_eq!(out.budget.calls, 9, "3 generate + 3 critiques + 3 revisions");
    assert!(out.budget.exhausted.is_none());
}

#[tokio::test]
async fn max_calls_stops_issuing_calls_and_the_outcome_says_so() {
    let agents = scripted(3);
    let out = builder(&agents).rounds(2).max_calls(5).build().unwrap().run().await.unwrap();
    assert_eq!(out.results.len(), 3, "it finishes with what it has");
    assert_eq!(out.budget.calls, 5);
    assert_eq!((calls(&agents, Phase::Critique), calls(&agents, Phase::Revise)), (2, 0));
    assert!(out.budget.exhausted.as_deref().unwrap().contains("max_calls (5)"));
    assert!(out.failures.is_empty(), "a refused call is nobody's failure");
    assert_eq!(out.rounds, 1, "the second round never started");
}

#[tokio::test]
async fn max_tokens_total_refuses_a_call_that_could_pass_it() {
    let usage = TokenUsage { prompt_tokens: 60, completion_tokens: 40 };
    let agents: Vec<ScriptedAgent> = scripted(3).into_iter().map(|a| a.usage(usage)).collect();
    let out = builder(&agents).rounds(1).max_tokens_total(450).build().unwrap().run().await.unwrap();
    // 3 generate calls (300 tokens); one critique fits (300 + 100 <= 450), two in flight would not.
    assert_eq!(out.usage.total.total(), 400);
    assert_eq!(out.budget.tokens, 400);
    assert!(out.budget.tokens <= 450);
    assert!(out.budget.exhausted.as_deref().unwrap().contains("max_tokens_total (450)"));
    assert_eq!(out.results.len(), 3);
}

#[tokio::test]
async fn a_budget_of_nothing_is_refused_at_build() {
    let agents = scripted(2);
    let e = builder(&agents).max_calls(0).build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("max_calls"), "{e}");
    assert!(builder(&agents).max_tokens_total(0).build().unwrap_err().to_string().contains("max_tokens_total"));
}

const TESTS: &str = "from solution import add\n\ndef test_five():\n    assert add(2, 3) == 5\n\ndef test_zero():\n    assert add(0, 0) == 0\n";

fn code(body: &str) -> String {
    format!("```python\ndef add(a, b):\n    return {body}\n```\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_consistency_ranks_the_most_common_behaviour_first_best_of_n_the_best_score() {
    // Three agents write the same wrong behaviour in different words, two the right one.
    let replies = ["a - b", "(a - b)", "-b + a", "a + b", "b + a"];
    let make = || -> Vec<ScriptedAgent> {
        replies
            .iter()
            .enumerate()
            .map(|(i, r)| ScriptedAgent::new(format!("agent-dev-{i}"), "DEV").generate_replies([code(r)]))
            .collect()
    };
    let suite =
        || TestSuite { name: "unit".into(), language: "python".into(), code: TESTS.into(), timeout_seconds: 10 };
    let sc = builder(&make()).tests([suite()]).strategy(Strategy::SelfConsistency).seed(1).build().unwrap();
    let sc = sc.run().await.unwrap();
    assert!(["agent-dev-0", "agent-dev-1", "agent-dev-2"].contains(&sc.winner_id.as_str()), "{}", sc.winner_id);
    assert!(sc.selection.reason.contains("most common behaviour"), "{}", sc.selection.reason);
    let bon = builder(&make()).tests([suite()]).strategy(Strategy::BestOfN).seed(1).build().unwrap();
    let bon = bon.run().await.unwrap();
    assert!(["agent-dev-3", "agent-dev-4"].contains(&bon.winner_id.as_str()), "{}", bon.winner_id);
}
