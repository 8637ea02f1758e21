//! Distributed mode over NATS JetStream: submissions go to a work-queue stream; every replica
//! runs a durable pull consumer and takes jobs up to its concurrency; a job is acknowledged only
//! after its result is stored in a key-value bucket (readable from any replica); a replica that
//! dies leaves its jobs to be redelivered (bounded attempts, then FAILED); completed and failed
//! deliberations are published as events.
//!
//! Exactly once: claiming a job and storing its result are compare-and-set updates of the
//! task's key, so only the claim that is still current may complete it; a redelivered job whose
//! record is already final is acknowledged without running again.

use orchestrator_core::now_ms;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, stream, AckKind};
use futures::StreamExt;
use orchestrator_core::store::{TaskRecord, TaskStatus};
use orchestrator_core::{DeliberationRequest, Error};

use crate::settings::NatsConfig;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::job::{same_request, RunJobs};

/// Work-queue stream of submissions.
pub const JOBS_STREAM: &str = "ORCHESTRATOR_JOBS";
/// Subject of submissions.
/// (Under `orchestrator.`, not `orchestration.`: that namespace is the events stream's.)
pub const JOBS_SUBJECT: &str = "orchestrator.jobs";
/// Stream of `orchestration.deliberation.completed` / `.failed` events.
pub const EVENTS_STREAM: &str = "ORCHESTRATOR_EVENTS";
/// Stream holding the latest record of every task (one message per subject), used as a
/// key-value bucket with compare-and-set on the subject's last sequence. (async-nats' own KV API
/// cannot create a bucket on Debian's nats-server 2.9.10: it fails to parse that server's reply.)
pub const TASKS_STREAM: &str = "ORCHESTRATOR_TASKS";
const TASKS_PREFIX: &str = "orchestrator.tasks.";
const CONSUMER: &str = "orchestrator-workers";

#[derive(Serialize, Deserialize)]
struct Job {
    task_id: String,
    request: DeliberationRequest,
}

/// Largest task record stored on the stream (NATS's default max_payload is 1 MiB); a bigger
/// result makes the job FAILED once instead of redelivering forever.
pub(crate) const NATS_RECORD_LIMIT: usize = 1000 * 1024;

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub use crate::events::DeliberationEvent;

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    // Connection errors can quote the URL; never its credentials.
    let text = e.to_string();
    let text = text.split_whitespace().map(orchestrator_core::llm::redact_url).collect::<Vec<_>>().join(" ");
    Error::Unavailable { message: format!("NATS {what}: {text}") }
}

