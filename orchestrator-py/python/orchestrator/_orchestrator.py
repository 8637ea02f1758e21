"""The configured engine, as the gRPC service runs it, in process."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

from . import _checks, _native
from ._driving import _drive
from ._types import DeliberationRequest, DeliberationResult, TestSuite


def build_request(
    task: str,
    *,
    role: str = "DEV",
    rubric: str = "",
    requirements: Iterable[str] = (),
    metadata: dict[str, str] | None = None,
    max_iterations: int = 0,
    timeout_seconds: int = 0,
    tests: Iterable[TestSuite] = (),
    rounds: int = 0,
    num_agents: int = 0,
    task_id: str | None = None,
    strategy: str | None = None,
    max_calls: int = 0,
    max_tokens_total: int = 0,
) -> DeliberationRequest:
    """A council deliberation request, checked: what :meth:`Orchestrator.deliberate` runs in
    process and :class:`orchestrator.Client` sends to the service."""
    _checks.non_negative(rounds=rounds, num_agents=num_agents, max_iterations=max_iterations,
                         timeout_seconds=timeout_seconds, max_calls=max_calls, max_tokens_total=max_tokens_total)
    suites = _checks.suites(tests)
    return DeliberationRequest(
        task=task, role=role, rubric=rubric, requirements=list(requirements), metadata=dict(metadata or {}),
        max_iterations=max_iterations, timeout_seconds=timeout_seconds, tests=[t._as_tuple() for t in suites],
        rounds=rounds, num_agents=num_agents, task_id=task_id, strategy=strategy, max_calls=max_calls,
        max_tokens_total=max_tokens_total,
    )


class Orchestrator:
    """Councils built from a config (named endpoints, allow-listed models; test agents only
    with ``allow_test_agents: true``) and deliberations resolved from requests exactly as the
    service resolves them: limits, defaults, the default scorers (policy, requirements, echo, and
    the judge when configured), test verification in the sandbox, deadlines. Councils live in
    memory for the life of the object.

    ``config`` is a path to a YAML config file, or ``None`` for the defaults; the process
    environment (``LLM_BASE_URL``, ``LLM_MODEL``, ...) overlays it unless ``use_env=False``.
    ``config_yaml`` takes the YAML text itself.
    """

    def __init__(
        self,
        config: str | os.PathLike[str] | None = None,
        *,
        config_yaml: str | None = None,
        use_env: bool = True,
    ) -> None:
        if config is not None and config_yaml is not None:
            raise _native.InvalidInputError("invalid config: give a path or config_yaml, not both")
        if config is not None:
            with open(config, encoding="utf-8") as f:
                config_yaml = f.read()
        self._native = _native.NativeOrchestrator(config_yaml, use_env)

    def create_council(
        self,
        role: str,
        num_agents: int = 0,
        *,
        agent_type: str = "llm",
        rounds: int = 0,
        peer_review: bool = True,
        model_profile: str = "",
        custom_params: dict[str, str] | None = None,
    ) -> list[str]:
        """Create a council (``num_agents`` 0: the configured default); returns its agent ids."""
        return self._native.create_council(
            role, num_agents, agent_type, rounds, peer_review, model_profile, custom_params
        )

    def delete_council(self, role: str) -> int:
        """Delete a council; returns how many agents it had."""
        return self._native.delete_council(role)

    def register_agent(
        self, role: str, agent_id: str, *, endpoint: str = "", agent_type: str | None = None, model: str = ""
    ) -> str:
        """Register an agent on a configured endpoint (by name or exact base URL) and a listed
        model, where the config allows client agents; returns the council id."""
        return self._native.register_agent(role, agent_id, endpoint, agent_type, model)

    def unregister_agent(self, role: str, agent_id: str) -> None:
        """Remove an agent from its council."""
        self._native.unregister_agent(role, agent_id)

    def councils(self) -> dict[str, list[str]]:
        """Every council's agent ids, by role."""
        return dict(self._native.councils())

    async def deliberate(
        self,
        task: str,
        *,
        role: str = "DEV",
        rubric: str = "",
        requirements: Iterable[str] = (),
        metadata: dict[str, str] | None = None,
        max_iterations: int = 0,
        timeout_seconds: int = 0,
        tests: Iterable[TestSuite] = (),
        rounds: int = 0,
        num_agents: int = 0,
        task_id: str | None = None,
        strategy: str | None = None,
        max_calls: int = 0,
        max_tokens_total: int = 0,
    ) -> DeliberationResult:
        """Run a deliberation of the role's council (``rounds``/``num_agents`` 0: the
        council's). Cancelling the awaiting task cancels it and its in-flight calls."""
        request = build_request(
            task, role=role, rubric=rubric, requirements=requirements, metadata=metadata,
            max_iterations=max_iterations, timeout_seconds=timeout_seconds, tests=tests, rounds=rounds,
            num_agents=num_agents, task_id=task_id, strategy=strategy, max_calls=max_calls,
            max_tokens_total=max_tokens_total,
        )
        return await _drive(self._native.prepare(request, None))

    def deliberate_sync(self, task: str, **kwargs: object) -> DeliberationResult:
        """:meth:`deliberate` from plain (non-async) code."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.deliberate(task, **kwargs))  # type: ignore[arg-type]
        raise RuntimeError("deliberate_sync() was called from a running event loop; use 'await deliberate(...)'")
