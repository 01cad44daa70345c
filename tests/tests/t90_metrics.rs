//! The metrics of a five-node cluster, scraped over real sockets as Prometheus scrapes them
//! (plain HTTP/1.1 `GET /metrics` on each node's metrics port): what the counters and histograms
//! say after writes, reads and refusals on chosen nodes; a stalled disk seen in its node's
//! metrics while the node stops serving; and the example alert rules in `deploy/prometheus/`,
//! which parse and use only metrics the nodes export.

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use common::{Services, assert_status};
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::v1;
use switchyard_testkit::scrape::{Scrape, scrape};
use tonic::Code;

const OPERATOR: &str = "op:operator";
const PARTICIPANT: &str = "switchyard.v1.ParticipantService";
const ADMIN: &str = "switchyard.admin.v1.AdminService";
/// Bound on every wait that depends on timers (elections, the stall bound).
const WAIT: Duration = Duration::from_secs(30);
const ALERTS: &str = include_str!("../../deploy/prometheus/alerts.yml");
const SCRAPE_CONFIG: &str = include_str!("../../deploy/prometheus/prometheus.yml");

/// Scrapes the metrics endpoint of node `name`.
async fn scrape_node(services: &Services, name: &str) -> Scrape {
    let address = services.cluster.nodes[services.index(name)]
        .metrics
        .local_address();
    scrape(address)
        .await
        .unwrap_or_else(|error| panic!("{name} serves its metrics: {error}"))
}

/// Polls `check` every 100 ms until it holds, failing after `within` with `what`.
async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn notice(request_id: &str) -> admin::PublishNoticeRequest {
    admin::PublishNoticeRequest {
        request_id: request_id.into(),
        severity: v1::Severity::Info as i32,
        title: "Metrics".into(),
        body: "A notice written for the metrics suite.".into(),
    }
}

fn look_up(number: &str) -> v1::LookUpSupplyPointRequest {
    v1::LookUpSupplyPointRequest {
        supply_point_number: number.into(),
        consistency: v1::ReadConsistency::Linearizable as i32,
    }
}

/// The name of a node that does not lead, and of the one that does.
async fn follower_and_leader(services: &Services) -> (&'static str, &'static str) {
    let leader = services.cluster.leader(WAIT).await.expect("a leader").name;
    let follower = services
        .cluster
        .nodes
        .iter()
        .find(|node| node.name != leader && node.name != "witness-1")
        .expect("a follower")
        .name;
    (follower, leader)
}

