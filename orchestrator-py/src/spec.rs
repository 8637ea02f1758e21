//! `prepare()`: build a core deliberation from Python values and bind it to a [`Driver`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use orchestrator_core::verify::TestSuite;
use orchestrator_core::{Agent, Budget, Constraints, Deliberation, Scorer, Strategy, Topology, WeightedScorer};
use pyo3::prelude::*;

use crate::agent::PyAgent;
use crate::driver::{python_events, Driver};
use crate::errors::{positive_seconds, to_py};
use crate::native::{NativeAgent, NativeScorer};
use crate::scorer::PyScorer;

fn seconds(py: Python<'_>, field: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    v.map(|s| positive_seconds(py, field, s)).transpose()
}

/// Everything `orchestrator.Deliberation` hands over, read by attribute from the
/// `orchestrator._types.DeliberationSpec` dataclass that mirrors it (the temporal-sdk pattern: one
/// typed config crosses the boundary instead of a long positional list).
#[derive(FromPyObject)]
pub struct DeliberationSpec<'py> {
    task: String,
    role: String,
    rubric: String,
    requirements: Vec<String>,
    metadata: BTreeMap<String, String>,
    max_iterations: u32,
    timeout_seconds: u32,
    /// `NativeAgent`s or adapters of Python agents.
    agents: Vec<Bound<'py, PyAny>>,
    /// `(NativeScorer | adapter, weight)` pairs.
    scorers: Vec<(Bound<'py, PyAny>, f64)>,
    rounds: u32,
    topology: String,
    call_timeout: Option<f64>,
    deadline: Option<f64>,
    quorum: Option<usize>,
    max_concurrency: Option<usize>,
    task_id: Option<String>,
    /// `(name, language, code, timeout_seconds)` of each test suite.
    tests: Vec<(String, String, String, u32)>,
    peer_tests: bool,
    seed: Option<u64>,
    strategy: String,
    max_calls: Option<u64>,
    max_tokens_total: Option<u64>,
}

/// Validate and build a deliberation from `spec`; returns a [`Driver`] for
/// `orchestrator.Deliberation` to await. `on_event(json)` receives progress events.
#[pyfunction]
#[pyo3(signature = (spec, on_event = None))]
pub fn prepare(py: Python<'_>, spec: DeliberationSpec<'_>, on_event: Option<Py<PyAny>>) -> PyResult<Driver> {
    let DeliberationSpec {
        task,
        role,
        rubric,
        requirements,
        metadata,
        max_iterations,
        timeout_seconds,
        agents,
        scorers,
        rounds,
        topology,
        call_timeout,
        deadline,
        quorum,
        max_concurrency,
        task_id,
        tests,
        peer_tests,
        seed,
        strategy,
        max_calls,
        max_tokens_total,
    } = spec;
    let strategy: Strategy = strategy.parse().map_err(|e| to_py(py, e))?;
    let tests: Vec<TestSuite> = tests
        .into_iter()
        .map(|(name, language, code, timeout_seconds)| TestSuite { name, language, code, timeout_seconds })
        .collect();
    let topology: Topology = topology.parse().map_err(|e| to_py(py, e))?;
    let mut b = Deliberation::builder()
        .task(task)
        .role(role)
        .constraints(Constraints { rubric, requirements, metadata, max_iterations, timeout_seconds, tests })
        .peer_tests(peer_tests)
        .rounds(rounds)
        .topology(topology)
        .strategy(strategy)
        .budget(Budget { max_calls, max_tokens_total });
    for a in &agents {
        let agent: Arc<dyn Agent> = match a.cast::<NativeAgent>() {
            Ok(n) => n.get().agent.clone(),
            Err(_) => Arc::new(PyAgent::new(a)?),
        };
        b = b.agent(agent);
    }
    for (s, weight) in &scorers {
        let scorer: Arc<dyn Scorer> = match s.cast::<NativeScorer>() {
            Ok(n) => n.get().scorer.clone(),
            Err(_) => Arc::new(PyScorer::new(s)?),
        };
        b = b.scorers([WeightedScorer { scorer, weight: *weight }]);
    }
    if let Some(t) = seconds(py, "call_timeout", call_timeout)? {
        b = b.call_timeout(t);
    }
    if let Some(d) = seconds(py, "deadline", deadline)? {
        b = b.deadline(d);
    }
    if let Some(q) = quorum {
        b = b.quorum(q);
    }
    if let Some(m) = max_concurrency {
        b = b.max_concurrency(m);
    }
    if let Some(id) = task_id {
        b = b.task_id(id);
    }
    if let Some(s) = seed {
        b = b.seed(s);
    }
    if let Some(cb) = on_event {
        b = b.events(python_events(cb));
    }
    Ok(Driver::deliberation(b.build().map_err(|e| to_py(py, e))?))
}
