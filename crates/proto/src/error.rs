//! Errors of the protocol core, and the one place that maps them to Notify types.

use std::fmt;

use negotiator_crypto::CryptoError;
use negotiator_wire::v2::NotifyType;

/// Why an exchange or an IKE SA failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProtoError {
    /// The message could not be parsed.
    Syntax(negotiator_wire::v2::Error),
    /// The decrypted content of an SK payload could not be parsed.
    InnerSyntax(negotiator_wire::v2::Error),
    /// A required payload is missing.
    MissingPayload(&'static str),
    /// A payload value is not acceptable.
    InvalidPayload(String),
    /// The ICV or AEAD tag did not verify, or the padding was wrong.
    Integrity(&'static str),
    /// No proposal matched: what was offered and what is configured.
    NoProposalChosen {
        /// The peer's offer.
        offered: String,
        /// Our configuration.
        configured: String,
    },
    /// The KE payload used another group than the one selected.
    InvalidKe {
        /// The group we want.
        wanted: u16,
        /// The group the peer used.
        received: u16,
    },
    /// The peer's authentication failed.
    Authentication(String),
    /// The traffic selectors do not overlap ours.
    TsUnacceptable(String),
    /// The peer answered with an error notify.
    PeerError(NotifyType, String),
    /// The peer did not answer.
    Timeout(&'static str),
    /// A cryptographic operation failed.
    Crypto(CryptoError),
    /// A local configuration problem.
    Config(String),
    /// An internal invariant did not hold.
    Internal(&'static str),
}

impl ProtoError {
    /// The error notify to send back to the peer for this error, if any (RFC 7296 §3.10.1).
    pub fn notify(&self) -> Option<NotifyType> {
        match self {
            Self::Syntax(_) | Self::InnerSyntax(_) | Self::MissingPayload(_) => {
                Some(NotifyType::INVALID_SYNTAX)
            }
            Self::InvalidPayload(_) => Some(NotifyType::INVALID_SYNTAX),
            Self::NoProposalChosen { .. } => Some(NotifyType::NO_PROPOSAL_CHOSEN),
            Self::InvalidKe { .. } => Some(NotifyType::INVALID_KE_PAYLOAD),
            Self::Authentication(_) => Some(NotifyType::AUTHENTICATION_FAILED),
            Self::TsUnacceptable(_) => Some(NotifyType::TS_UNACCEPTABLE),
            // Integrity failures are dropped silently (§2.21.2: no response to an
            // unauthenticated message that fails its checks).
            Self::Integrity(_) => None,
            Self::PeerError(..) | Self::Timeout(_) => None,
            Self::Crypto(_) | Self::Config(_) | Self::Internal(_) => {
                Some(NotifyType::NO_PROPOSAL_CHOSEN)
            }
        }
    }
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(e) => write!(f, "malformed message: {e}"),
            Self::InnerSyntax(e) => write!(f, "malformed encrypted content: {e}"),
            Self::MissingPayload(p) => write!(f, "required payload {p} is missing"),
            Self::InvalidPayload(s) => write!(f, "invalid payload: {s}"),
            Self::Integrity(s) => write!(f, "integrity check failed: {s}"),
            Self::NoProposalChosen {
                offered,
                configured,
            } => write!(
                f,
                "no proposal chosen: peer offered [{offered}], we are configured for [{configured}]"
            ),
            Self::InvalidKe { wanted, received } => {
                write!(
                    f,
                    "KE payload uses group {received}, the selected group is {wanted}"
                )
            }
            Self::Authentication(s) => write!(f, "authentication failed: {s}"),
            Self::TsUnacceptable(s) => write!(f, "traffic selectors unacceptable: {s}"),
            Self::PeerError(t, ctx) => write!(f, "peer sent error notify {t:?} ({ctx})"),
            Self::Timeout(what) => write!(f, "peer did not answer the {what} request"),
            Self::Crypto(e) => write!(f, "crypto failure: {e}"),
            Self::Config(s) => write!(f, "configuration: {s}"),
            Self::Internal(s) => write!(f, "internal error: {s}"),
        }
    }
}

impl std::error::Error for ProtoError {}

impl From<CryptoError> for ProtoError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}
