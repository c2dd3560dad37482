//! Known-answer tests. The expected packets were built independently with
//! Python's `cryptography` package (AESGCM, AES-CBC, HMAC) following RFC 4303
//! §2 (layout, padding 1,2,3..), RFC 4106 §3-5 (nonce = salt || IV, AAD =
//! SPI || 32-bit Seq, IV = sequence counter) and RFC 4868 (HMAC truncation).
//! The McGrew/Viega ESP-GCM draft vectors could not be retrieved in full
//! here, so no draft vector is used.
//!
//! Payload: a 28-octet IPv4 ICMP echo request
//! 4500001c000100004001f8d4c0a80001c0a80002080077fe00010000.

mod common;

use common::{FixedRandom, cbc_keys, gcm_keys, hex, seq_bytes};
use negotiator_crypto::{Encr, Integ, default_provider};
use negotiator_esp::{EspSa, EspStats};

const PAYLOAD: &str = "4500001c000100004001f8d4c0a80001c0a80002080077fe00010000";
const CBC_IV: &str = "000102030405060708090a0b0c0d0e0f";

fn k128() -> Vec<u8> {
    let mut k = seq_bytes(0x00, 16);
    k.extend_from_slice(&hex("cafebabe"));
    k
}

fn k256() -> Vec<u8> {
    let mut k = seq_bytes(0x20, 32);
    k.extend_from_slice(&hex("deadbeef"));
    k
}

fn seal_and_compare(sa: &mut EspSa, payload: &[u8], nh: u8, rng: &FixedRandom, expected: &str) {
    let expected = hex(expected);
    let mut out = vec![0u8; 512];
    let n = sa.encapsulate(payload, nh, rng, &mut out).unwrap();
    assert_eq!(hex_of(&out[..n]), hex_of(&expected));
    assert_eq!(sa.overhead(payload.len()), expected.len() - payload.len());
}

