//! The Switchyard node process: reads its configuration, starts the node and its public API,
//! and shuts both down gracefully on SIGTERM or Ctrl-C; and `switchyard dev`, a whole local
//! cluster in one process.
//!
//! How the files divide the work:
//!
//! - `config.rs`: the TOML file (`deploy/config/node.toml` is the commented template), strict and
//!   validated with errors that name the key;
//! - `serve.rs`: start-up (node, then public API), the shutdown signal, the graceful stop;
//! - `dev.rs`: the development cluster — five nodes on loopback, sample data, tokens;
//! - `metrics_endpoint.rs`: `GET /metrics` on its own port (`[metrics]`), the node's registry in
//!   the Prometheus text format;
//! - `recovery.rs`: offline restore from a backup and the forced disaster cutover;
//! - `logging.rs`: the tracing subscriber (text or JSON), installed only by the binary;
//! - `fault_control.rs` (feature `fault-injection`, tests only): disk stalls and clock offsets
//!   set from outside the process, for the chaos suite;
//! - `main.rs`: the `switchyard` command line, thin.

pub mod config;
pub mod dev;
#[cfg(feature = "fault-injection")]
mod fault_control;
pub mod logging;
pub mod metrics_endpoint;
pub mod recovery;
pub mod serve;

pub use config::{ConfigError, ServerConfig};
