"""Argument checks shared by Deliberation and Orchestrator: errors name the field and the limit."""
from __future__ import annotations

from collections.abc import Iterable

from ._native import InvalidInputError
from ._types import TestSuite


def non_negative(**values: object) -> None:
    """Each value must be an int of at least 0."""
    for name, v in values.items():
        if not isinstance(v, int) or v < 0:
            raise InvalidInputError(f"invalid {name}: is {v!r}; it must be a non-negative integer")


def suites(tests: Iterable[object]) -> list[TestSuite]:
    """The tests as a list, each an orchestrator.TestSuite."""
    out: list[TestSuite] = []
    for t in tests:
        if not isinstance(t, TestSuite):
            raise InvalidInputError(f"invalid tests: {t!r} is not an orchestrator.TestSuite")
        out.append(t)
    return out
