//! Behaviour of the SA database. Expected values are worked out by hand
//! from the documented rules (RFC 4301/4303) in each test.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use negotiator_crypto::{Encr, Integ, Secret};
use negotiator_sadb::{
    AcquireResult, Lifetime, Mode, SaDb, SaKeys, SaParams, SaState, SadbError, SadbEvent, TsRange,
};

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn gcm_keys(fill: u8) -> SaKeys {
    SaKeys {
        encr: Encr::AesGcm16_128,
        enc_key: Secret::new(vec![fill; 20]),
        integ: None,
        integ_key: Secret::new(Vec::new()),
    }
}

fn params(spi_in: u32, spi_out: u32, remote: IpAddr, remote_ts: TsRange) -> SaParams {
    SaParams {
        ike_sa: 7,
        spi_in,
        spi_out,
        local: v4(192, 0, 2, 1),
        remote,
        encap: None,
        mode: Mode::Tunnel,
        local_ts: vec![TsRange::new(v4(10, 1, 0, 0), v4(10, 1, 255, 255))],
        remote_ts: vec![remote_ts],
        inbound: gcm_keys(0xaa),
        outbound: gcm_keys(0xbb),
        lifetime: Lifetime::default(),
        replay_window: 64,
    }
}

fn host_params(spi_in: u32, spi_out: u32, dest: IpAddr) -> SaParams {
    params(spi_in, spi_out, v4(198, 51, 100, 9), TsRange::host(dest))
}

fn drain(db: &mut SaDb) -> Vec<SadbEvent> {
    std::iter::from_fn(|| db.poll_event()).collect()
}

#[test]
fn spi_allocation_skips_reserved_and_taken() {
    let mut db = SaDb::new();
    // Scripted RNG: 0, 255 (reserved), 0x1000, then 0x1000 again, then 0x2000.
    let script: Vec<[u8; 4]> = vec![
        0u32.to_be_bytes(),
        255u32.to_be_bytes(),
        0x1000u32.to_be_bytes(),
        0x1000u32.to_be_bytes(),
        0x2000u32.to_be_bytes(),
    ];
    let mut it = script.into_iter();
    let mut rng = |b: &mut [u8]| b.copy_from_slice(&it.next().unwrap());
    assert_eq!(db.allocate_spi(&mut rng), 0x1000);
    assert_eq!(db.allocate_spi(&mut rng), 0x2000);
    assert!(db.is_reserved(0x1000));
    db.release_spi(0x1000);
    assert!(!db.is_reserved(0x1000));
}

#[test]
fn spi_allocation_terminates_with_constant_rng() {
    let mut db = SaDb::new();
    let mut zero = |b: &mut [u8]| b.fill(0);
    let a = db.allocate_spi(&mut zero);
    let b = db.allocate_spi(&mut zero);
    let c = db.allocate_spi(&mut zero);
    assert_eq!((a, b, c), (256, 257, 258));
    // installed SPIs are skipped as well
    db.release_spi(257);
    db.install(host_params(257, 0x9999, v4(10, 9, 9, 9)), Instant::now())
        .unwrap();
    assert_eq!(db.allocate_spi(&mut zero), 259);
    // wrap-around at u32::MAX continues at 256
    let mut max = |b: &mut [u8]| b.fill(0xff);
    assert_eq!(db.allocate_spi(&mut max), u32::MAX);
    assert_eq!(db.allocate_spi(&mut max), 260);
}

