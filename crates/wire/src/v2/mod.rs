//! IKEv2 message codec (RFC 7296 section 3, RFC 7383 fragments).
//!
//! * [`Message::parse`] checks the whole datagram: header Length equals the
//!   datagram size, every payload length fits its parent, every substructure
//!   fits its payload, and all budgets hold (see [`limits`]).
//! * [`Message::encode`] computes every length, count, Next Payload and
//!   "last substructure" field from the structure; stored values of those
//!   fields are ignored.
//! * [`parse_payloads`] / [`encode_payloads`] handle a bare payload chain,
//!   e.g. the decrypted content of an SK payload.
//!
//! Unknown payload types are kept as [`PayloadBody::Unknown`] and survive a
//! round trip, unless their Critical bit is set, in which case parsing fails
//! with [`ErrorKind::UnsupportedCriticalPayload`]. Reserved fields and
//! reserved flag bits are ignored on receipt and sent as zero.
//!
//! ```
//! use negotiator_wire::v2::*;
//!
//! let msg = Message {
//!     header: Header {
//!         spi_i: [7; 8],
//!         spi_r: [0; 8],
//!         next_payload: PayloadType::NONE, // computed by encode
//!         version: Header::VERSION_2_0,
//!         exchange: ExchangeType::INFORMATIONAL,
//!         flags: Flags::INITIATOR | Flags::RESPONSE,
//!         message_id: 0,
//!         length: 0, // computed by encode
//!     },
//!     payloads: vec![Payload::new(PayloadBody::Notify(Notify::new(
//!         NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
//!         vec![100],
//!     )))],
//! };
//! let bytes = msg.encode();
//! assert_eq!(bytes.len(), 28 + 8 + 1);
//! let back = Message::parse(&bytes).unwrap();
//! assert_eq!(back.header.next_payload, PayloadType::NOTIFY);
//! assert_eq!(back.payloads, msg.payloads);
//!
//! // An unknown payload type with the Critical bit set is refused.
//! let mut bad = bytes.clone();
//! bad[16] = 100; // header names type 100 first
//! bad[29] = 0x80; // C bit
//! let err = Message::parse(&bad).unwrap_err();
//! assert_eq!(err.kind, ErrorKind::UnsupportedCriticalPayload(PayloadType(100)));
//! ```

mod decode;
mod encode;
mod error;
mod reader;
mod registry;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use decode::parse_payloads;
pub use encode::encode_payloads;
pub use error::{Error, ErrorKind};
pub use registry::{
    AuthMethod, CertEncoding, EncrId, EsnId, ExchangeType, Flags, IdType, IntegId, KeId,
    NotifyType, PayloadType, PrfId, ProtocolId, TransformType, TsType,
};

/// Size budgets enforced by the parser.
pub mod limits {
    /// Largest message accepted, in octets.
    pub const MAX_MESSAGE: usize = 65535;
    /// Most payloads in one chain (the outer chain and each inner chain).
    pub const MAX_PAYLOADS: usize = 64;
    /// Most proposals in one SA payload.
    pub const MAX_PROPOSALS: usize = 32;
    /// Most transforms in one proposal.
    pub const MAX_TRANSFORMS: usize = 64;
    /// Most attributes in one transform.
    pub const MAX_ATTRIBUTES: usize = 16;
    /// Most traffic selectors in one TS payload.
    pub const MAX_TRAFFIC_SELECTORS: usize = 64;
    /// Most configuration attributes in one CP payload.
    pub const MAX_CONFIG_ATTRIBUTES: usize = 64;
    /// Most SPIs in one Delete payload.
    pub const MAX_DELETE_SPIS: usize = 1024;
}

