//! `failover`: planned leadership transfer, confirmed at the new leader.
//!
//! 1. Any node's `GetClusterStatus` names the leader and the members' public addresses.
//! 2. `TransferLeadership` goes to the leader, with the request id (given or generated, noted on
//!    stderr before sending). A node that does not lead refuses with FAILED_PRECONDITION
//!    `not_leader` and the leader's public `host:port` in `x-switchyard-leader-address`; the
//!    request follows it (the same request id, at most [`LEADER_HOPS_MAX`] times), connecting
//!    with the scheme and TLS settings of the configured endpoints.
//! 3. The new leader is asked for its status until it reports itself leader.
//!
//! The time from sending the request to that confirmation is reported as an upper bound of the
//! pause writes saw. `--timeout-ms` is how long the leader may take to hand over (sent as the
//! request's `timeout_ms`, at most 60000); the answer and the confirmation may take
//! [`CONFIRMATION_GRACE`] more. A target that is not a voter, or not caught up, is refused by
//! the leader (FAILED_PRECONDITION, exit 3).

use std::time::{Duration, Instant};

use switchyard_proto::admin::v1 as admin;
use switchyard_proto::admin::v1::transfer_leadership_request::Target;
use switchyard_proto::limits::TRANSFER_LEADERSHIP_TIMEOUT_MAX_MS;
use tonic::{Code, Status};

use super::Context;
use super::status::{ask_every, leads};
use crate::args::FailoverArgs;
use crate::connect::{Dialer, authority};
use crate::error::{CliError, LEADER_ADDRESS_METADATA_KEY};
use crate::output::{cluster, words};

/// Most `not_leader` refusals followed before giving up (leadership moving under our feet).
pub(crate) const LEADER_HOPS_MAX: usize = 4;
/// How much longer than `--timeout-ms` the answer and the confirmation may take.
const CONFIRMATION_GRACE: Duration = Duration::from_secs(2);
/// The wait between two confirmation polls.
const CONFIRMATION_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A leader, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaderSummary {
    pub(crate) node_id: u64,
    /// A wire `Site`.
    pub(crate) site: i32,
    pub(crate) public_address: String,
}

/// What a failover did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailoverReport {
    /// The leader that handed over (unknown if no node named one before).
    pub(crate) old_leader: Option<LeaderSummary>,
    pub(crate) new_leader: LeaderSummary,
    /// False when the leader already was the target.
    pub(crate) moved: bool,
    /// The new leader's term, as it reports it.
    pub(crate) term: u64,
    /// From sending the request to the new leader's confirmation.
    pub(crate) write_pause_upper_bound: Duration,
    pub(crate) request_id: String,
}

/// The wire target of the arguments; `preferred_site` (a wire `Site`) is the cluster's
/// preference, for `--to-preferred`.
pub(crate) fn target(args: &FailoverArgs, preferred_site: i32) -> Result<Target, CliError> {
    match (args.to_node, args.to_site, args.to_preferred) {
        (Some(node_id), None, false) => Ok(Target::NodeId(node_id)),
        (None, Some(site), false) => Ok(Target::Site(site.wire() as i32)),
        (None, None, true) if preferred_site != admin::Site::Unspecified as i32 => {
            Ok(Target::Site(preferred_site))
        }
        (None, None, true) => Err(CliError::Usage(
            "failover --to-preferred: the cluster has no preferred site (set \
             raft.preferred-leader-site on every node)"
                .to_owned(),
        )),
        _ => Err(CliError::Usage(
            "failover: give exactly one of --to-site, --to-node and --to-preferred".to_owned(),
        )),
    }
}

/// The request: the target, the request id and how long the leader may take.
pub(crate) fn request(
    target: Target,
    request_id: &str,
    timeout: Duration,
) -> Result<admin::TransferLeadershipRequest, CliError> {
    let timeout_ms = u32::try_from(timeout.as_millis())
        .ok()
        .filter(|ms| *ms <= TRANSFER_LEADERSHIP_TIMEOUT_MAX_MS)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "failover: --timeout-ms is at most {TRANSFER_LEADERSHIP_TIMEOUT_MAX_MS}"
            ))
        })?;
    Ok(admin::TransferLeadershipRequest {
        request_id: request_id.to_owned(),
        target: Some(target),
        timeout_ms,
    })
}

/// The leader's public address a `not_leader` refusal names, if the status is one.
pub(crate) fn redirect(status: &Status) -> Option<String> {
    if status.code() != Code::FailedPrecondition || !status.message().starts_with("not_leader") {
        return None;
    }
    status
        .metadata()
        .get(LEADER_ADDRESS_METADATA_KEY)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .map(str::to_owned)
}

/// Whether `response` is `node_id` reporting itself leader.
pub(crate) fn confirms(response: &admin::GetClusterStatusResponse, node_id: u64) -> bool {
    response.answering_node_id == node_id && leads(response)
}

