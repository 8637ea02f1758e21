//! [`ErrorKind`]: the stable classification every binding maps exactly once.

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
