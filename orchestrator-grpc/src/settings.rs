//! The service's configuration file: the engine's [`Config`] (flattened: `orchestration:`,
//! `llm:`, `endpoints:`, `agents:`, `verify:`, ...) plus the sections only a server has:
//! `service:`, `storage:`, `nats:` and `submissions:`.

use std::path::PathBuf;

use orchestrator_core::llm::Secret;
use orchestrator_core::{Config, Error};
use serde::{Deserialize, Serialize};

/// The whole configuration file of `orchestrator serve`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// The engine's sections.
    #[serde(flatten)]
    pub core: Config,
    /// `service:`.
    pub service: ServiceConfig,
    /// `storage:`.
    pub storage: StorageConfig,
    /// `nats:`.
    pub nats: NatsConfig,
    /// `submissions:`.
    pub submissions: SubmissionsConfig,
    /// `fleet:`.
    pub fleet: FleetConfig,
}

/// `fleet:`: integration with the fleet's planning service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FleetConfig {
    /// Run the deliberations approved plans ask for: a durable pull consumer on
    /// `planning.plan.approved` (needs `nats.url`; see docs/EVENTS.md).
    pub dispatch: bool,
}

impl ServerConfig {
    /// Parse YAML.
    pub fn from_yaml(text: &str) -> Result<Self, Error> {
        orchestrator_core::parse_config_yaml(text)
    }

    /// Read a YAML file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, Error> {
        orchestrator_core::read_config_yaml(path)
    }

    /// Overlay environment variables (see `docs/CONFIG.md`) using `get` to read them: the
    /// server's own (`GRPC_PORT`, `METRICS_PORT`, tokens, `ORCHESTRATOR_DATA_DIR`, `NATS_URL`,
    /// `ORCHESTRATOR_REPLICA_ID`), then the engine's.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, Error> {
            v.trim().parse().map_err(|_| Error::invalid(name, format!("cannot parse {v:?}")))
        }
        if let Some(v) = get("GRPC_PORT") {
            self.service.port = parse("GRPC_PORT", &v)?;
        }
        if let Some(v) = get("METRICS_PORT") {
            self.service.metrics_port = parse("METRICS_PORT", &v)?;
        }
        if let Some(v) = get("ORCHESTRATOR_AUTH_TOKEN") {
            self.service.auth_token = Secret::new(v);
        }
        if let Some(v) = get("ORCHESTRATOR_ADMIN_TOKEN") {
            self.service.admin_token = Secret::new(v);
        }
        if let Some(v) = get("ORCHESTRATOR_DATA_DIR") {
            self.storage.path = PathBuf::from(v);
        }
        if let Some(v) = get("REDIS_URL") {
            self.storage.redis_url = Secret::new(v.trim());
        }
        if let Some(v) = get("NATS_URL") {
            self.nats.url = v;
        }
        if let Some(v) = get("ORCHESTRATOR_REPLICA_ID") {
            self.nats.replica_id = v;
        }
        self.core.apply_env(get)
    }

    /// Overlay the process environment.
    pub fn apply_process_env(&mut self) -> Result<(), Error> {
        self.apply_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Check the whole configuration before serving: every error names the key and the limit.
    pub fn validate(&self) -> Result<(), Error> {
        let day = 24.0 * 3600.0;
        for (key, v) in [
            ("storage.retention_hours", self.storage.retention_hours * 3600.0),
            ("nats.ack_wait_seconds", self.nats.ack_wait_seconds),
        ] {
            if !(v.is_finite() && (0.0..=day * 366.0).contains(&v)) {
                return Err(Error::invalid(key, format!("is {v}; it must be 0 to {} (a year)", day * 366.0)));
            }
        }
        let q = &self.submissions;
        if q.queue_capacity == 0 || q.queue_capacity > 1_000_000 || q.workers == 0 || q.workers > 4096 {
            return Err(Error::invalid("submissions", "queue_capacity must be 1 to 1000000 and workers 1 to 4096"));
        }
        if q.max_attempts == 0 {
            return Err(Error::invalid("submissions.max_attempts", "must be at least 1"));
        }
        if self.service.shutdown_grace_seconds > 3600 {
            return Err(Error::invalid("service.shutdown_grace_seconds", "must be at most 3600"));
        }
        if self.fleet.dispatch && self.nats.url.trim().is_empty() {
            return Err(Error::invalid("fleet.dispatch", "needs nats.url (NATS_URL): plans arrive on NATS"));
        }
        if !(1..=3600).contains(&self.storage.claim_ttl_seconds) {
            return Err(Error::invalid(
                "storage.claim_ttl_seconds",
                format!("is {}; it must be 1 to 3600", self.storage.claim_ttl_seconds),
            ));
        }
        if !self.storage.redis_url.is_empty() && !self.nats.url.trim().is_empty() {
            return Err(Error::invalid(
                "storage.redis_url",
                "and nats.url are both set: with NATS, results live on JetStream; set one of them",
            ));
        }
        for (key, v) in [
            ("service.keepalive_interval_seconds", self.service.keepalive_interval_seconds),
            ("service.keepalive_timeout_seconds", self.service.keepalive_timeout_seconds),
        ] {
            if !(1..=3600).contains(&v) {
                return Err(Error::invalid(key, format!("is {v}; it must be 1 to 3600")));
            }
        }
        if self.service.max_message_bytes < 1024 || self.service.max_message_bytes > 256 << 20 {
            return Err(Error::invalid("service.max_message_bytes", "must be 1024 to 268435456"));
        }
        if self.service.tls_cert.is_some() != self.service.tls_key.is_some() {
            return Err(Error::invalid(
                "service.tls_cert",
                "tls_cert and tls_key must be set together (TLS is on only with both)",
            ));
        }
        self.core.validate()
    }
}

