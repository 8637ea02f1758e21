//! Conversions between core types and protobuf messages.

use std::collections::HashMap;

use orchestrator_core::{
    Check, CheckCategory, Constraints, DeliberationOutcome, Error, Limits, RankedResult, TokenUsage, VERSION,
};

use crate::pb;

/// Request constraints to core constraints; negative numbers are errors naming the field.
pub fn constraints(c: Option<pb::TaskConstraints>) -> Result<Constraints, Error> {
    let c = c.unwrap_or_default();
    if c.max_iterations < 0 {
        return Err(Error::invalid(
            "constraints.max_iterations",
            format!("is {}; it must not be negative", c.max_iterations),
        ));
    }
    if c.timeout_seconds < 0 {
        return Err(Error::invalid(
            "constraints.timeout_seconds",
            format!("is {}; it must not be negative", c.timeout_seconds),
        ));
    }
    Ok(Constraints {
        rubric: c.rubric,
        requirements: c.requirements,
        metadata: c.metadata.into_iter().collect(),
        max_iterations: c.max_iterations as u32,
        timeout_seconds: c.timeout_seconds as u32,
    })
}

/// Check the size limits of a request before any work starts.
pub fn check_request(limits: &Limits, task: &str, c: &Constraints) -> Result<(), Error> {
    limits.check_task("task_description", task)?;
    limits.check_constraints(c)
}

fn details_map(c: &Check) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = c.details.extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if !c.details.violations.is_empty() {
        m.insert("violations".into(), c.details.violations.join("; "));
    }
    if let Some(o) = &c.details.output {
        m.insert("output".into(), o.clone());
    }
    if let Some(code) = c.details.exit_code {
        m.insert("exit_code".into(), code.to_string());
    }
    m.insert("weight".into(), format!("{}", c.weight));
    m
}

/// The check suite of one result.
pub fn check_suite(r: &RankedResult) -> pb::CheckSuite {
    let mut suite = pb::CheckSuite { all_passed: r.all_passed, ..Default::default() };
    for c in &r.checks {
        match c.category {
            CheckCategory::Policy if suite.policy.is_none() => {
                suite.policy = Some(pb::PolicyResult {
                    passed: c.passed,
                    violations: c.details.violations.clone(),
                    message: c.message.clone(),
                })
            }
            CheckCategory::Lint if suite.lint.is_none() => {
                suite.lint = Some(pb::LintResult {
                    passed: c.passed,
                    error_count: c.details.error_count as i32,
                    warning_count: c.details.warning_count as i32,
                    errors: c.details.errors.clone(),
                })
            }
            CheckCategory::DryRun if suite.dryrun.is_none() => {
                suite.dryrun = Some(pb::DryRunResult {
                    passed: c.passed,
                    output: c.details.output.clone().unwrap_or_default(),
                    exit_code: c.details.exit_code.unwrap_or(-1),
                    message: c.message.clone(),
                })
            }
            _ => suite.additional_checks.push(pb::CheckResult {
                check_type: c.name.clone(),
                passed: c.passed,
                score: c.score,
                message: c.message.clone(),
                details: details_map(c),
            }),
        }
    }
    suite
}

/// One ranked result.
pub fn result(r: &RankedResult) -> pb::DeliberationResult {
    pb::DeliberationResult {
        proposal: Some(pb::Proposal {
            author_id: r.proposal.author_id.clone(),
            author_role: r.proposal.author_role.clone(),
            content: r.proposal.content.clone(),
            created_at_ms: r.proposal.created_at_ms,
            revisions: r.proposal.revisions.clone(),
        }),
        checks: Some(check_suite(r)),
        score: r.score,
        rank: r.rank as i32,
    }
}

fn usage(u: &TokenUsage) -> pb::TokenUsage {
    pb::TokenUsage {
        prompt_tokens: u.prompt_tokens as i64,
        completion_tokens: u.completion_tokens as i64,
        total_tokens: u.total() as i64,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Metadata for a response.
pub fn metadata(o: &DeliberationOutcome, execution_id: &str) -> pb::OrchestratorMetadata {
    let mut tags = HashMap::new();
    tags.insert("task_id".to_owned(), o.task_id.clone());
    tags.insert("role".to_owned(), o.role.clone());
    tags.insert("rounds".to_owned(), o.rounds.to_string());
    pb::OrchestratorMetadata {
        orchestrator_version: VERSION.to_owned(),
        timestamp_ms: now_ms(),
        execution_id: execution_id.to_owned(),
        tags,
        failures: o
            .failures
            .iter()
            .map(|f| pb::AgentFailure {
                agent_id: f.agent_id.clone(),
                phase: f.phase.to_string(),
                round: f.round as i32,
                reason: f.reason.clone(),
            })
            .collect(),
        usage: Some(usage(&o.usage.total)),
        usage_per_agent: o.usage.per_agent.iter().map(|(k, v)| (k.clone(), usage(v))).collect(),
    }
}

/// A deliberation outcome as a Deliberate response.
pub fn deliberate_response(o: &DeliberationOutcome, execution_id: &str) -> pb::DeliberateResponse {
    pb::DeliberateResponse {
        results: o.results.iter().map(result).collect(),
        winner_id: o.winner_id.clone(),
        duration_ms: o.duration.as_millis() as i64,
        metadata: Some(metadata(o, execution_id)),
    }
}
