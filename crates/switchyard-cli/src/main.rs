//! `swctl`: the participant command-line client of Switchyard. Everything is in the library; see
//! `switchyard_cli::run`.

use std::process::ExitCode;

fn main() -> ExitCode {
    switchyard_cli::run_blocking(std::env::args_os()).into()
}
