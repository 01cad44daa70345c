//! Operator commands over the admin API: `member add | promote | remove`, `snapshot save`,
//! `notice publish` and `contacts export`.
//!
//! Membership changes run on the leader: a follower refuses them with `not_leader` and the
//! leader's address, and the command follows it (as `failover` does). `member add` adds the
//! learner without waiting, then polls the leader's view of it and draws its catch-up on stderr
//! (entries replicated of the leader's log) until it is within the caught-up lag; only then may
//! it be promoted. `snapshot save` and `contacts export` write next to the target file and rename
//! it into place when complete, so a half-written backup never looks like a backup.

use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::v1;
use tonic::Status;

use super::Context;
use super::failover::{LEADER_HOPS_MAX, redirect};
use crate::args::{
    ContactsExportArgs, ExportFormat, MemberAddArgs, MemberCommand, MemberIdArgs, NoticeCommand,
    NoticePublishArgs, SeverityArg, SnapshotCommand, SnapshotSaveArgs,
};
use crate::connect::Link;
use crate::error::CliError;
use crate::output::words;

/// How often `member add` asks the leader how far the learner got.
const CATCH_UP_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// One call that must reach the leader: sent through the session (with endpoint failover),
/// then after each `not_leader` refusal to the leader it names.
async fn at_leader<T, F, Fut>(context: &mut Context<'_>, mut call: F) -> Result<T, CliError>
where
    F: FnMut(Link) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let mut result = context.call(&mut call).await;
    for _ in 0..LEADER_HOPS_MAX {
        let address = match &result {
            Err(CliError::Status(status)) => redirect(status),
            _ => None,
        };
        let Some(address) = address else {
            return result;
        };
        let dialer = context.session.dialer_for_address(&address)?;
        context.note(&format!("following the leader to {}", dialer.url()));
        let link = dialer.connect().await?;
        result = call(link)
            .await
            .map(tonic::Response::into_inner)
            .map_err(CliError::from);
    }
    result
}

pub(crate) async fn member(
    context: &mut Context<'_>,
    command: MemberCommand,
) -> Result<(), CliError> {
    match command {
        MemberCommand::Add(args) => add(context, args).await,
        MemberCommand::Promote(MemberIdArgs { node_id }) => {
            let request = admin::PromoteLearnerRequest {
                request_id: context.request_id.clone(),
                node_id,
            };
            let response = at_leader(context, |link| {
                let request = request.clone();
                async move { link.admin().promote_learner(request).await }
            })
            .await?;
            context.printer.result(
                || {
                    format!(
                        "node {node_id} is a voter (revision {})\n",
                        response.revision
                    )
                },
                || json!({"node_id": node_id, "voter": true, "revision": response.revision}),
            )?;
            Ok(())
        }
        MemberCommand::Remove(MemberIdArgs { node_id }) => {
            let request = admin::RemoveNodeRequest {
                request_id: context.request_id.clone(),
                node_id,
            };
            let response = at_leader(context, |link| {
                let request = request.clone();
                async move { link.admin().remove_node(request).await }
            })
            .await?;
            context.printer.result(
                || {
                    format!(
                        "node {node_id} is removed (revision {}); its id is never used again: \
                         wipe its data directory before reusing the machine\n",
                        response.revision
                    )
                },
                || json!({"node_id": node_id, "removed": true, "revision": response.revision}),
            )?;
            Ok(())
        }
    }
}

/// The cluster status as the leader sees it (only the leader knows how far the others are):
/// asked of any node first, then of the leader that node names.
async fn leader_status(
    context: &mut Context<'_>,
) -> Result<admin::GetClusterStatusResponse, CliError> {
    let ask = |link: Link| async move {
        link.admin()
            .get_cluster_status(admin::GetClusterStatusRequest {})
            .await
    };
    let status = context.call(ask).await?;
    let Some(leader) = status.leader_node_id else {
        return Ok(status);
    };
    if status.answering_node_id == leader {
        return Ok(status);
    }
    let address = status
        .nodes
        .iter()
        .find(|node| node.node_id == leader)
        .map(|node| node.public_address.clone())
        .filter(|address| !address.is_empty());
    let Some(address) = address else {
        return Ok(status);
    };
    let link = context
        .session
        .dialer_for_address(&address)?
        .connect()
        .await?;
    Ok(ask(link).await?.into_inner())
}

