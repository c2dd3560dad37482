//! Plain data types describing a Child SA.

use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use negotiator_crypto::{Encr, Integ, Secret};

/// A traffic selector: an address range plus protocol and port range
/// (RFC 7296 §3.13.1). Both addresses must be of the same family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TsRange {
    /// First address of the range (inclusive).
    pub start: IpAddr,
    /// Last address of the range (inclusive).
    pub end: IpAddr,
    /// IP protocol number; 0 means any protocol.
    pub protocol: u8,
    /// First port (inclusive).
    pub start_port: u16,
    /// Last port (inclusive).
    pub end_port: u16,
}

impl TsRange {
    /// A range from `start` to `end`, any protocol, all ports.
    pub fn new(start: IpAddr, end: IpAddr) -> Self {
        TsRange {
            start,
            end,
            protocol: 0,
            start_port: 0,
            end_port: u16::MAX,
        }
    }

    /// A single address, any protocol, all ports.
    pub fn host(addr: IpAddr) -> Self {
        TsRange::new(addr, addr)
    }

    /// The subnet `addr/prefix_len`, any protocol, all ports; `None` when
    /// the prefix is longer than the address (32 / 128 bits).
    pub fn subnet(addr: IpAddr, prefix_len: u8) -> Option<Self> {
        match addr {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                let host_mask = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                if prefix_len > 32 {
                    return None;
                }
                Some(TsRange::new(
                    IpAddr::V4((bits & !host_mask).into()),
                    IpAddr::V4((bits | host_mask).into()),
                ))
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                let host_mask = u128::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                if prefix_len > 128 {
                    return None;
                }
                Some(TsRange::new(
                    IpAddr::V6((bits & !host_mask).into()),
                    IpAddr::V6((bits | host_mask).into()),
                ))
            }
        }
    }

    /// Every IPv4 address, any protocol, all ports.
    pub fn any_v4() -> Self {
        TsRange::new(
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V4(std::net::Ipv4Addr::BROADCAST),
        )
    }

    /// Every IPv6 address, any protocol, all ports.
    pub fn any_v6() -> Self {
        TsRange::new(
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            IpAddr::V6(u128::MAX.into()),
        )
    }

    /// True when both ends have the same family, `start <= end` and
    /// `start_port <= end_port`.
    pub fn is_valid(&self) -> bool {
        self.start.is_ipv4() == self.end.is_ipv4()
            && self.start <= self.end
            && self.start_port <= self.end_port
    }

    /// True when the range is exactly one address.
    pub fn is_host(&self) -> bool {
        self.start == self.end
    }

    /// True when `addr` lies in the address range (families must match).
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.start.is_ipv4() && self.start <= addr && addr <= self.end
    }

    /// True when `addr`, `protocol` and `port` all match. A selector for
    /// protocol 0 matches any protocol; ports are only compared when the
    /// selector names a protocol.
    pub fn matches(&self, addr: IpAddr, protocol: u8, port: u16) -> bool {
        self.contains(addr)
            && (self.protocol == 0
                || (self.protocol == protocol && self.start_port <= port && port <= self.end_port))
    }
}

/// IPsec mode of a Child SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Tunnel mode: the payload is a whole inner IP packet.
    Tunnel,
    /// Transport mode: the payload is the upper-layer protocol data.
    Transport,
}

/// UDP encapsulation of ESP (RFC 3948) ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpEncap {
    /// Our UDP port (normally 4500).
    pub local_port: u16,
    /// The peer's UDP port (NAT-mapped).
    pub remote_port: u16,
}

/// Keys and algorithms for one direction of a Child SA. `Debug` never shows key material.
#[derive(Clone)]
pub struct SaKeys {
    /// Encryption algorithm (AEAD algorithms carry their own ICV).
    pub encr: Encr,
    /// Encryption keying material (GCM: key || 4-octet salt).
    pub enc_key: Secret,
    /// Integrity algorithm; `None` exactly when `encr` is an AEAD.
    pub integ: Option<Integ>,
    /// Integrity key (empty when `integ` is `None`).
    pub integ_key: Secret,
}

impl fmt::Debug for SaKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaKeys")
            .field("encr", &self.encr)
            .field("enc_key", &"<redacted>")
            .field("integ", &self.integ)
            .field("integ_key", &"<redacted>")
            .finish()
    }
}

