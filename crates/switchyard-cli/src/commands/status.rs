//! `status`: the cluster as every node sees it, merged into one row per node.
//!
//! Every endpoint given is asked at once for `GetClusterStatus`. Each node reports itself fully
//! (role, term, log positions, health); the leader also reports its view of the others (the
//! index each has matched, when each last acknowledged it, whether it is reachable). [`merge`]
//! turns the answers into a [`ClusterView`]: a node that answered is shown as it reports itself,
//! completed with the leader's view; a node whose endpoint did not answer is `unreachable`, with
//! the leader's view of it when there is one; a node no endpoint names is shown as the leader
//! sees it. Endpoints are matched to nodes by the public address the membership records.
//!
//! The verdict: healthy when every voter is healthy, a leader is known and every answering node
//! names it; degraded (exit 6) otherwise. When no endpoint answers at all there is nothing to
//! merge, and the command fails like any other call (exit 5, or 4 when refused).
//!
//! The merge is a pure function of the answers, unit-tested below; the fan-out and `--watch`
//! loop around it.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

use switchyard_proto::admin::v1 as admin;
use tokio::task::JoinSet;
use tonic::{Code, Status};

use super::Context;
use crate::args::StatusArgs;
use crate::connect::{Dialer, authority};
use crate::error::{CliError, code_name};
use crate::output::{cluster, words};

/// Clears a terminal and moves the cursor home, between `--watch` refreshes.
const CLEAR_SCREEN: &str = "\u{1b}[2J\u{1b}[H";

/// What one endpoint answered.
#[derive(Debug)]
pub(crate) struct EndpointAnswer {
    /// The endpoint as configured.
    pub(crate) url: String,
    pub(crate) result: Result<admin::GetClusterStatusResponse, Status>,
}

/// Whose word a row's figures are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The node's own report.
    Node,
    /// The leader's view of the node (its endpoint was not asked or did not answer).
    Leader,
    /// Nobody who answered reports the node beyond its membership entry.
    Nobody,
}

/// How the node's endpoint fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Its endpoint answered.
    Answered { url: String },
    /// Its endpoint was asked and did not answer.
    NoAnswer { url: String, error: String },
    /// No endpoint given is the node's address.
    NotAsked,
}

/// One node, merged.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeView {
    pub(crate) node_id: u64,
    /// Empty in this release (the membership does not record names).
    pub(crate) name: String,
    /// A wire `Site`.
    pub(crate) site: i32,
    pub(crate) raft_address: String,
    pub(crate) public_address: String,
    pub(crate) voter: bool,
    /// Whether this is the leader of the view.
    pub(crate) leader: bool,
    pub(crate) reach: Reach,
    pub(crate) source: Source,
    /// A wire `NodeRole` (unspecified when unknown).
    pub(crate) role: i32,
    pub(crate) term: Option<u64>,
    pub(crate) last_log_index: Option<u64>,
    pub(crate) last_applied_index: Option<u64>,
    pub(crate) committed_index: Option<u64>,
    /// The index the leader knows the node has matched (the leader's view).
    pub(crate) matched_index: Option<u64>,
    /// Milliseconds since the node last acknowledged the leader (the leader's view).
    pub(crate) since_last_acknowledgement_ms: Option<u64>,
    /// Entries the node's log is behind the leader's last log index.
    pub(crate) lag: Option<u64>,
    /// A wire `NodeHealth` (unspecified when unknown).
    pub(crate) health: i32,
    pub(crate) health_detail: String,
}

/// One endpoint asked, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EndpointView {
    pub(crate) url: String,
    /// The node that answered there.
    pub(crate) node_id: Option<u64>,
    /// Why it did not answer.
    pub(crate) error: Option<String>,
}

/// The cluster, merged from every answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClusterView {
    /// Voters first, then learners, each by node id.
    pub(crate) nodes: Vec<NodeView>,
    /// The leader: the answering node that leads with the highest term, or else the node most
    /// answering nodes name.
    pub(crate) leader_node_id: Option<u64>,
    /// Whether every answering node names that leader.
    pub(crate) leader_agreed: bool,
    /// (answering node, the leader it names), by answering node.
    pub(crate) leader_claims: Vec<(u64, Option<u64>)>,
    /// The leader's term (its own word, or the highest term of the nodes naming it).
    pub(crate) term: Option<u64>,
    /// The leader's last log index, which lags are measured from (when the leader answered).
    pub(crate) leader_last_log_index: Option<u64>,
    /// The cluster epoch the leader (or else the highest any answering node) reports.
    pub(crate) cluster_epoch: Option<u64>,
    /// The site where operators want the leader (a wire `Site`), as the leader (or else any
    /// answering node) is configured; `None` without a preference.
    pub(crate) preferred_site: Option<i32>,
    /// Whether the leader is away from the preferred site: not a problem (the service runs
    /// normally), a note for the operator, who may move it back.
    pub(crate) leader_away_from_preferred_site: bool,
    pub(crate) endpoints: Vec<EndpointView>,
    /// Why the cluster is degraded; empty when it is healthy.
    pub(crate) problems: Vec<String>,
}

