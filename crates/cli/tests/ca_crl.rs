//! `negotiator ca revoke / crl / arl / cross-certify / init --parent` end to
//! end: `openssl crl` parses and shows every list we emit, and `openssl
//! verify` (an independent validator) and `negotiator verify` agree on good
//! and revoked leaves, revoked sub-CAs (ARL), delta CRLs and cross-certified
//! domains with and without name constraints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_negotiator");

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "negotiator-cacrl-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("pw"), "test password\n").unwrap();
        TempDir(p)
    }
    fn p(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NEGOTIATOR_PASSWORD")
        .env_remove("NEGOTIATOR_CA_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(t: &TempDir, args: &[&str]) -> String {
    let pw = t.p("pw");
    let mut a = args.to_vec();
    a.extend(["--password-file", &pw]);
    let out = run(&a);
    assert!(
        out.status.success(),
        "negotiator {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Runs a CA command that must fail with exit 2 and returns its stderr.
fn fails(t: &TempDir, args: &[&str]) -> String {
    let pw = t.p("pw");
    let mut a = args.to_vec();
    a.extend(["--password-file", &pw]);
    let out = run(&a);
    assert_eq!(
        out.status.code(),
        Some(2),
        "negotiator {args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn init(t: &TempDir, dir: &str, subject: &str, parent: Option<&str>) {
    let d = t.p(dir);
    let mut a = vec!["ca", "init", "--dir", &d, "--subject", subject];
    let pd;
    if let Some(p) = parent {
        pd = t.p(p);
        a.extend(["--parent", &pd]);
    }
    ok(t, &a);
}

/// Issues a leaf with a dNSName; returns its serial.
fn issue(t: &TempDir, dir: &str, name: &str, dns: &str) -> String {
    let d = t.p(dir);
    let prof = t.p(&format!("{name}.profile"));
    let cert = t.p(&format!("{name}.pem"));
    let san = format!("dns:{dns}");
    let cn = format!("CN={name}");
    let out = ok(
        t,
        &[
            "ca",
            "issue",
            "--dir",
            &d,
            "--subject",
            &cn,
            "--san",
            &san,
            "--out",
            &prof,
            "--cert-out",
            &cert,
        ],
    );
    out.lines()
        .find_map(|l| l.strip_prefix("serial "))
        .unwrap()
        .trim()
        .to_string()
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap()
}

fn crl_text(path: &str, ca_pem: &str) -> String {
    let out = openssl(&["crl", "-in", path, "-noout", "-text", "-CAfile", ca_pem]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl crl failed on {path}: {err}");
    assert!(err.contains("verify OK"), "openssl crl: {err}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn ski_hex(cert_pem: &str) -> String {
    let out = openssl(&[
        "x509",
        "-in",
        cert_pem,
        "-noout",
        "-ext",
        "subjectKeyIdentifier",
    ]);
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    s.lines().nth(1).unwrap().trim().to_string()
}

/// Verifies `leaf` with openssl and with `negotiator verify` and asserts
/// that both reach `expect_valid`. `deltas` adds openssl's -use_deltas.
fn agree(
    expect_valid: bool,
    anchor: &str,
    untrusted: &[&str],
    crls: &[&str],
    deltas: bool,
    leaf: &str,
) {
    let mut o: Vec<&str> = vec!["verify"];
    if !crls.is_empty() {
        o.push("-crl_check_all");
    }
    if deltas {
        // OpenSSL 3.0 scores a delta CRL like a complete CRL unless extended CRL
        // support is on (get_crl_score's "don't process deltas" test sits in an
        // else branch only reached with -extended_crl), so a newer delta would
        // hide the base's entries; -extended_crl gives RFC 5280 §5.2.4 behaviour.
        o.extend(["-extended_crl", "-use_deltas"]);
    }
    o.extend(["-CAfile", anchor]);
    for u in untrusted {
        o.extend(["-untrusted", u]);
    }
    for c in crls {
        o.extend(["-CRLfile", c]);
    }
    o.push(leaf);
    let os = openssl(&o);
    let mut n: Vec<&str> = vec!["verify", "--anchor", anchor];
    for u in untrusted {
        n.extend(["--untrusted", u]);
    }
    for c in crls {
        n.extend(["--crl", c]);
    }
    n.push(leaf);
    let ours = run(&n);
    let so = format!(
        "{}{}",
        String::from_utf8_lossy(&os.stdout),
        String::from_utf8_lossy(&os.stderr)
    );
    let sn = format!(
        "{}{}",
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&ours.stderr)
    );
    assert_eq!(
        os.status.success(),
        expect_valid,
        "openssl {o:?}: expected valid={expect_valid}: {so}"
    );
    let code = if expect_valid { 0 } else { 1 };
    assert_eq!(
        ours.status.code(),
        Some(code),
        "negotiator {n:?}: expected valid={expect_valid}: {sn}"
    );
}

#[test]
fn hierarchy_good_revoked_leaf_and_revoked_sub_ca() {
    let t = TempDir::new("hier");
    init(&t, "root", "CN=Test Root, O=Test", None);
    init(&t, "sub", "CN=Test Sub, O=Test", Some("root"));
    let root_pem = t.p("root/ca.pem");
    let sub_pem = t.p("sub/ca.pem");
    // The parent recorded the sub-CA certificate as a CA certificate.
    let state = std::fs::read_to_string(t.p("root/state.json")).unwrap();
    assert!(state.contains("\"ca\": true"), "{state}");
    let sub_serial = state
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"serial\": \""))
        .unwrap()
        .trim_end_matches("\",")
        .to_string();
    // The sub-CA certificate is signed by the root (openssl).
    let v = openssl(&["verify", "-CAfile", &root_pem, &sub_pem]);
    assert!(v.status.success(), "{v:?}");

    let good = issue(&t, "sub", "good", "good.example");
    let bad = issue(&t, "sub", "bad", "bad.example");
    let (good_pem, bad_pem) = (t.p("good.pem"), t.p("bad.pem"));
    let sub_dir = t.p("sub");
    let root_dir = t.p("root");

    ok(
        &t,
        &[
            "ca",
            "revoke",
            "--dir",
            &sub_dir,
            &bad,
            "--reason",
            "keyCompromise",
            "--invalidity-date",
            "2026-01-01T00:00:00Z",
        ],
    );
    let crl = t.p("sub.crl");
    let arl = t.p("root.arl");
    let out = ok(&t, &["ca", "crl", "--dir", &sub_dir, "--out", &crl]);
    assert!(out.contains("CRL number 1"), "{out}");
    ok(&t, &["ca", "arl", "--dir", &root_dir, "--out", &arl]);

    let text = crl_text(&crl, &sub_pem);
    assert!(text.contains("Version 2"), "{text}");
    assert!(
        text.contains("X509v3 CRL Number: \n                1"),
        "{text}"
    );
    // AKI = the sub-CA's own SKI (not its issuer's).
    let aki_line = format!(
        "Authority Key Identifier: \n                {}",
        ski_hex(&sub_pem)
    );
    assert!(text.contains(&aki_line), "{text}");
    assert!(text.contains(&bad.to_ascii_uppercase()), "{text}");
    assert!(!text.contains(&good.to_ascii_uppercase()), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("Invalidity Date: \n                Jan  1 00:00:00 2026 GMT"));
    let atext = crl_text(&arl, &root_pem);
    assert!(atext.contains("Only CA Certificates"), "{atext}");
    assert!(atext.contains("No Revoked Certificates"), "{atext}");

    agree(
        true,
        &root_pem,
        &[&sub_pem],
        &[&crl, &arl],
        false,
        &good_pem,
    );
    agree(
        false,
        &root_pem,
        &[&sub_pem],
        &[&crl, &arl],
        false,
        &bad_pem,
    );

    // Revoke the sub-CA at the root: the ARL lists it, every leaf below fails.
    ok(
        &t,
        &[
            "ca",
            "revoke",
            "--dir",
            &root_dir,
            &sub_serial,
            "--reason",
            "cACompromise",
        ],
    );
    let arl2 = t.p("root2.arl");
    ok(
        &t,
        &["ca", "arl", "--dir", &root_dir, "--out", &arl2, "--der"],
    );
    let arl2_pem = t.p("root2.arl.pem");
    let conv = openssl(&["crl", "-inform", "DER", "-in", &arl2, "-out", &arl2_pem]);
    assert!(conv.status.success(), "DER ARL: {conv:?}");
    let atext = crl_text(&arl2_pem, &root_pem);
    assert!(atext.contains(&sub_serial.to_ascii_uppercase()), "{atext}");
    assert!(atext.contains("CA Compromise"), "{atext}");
    assert!(
        atext.contains("X509v3 CRL Number: \n                2"),
        "{atext}"
    );
    agree(
        false,
        &root_pem,
        &[&sub_pem],
        &[&crl, &arl2_pem],
        false,
        &good_pem,
    );
    // With the old ARL both still accept it.
    agree(
        true,
        &root_pem,
        &[&sub_pem],
        &[&crl, &arl],
        false,
        &good_pem,
    );

    // The profile of a leaf under the sub-CA carries leaf, sub and root.
    let p =
        negotiator_store::Profile::load(Path::new(&t.p("good.profile")), b"test password").unwrap();
    assert_eq!(p.certificate_chain.len(), 3);
    let root_der =
        negotiator_pki::parse_certificate_pem_or_der(&std::fs::read(&root_pem).unwrap()).unwrap();
    assert_eq!(p.trust_anchors, root_der);
}

#[test]
fn delta_crl_agrees_with_openssl_use_deltas() {
    let t = TempDir::new("delta");
    init(&t, "ca", "CN=Delta CA", None);
    let dir = t.p("ca");
    let ca_pem = t.p("ca/ca.pem");
    let a = issue(&t, "ca", "a", "a.example");
    let b = issue(&t, "ca", "b", "b.example");
    ok(
        &t,
        &["ca", "revoke", "--dir", &dir, &a, "--reason", "superseded"],
    );
    let base = t.p("base.crl");
    ok(
        &t,
        &[
            "ca",
            "crl",
            "--dir",
            &dir,
            "--out",
            &base,
            "--freshest-crl",
            "http://crl.example/delta.crl",
        ],
    );
    ok(
        &t,
        &[
            "ca",
            "revoke",
            "--dir",
            &dir,
            &b,
            "--reason",
            "affiliationChanged",
        ],
    );
    let delta = t.p("delta.crl");
    let out = ok(
        &t,
        &["ca", "crl", "--dir", &dir, "--out", &delta, "--delta"],
    );
    assert!(out.contains("delta CRL number 2"), "{out}");
    assert!(out.contains("base CRL number 1"), "{out}");
    let text = crl_text(&delta, &ca_pem);
    assert!(
        text.contains("Delta CRL Indicator: critical\n                1"),
        "{text}"
    );
    assert!(text.contains(&b.to_ascii_uppercase()), "{text}");
    assert!(!text.contains(&a.to_ascii_uppercase()), "{text}");
    assert!(text.contains("Affiliation Changed"), "{text}");
    let btext = crl_text(&base, &ca_pem);
    assert!(btext.contains("Freshest CRL"), "{btext}");

    let (a_pem, b_pem) = (t.p("a.pem"), t.p("b.pem"));
    // Base alone: b is good, a revoked.
    agree(true, &ca_pem, &[], &[&base], false, &b_pem);
    agree(false, &ca_pem, &[], &[&base], false, &a_pem);
    // Base + delta: b revoked too.
    agree(false, &ca_pem, &[], &[&base, &delta], true, &b_pem);
    agree(false, &ca_pem, &[], &[&base, &delta], true, &a_pem);
    agree(false, &ca_pem, &[], &[&delta, &base], true, &a_pem);
    let c = issue(&t, "ca", "c", "c.example");
    let _ = c;
    agree(true, &ca_pem, &[], &[&base, &delta], true, &t.p("c.pem"));
}

#[test]
fn cross_certified_domain_with_and_without_name_constraints() {
    let t = TempDir::new("cross");
    init(&t, "a", "CN=Domain A, O=A", None);
    init(&t, "b", "CN=Domain B, O=B", None);
    issue(&t, "b", "hostb", "host.b.example");
    let (a_dir, b_pem, a_pem) = (t.p("a"), t.p("b/ca.pem"), t.p("a/ca.pem"));
    let leaf = t.p("hostb.pem");
    // Without the cross-certificate there is no path to anchor A.
    agree(false, &a_pem, &[], &[], false, &leaf);

    let cross = t.p("cross.pem");
    ok(
        &t,
        &[
            "ca",
            "cross-certify",
            "--dir",
            &a_dir,
            "--ca",
            &b_pem,
            "--name-constraints",
            "permit:dns:b.example,exclude:ip:10.0.0.0/8",
            "--policy-mapping",
            "1.3.6.1.4.1.55555.1=1.3.6.1.4.1.55555.2",
            "--path-len",
            "0",
            "--out",
            &cross,
        ],
    );
    let x = openssl(&["x509", "-in", &cross, "-noout", "-text"]);
    let xt = String::from_utf8_lossy(&x.stdout).to_string();
    assert!(xt.contains("Issuer: O = A, CN = Domain A"), "{xt}");
    assert!(xt.contains("Subject: O = B, CN = Domain B"), "{xt}");
    assert!(xt.contains("CA:TRUE, pathlen:0"), "{xt}");
    assert!(xt.contains("Certificate Sign, CRL Sign"), "{xt}");
    assert!(xt.contains("X509v3 Name Constraints: critical"), "{xt}");
    assert!(xt.contains("DNS:b.example"), "{xt}");
    assert!(xt.contains("IP:10.0.0.0/255.0.0.0"), "{xt}");
    assert!(xt.contains("X509v3 Policy Mappings: critical"), "{xt}");
    assert!(
        xt.contains("1.3.6.1.4.1.55555.1:1.3.6.1.4.1.55555.2"),
        "{xt}"
    );
    assert!(xt.contains("Policy: 1.3.6.1.4.1.55555.1"), "{xt}");
    // SKI = B's SKI, AKI = A's SKI.
    let sk = ski_hex(&b_pem);
    assert!(
        xt.contains(&format!("Subject Key Identifier: \n                {sk}")),
        "{xt}"
    );
    let ak = ski_hex(&a_pem);
    assert!(
        xt.contains(&format!("Authority Key Identifier: \n                {ak}")),
        "{xt}"
    );
    // Same public key as B's certificate.
    let pk = |f: &str| openssl(&["x509", "-in", f, "-noout", "-pubkey"]).stdout;
    assert_eq!(pk(&cross), pk(&b_pem));

    agree(true, &a_pem, &[&cross], &[], false, &leaf);

    let cross_x = t.p("cross_x.pem");
    ok(
        &t,
        &[
            "ca",
            "cross-certify",
            "--dir",
            &a_dir,
            "--ca",
            &b_pem,
            "--name-constraints",
            "exclude:dns:b.example",
            "--out",
            &cross_x,
        ],
    );
    agree(false, &a_pem, &[&cross_x], &[], false, &leaf);

    // Cross-certificates are recorded, revocable and listed in the ARL.
    let serial = ok(&t, &["ca", "arl", "--dir", &a_dir, "--out", &t.p("a0.arl")]);
    assert!(serial.contains("ARL number 1"), "{serial}");
    let state = std::fs::read_to_string(t.p("a/state.json")).unwrap();
    let first = state
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"serial\": \""))
        .unwrap()
        .trim_end_matches("\",")
        .to_string();
    ok(&t, &["ca", "revoke", "--dir", &a_dir, &first]);
    let arl = t.p("a.arl");
    ok(&t, &["ca", "arl", "--dir", &a_dir, "--out", &arl]);
    let at = crl_text(&arl, &a_pem);
    assert!(at.contains(&first.to_ascii_uppercase()), "{at}");
    // openssl's and our verdicts with the ARL: B's own CRL is needed for the leaf.
    let b_crl = t.p("b.crl");
    ok(&t, &["ca", "crl", "--dir", &t.p("b"), "--out", &b_crl]);
    agree(false, &a_pem, &[&cross], &[&arl, &b_crl], false, &leaf);
    agree(
        true,
        &a_pem,
        &[&cross],
        &[&t.p("a0.arl"), &b_crl],
        false,
        &leaf,
    );
}

#[test]
fn command_errors_are_clear() {
    let t = TempDir::new("err");
    init(&t, "ca", "CN=Err CA", None);
    let dir = t.p("ca");
    let s = issue(&t, "ca", "x", "x.example");
    let e = fails(&t, &["ca", "revoke", "--dir", &dir, "0123abcd"]);
    assert!(e.contains("no certificate with serial 0123abcd"), "{e}");
    let e = fails(
        &t,
        &["ca", "revoke", "--dir", &dir, &s, "--reason", "because"],
    );
    assert!(
        e.contains("unknown reason") && e.contains("keyCompromise"),
        "{e}"
    );
    let e = fails(
        &t,
        &[
            "ca",
            "crl",
            "--dir",
            &dir,
            "--out",
            &t.p("d.crl"),
            "--delta",
        ],
    );
    assert!(e.contains("no full CRL"), "{e}");
    assert!(!Path::new(&t.p("d.crl")).exists());
    ok(
        &t,
        &[
            "ca",
            "revoke",
            "--dir",
            &dir,
            &s,
            "--reason",
            "certificateHold",
        ],
    );
    let e = fails(&t, &["ca", "revoke", "--dir", &dir, &s]);
    assert!(e.contains("already revoked"), "{e}");
    ok(
        &t,
        &[
            "ca",
            "revoke",
            "--dir",
            &dir,
            &s,
            "--reason",
            "removeFromCRL",
        ],
    );
    let e = fails(
        &t,
        &[
            "ca",
            "revoke",
            "--dir",
            &dir,
            &s,
            "--reason",
            "removeFromCRL",
        ],
    );
    assert!(e.contains("not on hold"), "{e}");
    ok(&t, &["ca", "crl", "--dir", &dir, "--out", &t.p("full.crl")]);
    let e = fails(&t, &["ca", "crl", "--dir", &dir, "--out", &t.p("full.crl")]);
    assert!(e.contains("refusing to overwrite"), "{e}");
    let e = fails(
        &t,
        &[
            "ca",
            "cross-certify",
            "--dir",
            &dir,
            "--ca",
            &t.p("x.pem"),
            "--out",
            &t.p("c.pem"),
        ],
    );
    assert!(e.contains("not a CA certificate"), "{e}");
    let e = fails(
        &t,
        &[
            "ca",
            "cross-certify",
            "--dir",
            &dir,
            "--ca",
            &t.p("ca/ca.pem"),
            "--name-constraints",
            "permit:ip:10.0.0.1/8",
            "--out",
            &t.p("c.pem"),
        ],
    );
    assert!(e.contains("host bits"), "{e}");
}

#[test]
fn three_level_hierarchy_and_path_length() {
    let t = TempDir::new("three");
    init(&t, "root", "CN=Three Root", None);
    init(&t, "mid", "CN=Three Mid", Some("root"));
    let (mid_dir, root_dir) = (t.p("mid"), t.p("root"));
    let iss_dir = t.p("iss");
    ok(
        &t,
        &[
            "ca",
            "init",
            "--dir",
            &iss_dir,
            "--subject",
            "CN=Three Issuing",
            "--parent",
            &mid_dir,
            "--path-len",
            "0",
        ],
    );
    issue(&t, "iss", "leaf3", "leaf3.example");
    // The issuing CA's pathLen 0 forbids another CA below it.
    let e = fails(
        &t,
        &[
            "ca",
            "init",
            "--dir",
            &t.p("deeper"),
            "--subject",
            "CN=Too Deep",
            "--parent",
            &iss_dir,
        ],
    );
    assert!(e.contains("pathLenConstraint"), "{e}");
    assert!(!Path::new(&t.p("deeper/ca.pem")).exists());

    let (root_arl, mid_arl, iss_crl) = (t.p("root.arl"), t.p("mid.arl"), t.p("iss.crl"));
    ok(&t, &["ca", "arl", "--dir", &root_dir, "--out", &root_arl]);
    ok(&t, &["ca", "arl", "--dir", &mid_dir, "--out", &mid_arl]);
    ok(&t, &["ca", "crl", "--dir", &iss_dir, "--out", &iss_crl]);
    let (root_pem, mid_pem, iss_pem) = (t.p("root/ca.pem"), t.p("mid/ca.pem"), t.p("iss/ca.pem"));
    let leaf = t.p("leaf3.pem");
    let crls = [root_arl.as_str(), mid_arl.as_str(), iss_crl.as_str()];
    agree(true, &root_pem, &[&mid_pem, &iss_pem], &crls, false, &leaf);
    // Without the middle CA's ARL neither can establish its status for the issuing CA.
    agree(
        false,
        &root_pem,
        &[&mid_pem, &iss_pem],
        &[&root_arl, &iss_crl],
        false,
        &leaf,
    );
    // The issuing CA's profile keeps the whole chain up to the root.
    let p = negotiator_store::Profile::load(Path::new(&t.p("leaf3.profile")), b"test password")
        .unwrap();
    assert_eq!(p.certificate_chain.len(), 4);
}
