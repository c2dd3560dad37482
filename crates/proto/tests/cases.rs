//! The case bank (`shared/cases`, copied to `tests/data/cases`) at the protocol level: what a
//! responder sends back, what state it keeps, for inputs that broke other implementations.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use negotiator_crypto::{Encr, Group, Integ, Prf, default_provider};
use negotiator_proto::{Endpoint, Event, IkeProposal};
use negotiator_wire::v2::{
    ExchangeType, Flags, Header, Message, NotifyType, PayloadBody, PayloadType,
};

fn case(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cases")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A responder configured for what the case bank's IKE_SA_INIT requests offer:
/// AES-CBC-128 / HMAC-SHA2-256-128 / PRF-HMAC-SHA2-256 / group 19.
fn responder() -> Endpoint {
    let (_, mut b) = psk_configs(b"k", b"k");
    b.ike_proposals = vec![IkeProposal {
        encr: vec![Encr::AesCbc128],
        integ: vec![Integ::HmacSha256_128],
        prf: vec![Prf::HmacSha256],
        groups: vec![Group::Ecp256],
    }];
    Endpoint::new(
        Arc::new(b),
        default_provider(),
        (Instant::now(), 1_780_000_000),
    )
    .unwrap()
}

fn feed(ep: &mut Endpoint, data: &[u8]) -> Vec<Vec<u8>> {
    let mut spis = Spis(Default::default(), 9);
    ep.handle_datagram(Instant::now(), B, A, data, &mut spis);
    let mut out = Vec::new();
    while let Some(t) = ep.poll_transmit() {
        out.push(t.data);
    }
    out
}

fn notifies(m: &Message) -> Vec<(NotifyType, Vec<u8>)> {
    m.payloads
        .iter()
        .filter_map(|p| match &p.body {
            PayloadBody::Notify(n) => Some((n.notify_type, n.data.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn c01_length_mismatches_get_no_reply_and_leave_no_state() {
    let mut ep = responder();
    let ok = feed(&mut ep, &case("c01a_baseline_init.bin"));
    // c01a carries an all-zero KE value (not a point on P-256), so the responder refuses it
    // with INVALID_SYNTAX and keeps no state; what matters is that it was processed.
    assert_eq!(ok.len(), 1, "c01a is processed and answered");
    assert_eq!(ep.half_open(), 0);
    for name in [
        "c01b_hdr28_len1000.bin",
        "c01c_full_len_plus_100.bin",
        "c01d_full_len_28.bin",
        "c01e_len_20.bin",
        "c01f_truncated_27.bin",
        "c01g_payload_overrun.bin",
        "c01h_payload_len_2.bin",
    ] {
        let out = feed(&mut ep, &case(name));
        assert!(out.is_empty(), "{name}: no reply");
        assert_eq!(ep.half_open(), 0, "{name}: no half-open SA");
        assert!(ep.is_empty(), "{name}: no state");
    }
}

#[test]
fn c02_unknown_critical_payload_is_answered_with_its_type() {
    let expected = Message::parse(&case("c02z_expected_response_shape.bin")).unwrap();
    for name in [
        "c02a_unknown_critical.bin",
        "c02c_unknown_critical_first.bin",
    ] {
        let mut ep = responder();
        let req = case(name);
        let out = feed(&mut ep, &req);
        assert_eq!(out.len(), 1, "{name}");
        let m = Message::parse(&out[0]).unwrap();
        assert!(m.header.flags.is_response() && !m.header.flags.is_initiator());
        assert_eq!(m.header.exchange, ExchangeType::IKE_SA_INIT);
        assert_eq!(m.header.spi_i, Header::parse(&req).unwrap().spi_i);
        assert_eq!(m.header.spi_r, [0; 8], "no IKE SA was created");
        assert_eq!(
            notifies(&m),
            vec![(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, vec![100])]
        );
        assert_eq!(notifies(&m), notifies(&expected), "same shape as c02z");
        assert!(ep.is_empty());
    }
    // Not critical, or a known payload with the bit: processed like c01a (the all-zero KE
    // value is then refused with INVALID_SYNTAX, not with UNSUPPORTED_CRITICAL_PAYLOAD).
    for name in [
        "c02b_unknown_noncritical.bin",
        "c02d_known_with_critical.bin",
        "c02e_unknown_reserved_lowbit.bin",
    ] {
        let mut ep = responder();
        let out = feed(&mut ep, &case(name));
        assert_eq!(out.len(), 1, "{name}");
        let m = Message::parse(&out[0]).unwrap();
        let n = notifies(&m);
        assert!(
            !n.iter()
                .any(|(t, _)| *t == NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD),
            "{name}: {n:?}"
        );
    }
}

#[test]
fn c05_nonce_lengths_outside_16_to_256_are_refused() {
    for (name, accepted) in [
        ("c05a_ni0.bin", false),
        ("c05b_ni4.bin", false),
        ("c05c_ni15.bin", false),
        ("c05d_ni16.bin", true),
        ("c05e_ni256.bin", true),
        ("c05f_ni257.bin", false),
        ("c05g_ni1000.bin", false),
    ] {
        let mut ep = responder();
        let out = feed(&mut ep, &case(name));
        assert_eq!(out.len(), 1, "{name}");
        let m = Message::parse(&out[0]).unwrap();
        let n = notifies(&m);
        let syntax = n.iter().any(|(t, _)| *t == NotifyType::INVALID_SYNTAX);
        if accepted {
            // The nonce passes; the request then fails only on its all-zero KE value.
            assert!(ep.is_empty(), "{name}");
        } else {
            assert!(syntax, "{name}: {n:?}");
            assert!(ep.is_empty(), "{name}");
        }
    }
}

fn established_pair() -> Pair {
    let (a, b) = psk_configs(b"k", b"k");
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events), 1);
    p
}

#[test]
fn c05h_short_nonce_in_create_child_sa_gets_encrypted_invalid_syntax() {
    let mut p = established_pair();
    let id = p.a.ike_sas()[0].id;
    let inner = case("c05h_inner_ccsa_ni7.inner");
    p.a.send_raw_request(
        p.now,
        id,
        ExchangeType::CREATE_CHILD_SA,
        PayloadType::NOTIFY,
        inner,
    )
    .unwrap();
    p.drive(|_, _| false);
    let resp = p.a.take_raw_response(id).expect("an encrypted response");
    let m = Message {
        header: Message::parse(&p.b_sent[2]).unwrap().header,
        payloads: resp,
    };
    assert_eq!(notifies(&m), vec![(NotifyType::INVALID_SYNTAX, vec![])]);
    assert_eq!(p.b.len(), 1, "the IKE SA stays up");
}

#[test]
fn c03_bad_selector_lengths_in_create_child_sa_get_invalid_syntax() {
    for name in [
        "c03b_sel12.bin",
        "c03c_sel24.bin",
        "c03d_sel0.bin",
        "c03e_sel65535.bin",
        "c03f_count2_present1.bin",
        "c03g_ipv6_sel16.bin",
    ] {
        let mut p = established_pair();
        let id = p.a.ike_sas()[0].id;
        p.a.send_raw_request(
            p.now,
            id,
            ExchangeType::CREATE_CHILD_SA,
            PayloadType::NOTIFY,
            case(name),
        )
        .unwrap();
        p.drive(|_, _| false);
        let resp =
            p.a.take_raw_response(id)
                .unwrap_or_else(|| panic!("{name}: no response"));
        let m = Message {
            header: Message::parse(&p.b_sent[2]).unwrap().header,
            payloads: resp,
        };
        assert_eq!(
            notifies(&m),
            vec![(NotifyType::INVALID_SYNTAX, vec![])],
            "{name}"
        );
        assert_eq!(p.b.len(), 1, "{name}: the IKE SA stays up");
        // ... and keeps working: a liveness check is answered.
        p.a.liveness_check(p.now, id).unwrap();
        p.drive(|_, _| false);
        assert_eq!(p.a.len(), 1, "{name}");
        assert!(
            !p.a_events
                .iter()
                .any(|e| matches!(e, Event::IkeSaFailed { .. })),
            "{name}"
        );
    }
}

#[test]
fn c09_several_deletes_in_one_informational() {
    // (file, IKE SA deleted on the responder, response expected)
    for (name, ike_deleted) in [
        ("c09a_esp_then_ike.bin", true),
        ("c09b_ike_then_esp.bin", true),
        ("c09c_esp2_then_ike.bin", true),
        ("c09d_two_ike.bin", true),
        ("c09e_ike_spisize8.bin", false),
        ("c09f_esp_count3_present2.bin", false),
        ("c09g_esp_unknown_spi.bin", false),
    ] {
        let mut p = established_pair();
        let id = p.a.ike_sas()[0].id;
        p.a.send_raw_request(
            p.now,
            id,
            ExchangeType::INFORMATIONAL,
            PayloadType::DELETE,
            case(name),
        )
        .unwrap();
        p.drive(|_, _| false);
        let resp =
            p.a.take_raw_response(id)
                .unwrap_or_else(|| panic!("{name}: no response"));
        if ike_deleted {
            // RFC 7296 §1.4.1: the response to an IKE SA delete is empty.
            assert!(resp.is_empty(), "{name}: {resp:?}");
            assert!(p.b.is_empty(), "{name}: IKE SA gone");
            assert!(
                p.b_events
                    .iter()
                    .any(|e| matches!(e, Event::IkeSaDeleted { .. })),
                "{name}"
            );
        } else {
            assert_eq!(p.b.len(), 1, "{name}: IKE SA kept");
            if name.contains("unknown_spi") {
                assert!(resp.is_empty(), "{name}: unknown SPI is not an error");
            } else {
                let m = Message {
                    header: Message::parse(&p.b_sent[2]).unwrap().header,
                    payloads: resp,
                };
                assert_eq!(
                    notifies(&m),
                    vec![(NotifyType::INVALID_SYNTAX, vec![])],
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn c15_liveness_request_from_the_original_responder_with_message_id_0_is_answered() {
    let mut p = established_pair();
    let id_b = p.b.ike_sas()[0].id;
    let before = p.a_sent.len();
    p.b.liveness_check(p.now, id_b).unwrap();
    p.drive(|_, _| false);
    let req = Message::parse(&p.b_sent[2]).unwrap();
    let shape_req = Message::parse(&case("c15a_peer_liveness_req_mid0.bin")).unwrap();
    assert_eq!((req.header.message_id, req.header.flags), (0, Flags(0)));
    assert_eq!(
        (req.header.message_id, req.header.flags, req.header.exchange),
        (
            shape_req.header.message_id,
            shape_req.header.flags,
            shape_req.header.exchange
        )
    );
    assert_eq!(p.a_sent.len(), before + 1, "answered exactly once");
    let resp = Message::parse(p.a_sent.last().unwrap()).unwrap();
    let shape = Message::parse(&case("c15b_expected_resp_mid0.bin")).unwrap();
    assert_eq!(
        (
            resp.header.message_id,
            resp.header.flags,
            resp.header.exchange
        ),
        (
            shape.header.message_id,
            shape.header.flags,
            shape.header.exchange
        )
    );
    assert_eq!(resp.header.flags, Flags(0x28));
    assert!(
        !p.b_events
            .iter()
            .any(|e| matches!(e, Event::IkeSaFailed { .. }))
    );
    // The initiator's own next request still uses Message ID 2 (c15c).
    let id_a = p.a.ike_sas()[0].id;
    p.a.liveness_check(p.now, id_a).unwrap();
    p.drive(|_, _| false);
    let own = Message::parse(p.a_sent.last().unwrap()).unwrap();
    let shape_c = Message::parse(&case("c15c_our_next_request_mid2.bin")).unwrap();
    assert_eq!((own.header.message_id, own.header.flags), (2, Flags(0x08)));
    assert_eq!(
        (own.header.message_id, own.header.flags),
        (shape_c.header.message_id, shape_c.header.flags)
    );
}
