"""The Python binding: agents of every shape, errors, cancellation, streaming, scorers, native agents."""
import asyncio
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import typing

import orchestrator as o
import pytest
from conftest import run


class AsyncAgent:
    def __init__(self, i, latency=0.0):
        self.agent_id, self.role, self.latency = f"async-{i}", "DEV", latency
        self.calls = []

    async def generate(self, task, constraints):
        self.calls.append("generate")
        await asyncio.sleep(self.latency)
        return f"{self.agent_id}: {task} with unit tests ({constraints['rubric']})"

    async def critique(self, proposal, rubric):
        self.calls.append("critique")
        return f"{self.agent_id} on {len(proposal)} chars: add error handling"

    async def revise(self, content, feedback):
        self.calls.append("revise")
        return content + "\n" + feedback


class SyncAgent:
    def __init__(self, i):
        self.agent_id, self.role = f"sync-{i}", "DEV"
        self.threads = set()

    def generate(self, task, constraints):
        self.threads.add(threading.get_ident())
        return f"{self.agent_id}: {task}"

    def critique(self, proposal, rubric):
        return "be concrete"

    def revise(self, content, feedback):
        self.threads.add(threading.get_ident())
        return content + " (revised)"


def test_async_agents_protocol_and_typed_results():
    agents = [AsyncAgent(i) for i in range(3)]
    d = o.Deliberation("Build login", rubric="secure", requirements=["unit tests"], agents=agents, rounds=2,
                       scorers=[o.PolicyScorer(), o.RequirementsScorer()])
    r = d.run_sync()
    assert isinstance(r, o.DeliberationResult)
    assert [x.rank for x in r.results] == [1, 2, 3]
    assert r.winner_id == r.winner.proposal.author_id == r.results[0].proposal.author_id
    for a in agents:
        assert a.calls.count("generate") == 1 and a.calls.count("critique") == 2 and a.calls.count("revise") == 2
    for x in r.results:
        assert len(x.proposal.revisions) == 2
        assert {c.name for c in x.checks} == {"policy", "requirements"}
        assert all(isinstance(c, o.Check) for c in x.checks)
    d2 = r.to_dict()
    json.dumps(d2)
    assert d2["winner"]["proposal"]["author_id"] == r.winner_id


def test_sync_agents_run_off_the_loop_thread():
    agents = [SyncAgent(i) for i in range(3)]
    loop_thread = threading.get_ident()
    r = o.Deliberation("t", agents=agents).run_sync()
    assert len(r.results) == 3
    for a in agents:
        assert a.threads and loop_thread not in a.threads


def test_mixed_python_and_native_agents_run_concurrently():
    agents = [AsyncAgent(1, latency=0.2), SyncAgent(2), o.ScriptedAgent("native-1", latency=0.2)]
    started = time.perf_counter()
    r = o.Deliberation("t", agents=agents, rounds=0).run_sync()
    assert time.perf_counter() - started < 0.4, "calls run concurrently, not one after another"
    assert {x.proposal.author_id for x in r.results} == {"async-1", "sync-2", "native-1"}


def test_fleet_shapes_are_accepted_as_they_are():
    seen = {}

    class Fleet:
        agent_id = "fleet-1"
        role = "QA"

        def generate(self, task, constraints, diversity=False):
            seen["diversity"] = diversity
            seen["constraints"] = constraints
            return {"content": f"plan for {task}", "usage": {"prompt_tokens": 7, "completion_tokens": 3}}

        def critique(self, proposal, rubric):
            seen["rubric"] = rubric
            return "tighten"

        def revise(self, content, feedback):
            seen["feedback"] = feedback
            return {"content": content + " v2"}

    class Minimal:
        agent_id = "min-1"
        role = "QA"

        async def generate(self, task):
            return "minimal " + task

        async def critique(self, proposal):
            return "ok"

        async def revise(self, proposal, critiques):
            seen["critiques"] = critiques
            return proposal + " v2"

    r = o.Deliberation("the task", role="QA", rubric="R", requirements=["a"], metadata={"k": "v"},
                       agents=[Fleet(), Minimal()]).run_sync()
    assert seen["diversity"] is True
    assert seen["constraints"]["requirements"] == ["a"] and seen["constraints"]["metadata"] == {"k": "v"}
    assert seen["rubric"] == "R"
    assert isinstance(seen["feedback"], str) and "ok" in seen["feedback"]
    assert seen["critiques"] == ["tighten"], "a parameter named 'critiques' gets the list"
    assert r.usage.per_agent["fleet-1"].prompt_tokens == 7
    assert r.usage.total.total_tokens == 10
    assert {x.proposal.content for x in r.results} == {"plan for the task v2", "minimal the task v2"}


class Boom(ValueError):
    pass


