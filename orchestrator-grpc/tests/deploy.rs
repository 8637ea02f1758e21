//! The shipped deployment is safe as shipped: its config validates, it is one replica with a
//! volume (or N with NATS), secrets come from Secrets, metrics are not on the public Service, and
//! the image can run the sandbox.

use orchestrator_grpc::ServerConfig as Config;
use serde::Deserialize;
use serde_yaml_ng::Value;

fn docs() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/k8s/orchestrator-service.yaml"))
        .unwrap();
    serde_yaml_ng::Deserializer::from_str(&text).map(|d| Value::deserialize(d).unwrap()).collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn the_manifest_is_safe_as_shipped() {
    let docs = docs();
    let cm = kind(&docs, "ConfigMap", "orchestrator-config");
    let config = Config::from_yaml(cm["data"]["config.yaml"].as_str().unwrap()).unwrap();
    config.validate().unwrap();
    let dep = kind(&docs, "Deployment", "orchestrator");
    let replicas = dep["spec"]["replicas"].as_u64().unwrap();
    let pod = &dep["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let env: Vec<&Value> = container["env"].as_sequence().unwrap().iter().collect();
    let has_nats = env.iter().any(|e| e["name"].as_str() == Some("NATS_URL")) || !config.nats.url.is_empty();
    let pvc = pod["volumes"].as_sequence().unwrap().iter().any(|v| v["persistentVolumeClaim"].is_mapping());
    assert!((replicas == 1 && pvc) || has_nats, "{replicas} replicas need NATS, or one replica a PVC");
    for token in ["ORCHESTRATOR_AUTH_TOKEN", "ORCHESTRATOR_ADMIN_TOKEN"] {
        let e = env.iter().find(|e| e["name"].as_str() == Some(token)).unwrap_or_else(|| panic!("{token} not set"));
        assert!(e["valueFrom"]["secretKeyRef"].is_mapping(), "{token} must come from a Secret");
    }
    let limit = container["resources"]["limits"]["memory"].as_str().unwrap();
    assert!(limit.ends_with("Gi"), "memory limit sized for the request limits: {limit}");
    assert!(config.service.tls_cert.is_some() && config.service.tls_key.is_some(), "TLS on");
    let public = kind(&docs, "Service", "orchestrator");
    assert!(
        public["spec"]["ports"].as_sequence().unwrap().iter().all(|p| p["port"].as_u64() != Some(9090)),
        "metrics must not be on the public Service"
    );
    kind(&docs, "NetworkPolicy", "orchestrator");
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile")).unwrap();
    for pkg in ["bubblewrap", "python3", "util-linux"] {
        assert!(dockerfile.contains(pkg), "the image must carry {pkg} to run verification");
    }
}
