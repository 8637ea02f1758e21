//! Distributed mode over NATS JetStream: submissions go to a work-queue stream; every replica
//! runs a durable pull consumer and takes jobs up to its concurrency; a job is acknowledged only
//! after its result is stored in a key-value bucket (readable from any replica); a replica that
//! dies leaves its jobs to be redelivered (bounded attempts, then FAILED); completed and failed
//! deliberations are published as events.
//!
//! Exactly once: claiming a job and storing its result are compare-and-set updates of the
//! task's key, so only the claim that is still current may complete it; a redelivered job whose
//! record is already final is acknowledged without running again.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, kv, stream, AckKind};
use futures::StreamExt;
use orchestrator_core::store::{TaskRecord, TaskStatus};
use orchestrator_core::{DeliberationRequest, Error, NatsConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::app::OrchestratorApp;

/// Work-queue stream of submissions.
pub const JOBS_STREAM: &str = "ORCHESTRATOR_JOBS";
/// Subject of submissions.
pub const JOBS_SUBJECT: &str = "orchestration.jobs";
/// Stream of `orchestration.deliberation.completed` / `.failed` events.
pub const EVENTS_STREAM: &str = "ORCHESTRATOR_EVENTS";
/// Key-value bucket of task records.
pub const TASKS_BUCKET: &str = "orchestrator_tasks";
const CONSUMER: &str = "orchestrator-workers";

#[derive(Serialize, Deserialize)]
struct Job {
    task_id: String,
    request: DeliberationRequest,
}

/// The JSON event published when a deliberation ends.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct DeliberationEvent {
    /// Task id.
    pub task_id: String,
    /// Role.
    pub role: String,
    /// COMPLETED, FAILED or TIMEOUT.
    pub status: String,
    /// Winning agent (completed only).
    pub winner_id: String,
    /// Ranked results (completed only).
    pub results: Vec<orchestrator_core::RankedResult>,
    /// Why it failed.
    pub error: String,
    /// Wall time, ms.
    pub duration_ms: f64,
    /// Replica that ran it.
    pub replica: String,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable { message: format!("NATS {what}: {e}") }
}

/// A replica's connection to the cluster.
pub struct Cluster {
    js: jetstream::Context,
    kv: kv::Store,
    consumer: jetstream::consumer::Consumer<pull::Config>,
    config: NatsConfig,
    replica: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("replica", &self.replica).finish_non_exhaustive()
    }
}

/// Whether `id` can be a key of the bucket (NATS keys: letters, digits, `-_=.`).
pub fn valid_task_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '='))
}

