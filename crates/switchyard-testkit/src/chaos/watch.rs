//! Event streams: every stream delivers each event it may see exactly once, in order, across
//! resumptions on any node.
//!
//! Without a reference log the checker sees only what the client received: duplicates, order,
//! events before the asked position, and resumptions that start past what the previous
//! connection covered. With a replica's event log as reference it also finds gaps: an event
//! visible to the stream's party, inside the range a connection covered, that never arrived.

use std::collections::BTreeMap;

use switchyard_domain::StoredEvent;

use super::history::{EventPosition, History, WatchConnection, WatchStream};
use super::report::{Checker, Report, seconds};

/// How many missing positions a gap violation lists.
const LISTED_POSITIONS_MAX: usize = 8;

/// Checks every stream of `history`; `reference` is a replica's event log after the run (in
/// log order), or `None` when no replica state was collected.
pub fn check_watch_streams(history: &History, reference: Option<&[StoredEvent]>) -> Report {
    let mut report = Report::default();
    let mut delivered_total = 0usize;
    for (stream_index, stream) in history.watch_streams.iter().enumerate() {
        delivered_total += stream
            .connections
            .iter()
            .map(|connection| connection.delivered.len())
            .sum::<usize>();
        check_stream(stream_index, stream, reference, &mut report);
    }
    report.notes.push(format!(
        "watch: {} stream(s), {delivered_total} event(s) delivered, {}",
        history.watch_streams.len(),
        if reference.is_some() {
            "gaps checked against a replica's event log"
        } else {
            "no reference log: gaps inside a connection not checked"
        }
    ));
    report
}

fn stream_name(stream_index: usize, stream: &WatchStream) -> String {
    format!(
        "stream {stream_index} of client {} ({})",
        stream.client, stream.party
    )
}

fn connection_name(index: usize, connection: &WatchConnection) -> String {
    format!(
        "connection {index} (to {}, [{}..{}], from {})",
        connection.node,
        seconds(connection.opened_at_ns),
        seconds(connection.closed_at_ns),
        connection.start
    )
}

/// The first position a connection had not yet covered when it closed.
fn covered_until(connection: &WatchConnection) -> EventPosition {
    let mut end = connection.start;
    if let Some(last) = connection.delivered.iter().max() {
        end = end.max(EventPosition {
            revision: last.revision,
            index: last.index + 1,
        });
    }
    if connection.covered_through_revision > 0 {
        end = end.max(EventPosition::after_revision(
            connection.covered_through_revision,
        ));
    }
    end
}

fn check_stream(
    stream_index: usize,
    stream: &WatchStream,
    reference: Option<&[StoredEvent]>,
    report: &mut Report,
) {
    let name = stream_name(stream_index, stream);
    let visible: Option<Vec<EventPosition>> = reference.map(|events| {
        events
            .iter()
            .filter(|stored| stored.event.audience.includes(&stream.party))
            .map(|stored| EventPosition {
                revision: stored.revision,
                index: stored.index,
            })
            .collect()
    });
    let reference_from = reference
        .and_then(|events| events.first())
        .map(|stored| EventPosition {
            revision: stored.revision,
            index: stored.index,
        });
    let reference_until = reference
        .and_then(|events| events.last())
        .map(|stored| EventPosition {
            revision: stored.revision,
            index: stored.index + 1,
        });

    let mut first_delivery: BTreeMap<EventPosition, usize> = BTreeMap::new();
    for (connection_index, connection) in stream.connections.iter().enumerate() {
        let connection_text = connection_name(connection_index, connection);
        let mut previous: Option<EventPosition> = None;
        for position in &connection.delivered {
            if *position < connection.start {
                report.violation(
                    Checker::WatchStream,
                    None,
                    format!(
                        "{name}: {connection_text} delivered {position}, before the position it asked for"
                    ),
                    Vec::new(),
                );
            }
            if let Some(previous) = previous
                && *position <= previous
            {
                report.violation(
                    Checker::WatchStream,
                    None,
                    format!(
                        "{name}: {connection_text} delivered {position} after {previous}: out of order"
                    ),
                    Vec::new(),
                );
            }
            previous = Some(*position);
            if let Some(earlier) = first_delivery.get(position) {
                let earlier_connection = &stream.connections[*earlier];
                let cause = if connection_index != *earlier && connection.start <= *position {
                    format!(
                        "the client resumed at {}, at or before an event it already had",
                        connection.start
                    )
                } else {
                    "the server sent it again".to_owned()
                };
                report.violation(
                    Checker::WatchStream,
                    None,
                    format!(
                        "{name}: duplicate event {position}: first on {}, again on {connection_text} ({cause})",
                        connection_name(*earlier, earlier_connection)
                    ),
                    Vec::new(),
                );
            } else {
                first_delivery.insert(*position, connection_index);
            }
            if let (Some(visible), Some(from), Some(until)) =
                (&visible, reference_from, reference_until)
                && *position >= from
                && *position < until
                && visible.binary_search(position).is_err()
            {
                report.violation(
                    Checker::WatchStream,
                    None,
                    format!(
                        "{name}: {connection_text} delivered {position}, which is not an event {} may see in the replicas' log",
                        stream.party
                    ),
                    Vec::new(),
                );
            }
        }

        // Gaps inside what this connection covered.
        if let (Some(visible), Some(from)) = (&visible, reference_from) {
            let end = covered_until(connection);
            let missing: Vec<EventPosition> = visible
                .iter()
                .copied()
                .filter(|position| {
                    *position >= connection.start.max(from)
                        && *position < end
                        && !connection.delivered.contains(position)
                })
                .collect();
            if !missing.is_empty() {
                report.violation(
                    Checker::WatchStream,
                    None,
                    format!(
                        "{name}: gap: {connection_text} covered up to {end} but never delivered {}",
                        list_positions(&missing)
                    ),
                    Vec::new(),
                );
            }
        }

        // Gaps between this connection and the next.
        if let Some(next) = stream.connections.get(connection_index + 1) {
            let end = covered_until(connection);
            if next.start > end {
                let skipped: Option<Vec<EventPosition>> = visible.as_ref().map(|visible| {
                    visible
                        .iter()
                        .copied()
                        .filter(|position| {
                            *position >= end
                                && *position < next.start
                                && reference_from.is_some_and(|from| *position >= from)
                        })
                        .collect()
                });
                let explanation = match skipped {
                    Some(skipped) if skipped.is_empty() => None,
                    Some(skipped) => Some(format!("it skipped {}", list_positions(&skipped))),
                    None => Some("events in between, if any, were never delivered".to_owned()),
                };
                if let Some(explanation) = explanation {
                    report.violation(
                        Checker::WatchStream,
                        None,
                        format!(
                            "{name}: gap across a resumption: {} resumed at {}, but {connection_text} had covered only up to {end}; {explanation}",
                            connection_name(connection_index + 1, next),
                            next.start
                        ),
                        Vec::new(),
                    );
                }
            }
        }
    }
}

fn list_positions(positions: &[EventPosition]) -> String {
    let mut listed: Vec<String> = positions
        .iter()
        .take(LISTED_POSITIONS_MAX)
        .map(ToString::to_string)
        .collect();
    if positions.len() > LISTED_POSITIONS_MAX {
        listed.push(format!(
            "and {} more",
            positions.len() - LISTED_POSITIONS_MAX
        ));
    }
    listed.join(", ")
}
