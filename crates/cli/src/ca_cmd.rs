//! `negotiator ca ...`: create a CA and issue host profiles.

use std::fs;
use std::io::IsTerminal;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use negotiator_pki::{CA_CERT_FILE, CA_KEY_FILE, Ca, IssueRequest, KeyType, San, to_pem};
use negotiator_store::{Profile, read_password, write_atomic};
use zeroize::Zeroizing;

/// Environment variable holding a profile password.
const ENV_PASSWORD: &str = "NEGOTIATOR_PASSWORD";
/// Environment variable holding the CA key password.
const ENV_CA_PASSWORD: &str = "NEGOTIATOR_CA_PASSWORD";
const DAY: u64 = 86_400;

/// CA subcommands.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a new CA in a directory (ca.pem, ca-key.profile, state.json).
    Init(InitArgs),
    /// Issue a host certificate and write it with a new key into an encrypted profile.
    Issue(IssueArgs),
}

/// Arguments of `ca init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// CA directory (created with mode 0700 if missing).
    #[arg(long)]
    dir: PathBuf,
    /// CA subject DN, e.g. "CN=Example Root, O=Example, C=DE".
    #[arg(long)]
    subject: String,
    /// Key type: ecdsa-p256, ecdsa-p384, rsa2048, rsa3072, rsa4096 or ed25519.
    #[arg(long, default_value = "ecdsa-p256")]
    key_type: String,
    /// Validity in days.
    #[arg(long, default_value_t = 3650)]
    days: u64,
    /// File whose first line is the CA key password
    /// (else $NEGOTIATOR_CA_PASSWORD, $NEGOTIATOR_PASSWORD, or a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
}

/// Arguments of `ca issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// CA directory.
    #[arg(long)]
    dir: PathBuf,
    /// Subject DN of the host (may be "" when --san is given).
    #[arg(long)]
    subject: String,
    /// subjectAltName: ip:ADDR, dns:NAME or email:ADDR (repeatable).
    #[arg(long = "san")]
    sans: Vec<String>,
    /// Output profile (key, chain and trust anchor, encrypted).
    #[arg(long)]
    out: PathBuf,
    /// Also write the certificate as PEM here.
    #[arg(long)]
    cert_out: Option<PathBuf>,
    /// Key type of the new host key.
    #[arg(long, default_value = "ecdsa-p256")]
    key_type: String,
    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    days: u64,
    /// Add extKeyUsage id-kp-ipsecIKE (RFC 4945).
    #[arg(long)]
    eku_ike: bool,
    /// File with the password of the new profile (also used for the CA key
    /// unless --ca-password-file is given).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// File with the CA key password.
    #[arg(long)]
    ca_password_file: Option<PathBuf>,
}

fn parse_key_type(s: &str) -> Result<KeyType, String> {
    KeyType::from_name(&s.to_ascii_lowercase()).ok_or_else(|| {
        format!("unknown key type {s:?} (use ecdsa-p256, ecdsa-p384, rsa2048, rsa3072, rsa4096 or ed25519)")
    })
}

fn now_unix() -> Result<u64, String> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| "system clock is before 1970".to_string())
}

fn days(n: u64) -> Result<Duration, String> {
    if n == 0 {
        return Err("--days must be at least 1".into());
    }
    n.checked_mul(DAY)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("--days {n} is too large"))
}

/// Reads a password: `file`, else the first set variable of `envs`, else a prompt.
fn get_password(
    file: Option<&Path>,
    envs: &[&str],
    prompt: &str,
) -> Result<Zeroizing<String>, String> {
    let env = if file.is_some() {
        envs.first().copied()
    } else {
        envs.iter()
            .copied()
            .find(|e| std::env::var_os(e).is_some())
            .or(envs.last().copied())
    }
    .unwrap_or(ENV_PASSWORD);
    let pw = read_password(file, env, prompt).map_err(|e| match e {
        negotiator_store::StoreError::NoPassword(_) => format!(
            "no password: give a password file, set {}, or run on a terminal",
            envs.join(" or ")
        ),
        e => e.to_string(),
    })?;
    if pw.is_empty() {
        return Err("empty password refused".into());
    }
    Ok(pw)
}

/// Like [`get_password`] for a new password: when it is typed at a prompt,
/// asks a second time and requires both entries to match.
fn get_new_password(
    file: Option<&Path>,
    envs: &[&str],
    prompt: &str,
) -> Result<Zeroizing<String>, String> {
    let interactive = file.is_none()
        && envs.iter().all(|e| std::env::var_os(e).is_none())
        && std::io::stdin().is_terminal();
    let pw = get_password(file, envs, prompt)?;
    if interactive {
        let again = get_password(None, envs, "Repeat the password: ")?;
        if *again != *pw {
            return Err("the two passwords do not match".into());
        }
    }
    Ok(pw)
}

