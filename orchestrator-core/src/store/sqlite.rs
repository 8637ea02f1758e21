//! The embedded store: SQLite (rusqlite, bundled) in WAL mode with `synchronous=FULL`, so a write
//! has reached the disk when it returns.
//!
//! Writes are group-committed: one writer thread takes every write waiting for it, runs them in one
//! transaction and answers each caller after the COMMIT (one fsync for the batch). A caller still
//! returns only once its write is on disk; under load many share a sync instead of queueing for
//! one each. A write of one statement is atomic by itself and a write of several runs in its own
//! savepoint, so one that fails leaves no partial effect and does not fail its neighbours. Reads
//! run on tokio's blocking pool on a second connection.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::event::Event;
use crate::outcome::DeliberationOutcome;
use crate::proposal::now_ms;
use crate::store::{CouncilRecord, StatRow, Store, TaskRecord, TaskStatus};

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    /// The read connection.
    conn: Arc<Mutex<Connection>>,
    /// The group-commit writer's queue.
    writer: mpsc::Sender<Write>,
    path: PathBuf,
}

/// Sends a write's answer once its batch committed (or failed to).
type Done = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
/// One write: runs inside the batch's transaction and returns how to answer its caller.
type Write = Box<dyn FnOnce(&mut Connection) -> Done + Send>;

/// Most writes in one transaction.
const MAX_BATCH: usize = 1024;

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(storage)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(storage)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(storage)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(storage)?;
    Ok(conn)
}

