//! Two endpoints in memory with simulated time, loss and duplication (quinn-style `Pair`).

mod common;

use common::*;
use negotiator_crypto::{Encr, Group, Integ, KeyType};
use negotiator_proto::{Event, IkeState, LocalAuth};
use negotiator_wire::v2::{ExchangeType, Message, NotifyType, PayloadBody};

#[test]
fn psk_pair_establishes_ike_and_child_sa_with_matching_keys() {
    let (a, b) = psk_configs(
        b"correct horse battery staple",
        b"correct horse battery staple",
    );
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events), 1);
    assert_eq!(established(&p.b_events), 1);
    let ca = children(&p.a_events);
    let cb = children(&p.b_events);
    assert_eq!((ca.len(), cb.len()), (1, 1));
    // SPIs pair up and the keys of each direction agree.
    assert_eq!(ca[0].spi_in, cb[0].spi_out);
    assert_eq!(ca[0].spi_out, cb[0].spi_in);
    assert_eq!(
        ca[0].outbound.enc_key.as_bytes(),
        cb[0].inbound.enc_key.as_bytes()
    );
    assert_eq!(
        ca[0].inbound.enc_key.as_bytes(),
        cb[0].outbound.enc_key.as_bytes()
    );
    assert_ne!(
        ca[0].inbound.enc_key.as_bytes(),
        ca[0].outbound.enc_key.as_bytes()
    );
    // AES-GCM-128 keying material is 16 octets of key plus 4 of salt (RFC 4106 §8.1).
    assert_eq!(ca[0].outbound.enc_key.len(), 20);
    // Narrowed selectors: a's local is b's remote.
    assert_eq!(ca[0].local_ts, cb[0].remote_ts);
    let ia = p.a.ike_sas();
    let ib = p.b.ike_sas();
    assert_eq!(ia[0].state, IkeState::Established);
    assert_eq!((ia[0].spi_i, ia[0].spi_r), (ib[0].spi_i, ib[0].spi_r));
    assert_eq!(ia[0].remote_id.as_deref(), Some("b.example"));
    assert_eq!(ib[0].remote_id.as_deref(), Some("a.example"));
    // Exactly four messages: IKE_SA_INIT and IKE_AUTH, each way.
    assert_eq!((p.a_sent.len(), p.b_sent.len()), (2, 2));
    for m in p.a_sent.iter().chain(&p.b_sent) {
        let parsed = Message::parse(m).unwrap();
        assert_eq!(parsed.encode(), *m, "our own messages round-trip");
    }
}

