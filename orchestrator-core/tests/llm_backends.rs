//! LLM backends against a local fake HTTP server (wiremock).

use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator_core::llm::{
    ChatMessage, ChatRequest, Endpoint, EndpointConfig, JudgeScorer, LlmAgent, LlmAgentConfig, Secret,
};
use orchestrator_core::{Agent, Constraints, Deliberation, Phase, Proposal, Scorer, Task};
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk-test-SUPERSECRET-0123456789";

fn openai_ok(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    }))
}

fn cfg(server: &MockServer) -> EndpointConfig {
    EndpointConfig {
        api_key: Secret::new(KEY),
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
        ..EndpointConfig::openai(format!("{}/v1/", server.uri()))
    }
}

fn req() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![ChatMessage::system("sys"), ChatMessage::user("hi")],
        temperature: 0.3,
        max_tokens: 32,
        response_format: None,
    }
}

fn task() -> Task {
    Task {
        id: "t".into(),
        description: "Implement a rate limiter".into(),
        role: "QA".into(),
        constraints: Constraints {
            rubric: "Correctness above all; readable code.".into(),
            requirements: vec!["Unit tests".into(), "Thread safety".into()],
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn openai_request_shape_usage_and_trailing_v1() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(json!({"model": "m", "max_tokens": 32, "temperature": 0.3,
            "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]})))
        .respond_with(openai_ok("hello"))
        .expect(1)
        .mount(&server)
        .await;
    let e = Endpoint::new(cfg(&server)).unwrap();
    let r = e.chat(&req()).await.unwrap();
    assert_eq!(r.text, "hello");
    assert_eq!((r.usage.prompt_tokens, r.usage.completion_tokens), (11, 7));
}

#[tokio::test]
async fn anthropic_request_shape_and_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_partial_json(json!({"model": "m", "system": "sys", "max_tokens": 32,
            "messages": [{"role": "user", "content": "hi"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": "m", "content": [{"type": "text", "text": "bonjour"}],
            "usage": {"input_tokens": 5, "output_tokens": 3}})))
        .expect(1)
        .mount(&server)
        .await;
    let e = Endpoint::new(EndpointConfig { provider: orchestrator_core::llm::Provider::Anthropic, ..cfg(&server) })
        .unwrap();
    let r = e.chat(&req()).await.unwrap();
    assert_eq!(r.text, "bonjour");
    assert_eq!((r.usage.prompt_tokens, r.usage.completion_tokens), (5, 3));
}

#[tokio::test]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_string("slow down"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(openai_ok("ok")).expect(1).mount(&server).await;
    let e = Endpoint::new(cfg(&server)).unwrap();
    let started = Instant::now();
    assert_eq!(e.chat(&req()).await.unwrap().text, "ok");
    assert!(started.elapsed() >= Duration::from_millis(950), "Retry-After honoured: {:?}", started.elapsed());
}

#[tokio::test]
async fn retries_500_then_succeeds_and_gives_up_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).up_to_n_times(1).mount(&server).await;
    Mock::given(method("POST")).respond_with(openai_ok("ok")).mount(&server).await;
    let e = Endpoint::new(cfg(&server)).unwrap();
    assert_eq!(e.chat(&req()).await.unwrap().text, "ok");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).expect(3).mount(&server).await;
    let err = Endpoint::new(cfg(&server)).unwrap().chat(&req()).await.unwrap_err();
    assert!(err.to_string().contains("answered 503"), "{err}");
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!("bad key {KEY} for model")))
        .expect(1)
        .mount(&server)
        .await;
    let err = Endpoint::new(cfg(&server)).unwrap().chat(&req()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("answered 400") && msg.contains("/v1/chat/completions"), "{msg}");
    assert!(!msg.contains(KEY), "key leaked: {msg}");
}

#[tokio::test]
async fn timeout_is_reported_as_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(openai_ok("late").set_delay(Duration::from_secs(3))).mount(&server).await;
    let e =
        Endpoint::new(EndpointConfig { timeout: Duration::from_millis(200), max_attempts: 2, ..cfg(&server) }).unwrap();
    let started = Instant::now();
    let err = e.chat(&req()).await.unwrap_err();
    assert!(matches!(err, orchestrator_core::AgentError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "timeouts are retried");
}

