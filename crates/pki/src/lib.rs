//! `negotiator-pki`: a minimal CA for a private IKE PKI, DN/SAN handling,
//! and the peer-certificate check used during IKE authentication.
//!
//! Certificates are built and parsed with a small bounds-checked DER layer;
//! keys and signatures come from `negotiator-crypto`.

mod asn1;
mod ca;
mod ca_crl;
mod cert;
mod crossca;
mod dn;
mod error;
mod pem;
mod san;
mod sig;
mod time;
mod verify;

pub use ca::{
    BACKDATE_SECS, CA_CERT_FILE, CA_KEY_FILE, CA_STATE_FILE, Ca, IssueRequest, IssuedRecord,
    RevocationRecord,
};
pub use ca_crl::{CrlKind, CrlReason};
pub use crossca::{
    ConstraintBase, CrossCertOptions, MAX_CROSS_CONSTRAINTS, NameConstraint, PolicyMapping,
    parse_name_constraints,
};
pub use dn::{name_to_string, parse_dn};
pub use error::PkiError;
pub use negotiator_crypto::{KeyType, PrivateKey};
pub use pem::{MAX_BUNDLE_CERTS, MAX_BUNDLE_LEN, parse_certificate_pem_or_der, to_pem};
pub use san::San;
pub use time::format_rfc3339;
pub use verify::{MAX_PATH_DEPTH, PeerCertificate, verify_peer_chain};

pub mod cmp;
pub mod crl;
pub mod validate;
pub use validate::{
    ErrorKind, RevocationMode, RevocationStatus, ValidatedPath, ValidationError, ValidationOptions,
    validate_path,
};
