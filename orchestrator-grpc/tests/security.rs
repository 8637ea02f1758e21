//! Hardening of the real binary: keys, registration and admin surface.

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::Server;
use orchestrator_grpc::pb;
use tonic::Code;

/// A listener that counts every connection made to it (and answers none).
fn thief() -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            h.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    (url, hits)
}

fn register(endpoint: &str, model: &str) -> pb::RegisterAgentRequest {
    pb::RegisterAgentRequest {
        agent_id: "rogue".into(),
        role: "DEV".into(),
        capabilities: Some(pb::AgentCapabilities { model_profile: model.into(), ..Default::default() }),
        endpoint: endpoint.into(),
        metadata: Default::default(),
    }
}

const KEY: &str = "sk-operator-secret-0123456789";

#[tokio::test]
async fn register_agent_never_sends_the_operator_key_to_a_client_url() {
    let (model_url, _) = thief(); // the operator's (unreachable here) endpoint
    let (evil, hits) = thief();
    // Remote agents off (the default): refused before any URL is looked at.
    let s = Server::start(&[("OPENAI_API_KEY", KEY), ("LLM_BASE_URL", &model_url), ("LLM_MODEL", "m")], None);
    let mut c = s.client().await;
    let e = c.register_agent(register(&evil, "m")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    drop(c);
    drop(s);

    let s = Server::start(
        &[
            ("OPENAI_API_KEY", KEY),
            ("LLM_BASE_URL", &model_url),
            ("LLM_MODEL", "m"),
            ("ORCHESTRATOR_ALLOW_REMOTE_AGENTS", "1"),
        ],
        None,
    );
    let mut c = s.client().await;
    for url in
        [evil.clone(), format!("{evil}/#{model_url}"), format!("{evil}/?u={model_url}"), format!("{model_url}@evil")]
    {
        let e = c.register_agent(register(&url, "m")).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{url}: {}", e.message());
        assert!(e.message().contains("endpoint"), "{}", e.message());
    }
    // A known endpoint, but a model the operator did not list.
    let e = c.register_agent(register("default", "gpt-5-expensive")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("gpt-5-expensive"), "{}", e.message());
    // By name, on a listed model: accepted, and listings show the endpoint's name only.
    c.register_agent(register("default", "m")).await.unwrap();
    let list = c
        .list_councils(pb::ListCouncilsRequest { role_filter: "DEV".into(), include_agents: true })
        .await
        .unwrap()
        .into_inner();
    assert!(list.councils[0].agents.iter().any(|a| a.agent_id == "rogue"));
    let e = c.deliberate(common::req("DEV", "Implement auth")).await;
    if let Err(e) = e {
        assert!(!e.message().contains(KEY), "{}", e.message());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the server connected to a client-named URL");
}

#[tokio::test]
async fn a_stored_rogue_agent_is_dropped_when_its_endpoint_is_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (evil, hits) = thief();
    // A council record as an older build stored it: an agent on a client-named URL.
    {
        let s = Server::start_in(dir.path(), &[], None);
        drop(s);
    }
    seed_rogue_council(dir.path(), &evil).await;
    let (model_url, _) = thief();
    let s = Server::start_in(
        dir.path(),
        &[("OPENAI_API_KEY", KEY), ("LLM_BASE_URL", &model_url), ("LLM_MODEL", "m")],
        None,
    );
    let mut c = s.client().await;
    let list = c
        .list_councils(pb::ListCouncilsRequest { role_filter: "DEV".into(), include_agents: true })
        .await
        .unwrap()
        .into_inner();
    assert!(list.councils.iter().all(|c| c.agents.iter().all(|a| a.agent_id != "rogue")), "{list:?}");
    let _ = c.deliberate(common::req("DEV", "Implement auth")).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

/// Store a council with a rogue agent through the core's store API (as an old build did).
async fn seed_rogue_council(dir: &std::path::Path, evil: &str) {
    use orchestrator_core::store::{AgentSpec, CouncilRecord, SqliteStore, Store};
    {
        let store = SqliteStore::open(dir).unwrap();
        let spec: AgentSpec = serde_json::from_value(serde_json::json!({
            "id": "rogue", "kind": "llm", "model": "m", "base_url": evil
        }))
        .unwrap();
        store
            .put_council(&CouncilRecord {
                role: "DEV".into(),
                settings: orchestrator_core::CouncilSettings::default(),
                agents: vec![spec],
            })
            .await
            .unwrap();
    }
}

fn with_token<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

fn scripted_council_req(role: &str, n: i32) -> pb::CreateCouncilRequest {
    pb::CreateCouncilRequest {
        role: role.into(),
        num_agents: n,
        config: Some(pb::CouncilConfig { agent_type: "scripted".into(), ..Default::default() }),
    }
}

#[tokio::test]
async fn scripted_test_agents_are_off_unless_the_development_switch_is_set() {
    let s = Server::start(&[("ORCHESTRATOR_ALLOW_TEST_AGENTS", "0")], None);
    let mut c = s.client().await;
    let e = c.create_council(scripted_council_req("DEV", 2)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    assert!(e.message().contains("ORCHESTRATOR_ALLOW_TEST_AGENTS"), "{}", e.message());
    let mut meta = std::collections::HashMap::new();
    meta.insert("agent_type".to_owned(), "scripted".to_owned());
    let e = c
        .register_agent(pb::RegisterAgentRequest {
            agent_id: "t".into(),
            role: "DEV".into(),
            metadata: meta,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn council_changes_need_the_admin_token() {
    let s =
        Server::start(&[("ORCHESTRATOR_AUTH_TOKEN", "data-token"), ("ORCHESTRATOR_ADMIN_TOKEN", "admin-token")], None);
    let mut c = s.client().await;
    let e = c.create_council(with_token(scripted_council_req("DEV", 2), "data-token")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    c.create_council(with_token(scripted_council_req("DEV", 2), "admin-token")).await.unwrap();
    c.deliberate(with_token(common::req("DEV", "data plane"), "data-token")).await.unwrap();
    let e =
        c.delete_council(with_token(pb::DeleteCouncilRequest { role: "DEV".into() }, "data-token")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = c.deliberate(common::req("DEV", "no token")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    drop(c);
    drop(s);
    // A data token but no admin token: council changes are off.
    let s = Server::start(&[("ORCHESTRATOR_AUTH_TOKEN", "data-token")], None);
    let mut c = s.client().await;
    let e = c.create_council(with_token(scripted_council_req("DEV", 2), "data-token")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_council_cannot_grow_past_max_agents() {
    let s = Server::start(&[], Some("orchestration: {limits: {max_agents: 3}}\n"));
    let mut c = s.client().await;
    c.create_council(scripted_council_req("DEV", 3)).await.unwrap();
    let mut meta = std::collections::HashMap::new();
    meta.insert("agent_type".to_owned(), "scripted".to_owned());
    let e = c
        .register_agent(pb::RegisterAgentRequest {
            agent_id: "fourth".into(),
            role: "DEV".into(),
            metadata: meta,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
    assert!(e.message().contains("max_agents"), "{}", e.message());
    c.deliberate(common::req("DEV", "still usable")).await.unwrap();
}

fn serve_fails(config: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.yaml");
    std::fs::write(&p, config).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .args(["serve", "--config"])
        .arg(&p)
        .env_clear()
        .env("GRPC_PORT", "0")
        .env("METRICS_PORT", "0")
        .env("ORCHESTRATOR_DATA_DIR", dir.path())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_config_refuses_to_start_naming_the_key() {
    let e = serve_fails("orchestration: {call_timeout_seconds: 1.0e300}\n", &[]);
    assert!(e.contains("orchestration.call_timeout_seconds"), "{e}");
    let e = serve_fails("llm: {base_url: 'http://127.0.0.1:1', model: m, timeout: 1.0e15}\n", &[]);
    assert!(e.contains("llm.timeout"), "{e}");
    let e = serve_fails("service: {tls_cert: /tmp/cert.pem}\n", &[]);
    assert!(e.contains("tls_cert and tls_key must be set together"), "{e}");
}

#[tokio::test]
async fn a_result_too_big_to_store_fails_once_with_the_reason() {
    let s = Server::start(&[], Some("service: {max_message_bytes: 150000}\n"));
    let mut c = s.client().await;
    c.create_council(scripted_council_req("DEV", 3)).await.unwrap();
    let big = "x".repeat(60_000);
    c.submit_deliberation(pb::SubmitDeliberationRequest {
        task_id: "too-big".into(),
        request: Some(common::req("DEV", &big)),
        retry: false,
    })
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = c
            .get_deliberation_result(pb::GetDeliberationResultRequest { task_id: "too-big".into() })
            .await
            .unwrap()
            .into_inner();
        if r.status == pb::DeliberationStatus::Failed as i32 {
            assert!(r.error_message.contains("over the limit"), "{}", r.error_message);
            assert_eq!(r.metadata.unwrap().tags["attempts"], "1");
            break;
        }
        assert_ne!(
            r.status,
            pb::DeliberationStatus::Completed as i32,
            "a result over the limit was stored: {} results, {} bytes",
            r.results.len(),
            r.results.iter().map(|x| x.proposal.as_ref().unwrap().content.len()).sum::<usize>()
        );
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn tls_serves_a_trusting_client_and_refuses_plaintext() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let yaml = format!("service: {{tls_cert: {}, tls_key: {}}}\n", cert_path.display(), key_path.display());
    let s = Server::start(&[], Some(&yaml));
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    let channel = tonic::transport::Channel::from_shared(format!("https://127.0.0.1:{}", s.port))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("a trusting client connects over TLS");
    let mut c = pb::orchestrator_service_client::OrchestratorServiceClient::new(channel);
    let st = c.get_status(pb::GetStatusRequest { include_stats: false }).await.unwrap().into_inner();
    assert_eq!(st.status, "healthy");
    let plain = tonic::transport::Channel::from_shared(s.addr()).unwrap().connect().await;
    let refused = match plain {
        Err(_) => true,
        Ok(ch) => pb::orchestrator_service_client::OrchestratorServiceClient::new(ch)
            .get_status(pb::GetStatusRequest { include_stats: false })
            .await
            .is_err(),
    };
    assert!(refused, "a plaintext client was served");
}

#[tokio::test]
async fn a_stream_reader_that_stops_reading_does_not_freeze_its_deliberation() {
    let s = Server::start(&[], None);
    let mut c = s.client().await;
    c.create_council(scripted_council_req("DEV", 20)).await.unwrap();
    let mut r = common::req("DEV", "many events");
    r.rounds = 3; // 20 generate + 3 x 40 review + 20 scored: well over the 64-update buffer
    let mut stream = c.stream_deliberation(r).await.unwrap().into_inner();
    // Read nothing; the deliberation must still finish.
    let mut other = s.client().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let st = other.get_status(pb::GetStatusRequest { include_stats: true }).await.unwrap().into_inner();
        if st.stats.unwrap().total_deliberations >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the deliberation froze behind a reader that does not read");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Progress may have been dropped; the final result never is.
    let mut last = None;
    while let Some(u) = stream.message().await.unwrap() {
        last = Some(u);
    }
    let last = last.unwrap();
    assert_eq!(last.status, "complete");
    assert_eq!(last.partial_result.unwrap().results.len(), 20);
}

#[tokio::test]
async fn health_is_not_serving_for_a_role_whose_every_endpoint_is_open() {
    let (dead, _) = thief(); // accepts and hangs up: every call fails
    let yaml = format!(
        "llm: {{base_url: '{dead}', model: m, max_attempts: 1, breaker_threshold: 1, breaker_cooldown: 600}}\n\
         orchestration: {{default_num_agents: 2}}\n"
    );
    let s = Server::start(&[], Some(&yaml));
    let mut health = tonic_health::pb::health_client::HealthClient::new(s.channel().await);
    let check = |svc: &str| tonic_health::pb::HealthCheckRequest { service: svc.to_owned() };
    let mut c = s.client().await;
    let _ = c.deliberate(common::req("DEV", "fails")).await.unwrap_err();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let st = health.check(check("orchestrator.v1.OrchestratorService.DEV")).await.map(|r| r.into_inner().status);
        if st.as_ref().ok() == Some(&(tonic_health::pb::health_check_response::ServingStatus::NotServing as i32)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "DEV still reported serving: {st:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let overall = health.check(check("")).await.unwrap().into_inner().status;
    assert_eq!(overall, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}

#[test]
fn serving_without_auth_or_tls_is_logged_as_a_warning() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .arg("serve")
        .env_clear()
        .env("GRPC_PORT", "0")
        .env("METRICS_PORT", "0")
        .env("RUST_LOG", "warn")
        .env("ORCHESTRATOR_DATA_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
        let done = line.starts_with("Orchestrator Service listening on port");
        seen.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join("\n");
    assert!(text.contains("WITHOUT authentication"), "{text}");
    assert!(text.contains("WITHOUT TLS"), "{text}");
}

/// A TCP proxy that forwards until `blackhole` is set, then neither reads nor writes nor closes:
/// what a client whose machine vanished looks like to the server.
async fn blackholing_proxy(to: u16) -> (u16, Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::AtomicBool;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hole = Arc::new(AtomicBool::new(false));
    let h = hole.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", to)).await.unwrap();
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            for (mut r, mut w, h) in [
                (
                    Box::new(cr) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
                    Box::new(sw) as Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
                    h.clone(),
                ),
                (Box::new(sr), Box::new(cw), h.clone()),
            ] {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 << 10];
                    loop {
                        let n = match r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if h.load(Ordering::SeqCst) {
                            // Keep both sockets open and silent forever.
                            std::future::pending::<()>().await;
                        }
                        if w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _keep = (r, w);
                    std::future::pending::<()>().await;
                });
            }
        }
    });
    (port, hole)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_client_is_found_by_keepalive_and_its_deliberation_cancelled() {
    let s = Server::start(&[], Some("service: {keepalive_interval_seconds: 1, keepalive_timeout_seconds: 1}\n"));
    let mut admin = s.client().await;
    // generate, critique and revise take 1.5 s each: about 4.5 s when nobody cancels it.
    common::scripted_council(&mut admin, "DEV", 3, 1500).await;
    let (port, hole) = blackholing_proxy(s.port).await;
    let ch =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await.unwrap();
    let mut doomed = pb::orchestrator_service_client::OrchestratorServiceClient::new(ch);
    let mut r = common::req("DEV", "abandoned");
    r.rounds = 1;
    let call = tokio::spawn(async move { doomed.deliberate(r).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    hole.store(true, Ordering::SeqCst);
    // The server pings, hears nothing within 1 s, drops the connection and with it the call.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let st = admin.get_status(pb::GetStatusRequest { include_stats: true }).await.unwrap().into_inner();
    assert_eq!(
        st.stats.unwrap().total_deliberations,
        0,
        "the deliberation of a dead client ran to the end: keepalive did not find it"
    );
    call.abort();
}
