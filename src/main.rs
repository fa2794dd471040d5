//! The `alertlab` binary: parse arguments, run the subcommand, map errors to exit codes
//! (0 ok, 1 runtime failure or `--check` drift, 2 bad input or usage).

use std::process::ExitCode;

fn main() -> ExitCode {
    alertlab::cli::main()
}
