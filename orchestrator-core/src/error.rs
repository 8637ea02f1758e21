//! The one error type of the core, with a stable [`ErrorKind`] that the bindings map exactly once
//! (to gRPC status codes in `orchestrator-grpc`, to Python exceptions in `orchestrator-py`).

use std::sync::Arc;
use std::time::Duration;

use crate::failure::AgentFailure;

/// Stable classification of an [`Error`], used by bindings to map errors in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The caller supplied a bad value; the message names the field and the limit.
    InvalidInput,
    /// The role is known but no agents are registered for it.
    NoAgents,
    /// A council, agent or task id does not exist.
    NotFound,
    /// The thing being created already exists.
    AlreadyExists,
    /// Too few proposals survived agent failures.
    QuorumNotReached,
    /// The deliberation deadline passed before it finished.
    DeadlineExceeded,
    /// The caller cancelled the work.
    Cancelled,
    /// Too much work in flight; try again later.
    ResourceExhausted,
    /// The configuration does not allow what was asked (remote agents, test agents, admin RPCs).
    PermissionDenied,
    /// A backend (LLM endpoint, store, queue) could not be reached or its circuit is open.
    Unavailable,
    /// A backend answered, but with an error or a reply that is not usable.
    Backend,
    /// The durable store failed.
    Storage,
    /// A bug: an invariant of the engine did not hold.
    Internal,
}

impl ErrorKind {
    /// Stable snake_case name of this kind (for logs, metrics and Python).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NoAgents => "no_agents",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::QuorumNotReached => "quorum_not_reached",
            ErrorKind::DeadlineExceeded => "deadline_exceeded",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::ResourceExhausted => "resource_exhausted",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Backend => "backend",
            ErrorKind::Storage => "storage",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Every error the core returns.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A field of the request or builder has a bad value. `field` is the dotted field name
    /// (`task_description`, `constraints.requirements`, `rounds`, ...).
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The offending field.
        field: String,
        /// What is wrong with it, including the limit where there is one.
        message: String,
    },

    /// The role is not one of the configured roles.
    #[error("unknown role {role:?}; valid roles are: {}", valid.join(", "))]
    UnknownRole {
        /// The role that was asked for.
        role: String,
        /// The roles this registry knows.
        valid: Vec<String>,
    },

    /// The role is valid but has no agents registered. The message is part of the public contract.
    #[error("No agents configured for role: {role}. Agents must be registered before deliberation can occur.")]
    NoAgents {
        /// The role with no agents.
        role: String,
    },

    /// A council, agent or task does not exist.
    #[error("{what} not found: {id}")]
    NotFound {
        /// What kind of thing (`council`, `agent`, `task`).
        what: &'static str,
        /// The id that was looked up.
        id: String,
    },

    /// A council or agent with this id already exists.
    #[error("{what} already exists: {id}")]
    AlreadyExists {
        /// What kind of thing (`council`, `agent`, `task`).
        what: &'static str,
        /// The id that is taken.
        id: String,
    },

    /// Fewer than `quorum` proposals survived; every agent failure is listed.
    #[error(
        "quorum not reached: {surviving} of {quorum} required proposals survived; failures: {}",
        crate::failure::describe(failures)
    )]
    QuorumNotReached {
        /// Minimum number of proposals required.
        quorum: usize,
        /// Proposals that survived.
        surviving: usize,
        /// Every agent failure, in the order they happened.
        failures: Vec<AgentFailure>,
    },

    /// The whole-deliberation deadline passed; in-flight calls were cancelled.
    #[error("deliberation deadline of {deadline:?} exceeded")]
    DeadlineExceeded {
        /// The deadline that was set.
        deadline: Duration,
        /// Agent failures recorded before the deadline.
        failures: Vec<AgentFailure>,
    },

    /// The work was cancelled by the caller.
    #[error("cancelled: {reason}")]
    Cancelled {
        /// Who or what cancelled.
        reason: String,
    },

    /// Too much work in flight (load shedding or queue full).
    #[error("resource exhausted: {message}")]
    ResourceExhausted {
        /// What limit was hit.
        message: String,
    },

    /// The configuration does not allow this request.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// What is not allowed, and which setting allows it.
        message: String,
    },

    /// A backend could not be reached, or its circuit breaker is open.
    #[error("unavailable: {message}")]
    Unavailable {
        /// Which backend, and why (never contains credentials).
        message: String,
    },

    /// A backend answered with an error or an unusable reply.
    #[error("backend error: {message}")]
    Backend {
        /// Endpoint, status and reason (never contains credentials).
        message: String,
    },

    /// The durable store failed.
    #[error("storage error: {message}")]
    Storage {
        /// What failed.
        message: String,
    },

    /// An invariant of the engine did not hold; this is a bug.
    #[error("internal error: {message}")]
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } | Error::UnknownRole { .. } => ErrorKind::InvalidInput,
            Error::NoAgents { .. } => ErrorKind::NoAgents,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::QuorumNotReached { failures, .. } => {
                if !failures.is_empty() && failures.iter().all(|f| f.error_kind == ErrorKind::Unavailable) {
                    ErrorKind::Unavailable
                } else {
                    ErrorKind::QuorumNotReached
                }
            }
            Error::DeadlineExceeded { .. } => ErrorKind::DeadlineExceeded,
            Error::Cancelled { .. } => ErrorKind::Cancelled,
            Error::ResourceExhausted { .. } => ErrorKind::ResourceExhausted,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Backend { .. } => ErrorKind::Backend,
            Error::Storage { .. } => ErrorKind::Storage,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput { field: field.into(), message: message.into() }
    }

    /// Agent failures carried by this error (quorum and deadline errors), empty otherwise.
    pub fn failures(&self) -> &[AgentFailure] {
        match self {
            Error::QuorumNotReached { failures, .. } | Error::DeadlineExceeded { failures, .. } => failures,
            _ => &[],
        }
    }
}

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

/// Result alias for the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