/// `service:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceConfig {
    /// Service name (logs).
    pub name: String,
    /// gRPC port (`GRPC_PORT`).
    pub port: u16,
    /// Host to bind.
    pub host: String,
    /// Prometheus metrics port (0: off).
    pub metrics_port: u16,
    /// Most RPCs served at once before load shedding.
    pub max_concurrent_requests: usize,
    /// Largest request or response message, bytes.
    pub max_message_bytes: usize,
    /// Seconds in-flight work may take to finish after SIGTERM.
    pub shutdown_grace_seconds: u64,
    /// Bearer token required on every RPC but health and reflection (`ORCHESTRATOR_AUTH_TOKEN`).
    pub auth_token: Secret,
    /// Bearer token of the council-changing RPCs (Create/DeleteCouncil, Register/UnregisterAgent),
    /// separate from `auth_token` (`ORCHESTRATOR_ADMIN_TOKEN`). When `auth_token` is set and this is
    /// not, those RPCs are refused.
    pub admin_token: Secret,
    /// TLS certificate (PEM) path; TLS is on when both cert and key are set.
    pub tls_cert: Option<PathBuf>,
    /// TLS key (PEM) path.
    pub tls_key: Option<PathBuf>,
    /// Seconds between HTTP/2 keepalive pings to each client (also the TCP keepalive idle
    /// time); a client that misses a ping is dead, and its work is cancelled.
    pub keepalive_interval_seconds: u64,
    /// Seconds a client has to answer a keepalive ping.
    pub keepalive_timeout_seconds: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            name: "orchestrator".into(),
            port: 50055,
            host: "0.0.0.0".into(),
            metrics_port: 9090,
            max_concurrent_requests: 256,
            max_message_bytes: 4 * 1024 * 1024,
            shutdown_grace_seconds: 30,
            auth_token: Secret::default(),
            admin_token: Secret::default(),
            tls_cert: None,
            tls_key: None,
            keepalive_interval_seconds: 30,
            keepalive_timeout_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageConfig {
    /// Data directory (`ORCHESTRATOR_DATA_DIR`).
    pub path: PathBuf,
    /// Finished records older than this are removed (hours; 0 keeps everything).
    pub retention_hours: f64,
    /// How often the retention task runs (seconds).
    pub purge_interval_seconds: u64,
    /// Redis or Valkey URL (`REDIS_URL`): results, submissions, councils and statistics live
    /// there instead of SQLite. May carry a password; it is never logged.
    pub redis_url: Secret,
    /// Prefix of every Redis key.
    pub redis_prefix: String,
    /// With Redis: how long a replica's claim on a task lasts without renewal (renewed every
    /// third of it), and how often replicas look for tasks a dead replica left (seconds).
    pub claim_ttl_seconds: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from("./data"),
            retention_hours: 168.0,
            purge_interval_seconds: 3600,
            redis_url: Secret::default(),
            redis_prefix: "orchestrator".into(),
            claim_ttl_seconds: 30,
        }
    }
}

/// `submissions:`: the queue of SubmitDeliberation jobs (single-process mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubmissionsConfig {
    /// Jobs waiting at most; a submission past it is RESOURCE_EXHAUSTED.
    pub queue_capacity: usize,
    /// Jobs run at once.
    pub workers: usize,
    /// Runs of one job (restarts included) before it is FAILED.
    pub max_attempts: u32,
}

impl Default for SubmissionsConfig {
    fn default() -> Self {
        SubmissionsConfig { queue_capacity: 10_000, workers: 64, max_attempts: 3 }
    }
}

/// `nats:`: distributed mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NatsConfig {
    /// Server URL (`NATS_URL`); empty: single-process mode.
    pub url: String,
    /// Jobs a replica runs at once.
    pub concurrency: usize,
    /// Deliveries of one job before it is marked FAILED.
    pub max_deliver: i64,
    /// Seconds without a progress signal before a job is redelivered to another replica.
    pub ack_wait_seconds: f64,
    /// Name of this replica (default: hostname and pid).
    pub replica_id: String,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: String::new(),
            concurrency: 16,
            max_deliver: 3,
            ack_wait_seconds: 5.0,
            replica_id: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_sections_sit_beside_the_engine_config_in_one_file() {
        let yaml = "service: {name: orch, port: 6000}\nstorage: {retention_hours: 2}\n\
                    orchestration: {default_rounds: 2}\nllm: {model: m}\n";
        let mut c = ServerConfig::from_yaml(yaml).unwrap();
        let env = [("GRPC_PORT", "7000"), ("LLM_MODEL", "env-model"), ("NATS_URL", "nats://n:4222")];
        c.apply_env(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        assert_eq!((c.service.name.as_str(), c.service.port), ("orch", 7000));
        assert_eq!(c.storage.retention_hours, 2.0);
        assert_eq!(c.nats.url, "nats://n:4222");
        assert_eq!(c.core.orchestration.default_rounds, 2);
        assert_eq!(c.core.llm.model, "env-model", "the engine's variables apply too");
        c.validate().unwrap();
        c.service.max_message_bytes = 1;
        assert!(c.validate().unwrap_err().to_string().contains("service.max_message_bytes"));
        c.service.max_message_bytes = 4 << 20;
        c.core.orchestration.call_timeout_seconds = f64::INFINITY;
        assert!(c.validate().unwrap_err().to_string().contains("orchestration.call_timeout_seconds"));
    }
}
