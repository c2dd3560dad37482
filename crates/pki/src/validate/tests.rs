//! Validator tests on a PKI built by openssl (tests/data/gen-validate-fixtures.sh):
//! every verdict is also asked of `openssl verify`, and the two must agree.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use super::*;

fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("negotiator-validate-fx-{}", std::process::id()));
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gen-validate-fixtures.sh");
        let st = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .output()
            .expect("bash and openssl are required for these tests");
        assert!(
            st.status.success(),
            "fixture generation failed: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        dir
    })
}

fn at() -> i64 {
    std::fs::read_to_string(fixtures().join("attime"))
        .expect("attime")
        .trim()
        .parse()
        .expect("number")
}

fn load(name: &str) -> Vec<Vec<u8>> {
    let p = fixtures().join(name);
    let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    read_objects(&data, &["CERTIFICATE", "X509 CRL"]).expect("PEM")
}

fn all(names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().flat_map(|n| load(n)).collect()
}

fn ours(
    leaf: &str,
    untrusted: &[&str],
    anchors: &[&str],
    crls: &[&str],
    mode: RevocationMode,
) -> Result<ValidatedPath, ValidationError> {
    let mut o = ValidationOptions::at(at());
    o.revocation = mode;
    let leaf = load(leaf).remove(0);
    validate_path(&leaf, &all(untrusted), &all(anchors), &all(crls), &o)
}

/// `openssl verify` on the same inputs (CRLs with -crl_check_all).
fn openssl(leaf: &str, untrusted: &[&str], anchors: &[&str], crls: &[&str]) -> bool {
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let d = fixtures();
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cat = |names: &[&str], out: &str| -> PathBuf {
        let p = d.join(format!("{out}-{n}"));
        let mut buf = Vec::new();
        for n in names {
            buf.extend(std::fs::read(d.join(n)).expect("read"));
        }
        std::fs::write(&p, buf).expect("write");
        p
    };
    let mut cmd = Command::new("openssl");
    cmd.arg("verify").arg("-attime").arg(at().to_string());
    cmd.arg("-CAfile")
        .arg(cat(anchors, &format!("anchors-{leaf}")));
    if !untrusted.is_empty() {
        cmd.arg("-untrusted")
            .arg(cat(untrusted, &format!("untrusted-{leaf}")));
    }
    if !crls.is_empty() {
        cmd.arg("-CRLfile")
            .arg(cat(crls, &format!("crls-{leaf}")))
            .arg("-crl_check_all");
    }
    cmd.arg(d.join(leaf));
    cmd.output().expect("openssl").status.success()
}

fn agree(
    leaf: &str,
    untrusted: &[&str],
    anchors: &[&str],
    crls: &[&str],
) -> Result<ValidatedPath, ValidationError> {
    let mode = if crls.is_empty() {
        RevocationMode::Off
    } else {
        RevocationMode::Require
    };
    let r = ours(leaf, untrusted, anchors, crls, mode);
    assert_eq!(
        r.is_ok(),
        openssl(leaf, untrusted, anchors, crls),
        "{leaf}: openssl disagrees: {r:?}"
    );
    r
}

#[test]
fn valid_chain_with_crls() {
    let p = agree(
        "leafA.pem",
        &["intA.pem"],
        &["rootA.pem"],
        &["intA.crl", "rootA.crl"],
    )
    .expect("valid");
    assert_eq!(
        p.path,
        [
            "O=Domain A, CN=vpn.a.example",
            "O=Domain A, CN=Sub A",
            "O=Domain A, CN=Root A"
        ]
    );
    assert_eq!(p.revocation, RevocationStatus::Good);
}

