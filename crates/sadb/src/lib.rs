//! Security Association Database (RFC 4301 §4.4.2) for Child SAs, and the
//! [`Engine`] interface through which packet engines (kernel XFRM, the
//! userspace ESP engine, external engines) receive installed SAs.
//!
//! The database is sans-IO: every time-dependent call takes the current
//! [`std::time::Instant`]; the crate never reads the clock.

#![warn(missing_docs)]

mod db;
mod types;

pub use db::{DEFAULT_ACQUIRE_TIMEOUT, SaDb};
pub use types::{
    AcquireResult, ChildSaEntry, Engine, EngineError, Lifetime, Mode, SaKeys, SaParams, SaState,
    SaStats, SadbError, SadbEvent, TsRange, UdpEncap,
};
