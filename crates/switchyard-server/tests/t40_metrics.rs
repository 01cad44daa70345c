//! The metrics endpoint and JSON logs of `switchyard serve`, as an operator runs them: a one-node
//! cluster with `[metrics]` and `[log] format = "json"` writes one JSON object per line on stderr
//! (the endpoint's address among the fields), answers `GET /metrics` in the Prometheus text
//! format with the node's state and every public RPC it served, counted by status code, refuses
//! other paths and methods, and still stops cleanly on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use switchyard_proto::admin::v1 as admin;
use switchyard_proto::admin::v1::admin_service_client::AdminServiceClient;
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_testkit::scrape::{Scrape, request, scrape};
use tonic::Code;
use tonic::metadata::MetadataValue;

const BINARY: &str = env!("CARGO_BIN_EXE_switchyard");
/// Bound on every wait: start-up, an election, log lines, the exit.
const WAIT: Duration = Duration::from_secs(60);
const OPERATOR_TOKEN: &str = "dev-token-operator";

fn config(directory: &std::path::Path) -> String {
    let sections = format!(
        r#"
[api]
listen = "127.0.0.1:0"
auth = "dev-tokens"
[api.dev-tokens]
"{OPERATOR_TOKEN}" = "op:operator"

[metrics]
listen = "127.0.0.1:0"

[log]
format = "json"
level = "info"
"#
    );
    common::one_node_config(directory, "osaka", &sections)
}

/// Kills the child if the test fails before it stops it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.0.kill().ok();
            self.0.wait().ok();
        }
    }
}

/// Every stderr line, parsed as JSON (a line that is not JSON fails the test).
fn json_lines(child: &mut Child) -> mpsc::Receiver<serde_json::Value> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let value = serde_json::from_str::<serde_json::Value>(&line).unwrap_or_else(
                |error| serde_json::json!({ "not_json": line, "error": error.to_string() }),
            );
            if sender.send(value).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Waits for the log event whose message is `message`; fails on a line that is not JSON.
fn wait_for_event(lines: &mpsc::Receiver<serde_json::Value>, message: &str) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {message:?} log event within {WAIT:?}"));
        assert!(
            line.get("not_json").is_none(),
            "with format = \"json\" every log line is JSON: {line}"
        );
        for key in ["timestamp", "level", "fields", "target"] {
            assert!(line.get(key).is_some(), "a JSON log line has {key}: {line}");
        }
        if line["fields"]["message"] == message {
            return line;
        }
    }
}

/// Scrapes until `check` holds, within the bound.
async fn scrape_until(address: SocketAddr, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + WAIT;
    loop {
        let scraped = scrape(address).await.expect("the endpoint answers");
        if check(&scraped) {
            return scraped;
        }
        assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A node started from a file with `[metrics]` and JSON logs logs only JSON, names its metrics
/// address in a field, leads and says so in its metrics, counts a refused look-up as
/// UNAUTHENTICATED and an operator's write and read as OK (the write also timed as a commit and
/// a log sync), answers 404 and 405 off the one path and method, and exits 0 on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exposes_metrics_and_logs_json() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("node.toml");
    std::fs::write(&path, config(directory.path())).unwrap();
    let mut child = Command::new(BINARY)
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = json_lines(&mut child);
    let mut running = Running(child);

    let listening = wait_for_event(&lines, "metrics endpoint listening");
    let address: SocketAddr = listening["fields"]["address"]
        .as_str()
        .expect("the address is a field")
        .parse()
        .expect("an ip:port");
    assert_eq!(listening["fields"]["path"], "/metrics");
    let api_address = wait_for_event(&lines, "public API listening")["fields"]["address"]
        .as_str()
        .expect("the API address is a field")
        .to_owned();

    let scraped = scrape_until(address, "the node leads", |scraped| {
        scraped.value("switchyard_raft_is_leader", &[]) == Some(1.0)
    })
    .await;
    assert_eq!(
        scraped.content_type, "text/plain; version=0.0.4; charset=utf-8",
        "the Prometheus text format"
    );
    let own = [("node", "1"), ("site", "osaka")];
    assert!(
        scraped
            .value("switchyard_raft_leader_changes_total", &own)
            .unwrap()
            >= 1.0
    );
    assert!(scraped.value("switchyard_raft_term", &own).unwrap() >= 1.0);
    assert_eq!(
        scraped.types["switchyard_commit_latency_seconds"],
        "histogram"
    );

    // Public calls: one refused (no credentials), one write and one read as the operator.
    let endpoint = format!("http://{api_address}");
    let channel = tonic::transport::Endpoint::from_shared(endpoint)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("the public API accepts connections");
    let refused = ParticipantServiceClient::new(channel.clone())
        .look_up_supply_point(v1::LookUpSupplyPointRequest {
            supply_point_number: "0300000000000000000001".into(),
            consistency: v1::ReadConsistency::Local as i32,
        })
        .await
        .expect_err("no credentials");
    assert_eq!(refused.code(), Code::Unauthenticated);
    let token: MetadataValue<_> = format!("Bearer {OPERATOR_TOKEN}").parse().unwrap();
    let mut operator =
        AdminServiceClient::with_interceptor(channel, move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
            Ok(request)
        });
    operator
        .publish_notice(admin::PublishNoticeRequest {
            request_id: "metrics-test-1".into(),
            severity: v1::Severity::Info as i32,
            title: "Metrics".into(),
            body: "A notice for the metrics test.".into(),
        })
        .await
        .expect("the operator publishes a notice");
    operator
        .get_cluster_status(admin::GetClusterStatusRequest {})
        .await
        .expect("the operator reads the cluster status");

    let participant = "switchyard.v1.ParticipantService";
    let admin_service = "switchyard.admin.v1.AdminService";
    let scraped = scrape_until(address, "the calls are counted", |scraped| {
        scraped.value(
            "switchyard_rpc_requests_total",
            &[
                ("service", admin_service),
                ("method", "GetClusterStatus"),
                ("code", "OK"),
            ],
        ) == Some(1.0)
    })
    .await;
    let counted = |service: &str, method: &str, code: &str| {
        scraped.value(
            "switchyard_rpc_requests_total",
            &[("service", service), ("method", method), ("code", code)],
        )
    };
    assert_eq!(
        counted(participant, "LookUpSupplyPoint", "UNAUTHENTICATED"),
        Some(1.0)
    );
    assert_eq!(counted(participant, "LookUpSupplyPoint", "OK"), Some(0.0));
    assert_eq!(counted(admin_service, "PublishNotice", "OK"), Some(1.0));
    assert_eq!(
        scraped.value(
            "switchyard_rpc_duration_seconds_count",
            &[("service", admin_service), ("method", "PublishNotice")],
        ),
        Some(1.0)
    );
    assert!(
        scraped
            .value("switchyard_commit_latency_seconds_count", &own)
            .unwrap()
            >= 1.0,
        "the notice was committed and timed"
    );
    assert!(
        scraped
            .value(
                "switchyard_flush_duration_seconds_count",
                &[("disk", "log")]
            )
            .unwrap()
            > 0.0
    );
    assert_eq!(scraped.value("switchyard_disk_stalled", &own), Some(0.0));

    let (status, _, _) = request(address, "GET", "/other").await.unwrap();
    assert_eq!(status, 404);
    let (status, _, _) = request(address, "POST", "/metrics").await.unwrap();
    assert_eq!(status, 405);

    let stopped = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    wait_for_event(&lines, "stopped");
    let deadline = Instant::now() + WAIT;
    let exit = loop {
        if let Some(exit) = running.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within {WAIT:?} of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "exit status {exit}");
}
