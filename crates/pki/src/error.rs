//! Error type of the PKI crate.

use std::fmt;

/// Errors from DN/SAN parsing, certificate issuing, loading and path checks.
///
/// Path-check variants carry the subject of the certificate that failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PkiError {
    /// A distinguished name string could not be parsed.
    InvalidDn {
        /// The input.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// A subjectAltName string could not be parsed.
    InvalidSan {
        /// The input.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate (or other DER/PEM object) is malformed.
    Malformed {
        /// Which object (subject when known, or position).
        cert: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate's validity ended before the check time.
    Expired {
        /// Subject of the certificate.
        subject: String,
        /// notAfter, Unix seconds.
        not_after: i64,
    },
    /// A certificate is not valid yet at the check time.
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// notBefore, Unix seconds.
        not_before: i64,
    },
    /// A signature does not verify.
    BadSignature {
        /// Subject of the signed certificate.
        subject: String,
        /// Subject of the issuer whose key was used.
        issuer: String,
    },
    /// The signature algorithm is unknown or unsupported.
    UnsupportedAlgorithm {
        /// Subject of the certificate.
        subject: String,
        /// Detail.
        detail: String,
    },
    /// No issuer was found among the chain and the trust anchors.
    UnknownIssuer {
        /// Subject of the certificate whose issuer is missing.
        subject: String,
        /// The issuer name it names.
        issuer: String,
    },
    /// An issuing certificate is not a CA (basicConstraints).
    NotCa {
        /// Subject of the issuing certificate.
        subject: String,
    },
    /// A pathLenConstraint is exceeded.
    PathLenExceeded {
        /// Subject of the CA whose constraint is exceeded.
        subject: String,
        /// The constraint.
        path_len: u64,
    },
    /// keyUsage does not allow the use.
    KeyUsage {
        /// Subject of the certificate.
        subject: String,
        /// The required bit, e.g. `keyCertSign`.
        needed: &'static str,
    },
    /// A critical extension this implementation does not process.
    UnknownCriticalExtension {
        /// Subject of the certificate.
        subject: String,
        /// Dotted OID of the extension.
        oid: String,
    },
    /// The path is longer than the depth limit.
    PathTooLong {
        /// Subject of the certificate where the limit was hit.
        subject: String,
        /// The limit.
        limit: usize,
    },
    /// Bad arguments (empty chain, no anchors, zero validity, …).
    InvalidInput(String),
    /// Key generation, signing or randomness failed.
    Crypto(String),
    /// Profile storage failed (wrong password, corrupt file, I/O).
    Store(negotiator_store::StoreError),
    /// File-system error with context.
    Io(String, std::io::Error),
    /// The CA directory is inconsistent (state file, key/cert mismatch, …).
    CaState(String),
}

impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::time::format_rfc3339 as t;
        match self {
            PkiError::InvalidDn { input, reason } => {
                write!(f, "invalid distinguished name {input:?}: {reason}")
            }
            PkiError::InvalidSan { input, reason } => {
                write!(f, "invalid subjectAltName {input:?}: {reason}")
            }
            PkiError::Malformed { cert, reason } => {
                write!(f, "malformed certificate {cert}: {reason}")
            }
            PkiError::Expired { subject, not_after } => {
                write!(f, "certificate \"{subject}\" expired at {}", t(*not_after))
            }
            PkiError::NotYetValid {
                subject,
                not_before,
            } => {
                write!(
                    f,
                    "certificate \"{subject}\" is not valid before {}",
                    t(*not_before)
                )
            }
            PkiError::BadSignature { subject, issuer } => write!(
                f,
                "certificate \"{subject}\" has a signature that does not verify with the key of \"{issuer}\""
            ),
            PkiError::UnsupportedAlgorithm { subject, detail } => {
                write!(
                    f,
                    "certificate \"{subject}\": unsupported algorithm: {detail}"
                )
            }
            PkiError::UnknownIssuer { subject, issuer } => write!(
                f,
                "certificate \"{subject}\": issuer \"{issuer}\" is neither in the chain nor a trust anchor"
            ),
            PkiError::NotCa { subject } => write!(
                f,
                "certificate \"{subject}\" issues certificates but is not a CA (basicConstraints)"
            ),
            PkiError::PathLenExceeded { subject, path_len } => write!(
                f,
                "certificate \"{subject}\": pathLenConstraint {path_len} exceeded"
            ),
            PkiError::KeyUsage { subject, needed } => {
                write!(f, "certificate \"{subject}\": keyUsage lacks {needed}")
            }
            PkiError::UnknownCriticalExtension { subject, oid } => {
                write!(
                    f,
                    "certificate \"{subject}\": unknown critical extension {oid}"
                )
            }
            PkiError::PathTooLong { subject, limit } => write!(
                f,
                "certificate \"{subject}\": chain longer than {limit} certificates"
            ),
            PkiError::InvalidInput(s) => write!(f, "{s}"),
            PkiError::Crypto(s) => write!(f, "cryptographic operation failed: {s}"),
            PkiError::Store(e) => write!(f, "{e}"),
            PkiError::Io(what, e) => write!(f, "{what}: {e}"),
            PkiError::CaState(s) => write!(f, "CA directory: {s}"),
        }
    }
}

impl std::error::Error for PkiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PkiError::Store(e) => Some(e),
            PkiError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

impl From<negotiator_store::StoreError> for PkiError {
    fn from(e: negotiator_store::StoreError) -> Self {
        PkiError::Store(e)
    }
}
