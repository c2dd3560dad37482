//! RFC 5280 certification path building and validation (§6.1) with CRL and
//! ARL revocation checking (§6.3).
//!
//! [`validate_path`] builds candidate paths from the leaf towards any of the
//! trust anchors (several CA domains may be trusted at once), trying every
//! issuer whose subject matches (AKI/SKI matches first), through
//! cross-certificates and self-issued key-rollover certificates, and
//! backtracking when a candidate path fails. Each complete candidate is
//! validated with the full §6.1 algorithm and then checked for revocation.
//!
//! # Work budget
//! A hostile bundle (many certificates with the same name, cross-certificate
//! loops) cannot make the search run long:
//! * [`MAX_SIGNATURE_CHECKS`] = 100 signature verifications per call for path
//!   building (the limit Go's `crypto/x509` uses, `maxChainSignatureChecks`);
//! * [`MAX_BUILD_STEPS`] = 200,000 issuer candidates examined (the
//!   `build_chain_calls` budget of rustls-webpki);
//! * [`DEFAULT_MAX_DEPTH`] = 16 certificates between leaf and anchor (OpenSSL
//!   allows 100, real PKIs use fewer than 6; PKITS needs at most 5);
//! * [`MAX_CRL_SIGNER_DEPTH`] = 3 nested validations of CRL-signer paths;
//! * [`MAX_CRL_STEPS`] = 100,000 CRLs examined per call;
//! * the policy tree and name-constraint budgets of the submodules
//!   ([`MAX_POLICY_NODES`], [`MAX_NC_CHECKS`]).
//!
//! Loops are cut by never using a certificate (same subject and key) twice in
//! one path.

pub(crate) mod cert;
pub(crate) mod der;
mod dsa;
mod identity;
pub(crate) mod name;
mod nc;
mod pemfile;
mod policy;
mod revocation;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;

use cert::{Cert, OID_ANY_EKU, ku};
use name::GeneralName;
use nc::{NcError, NcState};
use policy::PolicyTree;

use crate::crl::Crl;

pub use cert::MAX_CERT_LEN;
pub use der::{format_time, oid_from_string, oid_to_string, parse_rfc3339};
pub use identity::{PeerIdentity, matches_identity};
pub use nc::MAX_NC_CHECKS;
pub use pemfile::{MAX_FILE_LEN, MAX_FILE_OBJECTS, read_objects};
pub use policy::MAX_POLICY_NODES;

/// Signature verifications allowed for path building in one call (Go's crypto/x509 limit).
pub const MAX_SIGNATURE_CHECKS: usize = 100;
/// Issuer candidates examined in one call (rustls-webpki's build_chain_calls budget).
pub const MAX_BUILD_STEPS: usize = 200_000;
/// Default maximum number of certificates between the leaf and the anchor.
pub const DEFAULT_MAX_DEPTH: usize = 16;
/// CRLs examined (distribution point x CRL pairs, delta candidates) in one
/// call; a certificate whose status needs more is reported as unknown. Honest
/// inputs need a few per certificate (PKITS: under 200 for a whole path).
pub const MAX_CRL_STEPS: usize = 100_000;
/// Absolute limit on certificates in one candidate path, self-issued ones included.
pub const HARD_MAX_PATH: usize = 64;
/// Nesting limit for validating the certification paths of CRL signers.
pub const MAX_CRL_SIGNER_DEPTH: usize = 3;
/// Most certificates / anchors / CRLs accepted as input in one call.
pub const MAX_INPUT_OBJECTS: usize = 4096;

/// How revocation is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationMode {
    /// No CRL processing; status `NotChecked`.
    Off,
    /// Use the CRLs given; a certificate whose status cannot be determined is
    /// accepted and the overall status is `Unknown`.
    Soft,
    /// The leaf must have a determined status (like `openssl verify
    /// -crl_check`); CA certificates are checked as in `Soft`.
    RequireLeaf,
    /// Every certificate in the path (the leaf and every CA, ARL included)
    /// must have a determined status from a valid CRL (like `openssl verify
    /// -crl_check_all`).
    Require,
}

