//! Local key and signature provider on aws-lc-rs.
//!
//! `negotiator-crypto` did not yet offer signatures when this crate was
//! written; this small provider offers the same shape (`KeyType`,
//! `PrivateKey`) so the switch is confined to this file and `sig.rs`.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as s, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::PkiError;

/// Key algorithms and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA, 2048-bit modulus.
    Rsa2048,
    /// RSA, 3072-bit modulus.
    Rsa3072,
    /// RSA, 4096-bit modulus.
    Rsa4096,
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
}

impl KeyType {
    /// Parses `rsa2048`, `rsa3072`, `rsa4096`, `ecdsa-p256`, `ecdsa-p384`, `ed25519`.
    pub fn from_name(name: &str) -> Option<KeyType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "rsa2048" => KeyType::Rsa2048,
            "rsa3072" => KeyType::Rsa3072,
            "rsa4096" => KeyType::Rsa4096,
            "ecdsa-p256" | "p256" => KeyType::EcdsaP256,
            "ecdsa-p384" | "p384" => KeyType::EcdsaP384,
            "ed25519" => KeyType::Ed25519,
            _ => return None,
        })
    }

    /// Canonical name (as accepted by [`KeyType::from_name`]).
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

enum Inner {
    Rsa(s::RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key (secret material stays inside aws-lc; `Debug`
/// shows only the type).
pub struct PrivateKey {
    inner: Inner,
    key_type: KeyType,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, <redacted>)", self.key_type.name())
    }
}

fn cerr(what: &str) -> PkiError {
    PkiError::Crypto(what.to_string())
}

impl PrivateKey {
    /// Generates a new key.
    pub fn generate(key_type: KeyType) -> Result<PrivateKey, PkiError> {
        let inner = match key_type {
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                let size = match key_type {
                    KeyType::Rsa2048 => KeySize::Rsa2048,
                    KeyType::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                Inner::Rsa(s::RsaKeyPair::generate(size).map_err(|_| cerr("RSA key generation"))?)
            }
            KeyType::EcdsaP256 => Inner::Ec(
                EcdsaKeyPair::generate(&s::ECDSA_P256_SHA256_ASN1_SIGNING)
                    .map_err(|_| cerr("P-256 key generation"))?,
            ),
            KeyType::EcdsaP384 => Inner::Ec(
                EcdsaKeyPair::generate(&s::ECDSA_P384_SHA384_ASN1_SIGNING)
                    .map_err(|_| cerr("P-384 key generation"))?,
            ),
            KeyType::Ed25519 => {
                Inner::Ed(Ed25519KeyPair::generate().map_err(|_| cerr("Ed25519 key generation"))?)
            }
        };
        Ok(PrivateKey { inner, key_type })
    }

    /// Imports a PKCS#8 DER key (RSA, P-256, P-384 or Ed25519).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, PkiError> {
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&s::ECDSA_P256_SHA256_ASN1_SIGNING, der) {
            return Ok(PrivateKey {
                inner: Inner::Ec(k),
                key_type: KeyType::EcdsaP256,
            });
        }
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&s::ECDSA_P384_SHA384_ASN1_SIGNING, der) {
            return Ok(PrivateKey {
                inner: Inner::Ec(k),
                key_type: KeyType::EcdsaP384,
            });
        }
        if let Ok(k) = s::RsaKeyPair::from_pkcs8(der) {
            let key_type = match k.public_modulus_len() * 8 {
                2048 => KeyType::Rsa2048,
                3072 => KeyType::Rsa3072,
                4096 => KeyType::Rsa4096,
                n => {
                    return Err(PkiError::Crypto(format!(
                        "unsupported RSA modulus size {n}"
                    )));
                }
            };
            return Ok(PrivateKey {
                inner: Inner::Rsa(k),
                key_type,
            });
        }
        if let Ok(k) = Ed25519KeyPair::from_pkcs8(der) {
            return Ok(PrivateKey {
                inner: Inner::Ed(k),
                key_type: KeyType::Ed25519,
            });
        }
        Err(cerr(
            "PKCS#8 key is not RSA, P-256, P-384 or Ed25519, or is malformed",
        ))
    }

    /// Exports the key as PKCS#8 v1 DER (zeroized on drop).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, PkiError> {
        let v = match &self.inner {
            Inner::Rsa(k) => {
                let d: Pkcs8V1Der<'static> = k.as_der().map_err(|_| cerr("PKCS#8 export"))?;
                d.as_ref().to_vec()
            }
            Inner::Ec(k) => k
                .to_pkcs8v1()
                .map_err(|_| cerr("PKCS#8 export"))?
                .as_ref()
                .to_vec(),
            Inner::Ed(k) => k
                .to_pkcs8v1()
                .map_err(|_| cerr("PKCS#8 export"))?
                .as_ref()
                .to_vec(),
        };
        Ok(Zeroizing::new(v))
    }

    /// SubjectPublicKeyInfo DER of the public key.
    pub fn public_key_spki_der(&self) -> Result<Vec<u8>, PkiError> {
        let d = match &self.inner {
            Inner::Rsa(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::Ec(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::Ed(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        d.map_err(|_| cerr("public key export"))
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Signs `msg` with the certificate scheme of this key (RSA:
    /// PKCS#1 v1.5 SHA-256; P-256: ECDSA SHA-256; P-384: ECDSA SHA-384;
    /// Ed25519), ECDSA signatures DER-encoded.
    pub(crate) fn sign_cert(&self, msg: &[u8]) -> Result<Vec<u8>, PkiError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&s::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| cerr("RSA signing"))?;
                Ok(sig)
            }
            Inner::Ec(k) => Ok(k
                .sign(&rng, msg)
                .map_err(|_| cerr("ECDSA signing"))?
                .as_ref()
                .to_vec()),
            Inner::Ed(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }
}
