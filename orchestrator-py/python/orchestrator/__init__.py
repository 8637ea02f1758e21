"""orchestrator: multi-agent deliberation with a Rust core.

A council of agents proposes solutions to a task, peers critique each other's proposals over
review rounds, authors revise their own proposals, real checks score the final proposals, and the
ranked results come back with a winner::

    import asyncio
    from orchestrator import Deliberation, PolicyScorer, RequirementsScorer

    class Dev:
        agent_id, role = "dev-1", "DEV"
        async def generate(self, task, constraints): return f"Plan for {task} with unit tests"
        async def critique(self, proposal, rubric): return "Add error handling"
        async def revise(self, content, feedback): return content + "\\nError handling added"

    result = asyncio.run(Deliberation(task="Implement login", agents=[Dev(), ...],
                                      scorers=[PolicyScorer(), RequirementsScorer()]).run())
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Union

from . import _checks, _native
from ._adapt import AgentAdapter, ScorerAdapter
from ._client import Client, ServiceStatus, SyncClient, TaskResult
from ._driving import _drive
from ._native import (
    AlreadyExistsError,
    BackendError,
    DeliberationCancelledError,
    DeliberationTimeoutError,
    InvalidInputError,
    NativeAgent,
    NativeScorer,
    NoAgentsError,
    NotFoundError,
    OrchestratorError,
    PermissionDeniedError,
    QuorumNotReachedError,
)
from ._orchestrator import Orchestrator
from ._types import (
    AgentFailure,
    BudgetReport,
    Check,
    DeliberationRequest,
    DeliberationResult,
    DeliberationSpec,
    Proposal,
    RankedResult,
    TestSuite,
    TokenUsage,
    UsageReport,
)

__version__: str = _native.__version__

__all__ = [
    "AgentFailure",
    "AlreadyExistsError",
    "BackendError",
    "BudgetReport",
    "Check",
    "Client",
    "CommandCheck",
    "Deliberation",
    "DeliberationCancelledError",
    "DeliberationRequest",
    "DeliberationResult",
    "DeliberationSpec",
    "DeliberationTimeoutError",
    "EchoScorer",
    "Endpoint",
    "EventStream",
    "InvalidInputError",
    "JudgeScorer",
    "LlmAgent",
    "NativeAgent",
    "NativeScorer",
    "NoAgentsError",
    "NotFoundError",
    "Orchestrator",
    "OrchestratorError",
    "PermissionDeniedError",
    "PolicyScorer",
    "Proposal",
    "QuorumNotReachedError",
    "RankedResult",
    "RequirementsScorer",
    "ScriptedAgent",
    "ServiceStatus",
    "SyncClient",
    "TaskResult",
    "TestSuite",
    "TokenUsage",
    "UsageReport",
    "__version__",
    "run_tests",
]

Endpoint = _native.Endpoint
"""An LLM endpoint shared by agents and judges (one rate limit, in-flight cap and breaker)."""
LlmAgent = NativeAgent.llm
"""A Rust LLM agent: ``LlmAgent(agent_id, model, base_url, role="DEV", ...)`` on its own endpoint,
or ``LlmAgent(agent_id, model, endpoint=Endpoint(base_url, timeout=5.0))`` on a shared one."""
ScriptedAgent = NativeAgent.scripted
"""A Rust scripted test agent (no network): ``ScriptedAgent(agent_id, role="DEV", latency=0.0)``."""
PolicyScorer = NativeScorer.policy
"""Deny-pattern check (secrets, private keys, credentials in URLs by default)."""
RequirementsScorer = NativeScorer.requirements
"""Which listed requirements a proposal addresses."""
EchoScorer = NativeScorer.echo
"""Fails a proposal that is mostly copied from the task, rubric, requirements or the prompt."""
CommandCheck = NativeScorer.command
"""Run a program on the proposal; exit status 0 passes."""
JudgeScorer = NativeScorer.judge
"""An LLM judge grading in strict JSON."""

ScorerSpec = Union[Any, "tuple[Any, float]"]


def run_tests(proposal: str, suite: TestSuite) -> list[tuple[str, bool, str]]:
    """Run ``suite`` against a proposal's code (its last fenced block in the suite's language, or
    the whole text) in the sandbox, as the ``tests`` check does; ``(case, passed, message)`` per
    case. For scoring a winner against a hidden test, for example."""
    if not isinstance(suite, TestSuite):
        raise InvalidInputError(f"invalid suite: {suite!r} is not an orchestrator.TestSuite")
    return _native.run_tests(proposal, suite._as_tuple())


class Deliberation:
    """A deliberation, mirroring the Rust builder. Agents are Python objects (see
    :class:`orchestrator._adapt.AgentAdapter` for the accepted shapes) or native agents
    (:func:`LlmAgent`, :func:`ScriptedAgent`), freely mixed. Scorers are native scorers, Python
    scorers, or ``(scorer, weight)`` pairs. Every value is validated when the deliberation runs;
    a bad one raises :class:`InvalidInputError` naming the field and the limit.
    """

    def __init__(
        self,
        task: str,
        *,
        role: str = "DEV",
        rubric: str = "",
        requirements: Iterable[str] = (),
        metadata: dict[str, str] | None = None,
        max_iterations: int = 0,
        timeout_seconds: int = 0,
        agents: Iterable[Any] = (),
        rounds: int = 1,
        scorers: Iterable[ScorerSpec] | None = None,
        topology: str = "ring",
        call_timeout: float | None = None,
        deadline: float | None = None,
        quorum: int | None = None,
        max_concurrency: int | None = None,
        task_id: str | None = None,
        tests: Iterable[TestSuite] = (),
        peer_tests: bool = False,
        seed: int | None = None,
        strategy: str = "deliberate",
        max_calls: int | None = None,
        max_tokens_total: int | None = None,
    ) -> None:
        self.task = task
        self.role = role
        self.rubric = rubric
        self.requirements = list(requirements)
        self.metadata = dict(metadata or {})
        self.max_iterations = max_iterations
        self.timeout_seconds = timeout_seconds
        self.agents: list[Any] = []
        self.scorers: list[tuple[Any, float]] = []
        self.rounds = rounds
        self.topology = topology
        self.call_timeout = call_timeout
        self.deadline = deadline
        self.quorum = quorum
        self.max_concurrency = max_concurrency
        self.task_id = task_id
        self.tests = _checks.suites(tests)
        self.peer_tests = peer_tests
        self.seed = seed
        self.strategy = strategy
        self.max_calls = max_calls
        self.max_tokens_total = max_tokens_total
        for a in agents:
            self.add_agent(a)
        if scorers is None:
            # The defaults: policy, requirements and echo (a proposal that only repeats the
            # task fails). Pass scorers=[] for none.
            scorers = [PolicyScorer(), RequirementsScorer(), EchoScorer()]
        for s in scorers:
            if isinstance(s, tuple):
                self.add_scorer(s[0], s[1])
            else:
                self.add_scorer(s)

    def add_agent(self, agent: Any) -> Deliberation:
        """Add an agent (Python object or native agent); returns self."""
        if not isinstance(agent, (NativeAgent, AgentAdapter)):
            agent = AgentAdapter(agent, self.role)
        self.agents.append(agent)
        return self

    def add_scorer(self, scorer: Any, weight: float = 1.0) -> Deliberation:
        """Add a scorer with a positive weight; returns self."""
        if not isinstance(scorer, (NativeScorer, ScorerAdapter)):
            scorer = ScorerAdapter(scorer)
        self.scorers.append((scorer, float(weight)))
        return self

    def _prepare(self, on_event: Callable[[str], None] | None) -> _native.Driver:
        _checks.non_negative(rounds=self.rounds, max_iterations=self.max_iterations,
                             timeout_seconds=self.timeout_seconds)
        spec = DeliberationSpec(
            task=self.task, role=self.role, rubric=self.rubric, requirements=self.requirements,
            metadata=self.metadata, max_iterations=self.max_iterations, timeout_seconds=self.timeout_seconds,
            agents=self.agents, scorers=self.scorers, rounds=self.rounds, topology=self.topology,
            call_timeout=self.call_timeout, deadline=self.deadline, quorum=self.quorum,
            max_concurrency=self.max_concurrency, task_id=self.task_id,
            tests=[t._as_tuple() for t in self.tests], peer_tests=self.peer_tests, seed=self.seed,
            strategy=self.strategy, max_calls=self.max_calls, max_tokens_total=self.max_tokens_total,
        )
        return _native.prepare(spec, on_event)

    async def run(self) -> DeliberationResult:
        """Run on the current event loop. Cancelling the awaiting task cancels the deliberation
        and its in-flight calls. An exception raised by a Python agent is re-raised unchanged
        when it ends the deliberation (quorum lost); otherwise it is recorded in ``failures``."""
        return await _drive(self._prepare(None))

    def run_sync(self) -> DeliberationResult:
        """Run from plain (non-async) code, on a fresh event loop in this thread.
        KeyboardInterrupt cancels the deliberation and its in-flight calls."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run())
        raise RuntimeError("run_sync() was called from a running event loop; use 'await deliberation.run()'")

    def stream(self) -> EventStream:
        """Progress events as an async iterator of dicts (``{"type": "proposal_generated", ...}``);
        after it ends, ``stream.result`` holds the :class:`DeliberationResult`."""
        return EventStream(self)


class EventStream:
    """Async iterator over the events of one deliberation run."""

    _END = object()

    def __init__(self, deliberation: Deliberation) -> None:
        self._deliberation = deliberation
        self._queue: asyncio.Queue[Any] | None = None
        self._task: asyncio.Task[DeliberationResult] | None = None
        self.result: DeliberationResult | None = None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._task is None:
            queue: asyncio.Queue[Any] = asyncio.Queue()
            self._queue = queue
            driver = self._deliberation._prepare(lambda js: queue.put_nowait(json.loads(js)))
            self._task = asyncio.ensure_future(_drive(driver))
            self._task.add_done_callback(lambda _t: queue.put_nowait(EventStream._END))
        assert self._queue is not None
        item = await self._queue.get()
        if item is EventStream._END:
            self.result = self._task.result()
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stop early: cancels the deliberation."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

