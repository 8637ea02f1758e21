//! Plan-approved dispatch (`fleet.dispatch: true`): a durable pull consumer on
//! `planning.plan.approved` runs one deliberation per role an approved plan names, with the task
//! "Implement plan {plan_id} for story {story_id}", through the same submission path as the RPC.
//! Each ends with the usual `orchestration.deliberation.completed` event, carrying the story.
//!
//! - A malformed message is acknowledged, counted (`orchestrator_plan_messages_malformed_total`)
//!   and logged; it never becomes work.
//! - One role failing (unknown role, no agents) is counted
//!   (`orchestrator_plan_roles_failed_total`) and logged; the other roles still run.
//! - The task id comes from the plan and the role, so a redelivered message submits the same
//!   tasks again, which is idempotent: no role runs twice. A message is acknowledged once every
//!   role is submitted; when the cluster is unavailable it is redelivered later.

use std::sync::Weak;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, stream, AckKind};
use futures::StreamExt;
use serde::Deserialize;

use orchestrator_core::{Constraints, DeliberationRequest, Error, ErrorKind};

use crate::job::SubmitJobs;

/// The subject approved plans arrive on.
pub const PLAN_SUBJECT: &str = "planning.plan.approved";
/// The durable consumer's name (shared by replicas: each message goes to one of them).
pub const DURABLE: &str = "orchestrator-dispatch";
/// The stream created for [`PLAN_SUBJECT`] when no stream covers it yet.
pub const PLANS_STREAM: &str = "ORCHESTRATOR_PLANS";

/// `planning.plan.approved`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PlanApproved {
    /// The story.
    pub story_id: String,
    /// The plan.
    pub plan_id: String,
    /// Who approved it.
    pub approved_by: String,
    /// Councils to run, one deliberation each.
    pub roles: Vec<String>,
    /// When it was approved, Unix seconds.
    pub timestamp: f64,
}

/// Parse and check a message; why it is malformed otherwise.
pub fn parse(payload: &[u8]) -> Result<PlanApproved, String> {
    let p: PlanApproved = serde_json::from_slice(payload).map_err(|e| format!("not a plan.approved payload: {e}"))?;
    for (field, v) in [("story_id", &p.story_id), ("plan_id", &p.plan_id)] {
        if v.trim().is_empty() {
            return Err(format!("{field} is empty"));
        }
    }
    if p.roles.is_empty() || p.roles.iter().any(|r| r.trim().is_empty()) {
        return Err("roles must name at least one role, none empty".into());
    }
    if p.roles.len() > 16 {
        return Err(format!("roles has {} entries; the limit is 16", p.roles.len()));
    }
    Ok(p)
}

/// The task id of one role of a plan: the same for a redelivered message. Letters, digits, '-',
/// '_' and '=' only (what distributed mode accepts), at most 128 bytes.
pub fn task_id(plan_id: &str, role: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
    };
    let (plan, role) = (clean(plan_id.trim()), clean(&role.trim().to_ascii_uppercase()));
    let id = format!("plan-{plan}-{role}");
    if id.len() <= 128 {
        return id;
    }
    // Too long: a digest of the plan id keeps it unique and stable.
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    plan_id.hash(&mut h);
    format!("plan-{:016x}-{}", h.finish(), &role[..role.len().min(100)])
}

/// The deliberation one role of a plan asks for.
pub fn request(plan: &PlanApproved, role: &str) -> DeliberationRequest {
    let mut constraints = Constraints::default();
    constraints.metadata.insert("story_id".into(), plan.story_id.trim().to_owned());
    constraints.metadata.insert("plan_id".into(), plan.plan_id.trim().to_owned());
    constraints.metadata.insert("approved_by".into(), plan.approved_by.clone());
    DeliberationRequest {
        task_description: format!("Implement plan {} for story {}", plan.plan_id.trim(), plan.story_id.trim()),
        role: role.trim().to_ascii_uppercase(),
        constraints,
        ..Default::default()
    }
}

