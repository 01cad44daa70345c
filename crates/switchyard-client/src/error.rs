//! The one error of every call: the gRPC code, the server's message, and what Switchyard's
//! metadata adds (the rule, the field, the oldest revision of a compacted history), plus how
//! many attempts were made on which endpoints.

use std::fmt;
use std::time::Duration;

use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

/// Metadata key of the rule (reason) of a refusal.
pub const RULE_METADATA_KEY: &str = "x-switchyard-rule";
/// Metadata key naming the malformed field of an `INVALID_ARGUMENT`.
pub const FIELD_METADATA_KEY: &str = "x-switchyard-field";
/// Metadata key of the advised wait before a retry, in milliseconds.
pub const RETRY_AFTER_METADATA_KEY: &str = "x-switchyard-retry-after-ms";
/// Metadata key of the oldest revision still available, on a compacted watch.
pub const OLDEST_REVISION_METADATA_KEY: &str = "x-switchyard-oldest-revision";
/// Metadata key of the leader's public `host:port`.
pub const LEADER_ADDRESS_METADATA_KEY: &str = "x-switchyard-leader-address";
/// Metadata key marking a write answered from its first answer.
pub const REPLAYED_METADATA_KEY: &str = "x-switchyard-replayed";

/// The rule of a compacted event history.
const EVENTS_COMPACTED_RULE: &str = "events_compacted";

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The cluster gave a final answer: a business rule, a malformed field, missing rights, an
    /// unknown record. Retrying the same request fails again; [`Error::rule`] says why.
    Refused,
    /// Every attempt the retry budget allowed failed with errors a retry may cure (nodes down,
    /// no leader, timeouts, rate limits); the code and message are the last attempt's.
    RetriesExhausted,
    /// An event stream asked for history older than the cluster keeps (`OUT_OF_RANGE`,
    /// `events_compacted`): re-read the state needed, then watch from `oldest_revision`.
    HistoryCompacted {
        /// The oldest revision still available.
        oldest_revision: u64,
    },
}

/// A failed call.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    failure: Failure,
    attempts: u32,
    endpoints: Vec<String>,
    elapsed: Duration,
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        failure: Failure,
        attempts: u32,
        endpoints: Vec<String>,
        elapsed: Duration,
    ) -> Error {
        Error {
            kind,
            failure,
            attempts,
            endpoints,
            elapsed,
        }
    }

    /// The final error of a call that ended with `failure`: compacted history, or a refusal.
    pub(crate) fn finished(
        failure: Failure,
        attempts: u32,
        endpoints: Vec<String>,
        elapsed: Duration,
    ) -> Error {
        let kind = match failure.oldest_revision {
            Some(oldest_revision)
                if failure.code == Code::OutOfRange
                    && failure.rule.as_deref() == Some(EVENTS_COMPACTED_RULE) =>
            {
                ErrorKind::HistoryCompacted { oldest_revision }
            }
            _ => ErrorKind::Refused,
        };
        Error::new(kind, failure, attempts, endpoints, elapsed)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The gRPC status code (of the last attempt).
    pub fn code(&self) -> Code {
        self.failure.code
    }

    /// The server's message, starting with the rule (`stale_revision: ...`), or the transport's
    /// own description.
    pub fn message(&self) -> &str {
        &self.failure.message
    }

    /// The rule (reason) from `x-switchyard-rule`: `lead_time_not_met`, `invalid_field`,
    /// `no_leader`, ... Absent for errors the transport made.
    pub fn rule(&self) -> Option<&str> {
        self.failure.rule.as_deref()
    }

    /// The dotted path of the malformed field, from `x-switchyard-field`
    /// (`customer.holder_name`).
    pub fn field(&self) -> Option<&str> {
        self.failure.field.as_deref()
    }

    /// The oldest revision still available, on a compacted event stream.
    pub fn oldest_revision(&self) -> Option<u64> {
        self.failure.oldest_revision
    }

    /// The wait the server advised before a retry, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.failure.retry_after
    }

    /// The leader's public `host:port`, when the answer named it.
    pub fn leader_address(&self) -> Option<&str> {
        self.failure.leader_address.as_deref()
    }

    /// How many attempts the call made.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The endpoints tried, in the order first tried; the last attempt's endpoint is
    /// [`Error::endpoint`].
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The endpoint of the last attempt.
    pub fn endpoint(&self) -> &str {
        &self.failure.endpoint
    }

    /// How long the call ran, waits included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = code_name(self.failure.code);
        match &self.kind {
            ErrorKind::Refused => write!(
                formatter,
                "{code} from {}: {}",
                self.failure.endpoint, self.failure.message
            ),
            ErrorKind::RetriesExhausted => write!(
                formatter,
                "gave up after {} attempt{} in {} ms on {}; last: {code} from {}: {}",
                self.attempts,
                if self.attempts == 1 { "" } else { "s" },
                self.elapsed.as_millis(),
                self.endpoints.join(", "),
                self.failure.endpoint,
                self.failure.message
            ),
            ErrorKind::HistoryCompacted { oldest_revision } => write!(
                formatter,
                "the event history before revision {oldest_revision} was compacted ({code} from {}: {})",
                self.failure.endpoint, self.failure.message
            ),
        }
    }
}

impl std::error::Error for Error {}

/// One failed attempt, as read from its status and metadata.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) code: Code,
    pub(crate) message: String,
    pub(crate) endpoint: String,
    pub(crate) rule: Option<String>,
    pub(crate) field: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) oldest_revision: Option<u64>,
    pub(crate) leader_address: Option<String>,
}

