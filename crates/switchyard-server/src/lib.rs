//! The Switchyard node process: reads its configuration, starts the node, and shuts it down
//! gracefully on SIGTERM or Ctrl-C. The public services join here with the services issue.
//!
//! How the files divide the work:
//!
//! - `config.rs`: the TOML file (`deploy/config/node.toml` is the commented template), strict and
//!   validated with errors that name the key;
//! - `serve.rs`: start-up, the shutdown signal, the graceful stop;
//! - `logging.rs`: the tracing subscriber (text or JSON), installed only by the binary;
//! - `main.rs`: the `switchyard` command line, thin.

pub mod config;
pub mod logging;
pub mod serve;

pub use config::{ConfigError, ServerConfig};
