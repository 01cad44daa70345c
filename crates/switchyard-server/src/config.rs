//! The node's TOML configuration: one struct, kebab-case keys, unknown keys refused, defaults in
//! one place, and a `validate` whose errors name the key. `deploy/config/node.toml` is the
//! commented template; a test keeps it parseable and valid.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use switchyard_api::{ApiConfig, AuthMode, RateLimit, TlsFiles};
use switchyard_domain::PartyId;
use switchyard_raft::{Bootstrap, InitialMember, NodeConfig, RaftSettings};
use switchyard_store::{Site, StoreConfig};

/// A configuration that cannot be used, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// TOML syntax, a wrong type or an unknown key; the parser's message names the key and the
    /// line.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("`{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServerConfig {
    pub node: NodeSection,
    pub network: NetworkSection,
    #[serde(default)]
    pub cluster: ClusterSection,
    #[serde(default)]
    pub raft: RaftSettings,
    #[serde(default)]
    pub log: LogSection,
    /// The public API; absent: this node serves Raft only (a witness may run so).
    #[serde(default)]
    pub api: Option<ApiSection>,
    /// The metrics endpoint; absent: none.
    #[serde(default)]
    pub metrics: Option<MetricsSection>,
}

/// `[metrics]`: `GET /metrics` (Prometheus text format) on its own port.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MetricsSection {
    /// `ip:port` of the metrics endpoint.
    pub listen: String,
}

impl MetricsSection {
    /// The endpoint's listen address; the error names the key.
    pub fn listen_address(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|error| invalid("metrics.listen", format!("not ip:port: {error}")))
    }
}

/// `[api]`: the public gRPC services.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ApiSection {
    /// `ip:port` of the public API.
    pub listen: String,
    /// `mtls` (production) or `dev-tokens` (development only).
    #[serde(default = "default_auth")]
    pub auth: String,
    /// With `mtls`: PEM files of the node's certificate chain, its key, and the CA that signs
    /// participants' client certificates.
    #[serde(default)]
    pub tls_certificate: PathBuf,
    #[serde(default)]
    pub tls_private_key: PathBuf,
    #[serde(default)]
    pub tls_client_ca: PathBuf,
    /// With `dev-tokens`: token -> party id. DEVELOPMENT ONLY.
    #[serde(default)]
    pub dev_tokens: BTreeMap<String, String>,
    #[serde(default = "default_rate_per_second")]
    pub rate_limit_per_second: f64,
    #[serde(default = "default_rate_burst")]
    pub rate_limit_burst: f64,
    #[serde(default)]
    pub rate_limit_overrides: Vec<RateLimitOverride>,
    #[serde(default = "default_leaderless_ms")]
    pub leaderless_unhealthy_after_ms: u64,
}

/// `[[api.rate-limit-overrides]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RateLimitOverride {
    pub party: String,
    pub per_second: f64,
    pub burst: f64,
}

fn default_auth() -> String {
    "mtls".to_owned()
}

fn default_rate_per_second() -> f64 {
    RateLimit::default().per_second
}

fn default_rate_burst() -> f64 {
    RateLimit::default().burst
}

fn default_leaderless_ms() -> u64 {
    3_000
}

fn rate_limit(key: &str, per_second: f64, burst: f64) -> Result<RateLimit, ConfigError> {
    if !(per_second > 0.0 && per_second <= 1_000_000.0) {
        return Err(invalid(
            format!("{key}per-second"),
            "must be in (0, 1000000]",
        ));
    }
    if !(1.0..=10_000_000.0).contains(&burst) {
        return Err(invalid(format!("{key}burst"), "must be in 1..=10000000"));
    }
    Ok(RateLimit { per_second, burst })
}

