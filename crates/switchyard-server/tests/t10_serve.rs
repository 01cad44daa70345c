//! The `switchyard` binary as an operator runs it: a one-node cluster started from a TOML file
//! stops cleanly on SIGTERM and starts again from the same directory; a bad file is refused with
//! the key at fault.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_switchyard");

fn config(directory: &std::path::Path) -> String {
    common::one_node_config(directory, "tokyo", "")
}

/// `switchyard serve` starts, and SIGTERM stops it with exit code 0 after a graceful shutdown;
/// a second start on the same data directory (already initialized) does the same.
#[test]
fn serves_and_stops_on_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("node.toml");
    std::fs::write(&path, config(directory.path())).unwrap();
    serve_once(&path);
    serve_once(&path);
}

fn serve_once(path: &std::path::Path) {
    let mut child = Command::new(BINARY)
        .args(["serve", "--config"])
        .arg(path)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_sender.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => continue,
                Err(_) => panic!("no log line containing {needle:?} within 30 s"),
            }
        }
    };
    wait_for("node started");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("stopped");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit status {exit}");
}

/// `switchyard check-config` accepts the template and refuses a typo, naming the key, with
/// exit code 2.
#[test]
fn check_config_names_the_key() {
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/config/node.toml");
    let output = Command::new(BINARY)
        .args(["check-config", "--config", template])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("bad.toml");
    let bad = config(directory.path())
        .replace("heartbeat-interval-ms = 50", "heartbeat-intervall-ms = 50");
    std::fs::write(&path, bad).unwrap();
    let output = Command::new(BINARY)
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("heartbeat-intervall-ms"), "{message}");
}
