//! Sending a snapshot: the file streamed in chunks over the client-streaming InstallSnapshot RPC.
//!
//! The first message carries the leader's vote and the snapshot's metadata; every message
//! carries at most [`SNAPSHOT_CHUNK_BYTES_MAX`] bytes at a contiguous offset; the last says
//! `done`. The file is opened once, so a newer snapshot replacing it on disk mid-transfer does
//! not cut the transfer short. Chunks are read on a blocking thread, at most
//! [`SNAPSHOT_CHUNKS_IN_FLIGHT_MAX`] ahead of the transport, and each must be taken by the
//! transport within [`SNAPSHOT_CHUNK_TIMEOUT`]; after the last one, the receiver has openraft's
//! `install_snapshot_timeout` (the RPC option's hard limit) to install it and answer. openraft's
//! cancel signal aborts the transfer at any point.

use std::fs::File;
use std::future::Future;
use std::io::{self, Read};

use openraft::error::{NetworkError, ReplicationClosed, StreamingError, Timeout, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::SnapshotResponse;
use openraft::{ErrorSubject, ErrorVerb, RPCTypes, StorageError};
use switchyard_proto::raft::v1 as wire;
use switchyard_store::SnapshotFile;
use tokio::sync::mpsc;

use super::{PeerClient, term_and_node};
use crate::TypeConfig;
use crate::codec::{decode, encode};
use crate::limits::{
    SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_CHUNK_TIMEOUT, SNAPSHOT_CHUNKS_IN_FLIGHT_MAX,
};
use crate::status::{Failure, classify};

type Error = StreamingError<TypeConfig>;

/// Why producing chunks stopped early.
enum Stop {
    /// The RPC ended (its receiver is gone): its answer says why.
    CallEnded,
    Failed(Error),
}

pub(super) async fn send_snapshot(
    peer: &PeerClient,
    vote: openraft::alias::VoteOf<TypeConfig>,
    snapshot: openraft::alias::SnapshotOf<TypeConfig, SnapshotFile>,
    cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
    option: RPCOption,
) -> Result<SnapshotResponse<TypeConfig>, Error> {
    let client = peer.client().map_err(Error::from)?;
    let (term, leader) = term_and_node(&vote);
    let vote_bytes = encode(&vote, "vote").map_err(|error| network(peer, error))?;
    let meta_bytes =
        encode(&snapshot.meta, "snapshot meta").map_err(|error| network(peer, error))?;
    let bytes = snapshot.snapshot.bytes;
    tracing::info!(
        node_id = peer.local_id,
        target = peer.target,
        term,
        last_log_id = ?snapshot.meta.last_log_id,
        bytes,
        "sending a snapshot"
    );

    let (sender, receiver) = mpsc::channel(SNAPSHOT_CHUNKS_IN_FLIGHT_MAX);
    let outbound = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|message| (message, receiver))
    });
    let call = async move {
        let mut client = client;
        client.install_snapshot(tonic::Request::new(outbound)).await
    };
    let header = wire::InstallSnapshotRequest {
        cluster_epoch: peer.cluster_epoch,
        term,
        leader_node_id: leader,
        vote_bytes: vote_bytes.into(),
        snapshot_meta_bytes: meta_bytes.into(),
        ..Default::default()
    };
    let produce = produce_chunks(peer, snapshot.snapshot, header, sender);

    let transfer = async {
        tokio::pin!(call);
        tokio::pin!(produce);
        let produced = tokio::select! {
            answer = &mut call => return answer_of(peer, answer, &option),
            produced = &mut produce => produced,
        };
        match produced {
            Ok(()) | Err(Stop::CallEnded) => {}
            Err(Stop::Failed(error)) => return Err(error),
        }
        // Every chunk is with the transport: the receiver installs, then answers.
        match tokio::time::timeout(option.hard_ttl(), call).await {
            Ok(answer) => answer_of(peer, answer, &option),
            Err(_elapsed) => Err(timeout(peer, &option)),
        }
    };
    tokio::select! {
        closed = cancel => {
            tracing::info!(node_id = peer.local_id, target = peer.target, "snapshot transfer cancelled");
            Err(Error::Closed(closed))
        }
        result = transfer => {
            if let Err(error) = &result {
                tracing::warn!(node_id = peer.local_id, target = peer.target, error = %error, "snapshot transfer failed");
            }
            result
        }
    }
}

