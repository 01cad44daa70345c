//! Errors and exit codes: the one mapping from a gRPC status (or a local mistake) to what the
//! user reads on stderr and the code the process exits with.
//!
//! | exit | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | any other failure: OUT_OF_RANGE (events compacted), INTERNAL, UNIMPLEMENTED, output errors |
//! | 2 | bad arguments (refused locally), or INVALID_ARGUMENT from the server |
//! | 3 | a business rule refused: FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS, NOT_FOUND |
//! | 4 | not allowed: PERMISSION_DENIED, UNAUTHENTICATED |
//! | 5 | no node could answer: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED |
//! | 6 | `status`: the cluster answered but is degraded (a voter not healthy, no leader, or no agreement on it) |

use std::fmt::Write as _;
use std::io;
use std::process::ExitCode;

use tonic::{Code, Status};

/// Metadata key naming the offending field of an INVALID_ARGUMENT status.
pub(crate) const FIELD_METADATA_KEY: &str = "x-switchyard-field";
/// Metadata key holding the oldest revision still retained, on OUT_OF_RANGE from `WatchEvents`.
pub(crate) const OLDEST_REVISION_METADATA_KEY: &str = "x-switchyard-oldest-revision";
/// Metadata key holding the leader's public address, on UNAVAILABLE from a follower.
pub(crate) const LEADER_METADATA_KEY: &str = "x-switchyard-leader";
/// Metadata key holding the leader's public `host:port`, on a cluster operation a follower
/// refused with FAILED_PRECONDITION `not_leader`.
pub(crate) const LEADER_ADDRESS_METADATA_KEY: &str = "x-switchyard-leader-address";

/// How the process ends. The numbers are the exit codes the long help documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// 0: the command did what it was asked.
    Success = 0,
    /// 1: anything not covered below.
    Failure = 1,
    /// 2: bad arguments, refused locally or with INVALID_ARGUMENT.
    BadArguments = 2,
    /// 3: a business rule refused (FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS, NOT_FOUND).
    Refused = 3,
    /// 4: PERMISSION_DENIED or UNAUTHENTICATED.
    NotAllowed = 4,
    /// 5: UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED: retry later (a write with the
    /// same request id).
    Unavailable = 5,
    /// 6: `status` found the cluster degraded: a voter is not healthy (or did not answer), no
    /// leader is known, or the answering nodes disagree on the leader.
    Degraded = 6,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit for a gRPC status code.
    pub fn for_status_code(code: Code) -> Exit {
        match code {
            Code::Ok => Exit::Success,
            Code::InvalidArgument => Exit::BadArguments,
            Code::FailedPrecondition | Code::Aborted | Code::AlreadyExists | Code::NotFound => {
                Exit::Refused
            }
            Code::PermissionDenied | Code::Unauthenticated => Exit::NotAllowed,
            Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
                Exit::Unavailable
            }
            Code::Cancelled
            | Code::Unknown
            | Code::OutOfRange
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss => Exit::Failure,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments are wrong in a way the parser alone could not see (options that do not fit
    /// together, unreadable files, a request the contract would refuse).
    #[error("{0}")]
    Usage(String),
    /// The server (or the transport) answered with an error status.
    #[error("{}: {}", code_name(.0.code()), message_with_causes(.0))]
    Status(Box<Status>),
    /// Something else went wrong on this side.
    #[error("{0}")]
    Failed(String),
    /// The results could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] io::Error),
    /// `status` printed the cluster, and it is degraded, for these reasons.
    #[error("degraded: {0}")]
    Degraded(String),
}

impl From<Status> for CliError {
    fn from(status: Status) -> CliError {
        CliError::Status(Box::new(status))
    }
}

impl CliError {
    /// The exit code the error ends the process with.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) => Exit::BadArguments,
            CliError::Status(status) => Exit::for_status_code(status.code()),
            CliError::Failed(_) | CliError::Output(_) => Exit::Failure,
            CliError::Degraded(_) => Exit::Degraded,
        }
    }

    /// What stderr shows: `error: <CODE>: <message>` for a status, followed by the field path,
    /// the oldest retained revision and the leader's address when the status carries them; for
    /// a degraded cluster (which is an answer, not a failure of swctl), `degraded: <reasons>`.
    pub fn describe(&self) -> String {
        if let CliError::Degraded(_) = self {
            return format!("{self}\n");
        }
        let mut text = format!("error: {self}\n");
        if let CliError::Status(status) = self {
            let metadata = status.metadata();
            let value = |key: &str| {
                metadata
                    .get(key)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            if let Some(field) = value(FIELD_METADATA_KEY) {
                let _ = writeln!(text, "  field: {field}");
            }
            if let Some(oldest) = value(OLDEST_REVISION_METADATA_KEY) {
                let _ = writeln!(
                    text,
                    "  oldest available revision: {oldest} (re-read the state you need, then \
                     watch --from-revision {oldest})"
                );
            }
            if let Some(leader) =
                value(LEADER_METADATA_KEY).or_else(|| value(LEADER_ADDRESS_METADATA_KEY))
            {
                let _ = writeln!(text, "  leader: {leader}");
            }
        }
        text
    }
}

