//! The chaos suite: real `switchyard serve` processes (every peer link through a fault-injecting
//! proxy) under a seeded nemesis — sites cut off, the leader isolated, one-way partitions,
//! dropping links, slow links, SIGKILL and restart, SIGSTOP and SIGCONT, stalled disks, a leader
//! whose clock runs behind — while retailer, TSO and operator clients race on hot supply points
//! and watchers follow the event streams; after the heal every node's own final state is read
//! from its own snapshot and the whole history is checked (linearizability per supply point, no
//! acknowledged write lost, no retry applied twice, gap-free and duplicate-free streams, the
//! domain's invariants and one state on every replica, time never going back).
//!
//! Selected by environment variables, so that a plain `cargo test` stays fast:
//!
//! - none set: the suite says how to run it and passes at once;
//! - `CHAOS=ci` (what `.ci/run` sets): every regression case below, then `CHAOS_RANDOM_RUNS`
//!   (default 3) runs with new random seeds, each in a scenario drawn from the seed;
//! - `CHAOS_SCENARIOS=partitions,crashes` (or `all`), optionally with `CHAOS_SEED=…`: those
//!   scenarios, each with that seed or a new random one.
//!
//! Every run prints its seed and the command that replays it; `CHAOS_SECONDS` lengthens the
//! fault schedule (30 s by default) for local soak runs. A failing run keeps its directory with
//! the history, the replicas and the report as files, and the suite fails listing every failing
//! run; `CHAOS_RECHECK=<that directory>/chaos` checks the saved files again (after a change to
//! the checkers) without running anything.

use std::time::{Duration, Instant};

use switchyard_testkit::chaos::scenario::{SCENARIOS, Scenario, scenario};
use switchyard_testkit::chaos::{RunOptions, RunOutcome, replay_command, run};

const BINARY: &str = env!("CARGO_BIN_EXE_switchyard");

/// Seeds kept because they found something, or because they cover a scenario in every CI run.
/// Add a failing seed here with the bug it found, after the bug is fixed.
const REGRESSION_CASES: &[(&str, u64, &str)] = &[
    (
        "partitions",
        1,
        "found look-ups naming a revision older than the state they showed, and quiet event streams left without progress (both fixed)",
    ),
    ("crashes", 2, "coverage"),
    ("disk-and-clock", 3, "coverage"),
    ("two-sites", 4, "coverage"),
    (
        "mixed",
        960_222_522,
        "found a first call answered replayed after the node's own retry (the model was too strict)",
    ),
];

/// Random runs per CI submission, after the regression cases.
const RANDOM_RUNS_DEFAULT: usize = 3;

fn variable(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    // Small enough to type; distinct enough between runs.
    (nanos as u64 ^ u64::from(std::process::id()).rotate_left(20)) % 1_000_000_000
}

