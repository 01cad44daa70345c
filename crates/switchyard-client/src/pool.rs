//! The endpoints, one lazily connected channel each, and which to try first.
//!
//! A call tries the endpoint that answered last first, then the others in the configured order
//! after it. Once an answer named the leader (`x-switchyard-leader-address`), writes try the
//! leader's own endpoint first and the other endpoints at its site next, so that they cross no
//! site boundary twice. Channels connect on first use and reconnect by themselves after a
//! failure; they ping idle connections so that a dead node is noticed on a quiet event stream.

use std::sync::Mutex;
use std::time::Duration;

use tonic::metadata::MetadataMap;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::config::{Authentication, ClientConfig, ConfigError};
use crate::error::{LEADER_ADDRESS_METADATA_KEY, metadata_text};

/// How often an idle connection is pinged.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a ping may stay unanswered before the connection counts as dead.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// One configured endpoint.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) url: String,
    /// `host:port`, lower case, to match the addresses nodes report.
    authority: String,
    site: Option<String>,
    pub(crate) channel: Channel,
}

/// What the client learnt about the cluster.
#[derive(Debug, Default)]
struct Preference {
    /// The endpoint that answered last.
    last_answered: usize,
    /// The leader's endpoint, when an answer named one that is configured.
    leader: Option<usize>,
}

/// Every endpoint and the preference among them.
#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) targets: Vec<Target>,
    preference: Mutex<Preference>,
}

/// The `host:port` of an endpoint URL (`http://127.0.0.1:7400/` is `127.0.0.1:7400`), lower case.
pub(crate) fn authority(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    rest.split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

impl Pool {
    /// Channels for every endpoint of `config`; nothing is connected yet. Must run inside a
    /// Tokio runtime (a channel spawns its worker).
    pub(crate) fn new(config: &ClientConfig) -> Result<Pool, ConfigError> {
        let tls = match &config.authentication {
            Authentication::MutualTls(credentials) => {
                let mut tls = ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(&credentials.ca_certificate_pem))
                    .identity(Identity::from_pem(
                        &credentials.client_certificate_pem,
                        &credentials.client_key_pem,
                    ));
                if let Some(domain_name) = &credentials.domain_name {
                    tls = tls.domain_name(domain_name.clone());
                }
                Some(tls)
            }
            _ => None,
        };
        let mut targets = Vec::with_capacity(config.endpoints.len());
        for endpoint_config in &config.endpoints {
            let url = endpoint_config.url.trim().to_owned();
            let mut endpoint = Endpoint::from_shared(url.clone())
                .map_err(|error| ConfigError::Endpoint {
                    url: url.clone(),
                    reason: format!("not a URL: {error}"),
                })?
                .connect_timeout(config.connect_timeout)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
                .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
                .keep_alive_while_idle(true);
            if let Some(tls) = &tls {
                endpoint = endpoint
                    .tls_config(tls.clone())
                    .map_err(|error| ConfigError::Tls {
                        url: url.clone(),
                        reason: error.to_string(),
                    })?;
            }
            targets.push(Target {
                authority: authority(&url),
                site: endpoint_config
                    .site
                    .as_ref()
                    .map(|site| site.trim().to_ascii_lowercase()),
                channel: endpoint.connect_lazy(),
                url,
            });
        }
        Ok(Pool {
            targets,
            preference: Mutex::new(Preference::default()),
        })
    }

    fn preference(&self) -> std::sync::MutexGuard<'_, Preference> {
        // The preference is only a hint: a panic elsewhere never makes it unusable.
        self.preference
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The endpoints in the order a call tries them.
    pub(crate) fn order(&self, write: bool) -> Vec<usize> {
        let preference = self.preference();
        order(
            self.targets.len(),
            preference.last_answered,
            if write { preference.leader } else { None },
            |index| self.targets[index].site.as_deref(),
        )
    }

    /// `index` answered: try it first next time.
    pub(crate) fn answered(&self, index: usize) {
        self.preference().last_answered = index;
    }

    /// `index` failed (an event stream broke): try another first next time.
    pub(crate) fn failed(&self, index: usize) {
        let mut preference = self.preference();
        if preference.last_answered == index {
            preference.last_answered = (index + 1) % self.targets.len();
        }
        if preference.leader == Some(index) {
            preference.leader = None;
        }
    }

    /// Notes the leader an answer named, if it did and the address is a configured endpoint.
    pub(crate) fn observe(&self, metadata: &MetadataMap) {
        let Some(address) = metadata_text(metadata, LEADER_ADDRESS_METADATA_KEY) else {
            return;
        };
        let address = address.to_ascii_lowercase();
        let leader = self
            .targets
            .iter()
            .position(|target| target.authority == address);
        if let Some(leader) = leader {
            let mut preference = self.preference();
            if preference.leader != Some(leader) {
                tracing::debug!(leader = %self.targets[leader].url, "a node named the leader");
            }
            preference.leader = Some(leader);
        }
    }

    /// The site of the leader's endpoint, when known.
    pub(crate) fn leader_site(&self) -> Option<String> {
        let leader = self.preference().leader?;
        self.targets[leader].site.clone()
    }
}

