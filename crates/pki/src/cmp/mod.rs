//! CMP enrollment server (RFC 4210 / RFC 9810; transport RFC 6712 in [`http`]).
//!
//! This slice handles `ir` and `cr` protected by a password-based MAC
//! (RFC 4211 §4.4) keyed with the authorization code of a one-time
//! enrollment code (the reference number is the senderKID), signature
//! proof of possession, `certConf` → `pkiConf`, implicit confirmation, a
//! minimal `genm` (CA certificates), and `error` answers carrying a
//! PKIFailureInfo for every refusal.

pub mod codes;
pub mod http;
pub mod pbm;
pub mod types;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use aws_lc_rs::aead::LessSafeKey;
use aws_lc_rs::digest;
use der::asn1::{Any, BitString, GeneralizedTime, OctetString};
use der::{AnyRef, Decode, Encode, Reader, SliceReader};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::asn1 as d;
use crate::{Ca, IssueRequest, PkiError, San};
pub use codes::{CODES_FILE, CodeRecord, EnrollCode, create_enroll_code, list_enroll_codes};
use pbm::{Pbm, PbmError};
pub use types::*;

/// Largest accepted PKIMessage.
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Largest number of transactions waiting for certConf.
pub const MAX_PENDING: usize = 4096;
/// How long a transaction waits for certConf.
pub const PENDING_TIMEOUT_SECS: i64 = 600;
/// Default validity of issued certificates.
pub const DEFAULT_CERT_VALIDITY: Duration = Duration::from_secs(365 * 86_400);
/// Text of the refusal for an unknown reference number and for a wrong
/// authorization code alike (no oracle for valid reference numbers).
pub const AUTH_FAILED: &str =
    "MAC check failed: unknown reference number or wrong authorization code";
/// Name of the CA directory lock file (shared with `negotiator ca issue`).
pub const LOCK_FILE: &str = ".lock";

/// A refusal: PKIFailureInfo bit plus a text for statusString.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The failure bit.
    pub fail: PkiFailureInfo,
    /// Human readable reason.
    pub text: String,
}

fn refuse(fail: PkiFailureInfo, text: impl Into<String>) -> Refusal {
    Refusal {
        fail,
        text: text.into(),
    }
}

/// A received PKIMessage with the raw bytes its protection covers.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// Raw DER of the header.
    pub header_raw: &'a [u8],
    /// Raw DER of the body (the [n] EXPLICIT wrapper included).
    pub body_raw: &'a [u8],
    /// Decoded header.
    pub header: PkiHeader,
    /// PKIBody tag number (see [`body`]).
    pub body_type: u8,
    /// The body content (the TLV inside the [n] wrapper).
    pub body_content: &'a [u8],
    /// The protection BIT STRING value, if any.
    pub protection: Option<Vec<u8>>,
    /// extraCerts (raw DER certificates).
    pub extra_certs: Vec<Vec<u8>>,
}

fn fmt_err(what: &str, e: impl std::fmt::Display) -> Refusal {
    refuse(PkiFailureInfo::BadDataFormat, format!("{what}: {e}"))
}