/// Inputs of RFC 5280 §6.1.1 plus revocation and budget settings.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// The validation time, Unix seconds.
    pub time: i64,
    /// user-initial-policy-set as dotted OIDs; empty means any-policy.
    pub user_initial_policy_set: Vec<String>,
    /// initial-explicit-policy.
    pub initial_explicit_policy: bool,
    /// initial-policy-mapping-inhibit.
    pub initial_policy_mapping_inhibit: bool,
    /// initial-any-policy-inhibit.
    pub initial_any_policy_inhibit: bool,
    /// CRL processing.
    pub revocation: RevocationMode,
    /// Use delta CRLs with their base CRLs (§6.3.3 use-deltas).
    pub use_deltas: bool,
    /// A dotted EKU OID the leaf must allow if it has an extKeyUsage extension
    /// (anyExtendedKeyUsage also satisfies it).
    pub required_eku: Option<String>,
    /// Maximum number of intermediate CA certificates between leaf and anchor
    /// (self-issued key-rollover certificates do not count, as in RFC 5280's
    /// path length rules).
    pub max_depth: usize,
    /// Also check the trust anchor certificate itself (validity, RFC 5280
    /// profile, basicConstraints/keyUsage when it is a v3 certificate) and
    /// apply its name constraints, as OpenSSL and most TLS stacks do. Default on.
    pub check_anchor: bool,
}

impl ValidationOptions {
    /// Defaults (any policy, nothing inhibited, CRLs required when supplied
    /// is up to the caller) at the given time.
    pub fn at(time: i64) -> Self {
        ValidationOptions {
            time,
            user_initial_policy_set: Vec::new(),
            initial_explicit_policy: false,
            initial_policy_mapping_inhibit: false,
            initial_any_policy_inhibit: false,
            revocation: RevocationMode::Off,
            use_deltas: true,
            required_eku: None,
            max_depth: DEFAULT_MAX_DEPTH,
            check_anchor: true,
        }
    }
}

impl Default for ValidationOptions {
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Self::at(now)
    }
}

/// Revocation status of a validated path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Every certificate was found unrevoked on a valid CRL covering all reasons.
    Good,
    /// A certificate is revoked (only reported inside errors).
    Revoked,
    /// At least one certificate's status could not be determined.
    Unknown,
    /// Revocation was not checked.
    NotChecked,
}

impl RevocationStatus {
    /// The JSON spelling: `good`, `revoked`, `unknown`, `not-checked`.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationStatus::Good => "good",
            RevocationStatus::Revoked => "revoked",
            RevocationStatus::Unknown => "unknown",
            RevocationStatus::NotChecked => "not-checked",
        }
    }
}

/// A successfully validated path.
#[derive(Debug, Clone)]
pub struct ValidatedPath {
    /// Subjects from the leaf to the trust anchor.
    pub path: Vec<String>,
    /// DER certificates from the leaf to the trust anchor.
    pub certificates: Vec<Vec<u8>>,
    /// Index of the anchor used in the `anchors` argument.
    pub anchor_index: usize,
    /// Overall revocation status.
    pub revocation: RevocationStatus,
    /// Per-certificate revocation notes (leaf first; the anchor is not checked).
    pub revocation_details: Vec<String>,
    /// The user-constrained policy set (dotted OIDs); `["2.5.29.32.0"]` when any policy is acceptable.
    pub policies: Vec<String>,
}

/// Which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A certificate, anchor or CRL could not be parsed.
    Malformed,
    /// No issuer could be found towards any trust anchor.
    NoPath,
    /// A signature does not verify.
    Signature,
    /// An unsupported algorithm (e.g. DSA keys).
    UnsupportedAlgorithm,
    /// Outside notBefore..notAfter.
    Expired,
    /// Not valid yet.
    NotYetValid,
    /// Issuer name does not chain.
    NameChaining,
    /// basicConstraints missing or cA false on an issuing certificate.
    BasicConstraints,
    /// pathLenConstraint exceeded.
    PathLength,
    /// keyUsage forbids certificate signing (or other required use).
    KeyUsage,
    /// extKeyUsage forbids the requested purpose.
    ExtKeyUsage,
    /// Name constraints violated.
    NameConstraints,
    /// Certificate policy processing failed.
    Policy,
    /// An unknown critical extension.
    UnknownCriticalExtension,
    /// A structural defect RFC 5280 forbids.
    Profile,
    /// The certificate is revoked.
    Revoked,
    /// Revocation status could not be determined (revocation required).
    RevocationUnknown,
    /// A work budget was exhausted.
    Budget,
    /// The leaf does not carry the expected peer identity.
    Identity,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed input",
            ErrorKind::NoPath => "no path to a trust anchor",
            ErrorKind::Signature => "signature check failed",
            ErrorKind::UnsupportedAlgorithm => "unsupported algorithm",
            ErrorKind::Expired => "certificate expired",
            ErrorKind::NotYetValid => "certificate not yet valid",
            ErrorKind::NameChaining => "issuer name does not match",
            ErrorKind::BasicConstraints => "not a CA certificate",
            ErrorKind::PathLength => "path length constraint exceeded",
            ErrorKind::KeyUsage => "key usage does not allow this use",
            ErrorKind::ExtKeyUsage => "extended key usage does not allow this purpose",
            ErrorKind::NameConstraints => "name constraints violated",
            ErrorKind::Policy => "certificate policy check failed",
            ErrorKind::UnknownCriticalExtension => "unknown critical extension",
            ErrorKind::Profile => "certificate violates RFC 5280",
            ErrorKind::Revoked => "certificate revoked",
            ErrorKind::RevocationUnknown => "revocation status unknown",
            ErrorKind::Budget => "work budget exhausted",
            ErrorKind::Identity => "peer identity not in the certificate",
        }
    }
}