#[test]
fn revoked_leaf() {
    let e = agree(
        "revokedA.pem",
        &["intA.pem"],
        &["rootA.pem"],
        &["intA.crl", "rootA.crl"],
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Revoked);
    assert_eq!(e.position, Some(0));
    assert!(
        e.to_string().contains("revoked.a.example") && e.to_string().contains("keyCompromise"),
        "{e}"
    );
    // Without revocation checking the same path is valid, and says so.
    let p = ours(
        "revokedA.pem",
        &["intA.pem"],
        &["rootA.pem"],
        &[],
        RevocationMode::Off,
    )
    .expect("valid");
    assert_eq!(p.revocation, RevocationStatus::NotChecked);
}

#[test]
fn missing_crl_for_a_ca() {
    let e = ours(
        "leafA.pem",
        &["intA.pem"],
        &["rootA.pem"],
        &["intA.crl"],
        RevocationMode::Require,
    )
    .unwrap_err();
    assert_eq!(
        (e.kind, e.position),
        (ErrorKind::RevocationUnknown, Some(1))
    );
    assert!(!openssl(
        "leafA.pem",
        &["intA.pem"],
        &["rootA.pem"],
        &["intA.crl"]
    ));
    let p = ours(
        "leafA.pem",
        &["intA.pem"],
        &["rootA.pem"],
        &["intA.crl"],
        RevocationMode::Soft,
    )
    .expect("soft");
    assert_eq!(p.revocation, RevocationStatus::Unknown);
    let p = ours(
        "leafA.pem",
        &["intA.pem"],
        &["rootA.pem"],
        &["intA.crl"],
        RevocationMode::RequireLeaf,
    )
    .expect("leaf only");
    assert_eq!(p.revocation, RevocationStatus::Unknown);
}

#[test]
fn expired_leaf() {
    let e = agree("expiredA.pem", &["intA.pem"], &["rootA.pem"], &[]).unwrap_err();
    assert_eq!((e.kind, e.position), (ErrorKind::Expired, Some(0)));
}

#[test]
fn cross_certified_domains() {
    // B's leaf, trusting only A: through the cross-certificate A -> B.
    let p = agree("leafB.pem", &["crossAB.pem"], &["rootA.pem"], &[]).expect("valid");
    assert_eq!(
        p.path.last().map(String::as_str),
        Some("O=Domain A, CN=Root A")
    );
    assert_eq!(p.path.len(), 3);
    // Both domains trusted: the direct path to Root B is found.
    let p = agree(
        "leafB.pem",
        &["crossAB.pem", "crossBA.pem"],
        &["rootA.pem", "rootB.pem"],
        &[],
    )
    .expect("valid");
    assert_eq!(p.anchor_index, 1);
    // Without the cross-certificate, A's trust list does not cover B.
    let e = agree("leafB.pem", &["crossBA.pem"], &["rootA.pem"], &[]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoPath);
}

#[test]
fn cross_certificate_loop_terminates() {
    // B and C certify each other, nothing leads to A: must fail, not loop.
    fixtures();
    let t = Instant::now();
    let r = ours(
        "leafC.pem",
        &["crossCB.pem", "crossBC.pem", "crossBA.pem"],
        &["rootA.pem"],
        &[],
        RevocationMode::Off,
    );
    assert!(t.elapsed().as_secs() < 2);
    let e = agree(
        "leafC.pem",
        &["crossCB.pem", "crossBC.pem", "crossBA.pem"],
        &["rootA.pem"],
        &[],
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoPath, "{e}");
    assert!(r.is_err());
    // With A -> B added, C -> B -> A exists (openssl agrees without the B <- C distractor).
    let p = agree(
        "leafC.pem",
        &["crossCB.pem", "crossAB.pem"],
        &["rootA.pem"],
        &[],
    )
    .expect("valid");
    assert_eq!(p.path.len(), 4);
    // With the distractor, OpenSSL 3.0 gives up after its first choice of issuer for
    // "Root B" (crossBC), while backtracking finds the path.
    let p = ours(
        "leafC.pem",
        &["crossCB.pem", "crossBC.pem", "crossAB.pem"],
        &["rootA.pem"],
        &[],
        RevocationMode::Off,
    )
    .expect("valid");
    assert_eq!(
        p.path[1..],
        [
            "O=Domain C, CN=Root C",
            "O=Domain B, CN=Root B",
            "O=Domain A, CN=Root A"
        ]
    );
}

