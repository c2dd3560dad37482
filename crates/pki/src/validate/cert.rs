//! Certificate parsing for path validation (RFC 5280 §4).

use super::der::{
    self, BIT_STRING, BOOLEAN, DerError, DerResult, INTEGER, OCTET_STRING, OID, Reader, SEQUENCE,
};
use super::name::{GeneralName, Name, parse_general_name, parse_general_names};

/// Largest certificate accepted (bytes).
pub const MAX_CERT_LEN: usize = 1024 * 1024;
/// Most extensions accepted in one certificate.
const MAX_EXTENSIONS: usize = 64;
/// Most policies / mappings / subtrees accepted in one extension.
const MAX_LIST: usize = 256;
/// Most subtrees accepted in one nameConstraints list. Large lists are legal
/// (x509-limbo's nc-dos cases carry over 2,048); the comparison work they cause
/// is bounded by `nc::MAX_NC_CHECKS` instead.
const MAX_SUBTREES: usize = 8192;

pub(crate) const OID_ANY_POLICY: &[u8] = &[0x55, 0x1d, 0x20, 0x00];
pub(crate) const OID_ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// Key usage bits (bit 0 = digitalSignature is the MSB of the first octet).
pub(crate) mod ku {
    pub const KEY_CERT_SIGN: u16 = 1 << 5;
    pub const CRL_SIGN: u16 = 1 << 6;
}

/// AuthorityKeyIdentifier.
#[derive(Debug, Clone, Default)]
pub(crate) struct Aki {
    pub key_id: Option<Vec<u8>>,
    pub issuer: Option<Vec<GeneralName>>,
    pub serial: Option<Vec<u8>>,
}

/// A GeneralSubtree (minimum/maximum must be absent/0 per RFC 5280).
#[derive(Debug, Clone)]
pub(crate) struct NameConstraints {
    pub permitted: Option<Vec<GeneralName>>,
    pub excluded: Vec<GeneralName>,
}

/// DistributionPointName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DpName {
    Full(Vec<GeneralName>),
    /// RDN relative to the CRL issuer (DER of the SET contents, parsed as a one-RDN Name).
    Relative(Name),
}

/// A DistributionPoint (also used for IssuingDistributionPoint's name).
#[derive(Debug, Clone)]
pub(crate) struct DistributionPoint {
    pub name: Option<DpName>,
    /// ReasonFlags as bits (bit 0 = unused ... bit 8 = aACompromise).
    pub reasons: Option<u16>,
    pub crl_issuer: Option<Vec<GeneralName>>,
}

/// A parsed certificate; owns its encoding.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    pub der: Vec<u8>,
    pub tbs: Vec<u8>,
    pub sig_alg: Vec<u8>,
    pub signature: Vec<u8>,
    pub version: u64,
    pub serial: Vec<u8>,
    pub issuer: Name,
    pub subject: Name,
    pub not_before: i64,
    pub not_after: i64,
    pub spki: Vec<u8>,
    /// OID of the subject public key algorithm.
    pub spki_alg: Vec<u8>,
    pub basic_constraints: Option<(bool, Option<u64>)>,
    pub bc_critical: bool,
    pub key_usage: Option<u16>,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<Aki>,
    pub san: Option<Vec<GeneralName>>,
    pub san_critical: bool,
    pub name_constraints: Option<NameConstraints>,
    /// (policy OID, qualifiers present) in order.
    pub policies: Option<Vec<Vec<u8>>>,
    pub policy_mappings: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    pub require_explicit: Option<u64>,
    pub inhibit_mapping: Option<u64>,
    pub inhibit_any: Option<u64>,
    pub crl_dps: Option<Vec<DistributionPoint>>,
    pub freshest_crl: Option<Vec<DistributionPoint>>,
    pub eku: Option<Vec<Vec<u8>>>,
    /// Critical extensions this validator does not process.
    pub unknown_critical: Vec<Vec<u8>>,
    /// Structural problems that make the certificate invalid for validation
    /// (reported when the certificate is used, not at parse time).
    pub defects: Vec<&'static str>,
}

