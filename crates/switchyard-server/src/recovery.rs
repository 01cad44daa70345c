//! `switchyard restore`, `switchyard dr-inspect` and `switchyard dr-promote`: offline recovery
//! of a stopped node's data directory, driven by its own configuration file. The mechanisms and
//! their safety argument are in `switchyard_raft::recovery`; the procedures for operators are in
//! docs/RUNBOOK.md.

use std::collections::BTreeMap;
use std::path::Path;

use switchyard_raft::recovery::{self, CutoverReport, LogPosition, RecoveryError, RestoreReport};
use switchyard_raft::{ClusterNode, Site};

use crate::config::{ConfigError, ServerConfig};

/// Why a recovery command failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryCommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    #[error("{0}")]
    Usage(String),
}

fn members(config: &ServerConfig) -> Result<BTreeMap<u64, ClusterNode>, RecoveryCommandError> {
    if config.cluster.members.is_empty() {
        return Err(RecoveryCommandError::Usage(
            "restore needs the new cluster's members: list every node in [[cluster.members]] of this node's config".to_owned(),
        ));
    }
    config
        .cluster
        .members
        .iter()
        .map(|member| {
            let site = Site::parse(&member.site).ok_or_else(|| {
                RecoveryCommandError::Usage(format!(
                    "cluster.members.site: {:?} is not tokyo, osaka or witness",
                    member.site
                ))
            })?;
            Ok((
                member.id,
                ClusterNode {
                    site,
                    raft_address: member.raft_address.clone(),
                    api_address: member.api_address.clone(),
                },
            ))
        })
        .collect()
}

/// Seeds this node's (empty) data directory from `backup` as a member of the cluster its
/// config's `[[cluster.members]]` lists.
pub async fn restore(
    config: &ServerConfig,
    backup: &Path,
) -> Result<RestoreReport, RecoveryCommandError> {
    let node = config.node_config()?;
    let members = members(config)?;
    Ok(recovery::restore(node.node_id, &node.store, backup, members).await?)
}

/// Where this stopped node's log stands.
pub async fn inspect(config: &ServerConfig) -> Result<LogPosition, RecoveryCommandError> {
    let node = config.node_config()?;
    Ok(recovery::inspect(node.node_id, &node.store).await?)
}

/// The disaster cutover on this stopped survivor.
pub async fn promote(
    config: &ServerConfig,
    surviving_site: &str,
    new_epoch: u64,
    base: bool,
) -> Result<CutoverReport, RecoveryCommandError> {
    let site = Site::parse(surviving_site).ok_or_else(|| {
        RecoveryCommandError::Usage(format!(
            "--site: {surviving_site:?} is not tokyo, osaka or witness"
        ))
    })?;
    let node = config.node_config()?;
    Ok(recovery::disaster_cutover(node.node_id, &node.store, site, new_epoch, base).await?)
}
