//! What a [`Client`](crate::Client) needs to know: the endpoints at both sites, how to
//! authenticate, and the bounds on every attempt and on every call's retries.

use std::fmt;
use std::path::Path;
use std::time::Duration;

/// One public API endpoint of the cluster: any node at any site serves every method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// `http://host:port` (development mode) or `https://host:port` (mutual TLS).
    pub url: String,
    /// The site the node stands at (`tokyo`, `osaka`, `witness`, …), if known. Writes prefer the
    /// endpoints at the leader's site once a node has named the leader.
    pub site: Option<String>,
}

impl EndpointConfig {
    /// An endpoint without a site label.
    pub fn new(url: impl Into<String>) -> EndpointConfig {
        EndpointConfig {
            url: url.into(),
            site: None,
        }
    }

    /// The same endpoint at `site`.
    #[must_use]
    pub fn at_site(mut self, site: impl Into<String>) -> EndpointConfig {
        self.site = Some(site.into());
        self
    }

    /// Parses `URL` or `SITE=URL` (`osaka=https://osaka-1.example:7400`).
    pub fn parse(text: &str) -> EndpointConfig {
        let text = text.trim();
        match text.split_once('=') {
            Some((site, url)) if !site.contains("://") => {
                EndpointConfig::new(url.trim()).at_site(site.trim())
            }
            _ => EndpointConfig::new(text),
        }
    }
}

/// How the client proves who it is; the party id comes from these credentials, never from a
/// request field.
#[derive(Clone, PartialEq, Eq)]
pub enum Authentication {
    /// No credentials: every Participant and TSO method then answers `UNAUTHENTICATED`. Useful
    /// only against the health service or to test the refusal.
    None,
    /// A development-mode bearer token for `party` (`A1001`, `T03`, `op:operator`): the header
    /// `authorization: Bearer dev-<party>` that `switchyard dev` accepts.
    DevToken {
        /// The party id.
        party: String,
    },
    /// Any other bearer token, sent as `authorization: Bearer <token>`.
    BearerToken(String),
    /// Mutual TLS, as production nodes expect: the node's certificate is checked against the
    /// certificate authority, and the client certificate's subject common name is the party id.
    MutualTls(TlsCredentials),
}

impl Authentication {
    /// The development token of `party`.
    pub fn dev_token(party: impl Into<String>) -> Authentication {
        Authentication::DevToken {
            party: party.into(),
        }
    }
}

impl fmt::Debug for Authentication {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials are never printed: a development party id is harmless, a token or key is not.
        match self {
            Authentication::None => formatter.write_str("None"),
            Authentication::DevToken { party } => formatter
                .debug_struct("DevToken")
                .field("party", party)
                .finish(),
            Authentication::BearerToken(_) => formatter.write_str("BearerToken(<hidden>)"),
            Authentication::MutualTls(credentials) => formatter
                .debug_tuple("MutualTls")
                .field(credentials)
                .finish(),
        }
    }
}

/// The PEM files of mutual TLS.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsCredentials {
    /// The certificate authority that signed the nodes' certificates (PEM).
    pub ca_certificate_pem: Vec<u8>,
    /// The client certificate, whose subject common name is the party id (PEM).
    pub client_certificate_pem: Vec<u8>,
    /// The client certificate's private key (PEM).
    pub client_key_pem: Vec<u8>,
    /// The name to check the nodes' certificates against, when it differs from the endpoints'
    /// host names (for example `localhost` for nodes reached by address).
    pub domain_name: Option<String>,
}

impl TlsCredentials {
    /// Reads the three PEM files.
    pub fn from_files(
        ca_certificate: impl AsRef<Path>,
        client_certificate: impl AsRef<Path>,
        client_key: impl AsRef<Path>,
    ) -> Result<TlsCredentials, ConfigError> {
        let read = |what: &'static str, path: &Path| {
            std::fs::read(path).map_err(|source| ConfigError::File {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        Ok(TlsCredentials {
            ca_certificate_pem: read("certificate authority", ca_certificate.as_ref())?,
            client_certificate_pem: read("client certificate", client_certificate.as_ref())?,
            client_key_pem: read("client key", client_key.as_ref())?,
            domain_name: None,
        })
    }
}

impl fmt::Debug for TlsCredentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TlsCredentials")
            .field("ca_certificate_pem_bytes", &self.ca_certificate_pem.len())
            .field(
                "client_certificate_pem_bytes",
                &self.client_certificate_pem.len(),
            )
            .field("client_key_pem", &"<hidden>")
            .field("domain_name", &self.domain_name)
            .finish()
    }
}

