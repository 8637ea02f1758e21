//! [`AgentKind`]: which built-in kind a configured or registered agent is.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The kinds of agent the factory builds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// An LLM agent on a configured endpoint (the default).
    #[default]
    #[serde(alias = "")]
    Llm,
    /// A built-in scripted test agent (no network), only behind the development switch.
    Scripted,
}

impl AgentKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Llm => "llm",
            AgentKind::Scripted => "scripted",
        }
    }

    /// Parse `value` of `field`; empty means [`AgentKind::Llm`].
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "llm" => Ok(AgentKind::Llm),
            "scripted" => Ok(AgentKind::Scripted),
            other => Err(Error::invalid(field, format!("{other:?} is not one of: llm, scripted"))),
        }
    }
}

impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
