//! `switchyard-load`: the public gRPC API under the real mix — about 27 look-ups per switching
//! (400,000 : 15,000 a day), a switching being four writes by two retailers — with throughput
//! and p50/p99 per RPC; and the bulk import of supply points.
//!
//! By default it starts the five-node development cluster (tokyo-1, tokyo-2, osaka-1, osaka-2,
//! witness-1) in this process, so the nodes and the load share this machine's cores; with
//! `--endpoints` it loads a cluster already running (`switchyard dev`, same data options).
//!
//! ```sh
//! cargo run --release -p switchyard-testkit --bin switchyard-load -- --duration-s 20
//! cargo run --release -p switchyard-testkit --bin switchyard-load -- --mix 1:0    # look-ups only
//! cargo run --release -p switchyard-testkit --bin switchyard-load -- --mix 0:1    # writes only
//! cargo run --release -p switchyard-testkit --bin switchyard-load -- --search
//! cargo run --release -p switchyard-testkit --bin switchyard-load -- --supply-points 1000 --import-points 1000000
//! ```
#![allow(clippy::print_stdout, reason = "a load generator reports on stdout")]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::json;
use switchyard_domain::Timestamp;
use switchyard_domain::generator::{GeneratorConfig, SampleData};
use switchyard_proto::v1;
use switchyard_server::dev::DevOptions;
use switchyard_testkit::load::import::{ImportReport, run_import};
use switchyard_testkit::load::mix::Mix;
use switchyard_testkit::load::report::{RpcRow, rows, table, thousands};
use switchyard_testkit::load::run::{
    CompletionSettings, MixSettings, Plan, days_ahead, run_completions, run_mix,
};
use switchyard_testkit::load::target::{RateLimits, Target};

/// The node binary's allocator, so that the nodes behave as in `switchyard`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Days ahead of today for every switching's effective date.
const EFFECTIVE_IN_DAYS: i32 = 30;
/// How far the clocks move for the TSO completions: past the effective date.
const COMPLETION_CLOCK_OFFSET_MS: i64 = (EFFECTIVE_IN_DAYS as i64 + 1) * 86_400_000;
/// Bound on one call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Other processes' load above which a run says its figures are disturbed.
const OTHER_PROCESSES_CORES_NOTED: f64 = 0.2;
/// The issue's targets.
const LOOK_UPS_PER_SECOND_TARGET: f64 = 10_000.0;
const WRITES_PER_SECOND_TARGET: f64 = 2_000.0;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ConsistencyArgument {
    Local,
    Linearizable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WritesTo {
    All,
    Leader,
}

#[derive(Debug, Parser)]
#[command(
    name = "switchyard-load",
    about = "Load the public gRPC API with the real mix of look-ups and switchings, or import supply points"
)]
struct Arguments {
    /// Public endpoints of a running cluster (`http://host:port`, comma-separated), called with
    /// development tokens. Default: start the five-node development cluster in this process.
    #[arg(long, value_delimiter = ',')]
    endpoints: Vec<String>,
    /// Supply points of the sample data (with --endpoints: what the running cluster loaded).
    #[arg(long, default_value_t = 100_000)]
    supply_points: usize,
    /// Retailers of the sample data.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(2..=1000))]
    retailers: u64,
    /// Seed of the sample data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Look-ups : switchings (a switching is 4 writes). `1:0` look-ups only, `0:1` switchings
    /// only, `free` both pools flat out without a ratio.
    #[arg(long, default_value = "400000:15000")]
    mix: Mix,
    /// Concurrent look-up callers.
    #[arg(long, default_value_t = 32)]
    lookup_workers: usize,
    /// Concurrent switching callers (each runs one switching's writes one after the other).
    #[arg(long, default_value_t = 16)]
    write_workers: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 20)]
    duration_s: u64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 3)]
    warm_up_s: u64,
    /// Consistency of look-ups.
    #[arg(long, value_enum, default_value_t = ConsistencyArgument::Local)]
    consistency: ConsistencyArgument,
    /// Where the switching writes go: `all` nodes in turn (followers forward to the leader), or
    /// only the `leader` (in-process cluster; no forwarding). Look-ups always go to all nodes.
    #[arg(long, value_enum, default_value_t = WritesTo::All)]
    writes_to: WritesTo,
    /// Load the development cluster's own public APIs, with their default rate limit (200/s per
    /// party and node), instead of a second API per node with a limit no run reaches.
    #[arg(long)]
    dev_rate_limits: bool,
    /// After the run, move the clocks past the effective date and have the TSOs complete the
    /// matched pairs (in-process cluster only; the clocks cannot move back, so it comes last).
    #[arg(long)]
    complete: bool,
    /// Longest time for the completions.
    #[arg(long, default_value_t = 15)]
    complete_limit_s: u64,
    /// Supplied points to leave alone before the first switching (to run again against the same
    /// running cluster).
    #[arg(long, default_value_t = 0)]
    skip_points: usize,
    /// Step the workers up (x1, x2, x4, ... of --lookup-workers and --write-workers) in short
    /// runs, until a p99 target breaks; report every step and the best that met the targets.
    #[arg(long)]
    search: bool,
    /// Seconds measured per search step (after 1 s of warm-up).
    #[arg(long, default_value_t = 6)]
    step_s: u64,
    /// Most search steps.
    #[arg(long, default_value_t = 6)]
    steps: u32,
    /// The look-up p99 target, milliseconds.
    #[arg(long, default_value_t = 10.0)]
    lookup_p99_ms: f64,
    /// The write p99 target, milliseconds.
    #[arg(long, default_value_t = 50.0)]
    write_p99_ms: f64,
    /// Instead of the mix: import this many new supply points through
    /// `TsoService.ImportSupplyPoints` (one stream per TSO, batches of 1,000).
    #[arg(long)]
    import_points: Option<usize>,
    /// Concurrent import streams per TSO (each TSO's batches split into this many parts).
    #[arg(long, default_value_t = 1)]
    import_streams_per_tso: usize,
    /// Also write the results as JSON to this file (`-` for stdout).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep the in-process nodes' data here (default: a temporary directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn machine_note() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| {
            let fields: Vec<&str> = text.split_whitespace().take(3).collect();
            (fields.len() == 3).then(|| fields.join(" "))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{cores} cores; load average before the run {load}")
}