#[tokio::test]
async fn garbage_json_empty_choices_and_empty_completion_are_errors() {
    for (body, expect) in [
        (ResponseTemplate::new(200).set_body_string("<html>oops"), "malformed JSON"),
        (ResponseTemplate::new(200).set_body_json(json!({"choices": []})), "`choices` is empty"),
        (openai_ok("   "), "empty completion"),
        (ResponseTemplate::new(200).set_body_json(json!({"id": 1})), "no `choices`"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(body).expect(1).mount(&server).await;
        let err = Endpoint::new(cfg(&server)).unwrap().chat(&req()).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(expect) && msg.contains("answered 200") && msg.contains(&server.uri()), "{msg}");
    }
}

#[tokio::test]
async fn circuit_breaker_opens_fails_fast_then_probes_and_closes() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).up_to_n_times(2).mount(&server).await;
    Mock::given(method("POST")).respond_with(openai_ok("back")).mount(&server).await;
    let e = Endpoint::new(EndpointConfig {
        max_attempts: 1,
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(300),
        ..cfg(&server)
    })
    .unwrap();
    assert!(e.chat(&req()).await.is_err());
    assert!(e.chat(&req()).await.is_err());
    assert!(e.circuit_open());
    let err = e.chat(&req()).await.unwrap_err();
    assert!(err.to_string().contains("circuit open"), "{err}");
    assert_eq!(err.kind(), orchestrator_core::ErrorKind::Unavailable);
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "open circuit sends nothing");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(e.chat(&req()).await.unwrap().text, "back", "probe goes through");
    assert!(!e.circuit_open());
    assert_eq!(e.chat(&req()).await.unwrap().text, "back");
}

#[tokio::test]
async fn connection_refused_is_unavailable_without_key() {
    let e = Endpoint::new(EndpointConfig {
        max_attempts: 2,
        min_backoff: Duration::from_millis(5),
        api_key: Secret::new(KEY),
        ..EndpointConfig::openai("http://127.0.0.1:9")
    })
    .unwrap();
    let err = e.chat(&req()).await.unwrap_err();
    assert_eq!(err.kind(), orchestrator_core::ErrorKind::Unavailable);
    assert!(!err.to_string().contains(KEY));
    assert!(!format!("{err:?}").contains(KEY));
    assert!(!format!("{:?}", e.config()).contains(KEY));
    assert!(!serde_json::to_string(e.config()).unwrap().contains(KEY));
}

fn agents(endpoint: &Arc<Endpoint>, prefix: &str, n: usize) -> Vec<Arc<dyn Agent>> {
    (1..=n)
        .map(|i| {
            Arc::new(
                LlmAgent::new(
                    LlmAgentConfig {
                        id: format!("{prefix}-{i}"),
                        role: "QA".into(),
                        model: "m".into(),
                        temperature: 0.5,
                        max_tokens: 64,
                        ..Default::default()
                    },
                    endpoint.clone(),
                )
                .unwrap(),
            ) as Arc<dyn Agent>
        })
        .collect()
}

#[tokio::test]
async fn rate_limiter_caps_in_flight_calls_across_two_deliberations() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_ok("A proposal with unit tests and thread safety").set_delay(Duration::from_millis(60)))
        .mount(&server)
        .await;
    let endpoint = Arc::new(Endpoint::new(EndpointConfig { max_in_flight: 2, ..cfg(&server) }).unwrap());
    let d1 = Deliberation::builder().task("one").role("QA").agents(agents(&endpoint, "a", 3)).build().unwrap();
    let d2 = Deliberation::builder().task("two").role("QA").agents(agents(&endpoint, "b", 3)).build().unwrap();
    let probe = endpoint.clone();
    let sampler = tokio::spawn(async move {
        let mut max = 0;
        for _ in 0..400 {
            max = max.max(probe.in_flight());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        max
    });
    let (o1, o2) = tokio::join!(d1.run(), d2.run());
    let (o1, o2) = (o1.unwrap(), o2.unwrap());
    let max = sampler.await.unwrap();
    assert_eq!(max, 2, "in-flight calls capped at 2 and the cap reached");
    assert_eq!(server.received_requests().await.unwrap().len(), 18);
    // Usage is recorded per agent, per phase and per deliberation.
    assert_eq!(o1.usage.calls, 9);
    assert_eq!(o1.usage.total.prompt_tokens, 99);
    assert_eq!(o2.usage.per_agent["b-1"].completion_tokens, 21);
    assert_eq!(o1.usage.per_phase[&Phase::Revise].prompt_tokens, 33);
}

