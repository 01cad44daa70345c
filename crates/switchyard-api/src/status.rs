//! The one mapping from every error the API meets to a gRPC status (the table is in
//! `docs/ERRORS.md`; keep them together).
//!
//! Every status message starts with a stable snake_case reason — the rule name for a domain
//! refusal (`stale_revision: ...`), `invalid_field` for a malformed request, `unauthenticated`,
//! `permission_denied`, `rate_limited`, `not_serving`, `no_leader`, `outcome_unknown`, ... — so
//! that clients branch on it without parsing prose. The rule is also sent in the metadata key
//! `x-switchyard-rule`. Statuses a retry may cure carry `x-switchyard-retry-after-ms`.
//! `INTERNAL` is kept for the server's own faults: a broken invariant, an unreadable disk.

use std::time::Duration;

use switchyard_domain::{Rejection, RejectionKind};
use switchyard_raft::NodeError;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

/// Metadata key carrying the rule (reason) of a refused request.
pub const RULE_METADATA_KEY: &str = switchyard_proto::WireError::RULE_METADATA_KEY;
/// Metadata key carrying how long to wait before retrying, in milliseconds.
pub const RETRY_AFTER_METADATA_KEY: &str = "x-switchyard-retry-after-ms";
/// Metadata key of an `OUT_OF_RANGE` watch: the oldest revision still available.
pub const OLDEST_REVISION_METADATA_KEY: &str = "x-switchyard-oldest-revision";

/// How long a client should wait before retrying at another node or after an election.
const ELECTION_RETRY_AFTER: Duration = Duration::from_millis(500);

fn with_rule(code: Code, rule: &str, detail: impl std::fmt::Display) -> Status {
    let mut status = Status::new(code, format!("{rule}: {detail}"));
    if let Ok(value) = MetadataValue::try_from(rule) {
        status.metadata_mut().insert(RULE_METADATA_KEY, value);
    }
    status
}

fn retry_after(mut status: Status, after: Duration) -> Status {
    if let Ok(value) = MetadataValue::try_from(after.as_millis().to_string()) {
        status
            .metadata_mut()
            .insert(RETRY_AFTER_METADATA_KEY, value);
    }
    status
}

/// A domain rule refused the command.
pub(crate) fn rejection(rejection: &Rejection) -> Status {
    let code = match rejection.kind() {
        RejectionKind::InvalidArgument => Code::InvalidArgument,
        RejectionKind::NotFound => Code::NotFound,
        RejectionKind::AlreadyExists => Code::AlreadyExists,
        RejectionKind::PermissionDenied => Code::PermissionDenied,
        RejectionKind::FailedPrecondition => Code::FailedPrecondition,
        RejectionKind::Aborted => Code::Aborted,
        RejectionKind::Internal => Code::Internal,
    };
    let mut status = with_rule(code, rejection.rule(), rejection);
    // A field a rule refused is named like a malformed one.
    if let Rejection::InvalidField { field, .. } = rejection
        && let Ok(value) = MetadataValue::try_from(field.as_str())
    {
        status
            .metadata_mut()
            .insert(switchyard_proto::WireError::FIELD_METADATA_KEY, value);
    }
    status
}

/// A state that does not allow the operation, with its rule.
pub(crate) fn failed_precondition(rule: &str, detail: impl std::fmt::Display) -> Status {
    with_rule(Code::FailedPrecondition, rule, detail)
}

/// The request id was used before for something else.
pub(crate) fn already_exists(rule: &str, detail: impl std::fmt::Display) -> Status {
    with_rule(Code::AlreadyExists, rule, detail)
}

/// Metadata key naming the leader's public API address, on a `not_leader` refusal.
pub const LEADER_ADDRESS_METADATA_KEY: &str = "x-switchyard-leader-address";

/// A cluster operation reached a node that does not lead; `leader_address` is the leader's
/// public API address when known.
/// With no leader known the refusal is `UNAVAILABLE` `no_leader` (it passes with the election).
pub(crate) fn not_leader(leader_address: Option<&str>) -> Status {
    let Some(address) = leader_address else {
        return node_error(&NodeError::NoLeader);
    };
    let mut status = with_rule(
        Code::FailedPrecondition,
        "not_leader",
        format!("cluster operations run on the leader; send it to {address}"),
    );
    if let Ok(value) = MetadataValue::try_from(address) {
        status
            .metadata_mut()
            .insert(LEADER_ADDRESS_METADATA_KEY, value);
    }
    status
}

/// The operation did not finish in the time the caller gave it.
pub(crate) fn deadline(detail: impl std::fmt::Display) -> Status {
    with_rule(Code::DeadlineExceeded, "deadline_exceeded", detail)
}

/// A method this release does not serve.
pub(crate) fn unimplemented(what: &str) -> Status {
    with_rule(
        Code::Unimplemented,
        "not_implemented",
        format!("{what} is not served by this release"),
    )
}