fn today() -> switchyard_domain::Date {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    Timestamp(now).jst_date()
}

fn row<'a>(rows: &'a [RpcRow], name: &str) -> Option<&'a RpcRow> {
    rows.iter().find(|row| row.rpc == name)
}

/// The verdicts against the issue's targets, for one run's rows.
fn verdicts(rows: &[RpcRow], arguments: &Arguments) -> Vec<String> {
    let mut lines = Vec::new();
    let met = |yes: bool| if yes { "met" } else { "NOT met" };
    if let Some(look_ups) = row(rows, "LookUpSupplyPoint") {
        let yes = look_ups.per_second >= LOOK_UPS_PER_SECOND_TARGET
            && look_ups.p99_ms <= arguments.lookup_p99_ms
            && look_ups.errors == 0;
        lines.push(format!(
            "look-ups: {}/s at p99 {:.2} ms (target >= {}/s, p99 <= {} ms): {}",
            thousands(look_ups.per_second.round() as u64),
            look_ups.p99_ms,
            thousands(LOOK_UPS_PER_SECOND_TARGET as u64),
            arguments.lookup_p99_ms,
            met(yes)
        ));
    }
    if let Some(writes) = row(rows, "all switching writes") {
        let yes = writes.per_second >= WRITES_PER_SECOND_TARGET
            && writes.p99_ms <= arguments.write_p99_ms
            && writes.errors == 0;
        lines.push(format!(
            "switching writes: {}/s at p99 {:.2} ms (target >= {}/s, p99 <= {} ms): {}",
            thousands(writes.per_second.round() as u64),
            writes.p99_ms,
            thousands(WRITES_PER_SECOND_TARGET as u64),
            arguments.write_p99_ms,
            met(yes)
        ));
    }
    lines
}

