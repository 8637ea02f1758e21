//! Configuration parsing, environment overlay and the agent factory.

use std::collections::HashMap;

use orchestrator_core::llm::Provider;
use orchestrator_core::store::AgentSpec;
use orchestrator_core::{AgentFactory, Config, ErrorKind};

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
  models: [qa-model]
endpoints:
  other: {base_url: "http://127.0.0.1:9999", models: [other]}
agents:
  QA:
    - {id: qa-special, model: qa-model, temperature: 0.1}
    - {model: other, endpoint: other}
"#;

#[test]
fn yaml_env_and_factory_build_councils() {
    let mut c = Config::from_yaml(YAML).unwrap();
    let env: HashMap<&str, &str> = [("LLM_MODEL", "env-model"), ("OPENAI_API_KEY", "sk-abcdefgh")].into();
    c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
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
    assert_eq!(qa.members[1].meta.endpoint, "other", "listings name the endpoint, not its URL");
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
    let c = Config::from_yaml(
        "{llm: {base_url: 'http://127.0.0.1:1', model: m}, agents: {CHEF: [{model: m, endpoint: default}]}}",
    )
    .unwrap();
    let err = AgentFactory::new(c).registry().unwrap_err();
    assert!(err.to_string().contains("agents.CHEF"), "{err}");
}

#[test]
fn no_llm_configured_means_no_councils() {
    let reg = AgentFactory::new(Config::default()).registry().unwrap();
    assert_eq!(reg.active_councils(), 0);
    assert_eq!(Config::default().llm.endpoint.provider, Provider::Openai);
}

const KEYED: &str = r#"
llm: {base_url: "http://127.0.0.1:8088", model: base-model, models: [big-model]}
endpoints:
  vllm: {base_url: "http://10.0.0.7:8000/v1", api_key_env: VLLM_KEY, models: [coder]}
"#;

fn keyed(extra: &[(&str, &str)]) -> AgentFactory {
    let mut c = Config::from_yaml(KEYED).unwrap();
    let mut env: HashMap<&str, &str> =
        [("OPENAI_API_KEY", "sk-default-0123456789"), ("VLLM_KEY", "sk-vllm-0123456789")].into();
    env.extend(extra.iter().copied());
    c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
    AgentFactory::new(c)
}

fn llm_spec(endpoint: &str, model: &str) -> AgentSpec {
    AgentSpec {
        id: "a".into(),
        kind: orchestrator_core::AgentKind::Llm,
        endpoint: endpoint.into(),
        model: model.into(),
        ..Default::default()
    }
}

#[test]
fn a_key_belongs_only_to_its_named_endpoint() {
    let f = keyed(&[]);
    let (name, cfg, models) = f.resolve_endpoint("").unwrap();
    assert_eq!((name.as_str(), cfg.api_key.expose()), ("default", "sk-default-0123456789"));
    assert_eq!(models, vec!["base-model".to_owned(), "big-model".to_owned()]);
    let (name, cfg, _) = f.resolve_endpoint("vllm").unwrap();
    assert_eq!((name.as_str(), cfg.api_key.expose()), ("vllm", "sk-vllm-0123456789"));
    // The exact base URL (modulo a trailing / or /v1) selects the same endpoint and key.
    let (name, cfg, _) = f.resolve_endpoint("http://10.0.0.7:8000/").unwrap();
    assert_eq!((name.as_str(), cfg.api_key.expose()), ("vllm", "sk-vllm-0123456789"));
    // Any other URL is refused, whatever tricks it carries.
    for url in [
        "http://attacker.example",
        "http://attacker.example/#http://127.0.0.1:8088",
        "http://127.0.0.1:8088/?x=1",
        "http://user@127.0.0.1:8088",
        "http://127.0.0.1:8089",
    ] {
        let err = f.resolve_endpoint(url).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}");
        assert!(err.to_string().contains("endpoint"), "{err}");
        assert!(!err.to_string().contains("sk-"), "{err}");
    }
}

#[test]
fn client_registered_agents_need_the_switch_a_named_endpoint_and_a_listed_model() {
    let f = keyed(&[]);
    let err = f.registered_member("DEV", &llm_spec("default", "base-model")).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let f = keyed(&[("ORCHESTRATOR_ALLOW_REMOTE_AGENTS", "1")]);
    let m = f.registered_member("DEV", &llm_spec("vllm", "coder")).unwrap();
    assert_eq!(m.meta.endpoint, "vllm");
    let err = f.registered_member("DEV", &llm_spec("vllm", "base-model")).err().unwrap();
    assert!(err.to_string().contains("not on the model list"), "{err}");
    let err = f.registered_member("DEV", &llm_spec("http://attacker.example", "coder")).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A stored client agent is checked again when rebuilt: with the switch off it is refused.
    let stored = AgentSpec { registered: true, ..llm_spec("vllm", "coder") };
    assert!(keyed(&[]).stored_member("DEV", &stored).is_err());
    // Operator-built councils also stay on listed models.
    let err = keyed(&[]).member("DEV", &llm_spec("", "gpt-expensive")).err().unwrap();
    assert!(err.to_string().contains("gpt-expensive"), "{err}");
}

#[test]
fn a_named_endpoint_whose_key_variable_is_unset_is_a_config_error() {
    let mut c = Config::from_yaml(KEYED).unwrap();
    let err = c.apply_env(|_| None).unwrap_err();
    assert!(err.to_string().contains("endpoints.vllm.api_key_env"), "{err}");
}