impl ClusterView {
    /// How many endpoints answered.
    pub(crate) fn answered(&self) -> usize {
        self.endpoints
            .iter()
            .filter(|endpoint| endpoint.error.is_none())
            .count()
    }

    /// The verdict: healthy, or degraded with the reasons.
    pub(crate) fn verdict(&self) -> Result<(), CliError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(CliError::Degraded(self.problems.join("; ")))
        }
    }
}

/// The answering node's entry for itself.
pub(crate) fn self_entry(response: &admin::GetClusterStatusResponse) -> Option<&admin::NodeStatus> {
    entry(response, response.answering_node_id)
}

fn entry(response: &admin::GetClusterStatusResponse, node_id: u64) -> Option<&admin::NodeStatus> {
    response.nodes.iter().find(|node| node.node_id == node_id)
}

/// Whether the answering node says it leads: it names itself and its role is leader.
pub(crate) fn leads(response: &admin::GetClusterStatusResponse) -> bool {
    response.leader_node_id == Some(response.answering_node_id)
        && self_entry(response).is_some_and(|node| node.role == admin::NodeRole::Leader as i32)
}

/// The leader of the answers: the answering node that leads with the highest term; otherwise the
/// node named by most answering nodes (ties: the highest term among those naming it, then the
/// lowest id).
fn choose_leader(reports: &BTreeMap<u64, (&str, &admin::GetClusterStatusResponse)>) -> Option<u64> {
    if let Some((_, response)) = reports
        .values()
        .filter(|(_, response)| leads(response))
        .max_by_key(|(_, response)| (response.term, Reverse(response.answering_node_id)))
    {
        return Some(response.answering_node_id);
    }
    let mut named: BTreeMap<u64, (usize, u64)> = BTreeMap::new();
    for (_, response) in reports.values() {
        if let Some(leader) = response.leader_node_id {
            let (count, term) = named.entry(leader).or_insert((0, 0));
            *count += 1;
            *term = (*term).max(response.term);
        }
    }
    named
        .into_iter()
        .max_by_key(|(node_id, (count, term))| (*count, *term, Reverse(*node_id)))
        .map(|(node_id, _)| node_id)
}

