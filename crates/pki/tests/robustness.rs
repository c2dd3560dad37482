//! Hostile input never panics: deterministic pseudo-random mutations of a
//! real certificate, PEM text and DN/SAN strings.

use std::time::Duration;

use negotiator_pki::{
    Ca, IssueRequest, KeyType, San, name_to_string, parse_certificate_pem_or_der, parse_dn, to_pem,
    verify_peer_chain,
};

/// xorshift64*: a fixed-seed generator so failures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const NOW: u64 = 1_790_000_000;

#[test]
fn mutated_certificates() {
    let mut ca = Ca::generate(
        "CN=Fuzz CA",
        KeyType::EcdsaP256,
        Duration::from_secs(86_400 * 100),
        NOW,
    )
    .unwrap();
    let req = IssueRequest {
        subject: "CN=leaf, O=Fuzz".into(),
        sans: vec![
            "ip:192.0.2.1".parse().unwrap(),
            "dns:a.example".parse().unwrap(),
        ],
        validity: Duration::from_secs(86_400),
        eku_ipsec_ike: true,
    };
    let (_, leaf) = ca
        .issue_with_new_key(&req, KeyType::EcdsaP256, NOW)
        .unwrap();
    let anchors = vec![ca.certificate_der().to_vec()];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let mut m = leaf.clone();
        match rng.below(4) {
            0 => {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            1 => {
                let n = rng.below(m.len());
                m.truncate(n);
            }
            2 => {
                let i = rng.below(m.len());
                m.insert(i, rng.next() as u8);
            }
            _ => {
                // Length octets set to extreme values.
                let i = rng.below(m.len());
                m[i] = [0x80, 0x81, 0x84, 0xff][rng.below(4)];
            }
        }
        if verify_peer_chain(&[m.clone()], &anchors, NOW).is_ok() {
            // Only a mutation that leaves the signed bytes intact may pass.
            assert_eq!(m, leaf);
        }
        let _ = parse_certificate_pem_or_der(&m);
        let _ = name_to_string(&m);
    }
}

#[test]
fn mutated_pem() {
    let ca = Ca::generate("CN=P", KeyType::EcdsaP256, Duration::from_secs(86_400), NOW).unwrap();
    let pem = to_pem(ca.certificate_der());
    let bundle = format!("junk before\n{pem}{pem}trailing\n");
    assert_eq!(
        parse_certificate_pem_or_der(bundle.as_bytes())
            .unwrap()
            .len(),
        2
    );
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let mut b = bundle.clone().into_bytes();
        let i = rng.below(b.len());
        b[i] = rng.next() as u8;
        let _ = parse_certificate_pem_or_der(&b);
    }
}

#[test]
fn random_strings() {
    let alphabet: Vec<char> = "CN=O,OU+\\\"#; <>a1.:@é\u{0}xipdnsemail".chars().collect();
    let mut rng = Rng(7);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let len = rng.below(24);
        let s: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        if let Ok(name) = parse_dn(&s) {
            parsed += 1;
            // Whatever parses renders and re-parses to the same DER.
            let der = der::Encode::to_der(&name).unwrap();
            let text = name_to_string(&der);
            let again = parse_dn(&text).unwrap();
            assert_eq!(
                der::Encode::to_der(&again).unwrap(),
                der,
                "{s:?} -> {text:?}"
            );
        }
        let _ = s.parse::<San>();
    }
    // The alphabet is chosen so that a fair share of the strings are valid DNs.
    assert!(parsed > 200, "only {parsed} strings parsed");
}
