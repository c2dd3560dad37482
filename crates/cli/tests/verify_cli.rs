//! `negotiator verify` end to end, on NIST PKITS files (from the
//! `cryptography-vectors` package; the test fails if they are missing).
//! Expected outcomes are the PKITS document's; exit codes are the issue's
//! (0 valid, 1 invalid, 2 unreadable).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn pkits() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import cryptography_vectors, os; print(os.path.dirname(cryptography_vectors.__file__))"])
        .output()
        .expect("python3");
    assert!(out.status.success(), "cryptography-vectors not installed");
    let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("x509/PKITS_data");
    assert!(d.is_dir(), "PKITS data missing at {}", d.display());
    d
}

fn bin() -> PathBuf {
    std::env::var_os("NEGOTIATOR_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_negotiator")),
        PathBuf::from,
    )
}

fn cert(n: &str) -> String {
    pkits()
        .join("certs")
        .join(format!("{n}.crt"))
        .display()
        .to_string()
}

fn crl(n: &str) -> String {
    pkits()
        .join("crls")
        .join(format!("{n}.crl"))
        .display()
        .to_string()
}

fn verify(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("verify")
        .args(args)
        .output()
        .expect("run negotiator")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

const AT: &str = "2025-06-01T00:00:00Z";

fn base() -> Vec<String> {
    vec![
        "--at".into(),
        AT.into(),
        "--anchor".into(),
        cert("TrustAnchorRootCertificate"),
        "--crl".into(),
        crl("TrustAnchorRootCRL"),
    ]
}

fn run(extra: &[String]) -> Output {
    let mut a = base();
    a.extend_from_slice(extra);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    verify(&refs)
}

#[test]
fn valid_path_prints_leaf_to_anchor() {
    let o = run(&[
        "--untrusted".into(),
        cert("GoodCACert"),
        "--crl".into(),
        crl("GoodCACRL"),
        cert("ValidCertificatePathTest1EE"),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let out = String::from_utf8_lossy(&o.stdout);
    let leaf = out.find("Valid EE Certificate Test1").expect("leaf listed");
    let ca = out.find("CN=Good CA").expect("CA listed");
    let ta = out.find("CN=Trust Anchor").expect("anchor listed");
    assert!(leaf < ca && ca < ta, "{out}");
    assert!(out.contains("revocation: good"), "{out}");
}

#[test]
fn json_output() {
    let o = run(&[
        "--json".into(),
        "--untrusted".into(),
        cert("GoodCACert"),
        "--crl".into(),
        crl("GoodCACRL"),
        cert("ValidCertificatePathTest1EE"),
    ]);
    assert_eq!(code(&o), 0);
    assert!(o.stdout.starts_with(b"{\"valid\":true,\"path\":["));
    let v = json(&o);
    assert_eq!(v["path"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["reason"], Value::Null);
    assert_eq!(v["revocation"], "good");
    // Without CRLs revocation is reported as not checked.
    let o = verify(&[
        "--json",
        "--at",
        AT,
        "--anchor",
        &cert("TrustAnchorRootCertificate"),
        "--untrusted",
        &cert("GoodCACert"),
        &cert("ValidCertificatePathTest1EE"),
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(json(&o)["revocation"], "not-checked");
}

#[test]
fn revoked_leaf_is_refused() {
    // PKITS 4.4.3 Invalid Revoked EE Test3.
    let o = run(&[
        "--json".into(),
        "--untrusted".into(),
        cert("GoodCACert"),
        "--crl".into(),
        crl("GoodCACRL"),
        cert("InvalidRevokedEETest3EE"),
    ]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(v["valid"], false);
    assert_eq!(v["revocation"], "revoked");
    let reason = v["reason"].as_str().expect("reason");
    assert!(
        reason.contains("Invalid Revoked EE Certificate Test3") && reason.contains("keyCompromise"),
        "{reason}"
    );
}

#[test]
fn revoked_ca_is_refused() {
    // PKITS 4.4.2 Invalid Revoked CA Test2: the CA is on the Good CA's CRL.
    let o = run(&[
        "--untrusted".into(),
        cert("GoodCACert"),
        "--untrusted".into(),
        cert("RevokedsubCACert"),
        "--crl".into(),
        crl("GoodCACRL"),
        "--crl".into(),
        crl("RevokedsubCACRL"),
        cert("InvalidRevokedCATest2EE"),
    ]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("revoked") && out.contains("Revoked subCA"),
        "{out}"
    );
}

#[test]
fn missing_crl_means_unknown() {
    // PKITS 4.4.1 Invalid Missing CRL Test1.
    let o = run(&[
        "--json".into(),
        "--untrusted".into(),
        cert("NoCRLCACert"),
        cert("InvalidMissingCRLTest1EE"),
    ]);
    assert_eq!(code(&o), 1);
    assert_eq!(json(&o)["revocation"], "unknown");
    // Soft checking accepts it and says the status is unknown.
    let o = run(&[
        "--json".into(),
        "--crl-check".into(),
        "soft".into(),
        "--untrusted".into(),
        cert("NoCRLCACert"),
        cert("InvalidMissingCRLTest1EE"),
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(json(&o)["revocation"], "unknown");
}

#[test]
fn policy_options() {
    // PKITS 4.8.1.2 / 4.8.1.3: explicit policy with {test-policy-1} valid, {test-policy-2} invalid.
    let args = |p: &str| -> Vec<String> {
        vec![
            "--require-explicit-policy".into(),
            "--policy".into(),
            p.into(),
            "--untrusted".into(),
            cert("GoodCACert"),
            "--crl".into(),
            crl("GoodCACRL"),
            cert("ValidCertificatePathTest1EE"),
        ]
    };
    assert_eq!(code(&run(&args("2.16.840.1.101.3.2.1.48.1"))), 0);
    let o = run(&args("2.16.840.1.101.3.2.1.48.2"));
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("policy"));
    // PKITS 4.12.3.1 / 4.12.3.2: valid with explicit policy, invalid when
    // initial-any-policy-inhibit is also set. All inhibitAnyPolicy1 CAs are offered.
    let mut a = vec!["--require-explicit-policy".to_string()];
    for e in std::fs::read_dir(pkits().join("certs")).expect("dir") {
        let p = e.expect("entry").path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("inhibitAnyPolicy1"))
        {
            a.extend(["--untrusted".to_string(), p.display().to_string()]);
        }
    }
    for e in std::fs::read_dir(pkits().join("crls")).expect("dir") {
        let p = e.expect("entry").path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("inhibitAnyPolicy1"))
        {
            a.extend(["--crl".to_string(), p.display().to_string()]);
        }
    }
    a.push(cert("inhibitAnyPolicyTest3EE"));
    let o = run(&a);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    a.insert(0, "--inhibit-any-policy".to_string());
    let o = run(&a);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn validity_time_option() {
    let o = verify(&[
        "--at",
        "2001-01-01T00:00:00Z",
        "--anchor",
        &cert("TrustAnchorRootCertificate"),
        "--untrusted",
        &cert("GoodCACert"),
        &cert("ValidCertificatePathTest1EE"),
    ]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("not yet valid"));
}

#[test]
fn unreadable_input_exits_2() {
    let o = verify(&[
        "--anchor",
        &cert("TrustAnchorRootCertificate"),
        "/nonexistent/cert.pem",
    ]);
    assert_eq!(code(&o), 2);
    let o = verify(&[
        "--anchor",
        "/etc/hostname",
        &cert("ValidCertificatePathTest1EE"),
    ]);
    assert_eq!(code(&o), 2);
    let o = verify(&[
        "--at",
        "yesterday",
        "--anchor",
        &cert("TrustAnchorRootCertificate"),
        &cert("ValidCertificatePathTest1EE"),
    ]);
    assert_eq!(code(&o), 2);
    let o = verify(&[
        "--json",
        "--anchor",
        &cert("TrustAnchorRootCertificate"),
        "--crl",
        &cert("GoodCACert"),
        &cert("ValidCertificatePathTest1EE"),
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(json(&o)["valid"], false);
}

#[test]
fn pem_bundles_and_several_anchors() {
    let dir = std::env::temp_dir().join(format!("verify-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let pem = |der_path: &str| -> String {
        let o = Command::new("openssl")
            .args(["x509", "-inform", "der", "-in", der_path])
            .output()
            .expect("openssl");
        assert!(o.status.success());
        String::from_utf8(o.stdout).expect("pem")
    };
    // Two unrelated anchors in one PEM file; the leaf file carries its CA after it.
    let anchors = dir.join("anchors.pem");
    std::fs::write(
        &anchors,
        pem(&cert("NameOrderingCACert")) + &pem(&cert("TrustAnchorRootCertificate")),
    )
    .expect("write");
    let chain = dir.join("chain.pem");
    std::fs::write(
        &chain,
        pem(&cert("ValidCertificatePathTest1EE")) + &pem(&cert("GoodCACert")),
    )
    .expect("write");
    let o = verify(&[
        "--at",
        AT,
        "--anchor",
        anchors.to_str().expect("utf8"),
        chain.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
}
