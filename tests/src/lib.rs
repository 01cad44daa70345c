//! Switchyard's end-to-end test package. The suites live in `tests/`, numbered by theme:
//!
//! - `t10_wire_flow.rs`: the whole switching flow as protobuf bytes, through the wire
//!   conversions and the rules, and back.
//!
//! Cluster suites (real node processes, faults) join as the services land.
