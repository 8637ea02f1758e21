//! The service's state: councils, statistics, the durable store, and (in distributed mode) the
//! NATS cluster; plus the helpers every RPC shares (admission, building and running).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use orchestrator_core::store::{SqliteStore, StatRow, Store, TaskRecord, TaskStatus};
use orchestrator_core::{
    now_ms, CouncilRegistry, Deliberation, DeliberationOutcome, DeliberationRequest, Error, ErrorKind, Event,
    Orchestration, OrchestrationOutcome, Orchestrator, RunOptions,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::settings::ServerConfig;
use crate::stats::Stats;

use crate::cluster::Cluster;
use crate::job::{same_request, JobResult, RunJobs, SubmitJobs};

/// Shared state of the service: the core [`Orchestrator`] (councils, their store, request
/// resolution) plus what only a server has (admission, statistics, the submission queue, the
/// cluster).
pub struct OrchestratorApp {
    pub(crate) core: Orchestrator,
    pub(crate) config: ServerConfig,
    pub(crate) stats: Stats,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) cluster: Option<Arc<Cluster>>,
    pub(crate) started: Instant,
    pub(crate) owner: String,
    permits: Arc<Semaphore>,
    /// Queue of statistics rows for the store's writer task.
    stat_rows: tokio::sync::mpsc::Sender<StatRow>,
    /// Submitted jobs waiting for a worker (single-process mode).
    queue: tokio::sync::mpsc::Sender<(String, DeliberationRequest)>,
    /// Task ids queued or running in this process: a scan of a shared store skips them.
    local: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl std::fmt::Debug for OrchestratorApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrchestratorApp").field("core", &self.core).finish_non_exhaustive()
    }
}

/// Aborts its task when dropped (also when the owner unwinds).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The configured store: Redis when `storage.redis_url` is set (refusing to start when it
/// cannot be reached), else SQLite in `storage.path`.
async fn open_store(storage: &crate::settings::StorageConfig) -> Result<Arc<dyn Store>, Error> {
    if storage.redis_url.is_empty() {
        return Ok(Arc::new(SqliteStore::open(&storage.path)?));
    }
    let retention = (storage.retention_hours > 0.0).then(|| Duration::from_secs_f64(storage.retention_hours * 3600.0));
    let redis =
        orchestrator_core::store::RedisStore::open(storage.redis_url.expose(), &storage.redis_prefix, retention)
            .await
            .map_err(|e| Error::Unavailable { message: format!("storage.redis_url (REDIS_URL): {e}") })?;
    match redis.persistence().await {
        Some((aof, fsync)) if aof == "yes" && fsync == "always" => {
            tracing::info!("results in Redis (appendonly yes, appendfsync always: every write is on disk)")
        }
        Some((aof, fsync)) => tracing::warn!(
            appendonly = %aof, appendfsync = %fsync,
            "results in Redis, which may lose acknowledged writes if Redis itself crashes (see docs/CONFIG.md, Redis durability)"
        ),
        None => tracing::info!("results in Redis (its persistence settings are not readable: CONFIG GET refused)"),
    }
    Ok(Arc::new(redis))
}

