//! Tampering, truncation and garbage: every modification is a named error,
//! counted, and never a panic.

mod common;

use common::{FixedRandom, cbc_keys, gcm_keys, hex, seq_bytes};
use negotiator_crypto::{Encr, Integ, default_provider};
use negotiator_esp::{EspError, EspSa, ReplayError};
use negotiator_sadb::SaKeys;

fn k128() -> Vec<u8> {
    let mut k = seq_bytes(0x00, 16);
    k.extend_from_slice(&hex("cafebabe"));
    k
}

fn all_keys() -> Vec<SaKeys> {
    vec![
        gcm_keys(Encr::AesGcm16_128, k128()),
        cbc_keys(
            Encr::AesCbc128,
            seq_bytes(0x40, 16),
            Integ::HmacSha256_128,
            seq_bytes(0x60, 32),
        ),
        cbc_keys(
            Encr::AesCbc256,
            seq_bytes(0x80, 32),
            Integ::HmacSha512_256,
            seq_bytes(0x10, 64),
        ),
    ]
}

#[test]
fn every_bit_flip_is_detected() {
    let p = default_provider();
    for keys in all_keys() {
        let mut tx = EspSa::outbound(0x1122_3344, &keys, p.as_ref()).unwrap();
        let mut rx = EspSa::inbound(0x1122_3344, &keys, 64, p.as_ref()).unwrap();
        let mut buf = [0u8; 256];
        let n = tx
            .encapsulate(b"some inner packet", 4, p.as_ref(), &mut buf)
            .unwrap();
        let good = buf[..n].to_vec();
        let mut auth_fail = 0u64;
        let mut zero_seq = 0u64;
        for bit in 0..n * 8 {
            let mut pkt = good.clone();
            pkt[bit / 8] ^= 1 << (bit % 8);
            let r = rx.decapsulate(&mut pkt);
            if pkt[4..8] == [0, 0, 0, 0] {
                // seq 1 flipped to 0: never valid, refused before the ICV
                assert_eq!(r, Err(EspError::Replay(ReplayError::TooOld)));
                zero_seq += 1;
            } else if bit < 32 {
                assert!(
                    matches!(r, Err(EspError::SpiMismatch { .. })),
                    "bit {bit}: {r:?}"
                );
            } else {
                assert_eq!(r, Err(EspError::AuthFailed), "{:?} bit {bit}", keys.encr);
                auth_fail += 1;
            }
        }
        assert_eq!(rx.stats().auth_failures, auth_fail);
        assert_eq!(rx.stats().packets, 0);
        // failures did not touch the window: the genuine packet still passes once
        let mut pkt = good.clone();
        let d = rx.decapsulate(&mut pkt).unwrap();
        assert_eq!(&pkt[d.payload], b"some inner packet");
        let mut pkt = good.clone();
        assert_eq!(
            rx.decapsulate(&mut pkt),
            Err(EspError::Replay(ReplayError::Duplicate))
        );
        assert_eq!(zero_seq, 1);
        assert_eq!(rx.stats().replay_drops, 2);
    }
}

#[test]
fn truncation_and_extension() {
    let p = default_provider();
    for keys in all_keys() {
        let mut tx = EspSa::outbound(0x1122_3344, &keys, p.as_ref()).unwrap();
        let mut rx = EspSa::inbound(0x1122_3344, &keys, 64, p.as_ref()).unwrap();
        let mut buf = [0u8; 256];
        let n = tx.encapsulate(&[9u8; 40], 4, p.as_ref(), &mut buf).unwrap();
        let good = buf[..n].to_vec();
        let icv = keys.integ.map_or(16, |i| i.icv_len());
        let min = 8 + keys.encr.iv_len() + keys.encr.block_len() + icv;
        for len in 0..n {
            let mut pkt = good[..len].to_vec();
            let r = rx.decapsulate(&mut pkt);
            if len < min {
                assert_eq!(r, Err(EspError::Truncated), "len {len}");
            } else {
                assert!(
                    matches!(r, Err(EspError::AuthFailed | EspError::Malformed(_))),
                    "len {len}: {r:?}"
                );
            }
        }
        let mut longer = good.clone();
        longer.extend_from_slice(&[0u8; 16]);
        assert!(rx.decapsulate(&mut longer).is_err());
        let mut pkt = good.clone();
        assert!(rx.decapsulate(&mut pkt).is_ok());
    }
}

