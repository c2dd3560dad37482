//! `negotiator ca serve` (CMP server over HTTP, RFC 6712) and
//! `negotiator ca enroll-code` (one-time reference number + authorization code).
//!
//! Self-contained (no items from other CLI modules) so that it can be wired
//! into the `ca` subcommands by adding two variants.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use negotiator_pki::cmp::{CmpServer, create_enroll_code, http, lock_ca_dir};
use negotiator_pki::{Ca, San, format_rfc3339};
use zeroize::Zeroizing;

/// Arguments of `ca serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// CA directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// Address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long)]
    pub listen: String,
    /// File whose first line is the CA key password
    /// (else $NEGOTIATOR_CA_PASSWORD or $NEGOTIATOR_PASSWORD).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Validity of issued certificates in days (capped by the CA certificate).
    #[arg(long, default_value_t = 365)]
    pub days: u64,
}

/// Arguments of `ca enroll-code`.
#[derive(Debug, Args)]
pub struct EnrollCodeArgs {
    /// CA directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// Subject DN the certificate will carry (whatever the client asks for).
    #[arg(long)]
    pub subject: String,
    /// subjectAltName the certificate will carry: ip:ADDR, dns:NAME or email:ADDR (repeatable).
    #[arg(long = "san")]
    pub sans: Vec<String>,
    /// How long the code may be used: a number with unit s, m, h or d (default 7d).
    #[arg(long, default_value = "7d")]
    pub valid_for: String,
    /// Print {"reference":..,"secret":..,"expires":..} as JSON.
    #[arg(long)]
    pub json: bool,
    /// File whose first line is the CA key password
    /// (else $NEGOTIATOR_CA_PASSWORD or $NEGOTIATOR_PASSWORD).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

/// Parses `90s`, `15m`, `12h`, `7d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (s.get(..i), 1u64),
        Some((i, 'm')) => (s.get(..i), 60),
        Some((i, 'h')) => (s.get(..i), 3600),
        Some((i, 'd')) => (s.get(..i), 86_400),
        _ => (Some(s), 1),
    };
    let n: u64 = num
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("bad duration {s:?} (use e.g. 90s, 15m, 12h, 7d)"))?;
    let secs = n
        .checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("duration {s:?} out of range"))?;
    Ok(Duration::from_secs(secs))
}

fn ca_password(file: Option<&Path>) -> Result<Zeroizing<String>, String> {
    // The CA key password comes from the file, else NEGOTIATOR_CA_PASSWORD, else
    // NEGOTIATOR_PASSWORD (with a file given, the variable name is not used).
    let env = if file.is_some() || std::env::var_os("NEGOTIATOR_CA_PASSWORD").is_some() {
        "NEGOTIATOR_CA_PASSWORD"
    } else {
        "NEGOTIATOR_PASSWORD"
    };
    let pw = negotiator_store::read_password(file, env, "CA key password: ").map_err(|e| {
        match e {
            negotiator_store::StoreError::NoPassword(_) => "no CA password: give --password-file, set NEGOTIATOR_CA_PASSWORD, or run on a terminal".to_string(),
            e => e.to_string(),
        }
    })?;
    if pw.is_empty() {
        return Err("empty password refused".into());
    }
    Ok(pw)
}

fn now_unix() -> Result<i64, String> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or_else(|| "system clock out of range".to_string())
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Creates an enrollment code and returns what `enroll-code` prints.
pub fn enroll_code_output(a: &EnrollCodeArgs) -> Result<Zeroizing<String>, String> {
    let valid_for = parse_duration(&a.valid_for)?;
    let sans = a
        .sans
        .iter()
        .map(|s| s.parse::<San>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<San>, String>>()?;
    negotiator_pki::parse_dn(&a.subject).map_err(|e| e.to_string())?;
    let pw = ca_password(a.password_file.as_deref())?;
    let _lock = lock_ca_dir(&a.dir).map_err(|e| e.to_string())?;
    let ca = Ca::load(&a.dir, pw.as_bytes()).map_err(|e| format!("cannot open CA: {e}"))?;
    let code = create_enroll_code(
        &a.dir,
        &ca,
        &a.subject,
        &sans,
        valid_for.as_secs(),
        now_unix()?,
    )
    .map_err(|e| e.to_string())?;
    let expires = format_rfc3339(code.expires);
    Ok(Zeroizing::new(if a.json {
        format!(
            "{{\"reference\":{},\"secret\":{},\"expires\":{}}}\n",
            json_str(&code.reference),
            json_str(&code.secret),
            json_str(&expires)
        )
    } else {
        format!(
            "reference {}\nsecret {}\nexpires {}\n",
            code.reference,
            code.secret.as_str(),
            expires
        )
    }))
}

/// `negotiator ca enroll-code`.
pub fn enroll_code(args: EnrollCodeArgs) -> Result<(), String> {
    let out = enroll_code_output(&args)?;
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(out.as_bytes())
        .and_then(|_| o.flush())
        .map_err(|e| format!("cannot write output: {e}"))
}

/// Opens the CA and binds the listener (split from [`serve`] for tests).
pub fn bind(args: &ServeArgs) -> Result<(TcpListener, Arc<CmpServer>), String> {
    let pw = ca_password(args.password_file.as_deref())?;
    let mut server =
        CmpServer::new(&args.dir, pw.as_bytes()).map_err(|e| format!("cannot open CA: {e}"))?;
    if args.days == 0 {
        return Err("--days must be at least 1".into());
    }
    let days = args
        .days
        .checked_mul(86_400)
        .ok_or_else(|| "--days too large".to_string())?;
    server.set_validity(Duration::from_secs(days));
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    Ok((listener, Arc::new(server)))
}

/// `negotiator ca serve`: serves CMP at http://LISTEN/pkix/ until killed.
pub fn serve(args: ServeArgs) -> Result<(), String> {
    let (listener, server) = bind(&args)?;
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| args.listen.clone());
    eprintln!(
        "CMP server for {} listening on http://{addr}/pkix/",
        args.dir.display()
    );
    http::serve(listener, server).map_err(|e| e.to_string())
}
