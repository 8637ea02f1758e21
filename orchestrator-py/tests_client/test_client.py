"""orchestrator.Client / SyncClient against the real binary, beside in-process deliberations, in
one process; status codes onto the exception hierarchy; user-generated stubs beside the package."""
from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import re
import subprocess
import sys
import textwrap

import orchestrator
import pytest
from conftest import ROOT, Server
from orchestrator import Client, DeliberationResult, SyncClient

PROTO = ROOT / "proto" / "orchestrator" / "v1" / "orchestrator.proto"
IN_PROCESS = """
allow_test_agents: true
agents:
  DEV: [{kind: scripted}, {kind: scripted}, {kind: scripted}]
"""
ASK = dict(role="DEV", rubric="Correct and tested.", requirements=["unit tests", "error handling"])


def test_the_wheel_ships_stubs_generated_from_this_proto() -> None:
    from orchestrator.v1 import orchestrator_pb2 as pb
    from orchestrator.v1 import orchestrator_pb2_grpc as pbg

    rpcs = re.findall(r"^\s*rpc (\w+)\(", PROTO.read_text(), re.M)
    service = pb.DESCRIPTOR.services_by_name["OrchestratorService"]
    assert sorted(m.name for m in service.methods) == sorted(rpcs) and len(rpcs) >= 12
    assert hasattr(pbg, "OrchestratorServiceStub")
    fields = {f.name for f in pb.DeliberateRequest.DESCRIPTOR.fields}
    declared = re.search(r"message DeliberateRequest \{(.*?)\n\}", PROTO.read_text(), re.S)
    assert declared is not None
    assert fields == set(re.findall(r"^\s*(?:repeated |map<[^>]+> )?\w+ (\w+) = \d+;", declared.group(1), re.M))
    stubs = pathlib.Path(pb.__file__).parent
    assert (stubs / "orchestrator_pb2.pyi").exists(), "typed stubs ship too"


def test_remote_and_in_process_deliberations_return_the_same_types_in_one_process(server: Server) -> None:
    async def both() -> tuple[DeliberationResult, DeliberationResult]:
        async with Client(server.target) as client:
            remote = await client.deliberate("Implement a login endpoint", **ASK)
        local = await orchestrator.Orchestrator(config_yaml=IN_PROCESS, use_env=False).deliberate(
            "Implement a login endpoint", **ASK)
        return remote, local

    remote, local = asyncio.run(both())
    for r in (remote, local):
        assert isinstance(r, DeliberationResult)
        assert [x.rank for x in r.results] == [1, 2, 3]
        assert r.winner_id == r.results[0].proposal.author_id
        assert r.budget.calls == 9 and r.role == "DEV" and r.rounds == 1
        assert r.strategy == "deliberate" and r.selection_reason
    # The same checks, with categories and weights, the same usage phases, in both.
    def shape(r: DeliberationResult) -> object:
        return ([[(c.name, c.category, c.weight) for c in x.checks] for x in r.results], sorted(r.usage.per_phase))
    assert shape(remote) == shape(local)
    assert (remote.usage.calls, remote.budget.max_calls, remote.budget.max_tokens_total) == (
        local.usage.calls, local.budget.max_calls, local.budget.max_tokens_total)
    assert remote.task_id and remote.duration_ms >= 0
    assert set(dataclasses.asdict(remote)) == set(dataclasses.asdict(local))


def test_stream_submit_result_and_status_async(server: Server) -> None:
    async def go() -> None:
        async with Client(server.target) as client:
            updates = [u async for u in client.stream("Implement a cache", **ASK)]
            assert updates[-1]["status"] == "complete"
            final = updates[-1]["result"]
            assert isinstance(final, DeliberationResult) and len(final.results) == 3
            assert {u["status"] for u in updates[:-1]} <= {"generating", "reviewing", "scoring", "started", "complete"}

            task_id = await client.submit("Implement a queue", task_id="client-test-1", **ASK)
            assert task_id == "client-test-1"
            done = await client.wait(task_id, timeout=20)
            assert isinstance(done, DeliberationResult) and len(done.results) == 3
            got = await client.result(task_id)
            assert got.status == "completed" and got.done and got.result is not None
            assert got.result.winner_id == done.winner_id

            status = await client.status()
            assert status.status == "healthy" and status.total_deliberations >= 2
            assert status.active_councils == 1

    asyncio.run(go())


