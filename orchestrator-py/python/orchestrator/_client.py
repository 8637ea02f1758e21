"""A client of the orchestrator gRPC service with the in-process result types.

Needs the ``grpc`` extra (``pip install "orchestrator[grpc]"``: grpcio and protobuf). The stubs
are ``orchestrator.v1``, generated from ``proto/`` when the wheel is built. Moving between
in-process and remote is one line::

    orch = orchestrator.Orchestrator("config.yaml")        # in process
    orch = orchestrator.Client("orchestrator:50055")       # the service
    result = await orch.deliberate("Implement login", role="DEV", rubric="...")

Both return :class:`DeliberationResult` and raise the same exceptions: a gRPC status maps onto
the hierarchy rooted at :class:`OrchestratorError`.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._native import (
    AlreadyExistsError,
    BackendError,
    DeliberationCancelledError,
    DeliberationTimeoutError,
    InvalidInputError,
    NoAgentsError,
    NotFoundError,
    OrchestratorError,
    PermissionDeniedError,
    QuorumNotReachedError,
)
from ._orchestrator import build_request
from ._types import (
    AgentFailure,
    BudgetReport,
    Check,
    DeliberationResult,
    Proposal,
    RankedResult,
    TokenUsage,
    UsageReport,
)

T = TypeVar("T")


def _grpc() -> Any:
    try:
        import grpc  # type: ignore[import-untyped,unused-ignore]
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            'orchestrator.Client needs the grpc extra: pip install "orchestrator[grpc]" (grpcio and protobuf)'
        ) from e
    return grpc


def _stubs() -> tuple[Any, Any]:
    from .v1 import orchestrator_pb2 as pb
    from .v1 import orchestrator_pb2_grpc as pbg

    return pb, pbg


# One mapping from gRPC status codes onto the exception hierarchy (the server maps each error
# kind to one code; this is its inverse).
_BY_CODE: dict[str, type[OrchestratorError]] = {
    "INVALID_ARGUMENT": InvalidInputError,
    "UNIMPLEMENTED": NoAgentsError,
    "NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": AlreadyExistsError,
    "ABORTED": QuorumNotReachedError,
    "DEADLINE_EXCEEDED": DeliberationTimeoutError,
    "CANCELLED": DeliberationCancelledError,
    "RESOURCE_EXHAUSTED": BackendError,
    "UNAVAILABLE": BackendError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "UNAUTHENTICATED": PermissionDeniedError,
}


def _error(e: Exception) -> Exception:
    """The orchestrator exception for a gRPC error (other exceptions pass through)."""
    grpc = _grpc()
    if not isinstance(e, grpc.RpcError):
        return e
    code = e.code()
    name = code.name if code is not None else "UNKNOWN"
    cls = _BY_CODE.get(name, OrchestratorError)
    return cls(f"{name}: {e.details()}")


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """``GetStatus``: health, uptime and statistics."""

    status: str
    uptime_seconds: int
    total_deliberations: int = 0
    total_orchestrations: int = 0
    avg_deliberation_time_ms: float = 0.0
    active_councils: int = 0
    role_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskResult:
    """``GetDeliberationResult``: a submitted task's status and, once completed, its result."""

    task_id: str
    status: str
    """pending, in_progress, completed, failed or timeout."""
    result: DeliberationResult | None = None
    error: str = ""

    @property
    def done(self) -> bool:
        """Whether the task reached a final status."""
        return self.status in ("completed", "failed", "timeout")


def _usage(u: Any) -> TokenUsage:
    return TokenUsage(int(u.prompt_tokens), int(u.completion_tokens))


def _checks_of(suite: Any) -> list[Check]:
    if suite.all_checks:
        return [
            Check(name=c.check_type, category=c.category or "other", passed=c.passed, score=c.score,
                  message=c.message, weight=c.weight, details=dict(c.details))
            for c in suite.all_checks
        ]
    # A server without all_checks: rebuild what the suite carries.
    out = []
    if suite.HasField("policy"):
        p = suite.policy
        out.append(Check(name="policy", category="policy", passed=p.passed, score=1.0 if p.passed else 0.0,
                         message=p.message, weight=1.0, details={"violations": list(p.violations)}))
    for c in suite.additional_checks:
        out.append(Check(name=c.check_type, category="other", passed=c.passed, score=c.score, message=c.message,
                         weight=float(c.details.get("weight", 1.0)), details=dict(c.details)))
    return out


def _ranked(r: Any) -> RankedResult:
    p = r.proposal
    return RankedResult(
        rank=r.rank, score=r.score, all_passed=r.checks.all_passed,
        proposal=Proposal(author_id=p.author_id, author_role=p.author_role, content=p.content,
                          created_at_ms=p.created_at_ms, revisions=list(p.revisions)),
        checks=_checks_of(r.checks),
    )


def _int_or_none(v: str | None) -> int | None:
    return int(v) if v else None


