//! What the public API needs to know from the node's configuration: how callers prove who they
//! are, how much each may ask, and when a node without a leader stops reporting itself healthy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use switchyard_domain::PartyId;

/// How callers authenticate.
#[derive(Debug, Clone)]
pub enum AuthMode {
    /// Production: TLS with client certificates signed by `client_ca`; a certificate's subject
    /// common name is the caller's party id (`A1001`, `T03`, `op:tanaka`).
    MutualTls(TlsFiles),
    /// Development only: plain-text HTTP/2 and per-party bearer tokens (`authorization: Bearer
    /// <token>`). Never for production: tokens travel in clear text and never expire.
    DevTokens(BTreeMap<String, PartyId>),
}

/// PEM files for mutual TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The node's own certificate chain.
    pub certificate: PathBuf,
    /// The node's private key.
    pub private_key: PathBuf,
    /// The CA that signs participants' client certificates.
    pub client_ca: PathBuf,
}

/// A token bucket: `per_second` requests on average, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    /// Far above one retailer's share of 400,000 look-ups a day, far below what hurts a node.
    fn default() -> RateLimit {
        RateLimit {
            per_second: 200.0,
            burst: 400.0,
        }
    }
}

/// The public API's settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub auth: AuthMode,
    /// The limit of every party without an override.
    pub rate_limit: RateLimit,
    /// Per-party overrides (a TSO importing, a load test).
    pub rate_limit_overrides: BTreeMap<PartyId, RateLimit>,
    /// A node that has known no leader for longer than this reports NOT_SERVING in gRPC health,
    /// so that load balancers send callers elsewhere.
    pub leaderless_unhealthy_after: Duration,
}

impl ApiConfig {
    /// Development settings: bearer tokens, the default rate limit.
    pub fn development(tokens: BTreeMap<String, PartyId>) -> ApiConfig {
        ApiConfig {
            auth: AuthMode::DevTokens(tokens),
            rate_limit: RateLimit::default(),
            rate_limit_overrides: BTreeMap::new(),
            leaderless_unhealthy_after: Duration::from_secs(3),
        }
    }

    /// The limit that applies to `party`.
    pub fn limit_for(&self, party: &PartyId) -> RateLimit {
        self.rate_limit_overrides
            .get(party)
            .copied()
            .unwrap_or(self.rate_limit)
    }
}

/// The development token of a party: `dev-` and its party id. Only `switchyard dev` and tests
/// hand these out.
pub fn dev_token(party: &PartyId) -> String {
    format!("dev-{party}")
}
