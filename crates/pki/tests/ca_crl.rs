//! CA side of revocation and cross-certification, checked with the crate's
//! own CRL parser and path validator (the consumers), with DER fragments
//! encoded by hand from RFC 5280's ASN.1, and with the `openssl` CLI.

#![allow(clippy::cloned_ref_to_slice_refs)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use negotiator_pki::crl::Crl;
use negotiator_pki::{
    Ca, CrlKind, CrlReason, CrossCertOptions, ErrorKind, IssueRequest, KeyType, PolicyMapping,
    RevocationMode, RevocationStatus, San, ValidationOptions, parse_name_constraints,
    validate_path,
};
use negotiator_store::KdfParams;

/// 2026-01-02T03:04:05Z (python3: calendar.timegm((2026,1,2,3,4,5))).
const NOW: u64 = 1_767_323_045;
const DAY: Duration = Duration::from_secs(86_400);
const FULL: CrlKind = CrlKind::Full {
    freshest_crl_uri: None,
};

fn root(subject: &str) -> Ca {
    Ca::generate(subject, KeyType::EcdsaP256, DAY * 3650, NOW - 1000).unwrap()
}

fn leaf(ca: &mut Ca, subject: &str, dns: &str) -> Vec<u8> {
    let req = IssueRequest {
        subject: subject.into(),
        sans: vec![dns.parse::<San>().unwrap()],
        validity: DAY * 365,
        eku_ipsec_ike: false,
    };
    ca.issue_with_new_key(&req, KeyType::EcdsaP256, NOW - 500)
        .unwrap()
        .1
}

fn last_serial(ca: &Ca) -> String {
    ca.issued().last().unwrap().serial.clone()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn opts(revocation: RevocationMode) -> ValidationOptions {
    let mut o = ValidationOptions::at(NOW as i64 + 3600);
    o.revocation = revocation;
    o
}

struct Tmp(PathBuf);
impl Tmp {
    fn new(tag: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!(
            "negotiator-pki-cacrl-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openssl crl -inform DER -text`, also verifying the signature with `ca`.
fn openssl_crl_text(tmp: &Tmp, crl: &[u8], ca: &[u8]) -> String {
    let f = tmp.0.join("x.crl");
    let c = tmp.0.join("ca.der");
    std::fs::write(&f, crl).unwrap();
    std::fs::write(&c, ca).unwrap();
    let pem = tmp.0.join("ca.pem");
    let st = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&c)
        .arg("-out")
        .arg(&pem)
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&f)
        .arg("-CAfile")
        .arg(&pem)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "openssl crl failed: {err}");
    assert!(err.contains("verify OK"), "signature not verified: {err}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `openssl x509 -ext subjectKeyIdentifier` as raw bytes.
fn openssl_ski(tmp: &Tmp, cert: &[u8]) -> Vec<u8> {
    let c = tmp.0.join("ski.der");
    std::fs::write(&c, cert).unwrap();
    let out = Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-ext",
            "subjectKeyIdentifier",
            "-in",
        ])
        .arg(&c)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1).unwrap().trim().replace(':', "");
    unhex(&line.to_ascii_lowercase())
}

