//! The [`Deliberation`] builder: everything one deliberation needs, validated by `build()`.

use std::sync::Arc;
use std::time::Duration;

use crate::agent::Agent;
use crate::budget::Budget;
use crate::check::{Scorer, WeightedScorer};
use crate::error::{Error, Result};
use crate::event::SharedEventSink;
use crate::ids::new_id;
use crate::limits::Limits;
use crate::selection::PairwiseJudge;
use crate::strategy::Strategy;
use crate::task::{Constraints, Task};
use crate::topology::Topology;
use crate::verify::{SuiteRunner, TestSuite, TestsScorer, TESTS_CHECK};

/// A validated deliberation, ready to [`run`](Deliberation::run).
#[derive(Clone)]
pub struct Deliberation {
    pub(crate) task: Arc<Task>,
    pub(crate) agents: Vec<Arc<dyn Agent>>,
    pub(crate) rounds: u32,
    pub(crate) scorers: Vec<WeightedScorer>,
    pub(crate) topology: Topology,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) quorum: usize,
    pub(crate) max_concurrency: Option<usize>,
    pub(crate) events: Option<SharedEventSink>,
    pub(crate) seed: Option<u64>,
    /// Set when critics' tests run against every proposal.
    pub(crate) peer_tests: Option<Arc<SuiteRunner>>,
    pub(crate) judge: Option<Arc<dyn PairwiseJudge>>,
    pub(crate) strategy: Strategy,
    pub(crate) budget: Budget,
}

impl std::fmt::Debug for Deliberation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliberation")
            .field("task", &self.task)
            .field("agents", &self.agents.iter().map(|a| a.id().to_owned()).collect::<Vec<_>>())
            .field("rounds", &self.rounds)
            .field("scorers", &self.scorers)
            .field("topology", &self.topology)
            .field("call_timeout", &self.call_timeout)
            .field("deadline", &self.deadline)
            .field("quorum", &self.quorum)
            .field("max_concurrency", &self.max_concurrency)
            .field("seed", &self.seed)
            .field("peer_tests", &self.peer_tests.is_some())
            .field("judge", &self.judge.is_some())
            .field("strategy", &self.strategy)
            .field("budget", &self.budget)
            .finish()
    }
}

impl Deliberation {
    /// Start building a deliberation.
    pub fn builder() -> DeliberationBuilder {
        DeliberationBuilder::default()
    }

    /// The task.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The agents, in council order.
    pub fn agents(&self) -> &[Arc<dyn Agent>] {
        &self.agents
    }

    /// Review rounds.
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// The whole-deliberation deadline, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Replace the event subscriber (for callers that stream progress).
    pub fn set_events(&mut self, sink: Option<SharedEventSink>) {
        self.events = sink;
    }
}

impl std::fmt::Debug for DeliberationBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliberationBuilder")
            .field("description", &self.description)
            .field("role", &self.role)
            .field("agents", &self.agents.len())
            .field("rounds", &self.rounds)
            .finish_non_exhaustive()
    }
}

/// Builder for [`Deliberation`]. Every setter is optional except the task and at least one agent.
#[derive(Default)]
pub struct DeliberationBuilder {
    task_id: Option<String>,
    description: String,
    role: Option<String>,
    constraints: Constraints,
    agents: Vec<Arc<dyn Agent>>,
    rounds: Option<u32>,
    scorers: Vec<WeightedScorer>,
    topology: Topology,
    call_timeout: Option<Duration>,
    deadline: Option<Duration>,
    quorum: Option<usize>,
    max_concurrency: Option<usize>,
    limits: Limits,
    events: Option<SharedEventSink>,
    seed: Option<u64>,
    verifier: Option<Arc<SuiteRunner>>,
    peer_tests: bool,
    judge: Option<Arc<dyn PairwiseJudge>>,
    strategy: Strategy,
    budget: Budget,
}

impl DeliberationBuilder {
    /// Task id (generated when not set).
    pub fn task_id(mut self, id: impl Into<String>) -> Self {
        self.task_id = Some(id.into());
        self
    }

