//! Drives a core future from the caller's asyncio event loop.
//!
//! The future is polled on the loop's thread (so Python agents are called there and their
//! coroutines become asyncio tasks of that loop), inside the tokio runtime's context (so timers,
//! sockets and processes of the core work). Its waker schedules the next poll with
//! `loop.call_soon` (or `call_soon_threadsafe` from other threads). Nothing blocks the loop.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;

use orchestrator_core::Error;
use pyo3::prelude::*;

use crate::errors::to_py;

/// What a driven future produces: a JSON document for the Python side to decode.
pub(crate) type Job = Pin<Box<dyn Future<Output = Result<String, Error>> + Send>>;

/// The runtime whose timer, I/O and process drivers serve every driven future.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("orchestrator-io")
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// The event loop of the poll in progress on this thread.
#[derive(Clone)]
pub(crate) struct LoopCtx {
    pub(crate) event_loop: Arc<Py<PyAny>>,
}

thread_local! {
    static CURRENT: RefCell<Option<LoopCtx>> = const { RefCell::new(None) };
}

/// The loop of the current poll; Python agents may only be called while a driver polls.
pub(crate) fn current_loop() -> Option<LoopCtx> {
    CURRENT.with(|c| c.borrow().clone())
}

struct WakeHandle {
    scheduled: AtomicBool,
    event_loop: Arc<Py<PyAny>>,
    poll: Py<PyAny>,
    loop_thread: ThreadId,
}

impl Wake for WakeHandle {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        Python::attach(|py| {
            if std::thread::current().id() == self.loop_thread {
                if current_loop().is_none() {
                    // On the loop's thread and not inside a poll (an agent task's done-callback):
                    // poll now rather than one loop iteration later.
                    if let Err(e) = self.poll.call0(py) {
                        e.write_unraisable(py, None);
                    }
                } else {
                    let _ = self.event_loop.call_method1(py, "call_soon", (self.poll.clone_ref(py),));
                }
            } else {
                // A closed loop means the caller is gone; nothing is left to wake.
                let _ = self.event_loop.call_method1(py, "call_soon_threadsafe", (self.poll.clone_ref(py),));
            }
        });
    }
}

/// A core future bound to an asyncio future. Created by `prepare()`; driven by `start()`.
#[pyclass(module = "orchestrator._native", frozen)]
pub struct Driver {
    job: Mutex<Option<Job>>,
    state: Mutex<Option<(Arc<WakeHandle>, Py<PyAny>)>>,
}

/// Forwards the deliberation's events, as JSON, to a Python callable (called while the driver
/// polls, on the loop's thread).
pub(crate) fn python_events(cb: Py<PyAny>) -> orchestrator_core::SharedEventSink {
    Arc::new(move |e: orchestrator_core::Event| {
        Python::attach(|py| {
            if let Ok(json) = serde_json::to_string(&e) {
                let _ = cb.call1(py, (json,));
            }
        })
    })
}

impl Driver {
    /// A driver that runs `d` and hands its outcome to Python as JSON.
    pub(crate) fn deliberation(d: orchestrator_core::Deliberation) -> Self {
        Driver::new(Box::pin(async move {
            let out = d.run().await?;
            serde_json::to_string(&out).map_err(|e| Error::Internal { message: format!("encode outcome: {e}") })
        }))
    }

    pub(crate) fn new(job: Job) -> Self {
        Driver { job: Mutex::new(Some(job)), state: Mutex::new(None) }
    }
}

#[pymethods]
impl Driver {
    /// Bind to `event_loop` and the asyncio future `result` (its result: the outcome as JSON),
    /// and poll for the first time. Call on the loop's thread.
    fn start(slf: &Bound<'_, Self>, event_loop: Py<PyAny>, result: Py<PyAny>) -> PyResult<()> {
        let py = slf.py();
        let poll = slf.getattr("poll")?.unbind();
        let handle = Arc::new(WakeHandle {
            scheduled: AtomicBool::new(false),
            event_loop: Arc::new(event_loop),
            poll,
            loop_thread: std::thread::current().id(),
        });
        *slf.get().state.lock().unwrap_or_else(|p| p.into_inner()) = Some((handle, result.clone_ref(py)));
        Self::poll(slf)
    }

    /// Poll the future once (scheduled by its waker).
    fn poll(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let (handle, result) = match this.state.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some((h, r)) => (h.clone(), r.clone_ref(py)),
            None => return Ok(()),
        };
        handle.scheduled.store(false, Ordering::Release);
        let mut job = this.job.lock().unwrap_or_else(|p| p.into_inner());
        let Some(fut) = job.as_mut() else { return Ok(()) };
        let waker = Waker::from(handle.clone());
        let _rt = runtime().enter();
        CURRENT.with(|c| *c.borrow_mut() = Some(LoopCtx { event_loop: handle.event_loop.clone() }));
        let polled = fut.as_mut().poll(&mut Context::from_waker(&waker));
        CURRENT.with(|c| *c.borrow_mut() = None);
        let Poll::Ready(out) = polled else { return Ok(()) };
        *job = None;
        drop(job);
        // Break the Driver -> waker -> bound `poll` -> Driver cycle (invisible to Python's GC).
        *this.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if result.call_method0(py, "done")?.extract::<bool>(py)? {
            return Ok(());
        }
        match out {
            Ok(json) => result.call_method1(py, "set_result", (json,))?,
            Err(e) => result.call_method1(py, "set_exception", (to_py(py, e).into_value(py),))?,
        };
        Ok(())
    }

    /// Drop the future: every in-flight call is cancelled (Python agent tasks too).
    fn cancel(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let job = self.job.lock().unwrap_or_else(|p| p.into_inner()).take();
        let _rt = runtime().enter();
        drop(job);
    }
}
