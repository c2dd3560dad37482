//! Messages assembled by hand from the layouts in RFC 7296 section 3 and
//! RFC 7383 section 2.5. Every expected octet string below is written out
//! field by field, with the lengths computed by hand in the comments.

use std::net::IpAddr;

use negotiator_wire::v2::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn rep(byte: u8, n: usize) -> String {
    format!("{byte:02x}").repeat(n)
}

fn ike_sa_init_struct() -> Message {
    Message {
        header: Header {
            spi_i: [1, 2, 3, 4, 5, 6, 7, 8],
            spi_r: [0; 8],
            next_payload: PayloadType::NONE, // computed on encode
            version: 0x20,
            exchange: ExchangeType::IKE_SA_INIT,
            flags: Flags::INITIATOR,
            message_id: 0,
            length: 0, // computed on encode
        },
        payloads: vec![
            Payload::new(PayloadBody::Sa(vec![Proposal {
                number: 1,
                protocol: ProtocolId::IKE,
                spi: vec![],
                transforms: vec![
                    Transform::with_key_length(TransformType::ENCR, EncrId::AES_CBC.0, 256),
                    Transform::new(TransformType::PRF, PrfId::HMAC_SHA2_256.0),
                    Transform::new(TransformType::INTEG, IntegId::HMAC_SHA2_256_128.0),
                    Transform::new(TransformType::KE, KeId::ECP_256.0),
                ],
            }])),
            Payload::new(PayloadBody::Ke(KeyExchange {
                group: 19,
                data: vec![0xaa; 64],
            })),
            Payload::new(PayloadBody::Nonce(vec![0x11; 32])),
            Payload::new(PayloadBody::Notify(Notify::new(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                vec![0x22; 20],
            ))),
        ],
    }
}

/// Transform ENCR with Key Length: 8 + 4 = 12; three plain transforms of 8:
/// 36 in all. Proposal 8 + 36 = 44 (0x2c). SA payload 4 + 44 = 48 (0x30).
/// KE 4 + 4 + 64 = 72 (0x48). Nonce 4 + 32 = 36 (0x24). Notify 4 + 4 + 20 =
/// 28 (0x1c). Message 28 + 48 + 72 + 36 + 28 = 212 (0xd4).
fn ike_sa_init_bytes() -> Vec<u8> {
    hex(&[
        // IKE header: SPIi, SPIr, next=SA(33), ver 2.0, IKE_SA_INIT(34), I, MID 0, len 212
        "0102030405060708 0000000000000000 21 20 22 08 00000000 000000d4",
        // SA: next=KE(34), flags 0, len 48
        "22 00 0030",
        // Proposal: last(0) rsv len=44 #1 IKE spi_size 0 4 transforms
        "00 00 002c 01 01 00 04",
        // ENCR AES_CBC(12) with TV Key Length (0x800e) = 256
        "03 00 000c 01 00 000c 800e 0100",
        // PRF HMAC_SHA2_256 (5)
        "03 00 0008 02 00 0005",
        // INTEG HMAC_SHA2_256_128 (12)
        "03 00 0008 03 00 000c",
        // KE ECP_256 (19), last transform
        "00 00 0008 04 00 0013",
        // KE payload: next=Nonce(40), len 72, group 19, reserved
        "28 00 0048 0013 0000",
        &rep(0xaa, 64),
        // Nonce: next=Notify(41), len 36
        "29 00 0024",
        &rep(0x11, 32),
        // Notify: last, len 28, protocol 0, SPI size 0, type 16388
        "00 00 001c 00 00 4004",
        &rep(0x22, 20),
    ]
    .concat())
}

#[test]
fn ike_sa_init_encodes_to_hand_built_bytes() {
    let m = ike_sa_init_struct();
    let bytes = ike_sa_init_bytes();
    assert_eq!(bytes.len(), 212);
    assert_eq!(m.encode(), bytes);
    assert_eq!(m.try_encode(), Ok(bytes));
}

#[test]
fn ike_sa_init_parses_to_struct() {
    let mut expected = ike_sa_init_struct();
    expected.header.next_payload = PayloadType::SA;
    expected.header.length = 212;
    assert_eq!(Message::parse(&ike_sa_init_bytes()), Ok(expected));
}

