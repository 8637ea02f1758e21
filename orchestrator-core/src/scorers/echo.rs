//! Echo check: a proposal that is mostly text copied from the task, rubric, requirements or the
//! agents' own prompt fails.
//!
//! What counts is what the proposal *adds*, not what it quotes:
//! 1. lines that appear verbatim in the prompt text (ignoring case and white space) are quotes
//!    and are dropped, so restating a signature and docstring costs nothing;
//! 2. in what remains, every token covered by a run of [`NGRAM`] tokens that also occurs in the
//!    prompt text counts as copied.
//!
//! The proposal is an echo when it adds fewer than [`MIN_ADDED_TOKENS`] tokens, or when at least
//! [`MAX_COPIED_FRACTION`] of the remaining tokens are copied. Tokens are words and single
//! punctuation characters, so `return len(s)` is five tokens. Measured on HumanEval: every
//! canonical solution written as prompt + body passes; the local model's echoes of our prompt
//! fail (see `docs/QUALITY.md`).

use std::collections::HashSet;

use async_trait::async_trait;

use crate::check::{Check, CheckCategory, CheckDetails, Scorer};
use crate::error::AgentError;
use crate::proposal::Proposal;
use crate::task::Task;

/// Length of the shared token runs that count as copying.
pub const NGRAM: usize = 3;
/// Fewest tokens a proposal must add beyond its quotes.
pub const MIN_ADDED_TOKENS: usize = 2;
/// Share of added tokens that may be copied before the proposal is an echo.
pub const MAX_COPIED_FRACTION: f64 = 0.5;

/// Words that carry no content of their own: filler such as "Here is the code." adds nothing.
const FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "here",
    "is",
    "are",
    "was",
    "be",
    "this",
    "that",
    "these",
    "it",
    "its",
    "my",
    "our",
    "your",
    "i",
    "we",
    "you",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "as",
    "and",
    "or",
    "so",
    "sure",
    "ok",
    "okay",
    "yes",
    "below",
    "following",
    "above",
    "code",
    "solution",
    "answer",
    "proposal",
    "task",
    "please",
    "see",
    "will",
    "can",
];

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.extend(c.to_lowercase());
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn norm_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The prompt text a proposal could echo: what the agents are shown for this task.
pub(crate) fn prompt_sources(task: &Task) -> String {
    let mut s = crate::llm::prompts::generate(task);
    s.push('\n');
    s.push_str(&crate::llm::prompts::system("", &task.role));
    for t in &task.constraints.tests {
        s.push('\n');
        s.push_str(&t.code);
    }
    s
}

/// How much of `content` is copied from `sources`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Overlap {
    /// Tokens of the proposal in all.
    pub total: usize,
    /// Tokens on lines quoted verbatim.
    pub quoted: usize,
    /// Tokens beyond the quoted lines.
    pub added: usize,
    /// Of those, tokens inside shared runs.
    pub copied: usize,
    /// The added text with copied runs removed (what the proposal really says).
    pub novel: String,
    /// Content words in `novel` (filler words such as "here is the code" left out).
    pub fresh: usize,
}

impl Overlap {
    /// Copied share of the added tokens (1 when nothing was added).
    pub fn copied_fraction(&self) -> f64 {
        if self.added == 0 {
            1.0
        } else {
            self.copied as f64 / self.added as f64
        }
    }

    /// Whether this is an echo by the documented thresholds.
    pub fn is_echo(&self) -> bool {
        self.fresh < MIN_ADDED_TOKENS || self.copied_fraction() >= MAX_COPIED_FRACTION
    }
}