fn open_and_compare(sa: &mut EspSa, packet: &str, payload: &[u8], nh: u8) {
    let mut p = hex(packet);
    let d = sa.decapsulate(&mut p).unwrap();
    assert_eq!(&p[d.payload.clone()], payload);
    assert_eq!(d.next_header, nh);
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const GCM128_SEQ1: &str = "11223344000000010000000000000001f70519854a7e51f4db1a39c986d7a93613c08142b1f73f7bfeb41ff476ef2b3f93e1c93baf5b6a3830e68aa6f735015b";
const GCM128_SEQ2: &str = "11223344000000020000000000000002eca9b9610cd82114834f21f8b4d6a903ab0ab0a68259b159d69c1ddb84abe99bebca0e996623141055994337cecdf4e2";

#[test]
fn gcm128_encapsulate_matches() {
    let rng = FixedRandom::new(&[0]);
    let keys = gcm_keys(Encr::AesGcm16_128, k128());
    let mut sa = EspSa::outbound(0x1122_3344, &keys, &rng).unwrap();
    let payload = hex(PAYLOAD);
    seal_and_compare(&mut sa, &payload, 4, &rng, GCM128_SEQ1);
    seal_and_compare(&mut sa, &payload, 4, &rng, GCM128_SEQ2);
    assert_eq!(sa.last_sequence(), 2);
}

#[test]
fn gcm128_decapsulate_matches() {
    let p = default_provider();
    let keys = gcm_keys(Encr::AesGcm16_128, k128());
    let mut sa = EspSa::inbound(0x1122_3344, &keys, 64, p.as_ref()).unwrap();
    let payload = hex(PAYLOAD);
    // out of order is fine within the window
    open_and_compare(&mut sa, GCM128_SEQ2, &payload, 4);
    open_and_compare(&mut sa, GCM128_SEQ1, &payload, 4);
    assert_eq!(
        sa.stats(),
        EspStats {
            packets: 2,
            bytes: 56,
            ..EspStats::default()
        }
    );
}

#[test]
fn gcm_short_and_empty_payloads() {
    let rng = FixedRandom::new(&[0]);
    // 5 octets + 2 → padded to 8: padding 01, pad length 01
    let mut tx = EspSa::outbound(0x1122_3344, &gcm_keys(Encr::AesGcm16_128, k128()), &rng).unwrap();
    seal_and_compare(
        &mut tx,
        b"hello",
        17,
        &rng,
        "11223344000000010000000000000001da6075f5257e50e538618c3dc5e5f1fb500359c826baf654",
    );
    // empty payload, next header 59 (dummy), AES-256
    let v = "0000abcd000000010000000000000001ae2ff02865368544695a6b247d10b16eb9c52196";
    let mut tx = EspSa::outbound(0xabcd, &gcm_keys(Encr::AesGcm16_256, k256()), &rng).unwrap();
    seal_and_compare(&mut tx, b"", 59, &rng, v);
    let mut rx = EspSa::inbound(0xabcd, &gcm_keys(Encr::AesGcm16_256, k256()), 32, &rng).unwrap();
    open_and_compare(&mut rx, v, b"", 59);
}

const CBC128_SHA256: &str = "0102030400000001000102030405060708090a0b0c0d0e0f0d1523004f10e14bde773e9f44ef379eac102e0f556dff16d08fabac7e3d5efe571beccbf5489e9a1c0fe3e182064b43";
const CBC256_SHA512: &str = "0102030400000001000102030405060708090a0b0c0d0e0fe95add620de68d9bd70c73795dda4cc7005cfbfec485b923b96a8652c3e6c691af8d3e8976b753200dccb259f4c6d14d4fd551446705e3f76906013d525e08a5";
const CBC128_SHA384_14: &str = "0102030400000001000102030405060708090a0b0c0d0e0f855f8c4c5e26571995026473b75111f27cf52eb7a03ae86d7b500a53d47382fc2f532617d48f3baf";

#[test]
fn cbc_hmac_vectors() {
    let rng = FixedRandom::new(&hex(CBC_IV));
    let payload = hex(PAYLOAD);
    let cases = [
        (
            cbc_keys(
                Encr::AesCbc128,
                seq_bytes(0x40, 16),
                Integ::HmacSha256_128,
                seq_bytes(0x60, 32),
            ),
            payload.clone(),
            4u8,
            CBC128_SHA256,
        ),
        (
            cbc_keys(
                Encr::AesCbc256,
                seq_bytes(0x80, 32),
                Integ::HmacSha512_256,
                seq_bytes(0x10, 64),
            ),
            payload.clone(),
            41,
            CBC256_SHA512,
        ),
        (
            cbc_keys(
                Encr::AesCbc128,
                seq_bytes(0x40, 16),
                Integ::HmacSha384_192,
                seq_bytes(0xa0, 48),
            ),
            vec![0u8; 14], // 14 + 2 = 16: no padding at all
            6,
            CBC128_SHA384_14,
        ),
    ];
    for (keys, payload, nh, vector) in cases {
        let mut tx = EspSa::outbound(0x0102_0304, &keys, &rng).unwrap();
        seal_and_compare(&mut tx, &payload, nh, &rng, vector);
        let mut rx = EspSa::inbound(0x0102_0304, &keys, 64, &rng).unwrap();
        open_and_compare(&mut rx, vector, &payload, nh);
    }
}

#[test]
fn round_trip_all_lengths_and_algorithms() {
    let p = default_provider();
    let all = [
        gcm_keys(Encr::AesGcm16_128, k128()),
        gcm_keys(Encr::AesGcm16_256, k256()),
        cbc_keys(
            Encr::AesCbc128,
            seq_bytes(1, 16),
            Integ::HmacSha256_128,
            seq_bytes(2, 32),
        ),
        cbc_keys(
            Encr::AesCbc256,
            seq_bytes(3, 32),
            Integ::HmacSha384_192,
            seq_bytes(4, 48),
        ),
    ];
    for keys in all {
        let mut tx = EspSa::outbound(0x500, &keys, p.as_ref()).unwrap();
        let mut rx = EspSa::inbound(0x500, &keys, 128, p.as_ref()).unwrap();
        let mut buf = vec![0u8; 2048];
        for len in 0..=300usize {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let n = tx.encapsulate(&payload, 41, p.as_ref(), &mut buf).unwrap();
            assert_eq!(n, len + tx.overhead(len));
            // ciphertext alignment: CBC 16, GCM 4 (RFC 4303 §2.4)
            let icv = keys.integ.map_or(16, |i| i.icv_len());
            let enc = n - 8 - keys.encr.iv_len() - icv;
            assert_eq!(enc % keys.encr.block_len(), 0, "len {len}");
            assert!(
                enc - len - 2 < keys.encr.block_len(),
                "minimal padding, len {len}"
            );
            let d = rx.decapsulate(&mut buf[..n]).unwrap();
            assert_eq!(&buf[d.payload.clone()], &payload[..], "len {len}");
            assert_eq!(d.next_header, 41);
        }
        // a too-small output buffer is a named error, and no sequence number is used
        let before = tx.last_sequence();
        let need = 100 + tx.overhead(100);
        let err = tx.encapsulate(&[0; 100], 4, p.as_ref(), &mut buf[..need - 1]);
        assert_eq!(
            err,
            Err(negotiator_esp::EspError::BufferTooSmall { needed: need })
        );
        assert_eq!(tx.last_sequence(), before);
    }
}
