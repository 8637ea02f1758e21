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
        ErrorKind::PermissionDenied => Code::PermissionDenied,
        ErrorKind::Unavailable | ErrorKind::Backend | ErrorKind::Storage => Code::Unavailable,
        ErrorKind::Internal => Code::Internal,
    }
}

/// Longest status message sent: it travels in an HTTP/2 header, and errors may quote input.
const MAX_MESSAGE: usize = 1024;

/// A core error as a gRPC status; the message is the error's display text (never a secret),
/// cut to [`MAX_MESSAGE`] bytes.
pub fn to_status(err: Error) -> Status {
    let c = code(err.kind());
    if c == Code::Internal {
        tracing::error!(error = %err, "internal error");
    }
    let mut msg = err.to_string();
    if msg.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
        msg.push('…');
    }
    Status::new(c, msg)
}

/// The handlers' error: a core error or a status, mapped to a gRPC status once, here (the
/// `AppError` of axum's error-handling example), so handlers use `?`.
#[derive(Debug)]
pub struct AppError(Status);

/// What a handler returns.
pub type AppResult<T> = Result<T, AppError>;

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError(to_status(e))
    }
}

impl From<Status> for AppError {
    fn from(s: Status) -> Self {
        AppError(s)
    }
}

impl From<AppError> for Status {
    fn from(e: AppError) -> Self {
        e.0
    }
}
