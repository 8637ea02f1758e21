"""w1 and w2 of bench/reference/README.md with Python agents driven through the binding,
next to the pure-Python reference in the same run.

    python orchestrator-py/bench/bench_binding.py [--workload w1|w2|all] [--reference PATH]

The agents are the reference's own Agent class (same texts, same latency); checks are the Rust
policy (the reference's patterns) and requirements scorers. Prints one JSON line per workload
and implementation, plus the per-call crossing cost.
"""
import argparse
import asyncio
import importlib.util
import json
import os
import resource
import time

import orchestrator as o

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REF = os.path.normpath(os.path.join(HERE, "..", "..", "bench", "reference", "reference_asyncio.py"))


def load_reference(path):
    spec = importlib.util.spec_from_file_location("reference_asyncio", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_SCORERS = []


def make(ref, agents, task, rounds=1):
    if not _SCORERS:  # compiled once, like the reference's module-level patterns
        _SCORERS.extend([o.PolicyScorer([(f"p{i}", p.pattern) for i, p in enumerate(ref.POLICY)]),
                         o.RequirementsScorer()])
    return o.Deliberation(task, role="DEV", rubric=ref.CONSTRAINTS["rubric"],
                          requirements=ref.CONSTRAINTS["requirements"], agents=agents, rounds=rounds,
                          scorers=_SCORERS, task_id="bench")


async def w1(ref, count):
    agents = [o._adapt.AgentAdapter(a, "DEV") for a in ref.council(3, 0)]
    t = time.perf_counter()
    for i in range(count):
        r = await make(ref, agents, f"Implement user authentication #{i}").run()
        assert len(r.results) == 3
    dt = time.perf_counter() - t
    return {"workload": "w1", "impl": "rust-core-via-python-binding", "deliberations": count, "wall_s": dt,
            "deliberations_per_s": count / dt, "us_per_deliberation": dt / count * 1e6}


async def fanout(ref, name, n_delib, n_agents, rounds, latency_s):
    agents = [o._adapt.AgentAdapter(a, "DEV") for a in ref.council(n_agents, latency_s)]
    ds = [make(ref, agents, f"task {i}", rounds) for i in range(n_delib)]
    t = time.perf_counter()
    out = await asyncio.gather(*[d.run() for d in ds])
    dt = time.perf_counter() - t
    assert all(len(r.results) == n_agents for r in out)
    ideal = (1 + 2 * rounds) * latency_s
    return {"workload": name, "impl": "rust-core-via-python-binding", "deliberations": n_delib, "agents": n_agents,
            "rounds": rounds, "latency_ms": latency_s * 1000, "wall_s": dt, "ideal_s": ideal, "overhead_s": dt - ideal}


async def crossing_cost(n=20000):
    """Per-call cost of one agent call crossing Rust -> Python -> Rust (async agent, no latency):
    a 1-agent, 0-round deliberation makes one call; subtract the same run with a Rust agent."""
    class A:
        agent_id, role = "a", "DEV"
        async def generate(self, task, constraints): return "x"
        async def critique(self, p, r): return "x"
        async def revise(self, c, f): return "x"
    async def timed(agent):
        d = o.Deliberation("t", agents=[agent], rounds=0)
        t = time.perf_counter()
        for _ in range(n):
            await d.run()
        return (time.perf_counter() - t) / n
    py = await timed(A())
    rust = await timed(o.ScriptedAgent("a"))
    return {"measure": "crossing", "impl": "rust-core-via-python-binding", "us_per_python_call": (py - rust) * 1e6,
            "us_per_run_rust_agent": rust * 1e6, "us_per_run_python_agent": py * 1e6}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", default="all", choices=["w1", "w2", "all"])
    ap.add_argument("--reference", default=DEFAULT_REF)
    ap.add_argument("--count", type=int, default=20000)
    a = ap.parse_args()
    ref = load_reference(a.reference)
    todo = ["w1", "w2"] if a.workload == "all" else [a.workload]
    for w in todo:
        if w == "w1":
            mine = asyncio.run(w1(ref, a.count))
            theirs = asyncio.run(ref.w1(False, a.count))
        else:
            mine = asyncio.run(fanout(ref, "w2", 1000, 3, 1, 0.050))
            theirs = asyncio.run(ref.fanout("w2", 1000, 3, 1, 0.050, False))
        mine["peak_rss_mb"] = rss_mb()
        theirs["impl"] = "python-asyncio"
        theirs["peak_rss_mb"] = rss_mb()
        print(json.dumps(mine), flush=True)
        print(json.dumps(theirs), flush=True)
    print(json.dumps(asyncio.run(crossing_cost())), flush=True)


if __name__ == "__main__":
    main()
