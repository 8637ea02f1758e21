"""Typed results of a deliberation (frozen dataclasses, convertible to dicts)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TestSuite:
    """A test suite run against every proposal in the sandbox. Python is built in: the
    proposal's last fenced python block (or the whole proposal) is ``solution.py``; this code is
    ``test_solution.py`` and imports from ``solution``. Every top-level ``test_*`` function is one
    case; with none, the suite is one case that passes when the program exits 0."""

    __test__ = False  # not a pytest class

    code: str
    language: str = "python"
    name: str | None = None
    timeout_seconds: int | None = None

    def _as_tuple(self) -> tuple[str, str, str, int]:
        return (self.name or "", self.language, self.code, self.timeout_seconds or 0)


@dataclass(frozen=True, slots=True)
class DeliberationSpec:
    """What :class:`orchestrator.Deliberation` hands to the native ``prepare``; mirrors the Rust
    ``DeliberationSpec`` (read by attribute), so the two cannot drift apart silently."""

    task: str
    role: str
    rubric: str
    requirements: list[str]
    metadata: dict[str, str]
    max_iterations: int
    timeout_seconds: int
    agents: list[Any]
    scorers: list[tuple[Any, float]]
    rounds: int
    topology: str
    call_timeout: float | None
    deadline: float | None
    quorum: int | None
    max_concurrency: int | None
    task_id: str | None
    tests: list[tuple[str, str, str, int]]
    peer_tests: bool
    seed: int | None
    strategy: str
    max_calls: int | None
    max_tokens_total: int | None


@dataclass(frozen=True, slots=True)
class DeliberationRequest:
    """What :class:`orchestrator.Orchestrator` hands to the native ``prepare``: a request for a
    council's deliberation, as the gRPC ``DeliberateRequest`` carries it. Mirrors the Rust
    ``RequestSpec`` (read by attribute)."""

    task: str
    role: str
    rubric: str
    requirements: list[str]
    metadata: dict[str, str]
    max_iterations: int
    timeout_seconds: int
    tests: list[tuple[str, str, str, int]]
    rounds: int
    num_agents: int
    task_id: str | None
    strategy: str | None
    max_calls: int
    max_tokens_total: int


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal and its revision history (oldest first)."""

    author_id: str
    author_role: str
    content: str
    created_at_ms: int
    revisions: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Check:
    """The result of one scorer on one proposal."""

    name: str
    category: str
    passed: bool
    score: float
    message: str
    weight: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RankedResult:
    """One ranked proposal with its checks; rank 1 is best."""

    rank: int
    score: float
    all_passed: bool
    proposal: Proposal
    checks: list[Check]


@dataclass(frozen=True, slots=True)
class AgentFailure:
    """An agent call that failed; the agent's proposal left the deliberation."""

    agent_id: str
    phase: str
    round: int
    reason: str
    kind: str


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens used."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token usage of a deliberation: total, per agent and per phase."""

    total: TokenUsage
    per_agent: dict[str, TokenUsage]
    per_phase: dict[str, TokenUsage]
    calls: int


@dataclass(frozen=True, slots=True)
class BudgetReport:
    """Calls and tokens a deliberation spent against its budget."""

    max_calls: int | None = None
    max_tokens_total: int | None = None
    calls: int = 0
    tokens: int = 0
    refused: int = 0
    """Calls the budget refused."""
    exhausted: str | None = None
    """Why the budget ended the deliberation early, if it did."""


@dataclass(frozen=True, slots=True)
class DeliberationResult:
    """The outcome: results ranked best first, the winner, failures, usage and duration."""

    task_id: str
    role: str
    results: list[RankedResult]
    winner_id: str
    failures: list[AgentFailure]
    usage: UsageReport
    rounds: int
    duration_ms: float
    selection_reason: str = ""
    """Why the winner won (one sentence)."""
    tie_break: str = "none"
    """What broke a tie at the top: none, tests_passed, agreement, judge or random."""
    tied: int = 1
    """How many proposals shared the top score."""
    seed: int = 0
    """Seed of the tie-breaking random draw."""
    strategy: str = "deliberate"
    """deliberate, best_of_n, single or self_consistency."""
    budget: BudgetReport = field(default_factory=BudgetReport)
    """Calls and tokens spent, and whether the budget ended it."""

    @property
    def winner(self) -> RankedResult:
        """The rank-1 result."""
        return self.results[0]

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts and lists, for JSON."""
        d = dataclasses.asdict(self)
        d["winner"] = dataclasses.asdict(self.winner)
        return d

    @classmethod
    def _from_json(cls, text: str) -> DeliberationResult:
        d = json.loads(text)

        def usage(u: dict[str, Any]) -> TokenUsage:
            return TokenUsage(u["prompt_tokens"], u["completion_tokens"])

        results = [
            RankedResult(
                rank=r["rank"], score=r["score"], all_passed=r["all_passed"],
                proposal=Proposal(**r["proposal"]),
                checks=[Check(name=c["name"], category=c["category"], passed=c["passed"], score=c["score"],
                              message=c["message"], weight=c["weight"], details=c["details"]) for c in r["checks"]],
            )
            for r in d["results"]
        ]
        u = d["usage"]
        sel = d.get("selection", {})
        b = d.get("budget", {})
        return cls(
            task_id=d["task_id"], role=d["role"], results=results, winner_id=d["winner_id"],
            failures=[AgentFailure(agent_id=f["agent_id"], phase=f["phase"], round=f["round"], reason=f["reason"],
                                   kind=f["error_kind"]) for f in d["failures"]],
            usage=UsageReport(total=usage(u["total"]), per_agent={k: usage(v) for k, v in u["per_agent"].items()},
                              per_phase={k: usage(v) for k, v in u["per_phase"].items()}, calls=u["calls"]),
            rounds=d["rounds"], duration_ms=d["duration"],
            selection_reason=sel.get("reason", ""), tie_break=sel.get("tie_break", "none"),
            tied=sel.get("tied", 1), seed=sel.get("seed", 0),
            strategy=d.get("strategy", "deliberate"),
            budget=BudgetReport(
                max_calls=b.get("budget", {}).get("max_calls"),
                max_tokens_total=b.get("budget", {}).get("max_tokens_total"),
                calls=b.get("calls", 0), tokens=b.get("tokens", 0), refused=b.get("refused", 0),
                exhausted=b.get("exhausted"),
            ),
        )
