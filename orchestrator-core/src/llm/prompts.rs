//! Prompts for generate, critique, revise, judge and architect. They carry the role's persona, the
//! rubric text and the requirements list.
// Without `llm` only the generate and system prompts are read (by the echo scorer).
#![cfg_attr(not(feature = "llm"), allow(dead_code))]

use crate::proposal::{Critique, Proposal};
use crate::task::Task;

/// The persona of a role.
pub fn persona(role: &str) -> &'static str {
    match role.to_ascii_uppercase().as_str() {
        "DEV" => "You are a senior software developer. You write correct, secure, maintainable code with tests.",
        "QA" => "You are a QA engineer. You design test plans, find edge cases and make failures reproducible.",
        "ARCHITECT" => "You are a software architect. You weigh trade-offs, define boundaries and keep systems simple.",
        "DEVOPS" => "You are a DevOps engineer. You build reliable, observable, secure deployments and pipelines.",
        "DATA" => "You are a data engineer. You design correct, efficient data models and pipelines.",
        _ => "You are a careful expert engineer.",
    }
}

fn constraints_block(task: &Task) -> String {
    let c = &task.constraints;
    let mut s = String::new();
    if !c.rubric.trim().is_empty() {
        s.push_str("Rubric:\n");
        s.push_str(c.rubric.trim());
        s.push('\n');
    }
    if !c.requirements.is_empty() {
        s.push_str("Requirements:\n");
        for r in &c.requirements {
            s.push_str("- ");
            s.push_str(r.trim());
            s.push('\n');
        }
    }
    s
}

pub(crate) fn system(agent_id: &str, role: &str) -> String {
    format!(
        "You are {agent_id}, one member of a council of peers. {} Answer in plain text; never include secrets or credentials.",
        persona(role)
    )
}

pub(crate) fn generate(task: &Task) -> String {
    format!("Task:\n{}\n\n{}\nWrite your proposal for this task.", task.description.trim(), constraints_block(task))
}

/// The language of the task's code, when it has tests or names one (`metadata.language`).
fn code_language(task: &Task) -> Option<String> {
    task.constraints
        .tests
        .first()
        .map(|t| t.lang())
        .or_else(|| task.constraints.metadata.get("language").map(|l| l.trim().to_ascii_lowercase()))
        .filter(|l| !l.is_empty())
}

pub(crate) fn critique(task: &Task, peer: &Proposal) -> String {
    let mut s = format!(
        "Task:\n{}\n\n{}\nProposal by {}:\n{}\n\nCritique this proposal against the rubric and requirements. \
         List concrete problems and what to change.",
        task.description.trim(),
        constraints_block(task),
        peer.author_id,
        peer.content.trim()
    );
    if let Some(lang) = code_language(task) {
        s.push_str(&format!(
            "\nThen add one fenced ```{lang} block of unit tests: functions named test_* that import the \
             proposal's code from `solution` and assert the behaviour the task asks for. Your tests run \
             against every proposal."
        ));
    }
    s
}

pub(crate) fn revise(task: &Task, own: &Proposal, critiques: &[Critique]) -> String {
    let mut fb = String::new();
    for c in critiques {
        fb.push_str(&format!("From {}:\n{}\n\n", c.reviewer_id, c.text.trim()));
    }
    format!(
        "Task:\n{}\n\n{}\nYour proposal:\n{}\n\nCritiques you received:\n{}Rewrite your proposal, addressing the critiques. \
         Reply with the full revised proposal only.",
        task.description.trim(),
        constraints_block(task),
        own.content.trim(),
        fb
    )
}

pub(crate) fn judge(task: &Task, proposal: &str) -> String {
    format!(
        "Task:\n{}\n\n{}\nProposal:\n{}\n\nGrade the proposal against the rubric and requirements. Reply with JSON only: \
         {{\"score\": <integer 0-10>, \"passed\": <true|false>, \"reason\": \"<one sentence>\"}}",
        task.description.trim(),
        constraints_block(task),
        proposal.trim()
    )
}

pub(crate) fn pairwise(task: &Task, a: &str, b: &str) -> String {
    format!(
        "Task:\n{}\n\n{}\nProposal A:\n{}\n\nProposal B:\n{}\n\nWhich proposal better satisfies the rubric and \
         requirements? Reply with JSON only: {{\"winner\": \"A\" or \"B\", \"reason\": \"<one sentence>\"}}",
        task.description.trim(),
        constraints_block(task),
        a.trim(),
        b.trim()
    )
}

pub(crate) fn architect(task: &Task, candidates: &[(String, f64, String)]) -> String {
    let mut s = format!("Task:\n{}\n\n{}\nCandidates:\n", task.description.trim(), constraints_block(task));
    for (i, (author, score, content)) in candidates.iter().enumerate() {
        s.push_str(&format!("[{i}] by {author} (score {score:.2}):\n{}\n\n", content.trim()));
    }
    s.push_str(
        "As the architect, choose the best candidate. Reply with JSON only: {\"choice\": <index>, \"reason\": \"<one sentence>\"}",
    );
    s
}
