//! Switchyard's public gRPC services, served by every node at every site.
//!
//! Retailer gateways and TSO systems call any node; they never need to know which one leads.
//! Writes are proposed through Raft (a follower forwards them to the leader inside the cluster
//! and relays the answer); reads are served from the answering node's applied state, after a
//! read-index round with the leader when they must be linearizable. Every request is
//! authenticated (client certificate, or a development bearer token), rate-limited per party,
//! validated field by field, and authorized against what the caller may see or do.
//!
//! How the files divide the work:
//!
//! - `server.rs`: [`start`] binds the public port, TLS, message limits, gRPC health (kept in step
//!   with the node) and reflection;
//! - `participant.rs`, `tso.rs`, `admin.rs`: the three services;
//! - `watch.rs`: event streams that resume on any node with no gap and no duplicate;
//! - `context.rs`: the steps every request takes (admit, write, read at a consistency);
//! - `auth.rs`: the caller's identity and what it may see; `limiter.rs`: token buckets;
//! - `metrics.rs`: per-RPC counts by status code and durations, a tower layer around every
//!   service the server serves;
//! - `status.rs`: the one mapping from errors to gRPC status codes (`docs/ERRORS.md`);
//! - `config.rs`: [`ApiConfig`].

mod admin;
mod auth;
mod backup;
mod cluster;
pub mod config;
mod context;
mod export;
mod limiter;
mod metrics;
mod participant;
mod server;
pub mod status;
mod tso;
mod watch;

pub use auth::party_of_certificate;
pub use config::{ApiConfig, AuthMode, RateLimit, TlsFiles, dev_token};
pub use context::REPLAYED_METADATA_KEY;
pub use server::{ApiError, ApiHandle, SERVICE_NAMES, start, start_with_listener};
