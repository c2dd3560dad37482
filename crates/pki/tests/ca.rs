//! CA issuing and peer-chain checks on certificates made by this crate.

#![allow(clippy::cloned_ref_to_slice_refs)]

use std::time::Duration;

use negotiator_pki::{
    Ca, IssueRequest, KeyType, PkiError, San, name_to_string, parse_certificate_pem_or_der,
    verify_peer_chain,
};
use negotiator_store::KdfParams;

const NOW: u64 = 1_790_000_000; // 2026-09-21
const DAY: u64 = 86_400;

fn req(subject: &str, sans: &[&str]) -> IssueRequest {
    IssueRequest {
        subject: subject.into(),
        sans: sans.iter().map(|s| s.parse().unwrap()).collect(),
        validity: Duration::from_secs(30 * DAY),
        eku_ipsec_ike: true,
    }
}

fn ca(kt: KeyType) -> Ca {
    Ca::generate(
        "CN=Test Root, O=Negotiator, C=DE",
        kt,
        Duration::from_secs(3650 * DAY),
        NOW,
    )
    .unwrap()
}

#[test]
fn issue_and_verify_each_key_type() {
    for kt in [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Rsa2048,
        KeyType::Ed25519,
    ] {
        let mut ca = ca(kt);
        let (key, cert) = ca
            .issue_with_new_key(
                &req(
                    "CN=host, O=Negotiator",
                    &["ip:192.0.2.1", "dns:host.example"],
                ),
                KeyType::EcdsaP256,
                NOW,
            )
            .unwrap();
        let peer =
            verify_peer_chain(&[cert.clone()], &[ca.certificate_der().to_vec()], NOW + 1).unwrap();
        assert_eq!(peer.subject, "CN=host, O=Negotiator");
        assert_eq!(name_to_string(&peer.subject_der), "CN=host, O=Negotiator");
        assert_eq!(peer.spki_der, key.public_key_spki_der());
        assert_eq!(
            peer.sans,
            vec![
                San::Ip("192.0.2.1".parse().unwrap()),
                San::Dns("host.example".into())
            ]
        );
        assert_eq!(peer.not_after_unix, (NOW + 30 * DAY) as i64);
        // The CA certificate also verifies against itself as anchor (self-signed).
        let ca_self = verify_peer_chain(
            &[ca.certificate_der().to_vec()],
            &[ca.certificate_der().to_vec()],
            NOW,
        );
        assert!(
            ca_self.is_err(),
            "CA keyUsage lacks digitalSignature, so it is no IKE leaf"
        );
        assert_eq!(ca.issued().len(), 1);
    }
}

#[test]
fn serials_are_16_octets_positive_and_distinct() {
    let mut ca = ca(KeyType::EcdsaP256);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let (_, _) = ca
            .issue_with_new_key(&req("CN=x", &[]), KeyType::EcdsaP256, NOW)
            .unwrap();
    }
    for r in ca.issued() {
        assert_eq!(r.serial.len(), 32, "{}", r.serial);
        let first = u8::from_str_radix(&r.serial[..2], 16).unwrap();
        assert!(first & 0x80 == 0 && first != 0);
        assert!(seen.insert(r.serial.clone()));
    }
}

#[test]
fn expired_and_not_yet_valid() {
    let mut ca = ca(KeyType::EcdsaP256);
    let (_, cert) = ca
        .issue_with_new_key(&req("CN=host", &[]), KeyType::EcdsaP256, NOW)
        .unwrap();
    let anchors = [ca.certificate_der().to_vec()];
    let later = NOW + 31 * DAY;
    let e = verify_peer_chain(&[cert.clone()], &anchors, later).unwrap_err();
    assert!(matches!(e, PkiError::Expired { .. }), "{e:?}");
    // 1790000000 + 30 days = 1792592000 = 2026-10-21T14:13:20Z (`date -u -d @1792592000`).
    assert_eq!(
        e.to_string(),
        "certificate \"CN=host\" expired at 2026-10-21T14:13:20Z"
    );
    let e = verify_peer_chain(&[cert], &anchors, NOW - 3600).unwrap_err();
    assert!(matches!(e, PkiError::NotYetValid { .. }), "{e:?}");
    assert!(e.to_string().contains("\"CN=host\""));
}

#[test]
fn wrong_anchor_and_tampering() {
    let mut ca1 = ca(KeyType::EcdsaP256);
    let ca2 = ca(KeyType::EcdsaP256); // same subject, different key
    let ca3 = Ca::generate(
        "CN=Other",
        KeyType::Rsa2048,
        Duration::from_secs(DAY * 400),
        NOW,
    )
    .unwrap();
    let (_, cert) = ca1
        .issue_with_new_key(&req("CN=host", &[]), KeyType::EcdsaP256, NOW)
        .unwrap();
    let e = verify_peer_chain(&[cert.clone()], &[ca3.certificate_der().to_vec()], NOW).unwrap_err();
    assert!(matches!(e, PkiError::UnknownIssuer { .. }), "{e:?}");
    assert!(e.to_string().contains("CN=Test Root"), "{e}");
    let e = verify_peer_chain(&[cert.clone()], &[ca2.certificate_der().to_vec()], NOW).unwrap_err();
    assert!(
        matches!(
            e,
            PkiError::UnknownIssuer { .. } | PkiError::BadSignature { .. }
        ),
        "{e:?}"
    );
    // Flip one bit in the last byte of the signature and in the subject.
    let mut bad = cert.clone();
    let n = bad.len() - 1;
    bad[n] ^= 1;
    let anchors = [ca1.certificate_der().to_vec()];
    let e = verify_peer_chain(&[bad], &anchors, NOW).unwrap_err();
    assert!(
        matches!(
            e,
            PkiError::BadSignature { .. } | PkiError::Malformed { .. }
        ),
        "{e:?}"
    );
    let pos = cert.windows(4).position(|w| w == b"host").unwrap();
    let mut bad = cert.clone();
    bad[pos] = b'g';
    let e = verify_peer_chain(&[bad], &anchors, NOW).unwrap_err();
    assert!(matches!(e, PkiError::BadSignature { .. }), "{e:?}");
    assert!(e.to_string().contains("CN=gost"), "{e}");
}