/// A status's message, followed by the causes of a transport failure (which tonic keeps as the
/// status's source, e.g. a TLS alert behind "transport error").
fn message_with_causes(status: &Status) -> String {
    let mut text = status.message().to_owned();
    append_causes(&mut text, std::error::Error::source(status));
    text
}

/// Appends `: cause` for `source` and every error behind it, skipping causes the text already
/// says (transport errors often repeat their cause in their own message).
pub(crate) fn append_causes(
    text: &mut String,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) {
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
}

/// The canonical name of a gRPC status code, as the gRPC specification spells it.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use tonic::metadata::MetadataMap;

    use super::*;

    /// Every gRPC code maps to the exit code the long help documents.
    #[test]
    fn status_codes_map_to_documented_exit_codes() {
        let expected = [
            (Code::Ok, 0),
            (Code::Cancelled, 1),
            (Code::Unknown, 1),
            (Code::InvalidArgument, 2),
            (Code::DeadlineExceeded, 5),
            (Code::NotFound, 3),
            (Code::AlreadyExists, 3),
            (Code::PermissionDenied, 4),
            (Code::ResourceExhausted, 5),
            (Code::FailedPrecondition, 3),
            (Code::Aborted, 3),
            (Code::OutOfRange, 1),
            (Code::Unimplemented, 1),
            (Code::Internal, 1),
            (Code::Unavailable, 5),
            (Code::DataLoss, 1),
            (Code::Unauthenticated, 4),
        ];
        for (code, exit) in expected {
            assert_eq!(Exit::for_status_code(code).code(), exit, "{code:?}");
            assert_eq!(
                CliError::from(Status::new(code, "x")).exit().code(),
                exit,
                "{code:?}"
            );
        }
    }

    /// Local mistakes exit 2, failures on this side exit 1.
    #[test]
    fn local_errors_exit_codes() {
        assert_eq!(CliError::Usage("x".to_owned()).exit(), Exit::BadArguments);
        assert_eq!(CliError::Failed("x".to_owned()).exit(), Exit::Failure);
        assert_eq!(
            CliError::Output(io::Error::other("closed")).exit(),
            Exit::Failure
        );
        let degraded = CliError::Degraded("node 3 unreachable".to_owned());
        assert_eq!(degraded.exit().code(), 6);
        assert_eq!(degraded.describe(), "degraded: node 3 unreachable\n");
    }

    /// A refused write prints the code name and the rule's message; an INVALID_ARGUMENT prints
    /// the field path from the metadata.
    #[test]
    fn status_descriptions() {
        let refused = CliError::from(Status::failed_precondition(
            "lead_time_not_met: effective date 2026-12-01 is too soon",
        ));
        assert_eq!(
            refused.describe(),
            "error: FAILED_PRECONDITION: lead_time_not_met: effective date 2026-12-01 is too soon\n"
        );

        let mut metadata = MetadataMap::new();
        metadata.insert(FIELD_METADATA_KEY, "customer.holder_name".parse().unwrap());
        let invalid = CliError::from(Status::with_metadata(
            Code::InvalidArgument,
            "invalid_field: customer.holder_name is missing",
            metadata,
        ));
        assert_eq!(
            invalid.describe(),
            "error: INVALID_ARGUMENT: invalid_field: customer.holder_name is missing\n  field: \
             customer.holder_name\n"
        );
    }

    /// OUT_OF_RANGE from the event stream prints the oldest available revision; UNAVAILABLE
    /// prints the leader hint.
    #[test]
    fn compacted_and_leader_descriptions() {
        let mut metadata = MetadataMap::new();
        metadata.insert(OLDEST_REVISION_METADATA_KEY, "5000".parse().unwrap());
        let compacted = CliError::from(Status::with_metadata(
            Code::OutOfRange,
            "events_compacted: the oldest available revision is 5000",
            metadata,
        ));
        let text = compacted.describe();
        assert!(
            text.starts_with("error: OUT_OF_RANGE: events_compacted: "),
            "{text}"
        );
        assert!(text.contains("  oldest available revision: 5000"), "{text}");
        assert_eq!(compacted.exit(), Exit::Failure);

        let mut metadata = MetadataMap::new();
        metadata.insert(LEADER_METADATA_KEY, "osaka-1:7400".parse().unwrap());
        let unavailable = CliError::from(Status::with_metadata(
            Code::Unavailable,
            "no leader",
            metadata,
        ));
        assert!(unavailable.describe().contains("  leader: osaka-1:7400"));
    }

    /// Every code has its canonical upper-case name.
    #[test]
    fn code_names() {
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::FailedPrecondition), "FAILED_PRECONDITION");
        assert_eq!(code_name(Code::Unauthenticated), "UNAUTHENTICATED");
    }
}
