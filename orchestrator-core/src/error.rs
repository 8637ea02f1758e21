//! The one error type of the core, with a stable [`ErrorKind`] that the bindings map exactly once
//! (to gRPC status codes in `orchestrator-grpc`, to Python exceptions in `orchestrator-py`).

use std::time::Duration;

pub use crate::agent_error::AgentError;
pub use crate::error_kind::ErrorKind;
use crate::failure::AgentFailure;

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

/// Result alias for the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
