//! Ranking: score descending, then all-passed first, then council order.

use crate::outcome::RankedResult;

/// Sort `results` (given in council order) best first and assign ranks 1..n.
pub fn rank(results: &mut [RankedResult]) {
    // The stable sort keeps council order for full ties.
    results.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.all_passed.cmp(&a.all_passed)));
    for (i, r) in results.iter_mut().enumerate() {
        r.rank = i as u32 + 1;
    }
}