/// The fixed IKE header (RFC 7296 section 3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// IKE SA initiator's SPI.
    pub spi_i: [u8; 8],
    /// IKE SA responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: [u8; 8],
    /// Type of the first payload. Ignored by [`Message::encode`].
    pub next_payload: PayloadType,
    /// Major version in the high nibble, minor in the low nibble (0x20).
    pub version: u8,
    /// Exchange type.
    pub exchange: ExchangeType,
    /// Flags octet.
    pub flags: Flags,
    /// Message ID.
    pub message_id: u32,
    /// Length of the whole message. Ignored by [`Message::encode`].
    pub length: u32,
}

impl Header {
    /// Size of the IKE header in octets.
    pub const LEN: usize = 28;
    /// The version octet for IKEv2.0.
    pub const VERSION_2_0: u8 = 0x20;

    /// Reads just the 28-octet header from the start of `bytes` (no check of
    /// Length against the datagram, no version check), for demultiplexing.
    pub fn parse(bytes: &[u8]) -> Result<Header, Error> {
        decode::parse_header(bytes)
    }

    /// Appends the 28 header octets exactly as stored (including
    /// `next_payload` and `length`).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.spi_i);
        out.extend_from_slice(&self.spi_r);
        out.push(self.next_payload.0);
        out.push(self.version);
        out.push(self.exchange.0);
        out.push(self.flags.0);
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
    }

    /// Major version (high nibble of the version octet).
    pub fn major_version(&self) -> u8 {
        self.version >> 4
    }
}

/// A whole IKEv2 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The IKE header.
    pub header: Header,
    /// The payload chain in order. An [`PayloadBody::Sk`] or
    /// [`PayloadBody::Skf`] payload, if any, is the last one.
    pub payloads: Vec<Payload>,
}

impl Message {
    /// Parses and fully checks one IKEv2 message (a UDP payload without the
    /// non-ESP marker).
    pub fn parse(bytes: &[u8]) -> Result<Message, Error> {
        decode::parse_message(bytes)
    }

    /// Encodes the message. `header.next_payload`, `header.length`, every
    /// payload Next Payload/Length field and all counts are computed.
    ///
    /// Payloads after an SK/SKF payload cannot be represented on the wire
    /// and are not written. Structures too large for their 16-bit length
    /// fields produce a malformed message; use [`Message::try_encode`] to get
    /// an error instead.
    pub fn encode(&self) -> Vec<u8> {
        encode::encode_message(self).0
    }

    /// Like [`Message::encode`], but fails with `TooLarge` if a length field
    /// would overflow or the message exceeds [`limits::MAX_MESSAGE`], and with
    /// `InvalidValue` if payloads follow an SK/SKF payload.
    pub fn try_encode(&self) -> Result<Vec<u8>, Error> {
        let (bytes, problem) = encode::encode_message(self);
        match problem {
            None if bytes.len() <= limits::MAX_MESSAGE => Ok(bytes),
            None => Err(Error::new(
                ErrorKind::TooLarge {
                    limit: limits::MAX_MESSAGE,
                },
                0,
                "message",
            )),
            Some(e) => Err(e),
        }
    }
}

/// One payload: the Critical bit as received plus the typed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The Critical bit (0x80 of the flags octet). Kept as received and
    /// written back on encode. Other flag bits are reserved and dropped.
    pub critical: bool,
    /// The body.
    pub body: PayloadBody,
}

impl Payload {
    /// A payload with the Critical bit clear.
    pub fn new(body: PayloadBody) -> Self {
        Payload {
            critical: false,
            body,
        }
    }

    /// The payload type of the body.
    pub fn payload_type(&self) -> PayloadType {
        self.body.payload_type()
    }
}

impl From<PayloadBody> for Payload {
    fn from(body: PayloadBody) -> Self {
        Payload::new(body)
    }
}

