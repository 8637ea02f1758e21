"""Quickstart: a council of Python agents (async and sync) with a built-in Rust agent, scored by
the built-in policy and requirements checks plus a Python scorer.

    pip install ./orchestrator-py && python examples/python/quickstart.py
"""
from __future__ import annotations

import asyncio
from typing import Any

import orchestrator


class AsyncDev:
    """An async agent in the fleet's shape."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.role = "DEV"

    async def generate(self, task: str, constraints: dict[str, Any], diversity: bool = False) -> dict[str, Any]:
        await asyncio.sleep(0.01)  # a real agent would call a model here
        reqs = ", ".join(constraints["requirements"])
        return {"content": f"{task}: validate inputs, cover {reqs}.", "usage": {"prompt_tokens": 12, "completion_tokens": 9}}

    async def critique(self, proposal: str, rubric: str) -> str:
        return f"Against '{rubric}': name the error cases explicitly."

    async def revise(self, content: str, feedback: str) -> str:
        return content + "\nError cases: empty password, locked account, expired token."


class SyncReviewer:
    """A plain (sync) agent; it runs in the loop's thread pool."""

    agent_id = "reviewer-1"
    role = "DEV"

    def generate(self, task: str) -> str:
        return f"{task} with unit tests and error handling"

    def critique(self, proposal: str, rubric: str) -> str:
        return "Add a threat model."

    def revise(self, content: str, feedback: str) -> str:
        return content + "\nThreat model: credential stuffing, session fixation."


def length_check(proposal: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """A Python scorer: proposals must be substantive."""
    n = len(proposal["content"])
    return {"passed": n >= 60, "score": min(1.0, n / 200), "message": f"{n} characters"}


def main() -> orchestrator.DeliberationResult:
    deliberation = orchestrator.Deliberation(
        "Implement user authentication",
        role="DEV",
        rubric="Secure, maintainable code",
        requirements=["Unit tests", "Error handling"],
        agents=[AsyncDev("dev-1"), AsyncDev("dev-2"), SyncReviewer(), orchestrator.ScriptedAgent("scripted-1")],
        rounds=1,
        scorers=[orchestrator.PolicyScorer(), orchestrator.RequirementsScorer(), (length_check, 0.5)],
        deadline=30.0,
    )
    result = deliberation.run_sync()
    for r in result.results:
        checks = ", ".join(f"{c.name}={'PASS' if c.passed else 'FAIL'}" for c in r.checks)
        print(f"#{r.rank} {r.proposal.author_id:<11} score {r.score:.2f}  {checks}")
    print(f"winner: {result.winner_id}; tokens: {result.usage.total.total_tokens}; {result.duration_ms:.1f} ms")
    return result


if __name__ == "__main__":
    main()