/// The writer thread: one transaction per batch of waiting writes. Ends when every store handle
/// is dropped.
fn run_writer(mut conn: Connection, queue: mpsc::Receiver<Write>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Could not open the batch's transaction: each write commits on its own instead.
            tracing::warn!(error = %e, "store: BEGIN failed; writing this batch one by one");
            for w in batch {
                w(&mut conn)(Ok(()));
            }
            continue;
        }
        let done: Vec<Done> = batch.into_iter().map(|w| w(&mut conn)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for d in done {
            d(commit.clone());
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage { message: e.to_string() }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    outcome TEXT,
    events TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_updated ON tasks(updated_ms);
CREATE TABLE IF NOT EXISTS councils (role TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stats (
    id INTEGER PRIMARY KEY,
    role TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    ok INTEGER NOT NULL,
    orchestration INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS stats_at ON stats(at_ms);
";

impl SqliteStore {
    /// Open (or create) `dir/orchestrator.db`, creating `dir` if needed.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::invalid("storage.path", format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("orchestrator.db");
        let conn = open_connection(&path)?;
        conn.execute_batch(SCHEMA).map_err(storage)?;
        let write_conn = open_connection(&path)?;
        let (writer, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(write_conn, queue))
            .map_err(|e| storage(format!("cannot start the store's writer thread: {e}")))?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), writer, path })
    }

    /// Run `f` (one statement) in the next group commit; returns once the batch is on
    /// disk. `f`'s result is the answer, unless the commit failed.
    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        self.write_with(false, f).await
    }

    /// [`Self::write`] for a write of several statements: inside its own savepoint, so a failure
    /// part-way leaves nothing behind. (A single statement is atomic by itself; skipping the
    /// savepoint saves two statements per submission.)
    async fn write_all<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write_with(true, f).await
    }

    async fn write_with<T: Send + 'static>(
        &self,
        savepoint: bool,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T>>();
        let w: Write = Box::new(move |conn: &mut Connection| {
            let result = if !savepoint {
                f(conn)
            } else {
                match conn.savepoint() {
                    Ok(mut sp) => {
                        sp.set_drop_behavior(rusqlite::DropBehavior::Rollback);
                        match f(&sp) {
                            Ok(v) => sp.commit().map(|_| v).map_err(storage),
                            Err(e) => Err(e), // dropped: rolled back to the savepoint
                        }
                    }
                    Err(e) => Err(storage(e)),
                }
            };
            Box::new(move |commit: std::result::Result<(), String>| {
                let _ = tx.send(commit.map_err(storage).and(result));
            })
        });
        self.writer.send(w).map_err(|_| storage("the store's writer thread stopped"))?;
        rx.await.map_err(|_| storage("the store's writer thread stopped"))?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| Error::Storage { message: format!("store task failed: {e}") })?
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(storage)
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_task(&self, r: &TaskRecord) -> Result<bool> {
        let (id, role, status, request, created) =
            (r.task_id.clone(), r.role.clone(), r.status.as_str(), json(&r.request)?, r.created_ms);
        self.write(move |c| {
            // Cached statements: parsing the SQL was a visible share of a submission's cost.
            let n = c
                .prepare_cached(
                    "INSERT OR IGNORE INTO tasks (task_id, role, status, request, created_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )
                .and_then(|mut st| st.execute(params![id, role, status, request, created]))
                .map_err(storage)?;
            Ok(n == 1)
        })
        .await
    }

    async fn start_task(&self, task_id: &str, owner: &str) -> Result<()> {
        let (id, owner) = (task_id.to_owned(), owner.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE tasks SET status = 'IN_PROGRESS', owner = ?2, attempts = attempts + 1, updated_ms = ?3
                 WHERE task_id = ?1",
            )
            .and_then(|mut st| st.execute(params![id, owner, now_ms()]))
            .map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn finish_task(
        &self,
        task_id: &str,
        status: TaskStatus,
        outcome: Option<&DeliberationOutcome>,
        events: &[Event],
        error: &str,
    ) -> Result<()> {
        let outcome = outcome.map(json).transpose()?;
        let (id, events, error) = (task_id.to_owned(), json(&events)?, error.to_owned());
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE tasks SET status = ?2, outcome = ?3, events = ?4, error = ?5, updated_ms = ?6
                     WHERE task_id = ?1",
                )
                .and_then(|mut st| st.execute(params![id, status.as_str(), outcome, events, error, now_ms()]))
                .map_err(storage)?;
            if n == 0 {
                return Err(Error::NotFound { what: "task", id });
            }
            Ok(())
        })
        .await
    }

    async fn task(&self, task_id: &str) -> Result<Option<TaskRecord>> {
        let id = task_id.to_owned();
        self.with(move |c| {
            let row = c
                .query_row(
                    "SELECT task_id, role, status, request, outcome, events, error, attempts, owner, created_ms, updated_ms
                     FROM tasks WHERE task_id = ?1",
                    params![id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, String>(6)?,
                            r.get::<_, u32>(7)?,
                            r.get::<_, String>(8)?,
                            r.get::<_, i64>(9)?,
                            r.get::<_, i64>(10)?,
                        ))
                    },
                )
                .optional()
                .map_err(storage)?;
            let Some((task_id, role, status, request, outcome, events, error, attempts, owner, created_ms, updated_ms)) = row
            else {
                return Ok(None);
            };
            Ok(Some(TaskRecord {
                task_id,
                role,
                status: TaskStatus::parse(&status).ok_or_else(|| storage(format!("bad status {status:?}")))?,
                request: serde_json::from_str(&request).map_err(storage)?,
                outcome: outcome.map(|o| serde_json::from_str(&o)).transpose().map_err(storage)?,
                events: serde_json::from_str(&events).map_err(storage)?,
                error,
                attempts,
                owner,
                created_ms,
                updated_ms,
            }))
        })
        .await
    }

    async fn interrupt_unfinished(&self, reason: &str) -> Result<usize> {
        let reason = reason.to_owned();
        self.write(move |c| {
            c.execute(
                "UPDATE tasks SET status = 'FAILED', error = ?1, updated_ms = ?2
                 WHERE status IN ('PENDING', 'IN_PROGRESS')",
                params![reason, now_ms()],
            )
            .map_err(storage)
        })
        .await
    }

    async fn unfinished(&self) -> Result<Vec<TaskRecord>> {
        let ids: Vec<String> = self
            .with(|c| {
                let mut st = c
                    .prepare("SELECT task_id FROM tasks WHERE status IN ('PENDING', 'IN_PROGRESS') ORDER BY created_ms")
                    .map_err(storage)?;
                let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(storage)?;
                rows.collect::<std::result::Result<Vec<_>, _>>().map_err(storage)
            })
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = self.task(&id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn reopen_task(&self, task_id: &str) -> Result<bool> {
        let id = task_id.to_owned();
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE tasks SET status = 'PENDING', outcome = NULL, events = '[]', error = '', updated_ms = ?2
                     WHERE task_id = ?1 AND status IN ('FAILED', 'TIMEOUT')",
                    params![id, now_ms()],
                )
                .map_err(storage)?;
            Ok(n == 1)
        })
        .await
    }

    async fn put_council(&self, council: &CouncilRecord) -> Result<()> {
        let (role, rec) = (council.role.clone(), json(council)?);
        self.write(move |c| {
            c.execute("INSERT OR REPLACE INTO councils (role, record) VALUES (?1, ?2)", params![role, rec])
                .map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn delete_council(&self, role: &str) -> Result<()> {
        let role = role.to_owned();
        self.write(move |c| {
            c.execute("DELETE FROM councils WHERE role = ?1", params![role]).map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn councils(&self) -> Result<Vec<CouncilRecord>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT record FROM councils ORDER BY role").map_err(storage)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(storage)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(serde_json::from_str(&r.map_err(storage)?).map_err(storage)?);
            }
            Ok(out)
        })
        .await
    }

    async fn record_stats(&self, rows: &[StatRow]) -> Result<()> {
        let rows = rows.to_vec();
        self.write_all(move |tx| {
            {
                let mut st = tx
                    .prepare_cached(
                        "INSERT INTO stats (role, duration_ms, ok, orchestration, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(storage)?;
                for row in &rows {
                    st.execute(params![row.role, row.duration_ms, row.ok, row.orchestration, row.at_ms])
                        .map_err(storage)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn stats(&self, since_ms: i64) -> Result<Vec<StatRow>> {
        self.with(move |c| {
            let mut st = c
                .prepare("SELECT role, duration_ms, ok, orchestration, at_ms FROM stats WHERE at_ms >= ?1 ORDER BY id")
                .map_err(storage)?;
            let rows = st
                .query_map(params![since_ms], |r| {
                    Ok(StatRow {
                        role: r.get(0)?,
                        duration_ms: r.get(1)?,
                        ok: r.get(2)?,
                        orchestration: r.get(3)?,
                        at_ms: r.get(4)?,
                    })
                })
                .map_err(storage)?;
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(storage)
        })
        .await
    }

    async fn purge(&self, before_ms: i64) -> Result<usize> {
        self.write_all(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM tasks WHERE updated_ms < ?1 AND status IN ('COMPLETED', 'FAILED', 'TIMEOUT')",
                    params![before_ms],
                )
                .map_err(storage)?;
            tx.execute("DELETE FROM stats WHERE at_ms < ?1", params![before_ms]).map_err(storage)?;
            Ok(n)
        })
        .await
    }
}
