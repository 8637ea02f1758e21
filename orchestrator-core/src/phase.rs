//! The phases of a deliberation.

use serde::{Deserialize, Serialize};

/// A phase of the deliberation protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Every agent writes a proposal.
    Generate,
    /// Agents review peers' proposals.
    Critique,
    /// Authors revise their own proposals from the critiques they received.
    Revise,
    /// Scorers check the final proposals.
    Score,
    /// The architect picks the winner (Orchestrate).
    Select,
}

impl Phase {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Generate => "generate",
            Phase::Critique => "critique",
            Phase::Revise => "revise",
            Phase::Score => "score",
            Phase::Select => "select",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A phase name that is not one of the phases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPhase(pub String);

impl std::fmt::Display for UnknownPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not one of: generate, critique, revise, score, select", self.0)
    }
}

impl std::error::Error for UnknownPhase {}

impl std::str::FromStr for Phase {
    type Err = UnknownPhase;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "generate" => Phase::Generate,
            "critique" => Phase::Critique,
            "revise" => Phase::Revise,
            "score" => Phase::Score,
            "select" => Phase::Select,
            other => return Err(UnknownPhase(other.to_owned())),
        })
    }
}