fn write_json(path: &std::path::Path, value: &serde_json::Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    if path.as_os_str() == "-" {
        println!("{text}");
    } else if let Err(error) = std::fs::write(path, text) {
        eprintln!("error: cannot write {}: {error}", path.display());
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let arguments = Arguments::parse();
    switchyard_server::logging::install("text", "warn");
    let command_line: Vec<String> = std::env::args().collect();
    let machine = machine_note();
    println!("switchyard-load {}", command_line[1..].join(" "));
    println!("machine: {machine}");

    let options = DevOptions {
        data_dir: arguments.data_dir.clone(),
        base_port: 0,
        supply_points: arguments.supply_points,
        retailers: arguments.retailers as usize,
        seed: arguments.seed,
        ..DevOptions::default()
    };
    let data = switchyard_server::dev::sample_data(&options);
    let limits = if arguments.dev_rate_limits {
        RateLimits::Development
    } else {
        RateLimits::Raised
    };
    let target = if arguments.endpoints.is_empty() {
        eprintln!(
            "starting the five-node development cluster in this process, loading {} supply points ...",
            thousands(arguments.supply_points as u64)
        );
        let started = std::time::Instant::now();
        match Target::start_in_process(&options, &data, limits, |_, _| {}).await {
            Ok(target) => {
                eprintln!("ready in {:.1} s", started.elapsed().as_secs_f64());
                target
            }
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        match Target::connect(&arguments.endpoints).await {
            Ok(target) => target,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    };
    let target_description = match &target.in_process {
        Some(_) => format!(
            "in-process five-node development cluster (nodes and load share this machine), {}",
            match limits {
                RateLimits::Raised => "second public API per node with the rate limit raised",
                RateLimits::Development =>
                    "development public APIs (rate limit 200/s per party and node)",
            }
        ),
        None => format!("running cluster at {}", arguments.endpoints.join(",")),
    };
    println!("target: {target_description}");
    let run_id = format!(
        "ld{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    );

    let failed = if let Some(points) = arguments.import_points {
        import(&arguments, &target, points, &run_id).await
    } else if arguments.search {
        search(&arguments, &target, &data, &run_id).await
    } else {
        mix(&arguments, &target, &data, &run_id, &machine).await
    };
    target.shutdown().await;
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The bulk import; true if anything failed.
async fn import(arguments: &Arguments, target: &Target, points: usize, run_id: &str) -> bool {
    eprintln!(
        "generating {} new supply points ...",
        thousands(points as u64)
    );
    let fresh = SampleData::generate(&GeneratorConfig {
        // Another seed: other office numbers, so no number collides with the loaded points.
        seed: arguments.seed.wrapping_add(1_000_003),
        supply_points: points,
        retailers: arguments.retailers as usize,
        as_of: today(),
    });
    eprintln!(
        "importing through TsoService.ImportSupplyPoints, {} stream(s) per TSO ...",
        arguments.import_streams_per_tso
    );
    let report: ImportReport = run_import(
        target,
        fresh.supply_points,
        arguments.import_streams_per_tso,
        run_id,
    )
    .await;
    println!();
    println!("| TSO | node | points | batches | seconds | error |");
    println!("|---|---|---|---|---|---|");
    for stream in &report.streams {
        println!(
            "| {} | {} | {} | {} | {:.1} | {} |",
            stream.tso,
            stream.node,
            thousands(stream.points as u64),
            stream.batches,
            stream.seconds,
            stream.error.as_deref().unwrap_or("-")
        );
    }
    println!();
    println!(
        "imported {} supply points ({} created, {} updated) in {} batches in {:.1} s: {}/s",
        thousands(report.created + report.updated),
        thousands(report.created),
        thousands(report.updated),
        thousands(report.batches),
        report.seconds,
        thousands(report.points_per_second.round() as u64)
    );
    if let (Some(before), Some(after)) = (report.resident_mib_before, report.resident_mib_after) {
        println!(
            "resident memory of this process (five nodes + generator): {before:.0} MiB before, {after:.0} MiB after"
        );
    }
    println!("CPU over the import: {}", report.cpu.summary());
    if let Some(path) = &arguments.json {
        write_json(path, &json!({ "import": report }));
    }
    report.errors() > 0 || (report.created + report.updated) as usize != points
}

fn settings(arguments: &Arguments, target: &Target, run_id: &str) -> MixSettings {
    let write_node = match arguments.writes_to {
        WritesTo::All => None,
        WritesTo::Leader => {
            let leader = target.leader_index();
            if leader.is_none() {
                eprintln!("--writes-to leader needs the in-process cluster; writing to all nodes");
            }
            leader
        }
    };
    MixSettings {
        write_node,
        mix: arguments.mix,
        look_up_workers: arguments.lookup_workers,
        switching_workers: arguments.write_workers,
        warm_up: Duration::from_secs(arguments.warm_up_s),
        duration: Duration::from_secs(arguments.duration_s),
        consistency: match arguments.consistency {
            ConsistencyArgument::Local => v1::ReadConsistency::Local,
            ConsistencyArgument::Linearizable => v1::ReadConsistency::Linearizable,
        },
        effective_date: days_ahead(EFFECTIVE_IN_DAYS),
        run_id: run_id.to_owned(),
        seed: arguments.seed,
        call_timeout: CALL_TIMEOUT,
    }
}

/// One run of the mix, and the completions if asked; true if anything failed.
async fn mix(
    arguments: &Arguments,
    target: &Target,
    data: &SampleData,
    run_id: &str,
    machine: &str,
) -> bool {
    let plan = Arc::new(Plan::new(data, arguments.skip_points));
    let settings = settings(arguments, target, run_id);
    let per_switching = arguments
        .mix
        .look_ups_per_switching()
        .map_or_else(String::new, |ratio| {
            format!(
                " = {ratio:.1} look-ups per switching, {:.1} per write",
                ratio / 4.0
            )
        });
    println!(
        "mix {}{per_switching}; {} look-up workers, {} switching workers; {} s warm-up, {} s measured; look-ups {:?}; writes to {}",
        arguments.mix,
        arguments.lookup_workers,
        arguments.write_workers,
        arguments.warm_up_s,
        arguments.duration_s,
        settings.consistency,
        settings
            .write_node
            .map_or("every node in turn", |index| target.nodes[index]
                .name
                .as_str())
    );
    let outcome = run_mix(target, &plan, &settings).await;
    let mut table_rows = rows(&outcome.recorder);
    println!();
    print!("{}", table(&table_rows));
    println!();
    println!("CPU over the measured window: {}", outcome.cpu.summary());
    // A remote cluster on this machine is one of the "other processes": no note then.
    if target.in_process.is_some()
        && outcome.cpu.other_processes_cores > OTHER_PROCESSES_CORES_NOTED
    {
        println!(
            "NOTE: other processes kept {:.2} cores busy during the window: these figures are low",
            outcome.cpu.other_processes_cores
        );
    }
    if let Some(leader) = target.leader_name() {
        println!("leader at the end: {leader}");
    }
    println!(
        "switchings started: {} of {} available",
        thousands(plan.flows_taken() as u64),
        thousands(plan.flows_available() as u64)
    );
    if outcome.flows_exhausted {
        println!("WARNING: the run ran out of supply points to switch; use more --supply-points");
    }
    let mut failed = outcome.flows_exhausted;
    let errors: u64 =
        table_rows.last().map_or(0, |total| total.errors) + outcome.recorder.errors_outside_window;
    if errors > 0 {
        failed = true;
        println!(
            "ERRORS: {errors} ({} outside the measured window); first ones:",
            outcome.recorder.errors_outside_window
        );
        for sample in &outcome.recorder.error_samples {
            println!("  {sample}");
        }
    }
    for line in verdicts(&table_rows, arguments) {
        println!("{line}");
    }

    let mut completion_rows = Vec::new();
    if arguments.complete {
        println!();
        if target.set_clock_offset(COMPLETION_CLOCK_OFFSET_MS) {
            let matched = outcome.matched.len();
            let completion = CompletionSettings {
                workers: arguments.write_workers,
                limit: Duration::from_secs(arguments.complete_limit_s),
                run_id: run_id.to_owned(),
                call_timeout: CALL_TIMEOUT,
            };
            let recorder = run_completions(target, &plan, outcome.matched, &completion).await;
            completion_rows = rows(&recorder);
            completion_rows.retain(|row| row.rpc != "all RPCs");
            println!(
                "TSO completions after moving the clocks {} days ahead: {} matched pairs, {} workers, at most {} s",
                EFFECTIVE_IN_DAYS + 1,
                thousands(matched as u64),
                completion.workers,
                arguments.complete_limit_s
            );
            print!("{}", table(&completion_rows));
            if recorder.errors_outside_window > 0
                || completion_rows.iter().any(|row| row.errors > 0)
            {
                failed = true;
                for sample in &recorder.error_samples {
                    println!("  {sample}");
                }
            }
        } else {
            println!("--complete needs the in-process cluster (its clocks move); skipped");
        }
    }
    if let Some(path) = &arguments.json {
        table_rows.extend(completion_rows);
        write_json(
            path,
            &json!({
                "command": std::env::args().collect::<Vec<_>>(),
                "machine": machine,
                "mix": arguments.mix.to_string(),
                "lookup_workers": arguments.lookup_workers,
                "write_workers": arguments.write_workers,
                "warm_up_s": arguments.warm_up_s,
                "duration_s": arguments.duration_s,
                "rows": table_rows,
                "cpu": outcome.cpu,
                "errors_outside_window": outcome.recorder.errors_outside_window,
                "flows_exhausted": outcome.flows_exhausted,
            }),
        );
    }
    failed
}

/// Steps the workers up until a p99 target breaks; true if anything failed.
async fn search(arguments: &Arguments, target: &Target, data: &SampleData, run_id: &str) -> bool {
    let plan = Arc::new(Plan::new(data, arguments.skip_points));
    println!(
        "search: mix {}, workers x1, x2, x4 ... of {} look-up / {} switching; {} s per step after 1 s warm-up; targets p99 look-ups <= {} ms, writes <= {} ms",
        arguments.mix,
        arguments.lookup_workers,
        arguments.write_workers,
        arguments.step_s,
        arguments.lookup_p99_ms,
        arguments.write_p99_ms
    );
    println!();
    println!(
        "| look-up workers | switching workers | look-ups/s | look-up p50 ms | look-up p99 ms | writes/s | write p50 ms | write p99 ms | errors | cores used | other processes' cores | targets' p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut steps = Vec::new();
    let mut best: Option<(f64, String)> = None;
    let mut failed = false;
    for step in 0..arguments.steps {
        let factor = 1usize << step;
        let mut settings = settings(arguments, target, &format!("{run_id}s{step}"));
        settings.look_up_workers = if arguments.mix.has_look_ups() {
            arguments.lookup_workers * factor
        } else {
            0
        };
        settings.switching_workers = if arguments.mix.has_switchings() {
            arguments.write_workers * factor
        } else {
            0
        };
        settings.warm_up = Duration::from_secs(1);
        settings.duration = Duration::from_secs(arguments.step_s);
        let outcome = run_mix(target, &plan, &settings).await;
        let step_rows = rows(&outcome.recorder);
        let empty = RpcRow::new("", &Default::default(), Duration::from_secs(1));
        let look_ups = row(&step_rows, "LookUpSupplyPoint").unwrap_or(&empty);
        let writes = row(&step_rows, "all switching writes").unwrap_or(&empty);
        let errors = step_rows.last().map_or(0, |total| total.errors)
            + outcome.recorder.errors_outside_window;
        let within = (look_ups.count == 0 || look_ups.p99_ms <= arguments.lookup_p99_ms)
            && (writes.count == 0 || writes.p99_ms <= arguments.write_p99_ms)
            && errors == 0;
        println!(
            "| {} | {} | {} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {} |",
            settings.look_up_workers,
            settings.switching_workers,
            thousands(look_ups.per_second.round() as u64),
            look_ups.p50_ms,
            look_ups.p99_ms,
            thousands(writes.per_second.round() as u64),
            writes.p50_ms,
            writes.p99_ms,
            errors,
            outcome.cpu.user_cores + outcome.cpu.system_cores,
            outcome.cpu.other_processes_cores,
            if within { "met" } else { "broken" }
        );
        let total = look_ups.per_second + writes.per_second;
        if within
            && best
                .as_ref()
                .is_none_or(|(best_total, _)| total > *best_total)
        {
            best = Some((
                total,
                format!(
                    "{} look-up / {} switching workers: {}/s look-ups (p99 {:.2} ms), {}/s writes (p99 {:.2} ms)",
                    settings.look_up_workers,
                    settings.switching_workers,
                    thousands(look_ups.per_second.round() as u64),
                    look_ups.p99_ms,
                    thousands(writes.per_second.round() as u64),
                    writes.p99_ms
                ),
            ));
        }
        failed |= errors > 0;
        steps.push(json!({
            "look_up_workers": settings.look_up_workers,
            "switching_workers": settings.switching_workers,
            "rows": step_rows,
            "cpu": outcome.cpu,
            "within_targets": within,
        }));
        if !within || outcome.flows_exhausted {
            if outcome.flows_exhausted {
                println!("(ran out of supply points to switch)");
            }
            break;
        }
    }
    println!();
    match &best {
        Some((_, line)) => println!("most throughput within the p99 targets: {line}"),
        None => println!("no step met the p99 targets"),
    }
    if let Some(path) = &arguments.json {
        write_json(
            path,
            &json!({
                "command": std::env::args().collect::<Vec<_>>(),
                "mix": arguments.mix.to_string(),
                "steps": steps,
                "best": best.map(|(_, line)| line),
            }),
        );
    }
    failed
}
