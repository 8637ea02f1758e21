//! Drives every RPC of the real binary over loopback.

mod common;

use std::time::{Duration, Instant};

use common::{req, scripted_council, Server};
use orchestrator_grpc::pb;
use tonic::Code;

#[tokio::test]
async fn no_agents_is_unimplemented_with_the_documented_message_and_unknown_role_is_invalid() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    let e = c.deliberate(req("DEV", "Implement auth")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
    assert_eq!(
        e.message(),
        "No agents configured for role: DEV. Agents must be registered before deliberation can occur."
    );
    let e = c.deliberate(req("CHEF", "Implement auth")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("DEV, QA, ARCHITECT, DEVOPS, DATA"), "{}", e.message());
}

#[tokio::test]
async fn deliberate_ranks_results_and_honours_rounds_and_num_agents() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 4, 0).await;
    let r = c.deliberate(req("dev", "Implement user authentication")).await.unwrap().into_inner();
    assert_eq!(r.results.len(), 4);
    assert_eq!(r.results.iter().map(|x| x.rank).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(r.winner_id, r.results[0].proposal.as_ref().unwrap().author_id);
    for w in r.results.windows(2) {
        assert!(w[0].score >= w[1].score);
    }
    for x in &r.results {
        let p = x.proposal.as_ref().unwrap();
        assert_eq!(p.author_role, "DEV");
        assert_eq!(p.revisions.len(), 1, "council default: 1 round");
        let checks = x.checks.as_ref().unwrap();
        assert!(checks.policy.as_ref().unwrap().passed);
        assert!(checks.additional_checks.iter().any(|a| a.check_type == "requirements"));
    }
    let m = r.metadata.unwrap();
    assert_eq!(m.orchestrator_version, "0.1.0");
    assert_eq!(m.execution_id.len(), 16);

    let mut q = req("DEV", "Implement user authentication");
    q.rounds = 3;
    q.num_agents = 2;
    let r = c.deliberate(q).await.unwrap().into_inner();
    assert_eq!(r.results.len(), 2);
    assert!(r.results.iter().all(|x| x.proposal.as_ref().unwrap().revisions.len() == 3));
}

#[tokio::test]
async fn bad_input_is_invalid_argument_naming_field_and_limit() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 3, 0).await;
    let cases: Vec<(pb::DeliberateRequest, &str)> = vec![
        (req("DEV", ""), "task_description"),
        (req("DEV", "   \n\t"), "task_description"),
        (
            {
                let mut r = req("DEV", "t");
                r.rounds = -1;
                r
            },
            "rounds",
        ),
        (
            {
                let mut r = req("DEV", "t");
                r.rounds = 11;
                r
            },
            "10",
        ),
        (
            {
                let mut r = req("DEV", "t");
                r.num_agents = -2;
                r
            },
            "num_agents",
        ),
        (
            {
                let mut r = req("DEV", "t");
                r.num_agents = 33;
                r
            },
            "32",
        ),
        (
            {
                let mut r = req("DEV", "t");
                r.num_agents = 5;
                r
            },
            "num_agents",
        ),
        (req("DEV", &"x".repeat(70_000)), "65536"),
        (
            {
                let mut r = req("DEV", "t");
                r.constraints.as_mut().unwrap().rubric = "r".repeat(20_000);
                r
            },
            "constraints.rubric",
        ),
        (
            {
                let mut r = req("DEV", "t");
                r.constraints.as_mut().unwrap().requirements = (0..101).map(|i| format!("r{i}")).collect();
                r
            },
            "limit is 100",
        ),
        (
            {
                let mut r = req("DEV", "t");
                r.constraints.as_mut().unwrap().timeout_seconds = -5;
                r
            },
            "constraints.timeout_seconds",
        ),
    ];
    for (r, expect) in cases {
        let e = c.deliberate(r).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
        assert!(e.message().contains(expect), "{expect:?} not in {:?}", e.message());
    }
    // Nothing stored was lost: the council still answers.
    assert_eq!(c.deliberate(req("DEV", "still fine")).await.unwrap().into_inner().results.len(), 3);
}