impl SaKeys {
    /// Checks that key lengths match the algorithms and that exactly the
    /// non-AEAD ciphers have an integrity algorithm.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.enc_key.len() != self.encr.key_len() {
            return Err("encryption key length does not match the algorithm");
        }
        match (self.encr.is_aead(), self.integ) {
            (true, None) => {
                if !self.integ_key.is_empty() {
                    return Err("AEAD cipher with an integrity key");
                }
            }
            (true, Some(_)) => return Err("AEAD cipher combined with an integrity algorithm"),
            (false, None) => return Err("non-AEAD cipher without an integrity algorithm"),
            (false, Some(i)) => {
                if self.integ_key.len() != i.key_len() {
                    return Err("integrity key length does not match the algorithm");
                }
            }
        }
        Ok(())
    }
}

/// Soft and hard lifetimes (RFC 4301 §4.4.2.1). `None` means unlimited.
///
/// Byte and packet limits apply to each direction separately (each
/// direction has its own key): a limit is reached when either the inbound
/// or the outbound count reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifetime {
    /// Seconds after installation at which a rekey should start.
    pub soft_secs: Option<u64>,
    /// Seconds after installation at which the SA is removed.
    pub hard_secs: Option<u64>,
    /// Octets after which a rekey should start.
    pub soft_bytes: Option<u64>,
    /// Octets after which the SA is removed.
    pub hard_bytes: Option<u64>,
    /// Packets after which a rekey should start.
    pub soft_packets: Option<u64>,
    /// Packets after which the SA is removed.
    pub hard_packets: Option<u64>,
}

impl Lifetime {
    /// Rejects a soft limit that is larger than its hard limit.
    pub fn validate(&self) -> Result<(), &'static str> {
        let pairs = [
            (self.soft_secs, self.hard_secs),
            (self.soft_bytes, self.hard_bytes),
            (self.soft_packets, self.hard_packets),
        ];
        for (soft, hard) in pairs {
            if let (Some(s), Some(h)) = (soft, hard)
                && s > h
            {
                return Err("soft lifetime larger than hard lifetime");
            }
        }
        Ok(())
    }
}

/// Everything negotiated for one Child SA (both directions).
#[derive(Debug, Clone)]
pub struct SaParams {
    /// Opaque identifier of the owning IKE SA.
    pub ike_sa: u64,
    /// SPI we chose; the peer puts it in packets it sends us.
    pub spi_in: u32,
    /// SPI the peer chose; we put it in packets we send.
    pub spi_out: u32,
    /// Our outer address.
    pub local: IpAddr,
    /// The peer's outer address.
    pub remote: IpAddr,
    /// UDP encapsulation (NAT traversal), if any.
    pub encap: Option<UdpEncap>,
    /// Tunnel or transport mode.
    pub mode: Mode,
    /// Our traffic selectors.
    pub local_ts: Vec<TsRange>,
    /// The peer's traffic selectors (destinations of outbound traffic).
    pub remote_ts: Vec<TsRange>,
    /// Keys for traffic from the peer.
    pub inbound: SaKeys,
    /// Keys for traffic to the peer.
    pub outbound: SaKeys,
    /// Lifetimes.
    pub lifetime: Lifetime,
    /// Anti-replay window size: 0 disables anti-replay, else 32..=65536.
    pub replay_window: u32,
}

/// Life-cycle state of an installed SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaState {
    /// In use, no lifetime reached.
    Active,
    /// A soft lifetime was reached; the SA still carries traffic until
    /// replaced or hard-expired.
    SoftExpired,
}

/// Traffic counters of an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaStats {
    /// Packets received.
    pub packets_in: u64,
    /// Packets sent.
    pub packets_out: u64,
    /// Payload octets received.
    pub bytes_in: u64,
    /// Payload octets sent.
    pub bytes_out: u64,
    /// Packets dropped by the anti-replay check.
    pub replay_drops: u64,
    /// Packets dropped because their ICV did not verify.
    pub auth_failures: u64,
    /// When the last packet was received.
    pub last_in: Option<Instant>,
    /// When the last packet was sent.
    pub last_out: Option<Instant>,
}

/// An installed Child SA.
#[derive(Debug, Clone)]
pub struct ChildSaEntry {
    /// The negotiated parameters.
    pub params: SaParams,
    /// When [`crate::SaDb::install`] accepted it.
    pub installed_at: Instant,
    /// Current state.
    pub state: SaState,
    /// Traffic counters.
    pub stats: SaStats,
    /// Installation order (strictly increasing across the database; the
    /// newest SA has the largest value).
    pub serial: u64,
}