/// Merges the answers of every endpoint into one view of the cluster.
pub(crate) fn merge(answers: &[EndpointAnswer]) -> ClusterView {
    // The first answer of each node (an address listed twice answers twice).
    let mut reports: BTreeMap<u64, (&str, &admin::GetClusterStatusResponse)> = BTreeMap::new();
    for answer in answers {
        if let Ok(response) = &answer.result {
            reports
                .entry(response.answering_node_id)
                .or_insert((answer.url.as_str(), response));
        }
    }
    let leader_claims: Vec<(u64, Option<u64>)> = reports
        .iter()
        .map(|(node_id, (_, response))| (*node_id, response.leader_node_id))
        .collect();
    let leader_node_id = choose_leader(&reports);
    let leader_agreed = leader_node_id.is_some()
        && !leader_claims.is_empty()
        && leader_claims
            .iter()
            .all(|(_, named)| *named == leader_node_id);
    // The leader's own report, which carries its view of the others.
    let leader_report = leader_node_id
        .and_then(|leader| reports.get(&leader))
        .map(|(_, response)| *response)
        .filter(|response| leads(response));

    // Every node anyone knows of, with its membership entry: the leader's first, then each
    // node's own, then anyone's.
    let mut members: BTreeMap<u64, admin::NodeStatus> = BTreeMap::new();
    if let Some(report) = leader_report {
        for node in &report.nodes {
            members.insert(node.node_id, node.clone());
        }
    }
    for (_, response) in reports.values() {
        if let Some(node) = self_entry(response) {
            members.entry(node.node_id).or_insert_with(|| node.clone());
        }
    }
    for (_, response) in reports.values() {
        for node in &response.nodes {
            members.entry(node.node_id).or_insert_with(|| node.clone());
        }
    }
    for node_id in reports.keys() {
        members
            .entry(*node_id)
            .or_insert_with(|| admin::NodeStatus {
                node_id: *node_id,
                voter: true,
                ..Default::default()
            });
    }

    // Endpoints that did not answer, matched to nodes by public address.
    let mut endpoints = Vec::with_capacity(answers.len());
    let mut no_answer: BTreeMap<u64, (String, String)> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut unmatched = Vec::new();
    for answer in answers {
        match &answer.result {
            Ok(response) => endpoints.push(EndpointView {
                url: answer.url.clone(),
                node_id: Some(response.answering_node_id),
                error: None,
            }),
            Err(status) => {
                let error = format!("{}: {}", code_name(status.code()), status.message());
                let address = authority(&answer.url);
                let node_id = members
                    .values()
                    .find(|node| {
                        !node.public_address.is_empty()
                            && node.public_address.to_ascii_lowercase() == address
                    })
                    .map(|node| node.node_id);
                match node_id {
                    Some(node_id) if !reports.contains_key(&node_id) => {
                        no_answer
                            .entry(node_id)
                            .or_insert_with(|| (answer.url.clone(), error.clone()));
                    }
                    Some(_) => {}
                    None => unmatched.push(format!("{} did not answer ({error})", answer.url)),
                }
                endpoints.push(EndpointView {
                    url: answer.url.clone(),
                    node_id,
                    error: Some(error),
                });
            }
        }
    }

    let leader_last_log_index = leader_report
        .and_then(self_entry)
        .map(|node| node.last_log_index);
    let mut nodes: Vec<NodeView> = members
        .values()
        .map(|member| {
            let node_id = member.node_id;
            let own = reports
                .get(&node_id)
                .map(|(url, response)| (*url, *response, self_entry(response)));
            let leader_view = leader_report
                .filter(|report| report.answering_node_id != node_id)
                .and_then(|report| entry(report, node_id));
            // What any answering node says of its role (a follower knows who leads).
            let named_role = leader_view.map(|node| node.role).or_else(|| {
                reports
                    .values()
                    .filter_map(|(_, response)| entry(response, node_id))
                    .map(|node| node.role)
                    .find(|role| *role != admin::NodeRole::Unspecified as i32)
            });
            let mut view = NodeView {
                node_id,
                name: member.name.clone(),
                site: member.site,
                raft_address: member.raft_address.clone(),
                public_address: member.public_address.clone(),
                voter: member.voter,
                leader: Some(node_id) == leader_node_id,
                reach: Reach::NotAsked,
                source: Source::Nobody,
                role: named_role.unwrap_or(admin::NodeRole::Unspecified as i32),
                term: None,
                last_log_index: None,
                last_applied_index: None,
                committed_index: None,
                matched_index: leader_view.map(|node| node.last_log_index),
                since_last_acknowledgement_ms: leader_view
                    .and_then(|node| node.since_last_acknowledgement_ms),
                lag: None,
                health: admin::NodeHealth::Unspecified as i32,
                health_detail: String::new(),
            };
            match (own, no_answer.get(&node_id), leader_view) {
                (Some((url, response, own_entry)), _, _) => {
                    view.reach = Reach::Answered {
                        url: url.to_owned(),
                    };
                    view.source = Source::Node;
                    view.term = Some(response.term);
                    match own_entry {
                        Some(node) => {
                            view.role = node.role;
                            view.term = Some(node.term);
                            view.last_log_index = Some(node.last_log_index);
                            view.last_applied_index = Some(node.last_applied_index);
                            view.committed_index = Some(node.committed_index);
                            view.health = node.health;
                            view.health_detail = node.health_detail.clone();
                        }
                        None => {
                            view.health_detail =
                                "answered, but is not in its own membership".to_owned();
                        }
                    }
                }
                (None, Some((url, error)), leader_view) => {
                    view.reach = Reach::NoAnswer {
                        url: url.clone(),
                        error: error.clone(),
                    };
                    view.health = admin::NodeHealth::Unreachable as i32;
                    // Connection failures already name the endpoint.
                    view.health_detail = if error.contains(url.as_str()) {
                        format!("no answer ({error})")
                    } else {
                        format!("no answer from {url} ({error})")
                    };
                    if let Some(node) = leader_view {
                        view.source = Source::Leader;
                        view.last_log_index = Some(node.last_log_index);
                        view.health_detail
                            .push_str(&format!("; the leader sees it {}", leader_words(node)));
                    }
                }
                (None, None, Some(node)) => {
                    view.source = Source::Leader;
                    view.last_log_index = Some(node.last_log_index);
                    view.health = node.health;
                    view.health_detail =
                        format!("not asked; the leader sees it {}", { leader_words(node) });
                }
                (None, None, None) => {
                    view.health_detail = if view.leader {
                        "not asked; the nodes that answered name it leader".to_owned()
                    } else {
                        "not asked, and no leader answered".to_owned()
                    };
                }
            }
            view.lag = leader_last_log_index
                .zip(view.last_log_index)
                .map(|(leader_last, last)| leader_last.saturating_sub(last));
            view
        })
        .collect();
    nodes.sort_by_key(|node| (!node.voter, node.node_id));

    let term = leader_report.map(|report| report.term).or_else(|| {
        leader_node_id.and_then(|leader| {
            reports
                .values()
                .filter(|(_, response)| response.leader_node_id == Some(leader))
                .map(|(_, response)| response.term)
                .max()
        })
    });
    let cluster_epoch = leader_report
        .map(|report| report.cluster_epoch)
        .or_else(|| {
            reports
                .values()
                .map(|(_, response)| response.cluster_epoch)
                .max()
        });

    let preferred_site = leader_report
        .map(|report| report.preferred_site)
        .or_else(|| {
            reports
                .values()
                .map(|(_, response)| response.preferred_site)
                .find(|site| *site != admin::Site::Unspecified as i32)
        })
        .filter(|site| *site != admin::Site::Unspecified as i32);
    let leader_away_from_preferred_site = preferred_site.is_some_and(|preferred| {
        leader_node_id
            .and_then(|leader| nodes.iter().find(|node| node.node_id == leader))
            .is_some_and(|leader| leader.site != preferred)
    });

    if reports.is_empty() {
        problems.push("no endpoint answered".to_owned());
    } else if leader_node_id.is_none() {
        problems.push("no leader is known".to_owned());
    } else if !leader_agreed {
        problems.push(format!(
            "the answering nodes disagree on the leader: {}",
            describe_claims(&leader_claims)
        ));
    }
    for node in nodes.iter().filter(|node| node.voter) {
        if node.health != admin::NodeHealth::Healthy as i32 {
            let health = match admin::NodeHealth::try_from(node.health) {
                Ok(admin::NodeHealth::Unspecified) => "health unknown".to_owned(),
                _ => words::node_health(node.health),
            };
            let mut problem = format!(
                "node {} ({}) {health}",
                node.node_id,
                words::site(node.site)
            );
            if !node.health_detail.is_empty() {
                problem.push_str(&format!(": {}", node.health_detail));
            }
            problems.push(problem);
        }
    }
    problems.extend(unmatched);

    ClusterView {
        nodes,
        leader_node_id,
        leader_agreed,
        leader_claims,
        term,
        leader_last_log_index,
        cluster_epoch,
        preferred_site,
        leader_away_from_preferred_site,
        endpoints,
        problems,
    }
}

