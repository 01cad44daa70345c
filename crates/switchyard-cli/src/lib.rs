//! `swctl`, the command-line client of Switchyard: for participants, facility look-ups,
//! stop-on-behalf requests, applications, the TSO's work, the directory, notices and the event
//! stream, over the public gRPC API (`switchyard.v1`); for operators, the cluster's status and
//! planned failover, over the Admin API (`switchyard.admin.v1`).
//!
//! The binary is thin: `main.rs` calls [`run_blocking`]. Tests call [`run`] with their own
//! output buffers inside their own runtime, exactly as a user would call the binary.
//!
//! How the files divide the work:
//!
//! - `args`: the command line (clap derive); values are checked locally with the domain's own
//!   constructors, so mistakes are reported naming the option;
//! - `connect`: endpoints, TLS, the bearer token, deadlines and failover to the next endpoint;
//! - `request_id`: request ids for writes that were given none;
//! - `commands/`: one file per family, building wire requests (pure, unit-tested), calling and
//!   printing; `watch` resumes the event stream across failures; `status` asks every node and
//!   merges their answers (the merge is a pure, unit-tested function); `failover` moves
//!   leadership and confirms it;
//! - `output/`: the table formatter, enum words, human and JSON renderings;
//! - `error`: the mapping of errors to stderr and exit codes.
//!
//! # Exit codes
//!
//! | exit | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | any other failure: OUT_OF_RANGE (events compacted), INTERNAL, UNIMPLEMENTED, output errors |
//! | 2 | bad arguments (refused locally), or INVALID_ARGUMENT from the server |
//! | 3 | a business rule refused: FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS, NOT_FOUND |
//! | 4 | not allowed: PERMISSION_DENIED, UNAUTHENTICATED |
//! | 5 | no node could answer: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED |
//! | 6 | `status`: the cluster answered but is degraded: a voter is not healthy or did not answer, no leader is known, or the answering nodes disagree on it |
//!
//! Errors print as `error: <GRPC_CODE>: <message>` on stderr (a refused write's message starts
//! with the rule name), followed by `field: <path>` when the status names the offending field.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool prints its results"
)]

mod args;
mod commands;
mod connect;
mod error;
mod output;
mod request_id;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

pub use crate::args::Cli;
pub use crate::error::{CliError, Exit};

use crate::commands::Context;
use crate::connect::Session;
use crate::output::Printer;

/// The long help's text after the command list: authentication, output, exit codes.
pub(crate) const LONG_ABOUT: &str = "\
Switchyard client: facility look-ups, stop-on-behalf requests, applications, the TSO's work, \
the directory, notices and the event stream, over a node's public gRPC API; and for operators \
(e.g. --token dev-op:operator) the cluster's status and planned failover, over the Admin API.

Any node serves every command: give several endpoints (comma-separated) and swctl moves to the \
next one when a node is down or answers UNAVAILABLE. Writes carry a request id (generated when \
--request-id is absent, always printed): retrying a write with the same id after a timeout is \
safe and never applies it twice.

Output is aligned tables, or JSON with --json (one document per command; one object per line \
for watch). Dates are YYYY-MM-DD (Japan), instants are shown in Japan time.

Exit status:
  0  success
  1  any other failure (OUT_OF_RANGE: events compacted, INTERNAL, UNIMPLEMENTED, ...)
  2  bad arguments, refused locally or with INVALID_ARGUMENT
  3  a business rule refused: FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS, NOT_FOUND
  4  not allowed: PERMISSION_DENIED, UNAUTHENTICATED
  5  no node could answer: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (retry later)
  6  degraded (status): a voter is not healthy or did not answer, no leader is known, or the \
answering nodes disagree on the leader

Errors print as `error: <GRPC_CODE>: <message>` on stderr; a refused write's message starts \
with the rule's name, and `field: <path>` names the offending field when the server sent it.";

/// Runs `swctl` with `args` (the first is the program name), writing results to `stdout` and
/// errors and notes to `stderr`, and returns how the process should exit.
///
/// Runs inside the caller's tokio runtime; [`run_blocking`] makes one for the binary.
pub async fn run<I, T>(
    args: I,
    stdout: &mut (dyn Write + Send),
    stderr: &mut (dyn Write + Send),
) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with exit 0; usage errors to stderr with exit 2.
            let text = error.render().to_string();
            if error.exit_code() == 0 {
                let _ = stdout.write_all(text.as_bytes());
                return Exit::Success;
            }
            let _ = stderr.write_all(text.as_bytes());
            return Exit::BadArguments;
        }
    };
    let is_write = cli.command.is_write();
    let request_id = cli
        .global
        .request_id
        .clone()
        .unwrap_or_else(request_id::generate);
    let result = execute(cli, request_id.clone(), stdout, stderr).await;
    let Err(error) = result else {
        return Exit::Success;
    };
    let mut text = error.describe();
    // A write that reached the network may have been applied: say how to retry it safely.
    if is_write && !matches!(error, CliError::Usage(_)) {
        text.push_str(&format!(
            "  request id: {request_id} (retry with --request-id {request_id})\n"
        ));
    }
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
    error.exit()
}

async fn execute(
    cli: Cli,
    request_id: String,
    stdout: &mut (dyn Write + Send),
    stderr: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    if !cli.command.is_write() && cli.global.request_id.is_some() {
        return Err(CliError::Usage(
            "--request-id applies to write commands only".to_owned(),
        ));
    }
    let session = Session::new(&cli.global)?;
    let printer = Printer::new(stdout, cli.global.json);
    let mut context = Context::new(session, printer, stderr, request_id);
    commands::execute(cli.command, &mut context).await
}

/// Runs `swctl` on a runtime of its own with the process's stdout and stderr; for `main`.
pub fn run_blocking<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the runtime: {error}"
            );
            return Exit::Failure;
        }
    };
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    runtime.block_on(run(args, &mut stdout, &mut stderr))
}
