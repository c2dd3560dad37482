//! CREATE_CHILD_SA: Child SA rekeying (RFC 7296 §1.3.3, §2.8, §2.8.1) between two endpoints.

mod common;

use common::*;
use negotiator_crypto::Group;
use negotiator_proto::{Event, IkeSaId};
use negotiator_sadb::SaParams;
use negotiator_wire::v2::{ExchangeType, Message};

fn established_pair() -> Pair {
    let (a, b) = psk_configs(b"k", b"k");
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events), 1);
    assert_eq!(established(&p.b_events), 1);
    assert_eq!(children(&p.a_events).len(), 1);
    p
}

fn ids(p: &Pair) -> (IkeSaId, IkeSaId) {
    (p.a.ike_sas()[0].id, p.b.ike_sas()[0].id)
}

/// (inbound, outbound) SPIs of Child SAs.
type SpiPairs = Vec<(u32, u32)>;

/// (inbound, outbound) SPIs of every Child SA each side lists.
fn child_spis(p: &Pair) -> (SpiPairs, SpiPairs) {
    let a = p.a.ike_sas()[0]
        .children
        .iter()
        .map(|c| (c.0, c.1))
        .collect();
    let b = p.b.ike_sas()[0]
        .children
        .iter()
        .map(|c| (c.0, c.1))
        .collect();
    (a, b)
}

fn deleted(events: &[Event]) -> Vec<(u32, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaDeleted {
                spi_in, spi_out, ..
            } => Some((*spi_in, *spi_out)),
            _ => None,
        })
        .collect()
}

/// The two sides' views of one Child SA agree: SPIs cross over and so do keys.
fn assert_mirror(x: &SaParams, y: &SaParams) {
    assert_eq!(x.spi_in, y.spi_out);
    assert_eq!(x.spi_out, y.spi_in);
    assert_eq!(x.inbound.enc_key.as_bytes(), y.outbound.enc_key.as_bytes());
    assert_eq!(x.outbound.enc_key.as_bytes(), y.inbound.enc_key.as_bytes());
    assert_eq!(
        x.inbound.integ_key.as_bytes(),
        y.outbound.integ_key.as_bytes()
    );
    assert_ne!(x.inbound.enc_key.as_bytes(), x.outbound.enc_key.as_bytes());
}

fn exchanges(sent: &[Vec<u8>]) -> Vec<(ExchangeType, bool)> {
    sent.iter()
        .map(|d| {
            let h = Message::parse(d).unwrap().header;
            (h.exchange, h.flags.is_response())
        })
        .collect()
}

/// Rekeys the only Child SA from `from_a` (else from b) and checks the outcome.
fn rekey_once(p: &mut Pair, from_a: bool) {
    let (ida, idb) = ids(p);
    let old_a = children(&p.a_events).last().unwrap().spi_in;
    let old_b = children(&p.b_events).last().unwrap().spi_in;
    let old_key = children(&p.a_events)
        .last()
        .unwrap()
        .inbound
        .enc_key
        .as_bytes()
        .to_vec();
    let (na, nb) = (children(&p.a_events).len(), children(&p.b_events).len());
    let (da, db) = (deleted(&p.a_events).len(), deleted(&p.b_events).len());
    if from_a {
        p.a.rekey_child(p.now, ida, old_a, &mut p.spis_a).unwrap();
    } else {
        p.b.rekey_child(p.now, idb, old_b, &mut p.spis_b).unwrap();
    }
    p.drive(|_, _| false);
    let ca = children(&p.a_events);
    let cb = children(&p.b_events);
    assert_eq!(ca.len(), na + 1, "one new Child SA on a");
    assert_eq!(cb.len(), nb + 1, "one new Child SA on b");
    let (new_a, new_b) = (ca[na], cb[nb]);
    assert_mirror(new_a, new_b);
    assert_ne!(new_a.spi_in, old_a);
    assert_ne!(new_a.inbound.enc_key.as_bytes(), old_key.as_slice());
    // The old SA is deleted on both sides, after the new one is up.
    assert_eq!(deleted(&p.a_events)[da..], [(old_a, old_b)]);
    assert_eq!(deleted(&p.b_events)[db..], [(old_b, old_a)]);
    let pos_new = p
        .a_events
        .iter()
        .rposition(|e| matches!(e, Event::ChildSaEstablished { .. }))
        .unwrap();
    let pos_del = p
        .a_events
        .iter()
        .rposition(|e| matches!(e, Event::ChildSaDeleted { .. }))
        .unwrap();
    assert!(pos_new < pos_del, "make-before-break");
    assert_eq!(
        child_spis(p),
        (
            vec![(new_a.spi_in, new_a.spi_out)],
            vec![(new_b.spi_in, new_b.spi_out)]
        )
    );
    assert_eq!((p.a.len(), p.b.len()), (1, 1));
}

