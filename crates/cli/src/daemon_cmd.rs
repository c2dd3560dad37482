//! `negotiator daemon --config FILE`: runs the connections of a TOML configuration and
//! serves the control socket.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The TOML configuration (see examples/config/).
    #[arg(long)]
    pub config: PathBuf,
    /// Stay in the foreground. The daemon always does (run it under a service manager);
    /// the flag is accepted for scripts that pass it.
    #[arg(long)]
    pub foreground: bool,
    /// Control socket path (overrides `[daemon] control_socket`).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Only check the configuration and exit.
    #[arg(long)]
    pub check: bool,
}

/// Runs `daemon`.
pub fn run(args: DaemonArgs) -> Result<(), String> {
    if args.check {
        let cfg = negotiator_daemon::config::DaemonConfig::load(&args.config)
            .map_err(|e| format!("{}: {e}", args.config.display()))?;
        outln!(
            "{}: OK, {} connection(s)",
            args.config.display(),
            cfg.connections.len()
        );
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(negotiator_daemon::service::run(
        &args.config,
        args.socket,
        negotiator_crypto::default_provider(),
    ))
}
