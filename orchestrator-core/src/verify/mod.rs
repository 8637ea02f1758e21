//! Verification: tests that travel with the task, peer tests from critics, and the sandbox that
//! runs every line of proposal code.

mod sandbox;
mod suite;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::check::CaseResult;
pub use crate::task::TestSuite;
pub use sandbox::{RunOutput, Sandbox, SandboxConfig, SandboxMode};
pub use suite::{extract_code, python_cases, RunnerConfig, SuiteRunner};

use crate::check::{Check, CheckCategory, CheckDetails, Scorer};
use crate::error::AgentError;
use crate::proposal::Proposal;
use crate::task::Task;

/// `verify:` in the config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyConfig {
    /// The sandbox and its limits.
    pub sandbox: SandboxConfig,
    /// Runners for languages other than Python.
    pub runners: BTreeMap<String, RunnerConfig>,
    /// Run tests that critics put in their critiques against every proposal.
    pub peer_tests: bool,
}

/// Name of the check that runs the task's tests.
pub const TESTS_CHECK: &str = "tests";
/// Name of the check that runs critics' tests.
pub const PEER_TESTS_CHECK: &str = "peer_tests";

/// Runs the task's test suites (`constraints.tests`) against a proposal. Added automatically by
/// the builder when the task has tests. Score: cases passed / cases; passes when all pass.
#[derive(Debug, Clone)]
pub struct TestsScorer {
    runner: Arc<SuiteRunner>,
}

impl TestsScorer {
    /// A scorer on `runner`.
    pub fn new(runner: Arc<SuiteRunner>) -> Self {
        TestsScorer { runner }
    }
}

/// A check from case results: score = passed / cases, details name every case and the first
/// failure's message.
pub fn cases_check(name: &str, cases: Vec<CaseResult>) -> Check {
    let passed = cases.iter().filter(|c| c.passed).count();
    let total = cases.len();
    let mut details = CheckDetails::default();
    for c in &cases {
        details
            .extra
            .insert(format!("case.{}.{}", c.suite, c.name), if c.passed { "passed" } else { "failed" }.to_owned());
    }
    let first_failure = cases.iter().find(|c| !c.passed);
    if let Some(f) = first_failure {
        let msg: String = f.message.chars().take(500).collect();
        details.extra.insert("first_failure".into(), format!("{}.{}: {msg}", f.suite, f.name));
        details.output = Some(msg);
    }
    let message = match first_failure {
        None => format!("{passed}/{total} test cases passed"),
        Some(f) => format!("{passed}/{total} test cases passed; first failure: {}.{}", f.suite, f.name),
    };
    let score = if total == 0 { 0.0 } else { passed as f64 / total as f64 };
    let mut check =
        Check::new(name, CheckCategory::Other, total > 0 && passed == total, score, message).with_details(details);
    check.details.cases = cases;
    check
}

#[async_trait]
impl Scorer for TestsScorer {
    fn name(&self) -> &str {
        TESTS_CHECK
    }

    async fn check(&self, proposal: &Proposal, task: &Task) -> Result<Check, AgentError> {
        let mut cases = Vec::new();
        for suite in &task.constraints.tests {
            let lang = suite.lang();
            if !self.runner.supports(&lang) {
                return Err(AgentError::Failed(format!("no runner configured for language {lang:?}")));
            }
            cases.extend(self.runner.run(suite, &proposal.content).await.map_err(AgentError::Failed)?);
        }
        Ok(cases_check(TESTS_CHECK, cases))
    }
}

/// Test suites in a critic's reply: every fenced block in `lang` (or untagged) that defines a
/// `test_*` function.
pub fn peer_suites(reviewer: &str, text: &str, lang: &str) -> Vec<TestSuite> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut n = 0;
    // Take fenced blocks one by one: extract_code gives the last, so walk them in order.
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(nl) = after.find('\n') else { break };
        let tag = after[..nl].trim().to_ascii_lowercase();
        let body_start = &after[nl + 1..];
        let Some(end) = body_start.find("```") else { break };
        let body = &body_start[..end];
        rest = &body_start[end + 3..];
        let lang_ok = tag.is_empty() || tag == lang || (lang == "python" && matches!(tag.as_str(), "py" | "python3"));
        if lang_ok && !python_cases(body).is_empty() {
            n += 1;
            out.push(TestSuite {
                name: format!("peer.{reviewer}.{n}"),
                language: lang.to_owned(),
                code: body.to_owned(),
                timeout_seconds: 0,
            });
        }
    }
    out
}

/// CodeT-style dual agreement over peer-test outcomes. `outcomes[p][c]`: proposal `p` passed
/// case `c`. Cases no proposal passes count for nothing. Proposals with the same outcome vector
/// form a cluster scored |cluster| x cases passed; each proposal gets its cluster's score over
/// the best cluster's (0 when no case counts).
pub fn dual_agreement(outcomes: &[Vec<bool>]) -> Vec<f64> {
    let n_cases = outcomes.first().map_or(0, Vec::len);
    let useful: Vec<usize> = (0..n_cases).filter(|&c| outcomes.iter().any(|o| o[c])).collect();
    if useful.is_empty() {
        return vec![0.0; outcomes.len()];
    }
    let vectors: Vec<Vec<bool>> = outcomes.iter().map(|o| useful.iter().map(|&c| o[c]).collect()).collect();
    let raw: Vec<f64> = vectors
        .iter()
        .map(|v| {
            let size = vectors.iter().filter(|w| *w == v).count();
            let passed = v.iter().filter(|b| **b).count();
            (size * passed) as f64
        })
        .collect();
    let best = raw.iter().cloned().fold(0.0, f64::max);
    raw.iter().map(|r| if best > 0.0 { r / best } else { 0.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dual_agreement_ignores_tests_that_fail_everyone_and_rewards_agreement() {
        // Cases: 0 correct test, 1 wrong test (fails every proposal), 2 correct test.
        let o = vec![vec![true, false, true], vec![true, false, true], vec![false, false, true]];
        let s = dual_agreement(&o);
        assert_eq!(s[0], 1.0);
        assert_eq!(s[1], 1.0);
        assert!(s[2] < 0.5, "{s:?}");
        assert_eq!(dual_agreement(&[vec![false], vec![false]]), vec![0.0, 0.0]);
    }

    #[test]
    fn peer_suites_take_fenced_test_blocks() {
        let t = "Looks wrong.\n```python\nfrom solution import f\ndef test_f():\n    assert f(1) == 2\n```\nand\n```\nprint(1)\n```\n";
        let s = peer_suites("r1", t, "python");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "peer.r1.1");
        assert!(s[0].code.contains("def test_f"));
    }
}