/// Parses a DER PKIMessage (at most [`MAX_MESSAGE`] octets).
pub fn parse_message(bytes: &[u8]) -> Result<Incoming<'_>, Refusal> {
    if bytes.len() > MAX_MESSAGE {
        return Err(refuse(PkiFailureInfo::BadDataFormat, "message too large"));
    }
    let outer = AnyRef::from_der(bytes).map_err(|e| fmt_err("PKIMessage", e))?;
    if bytes.first() != Some(&0x30) {
        return Err(refuse(
            PkiFailureInfo::BadDataFormat,
            "PKIMessage is not a SEQUENCE",
        ));
    }
    let mut r = SliceReader::new(outer.value()).map_err(|e| fmt_err("PKIMessage", e))?;
    let header_raw = r.tlv_bytes().map_err(|e| fmt_err("PKIHeader", e))?;
    let body_raw = r.tlv_bytes().map_err(|e| fmt_err("PKIBody", e))?;
    let mut protection = None;
    let mut extra_certs = Vec::new();
    while !r.is_finished() {
        let t = r.tlv_bytes().map_err(|e| fmt_err("PKIMessage", e))?;
        let a = AnyRef::from_der(t).map_err(|e| fmt_err("PKIMessage", e))?;
        match t.first() {
            Some(0xa0) if protection.is_none() && extra_certs.is_empty() => {
                let bs = BitString::from_der(a.value()).map_err(|e| fmt_err("protection", e))?;
                if bs.unused_bits() != 0 {
                    return Err(refuse(
                        PkiFailureInfo::BadDataFormat,
                        "protection is not a whole number of octets",
                    ));
                }
                protection = Some(bs.raw_bytes().to_vec());
            }
            Some(0xa1) if extra_certs.is_empty() => {
                let list = Vec::<Any>::from_der(a.value()).map_err(|e| fmt_err("extraCerts", e))?;
                for c in list {
                    extra_certs.push(c.to_der().map_err(|e| fmt_err("extraCerts", e))?);
                }
            }
            _ => {
                return Err(refuse(
                    PkiFailureInfo::BadDataFormat,
                    "unexpected PKIMessage field",
                ));
            }
        }
    }
    let header = PkiHeader::from_der(header_raw).map_err(|e| fmt_err("PKIHeader", e))?;
    let first = body_raw.first().copied().unwrap_or(0);
    if first & 0xe0 != 0xa0 || first & 0x1f == 0x1f {
        return Err(refuse(
            PkiFailureInfo::BadDataFormat,
            "PKIBody is not an [n] CHOICE",
        ));
    }
    let body_any = AnyRef::from_der(body_raw).map_err(|e| fmt_err("PKIBody", e))?;
    Ok(Incoming {
        header_raw,
        body_raw,
        header,
        body_type: first & 0x1f,
        body_content: body_any.value(),
        protection,
        extra_certs,
    })
}

/// Splits a CertReqMessages into (raw CertRequest, decoded CertRequest, POP).
type ReqMsg<'a> = (&'a [u8], CertRequest, Option<ProofOfPossession>);

fn parse_cert_req_messages(content: &[u8]) -> Result<Vec<ReqMsg<'_>>, Refusal> {
    let seq = AnyRef::from_der(content).map_err(|e| fmt_err("CertReqMessages", e))?;
    if content.first() != Some(&0x30) {
        return Err(refuse(
            PkiFailureInfo::BadDataFormat,
            "CertReqMessages is not a SEQUENCE",
        ));
    }
    let mut r = SliceReader::new(seq.value()).map_err(|e| fmt_err("CertReqMessages", e))?;
    let mut out = Vec::new();
    while !r.is_finished() {
        if out.len() >= 8 {
            return Err(refuse(PkiFailureInfo::BadRequest, "too many CertReqMsg"));
        }
        let msg_raw = r.tlv_bytes().map_err(|e| fmt_err("CertReqMsg", e))?;
        let msg = AnyRef::from_der(msg_raw).map_err(|e| fmt_err("CertReqMsg", e))?;
        if msg_raw.first() != Some(&0x30) {
            return Err(refuse(
                PkiFailureInfo::BadDataFormat,
                "CertReqMsg is not a SEQUENCE",
            ));
        }
        let mut m = SliceReader::new(msg.value()).map_err(|e| fmt_err("CertReqMsg", e))?;
        let req_raw = m.tlv_bytes().map_err(|e| fmt_err("CertRequest", e))?;
        let req = CertRequest::from_der(req_raw).map_err(|e| fmt_err("CertRequest", e))?;
        let mut pop = None;
        if !m.is_finished() {
            let t = m.tlv_bytes().map_err(|e| fmt_err("popo", e))?;
            if t.first().is_some_and(|b| b & 0xc0 == 0x80) {
                pop = Some(ProofOfPossession::from_der(t).map_err(|e| fmt_err("popo", e))?);
            }
            // regInfo (a SEQUENCE) is ignored.
        }
        out.push((req_raw, req, pop));
    }
    Ok(out)
}