/// The runs the environment asks for, as (scenario, seed, why).
fn selected_runs() -> Result<Vec<(Scenario, u64, String)>, String> {
    let seed = variable("CHAOS_SEED")
        .map(|text| {
            text.parse::<u64>()
                .map_err(|error| format!("CHAOS_SEED={text:?}: {error}"))
        })
        .transpose()?;
    if let Some(names) = variable("CHAOS_SCENARIOS") {
        let chosen: Vec<Scenario> = if names == "all" {
            SCENARIOS.to_vec()
        } else {
            names
                .split(',')
                .map(|name| {
                    scenario(name.trim()).copied().ok_or_else(|| {
                        format!(
                            "CHAOS_SCENARIOS: no scenario {name:?}; known: {}",
                            SCENARIOS
                                .iter()
                                .map(|scenario| scenario.name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        };
        return Ok(chosen
            .into_iter()
            .enumerate()
            .map(|(index, scenario)| {
                let seed = seed.unwrap_or_else(|| random_seed() + index as u64);
                (scenario, seed, "asked for".to_owned())
            })
            .collect());
    }
    if let Some(seed) = seed {
        return Err(format!(
            "CHAOS_SEED={seed} needs CHAOS_SCENARIOS (one of {})",
            SCENARIOS
                .iter()
                .map(|scenario| scenario.name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match variable("CHAOS").as_deref() {
        None => Ok(Vec::new()),
        Some(_) => {
            let mut runs = Vec::new();
            for (name, seed, why) in REGRESSION_CASES {
                let scenario = *scenario(name).ok_or_else(|| format!("no scenario {name}"))?;
                runs.push((scenario, *seed, format!("regression: {why}")));
            }
            let random_runs = variable("CHAOS_RANDOM_RUNS")
                .map(|text| {
                    text.parse::<usize>()
                        .map_err(|error| format!("CHAOS_RANDOM_RUNS={text:?}: {error}"))
                })
                .transpose()?
                .unwrap_or(RANDOM_RUNS_DEFAULT);
            for index in 0..random_runs {
                let seed = random_seed() + index as u64;
                let scenario = SCENARIOS[(seed % SCENARIOS.len() as u64) as usize];
                runs.push((scenario, seed, "random".to_owned()));
            }
            Ok(runs)
        }
    }
}

/// Every selected chaos run (see the file's documentation) finds no violation: each run records
/// a history of real clients against real processes under its nemesis, collects every node's own
/// final state after the heal, and fails with its seed, its replay command, the checkers' report
/// and the kept run directory if any checker objects.
#[test]
fn chaos_runs_find_no_violation() {
    if let Some(directory) = variable("CHAOS_RECHECK") {
        recheck(std::path::Path::new(&directory));
        return;
    }
    let runs = selected_runs().unwrap_or_else(|error| panic!("{error}"));
    if runs.is_empty() {
        eprintln!(
            "chaos suite skipped: set CHAOS=ci (regression cases and random seeds) or CHAOS_SCENARIOS=<names|all> [CHAOS_SEED=<seed>]"
        );
        return;
    }
    let faults_total = variable("CHAOS_SECONDS")
        .map(|text| {
            Duration::from_secs(
                text.parse()
                    .unwrap_or_else(|error| panic!("CHAOS_SECONDS={text:?}: {error}")),
            )
        })
        .unwrap_or(Duration::from_secs(30));
    eprintln!("chaos suite: {} run(s)", runs.len());
    for (scenario, seed, why) in &runs {
        eprintln!("  {} seed {seed} ({why})", scenario.name);
    }
    let suite_started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut outcomes: Vec<RunOutcome> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (scenario, seed, why) in &runs {
        let mut options = RunOptions::new(BINARY, *scenario, *seed);
        options.faults_total = faults_total;
        match runtime.block_on(run(options)) {
            Ok(outcome) => {
                eprintln!("chaos: {}", outcome.summary());
                if outcome.report.is_ok() {
                    for note in &outcome.report.notes {
                        eprintln!("chaos:   note: {note}");
                    }
                } else {
                    let failure = format!(
                        "scenario {} seed {seed} ({why}) FAILED — replay: {}\nkept: {}\n{}",
                        scenario.name,
                        replay_command(scenario.name, *seed),
                        outcome
                            .kept_directory
                            .as_ref()
                            .map_or_else(String::new, |path| path.display().to_string()),
                        outcome.report
                    );
                    eprintln!("chaos: {failure}");
                    failures.push(failure);
                }
                outcomes.push(outcome);
            }
            Err(error) => {
                let failure = format!(
                    "scenario {} seed {seed} ({why}) could not run — replay: {}\n{error}",
                    scenario.name,
                    replay_command(scenario.name, *seed)
                );
                eprintln!("chaos: {failure}");
                failures.push(failure);
            }
        }
    }
    let operations: usize = outcomes.iter().map(|outcome| outcome.operations).sum();
    eprintln!(
        "chaos suite: {} run(s), {operations} operation(s) checked, {} failure(s), {:.0} s",
        runs.len(),
        failures.len(),
        suite_started.elapsed().as_secs_f64()
    );
    for outcome in &outcomes {
        eprintln!("  {}", outcome.summary());
    }
    assert!(
        failures.is_empty(),
        "{} chaos run(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Checks a failing run's saved history and replicas again.
fn recheck(directory: &std::path::Path) {
    let read = |name: &str| {
        let path = directory.join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
    };
    let history: switchyard_testkit::chaos::History =
        serde_json::from_str(&read("history.json")).expect("a saved history");
    let replicas: Vec<switchyard_testkit::chaos::ReplicaFinalState> =
        serde_json::from_str(&read("replicas.json")).expect("saved replicas");
    let report = switchyard_testkit::chaos::check(&history, &replicas);
    eprintln!("{report}");
    assert!(report.is_ok(), "the saved run still fails its checks");
}
