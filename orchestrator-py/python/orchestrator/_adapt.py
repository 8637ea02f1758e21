"""Adapters that give the core one calling convention for every Python agent and scorer shape."""
from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from typing import Any


def _positional(fn: Callable[..., Any]) -> tuple[int, bool, set[str], list[str]]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2, True, set(), []
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
    names = {p.name for p in params}
    return len(pos), varargs, names, [p.name for p in pos]


def _sync(fn: Callable[..., Any], kwargs: dict[str, Any] | None) -> Callable[..., Any]:
    """A positional-only callable for the executor (which cannot pass keyword arguments)."""
    if not kwargs:
        return fn

    def call(*args: Any) -> Any:
        return fn(*args, **kwargs)
    return call


class AgentAdapter:
    """One convention over the accepted agent shapes:

    - ``generate(task)`` or ``generate(task, constraints)``, optionally with a ``diversity``
      keyword (passed ``True``); returns ``str`` or ``{"content": str, "usage": {...}}``.
    - ``critique(proposal, rubric)`` or ``critique(proposal)``.
    - ``revise(content, feedback)``: the critiques joined into one text; or
      ``revise(content, critiques)`` (a parameter named ``critiques``) to get the list.
    Methods may be ``def`` (run in the loop's thread pool) or ``async def`` (run on the loop).
    """

    __slots__ = (
        "agent",
        "agent_id",
        "critique",
        "critique_is_async",
        "critique_kwargs",
        "critique_mode",
        "critique_raw",
        "generate",
        "generate_is_async",
        "generate_kwargs",
        "generate_mode",
        "generate_raw",
        "revise",
        "revise_is_async",
        "revise_kwargs",
        "revise_mode",
        "revise_raw",
        "role",
    )

    def __init__(self, agent: Any, default_role: str) -> None:
        agent_id = getattr(agent, "agent_id", None)
        if agent_id is None:
            agent_id = getattr(agent, "id", None)
        if callable(agent_id):
            agent_id = agent_id()
        if not isinstance(agent_id, str) or not agent_id:
            raise TypeError(f"agent {agent!r} needs a non-empty str 'agent_id'")
        role = getattr(agent, "role", default_role)
        if callable(role):
            role = role()
        for m in ("generate", "critique", "revise"):
            if not callable(getattr(agent, m, None)):
                raise TypeError(f"agent {agent_id!r} has no {m}() method")
        self.agent, self.agent_id, self.role = agent, agent_id, str(role)

        # The core shapes the arguments by ``*_mode`` and calls ``*_raw`` with ``*_kwargs``:
        # directly for coroutine functions (a task on the caller's loop), through ``*`` (the
        # positional-only form) in the loop's thread pool for plain functions. Replies are
        # ``str`` or ``{"content": str, "usage": {"prompt_tokens": int, "completion_tokens": int}}``.
        g = agent.generate
        n, var, names, _ = _positional(g)
        kw = {"diversity": True} if "diversity" in names else None
        self.generate_raw, self.generate_kwargs = g, kw
        self.generate_mode = "task_constraints" if (n >= 2 or var) else "task"
        self.generate, self.generate_is_async = _sync(g, kw), inspect.iscoroutinefunction(g)

        c = agent.critique
        n, var, _, _ = _positional(c)
        self.critique_raw, self.critique_kwargs = c, None
        self.critique_mode = "proposal_rubric" if (n >= 2 or var) else "proposal"
        self.critique, self.critique_is_async = c, inspect.iscoroutinefunction(c)

        r = agent.revise
        _, _, _, pos = _positional(r)
        self.revise_raw, self.revise_kwargs = r, None
        self.revise_mode = "list" if (len(pos) >= 2 and pos[1] == "critiques") else "joined"
        self.revise, self.revise_is_async = r, inspect.iscoroutinefunction(r)


_DETAIL_KEYS = {"violations", "error_count", "warning_count", "errors", "output", "exit_code"}


def _check_json(value: Any, name: str) -> str:
    if isinstance(value, bool):
        value = {"passed": value, "score": 1.0 if value else 0.0}
    if not isinstance(value, dict):
        raise TypeError(f"scorer {name!r} returned {type(value).__name__}; expected a dict with 'passed' and 'score'")
    passed = value.get("passed")
    score = value.get("score", 1.0 if passed else 0.0)
    if not isinstance(passed, bool):
        raise TypeError(f"scorer {name!r}: 'passed' must be a bool")
    if not isinstance(score, (int, float)) or isinstance(score, bool) or math.isnan(score):
        raise TypeError(f"scorer {name!r}: 'score' must be a number in [0, 1]")
    details_in = value.get("details") or {}
    details: dict[str, Any] = {"extra": {}}
    for k, v in details_in.items():
        if k in _DETAIL_KEYS:
            details[k] = v
        else:
            details["extra"][k] = v if isinstance(v, str) else json.dumps(v)
    return json.dumps({
        "name": str(value.get("name", name)), "category": str(value.get("category", "other")),
        "passed": passed, "score": min(1.0, max(0.0, float(score))), "message": str(value.get("message", "")),
        "details": details, "weight": 1.0,
    })


class ScorerAdapter:
    """One convention over Python scorers: an object with ``check(proposal, task)`` (and an
    optional ``name``), or a plain function ``check(proposal, task)``. ``proposal`` and ``task``
    are dicts. The result is ``{"passed": bool, "score": float, "message": str, "details": {...}}``
    (or a bool)."""

    __slots__ = ("check", "check_is_async", "name", "scorer")

    def __init__(self, scorer: Any) -> None:
        fn = getattr(scorer, "check", None)
        if fn is None and callable(scorer):
            fn = scorer
        if not callable(fn):
            raise TypeError(f"scorer {scorer!r} has no check(proposal, task) method")
        name = getattr(scorer, "name", None) or getattr(fn, "__name__", None) or type(scorer).__name__
        self.scorer, self.name = scorer, str(name)
        self.check: Callable[[dict[str, Any], dict[str, Any]], Any]
        if inspect.iscoroutinefunction(fn):
            async def check_async(p: dict[str, Any], t: dict[str, Any]) -> str:
                return _check_json(await fn(p, t), self.name)
            self.check, self.check_is_async = check_async, True
        else:
            def check(p: dict[str, Any], t: dict[str, Any]) -> str:
                return _check_json(fn(p, t), self.name)
            self.check, self.check_is_async = check, False