/// A replica's connection to the cluster.
pub struct Cluster {
    js: jetstream::Context,
    kv: TaskBucket,
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
    /// Task records older than `retention` (zero: kept) expire from the tasks stream.
    pub async fn connect(config: &NatsConfig, replica: &str, retention: Duration) -> Result<Arc<Self>, Error> {
        let client = async_nats::connect(config.url.as_str()).await.map_err(|e| unavailable("connect", e))?;
        let js = jetstream::new(client);
        let ack_wait = Duration::from_secs_f64(config.ack_wait_seconds.max(0.5));
        // create_or_update: a jobs stream from an earlier version (subject orchestration.jobs)
        // moves to the new subject; its queued jobs stay and are still consumed.
        js.create_or_update_stream(stream::Config {
            name: JOBS_STREAM.into(),
            subjects: vec![JOBS_SUBJECT.into()],
            retention: stream::RetentionPolicy::WorkQueue,
            duplicate_window: Duration::from_secs(120),
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("jobs stream", e))?;
        let jobs = js.get_stream(JOBS_STREAM).await.map_err(|e| unavailable("jobs stream", e))?;
        // Every orchestration.> event, kept 7 days or 50,000 messages (created, or widened from
        // the earlier orchestration.deliberation.> stream).
        js.create_or_update_stream(stream::Config {
            name: EVENTS_STREAM.into(),
            subjects: vec!["orchestration.>".into()],
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_messages: 50_000,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("events stream", e))?;
        let tasks = js
            .get_or_create_stream(stream::Config {
                name: TASKS_STREAM.into(),
                subjects: vec![format!("{TASKS_PREFIX}>")],
                max_messages_per_subject: 1,
                max_age: retention,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("tasks stream", e))?;
        let kv = TaskBucket { js: js.clone(), stream: tasks };
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
        tracing::info!(url = %orchestrator_core::llm::redact_url(&config.url), replica, "joined the NATS cluster");
        Ok(Arc::new(Cluster { js, kv, consumer, config: config.clone(), replica: replica.to_owned() }))
    }

    /// The JetStream context (plan dispatch consumes with it).
    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Submit a job: stored as PENDING and published. An existing id with the same request is
    /// idempotent (with `retry`, a FAILED or TIMEOUT one runs again); with another request it is
    /// ALREADY_EXISTS.
    pub async fn submit(&self, task_id: &str, request: DeliberationRequest, retry: bool) -> Result<(), Error> {
        let record = TaskRecord::pending(task_id.to_owned(), request.clone());
        let bytes = serde_json::to_vec(&record).map_err(|e| Error::Internal { message: e.to_string() })?;
        match self.kv.put_if(task_id, bytes.clone(), 0).await {
            Ok(_) => {}
            Err(Cas::Conflict) => {
                let (value, revision) = self
                    .kv
                    .entry(task_id)
                    .await
                    .map_err(|e| unavailable("read the task", e))?
                    .ok_or_else(|| unavailable("read the task", "it vanished"))?;
                let existing: TaskRecord =
                    serde_json::from_slice(&value).map_err(|e| Error::Storage { message: e.to_string() })?;
                same_request(task_id, &existing, &request)?;
                let retryable = matches!(existing.status, TaskStatus::Failed | TaskStatus::Timeout);
                if !(retry && retryable) {
                    return Ok(());
                }
                if self.kv.put_if(task_id, bytes, revision).await.is_err() {
                    return Ok(()); // someone else retried it first
                }
                return self.publish_job(task_id, request, true).await;
            }
            Err(Cas::Failed(e)) => return Err(unavailable("store the submission", e)),
        }
        self.publish_job(task_id, request, false).await
    }

    async fn publish_job(&self, task_id: &str, request: DeliberationRequest, retry: bool) -> Result<(), Error> {
        let job = serde_json::to_vec(&Job { task_id: task_id.to_owned(), request })
            .map_err(|e| Error::Internal { message: e.to_string() })?;
        let mut headers = async_nats::HeaderMap::new();
        // A retry is a new message (the first one's id is still in the dedup window).
        let msg_id = if retry { format!("{task_id}:{}", orchestrator_core::new_id()) } else { task_id.to_owned() };
        headers.insert("Nats-Msg-Id", msg_id.as_str());
        let published = async {
            self.js.publish_with_headers(JOBS_SUBJECT, headers, job.into()).await?.await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
        .await;
        if let Err(e) = published {
            // The ack may be lost with the job on the stream: keep the record. A PENDING
            // record that no replica picks up is republished by `get` (same message id, so
            // JetStream drops a duplicate).
            return Err(unavailable("publish the job (the submission is kept and will be re-sent)", e));
        }
        Ok(())
    }

    /// A task's record.
    pub async fn get(&self, task_id: &str) -> Result<Option<TaskRecord>, Error> {
        if !valid_task_id(task_id) {
            return Ok(None);
        }
        match self.kv.entry(task_id).await.map_err(|e| unavailable("read the task", e))? {
            Some((value, _)) => {
                let r: TaskRecord =
                    serde_json::from_slice(&value).map_err(|e| Error::Storage { message: e.to_string() })?;
                // A job whose publish ack was lost (and so maybe the job) is re-sent once it has
                // waited longer than a replica takes to claim one.
                let stale_ms = (self.config.ack_wait_seconds * 3_000.0) as i64 + 10_000;
                if r.status == TaskStatus::Pending && r.attempts == 0 && now_ms() - r.updated_ms > stale_ms {
                    let _ = self.publish_job(task_id, r.request.clone(), false).await;
                }
                Ok(Some(r))
            }
            None => Ok(None),
        }
    }

    /// Start pulling jobs, at most `concurrency` at once.
    pub(crate) fn spawn_workers(self: Arc<Self>, app: Weak<dyn RunJobs>) {
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
                        me.process(app.as_ref(), msg).await;
                        drop(p);
                    });
                }
            }
        });
    }

    async fn process(&self, app: &dyn RunJobs, msg: jetstream::Message) {
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
        let (value, revision) = match self.kv.entry(&id).await {
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
        let Ok(mut record) = serde_json::from_slice::<TaskRecord>(&value) else {
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
            if self.finish(&id, &record, revision).await.is_some() {
                self.publish_event(&record).await;
            }
            let _ = msg.ack().await;
            return;
        }
        record.status = TaskStatus::InProgress;
        record.attempts = delivered as u32;
        record.owner = self.replica.clone();
        let Some(claimed) = self.put_if(&id, &record, revision).await else {
            // Another replica claimed it meanwhile.
            return;
        };
        // Aborted when this function returns or unwinds, so a job that dies stops signalling
        // progress and is redelivered.
        let heartbeat = {
            let every = Duration::from_secs_f64(self.config.ack_wait_seconds.max(0.5) / 3.0);
            let acker = msg.clone();
            AbortOnDrop(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if acker.ack_with(AckKind::Progress).await.is_err() {
                        return;
                    }
                }
            }))
        };
        let r = app.run_job_guarded(&id, &job.request, NATS_RECORD_LIMIT).await;
        drop(heartbeat);
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
        match self.kv.put_if(id, bytes, revision).await {
            Ok(rev) => Some(rev),
            Err(Cas::Conflict) => {
                tracing::info!(task_id = %id, "task changed under us; leaving it to its current owner");
                None
            }
            Err(Cas::Failed(e)) => {
                tracing::warn!(task_id = %id, error = %e, "could not store the task record");
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
        let (subject, event) = DeliberationEvent::of(r, &self.replica);
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

enum Cas {
    /// The subject's last sequence was not the expected one.
    Conflict,
    /// Anything else.
    Failed(String),
}

/// Latest-value-per-key records on a stream, with compare-and-set writes.
struct TaskBucket {
    js: jetstream::Context,
    stream: jetstream::stream::Stream,
}

impl TaskBucket {
    /// The value and its revision (the stream sequence), if any.
    async fn entry(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, String> {
        match self.stream.get_last_raw_message_by_subject(&format!("{TASKS_PREFIX}{key}")).await {
            Ok(m) => Ok(Some((m.payload.to_vec(), m.sequence))),
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Write `value` if the key's revision is `expected` (0: the key must not exist); returns
    /// the new revision.
    async fn put_if(&self, key: &str, value: Vec<u8>, expected: u64) -> Result<u64, Cas> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Expected-Last-Subject-Sequence", expected.to_string().as_str());
        let ack = async {
            let a = self.js.publish_with_headers(format!("{TASKS_PREFIX}{key}"), headers, value.into()).await?.await?;
            Ok::<_, async_nats::jetstream::context::PublishError>(a)
        }
        .await;
        match ack {
            Ok(a) => Ok(a.sequence),
            Err(e) if e.kind() == async_nats::jetstream::context::PublishErrorKind::WrongLastSequence => {
                Err(Cas::Conflict)
            }
            Err(e) => Err(Cas::Failed(e.to_string())),
        }
    }
}