/// The order of `count` endpoints: `first` then the rest cyclically after it; with a `leader`,
/// the leader first, then the other endpoints at its site (in that cyclic order), then the rest.
fn order<'a>(
    count: usize,
    first: usize,
    leader: Option<usize>,
    site: impl Fn(usize) -> Option<&'a str>,
) -> Vec<usize> {
    let cyclic: Vec<usize> = (0..count).map(|offset| (first + offset) % count).collect();
    let Some(leader) = leader else {
        return cyclic;
    };
    let leader_site = site(leader);
    let at_leader_site = |index: usize| leader_site.is_some() && site(index) == leader_site;
    let mut ordered = vec![leader];
    ordered.extend(
        cyclic
            .iter()
            .copied()
            .filter(|&index| index != leader && at_leader_site(index)),
    );
    ordered.extend(
        cyclic
            .iter()
            .copied()
            .filter(|&index| index != leader && !at_leader_site(index)),
    );
    ordered
}

#[cfg(test)]
mod tests {
    use tonic::metadata::MetadataValue;

    use super::*;

    const SITES: [&str; 5] = ["tokyo", "tokyo", "osaka", "osaka", "witness"];

    /// Without a leader the order starts at the endpoint that answered last; with one, writes
    /// go to the leader, then its site, then the rest.
    #[test]
    fn orders() {
        let site = |index: usize| Some(SITES[index]);
        assert_eq!(order(5, 0, None, site), [0, 1, 2, 3, 4]);
        assert_eq!(order(5, 3, None, site), [3, 4, 0, 1, 2]);
        assert_eq!(order(5, 0, Some(3), site), [3, 2, 0, 1, 4]);
        assert_eq!(order(5, 1, Some(0), site), [0, 1, 2, 3, 4]);
        // Unlabelled endpoints: the leader first, the rest in order.
        assert_eq!(order(3, 1, Some(2), |_| None), [2, 1, 0]);
    }

    /// A leader address in metadata is matched to a configured endpoint; writes then prefer
    /// it and its site, reads keep the last answering endpoint; a failed leader is forgotten.
    #[tokio::test]
    async fn leader_hints_steer_writes() {
        let config = ClientConfig::new([
            "tokyo=http://127.0.0.1:7400",
            "tokyo=http://127.0.0.1:7401",
            "osaka=http://127.0.0.1:7402",
            "osaka=http://127.0.0.1:7403/",
            "witness=http://127.0.0.1:7404",
        ]);
        let pool = Pool::new(&config).unwrap();
        pool.answered(1);
        let mut metadata = MetadataMap::new();
        metadata.insert(
            LEADER_ADDRESS_METADATA_KEY,
            MetadataValue::from_static("127.0.0.1:7403"),
        );
        pool.observe(&metadata);
        assert_eq!(pool.leader_site().as_deref(), Some("osaka"));
        assert_eq!(pool.order(true), [3, 2, 1, 4, 0]);
        assert_eq!(pool.order(false), [1, 2, 3, 4, 0]);
        pool.failed(3);
        assert_eq!(pool.order(true), [1, 2, 3, 4, 0]);
        pool.failed(1);
        assert_eq!(pool.order(false), [2, 3, 4, 0, 1]);
        // An address that is not configured changes nothing.
        metadata.insert(
            LEADER_ADDRESS_METADATA_KEY,
            MetadataValue::from_static("10.0.0.9:7400"),
        );
        pool.observe(&metadata);
        assert_eq!(pool.leader_site(), None);
    }
}