#[test]
fn full_crl_fields_entries_and_openssl() {
    let tmp = Tmp::new("full");
    let mut ca = root("CN=CRL Root, O=Test");
    let _a = leaf(&mut ca, "CN=a", "dns:a.example");
    let sa = last_serial(&ca);
    let _b = leaf(&mut ca, "CN=b", "dns:b.example");
    let sb = last_serial(&ca);
    // 2026-01-01T00:00:00Z = 1767225600 (python3 calendar.timegm)
    ca.revoke(
        &sa,
        Some(CrlReason::KeyCompromise),
        Some(1_767_225_600),
        NOW + 5,
    )
    .unwrap();
    let crl = ca.issue_crl(&FULL, DAY, NOW + 10).unwrap();
    assert_eq!(ca.crl_number(), 1);
    assert_eq!(ca.last_full_crl(), Some(1));

    // The consumer's view.
    let parsed = Crl::parse(&crl).unwrap();
    assert_eq!(parsed.version(), 1);
    assert!(!parsed.is_delta());
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed.this_update(), NOW as i64 + 10);
    assert_eq!(parsed.next_update(), Some(NOW as i64 + 10 + 86_400));
    let e = parsed.find_serial(&unhex(&sa)).unwrap();
    assert_eq!(e.reason, Some(1));
    assert_eq!(e.revocation_date, NOW as i64 + 5);
    assert!(parsed.find_serial(&unhex(&sb)).is_none());

    // Hand-encoded extensions (RFC 5280 §5.2.1, §5.2.3, §5.3.1, §5.3.2).
    let ski = openssl_ski(&tmp, ca.certificate_der());
    assert_eq!(ski.len(), 20);
    let mut aki = vec![
        0x30, 0x1f, 0x06, 0x03, 0x55, 0x1d, 0x23, 0x04, 0x18, 0x30, 0x16, 0x80, 0x14,
    ];
    aki.extend_from_slice(&ski);
    assert!(contains(&crl, &aki), "AKI must be the CA's own SKI");
    let crl_number = [
        0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x14, 0x04, 0x03, 0x02, 0x01, 0x01,
    ];
    assert!(contains(&crl, &crl_number));
    let reason = [
        0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x01,
    ];
    assert!(contains(&crl, &reason));
    let mut inv = vec![
        0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11, 0x18, 0x0f,
    ];
    inv.extend_from_slice(b"20260101000000Z");
    assert!(contains(&crl, &inv), "invalidityDate is a GeneralizedTime");
    // No IDP on the full CRL (full scope), no deltaCRLIndicator.
    assert!(!contains(&crl, &[0x06, 0x03, 0x55, 0x1d, 0x1c]));
    assert!(!contains(&crl, &[0x06, 0x03, 0x55, 0x1d, 0x1b]));

    let text = openssl_crl_text(&tmp, &crl, ca.certificate_der());
    assert!(text.contains("Version 2 (0x1)"), "{text}");
    assert!(text.contains("X509v3 CRL Number"), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("Invalidity Date"), "{text}");
    assert!(text.contains("Jan  1 00:00:00 2026 GMT"), "{text}");
    assert!(text.contains(&sa.to_ascii_uppercase()), "{text}");
    assert!(!text.contains(&sb.to_ascii_uppercase()), "{text}");
}

#[test]
fn revoke_errors() {
    let mut ca = root("CN=Err Root");
    leaf(&mut ca, "CN=x", "dns:x.example");
    let s = last_serial(&ca);
    let e = ca.revoke("0abcdef0", None, None, NOW).unwrap_err();
    assert!(e.to_string().contains("no certificate with serial"), "{e}");
    let e = ca.revoke("zz", None, None, NOW).unwrap_err();
    assert!(e.to_string().contains("not a hex serial"), "{e}");
    let e = ca.revoke(&s, None, Some(NOW as i64 + 1), NOW).unwrap_err();
    assert!(e.to_string().contains("invalidity date"), "{e}");
    let e = ca
        .revoke(&s, Some(CrlReason::RemoveFromCrl), None, NOW)
        .unwrap_err();
    assert!(e.to_string().contains("not revoked"), "{e}");
    // Upper case with colons and 0x prefix names the same certificate.
    let spaced: Vec<String> = (0..s.len())
        .step_by(2)
        .map(|i| s[i..i + 2].to_ascii_uppercase())
        .collect();
    ca.revoke(&format!("0x{}", spaced.join(":")), None, None, NOW)
        .unwrap();
    let e = ca.revoke(&s, None, None, NOW).unwrap_err();
    assert!(e.to_string().contains("already revoked"), "{e}");
    let e = ca
        .revoke(&s, Some(CrlReason::RemoveFromCrl), None, NOW)
        .unwrap_err();
    assert!(e.to_string().contains("not on hold"), "{e}");
    assert!(ca.issued()[0].revoked.as_ref().unwrap().reason.is_none());
    // A delta CRL needs a base.
    let e = ca.issue_crl(&CrlKind::Delta, DAY, NOW).unwrap_err();
    assert!(e.to_string().contains("no full CRL"), "{e}");
}

