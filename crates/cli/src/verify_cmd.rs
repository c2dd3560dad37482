//! `negotiator verify`: RFC 5280 path validation of a certificate against a
//! trust list, with CRL/ARL checking.
//!
//! Exit codes: 0 valid, 1 invalid, 2 input unreadable.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use negotiator_pki::crl::Crl;
use negotiator_pki::validate::{
    PeerIdentity, certificate_subject, parse_rfc3339, read_objects, validate_peer,
};
use negotiator_pki::{ErrorKind, RevocationMode, RevocationStatus, ValidationOptions};

const CERT_LABELS: &[&str] = &["CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"];
const CRL_LABELS: &[&str] = &["X509 CRL"];

/// Which certificates must have a determined revocation status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrlCheck {
    /// Every certificate of the path (like `openssl verify -crl_check_all`).
    All,
    /// Only the leaf (like `openssl verify -crl_check`).
    Leaf,
    /// Use the CRLs given; undetermined status is reported as "unknown".
    Soft,
}

/// Arguments of `negotiator verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Trust anchor file (PEM or DER, one or more certificates); repeatable.
    /// Several CA domains may be trusted at once.
    #[arg(long = "anchor", required = true, value_name = "FILE")]
    pub anchors: Vec<PathBuf>,
    /// Untrusted intermediate / cross certificates (PEM or DER); repeatable.
    #[arg(long = "untrusted", value_name = "FILE")]
    pub untrusted: Vec<PathBuf>,
    /// CRL or ARL file (PEM or DER); repeatable. With CRLs, revocation is checked.
    #[arg(long = "crl", value_name = "FILE")]
    pub crls: Vec<PathBuf>,
    /// Which certificates need a CRL when --crl is given (default: all).
    #[arg(long = "crl-check", value_enum, default_value = "all")]
    pub crl_check: CrlCheck,
    /// Validation time (RFC 3339, e.g. 2026-01-01T00:00:00Z); default now.
    #[arg(long = "at", value_name = "RFC3339-TIME")]
    pub at: Option<String>,
    /// Acceptable policy OID (user-initial-policy-set); repeatable. Default any policy.
    #[arg(long = "policy", value_name = "OID")]
    pub policies: Vec<String>,
    /// Set initial-explicit-policy.
    #[arg(long)]
    pub require_explicit_policy: bool,
    /// Set initial-policy-mapping-inhibit.
    #[arg(long)]
    pub inhibit_policy_mapping: bool,
    /// Set initial-any-policy-inhibit.
    #[arg(long)]
    pub inhibit_any_policy: bool,
    /// Also require this DNS name (IKE ID_FQDN) in the leaf's subjectAltName.
    #[arg(long = "dns", value_name = "NAME")]
    pub dns: Option<String>,
    /// Also require this IP address (ID_IPV4_ADDR / ID_IPV6_ADDR) in the subjectAltName.
    #[arg(long = "ip", value_name = "ADDR")]
    pub ip: Option<std::net::IpAddr>,
    /// Also require this email address (ID_RFC822_ADDR) in the subjectAltName.
    #[arg(long = "email", value_name = "ADDR")]
    pub email: Option<String>,
    /// Require this extended key usage of the leaf when it has the extension
    /// (serverAuth, clientAuth, ipsecIKE or a dotted OID).
    #[arg(long = "eku", value_name = "PURPOSE")]
    pub eku: Option<String>,
    /// Maximum number of intermediate CA certificates (self-issued ones not counted).
    #[arg(long = "max-depth", value_name = "N")]
    pub max_depth: Option<usize>,
    /// Print a JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// The certificate to verify (PEM or DER). Further certificates in the
    /// same file are used as untrusted intermediates.
    #[arg(value_name = "CERT")]
    pub cert: PathBuf,
}

fn read_file(path: &Path, labels: &[&str]) -> Result<Vec<Vec<u8>>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > negotiator_pki::validate::MAX_FILE_LEN as u64 {
        return Err(format!("{}: file too large", path.display()));
    }
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_objects(&data, labels).map_err(|e| format!("{}: {e}", path.display()))
}

