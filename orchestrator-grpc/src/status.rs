//! The one mapping from core error kinds to gRPC status codes.

use orchestrator_core::{Error, ErrorKind};
use tonic::{Code, Status};

/// The status code for an error kind.
pub fn code(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::InvalidInput => Code::InvalidArgument,
        ErrorKind::NoAgents => Code::Unimplemented,
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::AlreadyExists => Code::AlreadyExists,
        ErrorKind::QuorumNotReached => Code::Aborted,
        ErrorKind::DeadlineExceeded => Code::DeadlineExceeded,
        ErrorKind::Cancelled => Code::Cancelled,
        ErrorKind::ResourceExhausted => Code::ResourceExhausted,
        ErrorKind::Unavailable | ErrorKind::Backend | ErrorKind::Storage => Code::Unavailable,
        ErrorKind::Internal => Code::Internal,
    }
}

/// A core error as a gRPC status; the message is the error's display text (never a secret).
pub fn to_status(err: Error) -> Status {
    let c = code(err.kind());
    if c == Code::Internal {
        tracing::error!(error = %err, "internal error");
    }
    Status::new(c, err.to_string())
}
