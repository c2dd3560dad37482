//! Small certification path check for IKE peer certificates.

use crate::PkiError;
use crate::cert::{KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, ParsedCert};
use crate::san::San;
use crate::sig::{VerifyOutcome, verify_cert_sig};

/// Longest path accepted, counting the leaf and the trust anchor.
pub const MAX_PATH_DEPTH: usize = 8;
/// Most certificates accepted in `chain` or `anchors`.
pub const MAX_INPUT_CERTS: usize = 64;

/// The checked end-entity certificate, as IKE needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// SubjectPublicKeyInfo DER of the peer key (for AUTH payload checks).
    pub spki_der: Vec<u8>,
    /// Subject Name DER (for ID_DER_ASN1_DN comparison).
    pub subject_der: Vec<u8>,
    /// Subject as an RFC 4514-style string.
    pub subject: String,
    /// subjectAltName entries of kind IP, DNS or e-mail.
    pub sans: Vec<San>,
    /// notAfter, Unix seconds.
    pub not_after_unix: i64,
}

fn check_validity(c: &ParsedCert<'_>, now: i64) -> Result<(), PkiError> {
    if now < c.not_before {
        return Err(PkiError::NotYetValid {
            subject: c.display_name(),
            not_before: c.not_before,
        });
    }
    if now > c.not_after {
        return Err(PkiError::Expired {
            subject: c.display_name(),
            not_after: c.not_after,
        });
    }
    Ok(())
}

fn check_critical(c: &ParsedCert<'_>) -> Result<(), PkiError> {
    match c.unknown_critical() {
        Some(oid) => Err(PkiError::UnknownCriticalExtension {
            subject: c.display_name(),
            oid,
        }),
        None => Ok(()),
    }
}

/// Checks that `issuer` may issue certificates at `below` intermediates above the leaf.
fn check_issuer(
    issuer: &ParsedCert<'_>,
    intermediates_below: usize,
    is_anchor: bool,
) -> Result<(), PkiError> {
    match issuer.basic_constraints {
        Some((true, path_len)) => {
            if let Some(pl) = path_len
                && intermediates_below as u64 > pl
            {
                return Err(PkiError::PathLenExceeded {
                    subject: issuer.display_name(),
                    path_len: pl,
                });
            }
        }
        // A v1 trust anchor without extensions is trusted by configuration.
        None if is_anchor && issuer.extensions.is_empty() => {}
        _ => {
            return Err(PkiError::NotCa {
                subject: issuer.display_name(),
            });
        }
    }
    if issuer
        .key_usage
        .is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0)
    {
        return Err(PkiError::KeyUsage {
            subject: issuer.display_name(),
            needed: "keyCertSign",
        });
    }
    Ok(())
}

