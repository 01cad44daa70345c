//! What a load run measured: per RPC kind, the latencies of the calls that finished inside the
//! measurement window and the errors by gRPC code; and the tables and JSON made from them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::histogram::Histogram;

/// The RPCs a load run times, each on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RpcKind {
    /// `ParticipantService.LookUpSupplyPoint`.
    LookUp,
    /// `ParticipantService.RegisterStopOnBehalf`, by the incoming retailer.
    RegisterStopOnBehalf,
    /// `ParticipantService.JudgeStopOnBehalf` (OK), by the current retailer.
    JudgeStopOnBehalf,
    /// `ParticipantService.SubmitApplication`, the switch-out, by the current retailer.
    SubmitSwitchOut,
    /// `ParticipantService.SubmitApplication`, the switch-in, by the incoming retailer; it
    /// matches the switch-out.
    SubmitSwitchIn,
    /// `TsoService.CompleteApplication`, after the clocks moved to the effective date.
    CompleteApplication,
    /// The four writes of one switching, one after the other: end to end.
    Switching,
}

impl RpcKind {
    pub const ALL: [RpcKind; 7] = [
        RpcKind::LookUp,
        RpcKind::RegisterStopOnBehalf,
        RpcKind::JudgeStopOnBehalf,
        RpcKind::SubmitSwitchOut,
        RpcKind::SubmitSwitchIn,
        RpcKind::CompleteApplication,
        RpcKind::Switching,
    ];

    /// The four writes of a switching.
    pub const SWITCHING_WRITES: [RpcKind; 4] = [
        RpcKind::RegisterStopOnBehalf,
        RpcKind::JudgeStopOnBehalf,
        RpcKind::SubmitSwitchOut,
        RpcKind::SubmitSwitchIn,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// The name in tables.
    pub fn name(self) -> &'static str {
        match self {
            RpcKind::LookUp => "LookUpSupplyPoint",
            RpcKind::RegisterStopOnBehalf => "RegisterStopOnBehalf",
            RpcKind::JudgeStopOnBehalf => "JudgeStopOnBehalf (OK)",
            RpcKind::SubmitSwitchOut => "SubmitApplication (switch-out)",
            RpcKind::SubmitSwitchIn => "SubmitApplication (switch-in, matches)",
            RpcKind::CompleteApplication => "CompleteApplication (TSO)",
            RpcKind::Switching => "one switching, 4 writes end to end",
        }
    }
}

/// The measurement window: calls that finish inside it are counted.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    pub fn contains(&self, instant: Instant) -> bool {
        self.start <= instant && instant <= self.end
    }

    pub fn length(&self) -> Duration {
        self.end.saturating_duration_since(self.start)
    }
}

/// One RPC kind's latencies and errors.
#[derive(Debug, Clone, Default)]
pub struct RpcStats {
    pub latencies: Histogram,
    /// Errors by gRPC code name (`Unavailable`, `FailedPrecondition`, ...).
    pub errors: BTreeMap<String, u64>,
}

impl RpcStats {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, other: &RpcStats) {
        self.latencies.merge(&other.latencies);
        for (code, count) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += count;
        }
    }
}

/// Error messages kept per kind, to show what went wrong.
const ERROR_SAMPLES_MAX: usize = 3;

/// One worker's (or a whole run's) measurements.
#[derive(Debug, Clone)]
pub struct Recorder {
    window: Window,
    stats: Vec<RpcStats>,
    /// Errors of calls that finished outside the window (warm-up, draining).
    pub errors_outside_window: u64,
    /// The first few error messages, with their kind.
    pub error_samples: Vec<String>,
}

impl Recorder {
    pub fn new(window: Window) -> Recorder {
        Recorder {
            window,
            stats: vec![RpcStats::default(); RpcKind::ALL.len()],
            errors_outside_window: 0,
            error_samples: Vec::new(),
        }
    }

