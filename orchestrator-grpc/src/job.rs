//! A submitted job as both the local queue and the cluster's workers see it.

use async_trait::async_trait;
use orchestrator_core::store::{TaskRecord, TaskStatus};
use orchestrator_core::{DeliberationOutcome, DeliberationRequest, Error, Event};

/// The result of running one submitted deliberation.
pub(crate) struct JobResult {
    pub(crate) status: TaskStatus,
    pub(crate) outcome: Option<DeliberationOutcome>,
    pub(crate) events: Vec<Event>,
    pub(crate) error: String,
}

/// Runs a submitted job (the service's app); a panic or an over-large result comes back FAILED.
#[async_trait]
pub(crate) trait RunJobs: Send + Sync {
    /// Run `req` as `task_id`; a stored record may take at most `limit` bytes.
    async fn run_job_guarded(&self, task_id: &str, req: &DeliberationRequest, limit: usize) -> JobResult;
}

/// Accepts a submission (the service's app): what plan dispatch submits through.
#[async_trait]
pub(crate) trait SubmitJobs: Send + Sync {
    /// Validate `req` and queue it as `task_id` (idempotent for the same id and request).
    async fn submit_job(&self, task_id: &str, req: DeliberationRequest) -> Result<(), Error>;
}

/// An id resubmitted with another request is ALREADY_EXISTS, never the other request's result.
pub(crate) fn same_request(task_id: &str, existing: &TaskRecord, req: &DeliberationRequest) -> Result<(), Error> {
    if existing.request == *req {
        Ok(())
    } else {
        Err(Error::AlreadyExists { what: "task (with a different request)", id: task_id.to_owned() })
    }
}
