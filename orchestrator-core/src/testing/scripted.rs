//! A scripted agent: replies from lists, optional latency, optional failure on a given call.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::agent::{Agent, AgentReply};
use crate::error::AgentError;
use crate::phase::Phase;
use crate::proposal::{Critique, Proposal};
use crate::task::Task;
use crate::usage::TokenUsage;

/// Call counts of a scripted agent, shared so a test can read them after the agent moved.
#[derive(Debug, Default)]
pub struct CallCounters {
    /// Generate calls started.
    pub generate: AtomicUsize,
    /// Critique calls started.
    pub critique: AtomicUsize,
    /// Revise calls started.
    pub revise: AtomicUsize,
    /// Calls that finished (returned, successfully or not).
    pub finished: AtomicUsize,
    /// Calls whose future was dropped before finishing (cancelled).
    pub cancelled: AtomicUsize,
    /// Calls in flight now.
    pub in_flight: AtomicUsize,
    /// Most calls in flight at once.
    pub max_in_flight: AtomicUsize,
    /// Critiques received by revise calls, summed.
    pub critiques_received: AtomicUsize,
}

impl CallCounters {
    /// Calls started in `phase`.
    pub fn calls(&self, phase: Phase) -> usize {
        match phase {
            Phase::Generate => self.generate.load(Ordering::SeqCst),
            Phase::Critique => self.critique.load(Ordering::SeqCst),
            Phase::Revise => self.revise.load(Ordering::SeqCst),
            _ => 0,
        }
    }
}

struct Guard<'a> {
    c: &'a CallCounters,
    done: bool,
}

impl<'a> Guard<'a> {
    fn new(c: &'a CallCounters) -> Self {
        let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        c.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Guard { c, done: false }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.c.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.done {
            self.c.finished.fetch_add(1, Ordering::SeqCst);
        } else {
            self.c.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// An agent that answers from scripts. Without scripts it answers with text naming itself, the
/// task and the round, so proposals of different agents differ.
#[derive(Clone)]
pub struct ScriptedAgent {
    id: String,
    role: String,
    generate: Vec<String>,
    critique: Vec<String>,
    revise: Vec<String>,
    latency: Duration,
    fail_on: Option<(Phase, usize)>,
    usage: Option<TokenUsage>,
    counters: Arc<CallCounters>,
}

impl ScriptedAgent {
    /// A scripted agent with default replies and no latency.
    pub fn new(id: impl Into<String>, role: impl Into<String>) -> Self {
        ScriptedAgent {
            id: id.into(),
            role: role.into(),
            generate: Vec::new(),
            critique: Vec::new(),
            revise: Vec::new(),
            latency: Duration::ZERO,
            fail_on: None,
            usage: None,
            counters: Arc::new(CallCounters::default()),
        }
    }

    /// Generate replies, used in turn (the last one repeats).
    pub fn generate_replies(mut self, replies: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.generate = replies.into_iter().map(Into::into).collect();
        self
    }

    /// Critique replies, used in turn (the last one repeats).
    pub fn critique_replies(mut self, replies: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.critique = replies.into_iter().map(Into::into).collect();
        self
    }

    /// Revise replies, used in turn (the last one repeats).
    pub fn revise_replies(mut self, replies: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.revise = replies.into_iter().map(Into::into).collect();
        self
    }

    /// Sleep this long in every call (tokio time, so a paused clock controls it).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Fail the `n`-th (1-based) call of `phase`.
    pub fn fail_on(mut self, phase: Phase, n: usize) -> Self {
        self.fail_on = Some((phase, n));
        self
    }

    /// Report this usage on every call.
    pub fn usage(mut self, usage: TokenUsage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// The agent's call counters.
    pub fn counters(&self) -> Arc<CallCounters> {
        self.counters.clone()
    }

    fn pick(list: &[String], n: usize) -> Option<&str> {
        if list.is_empty() {
            None
        } else {
            Some(&list[(n - 1).min(list.len() - 1)])
        }
    }

    async fn answer(&self, phase: Phase, make: impl FnOnce(usize) -> String) -> Result<AgentReply, AgentError> {
        let counter = match phase {
            Phase::Generate => &self.counters.generate,
            Phase::Critique => &self.counters.critique,
            _ => &self.counters.revise,
        };
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let mut guard = Guard::new(&self.counters);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        guard.done = true;
        if self.fail_on == Some((phase, n)) {
            return Err(AgentError::Failed(format!("{}: scripted failure on {phase} call {n}", self.id)));
        }
        Ok(AgentReply { text: make(n), usage: self.usage })
    }
}

#[async_trait]
impl Agent for ScriptedAgent {
    fn id(&self) -> &str {
        &self.id
    }

    fn role(&self) -> &str {
        &self.role
    }

    async fn generate(&self, task: &Task) -> Result<AgentReply, AgentError> {
        self.answer(Phase::Generate, |n| match Self::pick(&self.generate, n) {
            Some(s) => s.to_owned(),
            None => format!("Proposal by {} for: {}", self.id, task.description),
        })
        .await
    }

    async fn critique(&self, _task: &Task, peer: &Proposal) -> Result<AgentReply, AgentError> {
        self.answer(Phase::Critique, |n| match Self::pick(&self.critique, n) {
            Some(s) => s.to_owned(),
            None => format!("Critique by {} of {}: {} chars", self.id, peer.author_id, peer.content.len()),
        })
        .await
    }

    async fn revise(&self, _task: &Task, own: &Proposal, critiques: &[Critique]) -> Result<AgentReply, AgentError> {
        self.counters.critiques_received.fetch_add(critiques.len(), Ordering::SeqCst);
        self.answer(Phase::Revise, |n| match Self::pick(&self.revise, n) {
            Some(s) => s.to_owned(),
            None => {
                let mut text = own.content.clone();
                text.push_str("\n## Revision\n");
                for c in critiques {
                    text.push_str(&c.text[..c.text.len().min(80)]);
                    text.push('\n');
                }
                text
            }
        })
        .await
    }
}
