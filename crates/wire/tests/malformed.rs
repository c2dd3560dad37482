//! Malformed input and budgets: every case gives a named error, never a
//! panic. Inputs are assembled by hand.

use negotiator_wire::v2::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Wraps a payload chain in an IKEv2 header with a correct Length.
fn message(first: u8, chain: &[u8]) -> Vec<u8> {
    let mut m = vec![1u8; 8];
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&[first, 0x20, 34, 0x08, 0, 0, 0, 0]);
    let len = (28 + chain.len()) as u32;
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(chain);
    m
}

fn sa_err(sa_body: &[u8]) -> Error {
    let mut chain = vec![0, 0];
    chain.extend_from_slice(&((sa_body.len() + 4) as u16).to_be_bytes());
    chain.extend_from_slice(sa_body);
    parse_payloads(PayloadType::SA, &chain).expect_err("must fail")
}

/// A proposal: last octet, number, protocol, SPI, transforms (raw).
fn proposal(last: u8, num: u8, proto: u8, spi: &[u8], count: u8, transforms: &[u8]) -> Vec<u8> {
    let len = 8 + spi.len() + transforms.len();
    let mut p = vec![last, 0];
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p.extend_from_slice(&[num, proto, spi.len() as u8, count]);
    p.extend_from_slice(spi);
    p.extend_from_slice(transforms);
    p
}

fn transform(last: u8, ttype: u8, id: u16, attrs: &[u8]) -> Vec<u8> {
    let mut t = vec![last, 0];
    t.extend_from_slice(&((8 + attrs.len()) as u16).to_be_bytes());
    t.extend_from_slice(&[ttype, 0]);
    t.extend_from_slice(&id.to_be_bytes());
    t.extend_from_slice(attrs);
    t
}

#[test]
fn unsupported_major_version() {
    let mut m = message(0, &[]);
    m[17] = 0x10; // IKEv1
    let e = Message::parse(&m).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedVersion(0x10));
    assert_eq!(e.offset, 17);
    m[17] = 0x30;
    assert_eq!(
        Message::parse(&m).unwrap_err().kind,
        ErrorKind::UnsupportedVersion(0x30)
    );
    // Minor version is ignored on receipt (RFC 7296 section 3.1).
    m[17] = 0x21;
    assert!(Message::parse(&m).is_ok());
}

#[test]
fn message_size_budget() {
    let big = vec![0u8; 65536];
    assert_eq!(
        Message::parse(&big).unwrap_err().kind,
        ErrorKind::TooLarge { limit: 65535 }
    );
    // 65535 octets with a correct Length are fine: one Nonce of 65507.
    let n = 65535 - 28 - 4;
    let mut chain = vec![0, 0];
    chain.extend_from_slice(&((n + 4) as u16).to_be_bytes());
    chain.extend(std::iter::repeat_n(7u8, n));
    let m = message(40, &chain);
    assert_eq!(m.len(), 65535);
    let parsed = Message::parse(&m).unwrap();
    assert_eq!(parsed.encode(), m);
}

#[test]
fn payload_count_budget() {
    let chain_of = |n: usize| {
        let mut c = Vec::new();
        for i in 0..n {
            let next = if i + 1 == n { 0 } else { 43 };
            c.extend_from_slice(&[next, 0, 0, 4]);
        }
        c
    };
    assert_eq!(
        parse_payloads(PayloadType::VENDOR_ID, &chain_of(64))
            .unwrap()
            .len(),
        64
    );
    let e = parse_payloads(PayloadType::VENDOR_ID, &chain_of(65)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooMany { limit: 64 });
    assert_eq!(e.offset, 64 * 4);
    // Same budget in a whole message.
    let e = Message::parse(&message(43, &chain_of(65))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooMany { limit: 64 });
}

#[test]
fn chain_shape_errors() {
    // Trailing octets after the last payload (Next Payload 0).
    let e = parse_payloads(PayloadType::NONCE, &hex("00 00 0005 aa ff")).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::TrailingData, 5));
    // Chain says a payload follows, but the buffer ends.
    let e = parse_payloads(PayloadType::NONCE, &hex("28 00 0005 aa")).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 5));
    // Partial generic header.
    let e = parse_payloads(PayloadType::NONCE, &hex("00 00 00")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    // Payload length 0 and 3.
    for l in ["0000", "0003"] {
        let e = parse_payloads(PayloadType::NONCE, &hex(&format!("00 00 {l}"))).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::PayloadTooShort, 0));
    }
    // A first type of NONE with bytes present.
    let e = parse_payloads(PayloadType::NONE, &hex("00")).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::TrailingData, 0));
    // SK must be last: bytes after it are trailing data.
    let e = parse_payloads(PayloadType::SK, &hex("21 00 0008 01020304 2200 0004")).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::TrailingData, 8));
    // An unknown critical payload inside a decrypted chain.
    let e = parse_payloads(PayloadType::NONCE, &hex("c8 00 0004 00 80 0004")).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::UnsupportedCriticalPayload(PayloadType(200)), 4)
    );
}

