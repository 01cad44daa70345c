//! The client library of Switchyard's public gRPC API, for the systems that call it all day: a
//! retailer's gateway, a TSO's work-management system. It hides the cluster behind typed async
//! methods: which node to call, what to do when one is down or an election is under way, how
//! to retry a write without applying it twice, and how to keep an event stream going across
//! failovers. Caller code never handles failover.
//!
//! # What it does
//!
//! - **Endpoints at both sites.** A [`ClientConfig`] lists the public API endpoints of the
//!   nodes (`http://host:port` in development, `https://host:port` with mutual TLS), each with
//!   an optional site label. Any node serves every method; a call goes first to the endpoint
//!   that answered last and moves to the next one on failure. Once an answer names the leader
//!   (`x-switchyard-leader-address`), writes go first to the leader's endpoint and the other
//!   endpoints at its site.
//! - **Safe retries.** Every write carries a request id — the caller's own, or one the client
//!   generates (`<prefix>-<instance>-<counter>`) — and every attempt of that write sends the
//!   same id, so the cluster applies it once and answers a retry with the first answer; the
//!   answer's [`Written::replayed`] says so. Retried: `UNAVAILABLE`, `DEADLINE_EXCEEDED`,
//!   transport failures, and `RESOURCE_EXHAUSTED` after the wait the server advised
//!   (`x-switchyard-retry-after-ms`). Never retried: `INVALID_ARGUMENT`, `NOT_FOUND`,
//!   `ALREADY_EXISTS`, `FAILED_PRECONDITION`, `ABORTED`, `PERMISSION_DENIED`,
//!   `UNAUTHENTICATED` — they come back at once.
//! - **Bounded.** Each attempt has a timeout; each call a [`RetryBudget`] of attempts and total
//!   time, with jittered exponential backoff between attempts. A call that spends its budget
//!   fails with [`ErrorKind::RetriesExhausted`], naming how many attempts on which endpoints
//!   and the last status.
//! - **Resuming event streams.** [`Client::watch`] returns a [`Watch`] that reopens its
//!   stream at another endpoint from the position after the last event it delivered, with no
//!   gap and no duplicate; a compacted history is [`ErrorKind::HistoryCompacted`] with the
//!   oldest revision still available.
//! - **One error type.** [`Error`] has the gRPC code, the server's message, the rule
//!   (`x-switchyard-rule`) and the malformed field (`x-switchyard-field`).
//! - **Logs.** Each call runs in a `tracing` span (`switchyard_client.call`, with the method
//!   and request id); every retry is an `info` event naming the endpoint, the code, the rule and
//!   the wait, and giving up is a `warn` event. The library installs no subscriber.
//!
//! Requests and responses are the generated messages of `switchyard-proto`, re-exported here
//! as [`v1`]: the client adds no model of its own.
//!
//! # Examples
//!
//! A retailer looks up a supply point and asks its current retailer to stop supplying it, on the
//! development cluster that `switchyard dev` starts:
//!
//! ```no_run
//! use switchyard_client::{Client, ClientConfig, v1};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::new([
//!     "tokyo=http://127.0.0.1:7400",
//!     "tokyo=http://127.0.0.1:7401",
//!     "osaka=http://127.0.0.1:7402",
//!     "osaka=http://127.0.0.1:7403",
//!     "witness=http://127.0.0.1:7404",
//! ])
//! .with_dev_token("A1001");
//! let client = Client::connect(config).await?;
//!
//! let point = "0300000000000000000001".to_owned();
//! let looked_up = client
//!     .look_up_supply_point(v1::LookUpSupplyPointRequest {
//!         supply_point_number: point.clone(),
//!         ..Default::default()
//!     })
//!     .await?;
//! println!("served at revision {}", looked_up.served_at_revision);
//!
//! // request_id left empty: the client generates one and reuses it on every retry.
//! let registered = client
//!     .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
//!         supply_point_number: point,
//!         customer: Some(v1::CustomerIdentity {
//!             contract_number: "C-1".into(),
//!             holder_name: "Yamada Taro".into(),
//!             supply_address: "1-1 Chiyoda".into(),
//!         }),
//!         wished_date: "2027-01-10".into(),
//!         ..Default::default()
//!     })
//!     .await?;
//! println!(
//!     "request {} answered by {} (replayed: {})",
//!     registered.request_id, registered.endpoint, registered.replayed
//! );
//! # Ok(())
//! # }
//! ```
//!
//! A write the caller must be able to ask about later carries the caller's own request id;
//! sending it again after a crash returns the first answer, marked replayed. Refusals carry
//! their rule:
//!
//! ```no_run
//! use switchyard_client::{Client, ErrorKind, v1};
//!
//! # async fn example(client: Client) {
//! let request_id = client.next_request_id(); // or the gateway's own, stored with the order
//! let cancel = v1::CancelApplicationRequest {
//!     request_id: request_id.clone(),
//!     application_number: "AP0000000042".into(),
//!     application_revision: 2,
//! };
//! match client.cancel_application(cancel).await {
//!     Ok(written) => assert_eq!(written.request_id, request_id),
//!     Err(error) if error.rule() == Some("stale_revision") => {
//!         // Re-read the application and decide again.
//!     }
//!     Err(error) if *error.kind() == ErrorKind::RetriesExhausted => {
//!         // The cluster was unreachable for the whole budget: send the same request id later.
//!         eprintln!("{error}");
//!     }
//!     Err(error) => eprintln!("refused: {error} (field {:?})", error.field()),
//! }
//! # }
//! ```
//!
//! An operator follows every event from the first revision, across failovers:
//!
//! ```no_run
//! use switchyard_client::{Client, ClientConfig, ErrorKind, v1};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect(
//!     ClientConfig::new(["http://127.0.0.1:7400", "http://127.0.0.1:7402"])
//!         .with_dev_token("op:operator"),
//! )
//! .await?;
//! let mut watch = client.watch(v1::WatchEventsRequest {
//!     start_revision: 1,
//!     start_index_in_revision: 0,
//! });
//! while let Some(event) = watch.next().await {
//!     match event {
//!         Ok(event) => println!("{} {:?}", event.revision, event.kind),
//!         Err(error) => match error.kind() {
//!             ErrorKind::HistoryCompacted { oldest_revision } => {
//!                 println!("re-read the state, then watch from {oldest_revision}");
//!                 break;
//!             }
//!             _ => return Err(error.into()),
//!         },
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Production nodes authenticate participants by client certificate:
//!
//! ```no_run
//! use switchyard_client::{Authentication, Client, ClientConfig, TlsCredentials};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let credentials = TlsCredentials::from_files("ca.pem", "A1001.pem", "A1001.key")?;
//! let client = Client::connect(
//!     ClientConfig::new([
//!         "tokyo=https://tokyo-1.switchyard.example:7400",
//!         "osaka=https://osaka-1.switchyard.example:7400",
//!     ])
//!     .with_authentication(Authentication::MutualTls(credentials)),
//! )
//! .await?;
//! # drop(client);
//! # Ok(())
//! # }
//! ```
//!
//! `examples/dev_cluster.rs` is a whole program against `switchyard dev`.
//!
//! # How the files divide the work
//!
//! - `config`: [`ClientConfig`], [`EndpointConfig`], [`Authentication`], [`RetryBudget`], and
//!   their validation;
//! - `client`: [`Client`], one method per RPC, and [`Written`];
//! - `call`: one call with failover, attempt timeouts, retries and backoff;
//! - `retry`: which failures a retry may cure, and the jittered waits;
//! - `pool`: the endpoints' lazily connected channels and the order to try them in;
//! - `watch`: [`Watch`], the resuming event stream;
//! - `request_id`: request ids, unique per client instance and write;
//! - `error`: [`Error`] and the metadata keys it reads.

mod call;
mod client;
mod config;
mod error;
mod pool;
mod request_id;
mod retry;
mod watch;

pub use client::{Client, Written};
pub use config::{
    Authentication, ClientConfig, ConfigError, EndpointConfig, RetryBudget, TlsCredentials,
};
pub use error::{
    Error, ErrorKind, FIELD_METADATA_KEY, LEADER_ADDRESS_METADATA_KEY,
    OLDEST_REVISION_METADATA_KEY, REPLAYED_METADATA_KEY, RETRY_AFTER_METADATA_KEY,
    RULE_METADATA_KEY,
};
pub use switchyard_proto::v1;
pub use tonic::Code;
pub use watch::Watch;
