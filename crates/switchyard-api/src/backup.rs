//! Snapshots on demand and backups streamed out of the cluster.
//!
//! A backup file is the node's snapshot file as it is (`switchyard-store`'s format: framed
//! records ending in a record count and a SHA-256 over the frames), so it verifies itself, and
//! `switchyard restore` seeds a fresh cluster from it. The download adds a SHA-256 of the whole
//! file in the last chunk, so the receiver can check the transfer before it keeps the file.

use std::pin::Pin;
use std::time::{Duration, UNIX_EPOCH};

use futures::Stream;
use sha2::{Digest, Sha256};
use switchyard_proto::admin::v1 as admin;
use switchyard_raft::NodeHandle;
use switchyard_raft::alias::SnapshotMeta;
use switchyard_store::SnapshotFile;
use tokio::io::AsyncReadExt;
use tonic::Status;

use crate::status;

/// Largest chunk of a backup in one message (the contract's limit).
pub(crate) const BACKUP_CHUNK_BYTES_MAX: usize = 1024 * 1024;

/// Longest wait for a snapshot asked for by an operator.
const SNAPSHOT_BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// A snapshot's id: its file name without the extension (`built-<term>-<index>-<nanos>`).
fn snapshot_id(file: &SnapshotFile) -> String {
    file.path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn describe(
    node: &NodeHandle,
    meta: &SnapshotMeta,
    file: &SnapshotFile,
) -> admin::SnapshotDescription {
    let created_at_unix_ms = std::fs::metadata(&file.path)
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|modified| modified.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        });
    admin::SnapshotDescription {
        snapshot_id: snapshot_id(file),
        node_id: node.node_id(),
        last_included_index: meta.last_log_id.map_or(0, |log_id| log_id.index()),
        last_included_term: meta.last_log_id.map_or(0, |log_id| log_id.leader_id.term),
        size_bytes: file.bytes,
        created_at_unix_ms,
    }
}

fn current(node: &NodeHandle) -> Result<Option<(SnapshotMeta, SnapshotFile)>, Status> {
    node.store()
        .state_machine
        .current_snapshot()
        .map_err(|error| status::local_disk(&error))
}

/// Builds a snapshot of everything this node has applied and describes it.
pub(crate) async fn create_snapshot(
    node: &NodeHandle,
) -> Result<admin::SnapshotDescription, Status> {
    if let Some(reason) = node.not_serving_reason() {
        return Err(status::node_error(
            &switchyard_raft::NodeError::NotServing { reason },
        ));
    }
    let applied = node.applied_index();
    let previous = current(node)?.map(|(_, file)| snapshot_id(&file));
    node.raft().trigger().snapshot().await.map_err(|error| {
        status::internal(format!("the Raft core refused the snapshot: {error}"))
    })?;
    let built = node
        .raft()
        .wait(Some(SNAPSHOT_BUILD_TIMEOUT))
        .metrics(
            |metrics| {
                metrics
                    .snapshot
                    .is_some_and(|log_id| log_id.index() >= applied)
            },
            "the snapshot is built",
        )
        .await;
    if built.is_err() {
        return Err(status::deadline(format!(
            "the snapshot covering revision {applied} was not built within {} s",
            SNAPSHOT_BUILD_TIMEOUT.as_secs()
        )));
    }
    match current(node)? {
        Some((meta, file)) => {
            let description = describe(node, &meta, &file);
            tracing::info!(
                snapshot = %description.snapshot_id,
                replaced = ?previous,
                last_index = description.last_included_index,
                bytes = description.size_bytes,
                "snapshot built on request"
            );
            Ok(description)
        }
        None => Err(status::internal(
            "the snapshot was built but is not recorded",
        )),
    }
}

/// The chunks of a backup download.
pub(crate) type BackupStream =
    Pin<Box<dyn Stream<Item = Result<admin::DownloadBackupResponse, Status>> + Send + 'static>>;

/// Streams the node's current snapshot (or the named one, if it is the current one).
pub(crate) async fn download(node: &NodeHandle, wanted: &str) -> Result<BackupStream, Status> {
    if wanted.chars().count() > 128 {
        return Err(status::invalid(
            "snapshot_id",
            "is longer than 128 characters",
        ));
    }
    let Some((meta, file)) = current(node)? else {
        return Err(status::not_found(
            "snapshot_not_found",
            "this node holds no snapshot yet; ask for one with CreateSnapshot",
        ));
    };
    let description = describe(node, &meta, &file);
    if !wanted.is_empty() && wanted != description.snapshot_id {
        return Err(status::not_found(
            "snapshot_not_found",
            format!(
                "snapshot {wanted} is not held by node {} (its current snapshot is {})",
                node.node_id(),
                description.snapshot_id
            ),
        ));
    }
    // Opened now: a newer snapshot may replace the file while it streams, and the open handle
    // keeps this one readable to the end.
    let opened = tokio::fs::File::open(&file.path)
        .await
        .map_err(|error| status::local_disk(&error))?;
    let total = file.bytes;
    tracing::info!(snapshot = %description.snapshot_id, bytes = total, "backup download started");
    struct State {
        file: tokio::fs::File,
        offset: u64,
        hasher: Sha256,
        first: Option<admin::SnapshotDescription>,
        finished: bool,
    }
    let state = State {
        file: opened,
        offset: 0,
        hasher: Sha256::new(),
        first: Some(description),
        finished: false,
    };
    let stream = futures::stream::unfold(state, move |mut state| async move {
        if state.finished {
            return None;
        }
        let want = usize::try_from((total - state.offset).min(BACKUP_CHUNK_BYTES_MAX as u64))
            .expect("a chunk fits in memory");
        let mut data = vec![0; want];
        if let Err(error) = state.file.read_exact(&mut data).await {
            state.finished = true;
            return Some((Err(status::local_disk(&error)), state));
        }
        state.hasher.update(&data);
        let offset = state.offset;
        state.offset += data.len() as u64;
        let done = state.offset >= total;
        let sha256_hex = if done {
            state.finished = true;
            hex(&std::mem::take(&mut state.hasher).finalize())
        } else {
            String::new()
        };
        let chunk = admin::DownloadBackupResponse {
            snapshot: state.first.take(),
            offset,
            data,
            done,
            sha256_hex,
        };
        Some((Ok(chunk), state))
    });
    Ok(Box::pin(stream))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}
