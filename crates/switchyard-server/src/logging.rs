//! The tracing subscriber of the `switchyard` binary. Libraries only emit structured events;
//! this is the one place that decides how they are written.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber: `format` is `text` or `json`; `RUST_LOG`, when set, overrides
/// `level`.
pub fn install(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second install (tests) is harmless: the first subscriber stays.
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