/// Why validation failed: the check, the certificate, and details.
#[derive(Debug, Clone)]
pub struct ValidationError {
    /// The failed check.
    pub kind: ErrorKind,
    /// Subject of the certificate the check failed on, when one is concerned.
    pub subject: Option<String>,
    /// Position in the candidate path (0 = leaf), when known.
    pub position: Option<usize>,
    /// What exactly is wrong.
    pub detail: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(s) = &self.subject {
            match self.position {
                Some(0) => write!(f, " on the leaf certificate \"{s}\"")?,
                Some(p) => write!(f, " on CA certificate #{p} \"{s}\"")?,
                None => write!(f, " on \"{s}\"")?,
            }
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

fn err(
    kind: ErrorKind,
    c: Option<&Cert>,
    pos: Option<usize>,
    detail: impl Into<String>,
) -> ValidationError {
    ValidationError {
        kind,
        subject: c.map(|c| c.subject.to_string()),
        position: pos,
        detail: detail.into(),
    }
}

/// [`validate_path`] followed by the IKE identity check: every identity in
/// `identities` (from the peer's ID payload) must appear in the leaf's
/// subjectAltName ([`matches_identity`]). The error names the failed check
/// and certificate, ready for the log line that accompanies
/// AUTHENTICATION_FAILED.
pub fn validate_peer(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
    crls: &[Vec<u8>],
    options: &ValidationOptions,
    identities: &[PeerIdentity],
) -> Result<ValidatedPath, ValidationError> {
    let p = validate_path(leaf, intermediates, anchors, crls, options)?;
    for id in identities {
        if !matches_identity(leaf, id) {
            return Err(ValidationError {
                kind: ErrorKind::Identity,
                subject: p.path.first().cloned(),
                position: Some(0),
                detail: format!("{id} is not among its subjectAltName entries"),
            });
        }
    }
    Ok(p)
}

/// Parses a DER certificate as the validator does and returns its subject in
/// one-line form (for tools and error messages).
pub fn certificate_subject(der: &[u8]) -> Result<String, String> {
    Cert::parse(der)
        .map(|c| c.subject.to_string())
        .map_err(|e| e.0.to_string())
}

/// Validates `leaf` against `anchors`, building the path through `intermediates`
/// (any order, may contain irrelevant or hostile certificates) and checking
/// revocation with `crls` per `options.revocation`. All inputs are DER.
pub fn validate_path(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
    crls: &[Vec<u8>],
    options: &ValidationOptions,
) -> Result<ValidatedPath, ValidationError> {
    if intermediates.len() > MAX_INPUT_OBJECTS
        || anchors.len() > MAX_INPUT_OBJECTS
        || crls.len() > MAX_INPUT_OBJECTS
    {
        return Err(err(
            ErrorKind::Budget,
            None,
            None,
            format!("more than {MAX_INPUT_OBJECTS} input objects"),
        ));
    }
    let leaf_cert = Cert::parse(leaf).map_err(|e| {
        err(
            ErrorKind::Malformed,
            None,
            Some(0),
            format!("leaf certificate: {}", e.0),
        )
    })?;
    let mut all = vec![leaf_cert];
    let mut anchor_of: Vec<Option<usize>> = vec![None];
    // Unparsable intermediates are ignored (a bundle may carry junk); unparsable anchors are errors.
    for i in intermediates {
        if let Ok(c) = Cert::parse(i) {
            all.push(c);
            anchor_of.push(None);
        }
    }
    for (k, a) in anchors.iter().enumerate() {
        let c = Cert::parse(a).map_err(|e| {
            err(
                ErrorKind::Malformed,
                None,
                None,
                format!("trust anchor #{}: {}", k + 1, e.0),
            )
        })?;
        all.push(c);
        anchor_of.push(Some(k));
    }
    // Unparsable CRLs cannot be used; a certificate that needed one ends up
    // with status unknown (callers that want to report bad files parse them first).
    let parsed_crls: Vec<Crl> = crls.iter().filter_map(|c| Crl::parse(c).ok()).collect();
    let user_set = if options.user_initial_policy_set.is_empty() {
        None
    } else {
        let mut v = Vec::new();
        for p in &options.user_initial_policy_set {
            let o = oid_from_string(p).ok_or_else(|| {
                err(
                    ErrorKind::Malformed,
                    None,
                    None,
                    format!("invalid policy OID {p:?}"),
                )
            })?;
            if o.as_slice() == cert::OID_ANY_POLICY {
                v.clear();
                break;
            }
            v.push(o);
        }
        if v.is_empty() { None } else { Some(v) }
    };
    let required_eku = match &options.required_eku {
        Some(s) => Some(oid_from_string(s).ok_or_else(|| {
            err(
                ErrorKind::Malformed,
                None,
                None,
                format!("invalid EKU OID {s:?}"),
            )
        })?),
        None => None,
    };
    let mut by_subject: HashMap<name::NameKey, Vec<usize>> = HashMap::new();
    for (i, c) in all.iter().enumerate() {
        by_subject.entry(c.subject.key()).or_default().push(i);
    }
    let ctx = Ctx {
        by_subject,
        dsa_params: RefCell::new(HashMap::new()),
        opts: options,
        user_set,
        required_eku,
        all,
        anchor_of,
        crls: parsed_crls,
        sig_cache: RefCell::new(HashMap::new()),
        crl_sig_cache: RefCell::new(HashMap::new()),
        sig_checks: Cell::new(0),
        steps: Cell::new(0),
        crl_steps: Cell::new(0),
        signer_stack: RefCell::new(Vec::new()),
    };
    ctx.validate_from(0, None, 0, true)
}

pub(crate) struct Ctx<'a> {
    opts: &'a ValidationOptions,
    user_set: Option<Vec<Vec<u8>>>,
    required_eku: Option<Vec<u8>>,
    all: Vec<Cert>,
    anchor_of: Vec<Option<usize>>,
    crls: Vec<Crl>,
    sig_cache: RefCell<HashMap<(usize, usize), Result<(), String>>>,
    crl_sig_cache: RefCell<HashMap<(usize, usize), Result<(), String>>>,
    sig_checks: Cell<usize>,
    steps: Cell<usize>,
    crl_steps: Cell<usize>,
    signer_stack: RefCell<Vec<usize>>,
    /// Certificates by normalised subject name (for issuer lookup in O(1)).
    by_subject: HashMap<name::NameKey, Vec<usize>>,
    /// DSA domain parameters inherited by parameter-less DSA keys on the current path.
    dsa_params: RefCell<HashMap<usize, Vec<u8>>>,
}

/// Keeps the most informative failure seen while searching.
struct Best {
    score: usize,
    error: Option<ValidationError>,
}

impl Best {
    fn record(&mut self, score: usize, e: ValidationError) {
        if self.error.is_none() || score > self.score {
            self.score = score;
            self.error = Some(e);
        }
    }
}

/// Verifies `sig` over `msg` with the key `spki`; `inherited` supplies DSA
/// domain parameters for a DSA key that carries none.
pub(crate) fn verify_raw(
    spki: &[u8],
    spki_alg: &[u8],
    inherited: Option<&[u8]>,
    sig_alg: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    if spki_alg == dsa::OID_DSA || dsa::is_dsa_sig_alg(sig_alg) {
        if spki_alg != dsa::OID_DSA || !dsa::is_dsa_sig_alg(sig_alg) {
            return Err("unsupported: signature algorithm does not match the key".into());
        }
        return dsa::verify(spki, inherited, sig_alg, msg, sig);
    }
    let scheme = negotiator_crypto::SignatureScheme::from_algorithm_identifier(sig_alg)
        .ok_or_else(|| "unsupported signature algorithm".to_string())?;
    negotiator_crypto::verify_signature(spki, scheme, negotiator_crypto::SigEncoding::Der, msg, sig)
        .map_err(|e| match e {
            negotiator_crypto::CryptoError::Unsupported(what) => format!("unsupported: {what}"),
            _ => "the signature does not verify".to_string(),
        })
}

impl Ctx<'_> {
    /// Indices of the certificates whose subject is `n`.
    pub(super) fn subjects(&self, n: &name::Name) -> &[usize] {
        self.by_subject.get(&n.key()).map_or(&[], Vec::as_slice)
    }

