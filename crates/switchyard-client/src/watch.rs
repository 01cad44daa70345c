//! [`Watch`]: the caller's event stream, resumed at another endpoint whenever it breaks.
//!
//! Event positions — (revision, index in revision) — are log positions, identical on every node,
//! so the watch remembers the position after the last event it received and opens the next
//! stream there: nothing is skipped and nothing is delivered twice (events before the position
//! are dropped should a node send them). A stream counts as broken when it ends, fails with an
//! error a retry may cure, or stays silent longer than the idle timeout (nodes send progress at
//! least every 10 seconds). A compacted history is [`ErrorKind::HistoryCompacted`] with the
//! oldest revision still available, and ends the watch.
//!
//! [`ErrorKind::HistoryCompacted`]: crate::ErrorKind::HistoryCompacted

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use futures::stream::BoxStream;
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use tonic::Code;
use tonic::codec::Streaming;

use crate::call::CallSpec;
use crate::client::Client;
use crate::error::{Error, ErrorKind, Failure};
use crate::retry::{Verdict, classify};

/// A position in the event history: the next event to deliver is the first at or after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    revision: u64,
    index: u32,
}

/// One open stream.
struct Open {
    messages: Streaming<v1::WatchEventsResponse>,
    /// The endpoint serving it.
    target: usize,
    opened: Instant,
    /// Messages received on it so far.
    received: u64,
}

/// A resuming event stream; see the [module documentation](self). Read it with
/// [`Watch::next`], or turn it into a [`futures::Stream`] with [`Watch::into_stream`].
pub struct Watch {
    client: Client,
    /// The next position to deliver; `None` for a live watch until its first stream said where
    /// it starts.
    next: Option<Position>,
    buffer: VecDeque<v1::Event>,
    open: Option<Open>,
    applied_revision: u64,
    /// Streams that broke in a row without delivering anything past their opening message.
    breaks_without_progress: u32,
    resumes: u32,
    finished: bool,
}

impl fmt::Debug for Watch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Watch")
            .field("next", &self.next)
            .field("buffered", &self.buffer.len())
            .field("endpoint", &self.endpoint())
            .field("applied_revision", &self.applied_revision)
            .field("resumes", &self.resumes)
            .field("finished", &self.finished)
            .finish()
    }
}

impl Watch {
    pub(crate) fn new(client: Client, request: v1::WatchEventsRequest) -> Watch {
        Watch {
            client,
            next: (request.start_revision > 0).then_some(Position {
                revision: request.start_revision,
                index: request.start_index_in_revision,
            }),
            buffer: VecDeque::new(),
            open: None,
            applied_revision: 0,
            breaks_without_progress: 0,
            resumes: 0,
            finished: false,
        }
    }

    /// The position the watch would resume from, as `(start_revision, start_index_in_revision)`
    /// of a `WatchEventsRequest`: just after the last event received. `None` for a live watch
    /// that has not reached the cluster yet.
    pub fn position(&self) -> Option<(u64, u32)> {
        self.next
            .map(|position| (position.revision, position.index))
    }

    /// The highest revision a node reported as applied on this watch's streams.
    pub fn applied_revision(&self) -> u64 {
        self.applied_revision
    }

    /// The endpoint of the stream open now, if one is.
    pub fn endpoint(&self) -> Option<&str> {
        self.open
            .as_ref()
            .map(|open| self.client.inner().pool.targets[open.target].url.as_str())
    }

    /// How many times the watch resumed after a broken stream.
    pub fn resumes(&self) -> u32 {
        self.resumes
    }