/// The leader's view of a node in words: `healthy, last acknowledged 12 ms ago`.
fn leader_words(node: &admin::NodeStatus) -> String {
    let mut text = words::node_health(node.health);
    if !node.health_detail.is_empty() {
        text.push_str(&format!(" ({})", node.health_detail));
    }
    if let Some(ms) = node.since_last_acknowledgement_ms {
        text.push_str(&format!(", last acknowledged {ms} ms ago"));
    }
    text
}

/// `node 1 (named by 1, 2, 3), none (named by 4)`.
fn describe_claims(claims: &[(u64, Option<u64>)]) -> String {
    let mut by_leader: BTreeMap<Option<u64>, Vec<String>> = BTreeMap::new();
    for (answering, named) in claims {
        by_leader
            .entry(*named)
            .or_default()
            .push(answering.to_string());
    }
    by_leader
        .into_iter()
        .map(|(named, by)| {
            let named = named.map_or_else(|| "none".to_owned(), |id| format!("node {id}"));
            format!("{named} (named by {})", by.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// When no endpoint answered: the error to fail with. A refusal (PERMISSION_DENIED, ...) wins
/// over unavailability, which is summed up over every endpoint.
pub(crate) fn nobody_answered(answers: &[EndpointAnswer]) -> CliError {
    let errors: Vec<&Status> = answers
        .iter()
        .filter_map(|answer| answer.result.as_ref().err())
        .collect();
    if let Some(refusal) = errors.iter().find(|status| !transient(status.code())) {
        return Status::new(refusal.code(), refusal.message()).into();
    }
    let code = errors
        .first()
        .map_or(Code::Unavailable, |status| status.code());
    let reasons: Vec<String> = answers
        .iter()
        .filter_map(|answer| {
            answer
                .result
                .as_ref()
                .err()
                .map(|status| format!("{}: {}", answer.url, status.message()))
        })
        .collect();
    Status::new(
        code,
        format!("no endpoint answered: {}", reasons.join("; ")),
    )
    .into()
}

/// Whether a failure may pass by itself (a node down, a deadline): anything else is a refusal
/// every node would repeat.
fn transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Unknown
    )
}

/// Asks every endpoint at once; the answers come back in the order of the dialers.
pub(crate) async fn ask_every(dialers: &[Dialer], call_timeout: Duration) -> Vec<EndpointAnswer> {
    let mut tasks = JoinSet::new();
    for (index, dialer) in dialers.iter().enumerate() {
        let dialer = dialer.clone();
        tasks.spawn(async move { (index, ask(&dialer, call_timeout).await) });
    }
    let mut results: Vec<Option<Result<admin::GetClusterStatusResponse, Status>>> =
        dialers.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            results[index] = Some(result);
        }
    }
    dialers
        .iter()
        .zip(results)
        .map(|(dialer, result)| EndpointAnswer {
            url: dialer.url().to_owned(),
            result: result.unwrap_or_else(|| Err(Status::internal("the request task failed"))),
        })
        .collect()
}