    fn is_anchor(&self, i: usize) -> bool {
        self.anchor_of.get(i).copied().flatten().is_some()
    }

    /// Signature of `child` by `issuer`'s key, cached and budgeted.
    fn cert_sig(&self, child: usize, issuer: usize) -> Result<(), String> {
        let i = &self.all[issuer];
        // A DSA key without parameters inherits them from its own issuer
        // (§6.1.4(f)); until the path above it is known the check is deferred,
        // and validate_chain repeats it with the inherited parameters.
        let inherited = if i.spki_alg == dsa::OID_DSA && dsa::needs_params(&i.spki) {
            match self.dsa_params.borrow().get(&issuer) {
                Some(p) => Some(p.clone()),
                None => return Ok(()),
            }
        } else {
            None
        };
        if inherited.is_none()
            && let Some(r) = self.sig_cache.borrow().get(&(child, issuer))
        {
            return r.clone();
        }
        let n = self.sig_checks.get() + 1;
        self.sig_checks.set(n);
        if n > MAX_SIGNATURE_CHECKS {
            return Err("signature check budget exhausted".into());
        }
        let c = &self.all[child];
        let r = verify_raw(
            &i.spki,
            &i.spki_alg,
            inherited.as_deref(),
            &c.sig_alg,
            &c.tbs,
            &c.signature,
        );
        if inherited.is_none() {
            self.sig_cache
                .borrow_mut()
                .insert((child, issuer), r.clone());
        }
        r
    }

