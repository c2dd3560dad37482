//! Sans-IO IKEv2 protocol core (RFC 7296).
//!
//! [`Endpoint`] holds every IKE SA of one local configuration. It never reads a clock and
//! never touches a socket: the caller hands in datagrams and the current time and polls
//! datagrams, timers and events out, in the manner of quinn-proto. Child SAs come out as
//! [`Event::ChildSaEstablished`] carrying the parameters for the SA database.
//!
//! What is implemented: IKE_SA_INIT and IKE_AUTH as initiator and responder (certificate
//! signatures per RFC 7427 and RFC 4754, PSK), the first Child SA with traffic selector
//! narrowing, INFORMATIONAL (Child SA and IKE SA delete, liveness checks), retransmission
//! with backoff and replay of cached responses (§2.1), INVALID_KE_PAYLOAD retry (§1.2),
//! COOKIE above a half-open threshold (§2.6), NAT detection (§2.23), unknown critical
//! payload handling (§2.5), port float to the NAT-T port (§2.23, with
//! [`Endpoint::set_natt_ports`]), reassembly of received fragments (RFC 7383; we announce
//! IKEV2_FRAGMENTATION_SUPPORTED but do not fragment what we send yet). CREATE_CHILD_SA
//! (rekeying) is issue 3; until then a CREATE_CHILD_SA request is answered with
//! NO_ADDITIONAL_SAS.

#![forbid(unsafe_code)]

mod auth;
mod config;
mod endpoint;
mod error;
mod frag;
pub mod proposal;
mod sk;
pub mod ts;

pub use config::{
    Config, EspProposal, Identity, IkeProposal, KeyLog, LocalAuth, RemoteAuth, RetransmitConfig,
    default_child_lifetime, wireshark_ikev2_line,
};
pub use endpoint::{
    Endpoint, Event, IkeSaId, IkeSaInfo, IkeState, Role, SpiAllocator, Transmit, hex,
};
pub use error::ProtoError;
pub use proposal::{EspSuite, IkeSuite};
