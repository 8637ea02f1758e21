//! Configuration parsing, environment overlay and the agent factory.

use std::collections::HashMap;

use orchestrator_core::llm::Provider;
use orchestrator_core::{spread_temperatures, AgentFactory, Config};

const YAML: &str = r#"
service: {name: orch, port: 6000}
orchestration:
  default_rounds: 2
  default_num_agents: 2
  roles: [DEV, QA]
llm:
  base_url: http://127.0.0.1:8088/v1
  model: base-model
  temperature: 0.6
agents:
  QA:
    - {id: qa-special, model: qa-model, temperature: 0.1, provider: openai}
    - {model: other, endpoint: "http://127.0.0.1:9999"}
"#;

#[test]
fn yaml_env_and_factory_build_councils() {
    let mut c = Config::from_yaml(YAML).unwrap();
    let env: HashMap<&str, &str> =
        [("GRPC_PORT", "7000"), ("LLM_MODEL", "env-model"), ("OPENAI_API_KEY", "sk-abcdefgh")].into();
    c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(c.service.port, 7000);
    assert_eq!(c.llm.model, "env-model");
    assert_eq!(c.llm.endpoint.api_key.expose(), "sk-abcdefgh");
    assert!(!format!("{c:?}").contains("sk-abcdefgh"), "key in Debug output");
    let reg = AgentFactory::new(c).registry().unwrap();
    assert_eq!(reg.roles(), &["DEV".to_owned(), "QA".to_owned()]);
    let dev = reg.council("DEV").unwrap();
    assert_eq!(dev.members.len(), 2);
    assert_eq!(dev.members[0].agent.id(), "agent-dev-001");
    assert_eq!(dev.members[0].meta.model_profile, "env-model");
    assert_eq!(dev.settings.rounds, 2);
    let qa = reg.council("QA").unwrap();
    assert_eq!(qa.members[0].agent.id(), "qa-special");
    assert_eq!(qa.members[0].meta.model_profile, "qa-model");
    assert_eq!(qa.members[0].meta.metadata["temperature"], "0.10");
    assert_eq!(qa.members[1].agent.id(), "agent-qa-002");
    assert_eq!(qa.members[1].meta.endpoint, "http://127.0.0.1:9999");
}

#[test]
fn bad_config_values_name_the_field() {
    let err = Config::from_yaml("orchestration: {default_rounds: many}").unwrap_err();
    assert!(err.to_string().contains("default_rounds"), "{err}");
    let mut c = Config::default();
    let err = c.apply_env(|k| (k == "LLM_TEMPERATURE").then(|| "hot".to_owned())).unwrap_err();
    assert!(err.to_string().contains("LLM_TEMPERATURE"), "{err}");
    let err = c.apply_env(|k| (k == "LLM_PROVIDER").then(|| "cohere".to_owned())).unwrap_err();
    assert!(err.to_string().contains("provider"), "{err}");
    let c = Config::from_yaml("agents: {CHEF: [{model: m, endpoint: 'http://127.0.0.1:1'}]}").unwrap();
    let err = AgentFactory::new(c).registry().unwrap_err();
    assert!(err.to_string().contains("agents.CHEF"), "{err}");
}

#[test]
fn no_llm_configured_means_no_councils() {
    let reg = AgentFactory::new(Config::default()).registry().unwrap();
    assert_eq!(reg.active_councils(), 0);
    assert_eq!(Config::default().llm.endpoint.provider, Provider::Openai);
}

#[test]
fn temperatures_are_spread_for_diversity() {
    assert_eq!(
        spread_temperatures(0.7, 0.2, 3).iter().map(|t| (t * 10.0).round() as i32).collect::<Vec<_>>(),
        vec![5, 7, 9]
    );
    assert_eq!(spread_temperatures(0.0, 0.2, 3)[0], 0.0, "clamped at 0");
}