def _result(results: Iterable[Any], winner_id: str, duration_ms: int, meta: Any) -> DeliberationResult:
    tags = dict(meta.tags)
    budget_calls = int(tags.get("budget_calls", "0") or 0)
    return DeliberationResult(
        task_id=tags.get("task_id", ""), role=tags.get("role", ""), results=[_ranked(r) for r in results],
        winner_id=winner_id,
        failures=[AgentFailure(agent_id=f.agent_id, phase=f.phase, round=f.round, reason=f.reason,
                               kind=f.kind or "backend") for f in meta.failures],
        usage=UsageReport(total=_usage(meta.usage), per_agent={k: _usage(v) for k, v in meta.usage_per_agent.items()},
                          per_phase={k: _usage(v) for k, v in meta.usage_per_phase.items()},
                          calls=int(meta.calls)),
        rounds=int(tags.get("rounds", "0") or 0), duration_ms=float(duration_ms),
        selection_reason=tags.get("selection_reason", ""), tie_break=tags.get("tie_break", "none"),
        tied=int(tags.get("tied", "1") or 1), seed=int(tags.get("seed", "0") or 0),
        strategy=tags.get("strategy", "deliberate"),
        budget=BudgetReport(max_calls=_int_or_none(tags.get("budget_max_calls")),
                            max_tokens_total=_int_or_none(tags.get("budget_max_tokens_total")),
                            calls=budget_calls, tokens=int(tags.get("budget_tokens", "0") or 0),
                            refused=int(tags.get("budget_refused", "0") or 0),
                            exhausted=tags.get("budget_exhausted") or None),
    )


def _response(resp: Any) -> DeliberationResult:
    return _result(resp.results, resp.winner_id, resp.duration_ms, resp.metadata)


class Client:
    """Async client of the service (``target`` is ``host:port``). Methods mirror
    :class:`Orchestrator`'s and return the same types; errors raise the same exceptions.
    ``token`` is sent as ``authorization: Bearer <token>``; ``secure=True`` uses TLS with the
    system roots (or ``root_certificates``, PEM bytes)."""

    def __init__(
        self,
        target: str,
        token: str | None = None,
        *,
        secure: bool = False,
        root_certificates: bytes | None = None,
        timeout: float | None = None,
    ) -> None:
        grpc = _grpc()
        self._pb, pbg = _stubs()
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        if secure or root_certificates is not None:
            creds = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel: Any = grpc.aio.secure_channel(target, creds, options=options)
        else:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        self._stub = pbg.OrchestratorServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        try:
            return await method(request, metadata=self._metadata, timeout=self._timeout)
        except Exception as e:
            raise _error(e) from None

    def _request(self, task: str, **kwargs: Any) -> Any:
        """The DeliberateRequest for :meth:`Orchestrator.deliberate`'s arguments, checked the same way."""
        r = build_request(task, **kwargs)
        pb = self._pb
        suites = [pb.TestSuite(name=name, language=lang, code=code, timeout_seconds=secs)
                  for (name, lang, code, secs) in r.tests]
        return pb.DeliberateRequest(
            task_description=r.task, role=r.role,
            constraints=pb.TaskConstraints(rubric=r.rubric, requirements=r.requirements, metadata=r.metadata,
                                           max_iterations=r.max_iterations, timeout_seconds=r.timeout_seconds,
                                           tests=suites),
            rounds=r.rounds, num_agents=r.num_agents, strategy=r.strategy or "", max_calls=r.max_calls,
            max_tokens_total=r.max_tokens_total,
        )

    async def deliberate(self, task: str, *, task_id: str | None = None, **kwargs: Any) -> DeliberationResult:
        """Run a deliberation of the role's council; the same keywords as
        :meth:`Orchestrator.deliberate`. ``task_id`` is ignored (the server names unary tasks)."""
        del task_id
        return _response(await self._call(self._stub.Deliberate, self._request(task, **kwargs)))

    async def orchestrate(self, task: str, *, task_id: str | None = None, architect: bool = True,
                          **kwargs: Any) -> DeliberationResult:
        """Deliberate, then let the service's architect pick the winner (``architect=False``:
        the top score wins). Results: the winner first, then the other candidates."""
        d = self._request(task, **kwargs)
        pb = self._pb
        req = pb.OrchestrateRequest(
            task_id=task_id or "", task_description=d.task_description, role=d.role, constraints=d.constraints,
            options=pb.OrchestratorOptions(enable_peer_review=True, deliberation_rounds=d.rounds,
                                           enable_architect_selection=architect),
        )
        resp = await self._call(self._stub.Orchestrate, req)
        out = _result([resp.winner, *resp.candidates], resp.winner.proposal.author_id, resp.duration_ms,
                      resp.metadata)
        if resp.selection_reason:
            out = _replace(out, selection_reason=resp.selection_reason)
        return out

    async def status(self) -> ServiceStatus:
        """Health, uptime and statistics."""
        r = await self._call(self._stub.GetStatus, self._pb.GetStatusRequest(include_stats=True))
        s = r.stats
        return ServiceStatus(status=r.status, uptime_seconds=r.uptime_seconds,
                             total_deliberations=s.total_deliberations, total_orchestrations=s.total_orchestrations,
                             avg_deliberation_time_ms=s.avg_deliberation_time_ms, active_councils=s.active_councils,
                             role_counts=dict(s.role_counts))

    async def submit(self, task: str, *, task_id: str | None = None, retry: bool = False, **kwargs: Any) -> str:
        """Start a deliberation in the background; returns its task id (``task_id`` empty: the
        server names it). Resubmitting the same id with the same request is idempotent."""
        req = self._pb.SubmitDeliberationRequest(task_id=task_id or "", request=self._request(task, **kwargs),
                                                 retry=retry)
        return str((await self._call(self._stub.SubmitDeliberation, req)).task_id)

    async def result(self, task_id: str) -> TaskResult:
        """A submitted task's status and, once completed, its result."""
        r = await self._call(self._stub.GetDeliberationResult, self._pb.GetDeliberationResultRequest(task_id=task_id))
        status = self._pb.DeliberationStatus.Name(r.status).removeprefix("DELIBERATION_STATUS_").lower()
        result = _result(r.results, r.winner_id, r.duration_ms, r.metadata) if status == "completed" else None
        return TaskResult(task_id=r.task_id, status=status, result=result, error=r.error_message)

    async def wait(self, task_id: str, *, poll: float = 0.05, timeout: float | None = None) -> DeliberationResult:
        """Poll :meth:`result` until the task is done; its result, or the error it failed with."""
        async def loop() -> DeliberationResult:
            while True:
                r = await self.result(task_id)
                if r.status == "completed" and r.result is not None:
                    return r.result
                if r.done:
                    cls = DeliberationTimeoutError if r.status == "timeout" else OrchestratorError
                    raise cls(f"task {task_id} {r.status}: {r.error}")
                await asyncio.sleep(poll)
        return await asyncio.wait_for(loop(), timeout)

    async def stream(self, task: str, *, task_id: str | None = None, **kwargs: Any) -> AsyncGenerator[dict[str, Any], None]:
        """Progress updates as dicts (``status``, ``progress_percent``, ``current_step``,
        ``current_agent``); the last one (``status`` ``complete``) also has ``result``, a
        :class:`DeliberationResult`."""
        del task_id
        call = self._stub.StreamDeliberation(self._request(task, **kwargs), metadata=self._metadata,
                                             timeout=self._timeout)
        try:
            async for u in call:
                update: dict[str, Any] = {"status": u.status, "progress_percent": u.progress_percent,
                                          "current_step": u.current_step, "current_agent": u.current_agent}
                if u.HasField("partial_result") and u.partial_result.results:
                    update["result"] = _response(u.partial_result)
                yield update
        except Exception as e:
            raise _error(e) from None
        finally:
            call.cancel()


