//! LLM-judge scorer: a judge model grades a proposal against the rubric and requirements in a
//! fixed JSON shape, parsed strictly.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::check::{Check, CheckCategory, CheckDetails, Scorer};
use crate::error::AgentError;
use crate::llm::chat::{ChatMessage, ChatRequest, ResponseFormat};
use crate::llm::endpoint::Endpoint;
use crate::llm::prompts;
use crate::proposal::Proposal;
use crate::selection::PairwiseJudge;
use crate::task::Task;

/// How the judge grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JudgeMode {
    /// Grade each proposal on its own (0-10).
    #[default]
    Single,
    /// Compare pairs in both orders; only consistent verdicts count ([`JudgeScorer::pairwise`]).
    Pairwise,
}

/// The judge.
#[derive(Debug, Clone)]
pub struct JudgeScorer {
    endpoint: Arc<Endpoint>,
    model: String,
    max_tokens: u32,
    pass_threshold: f64,
    mode: JudgeMode,
}

/// Result of a pairwise comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairwiseReport {
    /// Consistent wins per author.
    pub wins: BTreeMap<String, u32>,
    /// Pairs whose two verdicts agreed.
    pub consistent: u32,
    /// Pairs whose verdicts disagreed (position bias) or did not parse; not counted.
    pub inconsistent: u32,
}

impl JudgeScorer {
    /// A single-mode judge; a grade of 7/10 or more passes.
    pub fn new(endpoint: Arc<Endpoint>, model: impl Into<String>) -> Self {
        JudgeScorer { endpoint, model: model.into(), max_tokens: 128, pass_threshold: 0.7, mode: JudgeMode::Single }
    }

    /// Grade (0..=1 of the 0-10 scale) at or above which the check passes.
    pub fn pass_threshold(mut self, t: f64) -> Self {
        self.pass_threshold = t.clamp(0.0, 1.0);
        self
    }

    /// Most tokens of the judge's reply.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = n.max(16);
        self
    }

    /// Mode (for reporting; pairwise comparisons run through [`JudgeScorer::pairwise`]).
    pub fn mode(mut self, mode: JudgeMode) -> Self {
        self.mode = mode;
        self
    }

    async fn ask(&self, prompt: String, name: &str, schema: Value) -> Result<(String, Value), AgentError> {
        let req = ChatRequest {
            model: self.model.clone(),
            messages: vec![
                ChatMessage::system("You are a strict, fair reviewer. Reply with JSON only."),
                ChatMessage::user(prompt),
            ],
            temperature: 0.0,
            max_tokens: self.max_tokens,
            response_format: Some(ResponseFormat { name: name.into(), schema }),
        };
        let reply = self.endpoint.chat(&req).await?;
        let text = reply.text.clone();
        Ok((text.clone(), serde_json::from_str::<Value>(strip_fences(&text)).unwrap_or(Value::Null)))
    }

    /// Compare every pair of proposals in both orders; a pair counts only when both orders name
    /// the same winner.
    pub async fn pairwise(&self, task: &Task, proposals: &[Proposal]) -> Result<PairwiseReport, AgentError> {
        let mut report = PairwiseReport::default();
        for i in 0..proposals.len() {
            for j in i + 1..proposals.len() {
                let (a, b) = (&proposals[i], &proposals[j]);
                let winner = match (self.prefer(task, a, b).await?, self.prefer(task, b, a).await?) {
                    (Some(true), Some(false)) => Some(&a.author_id),
                    (Some(false), Some(true)) => Some(&b.author_id),
                    _ => None,
                };
                match winner {
                    Some(w) => {
                        report.consistent += 1;
                        *report.wins.entry(w.clone()).or_default() += 1;
                    }
                    None => report.inconsistent += 1,
                }
            }
        }
        Ok(report)
    }
}

#[async_trait]
impl PairwiseJudge for JudgeScorer {
    /// One order: is proposal A (shown first) better than B? The tie-break asks both orders.
    async fn prefer(&self, task: &Task, a: &Proposal, b: &Proposal) -> Result<Option<bool>, AgentError> {
        let schema = json!({"type": "object", "properties": {"winner": {"type": "string", "enum": ["A", "B"]},
            "reason": {"type": "string"}}, "required": ["winner", "reason"], "additionalProperties": false});
        let (_, v) = self.ask(prompts::pairwise(task, &a.content, &b.content), "pairwise", schema).await?;
        Ok(match v.get("winner").and_then(Value::as_str) {
            Some("A") => Some(true),
            Some("B") => Some(false),
            _ => None,
        })
    }
}

fn strip_fences(s: &str) -> &str {
    let t = s.trim();
    let t = t.strip_prefix("```json").or_else(|| t.strip_prefix("```")).unwrap_or(t);
    t.strip_suffix("```").unwrap_or(t).trim()
}

/// Parse `{"score": 0-10, "passed": bool, "reason": str}` strictly.
pub(crate) fn parse_grade(v: &Value) -> Result<(f64, bool, String), String> {
    let obj = v.as_object().ok_or("reply is not a JSON object")?;
    let score = obj.get("score").and_then(Value::as_f64).ok_or("`score` is missing or not a number")?;
    if !(0.0..=10.0).contains(&score) {
        return Err(format!("`score` {score} is outside 0-10"));
    }
    let passed = obj.get("passed").and_then(Value::as_bool).ok_or("`passed` is missing or not a boolean")?;
    let reason = obj.get("reason").and_then(Value::as_str).ok_or("`reason` is missing or not a string")?;
    Ok((score / 10.0, passed, reason.to_owned()))
}

#[async_trait]
impl Scorer for JudgeScorer {
    fn name(&self) -> &str {
        "judge"
    }

    async fn check(&self, proposal: &Proposal, task: &Task) -> Result<Check, AgentError> {
        // An enum of integers, because grammar-constrained servers (llama.cpp) enforce enums but
        // not numeric bounds.
        let schema = json!({"type": "object", "properties": {
            "score": {"type": "integer", "enum": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]},
            "passed": {"type": "boolean"},
            "reason": {"type": "string"}}, "required": ["score", "passed", "reason"], "additionalProperties": false});
        let (raw, v) = self.ask(prompts::judge(task, &proposal.content), "grade", schema).await?;
        let mut details = CheckDetails::default();
        details.extra.insert("model".into(), self.model.clone());
        match parse_grade(&v) {
            Ok((score, said_passed, reason)) => {
                let passed = said_passed && score >= self.pass_threshold;
                details.extra.insert("grade".into(), format!("{:.1}/10", score * 10.0));
                Ok(Check::new("judge", CheckCategory::Other, passed, score, reason).with_details(details))
            }
            Err(why) => {
                details.output = Some(raw.chars().take(500).collect());
                Ok(Check::new("judge", CheckCategory::Other, false, 0.0, format!("judge reply did not parse: {why}"))
                    .with_details(details))
            }
        }
    }
}
