//! Userspace ESP engine (RFC 4303) with AES-GCM (RFC 4106), AES-CBC with
//! HMAC-SHA2 (RFC 3602, RFC 4868) and UDP encapsulation (RFC 3948).
//!
//! Packets are processed in caller-provided buffers; nothing is allocated
//! per packet.
//!
//! ```
//! use negotiator_crypto::{Encr, Secret, default_provider};
//! use negotiator_esp::EspSa;
//! use negotiator_sadb::SaKeys;
//!
//! let provider = default_provider();
//! let keys = SaKeys {
//!     encr: Encr::AesGcm16_128,
//!     enc_key: Secret::new(vec![7; 20]),
//!     integ: None,
//!     integ_key: Secret::new(Vec::new()),
//! };
//! let mut tx = EspSa::outbound(0x1000, &keys, provider.as_ref())?;
//! let mut rx = EspSa::inbound(0x1000, &keys, 64, provider.as_ref())?;
//! let inner = b"an inner IPv4 packet";
//! let mut buf = vec![0u8; inner.len() + tx.overhead(inner.len())];
//! let n = tx.encapsulate(inner, 4, provider.as_ref(), &mut buf)?;
//! let opened = rx.decapsulate(&mut buf[..n])?;
//! assert_eq!(&buf[opened.payload], inner);
//! assert_eq!(opened.next_header, 4);
//! # Ok::<(), negotiator_esp::EspError>(())
//! ```

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
