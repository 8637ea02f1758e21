//! Echo check: a proposal that is mostly text copied from the task, rubric, requirements or the
//! agents' own prompt fails.
//!
//! What counts is what the proposal *adds*, not what it quotes:
//! 1. lines that appear verbatim in the prompt text (ignoring case and white space) are quotes
//!    and are dropped, so restating a signature and docstring costs nothing;
//! 2. in what remains, every token covered by a run of [`NGRAM`] tokens that also occurs in the
//!    prompt text counts as copied.
//!
//! The proposal is an echo when it adds fewer than [`MIN_ADDED_TOKENS`] tokens, or when at least
//! [`MAX_COPIED_FRACTION`] of the remaining tokens are copied. Tokens are words (runs of
//! letters, digits and `_`, case ignored), so `return len(s)` is three tokens. Measured on HumanEval: every
//! canonical solution written as prompt + body passes; the local model's echoes of our prompt
//! fail (see `docs/QUALITY.md`).

use std::hash::Hasher;

use async_trait::async_trait;
use rustc_hash::{FxHashSet, FxHasher};

use crate::check::{Check, CheckCategory, CheckDetails, Scorer};
use crate::error::AgentError;
use crate::proposal::Proposal;
use crate::task::Task;

/// Length of the shared token runs that count as copying.
pub const NGRAM: usize = 3;
/// Fewest tokens a proposal must add beyond its quotes.
pub const MIN_ADDED_TOKENS: usize = 2;
/// Share of added tokens that may be copied before the proposal is an echo.
pub const MAX_COPIED_FRACTION: f64 = 0.5;

/// Words that carry no content of their own: filler such as "Here is the code." adds nothing.
const FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "here",
    "is",
    "are",
    "was",
    "be",
    "this",
    "that",
    "these",
    "it",
    "its",
    "my",
    "our",
    "your",
    "i",
    "we",
    "you",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "as",
    "and",
    "or",
    "so",
    "sure",
    "ok",
    "okay",
    "yes",
    "below",
    "following",
    "above",
    "code",
    "solution",
    "answer",
    "proposal",
    "task",
    "please",
    "see",
    "will",
    "can",
];

/// One word of a text: where it is and a hash of its lower-cased form.
#[derive(Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    hash: u64,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn hash_lower(h: &mut FxHasher, c: char) {
    if c.is_ascii() {
        h.write_u32(c.to_ascii_lowercase() as u32);
    } else {
        c.to_lowercase().for_each(|l| h.write_u32(l as u32));
    }
}

/// The words of one line (runs of letters, digits and `_`, hashed without case), appended to
/// `out`. Hashes, not lower-cased copies: this runs on every proposal of every deliberation.
fn scan_line<'a>(line: &'a str, out: &mut Vec<Token<'a>>) {
    let bytes = line.as_bytes();
    let mut word: Option<(usize, FxHasher)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let (c, len) = if bytes[i] < 0x80 {
            (bytes[i] as char, 1)
        } else {
            let c = line[i..].chars().next().unwrap_or(' ');
            (c, c.len_utf8())
        };
        if is_word_char(c) {
            hash_lower(&mut word.get_or_insert_with(|| (i, FxHasher::default())).1, c);
        } else if let Some((start, h)) = word.take() {
            out.push(Token { text: &line[start..i], hash: h.finish() });
        }
        i += len;
    }
    if let Some((start, h)) = word {
        out.push(Token { text: &line[start..], hash: h.finish() });
    }
}

/// Hash of a line with white space collapsed and case ignored.
fn line_key(line: &str) -> u64 {
    let mut h = FxHasher::default();
    for (n, word) in line.split_whitespace().enumerate() {
        if n > 0 {
            h.write_u32(u32::MAX); // the separator: no char has this value
        }
        word.chars().for_each(|c| hash_lower(&mut h, c));
    }
    h.finish()
}

/// The words of a text, line by line (words never span lines).
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    text.lines().for_each(|l| scan_line(l, &mut out));
    out
}

/// Hashes of the [`FILLER`] words, as [`tokens`] hashes them.
fn filler() -> &'static FxHashSet<u64> {
    static SET: std::sync::OnceLock<FxHashSet<u64>> = std::sync::OnceLock::new();
    SET.get_or_init(|| FILLER.iter().flat_map(|w| tokens(w)).map(|t| t.hash).collect())
}