#[test]
fn wrong_psk_fails_authentication_on_both_sides() {
    let (a, b) = psk_configs(b"one secret", b"another secret");
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events) + established(&p.b_events), 0);
    let reason_b = p.b_events.iter().find_map(|e| match e {
        Event::IkeSaFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(reason_b.unwrap().contains("pre-shared key mismatch"));
    let reason_a = p.a_events.iter().find_map(|e| match e {
        Event::IkeSaFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(reason_a.unwrap().contains("AUTHENTICATION_FAILED"));
    assert!(p.a.is_empty() && p.b.is_empty());
}

#[test]
fn lost_messages_are_retransmitted_and_duplicates_get_the_cached_response() {
    let (a, b) = psk_configs(b"k", b"k");
    let mut p = Pair::new(a, b);
    p.initiate();
    // Lose a's first IKE_SA_INIT and b's first IKE_AUTH response.
    p.drive(|from_a, i| (from_a && i == 0) || (!from_a && i == 1));
    assert_eq!(established(&p.a_events), 1);
    assert_eq!(established(&p.b_events), 1);
    // a sent IKE_SA_INIT twice (identical) and IKE_AUTH twice (identical).
    assert_eq!(p.a_sent.len(), 4);
    assert_eq!(p.a_sent[0], p.a_sent[1]);
    assert_eq!(p.a_sent[2], p.a_sent[3]);
    // b answered the retransmitted IKE_AUTH with the very same bytes (RFC 7296 §2.1).
    assert_eq!(p.b_sent.len(), 3);
    assert_eq!(p.b_sent[1], p.b_sent[2]);
    assert_eq!(
        children(&p.b_events).len(),
        1,
        "the replay created no second Child SA"
    );
}

#[test]
fn unanswered_requests_give_up_after_the_configured_retransmits() {
    let (a, b) = psk_configs(b"k", b"k");
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|from_a, _| from_a);
    // 1 + 3 retransmits.
    assert_eq!(p.a_sent.len(), 4);
    let reason = p.a_events.iter().find_map(|e| match e {
        Event::IkeSaFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(reason.unwrap().contains("did not answer the IKE_SA_INIT"));
}

#[test]
fn invalid_ke_payload_makes_the_initiator_retry_with_the_requested_group() {
    let (mut a, mut b) = psk_configs(b"k", b"k");
    a.ike_proposals[0].groups = vec![Group::Ecp256, Group::Modp2048];
    b.ike_proposals[0].groups = vec![Group::Modp2048];
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events), 1);
    let first = Message::parse(&p.b_sent[0]).unwrap();
    let n = first
        .payloads
        .iter()
        .find_map(|x| match &x.body {
            PayloadBody::Notify(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(n.notify_type, NotifyType::INVALID_KE_PAYLOAD);
    assert_eq!(n.data, vec![0, 14]);
    assert_eq!(p.a.ike_sas()[0].suite.unwrap().group, Group::Modp2048);
}

#[test]
fn cookie_is_demanded_above_the_half_open_threshold() {
    let (a, mut b) = psk_configs(b"k", b"k");
    b.cookie_threshold = 0;
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events), 1);
    let first = Message::parse(&p.b_sent[0]).unwrap();
    assert!(
        matches!(&first.payloads[0].body, PayloadBody::Notify(n) if n.notify_type == NotifyType::COOKIE)
    );
    // The retry carries the cookie as its first payload (RFC 7296 §2.6).
    let retry = Message::parse(&p.a_sent[1]).unwrap();
    assert!(
        matches!(&retry.payloads[0].body, PayloadBody::Notify(n) if n.notify_type == NotifyType::COOKIE)
    );
}

#[test]
fn no_proposal_chosen_names_offer_and_configuration() {
    let (mut a, b) = psk_configs(b"k", b"k");
    a.ike_proposals[0].encr = vec![Encr::AesCbc256];
    a.ike_proposals[0].integ = vec![Integ::HmacSha512_256];
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    let reason = p
        .a_events
        .iter()
        .find_map(|e| match e {
            Event::IkeSaFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("NO_PROPOSAL_CHOSEN"), "{reason}");
    assert!(reason.contains("aes256cbc"), "{reason}");
    assert_eq!(p.b.half_open(), 0);
}

#[test]
fn delete_of_child_and_ike_sa_reaches_both_sides() {
    let (a, b) = psk_configs(b"k", b"k");
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    let id = p.a.ike_sas()[0].id;
    let spi_in = children(&p.a_events)[0].spi_in;
    p.a.delete_child(p.now, id, spi_in).unwrap();
    p.drive(|_, _| false);
    assert!(
        p.a_events
            .iter()
            .any(|e| matches!(e, Event::ChildSaDeleted { spi_in: s, .. } if *s == spi_in))
    );
    assert!(
        p.b_events
            .iter()
            .any(|e| matches!(e, Event::ChildSaDeleted { spi_out: s, .. } if *s == spi_in))
    );
    p.a.liveness_check(p.now, id).unwrap();
    p.drive(|_, _| false);
    assert_eq!(p.a.len(), 1);
    p.a.delete_ike(p.now, id).unwrap();
    p.drive(|_, _| false);
    assert!(p.a.is_empty() && p.b.is_empty());
    assert!(
        p.b_events
            .iter()
            .any(|e| matches!(e, Event::IkeSaDeleted { .. }))
    );
    let last = Message::parse(p.a_sent.last().unwrap()).unwrap();
    assert_eq!(last.header.exchange, ExchangeType::INFORMATIONAL);
}

#[test]
fn certificate_pairs_establish_with_ecdsa_and_rsa() {
    for kt in [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048] {
        let (a, b) = cert_configs(kt, None);
        let mut p = Pair::new(a, b);
        p.initiate();
        p.drive(|_, _| false);
        assert_eq!(established(&p.a_events), 1, "{kt:?}: {:?}", p.a_events);
        assert_eq!(established(&p.b_events), 1, "{kt:?}: {:?}", p.b_events);
        assert_eq!(children(&p.b_events).len(), 1);
    }
}

#[test]
fn certificate_from_an_untrusted_ca_is_refused() {
    let (other, _) = cert_configs(KeyType::EcdsaP256, None);
    let LocalAuth::Certificate { chain, .. } = &other.local_auth else {
        unreachable!()
    };
    let foreign_anchor = chain[1].clone();
    let (a, b) = cert_configs(KeyType::EcdsaP256, Some(vec![foreign_anchor]));
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.b_events), 0);
    let reason = p
        .b_events
        .iter()
        .find_map(|e| match e {
            Event::IkeSaFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("certificate"), "{reason}");
}

#[test]
fn expired_peer_certificate_gets_authentication_failed_naming_the_check() {
    // The certificates are valid for 5 days from 1_780_000_000 - 1 day; look 30 days later.
    let (a, b) = cert_configs(KeyType::EcdsaP256, None);
    let mut p = Pair::new_at(a, b, 1_780_000_000 + 30 * 86_400);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.b_events), 0);
    let reason = p
        .b_events
        .iter()
        .find_map(|e| match e {
            Event::IkeSaFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("expired"), "{reason}");
    assert!(reason.contains("\"CN="), "names the certificate: {reason}");
    let reason_a = p
        .a_events
        .iter()
        .find_map(|e| match e {
            Event::IkeSaFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason_a.contains("AUTHENTICATION_FAILED"), "{reason_a}");
}

/// Issue 4 item 6: a revoked peer certificate is refused with AUTHENTICATION_FAILED, and the
/// log line names the check and the certificate.
#[test]
fn revoked_peer_certificate_is_refused_when_crls_are_configured() {
    use negotiator_pki::{Ca, CrlKind, CrlReason, IssueRequest, San};
    use std::sync::Arc;
    use std::time::Duration;
    let now = 1_780_000_000;
    let day = Duration::from_secs(86_400);
    let kt = KeyType::EcdsaP256;
    let mut ca = Ca::generate("CN=Revoking CA", kt, day * 10, now - 86_400).unwrap();
    let mut issue = |cn: &str| {
        let req = IssueRequest {
            subject: format!("CN={cn}"),
            sans: vec![San::Dns(format!("{cn}.example"))],
            validity: day * 5,
            eku_ipsec_ike: true,
        };
        ca.issue_with_new_key(&req, kt, now - 86_400).unwrap()
    };
    let (ka, cert_a) = issue("a");
    let (kb, cert_b) = issue("b");
    let (ka, kb) = (Arc::new(ka), Arc::new(kb));
    let serial_a = ca.issued()[0].serial.clone();
    let anchor = ca.certificate_der().to_vec();
    // First a CRL that revokes nobody: the exchange succeeds with status "good".
    let clean_crl = ca
        .issue_crl(
            &CrlKind::Full {
                freshest_crl_uri: None,
            },
            day,
            now - 3600,
        )
        .unwrap();
    ca.revoke(&serial_a, Some(CrlReason::KeyCompromise), None, now - 3000)
        .unwrap();
    let crl = ca
        .issue_crl(
            &CrlKind::Full {
                freshest_crl_uri: None,
            },
            day,
            now - 2000,
        )
        .unwrap();
    let make = |crl_for_b: Vec<u8>| {
        let (mut a, mut b) = psk_configs(b"unused", b"unused");
        a.local_id = negotiator_proto::Identity::fqdn("a.example");
        a.local_auth = LocalAuth::Certificate {
            key: ka.clone(),
            chain: vec![cert_a.clone()],
        };
        a.remote_auth = negotiator_proto::RemoteAuth::Certificate {
            anchors: vec![anchor.clone()],
            crls: vec![],
        };
        b.local_auth = LocalAuth::Certificate {
            key: kb.clone(),
            chain: vec![cert_b.clone()],
        };
        b.remote_auth = negotiator_proto::RemoteAuth::Certificate {
            anchors: vec![anchor.clone()],
            crls: vec![crl_for_b],
        };
        (a, b)
    };
    let (a, b) = make(clean_crl);
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.b_events), 1, "{:?}", p.b_events);
    assert!(
        p.b.ike_sas()[0]
            .remote_auth
            .as_deref()
            .unwrap()
            .contains("revocation good")
    );

    let (a, b) = make(crl);
    let mut p = Pair::new(a, b);
    p.initiate();
    p.drive(|_, _| false);
    assert_eq!(established(&p.b_events), 0);
    let reason = p
        .b_events
        .iter()
        .find_map(|e| match e {
            Event::IkeSaFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("revoked"), "{reason}");
    assert!(reason.contains("CN=a"), "{reason}");
    assert!(reason.contains("keyCompromise"), "{reason}");
}
