//! What the one-node process tests share: the node's configuration file.

// Each test binary compiles this module on its own and the items are shared with it, not
// exported.
#![allow(unreachable_pub)]

use std::path::Path;

/// The configuration of a one-node cluster at `site` that keeps its data in `directory`, binds
/// its Raft port where the system chooses, initializes itself and uses short Raft timings;
/// `sections` (more TOML: `[api]`, `[metrics]`, `[log]`, ...) follow.
pub fn one_node_config(directory: &Path, site: &str, sections: &str) -> String {
    format!(
        r#"
[node]
id = 1
site = "{site}"
data-dir = "{data}"

[network]
raft-listen = "127.0.0.1:0"

[cluster]
initialize = true
[[cluster.members]]
id = 1
site = "{site}"
raft-address = ""

[raft]
heartbeat-interval-ms = 50
election-timeout-min-ms = 300
election-timeout-max-ms = 600
{sections}"#,
        data = directory.join("data").display()
    )
}
