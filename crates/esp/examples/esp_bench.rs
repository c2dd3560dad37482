//! Rough throughput of the userspace ESP engine: seals and opens 1400-octet
//! payloads with AES-GCM-128 and prints packets per second.
//!
//! Run with `cargo run -p negotiator-esp --example esp_bench --release`
//! (optionally pass the packet count).

use std::time::Instant;

use negotiator_crypto::{Encr, Secret, default_provider};
use negotiator_esp::EspSa;
use negotiator_sadb::SaKeys;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u64 = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 200_000,
    };
    let provider = default_provider();
    let p = provider.as_ref();
    let keys = SaKeys {
        encr: Encr::AesGcm16_128,
        enc_key: Secret::new(vec![0x42; 20]),
        integ: None,
        integ_key: Secret::new(Vec::new()),
    };
    let mut tx = EspSa::outbound(0x1000, &keys, p)?;
    let mut rx = EspSa::inbound(0x1000, &keys, 1024, p)?;
    let payload = vec![0xabu8; 1400];
    let mut buf = vec![0u8; 1400 + tx.overhead(1400)];
    let mut packets = Vec::with_capacity(1024);

    let start = Instant::now();
    let mut sealed_len = 0;
    for _ in 0..count {
        sealed_len = tx.encapsulate(&payload, 4, p, &mut buf)?;
    }
    let seal = start.elapsed();
    // Opening needs distinct packets (anti-replay): seal a batch, open it, repeat.
    let mut opened = 0u64;
    let mut open_time = std::time::Duration::ZERO;
    let mut tx2 = EspSa::outbound(0x1000, &keys, p)?;
    while opened < count {
        packets.clear();
        for _ in 0..1024 {
            let mut b = vec![0u8; buf.len()];
            let n = tx2.encapsulate(&payload, 4, p, &mut b)?;
            b.truncate(n);
            packets.push(b);
        }
        let t = Instant::now();
        for pkt in packets.iter_mut() {
            rx.decapsulate(pkt)?;
        }
        open_time += t.elapsed();
        opened += 1024;
    }
    let pps = |n: u64, d: std::time::Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!("packet size {sealed_len} octets (payload 1400)");
    println!(
        "encapsulate: {:.0} packets/s ({:.2} Gbit/s payload)",
        pps(count, seal),
        pps(count, seal) * 1400.0 * 8.0 / 1e9
    );
    println!(
        "decapsulate: {:.0} packets/s ({:.2} Gbit/s payload)",
        pps(opened, open_time),
        pps(opened, open_time) * 1400.0 * 8.0 / 1e9
    );
    Ok(())
}