#[test]
fn fixed_part_of_bodies_truncated() {
    for (t, body_len) in [
        (PayloadType::KE, 3),
        (PayloadType::IDI, 3),
        (PayloadType::AUTH, 2),
        (PayloadType::NOTIFY, 3),
        (PayloadType::DELETE, 3),
        (PayloadType::TSI, 3),
        (PayloadType::SKF, 3),
        (PayloadType::CP, 3),
        (PayloadType::CERT, 0),
    ] {
        let mut c = vec![0, 0, 0, 4 + body_len as u8];
        c.extend(std::iter::repeat_n(0u8, body_len));
        let e = parse_payloads(t, &c).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "{t:?}: {e}");
    }
}

#[test]
fn sa_proposal_budget_and_shape() {
    let t = transform(0, 1, 12, &[]);
    let props = |n: usize| {
        let mut b = Vec::new();
        for i in 0..n {
            let last = if i + 1 == n { 0 } else { 2 };
            b.extend(proposal(last, (i + 1) as u8, 1, &[], 1, &t));
        }
        b
    };
    let mut ok = vec![0, 0];
    let body = props(32);
    ok.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    ok.extend(body);
    assert_eq!(parse_payloads(PayloadType::SA, &ok).unwrap().len(), 1);
    assert_eq!(sa_err(&props(33)).kind, ErrorKind::TooMany { limit: 32 });
    // No proposal at all.
    assert_eq!(sa_err(&[]).kind, ErrorKind::Truncated);
    // Last-substructure values by position.
    let mut two = proposal(0, 1, 1, &[], 1, &t);
    two.extend(proposal(0, 2, 1, &[], 1, &t));
    let e = sa_err(&two);
    assert_eq!((e.kind, e.offset), (ErrorKind::BadLastSubstructure(0), 4));
    assert_eq!(
        sa_err(&proposal(2, 1, 1, &[], 1, &t)).kind,
        ErrorKind::BadLastSubstructure(2)
    );
    assert_eq!(
        sa_err(&proposal(1, 1, 1, &[], 1, &t)).kind,
        ErrorKind::BadLastSubstructure(1)
    );
    // Proposal length below 8 and past the payload.
    let e = sa_err(&hex("00 00 0007 01 01 00 00"));
    assert_eq!(
        e.kind,
        ErrorKind::InvalidLength {
            declared: 7,
            required: 8
        }
    );
    let e = sa_err(&hex("00 00 0010 01 01 00 00"));
    assert_eq!((e.kind, e.offset), (ErrorKind::Overrun, 4));
}

#[test]
fn proposal_spi_sizes() {
    let t = transform(0, 1, 12, &[]);
    assert_eq!(
        sa_err(&proposal(0, 1, 1, &[0; 4], 1, &t)).kind,
        ErrorKind::InvalidSpiSize(4)
    );
    assert_eq!(
        sa_err(&proposal(0, 1, 3, &[], 1, &t)).kind,
        ErrorKind::InvalidSpiSize(0)
    );
    assert_eq!(
        sa_err(&proposal(0, 1, 2, &[0; 8], 1, &t)).kind,
        ErrorKind::InvalidSpiSize(8)
    );
    // SPI size 4 declared but only 2 octets left in the proposal.
    let e = sa_err(&hex("00 00 000a 01 03 04 00 c000"));
    assert_eq!(e.kind, ErrorKind::Overrun);
    // Allowed: IKE 0 and 8, ESP 4.
    for (proto, spi) in [(1u8, &[][..]), (1, &[5; 8][..]), (3, &[5; 4][..])] {
        let body = proposal(0, 1, proto, spi, 1, &t);
        let mut c = vec![0, 0];
        c.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        c.extend(body);
        assert!(parse_payloads(PayloadType::SA, &c).is_ok());
    }
}

