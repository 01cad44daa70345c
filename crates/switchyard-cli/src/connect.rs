//! Connecting to the cluster: endpoints, TLS, the bearer token, per-call deadlines and failover.
//!
//! A [`Session`] holds the configured endpoints in the order given and one live channel at a
//! time. A call goes to the current endpoint; when the endpoint cannot be reached or answers
//! UNAVAILABLE (no leader, stalled disk, shutting down), the session moves on to the next one and
//! tries again, each endpoint at most once per call. Retrying is safe for every method: reads
//! have no effect, and writes carry a request id the cluster remembers. Other errors are final.
//!
//! Every call carries `authorization: Bearer TOKEN` when a token is given, and a deadline
//! (`grpc-timeout`, enforced locally too) except the event stream, which stays open.
//!
//! Operator commands also reach nodes one by one: a [`Dialer`] connects to one endpoint without
//! failover (`status` asks every endpoint at once), or to an address a node named (`failover`
//! follows a `not_leader` refusal to the leader), with the scheme and TLS settings of the
//! configured endpoints.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use switchyard_proto::admin::v1::admin_service_client::AdminServiceClient;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_proto::v1::tso_service_client::TsoServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Status};

use crate::args::GlobalArgs;
use crate::error::{CliError, append_causes};

/// How often an idle connection is pinged, so that a dead node is noticed on a quiet stream.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a ping may stay unanswered before the connection counts as dead.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The Participant API client with the session's interceptor.
pub(crate) type ParticipantClient =
    ParticipantServiceClient<InterceptedService<Channel, Authorize>>;
/// The TSO API client with the session's interceptor.
pub(crate) type TsoClient = TsoServiceClient<InterceptedService<Channel, Authorize>>;
/// The Admin API client with the session's interceptor.
pub(crate) type AdminClient = AdminServiceClient<InterceptedService<Channel, Authorize>>;

/// Adds the bearer token and the deadline to every request.
#[derive(Clone)]
pub(crate) struct Authorize {
    header: Option<MetadataValue<Ascii>>,
    timeout: Option<Duration>,
}

impl fmt::Debug for Authorize {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a credential: never print it.
        formatter
            .debug_struct("Authorize")
            .field("header", &self.header.as_ref().map(|_| "Bearer <hidden>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Interceptor for Authorize {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        Ok(request)
    }
}

/// A connected channel to one endpoint, ready to make clients.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    channel: Channel,
    authorize: Authorize,
}

impl Link {
    /// A Participant API client.
    pub(crate) fn participant(&self) -> ParticipantClient {
        ParticipantServiceClient::with_interceptor(self.channel.clone(), self.authorize.clone())
    }

    /// A TSO API client.
    pub(crate) fn tso(&self) -> TsoClient {
        TsoServiceClient::with_interceptor(self.channel.clone(), self.authorize.clone())
    }

    /// An Admin API client.
    pub(crate) fn admin(&self) -> AdminClient {
        AdminServiceClient::with_interceptor(self.channel.clone(), self.authorize.clone())
    }

    /// The same link without a deadline, for the event stream.
    pub(crate) fn without_deadline(&self) -> Link {
        self.with_deadline(None)
    }

    /// The same link with another per-call deadline (a leadership transfer may take longer
    /// than an ordinary call).
    pub(crate) fn with_deadline(&self, timeout: Option<Duration>) -> Link {
        Link {
            channel: self.channel.clone(),
            authorize: Authorize {
                header: self.authorize.header.clone(),
                timeout,
            },
        }
    }
}

/// Connects to one endpoint, without failover.
#[derive(Debug, Clone)]
pub(crate) struct Dialer {
    url: String,
    endpoint: Endpoint,
    authorize: Authorize,
    connect_timeout: Duration,
}

impl Dialer {
    /// The endpoint's URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// A connection, or UNAVAILABLE naming the endpoint and the reason.
    pub(crate) async fn connect(&self) -> Result<Link, Status> {
        let channel = connect_channel(&self.url, &self.endpoint, self.connect_timeout).await?;
        Ok(Link {
            channel,
            authorize: self.authorize.clone(),
        })
    }
}