#[test]
fn child_rekey_without_pfs_both_directions() {
    let mut p = established_pair();
    rekey_once(&mut p, true);
    rekey_once(&mut p, false);
    rekey_once(&mut p, true);
    // On the wire: CREATE_CHILD_SA then INFORMATIONAL, each answered.
    let ex = exchanges(&p.a_sent);
    assert_eq!(
        ex[2..4],
        [
            (ExchangeType::CREATE_CHILD_SA, false),
            (ExchangeType::INFORMATIONAL, false)
        ]
    );
}

#[test]
fn child_rekey_with_pfs_both_directions() {
    let mut p = established_pair();
    p.a.set_child_pfs_groups(vec![Group::Curve25519]);
    p.b.set_child_pfs_groups(vec![Group::Curve25519]);
    rekey_once(&mut p, true);
    rekey_once(&mut p, false);
}

#[test]
fn pfs_and_no_pfs_do_not_mix() {
    let mut p = established_pair();
    p.a.set_child_pfs_groups(vec![Group::Curve25519]);
    let (ida, _) = ids(&p);
    let old = children(&p.a_events)[0].spi_in;
    p.a.rekey_child(p.now, ida, old, &mut p.spis_a).unwrap();
    p.drive(|_, _| false);
    assert_eq!(children(&p.a_events).len(), 1);
    assert!(
        p.a_events.iter().any(|e| matches!(
            e,
            Event::ChildSaFailed { reason, .. } if reason.contains("NO_PROPOSAL_CHOSEN")
        )),
        "{:?}",
        p.a_events
    );
    // The old SA keeps running; the IKE SA too.
    assert_eq!(child_spis(&p).0.len(), 1);
    assert_eq!((p.a.len(), p.b.len()), (1, 1));
}

/// Case C10: a Child SA rekey whose KEi group the responder does not pick gets
/// INVALID_KE_PAYLOAD naming the wanted group, and the initiator retries with it.
#[test]
fn c10_rekey_kei_group_not_picked_gets_invalid_ke_and_retry() {
    let mut p = established_pair();
    p.a.set_child_pfs_groups(vec![Group::Modp2048, Group::Ecp256]);
    p.b.set_child_pfs_groups(vec![Group::Ecp256]);
    rekey_once(&mut p, true);
    // a sent: SA_INIT, AUTH, CCSA (KE 14), CCSA (KE 19), INFORMATIONAL.
    let ex = exchanges(&p.a_sent);
    assert_eq!(
        ex[2..],
        [
            (ExchangeType::CREATE_CHILD_SA, false),
            (ExchangeType::CREATE_CHILD_SA, false),
            (ExchangeType::INFORMATIONAL, false)
        ]
    );
    // The message IDs go on: 2, 3, 4.
    let mids: Vec<u32> = p.a_sent[2..]
        .iter()
        .map(|d| Message::parse(d).unwrap().header.message_id)
        .collect();
    assert_eq!(mids, [2, 3, 4]);
}

