//! `negotiator ca ...`: create a CA and issue host profiles.

use std::fs;
use std::io::IsTerminal;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use negotiator_pki::{
    CA_CERT_FILE, CA_KEY_FILE, Ca, CrlKind, CrlReason, CrossCertOptions, IssueRequest, KeyType,
    PolicyMapping, San, parse_certificate_pem_or_der, parse_name_constraints, to_pem,
};
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
    /// Mark an issued certificate revoked (recorded in state.json).
    Revoke(RevokeArgs),
    /// Sign a full CRL (or with --delta a delta CRL against the last full CRL).
    Crl(CrlArgs),
    /// Sign an ARL: a CRL of the revoked CA certificates this CA issued
    /// (issuingDistributionPoint onlyContainsCACerts).
    Arl(ArlArgs),
    /// Issue a cross-certificate for another CA domain's CA certificate.
    CrossCertify(CrossCertifyArgs),
    /// Serve CMP (RFC 4210/9810) over HTTP at /pkix/ (RFC 6712).
    Serve(crate::cmp_cmd::ServeArgs),
    /// Create a one-time enrollment code (reference number + authorization code) for CMP.
    EnrollCode(crate::cmp_cmd::EnrollCodeArgs),
}

/// Arguments of `ca revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// CA directory.
    #[arg(long)]
    dir: PathBuf,
    /// Serial number (hex, as printed by `ca issue`).
    serial: String,
    /// CRLReason: keyCompromise, cACompromise, affiliationChanged, superseded,
    /// cessationOfOperation, certificateHold, removeFromCRL (lifts a hold),
    /// privilegeWithdrawn or aACompromise.
    #[arg(long)]
    reason: Option<String>,
    /// invalidityDate (RFC 3339): when the key is known or suspected to have
    /// become invalid; not after now.
    #[arg(long, value_name = "RFC3339-TIME")]
    invalidity_date: Option<String>,
    /// File with the CA key password.
    #[arg(long)]
    password_file: Option<PathBuf>,
}

/// Arguments of `ca crl`.
#[derive(Debug, Args)]
pub struct CrlArgs {
    /// CA directory.
    #[arg(long)]
    dir: PathBuf,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Sign a delta CRL against the last full CRL.
    #[arg(long)]
    delta: bool,
    /// Hours until nextUpdate.
    #[arg(long, default_value_t = 168)]
    next_update_hours: u64,
    /// Full CRL: add a freshestCRL extension with this URI (where delta CRLs
    /// are published; OpenSSL only applies deltas to such base CRLs).
    #[arg(long, value_name = "URI", conflicts_with = "delta")]
    freshest_crl: Option<String>,
    /// Write DER instead of PEM.
    #[arg(long)]
    der: bool,
    /// File with the CA key password.
    #[arg(long)]
    password_file: Option<PathBuf>,
}

/// Arguments of `ca arl`.
#[derive(Debug, Args)]
pub struct ArlArgs {
    /// CA directory.
    #[arg(long)]
    dir: PathBuf,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Hours until nextUpdate.
    #[arg(long, default_value_t = 168)]
    next_update_hours: u64,
    /// Write DER instead of PEM.
    #[arg(long)]
    der: bool,
    /// File with the CA key password.
    #[arg(long)]
    password_file: Option<PathBuf>,
}

