//! Signatures for IKEv2 authentication (RFC 7427 digital signatures, RFC 4754
//! ECDSA, RFC 8420 Ed25519) and the PKI: key generation, PKCS#8, SPKI,
//! AlgorithmIdentifiers.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey,
    VerificationAlgorithm,
};

use crate::der::{self, Reader};
use crate::{CryptoError, Secret};

/// Private key types that can be generated and used for signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// ECDSA over NIST P-256.
    EcdsaP256,
    /// ECDSA over NIST P-384.
    EcdsaP384,
    /// Ed25519 (RFC 8032).
    Ed25519,
}

impl KeyType {
    /// All key types.
    pub const ALL: [KeyType; 6] = [
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
    ];

    /// Short name ("rsa2048", "ecdsa-p256", "ed25519", ...).
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

    /// Parses a name as returned by [`KeyType::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        KeyType::ALL.into_iter().find(|k| k.name() == name)
    }

    /// True for the RSA key types.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }
}

/// Signature schemes (RFC 7427 AlgorithmIdentifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// sha1WithRSAEncryption: verification only.
    RsaPkcs1Sha1,
    /// sha256WithRSAEncryption.
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption.
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption.
    RsaPkcs1Sha512,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32.
    RsaPssSha256,
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.
    RsaPssSha384,
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, salt 64.
    RsaPssSha512,
    /// ecdsa-with-SHA256.
    EcdsaSha256,
    /// ecdsa-with-SHA384.
    EcdsaSha384,
    /// ecdsa-with-SHA512.
    EcdsaSha512,
    /// Ed25519 (pure).
    Ed25519,
}

/// ECDSA signature encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigEncoding {
    /// DER ECDSA-Sig-Value (RFC 7427 method 14, X.509).
    Der,
    /// Fixed-width r || s (RFC 4754, IKEv2 auth methods 9/10/11).
    Fixed,
}

/// RFC 7427 §4 SIGNATURE_HASH_ALGORITHMS values (plus Identity, RFC 8420).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum HashAlgorithm {
    /// SHA2-256.
    Sha256 = 2,
    /// SHA2-384.
    Sha384 = 3,
    /// SHA2-512.
    Sha512 = 4,
    /// Identity (for Ed25519 / Ed448, RFC 8420).
    Identity = 5,
}

impl HashAlgorithm {
    /// Maps a notification value to a hash algorithm.
    pub fn from_u16(v: u16) -> Option<Self> {
        match v {
            2 => Some(HashAlgorithm::Sha256),
            3 => Some(HashAlgorithm::Sha384),
            4 => Some(HashAlgorithm::Sha512),
            5 => Some(HashAlgorithm::Identity),
            _ => None,
        }
    }

    /// The notification value.
    pub fn value(self) -> u16 {
        self as u16
    }
}

// --- AlgorithmIdentifier encodings (RFC 7427 Appendix A, RFC 8420) ---

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
const OID_SHA1_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_SHA384_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_SHA512_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

const AI_SHA1_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
];
const AI_SHA256_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
const AI_SHA384_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
];
const AI_SHA512_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00,
];
const AI_ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
const AI_ECDSA_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];
const AI_ECDSA_SHA512: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
];
const AI_ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// RSASSA-PSS AlgorithmIdentifier with explicit hash, MGF1(hash) and salt
/// length = hash length; `h` is the last octet of the hash OID, `salt` the salt length.
macro_rules! pss_ai {
    ($h:expr, $salt:expr) => {
        &[
            0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
            0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
            0x02, $h, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
            0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
            0x04, 0x02, $h, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, $salt,
        ]
    };
}
const AI_PSS_SHA256: &[u8] = pss_ai!(0x01, 0x20);
const AI_PSS_SHA384: &[u8] = pss_ai!(0x02, 0x30);
const AI_PSS_SHA512: &[u8] = pss_ai!(0x03, 0x40);

impl SignatureScheme {
    /// All schemes.
    pub const ALL: [SignatureScheme; 11] = [
        SignatureScheme::RsaPkcs1Sha1,
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPkcs1Sha384,
        SignatureScheme::RsaPkcs1Sha512,
        SignatureScheme::RsaPssSha256,
        SignatureScheme::RsaPssSha384,
        SignatureScheme::RsaPssSha512,
        SignatureScheme::EcdsaSha256,
        SignatureScheme::EcdsaSha384,
        SignatureScheme::EcdsaSha512,
        SignatureScheme::Ed25519,
    ];

    /// The DER AlgorithmIdentifier (RFC 7427 Appendix A form; PSS with explicit
    /// hash, MGF1 with the same hash and salt length equal to the hash length).
    pub fn algorithm_identifier(self) -> &'static [u8] {
        match self {
            SignatureScheme::RsaPkcs1Sha1 => AI_SHA1_RSA,
            SignatureScheme::RsaPkcs1Sha256 => AI_SHA256_RSA,
            SignatureScheme::RsaPkcs1Sha384 => AI_SHA384_RSA,
            SignatureScheme::RsaPkcs1Sha512 => AI_SHA512_RSA,
            SignatureScheme::RsaPssSha256 => AI_PSS_SHA256,
            SignatureScheme::RsaPssSha384 => AI_PSS_SHA384,
            SignatureScheme::RsaPssSha512 => AI_PSS_SHA512,
            SignatureScheme::EcdsaSha256 => AI_ECDSA_SHA256,
            SignatureScheme::EcdsaSha384 => AI_ECDSA_SHA384,
            SignatureScheme::EcdsaSha512 => AI_ECDSA_SHA512,
            SignatureScheme::Ed25519 => AI_ED25519,
        }
    }

    /// Parses a DER AlgorithmIdentifier. RSA PKCS#1 identifiers are accepted with
    /// absent or NULL parameters; ECDSA and Ed25519 with absent (or, leniently,
    /// NULL) parameters; RSASSA-PSS only with SHA-256/384/512, MGF1 over the same
    /// hash, salt length equal to the hash length and trailer field 1.
    pub fn from_algorithm_identifier(der: &[u8]) -> Option<Self> {
        let (oid, params) = parse_algorithm_identifier(der).ok()?;
        let null_or_absent = matches!(params, None | Some(&[0x05, 0x00]));
        let s = match oid {
            o if o == OID_SHA1_RSA => SignatureScheme::RsaPkcs1Sha1,
            o if o == OID_SHA256_RSA => SignatureScheme::RsaPkcs1Sha256,
            o if o == OID_SHA384_RSA => SignatureScheme::RsaPkcs1Sha384,
            o if o == OID_SHA512_RSA => SignatureScheme::RsaPkcs1Sha512,
            o if o == OID_ECDSA_SHA256 => SignatureScheme::EcdsaSha256,
            o if o == OID_ECDSA_SHA384 => SignatureScheme::EcdsaSha384,
            o if o == OID_ECDSA_SHA512 => SignatureScheme::EcdsaSha512,
            o if o == OID_ED25519 => {
                return if params.is_none() {
                    Some(SignatureScheme::Ed25519)
                } else {
                    None
                };
            }
            o if o == OID_RSA_PSS => return parse_pss_params(params?).ok(),
            _ => return None,
        };
        null_or_absent.then_some(s)
    }

    /// The RFC 7427 hash algorithm used by this scheme.
    pub fn hash_algorithm(self) -> Option<HashAlgorithm> {
        match self {
            SignatureScheme::RsaPkcs1Sha1 => None,
            SignatureScheme::RsaPkcs1Sha256
            | SignatureScheme::RsaPssSha256
            | SignatureScheme::EcdsaSha256 => Some(HashAlgorithm::Sha256),
            SignatureScheme::RsaPkcs1Sha384
            | SignatureScheme::RsaPssSha384
            | SignatureScheme::EcdsaSha384 => Some(HashAlgorithm::Sha384),
            SignatureScheme::RsaPkcs1Sha512
            | SignatureScheme::RsaPssSha512
            | SignatureScheme::EcdsaSha512 => Some(HashAlgorithm::Sha512),
            SignatureScheme::Ed25519 => Some(HashAlgorithm::Identity),
        }
    }

    /// True for RSA schemes.
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            SignatureScheme::RsaPkcs1Sha1
                | SignatureScheme::RsaPkcs1Sha256
                | SignatureScheme::RsaPkcs1Sha384
                | SignatureScheme::RsaPkcs1Sha512
                | SignatureScheme::RsaPssSha256
                | SignatureScheme::RsaPssSha384
                | SignatureScheme::RsaPssSha512
        )
    }

    /// True for ECDSA schemes.
    pub fn is_ecdsa(self) -> bool {
        matches!(
            self,
            SignatureScheme::EcdsaSha256
                | SignatureScheme::EcdsaSha384
                | SignatureScheme::EcdsaSha512
        )
    }
}

