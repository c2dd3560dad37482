//! Name constraints (RFC 5280 §4.2.1.10, §6.1.3(b)-(c), §6.1.4(g)).
//!
//! Permitted subtrees are kept as one list per constraining CA: a name must
//! lie in at least one subtree of its type in every list that has subtrees of
//! that type (this is the intersection of §6.1.4(g) without computing it).
//! Excluded subtrees are a plain union.

use super::name::{GeneralName, Name};

/// Budget: (names in a certificate) x (subtrees) comparisons per certificate.
pub const MAX_NC_CHECKS: usize = 1 << 20;

/// The state variables permitted_subtrees / excluded_subtrees.
#[derive(Debug, Clone, Default)]
pub(crate) struct NcState {
    permitted: Vec<Vec<GeneralName>>,
    excluded: Vec<GeneralName>,
}

/// Why a name is refused.
#[derive(Debug, Clone)]
pub(crate) enum NcError {
    NotPermitted(String),
    Excluded(String),
    Budget,
}

fn same_kind(a: &GeneralName, b: &GeneralName) -> bool {
    match (a, b) {
        (GeneralName::Other(x, _), GeneralName::Other(y, _)) => x == y,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

impl NcState {
    pub fn add(&mut self, permitted: Option<&Vec<GeneralName>>, excluded: &[GeneralName]) {
        if let Some(p) = permitted {
            self.permitted.push(p.clone());
        }
        self.excluded.extend_from_slice(excluded);
    }

    /// Checks a certificate's subject DN, SAN and legacy emailAddress attributes.
    pub fn check(&self, subject: &Name, san: Option<&[GeneralName]>) -> Result<(), NcError> {
        if self.permitted.is_empty() && self.excluded.is_empty() {
            return Ok(());
        }
        let mut names: Vec<GeneralName> = Vec::new();
        if !subject.is_empty() {
            names.push(GeneralName::Dir(subject.clone()));
        }
        for e in subject.email_attrs() {
            names.push(GeneralName::Email(e.as_bytes().to_vec()));
        }
        if let Some(s) = san {
            names.extend_from_slice(s);
        }
        let total: usize = self.permitted.iter().map(Vec::len).sum::<usize>() + self.excluded.len();
        if total.saturating_mul(names.len()) > MAX_NC_CHECKS {
            return Err(NcError::Budget);
        }
        for n in &names {
            for set in &self.permitted {
                let mut of_kind = set.iter().filter(|c| same_kind(c, n)).peekable();
                if of_kind.peek().is_some() && !of_kind.any(|c| matches(n, c)) {
                    return Err(NcError::NotPermitted(n.to_string()));
                }
            }
            if self
                .excluded
                .iter()
                .any(|c| same_kind(c, n) && (matches(n, c) || wildcard_may_match(n, c)))
            {
                return Err(NcError::Excluded(n.to_string()));
            }
        }
        Ok(())
    }
}

/// A wildcard dNSName `*.R` stands for every `L.R`; it meets the subtree `B`
/// when `B` is itself one such name (`B = L.R`).
fn wildcard_may_match(name: &GeneralName, base: &GeneralName) -> bool {
    let (GeneralName::Dns(n), GeneralName::Dns(b)) = (name, base) else {
        return false;
    };
    let (n, b) = (lower(n), lower(b));
    let Some(rest) = n.strip_prefix(b"*.") else {
        return false;
    };
    let b = b.strip_prefix(b".").unwrap_or(&b);
    b.len() > rest.len() + 1
        && b.ends_with(rest)
        && b[b.len() - rest.len() - 1] == b'.'
        && !b[..b.len() - rest.len() - 1].contains(&b'.')
}

fn lower(b: &[u8]) -> Vec<u8> {
    b.to_ascii_lowercase()
}

/// True when `name` lies within the subtree `base` (both of the same kind).
pub(crate) fn matches(name: &GeneralName, base: &GeneralName) -> bool {
    match (name, base) {
        (GeneralName::Dir(n), GeneralName::Dir(b)) => n.within(b),
        (GeneralName::Dns(n), GeneralName::Dns(b)) => dns_within(&lower(n), &lower(b)),
        (GeneralName::Email(n), GeneralName::Email(b)) => email_within(&lower(n), &lower(b)),
        (GeneralName::Uri(n), GeneralName::Uri(b)) => match uri_host(n) {
            Some(h) => host_within(&lower(h), &lower(b)),
            // A URI without an authority cannot be shown to be within any subtree.
            None => false,
        },
        (GeneralName::Ip(n), GeneralName::Ip(b)) => ip_within(n, b),
        (GeneralName::Other(t1, n), GeneralName::Other(t2, b)) => t1 == t2 && n == b,
        _ => false,
    }
}

/// dNSName: the constraint matches itself and every subdomain; an empty
/// constraint matches everything; a leading '.' means subdomains only.
fn dns_within(name: &[u8], base: &[u8]) -> bool {
    if base.is_empty() {
        return true;
    }
    let name = name.strip_suffix(b".").unwrap_or(name);
    if let Some(rest) = base.strip_prefix(b".") {
        return name.len() > rest.len() + 1 && name.ends_with(base) && !rest.is_empty();
    }
    name == base
        || (name.len() > base.len()
            && name.ends_with(base)
            && name[name.len() - base.len() - 1] == b'.')
}

/// rfc822Name: "a@host" exact mailbox, "host" any mailbox on host, ".host" any subdomain of host.
fn email_within(name: &[u8], base: &[u8]) -> bool {
    let Some(at) = name.iter().rposition(|&c| c == b'@') else {
        return false;
    };
    let host = &name[at + 1..];
    if base.contains(&b'@') {
        return name == base;
    }
    if base.starts_with(b".") {
        return host.len() > base.len() && host.ends_with(base);
    }
    host == base
}

/// URI host constraint: "host" exact, ".host" subdomains.
fn host_within(host: &[u8], base: &[u8]) -> bool {
    if base.starts_with(b".") {
        host.len() > base.len() && host.ends_with(base)
    } else {
        host == base
    }
}

fn uri_host(uri: &[u8]) -> Option<&[u8]> {
    let colon = uri.iter().position(|&c| c == b':')?;
    let rest = uri.get(colon + 1..)?.strip_prefix(b"//")?;
    let end = rest
        .iter()
        .position(|&c| c == b'/' || c == b'?' || c == b'#')
        .unwrap_or(rest.len());
    let auth = &rest[..end];
    let auth = match auth.iter().rposition(|&c| c == b'@') {
        Some(p) => &auth[p + 1..],
        None => auth,
    };
    let host = if auth.starts_with(b"[") {
        let close = auth.iter().position(|&c| c == b']')?;
        &auth[..=close]
    } else {
        match auth.iter().rposition(|&c| c == b':') {
            Some(p) => &auth[..p],
            None => auth,
        }
    };
    if host.is_empty() { None } else { Some(host) }
}

fn ip_within(name: &[u8], base: &[u8]) -> bool {
    let n = name.len();
    if (n != 4 && n != 16) || base.len() != 2 * n {
        return false;
    }
    let (addr, mask) = base.split_at(n);
    name.iter()
        .zip(addr)
        .zip(mask)
        .all(|((a, b), m)| a & m == b & m)
}

fn valid_host(h: &[u8], allow_wildcard: bool) -> bool {
    let h = if allow_wildcard {
        h.strip_prefix(b"*.").unwrap_or(h)
    } else {
        h
    };
    !h.is_empty()
        && h.len() <= 253
        && h.split(|&c| c == b'.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with(b"-")
                && !l.ends_with(b"-")
        })
}

fn valid_mailbox(m: &[u8]) -> bool {
    match m.iter().rposition(|&c| c == b'@') {
        Some(p) => {
            let (local, host) = (&m[..p], &m[p + 1..]);
            !local.is_empty()
                && local.iter().all(|&c| c.is_ascii_graphic() && c != b'@')
                && valid_host(host, false)
        }
        None => false,
    }
}

/// Syntax check of a subjectAltName entry (DNS may carry a leftmost wildcard).
pub(crate) fn valid_san(g: &GeneralName) -> bool {
    match g {
        GeneralName::Dns(d) => valid_host(d.strip_suffix(b".").unwrap_or(d), true),
        GeneralName::Email(e) => valid_mailbox(e),
        GeneralName::Ip(ip) => ip.len() == 4 || ip.len() == 16,
        GeneralName::Uri(u) => !u.is_empty() && u.iter().all(|c| c.is_ascii_graphic()),
        _ => true,
    }
}

/// Syntax check of a name-constraint base.
pub(crate) fn valid_constraint(g: &GeneralName) -> bool {
    match g {
        // An empty dNSName constraint means "all names".
        GeneralName::Dns(d) => d.is_empty() || valid_host(d, false),
        GeneralName::Email(e) => {
            if e.contains(&b'@') {
                valid_mailbox(e)
            } else {
                valid_host(e.strip_prefix(b".").unwrap_or(e), false)
            }
        }
        GeneralName::Uri(u) => valid_host(u.strip_prefix(b".").unwrap_or(u), false),
        GeneralName::Ip(ip) => valid_ip_constraint(ip),
        _ => true,
    }
}

/// True when an iPAddress constraint has a contiguous mask of the right size.
pub(crate) fn valid_ip_constraint(base: &[u8]) -> bool {
    if base.len() != 8 && base.len() != 32 {
        return false;
    }
    let mask = &base[base.len() / 2..];
    let mut seen_zero = false;
    for &m in mask {
        for j in 0..8 {
            let bit = m & (0x80 >> j) != 0;
            if bit && seen_zero {
                return false;
            }
            if !bit {
                seen_zero = true;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_rules() {
        assert!(dns_within(b"host.example.com", b"example.com"));
        assert!(dns_within(b"example.com", b"example.com"));
        assert!(!dns_within(b"badexample.com", b"example.com"));
        assert!(!dns_within(b"example.com", b".example.com"));
        assert!(dns_within(b"a.example.com", b".example.com"));
    }

    #[test]
    fn email_rules() {
        assert!(email_within(b"u@example.com", b"example.com"));
        assert!(!email_within(b"u@a.example.com", b"example.com"));
        assert!(email_within(b"u@a.example.com", b".example.com"));
        assert!(email_within(b"u@example.com", b"u@example.com"));
        assert!(!email_within(b"v@example.com", b"u@example.com"));
    }

    #[test]
    fn ip_and_uri() {
        assert!(ip_within(
            &[192, 168, 1, 7],
            &[192, 168, 0, 0, 255, 255, 0, 0]
        ));
        assert!(!ip_within(
            &[192, 169, 1, 7],
            &[192, 168, 0, 0, 255, 255, 0, 0]
        ));
        assert!(valid_ip_constraint(&[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!valid_ip_constraint(&[10, 0, 0, 0, 255, 0, 255, 0]));
        assert_eq!(
            uri_host(b"http://user@Host.example:80/x"),
            Some(&b"Host.example"[..])
        );
        assert_eq!(uri_host(b"urn:isbn:1"), None);
    }
}