    /// Builds and validates a path for certificate `start`. `only_anchor` restricts
    /// the acceptable anchor (for CRL signers); `depth` is the CRL-signer nesting.
    fn validate_from(
        &self,
        start: usize,
        only_anchor: Option<usize>,
        depth: usize,
        top: bool,
    ) -> Result<ValidatedPath, ValidationError> {
        let mut best = Best {
            score: 0,
            error: None,
        };
        // The target itself is trusted.
        if self.is_anchor(start)
            || (0..self.all.len())
                .any(|j| self.is_anchor(j) && self.all[j].der == self.all[start].der)
        {
            let a = (0..self.all.len())
                .find(|&j| self.is_anchor(j) && self.all[j].der == self.all[start].der)
                .unwrap_or(start);
            if only_anchor.is_none_or(|x| x == a) {
                return self.finish_trusted_leaf(start, a);
            }
        }
        let mut chain = vec![start];
        if let Some(ok) = self.search(&mut chain, only_anchor, depth, top, &mut best) {
            return Ok(ok);
        }
        Err(best.error.unwrap_or_else(|| {
            let c = &self.all[start];
            err(
                ErrorKind::NoPath,
                Some(c),
                Some(0),
                format!(
                    "issuer \"{}\" not found among the intermediates and trust anchors",
                    c.issuer
                ),
            )
        }))
    }

    fn finish_trusted_leaf(
        &self,
        start: usize,
        anchor: usize,
    ) -> Result<ValidatedPath, ValidationError> {
        let c = &self.all[start];
        // A directly trusted (pinned) certificate need not be a CA; only its
        // validity period and critical extensions are checked.
        if self.opts.check_anchor {
            self.check_time(c, 0)?;
            if let Some(x) = c.unknown_critical.first() {
                return Err(err(
                    ErrorKind::UnknownCriticalExtension,
                    Some(c),
                    Some(0),
                    format!("critical extension {} is not understood", oid_to_string(x)),
                ));
            }
        }
        Ok(ValidatedPath {
            path: vec![c.subject.to_string()],
            certificates: vec![c.der.clone()],
            anchor_index: self.anchor_of[anchor].unwrap_or(0),
            // A trusted certificate has no issuer whose CRL could cover it.
            revocation: RevocationStatus::NotChecked,
            revocation_details: vec!["trust anchor: not checked".into()],
            policies: vec![oid_to_string(cert::OID_ANY_POLICY)],
        })
    }

