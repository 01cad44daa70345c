//! The operator commands' results, in both forms: the merged cluster status (`status`) and a
//! planned failover's report (`failover`).
//!
//! The JSON follows the conventions of [`super::json`]: every field always present, `null` when
//! unknown, enums as words.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_proto::admin::v1 as admin;

use super::table::{Table, key_values};
use super::words;
use crate::commands::failover::{FailoverReport, LeaderSummary};
use crate::commands::status::{ClusterView, NodeView, Reach, Source};

/// A role word, or `None` when unknown.
fn role(value: i32) -> Option<String> {
    (value != admin::NodeRole::Unspecified as i32).then(|| words::node_role(value))
}

/// A health word, or `None` when unknown.
fn health(value: i32) -> Option<String> {
    (value != admin::NodeHealth::Unspecified as i32).then(|| words::node_health(value))
}

fn number(value: Option<u64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// `node 1 (tokyo, 127.0.0.1:7400)`.
fn node_words(node_id: u64, site: i32, public_address: &str) -> String {
    let mut text = format!("node {node_id} ({}", words::site(site));
    if !public_address.is_empty() {
        text.push_str(&format!(", {public_address}"));
    }
    text.push(')');
    text
}

/// The merged status as a table with the leader marked `*`, then the leader, the answers and
/// the verdict with its reasons. `watch` (when refreshing: the instant and the interval) adds a
/// heading.
pub(crate) fn status(view: &ClusterView, watch: Option<(i64, Duration)>) -> String {
    let mut text = String::new();
    if let Some((observed_at, interval)) = watch {
        text.push_str(&format!(
            "cluster status at {}, every {} ms (Ctrl-C to stop)\n\n",
            words::instant(observed_at),
            interval.as_millis()
        ));
    }
    let mut table = Table::new(&[
        "NODE",
        "NAME",
        "SITE",
        "ROLE",
        "TERM",
        "LAST LOG",
        "APPLIED",
        "COMMITTED",
        "LAG",
        "LAST ACK",
        "HEALTH",
        "DETAIL",
    ]);
    for node in &view.nodes {
        let node_id = if node.leader {
            format!("{}*", node.node_id)
        } else {
            node.node_id.to_string()
        };
        let mut role = role(node.role).unwrap_or_default();
        if !node.voter {
            role = if role.is_empty() || role == "learner" {
                "learner".to_owned()
            } else {
                format!("{role} (non-voter)")
            };
        }
        table.row(vec![
            node_id,
            node.name.clone(),
            words::site(node.site),
            role,
            number(node.term),
            number(node.last_log_index),
            number(node.last_applied_index),
            number(node.committed_index),
            number(node.lag),
            node.since_last_acknowledgement_ms
                .map(|ms| format!("{ms} ms ago"))
                .unwrap_or_default(),
            health(node.health).unwrap_or_else(|| "unknown".to_owned()),
            node.health_detail.clone(),
        ]);
    }
    text.push_str(&table.render());
    text.push('\n');

    let leader = view.leader_node_id.map(|leader_id| {
        match view.nodes.iter().find(|node| node.node_id == leader_id) {
            Some(node) => node_words(node.node_id, node.site, &node.public_address),
            None => format!("node {leader_id}"),
        }
    });
    let mut pairs = vec![(
        "leader (*)",
        match (&leader, view.term) {
            (Some(leader), Some(term)) => format!("{leader}, term {term}"),
            (Some(leader), None) => leader.clone(),
            (None, _) => "none known".to_owned(),
        },
    )];
    let answered = view.answered();
    pairs.push((
        "answers",
        format!(
            "{answered} of {} endpoints{}",
            view.endpoints.len(),
            if view.leader_agreed {
                ", all naming the leader"
            } else {
                ""
            }
        ),
    ));
    if let Some(epoch) = view.cluster_epoch {
        pairs.push(("cluster epoch", epoch.to_string()));
    }
    if let Some(site) = view.preferred_site {
        pairs.push((
            "preferred site",
            if view.leader_away_from_preferred_site {
                format!(
                    "{} — the leader is elsewhere; `swctl failover --to-preferred` moves it back",
                    words::site(site)
                )
            } else {
                words::site(site)
            },
        ));
    }
    pairs.push((
        "status",
        if view.problems.is_empty() {
            "ok".to_owned()
        } else {
            "degraded".to_owned()
        },
    ));
    text.push_str(&key_values(&pairs));
    for problem in &view.problems {
        text.push_str(&format!("  - {}\n", super::table::clean_cell(problem)));
    }
    text
}

fn node_json(node: &NodeView) -> Value {
    let (reachable, endpoint) = match &node.reach {
        Reach::Answered { url } => (Some(true), Some(url.clone())),
        Reach::NoAnswer { url, .. } => (Some(false), Some(url.clone())),
        Reach::NotAsked => (None, None),
    };
    let reported_by = match node.source {
        Source::Node => Some("node"),
        Source::Leader => Some("leader"),
        Source::Nobody => None,
    };
    json!({
        "node_id": node.node_id,
        "name": (!node.name.is_empty()).then(|| node.name.clone()),
        "site": words::site(node.site),
        "raft_address": node.raft_address,
        "public_address": node.public_address,
        "voter": node.voter,
        "leader": node.leader,
        "endpoint": endpoint,
        "reachable": reachable,
        "reported_by": reported_by,
        "role": role(node.role),
        "term": node.term,
        "last_log_index": node.last_log_index,
        "last_applied_index": node.last_applied_index,
        "committed_index": node.committed_index,
        "matched_index": node.matched_index,
        "since_last_acknowledgement_ms": node.since_last_acknowledgement_ms,
        "lag": node.lag,
        "health": health(node.health),
        "health_detail": node.health_detail,
    })
}

/// The merged status as one JSON object.
pub(crate) fn status_json(view: &ClusterView, observed_at_unix_ms: i64) -> Value {
    json!({
        "status": if view.problems.is_empty() { "ok" } else { "degraded" },
        "problems": view.problems,
        "observed_at_unix_ms": observed_at_unix_ms,
        "leader_node_id": view.leader_node_id,
        "leader_agreed": view.leader_agreed,
        "term": view.term,
        "leader_last_log_index": view.leader_last_log_index,
        "cluster_epoch": view.cluster_epoch,
        "preferred_site": view.preferred_site.map(words::site),
        "leader_away_from_preferred_site": view.leader_away_from_preferred_site,
        "leader_claims": view.leader_claims.iter().map(|(answering, named)| json!({
            "answering_node_id": answering,
            "leader_node_id": named,
        })).collect::<Vec<_>>(),
        "endpoints": view.endpoints.iter().map(|endpoint| json!({
            "endpoint": endpoint.url,
            "answered": endpoint.error.is_none(),
            "node_id": endpoint.node_id,
            "error": endpoint.error,
        })).collect::<Vec<_>>(),
        "nodes": view.nodes.iter().map(node_json).collect::<Vec<_>>(),
    })
}

fn leader_text(leader: &LeaderSummary) -> String {
    node_words(leader.node_id, leader.site, &leader.public_address)
}

fn leader_json(leader: &LeaderSummary) -> Value {
    json!({
        "node_id": leader.node_id,
        "site": words::site(leader.site),
        "public_address": leader.public_address,
    })
}

/// A failover's report.
pub(crate) fn failover(report: &FailoverReport) -> String {
    let moved = if report.moved {
        "yes".to_owned()
    } else {
        "no: the leader already was the target".to_owned()
    };
    key_values(&[
        (
            "old leader",
            report
                .old_leader
                .as_ref()
                .map(leader_text)
                .unwrap_or_default(),
        ),
        ("new leader", leader_text(&report.new_leader)),
        ("moved", moved),
        ("term", report.term.to_string()),
        (
            "write pause upper bound",
            format!("{} ms", report.write_pause_upper_bound.as_millis()),
        ),
        ("request id", report.request_id.clone()),
    ])
}

/// A failover's report as JSON.
pub(crate) fn failover_json(report: &FailoverReport) -> Value {
    json!({
        "old_leader": report.old_leader.as_ref().map(leader_json),
        "new_leader": leader_json(&report.new_leader),
        "moved": report.moved,
        "term": report.term,
        "write_pause_upper_bound_ms":
            u64::try_from(report.write_pause_upper_bound.as_millis()).unwrap_or(u64::MAX),
        "request_id": report.request_id,
    })
}

#[cfg(test)]
mod tests {
    use tonic::Status;

    use super::*;
    use crate::commands::status::tests::{follower_answer, leader_answer, url};
    use crate::commands::status::{EndpointAnswer, merge};

    fn view_with_one_down() -> ClusterView {
        let others = [
            (2, 100, admin::NodeHealth::Healthy),
            (3, 100, admin::NodeHealth::Unreachable),
            (4, 100, admin::NodeHealth::Healthy),
            (5, 100, admin::NodeHealth::Healthy),
        ];
        let mut answers = vec![EndpointAnswer {
            url: url(1),
            result: Ok(leader_answer(1, 3, 100, &others)),
        }];
        for node_id in [2, 3, 4, 5] {
            answers.push(EndpointAnswer {
                url: url(node_id),
                result: if node_id == 3 {
                    Err(Status::unavailable("cannot connect"))
                } else {
                    Ok(follower_answer(node_id, Some(1), 3, 99, &[1, 2, 3, 4, 5]))
                },
            });
        }
        merge(&answers)
    }

    /// The table has a row per node, the leader marked, unknown figures as `-`, the unreachable
    /// node's health and detail, then the leader, the answers and the verdict with reasons.
    #[test]
    fn human_status() {
        let text = status(&view_with_one_down(), None);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NODE"), "{text}");
        assert!(lines[1].starts_with("1*"), "{text}");
        assert!(lines[1].contains("leader"), "{text}");
        assert!(lines[3].starts_with("3 "), "{text}");
        assert!(lines[3].contains("unreachable"), "{text}");
        assert!(lines[3].contains("osaka"), "{text}");
        assert!(lines[2].contains("12 ms ago"), "{text}");
        assert!(
            text.contains("leader (*)     node 1 (tokyo, 127.0.0.1:7400), term 3"),
            "{text}"
        );
        assert!(
            text.contains("4 of 5 endpoints, all naming the leader"),
            "{text}"
        );
        assert!(text.contains("status         degraded\n"), "{text}");
        assert!(
            text.contains(
                "  - node 3 (osaka) unreachable: no answer from http://127.0.0.1:7402 \
                 (UNAVAILABLE: cannot connect); the leader sees it unreachable (no answer for \
                 4100 ms), last acknowledged 12 ms ago\n"
            ),
            "{text}"
        );

        let watched = status(&view_with_one_down(), Some((0, Duration::from_secs(1))));
        assert!(
            watched.starts_with("cluster status at 1970-01-01T09:00:00+09:00, every 1000 ms"),
            "{watched}"
        );
    }

    /// The JSON has every field of the merged view, unknown figures as null.
    #[test]
    fn json_status() {
        let value = status_json(&view_with_one_down(), 7);
        assert_eq!(value["status"], "degraded");
        assert_eq!(value["leader_node_id"], 1);
        assert_eq!(value["leader_agreed"], true);
        assert_eq!(value["term"], 3);
        assert_eq!(value["observed_at_unix_ms"], 7);
        assert_eq!(value["endpoints"].as_array().unwrap().len(), 5);
        assert_eq!(value["endpoints"][2]["answered"], false);
        let nodes = value["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 5);
        assert_eq!(nodes[0]["leader"], true);
        assert_eq!(nodes[0]["role"], "leader");
        assert_eq!(nodes[0]["name"], Value::Null);
        assert_eq!(nodes[0]["reported_by"], "node");
        assert_eq!(nodes[2]["health"], "unreachable");
        assert_eq!(nodes[2]["reachable"], false);
        assert_eq!(nodes[2]["term"], Value::Null);
        assert_eq!(nodes[2]["reported_by"], "leader");
        assert_eq!(nodes[1]["lag"], 1);
        assert_eq!(nodes[1]["matched_index"], 100);
        assert_eq!(nodes[1]["site"], "tokyo");
    }

    /// A failover report names both leaders, the term, the pause and the request id.
    #[test]
    fn failover_report() {
        let report = FailoverReport {
            old_leader: Some(LeaderSummary {
                node_id: 1,
                site: admin::Site::Tokyo as i32,
                public_address: "127.0.0.1:7400".to_owned(),
            }),
            new_leader: LeaderSummary {
                node_id: 3,
                site: admin::Site::Osaka as i32,
                public_address: "127.0.0.1:7402".to_owned(),
            },
            moved: true,
            term: 4,
            write_pause_upper_bound: Duration::from_millis(321),
            request_id: "move-1".to_owned(),
        };
        let text = failover(&report);
        assert!(text.contains("old leader               node 1 (tokyo, 127.0.0.1:7400)\n"));
        assert!(text.contains("new leader               node 3 (osaka, 127.0.0.1:7402)\n"));
        assert!(text.contains("write pause upper bound  321 ms\n"), "{text}");
        assert!(text.contains("request id               move-1\n"), "{text}");
        let value = failover_json(&report);
        assert_eq!(value["new_leader"]["site"], "osaka");
        assert_eq!(value["old_leader"]["node_id"], 1);
        assert_eq!(value["write_pause_upper_bound_ms"], 321);
        assert_eq!(value["term"], 4);
        assert_eq!(value["moved"], true);
    }
}
