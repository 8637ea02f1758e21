//! Decision events in the fleet's shape, published on NATS when a deliberation ends
//! (`docs/EVENTS.md`, schema `docs/events/deliberation.schema.json`).

use serde::{Deserialize, Serialize};

use orchestrator_core::store::{TaskRecord, TaskStatus};

/// Subject of a completed deliberation's event.
pub const COMPLETED_SUBJECT: &str = "orchestration.deliberation.completed";
/// Subject of a failed (or timed out) deliberation's event.
pub const FAILED_SUBJECT: &str = "orchestration.deliberation.failed";

/// One check of a decision.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DecisionCheck {
    /// Check name (policy, requirements, echo, tests, ...).
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Its score, 0..=1.
    pub score: f64,
    /// What it found.
    pub message: String,
}

/// One ranked proposal: a decision of the council.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Decision {
    /// The agent that wrote it.
    pub author: String,
    /// The council's role.
    pub role: String,
    /// The proposal.
    pub content: String,
    /// Weighted score, 0..=1.
    pub score: f64,
    /// Its checks.
    pub checks: Vec<DecisionCheck>,
    /// 1 is the winner.
    pub rank: u32,
}

/// The event of a finished deliberation: the fleet's fields first (`event_type`, `story_id`,
/// `task_id`, `decisions`, `timestamp`), then the service's own.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DeliberationEvent {
    /// `deliberation.completed` or `deliberation.failed`.
    pub event_type: String,
    /// The story: `constraints.metadata["story_id"]`, else the `story-…` part of a task id of the
    /// form `…:story-X:…`, else empty.
    pub story_id: String,
    /// Task id.
    pub task_id: String,
    /// Ranked results, best first (empty when it failed).
    pub decisions: Vec<Decision>,
    /// When it was published, Unix seconds.
    pub timestamp: f64,
    /// Role.
    pub role: String,
    /// COMPLETED, FAILED or TIMEOUT.
    pub status: String,
    /// Winning agent (completed only).
    pub winner_id: String,
    /// Why it failed.
    pub error: String,
    /// Wall time, ms.
    pub duration_ms: f64,
    /// Replica that ran it.
    pub replica: String,
}

/// The story a task belongs to (see [`DeliberationEvent::story_id`]).
pub fn story_id(r: &TaskRecord) -> String {
    if let Some(s) = r.request.constraints.metadata.get("story_id").filter(|s| !s.trim().is_empty()) {
        return s.trim().to_owned();
    }
    r.task_id
        .split(':')
        .find(|part| part.starts_with("story-") && part.len() > "story-".len())
        .unwrap_or_default()
        .to_owned()
}

impl DeliberationEvent {
    /// The event of a finished record, and its subject.
    pub fn of(r: &TaskRecord, replica: &str) -> (&'static str, DeliberationEvent) {
        let completed = r.status == TaskStatus::Completed;
        let decisions = r
            .outcome
            .iter()
            .flat_map(|o| &o.results)
            .map(|x| Decision {
                author: x.proposal.author_id.clone(),
                role: x.proposal.author_role.clone(),
                content: x.proposal.content.clone(),
                score: x.score,
                checks: x
                    .checks
                    .iter()
                    .map(|c| DecisionCheck {
                        name: c.name.clone(),
                        passed: c.passed,
                        score: c.score,
                        message: c.message.clone(),
                    })
                    .collect(),
                rank: x.rank,
            })
            .collect();
        let event = DeliberationEvent {
            event_type: if completed { "deliberation.completed" } else { "deliberation.failed" }.to_owned(),
            story_id: story_id(r),
            task_id: r.task_id.clone(),
            decisions,
            timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            role: r.role.clone(),
            status: r.status.as_str().to_owned(),
            winner_id: r.outcome.as_ref().map(|o| o.winner_id.clone()).unwrap_or_default(),
            error: r.error.clone(),
            duration_ms: r.outcome.as_ref().map(|o| o.duration.as_secs_f64() * 1000.0).unwrap_or(0.0),
            replica: replica.to_owned(),
        };
        (if completed { COMPLETED_SUBJECT } else { FAILED_SUBJECT }, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrator_core::DeliberationRequest;

    fn record(id: &str, story: Option<&str>) -> TaskRecord {
        let mut req = DeliberationRequest::default();
        if let Some(s) = story {
            req.constraints.metadata.insert("story_id".into(), s.into());
        }
        TaskRecord::pending(id.into(), req)
    }

    #[test]
    fn the_story_comes_from_metadata_then_from_the_task_id() {
        assert_eq!(story_id(&record("plan-1:story-42:DEV", Some("S-7"))), "S-7");
        assert_eq!(story_id(&record("plan-1:story-42:DEV", None)), "story-42");
        assert_eq!(story_id(&record("ctx:story-abc", None)), "story-abc");
        assert_eq!(story_id(&record("story-", None)), "");
        assert_eq!(story_id(&record("no-story-here", None)), "");
    }
}