fn verify_pop(
    spki: &[u8],
    alg: &[u8],
    signed: &[u8],
    sig: &[u8],
    what: &str,
) -> Result<(), Refusal> {
    match crate::sig::verify_cert_sig(spki, alg, signed, sig) {
        crate::sig::VerifyOutcome::Valid => Ok(()),
        crate::sig::VerifyOutcome::Invalid => Err(refuse(
            PkiFailureInfo::BadPop,
            format!("{what} signature does not verify"),
        )),
        crate::sig::VerifyOutcome::Unsupported(s) => {
            Err(refuse(PkiFailureInfo::BadPop, format!("{what}: {s}")))
        }
    }
}

/// Checks a CertReqMessages with one request and signature POP; returns
/// (SubjectPublicKeyInfo DER, certReqId).
fn check_crmf(content: &[u8]) -> Result<(Vec<u8>, der::asn1::Int), Refusal> {
    let reqs = parse_cert_req_messages(content)?;
    let [(req_raw, req, pop)] = reqs.as_slice() else {
        return Err(refuse(
            PkiFailureInfo::BadRequest,
            "exactly one CertReqMsg is supported",
        ));
    };
    let spki = req
        .cert_template
        .public_key
        .as_ref()
        .ok_or_else(|| {
            refuse(
                PkiFailureInfo::BadCertTemplate,
                "certTemplate has no publicKey",
            )
        })?
        .to_der()
        .map_err(|e| fmt_err("publicKey", e))?;
    match pop {
        Some(ProofOfPossession::Signature(sk)) => {
            if sk.poposk_input.is_some() {
                return Err(refuse(
                    PkiFailureInfo::BadPop,
                    "poposkInput is not supported",
                ));
            }
            let alg = sk
                .algorithm_identifier
                .to_der()
                .map_err(|e| fmt_err("POP algorithm", e))?;
            match crate::sig::verify_cert_sig(&spki, &alg, req_raw, sk.signature.raw_bytes()) {
                crate::sig::VerifyOutcome::Valid => {}
                crate::sig::VerifyOutcome::Invalid => {
                    return Err(refuse(
                        PkiFailureInfo::BadPop,
                        "POP signature does not verify",
                    ));
                }
                crate::sig::VerifyOutcome::Unsupported(s) => {
                    return Err(refuse(PkiFailureInfo::BadPop, format!("POP: {s}")));
                }
            }
        }
        _ => {
            return Err(refuse(
                PkiFailureInfo::BadPop,
                "a signature proof of possession is required",
            ));
        }
    }
    Ok((spki, req.cert_req_id.clone()))
}

/// Checks a PKCS#10 request (RFC 2986): its self-signature is the POP.
/// Returns (SubjectPublicKeyInfo DER, certReqId -1 as RFC 9810 §5.3.4 wants for p10cr).
fn check_p10cr(content: &[u8]) -> Result<(Vec<u8>, der::asn1::Int), Refusal> {
    if content.first() != Some(&0x30) {
        return Err(refuse(
            PkiFailureInfo::BadDataFormat,
            "p10cr is not a SEQUENCE",
        ));
    }
    let outer = AnyRef::from_der(content).map_err(|e| fmt_err("CertificationRequest", e))?;
    let mut r = SliceReader::new(outer.value()).map_err(|e| fmt_err("CertificationRequest", e))?;
    let info_raw = r
        .tlv_bytes()
        .map_err(|e| fmt_err("certificationRequestInfo", e))?;
    let alg = r
        .tlv_bytes()
        .map_err(|e| fmt_err("signatureAlgorithm", e))?;
    let sig = BitString::decode(&mut r).map_err(|e| fmt_err("signature", e))?;
    r.finish().map_err(|e| fmt_err("CertificationRequest", e))?;
    if info_raw.first() != Some(&0x30) {
        return Err(refuse(
            PkiFailureInfo::BadDataFormat,
            "certificationRequestInfo is not a SEQUENCE",
        ));
    }
    let info = AnyRef::from_der(info_raw).map_err(|e| fmt_err("certificationRequestInfo", e))?;
    let mut ir =
        SliceReader::new(info.value()).map_err(|e| fmt_err("certificationRequestInfo", e))?;
    let version = ir.tlv_bytes().map_err(|e| fmt_err("version", e))?;
    if version != [0x02, 0x01, 0x00] {
        return Err(refuse(
            PkiFailureInfo::BadDataFormat,
            "PKCS#10 version is not 0",
        ));
    }
    let _subject = ir.tlv_bytes().map_err(|e| fmt_err("subject", e))?;
    let spki_raw = ir.tlv_bytes().map_err(|e| fmt_err("subjectPKInfo", e))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_raw)
        .and_then(|s| s.to_der())
        .map_err(|e| fmt_err("subjectPKInfo", e))?;
    if sig.unused_bits() != 0 {
        return Err(refuse(
            PkiFailureInfo::BadDataFormat,
            "PKCS#10 signature has unused bits",
        ));
    }
    verify_pop(&spki, alg, info_raw, sig.raw_bytes(), "PKCS#10")?;
    let minus_one = der::asn1::Int::new(&[0xff]).map_err(|e| fmt_err("certReqId", e))?;
    Ok((spki, minus_one))
}