/// Typed payload bodies (RFC 7296 sections 3.3 to 3.16, RFC 7383).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadBody {
    /// Security Association: proposals in order.
    Sa(Vec<Proposal>),
    /// Key Exchange.
    Ke(KeyExchange),
    /// Identification - Initiator.
    IdI(Identification),
    /// Identification - Responder.
    IdR(Identification),
    /// Certificate.
    Cert(Certificate),
    /// Certificate Request (same layout as Certificate).
    CertReq(Certificate),
    /// Authentication.
    Auth(Authentication),
    /// Nonce data, length as received (the protocol core checks 16..=256).
    Nonce(Vec<u8>),
    /// Notify.
    Notify(Notify),
    /// Delete.
    Delete(Delete),
    /// Vendor ID data.
    VendorId(Vec<u8>),
    /// Traffic Selector - Initiator.
    TsI(Vec<TrafficSelector>),
    /// Traffic Selector - Responder.
    TsR(Vec<TrafficSelector>),
    /// Encrypted and Authenticated (opaque IV || ciphertext || ICV).
    Sk(Encrypted),
    /// Encrypted and Authenticated Fragment (RFC 7383).
    Skf(EncryptedFragment),
    /// Configuration.
    Cp(Configuration),
    /// EAP message, opaque.
    Eap(Vec<u8>),
    /// A payload type this codec does not parse (Critical bit clear).
    Unknown {
        /// Its type.
        payload_type: PayloadType,
        /// Its body, raw.
        data: Vec<u8>,
    },
}

impl PayloadBody {
    /// The payload type this body is encoded with.
    pub fn payload_type(&self) -> PayloadType {
        match self {
            PayloadBody::Sa(_) => PayloadType::SA,
            PayloadBody::Ke(_) => PayloadType::KE,
            PayloadBody::IdI(_) => PayloadType::IDI,
            PayloadBody::IdR(_) => PayloadType::IDR,
            PayloadBody::Cert(_) => PayloadType::CERT,
            PayloadBody::CertReq(_) => PayloadType::CERTREQ,
            PayloadBody::Auth(_) => PayloadType::AUTH,
            PayloadBody::Nonce(_) => PayloadType::NONCE,
            PayloadBody::Notify(_) => PayloadType::NOTIFY,
            PayloadBody::Delete(_) => PayloadType::DELETE,
            PayloadBody::VendorId(_) => PayloadType::VENDOR_ID,
            PayloadBody::TsI(_) => PayloadType::TSI,
            PayloadBody::TsR(_) => PayloadType::TSR,
            PayloadBody::Sk(_) => PayloadType::SK,
            PayloadBody::Skf(_) => PayloadType::SKF,
            PayloadBody::Cp(_) => PayloadType::CP,
            PayloadBody::Eap(_) => PayloadType::EAP,
            PayloadBody::Unknown { payload_type, .. } => *payload_type,
        }
    }
}

/// A Proposal substructure (RFC 7296 section 3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal number (1 for the first, consecutive).
    pub number: u8,
    /// Protocol this proposal is for.
    pub protocol: ProtocolId,
    /// SPI: empty (IKE in IKE_SA_INIT), 8 octets (IKE rekey) or 4 (AH/ESP).
    pub spi: Vec<u8>,
    /// Transforms in order.
    pub transforms: Vec<Transform>,
}

/// A Transform substructure (RFC 7296 section 3.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    /// Transform type.
    pub transform_type: TransformType,
    /// Transform ID (see [`EncrId`], [`PrfId`], [`IntegId`], [`KeId`], [`EsnId`]).
    pub id: u16,
    /// Attributes in order.
    pub attributes: Vec<Attribute>,
}

impl Transform {
    /// A transform without attributes.
    pub fn new(t: TransformType, id: u16) -> Self {
        Transform {
            transform_type: t,
            id,
            attributes: Vec::new(),
        }
    }

    /// A transform with a Key Length attribute of `bits`.
    pub fn with_key_length(t: TransformType, id: u16, bits: u16) -> Self {
        Transform {
            transform_type: t,
            id,
            attributes: vec![Attribute {
                attr_type: Attribute::KEY_LENGTH,
                value: AttributeValue::Short(bits),
            }],
        }
    }

    /// The Key Length attribute (TV format) if present.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match a.value {
            AttributeValue::Short(v) if a.attr_type == Attribute::KEY_LENGTH => Some(v),
            _ => None,
        })
    }
}

