//! Proves the per-packet path does not allocate: a counting global
//! allocator (stats_alloc) wraps the system allocator, and after a warm-up
//! 10,000 encapsulate + decapsulate round trips must not allocate at all.
//!
//! Runs without the libtest harness so no other thread allocates meanwhile.
//! (Allocations made inside aws-lc's C code go to libc directly and are
//! outside what a Rust global allocator can see.)

use std::alloc::System;

use negotiator_crypto::{Encr, Integ, Secret, default_provider};
use negotiator_esp::EspSa;
use negotiator_sadb::SaKeys;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn run(name: &str, keys: &SaKeys) {
    let provider = default_provider();
    let p = provider.as_ref();
    let mut tx = EspSa::outbound(0x4242_4242, keys, p).expect("outbound SA");
    let mut rx = EspSa::inbound(0x4242_4242, keys, 64, p).expect("inbound SA");
    let payload = vec![0x5au8; 1400];
    let mut buf = vec![0u8; 1400 + tx.overhead(1400)];

    let round = |tx: &mut EspSa, rx: &mut EspSa, buf: &mut [u8]| {
        let n = tx.encapsulate(&payload, 4, p, buf).expect("encapsulate");
        let d = rx.decapsulate(&mut buf[..n]).expect("decapsulate");
        assert_eq!(d.next_header, 4);
        assert_eq!(d.payload.len(), 1400);
    };
    for _ in 0..100 {
        round(&mut tx, &mut rx, &mut buf);
    }
    let region = Region::new(GLOBAL);
    for _ in 0..10_000 {
        round(&mut tx, &mut rx, &mut buf);
    }
    let stats = region.change();
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "{name}: per-packet path allocated: {stats:?}"
    );
    assert_eq!(rx.stats().packets, 10_100);
    println!("{name}: 10000 round trips, 0 allocations");
}

fn main() {
    run(
        "aes128gcm16",
        &SaKeys {
            encr: Encr::AesGcm16_128,
            enc_key: Secret::new(vec![1; 20]),
            integ: None,
            integ_key: Secret::new(Vec::new()),
        },
    );
    run(
        "aes256cbc-sha256",
        &SaKeys {
            encr: Encr::AesCbc256,
            enc_key: Secret::new(vec![2; 32]),
            integ: Some(Integ::HmacSha256_128),
            integ_key: Secret::new(vec![3; 32]),
        },
    );
    // Sanity check that the counter works at all, so the test can fail.
    let region = Region::new(GLOBAL);
    let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(16));
    drop(v);
    assert_eq!(
        region.change().allocations,
        1,
        "allocation counter is not counting"
    );
}
