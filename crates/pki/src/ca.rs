//! A minimal certification authority for a private IKE PKI.

use std::fmt;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::Duration;

use negotiator_crypto::{KeyType, PrivateKey};
use negotiator_store::{KdfParams, Profile, write_atomic};
use serde::{Deserialize, Serialize};

use crate::PkiError;
use crate::asn1::{self as d, tag};
use crate::cert::{
    KU_CRL_SIGN, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, OID_AKI, OID_BC, OID_EKU,
    OID_KP_IPSEC_IKE, OID_KU, OID_SAN, OID_SKI, ParsedCert, key_identifier,
};
use crate::dn::encode_dn;
use crate::san::{San, encode_general_names};
use crate::sig;
use crate::time::{encode_time, format_rfc3339};

/// File names inside a CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// Encrypted CA key profile.
pub const CA_KEY_FILE: &str = "ca-key.profile";
/// Issuing state.
pub const CA_STATE_FILE: &str = "state.json";

/// notBefore is set this many seconds before `now` to tolerate clock skew
/// between peers.
pub const BACKDATE_SECS: i64 = 300;

/// Largest state file read.
const MAX_STATE_FILE: u64 = 16 * 1024 * 1024;

/// What to put in an end-entity certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    /// Subject DN string (may be empty when `sans` is not).
    pub subject: String,
    /// subjectAltName entries.
    pub sans: Vec<San>,
    /// Validity from the issue time.
    pub validity: Duration,
    /// Adds extKeyUsage id-kp-ipsecIKE (1.3.6.1.5.5.7.3.17, RFC 4945 §5.1.3.12).
    pub eku_ipsec_ike: bool,
}

/// One issued certificate, as recorded in `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedRecord {
    /// Serial number, lower-case hex of the DER INTEGER contents.
    pub serial: String,
    /// Subject (RFC 4514 style).
    pub subject: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    issued: Vec<IssuedRecord>,
}

/// A certification authority: key, self-signed certificate and issuing state.
pub struct Ca {
    key: PrivateKey,
    cert_der: Vec<u8>,
    subject_der: Vec<u8>,
    ski: Vec<u8>,
    not_after: i64,
    issued: Vec<IssuedRecord>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &crate::dn::name_to_string(&self.subject_der))
            .field("key", &"<redacted>")
            .field("issued", &self.issued.len())
            .finish()
    }
}

fn extension(oid: &der::oid::ObjectIdentifier, critical: bool, value: &[u8]) -> Vec<u8> {
    let crit: &[u8] = if critical {
        &[tag::BOOLEAN, 1, 0xff]
    } else {
        &[]
    };
    d::seq(&[&d::oid(oid), crit, &d::tlv(tag::OCTET_STRING, value)])
}

/// keyUsage BIT STRING value with trailing zero bits dropped (DER named bits).
fn key_usage_value(bits: u16) -> Vec<u8> {
    let bytes = bits.to_be_bytes();
    let used: &[u8] = if bytes[1] == 0 {
        &bytes[..1]
    } else {
        &bytes[..]
    };
    let last = used.last().copied().unwrap_or(0);
    let unused = if last == 0 {
        0
    } else {
        last.trailing_zeros() as u8
    };
    let mut c = vec![unused];
    c.extend_from_slice(used);
    d::tlv(tag::BIT_STRING, &c)
}

fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut s = [0u8; 16];
    aws_lc_rs::rand::fill(&mut s).map_err(|_| PkiError::Crypto("random source".into()))?;
    // Positive and exactly 16 octets when DER-encoded: top bit clear, next bit set.
    s[0] = (s[0] & 0x7f) | 0x40;
    Ok(s)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn validity_end(now: i64, validity: Duration) -> Result<i64, PkiError> {
    if validity.as_secs() == 0 {
        return Err(PkiError::InvalidInput(
            "validity must be at least one second".into(),
        ));
    }
    let secs = i64::try_from(validity.as_secs())
        .map_err(|_| PkiError::InvalidInput("validity too long".into()))?;
    now.checked_add(secs)
        .ok_or_else(|| PkiError::InvalidInput("validity too long".into()))
}

