"""Verified selection through the binding: tests decide, ties are drawn at random, echoes lose."""
from collections import Counter

import orchestrator as o
import pytest

TESTS = o.TestSuite("from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\n"
                    "def test_neg():\n    assert add(-1, 1) == 0\n", name="unit")
CORRECT = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"


class Coder:
    def __init__(self, i, code, critique="Looks fine."):
        self.agent_id, self.role, self.code, self._critique = f"coder-{i}", "DEV", code, critique

    async def generate(self, task, constraints):
        return self.code

    async def critique(self, proposal, rubric):
        return self._critique

    async def revise(self, content, feedback):
        return content


@pytest.mark.parametrize("seat", [0, 1, 2])
def test_the_correct_proposal_wins_from_every_seat(seat):
    codes = [WRONG, WRONG, WRONG]
    codes[seat] = CORRECT
    r = o.Deliberation("Write add(a, b).", agents=[Coder(i, c) for i, c in enumerate(codes)],
                       tests=[TESTS]).run_sync()
    assert r.winner_id == f"coder-{seat}", r.selection_reason
    assert r.tie_break == "none" and r.tied == 1
    tests = next(c for c in r.winner.checks if c.name == "tests")
    assert tests.passed and tests.score == 1.0
    assert tests.details["extra"]["case.unit.test_add"] == "passed"
    loser = next(c for c in r.results[1].checks if c.name == "tests")
    assert "AssertionError" in loser.details["extra"]["first_failure"]


def test_default_scorers_include_echo_and_ties_are_drawn_not_seated():
    wins = Counter()
    for _ in range(90):
        r = o.Deliberation("Write add(a, b).", agents=[Coder(i, CORRECT) for i in range(3)]).run_sync()
        assert {c.name for c in r.winner.checks} >= {"policy", "requirements", "echo"}
        assert r.tied == 3 and r.tie_break == "random" and str(r.seed) in r.selection_reason
        wins[r.winner_id] += 1
    assert all(wins[f"coder-{i}"] >= 12 for i in range(3)), wins


def test_an_echo_of_the_task_loses():
    task = "Implement user authentication"
    echo = "Task:\nImplement user authentication\nRequirements:\n- Unit tests\n"
    real = "Hash passwords with bcrypt, lock after five failures, and add pytest unit tests for login."
    for order in ([echo, real], [real, echo]):
        r = o.Deliberation(task, requirements=["Unit tests"],
                           agents=[Coder(i, c) for i, c in enumerate(order)]).run_sync()
        assert r.winner.proposal.content == real, r.selection_reason


def test_peer_tests_from_critics_run_against_every_proposal():
    good = "Fix it.\n```python\nfrom solution import add\ndef test_peer():\n    assert add(2, 2) == 4\n```"
    agents = [Coder(0, WRONG, good), Coder(1, CORRECT, good), Coder(2, WRONG, good)]
    r = o.Deliberation("Write add(a, b).", agents=agents, peer_tests=True).run_sync()
    assert r.winner_id == "coder-1", r.selection_reason
    assert any(c.name == "peer_tests" and c.passed for c in r.winner.checks)


def test_bad_tests_raise_invalid_input_naming_the_field():
    with pytest.raises(o.InvalidInputError, match=r"constraints\.tests\[0\]\.language"):
        o.Deliberation("x", agents=[Coder(0, CORRECT)], tests=[o.TestSuite("x", language="cobol")]).run_sync()
    with pytest.raises(o.InvalidInputError, match="TestSuite"):
        o.Deliberation("x", agents=[Coder(0, CORRECT)], tests=["def test_x(): pass"])  # type: ignore[list-item]


def test_run_tests_runs_a_suite_against_a_proposal_in_the_sandbox():
    suite = o.TestSuite("from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\n"
                        "def test_zero():\n    assert add(0, 0) == 0\n")
    good = o.run_tests("```python\ndef add(a, b):\n    return a + b\n```", suite)
    assert [(name, ok) for name, ok, _ in good] == [("test_add", True), ("test_zero", True)]
    bad = o.run_tests("```python\ndef add(a, b):\n    return a - b\n```", suite)
    assert [ok for _, ok, _ in bad] == [False, True]
    with pytest.raises(o.InvalidInputError, match="suite"):
        o.run_tests("x", "not a suite")  # type: ignore[arg-type]