#[test]
fn install_lookup_delete() {
    let now = Instant::now();
    let mut db = SaDb::new();
    let mut rng = |b: &mut [u8]| b.copy_from_slice(&0xc0ff_ee00u32.to_be_bytes());
    let spi = db.allocate_spi(&mut rng);
    assert_eq!(spi, 0xc0ff_ee00);
    db.install(host_params(spi, 0x1234_5678, v4(10, 2, 0, 5)), now)
        .unwrap();
    assert!(!db.is_reserved(spi));
    assert_eq!(db.len(), 1);
    let e = db.lookup_inbound(spi).unwrap();
    assert_eq!(e.params.spi_out, 0x1234_5678);
    assert_eq!(e.state, SaState::Active);
    assert_eq!(e.installed_at, now);
    assert!(db.lookup_inbound(spi + 1).is_none());
    assert_eq!(
        drain(&mut db),
        vec![SadbEvent::Installed {
            spi_in: spi,
            spi_out: 0x1234_5678
        }]
    );
    assert_eq!(
        db.install(host_params(spi, 0x4444, v4(10, 2, 0, 6)), now),
        Err(SadbError::DuplicateSpi(spi))
    );
    let e = db.delete(spi).unwrap();
    assert_eq!(e.params.spi_in, spi);
    assert!(db.delete(spi).is_none());
    assert_eq!(
        drain(&mut db),
        vec![SadbEvent::Deleted {
            spi_in: spi,
            spi_out: 0x1234_5678
        }]
    );
    assert!(db.is_empty());
    assert!(db.outbound_for(v4(10, 2, 0, 5)).is_none());
}

#[test]
fn install_validation() {
    let now = Instant::now();
    let mut db = SaDb::new();
    let d = v4(10, 0, 0, 1);
    assert_eq!(
        db.install(host_params(255, 0x1000, d), now),
        Err(SadbError::ReservedSpi(255))
    );
    assert_eq!(
        db.install(host_params(0x1000, 1, d), now),
        Err(SadbError::ReservedSpi(1))
    );
    let mut p = host_params(0x1000, 0x2000, d);
    p.inbound.enc_key = Secret::new(vec![0; 16]); // GCM-128 needs 20 (salt)
    assert!(matches!(db.install(p, now), Err(SadbError::InvalidKeys(_))));
    let mut p = host_params(0x1000, 0x2000, d);
    p.outbound.integ = Some(Integ::HmacSha256_128);
    assert!(matches!(db.install(p, now), Err(SadbError::InvalidKeys(_))));
    let mut p = host_params(0x1000, 0x2000, d);
    p.outbound = SaKeys {
        encr: Encr::AesCbc128,
        enc_key: Secret::new(vec![1; 16]),
        integ: None,
        integ_key: Secret::new(vec![]),
    };
    assert!(matches!(db.install(p, now), Err(SadbError::InvalidKeys(_))));
    let mut p = host_params(0x1000, 0x2000, d);
    p.outbound = SaKeys {
        encr: Encr::AesCbc256,
        enc_key: Secret::new(vec![1; 32]),
        integ: Some(Integ::HmacSha512_256),
        integ_key: Secret::new(vec![2; 64]),
    };
    let mut ok = p.clone();
    ok.spi_in = 0x1001;
    p.outbound.integ_key = Secret::new(vec![2; 32]);
    assert!(matches!(db.install(p, now), Err(SadbError::InvalidKeys(_))));
    assert_eq!(db.install(ok, now), Ok(()));
    let mut p = host_params(0x1000, 0x2000, d);
    p.replay_window = 16;
    assert!(matches!(
        db.install(p, now),
        Err(SadbError::InvalidParams(_))
    ));
    let mut p = host_params(0x1000, 0x2000, d);
    p.remote_ts = vec![TsRange::new(v4(10, 0, 0, 9), v4(10, 0, 0, 1))];
    assert!(matches!(
        db.install(p, now),
        Err(SadbError::InvalidParams(_))
    ));
    let mut p = host_params(0x1000, 0x2000, d);
    p.remote_ts = vec![TsRange::new(
        v4(10, 0, 0, 1),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    )];
    assert!(matches!(
        db.install(p, now),
        Err(SadbError::InvalidParams(_))
    ));
    let mut p = host_params(0x1000, 0x2000, d);
    p.lifetime.soft_secs = Some(100);
    p.lifetime.hard_secs = Some(50);
    assert!(matches!(
        db.install(p, now),
        Err(SadbError::InvalidParams(_))
    ));
    let mut p = host_params(0x1000, 0x2000, d);
    p.remote = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert!(matches!(
        db.install(p, now),
        Err(SadbError::InvalidParams(_))
    ));
    assert_eq!(db.len(), 1);
}