/// Splits an AlgorithmIdentifier into (OID contents, raw parameter TLV).
fn parse_algorithm_identifier(der: &[u8]) -> Result<(&[u8], Option<&[u8]>), der::DerError> {
    let body = der::parse_single(der, der::TAG_SEQUENCE)?;
    let mut r = Reader::new(body)?;
    let oid = r.read(der::TAG_OID)?;
    let params = if r.is_empty() {
        None
    } else {
        Some(r.read_tlv_raw()?)
    };
    r.finish()?;
    Ok((oid, params))
}

fn hash_oid_of(ai: &[u8]) -> Result<&[u8], der::DerError> {
    let (oid, params) = parse_algorithm_identifier(ai)?;
    match params {
        None | Some(&[0x05, 0x00]) => Ok(oid),
        _ => Err(der::DerError),
    }
}

fn parse_pss_params(params: &[u8]) -> Result<SignatureScheme, der::DerError> {
    let body = der::parse_single(params, der::TAG_SEQUENCE)?;
    let mut r = Reader::new(body)?;
    let mut hash: Option<&[u8]> = None;
    let mut mgf_hash: Option<&[u8]> = None;
    let mut salt: Option<&[u8]> = None;
    if r.peek_tag() == Some(0xa0) {
        hash = Some(hash_oid_of(r.read(0xa0)?)?);
    }
    if r.peek_tag() == Some(0xa1) {
        let (oid, p) = parse_algorithm_identifier(r.read(0xa1)?)?;
        if oid != OID_MGF1 {
            return Err(der::DerError);
        }
        mgf_hash = Some(hash_oid_of(p.ok_or(der::DerError)?)?);
    }
    if r.peek_tag() == Some(0xa2) {
        salt = Some(der::unsigned_int(der::parse_single(
            r.read(0xa2)?,
            der::TAG_INTEGER,
        )?)?);
    }
    if r.peek_tag() == Some(0xa3) {
        let t = der::unsigned_int(der::parse_single(r.read(0xa3)?, der::TAG_INTEGER)?)?;
        if t != [1] {
            return Err(der::DerError);
        }
    }
    r.finish()?;
    // Defaults (SHA-1, MGF1-SHA-1, salt 20) are not supported.
    let hash = hash.ok_or(der::DerError)?;
    if mgf_hash != Some(hash) {
        return Err(der::DerError);
    }
    let (scheme, hlen) = match hash {
        h if h == OID_SHA256 => (SignatureScheme::RsaPssSha256, 32u8),
        h if h == OID_SHA384 => (SignatureScheme::RsaPssSha384, 48),
        h if h == OID_SHA512 => (SignatureScheme::RsaPssSha512, 64),
        _ => return Err(der::DerError),
    };
    if salt != Some(&[hlen][..]) {
        return Err(der::DerError);
    }
    Ok(scheme)
}

// --- Private keys ---

enum Inner {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A signing key. Holds the aws-lc-rs key pair and its (zeroized on drop)
/// PKCS#8 encoding; `Debug` shows only the key type.
pub struct PrivateKey {
    kt: KeyType,
    inner: Inner,
    pkcs8: Secret,
    spki: Vec<u8>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("key_type", &self.kt)
            .finish_non_exhaustive()
    }
}

fn rsa_key_type(modulus_len: usize) -> Result<KeyType, CryptoError> {
    match modulus_len {
        256 => Ok(KeyType::Rsa2048),
        384 => Ok(KeyType::Rsa3072),
        512 => Ok(KeyType::Rsa4096),
        _ => Err(CryptoError::Unsupported(
            "RSA modulus size (2048, 3072 or 4096 bits supported)",
        )),
    }
}

impl PrivateKey {
    /// Generates a fresh key.
    pub fn generate(kt: KeyType) -> Result<Self, CryptoError> {
        match kt {
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                let size = match kt {
                    KeyType::Rsa2048 => KeySize::Rsa2048,
                    KeyType::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let kp = RsaKeyPair::generate(size).map_err(|_| CryptoError::Rng)?;
                let pkcs8 = kp.as_der().map_err(|_| CryptoError::KeyFormat)?;
                Self::from_rsa(kp, Secret::from_slice(pkcs8.as_ref()))
            }
            KeyType::EcdsaP256 | KeyType::EcdsaP384 => {
                let kp =
                    EcdsaKeyPair::generate(ecdsa_signing_alg(kt)).map_err(|_| CryptoError::Rng)?;
                let pkcs8 = kp.to_pkcs8v1().map_err(|_| CryptoError::KeyFormat)?;
                Self::from_ecdsa(kt, kp, Secret::from_slice(pkcs8.as_ref()))
            }
            KeyType::Ed25519 => {
                let kp = Ed25519KeyPair::generate().map_err(|_| CryptoError::Rng)?;
                let pkcs8 = kp.to_pkcs8v1().map_err(|_| CryptoError::KeyFormat)?;
                Self::from_ed25519(kp, Secret::from_slice(pkcs8.as_ref()))
            }
        }
    }

