//! The `orchestrator` client subcommands: `--json` prints protobuf's JSON mapping (checked with
//! `python3 -m json.tool`, as a shell user would pipe it), and the exit code names the status.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{scripted_council, Server};

fn cli(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .args(args)
        .args(["--addr", &server.addr()])
        .env_remove("ORCHESTRATOR_AUTH_TOKEN")
        .output()
        .expect("run the CLI")
}

/// Pipe `stdout` through `python3 -m json.tool`; the parsed value.
fn json_tool(stdout: &[u8]) -> serde_json::Value {
    let mut child = Command::new("python3")
        .args(["-m", "json.tool"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(stdout).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "json.tool rejected: {}", String::from_utf8_lossy(stdout));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subcommand_prints_json_that_json_tool_parses() {
    let server = Server::start(&[], None);
    scripted_council(&mut server.client().await, "DEV", 3, 0).await;
    let task = ["--task", "Implement a login endpoint", "--requirement", "unit tests"];

    let out = cli(&server, &[&["deliberate", "--json"][..], &task].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_tool(&out.stdout);
    assert_eq!(v["results"].as_array().map(Vec::len), Some(3), "{v}");
    assert_eq!(v["winnerId"], v["results"][0]["proposal"]["authorId"], "protobuf JSON names are lowerCamelCase");
    assert!(v["results"][0]["checks"]["allChecks"].as_array().is_some_and(|c| !c.is_empty()));

    let out = cli(&server, &[&["orchestrate", "--json"][..], &task].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_tool(&out.stdout);
    assert!(v["winner"]["proposal"]["content"].is_string(), "{v}");

    let out = cli(&server, &["status", "--json"]);
    assert!(out.status.success());
    let v = json_tool(&out.stdout);
    assert_eq!(v["status"], "healthy");
    // int64 is a string in protobuf's JSON mapping.
    assert_eq!(v["stats"]["totalDeliberations"], "2", "{v}");

    let out = cli(&server, &["councils", "--json"]);
    assert!(out.status.success());
    let v = json_tool(&out.stdout);
    assert_eq!(v["councils"][0]["role"], "DEV", "{v}");
    assert_eq!(v["councils"][0]["agents"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_are_ten_plus_the_grpc_code() {
    let server = Server::start(&[], None);
    scripted_council(&mut server.client().await, "DEV", 3, 0).await;
    let code = |args: &[&str]| cli(&server, args).status.code();
    assert_eq!(code(&["deliberate", "--json", "--task", "x", "--rounds", "99"]), Some(13), "INVALID_ARGUMENT");
    assert_eq!(code(&["deliberate", "--task", "Implement it", "--role", "QA"]), Some(22), "UNIMPLEMENTED: no agents");
    assert_eq!(code(&["status"]), Some(0));
    let unreachable = Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .args(["status", "--json", "--addr", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(24), "UNAVAILABLE");
    assert!(unreachable.stdout.is_empty(), "nothing on stdout for jq to misread");
    let missing_file = cli(&server, &["deliberate", "--task", "x", "--tests", "/nonexistent.py"]);
    assert_eq!(missing_file.status.code(), Some(2));
}
