//! `NativeOrchestrator`: the core [`Orchestrator`] for Python: councils built from a config (the
//! same rules as the service: named endpoints, allow-listed models, test agents only where
//! allowed), kept in a [`MemoryStore`], and deliberations resolved from requests the way the
//! service resolves them.

use std::collections::BTreeMap;
use std::sync::Arc;

use orchestrator_core::store::MemoryStore;
use orchestrator_core::verify::TestSuite;
use orchestrator_core::{
    AgentMeta, AgentRegistration, Config, Constraints, CouncilRequest, DeliberationRequest, Error, Orchestrator,
    RunOptions,
};
use pyo3::prelude::*;

use crate::driver::{python_events, runtime, Driver};
use crate::errors::to_py;

/// A request for a council's deliberation; mirrored by the `DeliberationRequest` dataclass.
#[derive(FromPyObject)]
pub struct RequestSpec {
    task: String,
    role: String,
    rubric: String,
    requirements: Vec<String>,
    metadata: BTreeMap<String, String>,
    max_iterations: u32,
    timeout_seconds: u32,
    tests: Vec<(String, String, String, u32)>,
    rounds: u32,
    num_agents: u32,
    task_id: Option<String>,
    strategy: Option<String>,
    max_calls: u64,
    max_tokens_total: u64,
}

/// The configured engine: councils and deliberations from requests.
#[pyclass(module = "orchestrator._native", frozen)]
pub struct NativeOrchestrator {
    core: Arc<Orchestrator>,
}

impl NativeOrchestrator {
    /// Run a core call to completion off the GIL (the in-memory store never waits on I/O).
    fn block<T: Send>(py: Python<'_>, f: impl std::future::Future<Output = Result<T, Error>> + Send) -> PyResult<T> {
        py.detach(|| runtime().block_on(f)).map_err(|e| to_py(py, e))
    }
}

#[pymethods]
impl NativeOrchestrator {
    /// From YAML config text (`None`: the defaults), overlaid with the process environment
    /// (`LLM_BASE_URL`, `LLM_MODEL`, ...) unless `use_env` is false.
    #[new]
    #[pyo3(signature = (config_yaml = None, use_env = true))]
    fn new(py: Python<'_>, config_yaml: Option<String>, use_env: bool) -> PyResult<Self> {
        let mut config = match config_yaml {
            Some(y) => Config::from_yaml(&y).map_err(|e| to_py(py, e))?,
            None => Config::default(),
        };
        if use_env {
            config.apply_process_env().map_err(|e| to_py(py, e))?;
        }
        let core = Self::block(py, Orchestrator::open(config, Arc::new(MemoryStore::new())))?;
        Ok(NativeOrchestrator { core: Arc::new(core) })
    }

    /// Create a council; returns its agent ids.
    #[pyo3(signature = (role, num_agents = 0, agent_type = "llm", rounds = 0, peer_review = true,
        model_profile = "", custom_params = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_council(
        &self,
        py: Python<'_>,
        role: String,
        num_agents: i64,
        agent_type: &str,
        rounds: i64,
        peer_review: bool,
        model_profile: &str,
        custom_params: Option<BTreeMap<String, String>>,
    ) -> PyResult<Vec<String>> {
        let req = CouncilRequest {
            role,
            num_agents,
            agent_type: agent_type.to_owned(),
            rounds,
            peer_review,
            model_profile: model_profile.to_owned(),
            custom_params: custom_params.unwrap_or_default(),
        };
        let c = Self::block(py, self.core.create_council(req))?;
        Ok(c.members.iter().map(|m| m.agent.id().to_owned()).collect())
    }

    /// Delete a council; returns how many agents it had.
    fn delete_council(&self, py: Python<'_>, role: String) -> PyResult<usize> {
        Ok(Self::block(py, self.core.delete_council(&role))?.members.len())
    }

    /// Register an agent; returns the council id.
    #[pyo3(signature = (role, agent_id, endpoint = "", agent_type = None, model = ""))]
    fn register_agent(
        &self,
        py: Python<'_>,
        role: String,
        agent_id: String,
        endpoint: &str,
        agent_type: Option<String>,
        model: &str,
    ) -> PyResult<String> {
        let reg = AgentRegistration {
            role,
            agent_id,
            endpoint: endpoint.to_owned(),
            agent_type,
            model: model.to_owned(),
            meta: AgentMeta::default(),
        };
        Self::block(py, self.core.register_agent(reg))
    }

    /// Remove an agent from its council.
    fn unregister_agent(&self, py: Python<'_>, role: String, agent_id: String) -> PyResult<()> {
        Self::block(py, self.core.unregister_agent(&role, &agent_id))
    }

    /// Every council as `(role, agent ids)`.
    fn councils(&self, py: Python<'_>) -> PyResult<Vec<(String, Vec<String>)>> {
        let list = self.core.registry().list(None).map_err(|e| to_py(py, e))?;
        Ok(list.into_iter().map(|c| (c.role, c.members.iter().map(|m| m.agent.id().to_owned()).collect())).collect())
    }

    /// Resolve a request against its council (limits, defaults, the configured scorers,
    /// verifier and deadline) and bind it to a Driver.
    #[pyo3(signature = (request, on_event = None))]
    fn prepare(&self, py: Python<'_>, request: RequestSpec, on_event: Option<Py<PyAny>>) -> PyResult<Driver> {
        let RequestSpec {
            task,
            role,
            rubric,
            requirements,
            metadata,
            max_iterations,
            timeout_seconds,
            tests,
            rounds,
            num_agents,
            task_id,
            strategy,
            max_calls,
            max_tokens_total,
        } = request;
        let strategy = strategy.map(|s| s.parse()).transpose().map_err(|e| to_py(py, e))?;
        let tests = tests
            .into_iter()
            .map(|(name, language, code, timeout_seconds)| TestSuite { name, language, code, timeout_seconds })
            .collect();
        let req = DeliberationRequest {
            task_description: task,
            role,
            constraints: Constraints { rubric, requirements, metadata, max_iterations, timeout_seconds, tests },
            rounds,
            num_agents,
            strategy,
            max_calls,
            max_tokens_total,
        };
        let mut d = self
            .core
            .deliberation_for(&req, &RunOptions { task_id, ..Default::default() })
            .map_err(|e| to_py(py, e))?;
        if let Some(cb) = on_event {
            d.set_events(Some(python_events(cb)));
        }
        Ok(Driver::deliberation(d))
    }
}

/// Run a test suite against a proposal in the sandbox (the same runner and sandbox the `tests`
/// check uses); returns `(case, passed, message)` per case. Proposal code never runs outside
/// the sandbox: without one, this raises.
#[pyfunction]
pub fn run_tests(
    py: Python<'_>,
    proposal: String,
    suite: (String, String, String, u32),
) -> PyResult<Vec<(String, bool, String)>> {
    let (name, language, code, timeout_seconds) = suite;
    let suite = TestSuite { name, language, code, timeout_seconds };
    let runner = orchestrator_core::verify::SuiteRunner::shared_default();
    let cases = py
        .detach(|| runtime().block_on(async { runner.run(&suite, &proposal).await }))
        .map_err(|e| to_py(py, Error::Backend { message: format!("tests could not run: {e}") }))?;
    Ok(cases.into_iter().map(|c| (c.name, c.passed, c.message)).collect())
}