#[test]
fn key_rollover() {
    // New-key leaf, relying party still trusts the old root: NewWithOld bridges.
    let p = agree("leafNew.pem", &["newWithOld.pem"], &["rootA.pem"], &[]).expect("valid");
    assert_eq!(p.path.len(), 3);
    // Old-key chain, relying party trusts only the new root: OldWithNew bridges.
    let p = agree(
        "leafA.pem",
        &["oldWithNew.pem", "intA.pem"],
        &["rootAnew.pem"],
        &[],
    )
    .expect("valid");
    assert_eq!(p.path.len(), 4);
    // Without the rollover certificate there is no path.
    agree("leafNew.pem", &[], &["rootA.pem"], &[]).unwrap_err();
}

#[test]
fn name_constraints() {
    agree("ncInside.pem", &["ncA.pem"], &["rootA.pem"], &[]).expect("valid");
    let e = agree("ncOutside.pem", &["ncA.pem"], &["rootA.pem"], &[]).unwrap_err();
    assert_eq!((e.kind, e.position), (ErrorKind::NameConstraints, Some(0)));
    assert!(e.to_string().contains("DNS:vpn.b.example"), "{e}");
}

#[test]
fn hostile_bundle_is_bounded() {
    // 40 CA certificates named "Sub A" with foreign keys, plus the real one: found.
    fixtures();
    let t = Instant::now();
    ours(
        "leafA.pem",
        &["evil-bundle.pem", "intA.pem"],
        &["rootA.pem"],
        &[],
        RevocationMode::Off,
    )
    .expect("valid");
    let r = ours(
        "leafA.pem",
        &["evil-bundle.pem"],
        &["rootA.pem"],
        &[],
        RevocationMode::Off,
    );
    assert!(t.elapsed().as_secs() < 2);
    assert!(r.is_err());
    agree(
        "leafA.pem",
        &["evil-bundle.pem", "intA.pem"],
        &["rootA.pem"],
        &[],
    )
    .expect("valid");
    // Only the impostors: fails within the signature budget.
    let e = agree("leafA.pem", &["evil-bundle.pem"], &["rootA.pem"], &[]).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::Signature | ErrorKind::NoPath | ErrorKind::Budget
        ),
        "{e}"
    );
}

#[test]
fn signature_budget() {
    // 2,000 impostors named "Sub A" (the 40 distinct ones, repeated): the search
    // stops after MAX_SIGNATURE_CHECKS signature verifications and says so.
    let leaf = load("leafA.pem").remove(0);
    let evil = load("evil-bundle.pem");
    let many: Vec<Vec<u8>> = evil.iter().cycle().take(2000).cloned().collect();
    let t = Instant::now();
    let e = validate_path(
        &leaf,
        &many,
        &load("rootA.pem"),
        &[],
        &ValidationOptions::at(at()),
    )
    .unwrap_err();
    assert!(t.elapsed().as_secs() < 3, "took {:?}", t.elapsed());
    assert_eq!(e.kind, ErrorKind::Budget, "{e}");
    // The real issuer is still found first among them (AKI/SKI match ranks it first).
    let mut with_real = many.clone();
    with_real.extend(load("intA.pem"));
    validate_path(
        &leaf,
        &with_real,
        &load("rootA.pem"),
        &[],
        &ValidationOptions::at(at()),
    )
    .expect("valid");
}

