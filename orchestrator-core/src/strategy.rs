//! [`Strategy`]: how a deliberation spends its calls. Every strategy uses the same scorers,
//! verification and tie-break rules; they differ in which calls they make and, for
//! self-consistency, in what ranks first.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How the council works on a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Generate, then review rounds of critiques and revisions, then verified selection.
    #[default]
    Deliberate,
    /// Every agent generates once; no critique; verified selection.
    BestOfN,
    /// One agent (drawn with the deliberation's seed, never by seat), one call.
    Single,
    /// Every agent generates once; the most common behaviour on the tests ranks first
    /// (self-consistency, Wang et al. 2022), then the usual selection.
    SelfConsistency,
}

impl Strategy {
    /// The name used in config, requests and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Deliberate => "deliberate",
            Strategy::BestOfN => "best_of_n",
            Strategy::Single => "single",
            Strategy::SelfConsistency => "self_consistency",
        }
    }

    /// Every strategy, in documentation order.
    pub const ALL: [Strategy; 4] =
        [Strategy::Deliberate, Strategy::BestOfN, Strategy::Single, Strategy::SelfConsistency];
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        if t.is_empty() {
            return Ok(Strategy::Deliberate);
        }
        Strategy::ALL.into_iter().find(|k| k.as_str() == t).ok_or_else(|| {
            Error::invalid("strategy", format!("{s:?} is not one of: deliberate, best_of_n, single, self_consistency"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_empty_is_deliberate() {
        for s in Strategy::ALL {
            assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
        }
        assert_eq!("".parse::<Strategy>().unwrap(), Strategy::Deliberate);
        assert_eq!("Best-Of-N".parse::<Strategy>().unwrap(), Strategy::BestOfN);
        assert!("debate".parse::<Strategy>().unwrap_err().to_string().contains("strategy"));
    }
}