/// One endpoint's `GetClusterStatus`, connecting included, within `call_timeout`.
async fn ask(
    dialer: &Dialer,
    call_timeout: Duration,
) -> Result<admin::GetClusterStatusResponse, Status> {
    let link = dialer.connect().await?;
    let mut client = link.with_deadline(Some(call_timeout)).admin();
    let call = client.get_cluster_status(admin::GetClusterStatusRequest {});
    match tokio::time::timeout(call_timeout, call).await {
        Ok(result) => result.map(tonic::Response::into_inner),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "no answer from {} within {} ms",
            dialer.url(),
            call_timeout.as_millis()
        ))),
    }
}

/// Milliseconds since the Unix epoch now.
fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

pub(crate) async fn run(context: &mut Context<'_>, args: StatusArgs) -> Result<(), CliError> {
    let dialers = context.session.dialers();
    let call_timeout = context.session.call_timeout();
    if !args.watch {
        let answers = ask_every(&dialers, call_timeout).await;
        let view = merge(&answers);
        if view.answered() == 0 {
            return Err(nobody_answered(&answers));
        }
        let observed_at = now_unix_ms();
        context.printer.result(
            || cluster::status(&view, None),
            || cluster::status_json(&view, observed_at),
        )?;
        return view.verdict();
    }

    let interval = Duration::from_millis(args.interval_ms);
    let mut refreshes: u64 = 0;
    loop {
        let answers = ask_every(&dialers, call_timeout).await;
        let view = merge(&answers);
        let verdict = if view.answered() == 0 {
            let error = nobody_answered(&answers);
            if let CliError::Status(status) = &error
                && !transient(status.code())
            {
                return Err(error);
            }
            Err(error)
        } else {
            view.verdict()
        };
        let observed_at = now_unix_ms();
        if context.printer.is_json() {
            context
                .printer
                .json_line(&cluster::status_json(&view, observed_at))?;
        } else {
            let mut text = CLEAR_SCREEN.to_owned();
            text.push_str(&cluster::status(&view, Some((observed_at, interval))));
            context.printer.text(&text)?;
        }
        refreshes += 1;
        if args.count == Some(refreshes) {
            return verdict;
        }
        // Ctrl-C ends the watch with the last verdict (a failure to listen for it only
        // disables that branch).
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            Ok(()) = tokio::signal::ctrl_c() => return verdict,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const LEADER: i32 = admin::NodeRole::Leader as i32;
    const FOLLOWER: i32 = admin::NodeRole::Follower as i32;
    const HEALTHY: i32 = admin::NodeHealth::Healthy as i32;

    fn site_of(node_id: u64) -> admin::Site {
        match node_id {
            1 | 2 => admin::Site::Tokyo,
            3 | 4 => admin::Site::Osaka,
            _ => admin::Site::Witness,
        }
    }

    pub(crate) fn url(node_id: u64) -> String {
        format!("http://127.0.0.1:740{}", node_id - 1)
    }

    /// A membership entry with nothing but the static facts, as a follower reports the others.
    pub(crate) fn member(node_id: u64) -> admin::NodeStatus {
        admin::NodeStatus {
            node_id,
            name: String::new(),
            site: site_of(node_id) as i32,
            raft_address: format!("127.0.0.1:750{}", node_id - 1),
            public_address: format!("127.0.0.1:740{}", node_id - 1),
            voter: true,
            ..Default::default()
        }
    }

    /// A node's report of itself.
    pub(crate) fn itself(node_id: u64, role: i32, term: u64, last: u64) -> admin::NodeStatus {
        admin::NodeStatus {
            role,
            term,
            last_log_index: last,
            last_applied_index: last,
            committed_index: last,
            health: HEALTHY,
            ..member(node_id)
        }
    }

    /// The leader `leader`'s answer: itself at `last`, each other node (id, matched, health).
    pub(crate) fn leader_answer(
        leader: u64,
        term: u64,
        last: u64,
        others: &[(u64, u64, admin::NodeHealth)],
    ) -> admin::GetClusterStatusResponse {
        let mut nodes = vec![itself(leader, LEADER, term, last)];
        for (node_id, matched, health) in others {
            nodes.push(admin::NodeStatus {
                role: FOLLOWER,
                last_log_index: *matched,
                health: *health as i32,
                health_detail: if *health == admin::NodeHealth::Unreachable {
                    "no answer for 4100 ms".to_owned()
                } else {
                    String::new()
                },
                since_last_acknowledgement_ms: Some(12),
                ..member(*node_id)
            });
        }
        nodes.sort_by_key(|node| node.node_id);
        admin::GetClusterStatusResponse {
            answering_node_id: leader,
            leader_node_id: Some(leader),
            term,
            cluster_epoch: 1,
            preferred_site: 0,
            nodes,
        }
    }

    /// A follower's answer: itself, the leader it names (role leader), the others bare.
    pub(crate) fn follower_answer(
        node_id: u64,
        leader: Option<u64>,
        term: u64,
        last: u64,
        all: &[u64],
    ) -> admin::GetClusterStatusResponse {
        let nodes = all
            .iter()
            .map(|other| {
                if *other == node_id {
                    itself(node_id, FOLLOWER, term, last)
                } else if Some(*other) == leader {
                    admin::NodeStatus {
                        role: LEADER,
                        ..member(*other)
                    }
                } else {
                    member(*other)
                }
            })
            .collect();
        admin::GetClusterStatusResponse {
            answering_node_id: node_id,
            leader_node_id: leader,
            term,
            cluster_epoch: 1,
            preferred_site: 0,
            nodes,
        }
    }

    fn ok(node_id: u64, response: admin::GetClusterStatusResponse) -> EndpointAnswer {
        EndpointAnswer {
            url: url(node_id),
            result: Ok(response),
        }
    }

    fn down(node_id: u64) -> EndpointAnswer {
        EndpointAnswer {
            url: url(node_id),
            result: Err(Status::unavailable(format!(
                "cannot connect to {}: connection refused",
                url(node_id)
            ))),
        }
    }

    const ALL: [u64; 5] = [1, 2, 3, 4, 5];

    fn healthy_cluster() -> Vec<EndpointAnswer> {
        let others: Vec<(u64, u64, admin::NodeHealth)> = [2, 3, 4, 5]
            .iter()
            .map(|id| (*id, 100, admin::NodeHealth::Healthy))
            .collect();
        let mut answers = vec![ok(1, leader_answer(1, 3, 100, &others))];
        for node_id in [2, 3, 4, 5] {
            answers.push(ok(node_id, follower_answer(node_id, Some(1), 3, 98, &ALL)));
        }
        answers
    }

    /// Five healthy answers merge into five rows, each node's own figures, the leader's view
    /// added (acknowledgement times), lags measured from the leader's last log index; one
    /// leader, agreed, and nothing wrong.
    #[test]
    fn healthy_cluster_merges() {
        let view = merge(&healthy_cluster());
        assert_eq!(view.nodes.len(), 5);
        assert_eq!(view.leader_node_id, Some(1));
        assert!(view.leader_agreed);
        assert_eq!(view.term, Some(3));
        assert_eq!(view.leader_last_log_index, Some(100));
        assert_eq!(view.cluster_epoch, Some(1));
        assert_eq!(view.answered(), 5);
        assert_eq!(view.problems, Vec::<String>::new());
        assert!(view.verdict().is_ok());
        assert_eq!(view.nodes.iter().filter(|node| node.leader).count(), 1);

        let leader = &view.nodes[0];
        assert_eq!(
            (leader.node_id, leader.role, leader.lag),
            (1, LEADER, Some(0))
        );
        assert_eq!(leader.source, Source::Node);
        assert_eq!(leader.since_last_acknowledgement_ms, None);
        let follower = &view.nodes[2];
        assert_eq!(follower.node_id, 3);
        assert_eq!(follower.role, FOLLOWER);
        assert_eq!(follower.term, Some(3));
        assert_eq!(follower.last_log_index, Some(98));
        assert_eq!(follower.matched_index, Some(100));
        assert_eq!(follower.lag, Some(2));
        assert_eq!(follower.since_last_acknowledgement_ms, Some(12));
        assert_eq!(follower.site, admin::Site::Osaka as i32);
        assert_eq!(
            follower.reach,
            Reach::Answered {
                url: "http://127.0.0.1:7402".to_owned()
            }
        );
    }

    /// A node whose endpoint does not answer is unreachable, with the leader's view of it (its
    /// matched index, hence a lag); the cluster is degraded naming it.
    #[test]
    fn a_node_that_does_not_answer_is_unreachable() {
        let mut answers = healthy_cluster();
        answers[3] = down(4);
        let view = merge(&answers);
        assert_eq!(view.nodes.len(), 5);
        let node = &view.nodes[3];
        assert_eq!(node.node_id, 4);
        assert_eq!(node.health, admin::NodeHealth::Unreachable as i32);
        assert!(matches!(node.reach, Reach::NoAnswer { .. }), "{node:?}");
        assert_eq!(node.source, Source::Leader);
        assert_eq!(node.role, FOLLOWER);
        assert_eq!(node.last_log_index, Some(100));
        assert_eq!(node.lag, Some(0));
        assert_eq!(node.term, None);
        assert!(
            node.health_detail.starts_with(
                "no answer (UNAVAILABLE: cannot connect to http://127.0.0.1:7403: connection \
                 refused)"
            ),
            "{}",
            node.health_detail
        );
        assert!(
            node.health_detail.contains("the leader sees it healthy"),
            "{}",
            node.health_detail
        );
        assert!(view.leader_agreed);
        assert_eq!(view.problems.len(), 1, "{:?}", view.problems);
        assert!(
            view.problems[0].starts_with("node 4 (osaka) unreachable: no answer ("),
            "{:?}",
            view.problems
        );
        assert_eq!(view.verdict().unwrap_err().exit().code(), 6);
        assert_eq!(view.endpoints[3].node_id, Some(4));
        assert!(view.endpoints[3].error.is_some());
    }

    /// Without the leader's answer, the followers still say who leads; a node that is down is
    /// unreachable with no figures, and no lag can be measured.
    #[test]
    fn the_leader_does_not_answer() {
        let mut answers = healthy_cluster();
        answers[0] = down(1);
        let view = merge(&answers);
        assert_eq!(view.leader_node_id, Some(1));
        assert!(view.leader_agreed);
        assert_eq!(view.term, Some(3));
        assert_eq!(view.leader_last_log_index, None);
        let leader = &view.nodes[0];
        assert!(leader.leader);
        assert_eq!(leader.role, LEADER, "the followers name it leader");
        assert_eq!(leader.health, admin::NodeHealth::Unreachable as i32);
        assert_eq!(leader.source, Source::Nobody);
        assert!(view.nodes.iter().all(|node| node.lag.is_none()));
        assert_eq!(view.nodes[1].since_last_acknowledgement_ms, None);
        assert!(view.verdict().is_err());
    }

    /// Nodes that name different leaders (or none) make the view degraded even when every node
    /// is healthy; the leader that says it leads with the highest term is chosen.
    #[test]
    fn disagreement_on_the_leader() {
        let mut answers = healthy_cluster();
        answers[1] = ok(2, follower_answer(2, None, 3, 98, &ALL));
        answers[4] = ok(5, follower_answer(5, Some(3), 2, 90, &ALL));
        let view = merge(&answers);
        assert_eq!(view.leader_node_id, Some(1));
        assert!(!view.leader_agreed);
        assert_eq!(
            view.problems,
            [
                "the answering nodes disagree on the leader: none (named by 2), node 1 (named by 1, \
              3, 4), node 3 (named by 5)"
            ]
        );

        // Two nodes both say they lead: the higher term wins.
        let mut answers = healthy_cluster();
        let healthy: Vec<(u64, u64, admin::NodeHealth)> = [1, 2, 4, 5]
            .iter()
            .map(|id| (*id, 120, admin::NodeHealth::Healthy))
            .collect();
        answers[2] = ok(3, leader_answer(3, 4, 120, &healthy));
        let view = merge(&answers);
        assert_eq!(view.leader_node_id, Some(3));
        assert_eq!(view.term, Some(4));
        assert!(!view.leader_agreed);
        assert_eq!(view.nodes.iter().filter(|node| node.leader).count(), 1);
    }

    /// No leader anywhere: degraded, and no node is marked.
    #[test]
    fn no_leader() {
        let answers: Vec<EndpointAnswer> = ALL
            .iter()
            .map(|id| ok(*id, follower_answer(*id, None, 5, 100, &ALL)))
            .collect();
        let view = merge(&answers);
        assert_eq!(view.leader_node_id, None);
        assert!(!view.leader_agreed);
        assert_eq!(view.problems, ["no leader is known"]);
        assert!(view.nodes.iter().all(|node| !node.leader));
    }

    /// Nodes no endpoint names are shown as the leader sees them (a lagging node degrades the
    /// view); an endpoint that matches no node is reported as a problem of its own.
    #[test]
    fn nodes_not_asked_and_unknown_endpoints() {
        let others = [
            (2, 100, admin::NodeHealth::Healthy),
            (3, 100, admin::NodeHealth::Healthy),
            (4, 10, admin::NodeHealth::Lagging),
            (5, 100, admin::NodeHealth::Healthy),
        ];
        let answers = vec![
            ok(1, leader_answer(1, 3, 100, &others)),
            EndpointAnswer {
                url: "http://10.0.0.9:7400".to_owned(),
                result: Err(Status::unavailable("cannot connect")),
            },
        ];
        let view = merge(&answers);
        assert_eq!(view.nodes.len(), 5);
        let lagging = &view.nodes[3];
        assert_eq!(lagging.reach, Reach::NotAsked);
        assert_eq!(lagging.source, Source::Leader);
        assert_eq!(lagging.lag, Some(90));
        assert_eq!(lagging.health, admin::NodeHealth::Lagging as i32);
        assert!(
            lagging
                .health_detail
                .starts_with("not asked; the leader sees it lagging")
        );
        assert_eq!(view.nodes[1].health, HEALTHY);
        assert_eq!(view.problems.len(), 2, "{:?}", view.problems);
        assert!(view.problems[0].starts_with("node 4 (osaka) lagging"));
        assert_eq!(
            view.problems[1],
            "http://10.0.0.9:7400 did not answer (UNAVAILABLE: cannot connect)"
        );
        assert_eq!(view.endpoints[1].node_id, None);
    }

    /// Learners come after voters and do not make the view degraded; a stalled voter does.
    #[test]
    fn learners_and_stalled_voters() {
        let mut answers = healthy_cluster();
        let Ok(leader) = &mut answers[0].result else {
            unreachable!()
        };
        leader.nodes.push(admin::NodeStatus {
            node_id: 6,
            voter: false,
            role: admin::NodeRole::Learner as i32,
            health: admin::NodeHealth::Lagging as i32,
            last_log_index: 3,
            public_address: "127.0.0.1:7405".to_owned(),
            ..Default::default()
        });
        let Ok(stalled) = &mut answers[1].result else {
            unreachable!()
        };
        stalled.nodes[1].health = admin::NodeHealth::StorageStalled as i32;
        stalled.nodes[1].health_detail = "a disk sync exceeded its bound".to_owned();
        let view = merge(&answers);
        assert_eq!(view.nodes.len(), 6);
        assert_eq!(view.nodes[5].node_id, 6);
        assert!(!view.nodes[5].voter);
        assert_eq!(
            view.problems,
            ["node 2 (tokyo) storage-stalled: a disk sync exceeded its bound"]
        );
    }

    /// The same node answering at two endpoints counts once.
    #[test]
    fn duplicate_endpoints() {
        let mut answers = healthy_cluster();
        answers.push(EndpointAnswer {
            url: "http://localhost:7400".to_owned(),
            result: Ok(leader_answer(1, 3, 101, &[])),
        });
        let view = merge(&answers);
        assert_eq!(view.nodes.len(), 5);
        assert_eq!(view.leader_last_log_index, Some(100));
        assert_eq!(view.endpoints.len(), 6);
        assert!(view.verdict().is_ok());
    }

    /// When nobody answers, a refusal wins (exit 4 for PERMISSION_DENIED); otherwise the
    /// failure is UNAVAILABLE (exit 5) naming every endpoint.
    #[test]
    fn nobody_answered_errors() {
        let answers = vec![
            down(1),
            EndpointAnswer {
                url: url(2),
                result: Err(Status::permission_denied("not_permitted: not an operator")),
            },
        ];
        assert_eq!(merge(&answers).answered(), 0);
        assert_eq!(nobody_answered(&answers).exit().code(), 4);
        let answers = vec![down(1), down(2)];
        let error = nobody_answered(&answers);
        assert_eq!(error.exit().code(), 5);
        let text = error.to_string();
        assert!(
            text.contains("http://127.0.0.1:7400: cannot connect"),
            "{text}"
        );
        assert!(
            text.contains("http://127.0.0.1:7401: cannot connect"),
            "{text}"
        );
        let problems = merge(&answers).problems;
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0], "no endpoint answered");
    }
}
