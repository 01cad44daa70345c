//! CPU time of this process and of its threads by name, from `/proc` (Linux): a `top -H` view
//! of a run without a profiler. Elsewhere the readings are empty.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Linux reports CPU times in clock ticks of `USER_HZ`, 100 on every mainstream architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// User and system time, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticks {
    pub user: u64,
    pub system: u64,
}

/// The process's times, its threads' times summed by thread name, and the whole machine's busy
/// time (every process).
#[derive(Debug, Clone, Default)]
pub struct CpuSample {
    pub process: Ticks,
    pub threads: BTreeMap<String, Ticks>,
    /// Busy ticks of all cores together (user, nice, system, irq, softirq, steal).
    pub machine_busy: u64,
}

/// The busy ticks in the text of `/proc/stat`'s first line.
fn parse_machine(text: &str) -> Option<u64> {
    let line = text.lines().next()?;
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|index| values.get(*index).copied().unwrap_or(0))
        .sum();
    Some(busy)
}

/// The times in the text of a `stat` file: the fields after the parenthesised name.
fn parse_stat(text: &str) -> Option<(String, Ticks)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // Field 3 of stat(5) is the first after the name: utime is field 14, stime field 15.
    let user = fields.get(11)?.parse().ok()?;
    let system = fields.get(12)?.parse().ok()?;
    Some((name, Ticks { user, system }))
}

/// Thread names with their numbering removed, so that a pool shows as one line
/// (`sled-io-3` → `sled-io-*`).
fn family(name: &str) -> String {
    let trimmed = name.trim_end_matches(|character: char| character.is_ascii_digit());
    if trimmed.len() == name.len() || trimmed.is_empty() {
        name.to_owned()
    } else {
        format!("{trimmed}*")
    }
}

impl CpuSample {
    /// Reads the times now.
    pub fn now() -> CpuSample {
        let mut sample = CpuSample {
            machine_busy: std::fs::read_to_string("/proc/stat")
                .ok()
                .as_deref()
                .and_then(parse_machine)
                .unwrap_or(0),
            ..CpuSample::default()
        };
        if let Some((_, ticks)) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .as_deref()
            .and_then(parse_stat)
        {
            sample.process = ticks;
        }
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let Some((name, ticks)) = std::fs::read_to_string(task.path().join("stat"))
                    .ok()
                    .as_deref()
                    .and_then(parse_stat)
                else {
                    continue;
                };
                let entry = sample.threads.entry(family(&name)).or_default();
                entry.user += ticks.user;
                entry.system += ticks.system;
            }
        }
        sample
    }
}

/// Cores used over a span, overall and by thread family.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuUsage {
    /// Cores busy in user mode on average over the span (2.0 is both cores of this machine).
    pub user_cores: f64,
    pub system_cores: f64,
    /// Cores kept busy by everything else on the machine over the span (other engineers'
    /// builds): a figure taken while this is high is not comparable.
    pub other_processes_cores: f64,
    /// Thread families and the cores they kept busy (user + system), busiest first. Threads
    /// that ended during the span are missing, so the families may sum to less.
    pub threads: Vec<(String, f64)>,
}

impl CpuUsage {
    /// The usage between two samples `span` apart.
    pub fn between(before: &CpuSample, after: &CpuSample, span: Duration) -> CpuUsage {
        let seconds = span.as_secs_f64().max(1e-9);
        let cores = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / seconds;
        let mut threads: Vec<(String, f64)> = after
            .threads
            .iter()
            .map(|(name, ticks)| {
                let earlier = before.threads.get(name).copied().unwrap_or_default();
                let busy =
                    (ticks.user + ticks.system).saturating_sub(earlier.user + earlier.system);
                (name.clone(), cores(busy))
            })
            .filter(|(_, used)| *used > 0.0)
            .collect();
        threads.sort_by(|left, right| right.1.total_cmp(&left.1));
        let user = after.process.user.saturating_sub(before.process.user);
        let system = after.process.system.saturating_sub(before.process.system);
        let machine = after.machine_busy.saturating_sub(before.machine_busy);
        CpuUsage {
            user_cores: cores(user),
            system_cores: cores(system),
            other_processes_cores: cores(machine.saturating_sub(user + system)),
            threads,
        }
    }

    /// One line: `1.62 user + 0.31 system cores (other processes 0.05); by thread: ...`.
    pub fn summary(&self) -> String {
        let threads: Vec<String> = self
            .threads
            .iter()
            .take(6)
            .map(|(name, used)| format!("{name} {used:.2}"))
            .collect();
        format!(
            "{:.2} user + {:.2} system cores (other processes on the machine: {:.2}); by thread: {}",
            self.user_cores,
            self.system_cores,
            self.other_processes_cores,
            threads.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `stat` line whose thread name holds spaces and parentheses still parses: times are
    /// taken after the last parenthesis. The machine's busy time sums the busy columns of
    /// `/proc/stat`.
    #[test]
    fn stat_lines_parse() {
        let line = "4242 (tokio (runtime) w) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 9 0";
        let (name, ticks) = parse_stat(line).unwrap();
        assert_eq!(name, "tokio (runtime) w");
        assert_eq!(
            ticks,
            Ticks {
                user: 250,
                system: 75
            }
        );
        assert!(parse_stat("garbage").is_none());
        assert_eq!(
            parse_machine("cpu  100 5 20 900 7 1 2 3 0 0\ncpu0 1 2 3 4\n"),
            Some(100 + 5 + 20 + 1 + 2 + 3)
        );
        assert!(parse_machine("intr 1 2 3").is_none());
    }

    /// Numbered threads fold into one family.
    #[test]
    fn families() {
        assert_eq!(family("sled-io-3"), "sled-io-*");
        assert_eq!(family("tokio-runtime-w"), "tokio-runtime-w");
        assert_eq!(family("42"), "42");
    }

    /// Usage divides the ticks between two samples by the span.
    #[test]
    fn usage_between_samples() {
        let mut before = CpuSample::default();
        before.threads.insert(
            "a".into(),
            Ticks {
                user: 10,
                system: 0,
            },
        );
        let mut after = CpuSample {
            process: Ticks {
                user: 300,
                system: 100,
            },
            threads: BTreeMap::new(),
            machine_busy: 500,
        };
        after.threads.insert(
            "a".into(),
            Ticks {
                user: 110,
                system: 0,
            },
        );
        after.threads.insert(
            "b".into(),
            Ticks {
                user: 50,
                system: 150,
            },
        );
        let usage = CpuUsage::between(&before, &after, Duration::from_secs(2));
        assert!((usage.user_cores - 1.5).abs() < 1e-9);
        assert!((usage.system_cores - 0.5).abs() < 1e-9);
        assert!((usage.other_processes_cores - 0.5).abs() < 1e-9);
        assert_eq!(usage.threads[0].0, "b");
        assert!((usage.threads[0].1 - 1.0).abs() < 1e-9);
        assert!((usage.threads[1].1 - 0.5).abs() < 1e-9);
        // A real sample of this process can be read.
        let _ = CpuSample::now();
    }
}