struct TbsParts<'a> {
    serial: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    not_before: i64,
    not_after: i64,
    extensions: &'a [Vec<u8>],
}

/// Builds and signs a v3 certificate.
fn build_and_sign(key: &PrivateKey, p: &TbsParts<'_>) -> Result<Vec<u8>, PkiError> {
    let nb = encode_time(p.not_before)
        .ok_or_else(|| PkiError::InvalidInput("notBefore outside 1950..9999".into()))?;
    let na = encode_time(p.not_after)
        .ok_or_else(|| PkiError::InvalidInput("notAfter outside 1950..9999".into()))?;
    let alg = sig::cert_alg_id(key.key_type());
    let ext_parts: Vec<&[u8]> = p.extensions.iter().map(|e| e.as_slice()).collect();
    let exts = d::cons(0xa3, &[&d::seq(&ext_parts)]);
    let version: &[u8] = &[0xa0, 0x03, tag::INTEGER, 0x01, 0x02];
    let tbs = d::seq(&[
        version,
        &d::uint(p.serial),
        alg,
        p.issuer,
        &d::seq(&[&nb, &na]),
        p.subject,
        p.spki,
        &exts,
    ]);
    let (alg2, signature) = sig::sign_cert(key, &tbs)?;
    Ok(d::seq(&[&tbs, &alg2, &d::bit_string(&signature)]))
}

fn check_spki(spki: &[u8]) -> Result<(), PkiError> {
    key_identifier(spki)
        .map(|_| ())
        .map_err(|e| PkiError::InvalidInput(format!("subject public key: {}", e.0)))
}

impl Ca {
    /// Creates a CA with a new key and a self-signed v3 certificate:
    /// basicConstraints CA:true (critical), keyUsage keyCertSign+cRLSign
    /// (critical), SKI (RFC 7093 method 1) and AKI equal to it.
    /// notBefore is `now - BACKDATE_SECS`, notAfter `now + validity`.
    pub fn generate(
        subject: &str,
        key_type: KeyType,
        validity: Duration,
        now_unix: u64,
    ) -> Result<Ca, PkiError> {
        let subject_der = encode_dn(subject)?;
        if subject_der == d::seq(&[]) {
            return Err(PkiError::InvalidDn {
                input: subject.to_string(),
                reason: "a CA needs a non-empty subject".into(),
            });
        }
        let now = i64::try_from(now_unix)
            .map_err(|_| PkiError::InvalidInput("time out of range".into()))?;
        let not_after = validity_end(now, validity)?;
        let key = sig::generate(key_type)?;
        let spki = sig::spki(&key)?;
        let ski = key_identifier(&spki).map_err(|e| PkiError::Crypto(e.0))?;
        let serial = random_serial()?;
        let extensions = vec![
            extension(&OID_BC, true, &d::seq(&[&[tag::BOOLEAN, 1, 0xff]])),
            extension(
                &OID_KU,
                true,
                &key_usage_value(KU_KEY_CERT_SIGN | KU_CRL_SIGN),
            ),
            extension(&OID_SKI, false, &d::tlv(tag::OCTET_STRING, &ski)),
            extension(&OID_AKI, false, &d::seq(&[&d::tlv(0x80, &ski)])),
        ];
        let cert_der = build_and_sign(
            &key,
            &TbsParts {
                serial: &serial,
                issuer: &subject_der,
                subject: &subject_der,
                spki: &spki,
                not_before: now - BACKDATE_SECS,
                not_after,
                extensions: &extensions,
            },
        )?;
        Ok(Ca {
            key,
            cert_der,
            subject_der,
            ski,
            not_after,
            issued: Vec::new(),
        })
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        crate::pem::to_pem(&self.cert_der)
    }