struct Pending {
    secret: Zeroizing<Vec<u8>>,
    cert_der: Vec<u8>,
    cert_req_id: der::asn1::Int,
    serial: String,
    created: i64,
}

/// The CMP server state: CA directory, CA key password and open transactions.
pub struct CmpServer {
    dir: PathBuf,
    ca_password: Zeroizing<Vec<u8>>,
    code_key: LessSafeKey,
    ca_subject: Vec<u8>,
    ca_root: Vec<u8>,
    pending: Mutex<HashMap<Vec<u8>, Pending>>,
    validity: Duration,
}

impl std::fmt::Debug for CmpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmpServer")
            .field("dir", &self.dir)
            .field("ca_password", &"<redacted>")
            .finish()
    }
}

/// Takes the exclusive CA directory lock (the same `.lock` file as `ca issue`).
pub fn lock_ca_dir(dir: &Path) -> Result<std::fs::File, PkiError> {
    let path = dir.join(LOCK_FILE);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| PkiError::Io(format!("cannot open {}", path.display()), e))?;
    f.lock()
        .map_err(|e| PkiError::Io(format!("cannot lock {}", path.display()), e))?;
    Ok(f)
}

/// A successful answer and the key that protects it.
type Answer = (Reply, Zeroizing<Vec<u8>>, Pbm);
/// A refusal and, when the requester was authenticated, the key that protects the error.
type Fail = (Refusal, Option<Box<(Zeroizing<Vec<u8>>, Pbm)>>);

struct Reply {
    body_type: u8,
    body: Vec<u8>,
    implicit_confirm: bool,
    extra_certs: Vec<Vec<u8>>,
}

impl CmpServer {
    /// Opens the CA in `dir` (checking the password) and prepares a server.
    pub fn new(dir: &Path, ca_password: &[u8]) -> Result<CmpServer, PkiError> {
        let ca = Ca::load(dir, ca_password)?;
        Ok(CmpServer {
            dir: dir.to_path_buf(),
            ca_password: Zeroizing::new(ca_password.to_vec()),
            code_key: codes::code_key(&ca)?,
            ca_subject: ca.subject_der.clone(),
            ca_root: ca.root_der().to_vec(),
            pending: Mutex::new(HashMap::new()),
            validity: DEFAULT_CERT_VALIDITY,
        })
    }

    /// Sets the validity of issued certificates (capped by the CA's own).
    pub fn set_validity(&mut self, v: Duration) {
        self.validity = v;
    }

    /// Handles one DER PKIMessage and returns the DER answer (always a
    /// PKIMessage: ip/cp/pkiConf/genp or error).
    pub fn handle(&self, request: &[u8], now: i64) -> Vec<u8> {
        let msg = match parse_message(request) {
            Ok(m) => m,
            Err(r) => return self.error_reply(None, None, &r, now),
        };
        match self.handle_parsed(&msg, now) {
            Ok((reply, secret, pbm)) => self
                .build(Some(&msg.header), &reply, Some((&secret, &pbm)), now)
                .unwrap_or_else(|r| self.error_reply(Some(&msg.header), None, &r, now)),
            Err((r, key)) => {
                let prot = key.as_deref().map(|(s, p)| (&s[..], p));
                self.error_reply(Some(&msg.header), prot, &r, now)
            }
        }
    }

