//! Switchyard's end-to-end test package. The suites live in `tests/`, numbered by theme:
//!
//! - `t10_wire_flow.rs`: the whole switching flow as protobuf bytes, through the wire
//!   conversions and the rules, and back.
//!
//! - `t20_services.rs`: the public services over real sockets against five nodes in this process:
//!   the whole switching flow across both sites, retries, watches across a leader's death and
//!   past the retained history;
//! - `t30_access.rs`: authentication, authorization and every status-code family;
//! - `t40_transport.rs`: gRPC health, reflection, message limits, the bulk import, mutual TLS;
//! - `t50_swctl.rs`: the command-line client against a real cluster.
//!
//! Suites of real node processes under faults join with the chaos work.
