//! Matching a peer identity (IKE ID payload: ID_FQDN, ID_IPV4/IPV6_ADDR,
//! ID_RFC822_ADDR) against the leaf certificate's subjectAltName
//! (RFC 4945 §3.5: the identity must be carried in the certificate).

use std::net::IpAddr;

use super::cert::Cert;
use super::name::GeneralName;

/// An identity to look for in a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerIdentity {
    /// A DNS name (ID_FQDN).
    Dns(String),
    /// An IP address (ID_IPV4_ADDR / ID_IPV6_ADDR).
    Ip(IpAddr),
    /// An email address (ID_RFC822_ADDR).
    Email(String),
}

impl std::fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerIdentity::Dns(d) => write!(f, "DNS name {:?}", d),
            PeerIdentity::Ip(a) => write!(f, "IP address {a}"),
            PeerIdentity::Email(e) => write!(f, "email address {:?}", e),
        }
    }
}

/// True when `leaf` (DER) carries `id` in its subjectAltName. DNS names match
/// case-insensitively; a SAN of the form `*.rest` matches exactly one extra
/// leftmost label. The subject CN is never consulted.
pub fn matches_identity(leaf: &[u8], id: &PeerIdentity) -> bool {
    let Ok(c) = Cert::parse(leaf) else {
        return false;
    };
    let Some(san) = &c.san else {
        return false;
    };
    san.iter().any(|g| match (g, id) {
        (GeneralName::Dns(d), PeerIdentity::Dns(want)) => dns_match(d, want.as_bytes()),
        (GeneralName::Ip(b), PeerIdentity::Ip(IpAddr::V4(a))) => b.as_slice() == a.octets(),
        (GeneralName::Ip(b), PeerIdentity::Ip(IpAddr::V6(a))) => b.as_slice() == a.octets(),
        (GeneralName::Email(e), PeerIdentity::Email(want)) => {
            e.eq_ignore_ascii_case(want.as_bytes())
        }
        _ => false,
    })
}

fn valid_dns(n: &[u8]) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.split(|&c| c == b'.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
                && !l.starts_with(b"-")
                && !l.ends_with(b"-")
        })
}

fn dns_match(pattern: &[u8], name: &[u8]) -> bool {
    let name = name.strip_suffix(b".").unwrap_or(name);
    if !valid_dns(name) {
        return false;
    }
    if let Some(rest) = pattern.strip_prefix(b"*.") {
        if !valid_dns(rest) || rest.split(|&c| c == b'.').count() < 2 {
            return false;
        }
        match name.iter().position(|&c| c == b'.') {
            Some(p) => name[p + 1..].eq_ignore_ascii_case(rest),
            None => false,
        }
    } else {
        valid_dns(pattern) && pattern.eq_ignore_ascii_case(name)
    }
}

#[cfg(test)]
mod tests {
    use super::dns_match;

    #[test]
    fn dns() {
        assert!(dns_match(b"vpn.example.com", b"VPN.example.com"));
        assert!(dns_match(b"*.example.com", b"a.example.com"));
        assert!(!dns_match(b"*.example.com", b"a.b.example.com"));
        assert!(!dns_match(b"*.example.com", b"example.com"));
        assert!(!dns_match(b"*.com", b"example.com"));
        assert!(!dns_match(b"f*.example.com", b"foo.example.com"));
    }
}