impl Cluster {
    /// Connect and create (or open) the streams, bucket and durable consumer.
    pub async fn connect(config: &NatsConfig, replica: &str) -> Result<Arc<Self>, Error> {
        let client = async_nats::connect(config.url.as_str()).await.map_err(|e| unavailable("connect", e))?;
        let js = jetstream::new(client);
        let ack_wait = Duration::from_secs_f64(config.ack_wait_seconds.max(0.5));
        let jobs = js
            .get_or_create_stream(stream::Config {
                name: JOBS_STREAM.into(),
                subjects: vec![JOBS_SUBJECT.into()],
                retention: stream::RetentionPolicy::WorkQueue,
                duplicate_window: Duration::from_secs(120),
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("jobs stream", e))?;
        js.get_or_create_stream(stream::Config {
            name: EVENTS_STREAM.into(),
            subjects: vec!["orchestration.deliberation.>".into()],
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(7 * 24 * 3600),
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("events stream", e))?;
        let kv = match js.get_key_value(TASKS_BUCKET).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: TASKS_BUCKET.into(),
                    history: 1,
                    storage: stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| unavailable("tasks bucket", e))?,
        };
        let consumer = jobs
            .get_or_create_consumer(
                CONSUMER,
                pull::Config {
                    durable_name: Some(CONSUMER.into()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait,
                    // One more delivery than attempts, so the last one can record the give-up.
                    max_deliver: config.max_deliver.max(1) + 1,
                    max_ack_pending: 10_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| unavailable("consumer", e))?;
        tracing::info!(url = %config.url, replica, "joined the NATS cluster");
        Ok(Arc::new(Cluster { js, kv, consumer, config: config.clone(), replica: replica.to_owned() }))
    }

    /// Submit a job: stored as PENDING and published, unless the id exists (then false).
    pub async fn submit(&self, task_id: &str, request: DeliberationRequest) -> Result<bool, Error> {
        let record = TaskRecord::pending(task_id.to_owned(), request.clone());
        let bytes = serde_json::to_vec(&record).map_err(|e| Error::Internal { message: e.to_string() })?;
        match self.kv.create(task_id, bytes.into()).await {
            Ok(_) => {}
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(unavailable("store the submission", e)),
        }
        let job = serde_json::to_vec(&Job { task_id: task_id.to_owned(), request })
            .map_err(|e| Error::Internal { message: e.to_string() })?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", task_id);
        let published = async {
            self.js.publish_with_headers(JOBS_SUBJECT, headers, job.into()).await?.await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
        .await;
        if let Err(e) = published {
            // Nothing will run it: do not leave a PENDING record behind.
            let _ = self.kv.delete(task_id).await;
            return Err(unavailable("publish the job", e));
        }
        Ok(true)
    }

    /// A task's record.
    pub async fn get(&self, task_id: &str) -> Result<Option<TaskRecord>, Error> {
        if !valid_task_id(task_id) {
            return Ok(None);
        }
        match self.kv.entry(task_id).await.map_err(|e| unavailable("read the task", e))? {
            Some(e) if e.operation == kv::Operation::Put => {
                Ok(Some(serde_json::from_slice(&e.value).map_err(|e| Error::Storage { message: e.to_string() })?))
            }
            _ => Ok(None),
        }
    }

    /// Start pulling jobs, at most `concurrency` at once.
    pub fn spawn_workers(self: Arc<Self>, app: Weak<OrchestratorApp>) {
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        tokio::spawn(async move {
            loop {
                let Ok(first) = permits.clone().acquire_owned().await else { return };
                let want = permits.available_permits() + 1;
                let batch = self.consumer.fetch().max_messages(want).expires(Duration::from_secs(1)).messages().await;
                let mut batch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(error = %e, "fetching jobs failed; retrying");
                        drop(first);
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                let mut permit = Some(first);
                while let Some(msg) = batch.next().await {
                    let Ok(msg) = msg else { continue };
                    let p = match permit.take() {
                        Some(p) => p,
                        None => match permits.clone().acquire_owned().await {
                            Ok(p) => p,
                            Err(_) => return,
                        },
                    };
                    let Some(app) = app.upgrade() else { return };
                    let me = self.clone();
                    tokio::spawn(async move {
                        me.process(&app, msg).await;
                        drop(p);
                    });
                }
            }
        });
    }

    async fn process(&self, app: &OrchestratorApp, msg: jetstream::Message) {
        let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
        let job: Job = match serde_json::from_slice(&msg.payload) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "dropping a malformed job");
                let _ = msg.ack().await;
                return;
            }
        };
        let id = job.task_id.clone();
        let entry = match self.kv.entry(&id).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                let _ = msg.ack().await;
                return;
            }
            Err(e) => {
                tracing::warn!(task_id = %id, error = %e, "cannot read the task; it will be redelivered");
                return;
            }
        };
        let Ok(mut record) = serde_json::from_slice::<TaskRecord>(&entry.value) else {
            let _ = msg.ack().await;
            return;
        };
        if record.status.is_final() {
            // Already done (an acknowledgement was lost): never run twice.
            let _ = msg.ack().await;
            return;
        }
        if delivered > self.config.max_deliver.max(1) {
            record.status = TaskStatus::Failed;
            record.error = format!(
                "gave up after {} attempts; the last one was by {} and did not finish",
                self.config.max_deliver, record.owner
            );
            if self.finish(&id, &record, entry.revision).await.is_some() {
                self.publish_event(&record).await;
            }
            let _ = msg.ack().await;
            return;
        }
        record.status = TaskStatus::InProgress;
        record.attempts = delivered as u32;
        record.owner = self.replica.clone();
        let Some(claimed) = self.put_if(&id, &record, entry.revision).await else {
            // Another replica claimed it meanwhile.
            return;
        };
        let heartbeat = {
            let every = Duration::from_secs_f64(self.config.ack_wait_seconds.max(0.5) / 3.0);
            let acker = msg.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if acker.ack_with(AckKind::Progress).await.is_err() {
                        return;
                    }
                }
            })
        };
        let r = app.run_job(&id, &job.request).await;
        heartbeat.abort();
        record.status = r.status;
        record.outcome = r.outcome;
        record.events = r.events;
        record.error = r.error;
        if self.finish(&id, &record, claimed).await.is_some() {
            self.publish_event(&record).await;
            if let Err(e) = msg.double_ack().await {
                tracing::warn!(task_id = %id, error = %e, "ack failed; a redelivery will find the result stored");
            }
        }
    }

    async fn put_if(&self, id: &str, record: &TaskRecord, revision: u64) -> Option<u64> {
        let bytes = serde_json::to_vec(record).ok()?;
        match self.kv.update(id, bytes.into(), revision).await {
            Ok(rev) => Some(rev),
            Err(e) => {
                tracing::info!(task_id = %id, error = %e, "task changed under us; leaving it to its current owner");
                None
            }
        }
    }

    async fn finish(&self, id: &str, record: &TaskRecord, revision: u64) -> Option<u64> {
        let mut r = record.clone();
        r.updated_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.put_if(id, &r, revision).await
    }

    async fn publish_event(&self, r: &TaskRecord) {
        let completed = r.status == TaskStatus::Completed;
        let event = DeliberationEvent {
            task_id: r.task_id.clone(),
            role: r.role.clone(),
            status: r.status.as_str().to_owned(),
            winner_id: r.outcome.as_ref().map(|o| o.winner_id.clone()).unwrap_or_default(),
            results: r.outcome.as_ref().map(|o| o.results.clone()).unwrap_or_default(),
            error: r.error.clone(),
            duration_ms: r.outcome.as_ref().map(|o| o.duration.as_secs_f64() * 1000.0).unwrap_or(0.0),
            replica: self.replica.clone(),
        };
        let subject =
            if completed { "orchestration.deliberation.completed" } else { "orchestration.deliberation.failed" };
        let Ok(payload) = serde_json::to_vec(&event) else { return };
        let sent = async {
            self.js.publish(subject, payload.into()).await?.await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
        .await;
        if let Err(e) = sent {
            tracing::warn!(task_id = %r.task_id, error = %e, "could not publish the deliberation event");
        }
    }
}