impl Failure {
    pub(crate) fn from_status(status: &Status, endpoint: &str) -> Failure {
        let metadata = status.metadata();
        let mut message = status.message().to_owned();
        // The transport's own errors keep their reason in the source chain.
        if message.is_empty() || metadata_text(metadata, RULE_METADATA_KEY).is_none() {
            let mut source = std::error::Error::source(status);
            while let Some(cause) = source {
                let text = cause.to_string();
                if !message.contains(&text) {
                    if !message.is_empty() {
                        message.push_str(": ");
                    }
                    message.push_str(&text);
                }
                source = cause.source();
            }
        }
        Failure {
            code: status.code(),
            message,
            endpoint: endpoint.to_owned(),
            rule: metadata_text(metadata, RULE_METADATA_KEY),
            field: metadata_text(metadata, FIELD_METADATA_KEY),
            retry_after: metadata_text(metadata, RETRY_AFTER_METADATA_KEY)
                .and_then(|text| text.parse().ok())
                .map(Duration::from_millis),
            oldest_revision: metadata_text(metadata, OLDEST_REVISION_METADATA_KEY)
                .and_then(|text| text.parse().ok()),
            leader_address: metadata_text(metadata, LEADER_ADDRESS_METADATA_KEY),
        }
    }

    /// The attempt got no answer within its time.
    pub(crate) fn timeout(endpoint: &str, waited: Duration) -> Failure {
        Failure::local(
            Code::DeadlineExceeded,
            endpoint,
            format!("no answer within {} ms", waited.as_millis()),
        )
    }

    /// A failure noticed by the client itself.
    pub(crate) fn local(code: Code, endpoint: &str, message: String) -> Failure {
        Failure {
            code,
            message,
            endpoint: endpoint.to_owned(),
            rule: None,
            field: None,
            retry_after: None,
            oldest_revision: None,
            leader_address: None,
        }
    }
}

/// A metadata value as text, if present and readable.
pub(crate) fn metadata_text(metadata: &MetadataMap, key: &str) -> Option<String> {
    metadata
        .get(key)
        .and_then(|value| value.to_str().ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// The canonical name of a gRPC code, as the documentation writes it.
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
    use tonic::metadata::MetadataValue;

    use super::*;

    fn status(code: Code, message: &str, metadata: &[(&'static str, &'static str)]) -> Status {
        let mut status = Status::new(code, message);
        for (key, value) in metadata {
            status
                .metadata_mut()
                .insert(*key, MetadataValue::from_static(value));
        }
        status
    }

    /// The rule, field, advised wait and leader come from the metadata; a refusal displays its
    /// code, endpoint and message.
    #[test]
    fn a_refusal_carries_its_metadata() {
        let failure = Failure::from_status(
            &status(
                Code::InvalidArgument,
                "invalid_field: customer.holder_name is invalid: empty",
                &[
                    (RULE_METADATA_KEY, "invalid_field"),
                    (FIELD_METADATA_KEY, "customer.holder_name"),
                    (RETRY_AFTER_METADATA_KEY, "250"),
                    (LEADER_ADDRESS_METADATA_KEY, "127.0.0.1:7402"),
                ],
            ),
            "http://127.0.0.1:7400",
        );
        let error = Error::finished(
            failure,
            1,
            vec!["http://127.0.0.1:7400".into()],
            Duration::ZERO,
        );
        assert_eq!(error.kind(), &ErrorKind::Refused);
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(error.rule(), Some("invalid_field"));
        assert_eq!(error.field(), Some("customer.holder_name"));
        assert_eq!(error.retry_after(), Some(Duration::from_millis(250)));
        assert_eq!(error.leader_address(), Some("127.0.0.1:7402"));
        assert_eq!(
            error.to_string(),
            "INVALID_ARGUMENT from http://127.0.0.1:7400: invalid_field: customer.holder_name is invalid: empty"
        );
    }

    /// OUT_OF_RANGE `events_compacted` with the oldest revision is its own kind.
    #[test]
    fn a_compacted_history_is_distinct() {
        let failure = Failure::from_status(
            &status(
                Code::OutOfRange,
                "events_compacted: revision 1 is older than 41",
                &[
                    (RULE_METADATA_KEY, "events_compacted"),
                    (OLDEST_REVISION_METADATA_KEY, "41"),
                ],
            ),
            "http://a:1",
        );
        let error = Error::finished(failure, 1, vec!["http://a:1".into()], Duration::ZERO);
        assert_eq!(
            error.kind(),
            &ErrorKind::HistoryCompacted {
                oldest_revision: 41
            }
        );
        assert_eq!(error.oldest_revision(), Some(41));
        assert!(error.to_string().contains("before revision 41"));
    }

    /// An exhausted budget says how many attempts on which endpoints, and the last status.
    #[test]
    fn exhaustion_names_attempts_and_endpoints() {
        let failure = Failure::from_status(
            &status(
                Code::Unavailable,
                "no_leader: no leader could be reached",
                &[(RULE_METADATA_KEY, "no_leader")],
            ),
            "http://b:2",
        );
        let error = Error::new(
            ErrorKind::RetriesExhausted,
            failure,
            3,
            vec!["http://a:1".into(), "http://b:2".into()],
            Duration::from_millis(1500),
        );
        assert_eq!(
            error.to_string(),
            "gave up after 3 attempts in 1500 ms on http://a:1, http://b:2; last: UNAVAILABLE from http://b:2: no_leader: no leader could be reached"
        );
    }
}
