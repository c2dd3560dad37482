//! subjectAltName entries used for IKE identities.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::PkiError;
use crate::asn1::{self as d, Reader, tag};

/// One subjectAltName entry (RFC 5280 GeneralName subset used by IKE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum San {
    /// iPAddress (IKE ID_IPV4_ADDR / ID_IPV6_ADDR).
    Ip(IpAddr),
    /// dNSName (IKE ID_FQDN).
    Dns(String),
    /// rfc822Name (IKE ID_RFC822_ADDR).
    Email(String),
}

fn san_err(input: &str, reason: impl Into<String>) -> PkiError {
    PkiError::InvalidSan {
        input: input.to_string(),
        reason: reason.into(),
    }
}

fn check_dns(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("DNS name must have 1 to 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("DNS label {label:?} must have 1 to 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "DNS label {label:?} may contain only letters, digits and '-'"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("DNS label {label:?} may not start or end with '-'"));
        }
    }
    Ok(())
}

fn check_email(addr: &str) -> Result<(), String> {
    let (local, domain) = addr
        .split_once('@')
        .ok_or_else(|| "e-mail address needs an '@'".to_string())?;
    if local.is_empty() || local.len() > 64 {
        return Err("local part must have 1 to 64 characters".into());
    }
    if !local
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"@<>()[]\\,;:\"".contains(&b))
    {
        return Err(format!(
            "local part {local:?} has characters not allowed here"
        ));
    }
    check_dns(domain)
}

impl FromStr for San {
    type Err = PkiError;

    /// Parses `ip:192.0.2.1`, `ip:2001:db8::1`, `dns:host.example` or `email:a@b.example`.
    fn from_str(s: &str) -> Result<San, PkiError> {
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| san_err(s, "expected ip:ADDR, dns:NAME or email:ADDR"))?;
        match kind.to_ascii_lowercase().as_str() {
            "ip" => value
                .parse::<IpAddr>()
                .map(San::Ip)
                .map_err(|_| san_err(s, format!("{value:?} is not an IPv4 or IPv6 address"))),
            "dns" => {
                check_dns(value).map_err(|r| san_err(s, r))?;
                Ok(San::Dns(value.to_string()))
            }
            "email" => {
                check_email(value).map_err(|r| san_err(s, r))?;
                Ok(San::Email(value.to_string()))
            }
            _ => Err(san_err(
                s,
                format!("unknown kind {kind:?} (use ip, dns or email)"),
            )),
        }
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Ip(a) => write!(f, "ip:{a}"),
            San::Dns(n) => write!(f, "dns:{n}"),
            San::Email(e) => write!(f, "email:{e}"),
        }
    }
}

impl San {
    /// DER GeneralName.
    pub(crate) fn to_general_name(&self) -> Vec<u8> {
        match self {
            San::Email(e) => d::tlv(0x81, e.as_bytes()),
            San::Dns(n) => d::tlv(0x82, n.as_bytes()),
            San::Ip(IpAddr::V4(a)) => d::tlv(0x87, &a.octets()),
            San::Ip(IpAddr::V6(a)) => d::tlv(0x87, &a.octets()),
        }
    }
}

/// DER GeneralNames (SEQUENCE OF GeneralName).
pub(crate) fn encode_general_names(sans: &[San]) -> Vec<u8> {
    let items: Vec<Vec<u8>> = sans.iter().map(San::to_general_name).collect();
    let parts: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
    d::seq(&parts)
}

/// Decodes the entries of GeneralNames that map to [`San`]; other kinds
/// (directoryName, URI, …) are skipped, malformed ones are errors.
pub(crate) fn decode_general_names(der: &[u8]) -> Result<Vec<San>, d::DerError> {
    let seq = d::parse_single(der, tag::SEQUENCE, "subjectAltName")?;
    let mut r = Reader::new(seq.content);
    let mut out = Vec::new();
    while !r.is_empty() {
        let gn = r.read_any("GeneralName")?;
        match gn.tag {
            0x81 | 0x82 => {
                let s = std::str::from_utf8(gn.content)
                    .ok()
                    .filter(|s| s.is_ascii())
                    .ok_or_else(|| d::DerError("subjectAltName: non-ASCII IA5String".into()))?;
                out.push(if gn.tag == 0x81 {
                    San::Email(s.to_string())
                } else {
                    San::Dns(s.to_string())
                });
            }
            0x87 => match gn.content.len() {
                4 => {
                    let mut a = [0u8; 4];
                    a.copy_from_slice(gn.content);
                    out.push(San::Ip(IpAddr::from(a)));
                }
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(gn.content);
                    out.push(San::Ip(IpAddr::from(a)));
                }
                n => {
                    return Err(d::DerError(format!(
                        "subjectAltName: iPAddress of {n} bytes"
                    )));
                }
            },
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_kinds() {
        assert_eq!(
            "ip:192.0.2.1".parse::<San>().unwrap(),
            San::Ip("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            "ip:2001:db8::1".parse::<San>().unwrap(),
            San::Ip("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            "dns:host.example".parse::<San>().unwrap(),
            San::Dns("host.example".into())
        );
        assert_eq!(
            "email:a@b.example".parse::<San>().unwrap(),
            San::Email("a@b.example".into())
        );
        assert_eq!("DNS:x".parse::<San>().unwrap().to_string(), "dns:x");
    }

    #[test]
    fn errors_name_input() {
        for bad in [
            "ip:300.1.1.1",
            "dns:-x.example",
            "dns:a..b",
            "email:nobody",
            "uri:http://x",
            "hostname",
            "email:@x",
        ] {
            let e = bad.parse::<San>().unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn general_names_encoding() {
        // Hand-assembled DER: [7] 4 bytes, [2] "a.b", [1] "x@y".
        let sans = vec![
            San::Ip("192.0.2.1".parse().unwrap()),
            San::Dns("a.b".into()),
            San::Email("x@y".into()),
        ];
        let der = encode_general_names(&sans);
        assert_eq!(
            der,
            [
                0x30, 0x10, 0x87, 4, 192, 0, 2, 1, 0x82, 3, b'a', b'.', b'b', 0x81, 3, b'x', b'@',
                b'y'
            ]
        );
        assert_eq!(decode_general_names(&der).unwrap(), sans);
        assert!(decode_general_names(&[0x30, 0x03, 0x87, 0x01, 0x00]).is_err());
    }
}
