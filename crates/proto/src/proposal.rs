//! SA payload construction and proposal selection (RFC 7296 §2.7, §3.3).

use std::fmt::Write as _;

use negotiator_crypto::{Encr, Group, Integ, Prf};
use negotiator_wire::v2::{Proposal, ProtocolId, Transform, TransformType};

use crate::config::{EspProposal, IkeProposal};

/// The algorithms of an established IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IkeSuite {
    /// Encryption.
    pub encr: Encr,
    /// Integrity (None for AEAD).
    pub integ: Option<Integ>,
    /// PRF.
    pub prf: Prf,
    /// Key exchange group.
    pub group: Group,
}

/// The algorithms of a Child SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspSuite {
    /// Encryption.
    pub encr: Encr,
    /// Integrity (None for AEAD).
    pub integ: Option<Integ>,
}

fn encr_transform(e: Encr) -> Transform {
    Transform::with_key_length(TransformType::ENCR, e.transform_id(), e.key_bits())
}

/// Builds the IKE SA payload's proposals from the configuration.
pub fn ike_proposals(cfg: &[IkeProposal], spi: &[u8]) -> Vec<Proposal> {
    let mut out = Vec::new();
    for (i, p) in cfg.iter().enumerate() {
        let mut transforms = Vec::new();
        transforms.extend(p.encr.iter().map(|e| encr_transform(*e)));
        transforms.extend(
            p.prf
                .iter()
                .map(|x| Transform::new(TransformType::PRF, x.id())),
        );
        transforms.extend(
            p.integ
                .iter()
                .map(|x| Transform::new(TransformType::INTEG, x.id())),
        );
        transforms.extend(
            p.groups
                .iter()
                .map(|g| Transform::new(TransformType::KE, g.id())),
        );
        out.push(Proposal {
            number: u8::try_from(i + 1).unwrap_or(u8::MAX),
            protocol: ProtocolId::IKE,
            spi: spi.to_vec(),
            transforms,
        });
    }
    out
}

/// Builds the ESP SA payload's proposals, all carrying our inbound SPI.
pub fn esp_proposals(cfg: &[EspProposal], spi: u32) -> Vec<Proposal> {
    let mut out = Vec::new();
    for (i, p) in cfg.iter().enumerate() {
        let mut transforms = Vec::new();
        transforms.extend(p.encr.iter().map(|e| encr_transform(*e)));
        transforms.extend(
            p.integ
                .iter()
                .map(|x| Transform::new(TransformType::INTEG, x.id())),
        );
        transforms.push(Transform::new(TransformType::ESN, 0));
        out.push(Proposal {
            number: u8::try_from(i + 1).unwrap_or(u8::MAX),
            protocol: ProtocolId::ESP,
            spi: spi.to_be_bytes().to_vec(),
            transforms,
        });
    }
    out
}

/// The proposal a responder sends back: one transform of each type.
pub fn ike_chosen(number: u8, spi: &[u8], s: &IkeSuite) -> Proposal {
    let mut transforms = vec![encr_transform(s.encr)];
    transforms.push(Transform::new(TransformType::PRF, s.prf.id()));
    if let Some(i) = s.integ {
        transforms.push(Transform::new(TransformType::INTEG, i.id()));
    }
    transforms.push(Transform::new(TransformType::KE, s.group.id()));
    Proposal {
        number,
        protocol: ProtocolId::IKE,
        spi: spi.to_vec(),
        transforms,
    }
}

/// The ESP proposal a responder sends back.
pub fn esp_chosen(number: u8, spi: u32, s: &EspSuite) -> Proposal {
    let mut transforms = vec![encr_transform(s.encr)];
    if let Some(i) = s.integ {
        transforms.push(Transform::new(TransformType::INTEG, i.id()));
    }
    transforms.push(Transform::new(TransformType::ESN, 0));
    Proposal {
        number,
        protocol: ProtocolId::ESP,
        spi: spi.to_be_bytes().to_vec(),
        transforms,
    }
}

/// Picks, for one transform type, the first of the peer's transforms that `accept` maps.
fn pick<T>(p: &Proposal, t: TransformType, accept: impl Fn(&Transform) -> Option<T>) -> Option<T> {
    p.transforms
        .iter()
        .filter(|x| x.transform_type == t)
        .find_map(accept)
}

fn has_type(p: &Proposal, t: TransformType) -> bool {
    p.transforms.iter().any(|x| x.transform_type == t)
}

fn only_known_types(p: &Proposal, known: &[TransformType]) -> bool {
    p.transforms
        .iter()
        .all(|x| known.contains(&x.transform_type))
}

fn encr_of(t: &Transform) -> Option<Encr> {
    Encr::from_transform(t.id, t.key_length())
}

