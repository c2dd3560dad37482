//! Cryptographic operations for Negotiator's IKE and ESP implementations.
//!
//! Everything is reached through the [`CryptoProvider`] trait; [`default_provider`]
//! returns the aws-lc-rs backed implementation (MODP groups use crypto-bigint's
//! constant-time Montgomery arithmetic). Key derivation for IKEv2 lives in
//! [`ikev2`] (and IKEv1 in [`ikev1`]), signatures in [`sig`] (re-exported at
//! the crate root).

#![warn(missing_docs)]

mod alg;
mod der;
mod kex;
mod provider;
mod secret;

pub mod ikev1;
pub mod ikev2;
pub mod sig;

pub use alg::{Encr, Group, Integ, Prf};
pub use provider::{AwsLcProvider, default_provider};
pub use secret::Secret;
pub use sig::{
    HashAlgorithm, KeyType, PrivateKey, SigEncoding, SignatureScheme, sign_with_encoding,
    verify_signature,
};

use std::fmt;

/// Errors returned by cryptographic operations.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    /// A key had the wrong length for the algorithm.
    InvalidKeyLength,
    /// An IV / nonce had the wrong length.
    InvalidIvLength,
    /// The data length is not acceptable (e.g. not a multiple of the block size).
    InvalidDataLength,
    /// An authentication tag buffer had the wrong length.
    InvalidTagLength,
    /// A peer's key-exchange public value is malformed or not in the group.
    InvalidPublicKey,
    /// Decryption failed for a reason other than an authentication failure.
    DecryptFailed,
    /// AEAD tag or ICV verification failed.
    IntegrityFailed,
    /// The requested output is longer than the function can produce.
    OutputTooLong,
    /// The algorithm or combination is not supported.
    Unsupported(&'static str),
    /// The random number generator failed.
    Rng,
    /// Signature creation or verification failed.
    Signature,
    /// A key or encoded structure could not be parsed.
    KeyFormat,
    /// The key-exchange computation failed (e.g. all-zero X25519 result).
    KeyExchange,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::InvalidKeyLength => f.write_str("invalid key length"),
            CryptoError::InvalidIvLength => f.write_str("invalid IV length"),
            CryptoError::InvalidDataLength => f.write_str("invalid data length"),
            CryptoError::InvalidTagLength => f.write_str("invalid tag length"),
            CryptoError::InvalidPublicKey => f.write_str("invalid peer public key"),
            CryptoError::DecryptFailed => f.write_str("decryption failed"),
            CryptoError::IntegrityFailed => f.write_str("integrity check failed"),
            CryptoError::OutputTooLong => f.write_str("requested output too long"),
            CryptoError::Unsupported(what) => write!(f, "unsupported: {what}"),
            CryptoError::Rng => f.write_str("random number generator failure"),
            CryptoError::Signature => f.write_str("signature operation failed"),
            CryptoError::KeyFormat => f.write_str("malformed key or encoding"),
            CryptoError::KeyExchange => f.write_str("key exchange failed"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// A symmetric cipher key bound to one algorithm, built once per SA.
///
/// Neither operation allocates.
pub trait CipherKey: Send + Sync {
    /// The algorithm of this key.
    fn alg(&self) -> Encr;
    /// Encrypts `data` in place.
    ///
    /// CBC: `data.len() % 16 == 0`, `iv` is 16 octets, `aad` is ignored and `tag`
    /// must be empty. GCM: `iv` is the 8-octet explicit IV; the nonce is
    /// salt (last 4 octets of the keying material) || iv; the 16-octet tag is
    /// written to `tag`.
    fn encrypt(
        &self,
        iv: &[u8],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), CryptoError>;
    /// Decrypts `data` in place. A GCM tag mismatch yields
    /// [`CryptoError::IntegrityFailed`].
    fn decrypt(
        &self,
        iv: &[u8],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<(), CryptoError>;
}

/// An integrity (truncated HMAC, RFC 4868) key, built once per SA.
pub trait IntegKey: Send + Sync {
    /// The algorithm of this key.
    fn alg(&self) -> Integ;
    /// Computes the truncated ICV over the concatenation of `data` into `out`.
    ///
    /// If `out` is shorter than the ICV only `out.len()` octets are written; if
    /// longer, the surplus is left untouched. Callers pass `icv_len` octets.
    fn compute(&self, data: &[&[u8]], out: &mut [u8]);
    /// Verifies `icv` (which must be exactly `icv_len` octets) in constant time.
    fn verify(&self, data: &[&[u8]], icv: &[u8]) -> bool;
}

/// One side of an ephemeral key exchange.
pub trait KeyExchange: Send {
    /// The group of this exchange.
    fn group(&self) -> Group;
    /// Our public value in IKE wire form: MODP big-endian padded to the prime
    /// length; ECP x || y (RFC 5903 §7); X25519 32 octets (RFC 8031).
    fn public_key(&self) -> &[u8];
    /// Validates the peer's public value and computes the shared secret:
    /// MODP padded to the prime length, ECP x coordinate only, X25519 32 octets.
    fn complete(self: Box<Self>, peer_public: &[u8]) -> Result<Secret, CryptoError>;
}

/// A provider of all cryptographic primitives used by IKE and ESP.
pub trait CryptoProvider: Send + Sync + fmt::Debug {
    /// Fills `out` with cryptographically secure random octets.
    fn fill_random(&self, out: &mut [u8]) -> Result<(), CryptoError>;
    /// Starts an ephemeral key exchange in `group`.
    fn start_key_exchange(&self, group: Group) -> Result<Box<dyn KeyExchange>, CryptoError>;
    /// Computes `prf(key, data[0] | data[1] | ...)`.
    fn prf(&self, alg: Prf, key: &[u8], data: &[&[u8]]) -> Result<Secret, CryptoError>;
    /// Builds an integrity key; `key.len()` must equal `alg.key_len()`.
    fn integ_key(&self, alg: Integ, key: &[u8]) -> Result<Box<dyn IntegKey>, CryptoError>;
    /// Builds a cipher key; `key.len()` must equal `alg.key_len()` (salt included for GCM).
    fn cipher_key(&self, alg: Encr, key: &[u8]) -> Result<Box<dyn CipherKey>, CryptoError>;
}

#[cfg(test)]
pub(crate) mod test_util {
    /// Decodes a hex string (whitespace ignored); test helper only.
    pub fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert!(digits.len().is_multiple_of(2), "odd hex length");
        digits
            .chunks(2)
            .map(|p| {
                let t = std::str::from_utf8(p).expect("ascii");
                u8::from_str_radix(t, 16).expect("hex digit")
            })
            .collect()
    }
}
