//! The event stream: every event the caller may see, in (revision, index) order, from a
//! position on, then live.
//!
//! Positions are log positions, identical on every node, so a client that lost its node resumes
//! on any other from the last event it got, with no gap and no duplicate. A position older than
//! the retained history is refused with `OUT_OF_RANGE` naming the oldest available revision.
//!
//! One task per stream reads the node's event tree from its position, filters by audience and
//! sends at most [`WATCH_EVENTS_PER_RESPONSE_MAX`] events per message; when it has caught up it
//! sleeps until the node applies another entry, and sends an empty progress message whenever
//! [`WATCH_EVENTS_PROGRESS_INTERVAL_MS`] passed without a message — also while the node applies
//! entries whose events the caller may not see. The channel to the client holds a few messages:
//! a slow client slows its own task, nobody else.

use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use switchyard_domain::StoredEvent;
use switchyard_proto::convert::WatchEventsQuery;
use switchyard_proto::limits::{WATCH_EVENTS_PER_RESPONSE_MAX, WATCH_EVENTS_PROGRESS_INTERVAL_MS};
use switchyard_proto::v1;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::auth::Caller;
use crate::context::Context;
use crate::status;

/// Messages buffered per stream before the task waits for the client.
const STREAM_BUFFER: usize = 4;
/// Events read from the store per pass.
const READ_BATCH: usize = 1024;

/// A position in the event history: the next event to deliver is the first at or after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    revision: u64,
    index: u32,
}

/// Starts a stream for `caller` from `query`.
pub(crate) fn watch(
    context: Arc<Context>,
    caller: Caller,
    query: WatchEventsQuery,
) -> Result<impl Stream<Item = Result<v1::WatchEventsResponse, Status>> + Send + 'static, Status> {
    let start = match query {
        WatchEventsQuery::Live => Position {
            revision: context.node.applied_index() + 1,
            index: 0,
        },
        WatchEventsQuery::From {
            revision,
            index_in_revision,
        } => Position {
            revision,
            index: index_in_revision,
        },
    };
    // Refuse a compacted start at once, as a status of the call itself.
    let available_from = context
        .node
        .store()
        .state_machine
        .events_available_from()
        .map_err(|error| status::local_disk(&error))?;
    if start.revision < available_from {
        return Err(status::events_compacted(start.revision, available_from));
    }
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    tracing::debug!(party = %caller.party, revision = start.revision, index = start.index, "event stream opened");
    tokio::spawn(async move {
        if let Err(status) = run(&context, &caller, start, &sender).await {
            sender.send(Err(status)).await.ok();
        }
        tracing::debug!(party = %caller.party, "event stream closed");
    });
    Ok(ReceiverStream::new(receiver))
}

type Sender = mpsc::Sender<Result<v1::WatchEventsResponse, Status>>;

/// Feeds one stream until the client goes away (Ok) or the stream must end with a status.
async fn run(
    context: &Context,
    caller: &Caller,
    mut position: Position,
    sender: &Sender,
) -> Result<(), Status> {
    let progress_interval = Duration::from_millis(WATCH_EVENTS_PROGRESS_INTERVAL_MS);
    let state_machine = &context.node.store().state_machine;
    // A first message at once tells the client where its stream starts (a live stream starts at
    // the node's applied revision, which the client could not know otherwise).
    let opening = v1::WatchEventsResponse {
        events: Vec::new(),
        applied_revision: position.revision.saturating_sub(1),
    };
    if sender.send(Ok(opening)).await.is_err() {
        return Ok(());
    }
    // When the last message went out. Entries the caller may not see keep a busy node applying
    // without ever giving this stream an event, so the progress message is due by this clock,
    // not by the node falling idle.
    let mut last_sent = tokio::time::Instant::now();
    loop {
        if let Some(reason) = context.node.not_serving_reason() {
            return Err(status::node_error(
                &switchyard_raft::NodeError::NotServing { reason },
            ));
        }
        let available_from = state_machine
            .events_available_from()
            .map_err(|error| status::local_disk(&error))?;
        if position.revision < available_from {
            return Err(status::events_compacted(position.revision, available_from));
        }
        let applied = context.node.applied_index();
        let events = state_machine
            .events_from(position.revision, READ_BATCH)
            .map_err(|error| status::local_disk(&error))?;
        let read_all = events.len() < READ_BATCH;
        let mut visible = Vec::new();
        let mut last_event_revision = 0;
        for event in events {
            let at = Position {
                revision: event.revision,
                index: event.index,
            };
            if at < position {
                continue;
            }
            position = Position {
                revision: event.revision,
                index: event.index + 1,
            };
            last_event_revision = event.revision;
            if visible_to(caller, &event) {
                visible.push(v1::Event::from(event));
            }
        }
        // Every visible event through this revision has been delivered once these are sent: all
        // of them when the read reached the end (an entry's events are written together), or
        // those before the last revision read when a batch cut the read short.
        let last_revision = if read_all {
            applied.max(last_event_revision)
        } else {
            last_event_revision.saturating_sub(1)
        };
        let chunks: Vec<&[v1::Event]> = visible.chunks(WATCH_EVENTS_PER_RESPONSE_MAX).collect();
        for (number, chunk) in chunks.iter().enumerate() {
            // A chunk followed by another has delivered everything only up to the revision
            // before the next chunk's first event (an entry's events may span two chunks): a
            // client resuming after it must not skip the rest.
            let delivered_through = match chunks.get(number + 1) {
                Some(next) => next[0].revision.saturating_sub(1).min(last_revision),
                None => last_revision,
            };
            let message = v1::WatchEventsResponse {
                events: chunk.to_vec(),
                applied_revision: delivered_through,
            };
            if sender.send(Ok(message)).await.is_err() {
                return Ok(());
            }
            last_sent = tokio::time::Instant::now();
        }
        if !read_all {
            continue;
        }
        // Caught up: sleep until another entry is applied or a progress message is due, and
        // send one when it is (also while entries the caller may not see keep arriving).
        let due_in = progress_interval.saturating_sub(last_sent.elapsed());
        let newer = tokio::select! {
            newer = context.node.wait_applied_beyond(last_revision, due_in) => newer,
            () = sender.closed() => return Ok(()),
        };
        if newer <= last_revision || last_sent.elapsed() >= progress_interval {
            let progress = v1::WatchEventsResponse {
                events: Vec::new(),
                applied_revision: last_revision,
            };
            if sender.send(Ok(progress)).await.is_err() {
                return Ok(());
            }
            last_sent = tokio::time::Instant::now();
        }
    }
}

/// Whether `caller` may see `event`: operators see everything, others their audience.
fn visible_to(caller: &Caller, event: &StoredEvent) -> bool {
    caller.is_operator() || event.event.audience.includes(&caller.party)
}
