//! The round engine: generate concurrently, then per round critique concurrently and let every
//! author revise its own proposal, then score every survivor with every scorer, then rank.

use std::sync::Mutex;
use std::time::Instant;

use futures::future::join_all;
use tokio::sync::Semaphore;

use crate::agent::{Agent, AgentReply};
use crate::budget::Gate;
use crate::check::{aggregate, Check, CheckCategory};
use crate::deliberation::Deliberation;
use crate::error::{AgentError, Error, Result};
use crate::event::Event;
use crate::failure::AgentFailure;
use crate::outcome::{DeliberationOutcome, RankedResult};
use crate::phase::Phase;
use crate::proposal::{now_ms, Critique, Proposal};
use crate::selection::select;
use crate::strategy::Strategy;
use crate::usage::UsageReport;
use crate::verify::{
    cases_check, dual_agreement, peer_suites, CaseResult, SuiteRunner, TestSuite, PEER_TESTS_CHECK, TESTS_CHECK,
};

/// State shared between the run and its deadline guard, so failures recorded before a deadline
/// are still reported.
struct Shared {
    failures: Mutex<Vec<AgentFailure>>,
}

struct Run<'a> {
    d: &'a Deliberation,
    shared: &'a Shared,
    semaphore: Option<Semaphore>,
    usage: UsageReport,
    /// Tests critics sent (when peer tests are on), without duplicates.
    peer_suites: Vec<TestSuite>,
    /// Asked before every call.
    gate: Gate,
}

/// Why a call did not produce a reply.
enum CallError {
    /// The agent failed (recorded as its failure).
    Agent(AgentError),
    /// The budget refused the call; nothing was sent and nobody failed.
    OverBudget,
}

impl Deliberation {
    /// Run the deliberation. Dropping the returned future cancels every in-flight call.
    pub async fn run(&self) -> Result<DeliberationOutcome> {
        run(self).await
    }
}

async fn run(d: &Deliberation) -> Result<DeliberationOutcome> {
    let start = Instant::now();
    let shared = Shared { failures: Mutex::new(Vec::new()) };
    let mut run = Run {
        d,
        shared: &shared,
        semaphore: d.max_concurrency.map(Semaphore::new),
        usage: UsageReport::default(),
        peer_suites: Vec::new(),
        gate: Gate::new(d.budget),
    };
    let outcome = match d.deadline {
        None => run.execute(start).await,
        Some(deadline) => match tokio::time::timeout(deadline, run.execute(start)).await {
            Ok(r) => r,
            Err(_) => Err(Error::DeadlineExceeded { deadline, failures: take_failures(&shared) }),
        },
    };
    if let Err(e) = &outcome {
        tracing::debug!(task_id = %d.task.id, error = %e, "deliberation failed");
    }
    outcome
}

fn take_failures(shared: &Shared) -> Vec<AgentFailure> {
    std::mem::take(&mut *shared.failures.lock().unwrap_or_else(|p| p.into_inner()))
}

/// One surviving agent and its proposal.
struct Slot {
    index: usize,
    proposal: Proposal,
}