def _replace(r: DeliberationResult, **changes: Any) -> DeliberationResult:
    import dataclasses

    return dataclasses.replace(r, **changes)


class SyncClient:
    """:class:`Client` for plain (non-async) code: the same methods, blocking. Runs its own
    event loop in this thread; do not use it from inside a running event loop."""

    def __init__(self, target: str, token: str | None = None, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._client: Client = self._run(self._make(target, token, kwargs))

    @staticmethod
    async def _make(target: str, token: str | None, kwargs: dict[str, Any]) -> Client:
        return Client(target, token, **kwargs)  # the aio channel binds to the running loop

    def _run(self, aw: Awaitable[T]) -> T:
        return self._loop.run_until_complete(aw)

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel and the loop."""
        if not self._loop.is_closed():
            self._run(self._client.close())
            self._loop.close()

    def deliberate(self, task: str, **kwargs: Any) -> DeliberationResult:
        """:meth:`Client.deliberate`, blocking."""
        return self._run(self._client.deliberate(task, **kwargs))

    def orchestrate(self, task: str, **kwargs: Any) -> DeliberationResult:
        """:meth:`Client.orchestrate`, blocking."""
        return self._run(self._client.orchestrate(task, **kwargs))

    def status(self) -> ServiceStatus:
        """:meth:`Client.status`, blocking."""
        return self._run(self._client.status())

    def submit(self, task: str, **kwargs: Any) -> str:
        """:meth:`Client.submit`, blocking."""
        return self._run(self._client.submit(task, **kwargs))

    def result(self, task_id: str) -> TaskResult:
        """:meth:`Client.result`, blocking."""
        return self._run(self._client.result(task_id))

    def wait(self, task_id: str, **kwargs: Any) -> DeliberationResult:
        """:meth:`Client.wait`, blocking."""
        return self._run(self._client.wait(task_id, **kwargs))

    def stream(self, task: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """:meth:`Client.stream`, blocking: a plain iterator of the updates."""
        agen = self._client.stream(task, **kwargs)
        try:
            while True:
                try:
                    yield self._run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._run(agen.aclose())


__all__ = ["Client", "ServiceStatus", "SyncClient", "TaskResult"]