/// Reads the file chunk by chunk and hands each chunk to the transport.
async fn produce_chunks(
    peer: &PeerClient,
    snapshot: SnapshotFile,
    header: wire::InstallSnapshotRequest,
    sender: mpsc::Sender<wire::InstallSnapshotRequest>,
) -> Result<(), Stop> {
    let path = snapshot.path.clone();
    let opened = tokio::task::spawn_blocking(move || File::open(path))
        .await
        .map_err(|error| Stop::Failed(network(peer, error)))?;
    let mut file = opened.map_err(|error| Stop::Failed(read_error(peer, error)))?;
    let (cluster_epoch, term, leader_node_id) =
        (header.cluster_epoch, header.term, header.leader_node_id);
    let mut offset = 0u64;
    let mut first = Some(header);
    loop {
        let (returned, chunk) = tokio::task::spawn_blocking(move || {
            let chunk = read_chunk(&mut file);
            (file, chunk)
        })
        .await
        .map_err(|error| Stop::Failed(network(peer, error)))?;
        file = returned;
        let chunk = chunk.map_err(|error| Stop::Failed(read_error(peer, error)))?;
        let end = offset + chunk.len() as u64;
        if chunk.is_empty() && end < snapshot.bytes {
            return Err(Stop::Failed(read_error(
                peer,
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("snapshot file ends at {end}, expected {}", snapshot.bytes),
                ),
            )));
        }
        let done = end >= snapshot.bytes;
        // Every chunk repeats the sender's epoch, term and id, as the contract asks.
        let mut message = first
            .take()
            .unwrap_or_else(|| wire::InstallSnapshotRequest {
                cluster_epoch,
                term,
                leader_node_id,
                ..Default::default()
            });
        message.offset = offset;
        message.data = chunk.into();
        message.done = done;
        match tokio::time::timeout(SNAPSHOT_CHUNK_TIMEOUT, sender.send(message)).await {
            Err(_elapsed) => {
                return Err(Stop::Failed(Error::Timeout(Timeout {
                    action: RPCTypes::InstallSnapshot,
                    id: peer.local_id,
                    target: peer.target,
                    timeout: SNAPSHOT_CHUNK_TIMEOUT,
                })));
            }
            Ok(Err(_closed)) => return Err(Stop::CallEnded),
            Ok(Ok(())) => {}
        }
        offset = end;
        if done {
            return Ok(());
        }
    }
}

/// Reads up to one chunk; fewer bytes only at the end of the file.
fn read_chunk(file: &mut File) -> io::Result<Vec<u8>> {
    let mut chunk = vec![0; SNAPSHOT_CHUNK_BYTES_MAX];
    let mut filled = 0;
    while filled < chunk.len() {
        let read = file.read(&mut chunk[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    chunk.truncate(filled);
    Ok(chunk)
}

fn answer_of(
    peer: &PeerClient,
    answer: Result<tonic::Response<wire::InstallSnapshotResponse>, tonic::Status>,
    option: &RPCOption,
) -> Result<SnapshotResponse<TypeConfig>, Error> {
    match answer {
        Ok(response) => decode(&response.into_inner().response_bytes, "snapshot response")
            .map_err(|error| network(peer, error)),
        Err(status) => Err(match classify(&status) {
            Failure::Timeout => timeout(peer, option),
            Failure::Unreachable => Error::Unreachable(Unreachable::from_string(format!(
                "node {} at {}: {}",
                peer.target,
                peer.address,
                status.message()
            ))),
            Failure::Network => network(
                peer,
                format_args!("{:?}: {}", status.code(), status.message()),
            ),
        }),
    }
}

fn timeout(peer: &PeerClient, option: &RPCOption) -> Error {
    Error::Timeout(Timeout {
        action: RPCTypes::InstallSnapshot,
        id: peer.local_id,
        target: peer.target,
        timeout: option.hard_ttl(),
    })
}

fn network(peer: &PeerClient, error: impl std::fmt::Display) -> Error {
    Error::Network(NetworkError::from_string(format!(
        "snapshot to node {} at {}: {error}",
        peer.target, peer.address
    )))
}

/// A failure reading our own snapshot file. A file that vanished was replaced by a newer
/// snapshot: openraft retries with that one. Anything else is the disk failing.
fn read_error(peer: &PeerClient, error: io::Error) -> Error {
    if error.kind() == io::ErrorKind::NotFound {
        return network(peer, format_args!("snapshot file replaced: {error}"));
    }
    Error::StorageError(StorageError::from_io_error(
        ErrorSubject::Snapshot(None),
        ErrorVerb::Read,
        error,
    ))
}
