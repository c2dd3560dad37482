//! Real strongSwan 5.9.8 IKEv2 messages (captured by the interop lab into
//! tests/data/strongswan, see its README): every `*.bin` must parse and
//! re-encode to identical bytes. The folder must exist and hold files; an
//! empty or missing folder is a failure, not a skip.
//!
//! The expected payload lists come from the README table (produced by the
//! capture tooling and cross-checked there with tshark), not from this codec.

use std::path::PathBuf;

use negotiator_wire::v2::*;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/strongswan")
}

fn bins() -> Vec<(String, Vec<u8>)> {
    let d = dir();
    let rd = std::fs::read_dir(&d).unwrap_or_else(|e| {
        panic!(
            "strongSwan fixture folder {} is missing ({e}); these captures are required",
            d.display()
        )
    });
    let mut out: Vec<(String, Vec<u8>)> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            (name, bytes)
        })
        .collect();
    out.sort();
    assert!(
        !out.is_empty(),
        "no *.bin in {}: the strongSwan captures are required",
        d.display()
    );
    out
}

fn read(name: &str) -> Message {
    let b = std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    Message::parse(&b).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_capture_round_trips_exactly() {
    let files = bins();
    for (name, b) in &files {
        let m = Message::parse(b).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.header.length as usize, b.len(), "{name}");
        assert_eq!(&m.encode(), b, "{name}: encode(parse(b)) != b");
        assert_eq!(m.try_encode().as_ref(), Ok(b), "{name}");
    }
    // The README lists 13 messages (7 cert + 6 PSK).
    assert!(
        files.len() >= 13,
        "expected at least 13 captures, found {}",
        files.len()
    );
}

fn types(m: &Message) -> Vec<PayloadType> {
    m.payloads.iter().map(Payload::payload_type).collect()
}

#[test]
fn ike_sa_init_payload_lists_match_readme() {
    use PayloadType as P;
    for scen in ["cert", "psk"] {
        let i = read(&format!("01-ikev2-{scen}-ike_sa_init-i.bin"));
        assert_eq!(i.header.exchange, ExchangeType::IKE_SA_INIT);
        assert_eq!(i.header.flags, Flags::INITIATOR);
        assert_eq!(i.header.message_id, 0);
        assert_eq!(
            types(&i),
            [
                P::SA,
                P::KE,
                P::NONCE,
                P::NOTIFY,
                P::NOTIFY,
                P::NOTIFY,
                P::NOTIFY,
                P::NOTIFY
            ]
        );
        let r = read(&format!("02-ikev2-{scen}-ike_sa_init-r.bin"));
        assert_eq!(r.header.flags, Flags::RESPONSE);
        assert_eq!(
            types(&r),
            [
                P::SA,
                P::KE,
                P::NONCE,
                P::NOTIFY,
                P::NOTIFY,
                P::CERTREQ,
                P::NOTIFY,
                P::NOTIFY,
                P::NOTIFY,
                P::NOTIFY
            ]
        );
    }
}

