#![allow(dead_code)]
//! Starts the real `orchestrator` binary on an ephemeral port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orchestrator_grpc::pb;
use orchestrator_grpc::pb::orchestrator_service_client::OrchestratorServiceClient;
use tonic::transport::Channel;

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub data_dir: std::path::PathBuf,
    pub _dir: Option<tempfile::TempDir>,
}

impl Server {
    pub fn start(env: &[(&str, &str)], config_yaml: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Server::start_in(dir.path(), env, config_yaml);
        s._dir = Some(dir);
        s
    }

    /// Start with the store in `data_dir` (kept across restarts).
    pub fn start_in(data_dir: &std::path::Path, env: &[(&str, &str)], config_yaml: Option<&str>) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orchestrator"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("GRPC_PORT", "0")
            .env("METRICS_PORT", "0")
            .env("ORCHESTRATOR_DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .env("ORCHESTRATOR_ALLOW_TEST_AGENTS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(y) = config_yaml {
            let p = data_dir.join("config.yaml");
            std::fs::write(&p, y).unwrap();
            cmd.arg("--config").arg(p);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start orchestrator");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(p) = line.strip_prefix("Orchestrator Service listening on port ") {
                    let _ = tx.send(p.trim().parse::<u16>().unwrap());
                }
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(20)).expect("server did not report its port");
        Server { child, port, data_dir: data_dir.to_owned(), _dir: None }
    }

    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.addr()).unwrap().connect().await.unwrap()
    }

    pub async fn client(&self) -> OrchestratorServiceClient<Channel> {
        OrchestratorServiceClient::new(self.channel().await)
    }

    /// SIGKILL: no chance to clean up (a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn sigterm(&self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn scripted_council(c: &mut OrchestratorServiceClient<Channel>, role: &str, n: i32, latency_ms: u64) {
    let mut params = std::collections::HashMap::new();
    params.insert("latency_ms".to_owned(), latency_ms.to_string());
    c.create_council(pb::CreateCouncilRequest {
        role: role.into(),
        num_agents: n,
        config: Some(pb::CouncilConfig {
            deliberation_rounds: 1,
            enable_peer_review: true,
            model_profile: String::new(),
            custom_params: params,
            agent_type: "scripted".into(),
        }),
    })
    .await
    .unwrap();
}

pub fn req(role: &str, task: &str) -> pb::DeliberateRequest {
    pb::DeliberateRequest {
        task_description: task.into(),
        role: role.into(),
        constraints: Some(pb::TaskConstraints {
            rubric: "Secure, maintainable code".into(),
            requirements: vec!["Unit tests".into(), "Error handling".into()],
            ..Default::default()
        }),
        rounds: 0,
        num_agents: 0,
        ..Default::default()
    }
}

/// A JetStream server (Debian's nats-server) on a free port, killed on drop.
pub struct Nats {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_nats() -> Nats {
    let bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nats-server is not installed (apt-get install nats-server)");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(bin)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Nats { child, url: format!("nats://127.0.0.1:{port}"), _dir: dir }
}