/// A transform attribute (RFC 7296 section 3.3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute type without the AF bit.
    pub attr_type: u16,
    /// Value; the format (TV/TLV) follows the variant.
    pub value: AttributeValue,
}

impl Attribute {
    /// The Key Length attribute type (TV format).
    pub const KEY_LENGTH: u16 = 14;
}

/// Attribute value: TV (AF bit set, 2-octet value) or TLV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// TV format.
    Short(u16),
    /// TLV format.
    Long(Vec<u8>),
}

/// Key Exchange payload body (RFC 7296 section 3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExchange {
    /// Key exchange method number ([`KeId`]).
    pub group: u16,
    /// Public value.
    pub data: Vec<u8>,
}

/// Identification payload body (RFC 7296 section 3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    /// ID type.
    pub id_type: IdType,
    /// Identification data.
    pub data: Vec<u8>,
}

impl Identification {
    /// The payload body as on the wire: ID type, three zero reserved octets,
    /// and the data. This is `IDx'` of RFC 7296 section 2.15.
    pub fn body_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.data.len());
        v.extend_from_slice(&[self.id_type.0, 0, 0, 0]);
        v.extend_from_slice(&self.data);
        v
    }
}

/// Certificate or Certificate Request body (RFC 7296 sections 3.6 and 3.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Encoding.
    pub encoding: CertEncoding,
    /// Certificate data, or for CERTREQ the Certification Authority field.
    pub data: Vec<u8>,
}

/// Authentication payload body (RFC 7296 section 3.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// Method.
    pub method: AuthMethod,
    /// Authentication data.
    pub data: Vec<u8>,
}

/// Notify payload body (RFC 7296 section 3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// Protocol the SPI belongs to (NONE when there is no SPI).
    pub protocol: ProtocolId,
    /// SPI, possibly empty.
    pub spi: Vec<u8>,
    /// Notify message type.
    pub notify_type: NotifyType,
    /// Notification data.
    pub data: Vec<u8>,
}

impl Notify {
    /// A notification without SPI (protocol 0).
    pub fn new(t: NotifyType, data: Vec<u8>) -> Self {
        Notify {
            protocol: ProtocolId::NONE,
            spi: Vec::new(),
            notify_type: t,
            data,
        }
    }
}

/// Delete payload body (RFC 7296 section 3.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// Protocol of the SAs deleted.
    pub protocol: ProtocolId,
    /// SPI size: 0 for IKE, 4 for AH/ESP. Encoded as given; every SPI must
    /// have this length for the message to be well-formed.
    pub spi_size: u8,
    /// SPIs (none for IKE).
    pub spis: Vec<Vec<u8>>,
}

/// A traffic selector (RFC 7296 section 3.13.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficSelector {
    /// Selector type.
    pub ts_type: TsType,
    /// IP protocol (0 = any).
    pub ip_protocol: u8,
    /// First port.
    pub start_port: u16,
    /// Last port.
    pub end_port: u16,
    /// Start address (4 or 16 octets; for an unknown `ts_type` the whole raw
    /// remainder after the ports).
    pub start_addr: Vec<u8>,
    /// End address (empty for an unknown `ts_type`).
    pub end_addr: Vec<u8>,
}