#[tokio::test]
async fn requests_per_minute_limit_spaces_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(openai_ok("x")).mount(&server).await;
    // 120 per minute: a burst of 2, then one every 500 ms.
    let e = Endpoint::new(EndpointConfig { requests_per_minute: 120, ..cfg(&server) }).unwrap();
    let started = Instant::now();
    for _ in 0..4 {
        e.chat(&req()).await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
}

#[tokio::test]
async fn agent_prompts_carry_persona_rubric_text_requirements_and_critiques() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(openai_ok("reply")).mount(&server).await;
    let endpoint = Arc::new(Endpoint::new(cfg(&server)).unwrap());
    let agent = &agents(&endpoint, "qa", 1)[0];
    let t = task();
    agent.generate(&t).await.unwrap();
    let own = Proposal {
        author_id: "qa-1".into(),
        author_role: "QA".into(),
        content: "my plan".into(),
        created_at_ms: 0,
        revisions: vec![],
    };
    let critiques = vec![orchestrator_core::Critique {
        reviewer_id: "qa-2".into(),
        author_id: "qa-1".into(),
        round: 1,
        text: "Add a soak test".into(),
    }];
    agent.revise(&t, &own, &critiques).await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    let body = |r: &Request| -> Value { serde_json::from_slice(&r.body).unwrap() };
    let gen = body(&reqs[0]);
    let system = gen["messages"][0]["content"].as_str().unwrap();
    let user = gen["messages"][1]["content"].as_str().unwrap();
    assert!(system.contains("QA engineer"), "{system}");
    assert!(user.contains("Correctness above all; readable code."), "rubric text: {user}");
    assert!(user.contains("- Unit tests") && user.contains("- Thread safety"), "{user}");
    let rev = body(&reqs[1]);
    let user = rev["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("my plan") && user.contains("Add a soak test") && user.contains("From qa-2"), "{user}");
}