#[test]
fn transform_budget_count_and_shape() {
    let many = |n: usize| {
        let mut b = Vec::new();
        for i in 0..n {
            b.extend(transform(if i + 1 == n { 0 } else { 3 }, 1, 12, &[]));
        }
        b
    };
    let ok = proposal(0, 1, 1, &[], 64, &many(64));
    let mut c = vec![0, 0];
    c.extend_from_slice(&((ok.len() + 4) as u16).to_be_bytes());
    c.extend(ok);
    assert!(parse_payloads(PayloadType::SA, &c).is_ok());
    assert_eq!(
        sa_err(&proposal(0, 1, 1, &[], 65, &many(65))).kind,
        ErrorKind::TooMany { limit: 64 }
    );
    assert_eq!(
        sa_err(&proposal(0, 1, 1, &[], 3, &many(2))).kind,
        ErrorKind::CountMismatch {
            declared: 3,
            actual: 2
        }
    );
    assert_eq!(
        sa_err(&proposal(0, 1, 1, &[], 1, &many(2))).kind,
        ErrorKind::CountMismatch {
            declared: 1,
            actual: 2
        }
    );
    let mut wrong_last = transform(3, 1, 12, &[]);
    wrong_last.extend(transform(3, 2, 5, &[]));
    assert_eq!(
        sa_err(&proposal(0, 1, 1, &[], 2, &wrong_last)).kind,
        ErrorKind::BadLastSubstructure(3)
    );
    // Transform length 4 (< 8).
    assert_eq!(
        sa_err(&proposal(0, 1, 1, &[], 1, &hex("00 00 0004 01 00 000c"))).kind,
        ErrorKind::InvalidLength {
            declared: 4,
            required: 8
        }
    );
}

#[test]
fn attribute_budget_and_shape() {
    let tv = |n: usize| -> Vec<u8> { (0..n).flat_map(|_| [0x80, 0x0e, 0, 128]).collect() };
    let ok = proposal(0, 1, 1, &[], 1, &transform(0, 1, 12, &tv(16)));
    let mut c = vec![0, 0];
    c.extend_from_slice(&((ok.len() + 4) as u16).to_be_bytes());
    c.extend(ok);
    assert!(parse_payloads(PayloadType::SA, &c).is_ok());
    assert_eq!(
        sa_err(&proposal(0, 1, 1, &[], 1, &transform(0, 1, 12, &tv(17)))).kind,
        ErrorKind::TooMany { limit: 16 }
    );
    // TLV value longer than the transform.
    let e = sa_err(&proposal(
        0,
        1,
        1,
        &[],
        1,
        &transform(0, 1, 12, &hex("0001 0005 aabb")),
    ));
    assert_eq!(e.kind, ErrorKind::Overrun);
    // Half an attribute header.
    let e = sa_err(&proposal(
        0,
        1,
        1,
        &[],
        1,
        &transform(0, 1, 12, &hex("800e")),
    ));
    assert_eq!(e.kind, ErrorKind::Truncated);
}

fn ts_err(body: &str) -> Error {
    let body = hex(body);
    let mut c = vec![0, 0];
    c.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    c.extend(body);
    parse_payloads(PayloadType::TSR, &c).expect_err("must fail")
}

#[test]
fn traffic_selector_errors() {
    let one = "07 00 0010 0000 ffff 0a000000 0affffff";
    // Budget: 65 declared.
    assert_eq!(
        ts_err(&format!("41 000000 {one}")).kind,
        ErrorKind::TooMany { limit: 64 }
    );
    // 64 selectors are fine.
    let body = hex(&format!("40 000000 {}", one.repeat(64)));
    let mut c = vec![0, 0];
    c.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    c.extend(body);
    assert!(parse_payloads(PayloadType::TSR, &c).is_ok());
    // Trailing octets after the declared selectors.
    assert_eq!(
        ts_err(&format!("01 000000 {one} 00")).kind,
        ErrorKind::TrailingData
    );
    // Unknown type with selector length < 8 or past the payload.
    assert_eq!(
        ts_err("01 000000 c8 00 0004").kind,
        ErrorKind::InvalidLength {
            declared: 4,
            required: 8
        }
    );
    assert_eq!(
        ts_err("01 000000 c8 00 0010 0000 ffff").kind,
        ErrorKind::Overrun
    );
    // Type 8 with length 40 declared but only 16 present.
    assert_eq!(
        ts_err("01 000000 08 00 0028 0000 ffff 0000000000000000").kind,
        ErrorKind::Overrun
    );
}

#[test]
fn notify_and_delete_spi_rules() {
    let np = |body: &str| {
        let body = hex(body);
        let mut c = vec![0, 0];
        c.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        c.extend(body);
        c
    };
    // Notify about the IKE SA must have SPI size 0.
    let e = parse_payloads(PayloadType::NOTIFY, &np("01 08 0004 0102030405060708")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidSpiSize(8));
    // ESP notify with SPI size 4 but only 2 octets.
    let e = parse_payloads(PayloadType::NOTIFY, &np("03 04 4009 c030")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Overrun);
    // Delete IKE with SPI size 8 (case bank C09 e).
    let e = parse_payloads(PayloadType::DELETE, &np("01 08 0001 0102030405060708")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidSpiSize(8));
    // Delete ESP claiming 3 SPIs, carrying 2 (C09 f).
    let e = parse_payloads(PayloadType::DELETE, &np("03 04 0003 c0900001 c0900002")).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::CountMismatch {
            declared: 3,
            actual: 2
        }
    );
    // Delete ESP with a partial SPI.
    let e = parse_payloads(PayloadType::DELETE, &np("03 04 0001 c0900001 c0")).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::TrailingData, 12));
    // Delete IKE (size 0) with a non-zero count.
    let e = parse_payloads(PayloadType::DELETE, &np("01 00 0005")).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::CountMismatch {
            declared: 5,
            actual: 0
        }
    );
    // Delete ESP with SPI size 0.
    let e = parse_payloads(PayloadType::DELETE, &np("03 00 0000")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidSpiSize(0));
}

