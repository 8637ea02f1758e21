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
    /// The backend answered with an error status (`status`) or an unusable body (`status` is
    /// the HTTP status it came with, or `None` when there was no HTTP status to blame).
    #[error("{message}")]
    Backend {
        /// The HTTP status of the reply, when the backend speaks HTTP.
        status: Option<u16>,
        /// What went wrong, redacted.
        message: String,
    },
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
            AgentError::Backend { status, .. } if status.is_some_and(overloaded_or_failing) => ErrorKind::Unavailable,
            AgentError::Backend { .. } => ErrorKind::Backend,
            AgentError::Timeout(_) => ErrorKind::DeadlineExceeded,
            AgentError::Failed(_) | AgentError::Foreign { .. } => ErrorKind::Backend,
        }
    }

    /// An error reply with HTTP status `status`.
    pub fn http(status: u16, message: impl Into<String>) -> Self {
        AgentError::Backend { status: Some(status), message: message.into() }
    }

    /// The HTTP status this error came with, if any.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            AgentError::Backend { status, .. } => *status,
            _ => None,
        }
    }

    /// Whether the endpoint is at fault (a circuit breaker counts it): unreachable, too slow, or
    /// answering 429 or 5xx. Any other error status or an unusable body is the request's problem.
    pub fn is_endpoint_fault(&self) -> bool {
        match self {
            AgentError::Unavailable(_) | AgentError::Timeout(_) => true,
            AgentError::Backend { status, .. } => status.is_some_and(overloaded_or_failing),
            AgentError::Failed(_) | AgentError::Foreign { .. } => false,
        }
    }

    /// Wrap a foreign error so that it can be recovered by downcasting [`AgentError::Foreign`].
    pub fn foreign<E: std::error::Error + Send + Sync + 'static>(err: E) -> Self {
        AgentError::Foreign { message: err.to_string(), source: Arc::new(err) }
    }
}

/// 429 (overloaded) or 5xx (failing).
fn overloaded_or_failing(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_status_decides_fault_and_kind() {
        for (status, fault, kind) in [
            (429, true, ErrorKind::Unavailable),
            (500, true, ErrorKind::Unavailable),
            (503, true, ErrorKind::Unavailable),
            (400, false, ErrorKind::Backend),
            (401, false, ErrorKind::Backend),
            (404, false, ErrorKind::Backend),
            (200, false, ErrorKind::Backend), // a 200 with an unusable body
        ] {
            let e = AgentError::http(status, "x");
            assert_eq!(e.is_endpoint_fault(), fault, "{status}");
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.http_status(), Some(status));
        }
        // A message that merely looks like a status decides nothing.
        let e = AgentError::Backend { status: None, message: "http://x answered 503: busy".into() };
        assert!(!e.is_endpoint_fault());
        assert!(AgentError::Timeout(Duration::from_secs(1)).is_endpoint_fault());
    }
}