#[test]
fn authentic_packets_with_bad_padding() {
    // Built with Python `cryptography` (AESGCM), same keys as vectors.rs:
    // seq 7: "abcdef" | 01 03 | pad len 2 | nh 4  (padding not 1,2)
    // seq 8: "ab" | pad len 0xfe | nh 4            (pad length exceeds data)
    let p = default_provider();
    let keys = gcm_keys(Encr::AesGcm16_128, k128());
    let mut rx = EspSa::inbound(0x1122_3344, &keys, 64, p.as_ref()).unwrap();
    let mut a =
        hex("1122334400000007000000000000000749d005c0ff4d75a9ced83a2e903f1d19a7b21b716af7d5365cbd");
    assert_eq!(rx.decapsulate(&mut a), Err(EspError::BadPadding));
    let mut b = hex("112233440000000800000000000000080ffbb958888ed953845a1853c77a19e8b1a97368");
    assert_eq!(rx.decapsulate(&mut b), Err(EspError::BadPadding));
    assert_eq!(rx.stats().malformed, 2);
    assert_eq!(rx.stats().auth_failures, 0);
    // they were authentic, so their sequence numbers are consumed
    let mut a =
        hex("1122334400000007000000000000000749d005c0ff4d75a9ced83a2e903f1d19a7b21b716af7d5365cbd");
    assert_eq!(
        rx.decapsulate(&mut a),
        Err(EspError::Replay(ReplayError::Duplicate))
    );
}

#[test]
fn replay_through_esp() {
    let p = default_provider();
    let keys = gcm_keys(Encr::AesGcm16_128, k128());
    let mut tx = EspSa::outbound(0x777, &keys, p.as_ref()).unwrap();
    let mut rx = EspSa::inbound(0x777, &keys, 32, p.as_ref()).unwrap();
    let mut pkts = Vec::new();
    for i in 0..40u8 {
        let mut buf = vec![0u8; 128];
        let n = tx.encapsulate(&[i; 10], 4, p.as_ref(), &mut buf).unwrap();
        buf.truncate(n);
        pkts.push(buf);
    }
    // receive seq 40 first; window 32 → 9..=40 acceptable, 1..=8 too old
    let mut last = pkts[39].clone();
    rx.decapsulate(&mut last).unwrap();
    let mut old = pkts[7].clone(); // seq 8
    assert_eq!(
        rx.decapsulate(&mut old),
        Err(EspError::Replay(ReplayError::TooOld))
    );
    let mut edge = pkts[8].clone(); // seq 9
    assert!(rx.decapsulate(&mut edge).is_ok());
    let mut again = pkts[8].clone();
    assert_eq!(
        rx.decapsulate(&mut again),
        Err(EspError::Replay(ReplayError::Duplicate))
    );
    assert_eq!(rx.stats().replay_drops, 2);
    // anti-replay disabled (window 0) accepts duplicates
    let mut rx0 = EspSa::inbound(0x777, &keys, 0, p.as_ref()).unwrap();
    for _ in 0..3 {
        let mut d = pkts[0].clone();
        assert!(rx0.decapsulate(&mut d).is_ok());
    }
    assert!(matches!(
        EspSa::inbound(0x777, &keys, 16, p.as_ref()),
        Err(EspError::InvalidReplayWindow(16))
    ));
}

#[test]
fn direction_and_key_checks() {
    let p = default_provider();
    let keys = gcm_keys(Encr::AesGcm16_128, k128());
    let mut rx = EspSa::inbound(0x777, &keys, 64, p.as_ref()).unwrap();
    let mut tx = EspSa::outbound(0x777, &keys, p.as_ref()).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        rx.encapsulate(b"x", 4, p.as_ref(), &mut buf),
        Err(EspError::WrongDirection)
    );
    assert_eq!(tx.decapsulate(&mut buf), Err(EspError::WrongDirection));
    let bad = gcm_keys(Encr::AesGcm16_128, vec![0; 16]);
    assert!(matches!(
        EspSa::outbound(0x777, &bad, p.as_ref()),
        Err(EspError::InvalidKeys(_))
    ));
}

#[test]
fn random_garbage_never_panics() {
    let rng = FixedRandom::new(&[0]);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for keys in all_keys() {
        let mut rx = EspSa::inbound(0x1122_3344, &keys, 64, &rng).unwrap();
        for _ in 0..3000 {
            let len = (next() % 200) as usize;
            let mut pkt: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len >= 4 {
                pkt[..4].copy_from_slice(&0x1122_3344u32.to_be_bytes());
            }
            assert!(rx.decapsulate(&mut pkt).is_err());
        }
        assert_eq!(rx.stats().packets, 0);
    }
}
