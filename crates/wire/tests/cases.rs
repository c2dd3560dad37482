//! Case bank C01, C02, C03, C05 (see /work/shared/cases/README.md): the
//! behaviour each case requires at the codec level. Offsets and lengths below
//! were read from the case MANIFESTs and `xxd` dumps of the files.

use negotiator_wire::v2::*;

fn case(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/cases/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("missing case file {path}: {e}"))
}

fn payload_types(m: &[Payload]) -> Vec<PayloadType> {
    m.iter().map(Payload::payload_type).collect()
}

/// c01a layout: HDR(28) SA(48) KE(72) Ni(36) = 184 octets; the Nonce payload
/// starts at offset 148.
const C01_NONCE_OFFSET: usize = 28 + 48 + 72;

#[test]
fn c01a_baseline_parses_and_round_trips() {
    let b = case("c01a_baseline_init.bin");
    assert_eq!(b.len(), 184);
    let m = Message::parse(&b).expect("c01a must parse");
    assert_eq!(
        m.header.spi_i,
        [0xc0, 0x1c, 0x01, 0xc0, 0x1c, 0x01, 0xc0, 0x01]
    );
    assert_eq!(m.header.spi_r, [0; 8]);
    assert_eq!(m.header.exchange, ExchangeType::IKE_SA_INIT);
    assert_eq!(m.header.flags, Flags::INITIATOR);
    assert_eq!(m.header.length, 184);
    assert_eq!(
        payload_types(&m.payloads),
        [PayloadType::SA, PayloadType::KE, PayloadType::NONCE]
    );
    match &m.payloads[1].body {
        PayloadBody::Ke(ke) => {
            assert_eq!(ke.group, KeId::ECP_256.0);
            assert_eq!(ke.data.len(), 64);
        }
        other => panic!("expected KE, got {other:?}"),
    }
    match &m.payloads[0].body {
        PayloadBody::Sa(p) => {
            assert_eq!(p.len(), 1);
            assert_eq!(p[0].protocol, ProtocolId::IKE);
            assert!(p[0].spi.is_empty());
            let t = &p[0].transforms;
            assert_eq!(t.len(), 4);
            assert_eq!(t[0].transform_type, TransformType::ENCR);
            assert_eq!(t[0].id, EncrId::AES_CBC.0);
            assert_eq!(t[0].key_length(), Some(128));
            assert_eq!(t[1].transform_type, TransformType::PRF);
            assert_eq!(t[1].id, PrfId::HMAC_SHA2_256.0);
            assert_eq!(t[2].transform_type, TransformType::INTEG);
            assert_eq!(t[2].id, IntegId::HMAC_SHA2_256_128.0);
            assert_eq!(t[3].transform_type, TransformType::KE);
            assert_eq!(t[3].id, KeId::ECP_256.0);
        }
        other => panic!("expected SA, got {other:?}"),
    }
    assert_eq!(m.encode(), b);
}

fn expect_err(name: &str, kind: ErrorKind, offset: usize) -> Error {
    let b = case(name);
    let e = Message::parse(&b).expect_err(name);
    assert_eq!(e.kind, kind, "{name}: {e}");
    assert_eq!(e.offset, offset, "{name}: {e}");
    e
}

#[test]
fn c01_header_length_disagreements_are_rejected() {
    let mm = |declared, actual| ErrorKind::LengthMismatch { declared, actual };
    expect_err("c01b_hdr28_len1000.bin", mm(1000, 28), 24);
    expect_err("c01c_full_len_plus_100.bin", mm(284, 184), 24);
    expect_err("c01d_full_len_28.bin", mm(28, 184), 24);
    expect_err("c01e_len_20.bin", mm(20, 184), 24);
}

#[test]
fn c01f_short_datagram_is_truncated() {
    let b = case("c01f_truncated_27.bin");
    assert_eq!(b.len(), 27);
    let e = Message::parse(&b).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert!(e.offset <= 27);
    // Header::parse (demultiplexing) refuses it too.
    assert_eq!(Header::parse(&b).unwrap_err().kind, ErrorKind::Truncated);
}

#[test]
fn c01g_payload_overrun_is_rejected() {
    let e = expect_err(
        "c01g_payload_overrun.bin",
        ErrorKind::Overrun,
        C01_NONCE_OFFSET,
    );
    assert_eq!(e.context, "Nonce payload");
    assert_eq!(
        e.to_string(),
        "IKEv2 Nonce payload at offset 148: length runs past the enclosing structure"
    );
}

