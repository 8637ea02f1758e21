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
