//! The built-in scorers detect what they claim.

use std::time::Duration;

use orchestrator_core::scorers::{CommandCheck, CommandInput, PolicyRule, PolicyScorer, RequirementsScorer};
use orchestrator_core::{CheckCategory, Constraints, Proposal, Scorer, Task};

fn proposal(content: &str) -> Proposal {
    Proposal {
        author_id: "a".into(),
        author_role: "DEV".into(),
        content: content.into(),
        created_at_ms: 0,
        revisions: vec![],
    }
}

fn task(reqs: &[&str]) -> Task {
    Task {
        id: "t".into(),
        description: "d".into(),
        role: "DEV".into(),
        constraints: Constraints { requirements: reqs.iter().map(|s| s.to_string()).collect(), ..Default::default() },
    }
}

#[tokio::test]
async fn policy_flags_secrets_keys_and_url_credentials_without_echoing_them() {
    let p = PolicyScorer::new();
    let bad = "api_key = \"sk-live-123456789\"\npassword: 'hunter22'\n-----BEGIN RSA PRIVATE KEY-----\n\
               db = postgres://admin:s3cr3t@db.internal/app\nAKIAABCDEFGHIJKLMNOP";
    let c = p.check(&proposal(bad), &task(&[])).await.unwrap();
    assert!(!c.passed);
    assert_eq!(c.score, 0.0);
    assert_eq!(c.category, CheckCategory::Policy);
    let v = c.details.violations.join(",");
    for rule in ["hardcoded-secret", "hardcoded-password", "private-key", "credentials-in-url", "aws-access-key-id"] {
        assert!(v.contains(rule), "{rule} missing from {v}");
    }
    assert!(v.contains("line 4"), "{v}");
    assert!(!v.contains("hunter22") && !v.contains("s3cr3t") && !v.contains("sk-live"), "secrets echoed: {v}");

    let clean = "Read the API key from the environment: api_key = os.environ['API_KEY']\nhttps://example.com/path";
    let c = p.check(&proposal(clean), &task(&[])).await.unwrap();
    assert!(c.passed, "{:?}", c.details.violations);
    assert_eq!(c.score, 1.0);
}

#[test]
fn policy_rejects_bad_custom_patterns_naming_the_rule() {
    let err = PolicyScorer::with_rules(vec![PolicyRule::new("broken", "(")]).unwrap_err();
    assert!(err.to_string().contains("policy.rules.broken"), "{err}");
}

#[tokio::test]
async fn requirements_scorer_counts_addressed_requirements() {
    let s = RequirementsScorer::new();
    let t = task(&["Unit tests", "Error handling", "Rate limiting"]);
    let c = s.check(&proposal("We add unit tests and careful error handling."), &t).await.unwrap();
    assert!(!c.passed);
    assert!((c.score - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(c.details.violations, vec!["Rate limiting".to_owned()]);
    let c = s.check(&proposal("Tests per unit; errors: handled; limiting of rate."), &t).await.unwrap();
    assert!(c.passed, "word-level matching: {:?}", c.details.violations);
    let c = s.check(&proposal("Nothing relevant"), &t).await.unwrap();
    assert_eq!(c.score, 0.0);
}

#[tokio::test]
async fn command_check_passes_and_fails_on_exit_status() {
    let ok = CommandCheck::new("lint", "/bin/grep", vec!["-q".into(), "fn main".into()]).unwrap();
    let c = ok.check(&proposal("fn main() {}"), &task(&[])).await.unwrap();
    assert!(c.passed, "{}", c.message);
    assert_eq!(c.details.exit_code, Some(0));
    let c = ok.check(&proposal("print('x')"), &task(&[])).await.unwrap();
    assert!(!c.passed);
    assert_eq!(c.details.exit_code, Some(1));
    assert_eq!(c.score, 0.0);
}

#[tokio::test]
async fn command_check_uses_a_file_and_a_clean_environment() {
    std::env::set_var("ORCH_TEST_SECRET", "leak");
    let c = CommandCheck::new(
        "dryrun",
        "/bin/sh",
        vec!["-c".into(), "cat \"$1\"; env".into(), "sh".into(), "{file}".into()],
    )
    .unwrap()
    .category(CheckCategory::DryRun)
    .input(CommandInput::File { suffix: ".txt".into() })
    .env("VISIBLE", "yes");
    let out = c.check(&proposal("hello from the file"), &task(&[])).await.unwrap();
    assert!(out.passed);
    let text = out.details.output.unwrap();
    assert!(text.contains("hello from the file"), "{text}");
    assert!(text.contains("VISIBLE=yes"));
    assert!(!text.contains("ORCH_TEST_SECRET"), "environment not clean: {text}");
    assert_eq!(out.category, CheckCategory::DryRun);
}

#[tokio::test]
async fn command_check_enforces_its_timeout_and_truncates_output() {
    let slow = CommandCheck::new("slow", "/bin/sleep", vec!["5".into()]).unwrap().timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let c = slow.check(&proposal("x"), &task(&[])).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!c.passed);
    assert!(c.message.contains("timed out"));

    let noisy = CommandCheck::new("noisy", "/usr/bin/yes", vec!["error: noisy".into()])
        .unwrap()
        .timeout(Duration::from_millis(300))
        .max_output(1000);
    let c = noisy.check(&proposal("x"), &task(&[])).await.unwrap();
    assert!(!c.passed);

    let big = CommandCheck::new("big", "/bin/sh", vec!["-c".into(), "head -c 100000 /dev/zero | tr '\\0' e".into()])
        .unwrap()
        .max_output(1000);
    let c = big.check(&proposal("x"), &task(&[])).await.unwrap();
    assert!(c.passed);
    let out = c.details.output.unwrap();
    assert!(out.len() < 1100 && out.ends_with("[output truncated]"));
}

#[tokio::test]
async fn command_check_that_cannot_start_fails_naming_the_program() {
    let c = CommandCheck::new("missing", "/nonexistent/linter", vec![]).unwrap();
    let out = c.check(&proposal("x"), &task(&[])).await.unwrap();
    assert!(!out.passed);
    assert!(out.details.output.unwrap_or_default().contains("/nonexistent/linter"), "{}", out.message);
    assert!(CommandCheck::new("empty", "", vec![]).is_err());
}
