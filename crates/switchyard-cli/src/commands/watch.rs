//! `watch`: the caller's event stream, resumed across node failures with no gap and no
//! duplicate.
//!
//! Events carry positions (revision, index within the revision) that are the same on every
//! node. The command remembers the position after the last event it printed; when the stream
//! drops (UNAVAILABLE, a reset connection, a clean end because the node stops serving, or
//! nothing at all for three progress intervals) it moves to the next endpoint and asks for the
//! events from that position on. Events before the position (a server resending) are dropped, so
//! nothing prints twice. An empty progress message says every event up to its
//! `applied_revision` has been delivered, which moves the position past that revision, so even a
//! quiet stream resumes where it stood.
//!
//! OUT_OF_RANGE (`events_compacted`) ends the command: the history asked for is gone, and only
//! the user can decide how to re-read the state; the error names the oldest revision available.
//!
//! Reconnecting is bounded: after [`RECONNECTS_IN_A_ROW_MAX`] attempts in a row without
//! receiving anything, the command fails with the last error (exit 5 when it was UNAVAILABLE).

use std::time::Duration;

use switchyard_proto::limits::WATCH_EVENTS_PROGRESS_INTERVAL_MS;
use switchyard_proto::v1;
use tonic::{Code, Status};

use super::Context;
use crate::args::WatchArgs;
use crate::error::{CliError, code_name};
use crate::output::{human, json};

/// A stream quiet for this long counts as dropped: the server sends a progress message at least
/// every 10 seconds.
const IDLE_TIMEOUT: Duration = Duration::from_millis(3 * WATCH_EVENTS_PROGRESS_INTERVAL_MS);
/// Most reconnection attempts in a row that receive nothing before the command gives up.
const RECONNECTS_IN_A_ROW_MAX: u32 = 20;
/// First wait between failed reconnection attempts; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(200);
/// Longest wait between reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Where the stream continues: the first (revision, index) not yet delivered. Revision 0 means
/// "live": from whatever the node has applied when the stream opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    revision: u64,
    index: u32,
}

impl Position {
    pub(crate) fn new(revision: u64, index: u32) -> Position {
        Position { revision, index }
    }

    /// The request that resumes at this position.
    pub(crate) fn request(self) -> v1::WatchEventsRequest {
        v1::WatchEventsRequest {
            start_revision: self.revision,
            start_index_in_revision: self.index,
        }
    }

    /// Whether `event` is new, that is not before the position; a new event moves the position
    /// just past it.
    pub(crate) fn accept(&mut self, event: &v1::Event) -> bool {
        let live = self.revision == 0;
        if !live && (event.revision, event.index_in_revision) < (self.revision, self.index) {
            return false;
        }
        *self = match event.index_in_revision.checked_add(1) {
            Some(index) => Position::new(event.revision, index),
            None => Position::new(event.revision.saturating_add(1), 0),
        };
        true
    }

    /// A progress message: every event up to `applied_revision` has been delivered.
    pub(crate) fn progress(&mut self, applied_revision: u64) {
        if applied_revision > 0 && applied_revision >= self.revision {
            *self = Position::new(applied_revision.saturating_add(1), 0);
        }
    }

    fn describe(self) -> String {
        if self.revision == 0 {
            "with live events".to_owned()
        } else {
            format!("at revision {} index {}", self.revision, self.index)
        }
    }
}

/// Whether a stream error means the connection or the node went away (reconnect elsewhere)
/// rather than a refusal (stop). A node killed mid-stream shows as an h2 or transport error.
pub(crate) fn stream_dropped(status: &Status) -> bool {
    match status.code() {
        Code::Unavailable | Code::Unknown => true,
        Code::Internal | Code::Cancelled => {
            let message = status.message();
            message.starts_with("h2 protocol error") || message.starts_with("transport error")
        }
        _ => false,
    }
}

/// The wait before the `attempt`-th reconnection in a row (the first is immediate).
pub(crate) fn backoff(attempt: u32) -> Duration {
    if attempt <= 1 {
        return Duration::ZERO;
    }
    let factor = 1_u32 << (attempt - 2).min(16);
    BACKOFF_FIRST.saturating_mul(factor).min(BACKOFF_MAX)
}

