//! Rough per-operation timings of the default provider.
//!
//! `cargo run -p negotiator-crypto --example crypto_bench` (dependencies are
//! built with opt-level 2 even in the dev profile, so the numbers are close to
//! release for the aws-lc-rs and crypto-bigint parts).

use std::time::Instant;

use negotiator_crypto::{
    Encr, Group, Integ, KeyType, PrivateKey, SigEncoding, default_provider, verify_signature,
};

fn time<F: FnMut()>(name: &str, n: u32, mut f: F) {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    let per = start.elapsed() / n;
    println!("{name:<40} {per:>12.2?} per op");
}

fn main() {
    let p = default_provider();
    for g in Group::ALL {
        let n = if matches!(g, Group::Modp2048 | Group::Modp3072) {
            20
        } else {
            500
        };
        time(
            &format!("key exchange {} (both sides)", g.name()),
            n,
            || {
                let a = p.start_key_exchange(g).expect("start");
                let b = p.start_key_exchange(g).expect("start");
                let pb = b.public_key().to_vec();
                let pa = a.public_key().to_vec();
                let sa = a.complete(&pb).expect("complete");
                let sb = b.complete(&pa).expect("complete");
                assert_eq!(sa, sb);
            },
        );
    }
    let gcm = p.cipher_key(Encr::AesGcm16_128, &[7; 20]).expect("key");
    let mut buf = vec![0u8; 1400];
    let mut tag = [0u8; 16];
    time("aes128gcm16 encrypt 1400 octets", 20_000, || {
        gcm.encrypt(&[1; 8], &[2; 8], &mut buf, &mut tag)
            .expect("enc");
    });
    let cbc = p.cipher_key(Encr::AesCbc128, &[7; 16]).expect("key");
    time("aes128cbc encrypt 1408 octets", 20_000, || {
        cbc.encrypt(&[1; 16], &[], &mut buf[..1392], &mut [])
            .expect("enc");
    });
    let integ = p.integ_key(Integ::HmacSha256_128, &[9; 32]).expect("key");
    let mut icv = [0u8; 16];
    time("sha256_128 ICV over 1400 octets", 20_000, || {
        integ.compute(&[&buf], &mut icv)
    });
    for kt in [KeyType::EcdsaP256, KeyType::Ed25519, KeyType::Rsa2048] {
        let k = PrivateKey::generate(kt).expect("keygen");
        let s = k.default_scheme();
        let spki = k.public_key_spki_der();
        let msg = [5u8; 600];
        let sig = k.sign(s, &msg).expect("sign");
        time(&format!("sign {}", kt.name()), 200, || {
            k.sign(s, &msg).expect("sign");
        });
        time(&format!("verify {}", kt.name()), 200, || {
            verify_signature(&spki, s, SigEncoding::Der, &msg, &sig).expect("verify");
        });
    }
}
