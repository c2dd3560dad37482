//! EspEngine fed from the SA database through the `Engine` trait: two
//! engines with mirrored SAs talk to each other.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use common::{cbc_keys, gcm_keys, seq_bytes};
use negotiator_crypto::{Encr, Integ, default_provider};
use negotiator_esp::{EspEngine, EspError, ReplayError};
use negotiator_sadb::{
    ChildSaEntry, Engine, EngineError, Lifetime, Mode, SaDb, SaKeys, SaParams, TsRange,
};

fn v4(d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, d))
}

fn keys_a() -> SaKeys {
    gcm_keys(Encr::AesGcm16_128, seq_bytes(0x11, 20))
}

fn keys_b() -> SaKeys {
    cbc_keys(
        Encr::AesCbc256,
        seq_bytes(0x22, 32),
        Integ::HmacSha256_128,
        seq_bytes(0x33, 32),
    )
}

/// Entry as seen by the side whose inbound SPI is `spi_in`.
fn entry(spi_in: u32, spi_out: u32, inbound: SaKeys, outbound: SaKeys, remote: u8) -> ChildSaEntry {
    let params = SaParams {
        ike_sa: 1,
        spi_in,
        spi_out,
        local: v4(1),
        remote: v4(remote),
        encap: None,
        mode: Mode::Tunnel,
        local_ts: vec![TsRange::host(v4(101))],
        remote_ts: vec![TsRange::host(v4(100 + remote))],
        inbound,
        outbound,
        lifetime: Lifetime::default(),
        replay_window: 64,
    };
    let mut db = SaDb::new();
    db.install(params, Instant::now()).unwrap();
    db.delete(spi_in).unwrap()
}

#[test]
fn two_engines_talk() {
    let p = default_provider();
    let mut alice = EspEngine::new(p.clone());
    let mut bob = EspEngine::new(p);
    // alice receives on 0xa000 with keys_b, sends to 0xb000 with keys_a; bob mirrors
    alice
        .install(&entry(0xa000, 0xb000, keys_b(), keys_a(), 2))
        .unwrap();
    bob.install(&entry(0xb000, 0xa000, keys_a(), keys_b(), 3))
        .unwrap();
    assert_eq!(alice.len(), 1);

    let mut buf = [0u8; 512];
    let n = alice.seal(0xb000, b"ping", 4, &mut buf).unwrap();
    assert_eq!(n, 4 + alice.overhead(0xb000, 4).unwrap());
    let (spi, d) = bob.open(&mut buf[..n]).unwrap();
    assert_eq!(spi, 0xb000);
    assert_eq!(&buf[d.payload.clone()], b"ping");
    // replayed copy
    let n = alice.seal(0xb000, b"ping2", 4, &mut buf).unwrap();
    let copy = buf[..n].to_vec();
    bob.open(&mut buf[..n]).unwrap();
    let mut again = copy.clone();
    assert_eq!(
        bob.open(&mut again),
        Err(EspError::Replay(ReplayError::Duplicate))
    );
    assert_eq!(bob.inbound_sa(0xb000).unwrap().stats().replay_drops, 1);

    let n = bob.seal(0xa000, b"pong", 4, &mut buf).unwrap();
    let (spi, d) = alice.open(&mut buf[..n]).unwrap();
    assert_eq!((spi, &buf[d.payload]), (0xa000, &b"pong"[..]));

    // unknown SPI, runts
    let mut junk = [0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 0, 0];
    assert_eq!(
        alice.open(&mut junk),
        Err(EspError::UnknownSpi(0xdead_beef))
    );
    assert_eq!(alice.open(&mut junk[..7]), Err(EspError::Truncated));
    assert_eq!(
        alice.seal(0x1234, b"x", 4, &mut buf),
        Err(EspError::UnknownSpi(0x1234))
    );

    // duplicate install, removal
    assert_eq!(
        alice.install(&entry(0xa000, 0xb001, keys_b(), keys_a(), 2)),
        Err(EngineError::DuplicateSpi(0xa000))
    );
    alice.remove(0xa000, 0xb000);
    assert!(alice.is_empty());
    let n = bob.seal(0xa000, b"pong", 4, &mut buf).unwrap();
    assert_eq!(alice.open(&mut buf[..n]), Err(EspError::UnknownSpi(0xa000)));
    assert_eq!(
        alice.seal(0xb000, b"x", 4, &mut buf),
        Err(EspError::UnknownSpi(0xb000))
    );
}

#[test]
fn colliding_outbound_spis() {
    // Two peers picked the same SPI 0x5555 for their inbound SAs.
    let mut eng = EspEngine::new(default_provider());
    eng.install(&entry(0x1001, 0x5555, keys_a(), keys_a(), 2))
        .unwrap();
    eng.install(&entry(0x1002, 0x5555, keys_b(), keys_b(), 3))
        .unwrap();
    let mut buf = [0u8; 256];
    assert_eq!(
        eng.seal(0x5555, b"x", 4, &mut buf),
        Err(EspError::AmbiguousSpi(0x5555))
    );
    // addressed by the pair's inbound SPI it works, with each pair's keys
    let n = eng.seal_pair(0x1002, b"x", 4, &mut buf).unwrap();
    assert_eq!(n, 1 + eng.outbound_sa(0x1002).unwrap().overhead(1));
    assert_eq!(eng.outbound_sa(0x1002).unwrap().encr(), Encr::AesCbc256);
    eng.remove(0x1002, 0x5555);
    let n = eng.seal(0x5555, b"x", 4, &mut buf).unwrap();
    assert_eq!(&buf[..4], &0x5555u32.to_be_bytes());
    assert_eq!(n, 1 + eng.overhead(0x5555, 1).unwrap());
    assert_eq!(eng.outbound_sa(0x1001).unwrap().last_sequence(), 1);
}

#[test]
fn bad_entries_are_rejected() {
    let mut eng = EspEngine::new(default_provider());
    let mut e = entry(0x2001, 0x2002, keys_a(), keys_a(), 2);
    e.params.replay_window = 20; // not installable through SaDb, but the engine checks too
    assert!(matches!(eng.install(&e), Err(EngineError::Unsupported(_))));
    let mut e = entry(0x2001, 0x2002, keys_a(), keys_a(), 2);
    e.params.outbound.enc_key = negotiator_crypto::Secret::new(vec![0; 3]);
    assert!(matches!(eng.install(&e), Err(EngineError::InvalidKeys(_))));
    assert!(eng.is_empty());
}