/// Whether `issuer` is a plausible issuer of `child`: names equal, and key
/// identifiers equal when both are present.
fn matches(child: &ParsedCert<'_>, issuer: &ParsedCert<'_>) -> bool {
    if child.issuer_raw != issuer.subject_raw {
        return false;
    }
    match (child.aki_key_id, issuer.ski) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

fn check_sig(child: &ParsedCert<'_>, issuer: &ParsedCert<'_>) -> Result<(), PkiError> {
    match verify_cert_sig(
        issuer.spki_raw,
        child.sig_alg_raw,
        child.tbs_raw,
        child.signature,
    ) {
        VerifyOutcome::Valid => Ok(()),
        VerifyOutcome::Invalid => Err(PkiError::BadSignature {
            subject: child.display_name(),
            issuer: issuer.display_name(),
        }),
        VerifyOutcome::Unsupported(detail) => Err(PkiError::UnsupportedAlgorithm {
            subject: child.display_name(),
            detail,
        }),
    }
}

/// Checks a peer certificate chain as received in IKE CERT payloads.
///
/// `chain[0]` is the end-entity certificate; the rest may hold intermediates
/// in any order (and unrelated extras). The path is built by issuer name
/// (key identifiers break ties) up to one of `anchors`. Every certificate on
/// the path, anchor included, must be valid at `now_unix`; every signature
/// must verify; issuers must be CAs (basicConstraints, pathLenConstraint) and,
/// when keyUsage is present, allow keyCertSign; the leaf's keyUsage, when
/// present, must allow digitalSignature; unknown critical extensions are
/// rejected; the path may hold at most [`MAX_PATH_DEPTH`] certificates.
pub fn verify_peer_chain(
    chain: &[Vec<u8>],
    anchors: &[Vec<u8>],
    now_unix: u64,
) -> Result<PeerCertificate, PkiError> {
    if chain.is_empty() {
        return Err(PkiError::InvalidInput("empty certificate chain".into()));
    }
    if anchors.is_empty() {
        return Err(PkiError::InvalidInput("no trust anchors configured".into()));
    }
    if chain.len() > MAX_INPUT_CERTS || anchors.len() > MAX_INPUT_CERTS {
        return Err(PkiError::InvalidInput(format!(
            "more than {MAX_INPUT_CERTS} certificates given"
        )));
    }
    let now =
        i64::try_from(now_unix).map_err(|_| PkiError::InvalidInput("time out of range".into()))?;
    let parsed: Vec<ParsedCert<'_>> = chain
        .iter()
        .enumerate()
        .map(|(i, c)| ParsedCert::parse(c, &format!("#{i} of the peer chain")))
        .collect::<Result<_, _>>()?;
    let anchors: Vec<ParsedCert<'_>> = anchors
        .iter()
        .enumerate()
        .map(|(i, c)| ParsedCert::parse(c, &format!("trust anchor #{i}")))
        .collect::<Result<_, _>>()?;
    let leaf = parsed
        .first()
        .ok_or_else(|| PkiError::InvalidInput("empty certificate chain".into()))?;

    check_critical(leaf)?;
    check_validity(leaf, now)?;
    if leaf
        .key_usage
        .is_some_and(|ku| ku & KU_DIGITAL_SIGNATURE == 0)
    {
        return Err(PkiError::KeyUsage {
            subject: leaf.display_name(),
            needed: "digitalSignature",
        });
    }

    let mut used = vec![false; parsed.len()];
    if let Some(u) = used.first_mut() {
        *u = true;
    }
    let mut current = leaf;
    // Number of certificates on the path so far (leaf = 1).
    let mut depth = 1usize;
    loop {
        if depth >= MAX_PATH_DEPTH {
            return Err(PkiError::PathTooLong {
                subject: current.display_name(),
                limit: MAX_PATH_DEPTH,
            });
        }
        let intermediates_below = depth - 1;

        // 1. A trust anchor that issued `current`.
        let mut last_err: Option<PkiError> = None;
        for a in anchors.iter().filter(|a| matches(current, a)) {
            match check_sig(current, a) {
                Ok(()) => {
                    check_issuer(a, intermediates_below, true)?;
                    check_critical(a)?;
                    check_validity(a, now)?;
                    return Ok(PeerCertificate {
                        spki_der: leaf.spki_raw.to_vec(),
                        subject_der: leaf.subject_raw.to_vec(),
                        subject: leaf.subject.clone(),
                        sans: leaf.sans.clone(),
                        not_after_unix: leaf.not_after,
                    });
                }
                Err(e) => last_err = Some(e),
            }
        }

        // 2. An intermediate from the chain.
        let mut next = None;
        for (i, c) in parsed.iter().enumerate() {
            if used.get(i).copied().unwrap_or(true) || !matches(current, c) {
                continue;
            }
            match check_sig(current, c) {
                Ok(()) => {
                    next = Some(i);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let Some(i) = next else {
            return Err(last_err.unwrap_or_else(|| PkiError::UnknownIssuer {
                subject: current.display_name(),
                issuer: crate::dn::name_to_string(current.issuer_raw),
            }));
        };
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        let Some(issuer) = parsed.get(i) else {
            return Err(PkiError::InvalidInput("internal index error".into()));
        };
        check_issuer(issuer, intermediates_below, false)?;
        check_critical(issuer)?;
        check_validity(issuer, now)?;
        current = issuer;
        depth += 1;
    }
}
