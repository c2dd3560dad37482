//! `negotiator`: the command-line front end of Negotiator.

/// `println!` that never panics: a closed pipe ends the program quietly, any other write
/// error is reported and exits 2.
macro_rules! outln {
    () => {
        $crate::write_stdout(format_args!(""))
    };
    ($($t:tt)*) => {
        $crate::write_stdout(format_args!($($t)*))
    };
}

mod bench;
mod ca_cmd;
mod cmp_cmd;
mod control_cmd;
mod daemon_cmd;
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
    /// Run the IKE daemon from a TOML configuration, with a control socket.
    Daemon(daemon_cmd::DaemonArgs),
    /// Security associations of a running daemon.
    #[command(subcommand)]
    Sa(control_cmd::SaCommand),
    /// Initiate a connection of a running daemon.
    Up(control_cmd::UpArgs),
    /// Delete a connection's IKE SAs, or one IKE SA or Child SA by SPI.
    Down(control_cmd::DownArgs),
    /// Make a running daemon re-read its configuration.
    Reload(control_cmd::ReloadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.log) {
        eprintln!("negotiator: {e}");
        return ExitCode::from(2);
    }
    if let Command::Verify(args) = cli.command {
        return verify_cmd::run(args);
    }
    let result = match cli.command {
        Command::Verify(_) => Ok(()),
        Command::Ca(cmd) => ca_cmd::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Daemon(args) => daemon_cmd::run(args),
        Command::Sa(cmd) => control_cmd::run_sa(cmd),
        Command::Up(args) => control_cmd::run_up(args),
        Command::Down(args) => control_cmd::run_down(args),
        Command::Reload(args) => control_cmd::run_reload(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("negotiator: {e}");
            ExitCode::from(2)
        }
    }
}

/// Writes one line to standard output (see `outln!`).
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let r = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = r {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("negotiator: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

fn init_logging(filter: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| format!("invalid log filter {filter:?} (--log / NEGOTIATOR_LOG): {e}"))?;
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}
