//! AUTH payload computation and verification (RFC 7296 §2.15, RFC 7427, RFC 4754).

use negotiator_crypto::{
    CryptoProvider, KeyType, Prf, PrivateKey, Secret, SigEncoding, SignatureScheme,
    verify_signature,
};
use negotiator_wire::v2::{AuthMethod, Authentication, Identification};
use subtle::ConstantTimeEq;

use crate::error::ProtoError;

/// The pad string for PSK authentication (RFC 7296 §2.15).
const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// `<SignedOctets>` = RealMessage | NonceData | prf(SK_p, ID').
pub(crate) fn signed_octets(
    p: &dyn CryptoProvider,
    prf: Prf,
    real_message: &[u8],
    peer_nonce: &[u8],
    sk_p: &[u8],
    id: &Identification,
) -> Result<Vec<u8>, ProtoError> {
    let id_body = id.body_bytes();
    let maced = p.prf(prf, sk_p, &[&id_body])?;
    let mut out = Vec::with_capacity(real_message.len() + peer_nonce.len() + maced.len());
    out.extend_from_slice(real_message);
    out.extend_from_slice(peer_nonce);
    out.extend_from_slice(maced.as_bytes());
    Ok(out)
}

fn psk_auth(
    p: &dyn CryptoProvider,
    prf: Prf,
    psk: &Secret,
    octets: &[u8],
) -> Result<Secret, ProtoError> {
    let k = p.prf(prf, psk.as_bytes(), &[KEY_PAD])?;
    Ok(p.prf(prf, k.as_bytes(), &[octets])?)
}

/// Computes our AUTH payload with a PSK.
pub(crate) fn psk_payload(
    p: &dyn CryptoProvider,
    prf: Prf,
    psk: &Secret,
    octets: &[u8],
) -> Result<Authentication, ProtoError> {
    let v = psk_auth(p, prf, psk, octets)?;
    Ok(Authentication {
        method: AuthMethod::SHARED_KEY_MIC,
        data: v.as_bytes().to_vec(),
    })
}

/// Verifies the peer's PSK AUTH payload in constant time.
pub(crate) fn psk_verify(
    p: &dyn CryptoProvider,
    prf: Prf,
    psk: &Secret,
    octets: &[u8],
    auth: &Authentication,
) -> Result<(), ProtoError> {
    if auth.method != AuthMethod::SHARED_KEY_MIC {
        return Err(ProtoError::Authentication(format!(
            "peer used auth method {:?}, we expect a pre-shared key",
            auth.method
        )));
    }
    let v = psk_auth(p, prf, psk, octets)?;
    if v.as_bytes().len() == auth.data.len() && bool::from(v.as_bytes().ct_eq(&auth.data)) {
        Ok(())
    } else {
        Err(ProtoError::Authentication(
            "pre-shared key mismatch (AUTH value does not verify)".into(),
        ))
    }
}

/// Signs with our key. With `rfc7427` the peer announced SIGNATURE_HASH_ALGORITHMS and we use
/// method 14; otherwise the classic method for the key type.
pub(crate) fn sign_payload(
    key: &PrivateKey,
    octets: &[u8],
    rfc7427: bool,
) -> Result<Authentication, ProtoError> {
    let scheme = key.default_scheme();
    if rfc7427 || key.key_type() == KeyType::Ed25519 {
        let sig = negotiator_crypto::sign_with_encoding(key, scheme, SigEncoding::Der, octets)?;
        let alg = scheme.algorithm_identifier();
        let mut data = Vec::with_capacity(1 + alg.len() + sig.len());
        data.push(u8::try_from(alg.len()).map_err(|_| ProtoError::Internal("alg id length"))?);
        data.extend_from_slice(alg);
        data.extend_from_slice(&sig);
        return Ok(Authentication {
            method: AuthMethod::DIGITAL_SIGNATURE,
            data,
        });
    }
    let (method, scheme) = match key.key_type() {
        KeyType::EcdsaP256 => (AuthMethod::ECDSA_SHA256_P256, SignatureScheme::EcdsaSha256),
        KeyType::EcdsaP384 => (AuthMethod::ECDSA_SHA384_P384, SignatureScheme::EcdsaSha384),
        // Method 1 means RSASSA-PKCS1-v1_5 with SHA-1, which we do not produce; peers that do
        // not speak RFC 7427 get method 14 all the same.
        _ => {
            return sign_payload(key, octets, true);
        }
    };
    let data = negotiator_crypto::sign_with_encoding(key, scheme, SigEncoding::Fixed, octets)?;
    Ok(Authentication { method, data })
}

/// Verifies a signature AUTH payload against the peer's public key.
pub(crate) fn verify_signature_payload(
    spki: &[u8],
    octets: &[u8],
    auth: &Authentication,
) -> Result<(), ProtoError> {
    let (scheme, enc, sig): (SignatureScheme, SigEncoding, &[u8]) = match auth.method {
        AuthMethod::DIGITAL_SIGNATURE => {
            let (&len, rest) = auth
                .data
                .split_first()
                .ok_or_else(|| ProtoError::Authentication("empty AUTH payload".into()))?;
            let len = usize::from(len);
            if rest.len() < len {
                return Err(ProtoError::Authentication(
                    "truncated AlgorithmIdentifier".into(),
                ));
            }
            let (alg, sig) = rest.split_at(len);
            let scheme = SignatureScheme::from_algorithm_identifier(alg).ok_or_else(|| {
                ProtoError::Authentication("unsupported signature algorithm in AUTH".into())
            })?;
            (scheme, SigEncoding::Der, sig)
        }
        AuthMethod::RSA_SIG => (SignatureScheme::RsaPkcs1Sha1, SigEncoding::Der, &auth.data),
        AuthMethod::ECDSA_SHA256_P256 => {
            (SignatureScheme::EcdsaSha256, SigEncoding::Fixed, &auth.data)
        }
        AuthMethod::ECDSA_SHA384_P384 => {
            (SignatureScheme::EcdsaSha384, SigEncoding::Fixed, &auth.data)
        }
        AuthMethod::ECDSA_SHA512_P521 => {
            (SignatureScheme::EcdsaSha512, SigEncoding::Fixed, &auth.data)
        }
        other => {
            return Err(ProtoError::Authentication(format!(
                "peer used auth method {other:?}, we expect a certificate signature"
            )));
        }
    };
    verify_signature(spki, scheme, enc, octets, sig)
        .map_err(|e| ProtoError::Authentication(format!("signature in AUTH does not verify ({e})")))
}
