//! Traffic selector conversion and narrowing (RFC 7296 §2.9).

use std::net::IpAddr;

use negotiator_sadb::TsRange;
use negotiator_wire::v2::TrafficSelector;

use crate::error::ProtoError;

/// Converts a configured range to its wire form.
pub fn to_wire(r: &TsRange) -> TrafficSelector {
    TrafficSelector::from_range(r.protocol, (r.start_port, r.end_port), r.start, r.end)
}

/// Converts a wire selector; unknown types give None.
pub fn from_wire(t: &TrafficSelector) -> Option<TsRange> {
    let (start, end) = t.addr_range()?;
    Some(TsRange {
        start,
        end,
        protocol: t.ip_protocol,
        start_port: t.start_port,
        end_port: t.end_port,
    })
}

fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// The intersection of two ranges, if not empty.
pub fn intersect(a: &TsRange, b: &TsRange) -> Option<TsRange> {
    if !same_family(a.start, b.start) || !same_family(a.end, b.end) {
        return None;
    }
    let start = a.start.max(b.start);
    let end = a.end.min(b.end);
    if start > end {
        return None;
    }
    let protocol = match (a.protocol, b.protocol) {
        (0, p) | (p, 0) => p,
        (p, q) if p == q => p,
        _ => return None,
    };
    let start_port = a.start_port.max(b.start_port);
    let end_port = a.end_port.min(b.end_port);
    if start_port > end_port {
        return None;
    }
    Some(TsRange {
        start,
        end,
        protocol,
        start_port,
        end_port,
    })
}

/// Narrows the peer's proposed selectors to our configured ones.
pub fn narrow(proposed: &[TsRange], configured: &[TsRange]) -> Vec<TsRange> {
    let mut out = Vec::new();
    for p in proposed {
        for c in configured {
            if let Some(r) = intersect(p, c)
                && !out.contains(&r)
            {
                out.push(r);
            }
        }
    }
    out
}

/// Whether every selector in `inner` lies inside one of `outer`.
pub fn is_subset(inner: &[TsRange], outer: &[TsRange]) -> bool {
    inner
        .iter()
        .all(|i| outer.iter().any(|o| intersect(i, o).as_ref() == Some(i)))
}

/// Formats selectors for logs, strongSwan style.
pub fn describe(ts: &[TsRange]) -> String {
    let v: Vec<String> = ts
        .iter()
        .map(|t| {
            let mut s = if t.start == t.end {
                format!("{}/{}", t.start, if t.start.is_ipv4() { 32 } else { 128 })
            } else {
                format!("{}..{}", t.start, t.end)
            };
            if t.protocol != 0 || t.start_port != 0 || t.end_port != 65535 {
                s.push_str(&format!("[{}/{}-{}]", t.protocol, t.start_port, t.end_port));
            }
            s
        })
        .collect();
    v.join(" ")
}

fn ranges(t: &[TrafficSelector]) -> Vec<TsRange> {
    t.iter().filter_map(from_wire).collect()
}

/// Responder side: narrows the peer's TSi/TSr to our configuration (TSi is the initiator's
/// side, so it meets our remote selectors). Returns (TSi, TSr) or TS_UNACCEPTABLE naming both.
pub fn narrow_offer(
    tsi: &[TrafficSelector],
    tsr: &[TrafficSelector],
    local: &[TsRange],
    remote: &[TsRange],
) -> Result<(Vec<TsRange>, Vec<TsRange>), ProtoError> {
    let (peer_tsi, peer_tsr) = (ranges(tsi), ranges(tsr));
    let n_tsi = narrow(&peer_tsi, remote);
    let n_tsr = narrow(&peer_tsr, local);
    if n_tsi.is_empty() || n_tsr.is_empty() {
        return Err(ProtoError::TsUnacceptable(format!(
            "peer proposed {} === {}, we are configured for {} === {}",
            describe(&peer_tsi),
            describe(&peer_tsr),
            describe(remote),
            describe(local)
        )));
    }
    Ok((n_tsi, n_tsr))
}

/// Initiator side: the responder's narrowed TSi/TSr must lie inside what we proposed.
pub fn check_narrowed(
    tsi: &[TrafficSelector],
    tsr: &[TrafficSelector],
    local: &[TsRange],
    remote: &[TsRange],
) -> Result<(Vec<TsRange>, Vec<TsRange>), ProtoError> {
    let (tsi, tsr) = (ranges(tsi), ranges(tsr));
    if tsi.is_empty() || tsr.is_empty() || !is_subset(&tsi, local) || !is_subset(&tsr, remote) {
        return Err(ProtoError::TsUnacceptable(format!(
            "responder narrowed to {} === {}, outside what we proposed",
            describe(&tsi),
            describe(&tsr)
        )));
    }
    Ok((tsi, tsr))
}
