//! Adapter to `negotiator-crypto` for certificate signatures.

use negotiator_crypto::{CryptoError, KeyType, PrivateKey, SigEncoding, SignatureScheme};

use crate::PkiError;

/// Certificate signature scheme for a key type: RSA → sha256WithRSAEncryption,
/// P-256 → ecdsa-with-SHA256, P-384 → ecdsa-with-SHA384, Ed25519 → Ed25519.
pub(crate) fn cert_scheme(key_type: KeyType) -> SignatureScheme {
    match key_type {
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => SignatureScheme::RsaPkcs1Sha256,
        KeyType::EcdsaP256 => SignatureScheme::EcdsaSha256,
        KeyType::EcdsaP384 => SignatureScheme::EcdsaSha384,
        KeyType::Ed25519 => SignatureScheme::Ed25519,
    }
}

/// The certificate signature AlgorithmIdentifier DER for a key type.
pub(crate) fn cert_alg_id(key_type: KeyType) -> &'static [u8] {
    cert_scheme(key_type).algorithm_identifier()
}

fn crypto_err(what: &str, e: CryptoError) -> PkiError {
    PkiError::Crypto(format!("{what}: {e}"))
}

/// Generates a key.
pub(crate) fn generate(key_type: KeyType) -> Result<PrivateKey, PkiError> {
    PrivateKey::generate(key_type).map_err(|e| crypto_err("key generation", e))
}

/// SPKI DER of a key.
pub(crate) fn spki(key: &PrivateKey) -> Result<Vec<u8>, PkiError> {
    Ok(key.public_key_spki_der())
}

/// Signs `msg` for a certificate; returns (AlgorithmIdentifier DER, signature).
pub(crate) fn sign_cert(key: &PrivateKey, msg: &[u8]) -> Result<(Vec<u8>, Vec<u8>), PkiError> {
    let scheme = cert_scheme(key.key_type());
    let sig = key
        .sign(scheme, msg)
        .map_err(|e| crypto_err("signing", e))?;
    Ok((scheme.algorithm_identifier().to_vec(), sig))
}

/// PKCS#8 export of a key (zeroized on drop).
pub(crate) fn to_pkcs8(key: &PrivateKey) -> Result<zeroize::Zeroizing<Vec<u8>>, PkiError> {
    Ok(zeroize::Zeroizing::new(
        key.to_pkcs8_der().as_bytes().to_vec(),
    ))
}

/// PKCS#8 import of a key.
pub(crate) fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, PkiError> {
    PrivateKey::from_pkcs8_der(der).map_err(|e| crypto_err("PKCS#8 import", e))
}

/// Outcome of a certificate signature check.
pub(crate) enum VerifyOutcome {
    Valid,
    Invalid,
    Unsupported(String),
}

fn alg_name(alg_id: &[u8]) -> String {
    use crate::asn1::{Reader, parse_single, tag};
    parse_single(alg_id, tag::SEQUENCE, "alg")
        .ok()
        .and_then(|t| Reader::new(t.content).read(tag::OID, "oid").ok())
        .map(|o| crate::cert::oid_string(o.content))
        .unwrap_or_else(|| "(malformed AlgorithmIdentifier)".into())
}

/// Verifies a certificate signature (X.509 uses DER-encoded ECDSA).
/// SHA-1 signatures are not accepted.
pub(crate) fn verify_cert_sig(
    spki_der: &[u8],
    alg_id: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> VerifyOutcome {
    let scheme = match SignatureScheme::from_algorithm_identifier(alg_id) {
        Some(SignatureScheme::RsaPkcs1Sha1) | None => {
            return VerifyOutcome::Unsupported(format!("signature algorithm {}", alg_name(alg_id)));
        }
        Some(s) => s,
    };
    match negotiator_crypto::verify_signature(spki_der, scheme, SigEncoding::Der, msg, sig) {
        Ok(()) => VerifyOutcome::Valid,
        Err(CryptoError::Signature) => VerifyOutcome::Invalid,
        Err(e) => {
            VerifyOutcome::Unsupported(format!("{} with the issuer key: {e}", alg_name(alg_id)))
        }
    }
}