    fn handle_parsed(&self, msg: &Incoming<'_>, now: i64) -> Result<Answer, Fail> {
        let h = &msg.header;
        if !(2..=3).contains(&h.pvno) {
            return Err((
                refuse(
                    PkiFailureInfo::UnsupportedVersion,
                    format!("pvno {}", h.pvno),
                ),
                None,
            ));
        }
        let alg = h.protection_alg.as_ref().ok_or_else(|| {
            (
                refuse(PkiFailureInfo::BadMessageCheck, "message is not protected"),
                None,
            )
        })?;
        let pbm = Pbm::from_alg_id(alg).map_err(|e| {
            let fail = match e {
                PbmError::UnsupportedAlgorithm(_) => PkiFailureInfo::BadAlg,
                _ => PkiFailureInfo::BadDataFormat,
            };
            (
                refuse(
                    fail,
                    format!(
                        "{e} (this server accepts only password-based MAC with an enrollment code)"
                    ),
                ),
                None,
            )
        })?;
        let prot = msg.protection.as_deref().ok_or_else(|| {
            (
                refuse(PkiFailureInfo::BadMessageCheck, "protection missing"),
                None,
            )
        })?;
        let tid = h
            .transaction_id
            .as_ref()
            .map(|t| t.as_bytes().to_vec())
            .filter(|t| !t.is_empty() && t.len() <= 64)
            .ok_or_else(|| {
                (
                    refuse(PkiFailureInfo::BadDataFormat, "transactionID missing"),
                    None,
                )
            })?;
        let protected_part = d::seq(&[msg.header_raw, msg.body_raw]);

        if msg.body_type == body::CERT_CONF {
            return self.cert_conf(msg, &tid, &pbm, prot, &protected_part, now);
        }
        // Everything else is authenticated with an enrollment code.
        let reference = h
            .sender_kid
            .as_ref()
            .and_then(|k| std::str::from_utf8(k.as_bytes()).ok())
            .map(str::to_string)
            .ok_or_else(|| {
                (
                    refuse(
                        PkiFailureInfo::BadMessageCheck,
                        "senderKID (reference number) missing",
                    ),
                    None,
                )
            })?;
        let record = codes::load_codes(&self.dir)
            .map_err(|e| (refuse(PkiFailureInfo::SystemFailure, e.to_string()), None))?
            .codes
            .into_iter()
            .find(|c| c.reference == reference)
            .ok_or_else(|| (refuse(PkiFailureInfo::BadMessageCheck, AUTH_FAILED), None))?;
        let secret = codes::decrypt_secret(&self.code_key, &record)
            .map_err(|e| (refuse(PkiFailureInfo::SystemFailure, e.to_string()), None))?;
        pbm.verify(&secret, &protected_part, prot)
            .map_err(|_| (refuse(PkiFailureInfo::BadMessageCheck, AUTH_FAILED), None))?;
        let resp_pbm = pbm
            .fresh_like()
            .map_err(|e| (refuse(PkiFailureInfo::SystemFailure, e.to_string()), None))?;
        let keyed = |r: Refusal| (r, Some(Box::new((secret.clone(), resp_pbm.clone()))));
        if record.used.is_some() {
            return Err(keyed(refuse(
                PkiFailureInfo::NotAuthorized,
                "enrollment code already used",
            )));
        }
        if record.expires <= now {
            return Err(keyed(refuse(
                PkiFailureInfo::NotAuthorized,
                "enrollment code expired",
            )));
        }
        let reply = match msg.body_type {
            body::IR | body::CR | body::P10CR => self.enroll(msg, &tid, &reference, &secret, now),
            body::GENM => self.genm(),
            n => Err(refuse(
                PkiFailureInfo::BadRequest,
                format!("PKIBody type {n} not supported"),
            )),
        }
        .map_err(keyed)?;
        Ok((reply, secret, resp_pbm))
    }

