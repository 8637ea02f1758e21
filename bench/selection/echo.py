"""How the echo check treats HumanEval: every canonical solution written as prompt + body (a real
answer that restates the signature and docstring) should pass; the prompt alone, the prompt with
a filler line, and the prompt re-flowed onto one line should fail.

    python bench/selection/echo.py
"""
import asyncio
import sys

import orchestrator as o
from run import load_problems  # type: ignore[import-not-found]


class Fixed:
    def __init__(self, i: int, text: str) -> None:
        self.agent_id, self.role, self.text = f"a{i}", "DEV", text

    async def generate(self, task: str, constraints: object) -> str:
        return self.text

    async def critique(self, proposal: str, rubric: str) -> str:
        return "ok"

    async def revise(self, content: str, feedback: str) -> str:
        return content


async def main() -> None:
    problems = load_problems()
    kinds = {
        "canonical (prompt + body)": lambda p: p["prompt"] + p["canonical_solution"],
        "prompt only": lambda p: p["prompt"],
        "prompt + 'Here is the code.'": lambda p: "Here is the code.\n" + p["prompt"],
        "prompt on one line": lambda p: " ".join(p["prompt"].split()),
    }
    passed = {k: 0 for k in kinds}
    for p in problems:
        texts = [f(p) for f in kinds.values()]
        r = await o.Deliberation(p["prompt"], agents=[Fixed(i, t) for i, t in enumerate(texts)], rounds=0,
                                 scorers=[o.EchoScorer()]).run()
        by_author = {x.proposal.author_id: x for x in r.results}
        for i, k in enumerate(kinds):
            passed[k] += by_author[f"a{i}"].checks[0].passed
    print(f"echo check on {len(problems)} HumanEval prompts (passes / total)")
    for k, n in passed.items():
        print(f"  {k:<32} {n:>4} / {len(problems)}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
