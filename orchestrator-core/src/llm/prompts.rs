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

// ---- Completion mode (base and code models over `/v1/completions`) ----
//
// A base model continues text; it does not follow instructions. Each phase therefore sends a
// code-shaped prefix and turns the continuation into a reply:
// - generate: the task's code (imports, signature and docstring, when the task gives one; else
//   the task as comments) and the model writes the body. The reply is the prefix plus the
//   continuation in a fenced python block.
// - critique: the peer's code, then `def test_`; the model writes one test. The reply is that
//   test in a fenced block importing from `solution`, so peer tests can run it.
// - revise: the critics' tests as code above the task's code (a base model writes code that
//   fits the code it has seen), then the model writes the body again. The reply is a new
//   fenced block.

/// A completion prompt, where it stops, and the text that comes before the continuation in
/// the reply.
pub(crate) struct Completion {
    pub(crate) prompt: String,
    pub(crate) stop: Vec<String>,
    /// Code that precedes the continuation in the reply's fenced block.
    pub(crate) head: String,
}

fn stops(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The task's code: the last fenced block of the description, or the description from its first
/// line that starts with `def`, `async def`, `class`, `from` or `import`.
pub(crate) fn task_code(task: &Task) -> Option<String> {
    let d = &task.description;
    if d.contains("```") {
        let code = crate::verify::extract_code(d, "python");
        if code.contains("def ") {
            return Some(code);
        }
    }
    let mut offset = 0;
    for line in d.split_inclusive('\n') {
        let t = line.trim_start();
        if line == t
            && (t.starts_with("def ")
                || t.starts_with("async def ")
                || t.starts_with("class ")
                || t.starts_with("from ")
                || t.starts_with("import "))
        {
            let code = &d[offset..];
            return code.contains("def ").then(|| code.to_owned());
        }
        offset += line.len();
    }
    None
}

fn with_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// The task as Python comments, for a base model when there is no signature to continue.
fn as_comments(task: &Task) -> String {
    let mut s = String::new();
    for line in task.description.trim().lines().chain(constraints_block(task).lines()) {
        s.push_str("# ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

pub(crate) fn complete_generate(task: &Task) -> Completion {
    match task_code(task) {
        // The model writes the body; a new top-level statement ends it.
        Some(code) => {
            let code = with_newline(code);
            Completion {
                prompt: code.clone(),
                stop: stops(&["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ", "\n```"]),
                head: code,
            }
        }
        None => {
            let head = format!("{}\n", as_comments(task));
            Completion {
                prompt: head.clone(),
                stop: stops(&["\nif __name__", "\n```", "\n\n\n\n"]),
                head: String::new(),
            }
        }
    }
}

pub(crate) fn complete_critique(_task: &Task, peer: &Proposal) -> Completion {
    let code = with_newline(crate::verify::extract_code(&peer.content, "python"));
    Completion {
        prompt: format!("{code}\n\n# A unit test for the code above.\ndef test_"),
        stop: stops(&["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\n```"]),
        head: "from solution import *\n\n\ndef test_".into(),
    }
}

pub(crate) fn complete_revise(task: &Task, own: &Proposal, critiques: &[Critique]) -> Completion {
    let mut notes = String::from("# Reviewers' tests this code must pass:\n");
    for c in critiques {
        let test = crate::verify::extract_code(&c.text, "python");
        for line in test.lines().filter(|l| !l.starts_with("from solution")) {
            notes.push_str(line);
            notes.push('\n');
        }
        notes.push('\n');
    }
    let mut c = complete_generate(task);
    if task_code(task).is_none() {
        // No signature to continue: show the current code and let the model write it again.
        let own_code = with_newline(crate::verify::extract_code(&own.content, "python"));
        c.prompt = format!("{}{notes}# Corrected version:\n", with_newline(own_code));
        return c;
    }
    c.prompt = format!("{notes}\n{}", c.prompt);
    c
}
