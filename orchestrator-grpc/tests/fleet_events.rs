//! Cluster tier (real nats-server): a `planning.plan.approved` message runs one deliberation per
//! role and each publishes one `orchestration.deliberation.completed` event in the fleet's shape,
//! valid against docs/events/deliberation.schema.json. A malformed message and an unknown role do
//! not stop the others; a redelivered plan does not run a role twice.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use serde_json::Value;

const CONFIG: &str = "
fleet: {dispatch: true}
agents:
  DEV: [{kind: scripted}, {kind: scripted}, {kind: scripted}]
  QA: [{kind: scripted}, {kind: scripted}]
";

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events/deliberation.schema.json"))
        .expect("docs/events/deliberation.schema.json");
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("a valid JSON Schema")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "cluster tier: needs Debian's nats-server (scripts/test-all.sh runs it)"]
async fn an_approved_plan_yields_one_schema_valid_decision_event_per_role() {
    let nats = common::start_nats();
    let server =
        common::Server::start(&[("NATS_URL", nats.url.as_str()), ("ORCHESTRATOR_REPLICA_ID", "r1")], Some(CONFIG));
    let js = jetstream::new(async_nats::connect(nats.url.as_str()).await.unwrap());
    // The events stream covers orchestration.>, 7 days, 50,000 messages.
    let mut events_stream = js.get_stream(orchestrator_grpc::cluster::EVENTS_STREAM).await.unwrap();
    let info = events_stream.info().await.unwrap().config.clone();
    assert_eq!(info.subjects, ["orchestration.>"]);
    assert_eq!((info.max_age, info.max_messages), (Duration::from_secs(7 * 24 * 3600), 50_000));

    let publish = |payload: &'static str| {
        let js = js.clone();
        async move { js.publish("planning.plan.approved", payload.into()).await.unwrap().await.unwrap() }
    };
    publish("{not json").await;
    publish(r#"{"story_id": "story-7", "plan_id": "p-1", "approved_by": "po", "roles": [], "timestamp": 1}"#).await;
    let plan = r#"{"story_id": "story-7", "plan_id": "p-1", "approved_by": "po", "roles": ["DEV", "NOPE", "qa"], "timestamp": 1764450000.5}"#;
    publish(plan).await;

    let consumer = events_stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: "orchestration.deliberation.completed".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let validator = schema();
    let mut by_task: HashMap<String, Value> = HashMap::new();
    let mut count: HashMap<String, usize> = HashMap::new();
    while by_task.len() < 2 {
        let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(20), messages.next()).await else {
            panic!("only {} events arrived: {by_task:?}", by_task.len())
        };
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "event does not match the schema: {errors:?}\n{v}");
        let id = v["task_id"].as_str().unwrap().to_owned();
        *count.entry(id.clone()).or_default() += 1;
        by_task.insert(id, v);
    }
    let mut ids: Vec<&String> = by_task.keys().collect();
    ids.sort();
    assert_eq!(ids, ["plan-p-1-DEV", "plan-p-1-QA"], "one per valid role; NOPE did not stop QA");
    for v in by_task.values() {
        assert_eq!(v["event_type"], "deliberation.completed");
        assert_eq!(v["story_id"], "story-7");
        assert!(v["timestamp"].as_f64().unwrap() > 1.7e9);
        let decisions = v["decisions"].as_array().unwrap();
        assert_eq!(decisions[0]["rank"], 1);
        assert_eq!(decisions[0]["author"], v["winner_id"]);
        assert!(!decisions[0]["checks"].as_array().unwrap().is_empty());
    }
    assert_eq!(by_task["plan-p-1-DEV"]["decisions"].as_array().unwrap().len(), 3);
    assert_eq!(by_task["plan-p-1-QA"]["decisions"].as_array().unwrap().len(), 2);

    // The same plan again (a redelivery): the same task ids, nothing runs twice.
    publish(plan).await;
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(3), messages.next()).await {
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        *count.entry(v["task_id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert!(count.values().all(|&n| n == 1), "a role ran twice: {count:?}");

    // The malformed messages were acknowledged: nothing is left pending or unacknowledged.
    let mut consumer = js
        .get_stream(orchestrator_grpc::dispatch::PLANS_STREAM)
        .await
        .unwrap()
        .get_consumer::<jetstream::consumer::pull::Config>(orchestrator_grpc::dispatch::DURABLE)
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0), "{info:?}");
    drop(server);
}
