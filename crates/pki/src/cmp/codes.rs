//! One-time, expiring enrollment codes (reference number + authorization
//! code), stored in the CA directory with the secret encrypted (AES-256-GCM
//! under a key derived from the CA private key), never in clear.

use std::fmt;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Ca, PkiError, San};

/// File holding the enrollment codes in the CA directory.
pub const CODES_FILE: &str = "enroll-codes.json";
/// Largest codes file read.
const MAX_CODES_FILE: u64 = 64 * 1024 * 1024;

/// A freshly created enrollment code. `Debug` hides the secret.
pub struct EnrollCode {
    /// Reference number (sent by the client as senderKID).
    pub reference: String,
    /// Authorization code (the PBM secret).
    pub secret: Zeroizing<String>,
    /// Expiry, Unix seconds.
    pub expires: i64,
}

impl fmt::Debug for EnrollCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollCode")
            .field("reference", &self.reference)
            .field("secret", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

/// A stored enrollment code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    /// Reference number.
    pub reference: String,
    /// Subject DN the certificate gets.
    pub subject: String,
    /// subjectAltNames the certificate gets (`ip:`/`dns:`/`email:` form).
    #[serde(default)]
    pub sans: Vec<String>,
    /// Creation, Unix seconds.
    pub created: i64,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// Hex of nonce || AES-256-GCM(secret), AAD = reference.
    pub secret_enc: String,
    /// Set when the code was used: Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used: Option<i64>,
    /// Serial of the certificate issued with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct CodeFile {
    pub(crate) version: u32,
    pub(crate) codes: Vec<CodeRecord>,
}

pub(crate) fn load_codes(dir: &Path) -> Result<CodeFile, PkiError> {
    let path = dir.join(CODES_FILE);
    if !path.exists() {
        return Ok(CodeFile {
            version: 1,
            codes: Vec::new(),
        });
    }
    let data = negotiator_store::read_limited(&path, MAX_CODES_FILE)?;
    serde_json::from_slice(&data).map_err(|e| PkiError::CaState(format!("{}: {e}", path.display())))
}

pub(crate) fn save_codes(dir: &Path, f: &CodeFile) -> Result<(), PkiError> {
    let json = serde_json::to_vec_pretty(f)
        .map_err(|e| PkiError::CaState(format!("cannot encode codes: {e}")))?;
    negotiator_store::write_atomic(&dir.join(CODES_FILE), &json, 0o600)?;
    Ok(())
}

pub(crate) fn code_key(ca: &Ca) -> Result<LessSafeKey, PkiError> {
    let pkcs8 = crate::sig::to_pkcs8(&ca.key)?;
    let k = hmac::Key::new(hmac::HMAC_SHA256, &pkcs8);
    let tag = hmac::sign(&k, b"negotiator cmp enrollment code key v1");
    let unbound = UnboundKey::new(&AES_256_GCM, tag.as_ref())
        .map_err(|_| PkiError::Crypto("code key".into()))?;
    Ok(LessSafeKey::new(unbound))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], PkiError> {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| PkiError::Crypto("random source".into()))?;
    Ok(b)
}

/// Decrypts the secret of a stored code.
pub(crate) fn decrypt_secret(
    key: &LessSafeKey,
    rec: &CodeRecord,
) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let bad = || PkiError::CaState(format!("enrollment code {}: undecryptable", rec.reference));
    let raw = unhex(&rec.secret_enc).ok_or_else(bad)?;
    if raw.len() < NONCE_LEN {
        return Err(bad());
    }
    let (n, ct) = raw.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(n).map_err(|_| bad())?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let pt = key
        .open_in_place(nonce, Aad::from(rec.reference.as_bytes()), &mut buf)
        .map_err(|_| bad())?;
    Ok(Zeroizing::new(pt.to_vec()))
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Creates an enrollment code bound to `subject`/`sans`, valid for
/// `valid_for_secs` from `now`, and records it in `dir` (the caller holds
/// the CA directory lock). `ca` is the loaded CA of `dir`.
pub fn create_enroll_code(
    dir: &Path,
    ca: &Ca,
    subject: &str,
    sans: &[San],
    valid_for_secs: u64,
    now: i64,
) -> Result<EnrollCode, PkiError> {
    let subject_der = crate::dn::encode_dn(subject)?;
    if subject_der == crate::asn1::seq(&[]) && sans.is_empty() {
        return Err(PkiError::InvalidInput(
            "an enrollment code needs a subject or at least one subjectAltName".into(),
        ));
    }
    if valid_for_secs == 0 {
        return Err(PkiError::InvalidInput("validity must be positive".into()));
    }
    let expires = i64::try_from(valid_for_secs)
        .ok()
        .and_then(|v| now.checked_add(v))
        .ok_or_else(|| PkiError::InvalidInput("validity too long".into()))?;
    let mut file = load_codes(dir)?;
    let reference = loop {
        let r = u64::from_be_bytes(random_bytes::<8>()?) % 10_000_000_000;
        let r = format!("{r:010}");
        if !file.codes.iter().any(|c| c.reference == r) {
            break r;
        }
    };
    // 20 characters from a 32-symbol alphabet: 100 bits.
    let rnd = Zeroizing::new(random_bytes::<20>()?);
    let mut secret = Zeroizing::new(String::with_capacity(24));
    for (i, b) in rnd.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            secret.push('-');
        }
        secret.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    let nonce_bytes = random_bytes::<NONCE_LEN>()?;
    let key = code_key(ca)?;
    let mut buf = secret.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(reference.as_bytes()),
        &mut buf,
    )
    .map_err(|_| PkiError::Crypto("sealing the code".into()))?;
    let mut enc = nonce_bytes.to_vec();
    enc.extend_from_slice(&buf);
    file.version = 1;
    file.codes.push(CodeRecord {
        reference: reference.clone(),
        subject: subject.to_string(),
        sans: sans.iter().map(|s| s.to_string()).collect(),
        created: now,
        expires,
        secret_enc: crate::ca::hex(&enc),
        used: None,
        serial: None,
    });
    save_codes(dir, &file)?;
    Ok(EnrollCode {
        reference,
        secret,
        expires,
    })
}

/// The stored enrollment codes of a CA directory.
pub fn list_enroll_codes(dir: &Path) -> Result<Vec<CodeRecord>, PkiError> {
    Ok(load_codes(dir)?.codes)
}
