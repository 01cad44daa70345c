//! AppendEntries on the wire: one message when the batch fits the contract's payload bound, or
//! several messages in log order when it does not.
//!
//! openraft bounds a batch by its number of entries (`append-entries-max`), not its bytes, and an
//! import entry can carry a thousand supply points. A batch over
//! [`APPEND_ENTRIES_PAYLOAD_BYTES_MAX`] is cut into parts, each an ordinary AppendEntries whose
//! previous log id is the last entry of the part before. Each part's commit index is the
//! leader's, capped at the part's last entry: an entry below a committed one is committed too,
//! so the follower never learns of a commit beyond what it holds. The answers combine as if
//! one message had been sent: a refusal of the first part is the answer; a failure after some
//! parts were accepted reports those as a partial success, so that openraft resumes after them
//! instead of resending them.

use std::time::Duration;

use openraft::entry::RaftEntry;
use openraft::network::RPCOption;
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
use switchyard_proto::raft::v1 as wire;

use super::{PeerClient, RpcError, term_and_node};
use crate::TypeConfig;
use crate::codec::{decode, encode, encoded_len};
use crate::limits::{
    APPEND_ENTRIES_FRAME_BYTES, APPEND_ENTRIES_PAYLOAD_BYTES_MAX, APPEND_ENTRIES_SYNC_ALLOWANCE,
    APPEND_ENTRIES_TIMEOUT_PER_MEBIBYTE,
};

type Request = AppendEntriesRequest<TypeConfig>;
type Response = AppendEntriesResponse<TypeConfig>;

const MEBIBYTE: usize = 1024 * 1024;

/// Sends `request`, cut into several messages if it is too large for one.
pub(super) async fn append_entries(
    peer: &PeerClient,
    request: Request,
    option: RPCOption,
) -> Result<Response, RpcError> {
    let encoded =
        encode(&request, "append entries request").map_err(|error| peer.malformed(error))?;
    if encoded.len() <= APPEND_ENTRIES_PAYLOAD_BYTES_MAX || request.entries.len() <= 1 {
        return send(peer, &request, encoded, &option).await;
    }
    let part_lengths = cut(&request).map_err(|error| peer.malformed(error))?;
    let parts = part_lengths.len();
    tracing::debug!(
        node_id = peer.local_id,
        target = peer.target,
        entries = request.entries.len(),
        bytes = encoded.len(),
        parts,
        "append entries batch cut to the payload bound"
    );
    drop(encoded);

    let AppendEntriesRequest {
        vote,
        prev_log_id,
        entries,
        leader_commit,
    } = request;
    let mut rest = entries;
    let mut previous = prev_log_id;
    // The last entry the target has acknowledged in this call.
    let mut acknowledged = None;
    for (number, length) in part_lengths.into_iter().enumerate() {
        let tail = rest.split_off(length);
        let part_entries = std::mem::replace(&mut rest, tail);
        let part_last = part_entries.last().map(|entry| entry.log_id());
        let part = AppendEntriesRequest {
            vote,
            prev_log_id: previous,
            entries: part_entries,
            leader_commit: std::cmp::min(leader_commit, part_last),
        };
        let encoded =
            encode(&part, "append entries request").map_err(|error| peer.malformed(error))?;
        let answer = send(peer, &part, encoded, &option).await;
        match answer {
            Ok(AppendEntriesResponse::Success) => {
                acknowledged = part_last;
                previous = part_last;
            }
            Ok(AppendEntriesResponse::Conflict) if number > 0 => {
                return Ok(AppendEntriesResponse::PartialSuccess(acknowledged));
            }
            Ok(other) => return Ok(other),
            Err(error) if number > 0 => {
                tracing::debug!(
                    node_id = peer.local_id,
                    target = peer.target,
                    part = number,
                    parts,
                    error = %error,
                    "a later part of an append failed; reporting the parts accepted"
                );
                return Ok(AppendEntriesResponse::PartialSuccess(acknowledged));
            }
            Err(error) => return Err(error),
        }
    }
    Ok(AppendEntriesResponse::Success)
}

/// The number of entries in each part, so that every part's entries fit the payload bound (a
/// single entry larger than the bound travels alone; the write path keeps every entry under the
/// message limit).
fn cut(request: &Request) -> Result<Vec<usize>, crate::error::NodeError> {
    let budget = APPEND_ENTRIES_PAYLOAD_BYTES_MAX - APPEND_ENTRIES_FRAME_BYTES;
    let mut lengths = Vec::new();
    let mut count = 0;
    let mut bytes = 0;
    for entry in &request.entries {
        // One more for the comma between entries.
        let size = encoded_len(entry)? + 1;
        if count > 0 && bytes + size > budget {
            lengths.push(count);
            count = 0;
            bytes = 0;
        }
        count += 1;
        bytes += size;
    }
    if count > 0 {
        lengths.push(count);
    }
    Ok(lengths)
}

