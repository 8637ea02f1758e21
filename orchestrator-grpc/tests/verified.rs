//! Verified selection through the service and the CLI: tests in `TaskConstraints.tests` decide,
//! whatever seat the correct proposal sits in. Agents are real LLM agents over HTTP, against a
//! fake OpenAI-compatible model that writes a different function for each agent.

mod common;

use common::Server;
use orchestrator_core::testing::{fake_model_server, FakeReply};
use orchestrator_grpc::pb;

const CORRECT: &str = "def add(a, b):\n    return a + b\n";
const WRONG: &str = "def add(a, b):\n    return a - b\n";
const TESTS: &str = "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\ndef test_neg():\n    assert add(-1, 1) == 0\n";

/// A model server: agent `correct` answers with CORRECT code, every other agent with WRONG.
fn fake_model(correct: &'static str) -> String {
    fake_model_with(correct, WRONG)
}

/// A model server: agent `correct` answers with CORRECT code, every other agent with `wrong`.
fn fake_model_with(correct: &'static str, wrong: &'static str) -> String {
    fake_model_server(move |_, body| {
        FakeReply::Text(if body.contains("Critique this proposal") {
            "Looks reasonable; check negative numbers.".to_owned()
        } else if body.contains(&format!("You are {correct},")) {
            format!("My solution:\n```python\n{CORRECT}```\n")
        } else {
            format!("My solution:\n```python\n{wrong}```\n")
        })
    })
}

fn request() -> pb::DeliberateRequest {
    pb::DeliberateRequest {
        task_description: "Write add(a, b) returning the sum.".into(),
        role: "DEV".into(),
        constraints: Some(pb::TaskConstraints {
            rubric: "Correct".into(),
            tests: vec![pb::TestSuite {
                name: "unit".into(),
                language: "python".into(),
                code: TESTS.into(),
                timeout_seconds: 10,
            }],
            ..Default::default()
        }),
        rounds: 1,
        num_agents: 0,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_correct_proposal_wins_through_grpc_from_every_seat() {
    for correct in ["agent-dev-001", "agent-dev-002", "agent-dev-003"] {
        let url = fake_model(correct);
        let s = Server::start(&[("LLM_BASE_URL", &url), ("LLM_MODEL", "m"), ("NUM_AGENTS_PER_ROLE", "3")], None);
        let mut c = s.client().await;
        let r = c.deliberate(request()).await.unwrap().into_inner();
        let tags = &r.metadata.as_ref().unwrap().tags;
        assert_eq!(r.winner_id, correct, "{tags:?}");
        assert_eq!(tags["tie_break"], "none", "{tags:?}");
        let w = r.results[0].checks.as_ref().unwrap();
        let t = w.additional_checks.iter().find(|c| c.check_type == "tests").expect("tests check");
        assert!(t.passed && t.score == 1.0, "{t:?}");
        assert_eq!(t.details["case.unit.test_add"], "passed");
        let loser = r.results[1].checks.as_ref().unwrap();
        let t = loser.additional_checks.iter().find(|c| c.check_type == "tests").unwrap();
        assert!(!t.passed && t.details["first_failure"].contains("AssertionError"), "{t:?}");
    }
}

#[tokio::test]
async fn bad_tests_are_invalid_argument_naming_the_field() {
    let s = Server::start(&[("LLM_BASE_URL", &fake_model("agent-dev-001")), ("LLM_MODEL", "m")], None);
    let mut c = s.client().await;
    let mut r = request();
    r.constraints.as_mut().unwrap().tests[0].language = "cobol".into();
    let e = c.deliberate(r).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("constraints.tests[0].language"), "{}", e.message());
    let mut r = request();
    r.constraints.as_mut().unwrap().tests[0].timeout_seconds = -1;
    let e = c.deliberate(r).await.unwrap_err();
    assert!(e.message().contains("constraints.tests[0].timeout_seconds"), "{}", e.message());
}

#[tokio::test]
async fn the_cli_sends_tests_from_a_file_and_prints_how_the_winner_was_chosen() {
    let url = fake_model("agent-dev-003");
    let s = Server::start(&[("LLM_BASE_URL", &url), ("LLM_MODEL", "m"), ("NUM_AGENTS_PER_ROLE", "3")], None);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("test_add.py");
    std::fs::write(&file, TESTS).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .args(["deliberate", "--addr", &s.addr(), "--task", "Write add(a, b).", "--tests"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("winner: agent-dev-003"), "{text}");
    assert!(text.contains("selection: the highest score"), "{text}");
    assert!(text.contains("tests: 1.00 2/2 test cases passed"), "{text}");
}

/// Hostile code from two of three agents: a fork bomb and a memory hog that also tries the
/// network. Both are contained, the correct proposal wins, and the service stays healthy.
#[tokio::test]
async fn hostile_proposals_are_contained_and_the_service_stays_healthy() {
    const HOSTILE: &str = "import os, socket\ntry:\n    socket.create_connection(('127.0.0.1', 50055), timeout=1)\nexcept OSError:\n    pass\nblob = bytearray(8 * 2**30)\nwhile True:\n    os.fork()\ndef add(a, b):\n    return a + b\n";
    let url = fake_model_with("agent-dev-002", HOSTILE);
    let s = Server::start(&[("LLM_BASE_URL", &url), ("LLM_MODEL", "m"), ("NUM_AGENTS_PER_ROLE", "3")], None);
    let mut c = s.client().await;
    let r = c.deliberate(request()).await.unwrap().into_inner();
    assert_eq!(r.winner_id, "agent-dev-002");
    for res in &r.results[1..] {
        let t = res.checks.as_ref().unwrap().additional_checks.iter().find(|c| c.check_type == "tests").unwrap();
        assert!(!t.passed, "{t:?}");
    }
    let st = c.get_status(pb::GetStatusRequest { include_stats: true }).await.unwrap().into_inner();
    assert_eq!(st.status, "healthy");
    let again = c.deliberate(request()).await.unwrap().into_inner();
    assert_eq!(again.winner_id, "agent-dev-002");
}