#[test]
fn acquire_coalesces_and_resolves() {
    let now = Instant::now();
    let mut db = SaDb::new();
    let d = v4(10, 3, 0, 7);
    let id = match db.acquire(d, now) {
        AcquireResult::Start { acquire_id } => acquire_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(db.acquire(d, now), AcquireResult::Pending);
    assert_eq!(db.acquire(d, now), AcquireResult::Pending);
    let other = v4(10, 3, 0, 8);
    let id2 = match db.acquire(other, now) {
        AcquireResult::Start { acquire_id } => acquire_id,
        r => panic!("{r:?}"),
    };
    assert_ne!(id, id2);
    assert_eq!(
        drain(&mut db),
        vec![
            SadbEvent::Acquire {
                acquire_id: id,
                destination: d
            },
            SadbEvent::Acquire {
                acquire_id: id2,
                destination: other
            },
        ]
    );
    // An SA for 10.3.0.0/24 resolves both.
    let p = params(
        0x5000,
        0x6000,
        v4(198, 51, 100, 1),
        TsRange::new(v4(10, 3, 0, 0), v4(10, 3, 0, 255)),
    );
    db.install(p, now).unwrap();
    assert_eq!(db.pending_acquires(), 0);
    assert_eq!(
        db.acquire(d, now),
        AcquireResult::Established { spi_out: 0x6000 }
    );
    assert_eq!(
        db.acquire(other, now),
        AcquireResult::Established { spi_out: 0x6000 }
    );
    // The acquire timers are stale now: nothing fires.
    drain(&mut db);
    db.handle_timeout(now + Duration::from_secs(3600));
    assert_eq!(drain(&mut db), vec![]);
}

#[test]
fn acquire_failed_and_timeout() {
    let now = Instant::now();
    let mut db = SaDb::new();
    db.set_acquire_timeout(Duration::from_secs(5));
    let d = v4(10, 4, 0, 1);
    let AcquireResult::Start { acquire_id } = db.acquire(d, now) else {
        panic!()
    };
    drain(&mut db);
    db.acquire_failed(d);
    assert_eq!(
        drain(&mut db),
        vec![SadbEvent::AcquireFailed {
            acquire_id,
            destination: d
        }]
    );
    // failing again is a no-op
    db.acquire_failed(d);
    assert_eq!(drain(&mut db), vec![]);
    // A fresh acquire starts a new negotiation, and times out after 5 s.
    let t1 = now + Duration::from_secs(1);
    let AcquireResult::Start { acquire_id: id2 } = db.acquire(d, t1) else {
        panic!()
    };
    assert_ne!(id2, acquire_id);
    drain(&mut db);
    assert_eq!(db.poll_timeout(), Some(t1 + Duration::from_secs(5)));
    db.handle_timeout(t1 + Duration::from_millis(4999));
    assert_eq!(db.acquire(d, t1), AcquireResult::Pending);
    db.handle_timeout(t1 + Duration::from_secs(5));
    assert_eq!(
        drain(&mut db),
        vec![SadbEvent::AcquireFailed {
            acquire_id: id2,
            destination: d
        }]
    );
    assert!(matches!(db.acquire(d, t1), AcquireResult::Start { .. }));
}

#[test]
fn newest_sa_wins_make_before_break() {
    let now = Instant::now();
    let mut db = SaDb::new();
    let d = v4(10, 5, 0, 1);
    db.install(host_params(0x100, 0x200, d), now).unwrap();
    assert_eq!(db.outbound_for(d).unwrap().params.spi_in, 0x100);
    // rekeyed SA installed while the old one still exists
    db.install(host_params(0x101, 0x201, d), now).unwrap();
    assert_eq!(db.outbound_for(d).unwrap().params.spi_in, 0x101);
    // both still accept inbound traffic
    assert!(db.lookup_inbound(0x100).is_some());
    // a newer wide SA also covering d wins over the host SA
    let wide = params(
        0x102,
        0x202,
        v4(198, 51, 100, 2),
        TsRange::new(v4(10, 0, 0, 0), v4(10, 255, 255, 255)),
    );
    db.install(wide, now).unwrap();
    assert_eq!(db.outbound_for(d).unwrap().params.spi_in, 0x102);
    db.delete(0x102);
    assert_eq!(db.outbound_for(d).unwrap().params.spi_in, 0x101);
    db.delete(0x101);
    assert_eq!(db.outbound_for(d).unwrap().params.spi_in, 0x100);
    db.delete(0x100);
    assert!(db.outbound_for(d).is_none());
}

#[test]
fn range_coverage_and_families() {
    let now = Instant::now();
    let mut db = SaDb::new();
    let p = params(
        0x300,
        0x400,
        v4(198, 51, 100, 3),
        TsRange::new(v4(10, 6, 0, 0), v4(10, 6, 0, 255)),
    );
    db.install(p, now).unwrap();
    assert!(db.outbound_for(v4(10, 6, 0, 0)).is_some());
    assert!(db.outbound_for(v4(10, 6, 0, 255)).is_some());
    assert!(db.outbound_for(v4(10, 6, 1, 0)).is_none());
    assert!(db.outbound_for(v4(10, 5, 255, 255)).is_none());
    // ::ffff:10.6.0.1 is an IPv6 address; a v4 selector does not cover it
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 6, 0, 1).to_ipv6_mapped());
    assert!(db.outbound_for(mapped).is_none());
    let ts = TsRange {
        start: v4(10, 0, 0, 0),
        end: v4(10, 0, 0, 10),
        protocol: 6,
        start_port: 80,
        end_port: 443,
    };
    assert!(ts.matches(v4(10, 0, 0, 5), 6, 80));
    assert!(ts.matches(v4(10, 0, 0, 5), 6, 443));
    assert!(!ts.matches(v4(10, 0, 0, 5), 6, 444));
    assert!(!ts.matches(v4(10, 0, 0, 5), 17, 80));
    assert!(!ts.matches(v4(10, 0, 0, 11), 6, 80));
}