#[test]
fn delta_crls_list_changes_since_their_base_and_validate() {
    let tmp = Tmp::new("delta");
    let mut ca = root("CN=Delta Root");
    let anchor = vec![ca.certificate_der().to_vec()];
    let a = leaf(&mut ca, "CN=a", "dns:a.example");
    let sa = last_serial(&ca);
    let b = leaf(&mut ca, "CN=b", "dns:b.example");
    let sb = last_serial(&ca);
    ca.revoke(&sa, Some(CrlReason::Superseded), None, NOW)
        .unwrap();
    let full1 = ca.issue_crl(&FULL, DAY, NOW + 1).unwrap();
    ca.revoke(&sb, Some(CrlReason::CertificateHold), None, NOW + 2)
        .unwrap();
    let delta2 = ca.issue_crl(&CrlKind::Delta, DAY, NOW + 3).unwrap();
    let d2 = Crl::parse(&delta2).unwrap();
    assert!(d2.is_delta());
    assert_eq!(d2.len(), 1, "only the change since the base");
    assert_eq!(d2.find_serial(&unhex(&sb)).unwrap().reason, Some(6));
    assert!(d2.find_serial(&unhex(&sa)).is_none());
    // deltaCRLIndicator, critical, base 1; cRLNumber 2.
    let dci = [
        0x30, 0x0d, 0x06, 0x03, 0x55, 0x1d, 0x1b, 0x01, 0x01, 0xff, 0x04, 0x03, 0x02, 0x01, 0x01,
    ];
    assert!(contains(&delta2, &dci));
    assert!(contains(
        &delta2,
        &[0x06, 0x03, 0x55, 0x1d, 0x14, 0x04, 0x03, 0x02, 0x01, 0x02]
    ));
    let text = openssl_crl_text(&tmp, &delta2, ca.certificate_der());
    assert!(text.contains("Delta CRL Indicator: critical"), "{text}");
    assert!(text.contains("Certificate Hold"), "{text}");

    // Our validator: b is good on the base alone, on hold with the delta.
    let o = opts(RevocationMode::Require);
    let p = validate_path(&b, &[], &anchor, &[full1.clone()], &o).unwrap();
    assert_eq!(p.revocation, RevocationStatus::Good);
    let e = validate_path(&b, &[], &anchor, &[full1.clone(), delta2.clone()], &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Revoked, "{e}");
    let e = validate_path(&a, &[], &anchor, &[full1.clone(), delta2.clone()], &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Revoked, "{e}");

    // New base with both; then the hold is lifted: the next delta says removeFromCRL.
    let full3 = ca.issue_crl(&FULL, DAY, NOW + 4).unwrap();
    assert_eq!(Crl::parse(&full3).unwrap().len(), 2);
    ca.revoke(&sb, Some(CrlReason::RemoveFromCrl), None, NOW + 5)
        .unwrap();
    let delta4 = ca.issue_crl(&CrlKind::Delta, DAY, NOW + 6).unwrap();
    let d4 = Crl::parse(&delta4).unwrap();
    assert_eq!(d4.len(), 1);
    assert_eq!(d4.find_serial(&unhex(&sb)).unwrap().reason, Some(8));
    assert!(contains(
        &delta4,
        &[
            0x06, 0x03, 0x55, 0x1d, 0x1b, 0x01, 0x01, 0xff, 0x04, 0x03, 0x02, 0x01, 0x03
        ]
    ));
    let e = validate_path(&b, &[], &anchor, &[full3.clone()], &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Revoked);
    let p = validate_path(&b, &[], &anchor, &[full3.clone(), delta4.clone()], &o).unwrap();
    assert_eq!(p.revocation, RevocationStatus::Good);
    let full5 = ca.issue_crl(&FULL, DAY, NOW + 7).unwrap();
    let f5 = Crl::parse(&full5).unwrap();
    assert_eq!(f5.len(), 1);
    assert!(f5.find_serial(&unhex(&sa)).is_some());
    // A new hold on a: no (already permanently revoked). Hold on b then keyCompromise.
    assert!(
        ca.revoke(&sa, Some(CrlReason::CertificateHold), None, NOW + 7)
            .is_err()
    );
    ca.revoke(&sb, Some(CrlReason::CertificateHold), None, NOW + 7)
        .unwrap();
    assert!(
        ca.revoke(&sb, Some(CrlReason::CertificateHold), None, NOW + 7)
            .is_err()
    );
    ca.revoke(&sb, Some(CrlReason::KeyCompromise), None, NOW + 7)
        .unwrap();
    assert!(
        ca.revoke(&sb, Some(CrlReason::Superseded), None, NOW + 7)
            .is_err()
    );

    // The counters survive a save/load.
    let cheap = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let dir = tmp.0.join("ca");
    ca.save_with_params(&dir, b"pw", cheap).unwrap();
    let mut back = Ca::load(&dir, b"pw").unwrap();
    assert_eq!(back.crl_number(), 5);
    assert_eq!(back.last_full_crl(), Some(5));
    assert_eq!(back.issued(), ca.issued());
    // The delta against full CRL 5 carries b's permanent revocation.
    let delta6 = Crl::parse(&back.issue_crl(&CrlKind::Delta, DAY, NOW + 8).unwrap()).unwrap();
    assert_eq!(delta6.len(), 1);
    assert_eq!(delta6.find_serial(&unhex(&sb)).unwrap().reason, Some(1));
    back.issue_crl(&FULL, DAY, NOW + 9).unwrap();
    let delta8 = back.issue_crl(&CrlKind::Delta, DAY, NOW + 10).unwrap();
    assert!(Crl::parse(&delta8).unwrap().is_empty());
}