/// Picks encryption and, unless it is an AEAD, integrity from one proposal. An AEAD proposal
/// must carry no integrity transform other than NONE (RFC 5282 §8).
fn pick_cipher(p: &Proposal, encrs: &[Encr], integs: &[Integ]) -> Option<(Encr, Option<Integ>)> {
    let encr = pick(p, TransformType::ENCR, |t| {
        encr_of(t).filter(|e| encrs.contains(e))
    })?;
    if encr.is_aead() {
        let integ_present = p
            .transforms
            .iter()
            .any(|t| t.transform_type == TransformType::INTEG && t.id != 0);
        return (!integ_present).then_some((encr, None));
    }
    let integ = pick(p, TransformType::INTEG, |t| {
        Integ::from_id(t.id).filter(|x| integs.contains(x))
    })?;
    Some((encr, Some(integ)))
}

/// Selects an IKE proposal from the peer's offer, by the peer's order of preference.
/// Returns the proposal number and the suite.
pub fn select_ike(offer: &[Proposal], cfg: &[IkeProposal]) -> Option<(u8, IkeSuite)> {
    let known = [
        TransformType::ENCR,
        TransformType::PRF,
        TransformType::INTEG,
        TransformType::KE,
    ];
    for p in offer {
        if p.protocol != ProtocolId::IKE || !only_known_types(p, &known) {
            continue;
        }
        for c in cfg {
            let Some((encr, integ)) = pick_cipher(p, &c.encr, &c.integ) else {
                continue;
            };
            let Some(prf) = pick(p, TransformType::PRF, |t| {
                Prf::from_id(t.id).filter(|x| c.prf.contains(x))
            }) else {
                continue;
            };
            let Some(group) = pick(p, TransformType::KE, |t| {
                Group::from_id(t.id).filter(|g| c.groups.contains(g))
            }) else {
                continue;
            };
            return Some((
                p.number,
                IkeSuite {
                    encr,
                    integ,
                    prf,
                    group,
                },
            ));
        }
    }
    None
}

/// Checks the responder's single chosen IKE proposal against what we offered.
pub fn check_ike_choice(chosen: &[Proposal], cfg: &[IkeProposal]) -> Option<IkeSuite> {
    let [p] = chosen else { return None };
    let count = |t| {
        p.transforms
            .iter()
            .filter(|x| x.transform_type == t)
            .count()
    };
    if count(TransformType::ENCR) != 1
        || count(TransformType::PRF) != 1
        || count(TransformType::KE) != 1
    {
        return None;
    }
    if count(TransformType::INTEG) > 1 {
        return None;
    }
    select_ike(chosen, cfg).map(|(_, s)| s)
}

/// Selects an ESP proposal from the peer's offer; returns the number, the suite and the
/// peer's SPI.
pub fn select_esp(offer: &[Proposal], cfg: &[EspProposal]) -> Option<(u8, EspSuite, u32)> {
    let known = [
        TransformType::ENCR,
        TransformType::INTEG,
        TransformType::ESN,
    ];
    for p in offer {
        if p.protocol != ProtocolId::ESP || !only_known_types(p, &known) {
            continue;
        }
        let Ok(spi_bytes) = <[u8; 4]>::try_from(p.spi.as_slice()) else {
            continue;
        };
        let spi = u32::from_be_bytes(spi_bytes);
        // We do not implement extended sequence numbers yet: accept "no ESN" only.
        if has_type(p, TransformType::ESN)
            && pick(p, TransformType::ESN, |t| (t.id == 0).then_some(())).is_none()
        {
            continue;
        }
        for c in cfg {
            let Some((encr, integ)) = pick_cipher(p, &c.encr, &c.integ) else {
                continue;
            };
            return Some((p.number, EspSuite { encr, integ }, spi));
        }
    }
    None
}

/// Human-readable list of proposals, strongSwan style, for logs.
pub fn describe(proposals: &[Proposal]) -> String {
    let mut s = String::new();
    for (i, p) in proposals.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{:?}:", p.protocol);
        for (j, t) in p.transforms.iter().enumerate() {
            if j > 0 {
                s.push('/');
            }
            s.push_str(&describe_transform(t));
        }
    }
    if s.is_empty() {
        s.push_str("(none)");
    }
    s
}

fn describe_transform(t: &Transform) -> String {
    match t.transform_type {
        TransformType::ENCR => match encr_of(t) {
            Some(e) => e.name().to_string(),
            None => format!(
                "ENCR_{}{}",
                t.id,
                t.key_length().map(|k| format!("_{k}")).unwrap_or_default()
            ),
        },
        TransformType::PRF => {
            Prf::from_id(t.id).map_or(format!("PRF_{}", t.id), |p| p.name().into())
        }
        TransformType::INTEG => {
            Integ::from_id(t.id).map_or(format!("INTEG_{}", t.id), |p| p.name().into())
        }
        TransformType::KE => {
            Group::from_id(t.id).map_or(format!("KE_{}", t.id), |g| g.name().into())
        }
        TransformType::ESN => {
            if t.id == 0 {
                "noesn".into()
            } else {
                "esn".into()
            }
        }
        other => format!("{other:?}_{}", t.id),
    }
}

/// Describes the configured IKE proposals for logs.
pub fn describe_ike_config(cfg: &[IkeProposal]) -> String {
    describe(&ike_proposals(cfg, &[]))
}

/// Describes the configured ESP proposals for logs.
pub fn describe_esp_config(cfg: &[EspProposal]) -> String {
    describe(&esp_proposals(cfg, 0))
}
