//! Verified selection: tests decide, ties never go to a seat, and every outcome says why.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use orchestrator_core::scorers::{EchoScorer, PolicyScorer, RequirementsScorer};
use orchestrator_core::testing::ScriptedAgent;
use orchestrator_core::verify::TestSuite;
use orchestrator_core::{Agent, Deliberation, DeliberationBuilder, TieBreak};

const TESTS: &str = "from solution import add\n\ndef test_small():\n    assert add(1, 2) == 3\n\ndef test_zero():\n    assert add(0, 0) == 0\n";
const CORRECT: &str = "Here is my implementation.\n```python\ndef add(a, b):\n    return a + b\n```\n";
const WRONG_ONE: &str = "```python\ndef add(a, b):\n    return a + b + 1\n```\n"; // fails both
const WRONG_HALF: &str = "```python\ndef add(a, b):\n    return 3\n```\n"; // passes test_small only

fn agent(id: &str, content: &str) -> Arc<dyn Agent> {
    Arc::new(ScriptedAgent::new(id, "DEV").generate_replies([content]).revise_replies([content]))
}

fn council(contents: &[&str]) -> DeliberationBuilder {
    let agents: Vec<Arc<dyn Agent>> =
        contents.iter().enumerate().map(|(i, c)| agent(&format!("agent-{i}"), c)).collect();
    Deliberation::builder()
        .task("Write add(a, b) returning the sum of two integers.")
        .requirement("Correct sum")
        .agents(agents)
        .rounds(0)
        .scorer(Arc::new(PolicyScorer::new()), 1.0)
        .scorer(Arc::new(RequirementsScorer::new()), 1.0)
        .scorer(Arc::new(EchoScorer::new()), 1.0)
}

#[tokio::test]
async fn the_proposal_that_passes_the_tests_wins_from_every_seat() {
    for seat in 0..3 {
        let mut contents = vec![WRONG_ONE, WRONG_HALF, WRONG_ONE];
        contents[seat] = CORRECT;
        let out = council(&contents).tests([TestSuite::python(TESTS)]).build().unwrap().run().await.unwrap();
        assert_eq!(out.winner_id, format!("agent-{seat}"), "{}", out.selection.reason);
        let tests = out.winner().checks.iter().find(|c| c.name == "tests").expect("tests check added");
        assert!(tests.passed && tests.score == 1.0);
        assert!(tests.weight > 3.0, "tests outweigh the other scorers together: {}", tests.weight);
        assert_eq!(tests.details.extra["case.tests.test_small"], "passed");
        if let Some(half) = out.results.iter().find(|r| r.proposal.content == WRONG_HALF) {
            let t = half.checks.iter().find(|c| c.name == "tests").unwrap();
            assert_eq!(t.score, 0.5);
            assert!(t.details.extra["first_failure"].contains("test_zero"), "{:?}", t.details.extra);
        }
    }
}

#[tokio::test]
async fn full_ties_are_drawn_at_random_never_by_seat() {
    let mut wins: HashMap<String, usize> = HashMap::new();
    for _ in 0..300 {
        let out = council(&[CORRECT, CORRECT, CORRECT]).build().unwrap().run().await.unwrap();
        assert_eq!(out.selection.tied, 3);
        assert_eq!(out.selection.tie_break, TieBreak::Random);
        assert!(out.selection.reason.contains(&out.selection.seed.to_string()));
        *wins.entry(out.winner_id).or_default() += 1;
    }
    for seat in ["agent-0", "agent-1", "agent-2"] {
        let n = wins.get(seat).copied().unwrap_or(0);
        assert!((60..=140).contains(&n), "seat {seat} won {n} of 300: {wins:?}");
    }
    // The same seed gives the same draw.
    let a = council(&[CORRECT, CORRECT, CORRECT]).seed(7).build().unwrap().run().await.unwrap();
    let b = council(&[CORRECT, CORRECT, CORRECT]).seed(7).build().unwrap().run().await.unwrap();
    assert_eq!((a.winner_id, a.selection.seed), (b.winner_id, b.selection.seed));
}

