//! A per-endpoint circuit breaker: after `threshold` consecutive failures the circuit opens and
//! calls fail fast for `cooldown`; then one probe goes through; its success closes the circuit,
//! its failure opens it again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// The breaker. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub(crate) struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

/// Permission to make a call; report its result with [`CircuitBreaker::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// A normal call.
    Call,
    /// The single probe after a cool-down.
    Probe,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreaker { threshold: threshold.max(1), cooldown, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    /// May a call go through now? `Err(remaining)` while the circuit is open.
    pub fn acquire(&self) -> Result<Permit, Duration> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *s {
            State::Closed { .. } => Ok(Permit::Call),
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *s = State::HalfOpen { probing: true };
                    Ok(Permit::Probe)
                } else {
                    Err(until - now)
                }
            }
            State::HalfOpen { probing: true } => Err(Duration::ZERO),
            State::HalfOpen { probing: false } => {
                *s = State::HalfOpen { probing: true };
                Ok(Permit::Probe)
            }
        }
    }

    /// Report the outcome of a permitted call.
    pub fn record(&self, permit: Permit, success: bool) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match (permit, success) {
            (_, true) => *s = State::Closed { failures: 0 },
            (Permit::Probe, false) => *s = State::Open { until: Instant::now() + self.cooldown },
            (Permit::Call, false) => {
                if let State::Closed { failures } = *s {
                    let failures = failures + 1;
                    *s = if failures >= self.threshold {
                        tracing::warn!(failures, cooldown = ?self.cooldown, "circuit opened");
                        State::Open { until: Instant::now() + self.cooldown }
                    } else {
                        State::Closed { failures }
                    };
                }
            }
        }
    }

    /// A guard for a permitted call: report with [`CallGuard::finish`]; dropped unfinished (the
    /// call was cancelled, for example by a timeout), it counts as a failure, so a cancelled
    /// probe can never leave the circuit half-open for good.
    pub fn guard(&self, permit: Permit) -> CallGuard<'_> {
        CallGuard { breaker: self, permit, done: false }
    }

    /// Whether calls are failing fast now.
    pub fn is_open(&self) -> bool {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *s {
            State::Open { until } => Instant::now() < until,
            _ => false,
        }
    }
}

/// See [`CircuitBreaker::guard`].
#[derive(Debug)]
pub struct CallGuard<'a> {
    breaker: &'a CircuitBreaker,
    permit: Permit,
    done: bool,
}

impl CallGuard<'_> {
    /// Report the call's outcome.
    pub fn finish(mut self, success: bool) {
        self.done = true;
        self.breaker.record(self.permit, success);
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.record(self.permit, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_probe_counts_as_a_failure_not_a_wedge() {
        let b = CircuitBreaker::new(1, Duration::from_secs(30));
        b.guard(b.acquire().unwrap()).finish(false);
        assert!(b.is_open());
        tokio::time::advance(Duration::from_secs(31)).await;
        let probe = b.acquire().unwrap();
        assert_eq!(probe, Permit::Probe);
        drop(b.guard(probe)); // the probe's call was cancelled
        assert!(b.is_open(), "a cancelled probe reopens the circuit");
        tokio::time::advance(Duration::from_secs(31)).await;
        let probe = b.acquire().expect("after the cool-down another probe goes through");
        b.guard(probe).finish(true);
        assert!(!b.is_open());
        assert_eq!(b.acquire().unwrap(), Permit::Call);
    }
}
