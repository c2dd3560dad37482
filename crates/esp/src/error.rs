//! Errors of the ESP engine.

use core::fmt;

use negotiator_crypto::CryptoError;

use crate::ReplayError;

/// Why a packet could not be sealed or opened, or an SA could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EspError {
    /// The packet is shorter than the smallest valid ESP packet for the SA.
    Truncated,
    /// The packet's SPI is not the SA's SPI.
    SpiMismatch {
        /// The SA's SPI.
        expected: u32,
        /// The SPI in the packet.
        found: u32,
    },
    /// No SA with this SPI is installed.
    UnknownSpi(u32),
    /// Several outbound SAs (to different peers) share this SPI; address the
    /// SA by its inbound SPI instead.
    AmbiguousSpi(u32),
    /// Refused by the anti-replay window (counted in `replay_drops`).
    Replay(ReplayError),
    /// The ICV did not verify (counted in `auth_failures`).
    AuthFailed,
    /// The decrypted trailer has an impossible pad length or padding bytes
    /// that are not 1, 2, 3, ...
    BadPadding,
    /// Structurally invalid packet (e.g. CBC ciphertext not block aligned).
    Malformed(&'static str),
    /// The 32-bit sequence number space is used up; the SA must be rekeyed.
    SequenceExhausted,
    /// The output buffer is too small; `needed` octets are required.
    BufferTooSmall {
        /// Required output length.
        needed: usize,
    },
    /// Encapsulate called on an inbound SA or decapsulate on an outbound one.
    WrongDirection,
    /// Keys do not match their algorithms.
    InvalidKeys(&'static str),
    /// Replay window size neither 0 (disabled) nor in 32..=65536.
    InvalidReplayWindow(u32),
    /// The crypto provider failed.
    Crypto(CryptoError),
}

impl fmt::Display for EspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EspError::Truncated => f.write_str("truncated ESP packet"),
            EspError::SpiMismatch { expected, found } => {
                write!(f, "SPI {found:#010x} does not match SA {expected:#010x}")
            }
            EspError::UnknownSpi(s) => write!(f, "no SA for SPI {s:#010x}"),
            EspError::AmbiguousSpi(s) => write!(f, "outbound SPI {s:#010x} is ambiguous"),
            EspError::Replay(e) => write!(f, "replayed packet: {e}"),
            EspError::AuthFailed => f.write_str("ICV verification failed"),
            EspError::BadPadding => f.write_str("invalid ESP padding"),
            EspError::Malformed(m) => write!(f, "malformed ESP packet: {m}"),
            EspError::SequenceExhausted => f.write_str("sequence number space exhausted"),
            EspError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small ({needed} octets needed)")
            }
            EspError::WrongDirection => f.write_str("operation not valid for this SA direction"),
            EspError::InvalidKeys(m) => write!(f, "invalid keys: {m}"),
            EspError::InvalidReplayWindow(w) => write!(f, "invalid replay window size {w}"),
            EspError::Crypto(e) => write!(f, "crypto failure: {e}"),
        }
    }
}

impl std::error::Error for EspError {}

impl From<CryptoError> for EspError {
    fn from(e: CryptoError) -> Self {
        EspError::Crypto(e)
    }
}