#[tokio::test]
async fn llm_failure_is_an_agent_failure_never_a_proposal() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(400)).mount(&server).await;
    let endpoint = Arc::new(Endpoint::new(cfg(&server)).unwrap());
    let err =
        Deliberation::builder().task("x").agents(agents(&endpoint, "a", 2)).build().unwrap().run().await.unwrap_err();
    assert_eq!(err.failures().len(), 2);
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn judge_parses_strictly_and_reports_unparseable_replies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"response_format": {"type": "json_schema"}})))
        .respond_with(openai_ok(r#"{"score": 8.5, "passed": true, "reason": "solid"}"#))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(openai_ok("I think it is good")).mount(&server).await;
    let endpoint = Arc::new(Endpoint::new(cfg(&server)).unwrap());
    let judge = JudgeScorer::new(endpoint, "m");
    let p = Proposal {
        author_id: "a".into(),
        author_role: "QA".into(),
        content: "c".into(),
        created_at_ms: 0,
        revisions: vec![],
    };
    let c = judge.check(&p, &task()).await.unwrap();
    assert!(c.passed);
    assert!((c.score - 0.85).abs() < 1e-9);
    assert_eq!(c.message, "solid");
    let c = judge.check(&p, &task()).await.unwrap();
    assert!(!c.passed);
    assert_eq!(c.score, 0.0);
    assert!(c.message.contains("did not parse"), "{}", c.message);
}

#[tokio::test]
async fn pairwise_judge_counts_only_consistent_verdicts() {
    let server = MockServer::start().await;
    // Always answers "A": position bias, so no pair is consistent.
    Mock::given(method("POST")).respond_with(openai_ok(r#"{"winner": "A", "reason": "first"}"#)).mount(&server).await;
    let endpoint = Arc::new(Endpoint::new(cfg(&server)).unwrap());
    let judge = JudgeScorer::new(endpoint, "m");
    let p = |id: &str| Proposal {
        author_id: id.into(),
        author_role: "QA".into(),
        content: id.into(),
        created_at_ms: 0,
        revisions: vec![],
    };
    let r = judge.pairwise(&task(), &[p("x"), p("y"), p("z")]).await.unwrap();
    assert_eq!((r.consistent, r.inconsistent), (0, 3));
    assert!(r.wins.is_empty());
}

#[tokio::test]
async fn llm_architect_picks_with_a_reason_and_falls_back_when_the_model_fails() {
    use orchestrator_core::llm::LlmArchitect;
    use orchestrator_core::testing::ScriptedAgent;

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"response_format": {"type": "json_schema"}})))
        .respond_with(openai_ok(r#"{"choice": 1, "reason": "simplest design"}"#))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(openai_ok("not json at all")).mount(&server).await;
    let endpoint = Arc::new(Endpoint::new(cfg(&server)).unwrap());
    let architect = LlmArchitect::new(endpoint, "m");
    let agents: Vec<Arc<dyn Agent>> =
        (1..=3).map(|i| Arc::new(ScriptedAgent::new(format!("a{i}"), "ARCHITECT")) as Arc<dyn Agent>).collect();
    let d = Deliberation::builder().task("Design a cache").role("ARCHITECT").agents(agents).build().unwrap();

    let o = orchestrator_core::orchestrate(&d, Some(&architect), 3).await.unwrap();
    assert_eq!(o.architect, "llm");
    assert_eq!(o.winner, o.candidates[1], "the model chose index 1");
    assert!(o.reason.contains("simplest design"), "{}", o.reason);
    assert!(o.architect_fallback.is_none());
    let prompt: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap().last().unwrap().body).unwrap();
    assert!(prompt["messages"][1]["content"].as_str().unwrap().contains("[2] by"), "candidates listed");

    let o = orchestrator_core::orchestrate(&d, Some(&architect), 3).await.unwrap();
    assert_eq!(o.architect, "default");
    assert!(o.architect_fallback.as_deref().unwrap().contains("not JSON"), "{:?}", o.architect_fallback);
}

#[tokio::test]
async fn redirects_are_never_followed_so_the_key_stays_home() {
    let thief = MockServer::start().await;
    Mock::given(method("POST")).respond_with(openai_ok("stolen")).mount(&thief).await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/v1/chat/completions", thief.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = Endpoint::new(cfg(&server)).unwrap().chat(&req()).await.unwrap_err();
    assert!(err.to_string().contains("answered 307"), "{err}");
    assert!(thief.received_requests().await.unwrap().is_empty(), "the redirect was followed");
}

#[tokio::test]
async fn error_bodies_are_redacted_then_capped() {
    let server = MockServer::start().await;
    let body = format!(
        "{{\"error\": \"invalid key {KEY}; other tenant key sk-live-abcdefghijklmnop; Bearer abc.def.ghi\"}}{}",
        "x".repeat(100_000)
    );
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(401).set_body_string(body)).mount(&server).await;
    let err = Endpoint::new(cfg(&server)).unwrap().chat(&req()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("answered 401") && msg.contains("[REDACTED]"), "{msg}");
    for secret in [KEY, "sk-live-abcdefghijklmnop", "abc.def.ghi"] {
        assert!(!msg.contains(secret), "{secret} quoted: {msg}");
    }
    assert!(msg.len() < 400, "error body not capped: {} bytes", msg.len());
}

#[test]
fn base_urls_with_a_query_fragment_or_credentials_are_refused() {
    for url in ["http://h.example/?a=b", "http://h.example/#frag", "http://u:p@h.example", "ftp://h.example", "http://"]
    {
        let err = Endpoint::new(EndpointConfig::openai(url)).unwrap_err();
        assert!(err.to_string().contains("base_url"), "{url}: {err}");
    }
}

#[tokio::test]
async fn a_reply_over_the_cap_is_an_error_not_an_allocation() {
    let server = MockServer::start().await;
    let huge = "x".repeat(3 << 20);
    Mock::given(method("POST")).respond_with(openai_ok(&huge)).mount(&server).await;
    let e = Endpoint::new(EndpointConfig { max_reply_bytes: 1 << 20, ..cfg(&server) }).unwrap();
    let err = e.chat(&req()).await.unwrap_err();
    assert!(err.to_string().contains("larger than max_reply_bytes"), "{err}");
    assert!(Endpoint::new(EndpointConfig { timeout: Duration::from_secs(u64::MAX / 4), ..cfg(&server) }).is_err());
}

