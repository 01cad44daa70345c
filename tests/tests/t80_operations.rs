//! The operator commands of `swctl` against a real five-node cluster: a sixth node added as a
//! learner, followed to catch-up, promoted, removed, and its id refused for good; a backup
//! downloaded and verified; the contacts exported from a node; a notice published and seen in
//! every participant's notices.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Services;
use serde_json::Value;
use switchyard_raft::{Bootstrap, Node, NodeConfig, Site, StoreConfig};

const OPERATOR: &str = "dev-op:operator";

/// Runs swctl with `args` against `endpoints`; returns exit code, stdout, stderr.
async fn swctl(endpoints: &str, args: &[&str]) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut all = vec!["swctl", "--endpoint", endpoints, "--token", OPERATOR];
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

/// Every node's endpoint, comma-separated; a follower first, so that membership changes have
/// to follow the `not_leader` redirect.
fn endpoints(services: &Services) -> String {
    services
        .cluster
        .nodes
        .iter()
        .rev()
        .map(|node| format!("http://{}", node.api.local_address()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The voters and learners the leader reports, once it reports `expect` (at most 20 s).
async fn membership(
    services: &Services,
    expect: impl Fn(&[u64], &[u64]) -> bool,
) -> (Vec<u64>, Vec<u64>) {
    let started = Instant::now();
    let mut last;
    loop {
        let (code, out, _) = swctl(&endpoints(services), &["--json", "status"]).await;
        if code == 0 || code == 6 {
            let document = parse(&out);
            let mut voters = Vec::new();
            let mut learners = Vec::new();
            for node in document["nodes"].as_array().cloned().unwrap_or_default() {
                let id = node["node_id"].as_u64().unwrap();
                if node["voter"].as_bool() == Some(true) {
                    voters.push(id);
                } else {
                    learners.push(id);
                }
            }
            if expect(&voters, &learners) {
                return (voters, learners);
            }
            last = format!("voters {voters:?}, learners {learners:?}");
        } else {
            last = format!("swctl status exited {code}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the membership did not become as expected: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `swctl member add` of node 6 (osaka-3) at `raft_address`.
async fn add_sixth(endpoints: &str, raft_address: &str) -> (u8, String, String) {
    swctl(
        endpoints,
        &[
            "member",
            "add",
            "--node-id",
            "6",
            "--name",
            "osaka-3",
            "--site",
            "osaka",
            "--raft-address",
            raft_address,
            "--public-address",
            "127.0.0.1:7999",
        ],
    )
    .await
}

/// A learner joins through `member add` (catch-up shown), is promoted to voter, then removed;
/// its id — and a member's id — are refused for good afterwards, with exit 3 and the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_is_promoted_and_leaves_and_its_id_is_never_reused() {
    let services = Services::start(2_000).await;
    let directory = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::new(
        6,
        Site::Osaka,
        "127.0.0.1:0".parse().unwrap(),
        StoreConfig::new(directory.path().join("osaka-3")),
    );
    config.bootstrap = Bootstrap::Join;
    let sixth = Arc::new(Node::start(config).await.expect("the sixth node starts"));
    let raft_address = sixth.advertised_address().to_owned();
    let all = endpoints(&services);

    let (code, out, err) = add_sixth(&all, &raft_address).await;
    assert_eq!(code, 0, "member add fails: {err}");
    assert!(out.contains("caught-up learner"), "{out}");
    assert!(
        err.contains("following the leader"),
        "the redirect is not noted: {err}"
    );
    assert!(
        err.contains("entries ("),
        "no catch-up progress on stderr: {err}"
    );
    membership(&services, |voters, learners| {
        voters.len() == 5 && learners == [6]
    })
    .await;
    assert!(
        sixth.applied_index() > 0,
        "the learner applied nothing although it was reported caught up"
    );

    // Promoting, then a second `add` of the same id, is refused.
    let (code, out, err) = swctl(&all, &["--json", "member", "promote", "6"]).await;
    assert_eq!(code, 0, "member promote fails: {err}");
    assert_eq!(parse(&out)["voter"], true, "{out}");
    membership(&services, |voters, _| voters.contains(&6)).await;
    let (code, _, err) = add_sixth(&all, &raft_address).await;
    assert_eq!(code, 3, "adding a member's id again is not refused: {err}");
    assert!(err.contains("already a member"), "{err}");

    // Removed: gone from the membership, and its id retired.
    let (code, _, err) = swctl(&all, &["member", "remove", "6"]).await;
    assert_eq!(code, 0, "member remove fails: {err}");
    membership(&services, |voters, learners| {
        voters.len() == 5 && !voters.contains(&6) && learners.is_empty()
    })
    .await;
    let (code, _, err) = add_sixth(&all, &raft_address).await;
    assert_eq!(code, 3, "a removed id is accepted again: {err}");
    assert!(err.contains("never reused"), "{err}");
    // Promoting a node that is not a learner is refused too.
    let (code, _, err) = swctl(&all, &["member", "promote", "2"]).await;
    assert_eq!(code, 3, "promoting a voter is not refused: {err}");

    let _ = sixth.shutdown().await;
    services.shutdown().await;
}

/// `snapshot save` builds a snapshot, downloads it, checks its SHA-256 and leaves a complete
/// file (and no partial one); `contacts export` writes every participant from a follower, in CSV
/// and JSON; `notice publish` reaches the participants' notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_contact_exports_and_notices() {
    let services = Services::start(2_000).await;
    let all = endpoints(&services);
    let directory = tempfile::tempdir().unwrap();

    let backup = directory.path().join("backup.snap");
    let backup_text = backup.display().to_string();
    let (code, out, err) = swctl(&all, &["--json", "snapshot", "save", &backup_text]).await;
    assert_eq!(code, 0, "snapshot save fails: {err}");
    let saved = parse(&out);
    let bytes = std::fs::metadata(&backup)
        .expect("the backup file exists")
        .len();
    assert_eq!(saved["bytes"].as_u64(), Some(bytes), "{out}");
    assert!(saved["last_included_index"].as_u64().unwrap() > 0, "{out}");
    assert_eq!(saved["sha256"].as_str().unwrap().len(), 64, "{out}");
    assert!(
        !directory.path().join("backup.snap.partial").exists(),
        "a partial file was left behind"
    );
    let file = switchyard_store::SnapshotFile {
        path: backup.clone(),
        bytes,
    };
    let records = file
        .verify()
        .expect("the backup verifies as a snapshot file");
    assert!(records > 2_000, "the backup holds only {records} records");

    // Contacts, from one follower only.
    let participants = services.data.tsos.len() + services.data.retailers.len();
    let follower = {
        let leader = services
            .cluster
            .leader(Duration::from_secs(10))
            .await
            .unwrap()
            .name;
        let node = services
            .cluster
            .nodes
            .iter()
            .find(|node| node.name != leader)
            .unwrap();
        format!("http://{}", node.api.local_address())
    };
    let csv = directory.path().join("contacts.csv");
    let (code, out, err) = swctl(
        &follower,
        &[
            "--json",
            "contacts",
            "export",
            "--format",
            "csv",
            "--out",
            &csv.display().to_string(),
        ],
    )
    .await;
    assert_eq!(code, 0, "contacts export fails: {err}");
    let exported = parse(&out);
    assert!(
        exported["participants"].as_u64().unwrap() as usize >= participants,
        "{out}"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("party_id,participant_name,contact_name,role,email,phone\r\n"));
    for tso in &services.data.tsos {
        assert!(
            text.contains(&format!("\r\n{},", tso.party)),
            "{} missing:\n{text}",
            tso.party
        );
    }
    let (code, out, err) = swctl(
        &follower,
        &["contacts", "export", "--format", "json", "--out", "-"],
    )
    .await;
    assert_eq!(code, 0, "contacts export to stdout fails: {err}");
    let document = parse(&out);
    assert!(document.as_array().unwrap().len() >= participants);
    assert!(document[0]["partyId"].is_string(), "{out}");
    // A retailer may not export.
    let retailer = services.data.retailers[0].party.to_string();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let exit = switchyard_cli::run(
        vec![
            "swctl",
            "--endpoint",
            &follower,
            "--token",
            &format!("dev-{retailer}"),
            "contacts",
            "export",
            "--out",
            "-",
        ],
        &mut out,
        &mut err,
    )
    .await;
    assert_eq!(exit.code(), 4, "a retailer exported the contacts");

    // A notice, published at a follower, listed for a retailer at another node.
    let (code, out, err) = swctl(
        &follower,
        &[
            "--json",
            "notice",
            "publish",
            "--severity",
            "critical",
            "--title",
            "Tokyo site down",
            "Service continues from Osaka.",
        ],
    )
    .await;
    assert_eq!(code, 0, "notice publish fails: {err}");
    let number = parse(&out)["notice_number"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let exit = switchyard_cli::run(
        vec![
            "swctl",
            "--endpoint",
            &all,
            "--token",
            &format!("dev-{retailer}"),
            "--json",
            "notices",
        ],
        &mut out,
        &mut err,
    )
    .await;
    assert_eq!(exit.code(), 0, "{}", String::from_utf8_lossy(&err));
    let listed = String::from_utf8(out).unwrap();
    assert!(
        listed.contains(&number) && listed.contains("Tokyo site down"),
        "{listed}"
    );

    services.shutdown().await;
}