#[test]
fn every_byte_flip_is_rejected_without_panic() {
    let mut ca = ca(KeyType::EcdsaP256);
    let (_, cert) = ca
        .issue_with_new_key(&req("CN=h", &["dns:h.example"]), KeyType::EcdsaP256, NOW)
        .unwrap();
    let anchors = [ca.certificate_der().to_vec()];
    for i in 0..cert.len() {
        let mut bad = cert.clone();
        bad[i] ^= 0x5a;
        assert!(
            verify_peer_chain(&[bad], &anchors, NOW).is_err(),
            "flip at {i} accepted"
        );
    }
    for n in 0..cert.len() {
        assert!(verify_peer_chain(&[cert[..n].to_vec()], &anchors, NOW).is_err());
    }
}

#[test]
fn san_only_certificate_has_critical_san() {
    let mut ca = ca(KeyType::EcdsaP256);
    let (_, cert) = ca
        .issue_with_new_key(&req("", &["email:a@b.example"]), KeyType::EcdsaP256, NOW)
        .unwrap();
    let peer = verify_peer_chain(&[cert.clone()], &[ca.certificate_der().to_vec()], NOW).unwrap();
    assert_eq!(peer.subject, "");
    assert_eq!(peer.sans, vec![San::Email("a@b.example".into())]);
    // Extension 2.5.29.17 followed by BOOLEAN TRUE.
    assert!(
        cert.windows(8)
            .any(|w| w == [0x06, 0x03, 0x55, 0x1d, 0x11, 0x01, 0x01, 0xff])
    );
    assert!(
        ca.issue_with_new_key(&req("", &[]), KeyType::EcdsaP256, NOW)
            .is_err()
    );
}

#[test]
fn validity_beyond_ca_is_refused() {
    let mut ca = Ca::generate(
        "CN=Short",
        KeyType::EcdsaP256,
        Duration::from_secs(10 * DAY),
        NOW,
    )
    .unwrap();
    let e = ca
        .issue_with_new_key(&req("CN=h", &[]), KeyType::EcdsaP256, NOW)
        .unwrap_err();
    assert!(e.to_string().contains("after the CA certificate"), "{e}");
}

#[test]
fn save_load_round_trip() {
    let dir =
        std::env::temp_dir().join(format!("negotiator-pki-ca-{}-{}", std::process::id(), NOW));
    // Ca::save creates the directory (mode 0700).
    let cheap = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let mut ca = ca(KeyType::EcdsaP384);
    ca.issue_with_new_key(&req("CN=one", &[]), KeyType::EcdsaP256, NOW)
        .unwrap();
    ca.save_with_params(&dir, b"pw", cheap).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &str| std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("ca-key.profile"), 0o600);
    assert_eq!(mode("ca.pem"), 0o644);
    assert_eq!(mode(""), 0o700);
    let pem = std::fs::read(dir.join("ca.pem")).unwrap();
    assert!(pem.starts_with(b"-----BEGIN CERTIFICATE-----\n"));
    assert_eq!(
        parse_certificate_pem_or_der(&pem).unwrap(),
        vec![ca.certificate_der().to_vec()]
    );
    let state = std::fs::read_to_string(dir.join("state.json")).unwrap();
    assert!(state.contains("\"subject\": \"CN=one\""), "{state}");

    let mut back = Ca::load(&dir, b"pw").unwrap();
    assert_eq!(back.certificate_der(), ca.certificate_der());
    assert_eq!(back.issued(), ca.issued());
    let (_, cert) = back
        .issue_with_new_key(&req("CN=two", &[]), KeyType::Rsa2048, NOW)
        .unwrap();
    verify_peer_chain(&[cert], &[ca.certificate_der().to_vec()], NOW).unwrap();

    let e = Ca::load(&dir, b"wrong").unwrap_err();
    assert!(e.to_string().contains("wrong password"), "{e}");
    assert!(!format!("{back:?}").contains("PRIVATE"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn input_limits() {
    let ca = ca(KeyType::EcdsaP256);
    assert!(verify_peer_chain(&[], &[ca.certificate_der().to_vec()], NOW).is_err());
    assert!(verify_peer_chain(&[ca.certificate_der().to_vec()], &[], NOW).is_err());
    assert!(parse_certificate_pem_or_der(b"hello").is_err());
    assert!(parse_certificate_pem_or_der(b"-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
    assert!(parse_certificate_pem_or_der(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
}