class Raising(AsyncAgent):
    async def generate(self, task, constraints):
        raise Boom("model exploded")


def test_raising_agent_with_quorum_is_recorded_as_failure():
    r = o.Deliberation("t", agents=[AsyncAgent(1), Raising(2), AsyncAgent(3)]).run_sync()
    assert len(r.results) == 2
    (f,) = r.failures
    assert f.agent_id == "async-2" and f.phase == "generate"
    assert "Boom: model exploded" in f.reason


def test_raising_agent_without_quorum_reaches_caller_unchanged():
    with pytest.raises(Boom) as e:
        o.Deliberation("t", agents=[AsyncAgent(1), Raising(2)], quorum=2).run_sync()
    tb = "".join(traceback.format_exception(e.value))
    assert "model exploded" in str(e.value)
    assert "in generate" in tb, "the agent's own frame is in the traceback"
    assert any("quorum not reached" in n for n in getattr(e.value, "__notes__", []))


def test_bad_reply_type_is_a_failure_naming_the_agent():
    class Bad(AsyncAgent):
        async def generate(self, task, constraints):
            return 42

    r = o.Deliberation("t", agents=[AsyncAgent(1), Bad(2)]).run_sync()
    assert "generate() of agent \"async-2\" returned int" in r.failures[0].reason


def test_invalid_input_names_the_field():
    a = [AsyncAgent(1), AsyncAgent(2)]
    cases = [
        (dict(task="  "), "task_description"),
        (dict(task="t", rounds=11), "rounds"),
        (dict(task="t", quorum=3), "quorum"),
        (dict(task="t", topology="star"), "topology"),
        (dict(task="t", deadline=-1.0), "deadline"),
        (dict(task="t", requirements=[f"r{i}" for i in range(101)]), "constraints.requirements"),
    ]
    for kw, field in cases:
        with pytest.raises(o.InvalidInputError, match=field):
            o.Deliberation(agents=a, **kw).run_sync()
    with pytest.raises(o.InvalidInputError, match=r"scorers\[0\].weight"):
        o.Deliberation("t", agents=a, scorers=[(o.PolicyScorer(), 0.0)]).run_sync()
    with pytest.raises(o.InvalidInputError, match="agents"):
        o.Deliberation("t").run_sync()
    with pytest.raises(TypeError, match="agent_id"):
        o.Deliberation("t", agents=[object()])
    assert issubclass(o.InvalidInputError, o.OrchestratorError)


class Slow(AsyncAgent):
    """Sleeps for 10 s; records in ``Slow.cancelled`` when its call is cancelled."""

    cancelled: typing.ClassVar[list] = []

    async def generate(self, task, constraints):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            Slow.cancelled.append(self.agent_id)
            raise
        return "late"


def test_deadline_raises_timeout_and_cancels_agent_tasks():
    cancelled = Slow.cancelled = []

    started = time.perf_counter()
    with pytest.raises(o.DeliberationTimeoutError):
        o.Deliberation("t", agents=[Slow(1), Slow(2)], deadline=0.2).run_sync()
    assert time.perf_counter() - started < 2
    assert sorted(cancelled) == ["async-1", "async-2"]


def test_cancelling_the_python_task_cancels_in_flight_calls():
    cancelled = Slow.cancelled = []

    async def main():
        t = asyncio.ensure_future(o.Deliberation("t", agents=[Slow(1), Slow(2)]).run())
        await asyncio.sleep(0.1)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        await asyncio.sleep(0.05)

    run(main())
    assert sorted(cancelled) == ["async-1", "async-2"]


def test_keyboard_interrupt_in_run_sync_cancels():
    cancelled = Slow.cancelled = []

    timer = threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        o.Deliberation("t", agents=[Slow(1)]).run_sync()
    assert time.perf_counter() - started < 2
    assert cancelled == ["async-1"]


def test_run_sync_from_another_thread_and_not_from_a_running_loop():
    out = {}
    th = threading.Thread(target=lambda: out.update(r=o.Deliberation("t", agents=[AsyncAgent(1)]).run_sync()))
    th.start()
    th.join(10)
    assert out["r"].winner_id == "async-1"

    async def inside():
        with pytest.raises(RuntimeError, match="running event loop"):
            o.Deliberation("t", agents=[AsyncAgent(1)]).run_sync()

    run(inside())


def test_concurrent_runs_on_one_loop():
    async def main():
        ds = [o.Deliberation(f"task {i}", agents=[AsyncAgent(1, 0.05), AsyncAgent(2, 0.05)]) for i in range(50)]
        started = time.perf_counter()
        rs = await asyncio.gather(*[d.run() for d in ds])
        return rs, time.perf_counter() - started

    rs, dt = run(main())
    assert all(len(r.results) == 2 for r in rs)
    assert dt < 1.0, dt