fn summary(nodes: &[admin::NodeStatus], node_id: u64) -> LeaderSummary {
    let node = nodes.iter().find(|node| node.node_id == node_id);
    LeaderSummary {
        node_id,
        site: node.map_or(admin::Site::Unspecified as i32, |node| node.site),
        public_address: node
            .map(|node| node.public_address.clone())
            .unwrap_or_default(),
    }
}

/// The member whose public address is the dialer's.
fn member_at(nodes: &[admin::NodeStatus], dialer: &Dialer) -> Option<u64> {
    let address = authority(dialer.url());
    nodes
        .iter()
        .find(|node| {
            !node.public_address.is_empty() && node.public_address.to_ascii_lowercase() == address
        })
        .map(|node| node.node_id)
}

fn describe_target(target: &Target) -> String {
    match target {
        Target::NodeId(node_id) => format!("node {node_id}"),
        Target::Site(site) => format!("site {}", words::site(*site)),
    }
}

pub(crate) async fn run(context: &mut Context<'_>, args: FailoverArgs) -> Result<(), CliError> {
    let timeout = context.session.call_timeout();
    // The arguments alone, before asking anyone: a usage error needs no cluster.
    target(&args, admin::Site::Tokyo as i32)?;
    request(Target::NodeId(0), &context.request_id, timeout)?;

    // Where is the leader (and, for --to-preferred, where do operators want it)?
    let before = context
        .call(|link| async move {
            link.admin()
                .get_cluster_status(admin::GetClusterStatusRequest {})
                .await
        })
        .await?;
    let request = request(
        target(&args, before.preferred_site)?,
        &context.request_id,
        timeout,
    )?;
    let wanted = request
        .target
        .as_ref()
        .map(describe_target)
        .unwrap_or_default();
    let mut members = before.nodes.clone();
    let leader_address = before
        .leader_node_id
        .map(|leader| summary(&members, leader).public_address)
        .filter(|address| !address.is_empty());
    let mut dialer = match &leader_address {
        Some(address) => context.session.dialer_for_address(address)?,
        None => context.session.current_dialer(),
    };
    context.note(&format!(
        "asking {} to move leadership to {wanted}; request id {}",
        dialer.url(),
        context.request_id
    ));

    // The transfer, following `not_leader` refusals to the leader.
    let deadline = Instant::now() + timeout + CONFIRMATION_GRACE;
    let mut sent_at: Option<Instant> = None;
    let mut hops = 0;
    let response = loop {
        let link = dialer.connect().await?;
        sent_at.get_or_insert_with(Instant::now);
        let wait = deadline.saturating_duration_since(Instant::now());
        let mut client = link.with_deadline(Some(wait)).admin();
        let call = client.transfer_leadership(request.clone());
        match tokio::time::timeout(wait, call).await {
            Ok(Ok(response)) => break response.into_inner(),
            Ok(Err(status)) => {
                let Some(address) = redirect(&status) else {
                    return Err(status.into());
                };
                hops += 1;
                if hops > LEADER_HOPS_MAX {
                    return Err(Status::unavailable(format!(
                        "leadership kept moving: {LEADER_HOPS_MAX} nodes in a row answered \
                         not_leader; last: {}",
                        status.message()
                    ))
                    .into());
                }
                let next = context.session.dialer_for_address(&address)?;
                context.note(&format!(
                    "{} does not lead; following it to the leader at {}",
                    dialer.url(),
                    next.url()
                ));
                dialer = next;
            }
            Err(_) => {
                return Err(Status::deadline_exceeded(format!(
                    "{} did not answer the transfer within {} ms",
                    dialer.url(),
                    wait.as_millis()
                ))
                .into());
            }
        }
    };
    let old_leader_id = member_at(&members, &dialer).or(before.leader_node_id);
    let new_leader_id = response.new_leader_node_id;

    // Confirmation: the new leader reports itself leader.
    let confirm_at: Vec<Dialer> = match members
        .iter()
        .find(|node| node.node_id == new_leader_id && !node.public_address.is_empty())
    {
        Some(node) => vec![context.session.dialer_for_address(&node.public_address)?],
        None => context.session.dialers(),
    };
    let confirmed = loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        let answers = ask_every(
            &confirm_at,
            wait.clamp(Duration::from_millis(1), context.session.call_timeout()),
        )
        .await;
        if let Some(answer) = answers.into_iter().find_map(|answer| {
            answer
                .result
                .ok()
                .filter(|response| confirms(response, new_leader_id))
        }) {
            break answer;
        }
        if Instant::now() >= deadline {
            return Err(Status::deadline_exceeded(format!(
                "node {new_leader_id} was named the new leader but did not report itself leader \
                 within {} ms; see `swctl status`",
                (timeout + CONFIRMATION_GRACE).as_millis()
            ))
            .into());
        }
        tokio::time::sleep(CONFIRMATION_POLL_INTERVAL).await;
    };
    let write_pause_upper_bound = sent_at.map(|sent| sent.elapsed()).unwrap_or_default();
    if !confirmed.nodes.is_empty() {
        members = confirmed.nodes.clone();
    }
    let report = FailoverReport {
        old_leader: old_leader_id.map(|node_id| summary(&members, node_id)),
        new_leader: summary(&members, new_leader_id),
        moved: old_leader_id != Some(new_leader_id),
        term: confirmed.term,
        write_pause_upper_bound,
        request_id: context.request_id.clone(),
    };
    if let Some(site) = args.to_site
        && report.new_leader.site != site.wire() as i32
    {
        return Err(CliError::Failed(format!(
            "leadership went to node {} at {}, not to {}",
            new_leader_id,
            words::site(report.new_leader.site),
            words::site(site.wire() as i32)
        )));
    }
    context.printer.result(
        || cluster::failover(&report),
        || cluster::failover_json(&report),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tonic::metadata::MetadataMap;

    use super::*;
    use crate::args::SiteArg;
    use crate::commands::status::tests::{follower_answer, leader_answer};

    fn args(to_site: Option<SiteArg>, to_node: Option<u64>) -> FailoverArgs {
        FailoverArgs {
            to_site,
            to_node,
            to_preferred: false,
        }
    }

    const NO_PREFERENCE: i32 = admin::Site::Unspecified as i32;

    /// The request carries the target, the request id and the timeout; more than 60 s, or no
    /// target or two, is refused locally (exit 2); `--to-preferred` goes to the cluster's
    /// preferred site, and is refused when there is none.
    #[test]
    fn requests() {
        let request = request(
            target(&args(Some(SiteArg::Osaka), None), NO_PREFERENCE).unwrap(),
            "move-1",
            Duration::from_millis(5_000),
        )
        .unwrap();
        assert_eq!(request.request_id, "move-1");
        assert_eq!(request.timeout_ms, 5_000);
        assert_eq!(
            request.target,
            Some(Target::Site(admin::Site::Osaka as i32))
        );
        let node = target(&args(None, Some(3)), NO_PREFERENCE).unwrap();
        let request = super::request(node, "x", Duration::from_secs(60)).unwrap();
        assert_eq!(request.target, Some(Target::NodeId(3)));
        assert_eq!(request.timeout_ms, 60_000);

        let too_long = super::request(Target::NodeId(3), "x", Duration::from_millis(60_001));
        assert_eq!(too_long.unwrap_err().exit().code(), 2);
        assert_eq!(
            target(&args(None, None), NO_PREFERENCE)
                .unwrap_err()
                .exit()
                .code(),
            2
        );
        assert_eq!(
            target(&args(Some(SiteArg::Tokyo), Some(1)), NO_PREFERENCE)
                .unwrap_err()
                .exit()
                .code(),
            2
        );
        let preferred = FailoverArgs {
            to_site: None,
            to_node: None,
            to_preferred: true,
        };
        assert_eq!(
            target(&preferred, admin::Site::Tokyo as i32).unwrap(),
            Target::Site(admin::Site::Tokyo as i32)
        );
        assert_eq!(
            target(&preferred, NO_PREFERENCE).unwrap_err().exit().code(),
            2
        );
    }

    /// Only a FAILED_PRECONDITION `not_leader` refusal with the leader's address is followed;
    /// other refusals (a target that is not a voter) are final.
    #[test]
    fn redirects() {
        let mut metadata = MetadataMap::new();
        metadata.insert(
            LEADER_ADDRESS_METADATA_KEY,
            "127.0.0.1:7402".parse().unwrap(),
        );
        let refusal = Status::with_metadata(
            Code::FailedPrecondition,
            "not_leader: cluster operations run on the leader; send it to 127.0.0.1:7402",
            metadata.clone(),
        );
        assert_eq!(redirect(&refusal).as_deref(), Some("127.0.0.1:7402"));
        let no_leader = Status::failed_precondition("not_leader: no leader is known now");
        assert_eq!(redirect(&no_leader), None);
        let membership = Status::failed_precondition("membership: node 99 is not a voter");
        assert_eq!(redirect(&membership), None);
        let unavailable = Status::with_metadata(Code::Unavailable, "not_leader: x", metadata);
        assert_eq!(redirect(&unavailable), None);
    }

    /// Only the new leader's own answer saying it leads confirms the transfer: not a follower
    /// naming it, not the old leader still leading.
    #[test]
    fn confirmation() {
        let all = [1, 2, 3, 4, 5];
        assert!(confirms(&leader_answer(3, 4, 120, &[]), 3));
        assert!(!confirms(&leader_answer(1, 3, 120, &[]), 3));
        assert!(!confirms(&follower_answer(2, Some(3), 4, 120, &all), 3));
        // The new leader knows it won but has not yet taken the role.
        assert!(!confirms(&follower_answer(3, Some(3), 4, 120, &all), 3));
    }

    /// Leaders are summed up from the membership; an unknown node has no site or address.
    #[test]
    fn summaries() {
        let nodes = leader_answer(1, 3, 100, &[(3, 100, admin::NodeHealth::Healthy)]).nodes;
        assert_eq!(
            summary(&nodes, 3),
            LeaderSummary {
                node_id: 3,
                site: admin::Site::Osaka as i32,
                public_address: "127.0.0.1:7402".to_owned(),
            }
        );
        assert_eq!(summary(&nodes, 9).site, 0);
    }
}
