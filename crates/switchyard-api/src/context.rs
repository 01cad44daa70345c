//! What every service of a node shares: the node, the settings, the authenticator and the rate
//! limiter; and the steps every request goes through (authenticate, limit, read or write).

use std::sync::Arc;
use std::time::Instant;

use switchyard_domain::{Accepted, Actor, StateView, Timestamp};
use switchyard_proto::WireError;
use switchyard_proto::convert::{Consistency, IncomingWrite};
use switchyard_raft::NodeHandle;
use tonic::{Request, Response, Status};

use crate::auth::{Authenticator, Caller};
use crate::config::ApiConfig;
use crate::limiter::RateLimiter;
use crate::status;

/// The shared state of a node's public services.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) node: Arc<NodeHandle>,
    pub(crate) config: ApiConfig,
    auth: Authenticator,
    limiter: RateLimiter,
}

impl Context {
    pub(crate) fn new(node: Arc<NodeHandle>, config: ApiConfig) -> Context {
        Context {
            auth: Authenticator::new(config.auth.clone()),
            limiter: RateLimiter::default(),
            node,
            config,
        }
    }

    /// Authenticates the caller, takes a token from its rate limit, and checks that a retailer
    /// or TSO is a registered participant (a certificate for a party the directory does not
    /// know is not enough; operators are not in the directory).
    pub(crate) fn admit<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let caller = self.auth.authenticate(request)?;
        self.limiter
            .acquire(&self.config, &caller.party, Instant::now())
            .map_err(|wait| status::rate_limited(&caller.party, wait))?;
        if !caller.is_operator() && !self.read(|view| view.participant(&caller.party).is_some())? {
            return Err(status::unknown_participant(&caller.party));
        }
        Ok(caller)
    }

    /// The whole of a participant's or TSO's write that answers with the domain's result and
    /// the revision: validates `message`, writes it as `caller` and builds the response with
    /// `respond` (marked replayed when the request id was answered before).
    pub(crate) async fn write_answer<M, R, T>(
        &self,
        caller: &Caller,
        message: M,
        respond: impl FnOnce(R, u64) -> T,
    ) -> Result<Response<T>, Status>
    where
        IncomingWrite: TryFrom<M, Error = WireError>,
        R: TryFrom<Accepted>,
        R::Error: std::fmt::Display,
    {
        let write = IncomingWrite::try_from(message)?;
        let (accepted, revision, replayed) = self.write(caller, write).await?;
        let result = R::try_from(accepted).map_err(status::internal)?;
        Ok(answer(replayed, respond(result, revision)))
    }

    /// Applies a write as `caller` through Raft, wherever the leader is; a refusal by a rule
    /// becomes its status. Returns the domain's answer, the revision of the entry that answered
    /// and whether it was a retry answered from its request id.
    pub(crate) async fn write(
        &self,
        caller: &Caller,
        write: IncomingWrite,
    ) -> Result<(Accepted, u64, bool), Status> {
        let envelope = write.into_envelope(Actor::Party(caller.party.clone()));
        let answer = self
            .node
            .client_write(envelope)
            .await
            .map_err(|error| status::node_error(&error))?;
        match answer.outcome {
            Ok(accepted) => Ok((accepted, answer.revision, answer.replayed)),
            Err(rejection) => Err(status::rejection(&rejection)),
        }
    }

    /// Prepares a read at `consistency`: a linearizable read waits for the leader's read index
    /// to be applied here; a local read only needs a serving node. Returns the revision the
    /// read reflects at least.
    pub(crate) async fn prepare_read(&self, consistency: Consistency) -> Result<u64, Status> {
        match consistency {
            Consistency::Linearizable => self
                .node
                .read_barrier()
                .await
                .map_err(|error| status::node_error(&error)),
            Consistency::Local => {
                if let Some(reason) = self.node.not_serving_reason() {
                    return Err(status::node_error(
                        &switchyard_raft::NodeError::NotServing { reason },
                    ));
                }
                Ok(self.node.applied_index())
            }
        }
    }

    /// Runs `read` against this node's applied state.
    pub(crate) fn read<T>(&self, read: impl FnOnce(&dyn StateView) -> T) -> Result<T, Status> {
        self.node
            .store()
            .state_machine
            .read(read)
            .map_err(|error| status::local_disk(&error))
    }

    /// Runs `read` against this node's applied state and returns, with what it read, the
    /// revision of that state: the `served_at_revision` to report. It is at or after the
    /// revision [`Context::prepare_read`] returned — entries applied meanwhile are in what was
    /// read, so reporting the prepared revision instead would understate it.
    pub(crate) fn read_with_revision<T>(
        &self,
        read: impl FnOnce(&dyn StateView) -> T,
    ) -> Result<(T, u64), Status> {
        self.node
            .store()
            .state_machine
            .read_with_revision(read)
            .map_err(|error| status::local_disk(&error))
    }
}

/// Now, by this node's clock (for dates shown to callers, never for entries).
pub(crate) fn now() -> Timestamp {
    let milliseconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        });
    Timestamp(milliseconds)
}

/// The metadata key that marks the answer to a retried write: `true` when the request id had
/// been seen and the first answer was returned without applying anything.
pub const REPLAYED_METADATA_KEY: &str = "x-switchyard-replayed";

/// A write's response, marked when it is a replayed first answer.
pub(crate) fn answer<T>(replayed: bool, message: T) -> Response<T> {
    let mut response = Response::new(message);
    if replayed {
        response.metadata_mut().insert(
            REPLAYED_METADATA_KEY,
            tonic::metadata::MetadataValue::from_static("true"),
        );
    }
    response
}
