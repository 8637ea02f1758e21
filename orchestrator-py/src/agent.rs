//! Python agents and scorers called from the core: each call becomes an asyncio task on the
//! caller's loop (`async def`) or runs in the loop's thread pool (`def`), so a slow agent never
//! blocks the loop or the others. An exception is kept whole for re-raising.

use std::sync::Mutex;

use async_trait::async_trait;
use orchestrator_core::{Agent, AgentError, AgentReply, Constraints, Critique, Proposal, Task, TokenUsage};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use tokio::sync::oneshot;

use crate::driver::current_loop;
use crate::errors::agent_error;

/// Done-callback that hands the asyncio future's result (or exception) to the Rust side.
#[pyclass(frozen)]
struct Notify {
    tx: Mutex<Option<oneshot::Sender<PyResult<Py<PyAny>>>>>,
}

#[pymethods]
impl Notify {
    fn __call__(&self, future: &Bound<'_, PyAny>) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(future.call_method0("result").map(Bound::unbind));
        }
    }
}

/// Cancels the asyncio future if the Rust call is dropped before it finished (deadline,
/// cancellation, quorum already lost).
struct CancelOnDrop(Option<Py<PyAny>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            Python::attach(|py| {
                let _ = f.call_method0(py, "cancel");
            });
        }
    }
}

/// Call `func(*args, **kwargs)` the way its kind requires and wait for the result without
/// blocking: a coroutine function becomes a task of the caller's loop; a plain function runs in
/// the loop's default executor (then `kwargs` must be `None`).
pub(crate) async fn call_python(
    func: &Py<PyAny>,
    is_async: bool,
    kwargs: Option<&Py<PyDict>>,
    args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
) -> PyResult<Py<PyAny>> {
    let (rx, future) = Python::attach(|py| -> PyResult<_> {
        let ctx = current_loop().ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("Python agents can only be called inside Deliberation.run()")
        })?;
        let event_loop = ctx.event_loop.bind(py);
        let args = args(py)?;
        let future = if is_async {
            let coro = func.bind(py).call(args, kwargs.map(|k| k.bind(py)))?;
            event_loop.call_method1("create_task", (coro,))?
        } else {
            let mut all = vec![py.None().into_bound(py), func.bind(py).clone()];
            all.extend(args.iter());
            event_loop.call_method1("run_in_executor", PyTuple::new(py, all)?)?
        };
        let (tx, rx) = oneshot::channel();
        future.call_method1("add_done_callback", (Notify { tx: Mutex::new(Some(tx)) },))?;
        Ok((rx, future.unbind()))
    })?;
    let mut guard = CancelOnDrop(Some(future));
    let out = rx.await;
    guard.0 = None;
    out.unwrap_or_else(|_| Err(pyo3::exceptions::PyRuntimeError::new_err("the event loop dropped an agent call")))
}

/// One method of a Python agent: the user's function (called directly when it is a coroutine
/// function) or the adapter's wrapper (plain functions, run in the executor), and how to pass
/// arguments to it.
struct Method {
    name: &'static str,
    call: Py<PyAny>,
    is_async: bool,
    /// Shape of the arguments (see `orchestrator._adapt.AgentAdapter`).
    mode: String,
    kwargs: Option<Py<PyDict>>,
}

impl Method {
    fn new(adapter: &Bound<'_, PyAny>, name: &'static str) -> PyResult<Self> {
        let is_async: bool = adapter.getattr(format!("{name}_is_async"))?.extract()?;
        let (call, kwargs) = if is_async {
            let kw = adapter.getattr(format!("{name}_kwargs"))?;
            (
                adapter.getattr(format!("{name}_raw"))?,
                if kw.is_none() { None } else { Some(kw.cast_into::<PyDict>()?.unbind()) },
            )
        } else {
            (adapter.getattr(name)?, None)
        };
        Ok(Method {
            name,
            call: call.unbind(),
            is_async,
            mode: adapter.getattr(format!("{name}_mode"))?.extract()?,
            kwargs,
        })
    }
}

/// A Python agent, through the adapter built by `orchestrator._adapt`.
pub(crate) struct PyAgent {
    id: String,
    role: String,
    generate: Method,
    critique: Method,
    revise: Method,
    /// Keeps the adapter (and the user's agent) alive as long as the core holds this agent.
    _adapter: Py<PyAny>,
}

