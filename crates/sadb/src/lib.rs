//! Security Association Database (RFC 4301 §4.4.2) for Child SAs, and the
//! [`Engine`] interface through which packet engines (kernel XFRM, the
//! userspace ESP engine, external engines) receive installed SAs.
//!
//! The database is sans-IO: every time-dependent call takes the current
//! [`std::time::Instant`]; the crate never reads the clock.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::Instant;
//! use negotiator_crypto::{Encr, Secret};
//! use negotiator_sadb::*;
//!
//! let now = Instant::now();
//! let mut db = SaDb::new();
//! let dest = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
//! // Outbound traffic without an SA: the caller must negotiate one.
//! let AcquireResult::Start { .. } = db.acquire(dest, now) else { unreachable!() };
//! assert_eq!(db.acquire(dest, now), AcquireResult::Pending);
//!
//! let mut rng = |b: &mut [u8]| b.copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
//! let spi_in = db.allocate_spi(&mut rng);
//! let keys = |fill| SaKeys {
//!     encr: Encr::AesGcm16_128,
//!     enc_key: Secret::new(vec![fill; 20]),
//!     integ: None,
//!     integ_key: Secret::new(Vec::new()),
//! };
//! db.install(
//!     SaParams {
//!         ike_sa: 1,
//!         spi_in,
//!         spi_out: 0xc001_d00d,
//!         local: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
//!         remote: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
//!         encap: None,
//!         mode: Mode::Tunnel,
//!         local_ts: vec![TsRange::any_v4()],
//!         remote_ts: vec![TsRange::subnet(dest, 24).unwrap()],
//!         inbound: keys(1),
//!         outbound: keys(2),
//!         lifetime: Lifetime { soft_secs: Some(3000), hard_secs: Some(3600), ..Lifetime::default() },
//!         replay_window: 64,
//!     },
//!     now,
//! )?;
//! assert_eq!(db.acquire(dest, now), AcquireResult::Established { spi_out: 0xc001_d00d });
//! assert_eq!(db.lookup_inbound(0x1234_5678).map(|e| e.spi_out()), Some(0xc001_d00d));
//! # Ok::<(), SadbError>(())
//! ```

#![warn(missing_docs)]

mod db;
mod types;

pub use db::{DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_MAX_PENDING_ACQUIRES, SaDb};
pub use types::{
    AcquireResult, ChildSaEntry, Engine, EngineError, Lifetime, Mode, SaKeys, SaParams, SaState,
    SaStats, SadbError, SadbEvent, TsRange, UdpEncap,
};