#[test]
fn peer_identity() {
    let leaf = load("leafA.pem").remove(0);
    let (inter, anchors) = (load("intA.pem"), load("rootA.pem"));
    let o = ValidationOptions::at(at());
    let dns = |s: &str| PeerIdentity::Dns(s.to_string());
    validate_peer(&leaf, &inter, &anchors, &[], &o, &[dns("VPN.a.example")]).expect("SAN match");
    let e = validate_peer(&leaf, &inter, &anchors, &[], &o, &[dns("vpn.b.example")]).unwrap_err();
    assert_eq!((e.kind, e.position), (ErrorKind::Identity, Some(0)));
    assert!(
        e.to_string().contains("vpn.b.example") && e.to_string().contains("CN=vpn.a.example"),
        "{e}"
    );
    // The subject CN is never used as an identity.
    let ip = PeerIdentity::Ip("192.0.2.1".parse().expect("ip"));
    assert!(validate_peer(&leaf, &inter, &anchors, &[], &o, &[ip]).is_err());
}

#[test]
fn dsa_signatures() {
    agree("leafDSA.pem", &[], &["rootDSA.pem"], &[]).expect("valid DSA chain");
    // One bit of the signature flipped: refused by us and by openssl.
    let mut leaf = load("leafDSA.pem").remove(0);
    let n = leaf.len();
    leaf[n - 3] ^= 0x01;
    let e = validate_path(
        &leaf,
        &[],
        &load("rootDSA.pem"),
        &[],
        &ValidationOptions::at(at()),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Signature, "{e}");
}

#[test]
fn many_forged_crls_are_bounded() {
    // 4,000 copies of Sub A's CRL with a corrupted signature: none is usable,
    // the leaf's status is unknown, and the work stays bounded.
    let mut bad = load("intA.crl").remove(0);
    let n = bad.len();
    bad[n - 2] ^= 0x5a;
    let crls = vec![bad; 4000];
    let mut o = ValidationOptions::at(at());
    o.revocation = RevocationMode::Soft;
    let t = Instant::now();
    let p = validate_path(
        &load("leafA.pem").remove(0),
        &load("intA.pem"),
        &load("rootA.pem"),
        &crls,
        &o,
    )
    .expect("soft mode accepts unknown status");
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
    assert_eq!(p.revocation, RevocationStatus::Unknown);
    assert!(
        p.revocation_details[0].contains("verifies the CRL signature"),
        "{:?}",
        p.revocation_details
    );
}

#[test]
fn leaf_that_is_an_anchor() {
    let p = ours("rootB.pem", &[], &["rootB.pem"], &[], RevocationMode::Off).expect("trusted");
    assert_eq!(p.path, ["O=Domain B, CN=Root B"]);
    // A pinned end-entity certificate (not a CA) is accepted as its own anchor.
    let p = ours(
        "leafB.pem",
        &[],
        &["rootA.pem", "leafB.pem"],
        &[],
        RevocationMode::Off,
    )
    .expect("pinned");
    assert_eq!((p.path.len(), p.anchor_index), (1, 1));
    assert_eq!(p.revocation, RevocationStatus::NotChecked);
    // The expired leaf stays expired even when pinned.
    let e = ours(
        "expiredA.pem",
        &[],
        &["expiredA.pem"],
        &[],
        RevocationMode::Off,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Expired);
}

#[test]
fn garbage_inputs_do_not_panic() {
    let o = ValidationOptions::at(at());
    let anchor = load("rootA.pem");
    let leaf = load("leafA.pem").remove(0);
    for cut in [0, 1, 2, 10, leaf.len() / 2, leaf.len() - 1] {
        let e = validate_path(&leaf[..cut], &[], &anchor, &[], &o).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
    }
    let mut flipped = leaf.clone();
    let n = flipped.len();
    flipped[n - 5] ^= 0x55;
    let e = validate_path(&flipped, &load("intA.pem"), &anchor, &[], &o).unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::Signature | ErrorKind::Malformed),
        "{e}"
    );
    // Junk CRLs are ignored; the status is then unknown.
    let mut o2 = o.clone();
    o2.revocation = RevocationMode::Soft;
    let p = validate_path(
        &leaf,
        &load("intA.pem"),
        &anchor,
        &[vec![0x30, 0x00], vec![1, 2, 3]],
        &o2,
    )
    .expect("soft");
    assert_eq!(p.revocation, RevocationStatus::Unknown);
}
