//! Receiving a snapshot: chunks assembled into a file in the store's snapshot directory, then
//! installed with `Raft::install_full_snapshot`.
//!
//! Bounds: one transfer at a time ([`SNAPSHOT_RECEIVES_CONCURRENT_MAX`]), at most
//! [`SNAPSHOT_CHUNK_BYTES_MAX`] per chunk at contiguous offsets, at most
//! [`SNAPSHOT_RECEIVE_BYTES_MAX`] in all, and a transfer whose next chunk does not arrive within
//! [`SNAPSHOT_CHUNK_TIMEOUT`] is abandoned. A transfer that fails or is abandoned leaves no file
//! behind. Installation runs in its own task, so a sender that hangs up mid-install cannot cut
//! it short nor remove the file while the state machine reads it.

use std::path::PathBuf;

use switchyard_proto::raft::v1 as wire;
use switchyard_store::{SnapshotFile, SnapshotSink};
use tonic::{Response, Status, Streaming};

use super::{RaftServer, status};
use crate::codec::{decode, encode};
use crate::error::NodeError;
use crate::limits::{
    SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_CHUNK_TIMEOUT, SNAPSHOT_RECEIVE_BYTES_MAX,
    SNAPSHOT_RECEIVES_CONCURRENT_MAX,
};
use crate::status::reason;

/// A file being received; removed when dropped unless handed over.
struct Receiving {
    path: PathBuf,
    armed: bool,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        if self.armed {
            std::fs::remove_file(&self.path).ok();
        }
    }
}

async fn next_chunk(
    stream: &mut Streaming<wire::InstallSnapshotRequest>,
) -> Result<Option<wire::InstallSnapshotRequest>, Status> {
    match tokio::time::timeout(SNAPSHOT_CHUNK_TIMEOUT, stream.message()).await {
        Err(_elapsed) => Err(Status::deadline_exceeded(format!(
            "{}: no chunk within {} s",
            reason::SNAPSHOT_ABANDONED,
            SNAPSHOT_CHUNK_TIMEOUT.as_secs()
        ))),
        Ok(result) => result,
    }
}

fn invalid_chunk(message: String) -> Status {
    Status::invalid_argument(format!("{}: {message}", reason::SNAPSHOT_CHUNK))
}

fn local_disk(error: std::io::Error) -> Status {
    status(NodeError::State(error))
}