impl Cert {
    /// True when subject and issuer names are equal (RFC 5280 "self-issued").
    pub fn self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    /// True when basicConstraints says cA.
    pub fn is_ca(&self) -> bool {
        matches!(self.basic_constraints, Some((true, _)))
    }

    /// Parses a DER certificate.
    pub fn parse(der: &[u8]) -> DerResult<Cert> {
        if der.len() > MAX_CERT_LEN {
            return Err(DerError("certificate larger than 1 MiB"));
        }
        let outer = der::single(der, SEQUENCE, "Certificate is not a SEQUENCE")?;
        let mut r = Reader::new(outer.content);
        let tbs = r.expect(SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
        let sig_alg = r.expect(SEQUENCE, "signatureAlgorithm is not a SEQUENCE")?;
        let sig = r.expect(BIT_STRING, "signature is not a BIT STRING")?;
        r.finish("trailing data after signature")?;
        let (unused, sig_bytes) = der::bit_string(&sig)?;
        // Unused bits make the signature unverifiable; verification rejects it.
        let sig_bytes = if unused != 0 { &[][..] } else { sig_bytes };

        let mut t = Reader::new(tbs.content);
        let mut defects = Vec::new();
        let version = match t.optional(0xa0)? {
            Some(v) => {
                let v = der::single(v.content, INTEGER, "version is not an INTEGER")?;
                let n = der::small_uint(&v)?;
                if n == 0 {
                    defects.push("explicitly encoded default version v1");
                }
                if n > 2 {
                    return Err(DerError("unknown certificate version"));
                }
                n
            }
            None => 0,
        };
        let serial = t.expect(INTEGER, "serialNumber is not an INTEGER")?;
        if serial.content.is_empty() {
            return Err(DerError("empty serial number"));
        }
        if serial.content.len() > 1 && serial.content[0] == 0 && serial.content[1] & 0x80 == 0 {
            return Err(DerError("non-minimal serial number"));
        }
        if serial.content.len() > 20 {
            defects.push("serial number longer than 20 octets");
        }
        if serial.content.iter().all(|&b| b == 0) {
            defects.push("serial number is zero");
        }
        let inner_alg = t.expect(SEQUENCE, "signature is not a SEQUENCE")?;
        if inner_alg.raw != sig_alg.raw {
            defects.push("tbsCertificate signature algorithm differs from the outer one");
        }
        let issuer = t.expect(SEQUENCE, "issuer is not a Name")?;
        let validity = t.expect(SEQUENCE, "validity is not a SEQUENCE")?;
        let subject = t.expect(SEQUENCE, "subject is not a Name")?;
        let spki = t.expect(SEQUENCE, "subjectPublicKeyInfo is not a SEQUENCE")?;
        let mut ext_tlv = None;
        while let Some(tag) = t.peek_tag() {
            let e = t.any()?;
            match tag {
                0x81 | 0x82 => {
                    if version < 1 {
                        return Err(DerError("unique identifiers in a v1 certificate"));
                    }
                }
                0xa3 => {
                    if version < 2 {
                        return Err(DerError("extensions in a non-v3 certificate"));
                    }
                    ext_tlv = Some(e);
                    break;
                }
                _ => return Err(DerError("unexpected field in tbsCertificate")),
            }
        }
        t.finish("trailing data in tbsCertificate")?;

        let mut vr = Reader::new(validity.content);
        let nb = der::time(&vr.any()?)?;
        let na = der::time(&vr.any()?)?;
        vr.finish("trailing data in validity")?;

        let mut sr = Reader::new(spki.content);
        let alg = sr.expect(SEQUENCE, "SPKI algorithm is not a SEQUENCE")?;
        let _key = sr.expect(BIT_STRING, "SPKI key is not a BIT STRING")?;
        sr.finish("trailing data in SPKI")?;
        let mut ar = Reader::new(alg.content);
        let spki_alg = ar.expect(OID, "SPKI algorithm OID")?.content.to_vec();

        let mut c = Cert {
            der: der.to_vec(),
            tbs: tbs.raw.to_vec(),
            sig_alg: sig_alg.raw.to_vec(),
            signature: sig_bytes.to_vec(),
            version,
            serial: serial.content.to_vec(),
            issuer: Name::parse(issuer.raw)?,
            subject: Name::parse(subject.raw)?,
            not_before: nb,
            not_after: na,
            spki: spki.raw.to_vec(),
            spki_alg,
            basic_constraints: None,
            bc_critical: false,
            key_usage: None,
            ski: None,
            aki: None,
            san: None,
            san_critical: false,
            name_constraints: None,
            policies: None,
            policy_mappings: None,
            require_explicit: None,
            inhibit_mapping: None,
            inhibit_any: None,
            crl_dps: None,
            freshest_crl: None,
            eku: None,
            unknown_critical: Vec::new(),
            defects,
        };
        if let Some(e) = ext_tlv {
            let seq = der::single(e.content, SEQUENCE, "extensions is not a SEQUENCE")?;
            let mut er = Reader::new(seq.content);
            let mut seen: Vec<Vec<u8>> = Vec::new();
            if er.is_empty() {
                c.defects.push("empty extensions SEQUENCE");
            }
            while !er.is_empty() {
                if seen.len() >= MAX_EXTENSIONS {
                    return Err(DerError("too many extensions"));
                }
                let ext = er.expect(SEQUENCE, "extension is not a SEQUENCE")?;
                let mut x = Reader::new(ext.content);
                let oid = x.expect(OID, "extension id is not an OID")?.content;
                let critical = match x.optional(BOOLEAN)? {
                    Some(b) => {
                        let v = der::boolean(&b)?;
                        if !v {
                            c.defects.push("critical=FALSE explicitly encoded");
                        }
                        v
                    }
                    None => false,
                };
                let value = x
                    .expect(OCTET_STRING, "extension value is not an OCTET STRING")?
                    .content;
                x.finish("trailing data in extension")?;
                if seen.iter().any(|s| s == oid) {
                    return Err(DerError("duplicate extension"));
                }
                seen.push(oid.to_vec());
                c.apply_extension(oid, critical, value)?;
            }
        }
        c.profile_checks();
        Ok(c)
    }

    /// RFC 5280 §4 rules that involve several fields.
    fn profile_checks(&mut self) {
        if self.subject.is_empty() {
            if self.is_ca() {
                self.defects.push("CA certificate with an empty subject");
            }
            match &self.san {
                None => self.defects.push("empty subject without subjectAltName"),
                Some(_) if !self.san_critical => self
                    .defects
                    .push("empty subject with a non-critical subjectAltName"),
                _ => {}
            }
        }
        if let Some(k) = self.key_usage
            && k & ku::KEY_CERT_SIGN != 0
            && !self.is_ca()
        {
            self.defects
                .push("keyUsage keyCertSign without basicConstraints cA");
        }
        if self.is_ca() && self.ski.is_none() && self.version == 2 {
            self.defects
                .push("CA certificate without subjectKeyIdentifier");
        }
        if self.version == 2
            && !self.self_issued()
            && self.aki.as_ref().is_none_or(|a| a.key_id.is_none())
        {
            self.defects
                .push("authorityKeyIdentifier keyIdentifier missing");
        }
        if self.name_constraints.is_some() && !self.is_ca() {
            self.defects.push("nameConstraints in a non-CA certificate");
        }
    }

    fn apply_extension(&mut self, oid: &[u8], critical: bool, v: &[u8]) -> DerResult<()> {
        match oid {
            // basicConstraints
            [0x55, 0x1d, 0x13] => {
                let s = der::single(v, SEQUENCE, "basicConstraints")?;
                let mut r = Reader::new(s.content);
                let ca = match r.optional(BOOLEAN)? {
                    Some(b) => der::boolean(&b)?,
                    None => false,
                };
                let pl = match r.optional(INTEGER)? {
                    Some(i) => Some(der::small_uint(&i)?),
                    None => None,
                };
                r.finish("basicConstraints")?;
                // A non-critical basicConstraints on a CA violates the issuing profile
                // but PKITS 4.6.4 requires accepting it (as OpenSSL does).
                if pl.is_some() && !ca {
                    self.defects.push("pathLenConstraint without cA");
                }
                self.basic_constraints = Some((ca, pl));
                self.bc_critical = critical;
            }
            // keyUsage
            [0x55, 0x1d, 0x0f] => {
                let b = der::single(v, BIT_STRING, "keyUsage")?;
                let (_, bytes) = der::bit_string(&b)?;
                let mut bits = 0u16;
                for (i, &byte) in bytes.iter().take(2).enumerate() {
                    for j in 0..8 {
                        if byte & (0x80 >> j) != 0 {
                            bits |= 1 << (i * 8 + j);
                        }
                    }
                }
                if bits == 0 {
                    self.defects.push("keyUsage with no bits set");
                }
                self.key_usage = Some(bits);
            }
            // subjectKeyIdentifier
            [0x55, 0x1d, 0x0e] => {
                if critical {
                    self.defects.push("subjectKeyIdentifier marked critical");
                }
                self.ski = Some(
                    der::single(v, OCTET_STRING, "subjectKeyIdentifier")?
                        .content
                        .to_vec(),
                );
            }
            // authorityKeyIdentifier
            [0x55, 0x1d, 0x23] => {
                if critical {
                    self.defects.push("authorityKeyIdentifier marked critical");
                }
                let s = der::single(v, SEQUENCE, "authorityKeyIdentifier")?;
                let mut r = Reader::new(s.content);
                let mut a = Aki::default();
                if let Some(k) = r.optional(0x80)? {
                    a.key_id = Some(k.content.to_vec());
                }
                if let Some(i) = r.optional(0xa1)? {
                    a.issuer = Some(parse_general_names(i.content)?);
                }
                if let Some(sn) = r.optional(0x82)? {
                    a.serial = Some(sn.content.to_vec());
                }
                r.finish("authorityKeyIdentifier")?;
                self.aki = Some(a);
            }
            // subjectAltName
            [0x55, 0x1d, 0x11] => {
                let s = der::single(v, SEQUENCE, "subjectAltName")?;
                let names = parse_general_names(s.content)?;
                if names.is_empty() {
                    self.defects.push("empty subjectAltName");
                }
                if names.iter().any(|g| !super::nc::valid_san(g)) {
                    self.defects.push("malformed name in subjectAltName");
                }
                self.san_critical = critical;
                self.san = Some(names);
            }
            // issuerAltName: nothing to process.
            [0x55, 0x1d, 0x12] => {}
            // authorityInfoAccess: only checked for well-formedness.
            [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01] => {
                if critical {
                    self.defects.push("authorityInfoAccess marked critical");
                }
                let s = der::single(v, SEQUENCE, "authorityInfoAccess")?;
                let mut r = Reader::new(s.content);
                if r.is_empty() {
                    self.defects.push("empty authorityInfoAccess");
                }
                while !r.is_empty() {
                    let ad = r.expect(SEQUENCE, "AccessDescription")?;
                    let mut ar = Reader::new(ad.content);
                    ar.expect(OID, "accessMethod")?;
                    parse_general_name(&ar.any()?)?;
                    ar.finish("AccessDescription")?;
                }
            }
            // nameConstraints
            [0x55, 0x1d, 0x1e] => {
                let s = der::single(v, SEQUENCE, "nameConstraints")?;
                let mut r = Reader::new(s.content);
                let permitted = match r.optional(0xa0)? {
                    Some(p) => Some(parse_subtrees(p.content)?),
                    None => None,
                };
                let excluded_tlv = r.optional(0xa1)?;
                let excluded = match excluded_tlv {
                    Some(p) => parse_subtrees(p.content)?,
                    None => Vec::new(),
                };
                if permitted.as_ref().is_some_and(Vec::is_empty)
                    || excluded_tlv.is_some() && excluded.is_empty()
                {
                    self.defects
                        .push("empty GeneralSubtrees in nameConstraints");
                }
                if permitted
                    .iter()
                    .flatten()
                    .chain(&excluded)
                    .any(|g| !super::nc::valid_constraint(g))
                {
                    self.defects.push("malformed name constraint");
                }
                r.finish("nameConstraints")?;
                if permitted.is_none() && excluded.is_empty() {
                    self.defects.push("empty nameConstraints");
                }
                if !critical {
                    self.defects.push("nameConstraints not marked critical");
                }
                self.name_constraints = Some(NameConstraints {
                    permitted,
                    excluded,
                });
            }
            // certificatePolicies
            [0x55, 0x1d, 0x20] => {
                let s = der::single(v, SEQUENCE, "certificatePolicies")?;
                let mut r = Reader::new(s.content);
                let mut out: Vec<Vec<u8>> = Vec::new();
                while !r.is_empty() {
                    if out.len() >= MAX_LIST {
                        return Err(DerError("too many policies"));
                    }
                    let pi = r.expect(SEQUENCE, "PolicyInformation")?;
                    let mut pr = Reader::new(pi.content);
                    let p = pr.expect(OID, "policyIdentifier")?.content.to_vec();
                    let _quals = pr.optional(SEQUENCE)?;
                    pr.finish("PolicyInformation")?;
                    if out.contains(&p) {
                        return Err(DerError("duplicate policy in certificatePolicies"));
                    }
                    out.push(p);
                }
                if out.is_empty() {
                    return Err(DerError("empty certificatePolicies"));
                }
                self.policies = Some(out);
            }
            // policyMappings
            [0x55, 0x1d, 0x21] => {
                let s = der::single(v, SEQUENCE, "policyMappings")?;
                let mut r = Reader::new(s.content);
                let mut out = Vec::new();
                while !r.is_empty() {
                    if out.len() >= MAX_LIST {
                        return Err(DerError("too many policy mappings"));
                    }
                    let m = r.expect(SEQUENCE, "policy mapping")?;
                    let mut mr = Reader::new(m.content);
                    let a = mr.expect(OID, "issuerDomainPolicy")?.content.to_vec();
                    let b = mr.expect(OID, "subjectDomainPolicy")?.content.to_vec();
                    mr.finish("policy mapping")?;
                    out.push((a, b));
                }
                if out.is_empty() {
                    return Err(DerError("empty policyMappings"));
                }
                self.policy_mappings = Some(out);
            }
            // policyConstraints
            [0x55, 0x1d, 0x24] => {
                let s = der::single(v, SEQUENCE, "policyConstraints")?;
                let mut r = Reader::new(s.content);
                if let Some(x) = r.optional(0x80)? {
                    self.require_explicit = Some(der::small_uint(&x)?);
                }
                if let Some(x) = r.optional(0x81)? {
                    self.inhibit_mapping = Some(der::small_uint(&x)?);
                }
                r.finish("policyConstraints")?;
                if self.require_explicit.is_none() && self.inhibit_mapping.is_none() {
                    self.defects.push("empty policyConstraints");
                }
                // RFC 5280 says MUST be critical, but PKITS (4.8.6, 4.8.10, 4.10.x, 4.12.x)
                // uses non-critical policyConstraints in valid paths; accept it.
            }
            // inhibitAnyPolicy
            [0x55, 0x1d, 0x36] => {
                self.inhibit_any = Some(der::small_uint(&der::single(
                    v,
                    INTEGER,
                    "inhibitAnyPolicy",
                )?)?);
            }
            // cRLDistributionPoints
            [0x55, 0x1d, 0x1f] => self.crl_dps = Some(parse_dps(v)?),
            // freshestCRL
            [0x55, 0x1d, 0x2e] => self.freshest_crl = Some(parse_dps(v)?),
            // extKeyUsage
            [0x55, 0x1d, 0x25] => {
                let s = der::single(v, SEQUENCE, "extKeyUsage")?;
                let mut r = Reader::new(s.content);
                let mut out = Vec::new();
                while !r.is_empty() {
                    if out.len() >= MAX_LIST {
                        return Err(DerError("too many EKUs"));
                    }
                    out.push(r.expect(OID, "KeyPurposeId")?.content.to_vec());
                }
                if out.is_empty() {
                    self.defects.push("empty extKeyUsage");
                }
                self.eku = Some(out);
            }
            _ => {
                if critical {
                    self.unknown_critical.push(oid.to_vec());
                }
            }
        }
        Ok(())
    }
}

fn parse_subtrees(content: &[u8]) -> DerResult<Vec<GeneralName>> {
    let mut r = Reader::new(content);
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() >= MAX_SUBTREES {
            return Err(DerError("too many name-constraint subtrees"));
        }
        let st = r.expect(SEQUENCE, "GeneralSubtree")?;
        let mut sr = Reader::new(st.content);
        let base = parse_general_name(&sr.any()?)?;
        if let Some(m) = sr.optional(0x80)?
            && der::small_uint(&m)? != 0
        {
            return Err(DerError("GeneralSubtree minimum must be 0"));
        }
        if sr.optional(0x81)?.is_some() {
            return Err(DerError("GeneralSubtree maximum must be absent"));
        }
        sr.finish("GeneralSubtree")?;
        out.push(base);
    }
    Ok(out)
}