/// Arguments of `ca cross-certify`.
#[derive(Debug, Args)]
pub struct CrossCertifyArgs {
    /// CA directory (the issuing CA).
    #[arg(long)]
    dir: PathBuf,
    /// The other domain's CA certificate (PEM or DER; the first certificate is used).
    #[arg(long = "ca", value_name = "OTHER.pem")]
    other: PathBuf,
    /// Name constraints, comma-separated: permit:KIND:VALUE or
    /// exclude:KIND:VALUE, KIND dns, ip (ADDR/PREFIX), email, uri or dn (a dn
    /// item takes the rest of the value). Repeatable.
    #[arg(long = "name-constraints", value_name = "LIST")]
    name_constraints: Vec<String>,
    /// Policy mapping ISSUER_OID=SUBJECT_OID (repeatable).
    #[arg(long = "policy-mapping", value_name = "MAP")]
    policy_mappings: Vec<String>,
    /// basicConstraints pathLenConstraint.
    #[arg(long)]
    path_len: Option<u8>,
    /// Validity in days (default: until the earlier notAfter of the two CAs).
    #[arg(long)]
    days: Option<u64>,
    /// Output certificate (PEM).
    #[arg(long)]
    out: PathBuf,
    /// File with the CA key password.
    #[arg(long)]
    password_file: Option<PathBuf>,
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
    /// Validity in days (default 3650; a subordinate CA: at most until the
    /// parent's notAfter).
    #[arg(long)]
    days: Option<u64>,
    /// File whose first line is the CA key password
    /// (else $NEGOTIATOR_CA_PASSWORD, $NEGOTIATOR_PASSWORD, or a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Make a subordinate CA: the CA in this directory signs its certificate
    /// and records it.
    #[arg(long, value_name = "PARENT_DIR")]
    parent: Option<PathBuf>,
    /// File with the parent CA's key password (default: as for the new CA).
    #[arg(long, requires = "parent")]
    parent_password_file: Option<PathBuf>,
    /// Subordinate CA: basicConstraints pathLenConstraint.
    #[arg(long, requires = "parent")]
    path_len: Option<u8>,
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
        CaCommand::Revoke(a) => revoke(a),
        CaCommand::Crl(a) => crl(a),
        CaCommand::Arl(a) => arl(a),
        CaCommand::CrossCertify(a) => cross_certify(a),
        CaCommand::Serve(a) => crate::cmp_cmd::serve(a),
        CaCommand::EnrollCode(a) => crate::cmp_cmd::enroll_code(a),
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
    let validity = days(a.days.unwrap_or(3650))?;
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
    let Some(parent_dir) = &a.parent else {
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
        return Ok(());
    };
    let parent_password = match &a.parent_password_file {
        Some(f) => get_password(
            Some(f),
            &[ENV_CA_PASSWORD, ENV_PASSWORD],
            "Parent CA key password: ",
        )?,
        None => password.clone(),
    };
    let _lock = lock_ca(parent_dir)?;
    let mut parent = Ca::load(parent_dir, parent_password.as_bytes())
        .map_err(|e| format!("cannot open parent CA: {e}"))?;
    let now = now_unix()?;
    let validity = match a.days {
        Some(_) => validity,
        None => {
            let left = u64::try_from(parent.not_after())
                .unwrap_or(0)
                .saturating_sub(now);
            if left == 0 {
                return Err("the parent CA certificate has expired".into());
            }
            validity.min(Duration::from_secs(left))
        }
    };
    let sub =
        Ca::generate_subordinate(&mut parent, &a.subject, key_type, validity, a.path_len, now)
            .map_err(|e| e.to_string())?;
    // Record first (as `ca issue` does): a CA certificate that exists must be revocable.
    parent
        .save_state(parent_dir)
        .map_err(|e| format!("subordinate CA not created: cannot record it: {e}"))?;
    let serial = parent
        .issued()
        .last()
        .map(|r| r.serial.clone())
        .unwrap_or_default();
    sub.save(&a.dir, password.as_bytes()).map_err(|e| {
        format!("subordinate CA certificate serial {serial} was issued and recorded by the parent, but saving the new CA failed: {e}")
    })?;
    outln!(
        "created subordinate CA {:?} ({}) in {}, issued by {} (serial {serial})",
        a.subject,
        key_type.name(),
        a.dir.display(),
        parent.subject()
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
        certificate_chain: std::iter::once(cert.clone()).chain(ca.chain()).collect(),
        trust_anchors: vec![ca.root_der().to_vec()],
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

fn ca_password(file: Option<&Path>) -> Result<Zeroizing<String>, String> {
    get_password(file, &[ENV_CA_PASSWORD, ENV_PASSWORD], "CA key password: ")
}

fn hours(n: u64) -> Result<Duration, String> {
    if n == 0 {
        return Err("--next-update-hours must be at least 1".into());
    }
    n.checked_mul(3600)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("--next-update-hours {n} is too large"))
}

fn refuse_existing(p: &Path) -> Result<(), String> {
    if p.exists() {
        return Err(format!(
            "{} already exists; refusing to overwrite",
            p.display()
        ));
    }
    Ok(())
}

fn revoke(a: RevokeArgs) -> Result<(), String> {
    let reason = match &a.reason {
        None => None,
        Some(r) => Some(CrlReason::from_name(r).ok_or_else(|| {
            format!(
                "unknown reason {r:?} (use one of: {})",
                CrlReason::names().collect::<Vec<_>>().join(", ")
            )
        })?),
    };
    let invalidity = match &a.invalidity_date {
        None => None,
        Some(t) => Some(
            negotiator_pki::validate::parse_rfc3339(t)
                .ok_or_else(|| format!("--invalidity-date {t:?} is not an RFC 3339 time"))?,
        ),
    };
    let pw = ca_password(a.password_file.as_deref())?;
    let _lock = lock_ca(&a.dir)?;
    let mut ca = Ca::load(&a.dir, pw.as_bytes()).map_err(|e| format!("cannot open CA: {e}"))?;
    let rec = ca
        .revoke(&a.serial, reason, invalidity, now_unix()?)
        .map_err(|e| e.to_string())?
        .clone();
    ca.save_state(&a.dir)
        .map_err(|e| format!("revocation not recorded: {e}"))?;
    if reason == Some(CrlReason::RemoveFromCrl) {
        outln!(
            "released from hold: serial {} ({})",
            rec.serial,
            rec.subject
        );
    } else {
        outln!(
            "revoked serial {} ({}){}",
            rec.serial,
            rec.subject,
            reason
                .map(|r| format!(", reason {}", r.name()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn write_crl(out: &Path, crl: &[u8], der: bool, what: &str) -> Result<(), String> {
    let bytes = if der {
        crl.to_vec()
    } else {
        der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, crl)
            .map_err(|e| format!("cannot PEM-encode the {what}: {e}"))?
            .into_bytes()
    };
    write_atomic(out, &bytes, 0o644).map_err(|e| {
        format!(
            "{what} signed and recorded, but writing {} failed: {e}",
            out.display()
        )
    })
}

fn sign_list(
    dir: &Path,
    out: &Path,
    password_file: Option<&Path>,
    kind: &CrlKind,
    next: Duration,
    der: bool,
    what: &str,
) -> Result<(), String> {
    refuse_existing(out)?;
    let pw = ca_password(password_file)?;
    let _lock = lock_ca(dir)?;
    let mut ca = Ca::load(dir, pw.as_bytes()).map_err(|e| format!("cannot open CA: {e}"))?;
    let base = ca.last_full_crl();
    let crl = ca
        .issue_crl(kind, next, now_unix()?)
        .map_err(|e| e.to_string())?;
    // The number is used once it is recorded; a failed write just skips it.
    ca.save_state(dir)
        .map_err(|e| format!("{what} not issued: cannot record its number: {e}"))?;
    write_crl(out, &crl, der, what)?;
    outln!("{what} number {}", ca.crl_number());
    if matches!(kind, CrlKind::Delta) {
        outln!("base CRL number {}", base.unwrap_or(0));
    }
    outln!("written {}", out.display());
    Ok(())
}

fn crl(a: CrlArgs) -> Result<(), String> {
    let kind = if a.delta {
        CrlKind::Delta
    } else {
        CrlKind::Full {
            freshest_crl_uri: a.freshest_crl.clone(),
        }
    };
    let what = if a.delta { "delta CRL" } else { "CRL" };
    sign_list(
        &a.dir,
        &a.out,
        a.password_file.as_deref(),
        &kind,
        hours(a.next_update_hours)?,
        a.der,
        what,
    )
}

fn arl(a: ArlArgs) -> Result<(), String> {
    sign_list(
        &a.dir,
        &a.out,
        a.password_file.as_deref(),
        &CrlKind::Arl,
        hours(a.next_update_hours)?,
        a.der,
        "ARL",
    )
}

fn cross_certify(a: CrossCertifyArgs) -> Result<(), String> {
    refuse_existing(&a.out)?;
    let mut name_constraints = Vec::new();
    for v in &a.name_constraints {
        name_constraints.extend(parse_name_constraints(v).map_err(|e| e.to_string())?);
    }
    let policy_mappings = a
        .policy_mappings
        .iter()
        .map(|m| m.parse::<PolicyMapping>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    let validity = a.days.map(days).transpose()?;
    let bytes = negotiator_store::read_limited(&a.other, 1024 * 1024)
        .map_err(|e| format!("cannot read {}: {e}", a.other.display()))?;
    let other = parse_certificate_pem_or_der(&bytes)
        .map_err(|e| format!("{}: {e}", a.other.display()))?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{} holds no certificate", a.other.display()))?;
    let opts = CrossCertOptions {
        name_constraints,
        policy_mappings,
        path_len: a.path_len,
        validity,
    };
    let pw = ca_password(a.password_file.as_deref())?;
    let _lock = lock_ca(&a.dir)?;
    let mut ca = Ca::load(&a.dir, pw.as_bytes()).map_err(|e| format!("cannot open CA: {e}"))?;
    let cert = ca
        .cross_certify(&other, &opts, now_unix()?)
        .map_err(|e| e.to_string())?;
    ca.save_state(&a.dir)
        .map_err(|e| format!("cross-certificate not issued: cannot record it: {e}"))?;
    let rec = ca
        .issued()
        .last()
        .ok_or_else(|| "internal error: cross-certificate not recorded".to_string())?;
    write_atomic(&a.out, to_pem(&cert).as_bytes(), 0o644).map_err(|e| {
        format!(
            "cross-certificate serial {} was issued and recorded, but writing {} failed: {e}",
            rec.serial,
            a.out.display()
        )
    })?;
    outln!("serial {}", rec.serial);
    outln!("subject {}", rec.subject);
    outln!("not after {}", rec.not_after);
    outln!("certificate {}", a.out.display());
    Ok(())
}