impl Run<'_> {
    fn emit(&self, make: impl FnOnce() -> Event) {
        if let Some(sink) = &self.d.events {
            sink.emit(make());
        }
    }

    fn agent(&self, index: usize) -> &dyn Agent {
        self.d.agents[index].as_ref()
    }

    fn fail(&self, index: usize, phase: Phase, round: u32, err: AgentError) {
        let failure = AgentFailure::new(self.agent(index).id(), phase, round, err);
        tracing::debug!(agent = %failure.agent_id, phase = %phase, reason = %failure.reason, "agent failed");
        self.emit(|| Event::AgentFailed { failure: failure.clone() });
        self.shared.failures.lock().unwrap_or_else(|p| p.into_inner()).push(failure);
    }

    /// One agent call under the concurrency limit, the budget and the per-call timeout. An
    /// empty reply is an error: it must never pass for a proposal or a critique.
    async fn call<F>(&self, phase: Phase, fut: F) -> std::result::Result<AgentReply, CallError>
    where
        F: std::future::Future<Output = std::result::Result<AgentReply, AgentError>>,
    {
        let _permit = match &self.semaphore {
            Some(s) => {
                Some(s.acquire().await.map_err(|_| CallError::Agent(AgentError::Failed("engine closed".into())))?)
            }
            None => None,
        };
        // Asked after the permit, so calls queued behind the concurrency limit see what the
        // calls before them spent.
        if !self.gate.admit() {
            return Err(CallError::OverBudget);
        }
        #[cfg(feature = "metrics")]
        let started = Instant::now();
        let reply = match self.d.call_timeout {
            Some(t) => tokio::time::timeout(t, fut).await.unwrap_or(Err(AgentError::Timeout(t))),
            None => fut.await,
        };
        let reply = reply.and_then(|r| {
            if r.text.trim().is_empty() {
                Err(AgentError::Failed("agent returned an empty reply".into()))
            } else {
                Ok(r)
            }
        });
        #[cfg(feature = "metrics")]
        {
            metrics::histogram!("orchestrator_agent_call_seconds", "phase" => phase.as_str())
                .record(started.elapsed().as_secs_f64());
            if let Err(e) = &reply {
                metrics::counter!("orchestrator_agent_call_failures_total", "phase" => phase.as_str(), "kind" => e.kind().as_str())
                    .increment(1);
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = phase;
        self.gate.settle(reply.as_ref().ok().and_then(|r| r.usage).map_or(0, |u| u.total()));
        reply.map_err(CallError::Agent)
    }

    fn record_usage(&mut self, index: usize, phase: Phase, reply: &AgentReply) {
        if let Some(u) = reply.usage {
            let id = self.d.agents[index].id();
            self.usage.record(id, phase, u);
        }
    }

    fn check_quorum(&self, surviving: usize) -> Result<()> {
        if surviving < self.d.quorum {
            return Err(Error::QuorumNotReached {
                quorum: self.d.quorum,
                surviving,
                failures: take_failures(self.shared),
            });
        }
        Ok(())
    }

    async fn execute(&mut self, start: Instant) -> Result<DeliberationOutcome> {
        let d = self.d;
        let task = &*d.task;
        self.emit(|| Event::DeliberationStarted {
            task_id: task.id.clone(),
            agents: d.agents.iter().map(|a| a.id().to_owned()).collect(),
            rounds: d.rounds,
        });

        // Generate.
        let replies = join_all(d.agents.iter().map(|a| self.call(Phase::Generate, a.generate(task)))).await;
        let mut slots = Vec::with_capacity(d.agents.len());
        let generated_at = now_ms();
        for (index, reply) in replies.into_iter().enumerate() {
            match reply {
                Ok(reply) => {
                    self.record_usage(index, Phase::Generate, &reply);
                    self.emit(|| Event::ProposalGenerated {
                        agent_id: d.agents[index].id().to_owned(),
                        content_len: reply.text.len(),
                    });
                    slots.push(Slot {
                        index,
                        proposal: Proposal {
                            author_id: d.agents[index].id().to_owned(),
                            author_role: task.role.clone(),
                            content: reply.text,
                            created_at_ms: generated_at,
                            revisions: Vec::with_capacity(d.rounds as usize),
                        },
                    });
                }
                Err(CallError::Agent(e)) => self.fail(index, Phase::Generate, 0, e),
                Err(CallError::OverBudget) => {}
            }
        }
        self.check_quorum(slots.len())?;

        let mut rounds_run = 0;
        for round in 1..=d.rounds {
            if self.gate.exhausted() {
                break;
            }
            slots = self.review_round(slots, round).await;
            rounds_run = round;
            self.check_quorum(slots.len())?;
        }

        // Score every survivor with every scorer, all at once.
        let mut scored = join_all(slots.iter().map(|s| self.score(&s.proposal))).await;
        if let Some(runner) = &d.peer_tests {
            let peer = self.peer_checks(runner, &slots).await;
            for (checks, p) in scored.iter_mut().zip(peer) {
                checks.extend(p);
            }
        }
        let mut results = Vec::with_capacity(slots.len());
        for (slot, checks) in slots.into_iter().zip(scored) {
            let (score, all_passed) = aggregate(&checks);
            self.emit(|| Event::ProposalScored { agent_id: slot.proposal.author_id.clone(), score, all_passed });
            results.push(RankedResult { proposal: slot.proposal, checks, score, all_passed, rank: 0 });
        }
        let seed = d.seed.unwrap_or_else(rand::random);
        let majority = d.strategy == Strategy::SelfConsistency;
        let selection = select(&mut results, task, d.judge.as_ref(), seed, majority).await;
        let winner_id = results
            .first()
            .map(|r| r.proposal.author_id.clone())
            .ok_or_else(|| Error::Internal { message: "no results after quorum check".into() })?;
        let duration = start.elapsed();
        self.emit(|| Event::Completed { winner_id: winner_id.clone(), duration_ms: duration.as_millis() as u64 });
        Ok(DeliberationOutcome {
            task_id: task.id.clone(),
            role: task.role.clone(),
            results,
            winner_id,
            failures: take_failures(self.shared),
            usage: std::mem::take(&mut self.usage),
            rounds: rounds_run,
            duration,
            selection,
            strategy: d.strategy,
            budget: self.gate.report(),
        })
    }

    /// One review round: critiques concurrently, then every author revises its own proposal from
    /// the critiques it received. Returns the survivors in council order.
    async fn review_round(&mut self, slots: Vec<Slot>, round: u32) -> Vec<Slot> {
        let d = self.d;
        let task = &*d.task;
        let pairs = d.topology.pairs(slots.len());
        if pairs.is_empty() {
            return slots;
        }
        let critiques =
            join_all(pairs.iter().map(|&(r, a)| {
                self.call(Phase::Critique, self.agent(slots[r].index).critique(task, &slots[a].proposal))
            }))
            .await;
        let mut failed = vec![false; slots.len()];
        let mut received: Vec<Vec<Critique>> = (0..slots.len()).map(|_| Vec::new()).collect();
        for (&(r, a), reply) in pairs.iter().zip(critiques) {
            let reviewer = slots[r].index;
            match reply {
                Ok(reply) => {
                    self.record_usage(reviewer, Phase::Critique, &reply);
                    let reviewer_id = d.agents[reviewer].id();
                    self.emit(|| Event::CritiqueGiven {
                        reviewer_id: reviewer_id.to_owned(),
                        author_id: slots[a].proposal.author_id.clone(),
                        round,
                    });
                    if self.d.peer_tests.is_some() {
                        let lang = task.constraints.tests.first().map_or_else(|| "python".to_owned(), |t| t.lang());
                        for suite in peer_suites(reviewer_id, &reply.text, &lang) {
                            if !self.peer_suites.iter().any(|s| s.code == suite.code) {
                                self.peer_suites.push(suite);
                            }
                        }
                    }
                    received[a].push(Critique {
                        reviewer_id: reviewer_id.to_owned(),
                        author_id: slots[a].proposal.author_id.clone(),
                        round,
                        text: reply.text,
                    });
                }
                Err(CallError::Agent(e)) => {
                    if !failed[r] {
                        failed[r] = true;
                        self.fail(reviewer, Phase::Critique, round, e);
                    }
                }
                Err(CallError::OverBudget) => {}
            }
        }

        // Authors revise their own proposals; an author with no critiques keeps its text.
        let to_revise: Vec<usize> = (0..slots.len()).filter(|&i| !failed[i] && !received[i].is_empty()).collect();
        let revised = join_all(to_revise.iter().map(|&i| {
            self.call(Phase::Revise, self.agent(slots[i].index).revise(task, &slots[i].proposal, &received[i]))
        }))
        .await;
        let mut new_text: Vec<Option<std::result::Result<AgentReply, CallError>>> =
            (0..slots.len()).map(|_| None).collect();
        for (i, r) in to_revise.into_iter().zip(revised) {
            new_text[i] = Some(r);
        }
        let mut survivors = Vec::with_capacity(slots.len());
        for (i, (mut slot, text)) in slots.into_iter().zip(new_text).enumerate() {
            if failed[i] {
                continue;
            }
            match text {
                None => survivors.push(slot),
                Some(Ok(reply)) => {
                    self.record_usage(slot.index, Phase::Revise, &reply);
                    self.emit(|| Event::ProposalRevised {
                        agent_id: slot.proposal.author_id.clone(),
                        round,
                        content_len: reply.text.len(),
                    });
                    let old = std::mem::replace(&mut slot.proposal.content, reply.text);
                    slot.proposal.revisions.push(old);
                    survivors.push(slot);
                }
                Some(Err(CallError::Agent(e))) => self.fail(slot.index, Phase::Revise, round, e),
                // Not revised: the budget ran out; the proposal stands as it is.
                Some(Err(CallError::OverBudget)) => survivors.push(slot),
            }
        }
        survivors
    }

    /// Run every critic's test against every proposal; one `peer_tests` check per proposal,
    /// scored by dual agreement (tests that fail every proposal count for nothing). Weighted
    /// half of the task's tests check when there is one, else 1.
    async fn peer_checks(&self, runner: &SuiteRunner, slots: &[Slot]) -> Vec<Option<Check>> {
        if self.peer_suites.is_empty() {
            return slots.iter().map(|_| None).collect();
        }
        let runs = join_all(slots.iter().map(|s| async move {
            let mut cases = Vec::new();
            for suite in &self.peer_suites {
                match runner.run(suite, &s.proposal.content).await {
                    Ok(c) => cases.extend(c),
                    Err(e) => return Err(e),
                }
            }
            Ok(cases)
        }))
        .await;
        let weight = self.d.scorers.iter().find(|s| s.scorer.name() == TESTS_CHECK).map_or(1.0, |s| s.weight / 2.0);
        if let Some(Err(e)) = runs.iter().find(|r| r.is_err()) {
            let mut c = Check::new(
                PEER_TESTS_CHECK,
                CheckCategory::Other,
                false,
                0.0,
                format!("peer tests could not run: {e}"),
            );
            c.weight = weight;
            return slots.iter().map(|_| Some(c.clone())).collect();
        }
        let cases: Vec<Vec<CaseResult>> = runs.into_iter().map(|r| r.unwrap_or_default()).collect();
        let outcomes: Vec<Vec<bool>> = cases.iter().map(|c| c.iter().map(|k| k.passed).collect()).collect();
        let agreement = dual_agreement(&outcomes);
        cases
            .into_iter()
            .zip(agreement)
            .map(|(c, a)| {
                let mut check = cases_check(PEER_TESTS_CHECK, c);
                check.message = format!("{}; dual agreement {a:.2}", check.message);
                check.score = a;
                check.passed = a >= 1.0;
                check.weight = weight;
                Some(check)
            })
            .collect()
    }

    async fn score(&self, proposal: &Proposal) -> Vec<Check> {
        let task = &*self.d.task;
        let checks = join_all(self.d.scorers.iter().map(|ws| async move {
            let mut check = match ws.scorer.check(proposal, task).await {
                Ok(c) => c,
                Err(e) => Check::new(
                    ws.scorer.name(),
                    CheckCategory::Other,
                    false,
                    0.0,
                    format!("check {} could not run: {e}", ws.scorer.name()),
                ),
            };
            check.score = crate::check::clamp_score(check.score);
            check.weight = ws.weight;
            check
        }))
        .await;
        checks
    }
}

/// The run future must be `Send` so callers can spawn it.
#[allow(dead_code)]
fn assert_send(d: &'static Deliberation) {
    fn is_send<T: Send>(_: T) {}
    is_send(run(d));
}
