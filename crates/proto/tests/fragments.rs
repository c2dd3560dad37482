//! RFC 7383 fragmentation between two of our endpoints: large IKE_AUTH messages (RSA
//! certificates) go out as SKF fragments of at most 1228 octets and are reassembled.

mod common;

use common::*;
use negotiator_crypto::KeyType;
use negotiator_wire::v2::{ExchangeType, Message, NotifyType, PayloadBody};

/// 1280-octet IPv6 packet minus IP, UDP and the non-ESP marker.
const MAX: usize = 1280 - 40 - 8 - 4;

/// (fragment number, total) of an SKF message, None for anything else.
fn skf(m: &[u8]) -> Option<(u16, u16)> {
    let msg = Message::parse(m).unwrap();
    msg.payloads.iter().find_map(|p| match &p.body {
        PayloadBody::Skf(f) => Some((f.number, f.total)),
        _ => None,
    })
}

fn announces_fragmentation(m: &[u8]) -> bool {
    Message::parse(m).unwrap().payloads.iter().any(|p| {
        matches!(&p.body, PayloadBody::Notify(n)
            if n.notify_type == NotifyType::IKEV2_FRAGMENTATION_SUPPORTED && n.data.is_empty())
    })
}

#[test]
fn rsa_ike_auth_is_fragmented_both_ways_and_reassembled() {
    let (a, b) = cert_configs(KeyType::Rsa2048, None);
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events), 1, "{:?}", p.a_events);
    assert_eq!(established(&p.b_events), 1, "{:?}", p.b_events);
    assert_eq!(children(&p.a_events).len(), 1);
    assert!(announces_fragmentation(&p.a_sent[0]));
    assert!(announces_fragmentation(&p.b_sent[0]));
    for sent in [&p.a_sent, &p.b_sent] {
        let auth = &sent[1..];
        assert!(
            auth.len() >= 2,
            "IKE_AUTH went as {} datagram(s)",
            auth.len()
        );
        let total = u16::try_from(auth.len()).unwrap();
        for (i, m) in auth.iter().enumerate() {
            assert!(m.len() <= MAX, "fragment of {} octets", m.len());
            let h = Message::parse(m).unwrap().header;
            assert_eq!((h.exchange, h.message_id), (ExchangeType::IKE_AUTH, 1));
            assert_eq!(skf(m), Some((u16::try_from(i + 1).unwrap(), total)));
            // Our own fragments round-trip through the codec.
            assert_eq!(Message::parse(m).unwrap().encode(), *m);
        }
    }
}

#[test]
fn a_lost_fragment_is_recovered_by_retransmitting_every_fragment() {
    let (a, b) = cert_configs(KeyType::Rsa2048, None);
    let mut p = Pair::new(a, b);
    p.initiate();
    // Lose a's second datagram (fragment 1 of IKE_AUTH) and b's third (fragment 2 of its
    // response).
    p.drive(|from_a, i| (from_a && i == 1) || (!from_a && i == 2));
    assert_eq!(established(&p.a_events), 1, "{:?}", p.a_events);
    assert_eq!(established(&p.b_events), 1, "{:?}", p.b_events);
    let n = p.a_sent[1..]
        .iter()
        .filter(|m| skf(m) == Some((1, 2)))
        .count();
    assert!(n >= 2, "fragment 1 was sent again");
}

#[test]
fn small_messages_are_not_fragmented() {
    let (a, b) = psk_configs(b"short", b"short");
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events), 1);
    assert_eq!((p.a_sent.len(), p.b_sent.len()), (2, 2));
    assert!(p.a_sent.iter().chain(&p.b_sent).all(|m| skf(m).is_none()));
}
