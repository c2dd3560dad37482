//! Two endpoints in memory with simulated time, loss and duplication (quinn-style `Pair`).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use negotiator_crypto::{Encr, Group, Integ, KeyType, Prf, Secret, default_provider};
use negotiator_proto::{
    Config, Endpoint, EspProposal, Event, Identity, IkeProposal, IkeState, LocalAuth, RemoteAuth,
    RetransmitConfig, SpiAllocator, Transmit, default_child_lifetime,
};
use negotiator_sadb::TsRange;
use negotiator_wire::v2::{ExchangeType, Message, NotifyType, PayloadBody};

struct Spis(HashSet<u32>, u32);

impl SpiAllocator for Spis {
    fn allocate_spi(&mut self) -> u32 {
        self.1 = self.1.wrapping_mul(2_654_435_761).wrapping_add(0x1000);
        while self.1 < 256 || self.0.contains(&self.1) {
            self.1 = self.1.wrapping_add(1);
        }
        self.0.insert(self.1);
        self.1
    }
    fn release_spi(&mut self, spi: u32) {
        self.0.remove(&spi);
    }
}

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 500);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 500);

fn ts(a: [u8; 4], b: [u8; 4]) -> TsRange {
    TsRange {
        start: IpAddr::from(a),
        end: IpAddr::from(b),
        protocol: 0,
        start_port: 0,
        end_port: 65535,
    }
}

fn base(
    id: Identity,
    local: LocalAuth,
    remote: RemoteAuth,
    initiator: bool,
    groups: Vec<Group>,
    encr: Encr,
) -> Config {
    let (l, r) = (
        ts([10, 1, 0, 0], [10, 1, 0, 255]),
        ts([10, 2, 0, 0], [10, 2, 0, 255]),
    );
    let integ = if encr.is_aead() {
        vec![]
    } else {
        vec![Integ::HmacSha256_128]
    };
    Config {
        local_id: id,
        remote_id: None,
        local_auth: local,
        remote_auth: remote,
        ike_proposals: vec![IkeProposal {
            encr: vec![encr],
            integ: integ.clone(),
            prf: vec![Prf::HmacSha256],
            groups,
        }],
        esp_proposals: vec![EspProposal {
            encr: vec![encr],
            integ,
        }],
        local_ts: vec![if initiator { l } else { r }],
        remote_ts: vec![if initiator { r } else { l }],
        retransmit: RetransmitConfig {
            initial_timeout: Duration::from_secs(1),
            backoff: 2.0,
            max_retransmits: 3,
        },
        cookie_threshold: 100,
        half_open_timeout: Duration::from_secs(30),
        dpd_interval: None,
        child_lifetime: default_child_lifetime(),
        replay_window: 64,
        force_udp_encap: false,
        key_log: None,
    }
}

fn psk_configs(psk_a: &[u8], psk_b: &[u8]) -> (Config, Config) {
    let a = base(
        Identity::fqdn("a.example"),
        LocalAuth::Psk(Secret::new(psk_a.to_vec())),
        RemoteAuth::Psk(Secret::new(psk_a.to_vec())),
        true,
        vec![Group::Curve25519],
        Encr::AesGcm16_128,
    );
    let b = base(
        Identity::fqdn("b.example"),
        LocalAuth::Psk(Secret::new(psk_b.to_vec())),
        RemoteAuth::Psk(Secret::new(psk_b.to_vec())),
        false,
        vec![Group::Curve25519],
        Encr::AesGcm16_128,
    );
    (a, b)
}

struct Pair {
    a: Endpoint,
    b: Endpoint,
    now: Instant,
    spis_a: Spis,
    spis_b: Spis,
    a_events: Vec<Event>,
    b_events: Vec<Event>,
    /// Every datagram a sent / b sent, in order.
    a_sent: Vec<Vec<u8>>,
    b_sent: Vec<Vec<u8>>,
}