#[test]
fn subordinate_ca_chain_and_arl() {
    let tmp = Tmp::new("arl");
    let mut r = root("CN=ARL Root, O=Test");
    let mut sub = Ca::generate_subordinate(
        &mut r,
        "CN=Sub, O=Test",
        KeyType::EcdsaP256,
        DAY * 1000,
        Some(0),
        NOW - 900,
    )
    .unwrap();
    let sub_serial = last_serial(&r);
    assert!(r.issued()[0].ca);
    assert_eq!(
        sub.chain(),
        vec![sub.certificate_der().to_vec(), r.certificate_der().to_vec()]
    );
    assert_eq!(sub.root_der(), r.certificate_der());
    // pathLen 0: the sub-CA cannot certify another CA.
    let e = Ca::generate_subordinate(
        &mut sub,
        "CN=SubSub",
        KeyType::EcdsaP256,
        DAY,
        None,
        NOW - 800,
    )
    .unwrap_err();
    assert!(e.to_string().contains("pathLenConstraint"), "{e}");
    // Validity beyond the parent is refused.
    assert!(
        Ca::generate_subordinate(&mut r, "CN=Long", KeyType::EcdsaP256, DAY * 4000, None, NOW)
            .is_err()
    );
    let l = leaf(&mut sub, "CN=leaf", "dns:leaf.example");
    let direct = leaf(&mut r, "CN=direct", "dns:direct.example");
    let direct_serial = last_serial(&r);
    let anchor = vec![r.certificate_der().to_vec()];
    let inter = vec![sub.certificate_der().to_vec()];

    let sub_crl = sub.issue_crl(&FULL, DAY, NOW).unwrap();
    let arl_empty = r.issue_crl(&CrlKind::Arl, DAY, NOW).unwrap();
    let o = opts(RevocationMode::Require);
    let p = validate_path(
        &l,
        &inter,
        &anchor,
        &[sub_crl.clone(), arl_empty.clone()],
        &o,
    )
    .unwrap();
    assert_eq!(p.path.len(), 3);
    assert_eq!(p.revocation, RevocationStatus::Good);

    r.revoke(&sub_serial, Some(CrlReason::CaCompromise), None, NOW + 1)
        .unwrap();
    r.revoke(
        &direct_serial,
        Some(CrlReason::KeyCompromise),
        None,
        NOW + 1,
    )
    .unwrap();
    let arl = r.issue_crl(&CrlKind::Arl, DAY, NOW + 2).unwrap();
    let parsed = Crl::parse(&arl).unwrap();
    assert_eq!(parsed.len(), 1, "the ARL lists CA certificates only");
    assert_eq!(
        parsed.find_serial(&unhex(&sub_serial)).unwrap().reason,
        Some(2)
    );
    // IDP critical, onlyContainsCACerts [2] TRUE.
    let idp = [
        0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x1c, 0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x82,
        0x01, 0xff,
    ];
    assert!(contains(&arl, &idp));
    let text = openssl_crl_text(&tmp, &arl, r.certificate_der());
    assert!(text.contains("Only CA Certificates"), "{text}");
    assert!(text.contains("CA Compromise"), "{text}");
    let full = Crl::parse(&r.issue_crl(&FULL, DAY, NOW + 3).unwrap()).unwrap();
    assert_eq!(
        full.len(),
        2,
        "the full CRL lists every revoked certificate"
    );

    let e = validate_path(&l, &inter, &anchor, &[sub_crl.clone(), arl.clone()], &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Revoked, "{e}");
    assert_eq!(e.position, Some(1));
    // The ARL does not cover end-entity certificates: the direct leaf's status is unknown.
    let e = validate_path(&direct, &[], &anchor, &[arl.clone()], &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RevocationUnknown, "{e}");
}

