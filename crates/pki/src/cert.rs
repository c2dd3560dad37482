//! Certificate parsing (structure only; signatures are checked in `verify`).

use der::oid::ObjectIdentifier;

use crate::PkiError;
use crate::asn1::{self as d, DerError, Reader, tag};
use crate::dn::name_to_string;
use crate::san::{San, decode_general_names};
use crate::time::parse_time;

/// Largest certificate accepted (64 KiB).
pub(crate) const MAX_CERT_LEN: usize = 64 * 1024;

pub(crate) const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
pub(crate) const OID_KU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
pub(crate) const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
pub(crate) const OID_BC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
pub(crate) const OID_AKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
pub(crate) const OID_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// id-kp-ipsecIKE (RFC 4945 §5.1.3.12).
pub(crate) const OID_KP_IPSEC_IKE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.17");

/// keyUsage bits as the first two octets of the BIT STRING, big-endian.
pub(crate) const KU_DIGITAL_SIGNATURE: u16 = 0x8000;
pub(crate) const KU_KEY_CERT_SIGN: u16 = 0x0400;
pub(crate) const KU_CRL_SIGN: u16 = 0x0200;

/// One extension.
#[derive(Debug, Clone)]
pub(crate) struct Extension<'a> {
    pub oid: &'a [u8],
    pub critical: bool,
    pub value: &'a [u8],
}

/// A structurally parsed certificate borrowing from its DER.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert<'a> {
    pub tbs_raw: &'a [u8],
    pub sig_alg_raw: &'a [u8],
    pub signature: &'a [u8],
    pub issuer_raw: &'a [u8],
    pub subject_raw: &'a [u8],
    pub not_before: i64,
    pub not_after: i64,
    pub spki_raw: &'a [u8],
    pub extensions: Vec<Extension<'a>>,
    pub basic_constraints: Option<(bool, Option<u64>)>,
    pub key_usage: Option<u16>,
    pub ski: Option<&'a [u8]>,
    pub aki_key_id: Option<&'a [u8]>,
    pub sans: Vec<San>,
    pub eku: Option<Vec<&'a [u8]>>,
    pub subject: String,
}

fn parse_ext_list(content: &[u8]) -> Result<Vec<Extension<'_>>, DerError> {
    let seq = d::parse_single(content, tag::SEQUENCE, "extensions")?;
    let mut r = Reader::new(seq.content);
    let mut out: Vec<Extension<'_>> = Vec::new();
    while !r.is_empty() {
        let e = r.read(tag::SEQUENCE, "extension")?;
        let mut er = Reader::new(e.content);
        let oid = er.read(tag::OID, "extension id")?.content;
        let critical = match er.optional(tag::BOOLEAN, "extension critical")? {
            Some(b) => match b.content {
                [0xff] => true,
                // DER forbids encoding the default FALSE; accept it leniently.
                [0x00] => false,
                _ => return Err(DerError("extension critical: bad BOOLEAN".into())),
            },
            None => false,
        };
        let value = er.read(tag::OCTET_STRING, "extension value")?.content;
        er.finish("extension")?;
        if out.iter().any(|x| x.oid == oid) {
            return Err(DerError(format!(
                "extension {} appears twice",
                oid_string(oid)
            )));
        }
        out.push(Extension {
            oid,
            critical,
            value,
        });
    }
    Ok(out)
}

/// Dotted form of OID contents, or hex if invalid.
pub(crate) fn oid_string(content: &[u8]) -> String {
    ObjectIdentifier::from_bytes(content)
        .map(|o| o.to_string())
        .unwrap_or_else(|_| content.iter().map(|b| format!("{b:02x}")).collect())
}

fn parse_bc(v: &[u8]) -> Result<(bool, Option<u64>), DerError> {
    let s = d::parse_single(v, tag::SEQUENCE, "basicConstraints")?;
    let mut r = Reader::new(s.content);
    let ca = match r.optional(tag::BOOLEAN, "basicConstraints cA")? {
        Some(b) => b.content == [0xff],
        None => false,
    };
    let path_len = match r.optional(tag::INTEGER, "pathLenConstraint")? {
        Some(i) => Some(d::parse_small_uint(i.content, "pathLenConstraint")?),
        None => None,
    };
    r.finish("basicConstraints")?;
    Ok((ca, path_len))
}

fn parse_ku(v: &[u8]) -> Result<u16, DerError> {
    let b = d::parse_single(v, tag::BIT_STRING, "keyUsage")?;
    let (_, bytes) = d::parse_bit_string(b.content, "keyUsage")?;
    let hi = bytes.first().copied().unwrap_or(0) as u16;
    let lo = bytes.get(1).copied().unwrap_or(0) as u16;
    Ok((hi << 8) | lo)
}

fn parse_aki(v: &[u8]) -> Result<Option<&[u8]>, DerError> {
    let s = d::parse_single(v, tag::SEQUENCE, "authorityKeyIdentifier")?;
    let mut r = Reader::new(s.content);
    Ok(r.optional(0x80, "keyIdentifier")?.map(|t| t.content))
}

fn parse_eku(v: &[u8]) -> Result<Vec<&[u8]>, DerError> {
    let s = d::parse_single(v, tag::SEQUENCE, "extKeyUsage")?;
    let mut r = Reader::new(s.content);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.read(tag::OID, "extKeyUsage purpose")?.content);
    }
    Ok(out)
}

