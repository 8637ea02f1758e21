//! Service statistics: counts, average and percentile deliberation times, counts per role.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A point-in-time copy of the statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Deliberations finished (successful or not).
    pub total_deliberations: u64,
    /// Deliberations that failed.
    pub failed_deliberations: u64,
    /// Orchestrations finished.
    pub total_orchestrations: u64,
    /// Mean deliberation wall time.
    pub avg_deliberation_ms: f64,
    /// Mean orchestration wall time.
    pub avg_orchestration_ms: f64,
    /// Median deliberation time.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Deliberations per role.
    pub role_counts: BTreeMap<String, u64>,
}

struct Inner {
    snapshot: StatsSnapshot,
    sum_delib_ms: f64,
    sum_orch_ms: f64,
    histogram: Histogram<u64>,
}

/// Thread-safe statistics recorder.
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            inner: Mutex::new(Inner {
                snapshot: StatsSnapshot::default(),
                sum_delib_ms: 0.0,
                sum_orch_ms: 0.0,
                // Microseconds, 3 significant digits, auto-resizing.
                histogram: Histogram::new(3).expect("valid histogram precision"),
            }),
        }
    }
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats").field("snapshot", &self.snapshot()).finish()
    }
}

impl Stats {
    /// New, empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one finished deliberation.
    pub fn record_deliberation(&self, role: &str, duration: Duration, succeeded: bool) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let ms = duration.as_secs_f64() * 1000.0;
        g.sum_delib_ms += ms;
        let _ = g.histogram.record((duration.as_micros() as u64).max(1));
        let s = &mut g.snapshot;
        s.total_deliberations += 1;
        if !succeeded {
            s.failed_deliberations += 1;
        }
        *s.role_counts.entry(role.to_owned()).or_default() += 1;
    }

    /// Record one finished orchestration.
    pub fn record_orchestration(&self, duration: Duration) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.sum_orch_ms += duration.as_secs_f64() * 1000.0;
        g.snapshot.total_orchestrations += 1;
    }

    /// Copy of the current figures.
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = g.snapshot.clone();
        if s.total_deliberations > 0 {
            s.avg_deliberation_ms = g.sum_delib_ms / s.total_deliberations as f64;
            s.p50_ms = g.histogram.value_at_quantile(0.50) as f64 / 1000.0;
            s.p95_ms = g.histogram.value_at_quantile(0.95) as f64 / 1000.0;
            s.p99_ms = g.histogram.value_at_quantile(0.99) as f64 / 1000.0;
        }
        if s.total_orchestrations > 0 {
            s.avg_orchestration_ms = g.sum_orch_ms / s.total_orchestrations as f64;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_report_percentiles_and_roles() {
        let s = Stats::new();
        for i in 1..=100u64 {
            s.record_deliberation(if i % 2 == 0 { "DEV" } else { "QA" }, Duration::from_millis(i), true);
        }
        s.record_orchestration(Duration::from_millis(10));
        let snap = s.snapshot();
        assert_eq!(snap.total_deliberations, 100);
        assert_eq!(snap.total_orchestrations, 1);
        assert!((snap.avg_deliberation_ms - 50.5).abs() < 0.01);
        assert!((snap.p50_ms - 50.0).abs() < 1.0, "{}", snap.p50_ms);
        assert!((snap.p99_ms - 99.0).abs() < 1.0, "{}", snap.p99_ms);
        assert_eq!(snap.role_counts["DEV"], 50);
    }
}
