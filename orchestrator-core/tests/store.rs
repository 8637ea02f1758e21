//! The embedded SQLite store: write, read back, reopen, interrupted records, retention, concurrency.

mod common;

use std::sync::Arc;

use common::{builder, scripted};
use orchestrator_core::store::{
    AgentSpec, CouncilRecord, MemoryStore, SqliteStore, StatRow, Store, TaskRecord, TaskStatus,
};
use orchestrator_core::{CouncilSettings, DeliberationRequest, Event};

fn request(task: &str) -> DeliberationRequest {
    DeliberationRequest { task_description: task.into(), role: "DEV".into(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_read_back_reopen_and_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = builder(&scripted(3)).build().unwrap().run().await.unwrap();
    {
        let s = SqliteStore::open(dir.path()).unwrap();
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
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    let r = s.task("t1").await.unwrap().unwrap();
    let o = r.outcome.unwrap();
    assert_eq!(o.winner_id, outcome.winner_id);
    assert_eq!(o.results.len(), 3);
    assert_eq!(o.results[0].proposal.revisions, outcome.results[0].proposal.revisions);
    assert_eq!(r.events.len(), 1);
    assert!(s.task("missing").await.unwrap().is_none());
    assert!(s.finish_task("missing", TaskStatus::Failed, None, &[], "x").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_records_become_failed_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    unfinished_records_become_failed_with_a_reason_on(&SqliteStore::open(dir.path()).unwrap()).await;
    unfinished_records_become_failed_with_a_reason_on(&MemoryStore::new()).await;
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
    let dir = tempfile::tempdir().unwrap();
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
    SqliteStore::open(dir.path()).unwrap().put_council(&rec).await.unwrap();
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.councils().await.unwrap(), vec![rec]);
    s.delete_council("QA").await.unwrap();
    assert!(s.councils().await.unwrap().is_empty());
}

/// Group commit: writes that share a transaction still answer one by one. A failing write (an
/// unknown task) fails alone, its neighbours in the same batch are stored, and every write that
/// returned Ok is there after the store is closed and reopened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_in_a_group_commit_fails_alone_and_the_rest_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Arc::new(SqliteStore::open(dir.path()).unwrap());
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
    let s = SqliteStore::open(dir.path()).unwrap();
    for i in (0..400).filter(|i| i % 10 != 0) {
        let r = s.task(&format!("task-{i}")).await.unwrap().expect("a write that returned Ok is on disk");
        assert_eq!(
            (r.status, r.request.task_description.as_str()),
            (TaskStatus::Completed, format!("task-{i}").as_str())
        );
    }
    assert!(s.task("missing-0").await.unwrap().is_none());
}
