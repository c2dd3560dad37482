//! `negotiator ca ...` (owned by the PKI work; placeholder until it lands).

use clap::Subcommand;

/// CA subcommands.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a new CA.
    Init,
}

/// Runs a CA subcommand.
pub fn run(cmd: CaCommand) -> Result<(), String> {
    match cmd {
        CaCommand::Init => Err("not yet implemented (issue 2)".into()),
    }
}
