//! The load generator behind `switchyard-load`: the public gRPC API under the real mix of
//! look-ups and switchings, and the bulk import.
//!
//! How the files divide the work:
//!
//! - `target.rs`: what is called — the five-node development cluster in this process (with a
//!   second public API per node whose rate limit no run reaches, or the development limits) or
//!   the endpoints of a running cluster; one channel per node; bearer tokens;
//! - `mix.rs`: the ratio of look-ups to switchings and the gate that holds two closed-loop
//!   worker pools to it;
//! - `run.rs`: the look-up and switching workers, and the TSO completions after a run;
//! - `import.rs`: `TsoService.ImportSupplyPoints`, one stream per TSO;
//! - `report.rs`: per-RPC latencies and errors inside the measurement window, tables and rows
//!   for JSON.

pub mod import;
pub mod mix;
pub mod report;
pub mod run;
pub mod target;