#[test]
fn psk_ike_sa_init_request_contents() {
    // Values from the README (proposals aes128-sha256-ecp256,
    // aes256-sha384-modp3072) and from charon's own dump of this message in
    // ikev2-psk.charon-dumps.txt ("octets = message + ..." starts with it).
    let m = read("01-ikev2-psk-ike_sa_init-i.bin");
    assert_eq!(
        m.header.spi_i,
        [0x0a, 0xbe, 0x47, 0xe6, 0xb4, 0x85, 0xf6, 0x9d]
    );
    let PayloadBody::Sa(props) = &m.payloads[0].body else {
        panic!("SA first")
    };
    assert_eq!(props.len(), 2);
    let ids = |p: &Proposal| -> Vec<(TransformType, u16, Option<u16>)> {
        p.transforms
            .iter()
            .map(|t| (t.transform_type, t.id, t.key_length()))
            .collect()
    };
    assert_eq!(
        ids(&props[0]),
        [
            (TransformType::ENCR, EncrId::AES_CBC.0, Some(128)),
            (TransformType::INTEG, IntegId::HMAC_SHA2_256_128.0, None),
            (TransformType::PRF, PrfId::HMAC_SHA2_256.0, None),
            (TransformType::KE, KeId::ECP_256.0, None),
        ]
    );
    assert_eq!(
        ids(&props[1]),
        [
            (TransformType::ENCR, EncrId::AES_CBC.0, Some(256)),
            (TransformType::INTEG, IntegId::HMAC_SHA2_384_192.0, None),
            (TransformType::PRF, PrfId::HMAC_SHA2_384.0, None),
            (TransformType::KE, KeId::MODP_3072.0, None),
        ]
    );
    assert_eq!((props[0].number, props[1].number), (1, 2));
    let PayloadBody::Ke(ke) = &m.payloads[1].body else {
        panic!("KE second")
    };
    assert_eq!(ke.group, 19);
    assert_eq!(ke.data.len(), 64);
    let notifies: Vec<NotifyType> = m
        .payloads
        .iter()
        .filter_map(|p| match &p.body {
            PayloadBody::Notify(n) => Some(n.notify_type),
            _ => None,
        })
        .collect();
    assert_eq!(
        notifies,
        [
            NotifyType::NAT_DETECTION_SOURCE_IP,
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            NotifyType::REDIRECT_SUPPORTED,
        ]
    );
    // NAT_DETECTION_SOURCE_IP data is charon's logged "natd_hash" for the
    // source (5ccbb071...).
    let PayloadBody::Notify(n) = &m.payloads[3].body else {
        panic!()
    };
    assert_eq!(
        n.data,
        [
            0x5c, 0xcb, 0xb0, 0x71, 0x40, 0x09, 0x83, 0xf6, 0x1f, 0x95, 0x5e, 0xcc, 0x13, 0xa1,
            0x59, 0x91, 0xf6, 0x7c, 0xbc, 0x24
        ]
    );
}

#[test]
fn fragmented_ike_auth_is_two_skf_payloads() {
    let f1 = read("03-ikev2-cert-ike_auth-i.bin");
    let f2 = read("04-ikev2-cert-ike_auth-i.bin");
    assert_eq!(f1.header.exchange, ExchangeType::IKE_AUTH);
    assert_eq!(f1.header.message_id, 1);
    let [
        Payload {
            body: PayloadBody::Skf(a),
            ..
        },
    ] = f1.payloads.as_slice()
    else {
        panic!("one SKF in fragment 1: {:?}", types(&f1))
    };
    let [
        Payload {
            body: PayloadBody::Skf(b),
            ..
        },
    ] = f2.payloads.as_slice()
    else {
        panic!("one SKF in fragment 2: {:?}", types(&f2))
    };
    assert_eq!((a.number, a.total), (1, 2));
    assert_eq!((b.number, b.total), (2, 2));
    // RFC 7383 section 2.5: only fragment 1 names the first inner payload
    // (IDi here); the others carry 0.
    assert_eq!(a.first_inner, PayloadType::IDI);
    assert_eq!(b.first_inner, PayloadType::NONE);
    // 1236 = 28 header + 4 generic + 4 fragment fields + data.
    assert_eq!(a.data.len(), 1236 - 36);
}

#[test]
fn encrypted_messages_are_single_sk_payloads() {
    for name in [
        "03-ikev2-psk-ike_auth-i.bin",
        "04-ikev2-psk-ike_auth-r.bin",
        "05-ikev2-psk-informational-i.bin",
        "06-ikev2-psk-informational-r.bin",
        "05-ikev2-cert-ike_auth-r.bin",
        "06-ikev2-cert-informational-i.bin",
        "07-ikev2-cert-informational-r.bin",
    ] {
        let m = read(name);
        let [
            Payload {
                body: PayloadBody::Sk(sk),
                ..
            },
        ] = m.payloads.as_slice()
        else {
            panic!("{name}: {:?}", types(&m))
        };
        // AES-CBC-128 + HMAC-SHA2-256-128: 16-octet IV, blocks, 16-octet ICV.
        assert!(
            sk.data.len() >= 48 && (sk.data.len() - 32) % 16 == 0,
            "{name}"
        );
        let expect_first = if name.contains("informational") {
            // INFORMATIONAL with a Delete (request) / empty (response).
            if name.ends_with("-i.bin") {
                PayloadType::DELETE
            } else {
                PayloadType::NONE
            }
        } else if name.ends_with("-i.bin") {
            PayloadType::IDI
        } else {
            PayloadType::IDR
        };
        assert_eq!(sk.first_inner, expect_first, "{name}");
    }
}

