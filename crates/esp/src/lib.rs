//! Userspace ESP engine (RFC 4303) with AES-GCM (RFC 4106), AES-CBC with
//! HMAC-SHA2 (RFC 3602, RFC 4868) and UDP encapsulation (RFC 3948).
//!
//! Packets are processed in caller-provided buffers; nothing is allocated
//! per packet.

#![warn(missing_docs)]

mod engine;
mod error;
mod replay;
mod sa;
mod udp;

pub use engine::EspEngine;
pub use error::EspError;
pub use replay::{
    DEFAULT_WINDOW, InvalidWindowSize, MAX_WINDOW, MIN_WINDOW, ReplayError, ReplayWindow,
};
pub use sa::{Decapsulated, EspSa, EspStats};
pub use udp::{UdpEncapKind, classify_udp_encap};