/// The bound on one call's attempts: a call stops at whichever limit it reaches first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudget {
    /// Attempts per call, the first one included (at least 1).
    pub attempts_max: u32,
    /// Time per call from its first attempt, waits included.
    pub total_time_max: Duration,
    /// The first backoff between attempts; it doubles up to `backoff_max`, with jitter.
    pub backoff_initial: Duration,
    /// The longest backoff between two attempts.
    pub backoff_max: Duration,
}

impl Default for RetryBudget {
    fn default() -> RetryBudget {
        RetryBudget {
            attempts_max: 16,
            total_time_max: Duration::from_secs(30),
            backoff_initial: Duration::from_millis(25),
            backoff_max: Duration::from_secs(1),
        }
    }
}

/// Everything a [`Client`](crate::Client) needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The public API endpoints, at both sites, in order of preference.
    pub endpoints: Vec<EndpointConfig>,
    /// The credentials sent with every call.
    pub authentication: Authentication,
    /// How long one attempt may take before it is abandoned and retried elsewhere (for an event
    /// stream: until its first message).
    pub attempt_timeout: Duration,
    /// How long connecting to one endpoint may take.
    pub connect_timeout: Duration,
    /// The bound on each call's retries.
    pub retry: RetryBudget,
    /// How long an event stream may stay silent before it counts as broken and resumes at
    /// another endpoint. Nodes send a progress message at least every 10 seconds.
    pub watch_idle_timeout: Duration,
    /// The start of every request id this client generates (1..=24 characters of
    /// `A-Z a-z 0-9 . _ : -`), to recognise a gateway's writes in logs. A random instance part
    /// and a counter follow it.
    pub request_id_prefix: String,
}

impl ClientConfig {
    /// A configuration for `endpoints` (each `URL` or `SITE=URL`) with the default bounds and
    /// no credentials.
    pub fn new<I, S>(endpoints: I) -> ClientConfig
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ClientConfig {
            endpoints: endpoints
                .into_iter()
                .map(|endpoint| EndpointConfig::parse(endpoint.as_ref()))
                .filter(|endpoint| !endpoint.url.is_empty())
                .collect(),
            authentication: Authentication::None,
            attempt_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            retry: RetryBudget::default(),
            watch_idle_timeout: Duration::from_secs(35),
            request_id_prefix: "sy".to_owned(),
        }
    }

    /// The same configuration with `authentication`.
    #[must_use]
    pub fn with_authentication(mut self, authentication: Authentication) -> ClientConfig {
        self.authentication = authentication;
        self
    }

    /// The same configuration with the development token of `party`.
    #[must_use]
    pub fn with_dev_token(self, party: impl Into<String>) -> ClientConfig {
        self.with_authentication(Authentication::dev_token(party))
    }

    /// Checks the configuration; [`Client::new`](crate::Client::new) calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.endpoints.is_empty() {
            return Err(ConfigError::NoEndpoint);
        }
        let https = self
            .endpoints
            .iter()
            .filter(|endpoint| is_https(&endpoint.url));
        let https_count = https.count();
        for endpoint in &self.endpoints {
            if !(is_https(&endpoint.url) || endpoint.url.starts_with("http://")) {
                return Err(ConfigError::Endpoint {
                    url: endpoint.url.clone(),
                    reason: "must start with http:// or https://".to_owned(),
                });
            }
        }
        let tls = matches!(self.authentication, Authentication::MutualTls(_));
        if tls && https_count != self.endpoints.len() {
            return Err(ConfigError::Endpoint {
                url: self
                    .endpoints
                    .iter()
                    .find(|endpoint| !is_https(&endpoint.url))
                    .map(|endpoint| endpoint.url.clone())
                    .unwrap_or_default(),
                reason: "mutual TLS needs https:// endpoints".to_owned(),
            });
        }
        if !tls && https_count > 0 {
            return Err(ConfigError::Endpoint {
                url: self
                    .endpoints
                    .iter()
                    .find(|endpoint| is_https(&endpoint.url))
                    .map(|endpoint| endpoint.url.clone())
                    .unwrap_or_default(),
                reason: "https:// endpoints need mutual TLS credentials".to_owned(),
            });
        }
        let header = match &self.authentication {
            Authentication::DevToken { party } => Some(party.as_str()),
            Authentication::BearerToken(token) => Some(token.as_str()),
            Authentication::None | Authentication::MutualTls(_) => None,
        };
        if let Some(text) = header
            && (text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_graphic()))
        {
            return Err(ConfigError::Token);
        }
        for (name, duration) in [
            ("attempt_timeout", self.attempt_timeout),
            ("connect_timeout", self.connect_timeout),
            ("retry.total_time_max", self.retry.total_time_max),
            ("watch_idle_timeout", self.watch_idle_timeout),
        ] {
            if duration.is_zero() {
                return Err(ConfigError::Bound {
                    name,
                    reason: "must be more than zero",
                });
            }
        }
        if self.retry.attempts_max == 0 {
            return Err(ConfigError::Bound {
                name: "retry.attempts_max",
                reason: "must be at least 1",
            });
        }
        if self.retry.backoff_initial > self.retry.backoff_max {
            return Err(ConfigError::Bound {
                name: "retry.backoff_initial",
                reason: "must not exceed retry.backoff_max",
            });
        }
        crate::request_id::validate_prefix(&self.request_id_prefix)
    }
}

fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No endpoint was given.
    #[error("no endpoint given")]
    NoEndpoint,
    /// An endpoint cannot be used.
    #[error("endpoint {url:?}: {reason}")]
    Endpoint {
        /// The endpoint as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A token or party that cannot be an HTTP header value.
    #[error("the bearer token (or development party) must be non-empty printable ASCII")]
    Token,
    /// A bound out of range.
    #[error("{name} {reason}")]
    Bound {
        /// The field.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The request id prefix is not usable in a request id.
    #[error("request_id_prefix {prefix:?} must be 1..=24 characters of A-Z a-z 0-9 . _ : -")]
    RequestIdPrefix {
        /// The prefix as given.
        prefix: String,
    },
    /// A credentials file could not be read.
    #[error("cannot read the {what} at {path}: {source}")]
    File {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// TLS could not be set up for an endpoint.
    #[error("TLS setup for {url} failed: {reason}")]
    Tls {
        /// The endpoint.
        url: String,
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SITE=URL` labels an endpoint; a bare URL has no site; empty entries are dropped.
    #[test]
    fn endpoints_parse_with_optional_site() {
        let config =
            ClientConfig::new(["tokyo=http://127.0.0.1:7400", " http://127.0.0.1:7402 ", ""]);
        assert_eq!(
            config.endpoints,
            vec![
                EndpointConfig::new("http://127.0.0.1:7400").at_site("tokyo"),
                EndpointConfig::new("http://127.0.0.1:7402"),
            ]
        );
        config.validate().unwrap();
    }

    /// Mixed schemes, https without TLS credentials, a token that cannot be a header, zero
    /// bounds and a bad prefix are refused before anything is sent.
    #[test]
    fn bad_configurations_are_refused() {
        let base = || ClientConfig::new(["http://127.0.0.1:7400"]).with_dev_token("A1001");
        assert!(matches!(
            ClientConfig::new(Vec::<String>::new()).validate(),
            Err(ConfigError::NoEndpoint)
        ));
        assert!(matches!(
            ClientConfig::new(["127.0.0.1:7400"]).validate(),
            Err(ConfigError::Endpoint { .. })
        ));
        assert!(matches!(
            ClientConfig::new(["https://a:1"]).validate(),
            Err(ConfigError::Endpoint { .. })
        ));
        let tls = base().with_authentication(Authentication::MutualTls(TlsCredentials {
            ca_certificate_pem: Vec::new(),
            client_certificate_pem: Vec::new(),
            client_key_pem: Vec::new(),
            domain_name: None,
        }));
        assert!(matches!(tls.validate(), Err(ConfigError::Endpoint { .. })));
        assert!(matches!(
            base().with_dev_token("bad token").validate(),
            Err(ConfigError::Token)
        ));
        let mut zero = base();
        zero.retry.attempts_max = 0;
        assert!(matches!(zero.validate(), Err(ConfigError::Bound { .. })));
        let mut zero = base();
        zero.attempt_timeout = Duration::ZERO;
        assert!(matches!(zero.validate(), Err(ConfigError::Bound { .. })));
        let mut prefix = base();
        prefix.request_id_prefix = "no spaces".to_owned();
        assert!(matches!(
            prefix.validate(),
            Err(ConfigError::RequestIdPrefix { .. })
        ));
    }

    /// Tokens and keys never appear in debug output.
    #[test]
    fn credentials_are_not_printed() {
        let text = format!(
            "{:?} {:?}",
            Authentication::BearerToken("secret-token".to_owned()),
            Authentication::MutualTls(TlsCredentials {
                ca_certificate_pem: b"ca".to_vec(),
                client_certificate_pem: b"cert".to_vec(),
                client_key_pem: b"secret-key".to_vec(),
                domain_name: None,
            })
        );
        assert!(!text.contains("secret"), "{text}");
    }
}