/// The decrypted SK content (`*.inner`, produced by the lab's
/// scripts/verify-ike-keys.py with the session keys, ICVs verified) must
/// parse as a payload chain whose first type is the SK/SKF payload's Next
/// Payload in the matching `.bin`, and re-encode to identical bytes.
#[test]
fn every_decrypted_inner_chain_round_trips() {
    let d = dir();
    let mut inners: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "inner"))
        .collect();
    inners.sort();
    assert!(!inners.is_empty(), "no *.inner in {}", d.display());
    let mut non_empty = 0;
    for path in &inners {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let inner = std::fs::read(path).unwrap();
        let outer = read(&name.replace(".inner", ".bin"));
        let first = match outer.payloads.as_slice() {
            [
                Payload {
                    body: PayloadBody::Sk(sk),
                    ..
                },
            ] => sk.first_inner,
            [
                Payload {
                    body: PayloadBody::Skf(f),
                    ..
                },
            ] => {
                assert_eq!(f.number, 1, "{name}: reassembly starts at fragment 1");
                f.first_inner
            }
            other => panic!("{name}: outer message is not SK/SKF: {other:?}"),
        };
        let chain = parse_payloads(first, &inner).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(chain.is_empty(), inner.is_empty(), "{name}");
        let mut out = Vec::new();
        assert_eq!(encode_payloads(&chain, &mut out), first, "{name}");
        assert_eq!(out, inner, "{name}: encode(parse(inner)) != inner");
        if !chain.is_empty() {
            non_empty += 1;
        }
    }
    assert!(non_empty >= 10, "only {non_empty} non-empty inner chains");
}

#[test]
fn psk_ike_auth_inner_matches_charon_log() {
    // ikev2-psk.charon-dumps.txt: IDx' for a and b, and the AUTH values
    // charon computed ("AUTH = prf(prf(secret, keypad), octets) = ...").
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let chain_of = |stem: &str| {
        let outer = read(&format!("{stem}.bin"));
        let [
            Payload {
                body: PayloadBody::Sk(sk),
                ..
            },
        ] = outer.payloads.as_slice()
        else {
            panic!("{stem}")
        };
        let inner = std::fs::read(dir().join(format!("{stem}.inner"))).unwrap();
        parse_payloads(sk.first_inner, &inner).unwrap()
    };
    let req = chain_of("03-ikev2-psk-ike_auth-i");
    let idi = req
        .iter()
        .find_map(|p| match &p.body {
            PayloadBody::IdI(id) => Some(id.body_bytes()),
            _ => None,
        })
        .expect("IDi");
    assert_eq!(idi, hex("02000000612e6c61622e6578616d706c65"));
    let auth = req
        .iter()
        .find_map(|p| match &p.body {
            PayloadBody::Auth(a) => Some(a.clone()),
            _ => None,
        })
        .expect("AUTH");
    assert_eq!(auth.method, AuthMethod::SHARED_KEY_MIC);
    assert_eq!(
        auth.data,
        hex("0169e6ba8a115c7d6af0a8ced4ae3c2db8dc61dcd4afe59efc637694bf105641")
    );
    let resp = chain_of("04-ikev2-psk-ike_auth-r");
    let idr = resp
        .iter()
        .find_map(|p| match &p.body {
            PayloadBody::IdR(id) => Some(id.body_bytes()),
            _ => None,
        })
        .expect("IDr");
    assert_eq!(idr, hex("02000000622e6c61622e6578616d706c65"));
    // Protected networks from the README: 198.51.100.0/28 and
    // 198.51.100.16/28 (initiator's and responder's).
    let ts = |c: &[Payload], want_i: bool| {
        c.iter()
            .find_map(|p| match (&p.body, want_i) {
                (PayloadBody::TsI(t), true) | (PayloadBody::TsR(t), false) => Some(t.clone()),
                _ => None,
            })
            .expect("TS")
    };
    let tsi = ts(&resp, true);
    let tsr = ts(&resp, false);
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    assert_eq!(
        tsi[0].addr_range(),
        Some((ip("198.51.100.0"), ip("198.51.100.15")))
    );
    assert_eq!(
        tsr[0].addr_range(),
        Some((ip("198.51.100.16"), ip("198.51.100.31")))
    );
}