/// The learner's progress in the leader's view: (entries it holds, entries the leader holds,
/// whether the leader counts it as caught up).
pub(crate) fn learner_progress(
    status: &admin::GetClusterStatusResponse,
    learner: u64,
) -> Option<(u64, u64, bool)> {
    let leader_id = status.leader_node_id?;
    let leader = status.nodes.iter().find(|node| node.node_id == leader_id)?;
    let node = status.nodes.iter().find(|node| node.node_id == learner)?;
    let caught_up = node.health == admin::NodeHealth::Healthy as i32;
    Some((node.last_log_index, leader.last_log_index, caught_up))
}

/// A progress bar: `[#########.........]  9,000 / 20,000 entries (45 %)`.
pub(crate) fn progress_bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 30;
    let done = done.min(total);
    let (filled, percent) = match (
        (done * WIDTH).checked_div(total),
        (done * 100).checked_div(total),
    ) {
        (Some(filled), Some(percent)) => (filled, percent),
        _ => (WIDTH, 100),
    };
    let filled = usize::try_from(filled).unwrap_or(0);
    let empty = usize::try_from(WIDTH).unwrap_or(0) - filled;
    format!(
        "[{}{}] {} / {} entries ({percent} %)",
        "#".repeat(filled),
        ".".repeat(empty),
        words::thousands(done),
        words::thousands(total)
    )
}

async fn add(context: &mut Context<'_>, args: MemberAddArgs) -> Result<(), CliError> {
    let request = admin::AddLearnerRequest {
        request_id: context.request_id.clone(),
        node_id: args.node_id,
        name: args.name.clone(),
        site: args.site.wire() as i32,
        raft_address: args.raft_address.clone(),
        public_address: args.public_address.clone(),
        wait_for_catch_up: false,
    };
    let added = at_leader(context, |link| {
        let request = request.clone();
        async move { link.admin().add_learner(request).await }
    })
    .await?;
    context.note(&format!(
        "node {} ({}) added as a learner at revision {}",
        args.node_id, args.name, added.revision
    ));
    let mut caught_up = added.caught_up;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.catch_up_timeout_s);
    let mut last = None;
    while !caught_up && !args.no_wait {
        let status = leader_status(context).await?;
        if let Some((held, leader_holds, done)) = learner_progress(&status, args.node_id) {
            if last != Some(held) && !context.printer.is_json() {
                context.note(&progress_bar(held, leader_holds));
                last = Some(held);
            }
            caught_up = done && held >= added.revision;
        }
        if caught_up {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Status::deadline_exceeded(format!(
                "node {} did not catch up within {} s; it stays a learner (see `swctl status`)",
                args.node_id, args.catch_up_timeout_s
            ))
            .into());
        }
        tokio::time::sleep(CATCH_UP_POLL_INTERVAL).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    context.printer.result(
        || {
            if caught_up {
                format!(
                    "node {} is a caught-up learner ({seconds:.1} s); promote it with `swctl member promote {}`\n",
                    args.node_id, args.node_id
                )
            } else {
                format!(
                    "node {} is a learner, still catching up; follow it with `swctl status`\n",
                    args.node_id
                )
            }
        },
        || json!({"node_id": args.node_id, "revision": added.revision, "caught_up": caught_up}),
    )?;
    Ok(())
}

pub(crate) async fn snapshot(
    context: &mut Context<'_>,
    command: SnapshotCommand,
) -> Result<(), CliError> {
    let SnapshotCommand::Save(args) = command;
    save(context, args).await
}

/// The temporary name a file is written under before it is renamed into place.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Writes `data` durably to `path` by way of a temporary file and a rename.
fn write_atomically(path: &Path, data: &[u8]) -> Result<(), CliError> {
    let partial = partial_path(path);
    let mut file = std::fs::File::create(&partial).map_err(|error| {
        CliError::Failed(format!("cannot create {}: {error}", partial.display()))
    })?;
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(|error| {
            CliError::Failed(format!("cannot write {}: {error}", partial.display()))
        })?;
    std::fs::rename(&partial, path)
        .map_err(|error| CliError::Failed(format!("cannot rename to {}: {error}", path.display())))
}

