//! strongSwan's own CREATE_CHILD_SA requests (captured in crates/wire/tests/data/strongswan,
//! ikev2-rekey: a Child SA rekey without PFS and an IKE SA rekey with Curve25519) are
//! answered by our responder as RFC 7296 §1.3.2/§1.3.3 require.

mod common;

use common::*;
use negotiator_crypto::{Encr, Group};
use negotiator_proto::{Config, Event, Identity, LocalAuth, RemoteAuth};
use negotiator_wire::v2::{
    ExchangeType, Message, Payload, PayloadBody, PayloadType, ProtocolId, encode_payloads,
    parse_payloads,
};

fn strongswan(name: &str) -> Vec<Payload> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wire/tests/data/strongswan/"
    );
    let bin = std::fs::read(format!("{dir}{name}.bin")).unwrap();
    let inner = std::fs::read(format!("{dir}{name}.inner")).unwrap();
    let m = Message::parse(&bin).unwrap();
    let first = m
        .payloads
        .iter()
        .find_map(|p| match &p.body {
            PayloadBody::Sk(s) => Some(s.first_inner),
            _ => None,
        })
        .unwrap();
    parse_payloads(first, &inner).unwrap()
}

fn kinds(ps: &[Payload]) -> Vec<PayloadType> {
    ps.iter().map(|p| p.body.payload_type()).collect()
}

/// The lab's selectors: 198.51.100.0/28 (initiator) and 198.51.100.16/28 (responder).
fn lab_configs(encr: Encr) -> (Config, Config) {
    let mk = |id: &str, init: bool| {
        let mut c = base(
            Identity::fqdn(id),
            LocalAuth::Psk(negotiator_crypto::Secret::new(b"k".to_vec())),
            RemoteAuth::Psk(negotiator_crypto::Secret::new(b"k".to_vec())),
            init,
            vec![Group::Curve25519],
            encr,
        );
        let (l, r) = (
            ts([198, 51, 100, 0], [198, 51, 100, 15]),
            ts([198, 51, 100, 16], [198, 51, 100, 31]),
        );
        c.local_ts = vec![if init { l } else { r }];
        c.remote_ts = vec![if init { r } else { l }];
        c
    };
    (mk("a.example", true), mk("b.example", false))
}

fn send(p: &mut Pair, inner: &[Payload]) -> Vec<Payload> {
    let id = p.a.ike_sas()[0].id;
    let mut bytes = Vec::new();
    let first = encode_payloads(inner, &mut bytes);
    p.a.send_raw_request(p.now, id, ExchangeType::CREATE_CHILD_SA, first, bytes)
        .unwrap();
    p.drive(|_, _| false);
    p.a.take_raw_response(id).expect("an encrypted response")
}

#[test]
fn strongswan_child_sa_rekey_request_is_answered() {
    let mut req = strongswan("06-ikev2-rekey-create_child_sa-i");
    assert_eq!(
        kinds(&req),
        [
            PayloadType::NOTIFY,
            PayloadType::SA,
            PayloadType::NONCE,
            PayloadType::TSI,
            PayloadType::TSR
        ]
    );
    let (a, b) = lab_configs(Encr::AesGcm16_128);
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    let old = children(&p.b_events)[0].spi_out;
    // The capture's REKEY_SA names strongSwan's SA; point it at ours (the SPI b sends to).
    if let PayloadBody::Notify(n) = &mut req[0].body {
        assert_eq!(n.protocol, ProtocolId::ESP);
        n.spi = old.to_be_bytes().to_vec();
    }
    let resp = send(&mut p, &req);
    assert_eq!(
        kinds(&resp),
        [
            PayloadType::SA,
            PayloadType::NONCE,
            PayloadType::TSI,
            PayloadType::TSR
        ],
        "{resp:?}"
    );
    let PayloadBody::Sa(sa) = &resp[0].body else {
        panic!()
    };
    assert_eq!(sa.len(), 1);
    assert_eq!(sa[0].protocol, ProtocolId::ESP);
    assert_eq!(sa[0].spi.len(), 4);
    // strongSwan's new inbound SPI 211d29a0 becomes b's outbound SPI.
    let new = children(&p.b_events);
    assert_eq!(new.len(), 2);
    assert_eq!(new[1].spi_out, 0x211d_29a0);
    assert_eq!(new[1].spi_in.to_be_bytes().to_vec(), sa[0].spi);
    assert_eq!(
        new[1].local_ts,
        [ts([198, 51, 100, 16], [198, 51, 100, 31])]
    );
    assert_eq!(
        new[1].remote_ts,
        [ts([198, 51, 100, 0], [198, 51, 100, 15])]
    );
}

#[test]
fn strongswan_ike_sa_rekey_request_is_answered() {
    let req = strongswan("10-ikev2-rekey-create_child_sa-i");
    assert_eq!(
        kinds(&req),
        [PayloadType::SA, PayloadType::NONCE, PayloadType::KE]
    );
    let (a, b) = lab_configs(Encr::AesCbc128);
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    let resp = send(&mut p, &req);
    assert_eq!(
        kinds(&resp),
        [PayloadType::SA, PayloadType::NONCE, PayloadType::KE],
        "{resp:?}"
    );
    let PayloadBody::Sa(sa) = &resp[0].body else {
        panic!()
    };
    assert_eq!(sa.len(), 1);
    assert_eq!(sa[0].protocol, ProtocolId::IKE);
    assert_eq!(sa[0].spi.len(), 8);
    let PayloadBody::Ke(ke) = &resp[2].body else {
        panic!()
    };
    assert_eq!((ke.group, ke.data.len()), (31, 32));
    // b now has the new IKE SA (SPIi from strongSwan's SA payload) next to the old one.
    assert_eq!(p.b.len(), 2);
    assert!(
        p.b.ike_sas()
            .iter()
            .any(|s| s.spi_i == [8, 181, 162, 207, 139, 65, 79, 85] && s.spi_r[..] == sa[0].spi[..])
    );
    assert!(
        p.b_events
            .iter()
            .any(|e| matches!(e, Event::IkeSaRekeyed { .. }))
    );
}
