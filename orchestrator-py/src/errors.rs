//! The one mapping from core error kinds to Python exceptions.

use std::sync::Arc;
use std::time::Duration;

use orchestrator_core::{AgentError, Error, ErrorKind};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(_native, OrchestratorError, PyException, "Base class of every orchestrator error.");
pyo3::create_exception!(
    _native,
    InvalidInputError,
    OrchestratorError,
    "A bad value; the message names the field and the limit."
);
pyo3::create_exception!(_native, NoAgentsError, OrchestratorError, "The role has no agents registered.");
pyo3::create_exception!(_native, NotFoundError, OrchestratorError, "A council, agent or task does not exist.");
pyo3::create_exception!(_native, AlreadyExistsError, OrchestratorError, "The council or agent already exists.");
pyo3::create_exception!(
    _native,
    BackendError,
    OrchestratorError,
    "A backend (LLM endpoint, store) failed or could not be reached."
);
pyo3::create_exception!(_native, DeliberationTimeoutError, OrchestratorError, "The deliberation deadline passed.");
pyo3::create_exception!(
    _native,
    QuorumNotReachedError,
    OrchestratorError,
    "Too few proposals survived agent failures."
);
pyo3::create_exception!(
    _native,
    PermissionDeniedError,
    OrchestratorError,
    "The configuration does not allow this request."
);
pyo3::create_exception!(_native, DeliberationCancelledError, OrchestratorError, "The deliberation was cancelled.");

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("OrchestratorError", py.get_type::<OrchestratorError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("NoAgentsError", py.get_type::<NoAgentsError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("AlreadyExistsError", py.get_type::<AlreadyExistsError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    m.add("DeliberationTimeoutError", py.get_type::<DeliberationTimeoutError>())?;
    m.add("QuorumNotReachedError", py.get_type::<QuorumNotReachedError>())?;
    m.add("DeliberationCancelledError", py.get_type::<DeliberationCancelledError>())?;
    m.add("PermissionDeniedError", py.get_type::<PermissionDeniedError>())?;
    Ok(())
}

/// A Python exception carried through the core as an agent error, so it can be re-raised as is.
#[derive(Debug)]
pub(crate) struct PyAgentException(pub(crate) PyErr);

impl std::fmt::Display for PyAgentException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Python::attach(|py| {
            let e = self.0.value(py);
            let name = e.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
            match e.str() {
                Ok(s) => write!(f, "{name}: {s}"),
                Err(_) => write!(f, "{name}"),
            }
        })
    }
}

impl std::error::Error for PyAgentException {}

pub(crate) fn agent_error(err: PyErr) -> AgentError {
    let e = PyAgentException(err);
    AgentError::Foreign { message: e.to_string(), source: Arc::new(e) }
}

/// The original Python exception behind the first failure of `err`, if any.
fn original_exception(py: Python<'_>, err: &Error) -> Option<PyErr> {
    err.failures().iter().find_map(|f| {
        let src = f.source.as_ref()?;
        if let AgentError::Foreign { source, .. } = src.as_ref() {
            let any: &(dyn std::error::Error + Send + Sync) = source.as_ref();
            return any.downcast_ref::<PyAgentException>().map(|p| p.0.clone_ref(py));
        }
        None
    })
}

/// Map a core error to a Python exception. When a Python agent's exception ended the
/// deliberation, that exception is raised unchanged (type and traceback), with a note saying why.
pub(crate) fn to_py(py: Python<'_>, err: Error) -> PyErr {
    if let Some(original) = original_exception(py, &err) {
        let note = format!("orchestrator: {err}");
        let _ = original.value(py).call_method1("add_note", (note,));
        return original;
    }
    let msg = err.to_string();
    match err.kind() {
        ErrorKind::InvalidInput => InvalidInputError::new_err(msg),
        ErrorKind::NoAgents => NoAgentsError::new_err(msg),
        ErrorKind::NotFound => NotFoundError::new_err(msg),
        ErrorKind::AlreadyExists => AlreadyExistsError::new_err(msg),
        ErrorKind::QuorumNotReached => QuorumNotReachedError::new_err(msg),
        ErrorKind::DeadlineExceeded => DeliberationTimeoutError::new_err(msg),
        ErrorKind::Cancelled => DeliberationCancelledError::new_err(msg),
        ErrorKind::PermissionDenied => PermissionDeniedError::new_err(msg),
        ErrorKind::ResourceExhausted | ErrorKind::Unavailable | ErrorKind::Backend | ErrorKind::Storage => {
            BackendError::new_err(msg)
        }
        ErrorKind::Internal => OrchestratorError::new_err(msg),
    }
}

/// A positive, finite number of seconds, or an error naming `field`.
pub(crate) fn positive_seconds(py: Python<'_>, field: &str, s: f64) -> PyResult<Duration> {
    if s.is_finite() && s > 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(to_py(py, Error::invalid(field, format!("is {s}; it must be positive seconds"))))
    }
}