#[test]
fn lost_rekey_messages_are_retransmitted() {
    let mut p = established_pair();
    let (ida, _) = ids(&p);
    let old_a = children(&p.a_events)[0].spi_in;
    let start_a = p.a_sent.len();
    let start_b = p.b_sent.len();
    p.a.rekey_child(p.now, ida, old_a, &mut p.spis_a).unwrap();
    // Lose the first request and the first response to the retransmission, then the first
    // Delete request.
    p.drive(|from_a, i| {
        (from_a && (i == start_a || i == start_a + 2)) || (!from_a && i == start_b)
    });
    assert_eq!(children(&p.a_events).len(), 2);
    assert_eq!(children(&p.b_events).len(), 2);
    assert_mirror(children(&p.a_events)[1], children(&p.b_events)[1]);
    assert_eq!(deleted(&p.a_events).len(), 1);
    assert_eq!(deleted(&p.b_events).len(), 1);
    assert_eq!(child_spis(&p).0.len(), 1);
    assert_eq!(child_spis(&p).1.len(), 1);
}

#[test]
fn simultaneous_child_rekeys_leave_exactly_one_child_sa() {
    for pfs in [false, true] {
        let mut p = established_pair();
        if pfs {
            p.a.set_child_pfs_groups(vec![Group::Ecp256]);
            p.b.set_child_pfs_groups(vec![Group::Ecp256]);
        }
        let (ida, idb) = ids(&p);
        let old_a = children(&p.a_events)[0].spi_in;
        let old_b = children(&p.b_events)[0].spi_in;
        p.a.rekey_child(p.now, ida, old_a, &mut p.spis_a).unwrap();
        p.b.rekey_child(p.now, idb, old_b, &mut p.spis_b).unwrap();
        p.drive(|_, _| false);
        // Two new SAs were created (one per exchange), the redundant one and the old one
        // are deleted: one Child SA is left on each side, and they match.
        assert_eq!(children(&p.a_events).len(), 3, "pfs {pfs}");
        assert_eq!(children(&p.b_events).len(), 3, "pfs {pfs}");
        let (sa, sb) = child_spis(&p);
        assert_eq!(sa.len(), 1, "pfs {pfs}: {sa:?}");
        assert_eq!(sb.len(), 1, "pfs {pfs}: {sb:?}");
        assert_eq!(sa[0], (sb[0].1, sb[0].0), "pfs {pfs}");
        assert_ne!(sa[0].0, old_a);
        let left = children(&p.a_events)
            .into_iter()
            .find(|c| c.spi_in == sa[0].0)
            .unwrap();
        let left_b = children(&p.b_events)
            .into_iter()
            .find(|c| c.spi_in == sb[0].0)
            .unwrap();
        assert_mirror(left, left_b);
        assert_eq!(deleted(&p.a_events).len(), 2, "pfs {pfs}");
        assert_eq!(deleted(&p.b_events).len(), 2, "pfs {pfs}");
        assert_eq!((p.a.len(), p.b.len()), (1, 1));
    }
}

#[test]
fn rekey_of_a_child_sa_being_deleted_gets_temporary_failure() {
    let mut p = established_pair();
    let (ida, idb) = ids(&p);
    let old_a = children(&p.a_events)[0].spi_in;
    let old_b = children(&p.b_events)[0].spi_in;
    // b starts deleting; a's rekey crosses it.
    p.b.delete_child(p.now, idb, old_b).unwrap();
    p.a.rekey_child(p.now, ida, old_a, &mut p.spis_a).unwrap();
    p.drive(|_, _| false);
    assert!(
        p.a_events.iter().any(|e| matches!(
            e,
            Event::ChildSaFailed { reason, .. } if reason.contains("TEMPORARY_FAILURE")
        )),
        "{:?}",
        p.a_events
    );
    assert_eq!(children(&p.a_events).len(), 1);
    assert_eq!(child_spis(&p), (vec![], vec![]));
    assert_eq!((p.a.len(), p.b.len()), (1, 1));
}