impl TrafficSelector {
    /// A selector covering `start..=end` and the port range `ports`.
    ///
    /// Never panics. The family is taken from `start`. When `end` is of the
    /// other family, it is replaced: an IPv4-mapped IPv6 `end` with an IPv4
    /// `start` becomes that IPv4 address; any other mix gives the
    /// single-address range `start..=start` (never a wider range than asked).
    pub fn from_range(proto: u8, ports: (u16, u16), start: IpAddr, end: IpAddr) -> Self {
        let (ts_type, s, e) = match (start, end) {
            (IpAddr::V4(s), IpAddr::V4(e)) => (
                TsType::IPV4_ADDR_RANGE,
                s.octets().to_vec(),
                e.octets().to_vec(),
            ),
            (IpAddr::V4(s), IpAddr::V6(e)) => {
                let e = e.to_ipv4_mapped().unwrap_or(s);
                (
                    TsType::IPV4_ADDR_RANGE,
                    s.octets().to_vec(),
                    e.octets().to_vec(),
                )
            }
            (IpAddr::V6(s), IpAddr::V6(e)) => (
                TsType::IPV6_ADDR_RANGE,
                s.octets().to_vec(),
                e.octets().to_vec(),
            ),
            (IpAddr::V6(s), IpAddr::V4(_)) => (
                TsType::IPV6_ADDR_RANGE,
                s.octets().to_vec(),
                s.octets().to_vec(),
            ),
        };
        TrafficSelector {
            ts_type,
            ip_protocol: proto,
            start_port: ports.0,
            end_port: ports.1,
            start_addr: s,
            end_addr: e,
        }
    }

    /// The address range, when the type is a known IP range and both
    /// addresses have the matching size.
    pub fn addr_range(&self) -> Option<(IpAddr, IpAddr)> {
        match self.ts_type {
            TsType::IPV4_ADDR_RANGE => {
                let s: [u8; 4] = self.start_addr.as_slice().try_into().ok()?;
                let e: [u8; 4] = self.end_addr.as_slice().try_into().ok()?;
                Some((Ipv4Addr::from(s).into(), Ipv4Addr::from(e).into()))
            }
            TsType::IPV6_ADDR_RANGE => {
                let s: [u8; 16] = self.start_addr.as_slice().try_into().ok()?;
                let e: [u8; 16] = self.end_addr.as_slice().try_into().ok()?;
                Some((Ipv6Addr::from(s).into(), Ipv6Addr::from(e).into()))
            }
            _ => None,
        }
    }
}

/// Encrypted and Authenticated payload (RFC 7296 section 3.14), opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    /// Type of the first payload inside (the generic header's Next Payload).
    pub first_inner: PayloadType,
    /// IV || ciphertext || ICV.
    pub data: Vec<u8>,
}

/// Encrypted and Authenticated Fragment payload (RFC 7383 section 2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedFragment {
    /// Next Payload of the generic header: the first inner payload type in
    /// fragment 1, zero in the others.
    pub first_inner: PayloadType,
    /// Fragment Number, 1-based.
    pub number: u16,
    /// Total Fragments.
    pub total: u16,
    /// IV || ciphertext || ICV.
    pub data: Vec<u8>,
}

/// Configuration payload body (RFC 7296 section 3.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// CFG type ([`Configuration::REQUEST`] etc.).
    pub cfg_type: u8,
    /// Attributes in order.
    pub attributes: Vec<ConfigAttribute>,
}

impl Configuration {
    /// CFG_REQUEST.
    pub const REQUEST: u8 = 1;
    /// CFG_REPLY.
    pub const REPLY: u8 = 2;
    /// CFG_SET.
    pub const SET: u8 = 3;
    /// CFG_ACK.
    pub const ACK: u8 = 4;
}

/// A configuration attribute (RFC 7296 section 3.15.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigAttribute {
    /// Attribute type (15 bits; the reserved top bit is dropped on parse
    /// and sent as zero).
    pub attr_type: u16,
    /// Value.
    pub value: Vec<u8>,
}

impl ConfigAttribute {
    /// INTERNAL_IP4_ADDRESS.
    pub const INTERNAL_IP4_ADDRESS: u16 = 1;
    /// INTERNAL_IP4_NETMASK.
    pub const INTERNAL_IP4_NETMASK: u16 = 2;
    /// INTERNAL_IP4_DNS.
    pub const INTERNAL_IP4_DNS: u16 = 3;
    /// INTERNAL_IP6_ADDRESS.
    pub const INTERNAL_IP6_ADDRESS: u16 = 8;
    /// INTERNAL_IP6_DNS.
    pub const INTERNAL_IP6_DNS: u16 = 10;
}