    /// The task description (required, non-empty).
    pub fn task(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The council role (default `DEV`).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Rubric, requirements, metadata, max_iterations, timeout_seconds.
    pub fn constraints(mut self, constraints: Constraints) -> Self {
        self.constraints = constraints;
        self
    }

    /// Set the rubric.
    pub fn rubric(mut self, rubric: impl Into<String>) -> Self {
        self.constraints.rubric = rubric.into();
        self
    }

    /// Add a requirement.
    pub fn requirement(mut self, requirement: impl Into<String>) -> Self {
        self.constraints.requirements.push(requirement.into());
        self
    }

    /// Add one agent.
    pub fn agent(mut self, agent: Arc<dyn Agent>) -> Self {
        self.agents.push(agent);
        self
    }

    /// Add agents.
    pub fn agents(mut self, agents: impl IntoIterator<Item = Arc<dyn Agent>>) -> Self {
        self.agents.extend(agents);
        self
    }

    /// Review rounds (default 1; 0 means no peer review).
    pub fn rounds(mut self, rounds: u32) -> Self {
        self.rounds = Some(rounds);
        self
    }

    /// Add a scorer with a positive weight.
    pub fn scorer(mut self, scorer: Arc<dyn Scorer>, weight: f64) -> Self {
        self.scorers.push(WeightedScorer { scorer, weight });
        self
    }

    /// Add scorers with weights.
    pub fn scorers(mut self, scorers: impl IntoIterator<Item = WeightedScorer>) -> Self {
        self.scorers.extend(scorers);
        self
    }

    /// Critique topology (default [`Topology::Ring`]).
    pub fn topology(mut self, topology: Topology) -> Self {
        self.topology = topology;
        self
    }

    /// Timeout for each agent call; a call over it is that agent's failure.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// Whole-deliberation deadline (overrides `constraints.timeout_seconds`).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Minimum number of surviving proposals (default 1).
    pub fn quorum(mut self, quorum: usize) -> Self {
        self.quorum = Some(quorum);
        self
    }

    /// Most agent calls in flight at once for this deliberation (default: unbounded).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// Input limits (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Subscriber for progress events.
    pub fn events(mut self, sink: SharedEventSink) -> Self {
        self.events = Some(sink);
        self
    }

    /// Test suites run against every proposal in the sandbox. The `tests` check is added to the
    /// scorers automatically, weighted above all other scorers together.
    pub fn tests(mut self, tests: impl IntoIterator<Item = TestSuite>) -> Self {
        self.constraints.tests.extend(tests);
        self
    }

    /// The runner (and sandbox) for tests (default: Python on the process-wide default sandbox).
    pub fn verifier(mut self, runner: Arc<SuiteRunner>) -> Self {
        self.verifier = Some(runner);
        self
    }

    /// Run tests that critics send in their critiques against every proposal (`peer_tests`
    /// check, weighted by CodeT-style dual agreement).
    pub fn peer_tests(mut self, on: bool) -> Self {
        self.peer_tests = on;
        self
    }

    /// Seed of the tie-breaking random draw (default: a fresh random seed, recorded in the
    /// outcome).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// A pairwise judge for ties that tests and agreement leave open.
    pub fn tie_break_judge(mut self, judge: Arc<dyn PairwiseJudge>) -> Self {
        self.judge = Some(judge);
        self
    }

    /// How the council works (default [`Strategy::Deliberate`]). `best_of_n` and
    /// `self_consistency` run no review rounds; `single` asks one agent, drawn with the seed.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Most agent calls (at least 1). The engine stops issuing calls before one would pass
    /// it and finishes with what it has; the outcome says the budget ended it.
    pub fn max_calls(mut self, n: u64) -> Self {
        self.budget.max_calls = Some(n);
        self
    }

    /// Most tokens over every call (at least 1); see [`Budget`] for how a call is judged to fit.
    pub fn max_tokens_total(mut self, n: u64) -> Self {
        self.budget.max_tokens_total = Some(n);
        self
    }

    /// Both limits at once (`None` fields: no limit).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Validate and build. Each bad value gives an [`Error::InvalidInput`] naming the field.
    pub fn build(self) -> Result<Deliberation> {
        let limits = &self.limits;
        limits.check_task("task_description", &self.description)?;
        limits.check_constraints(&self.constraints)?;
        let role = self.role.unwrap_or_else(|| "DEV".to_owned());
        if role.trim().is_empty() {
            return Err(Error::invalid("role", "must not be empty"));
        }
        if self.agents.is_empty() {
            return Err(Error::invalid("agents", "at least one agent is required"));
        }
        limits.check_agents("agents", self.agents.len() as i64)?;
        if self.agents.iter().any(|a| a.id().trim().is_empty()) {
            return Err(Error::invalid("agents", "an agent has an empty id"));
        }
        crate::ids::check_unique_ids(self.agents.iter().map(|a| a.id()))?;
        let mut rounds = limits.check_rounds("rounds", i64::from(self.rounds.unwrap_or(1)))?;
        if self.constraints.max_iterations > 0 {
            rounds = rounds.min(self.constraints.max_iterations);
        }
        if self.budget.max_calls == Some(0) {
            return Err(Error::invalid("max_calls", "must be at least 1 (0 would make no call at all)"));
        }
        if self.budget.max_tokens_total == Some(0) {
            return Err(Error::invalid("max_tokens_total", "must be at least 1"));
        }
        let mut agents = self.agents;
        let mut seed = self.seed;
        match self.strategy {
            Strategy::Deliberate => {}
            Strategy::BestOfN | Strategy::SelfConsistency => rounds = 0,
            Strategy::Single => {
                // One agent, drawn with the recorded seed: never the first seat by default.
                let s = seed.unwrap_or_else(rand::random);
                seed = Some(s);
                let pick = (s % agents.len() as u64) as usize;
                agents = vec![agents.swap_remove(pick)];
                rounds = 0;
            }
        }
        let quorum = if self.strategy == Strategy::Single { 1 } else { self.quorum.unwrap_or(1) };
        if quorum == 0 {
            return Err(Error::invalid("quorum", "must be at least 1"));
        }
        if quorum > agents.len() {
            return Err(Error::invalid(
                "quorum",
                format!("is {quorum}, above the number of agents ({})", agents.len()),
            ));
        }
        for (i, s) in self.scorers.iter().enumerate() {
            if !(s.weight.is_finite() && s.weight > 0.0) {
                return Err(Error::invalid(
                    format!("scorers[{i}].weight"),
                    format!("is {} for scorer {:?}; weights must be positive and finite", s.weight, s.scorer.name()),
                ));
            }
        }
        if self.call_timeout == Some(Duration::ZERO) {
            return Err(Error::invalid("call_timeout", "must be greater than zero"));
        }
        let deadline = match self.deadline {
            Some(Duration::ZERO) => return Err(Error::invalid("deadline", "must be greater than zero")),
            Some(d) => Some(d),
            None if self.constraints.timeout_seconds > 0 => {
                Some(Duration::from_secs(u64::from(self.constraints.timeout_seconds)))
            }
            None => None,
        };
        if self.max_concurrency == Some(0) {
            return Err(Error::invalid("max_concurrency", "must be at least 1"));
        }
        let mut scorers = self.scorers;
        let needs_runner = !self.constraints.tests.is_empty() || self.peer_tests;
        let runner = match (&self.verifier, needs_runner) {
            (Some(r), _) => Some(r.clone()),
            (None, true) => Some(SuiteRunner::shared_default()),
            (None, false) => None,
        };
        if let Some(runner) = runner.as_ref().filter(|_| !self.constraints.tests.is_empty()) {
            for (i, t) in self.constraints.tests.iter().enumerate() {
                if !runner.supports(&t.lang()) {
                    return Err(Error::invalid(
                        format!("constraints.tests[{i}].language"),
                        format!("{:?} has no runner; python is built in, others come from verify.runners", t.language),
                    ));
                }
            }
            if !scorers.iter().any(|s| s.scorer.name() == TESTS_CHECK) {
                let others: f64 = scorers.iter().map(|s| s.weight).sum();
                scorers
                    .push(WeightedScorer { scorer: Arc::new(TestsScorer::new(runner.clone())), weight: others + 1.0 });
            }
        }
        let task = Task {
            id: self.task_id.unwrap_or_else(new_id),
            description: self.description,
            role,
            constraints: self.constraints,
        };
        Ok(Deliberation {
            task: Arc::new(task),
            agents,
            rounds,
            scorers,
            topology: self.topology,
            call_timeout: self.call_timeout,
            deadline,
            quorum,
            max_concurrency: self.max_concurrency,
            events: self.events,
            seed,
            peer_tests: if self.peer_tests { runner } else { None },
            judge: self.judge,
            strategy: self.strategy,
            budget: self.budget,
        })
    }
}
