//! Behaviour agents, after the replaced system's mock agents: excellent, poor, verbose, concise,
//! error-prone, inconsistent and stubborn.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::agent::{Agent, AgentReply};
use crate::error::AgentError;
use crate::proposal::{Critique, Proposal};
use crate::task::Task;

/// How a [`BehaviourAgent`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Thorough: addresses every requirement, no policy violations.
    Excellent,
    /// Sloppy: ignores requirements and hard-codes a credential.
    Poor,
    /// Long-winded: addresses requirements at great length.
    Verbose,
    /// Short but addresses requirements.
    Concise,
    /// Fails every second call.
    ErrorProne,
    /// Alternates between excellent and poor work.
    Inconsistent,
    /// Never changes its proposal when revising.
    Stubborn,
}

/// An agent whose output follows a [`Behaviour`].
#[derive(Debug)]
pub struct BehaviourAgent {
    id: String,
    role: String,
    behaviour: Behaviour,
    calls: AtomicUsize,
}

impl BehaviourAgent {
    /// A new agent.
    pub fn new(id: impl Into<String>, role: impl Into<String>, behaviour: Behaviour) -> Self {
        BehaviourAgent { id: id.into(), role: role.into(), behaviour, calls: AtomicUsize::new(0) }
    }

    fn excellent(task: &Task) -> String {
        let mut s = format!("## Proposal for: {}\n\n### Approach\n", task.description);
        s.push_str("Validate every input at the boundary and return typed errors.\n");
        for r in &task.constraints.requirements {
            s.push_str(&format!("- {r}: addressed explicitly with a dedicated module and tests.\n"));
        }
        s.push_str("\n### Tests\nUnit tests and property tests cover error handling and edge cases.\n");
        s
    }

    fn poor(task: &Task) -> String {
        format!("do {} quickly\npassword = \"hunter2\"\n", task.description)
    }

    fn text(&self, task: &Task, n: usize) -> String {
        match self.behaviour {
            Behaviour::Excellent | Behaviour::Stubborn | Behaviour::ErrorProne => Self::excellent(task),
            Behaviour::Poor => Self::poor(task),
            Behaviour::Verbose => Self::excellent(task).repeat(8),
            Behaviour::Concise => {
                let reqs = task.constraints.requirements.join("; ");
                format!("{}: {reqs}.", task.description)
            }
            Behaviour::Inconsistent => {
                if n % 2 == 1 {
                    Self::excellent(task)
                } else {
                    Self::poor(task)
                }
            }
        }
    }

    fn next(&self) -> Result<usize, AgentError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.behaviour == Behaviour::ErrorProne && n % 2 == 1 {
            return Err(AgentError::Failed(format!("{}: error-prone agent failed on call {n}", self.id)));
        }
        Ok(n)
    }
}

#[async_trait]
impl Agent for BehaviourAgent {
    fn id(&self) -> &str {
        &self.id
    }

    fn role(&self) -> &str {
        &self.role
    }

    async fn generate(&self, task: &Task) -> Result<AgentReply, AgentError> {
        let n = self.next()?;
        Ok(AgentReply::text(self.text(task, n)))
    }

    async fn critique(&self, task: &Task, peer: &Proposal) -> Result<AgentReply, AgentError> {
        self.next()?;
        let lowered = peer.content.to_lowercase();
        let missing: Vec<&str> = task
            .constraints
            .requirements
            .iter()
            .filter(|r| !lowered.contains(&r.to_lowercase()))
            .map(String::as_str)
            .collect();
        Ok(AgentReply::text(if missing.is_empty() {
            format!("{}: covers every requirement; tighten error handling.", self.id)
        } else {
            format!("{}: missing requirements: {}", self.id, missing.join(", "))
        }))
    }

    async fn revise(&self, task: &Task, own: &Proposal, critiques: &[Critique]) -> Result<AgentReply, AgentError> {
        let n = self.next()?;
        Ok(AgentReply::text(match self.behaviour {
            Behaviour::Stubborn => own.content.clone(),
            Behaviour::Poor => own.content.clone(),
            _ => {
                let mut s = self.text(task, n);
                s.push_str(&format!("\n### Addressed {} critique(s)\n", critiques.len()));
                s
            }
        }))
    }
}