// ---- completion mode ----

const HUMAN_EVAL_STYLE: &str = "from typing import List\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\n    >>> add(2, 3)\n    5\n    \"\"\"\n";

fn completion_agent(server: &MockServer, id: &str) -> Arc<dyn Agent> {
    let ep = Arc::new(Endpoint::new(cfg(server)).unwrap());
    let c = LlmAgentConfig {
        id: id.into(),
        model: "base".into(),
        temperature: 0.2,
        max_tokens: 64,
        api: orchestrator_core::llm::Api::Completions,
        ..Default::default()
    };
    Arc::new(LlmAgent::new(c, ep).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_agents_continue_the_task_code_and_their_code_is_verified() {
    let server = MockServer::start().await;
    // A base model: the body for a signature, one test for a "def test_" prefix.
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .respond_with(|r: &Request| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let prompt = body["prompt"].as_str().unwrap();
            let text = if prompt.ends_with("def test_") {
                "sum():\n    assert add(1, 1) == 2\n"
            } else {
                "    return a + b\n"
            };
            ResponseTemplate::new(200).set_body_json(json!({
                "model": "base", "choices": [{"index": 0, "text": text}],
                "usage": {"prompt_tokens": 40, "completion_tokens": 8}
            }))
        })
        .mount(&server)
        .await;
    let d = Deliberation::builder()
        .task(HUMAN_EVAL_STYLE)
        .agents([completion_agent(&server, "a"), completion_agent(&server, "b")])
        .rounds(1)
        .peer_tests(true)
        .tests([orchestrator_core::verify::TestSuite::python(
            "from solution import add\n\ndef test_doc():\n    assert add(2, 3) == 5\n",
        )])
        .build()
        .unwrap();
    let out = d.run().await.unwrap();
    let win = out.winner();
    assert!(win.proposal.content.starts_with("```python\nfrom typing import List"), "{}", win.proposal.content);
    assert!(win.proposal.content.contains("    return a + b\n```"), "{}", win.proposal.content);
    let tests = win.checks.iter().find(|c| c.name == "tests").unwrap();
    assert!(tests.passed, "{tests:?}");
    // The critics' tests ran as peer tests.
    assert!(win.checks.iter().any(|c| c.name == "peer_tests" && c.passed), "{:?}", win.checks);
    // What was sent: the task code as the prompt, stop sequences, no chat messages.
    let reqs = server.received_requests().await.unwrap();
    let first: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert!(first.get("messages").is_none());
    assert!(first["stop"].as_array().unwrap().iter().any(|s| s == "\ndef "));
    let prompts: Vec<String> = reqs
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["prompt"].as_str().unwrap().to_owned())
        .collect();
    assert!(prompts.iter().any(|p| p == HUMAN_EVAL_STYLE), "generate sends the task code as is");
    assert!(prompts.iter().any(|p| p.ends_with("def test_")), "critique asks for a test");
    assert!(
        prompts.iter().any(|p| p.starts_with("# Reviewers' tests") && p.contains("\ndef test_sum():")),
        "revise shows the critics' tests: {prompts:?}"
    );
    assert_eq!(out.usage.total.total(), 6 * 48);
}

#[tokio::test]
async fn completions_need_an_openai_compatible_endpoint() {
    let ep = Arc::new(
        Endpoint::new(EndpointConfig {
            provider: orchestrator_core::llm::Provider::Anthropic,
            ..EndpointConfig::openai("http://127.0.0.1:9")
        })
        .unwrap(),
    );
    let c = LlmAgentConfig {
        id: "a".into(),
        model: "m".into(),
        api: orchestrator_core::llm::Api::Completions,
        ..Default::default()
    };
    let e = LlmAgent::new(c, ep).unwrap_err();
    assert!(e.to_string().contains("agent.api"), "{e}");
    assert!("chat".parse::<orchestrator_core::llm::Api>().is_ok());
    assert!("poetry".parse::<orchestrator_core::llm::Api>().unwrap_err().to_string().contains("api"));
}
