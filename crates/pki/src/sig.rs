//! Certificate signature algorithms: AlgorithmIdentifiers, signing and verification.

use aws_lc_rs::signature::{self as s, UnparsedPublicKey, VerificationAlgorithm};

use crate::PkiError;
use crate::asn1::{self as d, Reader, tag};
use crate::keys::{KeyType, PrivateKey};

/// sha256WithRSAEncryption with NULL parameters.
const ALG_RSA_SHA256: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
/// ecdsa-with-SHA256 (no parameters).
const ALG_ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// ecdsa-with-SHA384.
const ALG_ECDSA_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];
/// Ed25519.
const ALG_ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// OID contents.
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_SHA384_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_SHA512_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];

/// The certificate signature AlgorithmIdentifier DER for a key type.
pub(crate) fn cert_alg_id(key_type: KeyType) -> &'static [u8] {
    match key_type {
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => ALG_RSA_SHA256,
        KeyType::EcdsaP256 => ALG_ECDSA_SHA256,
        KeyType::EcdsaP384 => ALG_ECDSA_SHA384,
        KeyType::Ed25519 => ALG_ED25519,
    }
}

/// Generates a key.
pub(crate) fn generate(key_type: KeyType) -> Result<PrivateKey, PkiError> {
    PrivateKey::generate(key_type)
}

/// SPKI DER of a key.
pub(crate) fn spki(key: &PrivateKey) -> Result<Vec<u8>, PkiError> {
    key.public_key_spki_der()
}

/// Signs `msg` for a certificate; returns (AlgorithmIdentifier DER, signature).
pub(crate) fn sign_cert(key: &PrivateKey, msg: &[u8]) -> Result<(Vec<u8>, Vec<u8>), PkiError> {
    let sig = key.sign_cert(msg)?;
    Ok((cert_alg_id(key.key_type()).to_vec(), sig))
}

/// PKCS#8 export of a key.
pub(crate) fn to_pkcs8(key: &PrivateKey) -> Result<zeroize::Zeroizing<Vec<u8>>, PkiError> {
    key.to_pkcs8_der()
}

/// PKCS#8 import of a key.
pub(crate) fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, PkiError> {
    PrivateKey::from_pkcs8_der(der)
}

/// Outcome of a certificate signature check.
pub(crate) enum VerifyOutcome {
    Valid,
    Invalid,
    Unsupported(String),
}

/// (algorithm OID, parameters element or empty, subjectPublicKey bytes).
fn split_spki(spki: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let outer = d::parse_single(spki, tag::SEQUENCE, "spki").ok()?;
    let mut r = Reader::new(outer.content);
    let alg = r.read(tag::SEQUENCE, "alg").ok()?;
    let bits = r.read(tag::BIT_STRING, "key").ok()?;
    r.finish("spki").ok()?;
    let mut ar = Reader::new(alg.content);
    let oid = ar.read(tag::OID, "oid").ok()?;
    let params = if ar.is_empty() {
        &[][..]
    } else {
        ar.read_any("params").ok()?.raw
    };
    let (unused, key) = d::parse_bit_string(bits.content, "key").ok()?;
    if unused != 0 {
        return None;
    }
    Some((oid.content, params, key))
}

/// Verifies a certificate signature made with `alg_id` by the key in `spki_der`.
pub(crate) fn verify_cert_sig(
    spki_der: &[u8],
    alg_id: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> VerifyOutcome {
    let Ok(alg) = d::parse_single(alg_id, tag::SEQUENCE, "signatureAlgorithm") else {
        return VerifyOutcome::Unsupported("malformed AlgorithmIdentifier".into());
    };
    let mut ar = Reader::new(alg.content);
    let Ok(sig_oid) = ar.read(tag::OID, "algorithm") else {
        return VerifyOutcome::Unsupported("malformed AlgorithmIdentifier".into());
    };
    let sig_oid = sig_oid.content;
    let params = if ar.is_empty() {
        None
    } else {
        ar.read_any("parameters").ok().map(|t| t.raw)
    };
    let Some((key_oid, key_params, key)) = split_spki(spki_der) else {
        return VerifyOutcome::Unsupported("issuer public key is malformed".into());
    };
    let is_rsa_sig = [OID_SHA256_RSA, OID_SHA384_RSA, OID_SHA512_RSA].contains(&sig_oid);
    let is_ec_sig = [OID_ECDSA_SHA256, OID_ECDSA_SHA384, OID_ECDSA_SHA512].contains(&sig_oid);
    // RSA PKCS#1 v1.5 parameters are NULL (absent tolerated); ECDSA and Ed25519 have none.
    let params_ok = if is_rsa_sig {
        matches!(params, None | Some([0x05, 0x00]))
    } else {
        params.is_none()
    };
    if !params_ok {
        return VerifyOutcome::Unsupported(format!(
            "unexpected parameters for signature algorithm {}",
            crate::cert::oid_string(sig_oid)
        ));
    }
    let algorithm: &'static dyn VerificationAlgorithm = match (sig_oid, key_oid, key_params) {
        (o, OID_RSA_ENCRYPTION, _) if o == OID_SHA256_RSA => &s::RSA_PKCS1_2048_8192_SHA256,
        (o, OID_RSA_ENCRYPTION, _) if o == OID_SHA384_RSA => &s::RSA_PKCS1_2048_8192_SHA384,
        (o, OID_RSA_ENCRYPTION, _) if o == OID_SHA512_RSA => &s::RSA_PKCS1_2048_8192_SHA512,
        (o, OID_EC_PUBLIC_KEY, p) if is_ec_sig => {
            let curve = d::parse_single(p, tag::OID, "curve")
                .map(|t| t.content)
                .unwrap_or(&[]);
            match (o, curve) {
                (OID_ECDSA_SHA256, OID_P256) => &s::ECDSA_P256_SHA256_ASN1,
                (OID_ECDSA_SHA384, OID_P256) => &s::ECDSA_P256_SHA384_ASN1,
                (OID_ECDSA_SHA512, OID_P256) => &s::ECDSA_P256_SHA512_ASN1,
                (OID_ECDSA_SHA256, OID_P384) => &s::ECDSA_P384_SHA256_ASN1,
                (OID_ECDSA_SHA384, OID_P384) => &s::ECDSA_P384_SHA384_ASN1,
                (OID_ECDSA_SHA512, OID_P384) => &s::ECDSA_P384_SHA512_ASN1,
                _ => {
                    return VerifyOutcome::Unsupported(format!(
                        "ECDSA curve {} with {}",
                        crate::cert::oid_string(curve),
                        crate::cert::oid_string(o)
                    ));
                }
            }
        }
        (OID_ED25519, OID_ED25519, _) => &s::ED25519,
        _ => {
            return VerifyOutcome::Unsupported(format!(
                "signature algorithm {} with key algorithm {}",
                crate::cert::oid_string(sig_oid),
                crate::cert::oid_string(key_oid)
            ));
        }
    };
    match UnparsedPublicKey::new(algorithm, key).verify(msg, sig) {
        Ok(()) => VerifyOutcome::Valid,
        Err(_) => VerifyOutcome::Invalid,
    }
}