impl OrchestratorApp {
    /// Open the store, fail deliberations a previous process left unfinished, restore councils
    /// and statistics, start the retention task, and connect to NATS when configured.
    pub async fn start(config: ServerConfig) -> Result<Arc<Self>, Error> {
        let store = open_store(&config.storage).await?;
        let core = Orchestrator::open(config.core.clone(), store.clone()).await?;
        let owner = if config.nats.replica_id.is_empty() {
            format!("{}-{}", hostname(), std::process::id())
        } else {
            config.nats.replica_id.clone()
        };
        let cluster = if config.nats.url.trim().is_empty() {
            None
        } else {
            Some(
                Cluster::connect(
                    &config.nats,
                    &owner,
                    Duration::from_secs_f64(config.storage.retention_hours.max(0.0) * 3600.0),
                )
                .await?,
            )
        };
        let (stat_rows, mut queued) = tokio::sync::mpsc::channel::<StatRow>(10_000);
        let writer_store = store.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while queued.recv_many(&mut batch, 1_000).await > 0 {
                if let Err(e) = writer_store.record_stats(&batch).await {
                    tracing::warn!(error = %e, rows = batch.len(), "could not store statistics rows");
                }
                batch.clear();
            }
        });
        let (queue, jobs) = tokio::sync::mpsc::channel(config.submissions.queue_capacity.max(1));
        let app = Arc::new(OrchestratorApp {
            core,
            queue,
            stat_rows,
            permits: Arc::new(Semaphore::new(config.service.max_concurrent_requests.max(1))),
            config,
            stats: Stats::new(),
            store,
            cluster,
            started: Instant::now(),
            owner,
            local: Default::default(),
        });
        let retention = app.config.storage.retention_hours;
        let since = if retention > 0.0 { now_ms() - (retention * 3_600_000.0) as i64 } else { 0 };
        for row in app.store.stats(since).await? {
            let d = Duration::from_secs_f64(row.duration_ms.max(0.0) / 1000.0);
            if row.orchestration {
                app.stats.record_orchestration(d);
            } else {
                app.stats.record_deliberation(&row.role, d, row.ok);
            }
        }
        if retention > 0.0 {
            let store = app.store.clone();
            let every = Duration::from_secs(app.config.storage.purge_interval_seconds.max(1));
            tokio::spawn(async move {
                loop {
                    let before = now_ms() - (retention * 3_600_000.0) as i64;
                    match store.purge(before).await {
                        Ok(n) if n > 0 => tracing::info!(removed = n, "retention removed old records"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "retention failed"),
                    }
                    tokio::time::sleep(every).await;
                }
            });
        }
        if let Some(c) = &app.cluster {
            c.clone().spawn_workers(Arc::downgrade(&app) as std::sync::Weak<dyn RunJobs>);
            if app.config.fleet.dispatch {
                crate::dispatch::start(c.jetstream().clone(), Arc::downgrade(&app) as std::sync::Weak<dyn SubmitJobs>)
                    .await?;
                tracing::info!("plan dispatch: consuming planning.plan.approved");
            }
        } else {
            app.spawn_workers(jobs);
            app.resume_unfinished().await?;
            if app.store.shared() {
                let weak = Arc::downgrade(&app);
                let every = app.claim_ttl();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(every).await;
                        let Some(app) = weak.upgrade() else { return };
                        if let Err(e) = app.resume_unfinished().await {
                            tracing::warn!(error = %e, "could not scan the shared store for orphaned tasks");
                        }
                    }
                });
            }
        }
        Ok(app)
    }

    /// How long a claim on a running task lasts without renewal (`storage.claim_ttl_seconds`).
    fn claim_ttl(&self) -> Duration {
        Duration::from_secs(self.config.storage.claim_ttl_seconds.max(1))
    }

    /// The council registry.
    pub fn registry(&self) -> &CouncilRegistry {
        self.core.registry()
    }

    /// Council-changing RPCs need the admin token when one is set; with a data-plane token but
    /// no admin token they are refused; with neither (development) they are open.
    pub(crate) fn require_admin<T>(&self, req: &tonic::Request<T>) -> Result<(), Error> {
        let svc = &self.config.service;
        if !svc.admin_token.is_empty() {
            if crate::auth::token_is(crate::auth::bearer(req), svc.admin_token.expose().as_bytes()) {
                return Ok(());
            }
            return Err(Error::PermissionDenied {
                message: "council changes need the admin token (ORCHESTRATOR_ADMIN_TOKEN)".into(),
            });
        }
        if !svc.auth_token.is_empty() {
            return Err(Error::PermissionDenied {
                message: "council changes are off: no admin token is configured (ORCHESTRATOR_ADMIN_TOKEN)".into(),
            });
        }
        Ok(())
    }

    pub(crate) fn admit(&self) -> Result<OwnedSemaphorePermit, Error> {
        self.permits.clone().try_acquire_owned().map_err(|_| Error::ResourceExhausted {
            message: format!(
                "the server is at its limit of {} concurrent requests; retry later",
                self.config.service.max_concurrent_requests
            ),
        })
    }

    /// The deliberation for a request (see [`Orchestrator::deliberation_for`]).
    pub(crate) fn build(
        &self,
        req: &DeliberationRequest,
        task_id: Option<String>,
        client_deadline: Option<Duration>,
    ) -> Result<Deliberation, Error> {
        self.core.deliberation_for(req, &RunOptions { task_id, rounds: None, client_deadline })
    }

    /// Record a finished deliberation or orchestration in statistics, metrics and the store.
    pub(crate) fn record(&self, role: &str, elapsed: Duration, ok: bool, kind: &str, orchestration: bool) {
        if orchestration {
            self.stats.record_orchestration(elapsed);
        } else {
            self.stats.record_deliberation(role, elapsed, ok);
        }
        metrics::counter!("orchestrator_deliberations_total", "role" => role.to_owned(), "outcome" => kind.to_owned())
            .increment(1);
        metrics::histogram!("orchestrator_deliberation_seconds", "role" => role.to_owned())
            .record(elapsed.as_secs_f64());
        let row = StatRow {
            role: role.to_owned(),
            duration_ms: elapsed.as_secs_f64() * 1000.0,
            ok,
            orchestration,
            at_ms: now_ms(),
        };
        // Written behind the response by one writer, in batches; a lost row only loses a sample.
        if self.stat_rows.try_send(row).is_err() {
            tracing::warn!("statistics writer is behind; dropped a statistics row");
        }
    }

    /// Run a deliberation and record it.
    pub(crate) async fn run(&self, d: &Deliberation) -> Result<DeliberationOutcome, Error> {
        let started = Instant::now();
        let role = d.task().role.clone();
        let out = panic_is_internal(&d.task().id, d.run()).await;
        let kind = match &out {
            Ok(_) => "completed",
            Err(e) => e.kind().as_str(),
        };
        self.record(&role, started.elapsed(), out.is_ok(), kind, false);
        // One line per deliberation at DEBUG: at INFO, formatting and writing it cost more than
        // the engine spends on a deliberation of instant agents (issue 13).
        tracing::debug!(task_id = %d.task().id, role = %role, ok = out.is_ok(),
            ms = started.elapsed().as_millis() as u64, "deliberation finished");
        out
    }

    /// Run an orchestration and record it (as a deliberation, and as an orchestration when it
    /// succeeds).
    pub(crate) async fn run_orchestration(&self, o: &Orchestration) -> Result<OrchestrationOutcome, Error> {
        let started = Instant::now();
        let role = o.deliberation.task().role.clone();
        let out = panic_is_internal(&o.deliberation.task().id, o.run()).await;
        let kind = match &out {
            Ok(_) => "completed",
            Err(e) => e.kind().as_str(),
        };
        self.record(&role, started.elapsed(), out.is_ok(), kind, false);
        if out.is_ok() {
            self.record(&role, started.elapsed(), true, "completed", true);
        }
        out
    }

    /// Run a submitted deliberation, collecting its events.
    pub(crate) async fn run_job(&self, task_id: &str, req: &DeliberationRequest) -> JobResult {
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut d = match self.build(req, Some(task_id.to_owned()), None) {
            Ok(d) => d,
            Err(e) => {
                return JobResult {
                    status: TaskStatus::Failed,
                    outcome: None,
                    events: Vec::new(),
                    error: e.to_string(),
                }
            }
        };
        let sink = events.clone();
        d.set_events(Some(Arc::new(move |e: Event| sink.lock().unwrap_or_else(|p| p.into_inner()).push(e))));
        let out = self.run(&d).await;
        let events = std::mem::take(&mut *events.lock().unwrap_or_else(|p| p.into_inner()));
        match out {
            Ok(o) => JobResult { status: TaskStatus::Completed, outcome: Some(o), events, error: String::new() },
            Err(e) => JobResult {
                status: if e.kind() == ErrorKind::DeadlineExceeded { TaskStatus::Timeout } else { TaskStatus::Failed },
                outcome: None,
                events,
                error: e.to_string(),
            },
        }
    }

    /// `submissions.workers` tasks, each running queued jobs one at a time.
    fn spawn_workers(self: &Arc<Self>, jobs: tokio::sync::mpsc::Receiver<(String, DeliberationRequest)>) {
        let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
        for _ in 0..self.config.submissions.workers.max(1) {
            let (jobs, app) = (jobs.clone(), Arc::downgrade(self));
            tokio::spawn(async move {
                loop {
                    let next = jobs.lock().await.recv().await;
                    let (Some((id, req)), Some(app)) = (next, app.upgrade()) else { return };
                    app.run_local_job(&id, &req).await;
                }
            });
        }
    }

    /// Mark `id` queued or running here; false when it already is.
    fn mark_local(&self, id: &str) -> bool {
        self.local.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned())
    }

    fn unmark_local(&self, id: &str) {
        self.local.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    async fn run_local_job(&self, id: &str, req: &DeliberationRequest) {
        self.run_claimed_job(id, req).await;
        self.unmark_local(id);
    }

    async fn run_claimed_job(&self, id: &str, req: &DeliberationRequest) {
        // Replicas sharing a store (Redis) run a task once: the one holding the claim runs it
        // and renews the claim while it does; a dead runner's claim expires and a restarted
        // replica resumes the task. A store of our own grants every claim.
        let ttl = self.claim_ttl();
        match self.store.claim(id, &self.owner, ttl).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(task_id = %id, "another replica holds this task; not running it");
                return;
            }
            Err(e) => {
                tracing::error!(task_id = %id, error = %e, "could not claim the task; it stays pending");
                return;
            }
        }
        // Queued twice (a resume scan and the submission) or finished meanwhile: nothing to do.
        match self.store.task(id).await {
            Ok(Some(rec)) if !rec.status.is_final() => {}
            _ => {
                let _ = self.store.release(id, &self.owner).await;
                return;
            }
        }
        let renew = {
            let (store, id, owner) = (self.store.clone(), id.to_owned(), self.owner.clone());
            AbortOnDrop(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    if let Err(e) = store.claim(&id, &owner, ttl).await {
                        tracing::warn!(task_id = %id, error = %e, "could not renew the claim on a running task");
                    }
                }
            }))
        };
        if let Err(e) = self.store.start_task(id, &self.owner).await {
            tracing::error!(task_id = %id, error = %e, "could not mark the task started");
        }
        let r = self.run_job_guarded(id, req, self.config.service.max_message_bytes).await;
        if let Err(e) = self.store.finish_task(id, r.status, r.outcome.as_ref(), &r.events, &r.error).await {
            tracing::error!(task_id = %id, error = %e, "could not store the result");
        }
        drop(renew);
        let _ = self.store.release(id, &self.owner).await;
    }

    /// Jobs a previous process left queued or running are queued again (a job already started
    /// `submissions.max_attempts` times is FAILED instead, so a job that kills the process
    /// cannot loop).
    ///
    /// With a store shared by replicas (Redis) a task another live replica holds is left to it,
    /// and this runs again every claim period, so the tasks of a replica that died are taken
    /// over once its claims expire.
    async fn resume_unfinished(self: &Arc<Self>) -> Result<(), Error> {
        let unfinished = self.store.unfinished().await?;
        let max = self.config.submissions.max_attempts;
        let mut resumed = 0usize;
        for rec in unfinished {
            if !self.mark_local(&rec.task_id) {
                continue; // queued or running here already
            }
            if self.store.shared() && !self.store.claim(&rec.task_id, &self.owner, self.claim_ttl()).await? {
                self.unmark_local(&rec.task_id);
                continue; // a live replica runs it
            }
            if rec.attempts >= max {
                let why = format!(
                    "gave up after {} attempts; the service stopped during each (last run by {})",
                    rec.attempts, rec.owner
                );
                let done = self.store.finish_task(&rec.task_id, TaskStatus::Failed, None, &rec.events, &why).await;
                let _ = self.store.release(&rec.task_id, &self.owner).await;
                self.unmark_local(&rec.task_id);
                done?;
                continue;
            }
            let queue = self.queue.clone();
            resumed += 1;
            tokio::spawn(async move {
                let _ = queue.send((rec.task_id, rec.request)).await;
            });
        }
        if resumed > 0 {
            tracing::info!(resumed, "resumed deliberations a previous process left unfinished");
        }
        Ok(())
    }

    /// Accept a submission (the RPC and plan dispatch): validated now, so a bad request is
    /// refused instead of failing in the background, then queued in the cluster or locally.
    pub(crate) async fn submit(&self, task_id: &str, req: DeliberationRequest, retry: bool) -> Result<(), Error> {
        self.build(&req, Some(task_id.to_owned()), None)?;
        match &self.cluster {
            Some(cluster) => {
                if !crate::cluster::valid_task_id(task_id) {
                    return Err(Error::invalid(
                        "task_id",
                        "may hold only letters, digits, '-', '_' and '=' (at most 128) in distributed mode",
                    ));
                }
                cluster.submit(task_id, req, retry).await
            }
            None => self.submit_local(task_id, req, retry).await,
        }
    }

    /// Accept a submission in single-process mode: stored (durably) before this returns, run by
    /// a worker. The same id with the same request is idempotent; with another request it is
    /// ALREADY_EXISTS. `retry` re-runs a FAILED or TIMEOUT task. A full queue is
    /// RESOURCE_EXHAUSTED, and nothing is stored.
    pub(crate) async fn submit_local(&self, task_id: &str, req: DeliberationRequest, retry: bool) -> Result<(), Error> {
        let permit = self.queue.try_reserve().map_err(|_| Error::ResourceExhausted {
            message: format!(
                "the submission queue is full ({} jobs, submissions.queue_capacity); retry later",
                self.config.submissions.queue_capacity
            ),
        })?;
        if self.store.insert_task(&TaskRecord::pending(task_id.to_owned(), req.clone())).await? {
            self.mark_local(task_id);
            permit.send((task_id.to_owned(), req));
            return Ok(());
        }
        let existing = self
            .store
            .task(task_id)
            .await?
            .ok_or_else(|| Error::Storage { message: format!("task {task_id} vanished while being submitted") })?;
        same_request(task_id, &existing, &req)?;
        if retry && self.store.reopen_task(task_id).await? && self.mark_local(task_id) {
            permit.send((task_id.to_owned(), req));
        }
        Ok(())
    }

    /// A submitted deliberation's record, from the cluster or the local store.
    pub(crate) async fn task_record(&self, task_id: &str) -> Result<Option<TaskRecord>, Error> {
        match &self.cluster {
            Some(c) => c.get(task_id).await,
            None => self.store.task(task_id).await,
        }
    }
}

