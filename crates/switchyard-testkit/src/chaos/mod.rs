//! The chaos suite: a seeded runner of real node processes under faults, recording what its
//! clients saw, and the checkers — pure, deterministic functions that decide whether a recorded
//! history of client operations against a faulty cluster is acceptable.
//!
//! # How the files divide the work
//!
//! - `run.rs`: one run — the process cluster, the run's policy, the workload, the nemesis's
//!   schedule, heal and convergence, every replica's final state, the checks; a failing run
//!   keeps its directory with the history, the replicas and the report;
//! - `scenario.rs`: the scenarios (a layout and the fault kinds its nemesis draws from);
//! - `nemesis.rs`: faults drawn from the seed, applied one at a time for a bounded time, healed;
//! - `workload.rs`: retailer, TSO and operator clients racing on hot supply points, and
//!   watchers resuming across nodes; `wire.rs`: each operation as a gRPC call, each answer or
//!   error as an [`Outcome`];
//! - `collect.rs`: a node's own final state from its own snapshot (`CreateSnapshot`,
//!   `DownloadBackup`, the store's snapshot reader);
//! - `history.rs`, `report.rs`: the recorded types and what the checkers found;
//! - the checkers: `linearizability.rs` with `spec.rs`, `final_state.rs`, `watch.rs`,
//!   `clock.rs`.
//!
//! # What the workload feeds
//!
//! A [`History`]: the supply points it works on with their retailer before the run
//! ([`InitialPoint`]; the workload must be the only writer on them, and they start without open
//! applications or pending requests), every operation ([`OperationRecord`]: client, acting party,
//! the [`Operation`] in public-API terms, invocation and completion times on one clock, and the
//! [`Outcome`]: `Ok` with what was answered, `Refused` with the gRPC code and rule, or `Unknown`
//! for a timeout or transport error), and every event stream it read ([`WatchStream`], one
//! [`WatchConnection`] per resumption). After the faults heal and the nodes catch up, one
//! [`ReplicaFinalState`] per node: its records (domain [`switchyard_domain::Write`]s), event log and
//! applied revision. Everything is serde: save a failing run as JSON and check it again.
//!
//! [`check`] runs every checker and returns a [`Report`] whose `Display` is meant for a failing
//! test's output; each checker is also public on its own.
//!
//! # What is checked
//!
//! 1. **Linearizability per supply point** ([`check_linearizability`]): `stateright`'s
//!    `LinearizabilityTester` against a sequential specification of one point (`spec.rs`): the
//!    current retailer, stop-on-behalf requests (one pending per requester, judged by the
//!    addressee while it supplies, cancelled by the requester while pending, an OK usable once),
//!    at most one open switch-out and one open switch-in, matching of halves with the same date,
//!    locking of matched pairs, the TSO's completion (which changes the current retailer) or
//!    refusal, application revisions, idempotent cancels, request-id replays and
//!    `request_id_reused`, numbers in log order, and log revisions (a write at revision `w` after
//!    whatever a read served below `w` saw). Linearizable look-ups must show a state of some
//!    linearization; accepted writes must be allowed by the rules in that state, and refusals by
//!    a modelled rule must be required by them. `Unknown` outcomes may or may not have happened:
//!    they are invoked and never answered, so the tester may place them anywhere after their
//!    invocation or leave them out.
//! 2. **No acknowledged write lost** ([`check_acknowledged_writes`]): each `Ok` write's effect is
//!    present on every replica (the request, application, state or completion date it answered).
//! 3. **No retry applied twice** ([`check_retries`]): attempts with one request id got one
//!    answer; at most one was applied afresh (`replayed: false`); no replica holds more records
//!    of a kind by a retailer on a point than there were request ids that could create them; a
//!    replica's remembered answer equals what clients saw.
//! 4. **Watch streams** ([`check_watch_streams`]): no duplicate, no event out of order or before
//!    the asked position, no resumption past what the previous connection covered, and — against
//!    a replica's event log — no visible event missing inside a covered range.
//! 5. **Replicas** ([`check_replicas`]): every final state keeps the domain's invariants
//!    ([`switchyard_domain::invariants::check_all`]), all replicas have one state hash and the
//!    same event log, and a hash a node reported matches its records.
//! 6. **Time** ([`check_timestamps`]): inside every replica, timestamps never go back in log
//!    order (applications and stop-on-behalf requests by number, the request records of fresh
//!    writes by revision), and the state's clock is at or after all of them — whatever the
//!    leaders' own clocks did.
//!
//! # Limits
//!
//! - Local look-ups (the default consistency of `LookUpSupplyPoint`) may lag and are left out of
//!   the linearizability check; the workload should read linearizably where it wants them checked.
//! - Rules outside the model (lead times, horizons and dates, registration, `actual_date_invalid`,
//!   amends, other procedures, rate limits, malformed requests) are taken as possible refusals that
//!   changed nothing; those operations are not fed to the tester. The final-state checks (2, 3, 5)
//!   cover what the model leaves out of their effects.
//! - Deadlines are not modelled: a tick that lapses an application or expires a request on a
//!   checked point during the run shows up as a linearizability violation. Workloads must keep
//!   deadlines beyond the run (or move clocks only past the dates of matched pairs).
//! - Request ids are checked per point by the model; one id used on two points is only caught by
//!   the retry checker.
//! - The tester searches orders exhaustively; keep each point's history to tens of operations and
//!   a few concurrent clients (spread the workload over many points).
//! - A watch gap is found only against a reference log; events older than the reference's first
//!   retained event are not checked.

mod clock;
mod collect;
mod final_state;
mod history;
mod linearizability;
pub mod nemesis;
mod report;
mod run;
pub mod scenario;
mod spec;
mod watch;
mod wire;
pub mod workload;

pub use clock::check_timestamps;
pub use collect::collect_replica;
pub use final_state::{check_acknowledged_writes, check_replicas, check_retries};
pub use history::{
    ApplicationAnswer, ApplicationInProgress, ClientId, EventPosition, History, InitialPoint,
    LookUpResult, Observed, ObservedSupply, Operation, OperationRecord, Outcome, ReadConsistency,
    Refusal, ReplicaFinalState, StopOnBehalfAnswer, WatchConnection, WatchStream,
};
pub use linearizability::{SEARCH_STEPS_MAX, check_linearizability};
pub use report::{Checker, OperationReference, Report, Violation};
pub use run::{RunOptions, RunOutcome, replay_command, run};
pub use watch::check_watch_streams;

/// Runs every checker: linearizability per supply point, acknowledged writes, retries, watch
/// streams (against the first replica's event log), the replicas' final states and their
/// timestamps.
pub fn check(history: &History, replicas: &[ReplicaFinalState]) -> Report {
    let mut report = check_linearizability(history);
    report.merge(check_acknowledged_writes(history, replicas));
    report.merge(check_retries(history, replicas));
    report.merge(check_watch_streams(
        history,
        replicas.first().map(|replica| replica.events.as_slice()),
    ));
    report.merge(check_replicas(replicas));
    report.merge(check_timestamps(history, replicas));
    report
}