pub(crate) async fn run(context: &mut Context<'_>, args: WatchArgs) -> Result<(), CliError> {
    let mut position = Position::new(args.from_revision, args.from_index);
    let mut printed: u64 = 0;
    let mut attempts_in_a_row: u32 = 0;
    if !context.printer.is_json() {
        context.printer.text(&human::event_header())?;
    }
    loop {
        let request = position.request();
        let opened = context
            .call(|link| async move {
                link.without_deadline()
                    .participant()
                    .watch_events(request)
                    .await
            })
            .await;
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(CliError::Status(status)) if stream_dropped(&status) => {
                attempts_in_a_row += 1;
                if attempts_in_a_row >= RECONNECTS_IN_A_ROW_MAX {
                    return Err(CliError::Status(status));
                }
                let wait = backoff(attempts_in_a_row + 1);
                context.note(&format!(
                    "no endpoint serves the event stream ({}); retrying in {} ms",
                    status.message(),
                    wait.as_millis()
                ));
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(error) => return Err(error),
        };

        let reason = loop {
            let message = match tokio::time::timeout(IDLE_TIMEOUT, stream.message()).await {
                Err(_) => {
                    break format!("nothing received for {} s", IDLE_TIMEOUT.as_secs());
                }
                Ok(Ok(Some(message))) => message,
                Ok(Ok(None)) => break "the stream ended".to_owned(),
                Ok(Err(status)) if stream_dropped(&status) => {
                    break format!("{}: {}", code_name(status.code()), status.message());
                }
                Ok(Err(status)) => return Err(status.into()),
            };
            attempts_in_a_row = 0;
            for event in &message.events {
                if !position.accept(event) {
                    continue;
                }
                if print_event(context, event)? {
                    printed += 1;
                    if args.max_events == Some(printed) {
                        return Ok(());
                    }
                }
            }
            if message.events.is_empty() {
                position.progress(message.applied_revision);
            }
        };

        attempts_in_a_row += 1;
        if attempts_in_a_row >= RECONNECTS_IN_A_ROW_MAX {
            return Err(Status::unavailable(format!(
                "the event stream dropped {RECONNECTS_IN_A_ROW_MAX} times in a row without \
                 delivering anything; last: {reason}"
            ))
            .into());
        }
        let dropped_from = context.session.current_url().to_owned();
        context.session.advance();
        let wait = backoff(attempts_in_a_row);
        context.note(&format!(
            "event stream from {dropped_from} dropped ({reason}); resuming {} on {}",
            position.describe(),
            context.session.current_url()
        ));
        tokio::time::sleep(wait).await;
    }
}

/// Prints one event; `false` for a kind this build does not know (skipped, position kept).
fn print_event(context: &mut Context<'_>, event: &v1::Event) -> Result<bool, CliError> {
    if context.printer.is_json() {
        let Some(value) = json::event(event) else {
            return Ok(false);
        };
        context.printer.json_line(&value)?;
    } else {
        let Some(line) = human::event_line(event) else {
            return Ok(false);
        };
        context.printer.text(&line)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(revision: u64, index: u32) -> v1::Event {
        v1::Event {
            revision,
            index_in_revision: index,
            audience: None,
            kind: Some(v1::event::Kind::PolicyChanged(v1::PolicyChangedEvent {})),
        }
    }

    /// After the event (r, i) the stream resumes at (r, i + 1): the request names exactly that.
    #[test]
    fn resumes_after_the_last_event() {
        let mut position = Position::new(0, 0);
        assert_eq!(
            position.request(),
            v1::WatchEventsRequest {
                start_revision: 0,
                start_index_in_revision: 0
            }
        );
        assert!(position.accept(&event(120, 0)));
        assert!(position.accept(&event(120, 1)));
        assert_eq!(
            position.request(),
            v1::WatchEventsRequest {
                start_revision: 120,
                start_index_in_revision: 2
            }
        );
    }

    /// Events before the position (a new node resending what was delivered) are dropped: no
    /// duplicate. Events at or after it are taken, also across revisions.
    #[test]
    fn no_duplicates() {
        let mut position = Position::new(120, 2);
        assert!(!position.accept(&event(119, 5)));
        assert!(!position.accept(&event(120, 1)));
        assert!(position.accept(&event(120, 2)));
        assert!(!position.accept(&event(120, 2)));
        assert!(position.accept(&event(125, 0)));
        assert_eq!(position, Position::new(125, 1));
    }

    /// A progress message moves the position past the applied revision, so a quiet stream
    /// resumes there and not live (which could skip events); it never moves backwards.
    #[test]
    fn progress_moves_forward_only() {
        let mut position = Position::new(0, 0);
        position.progress(500);
        assert_eq!(position, Position::new(501, 0));
        position.progress(400);
        assert_eq!(position, Position::new(501, 0));
        assert!(position.accept(&event(510, 3)));
        position.progress(510);
        assert_eq!(position, Position::new(511, 0));
        position.progress(0);
        assert_eq!(position, Position::new(511, 0));
    }

    /// The largest index moves to the next revision instead of overflowing.
    #[test]
    fn index_overflow() {
        let mut position = Position::new(7, 0);
        assert!(position.accept(&event(7, u32::MAX)));
        assert_eq!(position, Position::new(8, 0));
    }

    /// Transport failures and UNAVAILABLE reconnect; refusals (OUT_OF_RANGE, PERMISSION_DENIED)
    /// and a server's own INTERNAL do not.
    #[test]
    fn which_errors_reconnect() {
        assert!(stream_dropped(&Status::unavailable("node stopping")));
        assert!(stream_dropped(&Status::unknown("connection reset")));
        assert!(stream_dropped(&Status::internal(
            "h2 protocol error: error reading a body from connection"
        )));
        assert!(!stream_dropped(&Status::internal(
            "invariant_would_break: bug"
        )));
        assert!(!stream_dropped(&Status::out_of_range(
            "events_compacted: oldest 5000"
        )));
        assert!(!stream_dropped(&Status::permission_denied("not_permitted")));
    }

    /// Reconnection waits start at zero, double from 200 ms and stop growing at 5 s.
    #[test]
    fn backoff_is_bounded() {
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(3), Duration::from_millis(400));
        assert_eq!(backoff(7), Duration::from_millis(5_000));
        assert_eq!(backoff(u32::MAX), Duration::from_millis(5_000));
    }
}