    /// The next event, waiting for it as long as it takes; `None` after the watch ended with an
    /// error. Errors: [`ErrorKind::HistoryCompacted`], a final refusal (credentials, rights), or
    /// [`ErrorKind::RetriesExhausted`] when no endpoint could serve the stream within the retry
    /// budget.
    pub async fn next(&mut self) -> Option<Result<v1::Event, Error>> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Some(Ok(event));
            }
            if self.finished {
                return None;
            }
            if self.open.is_none()
                && let Err(error) = self.reopen().await
            {
                self.finished = true;
                return Some(Err(error));
            }
            if let Err(error) = self.receive().await {
                self.finished = true;
                return Some(Err(error));
            }
        }
    }

    /// The watch as a stream of events; it ends after its first error.
    pub fn into_stream(self) -> BoxStream<'static, Result<v1::Event, Error>> {
        Box::pin(futures::stream::unfold(self, |mut watch| async move {
            watch.next().await.map(|item| (item, watch))
        }))
    }

    /// Opens a stream at the current position, with failover and retries.
    async fn reopen(&mut self) -> Result<(), Error> {
        let request = match self.next {
            Some(position) => v1::WatchEventsRequest {
                start_revision: position.revision,
                start_index_in_revision: position.index,
            },
            None => v1::WatchEventsRequest::default(),
        };
        let (revision, index) = (request.start_revision, request.start_index_in_revision);
        let spec = CallSpec {
            method: "WatchEvents",
            write: false,
            streaming: true,
            request_id: None,
        };
        let answer = self
            .client
            .inner()
            .call(spec, request, |channel, request| async move {
                ParticipantServiceClient::new(channel)
                    .watch_events(request)
                    .await
            })
            .await?;
        tracing::debug!(
            endpoint = %self.client.inner().pool.targets[answer.target].url,
            revision,
            index,
            "event stream opened"
        );
        self.open = Some(Open {
            messages: answer.message,
            target: answer.target,
            opened: Instant::now(),
            received: 0,
        });
        Ok(())
    }

    /// Receives one message of the open stream, or notes that it broke.
    async fn receive(&mut self) -> Result<(), Error> {
        let idle_timeout = self.client.inner().watch_idle_timeout;
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        let url = self.client.inner().pool.targets[open.target].url.clone();
        let failure = match tokio::time::timeout(idle_timeout, open.messages.message()).await {
            Ok(Ok(Some(message))) => {
                open.received += 1;
                if open.received > 1 || !message.events.is_empty() {
                    self.breaks_without_progress = 0;
                }
                self.accept(message);
                return Ok(());
            }
            Ok(Ok(None)) => {
                Failure::local(Code::Unavailable, &url, "the event stream ended".to_owned())
            }
            Ok(Err(status)) => Failure::from_status(&status, &url),
            Err(_) => Failure::local(
                Code::DeadlineExceeded,
                &url,
                format!(
                    "the event stream was silent for {} ms",
                    idle_timeout.as_millis()
                ),
            ),
        };
        let opened = open.opened;
        let target = open.target;
        self.open = None;
        if classify(&failure) == Verdict::Final {
            return Err(Error::finished(failure, 1, vec![url], opened.elapsed()));
        }
        self.client.inner().pool.failed(target);
        self.breaks_without_progress += 1;
        let breaks_max = self.client.inner().budget().attempts_max;
        if self.breaks_without_progress > breaks_max {
            return Err(Error::new(
                ErrorKind::RetriesExhausted,
                failure,
                self.breaks_without_progress,
                vec![url],
                opened.elapsed(),
            ));
        }
        self.resumes += 1;
        tracing::info!(
            endpoint = %url,
            error = %failure.message,
            position = ?self.next,
            "event stream broke; resuming at another endpoint"
        );
        Ok(())
    }

    /// Takes in one message: new events into the buffer, duplicates dropped, the position
    /// advanced.
    fn accept(&mut self, message: v1::WatchEventsResponse) {
        self.applied_revision = self.applied_revision.max(message.applied_revision);
        if message.events.is_empty() {
            // A progress message: every visible event through applied_revision was delivered
            // on this stream. (Only empty messages are trusted for this: the events of one read
            // split over several messages all carry the read's final revision.)
            let caught_up = Position {
                revision: message.applied_revision + 1,
                index: 0,
            };
            if self.next.is_none_or(|next| caught_up > next) {
                self.next = Some(caught_up);
            }
            return;
        }
        for event in message.events {
            let at = Position {
                revision: event.revision,
                index: event.index_in_revision,
            };
            if self.next.is_some_and(|next| at < next) {
                tracing::debug!(
                    revision = at.revision,
                    index = at.index,
                    "duplicate event dropped"
                );
                continue;
            }
            self.next = Some(Position {
                revision: at.revision,
                index: at.index + 1,
            });
            self.buffer.push_back(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientConfig;

    fn event(revision: u64, index_in_revision: u32) -> v1::Event {
        v1::Event {
            revision,
            index_in_revision,
            ..v1::Event::default()
        }
    }

    fn positions(watch: &Watch) -> Vec<(u64, u32)> {
        watch
            .buffer
            .iter()
            .map(|event| (event.revision, event.index_in_revision))
            .collect()
    }

    /// Events before the position are dropped, the position follows the last event, and only
    /// empty progress messages move it past what was received.
    #[tokio::test]
    async fn positions_advance_without_duplicates() {
        let client = Client::connect(ClientConfig::new(["http://127.0.0.1:1"]))
            .await
            .unwrap();
        let mut watch = client.watch(v1::WatchEventsRequest {
            start_revision: 5,
            start_index_in_revision: 1,
        });
        assert_eq!(watch.position(), Some((5, 1)));
        // The opening message of a stream from 5 reports 4: no move.
        watch.accept(v1::WatchEventsResponse {
            events: vec![],
            applied_revision: 4,
        });
        assert_eq!(watch.position(), Some((5, 1)));
        watch.accept(v1::WatchEventsResponse {
            events: vec![event(5, 0), event(5, 1), event(7, 0)],
            applied_revision: 20,
        });
        assert_eq!(positions(&watch), [(5, 1), (7, 0)]);
        assert_eq!(watch.position(), Some((7, 1)), "events carry no progress");
        // A resumed stream that repeats an event does not deliver it twice.
        watch.accept(v1::WatchEventsResponse {
            events: vec![event(7, 0), event(9, 0)],
            applied_revision: 20,
        });
        assert_eq!(positions(&watch), [(5, 1), (7, 0), (9, 0)]);
        watch.accept(v1::WatchEventsResponse {
            events: vec![],
            applied_revision: 20,
        });
        assert_eq!(watch.position(), Some((21, 0)));
        assert_eq!(watch.applied_revision(), 20);

        // A live watch starts where its first stream says.
        let mut live = client.watch(v1::WatchEventsRequest::default());
        assert_eq!(live.position(), None);
        live.accept(v1::WatchEventsResponse {
            events: vec![],
            applied_revision: 41,
        });
        assert_eq!(live.position(), Some((42, 0)));
    }
}
