//! Cross-certification: this CA certifies another CA domain's key (RFC 5280
//! §3.2, RFC 4158), optionally constraining the names (nameConstraints) and
//! mapping the policies (policyMappings) it accepts from that domain.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use der::oid::ObjectIdentifier;

use crate::PkiError;
use crate::asn1::{self as d, tag};
use crate::ca::{Ca, basic_constraints_ca, extension, key_usage_value, validity_end};
use crate::cert::{
    KU_CRL_SIGN, KU_KEY_CERT_SIGN, OID_AKI, OID_BC, OID_KU, OID_SKI, ParsedCert, key_identifier,
};
use crate::dn::encode_dn;

const OID_NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
const OID_CERT_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
const OID_POLICY_MAPPINGS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.33");
const OID_ANY_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32.0");

/// Most name constraints / policy mappings in one cross-certificate.
pub const MAX_CROSS_CONSTRAINTS: usize = 256;
/// Longest single constraint value.
const MAX_CONSTRAINT_LEN: usize = 1024;

/// The base name of a name constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintBase {
    /// dNSName: the name and its subdomains.
    Dns(String),
    /// iPAddress: an address block (address and prefix length).
    Ip {
        /// Network address (host bits must be zero).
        addr: IpAddr,
        /// Prefix length.
        prefix: u8,
    },
    /// rfc822Name: a mailbox, a host (`example.com`) or a domain (`.example.com`).
    Email(String),
    /// uniformResourceIdentifier: a host or domain (`.example.com`).
    Uri(String),
    /// directoryName: a DN subtree (RFC 4514-style string).
    Dn(String),
}

/// One permitted or excluded subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameConstraint {
    /// True for permittedSubtrees, false for excludedSubtrees.
    pub permit: bool,
    /// The subtree's base.
    pub base: ConstraintBase,
}

fn bad(input: &str, why: &str) -> PkiError {
    PkiError::InvalidInput(format!("name constraint {input:?}: {why}"))
}

fn check_text(input: &str, v: &str) -> Result<(), PkiError> {
    if v.is_empty() || v.len() > MAX_CONSTRAINT_LEN {
        return Err(bad(input, "empty or too long"));
    }
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(input, "only printable ASCII without spaces is allowed"));
    }
    Ok(())
}

impl FromStr for NameConstraint {
    type Err = PkiError;

    /// `permit:KIND:VALUE` or `exclude:KIND:VALUE` with KIND one of `dns`,
    /// `ip` (ADDR/PREFIX), `email`, `uri`, `dn`.
    fn from_str(s: &str) -> Result<Self, PkiError> {
        let (mode, rest) = s
            .split_once(':')
            .ok_or_else(|| bad(s, "expected permit:KIND:VALUE or exclude:KIND:VALUE"))?;
        let permit = match mode.to_ascii_lowercase().as_str() {
            "permit" => true,
            "exclude" => false,
            _ => return Err(bad(s, "must start with permit: or exclude:")),
        };
        let (kind, v) = rest
            .split_once(':')
            .ok_or_else(|| bad(s, "expected KIND:VALUE after permit:/exclude:"))?;
        let base = match kind.to_ascii_lowercase().as_str() {
            "dns" => {
                check_text(s, v)?;
                ConstraintBase::Dns(v.to_string())
            }
            "email" => {
                check_text(s, v)?;
                ConstraintBase::Email(v.to_string())
            }
            "uri" => {
                check_text(s, v)?;
                ConstraintBase::Uri(v.to_string())
            }
            "dn" => {
                if v.len() > MAX_CONSTRAINT_LEN {
                    return Err(bad(s, "too long"));
                }
                encode_dn(v)?;
                ConstraintBase::Dn(v.to_string())
            }
            "ip" => {
                let (a, p) = v
                    .split_once('/')
                    .ok_or_else(|| bad(s, "ip needs ADDRESS/PREFIX"))?;
                let addr: IpAddr = a.parse().map_err(|_| bad(s, "bad IP address"))?;
                let prefix: u8 = p.parse().map_err(|_| bad(s, "bad prefix length"))?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                if prefix > max {
                    return Err(bad(s, "prefix length too large"));
                }
                let (bytes, mask) = ip_and_mask(addr, prefix);
                if bytes.iter().zip(&mask).any(|(b, m)| b & !m != 0) {
                    return Err(bad(s, "host bits set below the prefix"));
                }
                ConstraintBase::Ip { addr, prefix }
            }
            _ => return Err(bad(s, "KIND must be dns, ip, email, uri or dn")),
        };
        Ok(NameConstraint { permit, base })
    }
}

