//! The store suite, run on the embedded SQLite store and on a real redis-server with the same
//! tests: write, read back, reopen (Redis: after kill -9 and restart), interrupted records,
//! retention, concurrent writers, claims. The memory store runs the parts it can.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{builder, scripted};
use orchestrator_core::store::{
    AgentSpec, CouncilRecord, MemoryStore, RedisStore, SqliteStore, StatRow, Store, TaskRecord, TaskStatus,
};
use orchestrator_core::testing::RedisServer;
use orchestrator_core::{CouncilSettings, DeliberationRequest, Event};

fn request(task: &str) -> DeliberationRequest {
    DeliberationRequest { task_description: task.into(), role: "DEV".into(), ..Default::default() }
}

/// A durable store that can be closed and opened again.
enum Backend {
    Sqlite(tempfile::TempDir),
    Redis(RedisServer),
}

impl Backend {
    fn both() -> Vec<Backend> {
        vec![Backend::Sqlite(tempfile::tempdir().unwrap()), Backend::Redis(RedisServer::start())]
    }

    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(dir) => Arc::new(SqliteStore::open(dir.path()).unwrap()),
            Backend::Redis(r) => Arc::new(RedisStore::open(&r.url, "orchestrator", None).await.unwrap()),
        }
    }

    /// Close and reopen: SQLite reopens its file; Redis is killed with -9 and restarted first.
    async fn reopen(&mut self) -> Arc<dyn Store> {
        if let Backend::Redis(r) = self {
            r.crash_and_restart();
        }
        self.open().await
    }

    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Redis(_) => "redis",
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_read_back_reopen_and_read_again() {
    let outcome = builder(&scripted(3)).build().unwrap().run().await.unwrap();
    for mut backend in Backend::both() {
        {
            let s = backend.open().await;
            assert!(s.insert_task(&TaskRecord::pending("t1".into(), request("first"))).await.unwrap());
            assert!(!s.insert_task(&TaskRecord::pending("t1".into(), request("again"))).await.unwrap(), "idempotent");
            s.start_task("t1", "replica-a").await.unwrap();
            let events = vec![Event::Completed { winner_id: outcome.winner_id.clone(), duration_ms: 1 }];
            s.finish_task("t1", TaskStatus::Completed, Some(&outcome), &events, "").await.unwrap();
            let r = s.task("t1").await.unwrap().unwrap();
            assert_eq!(r.status, TaskStatus::Completed);
            assert_eq!(r.request.task_description, "first");
            assert_eq!(r.attempts, 1);
            assert_eq!(r.owner, "replica-a");
            assert!(s.insert_task(&TaskRecord::pending("t2".into(), request("second"))).await.unwrap());
        }
        let name = backend.name();
        let s = backend.reopen().await;
        let r = s.task("t1").await.unwrap().unwrap();
        let o = r.outcome.unwrap();
        assert_eq!(o.winner_id, outcome.winner_id, "{name}");
        assert_eq!(o.results.len(), 3);
        assert_eq!(o.results[0].proposal.revisions, outcome.results[0].proposal.revisions);
        assert_eq!(r.events.len(), 1);
        assert_eq!(s.unfinished().await.unwrap().iter().map(|r| r.task_id.as_str()).collect::<Vec<_>>(), ["t2"]);
        assert!(s.task("missing").await.unwrap().is_none());
        assert!(s.finish_task("missing", TaskStatus::Failed, None, &[], "x").await.is_err());
        assert!(s.task("missing").await.unwrap().is_none(), "{name}: a failed finish creates nothing");
        s.start_task("missing", "me").await.unwrap();
        assert!(s.task("missing").await.unwrap().is_none(), "{name}: starting a missing task creates nothing");
        // Retry: FAILED -> PENDING, then done again.
        s.finish_task("t2", TaskStatus::Failed, None, &[], "boom").await.unwrap();
        assert!(s.reopen_task("t2").await.unwrap());
        assert!(!s.reopen_task("t1").await.unwrap(), "{name}: a completed task is not reopened");
        let r = s.task("t2").await.unwrap().unwrap();
        assert_eq!((r.status, r.error.as_str(), r.outcome.is_none()), (TaskStatus::Pending, "", true));
        assert_eq!(s.unfinished().await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_records_become_failed_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    unfinished_records_become_failed_with_a_reason_on(&SqliteStore::open(dir.path()).unwrap()).await;
    unfinished_records_become_failed_with_a_reason_on(&MemoryStore::new()).await;
    let redis = RedisServer::start();
    unfinished_records_become_failed_with_a_reason_on(&RedisStore::open(&redis.url, "o", None).await.unwrap()).await;
}

async fn unfinished_records_become_failed_with_a_reason_on(s: &dyn Store) {
    s.insert_task(&TaskRecord::pending("pending".into(), request("a"))).await.unwrap();
    s.insert_task(&TaskRecord::pending("running".into(), request("b"))).await.unwrap();
    s.start_task("running", "me").await.unwrap();
    s.insert_task(&TaskRecord::pending("done".into(), request("c"))).await.unwrap();
    s.finish_task("done", TaskStatus::Completed, None, &[], "").await.unwrap();
    assert_eq!(s.interrupt_unfinished("interrupted by a restart").await.unwrap(), 2);
    for id in ["pending", "running"] {
        let r = s.task(id).await.unwrap().unwrap();
        assert_eq!(r.status, TaskStatus::Failed);
        assert_eq!(r.error, "interrupted by a restart");
    }
    assert_eq!(s.task("done").await.unwrap().unwrap().status, TaskStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_old_finished_records_only() {
    let dir = tempfile::tempdir().unwrap();
    retention_removes_old_finished_records_only_on(&SqliteStore::open(dir.path()).unwrap()).await;
    retention_removes_old_finished_records_only_on(&MemoryStore::new()).await;
    let redis = RedisServer::start();
    retention_removes_old_finished_records_only_on(&RedisStore::open(&redis.url, "o", None).await.unwrap()).await;
}

async fn retention_removes_old_finished_records_only_on(s: &dyn Store) {
    s.insert_task(&TaskRecord::pending("old".into(), request("a"))).await.unwrap();
    s.finish_task("old", TaskStatus::Completed, None, &[], "").await.unwrap();
    s.insert_task(&TaskRecord::pending("running".into(), request("b"))).await.unwrap();
    s.record_stats(&[StatRow { role: "DEV".into(), duration_ms: 5.0, ok: true, orchestration: false, at_ms: 1 }])
        .await
        .unwrap();
    let future = i64::MAX / 2;
    assert_eq!(s.purge(future).await.unwrap(), 1);
    assert!(s.task("old").await.unwrap().is_none());
    assert!(s.task("running").await.unwrap().is_some(), "unfinished records are kept");
    assert!(s.stats(0).await.unwrap().is_empty());
    assert_eq!(s.purge(0).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_do_not_corrupt_each_other() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_writers_do_not_corrupt_each_other_on(Arc::new(SqliteStore::open(dir.path()).unwrap())).await;
    concurrent_writers_do_not_corrupt_each_other_on(Arc::new(MemoryStore::new())).await;
    let redis = RedisServer::start();
    let store = RedisStore::open(&redis.url, "o", None).await.unwrap();
    concurrent_writers_do_not_corrupt_each_other_on(Arc::new(store)).await;
}

async fn concurrent_writers_do_not_corrupt_each_other_on(s: Arc<dyn Store>) {
    let outcome = Arc::new(builder(&scripted(2)).build().unwrap().run().await.unwrap());
    let handles: Vec<_> = (0..64)
        .map(|i| {
            let (s, outcome) = (s.clone(), outcome.clone());
            tokio::spawn(async move {
                let id = format!("task-{i}");
                s.insert_task(&TaskRecord::pending(id.clone(), request(&id))).await.unwrap();
                s.start_task(&id, "w").await.unwrap();
                s.finish_task(&id, TaskStatus::Completed, Some(&outcome), &[], "").await.unwrap();
                s.record_stats(&[StatRow {
                    role: "DEV".into(),
                    duration_ms: i as f64,
                    ok: true,
                    orchestration: false,
                    at_ms: 10,
                }])
                .await
                .unwrap();
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    for i in 0..64 {
        let r = s.task(&format!("task-{i}")).await.unwrap().unwrap();
        assert_eq!(r.status, TaskStatus::Completed);
        assert_eq!(r.request.task_description, format!("task-{i}"));
        assert_eq!(r.outcome.unwrap().results.len(), 2);
    }
    assert_eq!(s.stats(0).await.unwrap().len(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn councils_survive_reopen() {
    let rec = CouncilRecord {
        role: "QA".into(),
        settings: CouncilSettings { rounds: 2, ..Default::default() },
        agents: vec![AgentSpec {
            id: "qa-1".into(),
            kind: orchestrator_core::AgentKind::Scripted,
            latency_ms: 5,
            ..Default::default()
        }],
    };
    for mut backend in Backend::both() {
        backend.open().await.put_council(&rec).await.unwrap();
        let s = backend.reopen().await;
        assert_eq!(s.councils().await.unwrap(), vec![rec.clone()], "{}", backend.name());
        s.delete_council("QA").await.unwrap();
        assert!(s.councils().await.unwrap().is_empty());
    }
}

/// Group commit: writes that share a transaction still answer one by one. A failing write (an
/// unknown task) fails alone, its neighbours in the same batch are stored, and every write that
/// returned Ok is there after the store is closed and reopened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_in_a_group_commit_fails_alone_and_the_rest_survive_reopen() {
    for mut backend in Backend::both() {
        {
            let s = backend.open().await;
            let handles: Vec<_> = (0..400)
                .map(|i| {
                    let s = s.clone();
                    tokio::spawn(async move {
                        if i % 10 == 0 {
                            let missing = format!("missing-{i}");
                            assert!(s.finish_task(&missing, TaskStatus::Completed, None, &[], "").await.is_err());
                            return;
                        }
                        let id = format!("task-{i}");
                        assert!(s.insert_task(&TaskRecord::pending(id.clone(), request(&id))).await.unwrap());
                        assert!(!s.insert_task(&TaskRecord::pending(id.clone(), request("dup"))).await.unwrap());
                        s.finish_task(&id, TaskStatus::Completed, None, &[], "").await.unwrap();
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        }
        let s = backend.reopen().await;
        for i in (0..400).filter(|i| i % 10 != 0) {
            let r = s.task(&format!("task-{i}")).await.unwrap().expect("a write that returned Ok is on disk");
            assert_eq!(
                (r.status, r.request.task_description.as_str()),
                (TaskStatus::Completed, format!("task-{i}").as_str())
            );
        }
        assert!(s.task("missing-0").await.unwrap().is_none());
    }
}

/// Replicas sharing a store run each task once: a claim is exclusive until released or expired,
/// and its holder can renew it. A store one process owns grants every claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_exclusive_renewable_and_expires() {
    let redis = RedisServer::start();
    let a = RedisStore::open(&redis.url, "o", None).await.unwrap();
    let b = RedisStore::open(&redis.url, "o", None).await.unwrap();
    let ttl = Duration::from_millis(300);
    assert!(a.claim("t", "replica-a", ttl).await.unwrap());
    assert!(!b.claim("t", "replica-b", ttl).await.unwrap(), "held by a");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(a.claim("t", "replica-a", ttl).await.unwrap(), "renewed");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!b.claim("t", "replica-b", ttl).await.unwrap(), "the renewal kept it");
    b.release("t", "replica-b").await.unwrap();
    assert!(!b.claim("t", "replica-b", ttl).await.unwrap(), "b cannot release a's claim");
    a.release("t", "replica-a").await.unwrap();
    assert!(b.claim("t", "replica-b", ttl).await.unwrap(), "free after release");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(a.claim("t", "replica-a", ttl).await.unwrap(), "free after expiry");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path()).unwrap();
    assert!(sqlite.claim("t", "a", ttl).await.unwrap() && sqlite.claim("t", "b", ttl).await.unwrap());
}

/// Finished records expire after the retention period on their own; unfinished ones do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_records_expire_after_the_retention_period() {
    let redis = RedisServer::start();
    let s = RedisStore::open(&redis.url, "o", Some(Duration::from_millis(300))).await.unwrap();
    s.insert_task(&TaskRecord::pending("done".into(), request("a"))).await.unwrap();
    s.insert_task(&TaskRecord::pending("waiting".into(), request("b"))).await.unwrap();
    s.finish_task("done", TaskStatus::Completed, None, &[], "").await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(s.task("done").await.unwrap().is_none());
    assert!(s.task("waiting").await.unwrap().is_some());
}

/// Redis going away: calls fail with a storage error (UNAVAILABLE in the service), and work
/// again by themselves once it is back. Opening against no Redis fails with a clear message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_away_is_an_error_and_the_store_recovers_when_it_returns() {
    let mut redis = RedisServer::start();
    let s = RedisStore::open(&redis.url, "o", None).await.unwrap();
    s.insert_task(&TaskRecord::pending("before".into(), request("a"))).await.unwrap();
    redis.stop();
    let e = s.task("before").await.unwrap_err();
    assert_eq!(e.kind(), orchestrator_core::ErrorKind::Storage, "{e}");
    redis.restart();
    let mut back = None;
    for _ in 0..50 {
        if let Ok(r) = s.task("before").await {
            back = r;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(back.expect("recovered after Redis came back").task_id, "before");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = RedisStore::open(&format!("redis://:pw@127.0.0.1:{port}"), "o", None).await.unwrap_err();
    assert!(e.to_string().contains(&format!("cannot reach Redis at 127.0.0.1:{port}")), "{e}");
    assert!(!e.to_string().contains("pw"), "no password in messages: {e}");
}
