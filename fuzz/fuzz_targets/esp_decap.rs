//! Fuzz target for the ESP engine: arbitrary bytes must never panic in
//! `EspSa::decapsulate` or `classify_udp_encap`, and a genuine packet must
//! open to its payload exactly when it was not modified.
//!
//! Input: byte 0 selects the algorithm (bits 0-1) and whether to tamper
//! (bit 7); byte 1-2 give a tamper position; the rest is used both as a raw
//! ESP packet and as a payload to seal, tamper with and open.

#![no_main]

use libfuzzer_sys::fuzz_target;
use negotiator_crypto::{Encr, Integ, Secret, default_provider};
use negotiator_esp::{EspError, EspSa, UdpEncapKind, classify_udp_encap};
use negotiator_sadb::SaKeys;

const SPI: u32 = 0x0102_0304;

fn keys(sel: u8) -> SaKeys {
    let (encr, integ) = match sel & 3 {
        0 => (Encr::AesGcm16_128, None),
        1 => (Encr::AesGcm16_256, None),
        2 => (Encr::AesCbc128, Some(Integ::HmacSha256_128)),
        _ => (Encr::AesCbc256, Some(Integ::HmacSha512_256)),
    };
    SaKeys {
        encr,
        enc_key: Secret::new(vec![0x42; encr.key_len()]),
        integ,
        integ_key: Secret::new(vec![0x17; integ.map_or(0, |i| i.key_len())]),
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, pos_hi, pos_lo, rest @ ..] = data else {
        return;
    };
    let provider = default_provider();
    let p = provider.as_ref();
    let keys = keys(*sel);

    // 1. The UDP-encapsulation demux on the raw bytes.
    match classify_udp_encap(rest) {
        UdpEncapKind::Esp(b) => assert!(b.len() >= 8 && b.len() == rest.len()),
        UdpEncapKind::Ike(b) => assert_eq!(b.len() + 4, rest.len()),
        UdpEncapKind::Keepalive => assert_eq!(rest, &[0xff]),
        UdpEncapKind::Invalid(_) => {}
    }

    // 2. Raw bytes as an ESP packet for our SPI: must not panic; forging an
    //    ICV is infeasible, so it must be refused.
    let mut rx = match EspSa::inbound(SPI, &keys, 64, p) {
        Ok(sa) => sa,
        Err(e) => panic!("inbound SA: {e}"),
    };
    let mut raw = rest.to_vec();
    if raw.len() >= 4 {
        raw[..4].copy_from_slice(&SPI.to_be_bytes());
    }
    assert!(rx.decapsulate(&mut raw).is_err());

    // 3. Seal `rest` as a payload, optionally flip one bit, open it.
    let mut tx = match EspSa::outbound(SPI, &keys, p) {
        Ok(sa) => sa,
        Err(e) => panic!("outbound SA: {e}"),
    };
    let mut buf = vec![0u8; rest.len() + tx.overhead(rest.len())];
    let n = match tx.encapsulate(rest, 41, p, &mut buf) {
        Ok(n) => n,
        Err(e) => panic!("encapsulate: {e}"),
    };
    assert_eq!(n, buf.len());
    let tamper = sel & 0x80 != 0;
    if tamper {
        let pos = usize::from(u16::from_be_bytes([*pos_hi, *pos_lo]));
        let bit = pos % (n * 8);
        buf[bit / 8] ^= 1 << (bit % 8);
    }
    match rx.decapsulate(&mut buf) {
        Ok(d) => {
            assert!(!tamper, "tampered packet accepted");
            assert_eq!(d.next_header, 41);
            assert_eq!(buf.get(d.payload), Some(rest));
        }
        Err(e) => {
            assert!(tamper, "genuine packet refused: {e}");
            assert!(matches!(
                e,
                EspError::AuthFailed | EspError::SpiMismatch { .. } | EspError::Replay(_)
            ));
        }
    }
});
