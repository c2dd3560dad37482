//! The CA side of revocation: revoking issued certificates and signing full
//! CRLs, delta CRLs and ARLs (RFC 5280 §5).
//!
//! The TBSCertList is built here rather than with x509-cert's `CrlBuilder`,
//! which copies the issuer certificate's AKI (the key of the issuer's
//! *issuer*) into the CRL; ours carries the CA's own SKI.

use std::time::Duration;

use der::oid::ObjectIdentifier;

use crate::PkiError;
use crate::asn1::{self as d, tag};
use crate::ca::{Ca, IssuedRecord, RevocationRecord, extension};
use crate::cert::OID_AKI;
use crate::sig;
use crate::time::encode_time;

const OID_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const OID_REASON_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
const OID_INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");
const OID_DELTA_CRL_INDICATOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.27");
const OID_IDP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const OID_FRESHEST_CRL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.46");

/// Longest URI accepted for the freshestCRL extension.
const MAX_URI_LEN: usize = 2048;

/// CRLReason (RFC 5280 §5.3.1). Code 7 is unused; `unspecified` (0) is
/// never written (RFC 5280: omit the reasonCode instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlReason {
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6).
    CertificateHold,
    /// removeFromCRL (8): lifts a certificateHold; appears only in delta CRLs.
    RemoveFromCrl,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
}

const REASONS: [(CrlReason, &str, u8); 9] = [
    (CrlReason::KeyCompromise, "keyCompromise", 1),
    (CrlReason::CaCompromise, "cACompromise", 2),
    (CrlReason::AffiliationChanged, "affiliationChanged", 3),
    (CrlReason::Superseded, "superseded", 4),
    (CrlReason::CessationOfOperation, "cessationOfOperation", 5),
    (CrlReason::CertificateHold, "certificateHold", 6),
    (CrlReason::RemoveFromCrl, "removeFromCRL", 8),
    (CrlReason::PrivilegeWithdrawn, "privilegeWithdrawn", 9),
    (CrlReason::AaCompromise, "aACompromise", 10),
];

impl CrlReason {
    /// Parses the RFC 5280 spelling (case-insensitive), e.g. `keyCompromise`.
    pub fn from_name(s: &str) -> Option<CrlReason> {
        REASONS
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(s))
            .map(|(r, _, _)| *r)
    }

    /// The RFC 5280 spelling.
    pub fn name(self) -> &'static str {
        REASONS
            .iter()
            .find(|(r, _, _)| *r == self)
            .map_or("unspecified", |(_, n, _)| n)
    }

    /// The CRLReason ENUMERATED value.
    pub fn code(self) -> u8 {
        REASONS
            .iter()
            .find(|(r, _, _)| *r == self)
            .map_or(0, |(_, _, c)| *c)
    }

    /// All names, for help and error messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        REASONS.iter().map(|(_, n, _)| *n)
    }
}

/// Which CRL to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlKind {
    /// A complete CRL of every certificate this CA issued (no IDP: full
    /// scope), optionally with a freshestCRL extension naming where delta
    /// CRLs are published (OpenSSL only uses deltas when it is present).
    Full {
        /// URI for the freshestCRL extension.
        freshest_crl_uri: Option<String>,
    },
    /// A delta CRL against the last full CRL (deltaCRLIndicator = its
    /// number): revocations since then, and removeFromCRL entries for holds
    /// lifted since then.
    Delta,
    /// An authority revocation list: IDP onlyContainsCACerts, listing the
    /// revoked CA certificates (subordinate CAs, cross-certificates).
    Arl,
}

/// Generalized time for invalidityDate (always GeneralizedTime, RFC 5280 §5.3.2).
fn generalized_time(unix: i64) -> Result<Vec<u8>, PkiError> {
    let t = encode_time(unix)
        .ok_or_else(|| PkiError::InvalidInput("date outside 1950..9999".into()))?;
    if t.first() == Some(&tag::GENERALIZED_TIME) {
        return Ok(t);
    }
    // UTCTime YYMMDDHHMMSSZ for 1950..2049: widen the year.
    let body = t.get(2..).unwrap_or(&[]);
    let yy = body
        .get(..2)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse::<u32>().ok())
        .ok_or_else(|| PkiError::InvalidInput("bad time".into()))?;
    let century: &[u8] = if yy >= 50 { b"19" } else { b"20" };
    let mut c = century.to_vec();
    c.extend_from_slice(body);
    Ok(d::tlv(tag::GENERALIZED_TIME, &c))
}

