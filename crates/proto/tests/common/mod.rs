//! Shared test harness: two endpoints in memory with simulated time and loss.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use negotiator_crypto::{Encr, Group, Integ, KeyType, Prf, Secret, default_provider};
use negotiator_proto::{
    Config, Endpoint, EspProposal, Event, Identity, IkeProposal, LocalAuth, RemoteAuth,
    RetransmitConfig, SpiAllocator, Transmit, default_child_lifetime,
};
use negotiator_sadb::TsRange;

pub struct Spis(pub HashSet<u32>, pub u32);

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

pub const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 500);
pub const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 500);

pub fn ts(a: [u8; 4], b: [u8; 4]) -> TsRange {
    TsRange {
        start: IpAddr::from(a),
        end: IpAddr::from(b),
        protocol: 0,
        start_port: 0,
        end_port: 65535,
    }
}

pub fn base(
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

pub fn psk_configs(psk_a: &[u8], psk_b: &[u8]) -> (Config, Config) {
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

pub struct Pair {
    pub a: Endpoint,
    pub b: Endpoint,
    pub now: Instant,
    pub spis_a: Spis,
    pub spis_b: Spis,
    pub a_events: Vec<Event>,
    pub b_events: Vec<Event>,
    /// Every datagram a sent / b sent, in order.
    pub a_sent: Vec<Vec<u8>>,
    pub b_sent: Vec<Vec<u8>>,
}

impl Pair {
    pub fn new(a: Config, b: Config) -> Self {
        Self::new_at(a, b, 1_780_000_000)
    }

    /// A pair whose wall clock reads `unix` (for certificate validity tests).
    pub fn new_at(a: Config, b: Config, unix: u64) -> Self {
        let now = Instant::now();
        let p = default_provider();
        let clock = (now, unix);
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
    pub fn drive(&mut self, mut drop: impl FnMut(bool, usize) -> bool) {
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

    pub fn initiate(&mut self) {
        self.a.initiate(self.now, A, B).unwrap();
    }
}

pub fn established(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::IkeSaEstablished { .. }))
        .count()
}

pub fn children(events: &[Event]) -> Vec<&negotiator_sadb::SaParams> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaEstablished { params, .. } => Some(&**params),
            _ => None,
        })
        .collect()
}

pub fn cert_configs(kt: KeyType, anchors_for_b: Option<Vec<Vec<u8>>>) -> (Config, Config) {
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
            crls: Vec::new(),
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
            crls: Vec::new(),
        },
        false,
        vec![Group::Ecp256],
        Encr::AesCbc128,
    );
    (a, b)
}
