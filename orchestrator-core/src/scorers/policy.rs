//! Policy scorer: deny patterns such as hard-coded secrets, private keys and credentials in URLs.

use async_trait::async_trait;
use regex::Regex;

use crate::check::{Check, CheckCategory, CheckDetails, Scorer};
use crate::error::{AgentError, Error};
use crate::proposal::Proposal;
use crate::task::Task;

/// A named deny pattern.
#[derive(Debug, Clone)]
pub struct PolicyRule {
    /// Short name reported as the violation (`hardcoded-secret`).
    pub name: String,
    /// The regular expression.
    pub pattern: String,
}

impl PolicyRule {
    /// A rule from a name and a pattern.
    pub fn new(name: impl Into<String>, pattern: impl Into<String>) -> Self {
        PolicyRule { name: name.into(), pattern: pattern.into() }
    }
}

/// The default deny rules.
pub fn default_rules() -> Vec<PolicyRule> {
    vec![
        PolicyRule::new(
            "hardcoded-secret",
            r#"(?i)\b(api[_-]?key|secret([_-]?key)?|access[_-]?token|auth[_-]?token|client[_-]?secret)\b\s*[:=]\s*["'][^"'\s]{6,}["']"#,
        ),
        PolicyRule::new("hardcoded-password", r#"(?i)\b(password|passwd|pwd)\b\s*[:=]\s*["'][^"']{3,}["']"#),
        PolicyRule::new("private-key", r"-----BEGIN ((RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY( BLOCK)?-----"),
        PolicyRule::new("credentials-in-url", r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@[^\s/]+"),
        PolicyRule::new("aws-access-key-id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
        PolicyRule::new("github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
        PolicyRule::new("slack-token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    ]
}

/// Checks a proposal against deny patterns; each match is a violation. Passes only with none.
#[derive(Debug, Clone)]
pub struct PolicyScorer {
    rules: Vec<PolicyRule>,
    /// All rules as one alternation: a single fast pass answers "any violation?", which is the
    /// common case (measured 5x faster than a RegexSet on 700-byte proposals).
    any: Regex,
    regexes: Vec<Regex>,
}

impl PolicyScorer {
    /// The default rules.
    pub fn new() -> Self {
        Self::with_rules(default_rules()).expect("default policy rules compile")
    }

    /// Custom rules; an invalid pattern is an error naming the rule.
    pub fn with_rules(rules: Vec<PolicyRule>) -> Result<Self, Error> {
        let mut regexes = Vec::with_capacity(rules.len());
        for r in &rules {
            regexes.push(
                Regex::new(&r.pattern)
                    .map_err(|e| Error::invalid(format!("policy.rules.{}", r.name), format!("bad pattern: {e}")))?,
            );
        }
        let alternation = if rules.is_empty() {
            // Matches nothing.
            r"[^\s\S]".to_owned()
        } else {
            rules.iter().map(|r| format!("(?:{})", r.pattern)).collect::<Vec<_>>().join("|")
        };
        let any = Regex::new(&alternation).map_err(|e| Error::invalid("policy.rules", format!("bad pattern: {e}")))?;
        Ok(PolicyScorer { rules, any, regexes })
    }

    /// Violations found in `content`: `rule-name (line N)` for each match. Matched text is never
    /// reported, since it may be a secret.
    pub fn violations(&self, content: &str) -> Vec<String> {
        if !self.any.is_match(content) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, re) in self.regexes.iter().enumerate() {
            for m in re.find_iter(content) {
                let line = content[..m.start()].bytes().filter(|&b| b == b'\n').count() + 1;
                out.push(format!("{} (line {line})", self.rules[i].name));
            }
        }
        out
    }
}

impl Default for PolicyScorer {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Scorer for PolicyScorer {
    fn name(&self) -> &str {
        "policy"
    }

    async fn check(&self, proposal: &Proposal, _task: &Task) -> Result<Check, AgentError> {
        let violations = self.violations(&proposal.content);
        let passed = violations.is_empty();
        let message = if passed {
            format!("no policy violations ({} rules)", self.rules.len())
        } else {
            format!("{} policy violation(s)", violations.len())
        };
        Ok(Check::new("policy", CheckCategory::Policy, passed, if passed { 1.0 } else { 0.0 }, message)
            .with_details(CheckDetails { violations, ..Default::default() }))
    }
}
