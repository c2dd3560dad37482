//! Shared helpers for the ESP integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use negotiator_crypto::{
    CipherKey, CryptoError, CryptoProvider, Encr, Group, Integ, IntegKey, KeyExchange, Prf, Secret,
    default_provider,
};
use negotiator_sadb::SaKeys;

/// Decodes hex (test input only).
pub fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(s.len().is_multiple_of(2));
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// Delegates to the default provider but returns a fixed byte pattern as
/// "random" output, so CBC packets with a chosen IV can be compared with
/// independently computed ones.
#[derive(Debug)]
pub struct FixedRandom {
    inner: Arc<dyn CryptoProvider>,
    pattern: Vec<u8>,
}

impl FixedRandom {
    pub fn new(pattern: &[u8]) -> Self {
        FixedRandom {
            inner: default_provider(),
            pattern: pattern.to_vec(),
        }
    }
}

impl CryptoProvider for FixedRandom {
    fn fill_random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        for (o, p) in out.iter_mut().zip(self.pattern.iter().cycle()) {
            *o = *p;
        }
        Ok(())
    }
    fn start_key_exchange(&self, group: Group) -> Result<Box<dyn KeyExchange>, CryptoError> {
        self.inner.start_key_exchange(group)
    }
    fn prf(&self, alg: Prf, key: &[u8], data: &[&[u8]]) -> Result<Secret, CryptoError> {
        self.inner.prf(alg, key, data)
    }
    fn integ_key(&self, alg: Integ, key: &[u8]) -> Result<Box<dyn IntegKey>, CryptoError> {
        self.inner.integ_key(alg, key)
    }
    fn cipher_key(&self, alg: Encr, key: &[u8]) -> Result<Box<dyn CipherKey>, CryptoError> {
        self.inner.cipher_key(alg, key)
    }
}

/// Octets `start, start+1, ...` (`len` of them).
pub fn seq_bytes(start: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| start.wrapping_add(i as u8)).collect()
}

pub fn gcm_keys(encr: Encr, key_and_salt: Vec<u8>) -> SaKeys {
    SaKeys {
        encr,
        enc_key: Secret::new(key_and_salt),
        integ: None,
        integ_key: Secret::new(Vec::new()),
    }
}

pub fn cbc_keys(encr: Encr, key: Vec<u8>, integ: Integ, ikey: Vec<u8>) -> SaKeys {
    SaKeys {
        encr,
        enc_key: Secret::new(key),
        integ: Some(integ),
        integ_key: Secret::new(ikey),
    }
}