    /// Certificates issued so far (from the state file).
    pub fn issued(&self) -> &[IssuedRecord] {
        &self.issued
    }

    /// Issues an end-entity certificate for `subject_public_key_spki_der`:
    /// v3, random positive 16-octet serial, SAN (critical if the subject is
    /// empty), keyUsage digitalSignature (critical), basicConstraints CA:false
    /// (critical), SKI, AKI = CA SKI, optional EKU id-kp-ipsecIKE.
    pub fn issue(
        &mut self,
        req: &IssueRequest,
        subject_public_key_spki_der: &[u8],
        now_unix: u64,
    ) -> Result<Vec<u8>, PkiError> {
        let subject_der = encode_dn(&req.subject)?;
        let empty_subject = subject_der == d::seq(&[]);
        if empty_subject && req.sans.is_empty() {
            return Err(PkiError::InvalidInput(
                "a certificate needs a subject or at least one subjectAltName".into(),
            ));
        }
        check_spki(subject_public_key_spki_der)?;
        let now = i64::try_from(now_unix)
            .map_err(|_| PkiError::InvalidInput("time out of range".into()))?;
        let not_after = validity_end(now, req.validity)?;
        if not_after > self.not_after {
            return Err(PkiError::InvalidInput(format!(
                "requested validity ends {} after the CA certificate ({})",
                format_rfc3339(not_after),
                format_rfc3339(self.not_after)
            )));
        }
        let ski =
            key_identifier(subject_public_key_spki_der).map_err(|e| PkiError::InvalidInput(e.0))?;
        let mut serial = random_serial()?;
        while self.issued.iter().any(|r| r.serial == hex(&serial)) {
            serial = random_serial()?;
        }
        let mut extensions = vec![
            extension(&OID_BC, true, &d::seq(&[])),
            extension(&OID_KU, true, &key_usage_value(KU_DIGITAL_SIGNATURE)),
        ];
        if !req.sans.is_empty() {
            extensions.push(extension(
                &OID_SAN,
                empty_subject,
                &encode_general_names(&req.sans),
            ));
        }
        if req.eku_ipsec_ike {
            extensions.push(extension(
                &OID_EKU,
                false,
                &d::seq(&[&d::oid(&OID_KP_IPSEC_IKE)]),
            ));
        }
        extensions.push(extension(&OID_SKI, false, &d::tlv(tag::OCTET_STRING, &ski)));
        extensions.push(extension(
            &OID_AKI,
            false,
            &d::seq(&[&d::tlv(0x80, &self.ski)]),
        ));
        let cert = build_and_sign(
            &self.key,
            &TbsParts {
                serial: &serial,
                issuer: &self.subject_der,
                subject: &subject_der,
                spki: subject_public_key_spki_der,
                not_before: now - BACKDATE_SECS,
                not_after,
                extensions: &extensions,
            },
        )?;
        self.issued.push(IssuedRecord {
            serial: hex(&serial),
            subject: crate::dn::name_to_string(&subject_der),
            not_after: format_rfc3339(not_after),
        });
        Ok(cert)
    }

    /// Generates a key of `key_type` and issues a certificate for it.
    pub fn issue_with_new_key(
        &mut self,
        req: &IssueRequest,
        key_type: KeyType,
        now_unix: u64,
    ) -> Result<(PrivateKey, Vec<u8>), PkiError> {
        let key = sig::generate(key_type)?;
        let spki = sig::spki(&key)?;
        let cert = self.issue(req, &spki, now_unix)?;
        Ok((key, cert))
    }

    /// Writes DIR/ca.pem (0644), DIR/ca-key.profile (encrypted, 0600) and
    /// DIR/state.json (0644), each atomically. DIR is created (mode 0700)
    /// if it does not exist.
    pub fn save(&self, dir: &Path, password: &[u8]) -> Result<(), PkiError> {
        self.save_with_params(dir, password, KdfParams::INTERACTIVE)
    }

