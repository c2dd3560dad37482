//! Distinguished names: RFC 4514-style strings to DER and back.

use der::Decode;
use der::oid::ObjectIdentifier;

use crate::PkiError;
use crate::asn1::{self as d, Reader, tag};

/// Known attribute types: short name, OID, string type used when encoding.
const ATTRS: &[(&str, &str, u8)] = &[
    ("CN", "2.5.4.3", tag::UTF8_STRING),
    ("SN", "2.5.4.4", tag::UTF8_STRING),
    ("serialNumber", "2.5.4.5", tag::PRINTABLE_STRING),
    ("C", "2.5.4.6", tag::PRINTABLE_STRING),
    ("L", "2.5.4.7", tag::UTF8_STRING),
    ("ST", "2.5.4.8", tag::UTF8_STRING),
    ("STREET", "2.5.4.9", tag::UTF8_STRING),
    ("O", "2.5.4.10", tag::UTF8_STRING),
    ("OU", "2.5.4.11", tag::UTF8_STRING),
    ("title", "2.5.4.12", tag::UTF8_STRING),
    ("GN", "2.5.4.42", tag::UTF8_STRING),
    ("UID", "0.9.2342.19200300.100.1.1", tag::UTF8_STRING),
    ("DC", "0.9.2342.19200300.100.1.25", tag::IA5_STRING),
    ("emailAddress", "1.2.840.113549.1.9.1", tag::IA5_STRING),
];

/// emailAddress (PKCS #9).
const EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

/// Largest DN string accepted.
const MAX_DN_LEN: usize = 4096;

fn is_printable(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b))
}

fn dn_err(input: &str, reason: impl Into<String>) -> PkiError {
    PkiError::InvalidDn {
        input: input.to_string(),
        reason: reason.into(),
    }
}

/// One `type=value` pair split out of the string (value unescaped).
struct Ava {
    ty: String,
    value: String,
}

/// Removes unescaped spaces at both ends and returns the value.
fn trim_value(v: &[(char, bool)]) -> String {
    let is_pad = |x: &(char, bool)| x.0 == ' ' && !x.1;
    let start = v.iter().position(|x| !is_pad(x)).unwrap_or(v.len());
    let end = v.iter().rposition(|x| !is_pad(x)).map_or(start, |e| e + 1);
    v.get(start..end)
        .unwrap_or(&[])
        .iter()
        .map(|x| x.0)
        .collect()
}

/// Splits the string into RDNs (outer) of AVAs (inner, joined by `+`).
fn split_rdns(input: &str) -> Result<Vec<Vec<Ava>>, PkiError> {
    let mut rdns = Vec::new();
    let mut avas = Vec::new();
    let mut ty = String::new();
    // Value characters with a flag telling whether they came from an escape.
    let mut value: Vec<(char, bool)> = Vec::new();
    let mut in_value = false;
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        if !in_value {
            match c {
                '=' => in_value = true,
                ',' | '+' | ';' => {
                    return Err(dn_err(
                        input,
                        format!("attribute type missing '=' before {c:?}"),
                    ));
                }
                _ => ty.push(c),
            }
            continue;
        }
        match c {
            '\\' => {
                let n = chars
                    .next()
                    .ok_or_else(|| dn_err(input, "dangling backslash at end"))?;
                if n.is_ascii_hexdigit() {
                    let n2 = chars
                        .next()
                        .filter(|c| c.is_ascii_hexdigit())
                        .ok_or_else(|| {
                            dn_err(input, "backslash hex escape needs two hex digits")
                        })?;
                    let byte = u8::from_str_radix(&format!("{n}{n2}"), 16)
                        .map_err(|_| dn_err(input, "bad hex escape"))?;
                    if !byte.is_ascii() {
                        return Err(dn_err(
                            input,
                            "hex escapes of non-ASCII bytes are not supported; write the character",
                        ));
                    }
                    value.push((byte as char, true));
                } else if ",+\"\\<>;=# ".contains(n) {
                    value.push((n, true));
                } else {
                    return Err(dn_err(input, format!("unknown escape \\{n}")));
                }
            }
            ',' | ';' | '+' => {
                in_value = false;
                avas.push(Ava {
                    ty: ty.trim().to_string(),
                    value: trim_value(&value),
                });
                ty.clear();
                value.clear();
                if c != '+' {
                    rdns.push(std::mem::take(&mut avas));
                }
            }
            '"' | '<' | '>' => {
                return Err(dn_err(input, format!("character {c:?} must be escaped")));
            }
            _ => value.push((c, false)),
        }
    }
    if in_value {
        avas.push(Ava {
            ty: ty.trim().to_string(),
            value: trim_value(&value),
        });
        rdns.push(avas);
    } else if !ty.trim().is_empty() || !avas.is_empty() || !rdns.is_empty() {
        return Err(dn_err(
            input,
            "trailing attribute without '=' (or trailing separator)",
        ));
    }
    Ok(rdns)
}