def test_sync_client_has_the_same_methods_blocking(server: Server) -> None:
    with SyncClient(server.target) as client:
        r = client.deliberate("Implement a parser", **ASK)
        assert isinstance(r, DeliberationResult) and len(r.results) == 3
        updates = list(client.stream("Implement a parser", **ASK))
        assert updates[-1]["status"] == "complete" and isinstance(updates[-1]["result"], DeliberationResult)
        task_id = client.submit("Implement a parser", **ASK)
        assert client.wait(task_id, timeout=20).results
        assert client.result(task_id).status == "completed"
        assert client.status().status == "healthy"
        o = client.orchestrate("Implement a parser", architect=False, **ASK)
        assert isinstance(o, DeliberationResult) and o.results and o.winner_id == o.results[0].proposal.author_id
    # Async and sync methods are the same set.
    public = {n for n in dir(Client) if not n.startswith("_")} - {"close"}
    assert public <= {n for n in dir(SyncClient) if not n.startswith("_")}


def test_status_codes_map_onto_the_exception_hierarchy(server: Server) -> None:
    with SyncClient(server.target) as client:
        with pytest.raises(orchestrator.InvalidInputError, match="INVALID_ARGUMENT"):
            client.deliberate("x", role="DEV", rounds=99)
        with pytest.raises(orchestrator.InvalidInputError):
            client.deliberate("   ", role="DEV")
        with pytest.raises(orchestrator.NoAgentsError):
            client.deliberate("Implement it", role="QA")
        with pytest.raises(orchestrator.NotFoundError):
            client.result("no-such-task")
        with pytest.raises(orchestrator.OrchestratorError):
            client.deliberate("x", role="DEV", rounds=99)  # the base class catches every one
    # Client-side validation raises the same error the in-process Orchestrator raises.
    with SyncClient(server.target) as client, pytest.raises(orchestrator.InvalidInputError, match="rounds"):
        client.deliberate("x", role="DEV", rounds=-1)


def test_a_token_is_sent_and_a_missing_one_is_permission_denied() -> None:
    s = Server({"ORCHESTRATOR_AUTH_TOKEN": "s3cret-token", "ORCHESTRATOR_ADMIN_TOKEN": "s3cret-token"})
    try:
        s.council(token="s3cret-token")
        with SyncClient(s.target) as anonymous, pytest.raises(orchestrator.PermissionDeniedError) as e:
            anonymous.status()
        assert "s3cret" not in str(e.value)
        with SyncClient(s.target, token="s3cret-token") as client:
            assert client.deliberate("Implement a login endpoint", **ASK).results
    finally:
        s.stop()


def test_an_unreachable_service_is_a_backend_error() -> None:
    with SyncClient("127.0.0.1:1", timeout=5) as client, pytest.raises(orchestrator.BackendError, match="UNAVAILABLE"):
        client.status()


def test_stubs_a_user_generates_from_the_proto_import_beside_the_package(tmp_path: pathlib.Path) -> None:
    """The fleet's way: grpcio-tools output on sys.path, the package installed, one process."""
    from grpc_tools import protoc

    out = tmp_path / "gen"
    out.mkdir()
    assert protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}", f"--grpc_python_out={out}",
                        "orchestrator/v1/orchestrator.proto"]) == 0
    script = textwrap.dedent(f"""
        import importlib.util, sys
        sys.path.insert(0, {str(out)!r})
        from orchestrator.v1 import orchestrator_pb2, orchestrator_pb2_grpc
        import orchestrator
        # The user's generated module, loaded from its own file, next to ours.
        spec = importlib.util.spec_from_file_location("user_pb2", {str(out / "orchestrator" / "v1" / "orchestrator_pb2.py")!r})
        user = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(user)
        assert user.DESCRIPTOR.serialized_pb == orchestrator_pb2.DESCRIPTOR.serialized_pb, "same proto, same stubs"
        assert orchestrator_pb2_grpc.OrchestratorServiceStub and orchestrator.Client and orchestrator.Deliberation
        r = orchestrator.Deliberation("Implement login", agents=[orchestrator.ScriptedAgent(f"a{{i}}") for i in range(3)]).run_sync()
        assert len(r.results) == 3
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr
