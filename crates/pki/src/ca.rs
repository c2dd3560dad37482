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
    /// True for CA certificates (subordinate CAs and cross-certificates):
    /// these are listed in the ARL.
    #[serde(default)]
    pub ca: bool,
    /// Set once the certificate is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevocationRecord>,
}

/// The revocation of an issued certificate, as recorded in `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRecord {
    /// revocationDate, Unix seconds.
    pub time: i64,
    /// CRLReason name (RFC 5280 §5.3.1 spelling, e.g. `keyCompromise`), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// invalidityDate, Unix seconds, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidity_date: Option<i64>,
    /// Number of the last CRL issued before the revocation (0: none yet);
    /// delta CRLs list revocations made after their base.
    pub after_crl: u64,
    /// When a certificateHold was lifted (removeFromCRL): number of the last
    /// CRL issued before that. The certificate is no longer revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_after_crl: Option<u64>,
}

impl RevocationRecord {
    /// True while the certificate counts as revoked (not released from hold).
    pub fn is_active(&self) -> bool {
        self.released_after_crl.is_none()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    issued: Vec<IssuedRecord>,
    /// Number of the last CRL (full, delta or ARL) issued; 0 = none.
    #[serde(default)]
    crl_number: u64,
    /// Number of the last full CRL, the base of the next delta CRL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_full_crl: Option<u64>,
}

/// A certification authority: key, self-signed certificate and issuing state.
pub struct Ca {
    pub(crate) key: PrivateKey,
    pub(crate) cert_der: Vec<u8>,
    /// Certificates above this CA (its issuer first, the root last); empty for a root.
    pub(crate) parents: Vec<Vec<u8>>,
    pub(crate) subject_der: Vec<u8>,
    pub(crate) ski: Vec<u8>,
    pub(crate) not_after: i64,
    pub(crate) issued: Vec<IssuedRecord>,
    pub(crate) crl_number: u64,
    pub(crate) last_full_crl: Option<u64>,
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

pub(crate) fn extension(oid: &der::oid::ObjectIdentifier, critical: bool, value: &[u8]) -> Vec<u8> {
    let crit: &[u8] = if critical {
        &[tag::BOOLEAN, 1, 0xff]
    } else {
        &[]
    };
    d::seq(&[&d::oid(oid), crit, &d::tlv(tag::OCTET_STRING, value)])
}

/// keyUsage BIT STRING value with trailing zero bits dropped (DER named bits).
pub(crate) fn key_usage_value(bits: u16) -> Vec<u8> {
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

pub(crate) fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut s = [0u8; 16];
    aws_lc_rs::rand::fill(&mut s).map_err(|_| PkiError::Crypto("random source".into()))?;
    // Positive and exactly 16 octets when DER-encoded: top bit clear, next bit set.
    s[0] = (s[0] & 0x7f) | 0x40;
    Ok(s)
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn validity_end(now: i64, validity: Duration) -> Result<i64, PkiError> {
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

pub(crate) struct TbsParts<'a> {
    pub serial: &'a [u8],
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    pub spki: &'a [u8],
    pub not_before: i64,
    pub not_after: i64,
    pub extensions: &'a [Vec<u8>],
}

/// Builds and signs a v3 certificate.
pub(crate) fn build_and_sign(key: &PrivateKey, p: &TbsParts<'_>) -> Result<Vec<u8>, PkiError> {
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

/// basicConstraints value for a CA certificate.
pub(crate) fn basic_constraints_ca(path_len: Option<u8>) -> Vec<u8> {
    match path_len {
        Some(n) => d::seq(&[&[tag::BOOLEAN, 1, 0xff], &d::uint(&[n])]),
        None => d::seq(&[&[tag::BOOLEAN, 1, 0xff]]),
    }
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
            parents: Vec::new(),
            subject_der,
            ski,
            not_after,
            issued: Vec::new(),
            crl_number: 0,
            last_full_crl: None,
        })
    }

    /// Creates a subordinate CA with a new key; `parent` signs its
    /// certificate (basicConstraints CA:true with the optional pathLen,
    /// critical; keyUsage keyCertSign+cRLSign, critical; SKI; AKI = the
    /// parent's SKI) and records it as an issued CA certificate (so that it
    /// can be revoked and appears in the parent's ARL). The caller saves
    /// the parent's state.
    pub fn generate_subordinate(
        parent: &mut Ca,
        subject: &str,
        key_type: KeyType,
        validity: Duration,
        path_len: Option<u8>,
        now_unix: u64,
    ) -> Result<Ca, PkiError> {
        let subject_der = encode_dn(subject)?;
        if subject_der == d::seq(&[]) {
            return Err(PkiError::InvalidDn {
                input: subject.to_string(),
                reason: "a CA needs a non-empty subject".into(),
            });
        }
        parent.check_can_issue_ca(path_len)?;
        let now = i64::try_from(now_unix)
            .map_err(|_| PkiError::InvalidInput("time out of range".into()))?;
        let not_after = validity_end(now, validity)?;
        parent.check_within_validity(not_after)?;
        let key = sig::generate(key_type)?;
        let spki = sig::spki(&key)?;
        let ski = key_identifier(&spki).map_err(|e| PkiError::Crypto(e.0))?;
        let extensions = vec![
            extension(&OID_BC, true, &basic_constraints_ca(path_len)),
            extension(
                &OID_KU,
                true,
                &key_usage_value(KU_KEY_CERT_SIGN | KU_CRL_SIGN),
            ),
            extension(&OID_SKI, false, &d::tlv(tag::OCTET_STRING, &ski)),
            extension(&OID_AKI, false, &d::seq(&[&d::tlv(0x80, &parent.ski)])),
        ];
        let cert_der =
            parent.sign_recorded(&subject_der, &spki, now, not_after, &extensions, true)?;
        Ok(Ca {
            key,
            cert_der,
            parents: parent.chain(),
            subject_der,
            ski,
            not_after,
            issued: Vec::new(),
            crl_number: 0,
            last_full_crl: None,
        })
    }

    /// Refuses to issue a CA certificate when this CA's own pathLenConstraint
    /// forbids it, or when `path_len` would not fit under it.
    pub(crate) fn check_can_issue_ca(&self, path_len: Option<u8>) -> Result<(), PkiError> {
        let parsed = ParsedCert::parse(&self.cert_der, "CA certificate")?;
        if let Some((_, Some(n))) = parsed.basic_constraints {
            if n == 0 {
                return Err(PkiError::InvalidInput(
                    "this CA's pathLenConstraint is 0: it cannot certify another CA".into(),
                ));
            }
            if path_len.is_some_and(|p| u64::from(p) >= n) {
                return Err(PkiError::InvalidInput(format!(
                    "pathLen must be below this CA's own pathLenConstraint ({n})"
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn check_within_validity(&self, not_after: i64) -> Result<(), PkiError> {
        if not_after > self.not_after {
            return Err(PkiError::InvalidInput(format!(
                "requested validity ends {} after the CA certificate ({})",
                format_rfc3339(not_after),
                format_rfc3339(self.not_after)
            )));
        }
        Ok(())
    }

    /// Signs a certificate with a fresh serial and records it as issued.
    pub(crate) fn sign_recorded(
        &mut self,
        subject_der: &[u8],
        spki: &[u8],
        now: i64,
        not_after: i64,
        extensions: &[Vec<u8>],
        is_ca: bool,
    ) -> Result<Vec<u8>, PkiError> {
        let mut serial = random_serial()?;
        while self.issued.iter().any(|r| r.serial == hex(&serial)) {
            serial = random_serial()?;
        }
        let cert = build_and_sign(
            &self.key,
            &TbsParts {
                serial: &serial,
                issuer: &self.subject_der,
                subject: subject_der,
                spki,
                not_before: now - BACKDATE_SECS,
                not_after,
                extensions,
            },
        )?;
        self.issued.push(IssuedRecord {
            serial: hex(&serial),
            subject: crate::dn::name_to_string(subject_der),
            not_after: format_rfc3339(not_after),
            ca: is_ca,
            revoked: None,
        });
        Ok(cert)
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        crate::pem::to_pem(&self.cert_der)
    }

    /// This CA's certificate followed by the certificates above it, up to
    /// and including the root (a root CA: just its own certificate).
    pub fn chain(&self) -> Vec<Vec<u8>> {
        let mut v = vec![self.cert_der.clone()];
        v.extend(self.parents.iter().cloned());
        v
    }

    /// The root certificate of this CA's hierarchy (its own for a root CA).
    pub fn root_der(&self) -> &[u8] {
        self.parents.last().unwrap_or(&self.cert_der)
    }

    /// The CA's subject key identifier (what its certificates and CRLs carry as AKI).
    pub fn ski(&self) -> &[u8] {
        &self.ski
    }

    /// The CA's subject DN (RFC 4514 style).
    pub fn subject(&self) -> String {
        crate::dn::name_to_string(&self.subject_der)
    }

    /// The CA certificate's notAfter, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Number of the last CRL issued (0: none yet).
    pub fn crl_number(&self) -> u64 {
        self.crl_number
    }

    /// Number of the last full CRL issued, the base of the next delta CRL.
    pub fn last_full_crl(&self) -> Option<u64> {
        self.last_full_crl
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
            ca: false,
            revoked: None,
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
            certificate_chain: self.chain(),
            trust_anchors: vec![self.root_der().to_vec()],
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
            crl_number: self.crl_number,
            last_full_crl: self.last_full_crl,
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
        let st = match fs::metadata(&state_path) {
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
                st
            }
        };
        if st.last_full_crl.is_some_and(|n| n > st.crl_number) {
            return Err(PkiError::CaState(format!(
                "{}: last full CRL number is above the CRL counter",
                state_path.display()
            )));
        }
        Ok(Ca {
            key,
            subject_der: parsed.subject_raw.to_vec(),
            not_after: parsed.not_after,
            ski,
            issued: st.issued,
            crl_number: st.crl_number,
            last_full_crl: st.last_full_crl,
            parents: profile.certificate_chain.get(1..).unwrap_or(&[]).to_vec(),
            cert_der: cert_der.clone(),
        })
    }
}