/// Five writes through a follower, four look-ups (one malformed) and a call without credentials
/// there show up where they happened: the follower counts its calls per method and code and
/// forwarded every write; the leader timed at least those commits, and every node applied and
/// synced them, saw a leader take over, and agrees on the one leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_and_histograms_follow_the_calls() {
    let services = Services::start(300).await;
    let (follower, leader) = follower_and_leader(&services).await;
    let (point, retailer) = services.supplied_point(0);
    let before_leader = scrape_node(&services, leader).await;
    let before_follower = scrape_node(&services, follower).await;

    let mut operator = services.admin(follower, Some(OPERATOR)).await;
    let writes = 5;
    for index in 0..writes {
        operator
            .publish_notice(notice(&format!("metrics-{index}")))
            .await
            .expect("a notice through the follower");
    }
    let mut participant = services.participant(follower, Some(&retailer)).await;
    for _ in 0..3 {
        participant
            .look_up_supply_point(look_up(&point.number.to_string()))
            .await
            .expect("a look-up");
    }
    assert_status(
        participant
            .look_up_supply_point(look_up("not-a-number"))
            .await,
        Code::InvalidArgument,
        "",
    );
    assert_status(
        services
            .participant(follower, None)
            .await
            .list_notices(v1::ListNoticesRequest::default())
            .await,
        Code::Unauthenticated,
        "",
    );

    let at_follower = scrape_node(&services, follower).await;
    let calls = |scrape: &Scrape, service: &str, method: &str, code: &str| {
        scrape.sum(
            "switchyard_rpc_requests_total",
            &[("service", service), ("method", method), ("code", code)],
        )
    };
    let new_calls = |service: &str, method: &str, code: &str| {
        calls(&at_follower, service, method, code) - calls(&before_follower, service, method, code)
    };
    assert_eq!(new_calls(ADMIN, "PublishNotice", "OK"), writes as f64);
    assert_eq!(new_calls(PARTICIPANT, "LookUpSupplyPoint", "OK"), 3.0);
    assert_eq!(
        new_calls(PARTICIPANT, "LookUpSupplyPoint", "INVALID_ARGUMENT"),
        1.0
    );
    assert_eq!(
        new_calls(PARTICIPANT, "ListNotices", "UNAUTHENTICATED"),
        1.0
    );
    assert_eq!(new_calls(PARTICIPANT, "ListNotices", "OK"), 0.0);
    let timed = |scrape: &Scrape| {
        scrape.sum(
            "switchyard_rpc_duration_seconds_count",
            &[("service", PARTICIPANT), ("method", "LookUpSupplyPoint")],
        )
    };
    assert_eq!(timed(&at_follower) - timed(&before_follower), 4.0);
    let forwarded =
        |scrape: &Scrape| scrape.sum("switchyard_forwarded_writes_total", &[("result", "ok")]);
    assert_eq!(
        forwarded(&at_follower) - forwarded(&before_follower),
        writes as f64,
        "every write through the follower was forwarded"
    );
    assert_eq!(
        at_follower.sum("switchyard_rpc_requests_total", &[("service", "unknown")]),
        0.0
    );

    let at_leader = scrape_node(&services, leader).await;
    let commits = |scrape: &Scrape| scrape.sum("switchyard_commit_latency_seconds_count", &[]);
    assert!(
        commits(&at_leader) - commits(&before_leader) >= writes as f64,
        "the leader timed every commit"
    );
    assert_eq!(
        at_leader.value(
            "switchyard_commit_latency_seconds_bucket",
            &[("le", "+Inf")]
        ),
        Some(commits(&at_leader)),
        "+Inf holds every observation"
    );
    let mut leaders = 0.0;
    for node in &services.cluster.nodes {
        let scraped = scrape_node(&services, node.name).await;
        let own = [
            ("node", &*node.node.node_id().to_string()),
            ("site", node.node.site().name()),
        ];
        assert!(
            scraped
                .value("switchyard_raft_leader_changes_total", &own)
                .unwrap()
                >= 1.0,
            "{} saw a leader take over",
            node.name
        );
        assert!(
            scraped
                .value("switchyard_apply_duration_seconds_count", &own)
                .unwrap()
                > 0.0
        );
        assert!(
            scraped
                .value(
                    "switchyard_flush_duration_seconds_count",
                    &[("disk", "log")]
                )
                .unwrap()
                > 0.0,
            "{} timed its log syncs",
            node.name
        );
        leaders += scraped.sum("switchyard_raft_is_leader", &[]);
        assert_eq!(
            scraped.value("switchyard_raft_leader_id", &[]),
            Some(
                services.cluster.nodes[services.index(leader)]
                    .node
                    .node_id() as f64
            ),
            "{} names the leader",
            node.name
        );
    }
    assert_eq!(leaders, 1.0, "exactly one node leads");
    services.shutdown().await;
}

/// Releases a store's injected stall when dropped, so that a failed assertion does not leave
/// blocking threads hanging for ever.
struct ReleaseStall(switchyard_raft::Store);

impl Drop for ReleaseStall {
    fn drop(&mut self) {
        self.0.release_stall();
    }
}

/// A follower whose disk syncs are held (a write makes it sync) shows `switchyard_disk_stalled
/// 1`, a counted stall of its log database and `switchyard_node_serving 0` on its metrics
/// endpoint, which keeps answering while the disk does not; the other nodes show no stall; once
/// the disk answers, the node shows 0 and serves again, the stall still counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_disk_shows_in_its_nodes_metrics() {
    let services = Services::start(300).await;
    let (stalled, leader) = follower_and_leader(&services).await;
    let store = services.cluster.nodes[services.index(stalled)]
        .node
        .store()
        .clone();
    let before = scrape_node(&services, stalled).await;
    assert_eq!(before.value("switchyard_disk_stalled", &[]), Some(0.0));
    let stalls_before = before.sum("switchyard_disk_stalls_total", &[("disk", "log")]);

    store.inject_stall();
    let _release = ReleaseStall(store.clone());
    services
        .admin(leader, Some(OPERATOR))
        .await
        .publish_notice(notice("during-stall"))
        .await
        .expect("the cluster writes without the stalled follower");
    eventually(&format!("{stalled} shows its disk stalled"), WAIT, || {
        let services = &services;
        async move {
            scrape_node(services, stalled)
                .await
                .value("switchyard_disk_stalled", &[])
                == Some(1.0)
        }
    })
    .await;
    let during = scrape_node(&services, stalled).await;
    assert_eq!(
        during.sum("switchyard_disk_stalls_total", &[("disk", "log")]) - stalls_before,
        1.0
    );
    assert_eq!(during.value("switchyard_node_serving", &[]), Some(0.0));
    for node in services
        .cluster
        .nodes
        .iter()
        .filter(|node| node.name != stalled)
    {
        let scraped = scrape_node(&services, node.name).await;
        assert_eq!(
            scraped.value("switchyard_disk_stalled", &[]),
            Some(0.0),
            "{}",
            node.name
        );
    }

    store.release_stall();
    eventually(&format!("{stalled} serves again"), WAIT, || {
        let services = &services;
        async move {
            let scraped = scrape_node(services, stalled).await;
            scraped.value("switchyard_disk_stalled", &[]) == Some(0.0)
                && scraped.value("switchyard_node_serving", &[]) == Some(1.0)
        }
    })
    .await;
    let after = scrape_node(&services, stalled).await;
    assert_eq!(
        after.sum("switchyard_disk_stalls_total", &[("disk", "log")]) - stalls_before,
        1.0,
        "the stall stays counted"
    );
    services.shutdown().await;
}