    /// [`Ca::save`] with explicit Argon2id cost (tests use a cheap one).
    pub fn save_with_params(
        &self,
        dir: &Path,
        password: &[u8],
        params: KdfParams,
    ) -> Result<(), PkiError> {
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| PkiError::Io(format!("cannot create {}", dir.display()), e))?;
        }
        let profile = Profile {
            private_key_pkcs8: sig::to_pkcs8(&self.key)?,
            certificate_chain: vec![self.cert_der.clone()],
            trust_anchors: vec![self.cert_der.clone()],
        };
        profile.save_with_params(&dir.join(CA_KEY_FILE), password, params)?;
        write_atomic(
            &dir.join(CA_CERT_FILE),
            self.certificate_pem().as_bytes(),
            0o644,
        )?;
        self.save_state(dir)
    }

    /// Writes only DIR/state.json (after issuing; the key is unchanged).
    pub fn save_state(&self, dir: &Path) -> Result<(), PkiError> {
        let state = State {
            version: 1,
            issued: self.issued.clone(),
        };
        let json = serde_json::to_vec_pretty(&state)
            .map_err(|e| PkiError::CaState(format!("cannot encode state: {e}")))?;
        write_atomic(&dir.join(CA_STATE_FILE), &json, 0o644)?;
        Ok(())
    }

    /// Loads a CA directory written by [`Ca::save`]; the key profile is
    /// decrypted with `password` and must match the certificate in ca.pem.
    pub fn load(dir: &Path, password: &[u8]) -> Result<Ca, PkiError> {
        let profile = Profile::load(&dir.join(CA_KEY_FILE), password)?;
        let cert_der = profile
            .certificate_chain
            .first()
            .cloned()
            .ok_or_else(|| PkiError::CaState(format!("{CA_KEY_FILE} holds no certificate")))?;
        let pem_path = dir.join(CA_CERT_FILE);
        let pem_bytes = negotiator_store::read_limited(&pem_path, MAX_STATE_FILE)?;
        let pem_certs = crate::pem::parse_certificate_pem_or_der(&pem_bytes)?;
        if pem_certs.first() != Some(&cert_der) {
            return Err(PkiError::CaState(format!(
                "{} does not match the certificate in {CA_KEY_FILE}",
                pem_path.display()
            )));
        }
        let key = sig::from_pkcs8(&profile.private_key_pkcs8)?;
        let parsed = ParsedCert::parse(&cert_der, "CA certificate")?;
        if sig::spki(&key)? != parsed.spki_raw {
            return Err(PkiError::CaState(
                "CA key does not match the CA certificate".into(),
            ));
        }
        let ski = match parsed.ski {
            Some(s) => s.to_vec(),
            None => key_identifier(parsed.spki_raw).map_err(|e| PkiError::CaState(e.0))?,
        };
        let state_path = dir.join(CA_STATE_FILE);
        let issued = match fs::metadata(&state_path) {
            // Ca::save always writes the state: a missing file means the record of issued
            // certificates was lost, and carrying on would hide that.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PkiError::CaState(format!(
                    "{} is missing: the record of issued certificates is gone; restore it from a backup",
                    state_path.display()
                )));
            }
            _ => {
                let data = negotiator_store::read_limited(&state_path, MAX_STATE_FILE)?;
                let st: State = serde_json::from_slice(&data)
                    .map_err(|e| PkiError::CaState(format!("{}: {e}", state_path.display())))?;
                if st.version != 1 {
                    return Err(PkiError::CaState(format!(
                        "unsupported state version {}",
                        st.version
                    )));
                }
                st.issued
            }
        };
        Ok(Ca {
            key,
            subject_der: parsed.subject_raw.to_vec(),
            not_after: parsed.not_after,
            ski,
            issued,
            cert_der: cert_der.clone(),
        })
    }
}