#[test]
fn cross_certificate_links_two_domains() {
    let mut a = root("CN=Domain A Root, O=A");
    let mut b = root("CN=Domain B Root, O=B");
    let lb = leaf(&mut b, "CN=host", "dns:host.b.example");
    let anchor_a = vec![a.certificate_der().to_vec()];
    let o = opts(RevocationMode::Off);
    assert_eq!(
        validate_path(&lb, &[], &anchor_a, &[], &o)
            .unwrap_err()
            .kind,
        ErrorKind::NoPath
    );
    let plain = a
        .cross_certify(b.certificate_der(), &CrossCertOptions::default(), NOW)
        .unwrap();
    let p = validate_path(&lb, &[plain.clone()], &anchor_a, &[], &o).unwrap();
    assert_eq!(p.path.len(), 3);
    assert!(a.issued().last().unwrap().ca);

    let permit = CrossCertOptions {
        name_constraints: parse_name_constraints("permit:dns:b.example,exclude:ip:10.0.0.0/8")
            .unwrap(),
        policy_mappings: vec!["1.2.3.4=1.2.3.5".parse::<PolicyMapping>().unwrap()],
        path_len: Some(0),
        validity: Some(DAY * 30),
    };
    let c = a.cross_certify(b.certificate_der(), &permit, NOW).unwrap();
    validate_path(&lb, &[c.clone()], &anchor_a, &[], &o).unwrap();
    // Hand-encoded nameConstraints (critical): permitted [0] { SEQ { [2] "b.example" } },
    // excluded [1] { SEQ { [7] 0a000000 ff000000 } }.
    let mut nc = vec![
        0x30, 0x29, 0x06, 0x03, 0x55, 0x1d, 0x1e, 0x01, 0x01, 0xff, 0x04, 0x1f, 0x30, 0x1d, 0xa0,
        0x0d, 0x30, 0x0b, 0x82, 0x09,
    ];
    nc.extend_from_slice(b"b.example");
    nc.extend_from_slice(&[
        0xa1, 0x0c, 0x30, 0x0a, 0x87, 0x08, 10, 0, 0, 0, 0xff, 0, 0, 0,
    ]);
    assert!(contains(&c, &nc));
    // policyMappings (critical): SEQ { SEQ { 1.2.3.4, 1.2.3.5 } }.
    let pm = [
        0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x21, 0x01, 0x01, 0xff, 0x04, 0x0e, 0x30, 0x0c, 0x30,
        0x0a, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x06, 0x03, 0x2a, 0x03, 0x05,
    ];
    assert!(contains(&c, &pm));

    let exclude = CrossCertOptions {
        name_constraints: parse_name_constraints("exclude:dns:b.example").unwrap(),
        ..Default::default()
    };
    let x = a.cross_certify(b.certificate_der(), &exclude, NOW).unwrap();
    let e = validate_path(&lb, &[x], &anchor_a, &[], &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NameConstraints, "{e}");

    // Not a CA / our own key.
    let e = a
        .cross_certify(&lb, &CrossCertOptions::default(), NOW)
        .unwrap_err();
    assert!(e.to_string().contains("not a CA"), "{e}");
    let own = a.certificate_der().to_vec();
    let e = a
        .cross_certify(&own, &CrossCertOptions::default(), NOW)
        .unwrap_err();
    assert!(e.to_string().contains("own key"), "{e}");
    // Revocable like any issued certificate, and listed in the ARL.
    let s = a.issued()[0].serial.clone();
    a.revoke(&s, Some(CrlReason::CessationOfOperation), None, NOW + 1)
        .unwrap();
    let arl = a.issue_crl(&CrlKind::Arl, DAY, NOW + 2).unwrap();
    let mut o2 = opts(RevocationMode::Soft);
    o2.use_deltas = true;
    let e = validate_path(&lb, &[plain], &anchor_a, &[arl], &o2).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Revoked, "{e}");
}