/// Runs a CA subcommand.
pub fn run(cmd: CaCommand) -> Result<(), String> {
    match cmd {
        CaCommand::Init(a) => init(a),
        CaCommand::Issue(a) => issue(a),
    }
}

fn init(a: InitArgs) -> Result<(), String> {
    for f in [CA_KEY_FILE, CA_CERT_FILE] {
        let p = a.dir.join(f);
        if p.exists() {
            return Err(format!(
                "{} already exists; refusing to overwrite an existing CA",
                p.display()
            ));
        }
    }
    let validity = days(a.days)?;
    let key_type = parse_key_type(&a.key_type)?;
    // Parse the subject before asking for a password.
    negotiator_pki::parse_dn(&a.subject).map_err(|e| e.to_string())?;
    let password = get_new_password(
        a.password_file.as_deref(),
        &[ENV_CA_PASSWORD, ENV_PASSWORD],
        "New CA key password: ",
    )?;
    if !a.dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&a.dir)
            .map_err(|e| format!("cannot create {}: {e}", a.dir.display()))?;
    }
    let ca =
        Ca::generate(&a.subject, key_type, validity, now_unix()?).map_err(|e| e.to_string())?;
    ca.save(&a.dir, password.as_bytes())
        .map_err(|e| e.to_string())?;
    outln!(
        "created CA {:?} ({}) in {}",
        a.subject,
        key_type.name(),
        a.dir.display()
    );
    Ok(())
}

/// Holds an exclusive lock on the CA directory while it lives, so that concurrent
/// `ca issue` runs serialise instead of losing each other's records.
fn lock_ca(dir: &std::path::Path) -> Result<std::fs::File, String> {
    let path = dir.join(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    f.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(f)
}

fn issue(a: IssueArgs) -> Result<(), String> {
    for p in std::iter::once(&a.out).chain(a.cert_out.as_ref()) {
        if p.exists() {
            return Err(format!(
                "{} already exists; refusing to overwrite",
                p.display()
            ));
        }
    }
    let validity = days(a.days)?;
    let key_type = parse_key_type(&a.key_type)?;
    let sans = a
        .sans
        .iter()
        .map(|s| s.parse::<San>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<San>, String>>()?;
    negotiator_pki::parse_dn(&a.subject).map_err(|e| e.to_string())?;
    let ca_pw_file = a.ca_password_file.as_deref().or(a.password_file.as_deref());
    let ca_password = get_password(
        ca_pw_file,
        &[ENV_CA_PASSWORD, ENV_PASSWORD],
        "CA key password: ",
    )?;
    let _lock = lock_ca(&a.dir)?;
    let mut ca =
        Ca::load(&a.dir, ca_password.as_bytes()).map_err(|e| format!("cannot open CA: {e}"))?;
    let profile_password = get_new_password(
        a.password_file.as_deref(),
        &[ENV_PASSWORD],
        "New profile password: ",
    )?;
    let req = IssueRequest {
        subject: a.subject.clone(),
        sans,
        validity,
        eku_ipsec_ike: a.eku_ike,
    };
    let (key, cert) = ca
        .issue_with_new_key(&req, key_type, now_unix()?)
        .map_err(|e| e.to_string())?;
    let profile = Profile {
        private_key_pkcs8: Zeroizing::new(key.to_pkcs8_der().as_bytes().to_vec()),
        certificate_chain: vec![cert.clone(), ca.certificate_der().to_vec()],
        trust_anchors: vec![ca.certificate_der().to_vec()],
    };
    // Record first: a certificate that exists must be in the CA's records (so that it can be
    // revoked); if writing the outputs fails afterwards, the record says what was issued.
    ca.save_state(&a.dir)
        .map_err(|e| format!("certificate not issued: cannot record it: {e}"))?;
    let rec = ca
        .issued()
        .last()
        .ok_or_else(|| "internal error: issued certificate not recorded".to_string())?;
    let written = |what: &str, e: String| {
        format!(
            "certificate serial {} was issued and recorded, but writing {what} failed: {e}",
            rec.serial
        )
    };
    profile
        .save(&a.out, profile_password.as_bytes())
        .map_err(|e| written(&a.out.display().to_string(), e.to_string()))?;
    if let Some(p) = &a.cert_out {
        write_atomic(p, to_pem(&cert).as_bytes(), 0o644)
            .map_err(|e| written(&p.display().to_string(), e.to_string()))?;
    }
    outln!("serial {}", rec.serial);
    outln!("subject {}", rec.subject);
    outln!("not after {}", rec.not_after);
    outln!("profile {}", a.out.display());
    if let Some(p) = &a.cert_out {
        outln!("certificate {}", p.display());
    }
    Ok(())
}