/// The `switchyard_*` names an expression uses.
fn metric_names(expression: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expression;
    while let Some(start) = rest.find("switchyard_") {
        let tail = &rest[start..];
        let end = tail
            .find(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// The example alert rules and scrape configuration parse as YAML with the shape Prometheus
/// reads (every rule an alert with an expression, a severity and a runbook link; five targets,
/// one per node, labelled with node and site); every metric an alert's expression names is
/// exported by the nodes of a cluster that has just started (the union of the five scrapes, so
/// a leader-only series counts); and where `promtool` is installed, it accepts the rules and
/// their unit tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_alerts_use_exported_metrics() {
    let alerts: serde_yaml::Value = serde_yaml::from_str(ALERTS).expect("alerts.yml parses");
    let mut used = BTreeSet::new();
    let mut alert_names = BTreeSet::new();
    for group in alerts["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule["alert"].as_str().expect("every rule is an alert");
            let expression = rule["expr"].as_str().expect("an expression");
            assert!(
                rule["labels"]["severity"].is_string(),
                "{name} has a severity"
            );
            assert!(
                rule["annotations"]["runbook"]
                    .as_str()
                    .is_some_and(|link| link.starts_with("docs/RUNBOOK.md#")),
                "{name} links the runbook"
            );
            alert_names.insert(name.to_owned());
            used.extend(metric_names(expression));
        }
    }
    for wanted in [
        "SwitchyardNoLeader",
        "SwitchyardSiteDown",
        "SwitchyardDiskStalled",
        "SwitchyardApplyLag",
        "SwitchyardLeaderFlapping",
        "SwitchyardSlowCommits",
    ] {
        assert!(alert_names.contains(wanted), "alerts.yml has {wanted}");
    }
    let scrape_config: serde_yaml::Value =
        serde_yaml::from_str(SCRAPE_CONFIG).expect("prometheus.yml parses");
    let job = &scrape_config["scrape_configs"][0];
    assert_eq!(job["job_name"], "switchyard");
    assert_eq!(job["metrics_path"], "/metrics");
    let targets = job["static_configs"].as_sequence().expect("static targets");
    assert_eq!(targets.len(), 5, "one target per node");
    let sites: BTreeSet<&str> = targets
        .iter()
        .map(|target| target["labels"]["site"].as_str().expect("a site label"))
        .collect();
    assert_eq!(sites, BTreeSet::from(["osaka", "tokyo", "witness"]));

    let services = Services::start(50).await;
    let mut exported = BTreeSet::new();
    for node in &services.cluster.nodes {
        exported.extend(scrape_node(&services, node.name).await.names());
    }
    services.shutdown().await;
    assert!(
        used.len() >= 8,
        "the alerts use the nodes' metrics: {used:?}"
    );
    for name in &used {
        assert!(
            exported.contains(name),
            "alerts.yml uses {name}, which no node exports; exported: {exported:?}"
        );
    }

    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/prometheus");
    let promtool = |args: &[&str]| {
        std::process::Command::new("promtool")
            .args(args)
            .current_dir(directory)
            .output()
    };
    match promtool(&["check", "rules", "alerts.yml"]) {
        Err(error) => {
            // CI installs promtool and sets this, so that the rules' unit tests never go
            // unnoticed there.
            assert!(
                std::env::var_os("SWITCHYARD_REQUIRE_PROMTOOL").is_none(),
                "SWITCHYARD_REQUIRE_PROMTOOL is set but promtool cannot run: {error}"
            );
            eprintln!("promtool is not installed: the rules were checked as YAML only");
        }
        Ok(checked) => {
            assert!(
                checked.status.success(),
                "promtool check rules: {checked:?}"
            );
            let tested = promtool(&["test", "rules", "alerts_test.yml"]).expect("promtool runs");
            assert!(tested.status.success(), "promtool test rules: {tested:?}");
            let config = promtool(&["check", "config", "prometheus.yml"]).expect("promtool runs");
            assert!(config.status.success(), "promtool check config: {config:?}");
        }
    }
}