/// The deadline of one message: openraft's soft limit, plus, when it carries entries, time for
/// the follower's disk sync and for the payload to be carried and written.
fn deadline(option: &RPCOption, entries: usize, bytes: usize) -> Duration {
    if entries == 0 {
        return option.soft_ttl();
    }
    let payload = APPEND_ENTRIES_TIMEOUT_PER_MEBIBYTE.mul_f64(bytes as f64 / MEBIBYTE as f64);
    option.soft_ttl() + APPEND_ENTRIES_SYNC_ALLOWANCE + payload
}

async fn send(
    peer: &PeerClient,
    request: &Request,
    encoded: Vec<u8>,
    option: &RPCOption,
) -> Result<Response, RpcError> {
    let deadline = deadline(option, request.entries.len(), encoded.len());
    let (term, leader) = term_and_node(&request.vote);
    let message = wire::AppendEntriesRequest {
        cluster_epoch: peer.cluster_epoch,
        term,
        leader_node_id: leader,
        entry_count: u32::try_from(request.entries.len()).unwrap_or(u32::MAX),
        request_bytes: encoded.into(),
    };
    let answer = peer
        .unary(
            openraft::RPCTypes::AppendEntries,
            deadline,
            message,
            |mut client, request| async move { client.append_entries(request).await },
        )
        .await?;
    decode(&answer.response_bytes, "append entries response").map_err(|error| peer.malformed(error))
}

#[cfg(test)]
mod tests {
    use openraft::Vote;
    use openraft::entry::RaftEntry;
    use switchyard_domain::generator::{GeneratorConfig, SampleData};
    use switchyard_domain::{Date, OperatorId, Timestamp, VersionedEnvelope};

    use super::*;
    use crate::StoreRequest;

    /// A batch of import entries (several MiB) is cut into parts that each fit the payload
    /// bound, in log order, covering every entry once.
    #[test]
    fn large_batches_are_cut_to_the_payload_bound() {
        let data = SampleData::generate(&GeneratorConfig {
            seed: 5,
            supply_points: 80_000,
            retailers: 5,
            as_of: Date::from_ymd(2026, 11, 1).unwrap(),
        });
        let entries: Vec<openraft::alias::EntryOf<TypeConfig>> = data
            .commands(&OperatorId::parse("seed").unwrap())
            .into_iter()
            .enumerate()
            .map(|(index, envelope)| {
                openraft::Entry::new_normal(
                    openraft::LogId::new(
                        openraft::vote::leader_id_adv::LeaderId {
                            term: 1,
                            node_id: 1,
                        },
                        index as u64 + 1,
                    ),
                    StoreRequest {
                        envelope: VersionedEnvelope::from(envelope),
                        timestamp: Timestamp(0),
                    },
                )
            })
            .collect();
        let request = AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            entries,
            leader_commit: None,
        };
        let whole = encode(&request, "request").unwrap().len();
        assert!(
            whole > 2 * APPEND_ENTRIES_PAYLOAD_BYTES_MAX,
            "{whole} bytes"
        );
        let lengths = cut(&request).unwrap();
        assert!(lengths.len() >= 3, "{lengths:?}");
        assert_eq!(lengths.iter().sum::<usize>(), request.entries.len());
        let mut start = 0;
        for length in lengths {
            let part = &request.entries[start..start + length];
            let bytes = encode(part, "part").unwrap().len();
            assert!(
                bytes <= APPEND_ENTRIES_PAYLOAD_BYTES_MAX - APPEND_ENTRIES_FRAME_BYTES,
                "{bytes}"
            );
            assert_eq!(part[0].index(), start as u64 + 1);
            start += length;
        }
    }

    /// A heartbeat gets openraft's soft deadline; a payload gets time for a disk sync and half
    /// a second more per MiB.
    #[test]
    fn deadlines_grow_with_the_payload() {
        let option = RPCOption::new(Duration::from_millis(100));
        assert_eq!(deadline(&option, 0, 10), Duration::from_millis(75));
        assert_eq!(deadline(&option, 3, 0), Duration::from_millis(175));
        assert_eq!(
            deadline(&option, 3, 2 * MEBIBYTE),
            Duration::from_millis(1175)
        );
    }
}