/// Measure `content` against `sources`.
pub(crate) fn overlap(content: &str, sources: &str) -> Overlap {
    let source_lines: HashSet<String> = sources.lines().map(norm_line).filter(|l| !tokens(l).is_empty()).collect();
    let src_tokens = tokens(sources);
    let grams: HashSet<&[String]> = src_tokens.windows(NGRAM).collect();
    let mut total = 0;
    let mut quoted = 0;
    let mut kept: Vec<String> = Vec::new();
    for line in content.lines() {
        let t = tokens(line);
        total += t.len();
        if !t.is_empty() && source_lines.contains(&norm_line(line)) {
            quoted += t.len();
        } else {
            kept.extend(t);
        }
    }
    let mut copied_mask = vec![false; kept.len()];
    for (i, w) in kept.windows(NGRAM).enumerate() {
        if grams.contains(w) {
            copied_mask[i..i + NGRAM].iter_mut().for_each(|m| *m = true);
        }
    }
    let copied = copied_mask.iter().filter(|m| **m).count();
    let novel: Vec<&str> = kept.iter().zip(&copied_mask).filter(|(_, c)| !**c).map(|(t, _)| t.as_str()).collect();
    let fresh = novel.iter().filter(|w| !FILLER.contains(w)).count();
    Overlap { total, quoted, added: kept.len(), copied, novel: novel.join(" "), fresh }
}

/// The echo check (in the service's and the binding's default scorers).
#[derive(Debug, Clone, Default)]
pub struct EchoScorer;

impl EchoScorer {
    /// The check.
    pub fn new() -> Self {
        EchoScorer
    }
}

#[async_trait]
impl Scorer for EchoScorer {
    fn name(&self) -> &str {
        "echo"
    }

    async fn check(&self, proposal: &Proposal, task: &Task) -> Result<Check, AgentError> {
        let o = overlap(&proposal.content, &prompt_sources(task));
        let echo = o.is_echo();
        let fresh = o.fresh;
        let message = if echo {
            format!("echo: adds {fresh} new tokens beyond {} quoted and {} copied from the prompt", o.quoted, o.copied)
        } else {
            format!("adds {fresh} new tokens ({:.0}% of what is not quoted)", 100.0 * (1.0 - o.copied_fraction()))
        };
        let mut details = CheckDetails::default();
        details.extra.insert("tokens".into(), o.total.to_string());
        details.extra.insert("quoted_tokens".into(), o.quoted.to_string());
        details.extra.insert("copied_tokens".into(), o.copied.to_string());
        details.extra.insert("new_tokens".into(), fresh.to_string());
        // Pass or fail only: a graded score would rank proposals by their wording.
        let score = if echo { 0.0 } else { 1.0 };
        Ok(Check::new("echo", CheckCategory::Other, !echo, score, message).with_details(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "Task:\nImplement user authentication\n\nRubric:\nSecure, maintainable code\nRequirements:\n- Unit tests\n- Error handling\n\nWrite your proposal for this task.";

    #[test]
    fn an_echo_of_the_prompt_fails() {
        let echo = "Task: Implement user authentication\nRubric: Secure, maintainable code\nRequirements:\n- Unit tests\n- Error handling\nWrite your proposal for this task.";
        assert!(overlap(echo, PROMPT).is_echo(), "{:?}", overlap(echo, PROMPT));
        assert!(overlap("Plan: Implement user authentication. Unit tests.", PROMPT).is_echo());
        assert!(overlap("", PROMPT).is_echo());
        let filler = format!("Here is the code.\n{PROMPT}");
        assert!(overlap(&filler, PROMPT).is_echo(), "filler adds nothing");
    }

    #[test]
    fn restating_a_signature_and_docstring_and_adding_a_body_is_not_an_echo() {
        let prompt = "def strlen(string: str) -> int:\n    \"\"\" Return length of given string\n    >>> strlen('')\n    0\n    \"\"\"\n";
        let proposal = format!("{prompt}    return len(string)\n");
        let o = overlap(&proposal, prompt);
        assert!(!o.is_echo(), "{o:?}");
        assert!(o.quoted > 0);
        let plan =
            "Use bcrypt for password hashes, lock accounts after five failures, and cover login with pytest cases.";
        assert!(!overlap(plan, PROMPT).is_echo());
    }
}