#[test]
fn rekey_of_unknown_child_is_refused_locally() {
    let mut p = established_pair();
    let (ida, _) = ids(&p);
    assert!(
        p.a.rekey_child(p.now, ida, 0xdead_beef, &mut p.spis_a)
            .is_err()
    );
    assert!(
        p.a.rekey_child(p.now, IkeSaId(7), 1, &mut p.spis_a)
            .is_err()
    );
}

fn rekeyed(events: &[Event]) -> Vec<(IkeSaId, IkeSaId)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::IkeSaRekeyed { old, new } => Some((*old, *new)),
            _ => None,
        })
        .collect()
}

fn ike_deleted(events: &[Event]) -> Vec<IkeSaId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::IkeSaDeleted { id } => Some(*id),
            _ => None,
        })
        .collect()
}

/// After an IKE SA rekey: one IKE SA each side, new SPIs, the Child SA kept, and the new IKE
/// SA works (liveness, Child SA rekey keyed from the new SK_d, message IDs from 0).
fn check_after_ike_rekey(p: &mut Pair, old_spis: ([u8; 8], [u8; 8]), child: (SpiPairs, SpiPairs)) {
    assert_eq!((p.a.len(), p.b.len()), (1, 1));
    let (ia, ib) = (&p.a.ike_sas()[0], &p.b.ike_sas()[0]);
    assert_eq!((ia.spi_i, ia.spi_r), (ib.spi_i, ib.spi_r));
    assert_ne!(ia.spi_i, old_spis.0);
    assert_ne!(ia.spi_r, old_spis.1);
    assert_ne!(ia.spi_i, old_spis.1);
    assert_eq!(child_spis(p), child, "the Child SA survives");
    assert!(deleted(&p.a_events).is_empty());
    assert!(deleted(&p.b_events).is_empty());
    let (spi_i, spi_r) = (ia.spi_i, ia.spi_r);
    let before = p.a_sent.len();
    let (ida, _) = ids(p);
    p.a.liveness_check(p.now, ida).unwrap();
    p.drive(|_, _| false);
    let h = Message::parse(&p.a_sent[before]).unwrap().header;
    assert_eq!((h.spi_i, h.spi_r), (spi_i, spi_r));
    assert_eq!(h.message_id, 0, "message IDs of the new IKE SA start at 0");
    let answer = Message::parse(p.b_sent.last().unwrap()).unwrap().header;
    assert_eq!((answer.spi_i, answer.message_id), (spi_i, 0));
    assert!(answer.flags.is_response());
    assert_eq!((p.a.len(), p.b.len()), (1, 1));
    rekey_once(p, true);
    rekey_once(p, false);
}

#[test]
fn ike_sa_rekey_keeps_the_child_sa_both_directions() {
    for from_a in [true, false] {
        let mut p = established_pair();
        let old = (p.a.ike_sas()[0].spi_i, p.a.ike_sas()[0].spi_r);
        let child = child_spis(&p);
        let (ida, idb) = ids(&p);
        if from_a {
            p.a.rekey_ike(p.now, ida).unwrap();
        } else {
            p.b.rekey_ike(p.now, idb).unwrap();
        }
        p.drive(|_, _| false);
        let (ra, rb) = (rekeyed(&p.a_events), rekeyed(&p.b_events));
        assert_eq!(ra.len(), 1, "{from_a}");
        assert_eq!(rb.len(), 1, "{from_a}");
        assert_eq!(ra[0].0, ida);
        assert_eq!(rb[0].0, idb);
        assert_eq!(ra[0].1, p.a.ike_sas()[0].id);
        assert_eq!(rb[0].1, p.b.ike_sas()[0].id);
        assert_eq!(ike_deleted(&p.a_events), [ida]);
        assert_eq!(ike_deleted(&p.b_events), [idb]);
        check_after_ike_rekey(&mut p, old, child);
    }
}

