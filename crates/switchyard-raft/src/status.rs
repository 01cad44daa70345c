//! The one place where errors meet gRPC status codes, in both directions.
//!
//! Server side, [`to_status`] gives every error a precise code and a message that starts with a
//! stable snake_case reason (`not_serving`, `no_leader`, `stale_cluster_epoch`, ...), so that a
//! peer or an operator can tell outcomes apart without parsing prose. `INTERNAL` is kept for
//! what really is internal: the local state or disk failing.
//!
//! Client side, [`classify`] turns a failed call into what openraft needs to know: the peer is
//! unreachable (openraft backs off), the call timed out, or the transport failed otherwise
//! (openraft retries sooner).

use tonic::{Code, Status};

use crate::error::NodeError;

/// Reason prefixes of the status messages this crate sends.
pub(crate) mod reason {
    pub(crate) const NOT_SERVING: &str = "not_serving";
    pub(crate) const NOT_LEADER: &str = "not_leader";
    pub(crate) const NO_LEADER: &str = "no_leader";
    pub(crate) const RAFT_STOPPED: &str = "raft_stopped";
    pub(crate) const STALE_CLUSTER_EPOCH: &str = "stale_cluster_epoch";
    pub(crate) const MALFORMED: &str = "malformed";
    pub(crate) const ENVELOPE_TOO_LARGE: &str = "envelope_too_large";
    pub(crate) const DEADLINE: &str = "deadline_exceeded";
    pub(crate) const SNAPSHOT_BUSY: &str = "snapshot_busy";
    pub(crate) const SNAPSHOT_TOO_LARGE: &str = "snapshot_too_large";
    pub(crate) const SNAPSHOT_CHUNK: &str = "snapshot_chunk_invalid";
    pub(crate) const SNAPSHOT_ABANDONED: &str = "snapshot_abandoned";
    pub(crate) const LOCAL_DISK: &str = "local_disk";
    pub(crate) const MEMBERSHIP: &str = "membership_refused";
    pub(crate) const TRANSFER_REFUSED: &str = "transfer_refused";
}

/// The status a node answers for `error`.
pub(crate) fn to_status(error: &NodeError) -> Status {
    use reason::*;
    match error {
        NodeError::NotServing { reason } => Status::unavailable(format!("{NOT_SERVING}: {reason}")),
        NodeError::NotLeader { leader } => Status::failed_precondition(format!(
            "{NOT_LEADER}: leader is {}",
            leader
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |leader| leader.node_id.to_string())
        )),
        NodeError::NoLeader => Status::unavailable(format!("{NO_LEADER}: no leader is known")),
        NodeError::EnvelopeTooLarge { .. } => {
            Status::invalid_argument(format!("{ENVELOPE_TOO_LARGE}: {error}"))
        }
        NodeError::Timeout { .. } => Status::deadline_exceeded(format!("{DEADLINE}: {error}")),
        NodeError::UnknownNode { .. }
        | NodeError::NotVoter { .. }
        | NodeError::NotLearner { .. }
        | NodeError::NodeIdUnusable { .. }
        | NodeError::NotCaughtUp { .. }
        | NodeError::Membership(_) => Status::failed_precondition(format!("{MEMBERSHIP}: {error}")),
        NodeError::Peer { code, message, .. } => Status::new(*code, message.clone()),
        NodeError::Malformed(message) => {
            Status::invalid_argument(format!("{MALFORMED}: {message}"))
        }
        NodeError::Fatal(fatal) => Status::unavailable(format!("{RAFT_STOPPED}: {fatal}")),
        NodeError::State(source) => Status::internal(format!("{LOCAL_DISK}: {source}")),
    }
}

/// The status for a request from another cluster epoch.
pub(crate) fn stale_cluster_epoch(ours: u64, theirs: u64) -> Status {
    Status::failed_precondition(format!(
        "{}: this node is in cluster epoch {ours}, the request in {theirs}",
        reason::STALE_CLUSTER_EPOCH
    ))
}