#[test]
fn time_based_expiry() {
    let t0 = Instant::now();
    let mut db = SaDb::new();
    let mut p = host_params(0x700, 0x800, v4(10, 7, 0, 1));
    p.lifetime = Lifetime {
        soft_secs: Some(10),
        hard_secs: Some(20),
        ..Lifetime::default()
    };
    db.install(p, t0).unwrap();
    drain(&mut db);
    assert_eq!(db.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    db.handle_timeout(t0 + Duration::from_millis(9_999));
    assert_eq!(drain(&mut db), vec![]);
    db.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(
        drain(&mut db),
        vec![SadbEvent::SoftExpired { spi_in: 0x700 }]
    );
    assert_eq!(
        db.lookup_inbound(0x700).unwrap().state,
        SaState::SoftExpired
    );
    assert_eq!(db.poll_timeout(), Some(t0 + Duration::from_secs(20)));
    db.handle_timeout(t0 + Duration::from_secs(25));
    assert_eq!(
        drain(&mut db),
        vec![
            SadbEvent::HardExpired { spi_in: 0x700 },
            SadbEvent::Deleted {
                spi_in: 0x700,
                spi_out: 0x800
            }
        ]
    );
    assert!(db.is_empty());
    assert_eq!(db.poll_timeout(), None);
}

#[test]
fn expiry_timers_of_deleted_or_replaced_sa_are_stale() {
    let t0 = Instant::now();
    let mut db = SaDb::new();
    let mut p = host_params(0x900, 0xa00, v4(10, 8, 0, 1));
    p.lifetime.hard_secs = Some(10);
    db.install(p.clone(), t0).unwrap();
    assert_eq!(db.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    db.delete(0x900);
    assert_eq!(db.poll_timeout(), None);
    // same SPI installed again later: the first SA's timer must not kill it
    let t1 = t0 + Duration::from_secs(5);
    db.install(p, t1).unwrap();
    drain(&mut db);
    db.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(drain(&mut db), vec![]);
    assert!(db.lookup_inbound(0x900).is_some());
    db.handle_timeout(t1 + Duration::from_secs(10));
    assert_eq!(drain(&mut db).len(), 2);
    assert!(db.is_empty());
}

#[test]
fn volume_based_expiry() {
    let t = Instant::now();
    let mut db = SaDb::new();
    let mut p = host_params(0xb00, 0xc00, v4(10, 9, 0, 1));
    p.lifetime = Lifetime {
        soft_bytes: Some(1000),
        hard_bytes: Some(2000),
        soft_packets: Some(100),
        ..Lifetime::default()
    };
    db.install(p, t).unwrap();
    drain(&mut db);
    db.record_inbound(0xb00, 600, t);
    assert_eq!(drain(&mut db), vec![]);
    // outbound counts separately: 900 out does not reach 1000
    db.record_outbound(0xc00, 900, t);
    assert_eq!(drain(&mut db), vec![]);
    db.record_inbound(0xb00, 400, t); // 1000 in: soft
    assert_eq!(
        drain(&mut db),
        vec![SadbEvent::SoftExpired { spi_in: 0xb00 }]
    );
    db.record_inbound(0xb00, 500, t); // soft only once
    assert_eq!(drain(&mut db), vec![]);
    let e = db.lookup_inbound(0xb00).unwrap();
    assert_eq!(
        (
            e.stats.packets_in,
            e.stats.bytes_in,
            e.stats.packets_out,
            e.stats.bytes_out
        ),
        (3, 1500, 1, 900)
    );
    db.record_outbound(0xc00, 1100, t); // 2000 out: hard
    assert_eq!(
        drain(&mut db),
        vec![
            SadbEvent::HardExpired { spi_in: 0xb00 },
            SadbEvent::Deleted {
                spi_in: 0xb00,
                spi_out: 0xc00
            }
        ]
    );
    assert!(db.is_empty());
    // unknown SPIs are ignored
    db.record_inbound(0xb00, 1, t);
    db.record_outbound(0xc00, 1, t);
    assert_eq!(drain(&mut db), vec![]);
}

#[test]
fn packet_limit_expiry() {
    let t = Instant::now();
    let mut db = SaDb::new();
    let mut p = host_params(0xd00, 0xe00, v4(10, 10, 0, 1));
    p.lifetime.soft_packets = Some(2);
    p.lifetime.hard_packets = Some(3);
    db.install(p, t).unwrap();
    drain(&mut db);
    db.record_inbound(0xd00, 1, t);
    assert_eq!(drain(&mut db), vec![]);
    db.record_inbound(0xd00, 1, t);
    assert_eq!(
        drain(&mut db),
        vec![SadbEvent::SoftExpired { spi_in: 0xd00 }]
    );
    db.record_inbound(0xd00, 1, t);
    assert_eq!(drain(&mut db)[0], SadbEvent::HardExpired { spi_in: 0xd00 });
}

#[test]
fn shared_outbound_spi_across_peers() {
    let t = Instant::now();
    let mut db = SaDb::new();
    let a = params(
        0x1001,
        0x7777,
        v4(198, 51, 100, 1),
        TsRange::host(v4(10, 11, 0, 1)),
    );
    let b = params(
        0x1002,
        0x7777,
        v4(198, 51, 100, 2),
        TsRange::host(v4(10, 11, 0, 2)),
    );
    let c = params(
        0x1003,
        0x7777,
        v4(198, 51, 100, 1),
        TsRange::host(v4(10, 11, 0, 3)),
    );
    db.install(a, t).unwrap();
    db.install(b, t).unwrap();
    // same peer reusing its SPI is rejected
    assert_eq!(
        db.install(c, t),
        Err(SadbError::DuplicateOutboundSpi(0x7777))
    );
    assert_eq!(db.lookup_outbound(0x7777).count(), 2);
    db.record_outbound_pair(0x1001, 10, t);
    db.record_outbound(0x7777, 20, t); // ambiguous: newest (0x1002)
    assert_eq!(db.lookup_inbound(0x1001).unwrap().stats.bytes_out, 10);
    assert_eq!(db.lookup_inbound(0x1002).unwrap().stats.bytes_out, 20);
    db.delete(0x1002);
    db.record_outbound(0x7777, 5, t);
    assert_eq!(db.lookup_inbound(0x1001).unwrap().stats.bytes_out, 15);
}

#[test]
fn debug_never_shows_keys() {
    let mut p = host_params(0x1100, 0x1200, v4(10, 12, 0, 1));
    p.inbound.enc_key = Secret::new(vec![0x5a; 20]);
    let s = format!("{p:?}");
    assert!(s.contains("AesGcm16_128"));
    assert!(!s.contains("90, 90"), "{s}"); // 0x5a = 90
    assert!(!s.to_lowercase().contains("5a5a"), "{s}");
}

#[test]
fn many_sas_scale() {
    // 100,000 road-warrior SAs: each lookup path must find its own SA.
    let t = Instant::now();
    let mut db = SaDb::new();
    let n: u32 = 100_000;
    for i in 0..n {
        let host = IpAddr::V4(Ipv4Addr::from(0x0a80_0000 + i));
        db.install(host_params(0x1_0000 + i, 0x2000_0000 + i, host), t)
            .unwrap();
    }
    assert_eq!(db.len(), 100_000);
    for i in (0..n).step_by(997) {
        let host = IpAddr::V4(Ipv4Addr::from(0x0a80_0000 + i));
        assert_eq!(db.outbound_for(host).unwrap().params.spi_in, 0x1_0000 + i);
        assert_eq!(
            db.lookup_inbound(0x1_0000 + i).unwrap().params.spi_out,
            0x2000_0000 + i
        );
    }
    assert!(
        db.outbound_for(IpAddr::V4(Ipv4Addr::from(0x0a80_0000 + n)))
            .is_none()
    );
    // The fixed part of an entry stays small (keys and selectors are on the heap).
    assert!(std::mem::size_of::<negotiator_sadb::ChildSaEntry>() < 512);
}

#[test]
fn volume_soft_then_time_hard() {
    let t0 = Instant::now();
    let mut db = SaDb::new();
    let mut p = host_params(0xf00, 0xf01, v4(10, 13, 0, 1));
    p.lifetime = Lifetime {
        soft_secs: Some(100),
        hard_secs: Some(200),
        soft_bytes: Some(10),
        ..Lifetime::default()
    };
    db.install(p, t0).unwrap();
    drain(&mut db);
    db.record_inbound(0xf00, 10, t0 + Duration::from_secs(1));
    assert_eq!(
        drain(&mut db),
        vec![SadbEvent::SoftExpired { spi_in: 0xf00 }]
    );
    // the soft timer is now stale; the next deadline is the hard one
    assert_eq!(db.poll_timeout(), Some(t0 + Duration::from_secs(200)));
    db.handle_timeout(t0 + Duration::from_secs(150));
    assert_eq!(drain(&mut db), vec![]);
    db.handle_timeout(t0 + Duration::from_secs(200));
    assert_eq!(
        drain(&mut db).first(),
        Some(&SadbEvent::HardExpired { spi_in: 0xf00 })
    );
    assert!(db.is_empty());
}

#[test]
fn hard_only_lifetime() {
    let t0 = Instant::now();
    let mut db = SaDb::new();
    let mut p = host_params(0xf10, 0xf11, v4(10, 14, 0, 1));
    p.lifetime.hard_secs = Some(5);
    db.install(p, t0).unwrap();
    drain(&mut db);
    assert_eq!(db.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    db.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(
        drain(&mut db),
        vec![
            SadbEvent::HardExpired { spi_in: 0xf10 },
            SadbEvent::Deleted {
                spi_in: 0xf10,
                spi_out: 0xf11
            }
        ]
    );
}

#[derive(Default)]
struct RecordingEngine {
    calls: Vec<String>,
}

impl negotiator_sadb::Engine for RecordingEngine {
    fn install(
        &mut self,
        sa: &negotiator_sadb::ChildSaEntry,
    ) -> Result<(), negotiator_sadb::EngineError> {
        self.calls.push(format!(
            "install {:#x}/{:#x}",
            sa.params.spi_in, sa.params.spi_out
        ));
        Ok(())
    }
    fn remove(&mut self, spi_in: u32, spi_out: u32) {
        self.calls.push(format!("remove {spi_in:#x}/{spi_out:#x}"));
    }
}

#[test]
fn events_drive_an_engine() {
    let t0 = Instant::now();
    let mut db = SaDb::new();
    let mut eng = RecordingEngine::default();
    let mut p = host_params(0x1500, 0x1501, v4(10, 15, 0, 1));
    p.lifetime.hard_secs = Some(1);
    let pump = |db: &mut SaDb, eng: &mut RecordingEngine| {
        while let Some(ev) = db.poll_event() {
            db.apply_to_engine(&ev, eng).unwrap();
        }
    };
    db.install(p, t0).unwrap();
    pump(&mut db, &mut eng);
    db.install(host_params(0x1600, 0x1601, v4(10, 15, 0, 2)), t0)
        .unwrap();
    db.delete(0x1600);
    pump(&mut db, &mut eng);
    db.handle_timeout(t0 + Duration::from_secs(1));
    pump(&mut db, &mut eng);
    // 0x1600 was deleted before its Installed event was applied: only removed
    assert_eq!(
        eng.calls,
        vec![
            "install 0x1500/0x1501",
            "remove 0x1600/0x1601",
            "remove 0x1500/0x1501"
        ]
    );
}

#[test]
fn subnet_selectors() {
    let ts = TsRange::subnet(v4(10, 1, 77, 3), 16).unwrap();
    assert_eq!((ts.start, ts.end), (v4(10, 1, 0, 0), v4(10, 1, 255, 255)));
    let ts = TsRange::subnet(v4(10, 1, 77, 3), 32).unwrap();
    assert_eq!((ts.start, ts.end), (v4(10, 1, 77, 3), v4(10, 1, 77, 3)));
    let ts = TsRange::subnet(v4(10, 1, 77, 3), 0).unwrap();
    assert_eq!(ts, TsRange::any_v4());
    assert!(TsRange::subnet(v4(1, 2, 3, 4), 33).is_none());
    let a: Ipv6Addr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
    let ts = TsRange::subnet(IpAddr::V6(a), 64).unwrap();
    let lo: Ipv6Addr = "2001:db8:1:2::".parse().unwrap();
    let hi: Ipv6Addr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
    assert_eq!((ts.start, ts.end), (IpAddr::V6(lo), IpAddr::V6(hi)));
    assert!(TsRange::subnet(IpAddr::V6(a), 129).is_none());
    assert_eq!(
        TsRange::subnet(IpAddr::V6(a), 0).unwrap(),
        TsRange::any_v6()
    );
    assert!(TsRange::any_v6().contains(IpAddr::V6(a)));
    assert!(!TsRange::any_v6().contains(v4(1, 1, 1, 1)));
}

#[test]
fn pending_acquires_are_capped() {
    let t = Instant::now();
    let mut db = SaDb::new();
    db.set_max_pending_acquires(2);
    db.set_acquire_timeout(Duration::from_secs(10));
    assert!(matches!(
        db.acquire(v4(10, 16, 0, 1), t),
        AcquireResult::Start { .. }
    ));
    assert!(matches!(
        db.acquire(v4(10, 16, 0, 2), t),
        AcquireResult::Start { .. }
    ));
    assert_eq!(db.acquire(v4(10, 16, 0, 3), t), AcquireResult::Pending);
    assert_eq!(db.pending_acquires(), 2);
    assert_eq!(drain(&mut db).len(), 2); // no Acquire event for the third
    db.acquire_failed(v4(10, 16, 0, 1));
    assert!(matches!(
        db.acquire(v4(10, 16, 0, 3), t),
        AcquireResult::Start { .. }
    ));
}

#[test]
fn prefix_and_range_selectors_mix() {
    // Selectors of several shapes; expected winners worked out by hand from
    // "newest installed SA whose selector contains the address".
    let t = Instant::now();
    let mut db = SaDb::new();
    let peer = v4(198, 51, 100, 50);
    let sa = |spi: u32, ts: Vec<TsRange>| {
        let mut p = params(spi, spi + 0x100, peer, ts[0]);
        p.remote_ts = ts;
        p
    };
    // 1: 10.20.0.0/16
    db.install(
        sa(0x2001, vec![TsRange::subnet(v4(10, 20, 0, 0), 16).unwrap()]),
        t,
    )
    .unwrap();
    // 2: non-prefix range 10.20.5.3 - 10.20.5.9
    db.install(
        sa(
            0x2002,
            vec![TsRange::new(v4(10, 20, 5, 3), v4(10, 20, 5, 9))],
        ),
        t,
    )
    .unwrap();
    // 3: 10.20.7.0/24 and host 172.16.0.1
    db.install(
        sa(
            0x2003,
            vec![
                TsRange::subnet(v4(10, 20, 7, 0), 24).unwrap(),
                TsRange::host(v4(172, 16, 0, 1)),
            ],
        ),
        t,
    )
    .unwrap();
    let who = |db: &SaDb, a| db.outbound_for(a).map(|e| e.params.spi_in);
    assert_eq!(who(&db, v4(10, 20, 0, 1)), Some(0x2001));
    assert_eq!(who(&db, v4(10, 20, 5, 2)), Some(0x2001));
    assert_eq!(who(&db, v4(10, 20, 5, 3)), Some(0x2002));
    assert_eq!(who(&db, v4(10, 20, 5, 9)), Some(0x2002));
    assert_eq!(who(&db, v4(10, 20, 5, 10)), Some(0x2001));
    assert_eq!(who(&db, v4(10, 20, 7, 200)), Some(0x2003));
    assert_eq!(who(&db, v4(172, 16, 0, 1)), Some(0x2003));
    assert_eq!(who(&db, v4(172, 16, 0, 2)), None);
    assert_eq!(who(&db, v4(10, 21, 0, 0)), None);
    // 4: 0.0.0.0/0, newest, wins everywhere for IPv4 but not IPv6
    db.install(sa(0x2004, vec![TsRange::any_v4()]), t).unwrap();
    assert_eq!(who(&db, v4(10, 20, 7, 200)), Some(0x2004));
    assert_eq!(who(&db, v4(8, 8, 8, 8)), Some(0x2004));
    assert_eq!(who(&db, IpAddr::V6(Ipv6Addr::LOCALHOST)), None);
    db.delete(0x2004);
    assert_eq!(who(&db, v4(8, 8, 8, 8)), None);
    assert_eq!(who(&db, v4(10, 20, 7, 200)), Some(0x2003));
    db.delete(0x2003);
    assert_eq!(who(&db, v4(10, 20, 7, 200)), Some(0x2001));
    assert_eq!(who(&db, v4(172, 16, 0, 1)), None);
    db.delete(0x2001);
    assert_eq!(who(&db, v4(10, 20, 7, 200)), None);
    assert_eq!(who(&db, v4(10, 20, 5, 4)), Some(0x2002));
    // IPv6 prefix
    let net: Ipv6Addr = "2001:db8:aa::".parse().unwrap();
    let inside: Ipv6Addr = "2001:db8:aa:0:1::7".parse().unwrap();
    let outside: Ipv6Addr = "2001:db8:ab::1".parse().unwrap();
    let mut p6 = params(
        0x2006,
        0x2106,
        IpAddr::V6("2001:db8::1".parse().unwrap()),
        TsRange::subnet(IpAddr::V6(net), 48).unwrap(),
    );
    p6.local = IpAddr::V6("2001:db8::2".parse().unwrap());
    p6.local_ts = vec![TsRange::any_v6()];
    db.install(p6, t).unwrap();
    assert_eq!(who(&db, IpAddr::V6(inside)), Some(0x2006));
    assert_eq!(who(&db, IpAddr::V6(outside)), None);
}

#[test]
fn many_subnet_sas() {
    // 50,000 site-to-site SAs, each for its own /24 inside 10.0.0.0/8 (plus a
    // few /16s), found through the prefix index.
    let t = Instant::now();
    let mut db = SaDb::new();
    for i in 0..50_000u32 {
        let net = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8)));
        let p = params(
            0x10_0000 + i,
            0x20_0000 + i,
            v4(198, 51, 100, 1),
            TsRange::subnet(net, 24).unwrap(),
        );
        db.install(p, t).unwrap();
    }
    for i in (0..50_000u32).step_by(101) {
        let a = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8) + 77));
        assert_eq!(db.outbound_for(a).unwrap().params.spi_in, 0x10_0000 + i);
    }
    // 10.195.80.0 is past the last /24 (index 50,000)
    assert!(
        db.outbound_for(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (50_000 << 8))))
            .is_none()
    );
}