#[test]
fn crls_signed_with_each_key_type_verify_in_openssl_and_here() {
    let tmp = Tmp::new("keytypes");
    for kt in [KeyType::Rsa2048, KeyType::EcdsaP384, KeyType::Ed25519] {
        let mut ca = Ca::generate("CN=KT Root", kt, DAY * 1000, NOW - 1000).unwrap();
        let l = leaf(&mut ca, "CN=l", "dns:l.example");
        let s = last_serial(&ca);
        ca.revoke(&s, Some(CrlReason::PrivilegeWithdrawn), None, NOW)
            .unwrap();
        let crl = ca.issue_crl(&FULL, DAY, NOW).unwrap();
        let text = openssl_crl_text(&tmp, &crl, ca.certificate_der());
        assert!(text.contains("Privilege Withdrawn"), "{kt:?}: {text}");
        let anchor = vec![ca.certificate_der().to_vec()];
        let e =
            validate_path(&l, &[], &anchor, &[crl], &opts(RevocationMode::Require)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Revoked, "{kt:?}: {e}");
    }
}

#[test]
fn old_state_files_load_and_bad_serials_are_errors() {
    let tmp = Tmp::new("oldstate");
    let cheap = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let mut ca = root("CN=Old State");
    leaf(&mut ca, "CN=o", "dns:o.example");
    let s = last_serial(&ca);
    let dir = tmp.0.join("ca");
    ca.save_with_params(&dir, b"pw", cheap).unwrap();
    // The state format written before revocation support.
    let old = format!(
        "{{\"version\":1,\"issued\":[{{\"serial\":\"{s}\",\"subject\":\"CN=o\",\"not_after\":\"2027-01-01T00:00:00Z\"}}]}}"
    );
    std::fs::write(dir.join("state.json"), &old).unwrap();
    let mut back = Ca::load(&dir, b"pw").unwrap();
    assert_eq!(back.crl_number(), 0);
    assert!(!back.issued()[0].ca);
    back.revoke(&s, None, None, NOW).unwrap();
    let crl = back.issue_crl(&FULL, DAY, NOW).unwrap();
    assert!(Crl::parse(&crl).unwrap().find_serial(&unhex(&s)).is_some());
    back.save_state(&dir).unwrap();
    let st = std::fs::read_to_string(dir.join("state.json")).unwrap();
    assert!(st.contains("\"crl_number\": 1"), "{st}");
    assert!(st.contains("\"after_crl\": 0"), "{st}");

    // A corrupted serial in the state is an error, not a panic or a wrong CRL.
    let bad = old.replace(&s, "zz");
    let bad = bad.replace("\"issued\"", "\"crl_number\":0,\"issued\"");
    let bad = bad.replace(
        "\"not_after\":\"2027-01-01T00:00:00Z\"",
        "\"not_after\":\"2027-01-01T00:00:00Z\",\"revoked\":{\"time\":1,\"after_crl\":0}",
    );
    std::fs::write(dir.join("state.json"), &bad).unwrap();
    let mut b2 = Ca::load(&dir, b"pw").unwrap();
    let e = b2.issue_crl(&FULL, DAY, NOW).unwrap_err();
    assert!(e.to_string().contains("bad serial"), "{e}");
    // The last full CRL cannot be ahead of the counter.
    std::fs::write(
        dir.join("state.json"),
        old.replace(
            "\"issued\"",
            "\"crl_number\":1,\"last_full_crl\":2,\"issued\"",
        ),
    )
    .unwrap();
    assert!(Ca::load(&dir, b"pw").is_err());
}