/// A panic anywhere in a run (an agent, a scorer, the engine) is that run's INTERNAL error, on
/// every path that runs one: unary, stream, job, orchestrate.
async fn panic_is_internal<T>(
    task_id: &str,
    run: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match std::panic::AssertUnwindSafe(run).catch_unwind().await {
        Ok(out) => out,
        Err(panic) => {
            let why = panic_message(panic.as_ref());
            tracing::error!(task_id, panic = %why, "a deliberation panicked");
            Err(Error::Internal { message: format!("the deliberation panicked: {why}") })
        }
    }
}

/// The text a panic was raised with.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "host".into())
}

#[async_trait::async_trait]
impl RunJobs for OrchestratorApp {
    /// [`OrchestratorApp::run_job`], but a panic becomes FAILED with the reason, and a result
    /// whose stored record would exceed `limit` bytes becomes FAILED (once; it is not re-run).
    async fn run_job_guarded(&self, task_id: &str, req: &DeliberationRequest, limit: usize) -> JobResult {
        let r = match std::panic::AssertUnwindSafe(self.run_job(task_id, req)).catch_unwind().await {
            Ok(r) => r,
            Err(panic) => {
                let why = panic_message(panic.as_ref());
                tracing::error!(task_id, panic = %why, "a deliberation panicked");
                return JobResult {
                    status: TaskStatus::Failed,
                    outcome: None,
                    events: Vec::new(),
                    error: format!("internal error: the deliberation panicked: {why}"),
                };
            }
        };
        let size = serde_json::to_vec(&(&r.outcome, &r.events)).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > limit {
            return JobResult {
                status: TaskStatus::Failed,
                outcome: None,
                events: Vec::new(),
                error: format!(
                    "the result is {size} bytes, over the limit of {limit} bytes a stored result may take; \
                     lower llm.max_tokens or the number of agents and rounds"
                ),
            };
        }
        r
    }
}

#[async_trait::async_trait]
impl SubmitJobs for OrchestratorApp {
    async fn submit_job(&self, task_id: &str, req: DeliberationRequest) -> Result<(), Error> {
        self.submit(task_id, req, false).await
    }
}