#[test]
fn header_parse_and_encode() {
    let bytes = ike_sa_init_bytes();
    let h = Header::parse(&bytes).unwrap();
    assert_eq!(h.next_payload, PayloadType::SA);
    assert_eq!(h.length, 212);
    assert_eq!(h.major_version(), 2);
    let mut out = Vec::new();
    h.encode(&mut out);
    assert_eq!(out, bytes[..Header::LEN]);
    // Demultiplexing: Header::parse ignores the datagram size and version.
    let mut v1 = bytes[..28].to_vec();
    v1[17] = 0x10;
    assert_eq!(Header::parse(&v1).unwrap().version, 0x10);
}

/// IDi(FQDN "a.lab.example") AUTH(PSK) SA(ESP) TSi TSr CP N(INITIAL_CONTACT)
fn ike_auth_inner_struct() -> Vec<Payload> {
    vec![
        Payload::new(PayloadBody::IdI(Identification {
            id_type: IdType::FQDN,
            data: b"a.lab.example".to_vec(),
        })),
        Payload::new(PayloadBody::Auth(Authentication {
            method: AuthMethod::SHARED_KEY_MIC,
            data: vec![0x33; 32],
        })),
        Payload::new(PayloadBody::Cp(Configuration {
            cfg_type: Configuration::REQUEST,
            attributes: vec![
                ConfigAttribute {
                    attr_type: ConfigAttribute::INTERNAL_IP4_ADDRESS,
                    value: vec![],
                },
                ConfigAttribute {
                    attr_type: ConfigAttribute::INTERNAL_IP4_DNS,
                    value: vec![192, 0, 2, 53],
                },
            ],
        })),
        Payload::new(PayloadBody::Notify(Notify::new(
            NotifyType::INITIAL_CONTACT,
            vec![],
        ))),
        Payload::new(PayloadBody::Sa(vec![Proposal {
            number: 1,
            protocol: ProtocolId::ESP,
            spi: vec![0xc0, 0, 0, 1],
            transforms: vec![
                Transform::with_key_length(TransformType::ENCR, EncrId::AES_GCM_16.0, 128),
                Transform::new(TransformType::ESN, EsnId::NO_ESN.0),
            ],
        }])),
        Payload::new(PayloadBody::TsI(vec![TrafficSelector::from_range(
            0,
            (0, 65535),
            "198.51.100.0".parse().unwrap(),
            "198.51.100.15".parse().unwrap(),
        )])),
        Payload::new(PayloadBody::TsR(vec![TrafficSelector::from_range(
            6,
            (443, 443),
            "2001:db8::".parse().unwrap(),
            "2001:db8::ffff".parse().unwrap(),
        )])),
    ]
}

fn ike_auth_inner_bytes() -> Vec<u8> {
    hex(&[
        // IDi: next=AUTH(39), len 4+4+13=21, FQDN, reserved, "a.lab.example"
        "27 00 0015 02 000000 612e6c61622e6578616d706c65",
        // AUTH: next=CP(47), len 4+4+32=40, method 2
        "2f 00 0028 02 000000",
        &rep(0x33, 32),
        // CP: next=N(41), len 4+4+4+8=20, CFG_REQUEST; attr 1 len 0; attr 3 len 4
        "29 00 0014 01 000000 0001 0000 0003 0004 c0000235",
        // N: next=SA(33), len 8, proto 0, SPI size 0, INITIAL_CONTACT (16384)
        "21 00 0008 00 00 4000",
        // SA: next=TSi(44), len 4+8+4+12+8=36
        "2c 00 0024",
        // Proposal: last, len 32, #1, ESP(3), SPI size 4, 2 transforms, SPI
        "00 00 0020 01 03 04 02 c0000001",
        // ENCR AES_GCM_16(20), key length 128
        "03 00 000c 01 00 0014 800e 0080",
        // ESN none, last
        "00 00 0008 05 00 0000",
        // TSi: next=TSr(45), len 4+4+16=24, 1 TS; IPv4 range, any proto, len 16
        "2d 00 0018 01 000000 07 00 0010 0000 ffff c6336400 c633640f",
        // TSr: last, len 4+4+40=48, 1 TS; IPv6 range, TCP, len 40, port 443
        "00 00 0030 01 000000 08 06 0028 01bb 01bb",
        "20010db8000000000000000000000000 20010db800000000000000000000ffff",
    ]
    .concat())
}

#[test]
fn ike_auth_inner_chain_round_trip() {
    let p = ike_auth_inner_struct();
    let bytes = ike_auth_inner_bytes();
    let mut out = Vec::new();
    assert_eq!(encode_payloads(&p, &mut out), PayloadType::IDI);
    assert_eq!(out, bytes);
    assert_eq!(parse_payloads(PayloadType::IDI, &bytes), Ok(p));
}

