//! Test-only fault points reachable from outside a `switchyard serve` process, compiled only with
//! the `fault-injection` feature (never in a release build): the chaos suite uses them to stall
//! this node's disk syncs (the store's stall point — the 2022 failure) and to move the clock it
//! stamps log entries with (a leader whose clock runs behind).
//!
//! With the feature compiled in and `SWITCHYARD_FAULT_CONTROL` naming a file, a task reads that
//! file every [`POLL_INTERVAL`]. It is TOML:
//!
//! ```toml
//! generation = 3              # a number the writer raises with every change
//! disk-stall = true           # hold every disk sync until false (default false)
//! clock-offset-ms = -600000   # added to the wall clock when stamping entries (default 0)
//! ```
//!
//! When the generation differs from the last one applied, the task applies the whole file and
//! then writes `<file>.applied` holding `generation = N`, so that the writer knows the fault is in
//! place. A missing file means no fault; an unreadable one is logged and ignored. The task ends
//! with the node.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::Deserialize;
use switchyard_raft::NodeHandle;

/// The environment variable naming the control file.
pub(crate) const FAULT_CONTROL_VARIABLE: &str = "SWITCHYARD_FAULT_CONTROL";

/// How often the control file is read.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The control file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FaultControl {
    generation: u64,
    #[serde(default)]
    disk_stall: bool,
    #[serde(default)]
    clock_offset_ms: i64,
}

/// Starts the control task for `node` when the environment names a control file.
pub(crate) fn start(node: &Arc<NodeHandle>) {
    let Some(path) = std::env::var_os(FAULT_CONTROL_VARIABLE).map(PathBuf::from) else {
        return;
    };
    tracing::warn!(
        node_id = node.node_id(),
        path = %path.display(),
        "fault injection enabled (a test build): faults are read from the control file"
    );
    let node = Arc::downgrade(node);
    tokio::spawn(run(node, path));
}

async fn run(node: Weak<NodeHandle>, path: PathBuf) {
    let mut applied: Option<u64> = None;
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(node) = node.upgrade() else {
            return;
        };
        let control = match read(&path) {
            Ok(Some(control)) => control,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(path = %path.display(), error = %error, "unreadable fault control file");
                continue;
            }
        };
        if applied == Some(control.generation) {
            continue;
        }
        apply(&node, control);
        applied = Some(control.generation);
        if let Err(error) = acknowledge(&path, control.generation) {
            tracing::warn!(path = %path.display(), error = %error, "cannot acknowledge a fault");
        }
    }
}

fn read(path: &Path) -> Result<Option<FaultControl>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map(Some)
            .map_err(|error| error.to_string()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.to_string()),
    }
}

fn apply(node: &NodeHandle, control: FaultControl) {
    let store = node.store();
    if control.disk_stall {
        store.inject_stall();
    } else {
        store.release_stall();
    }
    node.set_clock_offset(control.clock_offset_ms);
    tracing::warn!(
        node_id = node.node_id(),
        generation = control.generation,
        disk_stall = control.disk_stall,
        clock_offset_ms = control.clock_offset_ms,
        "fault injection: control applied"
    );
}

/// Writes `<path>.applied` through a temporary file and a rename, so a reader never sees half.
fn acknowledge(path: &Path, generation: u64) -> std::io::Result<()> {
    let mut applied = path.as_os_str().to_owned();
    applied.push(".applied");
    let applied = PathBuf::from(applied);
    let mut temporary = applied.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, format!("generation = {generation}\n"))?;
    std::fs::rename(&temporary, &applied)
}

#[cfg(test)]
mod tests {
    use super::FaultControl;

    /// The control file is strict TOML with defaults for the faults left out.
    #[test]
    fn control_files_parse_strictly() {
        let control: FaultControl =
            toml::from_str("generation = 2\ndisk-stall = true\nclock-offset-ms = -5000\n")
                .expect("a valid file");
        assert_eq!(
            control,
            FaultControl {
                generation: 2,
                disk_stall: true,
                clock_offset_ms: -5000
            }
        );
        let quiet: FaultControl = toml::from_str("generation = 1").expect("a valid file");
        assert!(!quiet.disk_stall);
        assert_eq!(quiet.clock_offset_ms, 0);
        assert!(toml::from_str::<FaultControl>("generation = 1\nunknown = 1").is_err());
    }
}