/// A request that is wrong whatever the state, with its own rule.
pub(crate) fn invalid_request(rule: &str, detail: impl std::fmt::Display) -> Status {
    with_rule(Code::InvalidArgument, rule, detail)
}

/// The replicated store could not answer.
pub(crate) fn node_error(error: &NodeError) -> Status {
    match error {
        NodeError::NotServing { reason } => retry_after(
            with_rule(
                Code::Unavailable,
                "not_serving",
                format!("this node does not serve ({reason}); retry at another node"),
            ),
            Duration::ZERO,
        ),
        NodeError::NotLeader { .. } | NodeError::NoLeader => retry_after(
            with_rule(
                Code::Unavailable,
                "no_leader",
                "no leader could be reached (an election is under way); retry shortly, with the same request id for a write",
            ),
            ELECTION_RETRY_AFTER,
        ),
        NodeError::Timeout {
            operation,
            waited_ms,
        } => retry_after(
            with_rule(
                Code::Unavailable,
                "outcome_unknown",
                format!(
                    "{operation} got no answer within {waited_ms} ms; a write may or may not have been applied: retry with the same request id to learn its outcome"
                ),
            ),
            ELECTION_RETRY_AFTER,
        ),
        NodeError::EnvelopeTooLarge { .. } => {
            with_rule(Code::InvalidArgument, "request_too_large", error)
        }
        NodeError::Peer { code, message, .. } => match code {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                retry_after(
                    with_rule(
                        Code::Unavailable,
                        "leader_unreachable",
                        format!("the leader did not answer ({message}); retry shortly"),
                    ),
                    ELECTION_RETRY_AFTER,
                )
            }
            _ => with_rule(Code::Internal, "peer_failed", message),
        },
        NodeError::Fatal(_) => retry_after(
            with_rule(
                Code::Unavailable,
                "not_serving",
                format!("{error}; retry at another node"),
            ),
            Duration::ZERO,
        ),
        NodeError::UnknownNode { .. }
        | NodeError::NotVoter { .. }
        | NodeError::NotLearner { .. }
        | NodeError::NodeIdUnusable { .. }
        | NodeError::NotCaughtUp { .. }
        | NodeError::Membership(_) => with_rule(Code::FailedPrecondition, "membership", error),
        NodeError::Malformed(_) => with_rule(Code::Internal, "internal", error),
        NodeError::State(_) => with_rule(Code::Internal, "local_disk", error),
    }
}

/// The local state could not be read.
pub(crate) fn local_disk(error: &std::io::Error) -> Status {
    with_rule(
        Code::Internal,
        "local_disk",
        format!("the local state cannot be read: {error}"),
    )
}

pub(crate) fn unauthenticated(detail: impl std::fmt::Display) -> Status {
    with_rule(Code::Unauthenticated, "unauthenticated", detail)
}

pub(crate) fn permission_denied(detail: impl std::fmt::Display) -> Status {
    with_rule(Code::PermissionDenied, "permission_denied", detail)
}

pub(crate) fn unknown_participant(party: impl std::fmt::Display) -> Status {
    with_rule(
        Code::PermissionDenied,
        "unknown_participant",
        format!("party {party} is not a registered participant"),
    )
}

pub(crate) fn rate_limited(party: impl std::fmt::Display, wait: Duration) -> Status {
    retry_after(
        with_rule(
            Code::ResourceExhausted,
            "rate_limited",
            format!(
                "{party} is over its request rate; retry in {} ms",
                wait.as_millis().max(1)
            ),
        ),
        wait,
    )
}

pub(crate) fn not_found(rule: &str, detail: impl std::fmt::Display) -> Status {
    with_rule(Code::NotFound, rule, detail)
}

pub(crate) fn invalid(field: &str, detail: impl std::fmt::Display) -> Status {
    let mut status = with_rule(
        Code::InvalidArgument,
        "invalid_field",
        format!("{field} is invalid: {detail}"),
    );
    if let Ok(value) = MetadataValue::try_from(field) {
        status
            .metadata_mut()
            .insert(switchyard_proto::WireError::FIELD_METADATA_KEY, value);
    }
    status
}

/// A server bug: an answer of the wrong kind.
pub(crate) fn internal(detail: impl std::fmt::Display) -> Status {
    with_rule(Code::Internal, "internal", detail)
}

/// A watch asked for history that was compacted away.
pub(crate) fn events_compacted(asked: u64, oldest: u64) -> Status {
    let mut status = with_rule(
        Code::OutOfRange,
        "events_compacted",
        format!(
            "revision {asked} is no longer retained; the oldest available revision is {oldest}: re-read the state you need and watch from {oldest}"
        ),
    );
    if let Ok(value) = MetadataValue::try_from(oldest.to_string()) {
        status
            .metadata_mut()
            .insert(OLDEST_REVISION_METADATA_KEY, value);
    }
    status
}

