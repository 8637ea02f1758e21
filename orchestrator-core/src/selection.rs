//! SelectionReport: how results are ranked and the winner chosen. A council seat never decides.
//!
//! Order, best first:
//! 1. a proposal that passes every policy-category check (`policy`, `echo`) before one that fails;
//! 2. with self-consistency only: the most common behaviour (more peers with exactly the same
//!    outcome on every test case);
//! 3. higher score;
//!
//! and among proposals tied on those:
//! 4. more test cases passed (the task's tests and peer tests);
//! 5. behavioural agreement: more peers with exactly the same outcome on every case (the dual
//!    agreement of CodeT, Chen et al. 2022);
//! 6. a pairwise judge, asked in both orders, when one is configured (only consistent verdicts
//!    count);
//! 7. a seeded random draw; the seed is recorded in the outcome.

use std::sync::Arc;

use async_trait::async_trait;
use rand::{Rng, SeedableRng};

use crate::check::CheckCategory;
use crate::error::AgentError;
use crate::outcome::RankedResult;
pub use crate::outcome::{SelectionReport, TieBreak};
use crate::proposal::Proposal;
use crate::task::Task;

/// Compares two proposals for the tie-break (used in both orders).
#[async_trait]
pub trait PairwiseJudge: Send + Sync {
    /// `Some(true)` if `a` is better, `Some(false)` if `b` is, `None` if it cannot say.
    async fn prefer(&self, task: &Task, a: &Proposal, b: &Proposal) -> Result<Option<bool>, AgentError>;
}

/// Most proposals the judge compares (all pairs, both orders).
const MAX_JUDGED: usize = 6;

/// Reads one tie-break criterion off a key.
type KeyField = fn(&Key) -> usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    policy_ok: bool,
    /// Self-consistency: peers behaving the same (0 otherwise).
    majority: usize,
    score: i64,
    cases_passed: usize,
    agreement: usize,
    judge_wins: usize,
}

fn policy_ok(r: &RankedResult) -> bool {
    r.checks.iter().filter(|c| c.category == CheckCategory::Policy).all(|c| c.passed)
}

fn outcome_vector(r: &RankedResult) -> Vec<bool> {
    r.checks.iter().flat_map(|c| c.details.cases.iter().map(|k| k.passed)).collect()
}

/// Rank `results` (in council order) best first, assign ranks 1..n, and say how the winner was
/// chosen. `judge` is asked only about proposals still tied after tests and agreement. With
/// `majority` (self-consistency), the most common behaviour on the tests ranks right after the
/// policy gate.
pub async fn select(
    results: &mut Vec<RankedResult>,
    task: &Task,
    judge: Option<&Arc<dyn PairwiseJudge>>,
    seed: u64,
    majority: bool,
) -> SelectionReport {
    let vectors: Vec<Vec<bool>> = results.iter().map(outcome_vector).collect();
    let mut keys: Vec<Key> = results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let agreement = if vectors[i].is_empty() {
                0
            } else {
                vectors.iter().enumerate().filter(|(j, v)| *j != i && **v == vectors[i]).count()
            };
            Key {
                policy_ok: policy_ok(r),
                majority: if majority { agreement } else { 0 },
                score: (r.score * 1e9).round() as i64,
                cases_passed: vectors[i].iter().filter(|b| **b).count(),
                agreement,
                judge_wins: 0,
            }
        })
        .collect();
    // The judge settles what tests and agreement left tied at the top.
    if let (Some(judge), Some(best)) = (judge, keys.iter().max().copied()) {
        let top: Vec<usize> = (0..keys.len()).filter(|&i| keys[i] == best).take(MAX_JUDGED).collect();
        if top.len() > 1 {
            for (x, &i) in top.iter().enumerate() {
                for &j in &top[x + 1..] {
                    let (a, b) = (&results[i].proposal, &results[j].proposal);
                    let ab = judge.prefer(task, a, b).await.ok().flatten();
                    let ba = judge.prefer(task, b, a).await.ok().flatten();
                    match (ab, ba) {
                        (Some(true), Some(false)) => keys[i].judge_wins += 1,
                        (Some(false), Some(true)) => keys[j].judge_wins += 1,
                        _ => {}
                    }
                }
            }
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let draws: Vec<u64> = (0..results.len()).map(|_| rng.random()).collect();
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| keys[b].cmp(&keys[a]).then(draws[a].cmp(&draws[b])));
    let mut taken: Vec<Option<RankedResult>> = std::mem::take(results).into_iter().map(Some).collect();
    *results = order.iter().filter_map(|&i| taken[i].take()).collect();
    for (i, r) in results.iter_mut().enumerate() {
        r.rank = i as u32 + 1;
    }
    let sorted: Vec<Key> = order.iter().map(|&i| keys[i]).collect();
    let Some(w) = sorted.first().copied() else { return SelectionReport { seed, ..Default::default() } };
    let mut group: Vec<Key> = sorted
        .iter()
        .copied()
        .filter(|k| k.policy_ok == w.policy_ok && k.majority == w.majority && k.score == w.score)
        .collect();
    let tied = group.len();
    // Narrow the tied group criterion by criterion; the last one that narrowed it to the
    // winner alone decided, or the draw did.
    let mut steps: Vec<String> = Vec::new();
    let mut decided = TieBreak::None;
    let criteria: [(TieBreak, KeyField); 3] = [
        (TieBreak::TestsPassed, |k| k.cases_passed),
        (TieBreak::Agreement, |k| k.agreement),
        (TieBreak::Judge, |k| k.judge_wins),
    ];
    for (criterion, value) in criteria {
        if group.len() <= 1 {
            break;
        }
        let best = group.iter().map(value).max().unwrap_or(0);
        let before = group.len();
        group.retain(|k| value(k) == best);
        if group.len() < before {
            decided = criterion;
            steps.push(match criterion {
                TieBreak::TestsPassed => format!("test cases passed ({best}) left {}", group.len()),
                TieBreak::Agreement => {
                    format!("behavioural agreement ({best} peers behave the same) left {}", group.len())
                }
                _ => format!("the pairwise judge ({best} consistent wins) left {}", group.len()),
            });
        }
    }
    if group.len() > 1 {
        decided = TieBreak::Random;
        steps.push(format!("a seeded random draw (seed {seed}) chose among {}", group.len()));
    }
    let tie_break = if tied > 1 { decided } else { TieBreak::None };
    let win = &results[0];
    let mut reason = if tied > 1 {
        format!("tied at score {:.3} with {} other(s); {}", win.score, tied - 1, steps.join("; "))
    } else if results.len() == 1 {
        format!("the only proposal (score {:.3})", win.score)
    } else {
        format!("the highest score ({:.3})", win.score)
    };
    if majority && results.len() > 1 {
        let ahead = sorted.iter().filter(|k| k.policy_ok == w.policy_ok && k.majority < w.majority).count();
        reason = format!(
            "the most common behaviour on the tests ({} of {} proposals behave alike{}); {reason}",
            w.majority + 1,
            results.len(),
            if ahead > 0 { format!(", ahead of {ahead} other(s)") } else { String::new() }
        );
    }
    if !w.policy_ok {
        reason.push_str("; no proposal passed every policy check");
    }
    SelectionReport { reason, tie_break, tied, seed }
}