    fn from_rsa(kp: RsaKeyPair, pkcs8: Secret) -> Result<Self, CryptoError> {
        let kt = rsa_key_type(kp.public_modulus_len())?;
        let spki = kp
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::KeyFormat)?
            .as_ref()
            .to_vec();
        Ok(PrivateKey {
            kt,
            inner: Inner::Rsa(kp),
            pkcs8,
            spki,
        })
    }

    fn from_ecdsa(kt: KeyType, kp: EcdsaKeyPair, pkcs8: Secret) -> Result<Self, CryptoError> {
        let spki = kp
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::KeyFormat)?
            .as_ref()
            .to_vec();
        Ok(PrivateKey {
            kt,
            inner: Inner::Ecdsa(kp),
            pkcs8,
            spki,
        })
    }

    fn from_ed25519(kp: Ed25519KeyPair, pkcs8: Secret) -> Result<Self, CryptoError> {
        let spki = kp
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::KeyFormat)?
            .as_ref()
            .to_vec();
        Ok(PrivateKey {
            kt: KeyType::Ed25519,
            inner: Inner::Ed25519(kp),
            pkcs8,
            spki,
        })
    }

    /// Loads a PKCS#8 DER private key: RSA (rsaEncryption), EC P-256/P-384, or
    /// Ed25519 (PKCS#8 v1 or v2).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        if der.len() > der::MAX_DER_LEN {
            return Err(CryptoError::KeyFormat);
        }
        // Look at the privateKeyAlgorithm to pick the parser.
        let body = der::parse_single(der, der::TAG_SEQUENCE).map_err(|_| CryptoError::KeyFormat)?;
        let mut r = Reader::new(body).map_err(|_| CryptoError::KeyFormat)?;
        r.read(der::TAG_INTEGER)
            .map_err(|_| CryptoError::KeyFormat)?;
        let ai = r.read_tlv_raw().map_err(|_| CryptoError::KeyFormat)?;
        let (oid, params) = parse_algorithm_identifier(ai).map_err(|_| CryptoError::KeyFormat)?;
        let pkcs8 = Secret::from_slice(der);
        if oid == OID_RSA_ENCRYPTION {
            let kp = RsaKeyPair::from_pkcs8(der).map_err(|_| CryptoError::KeyFormat)?;
            Self::from_rsa(kp, pkcs8)
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = params.and_then(|p| der::parse_single(p, der::TAG_OID).ok());
            let kt = match curve {
                Some(c) if c == OID_P256 => KeyType::EcdsaP256,
                Some(c) if c == OID_P384 => KeyType::EcdsaP384,
                _ => {
                    return Err(CryptoError::Unsupported(
                        "EC curve (P-256 or P-384 supported)",
                    ));
                }
            };
            let kp = EcdsaKeyPair::from_pkcs8(ecdsa_signing_alg(kt), der)
                .map_err(|_| CryptoError::KeyFormat)?;
            Self::from_ecdsa(kt, kp, pkcs8)
        } else if oid == OID_ED25519 {
            let kp = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|_| CryptoError::KeyFormat)?;
            Self::from_ed25519(kp, pkcs8)
        } else {
            Err(CryptoError::Unsupported("private key algorithm"))
        }
    }

    /// The PKCS#8 DER encoding (as loaded, or PKCS#8 v1 for generated keys).
    pub fn to_pkcs8_der(&self) -> Secret {
        self.pkcs8.clone()
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.kt
    }

    /// The default scheme: RSA → PKCS#1 v1.5 SHA-256, P-256 → ECDSA-SHA256,
    /// P-384 → ECDSA-SHA384, Ed25519 → Ed25519.
    pub fn default_scheme(&self) -> SignatureScheme {
        match self.kt {
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                SignatureScheme::RsaPkcs1Sha256
            }
            KeyType::EcdsaP256 => SignatureScheme::EcdsaSha256,
            KeyType::EcdsaP384 => SignatureScheme::EcdsaSha384,
            KeyType::Ed25519 => SignatureScheme::Ed25519,
        }
    }

    /// Signs `msg`. ECDSA signatures are DER-encoded (use [`sign_with_encoding`]
    /// for the RFC 4754 fixed form). ECDSA keys sign only with their curve's hash
    /// (P-256/SHA-256, P-384/SHA-384); SHA-1 is never used for signing.
    pub fn sign(&self, scheme: SignatureScheme, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            Inner::Rsa(kp) => {
                let enc: &'static dyn signature::RsaEncoding = match scheme {
                    SignatureScheme::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    SignatureScheme::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                    SignatureScheme::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
                    SignatureScheme::RsaPssSha256 => &signature::RSA_PSS_SHA256,
                    SignatureScheme::RsaPssSha384 => &signature::RSA_PSS_SHA384,
                    SignatureScheme::RsaPssSha512 => &signature::RSA_PSS_SHA512,
                    SignatureScheme::RsaPkcs1Sha1 => {
                        return Err(CryptoError::Unsupported("SHA-1 signing"));
                    }
                    _ => return Err(CryptoError::Unsupported("scheme does not match an RSA key")),
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(enc, &SystemRandom::new(), msg, &mut sig)
                    .map_err(|_| CryptoError::Signature)?;
                Ok(sig)
            }
            Inner::Ecdsa(kp) => {
                let ok = matches!(
                    (self.kt, scheme),
                    (KeyType::EcdsaP256, SignatureScheme::EcdsaSha256)
                        | (KeyType::EcdsaP384, SignatureScheme::EcdsaSha384)
                );
                if !ok {
                    return Err(CryptoError::Unsupported(
                        "ECDSA signing only with the curve's own hash",
                    ));
                }
                let sig = kp
                    .sign(&SystemRandom::new(), msg)
                    .map_err(|_| CryptoError::Signature)?;
                Ok(sig.as_ref().to_vec())
            }
            Inner::Ed25519(kp) => {
                if scheme != SignatureScheme::Ed25519 {
                    return Err(CryptoError::Unsupported(
                        "scheme does not match an Ed25519 key",
                    ));
                }
                let sig = kp.try_sign(msg).map_err(|_| CryptoError::Signature)?;
                Ok(sig.as_ref().to_vec())
            }
        }
    }
}

fn ecdsa_signing_alg(kt: KeyType) -> &'static signature::EcdsaSigningAlgorithm {
    if kt == KeyType::EcdsaP384 {
        &signature::ECDSA_P384_SHA384_ASN1_SIGNING
    } else {
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING
    }
}