#[tokio::test]
async fn councils_and_agents_lifecycle_with_error_codes() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    let mut params = std::collections::HashMap::new();
    params.insert("latency_ms".to_owned(), "0".to_owned());
    let r = c
        .create_council(pb::CreateCouncilRequest {
            role: "QA".into(),
            num_agents: 2,
            config: Some(pb::CouncilConfig {
                agent_type: "scripted".into(),
                enable_peer_review: true,
                custom_params: params,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.council_id, "council-qa");
    assert_eq!(r.agent_ids, vec!["agent-qa-001", "agent-qa-002"]);
    let e = c
        .create_council(pb::CreateCouncilRequest {
            role: "QA".into(),
            num_agents: 1,
            config: Some(pb::CouncilConfig { agent_type: "scripted".into(), ..Default::default() }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    let e = c
        .create_council(pb::CreateCouncilRequest { role: "DEV".into(), num_agents: 1, config: None })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "no LLM configured: {}", e.message());
    scripted_council(&mut c, "DATA", 1, 0).await;

    let list = c
        .list_councils(pb::ListCouncilsRequest { role_filter: "qa".into(), include_agents: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.councils.len(), 1, "role_filter honoured");
    assert_eq!(list.councils[0].agents.len(), 2);
    let all = c
        .list_councils(pb::ListCouncilsRequest { role_filter: String::new(), include_agents: false })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.councils.len(), 2);
    assert!(all.councils.iter().all(|c| c.agents.is_empty()), "include_agents honoured");

    let mut meta = std::collections::HashMap::new();
    meta.insert("agent_type".to_owned(), "scripted".to_owned());
    let r = c
        .register_agent(pb::RegisterAgentRequest {
            agent_id: "qa-extra".into(),
            role: "QA".into(),
            capabilities: None,
            endpoint: String::new(),
            metadata: meta.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.success);
    assert_eq!(r.council_id, "council-qa");
    let e = c
        .register_agent(pb::RegisterAgentRequest {
            agent_id: "qa-extra".into(),
            role: "QA".into(),
            capabilities: None,
            endpoint: String::new(),
            metadata: meta,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    assert_eq!(c.deliberate(req("QA", "Test plan for login")).await.unwrap().into_inner().results.len(), 3);
    c.unregister_agent(pb::UnregisterAgentRequest { agent_id: "qa-extra".into(), role: "QA".into() }).await.unwrap();
    let e = c
        .unregister_agent(pb::UnregisterAgentRequest { agent_id: "qa-extra".into(), role: "QA".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let d = c.delete_council(pb::DeleteCouncilRequest { role: "QA".into() }).await.unwrap().into_inner();
    assert_eq!(d.agents_removed, 2);
    let e = c.delete_council(pb::DeleteCouncilRequest { role: "QA".into() }).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = c.get_deliberation_result(pb::GetDeliberationResultRequest { task_id: "nope".into() }).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn orchestrate_honours_options_and_returns_execution_id() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "ARCHITECT", 4, 0).await;
    let d = req("ARCHITECT", "Design a queue");
    let r = c
        .orchestrate(pb::OrchestrateRequest {
            task_id: "task-42".into(),
            task_description: d.task_description.clone(),
            role: d.role.clone(),
            constraints: d.constraints.clone(),
            options: Some(pb::OrchestratorOptions {
                enable_peer_review: true,
                deliberation_rounds: 2,
                enable_architect_selection: true,
                custom_params: [("top_k".to_owned(), "2".to_owned())].into(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.execution_id.len(), 16);
    assert!(r.execution_id.chars().all(|ch| ch.is_ascii_digit() || ('a'..='f').contains(&ch)));
    assert_eq!(r.candidates.len(), 2, "top_k honoured");
    assert!(r.candidates.iter().all(|x| x.proposal.as_ref().unwrap().revisions.len() == 2), "rounds honoured");
    assert!(r.winner.is_some());
    assert!(!r.selection_reason.is_empty());
    assert_eq!(r.metadata.unwrap().tags["task_id"], "task-42");
    let r = c
        .orchestrate(pb::OrchestrateRequest {
            task_id: String::new(),
            task_description: d.task_description,
            role: d.role,
            constraints: d.constraints,
            options: Some(pb::OrchestratorOptions { enable_peer_review: false, ..Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.candidates.iter().all(|x| x.proposal.as_ref().unwrap().revisions.is_empty()), "peer review off");
    let st = c.get_status(pb::GetStatusRequest { include_stats: true }).await.unwrap().into_inner();
    assert_eq!(st.stats.unwrap().total_orchestrations, 2);
}

#[tokio::test]
async fn stream_follows_engine_events_and_ends_with_the_result() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEVOPS", 3, 0).await;
    let mut stream = c.stream_deliberation(req("DEVOPS", "Ship a canary")).await.unwrap().into_inner();
    let mut updates = Vec::new();
    while let Some(u) = stream.message().await.unwrap() {
        updates.push(u);
    }
    let statuses: Vec<&str> = updates.iter().map(|u| u.status.as_str()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "generating").count(), 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == "reviewing").count(), 6);
    assert_eq!(statuses.iter().filter(|s| **s == "scoring").count(), 3);
    let last = updates.last().unwrap();
    assert_eq!(last.status, "complete");
    assert_eq!(last.progress_percent, 100);
    let result = last.partial_result.as_ref().unwrap();
    assert_eq!(result.results.len(), 3);
    assert_eq!(result.winner_id, last.current_agent);
    let progress: Vec<i32> = updates.iter().map(|u| u.progress_percent).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
}

#[tokio::test]
async fn submit_then_get_result_is_idempotent() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DATA", 3, 50).await;
    let id = c
        .submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: "job-1".into(),
            request: Some(req("DATA", "Model orders")),
            retry: false,
        })
        .await
        .unwrap()
        .into_inner()
        .task_id;
    assert_eq!(id, "job-1");
    let again = c
        .submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: "job-1".into(),
            request: Some(req("DATA", "Model orders")),
            retry: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.task_id, "job-1");
    let gen = c
        .submit_deliberation(pb::SubmitDeliberationRequest {
            task_id: String::new(),
            request: Some(req("DATA", "x")),
            retry: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(gen.task_id.len(), 16);
    let first =
        c.get_deliberation_result(pb::GetDeliberationResultRequest { task_id: id.clone() }).await.unwrap().into_inner();
    assert!(matches!(first.status(), pb::DeliberationStatus::Pending | pb::DeliberationStatus::InProgress));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = c
            .get_deliberation_result(pb::GetDeliberationResultRequest { task_id: id.clone() })
            .await
            .unwrap()
            .into_inner();
        if r.status() == pb::DeliberationStatus::Completed {
            assert_eq!(r.results.len(), 3);
            assert_eq!(r.winner_id, r.results[0].proposal.as_ref().unwrap().author_id);
            break;
        }
        assert!(Instant::now() < deadline, "not completed: {:?}", r.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let st = c.get_status(pb::GetStatusRequest { include_stats: true }).await.unwrap().into_inner();
    assert_eq!(st.stats.unwrap().role_counts["DATA"], 2, "job-1 ran once, the generated one once");
}

#[tokio::test]
async fn status_and_metrics_report_real_figures() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 3, 0).await;
    for i in 0..5 {
        c.deliberate(req("DEV", &format!("task {i}"))).await.unwrap();
    }
    let st = c.get_status(pb::GetStatusRequest { include_stats: true }).await.unwrap().into_inner();
    assert_eq!(st.status, "healthy");
    let stats = st.stats.unwrap();
    assert_eq!(stats.total_deliberations, 5);
    assert_eq!(stats.active_councils, 1);
    assert_eq!(stats.role_counts["DEV"], 5);
    assert!(stats.avg_deliberation_time_ms > 0.0);
    let no_stats = c.get_status(pb::GetStatusRequest { include_stats: false }).await.unwrap().into_inner();
    assert!(no_stats.stats.is_none());
    let m = c.get_metrics(pb::GetMetricsRequest::default()).await.unwrap().into_inner();
    let perf = m.performance.unwrap();
    assert!(perf.p99_latency_ms >= perf.p50_latency_ms && perf.p50_latency_ms > 0.0);
    assert_eq!(m.agents.unwrap().total_agents, 3);
    let councils = m.councils.unwrap();
    assert_eq!(councils.health_per_council["council-dev"].available_agents, 3);
}

#[tokio::test]
async fn client_deadline_returns_deadline_exceeded_and_cancels_the_work() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 3, 5_000).await;
    let mut r = tonic::Request::new(req("DEV", "slow"));
    r.set_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let e = c.deliberate(r).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The server applied the same deadline and recorded the cancelled deliberation as failed.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = c.get_metrics(pb::GetMetricsRequest::default()).await.unwrap().into_inner();
        let rate = m.councils.unwrap().health_per_council["council-dev"].success_rate;
        if rate == 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the cancelled deliberation was not recorded: {rate}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn constraint_timeout_becomes_the_deadline() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 2, 3_000).await;
    let mut q = req("DEV", "slow");
    q.constraints.as_mut().unwrap().timeout_seconds = 1;
    let started = Instant::now();
    let e = c.deliberate(q).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{}", e.message());
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[tokio::test]
async fn sigterm_lets_in_flight_deliberation_finish() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 3, 300).await;
    let mut c2 = c.clone();
    let call = tokio::spawn(async move { c2.deliberate(req("DEV", "finish me")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.sigterm();
    let r = call.await.unwrap().expect("in-flight deliberation finished");
    assert_eq!(r.into_inner().results.len(), 3);
    let mut s = s;
    let status = tokio::task::spawn_blocking(move || {
        let st = s.child.wait().unwrap();
        (st, s)
    })
    .await
    .unwrap()
    .0;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn health_and_auth() {
    let s = Server::start(&[("ORCHESTRATOR_AUTH_TOKEN", "s3cret-token")], None);
    let ch = s.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    let h = health
        .check(tonic_health::pb::HealthCheckRequest { service: "orchestrator.v1.OrchestratorService".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(h.status(), tonic_health::pb::health_check_response::ServingStatus::Serving);
    let mut c = pb::orchestrator_service_client::OrchestratorServiceClient::new(ch.clone());
    let e = c.get_status(pb::GetStatusRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let mut bad = tonic::Request::new(pb::GetStatusRequest::default());
    bad.metadata_mut().insert("authorization", "Bearer wrong".parse().unwrap());
    assert_eq!(c.get_status(bad).await.unwrap_err().code(), Code::Unauthenticated);
    let mut good = tonic::Request::new(pb::GetStatusRequest::default());
    good.metadata_mut().insert("authorization", "Bearer s3cret-token".parse().unwrap());
    assert_eq!(c.get_status(good).await.unwrap().into_inner().status, "healthy");
}

#[tokio::test]
async fn overload_is_resource_exhausted() {
    let s = Server::start(&[], Some("service:\n  max_concurrent_requests: 1\n"));
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 2, 500).await;
    let mut c2 = c.clone();
    let first = tokio::spawn(async move { c2.deliberate(req("DEV", "one")).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let e = c.deliberate(req("DEV", "two")).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(first.await.unwrap().is_ok());
}

#[tokio::test]
async fn five_concurrent_deliberations_and_large_inputs() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 3, 20).await;
    let calls: Vec<_> = (0..5)
        .map(|i| {
            let mut c = c.clone();
            tokio::spawn(async move { c.deliberate(req("DEV", &format!("task {i}"))).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().into_inner().results.len(), 3);
    }
    let mut q = req("DEV", &"Implement a feature. ".repeat(500));
    q.constraints.as_mut().unwrap().requirements = (0..50).map(|i| format!("Requirement number {i}")).collect();
    let r = c.deliberate(q).await.unwrap().into_inner();
    assert_eq!(r.results.len(), 3);
}

#[tokio::test]
async fn prometheus_endpoint_reports_rpcs_deliberations_and_agent_calls() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let s = Server::start(&[("METRICS_PORT", &port)], Some("service:\n  host: 127.0.0.1\n"));
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 3, 0).await;
    c.deliberate(req("DEV", "measure me")).await.unwrap();
    let _ = c.deliberate(req("DEV", "")).await.unwrap_err();
    let body = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(body.contains(r#"orchestrator_rpc_requests_total{rpc="Deliberate",code="Ok"} 1"#), "{body}");
    assert!(body.contains(r#"orchestrator_rpc_requests_total{rpc="Deliberate",code="InvalidArgument"} 1"#), "{body}");
    assert!(body.contains(r#"orchestrator_deliberations_total{role="DEV",outcome="completed"} 1"#), "{body}");
    assert!(body.contains("orchestrator_agent_call_seconds"), "{body}");
}

#[tokio::test]
async fn every_rpc_gets_an_execution_id_on_its_log_span_and_in_the_response() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .arg("serve")
        .env_clear()
        .env("GRPC_PORT", "0")
        .env("METRICS_PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info,orchestrator_grpc=debug")
        .env("ORCHESTRATOR_DATA_DIR", dir.path())
        .env("ORCHESTRATOR_ALLOW_TEST_AGENTS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let port = loop {
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        if let Some(p) = line.strip_prefix("Orchestrator Service listening on port ") {
            break p.trim().parse::<u16>().unwrap();
        }
    };
    let mut c = pb::orchestrator_service_client::OrchestratorServiceClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    scripted_council(&mut c, "DEV", 2, 0).await;
    let r = c.deliberate(req("DEV", "trace me")).await.unwrap().into_inner();
    let id = r.metadata.unwrap().execution_id;
    let deadline = Instant::now() + Duration::from_secs(5);
    let found = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(&id) => break line,
            _ => assert!(Instant::now() < deadline, "no log line carries execution id {id}"),
        }
    };
    let v: serde_json::Value = serde_json::from_str(&found).unwrap();
    assert_eq!(v["span"]["execution_id"], id.as_str(), "{found}");
    assert_eq!(v["span"]["rpc"], "Deliberate");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn odd_inputs_never_give_internal_or_kill_the_server() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    scripted_council(&mut c, "DEV", 2, 0).await;
    let weird = ["", " ", "\u{0}", "ÿ\u{202e}émoji 🦀", &"x".repeat(65_536), &"y".repeat(65_537), "DEV", "dev\n"];
    let numbers = [i32::MIN, -1, 0, 1, 10, 11, i32::MAX];
    let mut seen = std::collections::BTreeSet::new();
    for (i, task) in weird.iter().enumerate() {
        for role in ["DEV", "dev", "", "🦀", "QA"] {
            let n = numbers[i % numbers.len()];
            let r = pb::DeliberateRequest {
                task_description: task.to_string(),
                role: role.into(),
                constraints: Some(pb::TaskConstraints {
                    rubric: task.to_string(),
                    requirements: vec![task.to_string(); i % 3],
                    metadata: [(task.to_string(), role.to_owned())].into(),
                    max_iterations: n,
                    timeout_seconds: numbers[(i + 3) % numbers.len()],
                    tests: Vec::new(),
                }),
                rounds: n,
                num_agents: numbers[(i + 1) % numbers.len()],
                ..Default::default()
            };
            let code = match c.deliberate(r).await {
                Ok(_) => Code::Ok,
                Err(e) => e.code(),
            };
            assert!(!matches!(code, Code::Internal | Code::Unknown), "task {i} role {role:?}: {code:?}");
            seen.insert(format!("{code:?}"));
        }
        for id in [task.to_string(), format!("{task}/..")] {
            let e = c.get_deliberation_result(pb::GetDeliberationResultRequest { task_id: id }).await.unwrap_err();
            assert!(matches!(e.code(), Code::InvalidArgument | Code::NotFound), "{:?} {}", e.code(), e.message());
        }
    }
    assert!(seen.contains("InvalidArgument") && seen.contains("Unimplemented"), "{seen:?}");
    // Still serving.
    assert_eq!(c.deliberate(req("DEV", "still alive")).await.unwrap().into_inner().results.len(), 2);
}

#[tokio::test]
async fn strategies_and_budgets_with_a_ceiling_no_request_can_raise() {
    let s = Server::start(&[], Some("orchestration: {limits: {max_calls: 50}}\n"));
    let mut c = s.client().await;
    common::scripted_council(&mut c, "DEV", 32, 0).await;
    // 32 agents x 10 rounds would be 32 + 10 x 64 = 672 calls; the ceiling stops it at 50.
    let mut r = req("DEV", "Write a parser");
    r.rounds = 10;
    let out = c.deliberate(r.clone()).await.unwrap().into_inner();
    let tags = out.metadata.unwrap().tags;
    assert_eq!(tags["budget_calls"], "50");
    assert!(tags["budget_exhausted"].contains("max_calls (50)"), "{tags:?}");
    assert_eq!(tags["strategy"], "deliberate");
    // A request cannot raise it; it names the field and the limit.
    r.max_calls = 51;
    let e = c.deliberate(r.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("max_calls") && e.message().contains("50"), "{}", e.message());
    // Strategies by name.
    r.max_calls = 0;
    r.strategy = "best_of_n".into();
    let tags = c.deliberate(r.clone()).await.unwrap().into_inner().metadata.unwrap().tags;
    assert_eq!(
        (tags["strategy"].as_str(), tags["budget_calls"].as_str(), tags["rounds"].as_str()),
        ("best_of_n", "32", "0")
    );
    r.strategy = "debate".into();
    let e = c.deliberate(r).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("strategy"), "{}", e.message());
}
