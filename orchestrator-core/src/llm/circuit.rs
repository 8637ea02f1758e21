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
pub struct CircuitBreaker {
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

    /// Whether calls are failing fast now.
    pub fn is_open(&self) -> bool {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *s {
            State::Open { until } => Instant::now() < until,
            _ => false,
        }
    }
}