#[cfg(test)]
mod tests {
    use switchyard_domain::{ApplicationNumber, RequestId, SupplyPointNumber};
    use switchyard_raft::NotServingReason;

    use super::*;

    const ERRORS_DOC: &str = include_str!("../../../docs/ERRORS.md");

    /// Each family of rule refusals gets its code, the rule as the message prefix and in the
    /// metadata.
    #[test]
    fn rejections_keep_their_family_and_rule() {
        let number = ApplicationNumber::parse("AP0000000042").unwrap();
        let cases = [
            (
                Rejection::RequestIdReused {
                    request_id: RequestId::parse("r-1").unwrap(),
                },
                Code::AlreadyExists,
            ),
            (
                Rejection::SupplyPointNotFound {
                    supply_point: SupplyPointNumber::parse("0300000000000000000001").unwrap(),
                },
                Code::NotFound,
            ),
            (
                Rejection::StaleRevision {
                    number,
                    given: 1,
                    current: 2,
                },
                Code::Aborted,
            ),
            (
                Rejection::InvariantWouldBreak {
                    invariant: 3,
                    detail: "a bug".into(),
                },
                Code::Internal,
            ),
        ];
        for (rejection, code) in cases {
            let status = super::rejection(&rejection);
            assert_eq!(status.code(), code, "{rejection:?}");
            assert!(
                status
                    .message()
                    .starts_with(&format!("{}: ", rejection.rule()))
            );
            assert_eq!(
                status.metadata().get(RULE_METADATA_KEY).unwrap(),
                rejection.rule()
            );
        }
    }

    /// What a retry may cure says so, and how long to wait: at once elsewhere for a node that
    /// does not serve, after an election otherwise.
    #[test]
    fn retryable_errors_carry_retry_advice() {
        let not_serving = node_error(&NodeError::NotServing {
            reason: NotServingReason::DiskStalled,
        });
        assert_eq!(not_serving.code(), Code::Unavailable);
        assert_eq!(
            not_serving
                .metadata()
                .get(RETRY_AFTER_METADATA_KEY)
                .unwrap(),
            "0"
        );
        let timeout = node_error(&NodeError::Timeout {
            operation: "write",
            waited_ms: 10_000,
        });
        assert_eq!(timeout.code(), Code::Unavailable);
        assert!(timeout.message().starts_with("outcome_unknown: "));
        assert!(timeout.message().contains("same request id"));
        assert_eq!(
            timeout.metadata().get(RETRY_AFTER_METADATA_KEY).unwrap(),
            "500"
        );
        let limited = rate_limited("A1001", Duration::from_millis(40));
        assert_eq!(limited.code(), Code::ResourceExhausted);
        assert_eq!(
            limited.metadata().get(RETRY_AFTER_METADATA_KEY).unwrap(),
            "40"
        );
        let compacted = events_compacted(3, 120);
        assert_eq!(compacted.code(), Code::OutOfRange);
        assert_eq!(
            compacted
                .metadata()
                .get(OLDEST_REVISION_METADATA_KEY)
                .unwrap(),
            "120"
        );
    }

    /// Every reason this module sends is documented in docs/ERRORS.md.
    #[test]
    fn every_reason_is_documented() {
        let statuses = [
            node_error(&NodeError::NoLeader),
            node_error(&NodeError::NotServing {
                reason: NotServingReason::ShuttingDown,
            }),
            node_error(&NodeError::Timeout {
                operation: "write",
                waited_ms: 1,
            }),
            node_error(&NodeError::EnvelopeTooLarge { bytes: 9, max: 1 }),
            node_error(&NodeError::Peer {
                address: "a:1".into(),
                code: Code::Unavailable,
                message: "down".into(),
            }),
            node_error(&NodeError::Peer {
                address: "a:1".into(),
                code: Code::InvalidArgument,
                message: "odd".into(),
            }),
            node_error(&NodeError::NotVoter { node_id: 3 }),
            node_error(&NodeError::Malformed("x".into())),
            node_error(&NodeError::State(std::io::Error::other("disk"))),
            local_disk(&std::io::Error::other("disk")),
            unauthenticated("x"),
            permission_denied("x"),
            unknown_participant("A9999"),
            unimplemented("x"),
            failed_precondition("membership", "x"),
            not_leader(Some("127.0.0.1:7400")),
            deadline("x"),
            invalid_request("too_many_batches", "x"),
            rate_limited("A1001", Duration::from_millis(1)),
            not_found("application_not_found", "x"),
            not_found("snapshot_not_found", "x"),
            node_error(&NodeError::NodeIdUnusable {
                node_id: 3,
                why: "x",
            }),
            invalid("page_token", "x"),
            internal("x"),
            events_compacted(1, 2),
        ];
        for status in statuses {
            let rule = status
                .metadata()
                .get(RULE_METADATA_KEY)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                ERRORS_DOC.contains(&format!("`{rule}`")),
                "reason {rule} is missing from docs/ERRORS.md"
            );
        }
    }
}