fn lookup_type(input: &str, ty: &str) -> Result<(ObjectIdentifier, u8, String), PkiError> {
    for (name, oid, t) in ATTRS {
        if name.eq_ignore_ascii_case(ty) {
            let oid = ObjectIdentifier::new(oid)
                .map_err(|_| dn_err(input, format!("internal: bad OID for {name}")))?;
            return Ok((oid, *t, name.to_string()));
        }
    }
    if ty.eq_ignore_ascii_case("E") || ty.eq_ignore_ascii_case("email") {
        return Ok((EMAIL_ADDRESS, tag::IA5_STRING, "emailAddress".into()));
    }
    if ty.starts_with(|c: char| c.is_ascii_digit()) {
        let oid = ObjectIdentifier::new(ty)
            .map_err(|_| dn_err(input, format!("bad attribute OID {ty:?}")))?;
        return Ok((oid, tag::UTF8_STRING, ty.to_string()));
    }
    Err(dn_err(input, format!("unknown attribute type {ty:?}")))
}

/// Encodes a DN string as a DER `Name` (RDNSequence).
pub(crate) fn encode_dn(input: &str) -> Result<Vec<u8>, PkiError> {
    if input.len() > MAX_DN_LEN {
        return Err(dn_err(
            &input[..0],
            format!("longer than {MAX_DN_LEN} bytes"),
        ));
    }
    if input.trim().is_empty() {
        return Ok(d::seq(&[]));
    }
    let rdns = split_rdns(input)?;
    let mut encoded_rdns = Vec::new();
    for rdn in rdns.iter().rev() {
        let mut avas = Vec::new();
        for ava in rdn {
            if ava.ty.is_empty() {
                return Err(dn_err(input, "empty attribute type"));
            }
            if ava.value.is_empty() {
                return Err(dn_err(input, format!("empty value for {}", ava.ty)));
            }
            let (oid, string_tag, name) = lookup_type(input, &ava.ty)?;
            match string_tag {
                tag::PRINTABLE_STRING if !is_printable(&ava.value) => {
                    return Err(dn_err(
                        input,
                        format!("{name} value {:?} is not a PrintableString", ava.value),
                    ));
                }
                tag::IA5_STRING if !ava.value.is_ascii() => {
                    return Err(dn_err(
                        input,
                        format!("{name} value {:?} must be ASCII", ava.value),
                    ));
                }
                _ => {}
            }
            if name == "C" && ava.value.len() != 2 {
                return Err(dn_err(
                    input,
                    format!("C must be a two-letter country code, got {:?}", ava.value),
                ));
            }
            if ava.value.len() > 1024 {
                return Err(dn_err(input, format!("{name} value too long")));
            }
            avas.push(d::seq(&[
                &d::oid(&oid),
                &d::tlv(string_tag, ava.value.as_bytes()),
            ]));
        }
        // DER SET OF: elements sorted by their encodings.
        avas.sort();
        let parts: Vec<&[u8]> = avas.iter().map(|v| v.as_slice()).collect();
        encoded_rdns.push(d::cons(tag::SET, &parts));
    }
    let parts: Vec<&[u8]> = encoded_rdns.iter().map(|v| v.as_slice()).collect();
    Ok(d::seq(&parts))
}

/// Parses an RFC 4514-style DN such as `"CN=foo, O=Bar, C=DE"`.
///
/// The leftmost RDN is the most specific, so it is encoded last. Supported
/// attribute types: CN, O, OU, C, L, ST, DC, emailAddress (also `E`),
/// serialNumber, SN, GN, title, STREET, UID and dotted OIDs. Separators are
/// `,` (or `;`) between RDNs and `+` inside a multi-valued RDN. Escapes:
/// `\,` `\+` `\"` `\\` `\<` `\>` `\;` `\=` `\#` `\ ` and `\XX` (ASCII hex).
/// An empty string gives an empty name.
pub fn parse_dn(s: &str) -> Result<x509_cert::name::Name, PkiError> {
    let der = encode_dn(s)?;
    x509_cert::name::Name::from_der(&der).map_err(|e| dn_err(s, format!("encoding rejected: {e}")))
}

fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            for b in c.to_string().bytes() {
                out.push_str(&format!("\\{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn attr_name(oid_content: &[u8]) -> String {
    match ObjectIdentifier::from_bytes(oid_content) {
        Ok(oid) => {
            let dotted = oid.to_string();
            ATTRS
                .iter()
                .find(|(_, o, _)| *o == dotted)
                .map(|(n, _, _)| n.to_string())
                .unwrap_or(dotted)
        }
        Err(_) => format!("#{}", hex(oid_content)),
    }
}

fn value_string(tlv: &d::Tlv<'_>) -> String {
    let text = match tlv.tag {
        tag::UTF8_STRING | tag::PRINTABLE_STRING | tag::IA5_STRING => {
            std::str::from_utf8(tlv.content).ok().map(|s| s.to_string())
        }
        // TeletexString: treated as Latin-1, as most software does.
        tag::T61_STRING => Some(tlv.content.iter().map(|b| *b as char).collect()),
        tag::BMP_STRING => {
            if tlv.content.len().is_multiple_of(2) {
                let units: Vec<u16> = tlv
                    .content
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).ok()
            } else {
                None
            }
        }
        tag::UNIVERSAL_STRING => {
            if tlv.content.len().is_multiple_of(4) {
                tlv.content
                    .chunks_exact(4)
                    .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                    .collect()
            } else {
                None
            }
        }
        _ => None,
    };
    match text {
        Some(t) => escape_value(&t),
        None => format!("#{}", hex(tlv.raw)),
    }
}

fn try_name_to_string(name: &[u8]) -> Result<String, d::DerError> {
    let seq = d::parse_single(name, tag::SEQUENCE, "Name")?;
    let mut rdns = Vec::new();
    let mut r = Reader::new(seq.content);
    while !r.is_empty() {
        let set = r.read(tag::SET, "RDN")?;
        let mut avas = Vec::new();
        let mut sr = Reader::new(set.content);
        while !sr.is_empty() {
            let ava = sr.read(tag::SEQUENCE, "AttributeTypeAndValue")?;
            let mut ar = Reader::new(ava.content);
            let oid = ar.read(tag::OID, "attribute type")?;
            let val = ar.read_any("attribute value")?;
            ar.finish("AttributeTypeAndValue")?;
            avas.push(format!("{}={}", attr_name(oid.content), value_string(&val)));
        }
        rdns.push(avas.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(", "))
}

/// Renders a DER `Name` RFC 4514-style (most specific RDN first, `", "`
/// between RDNs) for logs and identities. Malformed input is rendered as
/// `#` followed by the hex of the bytes, never a panic.
pub fn name_to_string(name: &[u8]) -> String {
    try_name_to_string(name).unwrap_or_else(|_| format!("#{}", hex(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn encodes_reversed_order() {
        let der = encode_dn("CN=foo, O=Bar, C=DE").unwrap();
        // Hand-assembled: SEQUENCE { SET{C=DE PrintableString}, SET{O=Bar UTF8String}, SET{CN=foo UTF8String} }.
        let exp: &[u8] = &[
            0x30, 0x29, //
            0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'D', b'E', //
            0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x03, b'B', b'a',
            b'r', //
            0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b'f', b'o', b'o',
        ];
        assert_eq!(der, exp);
        let name = parse_dn("CN=foo, O=Bar, C=DE").unwrap();
        assert_eq!(name.to_der().unwrap(), exp);
        assert_eq!(name_to_string(exp), "CN=foo, O=Bar, C=DE");
    }

    #[test]
    fn escapes_and_types() {
        let der = encode_dn(
            r"CN=a\,b\+c, OU=x+OU=y, DC=example, emailAddress=a@b.example, serialNumber=123",
        )
        .unwrap();
        let s = name_to_string(&der);
        assert!(s.starts_with(r"CN=a\,b\+c, "), "{s}");
        assert!(s.contains("OU=x+OU=y") || s.contains("OU=y+OU=x"), "{s}");
        assert!(s.contains("DC=example"), "{s}");
        assert!(s.ends_with("serialNumber=123"), "{s}");
        assert_eq!(
            name_to_string(&encode_dn("CN=\\ lead").unwrap()),
            "CN=\\ lead"
        );
        assert_eq!(
            name_to_string(&encode_dn("cn = spaced ,o=x").unwrap()),
            "CN=spaced, O=x"
        );
        assert_eq!(encode_dn("").unwrap(), [0x30, 0x00]);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "CN", "CN=", "XX=1", "C=DEU", "CN=a,", "CN=a\\", "CN=a\\q", "=x", "C=D*", "CN=a\"b",
        ] {
            let e = encode_dn(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn garbage_name_renders_as_hex() {
        assert_eq!(name_to_string(&[0x30, 0x03, 0x31]), "#300331");
    }
}
