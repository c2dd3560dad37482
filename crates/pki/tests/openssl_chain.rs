//! `verify_peer_chain` against certificates made by the `openssl` CLI, an
//! independent implementation. `openssl verify` is run on the same fixtures
//! so that both agree on what is valid.

#![allow(clippy::cloned_ref_to_slice_refs)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use negotiator_pki::{PkiError, San, parse_certificate_pem_or_der, verify_peer_chain};

const CFG: &str = "\
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical,CA:TRUE,pathlen:1
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[root_pl0]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[int]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_notca]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyCertSign,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = IP:192.0.2.7,DNS:leaf.example,email:ops@leaf.example
extendedKeyUsage = 1.3.6.1.5.5.7.3.17
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_keyenc]
keyUsage = critical,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_crit]
keyUsage = critical,digitalSignature
1.2.3.4 = critical,ASN1:UTF8String:unknown
authorityKeyIdentifier = keyid
";

struct Fixture {
    dir: PathBuf,
    serial: u32,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "negotiator-ossl-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cfg"), CFG).unwrap();
        Fixture { dir, serial: 1 }
    }

    fn openssl(&self, args: &[&str]) -> String {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("the openssl CLI must be installed for these tests");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "openssl {args:?} failed: {text}");
        text
    }

    fn key(&self, name: &str, alg: &str) {
        let file = format!("{name}.key");
        match alg {
            "rsa" => self.openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &file,
            ]),
            curve => self.openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                &format!("ec_paramgen_curve:{curve}"),
                "-out",
                &file,
            ]),
        };
    }

    fn root(&self, name: &str, alg: &str, subject: &str, section: &str) {
        self.key(name, alg);
        self.openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            subject,
            "-days",
            "30",
            "-config",
            "cfg",
            "-extensions",
            section,
            "-out",
            &format!("{name}.pem"),
        ]);
    }

    fn signed(
        &mut self,
        name: &str,
        alg: &str,
        subject: &str,
        ca: &str,
        section: &str,
        digest: &str,
    ) {
        self.key(name, alg);
        self.openssl(&[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            subject,
            "-config",
            "cfg",
            "-out",
            &format!("{name}.csr"),
        ]);
        self.serial += 1;
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-set_serial",
            &self.serial.to_string(),
            "-days",
            "30",
            &format!("-{digest}"),
            "-extfile",
            "cfg",
            "-extensions",
            section,
            "-out",
            &format!("{name}.pem"),
        ]);
    }

    fn der(&self, name: &str) -> Vec<u8> {
        let pem = std::fs::read(self.dir.join(format!("{name}.pem"))).unwrap();
        let mut v = parse_certificate_pem_or_der(&pem).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    fn openssl_verify(&self, root: &str, untrusted: Option<&str>, leaf: &str) -> bool {
        let mut args = vec![
            "verify".to_string(),
            "-CAfile".into(),
            format!("{root}.pem"),
        ];
        if let Some(u) = untrusted {
            args.push("-untrusted".into());
            args.push(format!("{u}.pem"));
        }
        args.push(format!("{leaf}.pem"));
        Command::new("openssl")
            .args(&args)
            .current_dir(&self.dir)
            .output()
            .unwrap()
            .status
            .success()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn openssl_chain_with_intermediate_is_accepted() {
    let mut f = Fixture::new("ok");
    f.root("root", "P-384", "/CN=OSSL Root", "root");
    f.signed(
        "int",
        "rsa",
        "/O=Example/CN=OSSL Int",
        "root",
        "int",
        "sha384",
    );
    f.signed(
        "leaf",
        "P-256",
        "/O=Example/CN=OSSL Leaf",
        "int",
        "leaf",
        "sha256",
    );
    f.root("other", "P-256", "/CN=Unrelated", "root");
    assert!(
        f.openssl_verify("root", Some("int"), "leaf"),
        "fixture in {}",
        f.dir.display()
    );

    let (root, int, leaf, other) = (f.der("root"), f.der("int"), f.der("leaf"), f.der("other"));
    let peer = verify_peer_chain(&[leaf.clone(), int.clone()], &[root.clone()], now()).unwrap();
    assert_eq!(peer.subject, "CN=OSSL Leaf, O=Example");
    assert_eq!(
        peer.sans,
        vec![
            San::Ip("192.0.2.7".parse().unwrap()),
            San::Dns("leaf.example".into()),
            San::Email("ops@leaf.example".into()),
        ]
    );
    // The SPKI equals what openssl prints for the leaf key.
    f.openssl(&[
        "pkey",
        "-in",
        "leaf.key",
        "-pubout",
        "-outform",
        "DER",
        "-out",
        "leaf.spki",
    ]);
    assert_eq!(
        peer.spki_der,
        std::fs::read(f.dir.join("leaf.spki")).unwrap()
    );

    // Extra, unrelated certificates and any order are fine.
    verify_peer_chain(
        &[leaf.clone(), other.clone(), int.clone()],
        &[other.clone(), root.clone()],
        now(),
    )
    .unwrap();

    // Missing intermediate.
    let e = verify_peer_chain(&[leaf.clone()], &[root.clone()], now()).unwrap_err();
    assert!(matches!(e, PkiError::UnknownIssuer { .. }), "{e:?}");
    assert!(e.to_string().contains("CN=OSSL Int, O=Example"), "{e}");

    // Wrong anchor.
    let e = verify_peer_chain(&[leaf.clone(), int.clone()], &[other], now()).unwrap_err();
    assert!(matches!(e, PkiError::UnknownIssuer { .. }), "{e:?}");

    // Expired / not yet valid (openssl set notBefore = now, notAfter = now + 30 days).
    let e = verify_peer_chain(
        &[leaf.clone(), int.clone()],
        &[root.clone()],
        now() + 31 * 86_400,
    )
    .unwrap_err();
    assert!(matches!(e, PkiError::Expired { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("certificate \"CN=OSSL Leaf, O=Example\" expired at "),
        "{e}"
    );
    let e = verify_peer_chain(
        &[leaf.clone(), int.clone()],
        &[root.clone()],
        now() - 86_400,
    )
    .unwrap_err();
    assert!(matches!(e, PkiError::NotYetValid { .. }), "{e:?}");

    // Tampered signature of the intermediate.
    let mut bad_int = int.clone();
    let n = bad_int.len() - 5;
    bad_int[n] ^= 0x01;
    let e = verify_peer_chain(&[leaf, bad_int], &[root], now()).unwrap_err();
    assert!(matches!(e, PkiError::BadSignature { .. }), "{e:?}");
    assert!(e.to_string().contains("CN=OSSL Int"), "{e}");
}

#[test]
fn openssl_path_constraints_are_enforced() {
    let mut f = Fixture::new("constraints");
    // pathlen:0 root, one intermediate below it: both openssl and we refuse.
    f.root("root0", "P-256", "/CN=Root PL0", "root_pl0");
    f.signed(
        "int0",
        "P-256",
        "/CN=Int under PL0",
        "root0",
        "int",
        "sha256",
    );
    f.signed("leaf0", "P-256", "/CN=Leaf0", "int0", "leaf", "sha256");
    assert!(!f.openssl_verify("root0", Some("int0"), "leaf0"));
    let e =
        verify_peer_chain(&[f.der("leaf0"), f.der("int0")], &[f.der("root0")], now()).unwrap_err();
    assert!(matches!(e, PkiError::PathLenExceeded { .. }), "{e:?}");
    assert!(e.to_string().contains("Root PL0"), "{e}");

    // Issuer that is not a CA.
    f.root("root", "P-256", "/CN=Root", "root");
    f.signed(
        "notca",
        "P-256",
        "/CN=Not A CA",
        "root",
        "int_notca",
        "sha256",
    );
    f.signed("leaf1", "P-256", "/CN=Leaf1", "notca", "leaf", "sha256");
    assert!(!f.openssl_verify("root", Some("notca"), "leaf1"));
    let e =
        verify_peer_chain(&[f.der("leaf1"), f.der("notca")], &[f.der("root")], now()).unwrap_err();
    assert!(matches!(e, PkiError::NotCa { .. }), "{e:?}");
    assert!(e.to_string().contains("\"CN=Not A CA\""), "{e}");

    // Leaf keyUsage without digitalSignature.
    f.signed(
        "leaf2",
        "P-256",
        "/CN=Leaf2",
        "root",
        "leaf_keyenc",
        "sha256",
    );
    let e = verify_peer_chain(&[f.der("leaf2")], &[f.der("root")], now()).unwrap_err();
    assert!(
        matches!(
            e,
            PkiError::KeyUsage {
                needed: "digitalSignature",
                ..
            }
        ),
        "{e:?}"
    );

    // Unknown critical extension: openssl refuses as well.
    f.signed("leaf3", "P-256", "/CN=Leaf3", "root", "leaf_crit", "sha256");
    assert!(!f.openssl_verify("root", None, "leaf3"));
    let e = verify_peer_chain(&[f.der("leaf3")], &[f.der("root")], now()).unwrap_err();
    assert!(
        matches!(e, PkiError::UnknownCriticalExtension { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("1.2.3.4"), "{e}");

    // And a plain valid leaf directly under the root for contrast.
    f.signed("leaf4", "rsa", "/CN=Leaf4", "root", "leaf", "sha256");
    assert!(f.openssl_verify("root", None, "leaf4"));
    verify_peer_chain(&[f.der("leaf4")], &[f.der("root")], now()).unwrap();
}

#[test]
fn depth_limit() {
    // root -> 8 intermediates -> leaf is longer than MAX_PATH_DEPTH (8).
    let mut f = Fixture::new("depth");
    f.root("c0", "P-256", "/CN=C0", "int");
    for i in 1..=8 {
        f.signed(
            &format!("c{i}"),
            "P-256",
            &format!("/CN=C{i}"),
            &format!("c{}", i - 1),
            "int",
            "sha256",
        );
    }
    f.signed("leaf", "P-256", "/CN=Deep Leaf", "c8", "leaf", "sha256");
    let mut chain = vec![f.der("leaf")];
    for i in (1..=8).rev() {
        chain.push(f.der(&format!("c{i}")));
    }
    let e = verify_peer_chain(&chain, &[f.der("c0")], now()).unwrap_err();
    assert!(matches!(e, PkiError::PathTooLong { .. }), "{e:?}");
    // Six intermediates (path of 8 with leaf and anchor) is accepted.
    let short: Vec<Vec<u8>> = [f.der("leaf")]
        .into_iter()
        .chain((3..=8).rev().map(|i| f.der(&format!("c{i}"))))
        .collect();
    verify_peer_chain(&short, &[f.der("c2")], now()).unwrap();
}

/// Certificates sent by real strongSwan 5.9.8 peers (CERT payloads of the
/// decrypted IKE_AUTH messages in the wire crate's fixtures), checked against
/// the lab root. `openssl verify -CAfile lab-ca.pem` accepts both.
#[test]
fn strongswan_peer_certificates() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wire/tests/data/strongswan");
    let ca = parse_certificate_pem_or_der(&std::fs::read(dir.join("lab-ca.pem")).unwrap()).unwrap();
    // 2027-01-01T00:00:00Z (`date -u -d 2027-01-01 +%s`); the host certificates
    // are valid from 2026-12-03T16:48:27Z to 2028-12-02.
    let when = 1_798_761_600;
    for (file, name, ip) in [
        (
            "03-ikev2-cert-ike_auth-i.inner",
            "a.lab.example",
            "192.0.2.1",
        ),
        (
            "05-ikev2-cert-ike_auth-r.inner",
            "b.lab.example",
            "192.0.2.2",
        ),
    ] {
        let inner = std::fs::read(dir.join(file)).unwrap();
        // The first DER certificate in the payload chain is the CERT payload's.
        let leaf = (0..inner.len().saturating_sub(4))
            .filter(|&i| inner[i] == 0x30 && inner[i + 1] == 0x82)
            .find_map(|i| {
                let len = ((inner[i + 2] as usize) << 8 | inner[i + 3] as usize) + 4;
                let c = inner.get(i..i + len)?;
                parse_certificate_pem_or_der(c)
                    .ok()
                    .map(|mut v| v.remove(0))
            })
            .expect("certificate in CERT payload");
        let peer = verify_peer_chain(&[leaf.clone()], &ca, when).unwrap();
        assert_eq!(peer.subject, format!("CN={name}, O=IPsec Lab, C=ZZ"));
        assert_eq!(
            peer.sans,
            vec![San::Dns(name.into()), San::Ip(ip.parse().unwrap())]
        );
        // Just before notBefore (2026-12-03T16:48:00Z).
        let e = verify_peer_chain(&[leaf], &ca, 1_796_316_480).unwrap_err();
        assert!(matches!(e, PkiError::NotYetValid { .. }), "{e:?}");
    }
}