impl ApiSection {
    /// The API's listen address and settings; errors name the key.
    pub fn api_config(&self) -> Result<(SocketAddr, ApiConfig), ConfigError> {
        let listen: SocketAddr = self
            .listen
            .parse()
            .map_err(|error| invalid("api.listen", format!("not ip:port: {error}")))?;
        let auth = match self.auth.as_str() {
            "mtls" => {
                for (key, path) in [
                    ("api.tls-certificate", &self.tls_certificate),
                    ("api.tls-private-key", &self.tls_private_key),
                    ("api.tls-client-ca", &self.tls_client_ca),
                ] {
                    if path.as_os_str().is_empty() {
                        return Err(invalid(key, "required with auth = \"mtls\""));
                    }
                }
                if !self.dev_tokens.is_empty() {
                    return Err(invalid(
                        "api.dev-tokens",
                        "only allowed with auth = \"dev-tokens\"",
                    ));
                }
                AuthMode::MutualTls(TlsFiles {
                    certificate: self.tls_certificate.clone(),
                    private_key: self.tls_private_key.clone(),
                    client_ca: self.tls_client_ca.clone(),
                })
            }
            "dev-tokens" => {
                if self.dev_tokens.is_empty() {
                    return Err(invalid(
                        "api.dev-tokens",
                        "auth = \"dev-tokens\" needs at least one token",
                    ));
                }
                let mut tokens = BTreeMap::new();
                for (token, party) in &self.dev_tokens {
                    let key = format!("api.dev-tokens.{token}");
                    if token.len() < 8 || token.len() > 128 {
                        return Err(invalid(key, "tokens are 8..=128 characters"));
                    }
                    let party =
                        PartyId::parse(party).map_err(|error| invalid(key, error.to_string()))?;
                    tokens.insert(token.clone(), party);
                }
                AuthMode::DevTokens(tokens)
            }
            other => {
                return Err(invalid(
                    "api.auth",
                    format!("{other:?} is not mtls or dev-tokens"),
                ));
            }
        };
        let mut overrides = BTreeMap::new();
        for (index, entry) in self.rate_limit_overrides.iter().enumerate() {
            let key = format!("api.rate-limit-overrides[{index}].");
            let party = PartyId::parse(&entry.party)
                .map_err(|error| invalid(format!("{key}party"), error.to_string()))?;
            overrides.insert(party, rate_limit(&key, entry.per_second, entry.burst)?);
        }
        if !(500..=600_000).contains(&self.leaderless_unhealthy_after_ms) {
            return Err(invalid(
                "api.leaderless-unhealthy-after-ms",
                "must be in 500..=600000",
            ));
        }
        Ok((
            listen,
            ApiConfig {
                auth,
                rate_limit: rate_limit(
                    "api.rate-limit-",
                    self.rate_limit_per_second,
                    self.rate_limit_burst,
                )?,
                rate_limit_overrides: overrides,
                leaderless_unhealthy_after: Duration::from_millis(
                    self.leaderless_unhealthy_after_ms,
                ),
            },
        ))
    }
}

/// `[node]`: who this node is and where it keeps its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NodeSection {
    /// Never reused, never given to a wiped node.
    pub id: u64,
    /// `tokyo`, `osaka` or `witness`.
    pub site: String,
    pub data_dir: PathBuf,
    #[serde(default = "default_cache_capacity_mb")]
    pub cache_capacity_mb: u64,
    #[serde(default = "default_flush_stall_bound_ms")]
    pub flush_stall_bound_ms: u64,
}

fn default_cache_capacity_mb() -> u64 {
    256
}

fn default_flush_stall_bound_ms() -> u64 {
    2_000
}

/// `[network]`: where the node listens and how peers reach it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NetworkSection {
    /// `ip:port` of the internal Raft service.
    pub raft_listen: String,
    /// `host:port` peers use; defaults to the bound listen address.
    #[serde(default)]
    pub raft_advertise: String,
    /// `host:port` of the public API, recorded in the membership (the API itself arrives with
    /// the services).
    #[serde(default)]
    pub api_advertise: String,
    /// Testing and sidecars: a peer's advertised Raft address (`host:port`) → the `host:port`
    /// this node dials instead to reach it (a fault-injecting proxy, a local sidecar). Empty in
    /// a plain deployment.
    #[serde(default)]
    pub peer_dial_overrides: BTreeMap<String, String>,
}

