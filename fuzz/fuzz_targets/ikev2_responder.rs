//! Drives an IKEv2 responder (the sans-IO `Endpoint`) with arbitrary datagrams: nothing may
//! panic, and malformed input must not leave more half-open SAs than datagrams received.
#![no_main]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use negotiator_crypto::{Encr, Group, Prf, Secret, default_provider};
use negotiator_proto::{
    Config, Endpoint, EspProposal, IkeProposal, Identity, LocalAuth, RemoteAuth,
    RetransmitConfig, SpiAllocator, default_child_lifetime,
};
use negotiator_sadb::TsRange;

struct Spis(HashSet<u32>, u32);
impl SpiAllocator for Spis {
    fn allocate_spi(&mut self) -> u32 {
        self.1 += 1;
        self.0.insert(self.1 + 256);
        self.1 + 256
    }
    fn release_spi(&mut self, spi: u32) {
        self.0.remove(&spi);
    }
}

fn config() -> Arc<Config> {
    static C: OnceLock<Arc<Config>> = OnceLock::new();
    C.get_or_init(|| {
        let any = TsRange {
            start: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            end: IpAddr::V4(Ipv4Addr::BROADCAST),
            protocol: 0,
            start_port: 0,
            end_port: 65535,
        };
        Arc::new(Config {
            local_id: Identity::fqdn("responder.example"),
            remote_id: None,
            local_auth: LocalAuth::Psk(Secret::new(b"fuzz".to_vec())),
            remote_auth: RemoteAuth::Psk(Secret::new(b"fuzz".to_vec())),
            ike_proposals: vec![IkeProposal {
                encr: vec![Encr::AesGcm16_128, Encr::AesCbc128],
                integ: vec![negotiator_crypto::Integ::HmacSha256_128],
                prf: vec![Prf::HmacSha256],
                groups: vec![Group::Curve25519, Group::Ecp256],
            }],
            esp_proposals: vec![EspProposal { encr: vec![Encr::AesGcm16_128], integ: vec![] }],
            local_ts: vec![any.clone()],
            remote_ts: vec![any],
            retransmit: RetransmitConfig::default(),
            cookie_threshold: 2,
            half_open_timeout: Duration::from_secs(30),
            dpd_interval: Some(Duration::from_secs(10)),
            child_lifetime: default_child_lifetime(),
            replay_window: 64,
            force_udp_encap: false,
            key_log: None,
        })
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut ep = Endpoint::new(config(), default_provider(), (now, 1_780_000_000)).unwrap();
    let mut spis = Spis(HashSet::new(), 0);
    let local = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 500);
    let remote = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 500);
    // Up to 8 datagrams, separated by the octet 0xa5.
    let mut count = 0;
    for (i, d) in data.split(|b| *b == 0xa5).take(8).enumerate() {
        let t = now + Duration::from_millis(100 * i as u64);
        ep.handle_datagram(t, local, remote, d, &mut spis);
        count += 1;
        while ep.poll_transmit().is_some() {}
        while ep.poll_event().is_some() {}
    }
    assert!(ep.half_open() <= count);
    ep.handle_timeout(now + Duration::from_secs(3600));
    assert_eq!(ep.half_open(), 0, "half-open SAs expire");
});
