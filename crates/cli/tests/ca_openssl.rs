//! `negotiator ca init` / `ca issue` end to end, checked with the `openssl`
//! CLI (an independent implementation) and with `verify_peer_chain`.

#![allow(clippy::cloned_ref_to_slice_refs)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use negotiator_pki::{PkiError, San, parse_certificate_pem_or_der, verify_peer_chain};
use negotiator_store::{Profile, StoreError};

const BIN: &str = env!("CARGO_BIN_EXE_negotiator");

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "negotiator-ca-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the binary with no password variables and stdin closed.
fn negotiator(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("NEGOTIATOR_PASSWORD")
        .env_remove("NEGOTIATOR_CA_PASSWORD")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "negotiator failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn failed(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error expected: {err}"
    );
    err
}

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI must be installed for these tests");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn init_and_issue(key_type: &str) {
    let t = TempDir::new(key_type);
    std::fs::write(t.path("pw"), "ca and host password\n").unwrap();
    let ca_dir = t.path("ca");
    let out = negotiator(
        &[
            "ca",
            "init",
            "--dir",
            p(&ca_dir),
            "--subject",
            "CN=Test CA, O=Negotiator, C=DE",
            "--key-type",
            key_type,
            "--password-file",
            p(&t.path("pw")),
        ],
        &[],
    );
    ok(&out);
    assert_eq!(
        std::fs::metadata(&ca_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(ca_dir.join("ca-key.profile"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let profile = t.path("host.profile");
    let out = negotiator(
        &[
            "ca",
            "issue",
            "--dir",
            p(&ca_dir),
            "--subject",
            "CN=host.example, O=Negotiator",
            "--san",
            "ip:192.0.2.10",
            "--san",
            "dns:host.example",
            "--san",
            "ip:2001:db8::10",
            "--out",
            p(&profile),
            "--cert-out",
            p(&t.path("host.pem")),
            "--key-type",
            key_type,
            "--days",
            "30",
            "--eku-ike",
            "--password-file",
            p(&t.path("pw")),
        ],
        &[],
    );
    let stdout = ok(&out);
    assert!(
        stdout.contains("subject CN=host.example, O=Negotiator"),
        "{stdout}"
    );
    let serial_line = stdout.lines().find(|l| l.starts_with("serial ")).unwrap();
    let serial = serial_line.trim_start_matches("serial ").to_string();
    assert_eq!(serial.len(), 32);
    assert_eq!(
        std::fs::metadata(&profile).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // openssl accepts the chain.
    let (good, text) = openssl(&["verify", "-CAfile", "ca/ca.pem", "host.pem"], &t.0);
    assert!(good && text.contains("host.pem: OK"), "{key_type}: {text}");
    // Extensions and algorithms as seen by openssl.
    let (good, text) = openssl(&["x509", "-in", "host.pem", "-noout", "-text"], &t.0);
    assert!(good, "{text}");
    let sig_alg = match key_type {
        "ecdsa-p256" => "ecdsa-with-SHA256",
        "ecdsa-p384" => "ecdsa-with-SHA384",
        _ => "sha256WithRSAEncryption",
    };
    assert!(
        text.contains(&format!("Signature Algorithm: {sig_alg}")),
        "{text}"
    );
    assert!(text.contains("Version: 3 (0x2)"), "{text}");
    assert!(
        text.contains("IP Address:192.0.2.10, DNS:host.example, IP Address:2001:DB8:0:0:0:0:0:10"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 Key Usage: critical\n                Digital Signature\n"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 Basic Constraints: critical\n                CA:FALSE"),
        "{text}"
    );
    assert!(text.contains("ipsec Internet Key Exchange"), "{text}");
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    assert!(
        text.contains("Subject: O = Negotiator, CN = host.example"),
        "{text}"
    );
    assert!(
        text.contains("Issuer: C = DE, O = Negotiator, CN = Test CA"),
        "{text}"
    );
    let (_, serial_text) = openssl(&["x509", "-in", "host.pem", "-noout", "-serial"], &t.0);
    assert_eq!(
        serial_text.trim(),
        format!("serial={}", serial.to_uppercase())
    );
    // The CA certificate.
    let (_, ca_text) = openssl(
        &[
            "x509",
            "-in",
            "ca/ca.pem",
            "-noout",
            "-ext",
            "basicConstraints,keyUsage",
        ],
        &t.0,
    );
    assert!(ca_text.contains("critical\n    CA:TRUE"), "{ca_text}");
    assert!(ca_text.contains("Certificate Sign, CRL Sign"), "{ca_text}");
    let (_, purpose) = openssl(&["x509", "-in", "ca/ca.pem", "-noout", "-purpose"], &t.0);
    assert!(purpose.contains("Any Purpose CA : Yes"), "{purpose}");

    // The profile holds the key, the chain (leaf, CA) and the CA as anchor.
    let prof = Profile::load(&profile, b"ca and host password").unwrap();
    let host_der =
        parse_certificate_pem_or_der(&std::fs::read(t.path("host.pem")).unwrap()).unwrap();
    let ca_der =
        parse_certificate_pem_or_der(&std::fs::read(ca_dir.join("ca.pem")).unwrap()).unwrap();
    assert_eq!(
        prof.certificate_chain,
        vec![host_der[0].clone(), ca_der[0].clone()]
    );
    assert_eq!(prof.trust_anchors, ca_der);
    // The private key matches the certificate, according to openssl.
    std::fs::write(t.path("host.key.der"), &*prof.private_key_pkcs8).unwrap();
    let (good, text) = openssl(
        &[
            "pkey",
            "-inform",
            "DER",
            "-in",
            "host.key.der",
            "-pubout",
            "-outform",
            "DER",
            "-out",
            "key.spki",
        ],
        &t.0,
    );
    assert!(good, "{text}");
    let (good, text) = openssl(
        &[
            "x509",
            "-in",
            "host.pem",
            "-noout",
            "-pubkey",
            "-out",
            "cert.spki.pem",
        ],
        &t.0,
    );
    assert!(good, "{text}");
    let (good, text) = openssl(
        &[
            "pkey",
            "-pubin",
            "-in",
            "cert.spki.pem",
            "-outform",
            "DER",
            "-out",
            "cert.spki",
        ],
        &t.0,
    );
    assert!(good, "{text}");
    assert_eq!(
        std::fs::read(t.path("key.spki")).unwrap(),
        std::fs::read(t.path("cert.spki")).unwrap()
    );

    // verify_peer_chain accepts it now and rejects it after expiry.
    let peer = verify_peer_chain(&prof.certificate_chain, &prof.trust_anchors, now()).unwrap();
    assert_eq!(peer.subject, "CN=host.example, O=Negotiator");
    assert_eq!(
        peer.sans,
        vec![
            San::Ip("192.0.2.10".parse().unwrap()),
            San::Dns("host.example".into()),
            San::Ip("2001:db8::10".parse().unwrap()),
        ]
    );
    let e = verify_peer_chain(
        &prof.certificate_chain,
        &prof.trust_anchors,
        now() + 31 * 86_400,
    )
    .unwrap_err();
    assert!(matches!(e, PkiError::Expired { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("certificate \"CN=host.example, O=Negotiator\" expired at "),
        "{e}"
    );

    // state.json records the serial.
    let state = std::fs::read_to_string(ca_dir.join("state.json")).unwrap();
    assert!(state.contains(&serial), "{state}");
}

#[test]
fn rsa2048() {
    init_and_issue("rsa2048");
}

#[test]
fn rsa3072() {
    init_and_issue("rsa3072");
}

#[test]
fn ecdsa_p256() {
    init_and_issue("ecdsa-p256");
}

#[test]
fn ecdsa_p384() {
    init_and_issue("ecdsa-p384");
}

#[test]
fn passwords_errors_and_overwrite() {
    let t = TempDir::new("errors");
    let ca_dir = t.path("ca");
    std::fs::write(t.path("capw"), "ca secret\n").unwrap();
    std::fs::write(t.path("hostpw"), "host secret").unwrap();
    std::fs::write(t.path("wrong"), "not it\n").unwrap();

    // No password source and stdin not a terminal: clear error, no hang.
    let e = failed(&negotiator(
        &["ca", "init", "--dir", p(&ca_dir), "--subject", "CN=X"],
        &[],
    ));
    assert!(e.contains("no password"), "{e}");
    assert!(!ca_dir.join("ca.pem").exists());

    // CA password from the CA variable.
    ok(&negotiator(
        &["ca", "init", "--dir", p(&ca_dir), "--subject", "CN=Env CA"],
        &[("NEGOTIATOR_CA_PASSWORD", "ca secret")],
    ));
    // Refuses to overwrite.
    let e = failed(&negotiator(
        &[
            "ca",
            "init",
            "--dir",
            p(&ca_dir),
            "--subject",
            "CN=Other",
            "--password-file",
            p(&t.path("capw")),
        ],
        &[],
    ));
    assert!(e.contains("refusing to overwrite"), "{e}");

    // Wrong CA password.
    let e = failed(&negotiator(
        &[
            "ca",
            "issue",
            "--dir",
            p(&ca_dir),
            "--subject",
            "CN=h",
            "--out",
            p(&t.path("h.profile")),
            "--password-file",
            p(&t.path("hostpw")),
            "--ca-password-file",
            p(&t.path("wrong")),
        ],
        &[],
    ));
    assert!(e.contains("wrong password"), "{e}");
    assert!(!t.path("h.profile").exists());

    // Separate CA and profile passwords (file for the CA, variable for the profile).
    let out = negotiator(
        &[
            "ca",
            "issue",
            "--dir",
            p(&ca_dir),
            "--subject",
            "",
            "--san",
            "email:ops@example.org",
            "--out",
            p(&t.path("h.profile")),
            "--ca-password-file",
            p(&t.path("capw")),
        ],
        &[("NEGOTIATOR_PASSWORD", "host secret")],
    );
    ok(&out);
    let prof = Profile::load(&t.path("h.profile"), b"host secret").unwrap();
    assert!(matches!(
        Profile::load(&t.path("h.profile"), b"ca secret"),
        Err(StoreError::WrongPassword)
    ));
    let peer = verify_peer_chain(&prof.certificate_chain, &prof.trust_anchors, now()).unwrap();
    assert_eq!(peer.sans, vec![San::Email("ops@example.org".into())]);
    // Without --eku-ike there is no EKU; openssl sees the critical SAN of an empty subject.
    let pem = negotiator_pki::to_pem(&prof.certificate_chain[0]);
    std::fs::write(t.path("h.pem"), pem).unwrap();
    let (_, text) = openssl(&["x509", "-in", "h.pem", "-noout", "-text"], &t.0);
    assert!(!text.contains("Extended Key Usage"), "{text}");
    assert!(
        text.contains(
            "X509v3 Subject Alternative Name: critical\n                email:ops@example.org"
        ),
        "{text}"
    );
    // An existing profile is never overwritten.
    let e = failed(&negotiator(
        &[
            "ca",
            "issue",
            "--dir",
            p(&ca_dir),
            "--subject",
            "CN=h2",
            "--out",
            p(&t.path("h.profile")),
            "--password-file",
            p(&t.path("capw")),
        ],
        &[],
    ));
    assert!(e.contains("refusing to overwrite"), "{e}");

    // Bad inputs name what is wrong.
    let e = failed(&negotiator(
        &[
            "ca",
            "issue",
            "--dir",
            p(&ca_dir),
            "--subject",
            "CN=h3",
            "--san",
            "ip:999.1.1.1",
            "--out",
            p(&t.path("h3.profile")),
            "--password-file",
            p(&t.path("capw")),
        ],
        &[],
    ));
    assert!(e.contains("ip:999.1.1.1"), "{e}");
    let e = failed(&negotiator(
        &[
            "ca",
            "issue",
            "--dir",
            p(&ca_dir),
            "--subject",
            "XX=1",
            "--out",
            p(&t.path("h4.profile")),
            "--password-file",
            p(&t.path("capw")),
        ],
        &[],
    ));
    assert!(e.contains("XX=1"), "{e}");
    let e = failed(&negotiator(
        &[
            "ca",
            "init",
            "--dir",
            p(&t.path("ca2")),
            "--subject",
            "CN=Y",
            "--key-type",
            "dsa1024",
            "--password-file",
            p(&t.path("capw")),
        ],
        &[],
    ));
    assert!(e.contains("dsa1024"), "{e}");
}

#[test]
fn tampered_certificate_and_wrong_anchor_are_rejected() {
    let t = TempDir::new("tamper");
    std::fs::write(t.path("pw"), "pw\n").unwrap();
    for (dir, subject) in [("ca1", "CN=CA One"), ("ca2", "CN=CA Two")] {
        ok(&negotiator(
            &[
                "ca",
                "init",
                "--dir",
                p(&t.path(dir)),
                "--subject",
                subject,
                "--password-file",
                p(&t.path("pw")),
            ],
            &[],
        ));
    }
    ok(&negotiator(
        &[
            "ca",
            "issue",
            "--dir",
            p(&t.path("ca1")),
            "--subject",
            "CN=peer",
            "--out",
            p(&t.path("peer.profile")),
            "--password-file",
            p(&t.path("pw")),
        ],
        &[],
    ));
    let prof = Profile::load(&t.path("peer.profile"), b"pw").unwrap();
    let ca2 = parse_certificate_pem_or_der(&std::fs::read(t.path("ca2/ca.pem")).unwrap()).unwrap();
    let e = verify_peer_chain(&prof.certificate_chain, &ca2, now()).unwrap_err();
    assert!(matches!(e, PkiError::UnknownIssuer { .. }), "{e:?}");

    let mut leaf = prof.certificate_chain[0].clone();
    let n = leaf.len() - 3;
    leaf[n] ^= 0x10;
    std::fs::write(t.path("bad.der"), &leaf).unwrap();
    let (conv, text) = openssl(
        &[
            "x509", "-inform", "DER", "-in", "bad.der", "-out", "bad.pem",
        ],
        &t.0,
    );
    assert!(conv, "{text}");
    let (good, text) = openssl(&["verify", "-CAfile", "ca1/ca.pem", "bad.pem"], &t.0);
    assert!(!good, "openssl accepted a tampered certificate: {text}");
    let e = verify_peer_chain(&[leaf], &prof.trust_anchors, now()).unwrap_err();
    assert!(matches!(e, PkiError::BadSignature { .. }), "{e:?}");
    assert!(e.to_string().contains("\"CN=peer\""), "{e}");
}
