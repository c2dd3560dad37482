//! Configuration of an IKEv2 endpoint: identities, credentials, proposals, timers.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use negotiator_crypto::{Encr, Group, Integ, Prf, PrivateKey, Secret};
use negotiator_sadb::{Lifetime, TsRange};
use negotiator_wire::v2::{IdType, Identification};

/// An IKE identity (RFC 7296 §3.5).
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The ID type.
    pub id_type: IdType,
    /// The identification data as carried on the wire.
    pub data: Vec<u8>,
}

impl Identity {
    /// An `ID_DER_ASN1_DN` identity from a DER-encoded Name.
    pub fn der_dn(der: Vec<u8>) -> Self {
        Self {
            id_type: IdType::DER_ASN1_DN,
            data: der,
        }
    }

    /// An `ID_FQDN` identity.
    pub fn fqdn(name: &str) -> Self {
        Self {
            id_type: IdType::FQDN,
            data: name.as_bytes().to_vec(),
        }
    }

    /// An `ID_IPV4_ADDR` or `ID_IPV6_ADDR` identity.
    pub fn ip(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Self {
                id_type: IdType::IPV4_ADDR,
                data: a.octets().to_vec(),
            },
            IpAddr::V6(a) => Self {
                id_type: IdType::IPV6_ADDR,
                data: a.octets().to_vec(),
            },
        }
    }

    /// An `ID_RFC822_ADDR` identity.
    pub fn email(addr: &str) -> Self {
        Self {
            id_type: IdType::RFC822_ADDR,
            data: addr.as_bytes().to_vec(),
        }
    }

    pub(crate) fn to_payload(&self) -> Identification {
        Identification {
            id_type: self.id_type,
            data: self.data.clone(),
        }
    }

    pub(crate) fn from_payload(id: &Identification) -> Self {
        Self {
            id_type: id.id_type,
            data: id.data.clone(),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id_type {
            IdType::DER_ASN1_DN => f.write_str(&negotiator_pki::name_to_string(&self.data)),
            IdType::FQDN | IdType::RFC822_ADDR => f.write_str(&String::from_utf8_lossy(&self.data)),
            IdType::IPV4_ADDR if self.data.len() == 4 => {
                let mut o = [0u8; 4];
                o.copy_from_slice(&self.data);
                write!(f, "{}", std::net::Ipv4Addr::from(o))
            }
            IdType::IPV6_ADDR if self.data.len() == 16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&self.data);
                write!(f, "{}", std::net::Ipv6Addr::from(o))
            }
            other => {
                write!(f, "{other:?}:")?;
                for b in &self.data {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({self})")
    }
}

/// How this endpoint proves its identity.
#[derive(Clone)]
pub enum LocalAuth {
    /// A pre-shared key (auth method 2).
    Psk(Secret),
    /// A private key and its certificate chain (leaf first, DER).
    Certificate {
        /// The private key.
        key: Arc<PrivateKey>,
        /// Certificate chain, leaf first.
        chain: Vec<Vec<u8>>,
    },
}

impl fmt::Debug for LocalAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Psk(_) => f.write_str("Psk(..)"),
            Self::Certificate { key, chain } => f
                .debug_struct("Certificate")
                .field("key", &key.key_type())
                .field("chain_len", &chain.len())
                .finish(),
        }
    }
}

/// How the peer must prove its identity.
#[derive(Clone)]
pub enum RemoteAuth {
    /// A pre-shared key.
    Psk(Secret),
    /// A certificate that validates against one of these trust anchors (DER).
    Certificate {
        /// Trust anchors (DER certificates), possibly of several CA domains.
        anchors: Vec<Vec<u8>>,
        /// CRLs (DER); when any are given, every certificate of the path must have a
        /// known, unrevoked status (RFC 5280 §6.3).
        crls: Vec<Vec<u8>>,
    },
}

impl fmt::Debug for RemoteAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Psk(_) => f.write_str("Psk(..)"),
            Self::Certificate { anchors, crls } => f
                .debug_struct("Certificate")
                .field("anchors", &anchors.len())
                .field("crls", &crls.len())
                .finish(),
        }
    }
}

/// One IKE SA proposal: every combination of the listed algorithms is acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeProposal {
    /// Encryption algorithms, in order of preference.
    pub encr: Vec<Encr>,
    /// Integrity algorithms (empty for AEAD-only proposals).
    pub integ: Vec<Integ>,
    /// Pseudo-random functions.
    pub prf: Vec<Prf>,
    /// Key exchange groups; the first one is used for the initial KE payload.
    pub groups: Vec<Group>,
}

/// One ESP proposal for Child SAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspProposal {
    /// Encryption algorithms.
    pub encr: Vec<Encr>,
    /// Integrity algorithms (empty for AEAD).
    pub integ: Vec<Integ>,
}