/// How a failed call to a peer looks to openraft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The peer cannot be reached or will not serve: back off before trying again.
    Unreachable,
    /// The call ran out of time.
    Timeout,
    /// Anything else on the way: retry soon.
    Network,
}

/// Classifies a failed call.
pub(crate) fn classify(status: &Status) -> Failure {
    let message = status.message();
    match status.code() {
        Code::DeadlineExceeded => Failure::Timeout,
        // tonic cancels a call whose `grpc-timeout` expired with this message.
        Code::Cancelled if message.contains("Timeout expired") => Failure::Timeout,
        Code::Unavailable if is_connect_failure(status) => Failure::Unreachable,
        // The peer is up but will not take part: stopped Raft core, stalled disk, shutting down.
        Code::Unavailable
            if message.starts_with(reason::NOT_SERVING)
                || message.starts_with(reason::RAFT_STOPPED) =>
        {
            Failure::Unreachable
        }
        // Another cluster epoch: talking again soon will not help.
        Code::FailedPrecondition if message.starts_with(reason::STALE_CLUSTER_EPOCH) => {
            Failure::Unreachable
        }
        _ => Failure::Network,
    }
}

/// Whether the call failed because no connection could be made (refused, no route, connect
/// timeout), as opposed to failing on an established connection.
fn is_connect_failure(status: &Status) -> bool {
    // tonic reports a failed connect as UNAVAILABLE with the connector's error text (its
    // `ConnectError` wrapper does not survive into the status).
    let message = status.message().to_ascii_lowercase();
    if [
        "tcp connect error",
        "error trying to connect",
        "connection refused",
        "no route to host",
        "dns error",
    ]
    .iter()
    .any(|needle| message.contains(needle))
    {
        return true;
    }
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.downcast_ref::<tonic::ConnectError>().is_some() {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
            )
        {
            return true;
        }
        source = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::NotServingReason;

    /// Expected outcomes get precise codes; only a local disk failure is INTERNAL.
    #[test]
    fn precise_codes() {
        let cases = [
            (
                NodeError::NotServing {
                    reason: NotServingReason::DiskStalled,
                },
                Code::Unavailable,
            ),
            (NodeError::NoLeader, Code::Unavailable),
            (
                NodeError::EnvelopeTooLarge { bytes: 9, max: 1 },
                Code::InvalidArgument,
            ),
            (
                NodeError::Timeout {
                    operation: "write",
                    waited_ms: 5,
                },
                Code::DeadlineExceeded,
            ),
            (NodeError::NotVoter { node_id: 3 }, Code::FailedPrecondition),
            (NodeError::Malformed("x".into()), Code::InvalidArgument),
            (
                NodeError::Fatal(openraft::errors::Fatal::Stopped),
                Code::Unavailable,
            ),
            (
                NodeError::State(std::io::Error::other("disk")),
                Code::Internal,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(to_status(&error).code(), code, "{error}");
        }
    }

    /// Peers that will not serve are unreachable to openraft; deadlines are timeouts; anything
    /// else is a network error.
    #[test]
    fn classification() {
        let not_serving = to_status(&NodeError::NotServing {
            reason: NotServingReason::DiskStalled,
        });
        assert_eq!(classify(&not_serving), Failure::Unreachable);
        assert_eq!(classify(&stale_cluster_epoch(2, 1)), Failure::Unreachable);
        assert_eq!(
            classify(&Status::unavailable(
                "tcp connect error: Connection refused (os error 111)"
            )),
            Failure::Unreachable
        );
        assert_eq!(
            classify(&Status::deadline_exceeded("late")),
            Failure::Timeout
        );
        assert_eq!(
            classify(&Status::cancelled("Timeout expired")),
            Failure::Timeout
        );
        assert_eq!(
            classify(&Status::unknown("h2 protocol error")),
            Failure::Network
        );
        assert_eq!(
            classify(&Status::invalid_argument("malformed")),
            Failure::Network
        );
    }
}
