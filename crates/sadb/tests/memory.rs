//! Memory budget: 100,000 installed Child SAs (road-warrior shape: one host
//! selector each, AES-GCM keys, soft and hard lifetimes) must cost less than
//! 900 octets of heap each (target: well under 1 KiB), counting everything
//! the database keeps (entries, indexes, timers, selectors and keys). Measured with a counting global
//! allocator; runs without the test harness so nothing else allocates.
//! Also checks that per-packet lookups and counter updates never allocate.

use std::alloc::System;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use negotiator_crypto::{Encr, Secret};
use negotiator_sadb::{Lifetime, Mode, SaDb, SaKeys, SaParams, TsRange};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const N: u32 = 100_000;

fn keys(b: u8) -> SaKeys {
    SaKeys {
        encr: Encr::AesGcm16_128,
        enc_key: Secret::new(vec![b; 20]),
        integ: None,
        integ_key: Secret::new(Vec::new()),
    }
}

fn main() {
    let now = Instant::now();
    let region = Region::new(GLOBAL);
    let mut db = SaDb::new();
    for i in 0..N {
        let host = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let params = SaParams {
            ike_sa: u64::from(i),
            spi_in: 0x1000 + i,
            spi_out: 0x8000_0000 + i,
            local: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            remote: IpAddr::V4(Ipv4Addr::from(0xc633_6400 + i)),
            encap: None,
            mode: Mode::Tunnel,
            local_ts: vec![TsRange::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V4(Ipv4Addr::BROADCAST),
            )],
            remote_ts: vec![TsRange::host(host)],
            inbound: keys(1),
            outbound: keys(2),
            lifetime: Lifetime {
                soft_secs: Some(3000),
                hard_secs: Some(3600),
                ..Lifetime::default()
            },
            replay_window: 64,
        };
        if let Err(e) = db.install(params, now) {
            panic!("install {i}: {e}");
        }
        // like the daemon, consume events as they come
        while db.poll_event().is_some() {}
    }
    let s = region.change();
    let net = s.bytes_allocated as i64 - s.bytes_deallocated as i64 + s.bytes_reallocated as i64;
    let per_sa = net / i64::from(N);
    println!("{N} SAs: {net} bytes live, {per_sa} bytes per SA");
    assert_eq!(db.len(), N as usize);
    assert!(
        per_sa < 900,
        "{per_sa} bytes per SA: over the 900-octet budget"
    );
    // sanity: the counter sees allocations at all
    assert!(net > i64::from(N) * 100);

    // The per-packet path (lookups and counters) allocates nothing.
    let region = Region::new(GLOBAL);
    let mut found = 0u32;
    for i in (0..N).step_by(10) {
        let host = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        if let Some(sa) = db.outbound_for(host) {
            let spi_out = sa.params.spi_out;
            db.record_outbound(spi_out, 1400, now);
            found += 1;
        }
        if db.lookup_inbound(0x1000 + i).is_some() {
            db.record_inbound(0x1000 + i, 1400, now);
        }
    }
    let s = region.change();
    assert_eq!(found, N / 10);
    assert_eq!(
        (s.allocations, s.reallocations),
        (0, 0),
        "per-packet path allocated"
    );
    println!("{} lookups + counter updates: 0 allocations", N / 10 * 2);
}
