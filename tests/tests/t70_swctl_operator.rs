//! `swctl`'s operator commands against a real five-node cluster: `status` asking every node and
//! merging the answers (healthy, then with a node stopped), `status --watch`, and `failover` to
//! Osaka and back to Tokyo with writes after each, its refusals and exit codes, and the server's
//! `not_leader` contract that `failover` follows.

mod common;

use std::time::{Duration, Instant};

use common::{Services, assert_status, days_ahead};
use serde_json::Value;
use switchyard_proto::admin::v1 as admin;
use switchyard_raft::Site;
use tonic::Code;

const OPERATOR: &str = "dev-op:operator";

/// Runs swctl with `args` against `endpoints`; returns exit code, stdout, stderr.
async fn swctl(endpoints: &str, args: &[&str]) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut all = vec!["swctl", "--endpoint", endpoints];
    all.extend_from_slice(args);
    let exit = switchyard_cli::run(all, &mut out, &mut err).await;
    (
        exit.code(),
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn parse(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|error| panic!("not JSON ({error}): {out}"))
}

fn endpoint(services: &Services, name: &str) -> String {
    format!(
        "http://{}",
        services.cluster.nodes[services.index(name)]
            .api
            .local_address()
    )
}

/// Every node's endpoint, comma-separated, in the layout's order.
fn all_endpoints(services: &Services) -> String {
    services
        .cluster
        .nodes
        .iter()
        .map(|node| format!("http://{}", node.api.local_address()))
        .collect::<Vec<_>>()
        .join(",")
}