#[test]
fn c01h_payload_length_below_header_is_rejected() {
    expect_err(
        "c01h_payload_len_2.bin",
        ErrorKind::PayloadTooShort,
        C01_NONCE_OFFSET,
    );
}

#[test]
fn c02a_unknown_critical_payload_rejects_message() {
    // Unknown payload (type 100) follows the Nonce at offset 184.
    let e = expect_err(
        "c02a_unknown_critical.bin",
        ErrorKind::UnsupportedCriticalPayload(PayloadType(100)),
        184,
    );
    assert_eq!(
        e.kind,
        ErrorKind::UnsupportedCriticalPayload(PayloadType(100))
    );
}

#[test]
fn c02c_unknown_critical_first_payload_rejects_message() {
    let b = case("c02c_unknown_critical_first.bin");
    assert_eq!(b.get(16), Some(&100u8), "header names type 100 first");
    expect_err(
        "c02c_unknown_critical_first.bin",
        ErrorKind::UnsupportedCriticalPayload(PayloadType(100)),
        28,
    );
}

#[test]
fn c02b_unknown_noncritical_payload_is_kept_and_round_trips() {
    let b = case("c02b_unknown_noncritical.bin");
    let m = Message::parse(&b).expect("c02b parses");
    assert_eq!(
        payload_types(&m.payloads),
        [
            PayloadType::SA,
            PayloadType::KE,
            PayloadType::NONCE,
            PayloadType(100)
        ]
    );
    let last = m.payloads.last().unwrap();
    assert!(!last.critical);
    assert_eq!(
        last.body,
        PayloadBody::Unknown {
            payload_type: PayloadType(100),
            data: vec![0xde, 0xad, 0xbe, 0xef]
        }
    );
    assert_eq!(m.encode(), b);
}

#[test]
fn c02d_known_payload_with_critical_bit_is_accepted_and_round_trips() {
    let b = case("c02d_known_with_critical.bin");
    let m = Message::parse(&b).expect("c02d parses");
    let nonce = &m.payloads[2];
    assert_eq!(nonce.payload_type(), PayloadType::NONCE);
    assert!(nonce.critical, "C bit kept as received");
    assert_eq!(m.encode(), b);
}

#[test]
fn c02e_reserved_flag_bit_is_ignored() {
    let b = case("c02e_unknown_reserved_lowbit.bin");
    let m = Message::parse(&b).expect("c02e parses: 0x01 is reserved, not C");
    let last = m.payloads.last().unwrap();
    assert!(!last.critical);
    assert_eq!(last.payload_type(), PayloadType(100));
    // Reserved bits are sent as zero (RFC 7296 section 3.2), so the
    // re-encoding differs from the input in exactly that flags octet (185).
    let mut expected = b.clone();
    assert_eq!(expected[185], 0x01);
    expected[185] = 0x00;
    let enc = m.encode();
    assert_eq!(enc, expected);
    // Semantic round trip, and the re-encoding equals c02b's bytes.
    assert_eq!(Message::parse(&enc).unwrap(), m);
    assert_eq!(enc, case("c02b_unknown_noncritical.bin"));
}

#[test]
fn c02z_expected_response_shape_parses() {
    let b = case("c02z_expected_response_shape.bin");
    let m = Message::parse(&b).expect("c02z parses");
    assert!(m.header.flags.is_response());
    assert_eq!(
        m.payloads,
        vec![Payload::new(PayloadBody::Notify(Notify::new(
            NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
            vec![100]
        )))]
    );
    assert_eq!(m.encode(), b);
}

/// C03 inner chains: N(REKEY_SA) SA Ni TSi TSr, first inner payload 41. The
/// TSi payload starts at offset 92 and its first selector at 100.
const C03_TS_OFFSET: usize = 100;

