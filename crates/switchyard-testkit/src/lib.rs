//! Switchyard's test kit: what tests and benchmarks need to run clusters and load them.
//!
//! How the files divide the work:
//!
//! - `cluster.rs`: an in-process cluster of real nodes (real sled directories, real tonic on
//!   `127.0.0.1:0`), started the way operators start one: followers first, then the initializer;
//! - `workload.rs`: the switching workload — concurrent proposers each running the full flow
//!   (stop-on-behalf, OK, switch-out, switch-in) on supply points of their own — with latencies;
//! - `load/`: the load generator of the public gRPC API (the real mix of look-ups and
//!   switchings, the bulk import), behind `bin/switchyard_load.rs`;
//! - `histogram.rs`: a log-bucketed latency histogram (percentiles within 1.6 %);
//! - `memory.rs`: the process's resident memory, from `/proc`;
//! - `cpu.rs`: CPU time of the process and its threads by name, from `/proc`;
//! - `proxy.rs`: a fault-injecting TCP proxy per directed link (blackhole one way, sever,
//!   delay with jitter), because `tc netem` is not available;
//! - `procs/`: real `switchyard serve` processes (five nodes, or two-site 3 + 2), every
//!   node-to-node link through its own proxy (the nodes' `peer-dial-overrides`), with kill,
//!   pause, restart, partitions and bounded waits;
//! - `failover.rs`: continuous writes through the client library against a process cluster,
//!   and the planned-failover, leader-kill and site-loss trials measured under them (behind
//!   `bin/switchyard_failover.rs` and the server's failover tests);
//! - `scrape.rs`: a metrics endpoint scraped as Prometheus does (plain HTTP/1.1 `GET
//!   /metrics`), the text format parsed into samples;
//! - `chaos/`: the chaos suite — a seeded runner (nemesis, workload, every replica's final
//!   state) over `procs/`, and the checkers of recorded histories: linearizability per supply
//!   point (stateright), acknowledged writes, retries, watch streams, replica invariants, time;
//! - `bin/switchyard_bench.rs`: the cluster benchmark.

pub mod chaos;
pub mod cluster;
pub mod cpu;
pub mod failover;
pub mod histogram;
pub mod load;
pub mod memory;
pub mod procs;
pub mod proxy;
pub mod scrape;
pub mod workload;