    /// Records a call of `kind` that started at `started` and just finished, successfully or
    /// with `error`. Refusals by a rule are errors: a healthy run has none.
    pub fn record(&mut self, kind: RpcKind, started: Instant, error: Option<&tonic::Status>) {
        let finished = Instant::now();
        let inside = self.window.contains(finished);
        match error {
            None if inside => self.stats[kind.index()]
                .latencies
                .record(finished.saturating_duration_since(started)),
            None => {}
            Some(status) => {
                if self.error_samples.len() < ERROR_SAMPLES_MAX {
                    self.error_samples.push(format!(
                        "{}: {:?}: {}",
                        kind.name(),
                        status.code(),
                        status.message()
                    ));
                }
                if inside {
                    *self.stats[kind.index()]
                        .errors
                        .entry(format!("{:?}", status.code()))
                        .or_default() += 1;
                } else {
                    self.errors_outside_window += 1;
                }
            }
        }
    }

    /// Records a problem that is not a gRPC status (an answer that is not what the flow expects).
    pub fn record_unexpected(&mut self, kind: RpcKind, what: String) {
        if self.error_samples.len() < ERROR_SAMPLES_MAX {
            self.error_samples.push(format!("{}: {what}", kind.name()));
        }
        *self.stats[kind.index()]
            .errors
            .entry("Unexpected".to_owned())
            .or_default() += 1;
    }

    pub fn stats(&self, kind: RpcKind) -> &RpcStats {
        &self.stats[kind.index()]
    }