#[test]
fn c03a_valid_selector_parses_and_round_trips() {
    let b = case("c03a_ok_sel16.bin");
    let p = parse_payloads(PayloadType::NOTIFY, &b).expect("c03a parses");
    assert_eq!(
        payload_types(&p),
        [
            PayloadType::NOTIFY,
            PayloadType::SA,
            PayloadType::NONCE,
            PayloadType::TSI,
            PayloadType::TSR
        ]
    );
    match &p[0].body {
        PayloadBody::Notify(n) => {
            assert_eq!(n.notify_type, NotifyType::REKEY_SA);
            assert_eq!(n.protocol, ProtocolId::ESP);
            assert_eq!(n.spi, [0xc0, 0x30, 0x00, 0x01]);
        }
        other => panic!("{other:?}"),
    }
    let expected_ts = TrafficSelector::from_range(
        0,
        (0, 65535),
        "10.1.0.0".parse().unwrap(),
        "10.1.255.255".parse().unwrap(),
    );
    assert_eq!(p[3].body, PayloadBody::TsI(vec![expected_ts]));
    let mut out = Vec::new();
    assert_eq!(encode_payloads(&p, &mut out), PayloadType::NOTIFY);
    assert_eq!(out, b);
}

fn c03_err(name: &str) -> Error {
    let b = case(name);
    let e = parse_payloads(PayloadType::NOTIFY, &b).expect_err(name);
    assert!(
        e.offset >= C03_TS_OFFSET - 8 && e.offset < b.len(),
        "{name}: error must point into TSi: {e}"
    );
    e
}

#[test]
fn c03_wrong_selector_lengths_are_syntax_errors() {
    for (name, declared) in [
        ("c03b_sel12.bin", 12),
        ("c03c_sel24.bin", 24),
        ("c03d_sel0.bin", 0),
        ("c03e_sel65535.bin", 65535),
    ] {
        let e = c03_err(name);
        assert_eq!(
            e.kind,
            ErrorKind::InvalidLength {
                declared,
                required: 16
            },
            "{name}"
        );
        assert_eq!(e.offset, C03_TS_OFFSET, "{name}");
        assert_eq!(e.context, "traffic selector length");
    }
    let e = c03_err("c03g_ipv6_sel16.bin");
    assert_eq!(
        e.kind,
        ErrorKind::InvalidLength {
            declared: 16,
            required: 40
        }
    );
}

#[test]
fn c03f_missing_selector_is_truncated() {
    let e = c03_err("c03f_count2_present1.bin");
    assert_eq!(e.kind, ErrorKind::Truncated);
    // The second selector would start after the first one (100 + 16).
    assert_eq!(e.offset, C03_TS_OFFSET + 16);
}

#[test]
fn c03h_start_after_end_is_not_a_parse_error() {
    let b = case("c03h_start_gt_end.bin");
    let p = parse_payloads(PayloadType::NOTIFY, &b).expect("semantic, not syntax");
    match &p[3].body {
        PayloadBody::TsI(ts) => {
            let (s, e) = ts[0].addr_range().unwrap();
            assert_eq!(s, "10.1.255.255".parse::<std::net::IpAddr>().unwrap());
            assert_eq!(e, "10.1.0.0".parse::<std::net::IpAddr>().unwrap());
        }
        other => panic!("{other:?}"),
    }
    let mut out = Vec::new();
    encode_payloads(&p, &mut out);
    assert_eq!(out, b);
}

fn nonce_of(m: &Message) -> &[u8] {
    m.payloads
        .iter()
        .find_map(|p| match &p.body {
            PayloadBody::Nonce(n) => Some(n.as_slice()),
            _ => None,
        })
        .expect("nonce present")
}

#[test]
fn c05_nonce_lengths_are_visible_as_received() {
    for (name, size, nonce_len) in [
        ("c05a_ni0.bin", 152, 0),
        ("c05b_ni4.bin", 156, 4),
        ("c05c_ni15.bin", 167, 15),
        ("c05d_ni16.bin", 168, 16),
        ("c05e_ni256.bin", 408, 256),
        ("c05f_ni257.bin", 409, 257),
        ("c05g_ni1000.bin", 1152, 1000),
    ] {
        let b = case(name);
        assert_eq!(b.len(), size, "{name}");
        let m = Message::parse(&b).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(nonce_of(&m).len(), nonce_len, "{name}");
        assert_eq!(m.encode(), b, "{name} round trip");
    }
}

#[test]
fn c05h_inner_chain_nonce_of_seven_octets() {
    let b = case("c05h_inner_ccsa_ni7.inner");
    let p = parse_payloads(PayloadType::NOTIFY, &b).expect("c05h parses");
    let n = p
        .iter()
        .find_map(|p| match &p.body {
            PayloadBody::Nonce(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(n, b"ZZZZZZZ");
    let mut out = Vec::new();
    encode_payloads(&p, &mut out);
    assert_eq!(out, b);
}
