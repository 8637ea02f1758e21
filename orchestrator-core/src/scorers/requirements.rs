//! Requirements scorer: which listed requirements a proposal addresses.

use async_trait::async_trait;

use crate::check::{Check, CheckCategory, CheckDetails, Scorer};
use crate::error::AgentError;
use crate::proposal::Proposal;
use crate::task::Task;

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "into", "must", "should", "shall", "will", "have", "has",
    "all", "any", "are", "its", "use", "using", "be", "to", "of", "in", "on", "a", "an", "or", "is", "by", "as",
];

/// Only the text a proposal adds is read: lines quoted verbatim from the prompt and runs copied
/// from it (see [`crate::scorers::EchoScorer`]) are left out, so echoing the requirements list
/// earns nothing. A requirement counts as addressed when that text contains it as a phrase
/// (ignoring case), or
/// contains at least `word_coverage` of its significant words (three letters or more, not
/// stopwords; a word matches its stem, so "tests" matches "test"). Score: fraction addressed;
/// passes when every requirement is addressed.
#[derive(Debug, Clone)]
pub struct RequirementsScorer {
    word_coverage: f64,
}

impl RequirementsScorer {
    /// Default: a requirement's significant words must all appear.
    pub fn new() -> Self {
        RequirementsScorer { word_coverage: 1.0 }
    }

    /// Fraction (0, 1] of a requirement's significant words that must appear.
    pub fn with_word_coverage(word_coverage: f64) -> Self {
        RequirementsScorer { word_coverage: word_coverage.clamp(0.01, 1.0) }
    }

    /// Whether `lowered_content` (already lowercased) addresses `requirement`.
    pub fn addresses(&self, lowered_content: &str, requirement: &str) -> bool {
        let req = requirement.trim().to_lowercase();
        if req.is_empty() || lowered_content.contains(&req) {
            return !req.is_empty();
        }
        let words: Vec<&str> =
            req.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 3 && !STOPWORDS.contains(w)).collect();
        if words.is_empty() {
            return false;
        }
        let found = words.iter().filter(|w| lowered_content.contains(stem(w))).count();
        found as f64 / words.len() as f64 >= self.word_coverage - 1e-9
    }
}

fn stem(word: &str) -> &str {
    for suffix in ["ing", "es", "ed", "s"] {
        if word.len() > suffix.len() + 3 {
            if let Some(s) = word.strip_suffix(suffix) {
                return s;
            }
        }
    }
    word
}

impl Default for RequirementsScorer {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Scorer for RequirementsScorer {
    fn name(&self) -> &str {
        "requirements"
    }

    async fn check(&self, proposal: &Proposal, task: &Task) -> Result<Check, AgentError> {
        let reqs = &task.constraints.requirements;
        if reqs.is_empty() {
            return Ok(Check::new("requirements", CheckCategory::Other, true, 1.0, "no requirements listed"));
        }
        // Only what the proposal adds counts: requirement words inside text copied from the
        // prompt (the task, rubric, requirements list) are not credited.
        let lowered = crate::scorers::overlap(&proposal.content, &crate::scorers::prompt_sources(task)).novel;
        let missing: Vec<String> = reqs.iter().filter(|r| !self.addresses(&lowered, r)).cloned().collect();
        let covered = reqs.len() - missing.len();
        let score = covered as f64 / reqs.len() as f64;
        let message = format!("{covered}/{} requirements addressed", reqs.len());
        Ok(Check::new("requirements", CheckCategory::Other, missing.is_empty(), score, message)
            .with_details(CheckDetails { violations: missing, ..Default::default() }))
    }
}