impl Pair {
    fn new(a: Config, b: Config) -> Self {
        let now = Instant::now();
        let p = default_provider();
        let clock = (now, 1_780_000_000);
        Self {
            a: Endpoint::new(Arc::new(a), p.clone(), clock).unwrap(),
            b: Endpoint::new(Arc::new(b), p, clock).unwrap(),
            now,
            spis_a: Spis(HashSet::new(), 1),
            spis_b: Spis(HashSet::new(), 7),
            a_events: Vec::new(),
            b_events: Vec::new(),
            a_sent: Vec::new(),
            b_sent: Vec::new(),
        }
    }

    /// Moves datagrams between the two until both are quiet; `drop` decides (by direction
    /// and index of the datagram in that direction) which are lost.
    fn drive(&mut self, mut drop: impl FnMut(bool, usize) -> bool) {
        for _ in 0..100 {
            let mut moved = false;
            while let Some(Transmit { data, remote, .. }) = self.a.poll_transmit() {
                assert_eq!(remote, B);
                moved = true;
                let i = self.a_sent.len();
                self.a_sent.push(data.clone());
                if !drop(true, i) {
                    self.b
                        .handle_datagram(self.now, B, A, &data, &mut self.spis_b);
                }
            }
            while let Some(Transmit { data, remote, .. }) = self.b.poll_transmit() {
                assert_eq!(remote, A);
                moved = true;
                let i = self.b_sent.len();
                self.b_sent.push(data.clone());
                if !drop(false, i) {
                    self.a
                        .handle_datagram(self.now, A, B, &data, &mut self.spis_a);
                }
            }
            while let Some(e) = self.a.poll_event() {
                self.a_events.push(e);
            }
            while let Some(e) = self.b.poll_event() {
                self.b_events.push(e);
            }
            if !moved {
                // Advance simulated time to the next deadline, if any is due soon.
                let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) if t <= self.now + Duration::from_secs(60) => {
                        self.now = self.now.max(t);
                        self.a.handle_timeout(self.now);
                        self.b.handle_timeout(self.now);
                    }
                    _ => return,
                }
            }
        }
    }

    fn initiate(&mut self) {
        self.a.initiate(self.now, A, B).unwrap();
    }
}

fn established(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::IkeSaEstablished { .. }))
        .count()
}

fn children(events: &[Event]) -> Vec<&negotiator_sadb::SaParams> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaEstablished { params, .. } => Some(&**params),
            _ => None,
        })
        .collect()
}

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

fn cert_configs(kt: KeyType, anchors_for_b: Option<Vec<Vec<u8>>>) -> (Config, Config) {
    let now = 1_780_000_000;
    let day = Duration::from_secs(86_400);
    let mut ca = negotiator_pki::Ca::generate("CN=Test CA", kt, day * 10, now - 86_400).unwrap();
    let mut issue = |cn: &str| {
        let req = negotiator_pki::IssueRequest {
            subject: format!("CN={cn}"),
            sans: vec![negotiator_pki::San::Dns(format!("{cn}.example"))],
            validity: day * 5,
            eku_ipsec_ike: true,
        };
        ca.issue_with_new_key(&req, kt, now - 86_400).unwrap()
    };
    let (ka, ca_cert_a) = issue("a");
    let (kb, ca_cert_b) = issue("b");
    let anchor = ca.certificate_der().to_vec();
    let a = base(
        Identity::fqdn("a.example"),
        LocalAuth::Certificate {
            key: Arc::new(ka),
            chain: vec![ca_cert_a, anchor.clone()],
        },
        RemoteAuth::Certificate {
            anchors: vec![anchor.clone()],
        },
        true,
        vec![Group::Ecp256],
        Encr::AesCbc128,
    );
    let b = base(
        Identity::fqdn("b.example"),
        LocalAuth::Certificate {
            key: Arc::new(kb),
            chain: vec![ca_cert_b, anchor.clone()],
        },
        RemoteAuth::Certificate {
            anchors: anchors_for_b.unwrap_or(vec![anchor]),
        },
        false,
        vec![Group::Ecp256],
        Encr::AesCbc128,
    );
    (a, b)
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