fn time(unix: i64) -> Result<Vec<u8>, PkiError> {
    encode_time(unix).ok_or_else(|| PkiError::InvalidInput("date outside 1950..9999".into()))
}

fn serial_bytes(hex: &str) -> Result<Vec<u8>, PkiError> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) || hex.len() > 40 {
        return Err(PkiError::CaState(format!("bad serial {hex:?} in state")));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| PkiError::CaState(format!("bad serial {hex:?} in state")))
        })
        .collect()
}

/// Normalises a serial given by a user: hex, optional `0x`, `:` separators,
/// any case, leading zero octets ignored.
fn normalise_serial(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let h: String = s.chars().filter(|c| *c != ':').collect();
    if h.is_empty() || h.len() > 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = h.to_ascii_lowercase();
    let h = if !h.len().is_multiple_of(2) {
        format!("0{h}")
    } else {
        h
    };
    Some(h)
}

fn strip_zero_octets(h: &str) -> &str {
    let mut h = h;
    while h.len() > 2 && h.starts_with("00") {
        h = h.get(2..).unwrap_or(h);
    }
    h
}

fn entry(
    serial_hex: &str,
    date: i64,
    reason: Option<CrlReason>,
    invalidity: Option<i64>,
) -> Result<Vec<u8>, PkiError> {
    let serial = serial_bytes(serial_hex)?;
    let mut exts: Vec<Vec<u8>> = Vec::new();
    if let Some(r) = reason {
        exts.push(extension(
            &OID_REASON_CODE,
            false,
            &d::tlv(0x0a, &[r.code()]),
        ));
    }
    if let Some(t) = invalidity {
        exts.push(extension(
            &OID_INVALIDITY_DATE,
            false,
            &generalized_time(t)?,
        ));
    }
    let ext_refs: Vec<&[u8]> = exts.iter().map(|e| e.as_slice()).collect();
    let ext_seq = if exts.is_empty() {
        Vec::new()
    } else {
        d::seq(&ext_refs)
    };
    Ok(d::seq(&[&d::uint(&serial), &time(date)?, &ext_seq]))
}

fn stored_reason(r: &RevocationRecord) -> Option<CrlReason> {
    r.reason.as_deref().and_then(CrlReason::from_name)
}

