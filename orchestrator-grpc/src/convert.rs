//! Conversions between core types and protobuf messages.

use orchestrator_core::now_ms;
use std::collections::HashMap;

use orchestrator_core::store::{TaskRecord, TaskStatus};
use orchestrator_core::verify::TestSuite;
use orchestrator_core::{
    AgentMeta, AgentRegistration, Check, CheckCategory, Constraints, CouncilRequest, DeliberationOutcome,
    DeliberationRequest, Error, OrchestrateOptions, RankedResult, TokenUsage, VERSION,
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
    let mut tests = Vec::with_capacity(c.tests.len());
    for (i, t) in c.tests.into_iter().enumerate() {
        if t.timeout_seconds < 0 {
            return Err(Error::invalid(
                format!("constraints.tests[{i}].timeout_seconds"),
                format!("is {}; it must not be negative", t.timeout_seconds),
            ));
        }
        tests.push(TestSuite {
            name: t.name,
            language: t.language,
            code: t.code,
            timeout_seconds: t.timeout_seconds as u32,
        });
    }
    Ok(Constraints {
        rubric: c.rubric,
        requirements: c.requirements,
        metadata: c.metadata.into_iter().collect(),
        max_iterations: c.max_iterations as u32,
        timeout_seconds: c.timeout_seconds as u32,
        tests,
    })
}

/// A Deliberate request as a core request; negative numbers are errors naming the field.
pub fn request(r: pb::DeliberateRequest) -> Result<DeliberationRequest, Error> {
    if r.rounds < 0 {
        return Err(Error::invalid("rounds", format!("is {}; it must not be negative", r.rounds)));
    }
    if r.num_agents < 0 {
        return Err(Error::invalid("num_agents", format!("is {}; it must not be negative", r.num_agents)));
    }
    Ok(DeliberationRequest {
        task_description: r.task_description,
        role: r.role,
        constraints: constraints(r.constraints)?,
        rounds: r.rounds as u32,
        num_agents: r.num_agents as u32,
        strategy: if r.strategy.trim().is_empty() { None } else { Some(r.strategy.parse()?) },
        max_calls: r.max_calls,
        max_tokens_total: r.max_tokens_total,
    })
}

/// An OrchestrateRequest to the deliberation request, the orchestration options and the task id.
/// Missing options mean peer review and architect selection on; `custom_params.top_k` must be a
/// positive integer.
pub fn orchestrate_request(
    r: pb::OrchestrateRequest,
) -> Result<(DeliberationRequest, OrchestrateOptions, Option<String>), Error> {
    let o = r.options.unwrap_or(pb::OrchestratorOptions {
        enable_peer_review: true,
        enable_architect_selection: true,
        ..Default::default()
    });
    let top_k = match o.custom_params.get("top_k") {
        Some(v) => Some(v.parse::<i64>().ok().filter(|k| *k >= 1).ok_or_else(|| {
            Error::invalid("options.custom_params.top_k", format!("{v:?} is not a positive integer"))
        })?),
        None => None,
    };
    let options = OrchestrateOptions {
        peer_review: o.enable_peer_review,
        architect_selection: o.enable_architect_selection,
        rounds: i64::from(o.deliberation_rounds),
        top_k,
    };
    let task_id = Some(r.task_id).filter(|t| !t.trim().is_empty());
    let req = request(pb::DeliberateRequest {
        task_description: r.task_description,
        role: r.role,
        constraints: r.constraints,
        ..Default::default()
    })?;
    Ok((req, options, task_id))
}

/// A CreateCouncilRequest to the core's council request (missing config: peer review on).
pub fn council_request(r: pb::CreateCouncilRequest) -> CouncilRequest {
    let cfg = r.config.unwrap_or(pb::CouncilConfig { enable_peer_review: true, ..Default::default() });
    CouncilRequest {
        role: r.role,
        num_agents: i64::from(r.num_agents),
        agent_type: cfg.agent_type,
        rounds: i64::from(cfg.deliberation_rounds),
        peer_review: cfg.enable_peer_review,
        model_profile: cfg.model_profile,
        custom_params: cfg.custom_params.into_iter().collect(),
    }
}

/// A RegisterAgentRequest to the core's registration (`metadata.agent_type` picks the kind).
pub fn agent_registration(r: pb::RegisterAgentRequest) -> AgentRegistration {
    let caps = r.capabilities.unwrap_or_default();
    AgentRegistration {
        role: r.role,
        agent_id: r.agent_id,
        endpoint: r.endpoint,
        agent_type: r.metadata.get("agent_type").cloned(),
        model: caps.model_profile.clone(),
        meta: AgentMeta {
            supported_tasks: caps.supported_tasks,
            model_profile: caps.model_profile,
            max_concurrent_tasks: caps.max_concurrent_tasks.max(0) as u32,
            languages: caps.languages,
            endpoint: String::new(),
            metadata: r.metadata.into_iter().collect(),
        },
    }
}

