//! Who critiques whom.

use serde::{Deserialize, Serialize};

/// Critique topology over the surviving agents, in council order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// Agent i reviews the proposal of agent (i+1) mod n: one critique per proposal.
    #[default]
    Ring,
    /// Every agent reviews every peer: n-1 critiques per proposal.
    AllToAll,
}

impl Topology {
    /// (reviewer, author) pairs over `n` agents (indices into the surviving list). No agent
    /// reviews itself, so one agent gives no pairs.
    pub fn pairs(self, n: usize) -> Vec<(usize, usize)> {
        if n < 2 {
            return Vec::new();
        }
        match self {
            Topology::Ring => (0..n).map(|i| (i, (i + 1) % n)).collect(),
            Topology::AllToAll => (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).collect(),
        }
    }
}

impl std::str::FromStr for Topology {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "ring" => Ok(Topology::Ring),
            "all_to_all" | "alltoall" => Ok(Topology::AllToAll),
            _ => Err(crate::Error::invalid("topology", format!("{s:?} is not one of: ring, all_to_all"))),
        }
    }
}
