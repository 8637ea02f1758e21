//! The embedded store: SQLite (rusqlite, bundled) in WAL mode with `synchronous=FULL`, so a write
//! has reached the disk when it returns. Calls run on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
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
        let conn = Connection::open(&path).map_err(storage)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(storage)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(storage)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(storage)?;
        conn.execute_batch(SCHEMA).map_err(storage)?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), path })
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
        self.with(move |c| {
            let n = c
                .execute(
                    "INSERT OR IGNORE INTO tasks (task_id, role, status, request, created_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![id, role, status, request, created],
                )
                .map_err(storage)?;
            Ok(n == 1)
        })
        .await
    }

    async fn start_task(&self, task_id: &str, owner: &str) -> Result<()> {
        let (id, owner) = (task_id.to_owned(), owner.to_owned());
        self.with(move |c| {
            c.execute(
                "UPDATE tasks SET status = 'IN_PROGRESS', owner = ?2, attempts = attempts + 1, updated_ms = ?3
                 WHERE task_id = ?1",
                params![id, owner, now_ms()],
            )
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
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE tasks SET status = ?2, outcome = ?3, events = ?4, error = ?5, updated_ms = ?6
                     WHERE task_id = ?1",
                    params![id, status.as_str(), outcome, events, error, now_ms()],
                )
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
        self.with(move |c| {
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
        self.with(move |c| {
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
        self.with(move |c| {
            c.execute("INSERT OR REPLACE INTO councils (role, record) VALUES (?1, ?2)", params![role, rec])
                .map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn delete_council(&self, role: &str) -> Result<()> {
        let role = role.to_owned();
        self.with(move |c| {
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
        self.with(move |c| {
            let tx = c.transaction().map_err(storage)?;
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
            tx.commit().map_err(storage)
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
        self.with(move |c| {
            let tx = c.transaction().map_err(storage)?;
            let n = tx
                .execute(
                    "DELETE FROM tasks WHERE updated_ms < ?1 AND status IN ('COMPLETED', 'FAILED', 'TIMEOUT')",
                    params![before_ms],
                )
                .map_err(storage)?;
            tx.execute("DELETE FROM stats WHERE at_ms < ?1", params![before_ms]).map_err(storage)?;
            tx.commit().map_err(storage)?;
            Ok(n)
        })
        .await
    }
}