/// A scorer that fails a named author only (to build exact score ties).
struct FailsFor(&'static str);

#[async_trait::async_trait]
impl orchestrator_core::Scorer for FailsFor {
    fn name(&self) -> &str {
        "fails_for"
    }
    async fn check(
        &self,
        p: &orchestrator_core::Proposal,
        _t: &orchestrator_core::Task,
    ) -> Result<orchestrator_core::Check, orchestrator_core::AgentError> {
        let ok = p.author_id != self.0;
        Ok(orchestrator_core::Check::new("fails_for", orchestrator_core::CheckCategory::Other, ok, ok as u8 as f64, ""))
    }
}

#[tokio::test]
async fn an_exact_score_tie_goes_to_more_test_cases_passed() {
    // agent-0 passes 1 of 2 cases and the other check; agent-1 passes 2 of 2 and fails it:
    // (0.5 * 2 + 1) / 3 == (1 * 2 + 0) / 3.
    for order in [[WRONG_HALF, CORRECT], [CORRECT, WRONG_HALF]] {
        let agents: Vec<Arc<dyn Agent>> =
            order.iter().enumerate().map(|(i, c)| agent(&format!("agent-{i}"), c)).collect();
        let correct_id = if order[0] == CORRECT { "agent-0" } else { "agent-1" };
        let out = Deliberation::builder()
            .task("Write add(a, b).")
            .agents(agents)
            .rounds(0)
            .scorer(Arc::new(FailsFor(if correct_id == "agent-0" { "agent-0" } else { "agent-1" })), 1.0)
            .tests([TestSuite::python(TESTS)])
            .build()
            .unwrap()
            .run()
            .await
            .unwrap();
        assert_eq!(out.results[0].score, out.results[1].score);
        assert_eq!(out.selection.tie_break, TieBreak::TestsPassed, "{}", out.selection.reason);
        assert_eq!(out.winner_id, correct_id);
    }
}

#[tokio::test]
async fn equal_scores_and_cases_go_to_behavioural_agreement() {
    // a and c fail test_zero; b fails test_small: same score, same count; a and c agree.
    let fails_zero = "```python\ndef add(a, b):\n    return 3\n```";
    let fails_small = "```python\ndef add(a, b):\n    return 0\n```";
    for _ in 0..5 {
        let out = council(&[fails_small, fails_zero, fails_zero]).tests([TestSuite::python(TESTS)]).build().unwrap();
        let out = out.run().await.unwrap();
        assert_eq!(out.selection.tied, 3);
        // Agreement leaves the two that behave alike; the draw picks between them.
        assert!(
            out.selection.reason.contains("agreement (1 peers behave the same) left 2"),
            "{}",
            out.selection.reason
        );
        assert_eq!(out.selection.tie_break, TieBreak::Random);
        assert_ne!(out.winner_id, "agent-0");
    }
}

#[tokio::test]
async fn a_policy_failure_never_wins_while_another_passes() {
    let leaky = "```python\ndef add(a, b):\n    api_key = \"sk-live-0123456789abcdef\"\n    return a + b\n```";
    let out = council(&[leaky, WRONG_ONE]).tests([TestSuite::python(TESTS)]).build().unwrap().run().await.unwrap();
    assert!(out.results[1].score > out.results[0].score, "the leaky one scores higher");
    assert_eq!(out.winner_id, "agent-1", "{}", out.selection.reason);
}

#[tokio::test]
async fn an_echo_of_the_task_loses_to_a_real_answer() {
    let task = "Implement user authentication";
    let echo = "Task:\nImplement user authentication\n\nRequirements:\n- Unit tests\n- Error handling\n";
    let real = "Store bcrypt password hashes, lock accounts after five failed logins, return typed \
                errors for each failure, and cover login with pytest unit tests.";
    for order in [[echo, real], [real, echo]] {
        let agents: Vec<Arc<dyn Agent>> =
            order.iter().enumerate().map(|(i, c)| agent(&format!("agent-{i}"), c)).collect();
        let out = common::builder(&[])
            .task(task)
            .requirement("Error handling")
            .agents(agents)
            .rounds(0)
            .scorer(Arc::new(EchoScorer::new()), 1.0)
            .build()
            .unwrap()
            .run()
            .await
            .unwrap();
        let winner = &out.winner().proposal.content;
        assert_eq!(winner, real, "{}", out.selection.reason);
        let e = out.results.iter().find(|r| r.proposal.content == echo).unwrap();
        let req = e.checks.iter().find(|c| c.name == "requirements").unwrap();
        assert_eq!(req.score, 0.0, "requirement words inside the echo are not credited");
        assert!(!e.checks.iter().find(|c| c.name == "echo").unwrap().passed);
    }
}

/// A critic that answers every critique with fixed tests.
fn critic(id: &str, content: &str, test: &str) -> Arc<dyn Agent> {
    Arc::new(
        ScriptedAgent::new(id, "DEV")
            .generate_replies([content])
            .revise_replies([content])
            .critique_replies([format!("Check this:\n```python\nfrom solution import add\n{test}\n```\n")]),
    )
}

#[tokio::test]
async fn peer_tests_run_against_every_proposal_and_wrong_ones_cannot_mislead() {
    // Two critics send a correct test, one a wrong one (the same assertion, another value).
    let good = "def test_peer():\n    assert add(2, 2) == 4";
    let bad = "def test_peer_bad():\n    assert add(2, 2) == 7";
    let wrong_two = "```python\ndef add(a, b):\n    return a * b + 1\n```\n";
    for seat in 0..3 {
        let mut agents = vec![
            critic("agent-0", WRONG_ONE, bad),
            critic("agent-1", wrong_two, good),
            critic("agent-2", WRONG_ONE, good),
        ];
        agents[seat] = critic(&format!("agent-{seat}"), CORRECT, if seat == 0 { bad } else { good });
        let out = Deliberation::builder()
            .task("Write add(a, b).")
            .agents(agents)
            .rounds(1)
            .peer_tests(true)
            .build()
            .unwrap()
            .run()
            .await
            .unwrap();
        let peer = out.winner().checks.iter().find(|c| c.name == "peer_tests").expect("peer_tests check");
        assert_eq!(out.winner_id, format!("agent-{seat}"), "{}", peer.message);
        assert!(peer.details.extra.keys().any(|k| k.contains("test_peer_bad")), "every peer test ran");
    }
}

#[tokio::test]
async fn tests_in_an_unknown_language_are_refused_naming_the_field() {
    let err = council(&[CORRECT])
        .tests([TestSuite { language: "cobol".into(), ..TestSuite::python("x") }])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("constraints.tests[0].language"), "{err}");
    let err = council(&[CORRECT]).tests([TestSuite::python("  ")]).build().unwrap_err();
    assert!(err.to_string().contains("constraints.tests[0].code"), "{err}");
}