/// Signs with an explicit ECDSA encoding (`enc` is ignored for RSA and Ed25519).
pub fn sign_with_encoding(
    key: &PrivateKey,
    scheme: SignatureScheme,
    enc: SigEncoding,
    msg: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let sig = key.sign(scheme, msg)?;
    match (enc, key.kt) {
        (SigEncoding::Fixed, KeyType::EcdsaP256) => ecdsa_der_to_fixed(&sig, 32),
        (SigEncoding::Fixed, KeyType::EcdsaP384) => ecdsa_der_to_fixed(&sig, 48),
        _ => Ok(sig),
    }
}

/// Converts a DER ECDSA-Sig-Value to fixed r || s with `n`-octet halves.
pub fn ecdsa_der_to_fixed(sig: &[u8], n: usize) -> Result<Vec<u8>, CryptoError> {
    let e = |_| CryptoError::Signature;
    let body = der::parse_single(sig, der::TAG_SEQUENCE).map_err(e)?;
    let mut r = Reader::new(body).map_err(e)?;
    let rv = der::unsigned_int(r.read(der::TAG_INTEGER).map_err(e)?).map_err(e)?;
    let sv = der::unsigned_int(r.read(der::TAG_INTEGER).map_err(e)?).map_err(e)?;
    r.finish().map_err(e)?;
    if rv.len() > n || sv.len() > n {
        return Err(CryptoError::Signature);
    }
    let mut out = vec![0u8; 2 * n];
    out[n - rv.len()..n].copy_from_slice(rv);
    out[2 * n - sv.len()..].copy_from_slice(sv);
    Ok(out)
}

/// Converts a fixed r || s ECDSA signature (`2 * n` octets) to DER.
pub fn ecdsa_fixed_to_der(sig: &[u8], n: usize) -> Result<Vec<u8>, CryptoError> {
    if sig.len() != 2 * n || n == 0 {
        return Err(CryptoError::Signature);
    }
    let (r, s) = sig.split_at(n);
    let mut body = Vec::with_capacity(2 * n + 6);
    der::write_unsigned_int(&mut body, r);
    der::write_unsigned_int(&mut body, s);
    let mut out = Vec::with_capacity(body.len() + 3);
    der::write_tlv(&mut out, der::TAG_SEQUENCE, &body);
    Ok(out)
}

/// Key algorithm found in a SubjectPublicKeyInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpkiKind {
    Rsa,
    RsaPss,
    P256,
    P384,
    Ed25519,
}

/// Parses SPKI → (kind, subjectPublicKey bits).
fn parse_spki(spki: &[u8]) -> Result<(SpkiKind, &[u8]), CryptoError> {
    let e = |_| CryptoError::KeyFormat;
    let body = der::parse_single(spki, der::TAG_SEQUENCE).map_err(e)?;
    let mut r = Reader::new(body).map_err(e)?;
    let ai = r.read_tlv_raw().map_err(e)?;
    let bits = r.read(der::TAG_BIT_STRING).map_err(e)?;
    r.finish().map_err(e)?;
    let key = match bits.split_first() {
        Some((0, k)) => k,
        _ => return Err(CryptoError::KeyFormat),
    };
    let (oid, params) = parse_algorithm_identifier(ai).map_err(e)?;
    let kind = if oid == OID_RSA_ENCRYPTION {
        SpkiKind::Rsa
    } else if oid == OID_RSA_PSS {
        SpkiKind::RsaPss
    } else if oid == OID_EC_PUBLIC_KEY {
        match params.and_then(|p| der::parse_single(p, der::TAG_OID).ok()) {
            Some(c) if c == OID_P256 => SpkiKind::P256,
            Some(c) if c == OID_P384 => SpkiKind::P384,
            _ => return Err(CryptoError::Unsupported("EC curve")),
        }
    } else if oid == OID_ED25519 {
        SpkiKind::Ed25519
    } else {
        return Err(CryptoError::Unsupported("public key algorithm"));
    };
    Ok((kind, key))
}