/// Start consuming: find (or create) the stream that holds [`PLAN_SUBJECT`], attach the
/// durable consumer, and handle messages until the app is dropped.
pub(crate) async fn start(js: jetstream::Context, app: Weak<dyn SubmitJobs>) -> Result<(), Error> {
    let unavailable =
        |what: &str, e: &dyn std::fmt::Display| Error::Unavailable { message: format!("plan dispatch: {what}: {e}") };
    let stream = match js.stream_by_subject(PLAN_SUBJECT).await {
        Ok(name) => js.get_stream(name).await.map_err(|e| unavailable("plans stream", &e))?,
        Err(_) => js
            .get_or_create_stream(stream::Config {
                name: PLANS_STREAM.into(),
                subjects: vec![PLAN_SUBJECT.into()],
                storage: stream::StorageType::File,
                max_age: Duration::from_secs(7 * 24 * 3600),
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("plans stream", &e))?,
    };
    let consumer = stream
        .get_or_create_consumer(
            DURABLE,
            pull::Config {
                durable_name: Some(DURABLE.into()),
                filter_subject: PLAN_SUBJECT.into(),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| unavailable("consumer", &e))?;
    tokio::spawn(async move {
        loop {
            let mut messages = match consumer.messages().await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "plan dispatch: cannot read planning.plan.approved; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Some(msg) = messages.next().await {
                let Ok(msg) = msg else { continue };
                let Some(app) = app.upgrade() else { return };
                handle(app.as_ref(), &msg).await;
            }
        }
    });
    Ok(())
}

async fn handle(app: &dyn SubmitJobs, msg: &jetstream::Message) {
    let plan = match parse(&msg.payload) {
        Ok(p) => p,
        Err(why) => {
            metrics::counter!("orchestrator_plan_messages_malformed_total").increment(1);
            tracing::warn!(%why, bytes = msg.payload.len(), "plan dispatch: malformed planning.plan.approved message acknowledged and dropped");
            let _ = msg.ack().await;
            return;
        }
    };
    let mut later = false;
    for role in &plan.roles {
        let id = task_id(&plan.plan_id, role);
        match app.submit_job(&id, request(&plan, role)).await {
            Ok(()) => tracing::info!(task_id = %id, story_id = %plan.story_id, "plan dispatch: submitted"),
            Err(e)
                if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::ResourceExhausted | ErrorKind::Storage) =>
            {
                tracing::warn!(task_id = %id, error = %e, "plan dispatch: cannot submit now; the message will be redelivered");
                later = true;
            }
            Err(e) => {
                metrics::counter!("orchestrator_plan_roles_failed_total").increment(1);
                tracing::warn!(task_id = %id, role = %role, error = %e, "plan dispatch: this role was not dispatched; the others go on");
            }
        }
    }
    let _ = if later { msg.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await } else { msg.ack().await };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_plans_are_refused_with_a_reason() {
        assert!(parse(b"not json").unwrap_err().contains("not a plan.approved payload"));
        assert!(parse(br#"{"story_id": "s", "plan_id": "p", "approved_by": "a", "roles": [], "timestamp": 1}"#)
            .unwrap_err()
            .contains("roles"));
        assert!(parse(br#"{"story_id": " ", "plan_id": "p", "approved_by": "a", "roles": ["DEV"], "timestamp": 1}"#)
            .unwrap_err()
            .contains("story_id"));
        let ok = parse(br#"{"story_id": "story-1", "plan_id": "p-9", "approved_by": "po", "roles": ["DEV", "qa"], "timestamp": 1764450000.5}"#).unwrap();
        assert_eq!(ok.roles, ["DEV", "qa"]);
    }

    #[test]
    fn task_ids_come_from_plan_and_role_and_fit_distributed_mode() {
        assert_eq!(task_id("p-9", "qa"), "plan-p-9-QA");
        assert_eq!(task_id("p-9", "qa"), task_id("p-9", "QA"), "the same role, the same task");
        assert_eq!(task_id("plans/7:x", "DEV"), "plan-plans_7_x-DEV");
        let long = task_id(&"x".repeat(300), "DEV");
        assert!(long.len() <= 128 && crate::cluster::valid_task_id(&long), "{long}");
        assert_ne!(long, task_id(&"y".repeat(300), "DEV"));
        assert!(crate::cluster::valid_task_id(&task_id("p 1", "DEVOPS")));
    }

    #[test]
    fn the_request_carries_the_story_for_the_event() {
        let plan = parse(
            br#"{"story_id": "story-1", "plan_id": "p-9", "approved_by": "po", "roles": ["dev"], "timestamp": 1}"#,
        )
        .unwrap();
        let r = request(&plan, "dev");
        assert_eq!(r.task_description, "Implement plan p-9 for story story-1");
        assert_eq!((r.role.as_str(), r.constraints.metadata["story_id"].as_str()), ("DEV", "story-1"));
    }
}
