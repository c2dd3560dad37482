//! `negotiator`: the command-line front end of Negotiator.

mod bench;
mod ca_cmd;
mod demo;
mod verify_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Negotiator: IKE key negotiation and PKI key management for IPsec.
#[derive(Debug, Parser)]
#[command(name = "negotiator", version, about)]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info`, `negotiator=debug`.
    #[arg(long, global = true, env = "NEGOTIATOR_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Certificate authority operations.
    #[command(subcommand)]
    Ca(ca_cmd::CaCommand),
    /// Two negotiators on loopback: throwaway CA, IKEv2 + ESP, packets both ways.
    Demo(demo::DemoArgs),
    /// Validate a certificate path (RFC 5280) with CRLs; exit 0 valid, 1 invalid, 2 unreadable.
    Verify(verify_cmd::VerifyArgs),
    /// Measure IKE SA setup cost and memory, SPI lookup and ESP throughput on this machine.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    if let Command::Verify(args) = cli.command {
        return verify_cmd::run(args);
    }
    let result = match cli.command {
        Command::Verify(_) => Ok(()),
        Command::Ca(cmd) => ca_cmd::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("negotiator: {e}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
