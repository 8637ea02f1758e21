"""orchestrator.Orchestrator: the service's council lifecycle and request resolution, in process,
through the same core facade the gRPC handlers call."""
import orchestrator as o
import pytest

CONFIG = """
allow_test_agents: true
orchestration: {default_num_agents: 3}
"""

PASSING = """
def test_add():
    from solution import add
    assert add(2, 3) == 5
"""


def test_councils_lifecycle_and_a_deliberation():
    orch = o.Orchestrator(config_yaml=CONFIG, use_env=False)
    ids = orch.create_council("dev", agent_type="scripted")
    assert len(ids) == 3
    assert orch.councils()["DEV"] == ids
    with pytest.raises(o.AlreadyExistsError):
        orch.create_council("DEV", agent_type="scripted")
    r = orch.deliberate_sync("Implement login", role="DEV", requirements=["Unit tests"])
    assert len(r.results) == 3 and r.winner_id in ids
    # The service's default scorers come with it.
    assert {c.name for c in r.results[0].checks} >= {"policy", "requirements", "echo"}
    orch.register_agent("DEV", "extra-1", agent_type="scripted")
    assert "extra-1" in orch.councils()["DEV"]
    orch.unregister_agent("DEV", "extra-1")
    assert "extra-1" not in orch.councils()["DEV"]
    assert orch.delete_council("DEV") == 3
    with pytest.raises(o.NoAgentsError):
        orch.deliberate_sync("Implement login", role="DEV")


def test_the_config_rules_of_the_service_hold():
    # No development switch: scripted test agents are refused, as on the service.
    orch = o.Orchestrator(config_yaml="{}", use_env=False)
    with pytest.raises(o.PermissionDeniedError, match="test agents"):
        orch.create_council("DEV", agent_type="scripted")
    # Limits name the field and the limit.
    orch = o.Orchestrator(config_yaml=CONFIG, use_env=False)
    orch.create_council("DEV", agent_type="scripted")
    with pytest.raises(o.InvalidInputError, match="rounds"):
        orch.deliberate_sync("t", role="DEV", rounds=99)
    with pytest.raises(o.InvalidInputError, match="num_agents"):
        orch.create_council("QA", num_agents=1000, agent_type="scripted")
    with pytest.raises(o.InvalidInputError, match="role"):
        orch.create_council("CHEF", agent_type="scripted")
    # An LLM agent needs a configured endpoint; client agents are off by default.
    with pytest.raises(o.OrchestratorError):
        orch.register_agent("DEV", "rogue", endpoint="http://attacker.example/v1", model="m")


def test_tests_travel_with_the_request():
    orch = o.Orchestrator(config_yaml=CONFIG, use_env=False)
    orch.create_council("DEV", agent_type="scripted")
    r = orch.deliberate_sync("Write add(a, b)", role="DEV", rounds=0, tests=[o.TestSuite(PASSING)])
    checks = {c.name for c in r.results[0].checks}
    assert "tests" in checks


def test_a_config_file_path(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(CONFIG)
    orch = o.Orchestrator(p, use_env=False)
    assert orch.create_council("QA", 2, agent_type="scripted")[0].startswith("agent-qa")
    with pytest.raises(o.InvalidInputError, match="not both"):
        o.Orchestrator(p, config_yaml=CONFIG)


def test_strategies_and_budgets_through_the_facade():
    orch = o.Orchestrator(config_yaml=CONFIG + "  # \n", use_env=False)
    orch.create_council("DEV", agent_type="scripted")
    r = orch.deliberate_sync("Implement login", role="DEV", strategy="best_of_n")
    assert r.strategy == "best_of_n" and r.rounds == 0 and r.budget.calls == 3
    r = orch.deliberate_sync("Implement login", role="DEV", max_calls=4)
    assert r.budget.calls == 4 and "max_calls (4)" in (r.budget.exhausted or "")
    # The server's ceiling (limits.max_calls, default 400) cannot be raised by a request.
    with pytest.raises(o.InvalidInputError, match="max_calls"):
        orch.deliberate_sync("Implement login", role="DEV", max_calls=10_000)
    with pytest.raises(o.InvalidInputError, match="strategy"):
        orch.deliberate_sync("Implement login", role="DEV", strategy="debate")


def test_strategies_and_budgets_on_a_deliberation():
    agents = [o.ScriptedAgent(f"a{i}") for i in range(3)]
    r = o.Deliberation("t", agents=agents, strategy="single", seed=7).run_sync()
    assert r.strategy == "single" and len(r.results) == 1 and r.budget.calls == 1
    r = o.Deliberation("t", agents=[o.ScriptedAgent(f"b{i}") for i in range(3)], max_calls=3).run_sync()
    assert r.budget.calls == 3 and r.budget.exhausted
    with pytest.raises(o.InvalidInputError, match="max_calls"):
        o.Deliberation("t", agents=[o.ScriptedAgent("c")], max_calls=0).run_sync()
