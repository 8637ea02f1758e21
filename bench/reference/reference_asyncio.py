#!/usr/bin/env python3
"""Pure-Python asyncio reference of the peer-deliberation protocol, for side-by-side benchmarks.

This is the baseline a Python team would write by hand: the same protocol as the Rust engine
(concurrent proposals, ring critique, authors revise their own proposal from the critiques they
received, policy checks, ranking), with asyncio.gather for concurrency. It prints one JSON line
per workload, in the format described in bench/reference/README.md.

    python3 reference_asyncio.py --workload w1      # engine overhead, zero-latency agents
    python3 reference_asyncio.py --workload w2      # 1000 concurrent deliberations, 50 ms agents
    python3 reference_asyncio.py --workload w3      # 5 agents x 3 rounds, 20 ms agents
    python3 reference_asyncio.py --workload all
    python3 reference_asyncio.py --sequential ...   # agent calls one after another, as the original service did
"""
import argparse
import asyncio
import json
import re
import resource
import time

PROPOSAL = (
    "## Approach\nValidate input at the boundary, hash passwords with argon2, issue short-lived JWTs "
    "signed with a rotating key, and keep refresh tokens server-side.\n## Tests\nUnit tests cover "
    "expiry, tampering and replay; property tests cover the token codec.\n## Risks\nClock skew "
    "between services; mitigated with a 30 s leeway.\n"
) * 2  # about 600 bytes

POLICY = [re.compile(p) for p in (r"(?i)api[_-]?key\s*=\s*['\"][^'\"]+", r"(?i)password\s*=\s*['\"]", r"\bTODO\b", r"BEGIN (RSA|EC) PRIVATE KEY")]


class Agent:
    def __init__(self, agent_id, role, latency_s):
        self.agent_id, self.role, self.latency_s = agent_id, role, latency_s

    async def _wait(self):
        if self.latency_s:
            await asyncio.sleep(self.latency_s)

    async def generate(self, task, constraints):
        await self._wait()
        return f"# Proposal by {self.agent_id} for: {task[:60]}\n{PROPOSAL}"

    async def critique(self, proposal, rubric):
        await self._wait()
        return f"Review by {self.agent_id} against '{rubric[:40]}': tighten error handling; {len(proposal)} chars."

    async def revise(self, proposal, critiques):
        await self._wait()
        return proposal + "\n## Revision\n" + "\n".join(c[:80] for c in critiques)


def check(content, requirements):
    violations = [p.pattern for p in POLICY if p.search(content)]
    lowered = content.lower()
    covered = sum(1 for r in requirements if r.lower() in lowered)
    req_score = covered / len(requirements) if requirements else 1.0
    policy_score = 0.0 if violations else 1.0
    return {"policy": {"passed": not violations, "violations": violations}, "score": (policy_score + req_score) / 2}


async def gather(coros, sequential):
    if sequential:
        return [await c for c in coros]
    return await asyncio.gather(*coros)


async def deliberate(task, constraints, agents, rounds, sequential=False):
    start = time.perf_counter()
    proposals = await gather([a.generate(task, constraints) for a in agents], sequential)
    revisions = [[] for _ in agents]
    n = len(agents)
    for _ in range(rounds):
        critiques = await gather(
            [agents[i].critique(proposals[(i + 1) % n], constraints["rubric"]) for i in range(n)], sequential)
        received = [[] for _ in agents]
        for i, c in enumerate(critiques):
            received[(i + 1) % n].append(c)
        new = await gather([agents[j].revise(proposals[j], received[j]) for j in range(n)], sequential)
        for j in range(n):
            revisions[j].append(proposals[j])
        proposals = new
    results = []
    for j, a in enumerate(agents):
        c = check(proposals[j], constraints["requirements"])
        results.append({"author_id": a.agent_id, "author_role": a.role, "content": proposals[j],
                        "revisions": revisions[j], "checks": c, "score": c["score"], "order": j})
    results.sort(key=lambda r: (-r["score"], r["order"]))
    for rank, r in enumerate(results, 1):
        r["rank"] = rank
    return {"results": results, "winner_id": results[0]["author_id"],
            "duration_ms": (time.perf_counter() - start) * 1000}


CONSTRAINTS = {"rubric": "Secure, maintainable code", "requirements": ["Unit tests", "Error handling"]}


def council(n, latency_s):
    return [Agent(f"agent-dev-{i + 1:03d}", "DEV", latency_s) for i in range(n)]


async def w1(seq, count=20000):
    agents = council(3, 0)
    t = time.perf_counter()
    for i in range(count):
        await deliberate(f"Implement user authentication #{i}", CONSTRAINTS, agents, 1, seq)
    dt = time.perf_counter() - t
    return {"workload": "w1", "deliberations": count, "wall_s": dt, "deliberations_per_s": count / dt,
            "us_per_deliberation": dt / count * 1e6}


async def fanout(name, n_delib, n_agents, rounds, latency_s, seq):
    agents = council(n_agents, latency_s)
    t = time.perf_counter()
    out = await asyncio.gather(*[deliberate(f"task {i}", CONSTRAINTS, agents, rounds, seq) for i in range(n_delib)])
    dt = time.perf_counter() - t
    calls_on_path = (1 + 2 * rounds) * (n_agents if seq else 1)
    ideal = calls_on_path * latency_s
    assert all(len(o["results"]) == n_agents for o in out)
    return {"workload": name, "deliberations": n_delib, "agents": n_agents, "rounds": rounds,
            "latency_ms": latency_s * 1000, "wall_s": dt, "ideal_s": ideal, "overhead_s": dt - ideal}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", default="all", choices=["w1", "w2", "w3", "all"])
    ap.add_argument("--sequential", action="store_true")
    ap.add_argument("--concurrency", type=int, default=0, help="deliberations at once in w2/w3 (default 1000/100)")
    a = ap.parse_args()
    todo = ["w1", "w2", "w3"] if a.workload == "all" else [a.workload]
    for w in todo:
        if w == "w1":
            r = asyncio.run(w1(a.sequential))
        elif w == "w2":
            r = asyncio.run(fanout("w2", a.concurrency or 1000, 3, 1, 0.050, a.sequential))
        else:
            r = asyncio.run(fanout("w3", a.concurrency or 100, 5, 3, 0.020, a.sequential))
        r["impl"] = "python-asyncio" + ("-sequential" if a.sequential else "")
        r["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
