//! Distinguished names (RFC 5280 §7.1 comparison) and GeneralNames.

use super::der::{DerError, DerResult, OID, Reader, SEQUENCE, SET, oid_to_string};

/// Maximum number of attributes accepted in one Name.
const MAX_NAME_ATTRS: usize = 64;
/// Maximum number of entries accepted in one GeneralNames.
const MAX_GENERAL_NAMES: usize = 1024;

/// A normalised attribute value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum AttrValue {
    /// A directory string: case-folded, inner whitespace collapsed, trimmed.
    Text(String),
    /// Anything else: compared as tag and bytes.
    Raw(u8, Vec<u8>),
}

/// One attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Attr {
    pub oid: Vec<u8>,
    pub value: AttrValue,
    /// Value as given, for display.
    pub display: String,
}

/// A parsed distinguished name: RDNs in encoding order, each sorted for comparison.
#[derive(Debug, Clone, Default)]
pub(crate) struct Name {
    pub rdns: Vec<Vec<Attr>>,
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.rdns.len() == other.rdns.len()
            && self.rdns.iter().zip(&other.rdns).all(|(a, b)| rdn_eq(a, b))
    }
}
impl Eq for Name {}

fn rdn_eq(a: &[Attr], b: &[Attr]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.oid == y.oid && x.value == y.value)
}

/// A hashable form of a Name that is equal exactly when the Names compare equal.
pub(crate) type NameKey = Vec<Vec<(Vec<u8>, AttrValue)>>;

impl Name {
    /// The comparison key (type and normalised value of every attribute).
    pub fn key(&self) -> NameKey {
        self.rdns
            .iter()
            .map(|r| r.iter().map(|a| (a.oid.clone(), a.value.clone())).collect())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// True when `self` lies within the subtree rooted at `base` (RDN prefix match).
    pub fn within(&self, base: &Name) -> bool {
        base.rdns.len() <= self.rdns.len()
            && base.rdns.iter().zip(&self.rdns).all(|(a, b)| rdn_eq(a, b))
    }

    /// Email addresses in legacy emailAddress attributes (1.2.840.113549.1.9.1).
    pub fn email_attrs(&self) -> impl Iterator<Item = &str> {
        self.rdns.iter().flatten().filter_map(|a| {
            if a.oid == OID_EMAIL_ADDRESS {
                Some(a.display.as_str())
            } else {
                None
            }
        })
    }

    /// Parses a Name from its full DER encoding.
    pub fn parse(der: &[u8]) -> DerResult<Name> {
        let seq = super::der::single(der, SEQUENCE, "Name is not a SEQUENCE")?;
        let mut r = Reader::new(seq.content);
        let mut rdns = Vec::new();
        let mut count = 0;
        while !r.is_empty() {
            let set = r.expect(SET, "RDN is not a SET")?;
            let mut sr = Reader::new(set.content);
            let mut rdn = Vec::new();
            while !sr.is_empty() {
                count += 1;
                if count > MAX_NAME_ATTRS {
                    return Err(DerError("too many attributes in a Name"));
                }
                let atv = sr.expect(SEQUENCE, "attribute is not a SEQUENCE")?;
                let mut ar = Reader::new(atv.content);
                let oid = ar.expect(OID, "attribute type is not an OID")?;
                let v = ar.any()?;
                ar.finish("trailing data in attribute")?;
                let (value, display) = normalise(v.tag, v.content);
                rdn.push(Attr {
                    oid: oid.content.to_vec(),
                    value,
                    display,
                });
            }
            if rdn.is_empty() {
                return Err(DerError("empty RDN"));
            }
            rdn.sort();
            rdns.push(rdn);
        }
        Ok(Name { rdns })
    }
}

pub(crate) const OID_EMAIL_ADDRESS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

fn normalise(tag: u8, c: &[u8]) -> (AttrValue, String) {
    let text: Option<String> = match tag {
        0x0c | 0x13 | 0x16 | 0x1a => std::str::from_utf8(c).ok().map(str::to_owned),
        // TeletexString: treat as Latin-1 (what deployed software does).
        0x14 => Some(c.iter().map(|&b| b as char).collect()),
        0x1e => {
            if !c.len().is_multiple_of(2) {
                None
            } else {
                let u: Vec<u16> = c
                    .chunks_exact(2)
                    .map(|p| u16::from_be_bytes([p[0], p[1]]))
                    .collect();
                String::from_utf16(&u).ok()
            }
        }
        0x1c => {
            if !c.len().is_multiple_of(4) {
                None
            } else {
                c.chunks_exact(4)
                    .map(|p| char::from_u32(u32::from_be_bytes([p[0], p[1], p[2], p[3]])))
                    .collect()
            }
        }
        _ => None,
    };
    match text {
        Some(s) => {
            let folded: String = s
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .flat_map(char::to_lowercase)
                .collect();
            (AttrValue::Text(folded), s)
        }
        None => {
            let hex: String = c.iter().map(|b| format!("{b:02x}")).collect();
            (AttrValue::Raw(tag, c.to_vec()), format!("#{hex}"))
        }
    }
}

fn attr_label(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x55, 0x04, 0x05] => "serialNumber".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID".into(),
        o if o == OID_EMAIL_ADDRESS => "emailAddress".into(),
        o => oid_to_string(o),
    }
}

