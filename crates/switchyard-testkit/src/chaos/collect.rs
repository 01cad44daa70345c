//! Each replica's own final state, read out of its own process: the node builds a snapshot of
//! everything it has applied (`CreateSnapshot`, asked of that node), the harness downloads that
//! node's snapshot file (`DownloadBackup`) and reads it with the store's snapshot reader into
//! domain records.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchyard_proto::admin::v1 as admin;
use switchyard_raft::NodeId;
use tokio::time::Instant;

use super::history::ReplicaFinalState;
use crate::procs::{HarnessError, ProcessCluster, request};

/// Longest one node may take to build and hand over its snapshot (retries included).
const COLLECT_WAIT: Duration = Duration::from_secs(60);
/// Deadline of one `CreateSnapshot` or `DownloadBackup` call.
const CALL_DEADLINE: Duration = Duration::from_secs(30);

/// The final state of `node`, read from a snapshot it builds now; the file is kept in
/// `directory`. `tag` makes the request ids of this collection unique.
pub async fn collect_replica(
    cluster: &ProcessCluster,
    node: NodeId,
    directory: &Path,
    tag: &str,
) -> Result<ReplicaFinalState, HarnessError> {
    let name = cluster.name(node);
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match collect_once(cluster, node, directory, tag, attempt).await {
            Ok(replica) => return Ok(replica),
            Err(error) if started.elapsed() < COLLECT_WAIT => {
                eprintln!("chaos: collecting {name}'s state (attempt {attempt}): {error}; again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                return Err(HarnessError(format!(
                    "cannot collect {name}'s final state within {COLLECT_WAIT:?}: {error}\n{}",
                    cluster.diagnostics()
                )));
            }
        }
    }
}

async fn collect_once(
    cluster: &ProcessCluster,
    node: NodeId,
    directory: &Path,
    tag: &str,
    attempt: u32,
) -> Result<ReplicaFinalState, String> {
    let name = cluster.name(node);
    let mut client = cluster.admin(node);
    let snapshot = client
        .create_snapshot(request(
            admin::CreateSnapshotRequest {
                request_id: format!("chaos-final-{tag}-{node}-{attempt}"),
            },
            CALL_DEADLINE,
        ))
        .await
        .map_err(|status| format!("CreateSnapshot: {:?} {}", status.code(), status.message()))?
        .into_inner()
        .snapshot
        .ok_or("CreateSnapshot answered without a description")?;
    if snapshot.node_id != node {
        return Err(format!(
            "CreateSnapshot at {name} answered for node {}",
            snapshot.node_id
        ));
    }
    let mut chunks = client
        .download_backup(request(
            admin::DownloadBackupRequest {
                snapshot_id: snapshot.snapshot_id.clone(),
            },
            CALL_DEADLINE,
        ))
        .await
        .map_err(|status| format!("DownloadBackup: {:?} {}", status.code(), status.message()))?
        .into_inner();
    let path: PathBuf = directory.join(format!("final-{name}.snap"));
    let mut file = std::fs::File::create(&path)
        .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
    let mut offset = 0u64;
    let mut done = false;
    while let Some(chunk) = chunks
        .message()
        .await
        .map_err(|status| format!("DownloadBackup: {:?} {}", status.code(), status.message()))?
    {
        if chunk.offset != offset {
            return Err(format!(
                "DownloadBackup sent offset {} where {offset} was due",
                chunk.offset
            ));
        }
        file.write_all(&chunk.data)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        offset += chunk.data.len() as u64;
        if chunk.done {
            done = true;
            break;
        }
    }
    if !done {
        return Err("DownloadBackup ended before its last chunk".to_owned());
    }
    file.sync_all()
        .map_err(|error| format!("cannot sync {}: {error}", path.display()))?;
    drop(file);
    let contents = switchyard_store::read_snapshot_contents(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    Ok(ReplicaFinalState {
        node: name.to_owned(),
        applied_revision: contents.last_applied_index,
        records: contents.records,
        events: contents.events,
        reported_state_hash: None,
    })
}