fn ip_and_mask(addr: IpAddr, prefix: u8) -> (Vec<u8>, Vec<u8>) {
    let bytes = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let mut left = u32::from(prefix);
    let mask = bytes
        .iter()
        .map(|_| {
            let take = left.min(8);
            left -= take;
            if take == 0 { 0u8 } else { 0xffu8 << (8 - take) }
        })
        .collect();
    (bytes, mask)
}

/// Parses a comma-separated list (`permit:dns:example.com,exclude:ip:10.0.0.0/8`).
/// A `dn` item takes the rest of the string (DNs contain commas), so put it last.
pub fn parse_name_constraints(s: &str) -> Result<Vec<NameConstraint>, PkiError> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if out.len() >= MAX_CROSS_CONSTRAINTS {
            return Err(PkiError::InvalidInput("too many name constraints".into()));
        }
        let lower = rest.to_ascii_lowercase();
        let is_dn = lower.starts_with("permit:dn:") || lower.starts_with("exclude:dn:");
        let (item, tail) = if is_dn {
            (rest, "")
        } else {
            rest.split_once(',').unwrap_or((rest, ""))
        };
        out.push(item.trim().parse()?);
        rest = tail.trim();
    }
    if out.is_empty() {
        return Err(PkiError::InvalidInput("empty name constraint list".into()));
    }
    Ok(out)
}

fn encode_base(b: &ConstraintBase) -> Result<Vec<u8>, PkiError> {
    Ok(match b {
        ConstraintBase::Email(v) => d::tlv(0x81, v.as_bytes()),
        ConstraintBase::Dns(v) => d::tlv(0x82, v.as_bytes()),
        ConstraintBase::Dn(v) => d::cons(0xa4, &[&encode_dn(v)?]),
        ConstraintBase::Uri(v) => d::tlv(0x86, v.as_bytes()),
        ConstraintBase::Ip { addr, prefix } => {
            let (mut bytes, mask) = ip_and_mask(*addr, *prefix);
            bytes.extend_from_slice(&mask);
            d::tlv(0x87, &bytes)
        }
    })
}

/// nameConstraints value (RFC 5280 §4.2.1.10).
fn encode_name_constraints(ncs: &[NameConstraint]) -> Result<Vec<u8>, PkiError> {
    let mut permitted = Vec::new();
    let mut excluded = Vec::new();
    for nc in ncs {
        let subtree = d::seq(&[&encode_base(&nc.base)?]);
        if nc.permit {
            permitted.push(subtree);
        } else {
            excluded.push(subtree);
        }
    }
    let mut parts = Vec::new();
    if !permitted.is_empty() {
        let r: Vec<&[u8]> = permitted.iter().map(|v| v.as_slice()).collect();
        parts.push(d::cons(0xa0, &r));
    }
    if !excluded.is_empty() {
        let r: Vec<&[u8]> = excluded.iter().map(|v| v.as_slice()).collect();
        parts.push(d::cons(0xa1, &r));
    }
    let r: Vec<&[u8]> = parts.iter().map(|v| v.as_slice()).collect();
    Ok(d::seq(&r))
}

/// A policy mapping `ISSUER_OID=SUBJECT_OID`: the issuer domain's policy
/// is considered equivalent to the subject domain's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMapping {
    /// issuerDomainPolicy (our domain).
    pub issuer_domain_policy: ObjectIdentifier,
    /// subjectDomainPolicy (the other domain).
    pub subject_domain_policy: ObjectIdentifier,
}