/// `[cluster]`: the cluster's epoch and its members: the first members on the one node that
/// creates the cluster, or the members of a cluster restored from a backup (`switchyard
/// restore`). A joining node needs none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClusterSection {
    #[serde(default)]
    pub epoch: u64,
    /// Create the cluster from `members` if this node's store is fresh. Set it on one node only.
    #[serde(default)]
    pub initialize: bool,
    /// Read at the first start when `initialize` is set, and by `switchyard restore`; a running
    /// node takes its membership from its store, never from here.
    #[serde(default)]
    pub members: Vec<MemberSection>,
}

/// `[[cluster.members]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MemberSection {
    pub id: u64,
    pub site: String,
    pub raft_address: String,
    #[serde(default)]
    pub api_address: String,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogSection {
    /// `text` or `json`.
    #[serde(default = "default_log_format")]
    pub format: String,
    /// A tracing filter, e.g. `info` or `info,switchyard_raft=debug`; `RUST_LOG` overrides it.
    #[serde(default = "default_log_level")]
    pub level: String,
}

impl Default for LogSection {
    fn default() -> LogSection {
        LogSection {
            format: default_log_format(),
            level: default_log_level(),
        }
    }
}

fn default_log_format() -> String {
    "text".to_owned()
}

fn default_log_level() -> String {
    "info".to_owned()
}

fn site(key: &str, text: &str) -> Result<Site, ConfigError> {
    Site::parse(text).ok_or_else(|| {
        invalid(
            key,
            format!("{text:?} is not a site; use tokyo, osaka or witness"),
        )
    })
}