/// Verifies `sig` over `msg` with the public key in `spki_der`.
///
/// RSA keys of 1024 bits and more are accepted for PKCS#1 v1.5 with SHA-1,
/// SHA-256 and SHA-512 (PKITS uses 1024-bit keys); PKCS#1 SHA-384 and PSS need
/// at least 2048 bits (an aws-lc-rs limit). `enc` selects the ECDSA signature
/// encoding and is ignored otherwise.
pub fn verify_signature(
    spki_der: &[u8],
    scheme: SignatureScheme,
    enc: SigEncoding,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), CryptoError> {
    let (kind, key) = parse_spki(spki_der)?;
    let mismatch = CryptoError::Unsupported("signature scheme does not match the public key");
    let alg: &'static dyn VerificationAlgorithm = match (kind, scheme) {
        (SpkiKind::Rsa, SignatureScheme::RsaPkcs1Sha1) => {
            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        (SpkiKind::Rsa, SignatureScheme::RsaPkcs1Sha256) => {
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
        }
        (SpkiKind::Rsa, SignatureScheme::RsaPkcs1Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (SpkiKind::Rsa, SignatureScheme::RsaPkcs1Sha512) => {
            &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
        }
        (SpkiKind::Rsa | SpkiKind::RsaPss, SignatureScheme::RsaPssSha256) => {
            &signature::RSA_PSS_2048_8192_SHA256
        }
        (SpkiKind::Rsa | SpkiKind::RsaPss, SignatureScheme::RsaPssSha384) => {
            &signature::RSA_PSS_2048_8192_SHA384
        }
        (SpkiKind::Rsa | SpkiKind::RsaPss, SignatureScheme::RsaPssSha512) => {
            &signature::RSA_PSS_2048_8192_SHA512
        }
        (SpkiKind::P256, SignatureScheme::EcdsaSha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (SpkiKind::P256, SignatureScheme::EcdsaSha384) => &signature::ECDSA_P256_SHA384_ASN1,
        (SpkiKind::P256, SignatureScheme::EcdsaSha512) => &signature::ECDSA_P256_SHA512_ASN1,
        (SpkiKind::P384, SignatureScheme::EcdsaSha256) => &signature::ECDSA_P384_SHA256_ASN1,
        (SpkiKind::P384, SignatureScheme::EcdsaSha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (SpkiKind::P384, SignatureScheme::EcdsaSha512) => &signature::ECDSA_P384_SHA512_ASN1,
        (SpkiKind::Ed25519, SignatureScheme::Ed25519) => &signature::ED25519,
        _ => return Err(mismatch),
    };
    let converted;
    let sig = match (kind, enc) {
        (SpkiKind::P256, SigEncoding::Fixed) => {
            converted = ecdsa_fixed_to_der(sig, 32)?;
            converted.as_slice()
        }
        (SpkiKind::P384, SigEncoding::Fixed) => {
            converted = ecdsa_fixed_to_der(sig, 48)?;
            converted.as_slice()
        }
        _ => sig,
    };
    // RSA-PSS SPKIs are handed to aws-lc whole (it understands id-RSASSA-PSS);
    // the others as the raw subjectPublicKey.
    let key_bytes = if kind == SpkiKind::RsaPss {
        spki_der
    } else {
        key
    };
    UnparsedPublicKey::new(alg, key_bytes)
        .verify(msg, sig)
        .map_err(|_| CryptoError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    #[test]
    fn algorithm_identifiers_rfc7427_appendix_a() {
        // RFC 7427 Appendix A.1 / A.3 encodings and RFC 8420 §2 (Ed25519).
        let cases = [
            (
                SignatureScheme::RsaPkcs1Sha1,
                "300d06092a864886f70d0101050500",
            ),
            (
                SignatureScheme::RsaPkcs1Sha256,
                "300d06092a864886f70d01010b0500",
            ),
            (
                SignatureScheme::RsaPkcs1Sha384,
                "300d06092a864886f70d01010c0500",
            ),
            (
                SignatureScheme::RsaPkcs1Sha512,
                "300d06092a864886f70d01010d0500",
            ),
            (SignatureScheme::EcdsaSha256, "300a06082a8648ce3d040302"),
            (SignatureScheme::EcdsaSha384, "300a06082a8648ce3d040303"),
            (SignatureScheme::EcdsaSha512, "300a06082a8648ce3d040304"),
            (SignatureScheme::Ed25519, "300506032b6570"),
            // RFC 7427 A.4.3 (RSASSA-PSS with SHA-256); the SHA-384/512 forms were checked
            // against certificates signed by python3 `cryptography` with PSS(MGF1(h), salt=hlen).
            (
                SignatureScheme::RsaPssSha256,
                "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120",
            ),
            (
                SignatureScheme::RsaPssSha384,
                "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130",
            ),
            (
                SignatureScheme::RsaPssSha512,
                "304106092a864886f70d01010a3034a00f300d06096086480165030402030500a11c301a06092a864886f70d010108300d06096086480165030402030500a203020140",
            ),
        ];
        for (s, h) in cases {
            assert_eq!(s.algorithm_identifier(), hex(h).as_slice(), "{s:?}");
            assert_eq!(SignatureScheme::from_algorithm_identifier(&hex(h)), Some(s));
        }
        assert_eq!(cases.len(), SignatureScheme::ALL.len());
    }

    #[test]
    fn algorithm_identifier_parsing_leniency_and_rejections() {
        // RSA without the NULL parameter.
        assert_eq!(
            SignatureScheme::from_algorithm_identifier(&hex("300b06092a864886f70d01010b")),
            Some(SignatureScheme::RsaPkcs1Sha256)
        );
        // ECDSA with a NULL parameter (lenient).
        assert_eq!(
            SignatureScheme::from_algorithm_identifier(&hex("300c06082a8648ce3d0403020500")),
            Some(SignatureScheme::EcdsaSha256)
        );
        // PSS without explicit hash on trailer-field-only (trailer 1) + SHA-256 params and trailer.
        assert_eq!(
            SignatureScheme::from_algorithm_identifier(&hex(
                "304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120a303020101"
            )),
            Some(SignatureScheme::RsaPssSha256)
        );
        let bad = [
            "",
            "30",
            "300d06092a864886f70d01010b05",     // truncated
            "300f06092a864886f70d01010b050000", // trailing octets inside
            "300d06092a864886f70d01010b050000", // length mismatch
            "300e06092a864886f70d01010b0500ff", // extra data after params
            "300d06092a864886f70d01010b0400",   // non-NULL params
            "300b06092a864886f70d01010a3000",   // PSS with default (SHA-1) params
            "300b06092a864886f70d01010a",       // PSS without params
            // PSS SHA-256 with salt 20
            "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020114",
            // PSS SHA-256 with MGF1-SHA-384
            "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402020500a203020120",
            "300706032b65700500",             // Ed25519 with parameters
            "300a06082a8648ce3d040301",       // ecdsa-with-SHA224
            "0d0906092a864886f70d01010b0500", // wrong outer tag
        ];
        for b in bad {
            assert_eq!(
                SignatureScheme::from_algorithm_identifier(&hex(b)),
                None,
                "{b}"
            );
        }
    }

    // RFC 4754 §8.1 / §8.2 test vectors (message "abc").
    fn p256_spki(xy: &[u8]) -> Vec<u8> {
        let mut v = hex("3059301306072a8648ce3d020106082a8648ce3d030107034200 04");
        v.extend_from_slice(xy);
        v
    }
    fn p384_spki(xy: &[u8]) -> Vec<u8> {
        let mut v = hex("3076301006072a8648ce3d020106052b81040022036200 04");
        v.extend_from_slice(xy);
        v
    }

    const RFC4754_P256_XY: &str = "2442A5CC0ECD015FA3CA31DC8E2BBC70BF42D60CBCA20085E0822CB04235E970\
                                   6FC98BD7E50211A4A27102FA3549DF79EBCB4BF246B80945CDDFE7D509BBFD7D";
    const RFC4754_P256_SIG: &str = "CB28E0999B9C7715FD0A80D8E47A77079716CBBF917DD72E97566EA1C066957C\
                                    86FA3BB4E26CAD5BF90B7F81899256CE7594BB1EA0C89212748BFF3B3D5B0315";
    const RFC4754_P384_XY: &str = "96281BF8DD5E0525CA049C048D345D3082968D10FEDF5C5ACA0C64E6465A97EA\
                                   5CE10C9DFEC21797415710721F437922\
                                   447688BA94708EB6E2E4D59F6AB6D7EDFF9301D249FE49C33096655F5D502FAD\
                                   3D383B91C5E7EDAA2B714CC99D5743CA";
    const RFC4754_P384_SIG: &str = "FB017B914E29149432D8BAC29A514640B46F53DDAB2C69948084E2930F1C8F7E\
                                    08E07C9C63F2D21A07DCB56A6AF56EB3\
                                    B263A1305E057F984D38726A1B46874109F417BCA112674C528262A40A629AF1\
                                    CBB9F516CE0FA7D2FF630863A00E8B9F";

    #[test]
    fn rfc4754_ecdsa_vectors_verify() {
        let cases = [
            (
                p256_spki(&hex(RFC4754_P256_XY)),
                SignatureScheme::EcdsaSha256,
                hex(RFC4754_P256_SIG),
                32,
            ),
            (
                p384_spki(&hex(RFC4754_P384_XY)),
                SignatureScheme::EcdsaSha384,
                hex(RFC4754_P384_SIG),
                48,
            ),
        ];
        for (spki, scheme, sig, n) in cases {
            verify_signature(&spki, scheme, SigEncoding::Fixed, b"abc", &sig).unwrap();
            // The same signature in DER form.
            let der_sig = ecdsa_fixed_to_der(&sig, n).unwrap();
            verify_signature(&spki, scheme, SigEncoding::Der, b"abc", &der_sig).unwrap();
            assert_eq!(ecdsa_der_to_fixed(&der_sig, n).unwrap(), sig);
            // Wrong message, flipped bit, wrong encoding, wrong length.
            assert_eq!(
                verify_signature(&spki, scheme, SigEncoding::Fixed, b"abd", &sig),
                Err(CryptoError::Signature)
            );
            let mut bad = sig.clone();
            bad[5] ^= 0x10;
            assert_eq!(
                verify_signature(&spki, scheme, SigEncoding::Fixed, b"abc", &bad),
                Err(CryptoError::Signature)
            );
            assert!(verify_signature(&spki, scheme, SigEncoding::Der, b"abc", &sig).is_err());
            assert!(
                verify_signature(&spki, scheme, SigEncoding::Fixed, b"abc", &sig[1..]).is_err()
            );
            // A different hash does not verify.
            assert!(
                verify_signature(
                    &spki,
                    SignatureScheme::EcdsaSha512,
                    SigEncoding::Fixed,
                    b"abc",
                    &sig
                )
                .is_err()
            );
            // RSA/Ed25519 schemes are refused for an EC key.
            assert!(matches!(
                verify_signature(
                    &spki,
                    SignatureScheme::RsaPkcs1Sha256,
                    SigEncoding::Der,
                    b"abc",
                    &sig
                ),
                Err(CryptoError::Unsupported(_))
            ));
        }
    }

    #[test]
    fn ecdsa_der_fixed_conversion_edge_cases() {
        // r with high bit set gets a 0x00 pad; s with leading zeros is shortened.
        let mut fixed = vec![0u8; 64];
        fixed[0] = 0x80;
        fixed[63] = 0x01;
        let der = ecdsa_fixed_to_der(&fixed, 32).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x21, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x01]);
        assert_eq!(ecdsa_der_to_fixed(&der, 32).unwrap(), fixed);
        // Too-long integers and garbage are rejected.
        assert!(ecdsa_der_to_fixed(&der, 16).is_err());
        assert!(ecdsa_der_to_fixed(&[0x30, 0x00], 32).is_err());
        assert!(ecdsa_der_to_fixed(&[0x30, 0x03, 0x02, 0x01], 32).is_err());
        assert!(ecdsa_fixed_to_der(&[0u8; 63], 32).is_err());
    }

    fn schemes_for(kt: KeyType) -> &'static [SignatureScheme] {
        match kt {
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => &[
                SignatureScheme::RsaPkcs1Sha256,
                SignatureScheme::RsaPkcs1Sha384,
                SignatureScheme::RsaPkcs1Sha512,
                SignatureScheme::RsaPssSha256,
                SignatureScheme::RsaPssSha384,
                SignatureScheme::RsaPssSha512,
            ],
            KeyType::EcdsaP256 => &[SignatureScheme::EcdsaSha256],
            KeyType::EcdsaP384 => &[SignatureScheme::EcdsaSha384],
            KeyType::Ed25519 => &[SignatureScheme::Ed25519],
        }
    }

    #[test]
    fn sign_verify_round_trips_all_key_types() {
        let msg = b"IKE_AUTH signed octets";
        for kt in KeyType::ALL {
            let k = PrivateKey::generate(kt).unwrap();
            assert_eq!(k.key_type(), kt);
            assert_eq!(
                format!("{k:?}"),
                format!("PrivateKey {{ key_type: {kt:?}, .. }}")
            );
            let spki = k.public_key_spki_der();
            assert!(schemes_for(kt).contains(&k.default_scheme()));
            for &s in schemes_for(kt) {
                for enc in [SigEncoding::Der, SigEncoding::Fixed] {
                    let sig = sign_with_encoding(&k, s, enc, msg).unwrap();
                    if enc == SigEncoding::Fixed && kt == KeyType::EcdsaP256 {
                        assert_eq!(sig.len(), 64);
                    }
                    if kt.is_rsa() {
                        assert_eq!(
                            sig.len() * 8,
                            match kt {
                                KeyType::Rsa2048 => 2048,
                                KeyType::Rsa3072 => 3072,
                                _ => 4096,
                            }
                        );
                    }
                    verify_signature(&spki, s, enc, msg, &sig).unwrap();
                    assert_eq!(
                        verify_signature(&spki, s, enc, b"other", &sig),
                        Err(CryptoError::Signature),
                        "{kt:?} {s:?}"
                    );
                }
            }
            // Reload from PKCS#8: same public key, signatures interoperate.
            let pk8 = k.to_pkcs8_der();
            let k2 = PrivateKey::from_pkcs8_der(pk8.as_bytes()).unwrap();
            assert_eq!(k2.key_type(), kt);
            assert_eq!(k2.public_key_spki_der(), spki);
            let sig = k2.sign(k2.default_scheme(), msg).unwrap();
            verify_signature(&spki, k.default_scheme(), SigEncoding::Der, msg, &sig).unwrap();
            // Schemes for other key families are refused.
            let foreign = if kt == KeyType::Ed25519 {
                SignatureScheme::EcdsaSha256
            } else {
                SignatureScheme::Ed25519
            };
            assert!(matches!(
                k.sign(foreign, msg),
                Err(CryptoError::Unsupported(_))
            ));
        }
    }

    #[test]
    fn sha1_and_cross_hash_signing_refused() {
        let k = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        assert!(matches!(
            k.sign(SignatureScheme::RsaPkcs1Sha1, b"m"),
            Err(CryptoError::Unsupported(_))
        ));
        let e = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        assert!(matches!(
            e.sign(SignatureScheme::EcdsaSha384, b"m"),
            Err(CryptoError::Unsupported(_))
        ));
    }

    #[test]
    fn malformed_keys_are_rejected() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x02\x01\x00",
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert_eq!(
                PrivateKey::from_pkcs8_der(bad).err(),
                Some(CryptoError::KeyFormat)
            );
            assert!(
                verify_signature(
                    bad,
                    SignatureScheme::EcdsaSha256,
                    SigEncoding::Der,
                    b"m",
                    b"s"
                )
                .is_err()
            );
        }
        // A valid PKCS#8 with a truncated private key body.
        let k = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let der = k.to_pkcs8_der();
        let cut = &der.as_bytes()[..der.len() - 5];
        assert!(PrivateKey::from_pkcs8_der(cut).is_err());
        // An SPKI whose BIT STRING has unused bits.
        let mut spki = k.public_key_spki_der();
        let pos = spki.len() - 66;
        spki[pos] = 1;
        assert_eq!(
            verify_signature(
                &spki,
                SignatureScheme::EcdsaSha256,
                SigEncoding::Der,
                b"m",
                b"s"
            ),
            Err(CryptoError::KeyFormat)
        );
    }

    #[test]
    fn hash_algorithm_values() {
        assert_eq!(HashAlgorithm::Sha256.value(), 2);
        assert_eq!(HashAlgorithm::from_u16(4), Some(HashAlgorithm::Sha512));
        assert_eq!(HashAlgorithm::from_u16(5), Some(HashAlgorithm::Identity));
        assert_eq!(HashAlgorithm::from_u16(1), None);
        assert_eq!(
            SignatureScheme::Ed25519.hash_algorithm(),
            Some(HashAlgorithm::Identity)
        );
        assert_eq!(
            SignatureScheme::RsaPssSha384.hash_algorithm(),
            Some(HashAlgorithm::Sha384)
        );
    }

    // --- OpenSSL cross-checks (openssl(1) is required on the test machine) ---

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> Self {
            let p = std::env::temp_dir()
                .join(format!("negotiator-crypto-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn path(&self, f: &str) -> PathBuf {
            self.0.join(f)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl must be installed for this test")
    }

    fn openssl_ok(args: &[&str], dir: &Path) {
        let out = openssl(args, dir);
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn digest_flag(s: SignatureScheme) -> &'static str {
        match s.hash_algorithm() {
            Some(HashAlgorithm::Sha384) => "-sha384",
            Some(HashAlgorithm::Sha512) => "-sha512",
            _ => "-sha256",
        }
    }

    fn pss_args(s: SignatureScheme) -> Vec<String> {
        let md = match s {
            SignatureScheme::RsaPssSha384 => "sha384",
            SignatureScheme::RsaPssSha512 => "sha512",
            _ => "sha256",
        };
        if !matches!(
            s,
            SignatureScheme::RsaPssSha256
                | SignatureScheme::RsaPssSha384
                | SignatureScheme::RsaPssSha512
        ) {
            return vec![];
        }
        [
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
            "-sigopt",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(std::iter::once(format!("rsa_mgf1_md:{md}")))
        .collect()
    }

    #[test]
    fn openssl_verifies_our_signatures() {
        let dir = TempDir::new("ours");
        let msg = b"message signed by negotiator";
        std::fs::write(dir.path("msg"), msg).unwrap();
        for (kt, schemes) in [
            (KeyType::Rsa2048, schemes_for(KeyType::Rsa2048)),
            (KeyType::EcdsaP256, schemes_for(KeyType::EcdsaP256)),
            (KeyType::EcdsaP384, schemes_for(KeyType::EcdsaP384)),
        ] {
            let k = PrivateKey::generate(kt).unwrap();
            std::fs::write(dir.path("pub.der"), k.public_key_spki_der()).unwrap();
            for &s in schemes {
                let sig = k.sign(s, msg).unwrap();
                std::fs::write(dir.path("sig"), &sig).unwrap();
                let mut args: Vec<String> = [
                    "dgst",
                    digest_flag(s),
                    "-keyform",
                    "DER",
                    "-verify",
                    "pub.der",
                    "-signature",
                    "sig",
                ]
                .iter()
                .map(|a| a.to_string())
                .collect();
                args.extend(pss_args(s));
                args.push("msg".into());
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                openssl_ok(&a, &dir.0);
                // Negative control: openssl rejects a corrupted signature.
                let mut bad = sig.clone();
                bad[10] ^= 1;
                std::fs::write(dir.path("sig"), &bad).unwrap();
                assert!(!openssl(&a, &dir.0).status.success(), "{kt:?} {s:?}");
            }
            // openssl can also load our PKCS#8.
            std::fs::write(dir.path("key.der"), k.to_pkcs8_der().as_bytes()).unwrap();
            openssl_ok(
                &["pkey", "-inform", "DER", "-in", "key.der", "-noout"],
                &dir.0,
            );
        }
        // Ed25519
        let k = PrivateKey::generate(KeyType::Ed25519).unwrap();
        std::fs::write(dir.path("pub.der"), k.public_key_spki_der()).unwrap();
        std::fs::write(
            dir.path("sig"),
            k.sign(SignatureScheme::Ed25519, msg).unwrap(),
        )
        .unwrap();
        openssl_ok(
            &[
                "pkeyutl", "-verify", "-rawin", "-pubin", "-keyform", "DER", "-inkey", "pub.der",
                "-in", "msg", "-sigfile", "sig",
            ],
            &dir.0,
        );
    }

    #[test]
    fn we_verify_openssl_signatures_and_load_its_keys() {
        let dir = TempDir::new("theirs");
        let msg = b"message signed by openssl";
        std::fs::write(dir.path("msg"), msg).unwrap();
        let gens: [(&[&str], &[SignatureScheme]); 4] = [
            (
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                schemes_for(KeyType::Rsa2048),
            ),
            (
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                schemes_for(KeyType::EcdsaP256),
            ),
            (
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
                schemes_for(KeyType::EcdsaP384),
            ),
            (
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
                &[
                    SignatureScheme::RsaPkcs1Sha256,
                    SignatureScheme::RsaPkcs1Sha1,
                    SignatureScheme::RsaPkcs1Sha512,
                ],
            ),
        ];
        for (genargs, schemes) in gens {
            let mut a = vec!["genpkey"];
            a.extend_from_slice(genargs);
            a.extend_from_slice(&["-outform", "DER", "-out", "key.der"]);
            openssl_ok(&a, &dir.0);
            openssl_ok(
                &[
                    "pkey", "-inform", "DER", "-in", "key.der", "-pubout", "-outform", "DER",
                    "-out", "pub.der",
                ],
                &dir.0,
            );
            let spki = std::fs::read(dir.path("pub.der")).unwrap();
            for &s in schemes {
                let digest = if s == SignatureScheme::RsaPkcs1Sha1 {
                    "-sha1"
                } else {
                    digest_flag(s)
                };
                let mut args: Vec<String> = [
                    "dgst", digest, "-keyform", "DER", "-sign", "key.der", "-out", "sig",
                ]
                .iter()
                .map(|a| a.to_string())
                .collect();
                args.extend(pss_args(s));
                args.push("msg".into());
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                openssl_ok(&a, &dir.0);
                let sig = std::fs::read(dir.path("sig")).unwrap();
                verify_signature(&spki, s, SigEncoding::Der, msg, &sig).unwrap();
                assert_eq!(
                    verify_signature(&spki, s, SigEncoding::Der, b"tampered", &sig),
                    Err(CryptoError::Signature)
                );
            }
            // Load openssl's PKCS#8 (not the 1024-bit one: only 2048/3072/4096 are signing sizes).
            // (`genpkey -outform DER` may write a type-specific structure; convert.)
            openssl_ok(
                &[
                    "pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-in", "key.der", "-outform",
                    "DER", "-out", "key8.der",
                ],
                &dir.0,
            );
            let der = std::fs::read(dir.path("key8.der")).unwrap();
            match PrivateKey::from_pkcs8_der(&der) {
                Ok(k) => {
                    assert_eq!(k.public_key_spki_der(), spki);
                    let sig = k.sign(k.default_scheme(), msg).unwrap();
                    verify_signature(&spki, k.default_scheme(), SigEncoding::Der, msg, &sig)
                        .unwrap();
                }
                Err(e) => assert!(
                    matches!(e, CryptoError::Unsupported(_) | CryptoError::KeyFormat)
                        && spki.len() < 200,
                    "{e:?} {genargs:?}"
                ),
            }
        }
        // Ed25519 from openssl (PKCS#8 v1).
        openssl_ok(
            &[
                "genpkey",
                "-algorithm",
                "ED25519",
                "-outform",
                "DER",
                "-out",
                "ed.der",
            ],
            &dir.0,
        );
        openssl_ok(
            &[
                "pkey",
                "-inform",
                "DER",
                "-in",
                "ed.der",
                "-pubout",
                "-outform",
                "DER",
                "-out",
                "edpub.der",
            ],
            &dir.0,
        );
        openssl_ok(
            &[
                "pkeyutl", "-sign", "-rawin", "-keyform", "DER", "-inkey", "ed.der", "-in", "msg",
                "-out", "edsig",
            ],
            &dir.0,
        );
        let spki = std::fs::read(dir.path("edpub.der")).unwrap();
        let sig = std::fs::read(dir.path("edsig")).unwrap();
        verify_signature(&spki, SignatureScheme::Ed25519, SigEncoding::Der, msg, &sig).unwrap();
        let k = PrivateKey::from_pkcs8_der(&std::fs::read(dir.path("ed.der")).unwrap()).unwrap();
        assert_eq!(k.key_type(), KeyType::Ed25519);
        assert_eq!(
            k.sign(SignatureScheme::Ed25519, msg).unwrap(),
            sig,
            "Ed25519 is deterministic"
        );
    }

    #[test]
    fn rsassa_pss_spki_from_openssl() {
        let dir = TempDir::new("pss");
        let msg = b"pss keyed message";
        std::fs::write(dir.path("msg"), msg).unwrap();
        let params: [&[&str]; 2] = [
            &[],
            &[
                "-pkeyopt",
                "rsa_pss_keygen_md:sha256",
                "-pkeyopt",
                "rsa_pss_keygen_mgf1_md:sha256",
                "-pkeyopt",
                "rsa_pss_keygen_saltlen:32",
            ],
        ];
        for extra in params {
            let mut a = vec![
                "genpkey",
                "-algorithm",
                "RSA-PSS",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ];
            a.extend_from_slice(extra);
            a.extend_from_slice(&["-out", "key.pem"]);
            openssl_ok(&a, &dir.0);
            openssl_ok(
                &[
                    "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
                ],
                &dir.0,
            );
            openssl_ok(
                &[
                    "dgst",
                    "-sha256",
                    "-sign",
                    "key.pem",
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sigopt",
                    "rsa_pss_saltlen:digest",
                    "-out",
                    "sig",
                    "msg",
                ],
                &dir.0,
            );
            let spki = std::fs::read(dir.path("pub.der")).unwrap();
            let sig = std::fs::read(dir.path("sig")).unwrap();
            verify_signature(
                &spki,
                SignatureScheme::RsaPssSha256,
                SigEncoding::Der,
                msg,
                &sig,
            )
            .unwrap();
            assert_eq!(
                verify_signature(
                    &spki,
                    SignatureScheme::RsaPssSha256,
                    SigEncoding::Der,
                    b"x",
                    &sig
                ),
                Err(CryptoError::Signature)
            );
            // A PSS-only key is never used for PKCS#1 v1.5.
            assert!(matches!(
                verify_signature(
                    &spki,
                    SignatureScheme::RsaPkcs1Sha256,
                    SigEncoding::Der,
                    msg,
                    &sig
                ),
                Err(CryptoError::Unsupported(_))
            ));
        }
    }

    #[test]
    fn ed25519_pkcs8_v2_loads() {
        let kp = Ed25519KeyPair::generate().unwrap();
        let v2 = kp.to_pkcs8().unwrap();
        // PKCS#8 v2 (OneAsymmetricKey): version INTEGER 1.
        assert_eq!(&v2.as_ref()[2..5], &[0x02, 0x01, 0x01]);
        let k = PrivateKey::from_pkcs8_der(v2.as_ref()).unwrap();
        assert_eq!(k.key_type(), KeyType::Ed25519);
        assert_eq!(
            k.public_key_spki_der(),
            kp.public_key().as_der().unwrap().as_ref()
        );
        let sig = k.sign(SignatureScheme::Ed25519, b"m").unwrap();
        assert_eq!(sig, kp.sign(b"m").as_ref());
    }

    /// Deterministic xorshift generator for the robustness tests below.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn mutate(rng: &mut Rng, v: &[u8]) -> Vec<u8> {
        let mut m = v.to_vec();
        match rng.below(4) {
            0 if !m.is_empty() => {
                let i = rng.below(m.len());
                m[i] ^= 1 << rng.below(8);
            }
            1 => m.truncate(rng.below(v.len() + 1)),
            2 if !m.is_empty() => {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            _ => {
                let n = rng.below(4) + 1;
                m.extend(rng.bytes(n));
            }
        }
        m
    }

    #[test]
    fn parsers_never_panic_on_garbage_or_mutations() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let ec = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let ed = PrivateKey::generate(KeyType::Ed25519).unwrap();
        let seeds: Vec<Vec<u8>> = SignatureScheme::ALL
            .iter()
            .map(|s| s.algorithm_identifier().to_vec())
            .chain([ec.public_key_spki_der(), ed.public_key_spki_der()])
            .chain([
                ec.to_pkcs8_der().as_bytes().to_vec(),
                ed.to_pkcs8_der().as_bytes().to_vec(),
            ])
            .collect();
        let sig = ec.sign(SignatureScheme::EcdsaSha256, b"m").unwrap();
        for i in 0..3000 {
            let input = if i % 2 == 0 {
                let n = rng.below(120);
                rng.bytes(n)
            } else {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            };
            let _ = SignatureScheme::from_algorithm_identifier(&input);
            let _ = PrivateKey::from_pkcs8_der(&input);
            let _ = ecdsa_der_to_fixed(&input, 32);
            let s = SignatureScheme::ALL[rng.below(SignatureScheme::ALL.len())];
            let enc = if rng.below(2) == 0 {
                SigEncoding::Der
            } else {
                SigEncoding::Fixed
            };
            // Garbage keys and garbage signatures never verify.
            assert!(
                verify_signature(&input, s, enc, b"m", &sig).is_err()
                    || input == ec.public_key_spki_der()
            );
            assert!(verify_signature(&ec.public_key_spki_der(), s, enc, b"m", &input).is_err());
        }
    }
}