pub(super) async fn receive(
    server: &RaftServer,
    mut stream: Streaming<wire::InstallSnapshotRequest>,
) -> Result<Response<wire::InstallSnapshotResponse>, Status> {
    let shared = &server.shared;
    let Ok(_permit) = shared.snapshot_receives.try_acquire() else {
        return Err(Status::resource_exhausted(format!(
            "{}: {SNAPSHOT_RECEIVES_CONCURRENT_MAX} snapshot transfer(s) already running",
            reason::SNAPSHOT_BUSY
        )));
    };
    let Some(first) = next_chunk(&mut stream).await? else {
        return Err(invalid_chunk("the stream is empty".to_owned()));
    };
    server.admit(first.cluster_epoch)?;
    let vote: openraft::alias::VoteOf<crate::TypeConfig> =
        decode(&first.vote_bytes, "snapshot vote").map_err(status)?;
    let meta: openraft::alias::SnapshotMetaOf<crate::TypeConfig> =
        decode(&first.snapshot_meta_bytes, "snapshot meta").map_err(status)?;
    let (cluster_epoch, term, leader) = (first.cluster_epoch, first.term, first.leader_node_id);
    tracing::info!(
        node_id = shared.node_id,
        term,
        leader,
        last_log_id = ?meta.last_log_id,
        "receiving a snapshot"
    );

    let path = shared.store.state_machine.receiving_snapshot_path();
    let mut receiving = Receiving {
        path: path.clone(),
        armed: true,
    };
    let created = tokio::task::spawn_blocking(move || SnapshotSink::create(path))
        .await
        .map_err(|error| local_disk(std::io::Error::other(error)))?;
    let mut sink = created.map_err(local_disk)?;
    let mut written = 0u64;
    let mut chunk = first;
    let mut chunks = 0u64;
    loop {
        if chunk.cluster_epoch != cluster_epoch
            || chunk.term != term
            || chunk.leader_node_id != leader
        {
            return Err(invalid_chunk(format!(
                "chunk {chunks} is from term {} of node {}, the transfer from term {term} of node {leader}",
                chunk.term, chunk.leader_node_id
            )));
        }
        if chunk.offset != written {
            return Err(invalid_chunk(format!(
                "chunk {chunks} at offset {}, expected {written}",
                chunk.offset
            )));
        }
        if chunk.data.len() > SNAPSHOT_CHUNK_BYTES_MAX {
            return Err(invalid_chunk(format!(
                "chunk {chunks} carries {} bytes, at most {SNAPSHOT_CHUNK_BYTES_MAX}",
                chunk.data.len()
            )));
        }
        let end = written + chunk.data.len() as u64;
        if end > SNAPSHOT_RECEIVE_BYTES_MAX {
            return Err(Status::resource_exhausted(format!(
                "{}: the snapshot exceeds {SNAPSHOT_RECEIVE_BYTES_MAX} bytes",
                reason::SNAPSHOT_TOO_LARGE
            )));
        }
        let data = chunk.data;
        let offset = written;
        let (returned, result) = tokio::task::spawn_blocking(move || {
            let result = sink.write_chunk(offset, &data);
            (sink, result)
        })
        .await
        .map_err(|error| local_disk(std::io::Error::other(error)))?;
        sink = returned;
        result.map_err(local_disk)?;
        written = end;
        chunks += 1;
        if chunk.done {
            break;
        }
        chunk = match next_chunk(&mut stream).await? {
            Some(chunk) => chunk,
            None => {
                return Err(invalid_chunk(format!(
                    "the stream ended after {chunks} chunks without the last one"
                )));
            }
        };
    }
    let finished = tokio::task::spawn_blocking(move || sink.finish())
        .await
        .map_err(|error| local_disk(std::io::Error::other(error)))?;
    let file: SnapshotFile = finished.map_err(local_disk)?;
    // A damaged transfer is refused here; installing it would fail inside the state machine,
    // which openraft treats as fatal for the node.
    let checked = file.clone();
    let verified = tokio::task::spawn_blocking(move || checked.verify())
        .await
        .map_err(|error| local_disk(std::io::Error::other(error)))?;
    if let Err(error) = verified {
        let _ = std::fs::remove_file(&file.path);
        return Err(invalid_chunk(format!(
            "the received snapshot does not check out: {error}"
        )));
    }
    tracing::info!(
        node_id = shared.node_id,
        term,
        bytes = file.bytes,
        chunks,
        "snapshot received; installing"
    );

    // From here the installation owns the file; it removes it once the state machine has kept
    // its own copy, whether or not this call is still waiting.
    receiving.armed = false;
    let raft = shared.raft.clone();
    let node_id = shared.node_id;
    let install = tokio::spawn(async move {
        let path = file.path.clone();
        let snapshot = openraft::Snapshot {
            meta,
            snapshot: file,
        };
        let installed = raft.install_full_snapshot(vote, snapshot).await;
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::debug!(node_id, error = %error, "received snapshot file already gone");
        }
        installed
    });
    let installed = install
        .await
        .map_err(|error| local_disk(std::io::Error::other(error)))?
        .map_err(|fatal| status(NodeError::Fatal(fatal)))?;
    tracing::info!(node_id, term, "snapshot installed");
    Ok(Response::new(wire::InstallSnapshotResponse {
        response_bytes: encode(&installed, "snapshot response")
            .map_err(status)?
            .into(),
    }))
}