fn gram_key(run: &[Token<'_>]) -> u64 {
    let mut h = FxHasher::default();
    run.iter().for_each(|t| h.write_u64(t.hash));
    h.finish()
}

/// The prompt text indexed for [`overlap`]: its lines (and their first words, a cheap filter
/// before hashing a whole line) and its runs of [`NGRAM`] words.
pub(crate) struct SourceIndex {
    lines: FxHashSet<u64>,
    first_words: FxHashSet<u64>,
    grams: FxHashSet<u64>,
}

impl SourceIndex {
    fn new(sources: &str) -> Self {
        let (mut words, mut lines, mut first_words) = (Vec::new(), FxHashSet::default(), FxHashSet::default());
        for line in sources.lines() {
            let before = words.len();
            scan_line(line, &mut words);
            if let Some(first) = words.get(before) {
                first_words.insert(first.hash);
                lines.insert(line_key(line));
            }
        }
        let grams = words.windows(NGRAM).map(gram_key).collect();
        SourceIndex { lines, first_words, grams }
    }

    /// Whether `line`, whose words are `words`, appears in the prompt (white space and case aside).
    fn quotes(&self, line: &str, words: &[Token<'_>]) -> bool {
        words.first().is_some_and(|w| self.first_words.contains(&w.hash)) && self.lines.contains(&line_key(line))
    }
}

thread_local! {
    /// The last prompt indexed on this thread: the proposals of one deliberation share it, and
    /// the echo and requirements checks both read it.
    static LAST_INDEX: std::cell::RefCell<Option<(String, std::rc::Rc<SourceIndex>)>> =
        const { std::cell::RefCell::new(None) };
}

fn index_of(sources: &str) -> std::rc::Rc<SourceIndex> {
    LAST_INDEX.with(|cell| {
        let mut slot = cell.borrow_mut();
        match &*slot {
            Some((text, index)) if text == sources => index.clone(),
            _ => {
                let index = std::rc::Rc::new(SourceIndex::new(sources));
                *slot = Some((sources.to_owned(), index.clone()));
                index
            }
        }
    })
}

/// The prompt text a proposal could echo: what the agents are shown for this task.
pub(crate) fn prompt_sources(task: &Task) -> String {
    let mut s = crate::llm::prompts::generate(task);
    s.push('\n');
    s.push_str(&crate::llm::prompts::system("", &task.role));
    for t in &task.constraints.tests {
        s.push('\n');
        s.push_str(&t.code);
    }
    s
}

/// How much of `content` is copied from `sources`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Overlap {
    /// Tokens of the proposal in all.
    pub total: usize,
    /// Tokens on lines quoted verbatim.
    pub quoted: usize,
    /// Tokens beyond the quoted lines.
    pub added: usize,
    /// Of those, tokens inside shared runs.
    pub copied: usize,
    /// The added text with copied runs removed (what the proposal really says).
    pub novel: String,
    /// Content words in `novel` (filler words such as "here is the code" left out).
    pub fresh: usize,
}

impl Overlap {
    /// Copied share of the added tokens (1 when nothing was added).
    pub fn copied_fraction(&self) -> f64 {
        if self.added == 0 {
            1.0
        } else {
            self.copied as f64 / self.added as f64
        }
    }

    /// Whether this is an echo by the documented thresholds.
    pub fn is_echo(&self) -> bool {
        self.fresh < MIN_ADDED_TOKENS || self.copied_fraction() >= MAX_COPIED_FRACTION
    }
}

/// Measure `content` against `sources`.
pub(crate) fn overlap(content: &str, sources: &str) -> Overlap {
    overlap_with(content, &index_of(sources))
}

fn overlap_with(content: &str, index: &SourceIndex) -> Overlap {
    let mut quoted = 0;
    let mut kept: Vec<Token<'_>> = Vec::with_capacity(content.len() / 4);
    for line in content.lines() {
        let before = kept.len();
        scan_line(line, &mut kept);
        if index.quotes(line, &kept[before..]) {
            quoted += kept.len() - before;
            kept.truncate(before);
        }
    }
    let mut copied_mask = vec![false; kept.len()];
    for (i, w) in kept.windows(NGRAM).enumerate() {
        if index.grams.contains(&gram_key(w)) {
            copied_mask[i..i + NGRAM].iter_mut().for_each(|m| *m = true);
        }
    }
    let copied = copied_mask.iter().filter(|m| **m).count();
    let mut novel = String::with_capacity(content.len());
    let mut fresh = 0;
    for (t, _) in kept.iter().zip(&copied_mask).filter(|(_, c)| !**c) {
        if !novel.is_empty() {
            novel.push(' ');
        }
        if t.text.is_ascii() {
            let from = novel.len();
            novel.push_str(t.text);
            novel[from..].make_ascii_lowercase();
        } else {
            t.text.chars().for_each(|c| novel.extend(c.to_lowercase()));
        }
        if !filler().contains(&t.hash) {
            fresh += 1;
        }
    }
    Overlap { total: quoted + kept.len(), quoted, added: kept.len(), copied, novel, fresh }
}

/// The echo check (in the service's and the binding's default scorers).
#[derive(Debug, Clone, Default)]
pub struct EchoScorer;

impl EchoScorer {
    /// The check.
    pub fn new() -> Self {
        EchoScorer
    }
}

#[async_trait]
impl Scorer for EchoScorer {
    fn name(&self) -> &str {
        "echo"
    }

    async fn check(&self, proposal: &Proposal, task: &Task) -> Result<Check, AgentError> {
        let o = overlap(&proposal.content, &prompt_sources(task));
        let echo = o.is_echo();
        let fresh = o.fresh;
        let message = if echo {
            format!("echo: adds {fresh} new tokens beyond {} quoted and {} copied from the prompt", o.quoted, o.copied)
        } else {
            format!("adds {fresh} new tokens ({:.0}% of what is not quoted)", 100.0 * (1.0 - o.copied_fraction()))
        };
        let mut details = CheckDetails::default();
        details.extra.insert("tokens".into(), o.total.to_string());
        details.extra.insert("quoted_tokens".into(), o.quoted.to_string());
        details.extra.insert("copied_tokens".into(), o.copied.to_string());
        details.extra.insert("new_tokens".into(), fresh.to_string());
        // Pass or fail only: a graded score would rank proposals by their wording.
        let score = if echo { 0.0 } else { 1.0 };
        Ok(Check::new("echo", CheckCategory::Other, !echo, score, message).with_details(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "Task:\nImplement user authentication\n\nRubric:\nSecure, maintainable code\nRequirements:\n- Unit tests\n- Error handling\n\nWrite your proposal for this task.";

    #[test]
    fn an_echo_of_the_prompt_fails() {
        let echo = "Task: Implement user authentication\nRubric: Secure, maintainable code\nRequirements:\n- Unit tests\n- Error handling\nWrite your proposal for this task.";
        assert!(overlap(echo, PROMPT).is_echo(), "{:?}", overlap(echo, PROMPT));
        assert!(overlap("Plan: Implement user authentication. Unit tests.", PROMPT).is_echo());
        assert!(overlap("", PROMPT).is_echo());
        let filler = format!("Here is the code.\n{PROMPT}");
        assert!(overlap(&filler, PROMPT).is_echo(), "filler adds nothing");
    }

    #[test]
    fn restating_a_signature_and_docstring_and_adding_a_body_is_not_an_echo() {
        let prompt = "def strlen(string: str) -> int:\n    \"\"\" Return length of given string\n    >>> strlen('')\n    0\n    \"\"\"\n";
        let proposal = format!("{prompt}    return len(string)\n");
        let o = overlap(&proposal, prompt);
        assert!(!o.is_echo(), "{o:?}");
        assert!(o.quoted > 0);
        let plan =
            "Use bcrypt for password hashes, lock accounts after five failures, and cover login with pytest cases.";
        assert!(!overlap(plan, PROMPT).is_echo());
    }

    /// The first implementation, on lower-cased strings: the hashed one must agree with it.
    fn reference_overlap(content: &str, sources: &str) -> (usize, usize, usize, usize, String, usize) {
        fn words(text: &str) -> Vec<String> {
            let mut out = Vec::new();
            let mut word = String::new();
            for c in text.chars() {
                if is_word_char(c) {
                    word.extend(c.to_lowercase());
                } else if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            if !word.is_empty() {
                out.push(word);
            }
            out
        }
        fn norm(line: &str) -> String {
            line.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
        }
        let lines: std::collections::HashSet<String> =
            sources.lines().filter(|l| !words(l).is_empty()).map(norm).collect();
        let src = words(sources);
        let grams: std::collections::HashSet<&[String]> = src.windows(NGRAM).collect();
        let (mut total, mut quoted, mut kept) = (0, 0, Vec::new());
        for line in content.lines() {
            let t = words(line);
            total += t.len();
            if !t.is_empty() && lines.contains(&norm(line)) {
                quoted += t.len();
            } else {
                kept.extend(t);
            }
        }
        let mut mask = vec![false; kept.len()];
        for (i, w) in kept.windows(NGRAM).enumerate() {
            if grams.contains(w) {
                mask[i..i + NGRAM].iter_mut().for_each(|m| *m = true);
            }
        }
        let copied = mask.iter().filter(|m| **m).count();
        let novel: Vec<&str> = kept.iter().zip(&mask).filter(|(_, c)| !**c).map(|(t, _)| t.as_str()).collect();
        let fresh = novel.iter().filter(|w| !FILLER.contains(w)).count();
        (total, quoted, kept.len(), copied, novel.join(" "), fresh)
    }

    proptest::proptest! {
        #[test]
        fn the_hashed_overlap_agrees_with_the_string_one(
            content in proptest::collection::vec(r"(Return|len|the|Tests|Ünit|x_1|here|\(s\)|\.|  |\t|\n|ÉTÉ|été)", 0..60),
            sources in proptest::collection::vec(r"(return|LEN|the|tests|ünit|x_1|Here|\(s\)|\.| |\n|été)", 0..60),
        ) {
            let (content, sources) = (content.concat(), sources.concat());
            let o = overlap(&content, &sources);
            proptest::prop_assert_eq!(
                (o.total, o.quoted, o.added, o.copied, o.novel, o.fresh),
                reference_overlap(&content, &sources)
            );
        }
    }
}
