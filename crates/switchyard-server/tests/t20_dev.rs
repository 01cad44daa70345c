//! `switchyard dev`, the README's main job, as a user runs it: the binary starts five nodes on
//! loopback with sample data, prints the endpoints, the development tokens and examples, and
//! says it is ready; `swctl` then looks a supply point up through any node, lists the
//! participants as JSON, and refuses a bad token; every node's metrics endpoint, printed in the
//! banner, answers (one node leading, the look-up counted); Ctrl-C stops everything with exit
//! code 0.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_switchyard");
/// Starting five nodes and loading the sample data, on a loaded 2-core machine.
const READY_WITHIN: Duration = Duration::from_secs(180);

/// Runs swctl (its library entry point) with `args`; returns the exit code and stdout.
async fn swctl(args: &[&str]) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut all = vec!["swctl"];
    all.extend_from_slice(args);
    let exit = switchyard_cli::run(all, &mut out, &mut err).await;
    (
        exit.code(),
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// `switchyard dev` as in the README: ready banner, swctl through it, metrics per node, Ctrl-C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchyard_dev_serves_swctl_and_stops_on_ctrl_c() {
    let mut child = Command::new(BINARY)
        .args(["dev", "--base-port", "0", "--supply-points", "3000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("switchyard dev starts");
    let stdout = child.stdout.take().unwrap();
    let (lines_sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = Vec::new();
    let deadline = std::time::Instant::now() + READY_WITHIN;
    loop {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(remaining) {
            Ok(line) if line.starts_with("switchyard dev: ready") => break,
            Ok(line) => banner.push(line),
            Err(_) => {
                child.kill().ok();
                panic!(
                    "switchyard dev was not ready within {READY_WITHIN:?}; printed:\n{}",
                    banner.join("\n")
                );
            }
        }
    }
    let banner = banner.join("\n");
    for name in [
        "tokyo-1",
        "tokyo-2",
        "osaka-1",
        "osaka-2",
        "witness-1",
        "dev-A1001",
        "dev-T03",
    ] {
        assert!(banner.contains(name), "the banner misses {name}:\n{banner}");
    }
    // The banner's swctl example: endpoints and a supply point to try.
    let example = banner
        .lines()
        .find(|line| line.trim_start().starts_with("swctl --endpoint"))
        .expect("a swctl example");
    let words: Vec<&str> = example.split_whitespace().collect();
    let endpoints = words[2];
    let point = *words.last().unwrap();
    assert_eq!(endpoints.split(',').count(), 5);

    let (code, out, err) = swctl(&[
        "--endpoint",
        endpoints,
        "--token",
        "dev-A1001",
        "lookup",
        point,
    ])
    .await;
    assert_eq!(code, 0, "lookup failed: {err}");
    assert!(out.contains(point), "the look-up shows the point: {out}");

    // Through the last endpoint only (the witness), as JSON.
    let witness = endpoints.split(',').next_back().unwrap();
    let (code, out, err) = swctl(&[
        "--endpoint",
        witness,
        "--token",
        "dev-T03",
        "--json",
        "participants",
    ])
    .await;
    assert_eq!(code, 0, "participants failed: {err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert!(json.to_string().contains("A1001"), "{json}");

    let (code, _, err) = swctl(&[
        "--endpoint",
        endpoints,
        "--token",
        "dev-nobody",
        "lookup",
        point,
    ])
    .await;
    assert_eq!(code, 4, "an unknown token exits 4: {err}");
    assert!(
        err.contains("UNAUTHENTICATED") || err.contains("unauthenticated"),
        "{err}"
    );

    // The banner's metrics column: one endpoint per node, exactly one of them leading, and the
    // look-up above counted on some node.
    let metrics: Vec<std::net::SocketAddr> = banner
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let node = ["tokyo-1", "tokyo-2", "osaka-1", "osaka-2", "witness-1"];
            (words.len() == 6 && node.contains(&words[1])).then(|| words[5].parse().unwrap())
        })
        .collect();
    assert_eq!(metrics.len(), 5, "a metrics endpoint per node:\n{banner}");
    assert!(
        banner.contains("/metrics"),
        "the banner shows how to scrape"
    );
    let mut leaders = 0.0;
    let mut look_ups = 0.0;
    for address in &metrics {
        let scraped = switchyard_testkit::scrape::scrape(*address)
            .await
            .expect("every node serves its metrics");
        leaders += scraped.sum("switchyard_raft_is_leader", &[]);
        look_ups += scraped.sum(
            "switchyard_rpc_requests_total",
            &[("method", "LookUpSupplyPoint"), ("code", "OK")],
        );
    }
    assert_eq!(leaders, 1.0, "exactly one node leads");
    assert!(look_ups >= 1.0, "the look-up was counted");

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "switchyard dev exited with {status}");
            break;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("switchyard dev did not stop within 60 s of Ctrl-C");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
