//! Switchyard's test kit: what tests and benchmarks need to run clusters and load them.
//!
//! How the files divide the work:
//!
//! - `cluster.rs`: an in-process cluster of real nodes (real sled directories, real tonic on
//!   `127.0.0.1:0`), started the way operators start one: followers first, then the initializer;
//! - `workload.rs`: the switching workload — concurrent proposers each running the full flow
//!   (stop-on-behalf, OK, switch-out, switch-in) on supply points of their own — with latencies;
//! - `memory.rs`: the process's resident memory, from `/proc`;
//! - `bin/switchyard_bench.rs`: the cluster benchmark.

pub mod cluster;
pub mod memory;
pub mod workload;