/// Connects a channel within `timeout`; failures are UNAVAILABLE naming `url`.
async fn connect_channel(
    url: &str,
    endpoint: &Endpoint,
    timeout: Duration,
) -> Result<Channel, Status> {
    match tokio::time::timeout(timeout, endpoint.connect()).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(error)) => Err(Status::unavailable(format!(
            "cannot connect to {url}: {}",
            error_chain(&error)
        ))),
        Err(_) => Err(Status::unavailable(format!(
            "cannot connect to {url} within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// The `host:port` of an endpoint URL (`http://127.0.0.1:7400/` is `127.0.0.1:7400`), lower
/// case, for comparing with the public addresses nodes report.
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

/// One configured endpoint.
#[derive(Debug)]
struct Target {
    url: String,
    endpoint: Endpoint,
}

/// The endpoints, the current connection and the per-call deadline.
#[derive(Debug)]
pub(crate) struct Session {
    targets: Vec<Target>,
    current: usize,
    link: Option<Link>,
    authorize: Authorize,
    call_timeout: Duration,
    /// The TLS settings of the endpoints (all https), or `None` (all plain http).
    tls: Option<ClientTlsConfig>,
    notes: Vec<String>,
}

impl Session {
    /// A session for the global options. Nothing is connected yet; files named by the TLS
    /// options are read now, so a missing file is reported before any call.
    pub(crate) fn new(global: &GlobalArgs) -> Result<Session, CliError> {
        let call_timeout = Duration::from_millis(global.timeout_ms);
        let header = global
            .token
            .as_deref()
            .map(|token| {
                MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
                    CliError::Usage(
                        "--token must be printable ASCII without line breaks".to_owned(),
                    )
                })
            })
            .transpose()?;
        let tls = tls_config(global)?;
        let urls: Vec<&str> = global
            .endpoints
            .iter()
            .map(|url| url.trim())
            .filter(|url| !url.is_empty())
            .collect();
        if urls.is_empty() {
            return Err(CliError::Usage("--endpoint: no endpoint given".to_owned()));
        }
        let mut targets = Vec::with_capacity(urls.len());
        for url in urls {
            targets.push(Target {
                url: url.to_owned(),
                endpoint: endpoint(url, tls.as_ref(), call_timeout)?,
            });
        }
        Ok(Session {
            targets,
            current: 0,
            link: None,
            authorize: Authorize {
                header,
                timeout: Some(call_timeout),
            },
            call_timeout,
            tls,
            notes: Vec::new(),
        })
    }

    /// The per-call deadline (`--timeout-ms`).
    pub(crate) fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// One dialer per configured endpoint, in the order given.
    pub(crate) fn dialers(&self) -> Vec<Dialer> {
        self.targets
            .iter()
            .map(|target| self.dialer(&target.url, &target.endpoint))
            .collect()
    }

    /// The dialer of the current endpoint.
    pub(crate) fn current_dialer(&self) -> Dialer {
        let target = &self.targets[self.current];
        self.dialer(&target.url, &target.endpoint)
    }

    /// A dialer for `host:port`, an address a node reported: the configured endpoint with that
    /// address if there is one, otherwise a new endpoint with the configured endpoints' scheme
    /// and TLS settings.
    pub(crate) fn dialer_for_address(&self, address: &str) -> Result<Dialer, CliError> {
        let address = address.trim();
        if let Some(target) = self
            .targets
            .iter()
            .find(|target| authority(&target.url) == address.to_ascii_lowercase())
        {
            return Ok(self.dialer(&target.url, &target.endpoint));
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{address}");
        let endpoint = endpoint(&url, self.tls.as_ref(), self.call_timeout).map_err(|error| {
            CliError::Failed(format!(
                "a node named the address {address:?}, which is not usable: {error}"
            ))
        })?;
        Ok(self.dialer(&url, &endpoint))
    }

    fn dialer(&self, url: &str, endpoint: &Endpoint) -> Dialer {
        Dialer {
            url: url.to_owned(),
            endpoint: endpoint.clone(),
            authorize: self.authorize.clone(),
            connect_timeout: self.call_timeout,
        }
    }

    /// The URL of the current endpoint.
    pub(crate) fn current_url(&self) -> &str {
        &self.targets[self.current].url
    }

    /// Notes about failovers since the last call, for stderr.
    pub(crate) fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Drops the current connection and moves to the next endpoint (wrapping around).
    pub(crate) fn advance(&mut self) {
        self.link = None;
        self.current = (self.current + 1) % self.targets.len();
    }

    /// The current connection, connecting first if there is none.
    async fn link(&mut self) -> Result<Link, Status> {
        if let Some(link) = &self.link {
            return Ok(link.clone());
        }
        let target = &self.targets[self.current];
        let channel = connect_channel(&target.url, &target.endpoint, self.call_timeout).await?;
        let link = Link {
            channel,
            authorize: self.authorize.clone(),
        };
        self.link = Some(link.clone());
        Ok(link)
    }

    /// Makes one call with failover: on a connect failure or UNAVAILABLE, the next endpoint is
    /// tried, each endpoint at most once. The call's answer must arrive within the per-call
    /// deadline (for a stream: its first response headers).
    pub(crate) async fn call<T, F, Fut>(&mut self, mut call: F) -> Result<T, CliError>
    where
        F: FnMut(Link) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let mut last_unavailable: Option<Status> = None;
        for _ in 0..self.targets.len() {
            let link = match self.link().await {
                Ok(link) => link,
                Err(status) => {
                    self.fail_over(&status);
                    last_unavailable = Some(status);
                    continue;
                }
            };
            match tokio::time::timeout(self.call_timeout, call(link)).await {
                Ok(Ok(response)) => return Ok(response.into_inner()),
                Ok(Err(status)) if status.code() == Code::Unavailable => {
                    self.fail_over(&status);
                    last_unavailable = Some(status);
                }
                Ok(Err(status)) => return Err(status.into()),
                Err(_) => {
                    return Err(Status::deadline_exceeded(format!(
                        "no answer from {} within {} ms",
                        self.current_url(),
                        self.call_timeout.as_millis()
                    ))
                    .into());
                }
            }
        }
        // Every endpoint was tried; the notes already name each failure.
        self.notes.pop();
        Err(last_unavailable
            .unwrap_or_else(|| Status::unavailable("no endpoint could be tried"))
            .into())
    }

    /// Records why the current endpoint failed and moves to the next one.
    pub(crate) fn fail_over(&mut self, status: &Status) {
        let failed = self.current_url().to_owned();
        self.advance();
        let reason = if status.message().contains(&failed) {
            status.message().to_owned()
        } else {
            format!("{failed}: {}", status.message())
        };
        self.notes
            .push(format!("{reason}; trying {}", self.current_url()));
    }
}

/// The message of an error and of every error it wraps, which is where tonic keeps the reason a
/// connection failed.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    append_causes(&mut text, error.source());
    text
}