fn json_escape(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `{"valid":bool,"path":[subject...],"reason":STR|null,"revocation":STR}` in that key order.
fn json_line(valid: bool, path: &[String], reason: Option<&str>, revocation: &str) -> String {
    let path: Vec<String> = path.iter().map(|s| json_escape(s)).collect();
    format!(
        "{{\"valid\":{valid},\"path\":[{}],\"reason\":{},\"revocation\":{}}}",
        path.join(","),
        reason.map_or_else(|| "null".to_string(), json_escape),
        json_escape(revocation)
    )
}

fn unreadable(json: bool, msg: &str) -> ExitCode {
    if json {
        println!(
            "{}",
            json_line(
                false,
                &[],
                Some(&format!("input could not be read: {msg}")),
                "not-checked"
            )
        );
    } else {
        eprintln!("error: input could not be read: {msg}");
    }
    ExitCode::from(2)
}

/// Runs `negotiator verify`.
pub fn run(args: VerifyArgs) -> ExitCode {
    match run_inner(&args) {
        Ok(code) => code,
        Err(msg) => unreadable(args.json, &msg),
    }
}

fn run_inner(args: &VerifyArgs) -> Result<ExitCode, String> {
    let mut leaf_file = read_file(&args.cert, CERT_LABELS)?;
    let leaf = leaf_file.remove(0);
    // A leaf that is DER but not a well-formed certificate is reported as
    // invalid (exit 1) by the validator, not as unreadable input.
    let mut untrusted = leaf_file;
    for p in &args.untrusted {
        untrusted.extend(read_file(p, CERT_LABELS)?);
    }
    let mut anchors = Vec::new();
    for p in &args.anchors {
        for a in read_file(p, CERT_LABELS)? {
            certificate_subject(&a)
                .map_err(|e| format!("{}: not a valid certificate: {e}", p.display()))?;
            anchors.push(a);
        }
    }
    let mut crls = Vec::new();
    for p in &args.crls {
        for c in read_file(p, CRL_LABELS)? {
            Crl::parse(&c).map_err(|e| format!("{}: {e}", p.display()))?;
            crls.push(c);
        }
    }
    let mut o = match &args.at {
        Some(t) => ValidationOptions::at(
            parse_rfc3339(t).ok_or_else(|| format!("--at {t:?} is not an RFC 3339 time"))?,
        ),
        None => ValidationOptions::default(),
    };
    for p in &args.policies {
        if negotiator_pki::validate::oid_from_string(p).is_none() {
            return Err(format!("--policy {p:?} is not a dotted OID"));
        }
    }
    o.user_initial_policy_set = args.policies.clone();
    o.initial_explicit_policy = args.require_explicit_policy;
    o.initial_policy_mapping_inhibit = args.inhibit_policy_mapping;
    o.initial_any_policy_inhibit = args.inhibit_any_policy;
    if let Some(e) = &args.eku {
        let oid = match e.as_str() {
            "serverAuth" => "1.3.6.1.5.5.7.3.1".to_string(),
            "clientAuth" => "1.3.6.1.5.5.7.3.2".to_string(),
            "ipsecIKE" => "1.3.6.1.5.5.7.3.17".to_string(),
            other => {
                if negotiator_pki::validate::oid_from_string(other).is_none() {
                    return Err(format!(
                        "--eku {other:?} is neither a known purpose nor a dotted OID"
                    ));
                }
                other.to_string()
            }
        };
        o.required_eku = Some(oid);
    }
    if let Some(d) = args.max_depth {
        o.max_depth = d;
    }
    o.revocation = if crls.is_empty() {
        RevocationMode::Off
    } else {
        match args.crl_check {
            CrlCheck::All => RevocationMode::Require,
            CrlCheck::Leaf => RevocationMode::RequireLeaf,
            CrlCheck::Soft => RevocationMode::Soft,
        }
    };
    let ids: Vec<PeerIdentity> = [
        args.dns.clone().map(PeerIdentity::Dns),
        args.ip.map(PeerIdentity::Ip),
        args.email.clone().map(PeerIdentity::Email),
    ]
    .into_iter()
    .flatten()
    .collect();
    let result = validate_peer(&leaf, &untrusted, &anchors, &crls, &o, &ids);
    match result {
        Ok(p) => {
            if args.json {
                println!("{}", json_line(true, &p.path, None, p.revocation.as_str()));
            } else {
                println!("OK: the certificate is valid (path from leaf to trust anchor):");
                for (i, s) in p.path.iter().enumerate() {
                    let role = if i == 0 {
                        "leaf"
                    } else if i + 1 == p.path.len() {
                        "anchor"
                    } else {
                        "CA"
                    };
                    println!("  {i}: [{role}] {s}");
                }
                println!("revocation: {}", p.revocation.as_str());
                if p.revocation == RevocationStatus::Unknown {
                    for (i, d) in p.revocation_details.iter().enumerate() {
                        println!("  {i}: {d}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind == ErrorKind::Malformed && e.position != Some(0) => Err(e.to_string()),
        Err(e) => {
            let revocation = match e.kind {
                ErrorKind::Revoked => "revoked",
                ErrorKind::RevocationUnknown => "unknown",
                _ => "not-checked",
            };
            if args.json {
                println!(
                    "{}",
                    json_line(false, &[], Some(&e.to_string()), revocation)
                );
            } else {
                println!("INVALID: {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