impl Ca {
    /// Marks the issued certificate `serial` (hex, as printed by `ca issue`)
    /// revoked at `now_unix` with an optional reason and invalidityDate.
    ///
    /// `RemoveFromCrl` lifts a certificateHold instead (the next delta CRL
    /// says so); another reason given for a certificate on hold makes the
    /// revocation permanent with that reason. Errors: unknown serial, already
    /// revoked, removeFromCRL on a certificate not on hold, an invalidity
    /// date after the revocation.
    /// The caller saves the state.
    pub fn revoke(
        &mut self,
        serial: &str,
        reason: Option<CrlReason>,
        invalidity_date: Option<i64>,
        now_unix: u64,
    ) -> Result<&IssuedRecord, PkiError> {
        let want = normalise_serial(serial)
            .ok_or_else(|| PkiError::InvalidInput(format!("{serial:?} is not a hex serial")))?;
        let now = i64::try_from(now_unix)
            .map_err(|_| PkiError::InvalidInput("time out of range".into()))?;
        if invalidity_date.is_some_and(|t| t > now) {
            return Err(PkiError::InvalidInput(
                "the invalidity date cannot be after the revocation".into(),
            ));
        }
        let crl_number = self.crl_number;
        let rec = self
            .issued
            .iter_mut()
            .find(|r| strip_zero_octets(&r.serial) == strip_zero_octets(&want))
            .ok_or_else(|| {
                PkiError::InvalidInput(format!(
                    "no certificate with serial {want} was issued by this CA"
                ))
            })?;
        match (&mut rec.revoked, reason) {
            (Some(r), Some(CrlReason::RemoveFromCrl)) => {
                if !r.is_active() || stored_reason(r) != Some(CrlReason::CertificateHold) {
                    return Err(PkiError::InvalidInput(format!(
                        "certificate {} is not on hold: removeFromCRL only lifts a certificateHold",
                        rec.serial
                    )));
                }
                r.released_after_crl = Some(crl_number);
            }
            (None, Some(CrlReason::RemoveFromCrl)) => {
                return Err(PkiError::InvalidInput(format!(
                    "certificate {} is not revoked: removeFromCRL only lifts a certificateHold",
                    rec.serial
                )));
            }
            // A hold may become a permanent revocation (RFC 5280 §5.3.1).
            (Some(r), Some(new))
                if r.is_active()
                    && stored_reason(r) == Some(CrlReason::CertificateHold)
                    && new != CrlReason::CertificateHold =>
            {
                *r = RevocationRecord {
                    time: now,
                    reason: Some(new.name().to_string()),
                    invalidity_date,
                    after_crl: crl_number,
                    released_after_crl: None,
                };
            }
            (Some(r), _) if r.is_active() => {
                return Err(PkiError::InvalidInput(format!(
                    "certificate {} is already revoked (since {}{})",
                    rec.serial,
                    crate::format_rfc3339(r.time),
                    r.reason
                        .as_deref()
                        .map(|x| format!(", {x}"))
                        .unwrap_or_default()
                )));
            }
            (slot, reason) => {
                *slot = Some(RevocationRecord {
                    time: now,
                    reason: reason.map(|r| r.name().to_string()),
                    invalidity_date,
                    after_crl: crl_number,
                    released_after_crl: None,
                });
            }
        }
        Ok(rec)
    }