impl FromStr for PolicyMapping {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, PkiError> {
        let bad = |why: &str| PkiError::InvalidInput(format!("policy mapping {s:?}: {why}"));
        if s.len() > MAX_CONSTRAINT_LEN {
            return Err(bad("too long"));
        }
        let (i, sub) = s
            .split_once('=')
            .ok_or_else(|| bad("expected ISSUER_OID=SUBJECT_OID"))?;
        let i = ObjectIdentifier::new(i.trim()).map_err(|_| bad("bad issuer OID"))?;
        let sub = ObjectIdentifier::new(sub.trim()).map_err(|_| bad("bad subject OID"))?;
        if i == OID_ANY_POLICY || sub == OID_ANY_POLICY {
            return Err(bad("anyPolicy cannot be mapped (RFC 5280 §4.2.1.5)"));
        }
        Ok(PolicyMapping {
            issuer_domain_policy: i,
            subject_domain_policy: sub,
        })
    }
}

/// What to put in a cross-certificate besides the other CA's name and key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrossCertOptions {
    /// nameConstraints (critical) when not empty.
    pub name_constraints: Vec<NameConstraint>,
    /// policyMappings (critical) when not empty; certificatePolicies then
    /// lists the mapped issuer-domain policies, else anyPolicy.
    pub policy_mappings: Vec<PolicyMapping>,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u8>,
    /// Validity from now; `None`: until the earlier of the two CA
    /// certificates' notAfter.
    pub validity: Option<Duration>,
}