/// The TLS configuration of the global options, if any TLS option is given.
fn tls_config(global: &GlobalArgs) -> Result<Option<ClientTlsConfig>, CliError> {
    let any_tls_option = global.ca_cert.is_some()
        || global.client_cert.is_some()
        || global.client_key.is_some()
        || global.tls_domain.is_some();
    if !any_tls_option {
        return Ok(None);
    }
    let Some(ca_cert) = &global.ca_cert else {
        return Err(CliError::Usage(
            "--client-cert, --client-key and --tls-domain need --ca-cert".to_owned(),
        ));
    };
    let mut config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read_pem("--ca-cert", ca_cert)?));
    match (&global.client_cert, &global.client_key) {
        (Some(cert), Some(key)) => {
            config = config.identity(Identity::from_pem(
                read_pem("--client-cert", cert)?,
                read_pem("--client-key", key)?,
            ));
        }
        (None, None) => {}
        _ => {
            return Err(CliError::Usage(
                "--client-cert and --client-key go together".to_owned(),
            ));
        }
    }
    if let Some(domain) = &global.tls_domain {
        config = config.domain_name(domain.clone());
    }
    Ok(Some(config))
}

fn read_pem(option: &str, path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|error| {
        CliError::Usage(format!("{option}: cannot read {}: {error}", path.display()))
    })
}

