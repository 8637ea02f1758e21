//! Python scorers called from the core.

use async_trait::async_trait;
use orchestrator_core::{AgentError, Check, Proposal, Scorer, Task};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::agent::{call_python, constraints_dict};
use crate::errors::agent_error;

/// A Python scorer through its adapter: `check(proposal: dict, task: dict) -> str` (a JSON check).
pub(crate) struct PyScorer {
    name: String,
    check: (Py<PyAny>, bool),
}

impl PyScorer {
    pub(crate) fn new(adapter: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyScorer {
            name: adapter.getattr("name")?.extract()?,
            check: (adapter.getattr("check")?.unbind(), adapter.getattr("check_is_async")?.extract()?),
        })
    }
}

#[async_trait]
impl Scorer for PyScorer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self, proposal: &Proposal, task: &Task) -> Result<Check, AgentError> {
        let (f, is_async) = &self.check;
        let out = call_python(f, *is_async, None, |py| {
            let p = PyDict::new(py);
            p.set_item("author_id", &proposal.author_id)?;
            p.set_item("author_role", &proposal.author_role)?;
            p.set_item("content", &proposal.content)?;
            p.set_item("revisions", proposal.revisions.clone())?;
            let t = PyDict::new(py);
            t.set_item("id", &task.id)?;
            t.set_item("description", &task.description)?;
            t.set_item("role", &task.role)?;
            t.set_item("constraints", constraints_dict(py, &task.constraints)?)?;
            PyTuple::new(py, [p, t])
        })
        .await
        .map_err(agent_error)?;
        let json: String = Python::attach(|py| out.extract(py)).map_err(agent_error)?;
        serde_json::from_str(&json)
            .map_err(|e| AgentError::Failed(format!("scorer {} returned an invalid check: {e}", self.name)))
    }
}