    fn genm(&self) -> Result<Reply, Refusal> {
        let certs: Vec<&[u8]> = vec![&self.ca_root];
        let itav = d::seq(&[&d::oid(&OID_IT_CA_CERTS), &d::seq(&certs)]);
        Ok(Reply {
            body_type: body::GENP,
            body: d::seq(&[&itav]),
            implicit_confirm: false,
            extra_certs: Vec::new(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn cert_conf(
        &self,
        msg: &Incoming<'_>,
        tid: &[u8],
        pbm: &Pbm,
        prot: &[u8],
        protected_part: &[u8],
        now: i64,
    ) -> Result<Answer, Fail> {
        self.expire_pending(now);
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = map.get(tid) else {
            return Err((
                refuse(
                    PkiFailureInfo::BadRequest,
                    "certConf for an unknown transaction",
                ),
                None,
            ));
        };
        pbm.verify(&p.secret, protected_part, prot).map_err(|_| {
            (
                refuse(PkiFailureInfo::BadMessageCheck, "MAC check failed"),
                None,
            )
        })?;
        let resp_pbm = pbm
            .fresh_like()
            .map_err(|e| (refuse(PkiFailureInfo::SystemFailure, e.to_string()), None))?;
        let secret = p.secret.clone();
        let keyed = |r: Refusal| (r, Some(Box::new((secret.clone(), resp_pbm.clone()))));
        let statuses = Vec::<CertStatus>::from_der(msg.body_content)
            .map_err(|e| keyed(fmt_err("CertConfirmContent", e)))?;
        // An empty CertConfirmContent rejects all certificates (RFC 4210 §5.3.18).
        for s in &statuses {
            if s.cert_req_id != p.cert_req_id {
                return Err(keyed(refuse(
                    PkiFailureInfo::BadCertId,
                    "certReqId does not match",
                )));
            }
            let h = s.cert_hash.as_bytes();
            let ok = [
                &digest::SHA256,
                &digest::SHA384,
                &digest::SHA512,
                &digest::SHA1_FOR_LEGACY_USE_ONLY,
            ]
            .iter()
            .any(|alg| digest::digest(alg, &p.cert_der).as_ref() == h);
            if !ok {
                return Err(keyed(refuse(
                    PkiFailureInfo::BadCertId,
                    "certHash does not match the issued certificate",
                )));
            }
        }
        // An empty CertConfirmContent, or a rejection, refuses the certificate:
        // revoke it (RFC 4210 §5.3.18) so that it is listed on the next CRL.
        let rejected = statuses.is_empty()
            || statuses.iter().any(|s| {
                s.status_info
                    .as_ref()
                    .is_some_and(|i| i.status == status::REJECTION)
            });
        if rejected {
            self.revoke_rejected(&p.serial, now).map_err(|e| {
                keyed(refuse(
                    PkiFailureInfo::SystemFailure,
                    format!("cannot revoke the rejected certificate: {e}"),
                ))
            })?;
        }
        map.remove(tid);
        Ok((
            Reply {
                body_type: body::PKICONF,
                body: vec![0x05, 0x00],
                implicit_confirm: false,
                extra_certs: Vec::new(),
            },
            secret,
            resp_pbm,
        ))
    }

    /// Drops transactions whose certConf did not come within
    /// [`PENDING_TIMEOUT_SECS`] and revokes their certificates (RFC 4210 §5.3.18:
    /// an unconfirmed certificate must not stay valid).
    fn expire_pending(&self, now: i64) {
        let expired: Vec<String> = {
            let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let mut gone = Vec::new();
            map.retain(|_, p| {
                let keep = now - p.created <= PENDING_TIMEOUT_SECS;
                if !keep {
                    gone.push(p.serial.clone());
                }
                keep
            });
            gone
        };
        for serial in expired {
            if let Err(e) = self.revoke_rejected(&serial, now) {
                eprintln!("cmp: cannot revoke unconfirmed certificate {serial}: {e}");
            }
        }
    }

    fn revoke_rejected(&self, serial: &str, now: i64) -> Result<(), PkiError> {
        let _lock = lock_ca_dir(&self.dir)?;
        let mut ca = Ca::load(&self.dir, &self.ca_password)?;
        let now_u = u64::try_from(now).map_err(|_| PkiError::InvalidInput("clock".into()))?;
        ca.revoke(serial, None, None, now_u)?;
        ca.save_state(&self.dir)
    }

    fn enroll(
        &self,
        msg: &Incoming<'_>,
        tid: &[u8],
        reference: &str,
        secret: &Zeroizing<Vec<u8>>,
        now: i64,
    ) -> Result<Reply, Refusal> {
        let (spki, cert_req_id) = if msg.body_type == body::P10CR {
            check_p10cr(msg.body_content)?
        } else {
            check_crmf(msg.body_content)?
        };
        let implicit = msg
            .header
            .general_info
            .as_ref()
            .is_some_and(|g| g.iter().any(|i| i.info_type == OID_IT_IMPLICIT_CONFIRM));
        if !implicit {
            self.expire_pending(now);
            let map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if map.contains_key(tid) {
                return Err(refuse(
                    PkiFailureInfo::TransactionIdInUse,
                    "transactionID in use",
                ));
            }
            if map.len() >= MAX_PENDING {
                return Err(refuse(
                    PkiFailureInfo::SystemUnavail,
                    "too many open transactions",
                ));
            }
        }
        let sys = |e: PkiError| refuse(PkiFailureInfo::SystemFailure, e.to_string());
        let _lock = lock_ca_dir(&self.dir).map_err(sys)?;
        let mut file = codes::load_codes(&self.dir).map_err(sys)?;
        let rec = file
            .codes
            .iter_mut()
            .find(|c| c.reference == reference)
            .ok_or_else(|| refuse(PkiFailureInfo::NotAuthorized, "unknown reference number"))?;
        if rec.used.is_some() {
            return Err(refuse(
                PkiFailureInfo::NotAuthorized,
                "enrollment code already used",
            ));
        }
        if rec.expires <= now {
            return Err(refuse(
                PkiFailureInfo::NotAuthorized,
                "enrollment code expired",
            ));
        }
        let sans = rec
            .sans
            .iter()
            .map(|s| s.parse::<San>())
            .collect::<Result<Vec<San>, _>>()
            .map_err(sys)?;
        let mut ca = Ca::load(&self.dir, &self.ca_password).map_err(sys)?;
        let left = u64::try_from(ca.not_after.saturating_sub(now)).unwrap_or(0);
        let validity = self.validity.min(Duration::from_secs(left));
        let issue_req = IssueRequest {
            subject: rec.subject.clone(),
            sans,
            validity,
            eku_ipsec_ike: true,
        };
        let now_u =
            u64::try_from(now).map_err(|_| refuse(PkiFailureInfo::SystemFailure, "clock"))?;
        let cert = ca.issue(&issue_req, &spki, now_u).map_err(|e| {
            refuse(
                PkiFailureInfo::BadCertTemplate,
                format!("cannot issue: {e}"),
            )
        })?;
        // Record the certificate first, then burn the code.
        ca.save_state(&self.dir).map_err(sys)?;
        let serial = ca
            .issued()
            .last()
            .map(|r| r.serial.clone())
            .unwrap_or_default();
        rec.used = Some(now);
        rec.serial = Some(serial.clone());
        codes::save_codes(&self.dir, &file).map_err(sys)?;
        if !implicit {
            let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            map.insert(
                tid.to_vec(),
                Pending {
                    secret: secret.clone(),
                    cert_der: cert.clone(),
                    cert_req_id: cert_req_id.clone(),
                    serial,
                    created: now,
                },
            );
        }
        let cert_any = Any::from_der(&cert).map_err(|e| fmt_err("certificate", e))?;
        let root = Any::from_der(ca.root_der()).map_err(|e| fmt_err("CA certificate", e))?;
        let rep = CertRepMessage {
            ca_pubs: Some(vec![root]),
            response: vec![CertResponse {
                cert_req_id: cert_req_id.clone(),
                status: PkiStatusInfo {
                    status: status::ACCEPTED,
                    status_string: None,
                    fail_info: None,
                },
                certified_key_pair: Some(CertifiedKeyPair {
                    certificate: cert_any,
                }),
            }],
        };
        Ok(Reply {
            body_type: if msg.body_type == body::IR {
                body::IP
            } else {
                body::CP
            },
            body: rep.to_der().map_err(|e| fmt_err("CertRepMessage", e))?,
            implicit_confirm: implicit,
            extra_certs: ca.chain(),
        })
    }

    fn error_reply(
        &self,
        req: Option<&PkiHeader>,
        prot: Option<(&[u8], &Pbm)>,
        r: &Refusal,
        now: i64,
    ) -> Vec<u8> {
        let content = ErrorMsgContent {
            pki_status_info: PkiStatusInfo {
                status: status::REJECTION,
                status_string: Some(vec![r.text.clone()]),
                fail_info: r.fail.to_bit_string().ok(),
            },
            error_code: None,
            error_details: None,
        };
        let body = content.to_der().unwrap_or_default();
        let reply = Reply {
            body_type: body::ERROR,
            body,
            implicit_confirm: false,
            extra_certs: Vec::new(),
        };
        let secret_copy = prot.map(|(s, p)| (Zeroizing::new(s.to_vec()), p));
        let prot_ref = secret_copy.as_ref().map(|(s, p)| (s, *p));
        self.build(req, &reply, prot_ref, now)
            .or_else(|_| self.build(None, &reply, None, now))
            .unwrap_or_default()
    }

    fn build(
        &self,
        req: Option<&PkiHeader>,
        reply: &Reply,
        prot: Option<(&Zeroizing<Vec<u8>>, &Pbm)>,
        now: i64,
    ) -> Result<Vec<u8>, Refusal> {
        let e = |e: der::Error| refuse(PkiFailureInfo::SystemFailure, e.to_string());
        let ca_name = Name::from_der(&self.ca_subject).map_err(e)?;
        let mut nonce = [0u8; 16];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| refuse(PkiFailureInfo::SystemFailure, "random source"))?;
        let secs = u64::try_from(now).unwrap_or(0);
        let header = PkiHeader {
            pvno: req
                .map(|h| h.pvno)
                .filter(|p| (2..=3).contains(p))
                .unwrap_or(2),
            sender: GeneralName::DirectoryName(ca_name),
            recipient: req
                .map(|h| h.sender.clone())
                .unwrap_or_else(|| GeneralName::DirectoryName(Name::default())),
            message_time: GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).ok(),
            protection_alg: match prot {
                Some((_, p)) => Some(p.alg_id().map_err(e)?),
                None => None,
            },
            sender_kid: None,
            recip_kid: req.and_then(|h| h.sender_kid.clone()),
            transaction_id: req.and_then(|h| h.transaction_id.clone()),
            sender_nonce: Some(OctetString::new(nonce.to_vec()).map_err(e)?),
            recip_nonce: req.and_then(|h| h.sender_nonce.clone()),
            free_text: None,
            general_info: if reply.implicit_confirm {
                Some(vec![InfoTypeAndValue {
                    info_type: OID_IT_IMPLICIT_CONFIRM,
                    info_value: Some(Any::null()),
                }])
            } else {
                None
            },
        };
        let header_der = header.to_der().map_err(e)?;
        let body_der = d::cons(0xa0 | reply.body_type, &[&reply.body]);
        let mut parts: Vec<Vec<u8>> = vec![header_der.clone(), body_der.clone()];
        if let Some((secret, p)) = prot {
            let mac = p.compute(secret, &d::seq(&[&header_der, &body_der]));
            parts.push(d::cons(0xa0, &[&d::bit_string(&mac)]));
        }
        if !reply.extra_certs.is_empty() {
            let certs: Vec<&[u8]> = reply.extra_certs.iter().map(|c| c.as_slice()).collect();
            parts.push(d::cons(0xa1, &[&d::seq(&certs)]));
        }
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        Ok(d::seq(&refs))
    }
}

#[cfg(test)]
mod tests;
