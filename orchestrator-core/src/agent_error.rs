//! [`AgentError`]: what an agent or scorer call fails with.

use std::sync::Arc;
use std::time::Duration;

use crate::error_kind::ErrorKind;

/// An error raised by an agent or scorer call. Agents never answer with fallback text: they
/// return one of these and the engine records it as that agent's failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AgentError {
    /// The backend could not be reached, or its circuit breaker is open.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The backend answered with an error status or an unusable body.
    #[error("{0}")]
    Backend(String),
    /// The call took longer than its timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The agent reported a failure of its own.
    #[error("{0}")]
    Failed(String),
    /// An error from foreign code (for example a Python exception), kept whole so a binding can
    /// re-raise the original.
    #[error("{message}")]
    Foreign {
        /// Display text of the original error.
        message: String,
        /// The original error, for bindings to downcast.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}

impl AgentError {
    /// The error kind this agent error maps to when it ends a deliberation.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AgentError::Unavailable(_) => ErrorKind::Unavailable,
            AgentError::Backend(_) => ErrorKind::Backend,
            AgentError::Timeout(_) => ErrorKind::DeadlineExceeded,
            AgentError::Failed(_) | AgentError::Foreign { .. } => ErrorKind::Backend,
        }
    }

    /// Wrap a foreign error so that it can be recovered by downcasting [`AgentError::Foreign`].
    pub fn foreign<E: std::error::Error + Send + Sync + 'static>(err: E) -> Self {
        AgentError::Foreign { message: err.to_string(), source: Arc::new(err) }
    }
}