#[test]
fn skf_numbering() {
    for body in ["0000 0001", "0001 0000", "0003 0002"] {
        let b = hex(&format!("00 00 0008 {body}"));
        let e = parse_payloads(PayloadType::SKF, &b).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue, "{body}");
    }
    let b = hex("00 00 0008 0002 0002");
    assert!(parse_payloads(PayloadType::SKF, &b).is_ok());
}

#[test]
fn cp_attribute_errors() {
    let e = parse_payloads(PayloadType::CP, &hex("00 00 000c 01 000000 0001 0004")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Overrun);
    let e = parse_payloads(PayloadType::CP, &hex("00 00 000a 01 000000 0001")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
}

#[test]
fn try_encode_reports_unrepresentable_messages() {
    let header = Header {
        spi_i: [1; 8],
        spi_r: [0; 8],
        next_payload: PayloadType::NONE,
        version: 0x20,
        exchange: ExchangeType::INFORMATIONAL,
        flags: Flags::INITIATOR,
        message_id: 2,
        length: 0,
    };
    let big = Message {
        header: header.clone(),
        payloads: vec![Payload::new(PayloadBody::Nonce(vec![0; 70000]))],
    };
    assert_eq!(
        big.try_encode().unwrap_err().kind,
        ErrorKind::TooLarge { limit: 0xffff }
    );
    let after_sk = Message {
        header: header.clone(),
        payloads: vec![
            Payload::new(PayloadBody::Sk(Encrypted {
                first_inner: PayloadType::NONE,
                data: vec![0; 32],
            })),
            Payload::new(PayloadBody::Nonce(vec![0; 16])),
        ],
    };
    assert_eq!(
        after_sk.try_encode().unwrap_err().kind,
        ErrorKind::InvalidValue
    );
    // encode() drops what cannot follow SK: 28 + 4 + 32 octets.
    assert_eq!(after_sk.encode().len(), 64);
    // Exactly 65535 octets is fine, one more is too large.
    let fits = Message {
        header: header.clone(),
        payloads: vec![Payload::new(PayloadBody::Eap(vec![0; 65535 - 32]))],
    };
    assert_eq!(fits.try_encode().map(|b| b.len()), Ok(65535));
    let over = Message {
        header,
        payloads: vec![
            Payload::new(PayloadBody::Eap(vec![0; 65535 - 32])),
            Payload::new(PayloadBody::VendorId(vec![])),
        ],
    };
    assert_eq!(
        over.try_encode().unwrap_err().kind,
        ErrorKind::TooLarge { limit: 65535 }
    );
}

/// Deterministic mutation sweep over valid fixtures: every prefix (with the
/// header Length patched to match) and many random byte changes must give a
/// result, never a panic; every success must re-encode to a message that
/// parses to the same value.
#[test]
fn mutations_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cases");
    let mut seeds = Vec::new();
    for name in ["c01a_baseline_init.bin", "c02b_unknown_noncritical.bin"] {
        seeds.push(std::fs::read(format!("{dir}/{name}")).unwrap());
    }
    let mut state: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut checked = 0usize;
    for seed in &seeds {
        for cut in 0..seed.len() {
            let mut b = seed[..cut].to_vec();
            if b.len() >= 28 {
                let l = (b.len() as u32).to_be_bytes();
                b[24..28].copy_from_slice(&l);
            }
            check(&b);
            checked += 1;
        }
        for _ in 0..20000 {
            let mut b = seed.clone();
            let flips = 1 + (next() % 4) as usize;
            for _ in 0..flips {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            check(&b);
            let _ = parse_payloads(PayloadType(b[0]), &b);
            checked += 1;
        }
    }
    assert!(checked > 40000);
}

fn check(b: &[u8]) {
    if let Ok(m) = Message::parse(b) {
        let enc = m.encode();
        let again = Message::parse(&enc).expect("re-encoding parses");
        assert_eq!(again.payloads, m.payloads);
        assert_eq!(again.encode(), enc);
    }
}
