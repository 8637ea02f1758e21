//! [`Budget`]: how many calls and tokens one deliberation may spend, and the gate the engine
//! asks before every call. A call is issued only when it cannot take the deliberation past a
//! limit: one more call must fit `max_calls`, and the tokens spent plus, for every call in
//! flight including this one, the largest call seen so far must fit `max_tokens_total`. When
//! the gate refuses, the engine stops issuing calls and finishes with what it has.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Limits on one deliberation (`None`: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Most agent calls.
    pub max_calls: Option<u64>,
    /// Most tokens (prompt plus completion) over every call.
    pub max_tokens_total: Option<u64>,
}

impl Budget {
    /// Whether any limit is set.
    pub fn is_limited(&self) -> bool {
        self.max_calls.is_some() || self.max_tokens_total.is_some()
    }

    /// Each limit the lower of the two (`None` on one side: the other).
    pub fn min(self, ceiling: Budget) -> Budget {
        fn lower(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        Budget {
            max_calls: lower(self.max_calls, ceiling.max_calls),
            max_tokens_total: lower(self.max_tokens_total, ceiling.max_tokens_total),
        }
    }
}

/// What a deliberation spent, against its budget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetReport {
    /// The limits it ran under.
    pub budget: Budget,
    /// Calls issued.
    pub calls: u64,
    /// Tokens the calls reported.
    pub tokens: u64,
    /// Calls the budget refused (0 when the budget never ended anything).
    pub refused: u64,
    /// Why the budget ended the deliberation early, if it did.
    pub exhausted: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    issued: u64,
    settled: u64,
    tokens: u64,
    largest: u64,
    refused: u64,
    exhausted: Option<String>,
}

/// The engine's per-run gate.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    budget: Budget,
    state: Mutex<State>,
}

impl Gate {
    pub(crate) fn new(budget: Budget) -> Self {
        Gate { budget, state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserve one call, or refuse it (and remember why).
    pub(crate) fn admit(&self) -> bool {
        let mut s = self.lock();
        let refuse = if s.exhausted.is_some() {
            None
        } else if let Some(max) = self.budget.max_calls.filter(|&m| s.issued + 1 > m) {
            Some(format!("max_calls ({max}) reached"))
        } else if let Some(max) = self.budget.max_tokens_total {
            let in_flight = s.issued - s.settled + 1;
            let next = s.tokens.saturating_add(in_flight.saturating_mul(s.largest));
            (next > max || s.tokens >= max).then(|| {
                format!(
                    "max_tokens_total ({max}) reached: {} spent, and the next call could take {} more",
                    s.tokens, s.largest
                )
            })
        } else {
            None
        };
        match refuse {
            None if s.exhausted.is_none() => {
                s.issued += 1;
                true
            }
            None => {
                s.refused += 1;
                false
            }
            Some(why) => {
                s.refused += 1;
                s.exhausted = Some(why);
                false
            }
        }
    }

    /// A call finished, with the tokens it reported.
    pub(crate) fn settle(&self, tokens: u64) {
        let mut s = self.lock();
        s.settled += 1;
        s.tokens = s.tokens.saturating_add(tokens);
        s.largest = s.largest.max(tokens);
    }

    /// Whether the budget has refused a call.
    pub(crate) fn exhausted(&self) -> bool {
        self.lock().exhausted.is_some()
    }

    pub(crate) fn report(&self) -> BudgetReport {
        let s = self.lock();
        BudgetReport {
            budget: self.budget,
            calls: s.issued,
            tokens: s.tokens,
            refused: s.refused,
            exhausted: s.exhausted.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_stop_at_the_limit() {
        let g = Gate::new(Budget { max_calls: Some(2), max_tokens_total: None });
        assert!(g.admit() && g.admit());
        assert!(!g.admit());
        assert!(g.exhausted());
        let r = g.report();
        assert_eq!((r.calls, r.refused), (2, 1));
        assert!(r.exhausted.unwrap().contains("max_calls (2)"));
    }

    #[test]
    fn tokens_stop_before_a_call_that_could_pass_the_limit() {
        let g = Gate::new(Budget { max_calls: None, max_tokens_total: Some(250) });
        assert!(g.admit());
        g.settle(100);
        assert!(g.admit(), "100 spent + 100 for this call fits 250");
        // Another one in flight would make 100 + 2 x 100 = 300 > 250.
        assert!(!g.admit());
        g.settle(100);
        assert!(!g.admit(), "once refused, the deliberation stops issuing calls");
        assert_eq!(g.report().tokens, 200);
    }

    #[test]
    fn the_lower_limit_wins() {
        let a = Budget { max_calls: Some(10), max_tokens_total: None };
        let b = Budget { max_calls: Some(50), max_tokens_total: Some(1000) };
        assert_eq!(a.min(b), Budget { max_calls: Some(10), max_tokens_total: Some(1000) });
        assert!(!Budget::default().is_limited());
    }
}