impl std::fmt::Display for Name {
    /// OpenSSL-style one-line form in encoding order: `C=US, O=Org, CN=Name`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.rdns.is_empty() {
            return f.write_str("<empty name>");
        }
        let mut first = true;
        for rdn in &self.rdns {
            for (i, a) in rdn.iter().enumerate() {
                if !first {
                    f.write_str(if i > 0 { " + " } else { ", " })?;
                }
                first = false;
                write!(f, "{}={}", attr_label(&a.oid), a.display.escape_debug())?;
            }
        }
        Ok(())
    }
}

/// A GeneralName (RFC 5280 §4.2.1.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GeneralName {
    /// rfc822Name [1].
    Email(Vec<u8>),
    /// dNSName [2].
    Dns(Vec<u8>),
    /// directoryName [4].
    Dir(Name),
    /// uniformResourceIdentifier [6].
    Uri(Vec<u8>),
    /// iPAddress [7].
    Ip(Vec<u8>),
    /// otherName [0], x400Address [3], ediPartyName [5], registeredID [8]: (tag number, contents).
    Other(u8, Vec<u8>),
}

/// Parses one GeneralName element.
pub(crate) fn parse_general_name(t: &super::der::Tlv<'_>) -> DerResult<GeneralName> {
    Ok(match t.tag {
        0x81 => GeneralName::Email(t.content.to_vec()),
        0x82 => GeneralName::Dns(t.content.to_vec()),
        0xa4 => GeneralName::Dir(Name::parse(t.content)?),
        0x86 => GeneralName::Uri(t.content.to_vec()),
        0x87 => GeneralName::Ip(t.content.to_vec()),
        0xa0 | 0xa3 | 0xa5 | 0x88 => GeneralName::Other(t.tag & 0x1f, t.content.to_vec()),
        _ => return Err(DerError("unknown GeneralName tag")),
    })
}

/// Parses the contents of a GeneralNames SEQUENCE (or the implicitly tagged form).
pub(crate) fn parse_general_names(content: &[u8]) -> DerResult<Vec<GeneralName>> {
    let mut r = Reader::new(content);
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() >= MAX_GENERAL_NAMES {
            return Err(DerError("too many GeneralNames"));
        }
        out.push(parse_general_name(&r.any()?)?);
    }
    Ok(out)
}

impl std::fmt::Display for GeneralName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |b: &[u8]| String::from_utf8_lossy(b).escape_debug().to_string();
        match self {
            GeneralName::Email(b) => write!(f, "email:{}", s(b)),
            GeneralName::Dns(b) => write!(f, "DNS:{}", s(b)),
            GeneralName::Dir(n) => write!(f, "DirName:{n}"),
            GeneralName::Uri(b) => write!(f, "URI:{}", s(b)),
            GeneralName::Ip(b) => {
                if b.len() == 4 {
                    write!(f, "IP:{}.{}.{}.{}", b[0], b[1], b[2], b[3])
                } else {
                    let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
                    write!(f, "IP:{}", hex.join(""))
                }
            }
            GeneralName::Other(t, _) => write!(f, "othername[{t}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-encoded: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, <tag> value } } }
    fn cn(tag: u8, v: &[u8]) -> Vec<u8> {
        let mut atv = vec![0x06, 0x03, 0x55, 0x04, 0x03, tag, v.len() as u8];
        atv.extend_from_slice(v);
        let mut seq = vec![0x30, atv.len() as u8];
        seq.extend(atv);
        let mut set = vec![0x31, seq.len() as u8];
        set.extend(seq);
        let mut name = vec![0x30, set.len() as u8];
        name.extend(set);
        name
    }

    #[test]
    fn compare_rules() {
        let a = Name::parse(&cn(0x13, b"Good  CA ")).unwrap();
        let b = Name::parse(&cn(0x0c, b"good ca")).unwrap();
        let c = Name::parse(&cn(0x0c, b"good cb")).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), "CN=Good  CA ");
        assert!(Name::parse(&[0x30, 0x02, 0x31, 0x00]).is_err());
    }
}