impl<'a> ParsedCert<'a> {
    /// Parses a DER certificate; `label` names it in errors (e.g. "#2 in chain").
    pub fn parse(der: &'a [u8], label: &str) -> Result<ParsedCert<'a>, PkiError> {
        let mal = |reason: String| PkiError::Malformed {
            cert: label.to_string(),
            reason,
        };
        if der.len() > MAX_CERT_LEN {
            return Err(mal(format!(
                "{} bytes exceed the limit of {MAX_CERT_LEN}",
                der.len()
            )));
        }
        Self::parse_inner(der).map_err(|e| mal(e.0))
    }

    fn parse_inner(der: &'a [u8]) -> Result<ParsedCert<'a>, DerError> {
        let cert = d::parse_single(der, tag::SEQUENCE, "Certificate")?;
        let mut cr = Reader::new(cert.content);
        let tbs = cr.read(tag::SEQUENCE, "tbsCertificate")?;
        let sig_alg = cr.read(tag::SEQUENCE, "signatureAlgorithm")?;
        let sig = cr.read(tag::BIT_STRING, "signatureValue")?;
        cr.finish("Certificate")?;
        let (unused, signature) = d::parse_bit_string(sig.content, "signatureValue")?;
        if unused != 0 {
            return Err(DerError("signatureValue: unused bits".into()));
        }

        let mut r = Reader::new(tbs.content);
        let version = match r.optional(0xa0, "version")? {
            Some(v) => {
                let i = d::parse_single(v.content, tag::INTEGER, "version")?;
                d::parse_small_uint(i.content, "version")?
            }
            None => 0,
        };
        if version > 2 {
            return Err(DerError(format!("unknown version {version}")));
        }
        let serial = r.read(tag::INTEGER, "serialNumber")?.content;
        if serial.is_empty() || serial.len() > 21 {
            return Err(DerError("serialNumber: bad length".into()));
        }
        let tbs_sig = r.read(tag::SEQUENCE, "signature")?;
        if tbs_sig.raw != sig_alg.raw {
            return Err(DerError(
                "signature algorithm differs between tbsCertificate and Certificate".into(),
            ));
        }
        let issuer = r.read(tag::SEQUENCE, "issuer")?;
        let validity = r.read(tag::SEQUENCE, "validity")?;
        let mut vr = Reader::new(validity.content);
        let nb = vr.read_any("notBefore")?;
        let na = vr.read_any("notAfter")?;
        vr.finish("validity")?;
        let not_before = parse_time(&nb, "notBefore")?;
        let not_after = parse_time(&na, "notAfter")?;
        let subject = r.read(tag::SEQUENCE, "subject")?;
        let spki = r.read(tag::SEQUENCE, "subjectPublicKeyInfo")?;
        let _ = r.optional(0x81, "issuerUniqueID")?;
        let _ = r.optional(0x82, "subjectUniqueID")?;
        let extensions = match r.optional(0xa3, "extensions")? {
            Some(e) => {
                if version != 2 {
                    return Err(DerError(
                        "extensions in a certificate that is not v3".into(),
                    ));
                }
                parse_ext_list(e.content)?
            }
            None => Vec::new(),
        };
        r.finish("tbsCertificate")?;

        let mut pc = ParsedCert {
            tbs_raw: tbs.raw,
            sig_alg_raw: sig_alg.raw,
            signature,
            issuer_raw: issuer.raw,
            subject_raw: subject.raw,
            not_before,
            not_after,
            spki_raw: spki.raw,
            extensions: Vec::new(),
            basic_constraints: None,
            key_usage: None,
            ski: None,
            aki_key_id: None,
            sans: Vec::new(),
            eku: None,
            subject: name_to_string(subject.raw),
        };
        for e in &extensions {
            if e.oid == OID_BC.as_bytes() {
                pc.basic_constraints = Some(parse_bc(e.value)?);
            } else if e.oid == OID_KU.as_bytes() {
                pc.key_usage = Some(parse_ku(e.value)?);
            } else if e.oid == OID_SKI.as_bytes() {
                pc.ski = Some(
                    d::parse_single(e.value, tag::OCTET_STRING, "subjectKeyIdentifier")?.content,
                );
            } else if e.oid == OID_AKI.as_bytes() {
                pc.aki_key_id = parse_aki(e.value)?;
            } else if e.oid == OID_SAN.as_bytes() {
                pc.sans = decode_general_names(e.value)?;
            } else if e.oid == OID_EKU.as_bytes() {
                pc.eku = Some(parse_eku(e.value)?);
            }
        }
        pc.extensions = extensions;
        Ok(pc)
    }

    /// Extensions marked critical that this crate does not process.
    pub fn unknown_critical(&self) -> Option<String> {
        let known = [OID_BC, OID_KU, OID_SAN, OID_SKI, OID_AKI, OID_EKU];
        self.extensions
            .iter()
            .find(|e| e.critical && !known.iter().any(|k| k.as_bytes() == e.oid))
            .map(|e| oid_string(e.oid))
    }

    /// Display name for messages: the subject, or the first SAN when the subject is empty.
    pub fn display_name(&self) -> String {
        if self.subject.is_empty() {
            match self.sans.first() {
                Some(s) => s.to_string(),
                None => "<empty subject>".into(),
            }
        } else {
            self.subject.clone()
        }
    }
}

/// Subject key identifier per RFC 7093 §2 method 1: the leftmost 160 bits of
/// the SHA-256 hash of the subjectPublicKey BIT STRING value.
pub(crate) fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, DerError> {
    let spki = d::parse_single(spki_der, tag::SEQUENCE, "SubjectPublicKeyInfo")?;
    let mut r = Reader::new(spki.content);
    r.read(tag::SEQUENCE, "SubjectPublicKeyInfo algorithm")?;
    let bits = r.read(tag::BIT_STRING, "subjectPublicKey")?;
    r.finish("SubjectPublicKeyInfo")?;
    let (_, key) = d::parse_bit_string(bits.content, "subjectPublicKey")?;
    let h = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key);
    Ok(h.as_ref().get(..20).unwrap_or(&[]).to_vec())
}
