//! CRL processing (RFC 5280 §6.3): scope via issuing distribution points,
//! ARLs (onlyContainsCACerts), reason partitions, indirect CRLs, delta CRLs,
//! CRL signer validation to the same trust anchor.

use super::cert::{Cert, DistributionPoint, DpName, ku};
use super::name::{GeneralName, Name};
use super::{
    Ctx, ErrorKind, MAX_CRL_SIGNER_DEPTH, MAX_CRL_STEPS, RevocationMode, RevocationStatus,
    ValidationError, err, verify_raw,
};
use crate::crl::Crl;

/// All reason bits of ReasonFlags (keyCompromise .. aACompromise).
const ALL_REASONS: u16 = 0x1fe;
/// CRLReason removeFromCRL.
const REMOVE_FROM_CRL: u8 = 8;

enum Status {
    Good,
    Revoked(Option<u8>, i64),
    Unknown(String),
}

fn reason_name(r: Option<u8>) -> &'static str {
    match r {
        Some(0) | None => "unspecified",
        Some(1) => "keyCompromise",
        Some(2) => "cACompromise",
        Some(3) => "affiliationChanged",
        Some(4) => "superseded",
        Some(5) => "cessationOfOperation",
        Some(6) => "certificateHold",
        Some(8) => "removeFromCRL",
        Some(9) => "privilegeWithdrawn",
        Some(10) => "aACompromise",
        Some(_) => "unknown reason",
    }
}

fn int_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let strip = |x: &[u8]| -> Vec<u8> { x.iter().copied().skip_while(|&b| b == 0).collect() };
    let (a, b) = (strip(a), strip(b));
    a.len().cmp(&b.len()).then(a.cmp(&b))
}

/// Expands a distribution point name to GeneralNames (relative names are
/// appended to `prefix`).
fn expand(name: &DpName, prefix: &Name) -> Vec<GeneralName> {
    match name {
        DpName::Full(v) => v.clone(),
        DpName::Relative(rdn) => {
            let mut n = prefix.clone();
            n.rdns.extend(rdn.rdns.iter().cloned());
            vec![GeneralName::Dir(n)]
        }
    }
}

fn names_intersect(a: &[GeneralName], b: &[GeneralName]) -> bool {
    a.iter().any(|x| b.iter().any(|y| gn_eq(x, y)))
}

fn gn_eq(a: &GeneralName, b: &GeneralName) -> bool {
    match (a, b) {
        (GeneralName::Dir(x), GeneralName::Dir(y)) => x == y,
        (GeneralName::Uri(x), GeneralName::Uri(y)) | (GeneralName::Dns(x), GeneralName::Dns(y)) => {
            x.eq_ignore_ascii_case(y)
        }
        _ => a == b,
    }
}

fn idp_same(a: &Crl, b: &Crl) -> bool {
    match (&a.idp, &b.idp) {
        (None, None) => true,
        (Some(x), Some(y)) => {
            x.name == y.name
                && x.only_user == y.only_user
                && x.only_ca == y.only_ca
                && x.only_some_reasons == y.only_some_reasons
                && x.indirect == y.indirect
        }
        _ => false,
    }
}

