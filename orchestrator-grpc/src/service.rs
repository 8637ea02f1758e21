//! `OrchestratorService`: each RPC converts its request, calls the core and maps errors.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use orchestrator_core::{Error, Event, RunOptions};
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use crate::app::OrchestratorApp;
use crate::convert;
use crate::metrics::execution_id;
use crate::pb;
use crate::pb::orchestrator_service_server::OrchestratorService;
use crate::status::{to_status, AppError, AppResult};

type Rpc<T> = Result<Response<T>, Status>;

/// The `grpc-timeout` header of a request, if any.
fn grpc_timeout<T>(req: &Request<T>) -> Option<Duration> {
    let v = req.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (num, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Aborts the background deliberation when the client's stream goes away.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The update stream of StreamDeliberation.
pub struct UpdateStream {
    rx: mpsc::Receiver<Result<pb::DeliberationUpdate, Status>>,
    _guard: AbortOnDrop,
}

impl Stream for UpdateStream {
    type Item = Result<pb::DeliberationUpdate, Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

fn update(status: &str, progress: i32, step: String, agent: String) -> pb::DeliberationUpdate {
    pb::DeliberationUpdate {
        status: status.into(),
        progress_percent: progress,
        current_step: step,
        current_agent: agent,
        partial_result: None,
    }
}

fn council_info(c: &orchestrator_core::Council, include_agents: bool) -> pb::CouncilInfo {
    pb::CouncilInfo {
        council_id: c.id.clone(),
        role: c.role.clone(),
        num_agents: c.members.len() as i32,
        agents: if include_agents {
            c.members
                .iter()
                .map(|m| pb::AgentInfo {
                    agent_id: m.agent.id().to_owned(),
                    role: c.role.clone(),
                    status: "ready".into(),
                    capabilities: Some(pb::AgentCapabilities {
                        supported_tasks: m.meta.supported_tasks.clone(),
                        model_profile: m.meta.model_profile.clone(),
                        max_concurrent_tasks: m.meta.max_concurrent_tasks as i32,
                        languages: m.meta.languages.clone(),
                    }),
                })
                .collect()
        } else {
            Vec::new()
        },
        status: if c.members.is_empty() { "empty".into() } else { "active".into() },
        model: c.settings.model_profile.clone(),
    }
}

impl OrchestratorApp {
    async fn deliberate_rpc(
        self: &Arc<Self>,
        request: Request<pb::DeliberateRequest>,
    ) -> AppResult<Response<pb::DeliberateResponse>> {
        let _permit = self.admit()?;
        let deadline = grpc_timeout(&request);
        let execution_id = execution_id(&request);
        let req = convert::request(request.into_inner())?;
        let d = self.build(&req, None, deadline)?;
        let out = self.run(&d).await?;
        Ok(Response::new(convert::deliberate_response(&out, &execution_id)))
    }

    async fn orchestrate_rpc(
        self: &Arc<Self>,
        request: Request<pb::OrchestrateRequest>,
    ) -> AppResult<Response<pb::OrchestrateResponse>> {
        let _permit = self.admit()?;
        let deadline = grpc_timeout(&request);
        let execution_id = execution_id(&request);
        let (dreq, options, task_id) = convert::orchestrate_request(request.into_inner())?;
        let run = RunOptions { task_id, rounds: None, client_deadline: deadline };
        let started = Instant::now();
        let o = self.run_orchestration(&self.core.orchestration_for(&dreq, &options, run)?).await?;
        // The RPC's execution id (also on its log span) identifies the orchestration.
        let mut metadata = convert::metadata(&o.deliberation, &execution_id);
        metadata.tags.insert("architect".into(), o.architect.clone());
        if let Some(f) = &o.architect_fallback {
            metadata.tags.insert("architect_fallback".into(), f.clone());
        }
        Ok(Response::new(pb::OrchestrateResponse {
            winner: Some(convert::result(&o.winner)),
            candidates: o.candidates.iter().map(convert::result).collect(),
            execution_id: execution_id.clone(),
            duration_ms: started.elapsed().as_millis() as i64,
            metadata: Some(metadata),
            selection_reason: o.reason.clone(),
        }))
    }

    async fn get_status_rpc(
        self: &Arc<Self>,
        request: Request<pb::GetStatusRequest>,
    ) -> AppResult<Response<pb::GetStatusResponse>> {
        let stats = request.into_inner().include_stats.then(|| {
            let s = self.stats.snapshot();
            pb::OrchestratorStats {
                total_deliberations: s.total_deliberations as i64,
                total_orchestrations: s.total_orchestrations as i64,
                avg_deliberation_time_ms: s.avg_deliberation_ms,
                active_councils: self.registry().active_councils() as i32,
                role_counts: s.role_counts.into_iter().map(|(k, v)| (k, v as i64)).collect(),
            }
        });
        Ok(Response::new(pb::GetStatusResponse {
            status: "healthy".into(),
            uptime_seconds: self.started.elapsed().as_secs() as i64,
            stats,
        }))
    }

    async fn stream_deliberation_rpc(
        self: &Arc<Self>,
        request: Request<pb::DeliberateRequest>,
    ) -> AppResult<Response<UpdateStream>> {
        let permit = self.admit()?;
        let deadline = grpc_timeout(&request);
        let execution_id = execution_id(&request);
        let req = convert::request(request.into_inner())?;
        let mut d = self.build(&req, None, deadline)?;
        let n = d.agents().len();
        let rounds = d.rounds() as usize;
        let total = (n + rounds * 2 * n + n).max(1);
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
        d.set_events(Some(Arc::new(ev_tx)));
        let (tx, rx) = mpsc::channel(64);
        let app = self.clone();
        let handle = tokio::spawn(async move {
            let _permit = permit;
            let run = app.run(&d);
            tokio::pin!(run);
            let mut done = 0usize;
            let mut progress = |e: Event| -> Option<pb::DeliberationUpdate> {
                let (status, step, agent) = match e {
                    Event::DeliberationStarted { agents, .. } => {
                        ("generating", format!("started with {} agents", agents.len()), String::new())
                    }
                    Event::ProposalGenerated { agent_id, .. } => {
                        done += 1;
                        ("generating", "proposal generated".into(), agent_id)
                    }
                    Event::CritiqueGiven { reviewer_id, author_id, round } => {
                        done += 1;
                        ("reviewing", format!("round {round}: critique of {author_id}"), reviewer_id)
                    }
                    Event::ProposalRevised { agent_id, round, .. } => {
                        done += 1;
                        ("reviewing", format!("round {round}: proposal revised"), agent_id)
                    }
                    Event::ProposalScored { agent_id, score, .. } => {
                        done += 1;
                        ("scoring", format!("scored {score:.3}"), agent_id)
                    }
                    Event::AgentFailed { failure } => (
                        "reviewing",
                        format!("agent failed in {}: {}", failure.phase, failure.reason),
                        failure.agent_id,
                    ),
                    Event::Completed { .. } => return None,
                };
                Some(update(status, ((done * 100) / total).min(99) as i32, step, agent))
            };
            // Progress updates never wait for the reader: when its buffer is full they are
            // dropped, so a reader that stops reading cannot freeze the deliberation (and the
            // endpoint slots it holds). The final update always goes out.
            let mut dropped = 0usize;
            let mut offer = |u: pb::DeliberationUpdate| match tx.try_send(Ok(u)) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    dropped += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            };
            let result = loop {
                tokio::select! {
                    biased;
                    Some(e) = ev_rx.recv() => {
                        if let Some(u) = progress(e) {
                            if !offer(u) { return; }
                        }
                    }
                    r = &mut run => break r,
                }
            };
            // Events emitted in the run's last poll.
            while let Ok(e) = ev_rx.try_recv() {
                if let Some(u) = progress(e) {
                    if !offer(u) {
                        return;
                    }
                }
            }
            if dropped > 0 {
                tracing::debug!(dropped, "slow stream reader: dropped progress updates");
            }
            match result {
                Ok(out) => {
                    let mut u = update("complete", 100, "complete".into(), out.winner_id.clone());
                    u.partial_result = Some(convert::deliberate_response(&out, &execution_id));
                    let _ = tx.send(Ok(u)).await;
                }
                Err(e) => {
                    let _ = tx.send(Ok(update("failed", 100, e.to_string(), String::new()))).await;
                    let _ = tx.send(Err(to_status(e))).await;
                }
            }
        });
        Ok(Response::new(UpdateStream { rx, _guard: AbortOnDrop(handle) }))
    }

    async fn submit_deliberation_rpc(
        self: &Arc<Self>,
        request: Request<pb::SubmitDeliberationRequest>,
    ) -> AppResult<Response<pb::SubmitDeliberationResponse>> {
        let req = request.into_inner();
        let retry = req.retry;
        let inner = req.request.ok_or_else(|| AppError::from(Error::invalid("request", "is required")))?;
        let task_id =
            if req.task_id.trim().is_empty() { orchestrator_core::new_id() } else { req.task_id.trim().to_owned() };
        if task_id.len() > 128 {
            return Err(AppError::from(Error::invalid(
                "task_id",
                format!("is {} bytes; the limit is 128 bytes", task_id.len()),
            )));
        }
        self.submit(&task_id, convert::request(inner)?, retry).await?;
        Ok(Response::new(pb::SubmitDeliberationResponse { task_id }))
    }

    async fn get_deliberation_result_rpc(
        self: &Arc<Self>,
        request: Request<pb::GetDeliberationResultRequest>,
    ) -> AppResult<Response<pb::GetDeliberationResultResponse>> {
        let id = request.into_inner().task_id;
        if id.trim().is_empty() || id.len() > 128 {
            return Err(AppError::from(Error::invalid(
                "task_id",
                format!("is {} bytes; it must be 1 to 128 bytes", id.len()),
            )));
        }
        let rec = self
            .task_record(&id)
            .await?
            .ok_or_else(|| AppError::from(Error::NotFound { what: "task", id: id.clone() }))?;
        Ok(Response::new(convert::task_response(&rec)))
    }

    async fn create_council_rpc(
        self: &Arc<Self>,
        request: Request<pb::CreateCouncilRequest>,
    ) -> AppResult<Response<pb::CreateCouncilResponse>> {
        self.require_admin(&request)?;
        let c = self.core.create_council(convert::council_request(request.into_inner())).await?;
        let ids: Vec<String> = c.members.iter().map(|m| m.agent.id().to_owned()).collect();
        Ok(Response::new(pb::CreateCouncilResponse {
            council_id: c.id,
            agents_created: ids.len() as i32,
            agent_ids: ids,
        }))
    }

    async fn list_councils_rpc(
        self: &Arc<Self>,
        request: Request<pb::ListCouncilsRequest>,
    ) -> AppResult<Response<pb::ListCouncilsResponse>> {
        let req = request.into_inner();
        let filter = Some(req.role_filter.as_str()).filter(|r| !r.trim().is_empty());
        let councils = self.registry().list(filter)?;
        Ok(Response::new(pb::ListCouncilsResponse {
            councils: councils.iter().map(|c| council_info(c, req.include_agents)).collect(),
        }))
    }

    async fn delete_council_rpc(
        self: &Arc<Self>,
        request: Request<pb::DeleteCouncilRequest>,
    ) -> AppResult<Response<pb::DeleteCouncilResponse>> {
        self.require_admin(&request)?;
        let c = self.core.delete_council(&request.into_inner().role).await?;
        Ok(Response::new(pb::DeleteCouncilResponse {
            success: true,
            message: format!("council {} deleted", c.id),
            agents_removed: c.members.len() as i32,
        }))
    }

    async fn register_agent_rpc(
        self: &Arc<Self>,
        request: Request<pb::RegisterAgentRequest>,
    ) -> AppResult<Response<pb::RegisterAgentResponse>> {
        self.require_admin(&request)?;
        let reg = convert::agent_registration(request.into_inner());
        let id = reg.agent_id.trim().to_owned();
        let council_id = self.core.register_agent(reg).await?;
        Ok(Response::new(pb::RegisterAgentResponse {
            success: true,
            message: format!("agent {id} registered"),
            council_id,
        }))
    }

    async fn unregister_agent_rpc(
        self: &Arc<Self>,
        request: Request<pb::UnregisterAgentRequest>,
    ) -> AppResult<Response<pb::UnregisterAgentResponse>> {
        self.require_admin(&request)?;
        let req = request.into_inner();
        self.core.unregister_agent(&req.role, &req.agent_id).await?;
        Ok(Response::new(pb::UnregisterAgentResponse {
            success: true,
            message: format!("agent {} unregistered", req.agent_id),
        }))
    }

    async fn get_metrics_rpc(
        self: &Arc<Self>,
        _request: Request<pb::GetMetricsRequest>,
    ) -> AppResult<Response<pb::GetMetricsResponse>> {
        let s = self.stats.snapshot();
        let councils = self.registry().list(None)?;
        let per_role = self.registry().agents_per_role();
        let total_agents: usize = per_role.values().sum();
        let success_rate = if s.total_deliberations > 0 {
            1.0 - s.failed_deliberations as f64 / s.total_deliberations as f64
        } else {
            1.0
        };
        Ok(Response::new(pb::GetMetricsResponse {
            performance: Some(pb::PerformanceMetrics {
                avg_deliberation_ms: s.avg_deliberation_ms,
                avg_orchestration_ms: s.avg_orchestration_ms,
                p50_latency_ms: s.p50_ms,
                p95_latency_ms: s.p95_ms,
                p99_latency_ms: s.p99_ms,
            }),
            agents: Some(pb::AgentMetrics {
                total_agents: total_agents as i32,
                active_agents: total_agents as i32,
                agents_per_role: per_role.into_iter().map(|(k, v)| (k, v as i32)).collect(),
                avg_agent_response_time_ms: 0.0,
            }),
            councils: Some(pb::CouncilMetrics {
                total_councils: councils.len() as i32,
                active_councils: councils.iter().filter(|c| !c.members.is_empty()).count() as i32,
                health_per_council: councils
                    .iter()
                    .map(|c| {
                        (
                            c.id.clone(),
                            pb::CouncilHealth {
                                status: if c.members.is_empty() { "empty".into() } else { "healthy".into() },
                                available_agents: c.members.len() as i32,
                                busy_agents: 0,
                                success_rate,
                            },
                        )
                    })
                    .collect(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl OrchestratorService for Arc<OrchestratorApp> {
    type StreamDeliberationStream = UpdateStream;

    async fn deliberate(&self, request: Request<pb::DeliberateRequest>) -> Rpc<pb::DeliberateResponse> {
        Ok(self.deliberate_rpc(request).await?)
    }

    async fn orchestrate(&self, request: Request<pb::OrchestrateRequest>) -> Rpc<pb::OrchestrateResponse> {
        Ok(self.orchestrate_rpc(request).await?)
    }

    async fn get_status(&self, request: Request<pb::GetStatusRequest>) -> Rpc<pb::GetStatusResponse> {
        Ok(self.get_status_rpc(request).await?)
    }

    async fn stream_deliberation(&self, request: Request<pb::DeliberateRequest>) -> Rpc<UpdateStream> {
        Ok(self.stream_deliberation_rpc(request).await?)
    }

    async fn submit_deliberation(
        &self,
        request: Request<pb::SubmitDeliberationRequest>,
    ) -> Rpc<pb::SubmitDeliberationResponse> {
        Ok(self.submit_deliberation_rpc(request).await?)
    }

    async fn get_deliberation_result(
        &self,
        request: Request<pb::GetDeliberationResultRequest>,
    ) -> Rpc<pb::GetDeliberationResultResponse> {
        Ok(self.get_deliberation_result_rpc(request).await?)
    }

    async fn create_council(&self, request: Request<pb::CreateCouncilRequest>) -> Rpc<pb::CreateCouncilResponse> {
        Ok(self.create_council_rpc(request).await?)
    }

    async fn list_councils(&self, request: Request<pb::ListCouncilsRequest>) -> Rpc<pb::ListCouncilsResponse> {
        Ok(self.list_councils_rpc(request).await?)
    }

    async fn delete_council(&self, request: Request<pb::DeleteCouncilRequest>) -> Rpc<pb::DeleteCouncilResponse> {
        Ok(self.delete_council_rpc(request).await?)
    }

    async fn register_agent(&self, request: Request<pb::RegisterAgentRequest>) -> Rpc<pb::RegisterAgentResponse> {
        Ok(self.register_agent_rpc(request).await?)
    }

    async fn unregister_agent(&self, request: Request<pb::UnregisterAgentRequest>) -> Rpc<pb::UnregisterAgentResponse> {
        Ok(self.unregister_agent_rpc(request).await?)
    }

    async fn get_metrics(&self, request: Request<pb::GetMetricsRequest>) -> Rpc<pb::GetMetricsResponse> {
        Ok(self.get_metrics_rpc(request).await?)
    }
}