impl Ca {
    /// Issues a cross-certificate for another CA domain's CA certificate
    /// `other_ca_der`: subject and public key are the other CA's, issuer is
    /// this CA; basicConstraints CA:true (critical, optional pathLen),
    /// keyUsage keyCertSign+cRLSign (critical), SKI = the other CA's SKI,
    /// AKI = this CA's SKI, optional nameConstraints and policyMappings
    /// (both critical) and certificatePolicies. It is recorded as an issued
    /// CA certificate (revocable, listed in the ARL); the caller saves the
    /// state.
    pub fn cross_certify(
        &mut self,
        other_ca_der: &[u8],
        opts: &CrossCertOptions,
        now_unix: u64,
    ) -> Result<Vec<u8>, PkiError> {
        if opts.name_constraints.len() > MAX_CROSS_CONSTRAINTS
            || opts.policy_mappings.len() > MAX_CROSS_CONSTRAINTS
        {
            return Err(PkiError::InvalidInput(
                "too many name constraints or policy mappings".into(),
            ));
        }
        let other = ParsedCert::parse(other_ca_der, "other CA certificate")?;
        if !matches!(other.basic_constraints, Some((true, _))) {
            return Err(PkiError::InvalidInput(format!(
                "{} is not a CA certificate (no basicConstraints CA:true)",
                other.display_name()
            )));
        }
        if other.subject_raw == d::seq(&[]).as_slice() {
            return Err(PkiError::InvalidInput(
                "the other CA certificate has an empty subject".into(),
            ));
        }
        let own = ParsedCert::parse(&self.cert_der, "CA certificate")?;
        if other.spki_raw == own.spki_raw {
            return Err(PkiError::InvalidInput(
                "that is this CA's own key; a cross-certificate certifies another CA".into(),
            ));
        }
        self.check_can_issue_ca(opts.path_len)?;
        let now = i64::try_from(now_unix)
            .map_err(|_| PkiError::InvalidInput("time out of range".into()))?;
        let not_after = match opts.validity {
            Some(v) => validity_end(now, v)?,
            None => self.not_after.min(other.not_after),
        };
        if not_after <= now {
            return Err(PkiError::InvalidInput(
                "the other CA certificate has expired".into(),
            ));
        }
        self.check_within_validity(not_after)?;
        let other_ski = match other.ski {
            Some(s) => s.to_vec(),
            None => key_identifier(other.spki_raw).map_err(|e| PkiError::InvalidInput(e.0))?,
        };
        let mut extensions = vec![
            extension(&OID_BC, true, &basic_constraints_ca(opts.path_len)),
            extension(
                &OID_KU,
                true,
                &key_usage_value(KU_KEY_CERT_SIGN | KU_CRL_SIGN),
            ),
        ];
        if !opts.name_constraints.is_empty() {
            extensions.push(extension(
                &OID_NAME_CONSTRAINTS,
                true,
                &encode_name_constraints(&opts.name_constraints)?,
            ));
        }
        let mut policies: Vec<ObjectIdentifier> = Vec::new();
        for m in &opts.policy_mappings {
            if !policies.contains(&m.issuer_domain_policy) {
                policies.push(m.issuer_domain_policy);
            }
        }
        if policies.is_empty() {
            policies.push(OID_ANY_POLICY);
        }
        let infos: Vec<Vec<u8>> = policies.iter().map(|p| d::seq(&[&d::oid(p)])).collect();
        let refs: Vec<&[u8]> = infos.iter().map(|v| v.as_slice()).collect();
        extensions.push(extension(&OID_CERT_POLICIES, false, &d::seq(&refs)));
        if !opts.policy_mappings.is_empty() {
            let maps: Vec<Vec<u8>> = opts
                .policy_mappings
                .iter()
                .map(|m| {
                    d::seq(&[
                        &d::oid(&m.issuer_domain_policy),
                        &d::oid(&m.subject_domain_policy),
                    ])
                })
                .collect();
            let refs: Vec<&[u8]> = maps.iter().map(|v| v.as_slice()).collect();
            extensions.push(extension(&OID_POLICY_MAPPINGS, true, &d::seq(&refs)));
        }
        extensions.push(extension(
            &OID_SKI,
            false,
            &d::tlv(tag::OCTET_STRING, &other_ski),
        ));
        extensions.push(extension(
            &OID_AKI,
            false,
            &d::seq(&[&d::tlv(0x80, &self.ski)]),
        ));
        let subject = other.subject_raw.to_vec();
        let spki = other.spki_raw.to_vec();
        self.sign_recorded(&subject, &spki, now, not_after, &extensions, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_constraint_lists() {
        let v = parse_name_constraints("permit:dns:example.com,exclude:ip:10.0.0.0/8").unwrap();
        assert_eq!(v.len(), 2);
        assert!(v[0].permit);
        assert_eq!(v[0].base, ConstraintBase::Dns("example.com".into()));
        assert!(!v[1].permit);
        // 10.0.0.0/8 as iPAddress constraint: 0a000000 ff000000 (RFC 5280 §4.2.1.10)
        assert_eq!(
            encode_base(&v[1].base).unwrap(),
            vec![0x87, 8, 10, 0, 0, 0, 0xff, 0, 0, 0]
        );
        let dn = parse_name_constraints("permit:dns:a.example,exclude:dn:CN=x, O=y").unwrap();
        assert_eq!(dn[1].base, ConstraintBase::Dn("CN=x, O=y".into()));
        assert!(parse_name_constraints("allow:dns:x").is_err());
        assert!(parse_name_constraints("permit:ip:10.0.0.1/8").is_err());
        assert!(parse_name_constraints("permit:ip:10.0.0.0/33").is_err());
        assert!(parse_name_constraints("permit:dns:a b").is_err());
        assert!(parse_name_constraints("").is_err());
    }

    #[test]
    fn ipv6_mask() {
        let (_, m) = ip_and_mask("2001:db8::".parse().unwrap(), 33);
        assert_eq!(&m[..5], &[0xff, 0xff, 0xff, 0xff, 0x80]);
        assert!(m[5..].iter().all(|b| *b == 0));
    }

    #[test]
    fn policy_mappings() {
        let m: PolicyMapping = "1.2.3.4=1.2.3.5".parse().unwrap();
        assert_eq!(m.issuer_domain_policy.to_string(), "1.2.3.4");
        assert!("2.5.29.32.0=1.2.3".parse::<PolicyMapping>().is_err());
        assert!("1.2.3".parse::<PolicyMapping>().is_err());
        assert!("x=1.2".parse::<PolicyMapping>().is_err());
    }
}