#[test]
fn identification_body_bytes_match_strongswan_idx() {
    // charon logged IDx' = 02000000612e6c61622e6578616d706c65 for
    // FQDN a.lab.example (tests/data/strongswan/ikev2-psk.charon-dumps.txt).
    let id = Identification {
        id_type: IdType::FQDN,
        data: b"a.lab.example".to_vec(),
    };
    assert_eq!(id.body_bytes(), hex("02000000612e6c61622e6578616d706c65"));
}

#[test]
fn informational_with_sk_payload() {
    let m = Message {
        header: Header {
            spi_i: [0xaa; 8],
            spi_r: [0xbb; 8],
            next_payload: PayloadType::NONE,
            version: 0x20,
            exchange: ExchangeType::INFORMATIONAL,
            flags: Flags::INITIATOR | Flags::RESPONSE,
            message_id: 7,
            length: 0,
        },
        payloads: vec![Payload::new(PayloadBody::Sk(Encrypted {
            first_inner: PayloadType::DELETE,
            data: vec![0x44; 48],
        }))],
    };
    let bytes = hex(&[
        // next=SK(46), INFORMATIONAL(37), flags I|R, MID 7, len 28+4+48=80
        &rep(0xaa, 8),
        &rep(0xbb, 8),
        "2e 20 25 28 00000007 00000050",
        // SK: next = first inner (Delete, 42), len 52
        "2a 00 0034",
        &rep(0x44, 48),
    ]
    .concat());
    assert_eq!(m.encode(), bytes);
    let parsed = Message::parse(&bytes).unwrap();
    assert_eq!(parsed.payloads, m.payloads);
    assert_eq!(parsed.header.next_payload, PayloadType::SK);
}

#[test]
fn delete_payloads_inner_chain() {
    let p = vec![
        Payload::new(PayloadBody::Delete(Delete {
            protocol: ProtocolId::ESP,
            spi_size: 4,
            spis: vec![vec![0xc0, 0x90, 0, 1], vec![0xc0, 0x90, 0, 2]],
        })),
        Payload::new(PayloadBody::Delete(Delete {
            protocol: ProtocolId::IKE,
            spi_size: 0,
            spis: vec![],
        })),
    ];
    let bytes = hex(
        // D(ESP): next=D(42), len 4+4+8=16, ESP, SPI size 4, 2 SPIs
        "2a 00 0010 03 04 0002 c0900001 c0900002 \
         00 00 0008 01 00 0000", // D(IKE): last, len 8, IKE, size 0, 0 SPIs
    );
    let mut out = Vec::new();
    assert_eq!(encode_payloads(&p, &mut out), PayloadType::DELETE);
    assert_eq!(out, bytes);
    assert_eq!(parse_payloads(PayloadType::DELETE, &bytes), Ok(p));
}

#[test]
fn skf_fragment_round_trip() {
    let m = Message {
        header: Header {
            spi_i: [1; 8],
            spi_r: [2; 8],
            next_payload: PayloadType::NONE,
            version: 0x20,
            exchange: ExchangeType::IKE_AUTH,
            flags: Flags::INITIATOR,
            message_id: 1,
            length: 0,
        },
        payloads: vec![Payload::new(PayloadBody::Skf(EncryptedFragment {
            first_inner: PayloadType::IDI,
            number: 1,
            total: 3,
            data: vec![0x55; 32],
        }))],
    };
    let bytes = hex(&[
        &rep(0x01, 8),
        &rep(0x02, 8),
        // next=SKF(53), IKE_AUTH(35), I, MID 1, len 28+4+4+32 = 68
        "35 20 23 08 00000001 00000044",
        // SKF: next=IDi(35), len 40, fragment 1 of 3
        "23 00 0028 0001 0003",
        &rep(0x55, 32),
    ]
    .concat());
    assert_eq!(m.encode(), bytes);
    assert_eq!(Message::parse(&bytes).unwrap().payloads, m.payloads);
}