impl ChildSaEntry {
    /// Our SPI (index of the entry).
    pub fn spi_in(&self) -> u32 {
        self.params.spi_in
    }

    /// The peer's SPI.
    pub fn spi_out(&self) -> u32 {
        self.params.spi_out
    }

    /// True when one of the remote traffic selectors covers `destination`.
    pub fn covers(&self, destination: IpAddr) -> bool {
        self.params
            .remote_ts
            .iter()
            .any(|ts| ts.contains(destination))
    }
}

/// Result of [`crate::SaDb::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcquireResult {
    /// An SA exists; send with this outbound SPI.
    Established {
        /// The peer's SPI of the SA to use.
        spi_out: u32,
    },
    /// A negotiation for this destination is already under way.
    Pending,
    /// No SA and no negotiation: the caller must negotiate one and then call
    /// [`crate::SaDb::install`] or [`crate::SaDb::acquire_failed`].
    Start {
        /// Identifier of this acquire (also in [`SadbEvent::Acquire`]).
        acquire_id: u64,
    },
}

/// Notifications for the IKE layer and the packet engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SadbEvent {
    /// Outbound traffic needs an SA that does not exist yet.
    Acquire {
        /// Identifier returned in [`AcquireResult::Start`].
        acquire_id: u64,
        /// The destination that triggered it.
        destination: IpAddr,
    },
    /// An SA was installed.
    Installed {
        /// Our SPI.
        spi_in: u32,
        /// The peer's SPI.
        spi_out: u32,
    },
    /// A soft lifetime was reached: rekey.
    SoftExpired {
        /// Our SPI.
        spi_in: u32,
    },
    /// A hard lifetime was reached; the SA has been removed (a
    /// [`SadbEvent::Deleted`] follows).
    HardExpired {
        /// Our SPI.
        spi_in: u32,
    },
    /// The SA was removed from the database (the engine should drop it).
    Deleted {
        /// Our SPI.
        spi_in: u32,
        /// The peer's SPI.
        spi_out: u32,
    },
    /// An acquire ended without an SA (explicit failure or timeout).
    AcquireFailed {
        /// Identifier of the failed acquire.
        acquire_id: u64,
        /// Its destination.
        destination: IpAddr,
    },
}

/// Errors of [`crate::SaDb`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SadbError {
    /// The inbound SPI is already installed.
    DuplicateSpi(u32),
    /// The peer already uses this outbound SPI for another SA to the same address.
    DuplicateOutboundSpi(u32),
    /// SPI in the reserved range 0..=255 (RFC 4303 §2.1).
    ReservedSpi(u32),
    /// Inconsistent parameters.
    InvalidParams(&'static str),
    /// Keys do not match their algorithms.
    InvalidKeys(&'static str),
}

impl fmt::Display for SadbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SadbError::DuplicateSpi(s) => write!(f, "SPI {s:#010x} already installed"),
            SadbError::DuplicateOutboundSpi(s) => {
                write!(f, "outbound SPI {s:#010x} already used to this peer")
            }
            SadbError::ReservedSpi(s) => write!(f, "SPI {s} is reserved"),
            SadbError::InvalidParams(m) => write!(f, "invalid SA parameters: {m}"),
            SadbError::InvalidKeys(m) => write!(f, "invalid SA keys: {m}"),
        }
    }
}

impl std::error::Error for SadbError {}

/// Errors a packet engine reports from [`Engine::install`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineError {
    /// An SA with this SPI is already installed in the engine.
    DuplicateSpi(u32),
    /// The engine cannot handle this SA (algorithm, mode, ...).
    Unsupported(&'static str),
    /// The SA's keys were rejected.
    InvalidKeys(&'static str),
    /// Any other backend failure.
    Backend(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::DuplicateSpi(s) => write!(f, "SPI {s:#010x} already in the engine"),
            EngineError::Unsupported(m) => write!(f, "unsupported by the engine: {m}"),
            EngineError::InvalidKeys(m) => write!(f, "keys rejected by the engine: {m}"),
            EngineError::Backend(m) => write!(f, "engine failure: {m}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// A packet engine that applies installed SAs: the kernel (XFRM), the
/// userspace ESP engine, or an engine behind the C API.
pub trait Engine {
    /// Starts processing with `sa` (both directions).
    fn install(&mut self, sa: &ChildSaEntry) -> Result<(), EngineError>;
    /// Stops processing the SA pair; unknown SPIs are ignored.
    fn remove(&mut self, spi_in: u32, spi_out: u32);
}