/// `swctl --json status` until it exits 0 (the cluster settles after loading), at most 15 s;
/// returns the last exit code and document.
async fn settled_status(endpoints: &str) -> (u8, Value, String) {
    let started = Instant::now();
    loop {
        let (code, out, err) = swctl(endpoints, &["--token", OPERATOR, "--json", "status"]).await;
        if code == 0 || started.elapsed() > Duration::from_secs(15) {
            return (code, parse(&out), err);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The node every running node names as leader, once they all agree (at most 15 s).
async fn agreed_leader(services: &Services) -> (u64, Option<Site>) {
    let started = Instant::now();
    loop {
        let leaders: Vec<_> = services
            .cluster
            .nodes
            .iter()
            .map(|node| {
                node.node
                    .leader()
                    .map(|leader| (leader.node_id, leader.site))
            })
            .collect();
        if let Some(Some(first)) = leaders.first()
            && leaders.iter().all(|leader| *leader == Some(*first))
        {
            return *first;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the nodes do not agree on a leader: {leaders:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A stop-on-behalf request by a retailer through swctl (any node; forwarded to the leader):
/// the write path works.
async fn write_through_swctl(services: &Services, skip: usize, endpoints: &str) {
    let (point, old) = services.supplied_point(skip);
    let new = services.other_retailer(&old);
    let (code, out, err) = swctl(
        endpoints,
        &[
            "--token",
            &format!("dev-{new}"),
            "--json",
            "sob",
            "register",
            "--supply-point",
            &point.number.to_string(),
            "--customer-contract-number",
            &format!("C-{skip}"),
            "--customer-name",
            "Yamada Taro",
            "--customer-address",
            "1-1 Chiyoda",
            "--wished-date",
            &days_ahead(30),
        ],
    )
    .await;
    assert_eq!(code, 0, "the write after a failover fails: {err}");
    assert!(
        parse(&out)["result"]["stop_on_behalf_number"].is_string(),
        "{out}"
    );
}

/// `status` over all five endpoints exits 0 with five rows, exactly one leader that every node
/// names, each node's own figures and the leader's view of the others; the human table marks
/// the leader and `--watch --count` refreshes that many times. With a follower stopped, the same
/// command exits 6 and shows that node unreachable, with the leader's view of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_merges_every_node_and_flags_a_stopped_one() {
    let mut services = Services::start(1_000).await;
    let endpoints = all_endpoints(&services);

    let (code, status, err) = settled_status(&endpoints).await;
    assert_eq!(code, 0, "a healthy cluster exits 0: {err}\n{status:#}");
    assert_eq!(status["status"], "ok");
    assert_eq!(status["problems"], serde_json::json!([]));
    assert_eq!(status["leader_agreed"], true);
    let nodes = status["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 5, "{status:#}");
    let leaders: Vec<&Value> = nodes.iter().filter(|node| node["leader"] == true).collect();
    assert_eq!(leaders.len(), 1, "{status:#}");
    let leader_id = leaders[0]["node_id"].as_u64().unwrap();
    assert_eq!(status["leader_node_id"], leader_id);
    assert_eq!(leaders[0]["role"], "leader");
    let (raft_leader, _) = agreed_leader(&services).await;
    assert_eq!(leader_id, raft_leader);
    let term = status["term"].as_u64().expect("a term");
    assert!(term >= 1);
    let leader_last = status["leader_last_log_index"].as_u64().unwrap();
    assert!(leader_last > 0);
    let sites: Vec<&str> = nodes
        .iter()
        .map(|node| node["site"].as_str().unwrap())
        .collect();
    assert_eq!(sites, ["tokyo", "tokyo", "osaka", "osaka", "witness"]);
    for node in nodes {
        assert_eq!(node["health"], "healthy", "{node:#}");
        assert_eq!(node["reachable"], true, "{node:#}");
        assert_eq!(node["reported_by"], "node", "{node:#}");
        assert_eq!(node["voter"], true);
        assert_eq!(node["name"], Value::Null, "names are empty in this release");
        assert!(node["term"].as_u64().unwrap() >= 1, "{node:#}");
        for key in [
            "last_log_index",
            "last_applied_index",
            "committed_index",
            "lag",
        ] {
            assert!(node[key].is_u64(), "{key} in {node:#}");
        }
        assert!(
            node["public_address"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:")
        );
        if node["leader"] == true {
            assert_eq!(node["lag"], 0);
            assert_eq!(node["since_last_acknowledgement_ms"], Value::Null);
        } else {
            assert_eq!(node["role"], "follower");
            assert!(node["matched_index"].is_u64(), "{node:#}");
            assert!(
                node["since_last_acknowledgement_ms"].is_u64(),
                "the leader's view: {node:#}"
            );
        }
    }
    assert_eq!(status["endpoints"].as_array().unwrap().len(), 5);

    // The human table: a header, five rows, the leader marked.
    let (code, out, err) = swctl(&endpoints, &["--token", OPERATOR, "status"]).await;
    eprintln!("swctl status:\n{out}");
    assert!(code == 0 || code == 6, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NODE  NAME  SITE"), "{out}");
    assert_eq!(
        lines[1..6]
            .iter()
            .filter(|line| line.split_whitespace().next().unwrap().ends_with('*'))
            .count(),
        1,
        "{out}"
    );
    assert!(out.contains("leader (*)"), "{out}");

    // --watch --count: that many refreshes, one JSON object per line.
    let (code, out, err) = swctl(
        &endpoints,
        &[
            "--token",
            OPERATOR,
            "--json",
            "status",
            "--watch",
            "--interval-ms",
            "100",
            "--count",
            "3",
        ],
    )
    .await;
    assert!(code == 0 || code == 6, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    for line in out.lines() {
        assert_eq!(parse(line)["nodes"].as_array().unwrap().len(), 5);
    }
    let (_, out, _) = swctl(
        &endpoints,
        &["--token", OPERATOR, "status", "--watch", "--count", "2"],
    )
    .await;
    assert_eq!(out.matches("\u{1b}[2J").count(), 2, "the screen is cleared");

    // A follower stops: degraded, and shown unreachable.
    let (stopped_name, stopped_id) = services
        .cluster
        .nodes
        .iter()
        .map(|node| (node.name, node.node.node_id()))
        .find(|(_, node_id)| *node_id != leader_id)
        .unwrap();
    let index = services.index(stopped_name);
    let stopped = services.cluster.nodes.remove(index);
    stopped.api.shutdown().await;
    stopped.node.shutdown().await.unwrap();

    let (code, out, err) = swctl(&endpoints, &["--token", OPERATOR, "--json", "status"]).await;
    assert_eq!(
        code, 6,
        "a stopped node makes the cluster degraded: {err}\n{out}"
    );
    assert!(err.starts_with("degraded: "), "{err}");
    let status = parse(&out);
    assert_eq!(status["status"], "degraded");
    assert_eq!(status["leader_node_id"], leader_id);
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(
        nodes.len(),
        5,
        "the stopped node is still a member: {status:#}"
    );
    let node = nodes
        .iter()
        .find(|node| node["node_id"] == stopped_id)
        .unwrap();
    assert_eq!(node["health"], "unreachable", "{node:#}");
    assert_eq!(node["reachable"], false, "{node:#}");
    assert_eq!(node["reported_by"], "leader", "the leader's view: {node:#}");
    assert!(node["matched_index"].is_u64(), "{node:#}");
    let problems = status["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|problem| problem
            .as_str()
            .unwrap()
            .starts_with(&format!("node {stopped_id} "))),
        "{problems:?}"
    );
    let answered = nodes
        .iter()
        .filter(|node| node["reachable"] == true && node["health"] == "healthy")
        .count();
    assert_eq!(answered, 4, "{status:#}");

    let (code, out, err) = swctl(&endpoints, &["--token", OPERATOR, "status"]).await;
    eprintln!("swctl status, node {stopped_id} stopped:\n{out}{err}");
    assert_eq!(code, 6);
    let row = out
        .lines()
        .find(|line| line.starts_with(&format!("{stopped_id} ")))
        .unwrap_or_else(|| panic!("no row for node {stopped_id}:\n{out}"));
    assert!(row.contains("unreachable"), "{row}");
    assert!(
        out.lines()
            .any(|line| line.starts_with("status ") && line.trim_end().ends_with(" degraded")),
        "{out}"
    );

    // Only operators may ask (exit 4); no endpoint answering at all is exit 5.
    let (_, retailer) = services.supplied_point(0);
    let (code, _, err) = swctl(
        &endpoints,
        &["--token", &format!("dev-{retailer}"), "status"],
    )
    .await;
    assert_eq!(code, 4, "{err}");
    let (code, _, err) = swctl(
        "http://127.0.0.1:1",
        &["--token", OPERATOR, "status", "--timeout-ms", "2000"],
    )
    .await;
    assert_eq!(code, 5, "{err}");
    services.shutdown().await;
}

/// `failover --to-site osaka` moves leadership to an Osaka node (as `status` and every node's
/// Raft say) and reports both leaders, the term and the write pause; a write then succeeds.
/// Meanwhile `status` notes that the leader is away from the preferred site (Tokyo) without
/// calling the cluster degraded. Back with `--to-preferred`, the same; a retry with the same
/// request id finds the work done.
/// A retailer may not (exit 4), a node that is not a member cannot lead (exit 3), and a
/// follower refuses the transfer naming the leader's address, which swctl follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_to_osaka_and_back_to_tokyo() {
    let services = Services::start(1_000).await;
    let endpoints = all_endpoints(&services);
    let (before, _) = agreed_leader(&services).await;

    // To Osaka.
    let (code, out, err) = swctl(
        &endpoints,
        &[
            "--token",
            OPERATOR,
            "--json",
            "--request-id",
            "t70-to-osaka",
            "failover",
            "--to-site",
            "osaka",
            "--timeout-ms",
            "20000",
        ],
    )
    .await;
    assert_eq!(code, 0, "failover to osaka: {err}");
    assert!(err.contains("request id t70-to-osaka"), "{err}");
    let report = parse(&out);
    assert_eq!(report["request_id"], "t70-to-osaka");
    assert_eq!(report["old_leader"]["node_id"], before);
    assert_eq!(report["new_leader"]["site"], "osaka");
    assert_eq!(report["moved"], true);
    let osaka_leader = report["new_leader"]["node_id"].as_u64().unwrap();
    assert!([3, 4].contains(&osaka_leader), "{report:#}");
    let pause_ms = report["write_pause_upper_bound_ms"].as_u64().unwrap();
    assert!(pause_ms < 20_000, "{report:#}");
    let term = report["term"].as_u64().unwrap();
    eprintln!(
        "failover to osaka: node {before} -> node {osaka_leader}, term {term}, {pause_ms} ms"
    );

    let (leader, site) = agreed_leader(&services).await;
    assert_eq!((leader, site), (osaka_leader, Some(Site::Osaka)));
    let (code, status, err) = settled_status(&endpoints).await;
    assert_eq!(code, 0, "{err}\n{status:#}");
    assert_eq!(status["leader_node_id"], osaka_leader);
    assert!(status["term"].as_u64().unwrap() >= term);
    // Away from the preferred site: a note, not a degradation (exit 0 above).
    assert_eq!(status["preferred_site"], "tokyo", "{status:#}");
    assert_eq!(
        status["leader_away_from_preferred_site"], true,
        "{status:#}"
    );
    write_through_swctl(&services, 0, &endpoints).await;

    // The same request again (a retry after a timeout): the leader is at Osaka already.
    let (code, out, err) = swctl(
        &endpoints,
        &[
            "--token",
            OPERATOR,
            "--json",
            "--request-id",
            "t70-to-osaka",
            "failover",
            "--to-site",
            "osaka",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let retry = parse(&out);
    assert_eq!(retry["new_leader"]["node_id"], osaka_leader, "{retry:#}");
    assert_eq!(retry["moved"], false, "{retry:#}");

    // Back to the preferred site (Tokyo), human output.
    let (code, out, err) = swctl(
        &endpoints,
        &["--token", OPERATOR, "failover", "--to-preferred"],
    )
    .await;
    eprintln!("swctl failover --to-preferred:\n{out}{err}");
    assert_eq!(code, 0, "failover to tokyo: {err}");
    assert!(out.contains("write pause upper bound"), "{out}");
    assert!(
        out.contains(&format!(
            "old leader               node {osaka_leader} (osaka"
        )),
        "{out}"
    );
    assert!(
        out.contains("new leader               node 1 (tokyo")
            || out.contains("new leader               node 2 (tokyo"),
        "{out}"
    );
    let (leader, site) = agreed_leader(&services).await;
    assert_eq!(site, Some(Site::Tokyo));
    let (code, status, err) = settled_status(&endpoints).await;
    assert_eq!(code, 0, "{err}\n{status:#}");
    assert_eq!(status["leader_node_id"], leader);
    assert_eq!(
        status["leader_away_from_preferred_site"], false,
        "{status:#}"
    );
    write_through_swctl(&services, 1, &endpoints).await;

    // To one node, by id, through a single endpoint that is not the leader's.
    let target = if leader == 1 { 2 } else { 1 };
    let follower_endpoint = endpoint(&services, "witness-1");
    let (code, out, err) = swctl(
        &follower_endpoint,
        &[
            "--token",
            OPERATOR,
            "--json",
            "failover",
            "--to-node",
            &target.to_string(),
        ],
    )
    .await;
    assert_eq!(code, 0, "failover to node {target}: {err}");
    assert_eq!(parse(&out)["new_leader"]["node_id"], target);
    assert_eq!(agreed_leader(&services).await.0, target);
    write_through_swctl(&services, 2, &endpoints).await;

    // Refusals: a retailer is not allowed; a node that is not a member cannot lead.
    let (_, retailer) = services.supplied_point(0);
    let (code, _, err) = swctl(
        &endpoints,
        &[
            "--token",
            &format!("dev-{retailer}"),
            "failover",
            "--to-site",
            "osaka",
        ],
    )
    .await;
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("PERMISSION_DENIED"), "{err}");
    let (code, _, err) = swctl(
        &endpoints,
        &["--token", OPERATOR, "failover", "--to-node", "99"],
    )
    .await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("FAILED_PRECONDITION"), "{err}");
    assert_eq!(agreed_leader(&services).await.0, target, "nothing moved");
    let (code, _, err) = swctl(
        &endpoints,
        &[
            "--token",
            OPERATOR,
            "failover",
            "--to-site",
            "osaka",
            "--timeout-ms",
            "60001",
        ],
    )
    .await;
    assert_eq!(code, 2, "{err}");

    // The contract swctl follows: a follower refuses with not_leader and the leader's address.
    let follower = services
        .cluster
        .nodes
        .iter()
        .find(|node| node.node.node_id() != target)
        .unwrap();
    let leader_address = services.cluster.nodes[services
        .cluster
        .nodes
        .iter()
        .position(|node| node.node.node_id() == target)
        .unwrap()]
    .api
    .local_address()
    .to_string();
    let mut admin_client = services.admin(follower.name, Some("op:operator")).await;
    let refusal = assert_status(
        admin_client
            .transfer_leadership(admin::TransferLeadershipRequest {
                request_id: "t70-contract".to_owned(),
                target: Some(admin::transfer_leadership_request::Target::Site(
                    admin::Site::Osaka as i32,
                )),
                timeout_ms: 0,
            })
            .await,
        Code::FailedPrecondition,
        "not_leader",
    );
    assert_eq!(
        refusal
            .metadata()
            .get("x-switchyard-leader-address")
            .and_then(|value| value.to_str().ok()),
        Some(leader_address.as_str())
    );
    services.shutdown().await;
}