    fn search(
        &self,
        chain: &mut Vec<usize>,
        only_anchor: Option<usize>,
        depth: usize,
        top: bool,
        best: &mut Best,
    ) -> Option<ValidatedPath> {
        let cur = *chain.last()?;
        let c = &self.all[cur];
        let mut cands: Vec<usize> = self
            .subjects(&c.issuer)
            .iter()
            .copied()
            .filter(|&j| j != cur)
            .filter(|&j| {
                !self.is_anchor(j)
                    || only_anchor.is_none_or(|a| self.anchor_of[j] == self.anchor_of[a])
            })
            .filter(|&j| {
                // Loop prevention: same subject and key never twice in a path.
                !chain.iter().any(|&k| {
                    self.all[k].spki == self.all[j].spki
                        && self.all[k].subject == self.all[j].subject
                })
            })
            .collect();
        let aki = c.aki.as_ref().and_then(|a| a.key_id.clone());
        cands.sort_by_key(|&j| {
            let k = &self.all[j];
            let key_match = match (&aki, &k.ski) {
                (Some(a), Some(s)) => usize::from(a != s),
                _ => 1,
            };
            (key_match, usize::from(!self.is_anchor(j)), j)
        });
        for j in cands {
            let steps = self.steps.get() + 1;
            self.steps.set(steps);
            if steps > MAX_BUILD_STEPS {
                best.record(
                    10_000,
                    err(
                        ErrorKind::Budget,
                        Some(c),
                        Some(chain.len() - 1),
                        "path building step budget exhausted",
                    ),
                );
                return None;
            }
            if let Err(e) = self.cert_sig(cur, j) {
                let kind = if e.contains("budget") {
                    ErrorKind::Budget
                } else if e.contains("supported") {
                    ErrorKind::UnsupportedAlgorithm
                } else {
                    ErrorKind::Signature
                };
                best.record(
                    if kind == ErrorKind::Budget {
                        10_000
                    } else {
                        chain.len() * 2
                    },
                    err(
                        kind,
                        Some(c),
                        Some(chain.len() - 1),
                        format!("not signed by the key of \"{}\" ({e})", self.all[j].subject),
                    ),
                );
                if kind == ErrorKind::Budget {
                    return None;
                }
                continue;
            }
            chain.push(j);
            if self.is_anchor(j) {
                match self.validate_chain(chain, depth, top) {
                    Ok(p) => return Some(p),
                    Err(e) => best.record(1000 + chain.len(), e),
                }
            } else if chain[1..]
                .iter()
                .filter(|&&k| !self.all[k].self_issued())
                .count()
                <= self.opts.max_depth
                && chain.len() <= HARD_MAX_PATH
            {
                if let Some(p) = self.search(chain, only_anchor, depth, top, best) {
                    return Some(p);
                }
            } else {
                best.record(
                    chain.len() * 2 + 1,
                    err(
                        ErrorKind::PathLength,
                        Some(c),
                        Some(chain.len() - 2),
                        format!(
                            "path longer than the limit of {} certificates",
                            self.opts.max_depth
                        ),
                    ),
                );
            }
            chain.pop();
        }
        None
    }

    fn check_anchor_cert(&self, c: &Cert, pos: usize) -> Result<(), ValidationError> {
        let e = |k: ErrorKind, d: String| {
            let mut x = err(k, Some(c), Some(pos), d);
            x.detail = format!("trust anchor: {}", x.detail);
            x
        };
        self.check_time(c, pos)?;
        if let Some(d) = c
            .defects
            .iter()
            // Long-lived roots with serial number 0 exist (e.g. Starfield G2), and a
            // trust anchor is trusted by configuration, so AKI is not required of it.
            .find(|d| {
                **d != "serial number is zero"
                    && **d != "authorityKeyIdentifier keyIdentifier missing"
            })
        {
            return Err(e(ErrorKind::Profile, (*d).to_string()));
        }
        if let Some(x) = c.unknown_critical.first() {
            return Err(e(
                ErrorKind::UnknownCriticalExtension,
                format!("critical extension {} is not understood", oid_to_string(x)),
            ));
        }
        if c.version == 2 && !c.is_ca() {
            return Err(e(
                ErrorKind::BasicConstraints,
                "basicConstraints cA is not set".into(),
            ));
        }
        if c.is_ca() && !c.bc_critical {
            return Err(e(
                ErrorKind::Profile,
                "basicConstraints is not marked critical".into(),
            ));
        }
        if let Some(k) = c.key_usage
            && k & ku::KEY_CERT_SIGN == 0
        {
            return Err(e(ErrorKind::KeyUsage, "keyUsage lacks keyCertSign".into()));
        }
        Ok(())
    }

    fn check_time(&self, c: &Cert, pos: usize) -> Result<(), ValidationError> {
        let t = self.opts.time;
        if t < c.not_before {
            return Err(err(
                ErrorKind::NotYetValid,
                Some(c),
                Some(pos),
                format!(
                    "notBefore is {}, validation time {}",
                    format_time(c.not_before),
                    format_time(t)
                ),
            ));
        }
        if t > c.not_after {
            return Err(err(
                ErrorKind::Expired,
                Some(c),
                Some(pos),
                format!(
                    "notAfter was {}, validation time {}",
                    format_time(c.not_after),
                    format_time(t)
                ),
            ));
        }
        Ok(())
    }