pub(crate) fn parse_dp_name(t: &der::Tlv<'_>) -> DerResult<DpName> {
    match t.tag {
        0xa0 => Ok(DpName::Full(parse_general_names(t.content)?)),
        0xa1 => {
            // RelativeDistinguishedName, implicitly tagged SET: wrap as a one-RDN Name.
            let mut set = vec![0x31];
            push_len(&mut set, t.content.len());
            set.extend_from_slice(t.content);
            let mut seq = vec![0x30];
            push_len(&mut seq, set.len());
            seq.extend(set);
            Ok(DpName::Relative(Name::parse(&seq)?))
        }
        _ => Err(DerError("unknown DistributionPointName")),
    }
}

pub(crate) fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

pub(crate) fn reason_bits(t: &der::Tlv<'_>) -> DerResult<u16> {
    let (_, bytes) = der::bit_string(t)?;
    let mut bits = 0u16;
    for (i, &byte) in bytes.iter().take(2).enumerate() {
        for j in 0..8 {
            if byte & (0x80 >> j) != 0 {
                bits |= 1 << (i * 8 + j);
            }
        }
    }
    Ok(bits)
}

pub(crate) fn parse_dps(v: &[u8]) -> DerResult<Vec<DistributionPoint>> {
    let s = der::single(v, SEQUENCE, "CRLDistributionPoints")?;
    let mut r = Reader::new(s.content);
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() >= MAX_LIST {
            return Err(DerError("too many distribution points"));
        }
        let dp = r.expect(SEQUENCE, "DistributionPoint")?;
        let mut dr = Reader::new(dp.content);
        let name = match dr.optional(0xa0)? {
            Some(n) => {
                let mut nr = Reader::new(n.content);
                let inner = nr.any()?;
                nr.finish("DistributionPointName")?;
                Some(parse_dp_name(&inner)?)
            }
            None => None,
        };
        let reasons = match dr.optional(0x81)? {
            Some(b) => Some(reason_bits(&b)?),
            None => None,
        };
        let crl_issuer = match dr.optional(0xa2)? {
            Some(i) => Some(parse_general_names(i.content)?),
            None => None,
        };
        dr.finish("DistributionPoint")?;
        out.push(DistributionPoint {
            name,
            reasons,
            crl_issuer,
        });
    }
    Ok(out)
}