def test_stream_of_events():
    async def main():
        s = o.Deliberation("t", agents=[AsyncAgent(1), AsyncAgent(2), AsyncAgent(3)]).stream()
        types = [e["type"] async for e in s]
        return types, s.result

    types, result = run(main())
    assert types[0] == "deliberation_started" and types[-1] == "completed"
    assert types.count("proposal_generated") == 3
    assert types.count("critique_given") == 3
    assert types.count("proposal_revised") == 3
    assert types.count("proposal_scored") == 3
    assert result is not None and len(result.results) == 3


def test_python_scorers_sync_and_async_and_broken():
    def length(proposal, task):
        assert task["constraints"]["requirements"] == ["x"]
        return {"passed": len(proposal["content"]) > 5, "score": 0.5, "message": "len", "details": {"n": 3}}

    class AsyncJudge:
        name = "async-judge"

        async def check(self, proposal, task):
            return {"passed": True, "score": 1.0, "message": "fine", "details": {"violations": []}}

    def broken(proposal, task):
        return "not a dict"

    r = o.Deliberation("t", requirements=["x"], agents=[AsyncAgent(1)],
                       scorers=[(length, 2.0), AsyncJudge(), broken]).run_sync()
    checks = {c.name: c for c in r.results[0].checks}
    assert checks["length"].score == 0.5 and checks["length"].weight == 2.0
    assert checks["length"].details["extra"]["n"] == "3"
    assert checks["async-judge"].passed
    assert not checks["broken"].passed and checks["broken"].score == 0.0
    assert "could not run" in checks["broken"].message
    assert not r.results[0].all_passed
    assert abs(r.results[0].score - (0.5 * 2 + 1.0 + 0.0) / 4) < 1e-9


def test_native_scorers_and_command_check():
    r = o.Deliberation("t", agents=[o.ScriptedAgent("a", replies=["password = 'hunter22'"])], rounds=0,
                       scorers=[o.PolicyScorer(), o.CommandCheck("grep", "/bin/grep", ["-q", "hunter"], category="lint")]).run_sync()
    checks = {c.name: c for c in r.results[0].checks}
    assert not checks["policy"].passed
    assert checks["grep"].passed and checks["grep"].category == "lint"
    with pytest.raises(o.InvalidInputError, match="input"):
        o.CommandCheck("x", "/bin/true", input="pipe")


class FakeOpenAI(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = f"reply to {body['messages'][-1]['content'][:20]}"
        out = json.dumps({"model": body["model"], "choices": [{"message": {"role": "assistant", "content": text}}],
                          "usage": {"prompt_tokens": 10, "completion_tokens": 4}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def test_rust_llm_agent_against_a_local_fake_server_next_to_python_agents():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        llm = o.LlmAgent("llm-1", "fake-model", base, api_key="sk-secret-value-123")
        assert "sk-secret" not in repr(llm)
        r = o.Deliberation("t", agents=[llm, AsyncAgent(2)]).run_sync()
        assert r.usage.per_agent["llm-1"].prompt_tokens == 30
        assert any(x.proposal.author_id == "llm-1" and x.proposal.content.startswith("reply to") for x in r.results)
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_backend_is_backend_error_when_no_quorum():
    llm = o.LlmAgent("llm-1", "m", "http://127.0.0.1:9", max_attempts=1)
    with pytest.raises(o.BackendError, match="cannot connect"):
        o.Deliberation("t", agents=[llm]).run_sync()


def test_quickstart_example_runs():
    import quickstart

    r = quickstart.main()
    assert len(r.results) == 4
    assert r.usage.total.total_tokens > 0


def test_type_stubs_check_with_mypy(tmp_path):
    import subprocess
    import sys

    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python", "quickstart.py")
    ok = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", example],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("import orchestrator\norchestrator.LlmAgent(agent_id=1, model='m', base_url='u')\n"
                   "r: int = orchestrator.Deliberation('t').run_sync()\n")
    wrong = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(bad)],
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 1, "the stubs must catch wrong types"
    assert "agent_id" in wrong.stdout and "DeliberationResult" in wrong.stdout, wrong.stdout


def test_native_stubs_match_the_compiled_module():
    """mypy.stubtest: _native.pyi says exactly what the compiled module has (names, signatures,
    defaults, final classes)."""
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "orchestrator._native"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_spec_dataclass_mirrors_the_native_one():
    """Deliberation hands one typed DeliberationSpec across the boundary; a wrong type names it."""
    import dataclasses
    fields = {f.name for f in dataclasses.fields(o.DeliberationSpec)}
    assert {"task", "agents", "scorers", "tests", "peer_tests", "seed"} <= fields
    spec = o.DeliberationSpec(**{f: None for f in fields})
    with pytest.raises(TypeError, match="task"):
        o._native.prepare(spec)