impl Ctx<'_> {
    /// Status of every certificate below the anchor of `chain`.
    pub(super) fn check_revocation(
        &self,
        chain: &[usize],
        depth: usize,
    ) -> Result<(RevocationStatus, Vec<String>), ValidationError> {
        if self.opts.revocation == RevocationMode::Off {
            return Ok((
                RevocationStatus::NotChecked,
                vec!["not checked".into(); chain.len().saturating_sub(1)],
            ));
        }
        let mut overall = RevocationStatus::Good;
        let mut notes = Vec::new();
        for pos in 0..chain.len() - 1 {
            let c = &self.all[chain[pos]];
            match self.cert_status(chain, pos, depth) {
                Status::Good => notes.push("good".into()),
                Status::Revoked(r, when) => {
                    return Err(err(
                        ErrorKind::Revoked,
                        Some(c),
                        Some(pos),
                        format!(
                            "serial {} revoked on {} (reason: {})",
                            hex(&c.serial),
                            super::format_time(when),
                            reason_name(r)
                        ),
                    ));
                }
                Status::Unknown(why) => {
                    let required = match self.opts.revocation {
                        RevocationMode::Require => true,
                        RevocationMode::RequireLeaf => pos == 0,
                        _ => false,
                    };
                    if required {
                        return Err(err(ErrorKind::RevocationUnknown, Some(c), Some(pos), why));
                    }
                    overall = RevocationStatus::Unknown;
                    notes.push(format!("unknown: {why}"));
                }
            }
        }
        Ok((overall, notes))
    }

    /// Counts one CRL examined; false once [`MAX_CRL_STEPS`] is exceeded.
    fn crl_step(&self) -> bool {
        let n = self.crl_steps.get() + 1;
        self.crl_steps.set(n);
        n <= MAX_CRL_STEPS
    }

    fn crl_sig(&self, crl: usize, signer: usize) -> Result<(), String> {
        // Inherited DSA parameters depend on the path, so such results are not cached.
        let inherited = self.dsa_params.borrow().get(&signer).cloned();
        if inherited.is_none()
            && let Some(r) = self.crl_sig_cache.borrow().get(&(crl, signer))
        {
            return r.clone();
        }
        let l = &self.crls[crl];
        let s = &self.all[signer];
        let r = verify_raw(
            &s.spki,
            &s.spki_alg,
            inherited.as_deref(),
            &l.sig_alg,
            l.tbs(),
            &l.signature,
        );
        if inherited.is_none() {
            self.crl_sig_cache
                .borrow_mut()
                .insert((crl, signer), r.clone());
        }
        r
    }

    /// §6.3.3(f): finds a key that signed CRL `k` and whose certificate is valid
    /// to the same anchor as `chain`. Returns the signer's index.
    fn crl_signer(
        &self,
        k: usize,
        chain: &[usize],
        pos: usize,
        depth: usize,
    ) -> Result<usize, String> {
        let crl = &self.crls[k];
        let anchor = *chain.last().ok_or("empty path")?;
        let mut cands: Vec<usize> = Vec::new();
        // Certificates of this path first (the issuer, then others), then the pool.
        for &j in chain.get(pos + 1..).unwrap_or(&[]) {
            if self.all[j].subject == crl.issuer && !cands.contains(&j) {
                cands.push(j);
            }
        }
        for &j in self.subjects(&crl.issuer) {
            if !cands.contains(&j) {
                cands.push(j);
            }
        }
        let mut why = format!(
            "no certificate for CRL issuer \"{}\" verifies the CRL signature",
            crl.issuer
        );
        for j in cands {
            if self.crl_sig(k, j).is_err() {
                continue;
            }
            let s = &self.all[j];
            if let Some(bits) = s.key_usage
                && bits & ku::CRL_SIGN == 0
            {
                why = format!(
                    "the key of \"{}\" signed the CRL but its keyUsage lacks cRLSign",
                    s.subject
                );
                continue;
            }
            let in_path = chain.get(pos + 1..).unwrap_or(&[]).contains(&j);
            if in_path || self.signer_stack.borrow().contains(&j) {
                return Ok(j);
            }
            if self.is_anchor(j) {
                if self.anchor_of[j] == self.anchor_of[anchor] {
                    return Ok(j);
                }
                continue;
            }
            if depth + 1 > MAX_CRL_SIGNER_DEPTH {
                why = "CRL signer path nesting too deep".into();
                continue;
            }
            self.signer_stack.borrow_mut().push(j);
            let r = self.validate_from(j, Some(anchor), depth + 1, false);
            self.signer_stack.borrow_mut().pop();
            match r {
                Ok(_) => return Ok(j),
                Err(e) => {
                    why = format!("CRL signer certificate \"{}\" is not valid: {e}", s.subject)
                }
            }
        }
        Err(why)
    }

    fn cert_status(&self, chain: &[usize], pos: usize, depth: usize) -> Status {
        let c: &Cert = &self.all[chain[pos]];
        let t = self.opts.time;
        let synthetic = [DistributionPoint {
            name: None,
            reasons: None,
            crl_issuer: None,
        }];
        let dps: &[DistributionPoint] = match &c.crl_dps {
            Some(v) if !v.is_empty() => v,
            _ => &synthetic,
        };
        let mut reasons_mask = 0u16;
        let mut why = String::from("no CRL from its issuer was supplied");
        for dp in dps {
            for k in 0..self.crls.len() {
                if reasons_mask == ALL_REASONS {
                    break;
                }
                let crl = &self.crls[k];
                if crl.is_delta() {
                    continue;
                }
                if !self.crl_step() {
                    return Status::Unknown("CRL processing budget exhausted".into());
                }
                // (b)(1) issuer.
                if let Some(ci) = &dp.crl_issuer {
                    let indirect = crl.idp.as_ref().is_some_and(|i| i.indirect);
                    if !ci
                        .iter()
                        .any(|g| matches!(g, GeneralName::Dir(n) if *n == crl.issuer))
                        || !indirect
                    {
                        continue;
                    }
                } else if crl.issuer != c.issuer {
                    continue;
                }
                if !crl.unknown_critical.is_empty() || crl.entry_unknown_critical {
                    why = format!(
                        "the CRL of \"{}\" has an unknown critical extension",
                        crl.issuer
                    );
                    continue;
                }
                if let Some(d) = crl.defect {
                    why = format!("the CRL of \"{}\" is not usable: {d}", crl.issuer);
                    continue;
                }
                // (b)(2) scope.
                if let Some(idp) = &crl.idp {
                    if let Some(iname) = &idp.name {
                        let inames = expand(iname, &crl.issuer);
                        let ok = if let Some(dn) = &dp.name {
                            let prefix = dp
                                .crl_issuer
                                .as_ref()
                                .and_then(|v| {
                                    v.iter().find_map(|g| {
                                        if let GeneralName::Dir(n) = g {
                                            Some(n.clone())
                                        } else {
                                            None
                                        }
                                    })
                                })
                                .unwrap_or_else(|| c.issuer.clone());
                            names_intersect(&inames, &expand(dn, &prefix))
                        } else if let Some(ci) = &dp.crl_issuer {
                            names_intersect(&inames, ci)
                        } else {
                            false
                        };
                        if !ok {
                            why = format!(
                                "the CRL of \"{}\" covers a different distribution point",
                                crl.issuer
                            );
                            continue;
                        }
                    }
                    if idp.only_user && c.is_ca() {
                        why = "the only CRL in scope covers end-entity certificates only".into();
                        continue;
                    }
                    if idp.only_ca && !c.is_ca() {
                        why = "the only CRL in scope covers CA certificates only".into();
                        continue;
                    }
                    if idp.only_attr {
                        continue;
                    }
                }
                // (c)(d) reasons.
                let idp_r = crl.idp.as_ref().and_then(|i| i.only_some_reasons);
                let interim = match (idp_r, dp.reasons) {
                    (Some(a), Some(b)) => a & b,
                    (Some(a), None) => a,
                    (None, Some(b)) => b,
                    (None, None) => ALL_REASONS,
                } & ALL_REASONS;
                if interim & !reasons_mask == 0 {
                    continue;
                }
                if crl.this_update > t {
                    why = format!(
                        "the CRL of \"{}\" is not yet valid (thisUpdate {})",
                        crl.issuer,
                        super::format_time(crl.this_update)
                    );
                    continue;
                }
                // (f) signer.
                let signer = match self.crl_signer(k, chain, pos, depth) {
                    Ok(s) => s,
                    Err(w) => {
                        why = w;
                        continue;
                    }
                };
                // (g)(h) delta CRL.
                let mut delta: Option<usize> = None;
                if self.opts.use_deltas {
                    for d in 0..self.crls.len() {
                        if !self.crl_step() {
                            return Status::Unknown("CRL processing budget exhausted".into());
                        }
                        let dl = &self.crls[d];
                        let Some(base) = &dl.delta_base else { continue };
                        let Some(num) = &crl.crl_number else { continue };
                        if dl.issuer != crl.issuer
                            || !idp_same(dl, crl)
                            || !dl.unknown_critical.is_empty()
                            || dl.entry_unknown_critical
                            || dl.defect.is_some()
                        {
                            continue;
                        }
                        if int_cmp(base, num) == std::cmp::Ordering::Greater {
                            continue;
                        }
                        if dl.this_update > t || dl.next_update.is_some_and(|nu| t > nu) {
                            continue;
                        }
                        if self.crl_sig(d, signer).is_err() {
                            continue;
                        }
                        let better = match delta {
                            None => true,
                            Some(p) => {
                                let a = self.crls[p].crl_number.as_deref().unwrap_or(&[]);
                                int_cmp(dl.crl_number.as_deref().unwrap_or(&[]), a)
                                    == std::cmp::Ordering::Greater
                            }
                        };
                        if better {
                            delta = Some(d);
                        }
                    }
                }
                // (a) freshness of the complete CRL.
                if crl.next_update.is_some_and(|nu| t > nu) && delta.is_none() {
                    why = format!(
                        "the CRL of \"{}\" is out of date (nextUpdate {})",
                        crl.issuer,
                        super::format_time(crl.next_update.unwrap_or(0))
                    );
                    continue;
                }
                let matches_issuer = |iss: Option<&[GeneralName]>| match iss {
                    None => c.issuer == crl.issuer,
                    Some(names) => names
                        .iter()
                        .any(|g| matches!(g, GeneralName::Dir(n) if *n == c.issuer)),
                };
                // (i) delta first, then (j) the complete CRL.
                if let Some(d) = delta {
                    let dl = &self.crls[d];
                    let m = |iss: Option<&[GeneralName]>| match iss {
                        None => c.issuer == dl.issuer,
                        Some(names) => names
                            .iter()
                            .any(|g| matches!(g, GeneralName::Dir(n) if *n == c.issuer)),
                    };
                    if let Some(e) = dl.lookup(&c.serial, m) {
                        if e.reason != Some(REMOVE_FROM_CRL) {
                            return Status::Revoked(e.reason, e.revocation_date);
                        }
                        reasons_mask |= interim;
                        continue;
                    }
                }
                if let Some(e) = crl.lookup(&c.serial, matches_issuer) {
                    if e.unknown_critical {
                        why = format!(
                            "the CRL entry in the CRL of \"{}\" has an unknown critical extension",
                            crl.issuer
                        );
                        continue;
                    }
                    if e.reason != Some(REMOVE_FROM_CRL) {
                        return Status::Revoked(e.reason, e.revocation_date);
                    }
                }
                reasons_mask |= interim;
            }
        }
        if reasons_mask == ALL_REASONS {
            Status::Good
        } else if reasons_mask != 0 {
            Status::Unknown("the CRLs found do not cover all revocation reasons".into())
        } else {
            Status::Unknown(why)
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