#[test]
fn ike_sa_rekey_survives_lost_messages() {
    let mut p = established_pair();
    let old = (p.a.ike_sas()[0].spi_i, p.a.ike_sas()[0].spi_r);
    let child = child_spis(&p);
    let (ida, _) = ids(&p);
    let (sa_, sb) = (p.a_sent.len(), p.b_sent.len());
    p.a.rekey_ike(p.now, ida).unwrap();
    // The request, then the response to its retransmission, then the Delete are lost once.
    p.drive(|from_a, i| (from_a && (i == sa_ || i == sa_ + 2)) || (!from_a && i == sb + 1));
    assert_eq!(rekeyed(&p.a_events).len(), 1);
    assert_eq!(rekeyed(&p.b_events).len(), 1);
    check_after_ike_rekey(&mut p, old, child);
}

#[test]
fn simultaneous_ike_sa_rekeys_leave_exactly_one_ike_sa() {
    let mut p = established_pair();
    let old = (p.a.ike_sas()[0].spi_i, p.a.ike_sas()[0].spi_r);
    let child = child_spis(&p);
    let (ida, idb) = ids(&p);
    p.a.rekey_ike(p.now, ida).unwrap();
    p.b.rekey_ike(p.now, idb).unwrap();
    p.drive(|_, _| false);
    // Both sides name the same surviving IKE SA (by its SPIs).
    let (ra, rb) = (rekeyed(&p.a_events), rekeyed(&p.b_events));
    assert_eq!((ra.len(), rb.len()), (1, 1));
    // Old and redundant IKE SAs are deleted.
    assert_eq!(ike_deleted(&p.a_events).len(), 2, "{:?}", p.a_events);
    assert_eq!(ike_deleted(&p.b_events).len(), 2, "{:?}", p.b_events);
    check_after_ike_rekey(&mut p, old, child);
}

#[test]
fn ike_sa_is_rekeyed_when_its_rekey_time_elapses() {
    let mut p = established_pair();
    let hour = std::time::Duration::from_secs(3600);
    p.a.set_ike_rekey_time(Some(hour));
    let old = (p.a.ike_sas()[0].spi_i, p.a.ike_sas()[0].spi_r);
    let child = child_spis(&p);
    let due = p.a.poll_timeout().expect("a rekey deadline");
    assert!(due > p.now + hour - std::time::Duration::from_secs(60) && due <= p.now + hour);
    p.now = due - std::time::Duration::from_secs(1);
    p.a.handle_timeout(p.now);
    assert!(p.a.poll_transmit().is_none(), "not yet");
    p.now = due;
    p.a.handle_timeout(p.now);
    p.drive(|_, _| false);
    assert_eq!(rekeyed(&p.a_events).len(), 1);
    assert_eq!(rekeyed(&p.b_events).len(), 1);
    // The next rekey is an hour after this one.
    let next = p.a.poll_timeout().expect("the next rekey deadline");
    assert_eq!(next, p.now + hour);
    check_after_ike_rekey(&mut p, old, child);
}

// ---- Case C10 artefacts (tests/data/cases, generated by shared/cases/artifacts/C10/gen.py).

fn case(name: &str) -> Vec<u8> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cases")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A pair with ESP AES-GCM-16-256 whose first Child SA has a's inbound SPI c1000001 (the SA
/// the C10 requests rekey); b allows PFS with ECP-256 only.
fn c10_pair() -> Pair {
    use negotiator_crypto::{Encr, Secret};
    use negotiator_proto::{Identity, LocalAuth, RemoteAuth};
    let mk = |id: &str, init: bool| {
        base(
            Identity::fqdn(id),
            LocalAuth::Psk(Secret::new(b"k".to_vec())),
            RemoteAuth::Psk(Secret::new(b"k".to_vec())),
            init,
            vec![Group::Curve25519],
            Encr::AesGcm16_256,
        )
    };
    let mut p = Pair::new(mk("a.example", true), mk("b.example", false));
    // The harness allocator's next SPI is seed * 2654435761 + 0x1000 (mod 2^32).
    p.spis_a = Spis(std::collections::HashSet::new(), 0x6c96_1f51);
    p.b.set_child_pfs_groups(vec![Group::Ecp256]);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(children(&p.a_events)[0].spi_in, 0xc100_0001);
    p
}

