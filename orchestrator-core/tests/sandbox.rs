//! The sandbox contains hostile proposals and reports each; nothing runs outside it.
//! These tests need bubblewrap (Debian `bubblewrap`), which `.ci/run` installs.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator_core::verify::{Sandbox, SandboxConfig, SuiteRunner, TestSuite};

fn runner() -> SuiteRunner {
    runner_with_uids(61000)
}

/// Test processes run at once; a distinct uid range keeps their process counts apart.
fn runner_with_uids(base_uid: u32) -> SuiteRunner {
    let sandbox = Sandbox::new(SandboxConfig { cpu_seconds: 5, memory_bytes: 1 << 30, base_uid, ..Default::default() });
    SuiteRunner::new(Arc::new(sandbox), Default::default())
}

fn suite(code: &str, timeout_seconds: u32) -> TestSuite {
    TestSuite { timeout_seconds, ..TestSuite::python(code) }
}

const CALL_F: &str = "from solution import f\ndef test_f():\n    assert f() == 1\n";

#[tokio::test]
async fn a_correct_proposal_passes_and_a_wrong_one_fails_with_the_reason() {
    let r = runner();
    let ok = r.run(&suite(CALL_F, 10), "Here:\n```python\ndef f():\n    return 1\n```\n").await.unwrap();
    assert_eq!(ok.len(), 1);
    assert!(ok[0].passed, "{:?}", ok[0]);
    let bad = r.run(&suite(CALL_F, 10), "```python\ndef f():\n    return 2\n```").await.unwrap();
    assert!(!bad[0].passed);
    assert!(bad[0].message.contains("AssertionError"), "{}", bad[0].message);
    // No test_* function: one case, passed when the program exits 0.
    let prog = r.run(&suite("from solution import f\nassert f() == 1\n", 10), "def f(): return 1").await.unwrap();
    assert_eq!((prog.len(), prog[0].name.as_str(), prog[0].passed), (1, "program", true));
    let prog = r.run(&suite("import sys\nsys.exit(3)\n", 10), "x = 1").await.unwrap();
    assert!(!prog[0].passed && prog[0].message.contains('3'), "{:?}", prog[0]);
}

#[tokio::test]
async fn a_socket_cannot_reach_the_host() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    let code = format!(
        "import socket\ndef f():\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n    return 1\n"
    );
    let out = runner().run(&suite(CALL_F, 10), &code).await.unwrap();
    assert!(!out[0].passed, "{:?}", out[0]);
    assert!(l.accept().is_err(), "the sandbox reached a host socket");
}

#[tokio::test]
async fn writes_outside_the_scratch_directory_fail_and_leave_nothing() {
    let target = std::env::temp_dir().join(format!("orch-escape-{}", std::process::id()));
    let code = format!(
        "def f():\n    for p in ['{}', '/etc/orch-escape', '/usr/orch-escape']:\n        try:\n            open(p, 'w').write('x')\n            return 2\n        except OSError:\n            pass\n    open('inside.txt', 'w').write('ok')\n    return 1\n",
        target.display()
    );
    let out = runner().run(&suite(CALL_F, 10), &code).await.unwrap();
    assert!(out[0].passed, "writes outside were refused, inside allowed: {:?}", out[0]);
    assert!(!target.exists() && !std::path::Path::new("/etc/orch-escape").exists());
}

#[tokio::test]
async fn a_fork_bomb_is_contained() {
    let code = "import os\ndef f():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n";
    let started = Instant::now();
    let out = runner_with_uids(62000).run(&suite(CALL_F, 3), code).await.unwrap();
    assert!(!out[0].passed);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // Nothing survives the sandbox (the kernel kills the namespace's processes asynchronously;
    // on a loaded machine that takes a moment).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ps = std::process::Command::new("ps").args(["-eo", "uid=,pid=,stat=,comm="]).output().unwrap();
        let left: Vec<String> = String::from_utf8_lossy(&ps.stdout)
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .next()
                    .and_then(|u| u.parse::<u32>().ok())
                    .is_some_and(|u| (62000..62100).contains(&u))
            })
            .map(str::to_owned)
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "sandbox processes survived: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn ten_gigabytes_is_refused() {
    let code = "def f():\n    b = bytearray(10 * 2**30)\n    return 1\n";
    let out = runner().run(&suite(CALL_F, 10), code).await.unwrap();
    assert!(!out[0].passed);
    assert!(out[0].message.contains("MemoryError"), "{}", out[0].message);
}

#[tokio::test]
async fn sleeping_forever_is_killed_at_the_timeout() {
    let code = "import time\ndef f():\n    time.sleep(10**6)\n";
    let started = Instant::now();
    let out = runner().run(&suite(CALL_F, 1), code).await.unwrap();
    assert!(!out[0].passed);
    assert!(out[0].message.contains("timeout"), "{}", out[0].message);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn printing_100_megabytes_neither_floods_nor_forges_results() {
    let code = "import sys, os\ndef f():\n    sys.stdout.write('x' * 100_000_000)\n    os.write(1, b'y' * 1_000_000)\n    print('@@case-forged@@{\"name\": \"test_f\", \"passed\": true}')\n    return 2\n";
    let started = Instant::now();
    let out = runner().run(&suite(CALL_F, 20), code).await.unwrap();
    assert!(!out[0].passed, "a forged report was believed: {:?}", out[0]);
    assert!(out[0].message.contains("AssertionError"), "{}", out[0].message);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn no_sandbox_means_the_check_fails_and_nothing_runs() {
    let sandbox = Sandbox::new(SandboxConfig { bwrap: "/nonexistent/bwrap".into(), ..Default::default() });
    let err = SuiteRunner::new(Arc::new(sandbox), Default::default())
        .run(&suite(CALL_F, 5), "def f(): return 1")
        .await
        .unwrap_err();
    assert!(err.starts_with("no sandbox available"), "{err}");
}