/// One endpoint: `http://host:port`, or `https://host:port` with TLS.
fn endpoint(
    url: &str,
    tls: Option<&ClientTlsConfig>,
    call_timeout: Duration,
) -> Result<Endpoint, CliError> {
    let https = if let Some(rest) = url.strip_prefix("https://") {
        !rest.is_empty()
    } else if url.starts_with("http://") {
        false
    } else {
        return Err(CliError::Usage(format!(
            "--endpoint: {url:?} must start with http:// or https://"
        )));
    };
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|error| CliError::Usage(format!("--endpoint: {url:?} is not a URL: {error}")))?
        .connect_timeout(call_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    match (https, tls) {
        (true, Some(tls)) => {
            endpoint = endpoint.tls_config(tls.clone()).map_err(|error| {
                CliError::Usage(format!("--endpoint {url}: TLS setup failed: {error}"))
            })?;
        }
        (true, None) => {
            return Err(CliError::Usage(format!(
                "--endpoint {url} is https: give the certificate authority with --ca-cert"
            )));
        }
        (false, Some(_)) => {
            return Err(CliError::Usage(format!(
                "--endpoint {url} is plain http, but TLS options were given: use https://"
            )));
        }
        (false, None) => {}
    }
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::Cli;

    fn global(arguments: &[&str]) -> GlobalArgs {
        let mut all = vec!["swctl"];
        all.extend_from_slice(arguments);
        all.push("notices");
        Cli::try_parse_from(all).unwrap().global
    }

    fn usage_error(arguments: &[&str]) -> String {
        match Session::new(&global(arguments)) {
            Err(CliError::Usage(message)) => message,
            other => panic!("{arguments:?}: {other:?}"),
        }
    }

    /// A session keeps the endpoints in the order given, skipping empty entries, and starts
    /// with the first one; advancing wraps around.
    #[tokio::test]
    async fn endpoints_in_order() {
        let mut session = Session::new(&global(&[
            "--endpoint",
            "http://a:1,,http://b:2 ,http://c:3",
        ]))
        .unwrap();
        assert_eq!(session.current_url(), "http://a:1");
        session.advance();
        assert_eq!(session.current_url(), "http://b:2");
        session.advance();
        session.advance();
        assert_eq!(session.current_url(), "http://a:1");
    }

    /// An address a node reports reuses the configured endpoint with the same `host:port`, or
    /// else gets the configured scheme; one dialer per configured endpoint, in order.
    #[test]
    fn dialers_for_reported_addresses() {
        assert_eq!(authority("http://127.0.0.1:7401/"), "127.0.0.1:7401");
        assert_eq!(
            authority("https://Osaka-1.example:7400"),
            "osaka-1.example:7400"
        );
        let session = Session::new(&global(&[
            "--endpoint",
            "http://127.0.0.1:7400,http://127.0.0.1:7401/",
        ]))
        .unwrap();
        let urls: Vec<String> = session
            .dialers()
            .iter()
            .map(|dialer| dialer.url().to_owned())
            .collect();
        assert_eq!(urls, ["http://127.0.0.1:7400", "http://127.0.0.1:7401/"]);
        assert_eq!(session.current_dialer().url(), "http://127.0.0.1:7400");
        assert_eq!(
            session.dialer_for_address("127.0.0.1:7401").unwrap().url(),
            "http://127.0.0.1:7401/"
        );
        assert_eq!(
            session.dialer_for_address("10.0.0.3:7400").unwrap().url(),
            "http://10.0.0.3:7400"
        );
        assert_eq!(
            session
                .dialer_for_address("not an address")
                .unwrap_err()
                .exit(),
            crate::error::Exit::Failure
        );
    }

    /// Bad endpoints, https without a certificate authority, half a client identity, unreadable
    /// files and a token that cannot be a header are refused before anything is sent, naming
    /// the option.
    #[tokio::test]
    async fn bad_connection_options_are_usage_errors() {
        assert!(usage_error(&["--endpoint", "127.0.0.1:7400"]).contains("--endpoint"));
        assert!(usage_error(&["--endpoint", "https://a:1"]).contains("--ca-cert"));
        assert!(
            usage_error(&[
                "--endpoint",
                "http://a:1",
                "--ca-cert",
                "/nonexistent/ca.pem"
            ])
            .contains("--ca-cert: cannot read")
        );
        assert!(
            usage_error(&["--endpoint", "https://a:1", "--client-cert", "c.pem"])
                .contains("need --ca-cert")
        );
        assert!(usage_error(&["--token", "bad\ntoken"]).contains("--token"));
    }

    /// The interceptor sends the bearer token and the deadline; the event stream's link has no
    /// deadline; the token never appears in debug output.
    #[test]
    fn interceptor_adds_token_and_deadline() {
        let mut authorize = Authorize {
            header: Some(MetadataValue::try_from("Bearer dev-A1001").unwrap()),
            timeout: Some(Duration::from_millis(1500)),
        };
        let request = authorize.call(Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer dev-A1001"
        );
        assert_eq!(request.metadata().get("grpc-timeout").unwrap(), "1500000u");
        assert!(!format!("{authorize:?}").contains("dev-A1001"));

        let mut streaming = Authorize {
            timeout: None,
            ..authorize
        };
        let request = streaming.call(Request::new(())).unwrap();
        assert!(request.metadata().get("grpc-timeout").is_none());
    }

    /// With nothing listening, a call fails over through every endpoint once and ends with
    /// UNAVAILABLE (exit 5), leaving a note per endpoint but the last.
    #[tokio::test]
    async fn unreachable_endpoints_fail_over_then_unavailable() {
        // Port 1 on the loopback address: connection refused at once, no traffic leaves the
        // machine.
        let mut session = Session::new(&global(&[
            "--endpoint",
            "http://127.0.0.1:1,http://127.0.0.1:1",
            "--timeout-ms",
            "2000",
        ]))
        .unwrap();
        let mut calls = 0;
        let result: Result<(), CliError> = session
            .call(|link| {
                calls += 1;
                async move {
                    link.participant()
                        .list_notices(switchyard_proto::v1::ListNoticesRequest::default())
                        .await
                        .map(|response| response.map(|_| ()))
                }
            })
            .await;
        let error = result.unwrap_err();
        assert_eq!(error.exit(), crate::error::Exit::Unavailable, "{error:?}");
        assert_eq!(calls, 0, "no call is made without a connection");
        assert_eq!(session.take_notes().len(), 1);
    }
}