#[test]
fn tlv_attribute_and_unknown_transform_round_trip() {
    let p = vec![Payload::new(PayloadBody::Sa(vec![
        Proposal {
            number: 1,
            protocol: ProtocolId::IKE,
            spi: vec![9; 8],
            transforms: vec![Transform {
                transform_type: TransformType(200),
                id: 0x1234,
                attributes: vec![
                    Attribute {
                        attr_type: 0x0100,
                        value: AttributeValue::Long(vec![1, 2, 3]),
                    },
                    Attribute {
                        attr_type: Attribute::KEY_LENGTH,
                        value: AttributeValue::Short(192),
                    },
                ],
            }],
        },
        Proposal {
            number: 2,
            protocol: ProtocolId(9),
            spi: vec![],
            transforms: vec![],
        },
    ]))];
    let bytes = hex(
        // SA: last, len 4 + 35 + 8 = 47; proposal 1: 8 + 8 (SPI) + 19 = 35;
        // transform: 8 + TLV (4 + 3) + TV 4 = 19
        "00 00 002f \
         02 00 0023 01 01 08 01 0909090909090909 \
         00 00 0013 c8 00 1234 0100 0003 010203 800e 00c0 \
         00 00 0008 02 09 00 00",
    );
    let mut out = Vec::new();
    encode_payloads(&p, &mut out);
    assert_eq!(out, bytes);
    let parsed = parse_payloads(PayloadType::SA, &bytes).unwrap();
    assert_eq!(parsed, p);
    let PayloadBody::Sa(props) = &parsed[0].body else {
        panic!()
    };
    assert_eq!(props[0].transforms[0].key_length(), Some(192));
}

#[test]
fn unknown_type_selector_keeps_raw_remainder() {
    // TS type 200, length 12: ports then 4 raw octets.
    let bytes = hex("00 00 0014 01 000000 c8 11 000c 0035 0035 deadbeef");
    let p = parse_payloads(PayloadType::TSI, &bytes).unwrap();
    let expected = TrafficSelector {
        ts_type: TsType(200),
        ip_protocol: 17,
        start_port: 53,
        end_port: 53,
        start_addr: vec![0xde, 0xad, 0xbe, 0xef],
        end_addr: vec![],
    };
    assert_eq!(p[0].body, PayloadBody::TsI(vec![expected.clone()]));
    assert_eq!(expected.addr_range(), None);
    let mut out = Vec::new();
    encode_payloads(&p, &mut out);
    assert_eq!(out, bytes);
}

#[test]
fn traffic_selector_from_range_and_back() {
    let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
    let ts = TrafficSelector::from_range(17, (500, 4500), v4("10.0.0.1"), v4("10.0.0.9"));
    assert_eq!(ts.ts_type, TsType::IPV4_ADDR_RANGE);
    assert_eq!(ts.start_addr, [10, 0, 0, 1]);
    assert_eq!(ts.end_addr, [10, 0, 0, 9]);
    assert_eq!(ts.addr_range(), Some((v4("10.0.0.1"), v4("10.0.0.9"))));
    // Mixed families: the family of `start` wins and the range never widens.
    let mixed = TrafficSelector::from_range(0, (0, 65535), v4("10.0.0.1"), v4("2001:db8::1"));
    assert_eq!(mixed.addr_range(), Some((v4("10.0.0.1"), v4("10.0.0.1"))));
    let mapped =
        TrafficSelector::from_range(0, (0, 65535), v4("10.0.0.1"), v4("::ffff:10.0.0.200"));
    assert_eq!(
        mapped.addr_range(),
        Some((v4("10.0.0.1"), v4("10.0.0.200")))
    );
    let v6first = TrafficSelector::from_range(0, (0, 65535), v4("2001:db8::1"), v4("10.0.0.1"));
    assert_eq!(v6first.ts_type, TsType::IPV6_ADDR_RANGE);
    assert_eq!(
        v6first.addr_range(),
        Some((v4("2001:db8::1"), v4("2001:db8::1")))
    );
    // Wrong address sizes give None rather than a panic.
    let mut bad = ts.clone();
    bad.end_addr.pop();
    assert_eq!(bad.addr_range(), None);
}

#[test]
fn critical_bit_of_known_payload_written_back() {
    let p = vec![Payload {
        critical: true,
        body: PayloadBody::VendorId(b"abc".to_vec()),
    }];
    let mut out = Vec::new();
    encode_payloads(&p, &mut out);
    assert_eq!(out, hex("00 80 0007 616263"));
    assert_eq!(parse_payloads(PayloadType::VENDOR_ID, &out), Ok(p));
}

#[test]
fn empty_chain() {
    let mut out = Vec::new();
    assert_eq!(encode_payloads(&[], &mut out), PayloadType::NONE);
    assert!(out.is_empty());
    assert_eq!(parse_payloads(PayloadType::NONE, &[]), Ok(vec![]));
}
