//! Every bound of the Raft transport and the node, named in one place.
//!
//! Wire bounds come from the contract (`switchyard_proto::limits`, the comments in
//! `proto/switchyard/raft/v1/raft.proto`) and from the store; the compile-time checks at the end
//! keep them consistent with each other.

use std::time::Duration;

/// Largest gRPC message either side of the internal Raft service encodes or decodes, in bytes
/// (tonic's default, set explicitly so that a tonic upgrade cannot move it).
pub const RAFT_MESSAGE_BYTES_MAX: usize = switchyard_proto::limits::MESSAGE_BYTES_MAX;

/// Largest serialized payload of one `AppendEntries` message, in bytes. A larger batch from
/// openraft is cut into several messages sent in order.
pub const APPEND_ENTRIES_PAYLOAD_BYTES_MAX: usize =
    switchyard_proto::limits::APPEND_ENTRIES_PAYLOAD_BYTES_MAX;

/// Largest serialized envelope a node accepts for a client write, forwarded or local, in bytes.
/// An entry is its envelope plus a few dozen bytes, so every single entry fits one
/// `AppendEntries` message.
pub const WRITE_ENVELOPE_BYTES_MAX: usize =
    switchyard_proto::limits::FORWARD_WRITE_ENVELOPE_BYTES_MAX;

/// Room reserved in an `AppendEntries` message for everything but the entries (vote, log ids,
/// commit index, JSON punctuation), in bytes.
pub(crate) const APPEND_ENTRIES_FRAME_BYTES: usize = 4 * 1024;

/// Time allowed on top of openraft's soft deadline for an `AppendEntries` that carries entries:
/// the follower syncs them to its disk before it answers, and a disk shared with other work can
/// take tens of milliseconds.
pub(crate) const APPEND_ENTRIES_SYNC_ALLOWANCE: Duration = Duration::from_millis(100);

/// Time allowed per mebibyte of `AppendEntries` payload on top of openraft's soft deadline: a
/// large batch must be encoded, sent, decoded, written and synced on the follower. Without this
/// allowance a batch of large import entries could never meet a heartbeat-sized deadline and
/// would be resent forever.
pub(crate) const APPEND_ENTRIES_TIMEOUT_PER_MEBIBYTE: Duration = Duration::from_millis(500);

/// Client writes and other requests queued for the Raft core (openraft's `api_channel_size`).
/// Beyond it, callers wait: backpressure instead of memory growth.
pub const RAFT_API_QUEUE_MAX: u64 = 4_096;

/// Internal notifications queued for the Raft core (I/O completions, replication progress,
/// ticks; openraft's `notification_channel_size`).
pub const RAFT_NOTIFICATION_QUEUE_MAX: u64 = 65_536;

/// Commands queued for the state machine worker (apply, build or install a snapshot; openraft's
/// `state_machine_channel_size`).
pub const STATE_MACHINE_QUEUE_MAX: u64 = 1_024;

/// Most client writes proposed together, and most entries in one log append: an import entry
/// can be a few hundred KiB, so one append stays within tens of MiB.
pub const PROPOSAL_BATCH_ENTRIES_MAX: u64 = 64;

/// Concurrent calls a peer may run on one connection to the internal server; more wait in the
/// peer's HTTP/2 layer.
pub const RAFT_STREAMS_PER_CONNECTION_MAX: u32 = 256;

/// Largest snapshot chunk, in bytes: the store's chunk size, which the contract also names.
pub const SNAPSHOT_CHUNK_BYTES_MAX: usize = switchyard_store::SNAPSHOT_CHUNK_BYTES_MAX;

/// Largest snapshot a node assembles from a peer, in bytes (8 GiB, as the contract says; the
/// store's own ceiling is higher).
pub const SNAPSHOT_RECEIVE_BYTES_MAX: u64 = 8 * 1024 * 1024 * 1024;

/// How long a receiver waits for the next snapshot chunk before abandoning the transfer, and
/// how long a sender waits for the transport to take one.
pub const SNAPSHOT_CHUNK_TIMEOUT: Duration = Duration::from_secs(30);

/// Snapshot chunks read ahead of the transport by a sender.
pub(crate) const SNAPSHOT_CHUNKS_IN_FLIGHT_MAX: usize = 2;

/// Snapshot transfers a node receives at the same time; another one is refused until the
/// current one ends (the leader retries).
pub(crate) const SNAPSHOT_RECEIVES_CONCURRENT_MAX: usize = 1;

/// Attempts of one client write: the local leader or a forward, then retries after a leader
/// change. The same request id makes every retry safe. Refused attempts back off (from 2 ms,
/// doubling), so the budget covers a leadership change of a few seconds;
/// the write's deadline bounds it as well.
pub const WRITE_ATTEMPTS_MAX: u32 = 64;

/// The longest a refused write waits, after its first refusal, for the node's view of the
/// leadership to change before it tries again; doubled after every refusal in a row, up to
/// [`WRITE_RETRY_PAUSE`]. A planned transfer completes in a few milliseconds on a LAN: short
/// waits catch the new leader soon after it wins, and the doubling keeps a write that keeps
/// being refused (a leader still campaigning) from spinning.
pub(crate) const WRITE_REFUSAL_BACKOFF_MIN: Duration = Duration::from_millis(2);

/// Most leaders a linearizable read barrier asks for a read index before it gives up (each
/// attempt follows the newest leader hint; the whole barrier is also bounded by the write
/// timeout).
pub const READ_INDEX_ATTEMPTS_MAX: u32 = 8;

/// Pause between write attempts when no leader is known or the leader just changed.
pub(crate) const WRITE_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Peers whose channels a node keeps open at once; the voters and learners of any sane cluster
/// fit many times over.
pub(crate) const PEER_CHANNELS_MAX: usize = 64;

/// Longest leader hint address accepted from a peer, in bytes.
pub(crate) const ADDRESS_BYTES_MAX: usize = 256;

const _: () = {
    assert!(SNAPSHOT_CHUNK_BYTES_MAX == switchyard_proto::limits::SNAPSHOT_CHUNK_BYTES_MAX);
    assert!(SNAPSHOT_CHUNK_BYTES_MAX * 2 <= RAFT_MESSAGE_BYTES_MAX);
    assert!(APPEND_ENTRIES_PAYLOAD_BYTES_MAX * 2 <= RAFT_MESSAGE_BYTES_MAX);
    // A single entry carrying the largest envelope still fits one AppendEntries message.
    assert!(WRITE_ENVELOPE_BYTES_MAX + APPEND_ENTRIES_FRAME_BYTES * 2 <= RAFT_MESSAGE_BYTES_MAX);
    assert!(SNAPSHOT_RECEIVE_BYTES_MAX <= switchyard_store::SNAPSHOT_BYTES_MAX);
};