    /// RFC 5280 §6.1 over `chain` (leaf first, anchor last), then revocation.
    fn validate_chain(
        &self,
        chain: &[usize],
        depth: usize,
        top: bool,
    ) -> Result<ValidatedPath, ValidationError> {
        let n = chain.len() - 1; // certificates excluding the anchor
        let anchor_idx = *chain
            .last()
            .ok_or_else(|| err(ErrorKind::NoPath, None, None, "empty path"))?;
        let anchor = &self.all[anchor_idx];
        let mut ncs = NcState::default();
        if self.opts.check_anchor {
            self.check_anchor_cert(anchor, n + 1)?;
            if let Some(nc) = &anchor.name_constraints {
                ncs.add(nc.permitted.as_ref(), &nc.excluded);
            }
        }
        // Path position p (0 = leaf) <-> RFC index i = n - p.
        let o = self.opts;
        let mut tree = PolicyTree::new();
        let mut explicit_policy = if o.initial_explicit_policy && top {
            0
        } else {
            n + 1
        };
        let mut inhibit_any = if o.initial_any_policy_inhibit && top {
            0
        } else {
            n + 1
        };
        let mut policy_mapping = if o.initial_policy_mapping_inhibit && top {
            0
        } else {
            n + 1
        };
        let mut max_path_length = n;
        let mut working_issuer = anchor.subject.clone();
        let mut working_dsa = dsa::params_of(&anchor.spki);

        for i in 1..=n {
            let pos = n - i;
            let idx = chain[pos];
            let c = &self.all[idx];
            let is_leaf = i == n;
            let e = |k: ErrorKind, d: String| err(k, Some(c), Some(pos), d);
            if let Some(d) = c.defects.first() {
                return Err(e(ErrorKind::Profile, (*d).to_string()));
            }
            // (a)(1) signature (cached from building, except for inherited DSA parameters).
            let issuer_idx = chain[pos + 1];
            if dsa::needs_params(&self.all[issuer_idx].spki) {
                match &working_dsa {
                    Some(p) => {
                        self.dsa_params.borrow_mut().insert(issuer_idx, p.clone());
                    }
                    None => {
                        return Err(e(
                            ErrorKind::UnsupportedAlgorithm,
                            "the issuer's DSA key has no parameters to inherit".into(),
                        ));
                    }
                }
            }
            if c.spki_alg == dsa::OID_DSA {
                if let Some(p) = dsa::params_of(&c.spki) {
                    working_dsa = Some(p);
                }
            } else {
                working_dsa = None;
            }
            if let Err(msg) = self.cert_sig(idx, issuer_idx) {
                return Err(e(ErrorKind::Signature, msg));
            }
            // (a)(2) validity.
            self.check_time(c, pos)?;
            // (a)(4) name chaining.
            if c.issuer != working_issuer {
                return Err(e(
                    ErrorKind::NameChaining,
                    format!(
                        "issuer \"{}\" differs from the subject \"{}\" of its issuer",
                        c.issuer, working_issuer
                    ),
                ));
            }
            // (b)(c) name constraints, skipped for self-issued intermediates.
            if is_leaf || !c.self_issued() {
                ncs.check(&c.subject, c.san.as_deref())
                    .map_err(|x| match x {
                        NcError::NotPermitted(nm) => e(
                            ErrorKind::NameConstraints,
                            format!("{nm} is outside the permitted subtrees"),
                        ),
                        NcError::Excluded(nm) => e(
                            ErrorKind::NameConstraints,
                            format!("{nm} is within an excluded subtree"),
                        ),
                        NcError::Budget => e(
                            ErrorKind::Budget,
                            "name constraint comparison budget exhausted".into(),
                        ),
                    })?;
            }
            // (d)-(f) policies.
            match &c.policies {
                Some(p) => {
                    let any_ok = inhibit_any > 0 || (!is_leaf && c.self_issued());
                    tree.process_cert(i, p, any_ok)
                        .map_err(|_| e(ErrorKind::Budget, "policy tree too large".into()))?;
                }
                None => tree.set_null(),
            }
            if explicit_policy == 0 && tree.is_null() {
                return Err(e(
                    ErrorKind::Policy,
                    "no acceptable certificate policy while an explicit policy is required".into(),
                ));
            }
            if is_leaf {
                break;
            }
            // §6.1.4 preparation for the next certificate.
            if let Some(m) = &c.policy_mappings {
                if m.iter().any(|(a, b)| {
                    a.as_slice() == cert::OID_ANY_POLICY || b.as_slice() == cert::OID_ANY_POLICY
                }) {
                    return Err(e(
                        ErrorKind::Policy,
                        "policy mapping to or from anyPolicy".into(),
                    ));
                }
                tree.apply_mappings(i, m, policy_mapping > 0)
                    .map_err(|_| e(ErrorKind::Budget, "policy tree too large".into()))?;
            }
            working_issuer = c.subject.clone();
            if let Some(nc) = &c.name_constraints {
                for b in nc.permitted.iter().flatten().chain(&nc.excluded) {
                    if let GeneralName::Ip(ip) = b
                        && !nc::valid_ip_constraint(ip)
                    {
                        return Err(e(
                            ErrorKind::NameConstraints,
                            "malformed iPAddress name constraint".into(),
                        ));
                    }
                }
                ncs.add(nc.permitted.as_ref(), &nc.excluded);
            }
            if !c.self_issued() {
                explicit_policy = explicit_policy.saturating_sub(1);
                policy_mapping = policy_mapping.saturating_sub(1);
                inhibit_any = inhibit_any.saturating_sub(1);
            }
            if let Some(r) = c.require_explicit {
                explicit_policy = explicit_policy.min(r as usize);
            }
            if let Some(r) = c.inhibit_mapping {
                policy_mapping = policy_mapping.min(r as usize);
            }
            if let Some(r) = c.inhibit_any {
                inhibit_any = inhibit_any.min(r as usize);
            }
            // (k) basic constraints.
            if c.version < 2 {
                return Err(e(
                    ErrorKind::BasicConstraints,
                    format!("a v{} certificate cannot issue certificates", c.version + 1),
                ));
            }
            if !c.is_ca() {
                return Err(e(
                    ErrorKind::BasicConstraints,
                    "basicConstraints cA is not set but the certificate issued another".into(),
                ));
            }
            // (l)(m) path length.
            if !c.self_issued() {
                if max_path_length == 0 {
                    return Err(e(
                        ErrorKind::PathLength,
                        "pathLenConstraint exceeded".into(),
                    ));
                }
                max_path_length -= 1;
            }
            if let Some((_, Some(pl))) = c.basic_constraints {
                max_path_length = max_path_length.min(pl as usize);
            }
            // (n) key usage.
            if let Some(k) = c.key_usage
                && k & ku::KEY_CERT_SIGN == 0
            {
                return Err(e(
                    ErrorKind::KeyUsage,
                    "keyUsage lacks keyCertSign but the certificate issued another".into(),
                ));
            }
            // (o) unknown critical extensions.
            if let Some(x) = c.unknown_critical.first() {
                return Err(e(
                    ErrorKind::UnknownCriticalExtension,
                    format!("critical extension {} is not understood", oid_to_string(x)),
                ));
            }
        }
        // §6.1.5 wrap-up on the leaf.
        let leaf = &self.all[chain[0]];
        let le = |k: ErrorKind, d: String| err(k, Some(leaf), Some(0), d);
        explicit_policy = explicit_policy.saturating_sub(1);
        if leaf.require_explicit == Some(0) {
            explicit_policy = 0;
        }
        if let Some(x) = leaf.unknown_critical.first() {
            return Err(le(
                ErrorKind::UnknownCriticalExtension,
                format!("critical extension {} is not understood", oid_to_string(x)),
            ));
        }
        if top
            && let (Some(req), Some(eku)) = (&self.required_eku, &leaf.eku)
            && !eku.iter().any(|x| x == req || x.as_slice() == OID_ANY_EKU)
        {
            return Err(le(
                ErrorKind::ExtKeyUsage,
                format!("extKeyUsage does not include {}", oid_to_string(req)),
            ));
        }
        let user = if top { self.user_set.as_deref() } else { None };
        let pols = tree
            .intersect(n, user)
            .map_err(|_| le(ErrorKind::Budget, "policy tree too large".into()))?;
        if explicit_policy == 0 && tree.is_null() {
            return Err(le(ErrorKind::Policy, "no certificate policy acceptable to the user is valid for this path while an explicit policy is required".into()));
        }
        let policies = if tree.is_null() {
            Vec::new()
        } else {
            pols.iter().map(|p| oid_to_string(p)).collect()
        };

        // §6.3 revocation for every certificate below the anchor.
        let (revocation, revocation_details) = self.check_revocation(chain, depth)?;
        Ok(ValidatedPath {
            path: chain
                .iter()
                .map(|&k| self.all[k].subject.to_string())
                .collect(),
            certificates: chain.iter().map(|&k| self.all[k].der.clone()).collect(),
            anchor_index: self.anchor_of[anchor_idx].unwrap_or(0),
            revocation,
            revocation_details,
            policies,
        })
    }
}

#[cfg(test)]
mod tests;