fn raw_ccsa(p: &mut Pair, inner: Vec<u8>) -> Vec<u8> {
    use negotiator_wire::v2::{PayloadType, encode_payloads};
    let id = p.a.ike_sas()[0].id;
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
    let mut out = Vec::new();
    encode_payloads(&resp, &mut out);
    out
}

/// c10a/c10b offer ESN only (transform type 5, ID 1), which our ESP engine does not
/// implement; this switches it off so that a proposal can be picked on its key exchange.
fn without_esn(inner: &[u8]) -> Vec<u8> {
    use negotiator_wire::v2::{PayloadBody, PayloadType, TransformType, encode_payloads};
    let mut ps = negotiator_wire::v2::parse_payloads(PayloadType::NOTIFY, inner).unwrap();
    let mut changed = 0;
    for p in &mut ps {
        if let PayloadBody::Sa(props) = &mut p.body {
            for t in props.iter_mut().flat_map(|x| x.transforms.iter_mut()) {
                if t.transform_type == TransformType::ESN && t.id == 1 {
                    t.id = 0;
                    changed += 1;
                }
            }
        }
    }
    assert!(changed > 0);
    let mut out = Vec::new();
    encode_payloads(&ps, &mut out);
    out
}

#[test]
fn c10a_kei_group_not_picked_gets_invalid_ke_payload_0013() {
    let mut p = c10_pair();
    let resp = raw_ccsa(&mut p, without_esn(&case("c10a_offer14and19_ke14.bin")));
    assert_eq!(resp, case("c10z_expected_response.bin"));
    // The old Child SA is untouched and the IKE SA keeps working.
    assert_eq!(children(&p.b_events).len(), 1);
    assert_eq!(child_spis(&p).1.len(), 1);
    let (ida, _) = ids(&p);
    p.a.liveness_check(p.now, ida).unwrap();
    p.drive(|_, _| false);
    assert_eq!((p.a.len(), p.b.len()), (1, 1));
}

#[test]
fn c10a_as_captured_offers_only_esn_and_gets_no_proposal_chosen() {
    use negotiator_wire::v2::{NotifyType, PayloadType, parse_payloads};
    let mut p = c10_pair();
    let resp = raw_ccsa(&mut p, case("c10a_offer14and19_ke14.bin"));
    let ps = parse_payloads(PayloadType::NOTIFY, &resp).unwrap();
    assert!(
        matches!(
            &ps[..],
            [negotiator_wire::v2::Payload { body: negotiator_wire::v2::PayloadBody::Notify(n), .. }]
                if n.notify_type == NotifyType::NO_PROPOSAL_CHOSEN
        ),
        "{ps:?}"
    );
}

#[test]
fn c10b_kei_group_in_no_offer_gets_invalid_syntax() {
    use negotiator_wire::v2::{NotifyType, PayloadType, parse_payloads};
    for inner in [
        case("c10b_offer19_ke14.bin"),
        without_esn(&case("c10b_offer19_ke14.bin")),
    ] {
        let mut p = c10_pair();
        let resp = raw_ccsa(&mut p, inner);
        let ps = parse_payloads(PayloadType::NOTIFY, &resp).unwrap();
        assert!(
            matches!(
                &ps[..],
                [negotiator_wire::v2::Payload { body: negotiator_wire::v2::PayloadBody::Notify(n), .. }]
                    if n.notify_type == NotifyType::INVALID_SYNTAX && n.data.is_empty()
            ),
            "{ps:?}"
        );
        assert_eq!(children(&p.b_events).len(), 1);
    }
}
