//! Userspace ESP engine (RFC 4303) with AES-GCM (RFC 4106), AES-CBC with
//! HMAC-SHA2 (RFC 3602, RFC 4868) and UDP encapsulation (RFC 3948).

mod replay;
mod udp;

pub use replay::{
    DEFAULT_WINDOW, InvalidWindowSize, MAX_WINDOW, MIN_WINDOW, ReplayError, ReplayWindow,
};
pub use udp::{UdpEncapKind, classify_udp_encap};
