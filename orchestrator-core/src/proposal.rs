//! Proposals and the critiques they receive.

use serde::{Deserialize, Serialize};

/// A proposal by one agent, with the earlier texts it replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The agent that wrote it.
    pub author_id: String,
    /// The role of the council.
    pub author_role: String,
    /// Current text.
    pub content: String,
    /// When the first version was generated (Unix ms).
    pub created_at_ms: i64,
    /// Earlier texts, oldest first: one entry per revision.
    pub revisions: Vec<String>,
}

/// A critique of one proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Critique {
    /// Agent that wrote the critique.
    pub reviewer_id: String,
    /// Author of the proposal that was reviewed.
    pub author_id: String,
    /// Round (1-based).
    pub round: u32,
    /// The critique text.
    pub text: String,
}

/// Wall-clock time in Unix milliseconds (0 before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
