//! A real deliberation: a 3-agent DEV council of LLM agents on an OpenAI-compatible endpoint
//! (by default the local model started by `scripts/local-model.sh start`, a base model, so in
//! completion mode: `LLM_API=completions`), on a code task with a small test suite.
//!
//!     LLM_BASE_URL=http://127.0.0.1:8088 LLM_MODEL=gemma3-270m LLM_API=completions \
//!       cargo run --release -p orchestrator-core --example llm_deliberation
//!
//! Prints, for each proposal, the tests it passed and its checks; the winner and why it won (the
//! selection reason and tie-break); the tokens used; and how much of the wall time the engine
//! itself spent (wall time minus time inside model calls on the critical path).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use orchestrator_core::scorers::{EchoScorer, PolicyScorer, RequirementsScorer};
use orchestrator_core::verify::TestSuite;
use orchestrator_core::{
    Agent, AgentError, AgentFactory, AgentReply, Config, Constraints, Critique, Deliberation, Error, Phase, Proposal,
    Task,
};

/// Wraps an agent and records how long each model call took, to split wall time into model time
/// on the critical path (the slowest call of each phase) and engine time.
struct Timed {
    inner: Arc<dyn Agent>,
    log: Arc<Mutex<BTreeMap<Phase, Duration>>>,
}

impl Timed {
    async fn time<F: std::future::Future<Output = Result<AgentReply, AgentError>>>(
        &self,
        phase: Phase,
        f: F,
    ) -> Result<AgentReply, AgentError> {
        let t = Instant::now();
        let r = f.await;
        let mut log = self.log.lock().unwrap();
        let slot = log.entry(phase).or_default();
        *slot = (*slot).max(t.elapsed());
        r
    }
}

#[async_trait]
impl Agent for Timed {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn role(&self) -> &str {
        self.inner.role()
    }
    async fn generate(&self, task: &Task) -> Result<AgentReply, AgentError> {
        self.time(Phase::Generate, self.inner.generate(task)).await
    }
    async fn critique(&self, task: &Task, peer: &Proposal) -> Result<AgentReply, AgentError> {
        self.time(Phase::Critique, self.inner.critique(task, peer)).await
    }
    async fn revise(&self, task: &Task, own: &Proposal, critiques: &[Critique]) -> Result<AgentReply, AgentError> {
        self.time(Phase::Revise, self.inner.revise(task, own, critiques)).await
    }
}

const TESTS: &str = r#"from solution import largest

def test_mixed():
    assert largest([3, 9, 2]) == 9

def test_negative():
    assert largest([-5, -2, -7]) == -2

def test_single():
    assert largest([4]) == 4

def test_last():
    assert largest([1, 2, 10]) == 10
"#;

/// The task: a signature and docstring (what a base model continues), the same in chat mode.
const TASK: &str = r#"def largest(numbers: list) -> int:
    """Return the largest number in a non-empty list of integers.
    >>> largest([3, 9, 2])
    9
    """
"#;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut config = Config::default();
    config.llm.endpoint.base_url = "http://127.0.0.1:8088".into();
    config.llm.model = "gemma3-270m".into();
    config.llm.max_tokens = 160;
    config.apply_process_env()?;
    let factory = AgentFactory::new(config.clone());
    let members = factory.llm_agents("DEV", 3, None)?;
    let log = Arc::new(Mutex::new(BTreeMap::new()));
    let mut builder = Deliberation::builder()
        .task(TASK)
        .role("DEV")
        .constraints(Constraints {
            rubric: "Correct, readable Python with edge cases handled.".into(),
            requirements: vec!["Handle negative numbers".into()],
            ..Default::default()
        })
        .agents(members.iter().map(|m| Arc::new(Timed { inner: m.agent.clone(), log: log.clone() }) as Arc<dyn Agent>))
        .rounds(1)
        .scorer(Arc::new(PolicyScorer::new()), 1.0)
        .scorer(Arc::new(RequirementsScorer::new()), 1.0)
        .scorer(Arc::new(EchoScorer::new()), 1.0)
        // The tests decide: run in the bubblewrap sandbox, weighted above the other checks.
        .tests([TestSuite::python(TESTS)]);
    if let Some(judge) = factory.judge()? {
        builder = builder.scorer(Arc::new(judge), 1.0);
    }
    let d = builder.build()?;
    println!(
        "council: {} on {} ({})",
        members
            .iter()
            .map(|m| format!("{} t={}", m.agent.id(), m.meta.metadata["temperature"]))
            .collect::<Vec<_>>()
            .join(", "),
        config.llm.endpoint.base_url,
        config.llm.model
    );
    let started = Instant::now();
    let out = d.run().await?;
    let wall = started.elapsed();
    for r in &out.results {
        let tests = r.checks.iter().find(|c| c.name == "tests");
        let passed = tests.map_or(0, |t| t.details.cases.iter().filter(|c| c.passed).count());
        let total = tests.map_or(0, |t| t.details.cases.len());
        println!(
            "\n#{} {}  tests passed {passed}/{total}  score {:.2}  all checks passed {}",
            r.rank, r.proposal.author_id, r.score, r.all_passed
        );
        for c in &r.checks {
            println!("   [{}] {:<12} {:.2}  {}", if c.passed { "PASS" } else { "FAIL" }, c.name, c.score, c.message);
        }
        let text: String = r.proposal.content.chars().take(400).collect();
        println!(
            "   --- proposal ({} bytes, {} revision(s)) ---\n   {}",
            r.proposal.content.len(),
            r.proposal.revisions.len(),
            text.replace('\n', "\n   ")
        );
    }
    for f in &out.failures {
        println!("\nFAILED {} ({}): {}", f.agent_id, f.phase, f.reason);
    }
    println!(
        "\ntoken usage: {} prompt + {} completion = {} tokens over {} calls",
        out.usage.total.prompt_tokens,
        out.usage.total.completion_tokens,
        out.usage.total.total(),
        out.usage.calls
    );
    for (agent, u) in &out.usage.per_agent {
        println!("   {agent}: {} tokens", u.total());
    }
    let winner_tests = out.winner().checks.iter().find(|c| c.name == "tests").is_some_and(|c| c.passed);
    println!(
        "winner: {} ({}; tie-break: {}, seed {})",
        out.winner_id,
        out.selection.reason,
        out.selection.tie_break.as_str(),
        out.selection.seed
    );
    if winner_tests {
        println!("the winner passes every test: working code, verified in the sandbox");
    } else {
        println!("no proposal passed every test: the council did not produce working code this time");
    }
    let model: Duration = log.lock().unwrap().values().sum();
    println!(
        "wall time: {:.3} s; slowest model call per phase summed: {:.3} s; engine and scoring: {:.1} ms",
        wall.as_secs_f64(),
        model.as_secs_f64(),
        (wall.saturating_sub(model)).as_secs_f64() * 1000.0
    );
    Ok(())
}
