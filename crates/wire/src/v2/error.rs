//! Codec errors.

use core::fmt;

use super::PayloadType;

/// A parse failure: what went wrong, where, and in which structure.
///
/// `offset` counts octets from the start of the buffer given to the parser
/// (the datagram for [`Message::parse`](super::Message::parse), the decrypted
/// chain for [`parse_payloads`](super::parse_payloads)). `context` names the
/// structure or field being read, e.g. `"proposal"` or `"traffic selector"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset of the offending structure or field.
    pub offset: usize,
    /// Name of the structure or field being parsed.
    pub context: &'static str,
}

impl Error {
    /// Builds an error.
    pub fn new(kind: ErrorKind, offset: usize, context: &'static str) -> Self {
        Error {
            kind,
            offset,
            context,
        }
    }
}

/// The kind of a parse failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The buffer ends before a fixed-size field or structure is complete.
    Truncated,
    /// The IKE header Length field disagrees with the datagram size.
    LengthMismatch {
        /// Value of the Length field.
        declared: usize,
        /// Octets actually received.
        actual: usize,
    },
    /// A payload length is below the 4-octet generic payload header.
    PayloadTooShort,
    /// Octets remain after the last structure a container declares.
    TrailingData,
    /// A length field points beyond the end of its enclosing structure.
    Overrun,
    /// An unknown payload type with the Critical bit set (answer with
    /// `UNSUPPORTED_CRITICAL_PAYLOAD` carrying this type).
    UnsupportedCriticalPayload(PayloadType),
    /// A repeated structure exceeds this codec's budget.
    TooMany {
        /// The maximum number accepted.
        limit: usize,
    },
    /// A field holds a value the RFC does not allow here.
    InvalidValue,
    /// The IKE major version is not 2; the full version octet is given.
    UnsupportedVersion(u8),
    /// The datagram is larger than the message budget.
    TooLarge {
        /// The maximum size accepted, in octets.
        limit: usize,
    },
    /// A length field holds a value the structure type does not allow
    /// (e.g. a Selector Length other than 16 for an IPv4 range).
    InvalidLength {
        /// The value of the length field.
        declared: usize,
        /// The value required for this structure.
        required: usize,
    },
    /// A count field disagrees with the structures actually present.
    CountMismatch {
        /// The count given in the count field.
        declared: usize,
        /// The number of structures found.
        actual: usize,
    },
    /// A Proposal/Transform "last substructure" octet is wrong for its
    /// position (or not one of the allowed values).
    BadLastSubstructure(u8),
    /// An SPI size not allowed for this protocol and structure.
    InvalidSpiSize(u8),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated => f.write_str("truncated"),
            ErrorKind::LengthMismatch { declared, actual } => write!(
                f,
                "length mismatch: declared {declared} octets, received {actual}"
            ),
            ErrorKind::PayloadTooShort => f.write_str("payload length below 4"),
            ErrorKind::TrailingData => f.write_str("trailing data"),
            ErrorKind::Overrun => f.write_str("length runs past the enclosing structure"),
            ErrorKind::UnsupportedCriticalPayload(t) => {
                write!(f, "unsupported critical payload type {}", t.0)
            }
            ErrorKind::TooMany { limit } => write!(f, "more than {limit} elements"),
            ErrorKind::InvalidValue => f.write_str("invalid value"),
            ErrorKind::UnsupportedVersion(v) => write!(f, "unsupported version {v:#04x}"),
            ErrorKind::TooLarge { limit } => write!(f, "larger than {limit} octets"),
            ErrorKind::InvalidLength { declared, required } => {
                write!(f, "length {declared} where {required} is required")
            }
            ErrorKind::CountMismatch { declared, actual } => {
                write!(f, "count {declared} declared, {actual} present")
            }
            ErrorKind::BadLastSubstructure(v) => {
                write!(f, "wrong last-substructure value {v}")
            }
            ErrorKind::InvalidSpiSize(s) => write!(f, "SPI size {s} not allowed"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IKEv2 {} at offset {}: {}",
            self.context, self.offset, self.kind
        )
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_format() {
        let e = Error::new(ErrorKind::PayloadTooShort, 120, "payload header");
        assert_eq!(
            e.to_string(),
            "IKEv2 payload header at offset 120: payload length below 4"
        );
        let e = Error::new(
            ErrorKind::UnsupportedCriticalPayload(PayloadType(100)),
            28,
            "payload",
        );
        assert_eq!(
            e.to_string(),
            "IKEv2 payload at offset 28: unsupported critical payload type 100"
        );
    }
}