    /// Signs the next CRL of `kind`, valid from `now_unix` for `next_update`
    /// (nextUpdate = thisUpdate + next_update), and advances the CRL number
    /// (one counter for all kinds, so numbers only grow). Every CRL is v2
    /// with cRLNumber and AKI = this CA's SKI; entries carry reasonCode and
    /// invalidityDate when known. A delta needs a previous full CRL. The
    /// caller saves the state.
    pub fn issue_crl(
        &mut self,
        kind: &CrlKind,
        next_update: Duration,
        now_unix: u64,
    ) -> Result<Vec<u8>, PkiError> {
        let now = i64::try_from(now_unix)
            .map_err(|_| PkiError::InvalidInput("time out of range".into()))?;
        let next = crate::ca::validity_end(now, next_update)?;
        let number = self
            .crl_number
            .checked_add(1)
            .ok_or_else(|| PkiError::CaState("CRL number exhausted".into()))?;
        let base = match kind {
            CrlKind::Delta => Some(self.last_full_crl.ok_or_else(|| {
                PkiError::InvalidInput(
                    "no full CRL has been issued yet: a delta CRL needs a base (run `ca crl` first)"
                        .into(),
                )
            })?),
            _ => None,
        };
        let mut entries: Vec<Vec<u8>> = Vec::new();
        for r in &self.issued {
            let Some(rv) = &r.revoked else { continue };
            let include = match kind {
                CrlKind::Full { .. } => rv.is_active().then_some(stored_reason(rv)),
                CrlKind::Arl => (r.ca && rv.is_active()).then_some(stored_reason(rv)),
                CrlKind::Delta => {
                    let b = base.unwrap_or(0);
                    match rv.released_after_crl {
                        None => (rv.after_crl >= b).then_some(stored_reason(rv)),
                        // On the base, lifted since: tell the relying party.
                        Some(rel) => {
                            (rv.after_crl < b && rel >= b).then_some(Some(CrlReason::RemoveFromCrl))
                        }
                    }
                }
            };
            if let Some(reason) = include {
                let inv = if reason == Some(CrlReason::RemoveFromCrl) {
                    None
                } else {
                    rv.invalidity_date
                };
                entries.push(entry(&r.serial, rv.time, reason, inv)?);
            }
        }
        let num = number.to_be_bytes();
        let mut exts = vec![
            extension(&OID_AKI, false, &d::seq(&[&d::tlv(0x80, &self.ski)])),
            extension(&OID_CRL_NUMBER, false, &d::uint(&num)),
        ];
        match kind {
            CrlKind::Full { freshest_crl_uri } => {
                if let Some(uri) = freshest_crl_uri {
                    if uri.is_empty()
                        || uri.len() > MAX_URI_LEN
                        || !uri.is_ascii()
                        || uri.chars().any(|c| c.is_ascii_control() || c == ' ')
                        || !uri.contains(':')
                    {
                        return Err(PkiError::InvalidInput(format!(
                            "{uri:?} is not a URI for freshestCRL"
                        )));
                    }
                    // CRLDistributionPoints: SEQ OF DistributionPoint { [0] { [0] GeneralNames { [6] uri } } }
                    let gn = d::tlv(0x86, uri.as_bytes());
                    let dp = d::seq(&[&d::cons(0xa0, &[&d::cons(0xa0, &[&gn])])]);
                    exts.push(extension(&OID_FRESHEST_CRL, false, &d::seq(&[&dp])));
                }
            }
            CrlKind::Delta => {
                let b = base.unwrap_or(0).to_be_bytes();
                exts.push(extension(&OID_DELTA_CRL_INDICATOR, true, &d::uint(&b)));
            }
            CrlKind::Arl => {
                // IssuingDistributionPoint { onlyContainsCACerts [2] TRUE }
                exts.push(extension(&OID_IDP, true, &d::seq(&[&[0x82, 0x01, 0xff]])));
            }
        }
        let alg = sig::cert_alg_id(self.key.key_type());
        let entry_refs: Vec<&[u8]> = entries.iter().map(|e| e.as_slice()).collect();
        let revoked = if entries.is_empty() {
            Vec::new()
        } else {
            d::seq(&entry_refs)
        };
        let ext_refs: Vec<&[u8]> = exts.iter().map(|e| e.as_slice()).collect();
        let tbs = d::seq(&[
            &[tag::INTEGER, 1, 1],
            alg,
            &self.subject_der,
            &time(now)?,
            &time(next)?,
            &revoked,
            &d::cons(0xa0, &[&d::seq(&ext_refs)]),
        ]);
        let (alg2, signature) = sig::sign_cert(&self.key, &tbs)?;
        let crl = d::seq(&[&tbs, &alg2, &d::bit_string(&signature)]);
        self.crl_number = number;
        if matches!(kind, CrlKind::Full { .. }) {
            self.last_full_crl = Some(number);
        }
        Ok(crl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_normalisation() {
        assert_eq!(normalise_serial("0x0A:bc").as_deref(), Some("0abc"));
        assert_eq!(normalise_serial("abc").as_deref(), Some("0abc"));
        assert_eq!(normalise_serial("xyz"), None);
        assert_eq!(normalise_serial(""), None);
        assert_eq!(strip_zero_octets("0000ab"), "ab");
        assert_eq!(strip_zero_octets("00"), "00");
    }

    #[test]
    fn generalized_time_widens_utc() {
        // 2026-01-02T03:04:05Z = 1767323045 (python3: calendar.timegm)
        assert_eq!(
            generalized_time(1_767_323_045).unwrap(),
            d::tlv(tag::GENERALIZED_TIME, b"20260102030405Z")
        );
        // 1999-12-31T23:59:59Z = 946684799
        assert_eq!(
            generalized_time(946_684_799).unwrap(),
            d::tlv(tag::GENERALIZED_TIME, b"19991231235959Z")
        );
    }

    #[test]
    fn reason_names_round_trip() {
        for n in CrlReason::names() {
            let r = CrlReason::from_name(n).unwrap();
            assert_eq!(r.name(), n);
        }
        assert_eq!(
            CrlReason::from_name("keycompromise").map(|r| r.code()),
            Some(1)
        );
        assert_eq!(CrlReason::RemoveFromCrl.code(), 8);
        assert_eq!(CrlReason::AaCompromise.code(), 10);
        assert_eq!(CrlReason::from_name("unspecified"), None);
    }
}