async fn save(context: &mut Context<'_>, args: SnapshotSaveArgs) -> Result<(), CliError> {
    // The snapshot is built and downloaded at the same node: pin it.
    let link = context.session.current_dialer().connect().await?;
    let node_url = context.session.current_url().to_owned();
    let snapshot_id = if args.existing {
        String::new()
    } else {
        let request = admin::CreateSnapshotRequest {
            request_id: context.request_id.clone(),
        };
        let created = link
            .with_deadline(Some(Duration::from_secs(600)))
            .admin()
            .create_snapshot(request)
            .await?
            .into_inner();
        let snapshot = created.snapshot.unwrap_or_default();
        context.note(&format!(
            "node {} built snapshot {} through revision {} ({} bytes)",
            snapshot.node_id,
            snapshot.snapshot_id,
            snapshot.last_included_index,
            words::thousands(snapshot.size_bytes)
        ));
        snapshot.snapshot_id
    };
    let mut stream = link
        .without_deadline()
        .admin()
        .download_backup(admin::DownloadBackupRequest { snapshot_id })
        .await?
        .into_inner();
    let partial = partial_path(&args.file);
    let mut file = std::fs::File::create(&partial).map_err(|error| {
        CliError::Failed(format!("cannot create {}: {error}", partial.display()))
    })?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut description = None;
    let mut expected_sha = None;
    while let Some(chunk) = stream.message().await? {
        if description.is_none() {
            description = chunk.snapshot.clone();
        }
        if chunk.offset != written {
            return Err(CliError::Failed(format!(
                "the backup stream skipped: chunk at offset {}, expected {written}",
                chunk.offset
            )));
        }
        hasher.update(&chunk.data);
        file.write_all(&chunk.data).map_err(|error| {
            CliError::Failed(format!("cannot write {}: {error}", partial.display()))
        })?;
        written += chunk.data.len() as u64;
        if chunk.done {
            expected_sha = Some(chunk.sha256_hex);
            break;
        }
    }
    let Some(expected_sha) = expected_sha else {
        return Err(CliError::Failed(format!(
            "the backup stream from {node_url} ended before its last chunk ({written} bytes); {} is incomplete",
            partial.display()
        )));
    };
    let actual: String = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    if actual != expected_sha {
        return Err(CliError::Failed(format!(
            "the backup's SHA-256 is {actual}, the node sent {expected_sha}; {} is damaged",
            partial.display()
        )));
    }
    file.sync_all()
        .map_err(|error| CliError::Failed(format!("cannot sync {}: {error}", partial.display())))?;
    drop(file);
    std::fs::rename(&partial, &args.file).map_err(|error| {
        CliError::Failed(format!("cannot rename to {}: {error}", args.file.display()))
    })?;
    let description = description.unwrap_or_default();
    context.printer.result(
        || {
            format!(
                "saved {} ({} bytes, sha256 {actual})\nsnapshot {} of node {} through revision {} (term {})\n",
                args.file.display(),
                words::thousands(written),
                description.snapshot_id,
                description.node_id,
                description.last_included_index,
                description.last_included_term
            )
        },
        || {
            json!({
                "file": args.file.display().to_string(),
                "bytes": written,
                "sha256": actual,
                "snapshot_id": description.snapshot_id,
                "node_id": description.node_id,
                "last_included_index": description.last_included_index,
                "last_included_term": description.last_included_term,
            })
        },
    )?;
    Ok(())
}

pub(crate) async fn notice(
    context: &mut Context<'_>,
    command: NoticeCommand,
) -> Result<(), CliError> {
    let NoticeCommand::Publish(args) = command;
    let request = publish_request(&args, &context.request_id);
    super::check_write(&request)?;
    let response = context
        .call(|link| {
            let request = request.clone();
            async move { link.admin().publish_notice(request).await }
        })
        .await?;
    context.printer.result(
        || {
            format!(
                "published notice {} (revision {})\n",
                response.notice_number, response.revision
            )
        },
        || json!({"notice_number": response.notice_number, "revision": response.revision}),
    )?;
    Ok(())
}