impl PyAgent {
    pub(crate) fn new(adapter: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyAgent {
            id: adapter.getattr("agent_id")?.extract()?,
            role: adapter.getattr("role")?.extract()?,
            generate: Method::new(adapter, "generate")?,
            critique: Method::new(adapter, "critique")?,
            revise: Method::new(adapter, "revise")?,
            _adapter: adapter.clone().unbind(),
        })
    }

    async fn call(
        &self,
        m: &Method,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
    ) -> Result<AgentReply, AgentError> {
        let out = call_python(&m.call, m.is_async, m.kwargs.as_ref(), args).await;
        Python::attach(|py| reply(py, out?.bind(py), &self.id, m.name)).map_err(agent_error)
    }
}

pub(crate) fn constraints_dict<'py>(py: Python<'py>, c: &Constraints) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("rubric", &c.rubric)?;
    d.set_item("requirements", PyList::new(py, &c.requirements)?)?;
    d.set_item("metadata", c.metadata.clone())?;
    d.set_item("max_iterations", c.max_iterations)?;
    d.set_item("timeout_seconds", c.timeout_seconds)?;
    Ok(d)
}

/// A reply: `str`, `{"content": str, "usage": {...}}`, or the sync wrapper's `(text, usage)`.
fn reply(py: Python<'_>, v: &Bound<'_, PyAny>, agent: &str, method: &str) -> PyResult<AgentReply> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(AgentReply::text(s.to_str()?.to_owned()));
    }
    if let Ok((text, usage)) = v.extract::<(String, Option<(u64, u64)>)>() {
        return Ok(AgentReply {
            text,
            usage: usage.map(|(p, c)| TokenUsage { prompt_tokens: p, completion_tokens: c }),
        });
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let content = d.get_item("content")?.ok_or_else(|| {
            PyTypeError::new_err(format!("{method}() of agent {agent:?} returned a dict without a 'content' key"))
        })?;
        let text: String = content
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{method}() of agent {agent:?} returned a non-str 'content'")))?;
        let usage = match d.get_item("usage")? {
            Some(u) if u.is_instance_of::<PyDict>() => {
                let get = |k: &str| -> PyResult<u64> {
                    Ok(u.get_item(k).ok().map(|x| x.extract()).transpose()?.unwrap_or(0))
                };
                Some(TokenUsage { prompt_tokens: get("prompt_tokens")?, completion_tokens: get("completion_tokens")? })
            }
            _ => None,
        };
        return Ok(AgentReply { text, usage });
    }
    let _ = py;
    Err(PyTypeError::new_err(format!(
        "{method}() of agent {agent:?} returned {}; expected str or dict with 'content'",
        v.get_type().name()?
    )))
}

#[async_trait]
impl Agent for PyAgent {
    fn id(&self) -> &str {
        &self.id
    }

    fn role(&self) -> &str {
        &self.role
    }

    async fn generate(&self, task: &Task) -> Result<AgentReply, AgentError> {
        let with_constraints = self.generate.mode != "task";
        self.call(&self.generate, |py| {
            let desc = task.description.as_str().into_pyobject(py)?.into_any();
            if with_constraints {
                PyTuple::new(py, [desc, constraints_dict(py, &task.constraints)?.into_any()])
            } else {
                PyTuple::new(py, [desc])
            }
        })
        .await
    }

    async fn critique(&self, task: &Task, peer: &Proposal) -> Result<AgentReply, AgentError> {
        let with_rubric = self.critique.mode != "proposal";
        self.call(&self.critique, |py| {
            if with_rubric {
                PyTuple::new(py, [peer.content.as_str(), task.constraints.rubric.as_str()])
            } else {
                PyTuple::new(py, [peer.content.as_str()])
            }
        })
        .await
    }

    async fn revise(&self, _task: &Task, own: &Proposal, critiques: &[Critique]) -> Result<AgentReply, AgentError> {
        let as_list = self.revise.mode == "list";
        self.call(&self.revise, |py| {
            let feedback = if as_list {
                PyList::new(py, critiques.iter().map(|c| c.text.as_str()))?.into_any()
            } else {
                critiques.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join("\n\n").into_pyobject(py)?.into_any()
            };
            PyTuple::new(py, [own.content.as_str().into_pyobject(py)?.into_any(), feedback])
        })
        .await
    }
}