    pub fn merge(&mut self, other: &Recorder) {
        for (mine, theirs) in self.stats.iter_mut().zip(&other.stats) {
            mine.merge(theirs);
        }
        self.errors_outside_window += other.errors_outside_window;
        for sample in &other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES_MAX * 4 {
                self.error_samples.push(sample.clone());
            }
        }
    }

    pub fn window(&self) -> Window {
        self.window
    }

    /// Ends the window at `end` if that is earlier: for work that finished before its limit,
    /// so that rates divide by the time actually taken.
    pub fn close_at(&mut self, end: Instant) {
        if end < self.window.end {
            self.window.end = end.max(self.window.start);
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct RpcRow {
    pub rpc: String,
    pub count: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub errors: u64,
    pub errors_by_code: BTreeMap<String, u64>,
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl RpcRow {
    pub fn new(rpc: impl Into<String>, stats: &RpcStats, window: Duration) -> RpcRow {
        let count = stats.latencies.count();
        RpcRow {
            rpc: rpc.into(),
            count,
            per_second: count as f64 / window.as_secs_f64().max(1e-9),
            p50_ms: milliseconds(stats.latencies.percentile(0.50)),
            p99_ms: milliseconds(stats.latencies.percentile(0.99)),
            max_ms: milliseconds(stats.latencies.max()),
            mean_ms: milliseconds(stats.latencies.mean()),
            errors: stats.error_count(),
            errors_by_code: stats.errors.clone(),
        }
    }
}

/// The rows of a run: every kind that saw a call, then the totals.
pub fn rows(recorder: &Recorder) -> Vec<RpcRow> {
    let window = recorder.window().length();
    let mut rows = Vec::new();
    for kind in RpcKind::ALL {
        let stats = recorder.stats(kind);
        if kind == RpcKind::Switching || (stats.latencies.is_empty() && stats.errors.is_empty()) {
            continue;
        }
        rows.push(RpcRow::new(kind.name(), stats, window));
    }
    let mut writes = RpcStats::default();
    for kind in RpcKind::SWITCHING_WRITES {
        writes.merge(recorder.stats(kind));
    }
    if !writes.latencies.is_empty() || !writes.errors.is_empty() {
        rows.push(RpcRow::new("all switching writes", &writes, window));
        rows.push(RpcRow::new(
            RpcKind::Switching.name(),
            recorder.stats(RpcKind::Switching),
            window,
        ));
    }
    let mut everything = RpcStats::default();
    for kind in RpcKind::ALL {
        if kind != RpcKind::Switching {
            everything.merge(recorder.stats(kind));
        }
    }
    rows.push(RpcRow::new("all RPCs", &everything, window));
    rows
}

/// A Markdown table of `rows`.
pub fn table(rows: &[RpcRow]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "| RPC | count | ops/s | p50 ms | p99 ms | max ms | errors |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|---|");
    for row in rows {
        let errors = if row.errors == 0 {
            "0".to_owned()
        } else {
            let codes: Vec<String> = row
                .errors_by_code
                .iter()
                .map(|(code, count)| format!("{code} {count}"))
                .collect();
            format!("{} ({})", row.errors, codes.join(", "))
        };
        let _ = writeln!(
            text,
            "| {} | {} | {} | {:.2} | {:.2} | {:.1} | {} |",
            row.rpc,
            thousands(row.count),
            thousands(row.per_second.round() as u64),
            row.p50_ms,
            row.p99_ms,
            row.max_ms,
            errors
        );
    }
    text
}

/// `1234567` as `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls finishing inside the window are timed and counted; errors outside it are counted
    /// apart; the rows add the writes up and the totals include every RPC but not the
    /// end-to-end switching (which would count its writes twice).
    #[tokio::test(start_paused = true)]
    async fn recorder_counts_inside_the_window_and_rows_add_up() {
        let start = Instant::now();
        let window = Window {
            start: start + Duration::from_secs(1),
            end: start + Duration::from_secs(3),
        };
        let mut recorder = Recorder::new(window);
        // Warm-up: not counted, but an error is remembered.
        recorder.record(RpcKind::LookUp, Instant::now(), None);
        recorder.record(
            RpcKind::LookUp,
            Instant::now(),
            Some(&tonic::Status::unavailable("no leader")),
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..10 {
            let started = Instant::now();
            tokio::time::advance(Duration::from_millis(2)).await;
            recorder.record(RpcKind::LookUp, started, None);
        }
        for kind in RpcKind::SWITCHING_WRITES {
            let started = Instant::now();
            tokio::time::advance(Duration::from_millis(20)).await;
            recorder.record(kind, started, None);
        }
        recorder.record(
            RpcKind::SubmitSwitchIn,
            Instant::now(),
            Some(&tonic::Status::failed_precondition("conflict")),
        );
        recorder.record(RpcKind::Switching, window.start, None);

        let mut total = Recorder::new(window);
        total.merge(&recorder);
        assert_eq!(total.errors_outside_window, 1);
        assert_eq!(total.error_samples.len(), 2);
        let rows = rows(&total);
        let names: Vec<&str> = rows.iter().map(|row| row.rpc.as_str()).collect();
        assert_eq!(
            names,
            [
                "LookUpSupplyPoint",
                "RegisterStopOnBehalf",
                "JudgeStopOnBehalf (OK)",
                "SubmitApplication (switch-out)",
                "SubmitApplication (switch-in, matches)",
                "all switching writes",
                "one switching, 4 writes end to end",
                "all RPCs"
            ]
        );
        let look_ups = &rows[0];
        assert_eq!(look_ups.count, 10);
        assert!((look_ups.per_second - 5.0).abs() < 1e-9);
        assert!((look_ups.p99_ms - 2.0).abs() < 1e-9);
        assert_eq!(rows[4].errors, 1);
        assert_eq!(rows[4].errors_by_code["FailedPrecondition"], 1);
        assert_eq!(rows[5].count, 4);
        assert_eq!(rows[5].errors, 1);
        assert_eq!(rows[6].count, 1);
        assert_eq!(rows[7].count, 14);
        assert_eq!(rows[7].errors, 1);
        let table = table(&rows);
        assert!(table.contains("| 1 (FailedPrecondition 1) |"), "{table}");
    }

    /// Thousands separators.
    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