pub(crate) fn publish_request(
    args: &NoticePublishArgs,
    request_id: &str,
) -> admin::PublishNoticeRequest {
    let severity = match args.severity {
        SeverityArg::Info => v1::Severity::Info,
        SeverityArg::Warning => v1::Severity::Warning,
        SeverityArg::Critical => v1::Severity::Critical,
    };
    admin::PublishNoticeRequest {
        request_id: request_id.to_owned(),
        severity: severity as i32,
        title: args.title.clone(),
        body: args.body.clone(),
    }
}

pub(crate) async fn export_contacts(
    context: &mut Context<'_>,
    args: ContactsExportArgs,
) -> Result<(), CliError> {
    let format = match args.format {
        ExportFormat::Csv => admin::ContactsFormat::Csv,
        ExportFormat::Json => admin::ContactsFormat::Json,
    };
    let consistency = if args.linearizable {
        v1::ReadConsistency::Linearizable
    } else {
        v1::ReadConsistency::Local
    };
    let request = admin::ExportContactsRequest {
        format: format as i32,
        consistency: consistency as i32,
    };
    let (document, participants, revision) = context
        .call(|link| async move {
            let mut stream = link.admin().export_contacts(request).await?.into_inner();
            let mut document = Vec::new();
            while let Some(chunk) = stream.message().await? {
                document.extend_from_slice(&chunk.data);
                if chunk.done {
                    return Ok(tonic::Response::new((
                        document,
                        chunk.participant_count,
                        chunk.served_at_revision,
                    )));
                }
            }
            Err(Status::unavailable(
                "the export stream ended before its last chunk",
            ))
        })
        .await?;
    if args.out == "-" {
        context.printer.text(&String::from_utf8_lossy(&document))?;
        return Ok(());
    }
    let path = PathBuf::from(&args.out);
    write_atomically(&path, &document)?;
    let node = context.session.current_url().to_owned();
    context.printer.result(
        || {
            format!(
                "exported {participants} participants to {} ({} bytes, from {node} at revision {revision})\n",
                path.display(),
                words::thousands(document.len() as u64)
            )
        },
        || {
            json!({
                "file": path.display().to_string(),
                "participants": participants,
                "bytes": document.len(),
                "served_at_revision": revision,
                "node": node,
            })
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar fills in proportion and never overflows.
    #[test]
    fn progress_bars() {
        assert_eq!(
            progress_bar(9_000, 20_000),
            "[#############.................] 9,000 / 20,000 entries (45 %)"
        );
        assert!(progress_bar(30, 20).ends_with("20 / 20 entries (100 %)"));
        assert!(progress_bar(0, 0).contains("(100 %)"));
    }

    /// The learner's progress is read from the leader's view only.
    #[test]
    fn progress_from_the_leaders_view() {
        let node = |node_id, last_log_index, health: admin::NodeHealth| admin::NodeStatus {
            node_id,
            last_log_index,
            health: health as i32,
            ..admin::NodeStatus::default()
        };
        let status = admin::GetClusterStatusResponse {
            leader_node_id: Some(1),
            nodes: vec![
                node(1, 500, admin::NodeHealth::Healthy),
                node(7, 120, admin::NodeHealth::Lagging),
            ],
            ..admin::GetClusterStatusResponse::default()
        };
        assert_eq!(learner_progress(&status, 7), Some((120, 500, false)));
        assert_eq!(learner_progress(&status, 8), None);
        let leaderless = admin::GetClusterStatusResponse {
            leader_node_id: None,
            ..status
        };
        assert_eq!(learner_progress(&leaderless, 7), None);
    }

    /// A notice request carries the severity, title and body as given.
    #[test]
    fn notice_requests() {
        let args = NoticePublishArgs {
            title: "Maintenance".to_owned(),
            severity: SeverityArg::Warning,
            body: "Tonight 22:00".to_owned(),
        };
        let request = publish_request(&args, "n-1");
        assert_eq!(request.severity, v1::Severity::Warning as i32);
        assert_eq!(request.request_id, "n-1");
        assert!(crate::commands::check_write(&request).is_ok());
    }
}