/// Retransmission timing (RFC 7296 §2.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetransmitConfig {
    /// Timeout before the first retransmission.
    pub initial_timeout: Duration,
    /// Multiplier applied after each retransmission.
    pub backoff: f64,
    /// Retransmissions before the exchange (and the IKE SA) is given up.
    pub max_retransmits: u32,
}

impl Default for RetransmitConfig {
    fn default() -> Self {
        // strongSwan's defaults: 4 s, x1.8, 5 retransmits (about 165 s in all).
        Self {
            initial_timeout: Duration::from_secs(4),
            backoff: 1.8,
            max_retransmits: 5,
        }
    }
}

/// Configuration of one endpoint (one local identity and policy).
#[derive(Debug, Clone)]
pub struct Config {
    /// Our identity.
    pub local_id: Identity,
    /// The identity the peer must present, if fixed.
    pub remote_id: Option<Identity>,
    /// Our credential.
    pub local_auth: LocalAuth,
    /// What we accept from the peer.
    pub remote_auth: RemoteAuth,
    /// IKE SA proposals, in order of preference.
    pub ike_proposals: Vec<IkeProposal>,
    /// ESP proposals, in order of preference.
    pub esp_proposals: Vec<EspProposal>,
    /// Our side's traffic selectors.
    pub local_ts: Vec<TsRange>,
    /// The peer's traffic selectors.
    pub remote_ts: Vec<TsRange>,
    /// Retransmission timing.
    pub retransmit: RetransmitConfig,
    /// Number of half-open IKE SAs above which a COOKIE is demanded (RFC 7296 §2.6).
    pub cookie_threshold: usize,
    /// Half-open IKE SAs are dropped after this long.
    pub half_open_timeout: Duration,
    /// Send a liveness check when nothing was received for this long (None: never).
    pub dpd_interval: Option<Duration>,
    /// Child SA lifetimes handed to the SA database.
    pub child_lifetime: Lifetime,
    /// Anti-replay window size for Child SAs.
    pub replay_window: u32,
    /// Whether Child SAs use UDP encapsulation (RFC 3948) even without a NAT.
    pub force_udp_encap: bool,
    /// Opt-in export of IKE SA keys for decrypting captures (None: off, the default).
    pub key_log: Option<Arc<dyn KeyLog>>,
}

/// Receives IKE SA keys so that a capture can be decrypted (Wireshark's IKEv2 decryption
/// table). Off unless configured: whoever holds these keys can read and forge the IKE SA.
pub trait KeyLog: Send + Sync + fmt::Debug {
    /// Called once per IKE SA when its keys are derived.
    #[allow(clippy::too_many_arguments)]
    fn ike_sa_keys(
        &self,
        spi_i: &[u8; 8],
        spi_r: &[u8; 8],
        encr: Encr,
        integ: Option<Integ>,
        sk_ei: &[u8],
        sk_er: &[u8],
        sk_ai: &[u8],
        sk_ar: &[u8],
    );
}

/// Formats one line of Wireshark's `ikev2_decryption_table`.
#[allow(clippy::too_many_arguments)]
pub fn wireshark_ikev2_line(
    spi_i: &[u8; 8],
    spi_r: &[u8; 8],
    encr: Encr,
    integ: Option<Integ>,
    sk_ei: &[u8],
    sk_er: &[u8],
    sk_ai: &[u8],
    sk_ar: &[u8],
) -> String {
    let h = crate::endpoint::hex;
    let e = match encr {
        Encr::AesCbc128 => "AES-CBC-128 [RFC3602]",
        Encr::AesCbc256 => "AES-CBC-256 [RFC3602]",
        Encr::AesGcm16_128 => "AES-GCM-128 with 16 octet ICV [RFC5282]",
        Encr::AesGcm16_256 => "AES-GCM-256 with 16 octet ICV [RFC5282]",
    };
    let i = match integ {
        None => "NONE [RFC4306]",
        Some(Integ::HmacSha256_128) => "HMAC_SHA2_256_128 [RFC4868]",
        Some(Integ::HmacSha384_192) => "HMAC_SHA2_384_192 [RFC4868]",
        Some(Integ::HmacSha512_256) => "HMAC_SHA2_512_256 [RFC4868]",
    };
    format!(
        "{},{},{},{},\"{e}\",{},{},\"{i}\"",
        h(spi_i),
        h(spi_r),
        h(sk_ei),
        h(sk_er),
        h(sk_ai),
        h(sk_ar)
    )
}

/// The value of the demo-friendly default lifetime for Child SAs.
pub fn default_child_lifetime() -> Lifetime {
    Lifetime {
        soft_secs: Some(3000),
        hard_secs: Some(3600),
        soft_bytes: None,
        hard_bytes: None,
        soft_packets: None,
        hard_packets: None,
    }
}