impl ServerConfig {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        ServerConfig::parse(&text, path)
    }

    /// Parses and validates `text` (read from `path`, for messages).
    pub fn parse(text: &str, path: &Path) -> Result<ServerConfig, ConfigError> {
        let config: ServerConfig = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let node_site = site("node.site", &self.node.site)?;
        if self.node.data_dir.as_os_str().is_empty() {
            return Err(invalid("node.data-dir", "must not be empty"));
        }
        if !(16..=65_536).contains(&self.node.cache_capacity_mb) {
            return Err(invalid("node.cache-capacity-mb", "must be in 16..=65536"));
        }
        if !(100..=600_000).contains(&self.node.flush_stall_bound_ms) {
            return Err(invalid(
                "node.flush-stall-bound-ms",
                "must be in 100..=600000",
            ));
        }
        self.network
            .raft_listen
            .parse::<SocketAddr>()
            .map_err(|error| invalid("network.raft-listen", format!("not ip:port: {error}")))?;
        for (key, address) in [
            ("network.raft-advertise", &self.network.raft_advertise),
            ("network.api-advertise", &self.network.api_advertise),
        ] {
            if !address.is_empty() && !looks_like_host_port(address) {
                return Err(invalid(key, format!("{address:?} is not host:port")));
            }
        }
        for (advertised, dialled) in &self.network.peer_dial_overrides {
            let key = format!("network.peer-dial-overrides.{advertised:?}");
            if !looks_like_host_port(advertised) {
                return Err(invalid(
                    key,
                    format!("the advertised address {advertised:?} is not host:port"),
                ));
            }
            if !looks_like_host_port(dialled) {
                return Err(invalid(
                    key,
                    format!("the dialled address {dialled:?} is not host:port"),
                ));
            }
        }
        if self.log.format != "text" && self.log.format != "json" {
            return Err(invalid("log.format", "must be text or json"));
        }
        if self.cluster.initialize && self.cluster.members.is_empty() {
            return Err(invalid(
                "cluster.members",
                "initialize = true needs the first members",
            ));
        }
        // Members are read by the initializing node at its first start and by `switchyard
        // restore` (which seeds a new cluster of them); they are checked alike wherever given.
        if !self.cluster.members.is_empty() {
            let mut ids = BTreeSet::new();
            for (index, member) in self.cluster.members.iter().enumerate() {
                let key = format!("cluster.members[{index}]");
                if !ids.insert(member.id) {
                    return Err(invalid(
                        format!("{key}.id"),
                        format!("{} appears twice", member.id),
                    ));
                }
                site(&format!("{key}.site"), &member.site)?;
                // This node's own address may be left empty: the bound address is used.
                let own_and_empty = member.id == self.node.id && member.raft_address.is_empty();
                if !own_and_empty && !looks_like_host_port(&member.raft_address) {
                    return Err(invalid(
                        format!("{key}.raft-address"),
                        format!("{:?} is not host:port", member.raft_address),
                    ));
                }
            }
            match self
                .cluster
                .members
                .iter()
                .find(|member| member.id == self.node.id)
            {
                None => {
                    return Err(invalid(
                        "cluster.members",
                        format!("this node ({}) must be one of the members", self.node.id),
                    ));
                }
                Some(own) if site("node.site", &own.site)? != node_site => {
                    return Err(invalid(
                        "cluster.members",
                        "this node's entry names another site than node.site",
                    ));
                }
                Some(_) => {}
            }
        }
        self.raft
            .validate()
            .map_err(|error| invalid("raft", error.to_string()))?;
        if let Some(api) = &self.api {
            api.api_config()?;
        }
        if let Some(metrics) = &self.metrics {
            let listen = metrics.listen_address()?;
            let clashes = [
                (
                    "network.raft-listen",
                    Some(self.network.raft_listen.as_str()),
                ),
                (
                    "api.listen",
                    self.api.as_ref().map(|api| api.listen.as_str()),
                ),
            ];
            for (key, other) in clashes {
                let other: Option<SocketAddr> = other.and_then(|text| text.parse().ok());
                if listen.port() != 0 && other == Some(listen) {
                    return Err(invalid(
                        "metrics.listen",
                        format!(
                            "{listen} is also `{key}`; the metrics endpoint needs a port of its own"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The node configuration the Raft crate starts from.
    pub fn node_config(&self) -> Result<NodeConfig, ConfigError> {
        self.validate()?;
        let mut store = StoreConfig::new(&self.node.data_dir);
        store.cache_capacity_bytes = self.node.cache_capacity_mb * 1024 * 1024;
        store.flush_stall_bound = Duration::from_millis(self.node.flush_stall_bound_ms);
        let listen: SocketAddr = self
            .network
            .raft_listen
            .parse()
            .map_err(|_| invalid("network.raft-listen", "not ip:port"))?;
        let mut config = NodeConfig::new(
            self.node.id,
            site("node.site", &self.node.site)?,
            listen,
            store,
        );
        config.raft_advertise_address = self.network.raft_advertise.clone();
        config.api_address = self.network.api_advertise.clone();
        config.peer_dial_overrides = self.network.peer_dial_overrides.clone();
        config.cluster_epoch = self.cluster.epoch;
        config.raft = self.raft.clone();
        if self.cluster.initialize {
            let mut members = BTreeMap::new();
            for member in &self.cluster.members {
                members.insert(
                    member.id,
                    InitialMember {
                        site: site("cluster.members.site", &member.site)?,
                        raft_address: member.raft_address.clone(),
                        api_address: member.api_address.clone(),
                    },
                );
            }
            config.bootstrap = Bootstrap::Initialize { members };
        }
        config
            .validate()
            .map_err(|error| invalid("cluster", error.to_string()))?;
        Ok(config)
    }
}

fn looks_like_host_port(text: &str) -> bool {
    match text.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../deploy/config/node.toml");

    fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(text, Path::new("test.toml"))
    }

    fn minimal() -> String {
        r#"
[node]
id = 1
site = "tokyo"
data-dir = "/tmp/switchyard-1"

[network]
raft-listen = "127.0.0.1:7401"
"#
        .to_owned()
    }

    /// The commented template in deploy/ parses, validates and becomes a node configuration.
    #[test]
    fn template_is_valid() {
        let config = parse(TEMPLATE).unwrap();
        let node = config.node_config().unwrap();
        assert_eq!(node.node_id, 1);
        assert!(
            matches!(node.bootstrap, Bootstrap::Initialize { ref members } if members.len() == 5)
        );
        assert!(
            config.metrics.is_some(),
            "the template documents and enables [metrics]"
        );
    }

    /// A minimal file works and takes the defaults.
    #[test]
    fn minimal_file_uses_defaults() {
        let config = parse(&minimal()).unwrap();
        assert_eq!(config.node.cache_capacity_mb, 256);
        assert_eq!(config.raft, RaftSettings::default());
        let node = config.node_config().unwrap();
        assert!(matches!(node.bootstrap, Bootstrap::Join));
    }

    /// A node of a cluster restored from a backup lists every member with `initialize = false`
    /// (what `switchyard restore` reads, as docs/RUNBOOK.md says): accepted, checked like the
    /// first members, and the node joins rather than initializes; the preferred leader site
    /// parses from its lowercase name.
    #[test]
    fn members_without_initialize_are_for_restore() {
        let restored = minimal()
            + "\n[cluster]\ninitialize = false\n[[cluster.members]]\nid = 1\nsite = \"tokyo\"\nraft-address = \"tokyo-1:7401\"\n[[cluster.members]]\nid = 2\nsite = \"osaka\"\nraft-address = \"osaka-1:7401\"\n";
        let config = parse(&restored).unwrap();
        assert_eq!(config.cluster.members.len(), 2);
        assert!(matches!(
            config.node_config().unwrap().bootstrap,
            Bootstrap::Join
        ));
        let without_self = minimal()
            + "\n[cluster]\n[[cluster.members]]\nid = 2\nsite = \"osaka\"\nraft-address = \"osaka-1:7401\"\n";
        let error = parse(&without_self).expect_err("members without this node");
        assert!(error.to_string().contains("cluster.members"), "{error}");

        let preferred =
            parse(&(minimal() + "\n[raft]\npreferred-leader-site = \"osaka\"\n")).unwrap();
        assert_eq!(preferred.raft.preferred_leader_site, Some(Site::Osaka));
        let error = parse(&(minimal() + "\n[raft]\npreferred-leader-site = \"nagoya\"\n"))
            .expect_err("an unknown site");
        assert!(error.to_string().contains("nagoya"), "{error}");
    }

    /// Dial overrides parse from an inline table under `[network]`, reach the node
    /// configuration unchanged, and default to none; an entry that is not host:port on either
    /// side is refused, naming the entry.
    #[test]
    fn peer_dial_overrides_parse_and_validate() {
        assert!(
            parse(&minimal())
                .unwrap()
                .node_config()
                .unwrap()
                .peer_dial_overrides
                .is_empty()
        );
        let with = |overrides: &str| {
            minimal().replace(
                "raft-listen = \"127.0.0.1:7401\"",
                &format!("raft-listen = \"127.0.0.1:7401\"\npeer-dial-overrides = {overrides}"),
            )
        };
        let config = parse(&with(
            r#"{ "127.0.0.1:7502" = "127.0.0.1:9123", "osaka-1.switchyard.internal:7401" = "127.0.0.1:9124" }"#,
        ))
        .unwrap();
        let node = config.node_config().unwrap();
        assert_eq!(node.peer_dial_overrides.len(), 2);
        assert_eq!(node.peer_dial_overrides["127.0.0.1:7502"], "127.0.0.1:9123");
        assert_eq!(
            node.peer_dial_overrides["osaka-1.switchyard.internal:7401"],
            "127.0.0.1:9124"
        );
        for bad in [
            r#"{ "127.0.0.1:7502" = "127.0.0.1" }"#,
            r#"{ "127.0.0.1" = "127.0.0.1:9123" }"#,
            r#"{ "127.0.0.1:7502" = "" }"#,
        ] {
            let error = parse(&with(bad)).expect_err(bad);
            assert!(
                error.to_string().contains("network.peer-dial-overrides"),
                "{bad}: {error}"
            );
        }
        assert!(parse(&with("\"127.0.0.1:9123\"")).is_err());
    }

    /// `[metrics]` is optional (absent: no endpoint); its listen address parses and reaches the
    /// configuration; a bad address, an unknown key or a port shared with another listener is
    /// refused, naming `metrics.listen` (or the unknown key).
    #[test]
    fn metrics_section_parses_strictly() {
        assert!(parse(&minimal()).unwrap().metrics.is_none());
        let config = parse(&(minimal() + "\n[metrics]\nlisten = \"0.0.0.0:9400\"\n")).unwrap();
        assert_eq!(
            config.metrics.unwrap().listen_address().unwrap(),
            "0.0.0.0:9400".parse::<SocketAddr>().unwrap()
        );
        for (text, key) in [
            (
                minimal() + "\n[metrics]\nlisten = \"9400\"\n",
                "metrics.listen",
            ),
            (minimal() + "\n[metrics]\n", "listen"),
            (
                minimal() + "\n[metrics]\nlisten = \"0.0.0.0:9400\"\npath = \"/m\"\n",
                "path",
            ),
            (
                minimal() + "\n[metrics]\nlisten = \"127.0.0.1:7401\"\n",
                "metrics.listen",
            ),
        ] {
            let error = parse(&text).expect_err("a bad [metrics] section was accepted");
            assert!(error.to_string().contains(key), "{key}: {error}");
        }
    }

    /// Every mistake names its key.
    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                minimal().replace("site = \"tokyo\"", "site = \"nagoya\""),
                "node.site",
            ),
            (
                minimal().replace("127.0.0.1:7401", "localhost"),
                "network.raft-listen",
            ),
            (minimal() + "\n[log]\nformat = \"xml\"\n", "log.format"),
            (
                minimal() + "\n[raft]\nheartbeat-interval-ms = 400\n",
                "raft",
            ),
            (minimal() + "\n[raft]\nheartbeat = 1\n", "heartbeat"),
            (minimal().replace("id = 1", "id = \"one\""), "id"),
            (minimal() + "\nsurprise = true\n", "surprise"),
            (
                minimal() + "\n[api]\nlisten = \"127.0.0.1:7400\"\n",
                "api.tls-certificate",
            ),
            (
                minimal() + "\n[api]\nlisten = \"127.0.0.1:7400\"\nauth = \"dev-tokens\"\n",
                "api.dev-tokens",
            ),
            (
                minimal()
                    + "\n[api]\nlisten = \"127.0.0.1:7400\"\nauth = \"dev-tokens\"\n[api.dev-tokens]\n\"dev-token-1\" = \"Z99\"\n",
                "api.dev-tokens.dev-token-1",
            ),
            (
                minimal()
                    + "\n[api]\nlisten = \"127.0.0.1:7400\"\nauth = \"dev-tokens\"\nrate-limit-burst = 0.0\n[api.dev-tokens]\n\"dev-token-1\" = \"A1001\"\n",
                "api.rate-limit-burst",
            ),
            (
                minimal() + "\n[cluster]\ninitialize = true\n",
                "cluster.members",
            ),
            (
                minimal()
                    + "\n[cluster]\ninitialize = true\n[[cluster.members]]\nid = 2\nsite = \"osaka\"\nraft-address = \"osaka-1:7401\"\n",
                "cluster.members",
            ),
            (
                minimal()
                    + "\n[cluster]\ninitialize = true\n[[cluster.members]]\nid = 1\nsite = \"tokyo\"\nraft-address = \"no-port\"\n",
                "cluster.members[0].raft-address",
            ),
        ];
        for (text, key) in cases {
            let error = parse(&text).expect_err("a bad config was accepted");
            assert!(error.to_string().contains(key), "{key}: {error}");
        }
    }
}