/// A stable execution id (16 lowercase hex characters) for a stored task.
pub fn execution_id_for(task_id: &str) -> String {
    // FNV-1a, 64 bits: stable across Rust versions and processes (DefaultHasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in task_id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A stored task as a GetDeliberationResult response.
pub fn task_response(r: &TaskRecord) -> pb::GetDeliberationResultResponse {
    let status = match r.status {
        TaskStatus::Pending => pb::DeliberationStatus::Pending,
        TaskStatus::InProgress => pb::DeliberationStatus::InProgress,
        TaskStatus::Completed => pb::DeliberationStatus::Completed,
        TaskStatus::Failed => pb::DeliberationStatus::Failed,
        TaskStatus::Timeout => pb::DeliberationStatus::Timeout,
    };
    let mut resp = pb::GetDeliberationResultResponse {
        task_id: r.task_id.clone(),
        status: status as i32,
        error_message: r.error.clone(),
        ..Default::default()
    };
    let mut m = match &r.outcome {
        Some(o) => {
            let d = deliberate_response(o, &execution_id_for(&r.task_id));
            resp.results = d.results;
            resp.winner_id = d.winner_id;
            resp.duration_ms = d.duration_ms;
            d.metadata.unwrap_or_default()
        }
        None => pb::OrchestratorMetadata {
            orchestrator_version: VERSION.to_owned(),
            timestamp_ms: r.updated_ms,
            execution_id: execution_id_for(&r.task_id),
            ..Default::default()
        },
    };
    m.tags.insert("attempts".into(), r.attempts.to_string());
    m.tags.insert("replica".into(), r.owner.clone());
    m.tags.insert("role".into(), r.role.clone());
    resp.metadata = Some(m);
    resp
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

fn check_result(c: &Check) -> pb::CheckResult {
    pb::CheckResult {
        check_type: c.name.clone(),
        passed: c.passed,
        score: c.score,
        message: c.message.clone(),
        details: details_map(c),
        category: c.category.as_str().to_owned(),
        weight: c.weight,
    }
}

/// The check suite of one result.
pub fn check_suite(r: &RankedResult) -> pb::CheckSuite {
    let mut suite = pb::CheckSuite {
        all_passed: r.all_passed,
        all_checks: r.checks.iter().map(check_result).collect(),
        ..Default::default()
    };
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
            _ => suite.additional_checks.push(check_result(c)),
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

/// Metadata for a response.
pub fn metadata(o: &DeliberationOutcome, execution_id: &str) -> pb::OrchestratorMetadata {
    let mut tags = HashMap::new();
    tags.insert("task_id".to_owned(), o.task_id.clone());
    tags.insert("role".to_owned(), o.role.clone());
    tags.insert("rounds".to_owned(), o.rounds.to_string());
    tags.insert("selection_reason".to_owned(), o.selection.reason.clone());
    tags.insert("tie_break".to_owned(), o.selection.tie_break.as_str().to_owned());
    tags.insert("tied".to_owned(), o.selection.tied.to_string());
    tags.insert("seed".to_owned(), o.selection.seed.to_string());
    tags.insert("strategy".to_owned(), o.strategy.as_str().to_owned());
    tags.insert("budget_calls".to_owned(), o.budget.calls.to_string());
    tags.insert("budget_tokens".to_owned(), o.budget.tokens.to_string());
    if let Some(why) = &o.budget.exhausted {
        tags.insert("budget_exhausted".to_owned(), why.clone());
    }
    if let Some(n) = o.budget.budget.max_calls {
        tags.insert("budget_max_calls".to_owned(), n.to_string());
    }
    if let Some(n) = o.budget.budget.max_tokens_total {
        tags.insert("budget_max_tokens_total".to_owned(), n.to_string());
    }
    if o.budget.refused > 0 {
        tags.insert("budget_refused".to_owned(), o.budget.refused.to_string());
    }
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
                kind: f.error_kind.as_str().to_owned(),
            })
            .collect(),
        usage: Some(usage(&o.usage.total)),
        usage_per_agent: o.usage.per_agent.iter().map(|(k, v)| (k.clone(), usage(v))).collect(),
        usage_per_phase: o.usage.per_phase.iter().map(|(k, v)| (k.to_string(), usage(v))).collect(),
        calls: o.usage.calls as i64,
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
