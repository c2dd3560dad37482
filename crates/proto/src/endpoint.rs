//! The IKEv2 endpoint: every IKE SA of one local configuration, driven by the caller.
//!
//! The caller passes datagrams in ([`Endpoint::handle_datagram`]), passes time in
//! ([`Endpoint::handle_timeout`]) and polls datagrams ([`Endpoint::poll_transmit`]), the next
//! deadline ([`Endpoint::poll_timeout`]) and events ([`Endpoint::poll_event`]) out. Nothing
//! here reads a clock or touches a socket.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use negotiator_crypto::{
    CryptoProvider, Group, KeyExchange, Secret,
    ikev2::{child_keymat, derive_ike_sa_keys, rekey_skeyseed, skeyseed},
};
use negotiator_sadb::{Mode, SaKeys, SaParams, TsRange, UdpEncap};
use negotiator_wire::v2::{
    AuthMethod, CertEncoding, Certificate, Delete, ExchangeType, Flags, Header, IdType,
    Identification, KeyExchange as KePayload, Message, Notify, NotifyType, Payload, PayloadBody,
    PayloadType, ProtocolId, Transform, TransformType,
};
use subtle::ConstantTimeEq;
use tracing::{debug, info, trace, warn};

use crate::auth;
use crate::config::{Config, Identity, LocalAuth, RemoteAuth};
use crate::error::ProtoError;
use crate::proposal::{self, EspSuite, IkeSuite};
use crate::sk::SkKeys;
use crate::ts;

/// Allocates inbound SPIs for Child SAs; implemented by the SA database.
pub trait SpiAllocator {
    /// A fresh, unique, random SPI (never 0..=255), reserved until installed or released.
    fn allocate_spi(&mut self) -> u32;
    /// Gives back an SPI that will not be installed.
    fn release_spi(&mut self, spi: u32);
}

/// Identifies an IKE SA inside one endpoint: our own IKE SPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IkeSaId(pub u64);

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Our address it must leave from.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// The IKE message.
    pub data: Vec<u8>,
}

/// Something the caller must know about.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// An IKE SA was authenticated.
    IkeSaEstablished {
        /// The SA.
        id: IkeSaId,
    },
    /// An IKE SA could not be set up or failed; it is gone.
    IkeSaFailed {
        /// The SA.
        id: IkeSaId,
        /// One line a person can act on.
        reason: String,
    },
    /// An IKE SA was deleted (by us or by the peer); its Child SAs are deleted too.
    IkeSaDeleted {
        /// The SA.
        id: IkeSaId,
    },
    /// A Child SA is ready for the SA database.
    ChildSaEstablished {
        /// The IKE SA it belongs to.
        ike: IkeSaId,
        /// What to install.
        params: Box<SaParams>,
    },
    /// A Child SA could not be negotiated (the IKE SA stays up).
    ChildSaFailed {
        /// The IKE SA.
        ike: IkeSaId,
        /// Why.
        reason: String,
    },
    /// An IKE SA was rekeyed: its Child SAs now belong to `new`; `old` is deleted next
    /// ([`Event::IkeSaDeleted`]).
    IkeSaRekeyed {
        /// The old IKE SA.
        old: IkeSaId,
        /// The new IKE SA.
        new: IkeSaId,
    },
    /// A Child SA was deleted.
    ChildSaDeleted {
        /// The IKE SA it belonged to.
        ike: IkeSaId,
        /// Our inbound SPI.
        spi_in: u32,
        /// Our outbound SPI.
        spi_out: u32,
    },
}

/// Original role in the IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent IKE_SA_INIT.
    Initiator,
    /// The peer did.
    Responder,
}

impl Role {
    /// "initiator" or "responder".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiator => "initiator",
            Self::Responder => "responder",
        }
    }
}

/// IKE SA states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IkeState {
    /// Initiator: IKE_SA_INIT sent.
    InitSent,
    /// Responder: IKE_SA_INIT answered, waiting for IKE_AUTH (half-open).
    InitAnswered,
    /// Initiator: IKE_AUTH sent.
    AuthSent,
    /// Authenticated.
    Established,
    /// A delete of the IKE SA is in flight.
    Deleting,
}

impl IkeState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InitSent => "connecting",
            Self::InitAnswered => "half-open",
            Self::AuthSent => "authenticating",
            Self::Established => "established",
            Self::Deleting => "deleting",
        }
    }
}

/// A summary of one IKE SA, for listings.
#[derive(Debug, Clone)]
pub struct IkeSaInfo {
    /// Id.
    pub id: IkeSaId,
    /// Original role.
    pub role: Role,
    /// State.
    pub state: IkeState,
    /// Initiator SPI.
    pub spi_i: [u8; 8],
    /// Responder SPI.
    pub spi_r: [u8; 8],
    /// Negotiated algorithms, once known.
    pub suite: Option<IkeSuite>,
    /// How we authenticated ("psk", "ecdsa-p256 signature (RFC 7427)", ...).
    pub local_auth: String,
    /// How the peer authenticated.
    pub remote_auth: Option<String>,
    /// Our identity.
    pub local_id: String,
    /// The peer's identity once authenticated.
    pub remote_id: Option<String>,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// Child SAs as (inbound SPI, outbound SPI, suite).
    pub children: Vec<(u32, u32, EspSuite)>,
    /// Whether a NAT was detected in front of us / the peer.
    pub nat: (bool, bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    SaInit,
    Auth,
    DeleteChild {
        spi_in: u32,
        spi_out: u32,
    },
    DeleteIke,
    Liveness,
    /// CREATE_CHILD_SA rekeying the Child SA with this inbound SPI (details in
    /// `IkeSa::child_rekey`).
    RekeyChild {
        old_spi_in: u32,
    },
    /// CREATE_CHILD_SA rekeying the IKE SA (details in `IkeSa::ike_rekey`).
    RekeyIke,
    /// A test-only request with caller-supplied content.
    Raw,
}

struct Pending {
    mid: u32,
    /// The request's datagrams: one, or its RFC 7383 fragments.
    data: Vec<Vec<u8>>,
    kind: Request,
    retries: u32,
    deadline: Instant,
}

struct ChildSa {
    spi_in: u32,
    spi_out: u32,
    suite: EspSuite,
}

/// Responder's choice for a Child SA: proposal number, suite, peer SPI, TSi, TSr.
type ChosenChild = (u8, EspSuite, u32, Vec<TsRange>, Vec<TsRange>);
/// Initiator's accepted Child SA: suite, peer SPI, TSi, TSr.
type InitiatorChild = (EspSuite, u32, Vec<TsRange>, Vec<TsRange>);

/// The payloads of an IKE_AUTH message that the exchange looks at.
struct AuthPayloads<'a> {
    /// IDi when sent by the initiator, IDr when sent by the responder.
    id: Option<&'a Identification>,
    auth: Option<&'a negotiator_wire::v2::Authentication>,
    certs: Vec<Vec<u8>>,
    certreq: bool,
    sa: Option<&'a Vec<negotiator_wire::v2::Proposal>>,
    tsi: Option<&'a Vec<negotiator_wire::v2::TrafficSelector>>,
    tsr: Option<&'a Vec<negotiator_wire::v2::TrafficSelector>>,
}

impl<'a> AuthPayloads<'a> {
    /// Collects the payloads of a message sent by `sender`.
    fn collect(inner: &'a [Payload], sender: Role) -> Self {
        let mut out = AuthPayloads {
            id: None,
            auth: None,
            certs: Vec::new(),
            certreq: false,
            sa: None,
            tsi: None,
            tsr: None,
        };
        for p in inner {
            match &p.body {
                PayloadBody::IdI(x) if sender == Role::Initiator => out.id = Some(x),
                PayloadBody::IdR(x) if sender == Role::Responder => out.id = Some(x),
                PayloadBody::Auth(x) => out.auth = Some(x),
                PayloadBody::Cert(c) if c.encoding == CertEncoding::X509_SIGNATURE => {
                    out.certs.push(c.data.clone());
                }
                PayloadBody::CertReq(_) => out.certreq = true,
                PayloadBody::Sa(x) => out.sa = Some(x),
                PayloadBody::TsI(x) => out.tsi = Some(x),
                PayloadBody::TsR(x) => out.tsr = Some(x),
                _ => {}
            }
        }
        out
    }
}

struct PendingChild {
    spi_in: u32,
}

/// Our CREATE_CHILD_SA rekeying a Child SA (RFC 7296 §1.3.3), while it is in flight.
struct ChildRekey {
    old_spi_in: u32,
    new_spi_in: u32,
    ni: Vec<u8>,
    ke: Option<Box<dyn KeyExchange>>,
    ke_retries: u8,
}

/// Our CREATE_CHILD_SA rekeying an IKE SA (RFC 7296 §1.3.2), while it is in flight.
struct IkeRekey {
    new_spi: [u8; 8],
    ni: Vec<u8>,
    ke: Option<Box<dyn KeyExchange>>,
    ke_retries: u8,
}

/// A peer's rekey of one of our Child SAs that we answered (for collisions, §2.8.1).
struct AnsweredRekey {
    old_spi_in: u32,
    new_spi_in: u32,
    /// The lower of the two nonces of that exchange.
    min_nonce: Vec<u8>,
}

struct IkeSa {
    role: Role,
    state: IkeState,
    spi_i: [u8; 8],
    spi_r: [u8; 8],
    local: SocketAddr,
    remote: SocketAddr,
    suite: Option<IkeSuite>,
    group: Group,
    ke: Option<Box<dyn KeyExchange>>,
    ni: Vec<u8>,
    nr: Vec<u8>,
    /// IKE_SA_INIT request and response as sent, for the AUTH computation; dropped once
    /// authenticated.
    msg1: Vec<u8>,
    msg2: Vec<u8>,
    cookie: Option<Vec<u8>>,
    cookie_tries: u8,
    ke_retries: u8,
    keys: Option<SkKeys>,
    sk_d: Option<Secret>,
    sk_pi: Option<Secret>,
    sk_pr: Option<Secret>,
    peer_rfc7427: bool,
    peer_certreq: bool,
    /// The peer announced IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383).
    peer_frag: bool,
    /// Fragments (RFC 7383) of the message being received.
    reassembly: Option<crate::frag::Reassembly>,
    nat_local: bool,
    nat_remote: bool,
    next_request_mid: u32,
    expected_peer_mid: u32,
    pending: Option<Pending>,
    queued: VecDeque<Request>,
    /// The last response (message ID, datagrams: one, or its fragments).
    cached_response: Option<(u32, Vec<Vec<u8>>)>,
    pending_child: Option<PendingChild>,
    children: Vec<ChildSa>,
    child_rekey: Option<ChildRekey>,
    answered_rekeys: Vec<AnsweredRekey>,
    /// Our CREATE_CHILD_SA rekeying this IKE SA, while in flight.
    ike_rekey: Option<IkeRekey>,
    /// A peer's rekey of this IKE SA answered while ours was in flight: (our key of the new
    /// SA, lower nonce of that exchange).
    answered_ike_rekey: Option<([u8; 8], Vec<u8>)>,
    /// Rekeyed (or redundant after a collision): waiting to be deleted.
    rekeyed: bool,
    remote_id: Option<Identity>,
    remote_auth_desc: Option<String>,
    raw_response: Option<Vec<Payload>>,
    created: Instant,
    last_recv: Instant,
}

impl IkeSa {
    fn our_spi(&self) -> [u8; 8] {
        match self.role {
            Role::Initiator => self.spi_i,
            Role::Responder => self.spi_r,
        }
    }

    fn header(&self, exchange: ExchangeType, mid: u32, response: bool) -> Header {
        let mut flags = 0u8;
        if self.role == Role::Initiator {
            flags |= Flags::INITIATOR.0;
        }
        if response {
            flags |= Flags::RESPONSE.0;
        }
        Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            next_payload: PayloadType::NONE,
            version: 0x20,
            exchange,
            flags: Flags(flags),
            message_id: mid,
            length: 0,
        }
    }
}

/// The IKEv2 endpoint. See the module documentation.
pub struct Endpoint {
    config: Arc<Config>,
    provider: Arc<dyn CryptoProvider>,
    sas: HashMap<[u8; 8], IkeSa>,
    /// Responder side: (peer address, SPIi) → our SPIr, to recognise retransmitted
    /// IKE_SA_INIT requests before the peer knows our SPI.
    init_index: HashMap<(SocketAddr, [u8; 8]), [u8; 8]>,
    half_open: usize,
    cookie_secret: Secret,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    clock_ref: (Instant, u64),
    /// (our NAT-T port, the peer's NAT-T port) for the float to UDP encapsulation (§2.23).
    natt_ports: Option<(u16, u16)>,
    /// Key exchange groups for PFS in Child SA rekeys (empty: no PFS).
    pfs_groups: Vec<Group>,
    /// IKE SAs are rekeyed this long after they were established (None: never).
    ike_rekey_time: Option<Duration>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("ike_sas", &self.sas.len())
            .field("half_open", &self.half_open)
            .finish()
    }
}

const NONCE_LEN: usize = 32;
/// Largest IKE message we send unfragmented once the peer supports RFC 7383: what fits a
/// 1280-octet IPv6 packet (40 IP + 8 UDP) with a non-ESP marker (4).
const MAX_IKE_MESSAGE: usize = 1280 - 40 - 8 - 4;
const MAX_COOKIE_TRIES: u8 = 3;
const MAX_KE_RETRIES: u8 = 2;

fn notify(t: NotifyType, data: Vec<u8>) -> Payload {
    Payload::new(PayloadBody::Notify(Notify::new(t, data)))
}

fn find_notify(payloads: &[Payload], t: NotifyType) -> Option<&Notify> {
    payloads.iter().find_map(|p| match &p.body {
        PayloadBody::Notify(n) if n.notify_type == t => Some(n),
        _ => None,
    })
}

fn first_error_notify(payloads: &[Payload]) -> Option<&Notify> {
    payloads.iter().find_map(|p| match &p.body {
        PayloadBody::Notify(n) if n.notify_type.is_error() => Some(n),
        _ => None,
    })
}

fn ip_octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port) (RFC 7296 §2.23).
fn nat_hash(spi_i: &[u8; 8], spi_r: &[u8; 8], addr: SocketAddr) -> Vec<u8> {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(spi_i);
    ctx.update(spi_r);
    ctx.update(&ip_octets(addr.ip()));
    ctx.update(&addr.port().to_be_bytes());
    ctx.finish().as_ref().to_vec()
}

/// The SIGNATURE_HASH_ALGORITHMS we accept: SHA2-256, -384, -512, Identity (RFC 7427, 8420).
const SIG_HASHES: [u8; 8] = [0, 2, 0, 3, 0, 4, 0, 5];

impl Endpoint {
    /// A new endpoint. `clock_ref` ties the monotonic clock to wall time (seconds since the
    /// Unix epoch at that instant), for certificate validity checks.
    pub fn new(
        config: Arc<Config>,
        provider: Arc<dyn CryptoProvider>,
        clock_ref: (Instant, u64),
    ) -> Result<Self, ProtoError> {
        if config
            .ike_proposals
            .iter()
            .all(|p| p.groups.is_empty() || p.encr.is_empty())
        {
            return Err(ProtoError::Config(
                "no usable IKE proposal configured".into(),
            ));
        }
        let mut secret = vec![0u8; 32];
        provider.fill_random(&mut secret)?;
        Ok(Self {
            config,
            provider,
            sas: HashMap::new(),
            init_index: HashMap::new(),
            half_open: 0,
            cookie_secret: Secret::new(secret),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            clock_ref,
            natt_ports: None,
            pfs_groups: Vec::new(),
            ike_rekey_time: None,
        })
    }

    /// Tells the endpoint its NAT-T port (RFC 3948 socket, IKE behind a non-ESP marker) and the
    /// peer's. With it, an initiator that detects a NAT in IKE_SA_INIT moves the IKE SA to
    /// these ports from IKE_AUTH on (RFC 7296 §2.23), and an IKE SA follows the peer there.
    /// Without it (the default) IKE SAs stay on the addresses of IKE_SA_INIT.
    pub fn set_natt_ports(&mut self, local: u16, peer: u16) {
        self.natt_ports = Some((local, peer));
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn unix_time(&self, now: Instant) -> u64 {
        let (at, unix) = self.clock_ref;
        if now >= at {
            unix + now.duration_since(at).as_secs()
        } else {
            unix.saturating_sub(at.duration_since(now).as_secs())
        }
    }

    /// Number of half-open (responder, not yet authenticated) IKE SAs.
    pub fn half_open(&self) -> usize {
        self.half_open
    }

    /// Number of IKE SAs in any state.
    pub fn len(&self) -> usize {
        self.sas.len()
    }

    /// Whether there are no IKE SAs.
    pub fn is_empty(&self) -> bool {
        self.sas.is_empty()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// A summary of every IKE SA.
    pub fn ike_sas(&self) -> Vec<IkeSaInfo> {
        let mut v: Vec<IkeSaInfo> = self.sas.iter().map(|(k, sa)| self.info(k, sa)).collect();
        v.sort_by_key(|i| i.id);
        v
    }

    fn local_auth_desc(&self, sa: &IkeSa) -> String {
        match &self.config.local_auth {
            LocalAuth::Psk(_) => "psk".into(),
            LocalAuth::Certificate { key, .. } => {
                let kt = key.key_type().name();
                if sa.peer_rfc7427 {
                    format!("{kt} signature (RFC 7427)")
                } else {
                    format!("{kt} signature")
                }
            }
        }
    }

    fn info(&self, k: &[u8; 8], sa: &IkeSa) -> IkeSaInfo {
        IkeSaInfo {
            id: IkeSaId(u64::from_be_bytes(*k)),
            role: sa.role,
            state: sa.state,
            spi_i: sa.spi_i,
            spi_r: sa.spi_r,
            suite: sa.suite,
            local_auth: self.local_auth_desc(sa),
            remote_auth: sa.remote_auth_desc.clone(),
            local_id: self.config.local_id.to_string(),
            remote_id: sa.remote_id.as_ref().map(|i| i.to_string()),
            local: sa.local,
            remote: sa.remote,
            children: sa
                .children
                .iter()
                .map(|c| (c.spi_in, c.spi_out, c.suite))
                .collect(),
            nat: (sa.nat_local, sa.nat_remote),
        }
    }

    fn random(&self, len: usize) -> Result<Vec<u8>, ProtoError> {
        let mut v = vec![0u8; len];
        self.provider.fill_random(&mut v)?;
        Ok(v)
    }

    fn new_ike_spi(&self) -> Result<[u8; 8], ProtoError> {
        loop {
            let mut spi = [0u8; 8];
            self.provider.fill_random(&mut spi)?;
            if spi != [0u8; 8] && !self.sas.contains_key(&spi) {
                return Ok(spi);
            }
        }
    }

    // ------------------------------------------------------------------------------------
    // Initiator

    /// Starts an IKE SA (with its first Child SA) towards `remote`.
    pub fn initiate(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<IkeSaId, ProtoError> {
        let group = self
            .config
            .ike_proposals
            .iter()
            .find_map(|p| p.groups.first().copied())
            .ok_or_else(|| ProtoError::Config("no key exchange group configured".into()))?;
        let spi_i = self.new_ike_spi()?;
        let ke = self.provider.start_key_exchange(group)?;
        let ni = self.random(NONCE_LEN)?;
        let sa = IkeSa {
            role: Role::Initiator,
            state: IkeState::InitSent,
            spi_i,
            spi_r: [0; 8],
            local,
            remote,
            suite: None,
            group,
            ke: Some(ke),
            ni,
            nr: Vec::new(),
            msg1: Vec::new(),
            msg2: Vec::new(),
            cookie: None,
            cookie_tries: 0,
            ke_retries: 0,
            keys: None,
            sk_d: None,
            sk_pi: None,
            sk_pr: None,
            peer_rfc7427: false,
            peer_certreq: false,
            peer_frag: false,
            reassembly: None,
            nat_local: false,
            nat_remote: false,
            next_request_mid: 0,
            expected_peer_mid: 0,
            pending: None,
            queued: VecDeque::new(),
            cached_response: None,
            pending_child: None,
            child_rekey: None,
            answered_rekeys: Vec::new(),
            ike_rekey: None,
            answered_ike_rekey: None,
            rekeyed: false,
            children: Vec::new(),
            remote_id: None,
            remote_auth_desc: None,
            raw_response: None,
            created: now,
            last_recv: now,
        };
        self.sas.insert(spi_i, sa);
        info!(spi_i = %hex(&spi_i), %remote, "initiating IKE SA");
        self.send_sa_init(now, spi_i)?;
        Ok(IkeSaId(u64::from_be_bytes(spi_i)))
    }

    fn send_sa_init(&mut self, now: Instant, key: [u8; 8]) -> Result<(), ProtoError> {
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        let ke = sa.ke.as_ref().ok_or(ProtoError::Internal("no KE"))?;
        let mut payloads = Vec::new();
        if let Some(c) = &sa.cookie {
            payloads.push(notify(NotifyType::COOKIE, c.clone()));
        }
        payloads.push(Payload::new(PayloadBody::Sa(proposal::ike_proposals(
            &self.config.ike_proposals,
            &[],
        ))));
        payloads.push(Payload::new(PayloadBody::Ke(KePayload {
            group: sa.group.id(),
            data: ke.public_key().to_vec(),
        })));
        payloads.push(Payload::new(PayloadBody::Nonce(sa.ni.clone())));
        payloads.push(notify(
            NotifyType::NAT_DETECTION_SOURCE_IP,
            nat_hash(&sa.spi_i, &[0; 8], sa.local),
        ));
        payloads.push(notify(
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            nat_hash(&sa.spi_i, &[0; 8], sa.remote),
        ));
        payloads.push(notify(
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            SIG_HASHES.to_vec(),
        ));
        // We reassemble fragmented messages (RFC 7383); we do not fragment our own yet.
        payloads.push(notify(
            NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
            Vec::new(),
        ));
        let msg = Message {
            header: sa.header(ExchangeType::IKE_SA_INIT, 0, false),
            payloads,
        };
        let data = msg.encode();
        sa.msg1 = data.clone();
        sa.next_request_mid = 1;
        let local = sa.local;
        let remote = sa.remote;
        sa.pending = Some(Pending {
            mid: 0,
            data: vec![data.clone()],
            kind: Request::SaInit,
            retries: 0,
            deadline: now + self.config.retransmit.initial_timeout,
        });
        debug!(spi_i = %hex(&key), "sending IKE_SA_INIT request");
        self.transmits.push_back(Transmit {
            local,
            remote,
            data,
        });
        Ok(())
    }

    fn handle_sa_init_response(
        &mut self,
        now: Instant,
        key: [u8; 8],
        header: &Header,
        raw: &[u8],
        msg: Message,
        spis: &mut dyn SpiAllocator,
    ) -> Result<(), ProtoError> {
        let config = self.config.clone();
        let provider = self.provider.clone();
        let natt_ports = self.natt_ports;
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        if sa.state != IkeState::InitSent {
            return Ok(());
        }
        // COOKIE request (RFC 7296 §2.6): retry with the cookie first.
        if let Some(c) = find_notify(&msg.payloads, NotifyType::COOKIE) {
            if sa.cookie_tries >= MAX_COOKIE_TRIES || c.data.is_empty() || c.data.len() > 64 {
                return Err(ProtoError::PeerError(
                    NotifyType::COOKIE,
                    "cookie loop".into(),
                ));
            }
            sa.cookie_tries += 1;
            sa.cookie = Some(c.data.clone());
            debug!("responder demands a COOKIE; retrying IKE_SA_INIT");
            return self.send_sa_init(now, key);
        }
        if let Some(n) = find_notify(&msg.payloads, NotifyType::INVALID_KE_PAYLOAD) {
            let wanted = <[u8; 2]>::try_from(n.data.as_slice())
                .ok()
                .map(u16::from_be_bytes)
                .and_then(Group::from_id);
            let acceptable = wanted.filter(|g| {
                *g != sa.group && config.ike_proposals.iter().any(|p| p.groups.contains(g))
            });
            match acceptable {
                Some(g) if sa.ke_retries < MAX_KE_RETRIES => {
                    info!(
                        group = g.name(),
                        "peer asks for another key exchange group; retrying"
                    );
                    sa.ke_retries += 1;
                    sa.group = g;
                    sa.ke = Some(provider.start_key_exchange(g)?);
                    return self.send_sa_init(now, key);
                }
                _ => {
                    return Err(ProtoError::PeerError(
                        NotifyType::INVALID_KE_PAYLOAD,
                        format!("peer wants group {:?}, which we do not offer", n.data),
                    ));
                }
            }
        }
        if let Some(n) = first_error_notify(&msg.payloads) {
            let ctx = if n.notify_type == NotifyType::NO_PROPOSAL_CHOSEN {
                format!(
                    "we offered [{}]",
                    proposal::describe_ike_config(&config.ike_proposals)
                )
            } else {
                "IKE_SA_INIT".into()
            };
            return Err(ProtoError::PeerError(n.notify_type, ctx));
        }
        let mut sa_p = None;
        let mut ke_p = None;
        let mut nonce = None;
        for p in &msg.payloads {
            match &p.body {
                PayloadBody::Sa(x) => sa_p = Some(x),
                PayloadBody::Ke(x) => ke_p = Some(x),
                PayloadBody::Nonce(x) => nonce = Some(x),
                PayloadBody::CertReq(_) => sa.peer_certreq = true,
                PayloadBody::Notify(n)
                    if n.notify_type == NotifyType::SIGNATURE_HASH_ALGORITHMS =>
                {
                    sa.peer_rfc7427 = true;
                }
                PayloadBody::Notify(n)
                    if n.notify_type == NotifyType::IKEV2_FRAGMENTATION_SUPPORTED =>
                {
                    sa.peer_frag = true;
                }
                _ => {}
            }
        }
        let sa_p = sa_p.ok_or(ProtoError::MissingPayload("SA"))?;
        let ke_p = ke_p.ok_or(ProtoError::MissingPayload("KE"))?;
        let nonce = nonce.ok_or(ProtoError::MissingPayload("Nr"))?;
        check_nonce(nonce)?;
        let suite = proposal::check_ike_choice(sa_p, &config.ike_proposals).ok_or_else(|| {
            ProtoError::InvalidPayload(format!(
                "responder chose [{}], which we did not offer",
                proposal::describe(sa_p)
            ))
        })?;
        if suite.group != sa.group || ke_p.group != sa.group.id() {
            return Err(ProtoError::InvalidKe {
                wanted: sa.group.id(),
                received: ke_p.group,
            });
        }
        sa.spi_r = header.spi_r;
        sa.nr = nonce.clone();
        sa.msg2 = raw.to_vec();
        let ke = sa.ke.take().ok_or(ProtoError::Internal("no KE"))?;
        let g_ir = ke
            .complete(&ke_p.data)
            .map_err(|e| ProtoError::InvalidPayload(format!("peer's KE value rejected: {e}")))?;
        detect_nat(sa, &msg.payloads);
        // §2.23: behind (or in front of) a NAT the initiator moves to the NAT-T port now, so
        // that IKE_AUTH and everything after it goes out with the non-ESP marker.
        if let (true, Some((l, r))) = (sa.nat_local || sa.nat_remote, natt_ports)
            && sa.local.port() != l
        {
            sa.local.set_port(l);
            sa.remote.set_port(r);
            info!(local = %sa.local, remote = %sa.remote, "NAT detected: IKE SA floats to the NAT-T ports");
        }
        install_ike_keys(
            &*provider,
            config.key_log.as_deref(),
            sa,
            suite,
            g_ir.as_bytes(),
        )?;
        sa.pending = None;
        info!(
            spi_i = %hex(&sa.spi_i), spi_r = %hex(&sa.spi_r),
            encr = suite.encr.name(), prf = suite.prf.name(), group = suite.group.name(),
            "IKE_SA_INIT done"
        );
        self.send_auth_request(now, key, spis)
    }

    fn send_auth_request(
        &mut self,
        now: Instant,
        key: [u8; 8],
        spis: &mut dyn SpiAllocator,
    ) -> Result<(), ProtoError> {
        let config = self.config.clone();
        let provider = self.provider.clone();
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        let suite = sa.suite.ok_or(ProtoError::Internal("no suite"))?;
        let id = config.local_id.to_payload();
        let sk_pi = sa.sk_pi.as_ref().ok_or(ProtoError::Internal("no SK_pi"))?;
        let octets = auth::signed_octets(
            &*provider,
            suite.prf,
            &sa.msg1,
            &sa.nr,
            sk_pi.as_bytes(),
            &id,
        )?;
        let mut inner = vec![Payload::new(PayloadBody::IdI(id))];
        let auth_payload =
            local_auth_payload(&*provider, &config, suite, sa.peer_rfc7427, &octets)?;
        if let LocalAuth::Certificate { chain, .. } = &config.local_auth {
            push_certs(&mut inner, chain);
        }
        if let RemoteAuth::Certificate { anchors, .. } = &config.remote_auth {
            inner.push(certreq(anchors));
        }
        inner.push(Payload::new(PayloadBody::Auth(auth_payload)));
        inner.push(notify(NotifyType::INITIAL_CONTACT, Vec::new()));
        let spi_in = spis.allocate_spi();
        sa.pending_child = Some(PendingChild { spi_in });
        inner.push(Payload::new(PayloadBody::Sa(proposal::esp_proposals(
            &config.esp_proposals,
            spi_in,
        ))));
        inner.push(Payload::new(PayloadBody::TsI(
            config.local_ts.iter().map(ts::to_wire).collect(),
        )));
        inner.push(Payload::new(PayloadBody::TsR(
            config.remote_ts.iter().map(ts::to_wire).collect(),
        )));
        let mid = sa.next_request_mid;
        let header = sa.header(ExchangeType::IKE_AUTH, mid, false);
        let frag = sa.peer_frag.then_some(MAX_IKE_MESSAGE);
        let keys = sa.keys.as_mut().ok_or(ProtoError::Internal("no keys"))?;
        let datagrams = keys.seal_fragmented(&*provider, header, &inner, frag)?;
        sa.next_request_mid += 1;
        sa.state = IkeState::AuthSent;
        sa.pending = Some(Pending {
            mid,
            data: datagrams.clone(),
            kind: Request::Auth,
            retries: 0,
            deadline: now + config.retransmit.initial_timeout,
        });
        debug!(spi_i = %hex(&sa.spi_i), datagrams = datagrams.len(), "sending IKE_AUTH request");
        for data in datagrams {
            self.transmits.push_back(Transmit {
                local: sa.local,
                remote: sa.remote,
                data,
            });
        }
        Ok(())
    }

    fn handle_auth_response(
        &mut self,
        key: [u8; 8],
        inner: Vec<Payload>,
        now: Instant,
        spis: &mut dyn SpiAllocator,
    ) -> Result<(), ProtoError> {
        let config = self.config.clone();
        let provider = self.provider.clone();
        let unix = self.unix_time(now);
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        if sa.state != IkeState::AuthSent {
            return Ok(());
        }
        sa.pending = None;
        let spi_in = sa.pending_child.take().map(|c| c.spi_in);
        let fail_child = |spis: &mut dyn SpiAllocator| {
            if let Some(s) = spi_in {
                spis.release_spi(s);
            }
        };
        let AuthPayloads {
            id: id_r,
            auth: auth_p,
            certs,
            sa: sa_p,
            tsi,
            tsr,
            ..
        } = AuthPayloads::collect(&inner, Role::Responder);
        if id_r.is_none() || auth_p.is_none() {
            fail_child(spis);
            if let Some(n) = first_error_notify(&inner) {
                let ctx = match n.notify_type {
                    NotifyType::AUTHENTICATION_FAILED => {
                        "the peer did not accept our authentication".to_string()
                    }
                    _ => "IKE_AUTH".into(),
                };
                return Err(ProtoError::PeerError(n.notify_type, ctx));
            }
        }
        let id_r = id_r.ok_or(ProtoError::MissingPayload("IDr"))?;
        let auth_p = auth_p.ok_or(ProtoError::MissingPayload("AUTH"))?;
        let suite = sa.suite.ok_or(ProtoError::Internal("no suite"))?;
        let sk_pr = sa.sk_pr.as_ref().ok_or(ProtoError::Internal("no SK_pr"))?;
        let octets = auth::signed_octets(
            &*provider,
            suite.prf,
            &sa.msg2,
            &sa.ni,
            sk_pr.as_bytes(),
            id_r,
        )?;
        let desc = verify_peer(
            &config, id_r, auth_p, &certs, &octets, &*provider, suite, unix,
        )
        .inspect_err(|_| fail_child(spis))?;
        sa.remote_id = Some(Identity::from_payload(id_r));
        sa.remote_auth_desc = Some(desc);
        sa.state = IkeState::Established;
        sa.msg1 = Vec::new();
        sa.msg2 = Vec::new();
        let id = IkeSaId(u64::from_be_bytes(key));
        info!(
            spi_i = %hex(&sa.spi_i), spi_r = %hex(&sa.spi_r),
            remote_id = %Identity::from_payload(id_r), remote = %sa.remote,
            "IKE SA established"
        );
        self.events.push_back(Event::IkeSaEstablished { id });
        // The first Child SA.
        let child = (|| -> Result<InitiatorChild, ProtoError> {
            if let Some(n) = first_error_notify(&inner) {
                return Err(ProtoError::PeerError(
                    n.notify_type,
                    "first Child SA".into(),
                ));
            }
            let sa_p = sa_p.ok_or(ProtoError::MissingPayload("SA"))?;
            let (_, esp, spi_out) = match sa_p.as_slice() {
                [one] => proposal::select_esp(std::slice::from_ref(one), &config.esp_proposals),
                _ => None,
            }
            .ok_or_else(|| {
                ProtoError::InvalidPayload(format!(
                    "responder chose ESP [{}], which we did not offer",
                    proposal::describe(sa_p)
                ))
            })?;
            let (tsi, tsr) = ts::check_narrowed(
                tsi.ok_or(ProtoError::MissingPayload("TSi"))?,
                tsr.ok_or(ProtoError::MissingPayload("TSr"))?,
                &config.local_ts,
                &config.remote_ts,
            )?;
            Ok((esp, spi_out, tsi, tsr))
        })();
        match (child, spi_in) {
            (Ok((esp, spi_out, tsi, tsr)), Some(spi_in)) => {
                let params = child_params(&*provider, &config, sa, esp, spi_in, spi_out, tsi, tsr)?;
                sa.children.push(ChildSa {
                    spi_in,
                    spi_out,
                    suite: esp,
                });
                info!(spi_in = %format!("{spi_in:08x}"), spi_out = %format!("{spi_out:08x}"), encr = esp.encr.name(), "Child SA established");
                self.events.push_back(Event::ChildSaEstablished {
                    ike: id,
                    params: Box::new(params),
                });
            }
            (Err(e), _) => {
                fail_child(spis);
                warn!(error = %e, "first Child SA not established");
                self.events.push_back(Event::ChildSaFailed {
                    ike: id,
                    reason: e.to_string(),
                });
            }
            (Ok(_), None) => return Err(ProtoError::Internal("no pending Child SA")),
        }
        self.send_queued(now, key)
    }

    // ------------------------------------------------------------------------------------
    // Responder

    fn handle_sa_init_request(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        header: &Header,
        raw: &[u8],
        msg: Message,
    ) -> Result<(), ProtoError> {
        if header.message_id != 0 || header.spi_r != [0; 8] {
            debug!("IKE_SA_INIT request with non-zero message ID or SPIr; dropped");
            return Ok(());
        }
        // A retransmission: answer with the same response.
        if let Some(our) = self.init_index.get(&(remote, header.spi_i)) {
            if let Some(sa) = self.sas.get(our)
                && let (Some((0, resp)), true) = (&sa.cached_response, sa.msg1 == raw)
            {
                trace!("retransmitted IKE_SA_INIT; resending our response");
                for data in resp {
                    self.transmits.push_back(Transmit {
                        local,
                        remote,
                        data: data.clone(),
                    });
                }
            }
            return Ok(());
        }
        let reply_error = |this: &mut Self, t: NotifyType, data: Vec<u8>| {
            let h = Header {
                spi_i: header.spi_i,
                spi_r: [0; 8],
                next_payload: PayloadType::NONE,
                version: 0x20,
                exchange: ExchangeType::IKE_SA_INIT,
                flags: Flags::RESPONSE,
                message_id: 0,
                length: 0,
            };
            let m = Message {
                header: h,
                payloads: vec![notify(t, data)],
            };
            this.transmits.push_back(Transmit {
                local,
                remote,
                data: m.encode(),
            });
        };
        let mut sa_p = None;
        let mut ke_p = None;
        let mut nonce = None;
        for p in &msg.payloads {
            match &p.body {
                PayloadBody::Sa(x) => sa_p = Some(x),
                PayloadBody::Ke(x) => ke_p = Some(x),
                PayloadBody::Nonce(x) => nonce = Some(x),
                _ => {}
            }
        }
        let (Some(sa_p), Some(ke_p), Some(nonce)) = (sa_p, ke_p, nonce) else {
            debug!(%remote, "IKE_SA_INIT without SA, KE or Ni");
            reply_error(self, NotifyType::INVALID_SYNTAX, Vec::new());
            return Ok(());
        };
        if check_nonce(nonce).is_err() {
            debug!(%remote, len = nonce.len(), "IKE_SA_INIT nonce length out of range");
            reply_error(self, NotifyType::INVALID_SYNTAX, Vec::new());
            return Ok(());
        }
        // COOKIE (RFC 7296 §2.6) once too many SAs are half-open.
        if self.half_open >= self.config.cookie_threshold {
            let expected = self.cookie_for(nonce, remote, &header.spi_i)?;
            let presented = match msg.payloads.first().map(|p| &p.body) {
                Some(PayloadBody::Notify(n)) if n.notify_type == NotifyType::COOKIE => {
                    Some(&n.data)
                }
                _ => None,
            };
            let valid = presented.is_some_and(|c| {
                c.len() == expected.len() && bool::from(c.as_slice().ct_eq(expected.as_slice()))
            });
            if !valid {
                debug!(%remote, half_open = self.half_open, "demanding a COOKIE");
                reply_error(self, NotifyType::COOKIE, expected);
                return Ok(());
            }
        }
        let Some((number, suite)) = proposal::select_ike(sa_p, &self.config.ike_proposals) else {
            let e = ProtoError::NoProposalChosen {
                offered: proposal::describe(sa_p),
                configured: proposal::describe_ike_config(&self.config.ike_proposals),
            };
            warn!(%remote, "{e}");
            reply_error(self, NotifyType::NO_PROPOSAL_CHOSEN, Vec::new());
            return Ok(());
        };
        if ke_p.group != suite.group.id() {
            debug!(%remote, received = ke_p.group, wanted = suite.group.id(), "INVALID_KE_PAYLOAD");
            reply_error(
                self,
                NotifyType::INVALID_KE_PAYLOAD,
                suite.group.id().to_be_bytes().to_vec(),
            );
            return Ok(());
        }
        let ke = self.provider.start_key_exchange(suite.group)?;
        let public = ke.public_key().to_vec();
        let g_ir = match ke.complete(&ke_p.data) {
            Ok(s) => s,
            Err(e) => {
                debug!(%remote, error = %e, "peer's KE value rejected");
                reply_error(self, NotifyType::INVALID_SYNTAX, Vec::new());
                return Ok(());
            }
        };
        let spi_r = self.new_ike_spi()?;
        let nr = self.random(NONCE_LEN)?;
        let peer_rfc7427 =
            find_notify(&msg.payloads, NotifyType::SIGNATURE_HASH_ALGORITHMS).is_some();
        let peer_certreq = msg
            .payloads
            .iter()
            .any(|p| matches!(p.body, PayloadBody::CertReq(_)));
        let peer_frag =
            find_notify(&msg.payloads, NotifyType::IKEV2_FRAGMENTATION_SUPPORTED).is_some();
        let mut sa = IkeSa {
            role: Role::Responder,
            state: IkeState::InitAnswered,
            spi_i: header.spi_i,
            spi_r,
            local,
            remote,
            suite: None,
            group: suite.group,
            ke: None,
            ni: nonce.clone(),
            nr: nr.clone(),
            msg1: raw.to_vec(),
            msg2: Vec::new(),
            cookie: None,
            cookie_tries: 0,
            ke_retries: 0,
            keys: None,
            sk_d: None,
            sk_pi: None,
            sk_pr: None,
            peer_rfc7427,
            peer_certreq,
            peer_frag,
            reassembly: None,
            nat_local: false,
            nat_remote: false,
            next_request_mid: 0,
            expected_peer_mid: 1,
            pending: None,
            queued: VecDeque::new(),
            cached_response: None,
            pending_child: None,
            child_rekey: None,
            answered_rekeys: Vec::new(),
            ike_rekey: None,
            answered_ike_rekey: None,
            rekeyed: false,
            children: Vec::new(),
            remote_id: None,
            remote_auth_desc: None,
            raw_response: None,
            created: now,
            last_recv: now,
        };
        detect_nat(&mut sa, &msg.payloads);
        let mut payloads = vec![
            Payload::new(PayloadBody::Sa(vec![proposal::ike_chosen(
                number,
                &[],
                &suite,
            )])),
            Payload::new(PayloadBody::Ke(KePayload {
                group: suite.group.id(),
                data: public,
            })),
            Payload::new(PayloadBody::Nonce(nr)),
            notify(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                nat_hash(&sa.spi_i, &spi_r, local),
            ),
            notify(
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                nat_hash(&sa.spi_i, &spi_r, remote),
            ),
        ];
        if let RemoteAuth::Certificate { anchors, .. } = &self.config.remote_auth {
            payloads.push(certreq(anchors));
        }
        payloads.push(notify(
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            SIG_HASHES.to_vec(),
        ));
        if sa.peer_frag {
            payloads.push(notify(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                Vec::new(),
            ));
        }
        let resp = Message {
            header: sa.header(ExchangeType::IKE_SA_INIT, 0, true),
            payloads,
        };
        let data = resp.encode();
        sa.msg2 = data.clone();
        install_ike_keys(
            &*self.provider,
            self.config.key_log.as_deref(),
            &mut sa,
            suite,
            g_ir.as_bytes(),
        )?;
        sa.cached_response = Some((0, vec![data.clone()]));
        debug!(
            spi_i = %hex(&sa.spi_i), spi_r = %hex(&spi_r), %remote,
            encr = suite.encr.name(), prf = suite.prf.name(), group = suite.group.name(),
            "answered IKE_SA_INIT"
        );
        self.init_index.insert((remote, header.spi_i), spi_r);
        self.sas.insert(spi_r, sa);
        self.half_open += 1;
        self.transmits.push_back(Transmit {
            local,
            remote,
            data,
        });
        Ok(())
    }

    fn cookie_for(
        &self,
        ni: &[u8],
        remote: SocketAddr,
        spi_i: &[u8; 8],
    ) -> Result<Vec<u8>, ProtoError> {
        // Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>) (RFC 7296 §2.6).
        let ip = ip_octets(remote.ip());
        let mac = self.provider.prf(
            negotiator_crypto::Prf::HmacSha256,
            self.cookie_secret.as_bytes(),
            &[ni, &ip, spi_i],
        )?;
        let mut c = vec![0u8];
        c.extend_from_slice(&mac.as_bytes()[..16]);
        Ok(c)
    }

    fn handle_auth_request(
        &mut self,
        now: Instant,
        key: [u8; 8],
        mid: u32,
        inner: Vec<Payload>,
        spis: &mut dyn SpiAllocator,
    ) -> Result<(), ProtoError> {
        let config = self.config.clone();
        let provider = self.provider.clone();
        let unix = self.unix_time(now);
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        let suite = sa.suite.ok_or(ProtoError::Internal("no suite"))?;
        let AuthPayloads {
            id: id_i,
            auth: auth_p,
            certs,
            certreq,
            sa: sa_p,
            tsi,
            tsr,
        } = AuthPayloads::collect(&inner, Role::Initiator);
        sa.peer_certreq |= certreq;
        let verified = (|| {
            let id_i = id_i.ok_or(ProtoError::MissingPayload("IDi"))?;
            let auth_p = auth_p.ok_or(ProtoError::MissingPayload("AUTH"))?;
            let sk_pi = sa.sk_pi.as_ref().ok_or(ProtoError::Internal("no SK_pi"))?;
            let octets = auth::signed_octets(
                &*provider,
                suite.prf,
                &sa.msg1,
                &sa.nr,
                sk_pi.as_bytes(),
                id_i,
            )?;
            verify_peer(
                &config, id_i, auth_p, &certs, &octets, &*provider, suite, unix,
            )
            .map(|d| (Identity::from_payload(id_i), d))
        })();
        let (remote_id, desc) = match verified {
            Ok(v) => v,
            Err(e) => {
                warn!(remote = %sa.remote, spi_i = %hex(&sa.spi_i), "IKE_AUTH from peer refused: {e}");
                let t = e.notify().unwrap_or(NotifyType::AUTHENTICATION_FAILED);
                let header = sa.header(ExchangeType::IKE_AUTH, mid, true);
                let keys = sa.keys.as_mut().ok_or(ProtoError::Internal("no keys"))?;
                let data = keys.seal(&*provider, header, &[notify(t, Vec::new())])?;
                self.transmits.push_back(Transmit {
                    local: sa.local,
                    remote: sa.remote,
                    data,
                });
                self.remove_sa(key);
                self.events.push_back(Event::IkeSaFailed {
                    id: IkeSaId(u64::from_be_bytes(key)),
                    reason: e.to_string(),
                });
                return Ok(());
            }
        };
        sa.remote_id = Some(remote_id.clone());
        sa.remote_auth_desc = Some(desc);
        // Our AUTH.
        let id_r = config.local_id.to_payload();
        let sk_pr = sa.sk_pr.as_ref().ok_or(ProtoError::Internal("no SK_pr"))?;
        let octets = auth::signed_octets(
            &*provider,
            suite.prf,
            &sa.msg2,
            &sa.ni,
            sk_pr.as_bytes(),
            &id_r,
        )?;
        let auth_payload =
            local_auth_payload(&*provider, &config, suite, sa.peer_rfc7427, &octets)?;
        let mut out = vec![Payload::new(PayloadBody::IdR(id_r))];
        if let LocalAuth::Certificate { chain, .. } = &config.local_auth {
            push_certs(&mut out, chain);
        }
        out.push(Payload::new(PayloadBody::Auth(auth_payload)));
        // The first Child SA (RFC 7296 §1.2: its failure does not fail the IKE SA).
        let child = (|| -> Result<ChosenChild, ProtoError> {
            let sa_p = sa_p.ok_or(ProtoError::MissingPayload("SA"))?;
            let (number, esp, spi_out) = proposal::select_esp(sa_p, &config.esp_proposals)
                .ok_or_else(|| ProtoError::NoProposalChosen {
                    offered: proposal::describe(sa_p),
                    configured: proposal::describe_esp_config(&config.esp_proposals),
                })?;
            let (n_tsi, n_tsr) = ts::narrow_offer(
                tsi.ok_or(ProtoError::MissingPayload("TSi"))?,
                tsr.ok_or(ProtoError::MissingPayload("TSr"))?,
                &config.local_ts,
                &config.remote_ts,
            )?;
            Ok((number, esp, spi_out, n_tsi, n_tsr))
        })();
        let id = IkeSaId(u64::from_be_bytes(key));
        let mut child_event = None;
        match child {
            Ok((number, esp, spi_out, tsi, tsr)) => {
                let spi_in = spis.allocate_spi();
                out.push(Payload::new(PayloadBody::Sa(vec![proposal::esp_chosen(
                    number, spi_in, &esp,
                )])));
                out.push(Payload::new(PayloadBody::TsI(
                    tsi.iter().map(ts::to_wire).collect(),
                )));
                out.push(Payload::new(PayloadBody::TsR(
                    tsr.iter().map(ts::to_wire).collect(),
                )));
                // For the responder, "local" selectors are TSr.
                let params = child_params(&*provider, &config, sa, esp, spi_in, spi_out, tsr, tsi)?;
                sa.children.push(ChildSa {
                    spi_in,
                    spi_out,
                    suite: esp,
                });
                info!(spi_in = %format!("{spi_in:08x}"), spi_out = %format!("{spi_out:08x}"), encr = esp.encr.name(), "Child SA established");
                child_event = Some(Event::ChildSaEstablished {
                    ike: id,
                    params: Box::new(params),
                });
            }
            Err(e) => {
                warn!(remote = %sa.remote, "first Child SA refused: {e}");
                if let Some(t) = e.notify() {
                    out.push(notify(t, Vec::new()));
                }
                self.events.push_back(Event::ChildSaFailed {
                    ike: id,
                    reason: e.to_string(),
                });
            }
        }
        let header = sa.header(ExchangeType::IKE_AUTH, mid, true);
        let frag = sa.peer_frag.then_some(MAX_IKE_MESSAGE);
        let keys = sa.keys.as_mut().ok_or(ProtoError::Internal("no keys"))?;
        let datagrams = keys.seal_fragmented(&*provider, header, &out, frag)?;
        sa.cached_response = Some((mid, datagrams.clone()));
        sa.expected_peer_mid = mid.wrapping_add(1);
        sa.state = IkeState::Established;
        sa.msg1 = Vec::new();
        sa.msg2 = Vec::new();
        info!(
            spi_i = %hex(&sa.spi_i), spi_r = %hex(&sa.spi_r), %remote_id, remote = %sa.remote,
            "IKE SA established"
        );
        for data in datagrams {
            self.transmits.push_back(Transmit {
                local: sa.local,
                remote: sa.remote,
                data,
            });
        }
        self.half_open = self.half_open.saturating_sub(1);
        let spi_i = sa.spi_i;
        let remote = sa.remote;
        self.init_index.remove(&(remote, spi_i));
        self.events.push_back(Event::IkeSaEstablished { id });
        if let Some(ev) = child_event {
            self.events.push_back(ev);
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------
    // INFORMATIONAL

    /// The IKE SA a Child SA (by our inbound SPI) belongs to, without building every SA's
    /// summary as [`Endpoint::ike_sas`] does.
    pub fn ike_sa_of_child(&self, spi_in: u32) -> Option<IkeSaId> {
        self.sas
            .iter()
            .find(|(_, sa)| sa.children.iter().any(|c| c.spi_in == spi_in))
            .map(|(k, _)| IkeSaId(u64::from_be_bytes(*k)))
    }

    /// Deletes a Child SA (by our inbound SPI) with an INFORMATIONAL exchange.
    pub fn delete_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        spi_in: u32,
    ) -> Result<(), ProtoError> {
        let key = id.0.to_be_bytes();
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Config("no such IKE SA".into()))?;
        let c = sa
            .children
            .iter()
            .find(|c| c.spi_in == spi_in)
            .ok_or(ProtoError::Config("no such Child SA".into()))?;
        let r = Request::DeleteChild {
            spi_in: c.spi_in,
            spi_out: c.spi_out,
        };
        sa.queued.push_back(r);
        self.send_queued(now, key)
    }

    /// Deletes an IKE SA and its Child SAs with an INFORMATIONAL exchange.
    pub fn delete_ike(&mut self, now: Instant, id: IkeSaId) -> Result<(), ProtoError> {
        let key = id.0.to_be_bytes();
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Config("no such IKE SA".into()))?;
        if sa.state != IkeState::Established {
            self.remove_sa(key);
            self.events.push_back(Event::IkeSaDeleted { id });
            return Ok(());
        }
        sa.queued.push_back(Request::DeleteIke);
        self.send_queued(now, key)
    }

    /// Sends a liveness check (an empty INFORMATIONAL request).
    pub fn liveness_check(&mut self, now: Instant, id: IkeSaId) -> Result<(), ProtoError> {
        let key = id.0.to_be_bytes();
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Config("no such IKE SA".into()))?;
        sa.queued.push_back(Request::Liveness);
        self.send_queued(now, key)
    }

    /// Sends a protected request with caller-encoded inner payloads on an established IKE SA.
    /// For conformance tests that need messages our own state machine never builds; the
    /// decrypted response is kept for [`Endpoint::take_raw_response`].
    #[doc(hidden)]
    pub fn send_raw_request(
        &mut self,
        now: Instant,
        id: IkeSaId,
        exchange: ExchangeType,
        first_inner: PayloadType,
        inner: Vec<u8>,
    ) -> Result<(), ProtoError> {
        let provider = self.provider.clone();
        let timeout = self.config.retransmit.initial_timeout;
        let key = id.0.to_be_bytes();
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Config("no such IKE SA".into()))?;
        if sa.pending.is_some() || sa.state != IkeState::Established {
            return Err(ProtoError::Config("IKE SA busy or not established".into()));
        }
        let mid = sa.next_request_mid;
        let header = sa.header(exchange, mid, false);
        let keys = sa.keys.as_mut().ok_or(ProtoError::Internal("no keys"))?;
        let data = keys.seal_raw(&*provider, header, first_inner, inner, None)?;
        sa.next_request_mid = mid.wrapping_add(1);
        sa.pending = Some(Pending {
            mid,
            data: vec![data.clone()],
            kind: Request::Raw,
            retries: 0,
            deadline: now + timeout,
        });
        self.transmits.push_back(Transmit {
            local: sa.local,
            remote: sa.remote,
            data,
        });
        Ok(())
    }

    /// The decrypted response to the last [`Endpoint::send_raw_request`].
    #[doc(hidden)]
    pub fn take_raw_response(&mut self, id: IkeSaId) -> Option<Vec<Payload>> {
        self.sas.get_mut(&id.0.to_be_bytes())?.raw_response.take()
    }

    /// Sends the next queued request if the window (size 1) is free.
    fn send_queued(&mut self, now: Instant, key: [u8; 8]) -> Result<(), ProtoError> {
        let provider = self.provider.clone();
        let timeout = self.config.retransmit.initial_timeout;
        let mut rekey_payloads = match self.sas.get(&key) {
            Some(sa) if matches!(sa.queued.front(), Some(Request::RekeyChild { .. })) => {
                Some(self.rekey_child_payloads(sa))
            }
            Some(sa) if matches!(sa.queued.front(), Some(Request::RekeyIke)) => {
                Some(self.rekey_ike_payloads(sa))
            }
            _ => None,
        };
        let mut exchange = ExchangeType::INFORMATIONAL;
        let Some(sa) = self.sas.get_mut(&key) else {
            return Ok(());
        };
        if sa.pending.is_some() || !matches!(sa.state, IkeState::Established) {
            return Ok(());
        }
        let Some(req) = sa.queued.pop_front() else {
            return Ok(());
        };
        let inner = match req {
            Request::DeleteChild { spi_in, .. } => {
                vec![Payload::new(PayloadBody::Delete(Delete {
                    protocol: ProtocolId::ESP,
                    spi_size: 4,
                    spis: vec![spi_in.to_be_bytes().to_vec()],
                }))]
            }
            Request::DeleteIke => {
                sa.state = IkeState::Deleting;
                vec![Payload::new(PayloadBody::Delete(Delete {
                    protocol: ProtocolId::IKE,
                    spi_size: 0,
                    spis: Vec::new(),
                }))]
            }
            Request::Liveness => Vec::new(),
            Request::RekeyChild { .. } | Request::RekeyIke => {
                exchange = ExchangeType::CREATE_CHILD_SA;
                rekey_payloads
                    .take()
                    .ok_or(ProtoError::Internal("no rekey state"))??
            }
            Request::SaInit | Request::Auth | Request::Raw => {
                return Err(ProtoError::Internal("bad queued request"));
            }
        };
        let mid = sa.next_request_mid;
        let header = sa.header(exchange, mid, false);
        let keys = sa.keys.as_mut().ok_or(ProtoError::Internal("no keys"))?;
        let data = keys.seal(&*provider, header, &inner)?;
        sa.next_request_mid = mid.wrapping_add(1);
        sa.pending = Some(Pending {
            mid,
            data: vec![data.clone()],
            kind: req,
            retries: 0,
            deadline: now + timeout,
        });
        debug!(spi_i = %hex(&sa.spi_i), ?req, mid, ?exchange, "sending request");
        self.transmits.push_back(Transmit {
            local: sa.local,
            remote: sa.remote,
            data,
        });
        Ok(())
    }

    fn handle_informational_request(
        &mut self,
        key: [u8; 8],
        mid: u32,
        inner: Vec<Payload>,
    ) -> Result<(), ProtoError> {
        let provider = self.provider.clone();
        let id = IkeSaId(u64::from_be_bytes(key));
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        let mut out = Vec::new();
        let mut delete_ike = false;
        let mut deleted = Vec::new();
        for p in &inner {
            if let PayloadBody::Delete(d) = &p.body {
                if d.protocol == ProtocolId::IKE {
                    delete_ike = true;
                } else if d.protocol == ProtocolId::ESP || d.protocol == ProtocolId::AH {
                    let mut ours = Vec::new();
                    for s in &d.spis {
                        let Ok(b) = <[u8; 4]>::try_from(s.as_slice()) else {
                            continue;
                        };
                        let spi_out = u32::from_be_bytes(b);
                        if let Some(pos) = sa.children.iter().position(|c| c.spi_out == spi_out) {
                            let c = sa.children.remove(pos);
                            ours.push(c.spi_in.to_be_bytes().to_vec());
                            deleted.push((c.spi_in, c.spi_out));
                        }
                    }
                    if !ours.is_empty() {
                        out.push(Payload::new(PayloadBody::Delete(Delete {
                            protocol: d.protocol,
                            spi_size: 4,
                            spis: ours,
                        })));
                    }
                }
            }
        }
        if delete_ike {
            // RFC 7296 §1.4.1: the response to an IKE SA delete is empty.
            out.clear();
        }
        respond(
            sa,
            &*provider,
            &mut self.transmits,
            ExchangeType::INFORMATIONAL,
            mid,
            &out,
        )?;
        for (spi_in, spi_out) in deleted {
            info!(spi_in = %format!("{spi_in:08x}"), "Child SA deleted by peer");
            self.events.push_back(Event::ChildSaDeleted {
                ike: id,
                spi_in,
                spi_out,
            });
        }
        if delete_ike {
            info!(id = %hex(&key), "IKE SA deleted by peer");
            self.delete_children_events(key);
            self.remove_sa(key);
            self.events.push_back(Event::IkeSaDeleted { id });
        } else if inner.is_empty() {
            trace!("answered liveness check");
        }
        Ok(())
    }

    fn handle_informational_response(
        &mut self,
        now: Instant,
        key: [u8; 8],
        kind: Request,
        _inner: Vec<Payload>,
    ) -> Result<(), ProtoError> {
        let id = IkeSaId(u64::from_be_bytes(key));
        match kind {
            Request::DeleteIke => {
                info!(id = %hex(&key), "IKE SA deleted");
                self.delete_children_events(key);
                self.remove_sa(key);
                self.events.push_back(Event::IkeSaDeleted { id });
                return Ok(());
            }
            Request::DeleteChild { spi_in, spi_out } => {
                if let Some(sa) = self.sas.get_mut(&key) {
                    sa.children.retain(|c| c.spi_in != spi_in);
                }
                info!(spi_in = %format!("{spi_in:08x}"), "Child SA deleted");
                self.events.push_back(Event::ChildSaDeleted {
                    ike: id,
                    spi_in,
                    spi_out,
                });
            }
            Request::Liveness => trace!("liveness check answered"),
            Request::RekeyChild { .. } | Request::RekeyIke => {}
            Request::SaInit | Request::Auth | Request::Raw => {}
        }
        self.send_queued(now, key)
    }

    fn delete_children_events(&mut self, key: [u8; 8]) {
        let id = IkeSaId(u64::from_be_bytes(key));
        if let Some(sa) = self.sas.get_mut(&key) {
            for c in sa.children.drain(..) {
                self.events.push_back(Event::ChildSaDeleted {
                    ike: id,
                    spi_in: c.spi_in,
                    spi_out: c.spi_out,
                });
            }
        }
    }

    fn remove_sa(&mut self, key: [u8; 8]) {
        if let Some(sa) = self.sas.remove(&key) {
            if sa.state == IkeState::InitAnswered {
                self.half_open = self.half_open.saturating_sub(1);
            }
            if sa.role == Role::Responder {
                self.init_index.remove(&(sa.remote, sa.spi_i));
            }
        }
    }

    fn fail_sa(&mut self, key: [u8; 8], e: &ProtoError) {
        let id = IkeSaId(u64::from_be_bytes(key));
        if let Some(sa) = self.sas.get(&key) {
            warn!(remote = %sa.remote, spi_i = %hex(&sa.spi_i), "IKE SA failed: {e}");
        }
        self.delete_children_events(key);
        self.remove_sa(key);
        self.events.push_back(Event::IkeSaFailed {
            id,
            reason: e.to_string(),
        });
    }

    // ------------------------------------------------------------------------------------
    // CREATE_CHILD_SA (RFC 7296 §1.3)

    /// Key exchange groups offered and accepted for perfect forward secrecy when Child SAs
    /// are rekeyed, in order of preference (empty, the default: no PFS).
    pub fn set_child_pfs_groups(&mut self, groups: Vec<Group>) {
        self.pfs_groups = groups;
    }

    /// Rekeys the Child SA with inbound SPI `spi_in` (RFC 7296 §1.3.3): a CREATE_CHILD_SA
    /// with N(REKEY_SA). The new Child SA is reported by [`Event::ChildSaEstablished`]; the old
    /// one stays until the INFORMATIONAL Delete that follows ([`Event::ChildSaDeleted`]).
    pub fn rekey_child(
        &mut self,
        now: Instant,
        ike_id: IkeSaId,
        spi_in: u32,
        spis: &mut dyn SpiAllocator,
    ) -> Result<(), ProtoError> {
        let key = ike_id.0.to_be_bytes();
        let ni = self.random(NONCE_LEN)?;
        let ke = match self.pfs_groups.first() {
            Some(g) => Some(self.provider.start_key_exchange(*g)?),
            None => None,
        };
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Config("no such IKE SA".into()))?;
        if sa.state != IkeState::Established {
            return Err(ProtoError::Config("IKE SA not established".into()));
        }
        if !sa.children.iter().any(|c| c.spi_in == spi_in) {
            return Err(ProtoError::Config("no such Child SA".into()));
        }
        if sa.child_rekey.is_some() || deleting_child(sa, spi_in) {
            return Err(ProtoError::Config(
                "Child SA is already being rekeyed or deleted".into(),
            ));
        }
        let new_spi_in = spis.allocate_spi();
        sa.child_rekey = Some(ChildRekey {
            old_spi_in: spi_in,
            new_spi_in,
            ni,
            ke,
            ke_retries: 0,
        });
        sa.queued
            .push_back(Request::RekeyChild { old_spi_in: spi_in });
        self.send_queued(now, key)
    }

    /// The inner payloads of our rekey request.
    fn rekey_child_payloads(&self, sa: &IkeSa) -> Result<Vec<Payload>, ProtoError> {
        let r = sa
            .child_rekey
            .as_ref()
            .ok_or(ProtoError::Internal("no rekey state"))?;
        let mut rekey = Notify::new(NotifyType::REKEY_SA, Vec::new());
        rekey.protocol = ProtocolId::ESP;
        rekey.spi = r.old_spi_in.to_be_bytes().to_vec();
        let mut proposals = proposal::esp_proposals(&self.config.esp_proposals, r.new_spi_in);
        for p in &mut proposals {
            p.transforms.extend(
                self.pfs_groups
                    .iter()
                    .map(|g| Transform::new(TransformType::KE, g.id())),
            );
        }
        let mut out = vec![
            Payload::new(PayloadBody::Notify(rekey)),
            Payload::new(PayloadBody::Sa(proposals)),
            Payload::new(PayloadBody::Nonce(r.ni.clone())),
        ];
        if let Some(ke) = &r.ke {
            out.push(Payload::new(PayloadBody::Ke(KePayload {
                group: ke.group().id(),
                data: ke.public_key().to_vec(),
            })));
        }
        out.push(Payload::new(PayloadBody::TsI(
            self.config.local_ts.iter().map(ts::to_wire).collect(),
        )));
        out.push(Payload::new(PayloadBody::TsR(
            self.config.remote_ts.iter().map(ts::to_wire).collect(),
        )));
        Ok(out)
    }

    fn handle_rekey_child_response(
        &mut self,
        now: Instant,
        key: [u8; 8],
        inner: Vec<Payload>,
        spis: &mut dyn SpiAllocator,
    ) -> Result<(), ProtoError> {
        let config = self.config.clone();
        let provider = self.provider.clone();
        let pfs_groups = self.pfs_groups.clone();
        let id = IkeSaId(u64::from_be_bytes(key));
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        let Some(mut r) = sa.child_rekey.take() else {
            return self.send_queued(now, key);
        };
        // §1.3: INVALID_KE_PAYLOAD names the group the responder wants; retry with it.
        if let Some(n) = find_notify(&inner, NotifyType::INVALID_KE_PAYLOAD)
            && let Some(g) = <[u8; 2]>::try_from(n.data.as_slice())
                .ok()
                .and_then(|b| Group::from_id(u16::from_be_bytes(b)))
            && pfs_groups.contains(&g)
            && r.ke_retries < MAX_KE_RETRIES
        {
            info!(
                group = g.id(),
                "Child SA rekey: peer asks for another key exchange group"
            );
            r.ke = Some(provider.start_key_exchange(g)?);
            let mut ni = vec![0u8; NONCE_LEN];
            provider.fill_random(&mut ni)?;
            r.ni = ni;
            r.ke_retries += 1;
            let old_spi_in = r.old_spi_in;
            sa.child_rekey = Some(r);
            sa.queued.push_front(Request::RekeyChild { old_spi_in });
            return self.send_queued(now, key);
        }
        let old_spi_in = r.old_spi_in;
        let answered = sa
            .answered_rekeys
            .iter()
            .position(|a| a.old_spi_in == old_spi_in)
            .map(|i| sa.answered_rekeys.remove(i));
        let result = (|| -> Result<(SaParams, EspSuite), ProtoError> {
            if let Some(n) = first_error_notify(&inner) {
                return Err(ProtoError::PeerError(
                    n.notify_type,
                    "Child SA rekey".into(),
                ));
            }
            let mut sa_p = None;
            let mut nr = None;
            let mut ke_p = None;
            let mut tsi = None;
            let mut tsr = None;
            for p in &inner {
                match &p.body {
                    PayloadBody::Sa(x) => sa_p = Some(x),
                    PayloadBody::Nonce(x) => nr = Some(x),
                    PayloadBody::Ke(x) => ke_p = Some(x),
                    PayloadBody::TsI(x) => tsi = Some(x),
                    PayloadBody::TsR(x) => tsr = Some(x),
                    _ => {}
                }
            }
            let sa_p = sa_p.ok_or(ProtoError::MissingPayload("SA"))?;
            let nr = nr.ok_or(ProtoError::MissingPayload("Nr"))?;
            check_nonce(nr)?;
            let [one] = sa_p.as_slice() else {
                return Err(ProtoError::InvalidPayload(
                    "rekey response must carry one proposal".into(),
                ));
            };
            let (stripped, groups) = strip_ke(std::slice::from_ref(one));
            let (_, esp, spi_out) = proposal::select_esp(&stripped, &config.esp_proposals)
                .ok_or_else(|| {
                    ProtoError::InvalidPayload(format!(
                        "responder chose ESP [{}], which we did not offer",
                        proposal::describe(sa_p)
                    ))
                })?;
            let chosen_group = groups.first().and_then(|(_, g)| g.first().copied());
            let g_ir = match (r.ke.take(), ke_p) {
                (Some(ke), Some(kp)) => {
                    if chosen_group != Some(ke.group().id()) || kp.group != ke.group().id() {
                        return Err(ProtoError::InvalidPayload(
                            "responder's KEr does not match our KEi group".into(),
                        ));
                    }
                    Some(ke.complete(&kp.data)?)
                }
                (None, None) => {
                    if chosen_group.is_some_and(|g| g != 0) {
                        return Err(ProtoError::InvalidPayload(
                            "responder chose a key exchange we did not offer".into(),
                        ));
                    }
                    None
                }
                (Some(_), None) => return Err(ProtoError::MissingPayload("KEr")),
                (None, Some(_)) => {
                    return Err(ProtoError::InvalidPayload("unexpected KEr".into()));
                }
            };
            let (tsi, tsr) = ts::check_narrowed(
                tsi.ok_or(ProtoError::MissingPayload("TSi"))?,
                tsr.ok_or(ProtoError::MissingPayload("TSr"))?,
                &config.local_ts,
                &config.remote_ts,
            )?;
            let params = child_params_with(
                &*provider,
                &config,
                sa,
                esp,
                (r.new_spi_in, spi_out),
                (tsi, tsr),
                ChildKeyInput {
                    we_initiated: true,
                    g_ir: g_ir.as_ref().map(|s| s.as_bytes()),
                    ni: &r.ni,
                    nr,
                },
            )?;
            Ok((params, esp))
        })();
        match result {
            Ok((params, esp)) => {
                let spi_in = r.new_spi_in;
                let spi_out = params.spi_out;
                sa.children.push(ChildSa {
                    spi_in,
                    spi_out,
                    suite: esp,
                });
                info!(old = %format!("{old_spi_in:08x}"), spi_in = %format!("{spi_in:08x}"), spi_out = %format!("{spi_out:08x}"), "Child SA rekeyed");
                self.events.push_back(Event::ChildSaEstablished {
                    ike: id,
                    params: Box::new(params),
                });
                // §2.8.1: after a collision the SA created with the lowest of the four
                // nonces is deleted by whoever created it; otherwise the old SA goes.
                let our_min = {
                    let ni = &r.ni;
                    let nr = inner.iter().find_map(|p| match &p.body {
                        PayloadBody::Nonce(n) => Some(n),
                        _ => None,
                    });
                    match nr {
                        Some(nr) if nr < ni => nr.clone(),
                        _ => ni.clone(),
                    }
                };
                let delete = match answered {
                    Some(a) if our_min < a.min_nonce => {
                        info!(spi_in = %format!("{spi_in:08x}"), "rekey collision lost; deleting our redundant Child SA");
                        spi_in
                    }
                    Some(a) => {
                        info!(peer_new = %format!("{:08x}", a.new_spi_in), "rekey collision won; the peer deletes its redundant Child SA");
                        old_spi_in
                    }
                    None => old_spi_in,
                };
                if let Some(c) = sa.children.iter().find(|c| c.spi_in == delete) {
                    let req = Request::DeleteChild {
                        spi_in: c.spi_in,
                        spi_out: c.spi_out,
                    };
                    sa.queued.push_front(req);
                }
            }
            Err(e) => {
                spis.release_spi(r.new_spi_in);
                warn!(error = %e, "Child SA rekey failed");
                self.events.push_back(Event::ChildSaFailed {
                    ike: id,
                    reason: e.to_string(),
                });
            }
        }
        self.send_queued(now, key)
    }

    /// Makes [`Endpoint::handle_timeout`] rekey every established IKE SA `after` it was
    /// started (a rekeyed one: after its rekey) (None, the default: never). Callers wanting jitter pass a randomised value.
    pub fn set_ike_rekey_time(&mut self, after: Option<Duration>) {
        self.ike_rekey_time = after;
    }

    /// Rekeys the IKE SA (RFC 7296 §1.3.2): a CREATE_CHILD_SA with a new IKE SPI, Ni and KEi.
    /// The new IKE SA takes over the Child SAs ([`Event::IkeSaRekeyed`]) and the old one is
    /// then deleted.
    pub fn rekey_ike(&mut self, now: Instant, ike_id: IkeSaId) -> Result<(), ProtoError> {
        let key = ike_id.0.to_be_bytes();
        let new_spi = self.new_ike_spi()?;
        let ni = self.random(NONCE_LEN)?;
        let sa = self
            .sas
            .get(&key)
            .ok_or(ProtoError::Config("no such IKE SA".into()))?;
        if sa.state != IkeState::Established || sa.ike_rekey.is_some() || sa.rekeyed {
            return Err(ProtoError::Config(
                "IKE SA not established or already being rekeyed".into(),
            ));
        }
        let group = sa.suite.ok_or(ProtoError::Internal("no suite"))?.group;
        let ke = self.provider.start_key_exchange(group)?;
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        sa.ike_rekey = Some(IkeRekey {
            new_spi,
            ni,
            ke: Some(ke),
            ke_retries: 0,
        });
        sa.queued.push_back(Request::RekeyIke);
        self.send_queued(now, key)
    }

    fn rekey_ike_payloads(&self, sa: &IkeSa) -> Result<Vec<Payload>, ProtoError> {
        let r = sa
            .ike_rekey
            .as_ref()
            .ok_or(ProtoError::Internal("no rekey state"))?;
        let ke = r.ke.as_ref().ok_or(ProtoError::Internal("no KE"))?;
        Ok(vec![
            Payload::new(PayloadBody::Sa(proposal::ike_proposals(
                &self.config.ike_proposals,
                &r.new_spi,
            ))),
            Payload::new(PayloadBody::Nonce(r.ni.clone())),
            Payload::new(PayloadBody::Ke(KePayload {
                group: ke.group().id(),
                data: ke.public_key().to_vec(),
            })),
        ])
    }

    /// Builds the new IKE SA of a rekey of `old_key` and keys it; the Child SAs move to it
    /// when `take_children`.
    #[allow(clippy::too_many_arguments)]
    fn install_rekeyed_ike_sa(
        &mut self,
        now: Instant,
        old_key: [u8; 8],
        role: Role,
        spi_i: [u8; 8],
        spi_r: [u8; 8],
        suite: IkeSuite,
        g_ir: &[u8],
        ni: Vec<u8>,
        nr: Vec<u8>,
        take_children: bool,
    ) -> Result<[u8; 8], ProtoError> {
        let provider = self.provider.clone();
        let config = self.config.clone();
        let old = self
            .sas
            .get_mut(&old_key)
            .ok_or(ProtoError::Internal("no SA"))?;
        let old_sk_d = old.sk_d.as_ref().ok_or(ProtoError::Internal("no SK_d"))?;
        let old_suite = old.suite.ok_or(ProtoError::Internal("no suite"))?;
        // §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the old PRF.
        let seed = rekey_skeyseed(
            &*provider,
            old_suite.prf,
            old_sk_d.as_bytes(),
            g_ir,
            &ni,
            &nr,
        )?;
        let children = if take_children {
            std::mem::take(&mut old.children)
        } else {
            Vec::new()
        };
        let mut sa = IkeSa {
            role,
            state: IkeState::Established,
            spi_i,
            spi_r,
            local: old.local,
            remote: old.remote,
            suite: None,
            group: suite.group,
            ke: None,
            ni,
            nr,
            msg1: Vec::new(),
            msg2: Vec::new(),
            cookie: None,
            cookie_tries: 0,
            ke_retries: 0,
            keys: None,
            sk_d: None,
            sk_pi: None,
            sk_pr: None,
            peer_rfc7427: old.peer_rfc7427,
            peer_certreq: old.peer_certreq,
            peer_frag: old.peer_frag,
            reassembly: None,
            nat_local: old.nat_local,
            nat_remote: old.nat_remote,
            next_request_mid: 0,
            expected_peer_mid: 0,
            pending: None,
            queued: VecDeque::new(),
            cached_response: None,
            pending_child: None,
            child_rekey: None,
            answered_rekeys: Vec::new(),
            ike_rekey: None,
            answered_ike_rekey: None,
            rekeyed: false,
            children,
            remote_id: old.remote_id.clone(),
            remote_auth_desc: old.remote_auth_desc.clone(),
            raw_response: None,
            created: now,
            last_recv: now,
        };
        install_ike_keys_with_seed(
            &*provider,
            config.key_log.as_deref(),
            &mut sa,
            suite,
            seed.as_bytes(),
        )?;
        let new_key = sa.our_spi();
        self.sas.insert(new_key, sa);
        Ok(new_key)
    }

    fn handle_rekey_ike_response(
        &mut self,
        now: Instant,
        key: [u8; 8],
        inner: Vec<Payload>,
    ) -> Result<(), ProtoError> {
        let config = self.config.clone();
        let provider = self.provider.clone();
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        let Some(mut r) = sa.ike_rekey.take() else {
            return self.send_queued(now, key);
        };
        if let Some(n) = find_notify(&inner, NotifyType::INVALID_KE_PAYLOAD)
            && let Some(g) = <[u8; 2]>::try_from(n.data.as_slice())
                .ok()
                .and_then(|b| Group::from_id(u16::from_be_bytes(b)))
            && config.ike_proposals.iter().any(|p| p.groups.contains(&g))
            && r.ke_retries < MAX_KE_RETRIES
        {
            r.ke = Some(provider.start_key_exchange(g)?);
            r.ke_retries += 1;
            let mut ni = vec![0u8; NONCE_LEN];
            provider.fill_random(&mut ni)?;
            r.ni = ni;
            sa.ike_rekey = Some(r);
            sa.queued.push_front(Request::RekeyIke);
            return self.send_queued(now, key);
        }
        let answered = sa.answered_ike_rekey.take();
        let parsed = (|| -> Result<_, ProtoError> {
            if let Some(n) = first_error_notify(&inner) {
                return Err(ProtoError::PeerError(n.notify_type, "IKE SA rekey".into()));
            }
            let mut sa_p = None;
            let mut nr = None;
            let mut ke_p = None;
            for p in &inner {
                match &p.body {
                    PayloadBody::Sa(x) => sa_p = Some(x),
                    PayloadBody::Nonce(x) => nr = Some(x.clone()),
                    PayloadBody::Ke(x) => ke_p = Some(x),
                    _ => {}
                }
            }
            let sa_p = sa_p.ok_or(ProtoError::MissingPayload("SA"))?;
            let nr = nr.ok_or(ProtoError::MissingPayload("Nr"))?;
            check_nonce(&nr)?;
            let ke_p = ke_p.ok_or(ProtoError::MissingPayload("KEr"))?;
            let suite =
                proposal::check_ike_choice(sa_p, &config.ike_proposals).ok_or_else(|| {
                    ProtoError::InvalidPayload(format!(
                        "responder chose IKE [{}], which we did not offer",
                        proposal::describe(sa_p)
                    ))
                })?;
            let spi_r = sa_p
                .first()
                .and_then(|p| <[u8; 8]>::try_from(p.spi.as_slice()).ok())
                .filter(|s| *s != [0; 8])
                .ok_or_else(|| ProtoError::InvalidPayload("responder's new IKE SPI".into()))?;
            let ke = r.ke.take().ok_or(ProtoError::Internal("no KE"))?;
            if ke_p.group != ke.group().id() || suite.group != ke.group() {
                return Err(ProtoError::InvalidPayload(
                    "responder's KEr does not match our KEi group".into(),
                ));
            }
            let g_ir = ke.complete(&ke_p.data)?;
            Ok((suite, spi_r, nr, g_ir))
        })();
        let (suite, spi_r, nr, g_ir) = match parsed {
            Ok(v) => v,
            Err(e) => {
                warn!(error = %e, "IKE SA rekey failed; the IKE SA stays");
                return self.send_queued(now, key);
            }
        };
        let our_min = std::cmp::min(r.ni.clone(), nr.clone());
        let lost = answered.as_ref().is_some_and(|a| our_min < a.1);
        // Without a collision, or when we won it, the Child SAs move to our new IKE SA.
        let new_key = self.install_rekeyed_ike_sa(
            now,
            key,
            Role::Initiator,
            r.new_spi,
            spi_r,
            suite,
            g_ir.as_bytes(),
            r.ni,
            nr,
            !lost,
        )?;
        if let Some((peer_new, _)) = answered
            && lost
            && let Some(old) = self.sas.get_mut(&key)
        {
            // §2.8.1: our new IKE SA is the redundant one; the peer's takes the Child SAs.
            let children = std::mem::take(&mut old.children);
            if let Some(s) = self.sas.get_mut(&peer_new) {
                s.children.extend(children);
            }
            info!(new = %hex(&new_key), "IKE SA rekey collision lost; deleting our redundant IKE SA");
            if let Some(s) = self.sas.get_mut(&new_key) {
                s.rekeyed = true;
                s.queued.push_back(Request::DeleteIke);
            }
            if let Some(old) = self.sas.get_mut(&key) {
                old.rekeyed = true;
            }
            self.events.push_back(Event::IkeSaRekeyed {
                old: IkeSaId(u64::from_be_bytes(key)),
                new: IkeSaId(u64::from_be_bytes(peer_new)),
            });
            self.send_queued(now, new_key)?;
            return self.send_queued(now, key);
        }
        if let Some((peer_new, _)) = answered {
            // We won: the peer deletes the SA it created; it carries no Child SA here.
            info!(redundant = %hex(&peer_new), "IKE SA rekey collision won");
            if let Some(s) = self.sas.get_mut(&peer_new) {
                s.rekeyed = true;
            }
        }
        info!(old = %hex(&key), new = %hex(&new_key), "IKE SA rekeyed");
        self.events.push_back(Event::IkeSaRekeyed {
            old: IkeSaId(u64::from_be_bytes(key)),
            new: IkeSaId(u64::from_be_bytes(new_key)),
        });
        if let Some(old) = self.sas.get_mut(&key) {
            old.rekeyed = true;
            old.queued.clear();
            old.queued.push_back(Request::DeleteIke);
        }
        self.send_queued(now, key)
    }

    fn handle_rekey_ike_request(
        &mut self,
        now: Instant,
        key: [u8; 8],
        mid: u32,
        inner: Vec<Payload>,
    ) -> Result<(), ProtoError> {
        let config = self.config.clone();
        let provider = self.provider.clone();
        let ex = ExchangeType::CREATE_CHILD_SA;
        let sa = self.sas.get(&key).ok_or(ProtoError::Internal("no SA"))?;
        if sa.state != IkeState::Established
            || sa.rekeyed
            || sa.child_rekey.is_some()
            || sa
                .pending
                .as_ref()
                .is_some_and(|p| matches!(p.kind, Request::DeleteIke))
        {
            // §2.25: rekeying an IKE SA that is being deleted, or while we rekey one of
            // its Child SAs, is refused for now.
            return self.reply_notify(key, mid, ex, NotifyType::TEMPORARY_FAILURE);
        }
        let mut sa_p = None;
        let mut ni = None;
        let mut ke_p = None;
        for p in &inner {
            match &p.body {
                PayloadBody::Sa(x) => sa_p = Some(x),
                PayloadBody::Nonce(x) => ni = Some(x.clone()),
                PayloadBody::Ke(x) => ke_p = Some(x),
                _ => {}
            }
        }
        let (Some(sa_p), Some(ni), Some(ke_p)) = (sa_p, ni, ke_p) else {
            return self.reply_notify(key, mid, ex, NotifyType::INVALID_SYNTAX);
        };
        let Some((number, suite)) = proposal::select_ike(sa_p, &config.ike_proposals) else {
            return self.reply_notify(key, mid, ex, NotifyType::NO_PROPOSAL_CHOSEN);
        };
        let Some(spi_i) = sa_p
            .iter()
            .find(|p| p.number == number)
            .and_then(|p| <[u8; 8]>::try_from(p.spi.as_slice()).ok())
            .filter(|s| *s != [0; 8])
        else {
            return self.reply_notify(key, mid, ex, NotifyType::INVALID_SYNTAX);
        };
        if ke_p.group != suite.group.id() {
            let sa = self
                .sas
                .get_mut(&key)
                .ok_or(ProtoError::Internal("no SA"))?;
            let n = notify(
                NotifyType::INVALID_KE_PAYLOAD,
                suite.group.id().to_be_bytes().to_vec(),
            );
            respond(sa, &*provider, &mut self.transmits, ex, mid, &[n])?;
            return Ok(());
        }
        let ke = provider.start_key_exchange(suite.group)?;
        let public = ke.public_key().to_vec();
        let g_ir = match ke.complete(&ke_p.data) {
            Ok(g) => g,
            Err(_) => return self.reply_notify(key, mid, ex, NotifyType::INVALID_SYNTAX),
        };
        let nr = self.random(NONCE_LEN)?;
        let spi_r = self.new_ike_spi()?;
        let colliding = self.sas.get(&key).is_some_and(|s| s.ike_rekey.is_some());
        let out = vec![
            Payload::new(PayloadBody::Sa(vec![proposal::ike_chosen(
                number, &spi_r, &suite,
            )])),
            Payload::new(PayloadBody::Nonce(nr.clone())),
            Payload::new(PayloadBody::Ke(KePayload {
                group: suite.group.id(),
                data: public,
            })),
        ];
        let min_nonce = std::cmp::min(ni.clone(), nr.clone());
        let new_key = self.install_rekeyed_ike_sa(
            now,
            key,
            Role::Responder,
            spi_i,
            spi_r,
            suite,
            g_ir.as_bytes(),
            ni,
            nr,
            !colliding,
        )?;
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        respond(sa, &*provider, &mut self.transmits, ex, mid, &out)?;
        if colliding {
            // §2.8.1: decided when our own rekey is answered.
            sa.answered_ike_rekey = Some((new_key, min_nonce));
        } else {
            sa.rekeyed = true;
            info!(old = %hex(&key), new = %hex(&new_key), "IKE SA rekeyed by peer");
            self.events.push_back(Event::IkeSaRekeyed {
                old: IkeSaId(u64::from_be_bytes(key)),
                new: IkeSaId(u64::from_be_bytes(new_key)),
            });
        }
        Ok(())
    }

    fn handle_create_child_request(
        &mut self,
        now: Instant,
        key: [u8; 8],
        mid: u32,
        inner: Vec<Payload>,
        spis: &mut dyn SpiAllocator,
    ) -> Result<(), ProtoError> {
        // RFC 7296 §3.9: a nonce outside 16..=256 octets is a syntax error.
        let bad_nonce = inner
            .iter()
            .any(|p| matches!(&p.body, PayloadBody::Nonce(n) if check_nonce(n).is_err()));
        if bad_nonce {
            return self.reply_notify(
                key,
                mid,
                ExchangeType::CREATE_CHILD_SA,
                NotifyType::INVALID_SYNTAX,
            );
        }
        let ike_sa = inner.iter().any(|p| {
            matches!(&p.body, PayloadBody::Sa(ps)
                if ps.first().is_some_and(|x| x.protocol == ProtocolId::IKE))
        });
        if ike_sa && find_notify(&inner, NotifyType::REKEY_SA).is_none() {
            return self.handle_rekey_ike_request(now, key, mid, inner);
        }
        let Some(rekey) = find_notify(&inner, NotifyType::REKEY_SA) else {
            // Further Child SAs (without REKEY_SA) are not offered.
            return self.reply_notify(
                key,
                mid,
                ExchangeType::CREATE_CHILD_SA,
                NotifyType::NO_ADDITIONAL_SAS,
            );
        };
        let config = self.config.clone();
        let provider = self.provider.clone();
        let pfs_groups = self.pfs_groups.clone();
        let id = IkeSaId(u64::from_be_bytes(key));
        let nr = self.random(NONCE_LEN)?;
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        let old = match <[u8; 4]>::try_from(rekey.spi.as_slice()) {
            Ok(b) if rekey.protocol == ProtocolId::ESP => {
                let spi = u32::from_be_bytes(b);
                sa.children
                    .iter()
                    .find(|c| c.spi_out == spi)
                    .map(|c| c.spi_in)
            }
            _ => None,
        };
        let Some(old_spi_in) = old else {
            debug!("rekey of an unknown Child SA");
            return self.reply_notify(
                key,
                mid,
                ExchangeType::CREATE_CHILD_SA,
                NotifyType::CHILD_SA_NOT_FOUND,
            );
        };
        if deleting_child(sa, old_spi_in) || sa.state != IkeState::Established {
            debug!(spi_in = %format!("{old_spi_in:08x}"), "rekey of a Child SA being deleted");
            return self.reply_notify(
                key,
                mid,
                ExchangeType::CREATE_CHILD_SA,
                NotifyType::TEMPORARY_FAILURE,
            );
        }
        let mut sa_p = None;
        let mut ni = None;
        let mut ke_p = None;
        let mut tsi = None;
        let mut tsr = None;
        for p in &inner {
            match &p.body {
                PayloadBody::Sa(x) => sa_p = Some(x),
                PayloadBody::Nonce(x) => ni = Some(x),
                PayloadBody::Ke(x) => ke_p = Some(x),
                PayloadBody::TsI(x) => tsi = Some(x),
                PayloadBody::TsR(x) => tsr = Some(x),
                _ => {}
            }
        }
        let (Some(sa_p), Some(ni), Some(tsi), Some(tsr)) = (sa_p, ni, tsi, tsr) else {
            return self.reply_notify(
                key,
                mid,
                ExchangeType::CREATE_CHILD_SA,
                NotifyType::INVALID_SYNTAX,
            );
        };
        // RFC 7296 §1.3: a KEi whose group is in none of the offers breaks the rules.
        if let Some(kp) = ke_p
            && !sa_p.iter().any(|p| {
                p.transforms
                    .iter()
                    .any(|t| t.transform_type == TransformType::KE && t.id == kp.group)
            })
        {
            debug!(group = kp.group, "KEi group not offered in the SA payload");
            return self.reply_notify(
                key,
                mid,
                ExchangeType::CREATE_CHILD_SA,
                NotifyType::INVALID_SYNTAX,
            );
        }
        // The first proposal acceptable with its key exchange: with PFS configured one of our
        // groups, without it none (or NONE).
        let (stripped, groups) = strip_ke(sa_p);
        let chosen = stripped.iter().zip(&groups).find_map(|(p, (_, offered))| {
            let (number, esp, spi_out) =
                proposal::select_esp(std::slice::from_ref(p), &config.esp_proposals)?;
            let group = if pfs_groups.is_empty() {
                if !offered.is_empty() && !offered.contains(&0) {
                    return None;
                }
                None
            } else {
                Some(
                    pfs_groups
                        .iter()
                        .copied()
                        .find(|g| offered.contains(&g.id()))?,
                )
            };
            Some((number, esp, spi_out, group))
        });
        let Some((number, esp, spi_out, group)) = chosen else {
            warn!(offered = %proposal::describe(sa_p), "Child SA rekey: no acceptable proposal");
            return self.reply_notify(
                key,
                mid,
                ExchangeType::CREATE_CHILD_SA,
                NotifyType::NO_PROPOSAL_CHOSEN,
            );
        };
        let g_ir_and_ke = match (group, ke_p) {
            (Some(g), Some(kp)) if kp.group == g.id() => {
                let ke = provider.start_key_exchange(g)?;
                let public = ke.public_key().to_vec();
                match ke.complete(&kp.data) {
                    Ok(s) => Some((s, public, g)),
                    Err(e) => {
                        debug!("bad KEi in rekey: {e}");
                        return self.reply_notify(
                            key,
                            mid,
                            ExchangeType::CREATE_CHILD_SA,
                            NotifyType::INVALID_SYNTAX,
                        );
                    }
                }
            }
            (Some(g), _) => {
                debug!(wanted = g.id(), "Child SA rekey: INVALID_KE_PAYLOAD");
                let sa = self
                    .sas
                    .get_mut(&key)
                    .ok_or(ProtoError::Internal("no SA"))?;
                let n = notify(
                    NotifyType::INVALID_KE_PAYLOAD,
                    g.id().to_be_bytes().to_vec(),
                );
                respond(
                    sa,
                    &*provider,
                    &mut self.transmits,
                    ExchangeType::CREATE_CHILD_SA,
                    mid,
                    &[n],
                )?;
                return Ok(());
            }
            (None, Some(_)) => {
                return self.reply_notify(
                    key,
                    mid,
                    ExchangeType::CREATE_CHILD_SA,
                    NotifyType::INVALID_SYNTAX,
                );
            }
            (None, None) => None,
        };
        let Ok((n_tsi, n_tsr)) = ts::narrow_offer(tsi, tsr, &config.local_ts, &config.remote_ts)
        else {
            return self.reply_notify(
                key,
                mid,
                ExchangeType::CREATE_CHILD_SA,
                NotifyType::TS_UNACCEPTABLE,
            );
        };
        let spi_in = spis.allocate_spi();
        let params = child_params_with(
            &*provider,
            &config,
            sa,
            esp,
            (spi_in, spi_out),
            (n_tsr.clone(), n_tsi.clone()),
            ChildKeyInput {
                we_initiated: false,
                g_ir: g_ir_and_ke.as_ref().map(|(s, _, _)| s.as_bytes()),
                ni,
                nr: &nr,
            },
        );
        let params = match params {
            Ok(p) => p,
            Err(e) => {
                spis.release_spi(spi_in);
                return Err(e);
            }
        };
        let mut chosen_p = proposal::esp_chosen(number, spi_in, &esp);
        let mut out = Vec::new();
        if let Some((_, _, g)) = &g_ir_and_ke {
            chosen_p
                .transforms
                .push(Transform::new(TransformType::KE, g.id()));
        }
        out.push(Payload::new(PayloadBody::Sa(vec![chosen_p])));
        out.push(Payload::new(PayloadBody::Nonce(nr.clone())));
        if let Some((_, public, g)) = g_ir_and_ke {
            out.push(Payload::new(PayloadBody::Ke(KePayload {
                group: g.id(),
                data: public,
            })));
        }
        out.push(Payload::new(PayloadBody::TsI(
            n_tsi.iter().map(ts::to_wire).collect(),
        )));
        out.push(Payload::new(PayloadBody::TsR(
            n_tsr.iter().map(ts::to_wire).collect(),
        )));
        // §2.8.1: remember an answered rekey of a Child SA we are rekeying ourselves.
        if sa
            .child_rekey
            .as_ref()
            .is_some_and(|r| r.old_spi_in == old_spi_in)
        {
            let min_nonce = if ni.as_slice() < nr.as_slice() {
                ni.clone()
            } else {
                nr.clone()
            };
            sa.answered_rekeys.push(AnsweredRekey {
                old_spi_in,
                new_spi_in: spi_in,
                min_nonce,
            });
        }
        let header = sa.header(ExchangeType::CREATE_CHILD_SA, mid, true);
        let keys = sa.keys.as_mut().ok_or(ProtoError::Internal("no keys"))?;
        let data = keys.seal(&*provider, header, &out)?;
        sa.cached_response = Some((mid, vec![data.clone()]));
        sa.expected_peer_mid = mid.wrapping_add(1);
        sa.children.push(ChildSa {
            spi_in,
            spi_out,
            suite: esp,
        });
        info!(old = %format!("{old_spi_in:08x}"), spi_in = %format!("{spi_in:08x}"), spi_out = %format!("{spi_out:08x}"), "Child SA rekeyed by peer");
        self.transmits.push_back(Transmit {
            local: sa.local,
            remote: sa.remote,
            data,
        });
        self.events.push_back(Event::ChildSaEstablished {
            ike: id,
            params: Box::new(params),
        });
        Ok(())
    }

    // ------------------------------------------------------------------------------------
    // Input

    /// Processes one received datagram (an IKE message without any non-ESP marker).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        spis: &mut dyn SpiAllocator,
    ) {
        let header = match Header::parse(data) {
            Ok(h) => h,
            Err(e) => {
                debug!(%remote, "dropping datagram: {e}");
                return;
            }
        };
        if header.version >> 4 != 2 {
            debug!(%remote, version = header.version, "dropping message of another IKE major version");
            return;
        }
        let msg = match Message::parse(data) {
            Ok(m) => m,
            Err(e) => {
                self.handle_unparsable(local, remote, &header, e);
                return;
            }
        };
        let is_response = header.flags.is_response();
        if header.exchange == ExchangeType::IKE_SA_INIT && !is_response {
            if let Err(e) = self.handle_sa_init_request(now, local, remote, &header, data, msg) {
                warn!(%remote, "IKE_SA_INIT request failed: {e}");
            }
            return;
        }
        // Our SPI: the peer marks whether it is the original initiator.
        let key = if header.flags.is_initiator() {
            header.spi_r
        } else {
            header.spi_i
        };
        let Some(sa) = self.sas.get_mut(&key) else {
            debug!(%remote, spi = %hex(&key), "message for an unknown IKE SA; dropped");
            return;
        };
        if header.exchange == ExchangeType::IKE_SA_INIT {
            // A response to our IKE_SA_INIT.
            if sa.role != Role::Initiator || header.message_id != 0 {
                return;
            }
            let r = self.handle_sa_init_response(now, key, &header, data, msg, spis);
            if let Err(e) = r {
                self.fail_sa(key, &e);
            }
            return;
        }
        // Everything else is protected: one SK payload, or one SKF fragment (RFC 7383).
        let Some(body) = msg.payloads.iter().find_map(|p| match &p.body {
            b @ (PayloadBody::Sk(_) | PayloadBody::Skf(_)) => Some(b),
            _ => None,
        }) else {
            debug!(%remote, "unprotected message after IKE_SA_INIT; dropped");
            return;
        };
        let (enc_data, sk_first, fragment) = match body {
            PayloadBody::Sk(sk) => (&sk.data, sk.first_inner, None),
            PayloadBody::Skf(f) => (&f.data, f.first_inner, Some(f)),
            _ => return,
        };
        let mid = header.message_id;
        if is_response {
            let Some(p) = &sa.pending else { return };
            if p.mid != mid {
                trace!(mid, "response with unexpected message ID; dropped");
                return;
            }
        } else if sa.state == IkeState::InitAnswered && mid != 1 {
            return;
        } else if mid.wrapping_add(1) == sa.expected_peer_mid {
            // §2.1: a retransmitted request gets the cached response, if authentic.
            // For a fragmented request, fragment 1 stands for the whole (RFC 7383 §2.6.1).
            let first = fragment.is_none_or(|f| f.number == 1);
            if let (Some((cmid, resp)), Some(keys), true) = (&sa.cached_response, &sa.keys, first)
                && *cmid == mid
                && keys.open_raw(data, enc_data).is_ok()
            {
                trace!(mid, "retransmitted request; resending cached response");
                for d in resp {
                    let t = Transmit {
                        local: sa.local,
                        remote: sa.remote,
                        data: d.clone(),
                    };
                    self.transmits.push_back(t);
                }
            }
            return;
        } else if mid != sa.expected_peer_mid {
            trace!(
                mid,
                expected = sa.expected_peer_mid,
                "request outside the window; dropped"
            );
            return;
        }
        let Some(keys) = &sa.keys else { return };
        let opened = match fragment {
            None => keys.open_raw(data, enc_data).map(|plain| (plain, sk_first)),
            Some(f) => match keys.open_raw(data, enc_data) {
                Err(e) => Err(e),
                Ok(plain) => {
                    let r = crate::frag::add(
                        &mut sa.reassembly,
                        mid,
                        is_response,
                        f.number,
                        f.total,
                        f.first_inner,
                        plain,
                    );
                    match r {
                        Ok(crate::frag::Fragment::Incomplete) => {
                            trace!(mid, number = f.number, total = f.total, "fragment stored");
                            sa.last_recv = now;
                            return;
                        }
                        Ok(crate::frag::Fragment::Complete(first, whole)) => {
                            debug!(
                                mid,
                                total = f.total,
                                len = whole.len(),
                                "fragmented message reassembled"
                            );
                            Ok((whole, first))
                        }
                        Err(e) => {
                            debug!(%remote, "fragment refused: {e}");
                            return;
                        }
                    }
                }
            },
        };
        let parsed = opened.and_then(|(plain, first)| {
            negotiator_wire::v2::parse_payloads(first, &plain).map_err(ProtoError::InnerSyntax)
        });
        let inner = match parsed {
            Ok(i) => i,
            Err(ProtoError::InnerSyntax(e)) if !is_response => {
                debug!(%remote, "malformed protected request: {e}");
                self.reply_protected_error(key, mid, header.exchange, &e);
                return;
            }
            Err(e) => {
                debug!(%remote, "protected message rejected: {e}");
                return;
            }
        };
        sa.last_recv = now;
        // Port float / address update only after authentication (RFC 7296 §2.23): a peer that
        // moved to its NAT-T port (or whose NAT mapping changed) is answered where it is now.
        if sa.local != local || sa.remote != remote {
            let to_natt = self.natt_ports.is_some_and(|(l, _)| local.port() == l);
            let from_natt = self
                .natt_ports
                .is_some_and(|(l, _)| sa.local.port() == l && local.port() != l);
            if !from_natt && (to_natt || sa.nat_local || sa.nat_remote) {
                info!(
                    old_local = %sa.local, old_remote = %sa.remote, %local, %remote,
                    "IKE SA moves to the addresses of an authenticated message"
                );
                if sa.role == Role::Responder
                    && sa.state == IkeState::InitAnswered
                    && let Some(v) = self.init_index.remove(&(sa.remote, sa.spi_i))
                {
                    self.init_index.insert((remote, sa.spi_i), v);
                }
                sa.local = local;
                sa.remote = remote;
            }
        }
        let r = if is_response {
            let kind = sa.pending.as_ref().map(|p| p.kind);
            match (header.exchange, kind) {
                (ExchangeType::IKE_AUTH, Some(Request::Auth)) => {
                    self.handle_auth_response(key, inner, now, spis)
                }
                (_, Some(Request::Raw)) => {
                    if let Some(sa) = self.sas.get_mut(&key) {
                        sa.pending = None;
                        sa.raw_response = Some(inner);
                    }
                    self.send_queued(now, key)
                }
                (ExchangeType::CREATE_CHILD_SA, Some(Request::RekeyChild { .. })) => {
                    if let Some(sa) = self.sas.get_mut(&key) {
                        sa.pending = None;
                    }
                    self.handle_rekey_child_response(now, key, inner, spis)
                }
                (ExchangeType::CREATE_CHILD_SA, Some(Request::RekeyIke)) => {
                    if let Some(sa) = self.sas.get_mut(&key) {
                        sa.pending = None;
                    }
                    self.handle_rekey_ike_response(now, key, inner)
                }
                (ExchangeType::INFORMATIONAL, Some(k)) => {
                    if let Some(sa) = self.sas.get_mut(&key) {
                        sa.pending = None;
                    }
                    self.handle_informational_response(now, key, k, inner)
                }
                _ => Ok(()),
            }
        } else {
            match header.exchange {
                ExchangeType::IKE_AUTH if sa.state == IkeState::InitAnswered => {
                    self.handle_auth_request(now, key, mid, inner, spis)
                }
                ExchangeType::INFORMATIONAL
                    if sa.state == IkeState::Established || sa.state == IkeState::Deleting =>
                {
                    self.handle_informational_request(key, mid, inner)
                }
                ExchangeType::CREATE_CHILD_SA
                    if sa.state == IkeState::Established || sa.state == IkeState::Deleting =>
                {
                    self.handle_create_child_request(now, key, mid, inner, spis)
                }
                _ => Ok(()),
            }
        };
        if let Err(e) = r {
            self.fail_sa(key, &e);
        }
    }

    fn reply_notify(
        &mut self,
        key: [u8; 8],
        mid: u32,
        exchange: ExchangeType,
        t: NotifyType,
    ) -> Result<(), ProtoError> {
        let provider = self.provider.clone();
        let sa = self
            .sas
            .get_mut(&key)
            .ok_or(ProtoError::Internal("no SA"))?;
        respond(
            sa,
            &*provider,
            &mut self.transmits,
            exchange,
            mid,
            &[notify(t, Vec::new())],
        )?;
        Ok(())
    }

    fn reply_protected_error(
        &mut self,
        key: [u8; 8],
        mid: u32,
        exchange: ExchangeType,
        e: &negotiator_wire::v2::Error,
    ) {
        let t = match e.kind {
            negotiator_wire::v2::ErrorKind::UnsupportedCriticalPayload(pt) => {
                let provider = self.provider.clone();
                if let Some(sa) = self.sas.get_mut(&key) {
                    let header = sa.header(exchange, mid, true);
                    if let Some(keys) = sa.keys.as_mut() {
                        let n = notify(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, vec![pt.0]);
                        if let Ok(data) = keys.seal(&*provider, header, &[n]) {
                            sa.cached_response = Some((mid, vec![data.clone()]));
                            sa.expected_peer_mid = mid.wrapping_add(1);
                            self.transmits.push_back(Transmit {
                                local: sa.local,
                                remote: sa.remote,
                                data,
                            });
                        }
                    }
                }
                return;
            }
            _ => NotifyType::INVALID_SYNTAX,
        };
        let _ = self.reply_notify(key, mid, exchange, t);
    }

    fn handle_unparsable(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        header: &Header,
        e: negotiator_wire::v2::Error,
    ) {
        // §2.5: an unknown critical payload in an IKE_SA_INIT request is answered, unprotected.
        if let negotiator_wire::v2::ErrorKind::UnsupportedCriticalPayload(pt) = e.kind
            && header.exchange == ExchangeType::IKE_SA_INIT
            && !header.flags.is_response()
            && header.message_id == 0
            && header.spi_r == [0; 8]
        {
            let h = Header {
                spi_i: header.spi_i,
                spi_r: [0; 8],
                next_payload: PayloadType::NONE,
                version: 0x20,
                exchange: ExchangeType::IKE_SA_INIT,
                flags: Flags::RESPONSE,
                message_id: 0,
                length: 0,
            };
            let m = Message {
                header: h,
                payloads: vec![notify(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, vec![pt.0])],
            };
            debug!(%remote, "unsupported critical payload {pt:?} in IKE_SA_INIT");
            self.transmits.push_back(Transmit {
                local,
                remote,
                data: m.encode(),
            });
            return;
        }
        debug!(%remote, "dropping malformed message: {e}");
    }

    // ------------------------------------------------------------------------------------
    // Time

    /// The earliest instant at which [`Endpoint::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut at = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        for sa in self.sas.values() {
            if let Some(p) = &sa.pending {
                at(p.deadline);
            }
            if sa.state == IkeState::InitAnswered {
                at(sa.created + self.config.half_open_timeout);
            }
            if let (Some(d), IkeState::Established, None) =
                (self.config.dpd_interval, sa.state, &sa.pending)
            {
                at(sa.last_recv + d);
            }
            if let (Some(r), IkeState::Established, None, false) =
                (self.ike_rekey_time, sa.state, &sa.ike_rekey, sa.rekeyed)
            {
                at(sa.created + r);
            }
        }
        t
    }

    /// Runs retransmissions, half-open expiry and liveness checks due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let rt = self.config.retransmit;
        let mut failed = Vec::new();
        let mut expired = Vec::new();
        let mut dpd = Vec::new();
        let mut rekey = Vec::new();
        for (key, sa) in &mut self.sas {
            if let (Some(r), IkeState::Established, None, false) =
                (self.ike_rekey_time, sa.state, &sa.ike_rekey, sa.rekeyed)
                && sa.created + r <= now
            {
                rekey.push(*key);
            }
            if let Some(p) = &mut sa.pending
                && p.deadline <= now
            {
                if p.retries >= rt.max_retransmits {
                    let what = match p.kind {
                        Request::SaInit => "IKE_SA_INIT",
                        Request::Auth => "IKE_AUTH",
                        Request::Liveness => "liveness",
                        Request::RekeyChild { .. } | Request::RekeyIke => "CREATE_CHILD_SA",
                        _ => "INFORMATIONAL",
                    };
                    failed.push((*key, what));
                    continue;
                }
                p.retries += 1;
                let factor = rt
                    .backoff
                    .powi(i32::try_from(p.retries).unwrap_or(i32::MAX));
                p.deadline = now + rt.initial_timeout.mul_f64(factor.min(1e6));
                debug!(mid = p.mid, retries = p.retries, "retransmitting request");
                for data in &p.data {
                    self.transmits.push_back(Transmit {
                        local: sa.local,
                        remote: sa.remote,
                        data: data.clone(),
                    });
                }
            }
            if sa.state == IkeState::InitAnswered
                && sa.created + self.config.half_open_timeout <= now
            {
                expired.push(*key);
            }
            if let (Some(d), IkeState::Established, None) =
                (self.config.dpd_interval, sa.state, &sa.pending)
                && sa.last_recv + d <= now
            {
                dpd.push(*key);
            }
        }
        for (key, what) in failed {
            self.fail_sa(key, &ProtoError::Timeout(what));
        }
        for key in expired {
            debug!(spi_r = %hex(&key), "half-open IKE SA expired");
            self.remove_sa(key);
        }
        for key in rekey {
            let id = IkeSaId(u64::from_be_bytes(key));
            if let Err(e) = self.rekey_ike(now, id) {
                debug!(id = %hex(&key), "IKE SA rekey not started: {e}");
                // Try again one rekey period later rather than at every call.
                if let Some(sa) = self.sas.get_mut(&key) {
                    sa.created = now;
                }
            }
        }
        for key in dpd {
            if let Some(sa) = self.sas.get_mut(&key) {
                sa.last_recv = now;
            }
            let _ = self.liveness_check(now, IkeSaId(u64::from_be_bytes(key)));
        }
    }

    /// Drops every IKE SA without telling the peer.
    pub fn clear(&mut self) {
        self.sas.clear();
        self.init_index.clear();
        self.half_open = 0;
    }
}

/// Seals a response to request `mid`, keeps it for replay to a retransmitted request
/// (RFC 7296 §2.1), moves the peer's window on and queues it for sending.
fn respond(
    sa: &mut IkeSa,
    provider: &dyn CryptoProvider,
    transmits: &mut VecDeque<Transmit>,
    exchange: ExchangeType,
    mid: u32,
    inner: &[Payload],
) -> Result<(), ProtoError> {
    let header = sa.header(exchange, mid, true);
    let keys = sa.keys.as_mut().ok_or(ProtoError::Internal("no keys"))?;
    let data = keys.seal(provider, header, inner)?;
    sa.cached_response = Some((mid, vec![data.clone()]));
    sa.expected_peer_mid = mid.wrapping_add(1);
    transmits.push_back(Transmit {
        local: sa.local,
        remote: sa.remote,
        data,
    });
    Ok(())
}

fn check_nonce(n: &[u8]) -> Result<(), ProtoError> {
    // RFC 7296 §3.9: between 16 and 256 octets.
    if (16..=256).contains(&n.len()) {
        Ok(())
    } else {
        Err(ProtoError::InvalidPayload(format!(
            "nonce of {} octets",
            n.len()
        )))
    }
}

fn detect_nat(sa: &mut IkeSa, payloads: &[Payload]) {
    // The hashes in a message cover the SPIs of its header: SPIr is zero in the request.
    let spi_r = if sa.role == Role::Responder {
        [0u8; 8]
    } else {
        sa.spi_r
    };
    let src = find_notify(payloads, NotifyType::NAT_DETECTION_SOURCE_IP);
    let dst = find_notify(payloads, NotifyType::NAT_DETECTION_DESTINATION_IP);
    if let (Some(src), Some(dst)) = (src, dst) {
        let expect_src = nat_hash(&sa.spi_i, &spi_r, sa.remote);
        let expect_dst = nat_hash(&sa.spi_i, &spi_r, sa.local);
        sa.nat_remote = src.data != expect_src;
        sa.nat_local = dst.data != expect_dst;
        if sa.nat_local || sa.nat_remote {
            info!(local = sa.nat_local, remote = sa.nat_remote, "NAT detected");
        }
    }
}

fn install_ike_keys(
    p: &dyn CryptoProvider,
    key_log: Option<&dyn crate::config::KeyLog>,
    sa: &mut IkeSa,
    suite: IkeSuite,
    g_ir: &[u8],
) -> Result<(), ProtoError> {
    let seed = skeyseed(p, suite.prf, &sa.ni, &sa.nr, g_ir)?;
    install_ike_keys_with_seed(p, key_log, sa, suite, seed.as_bytes())
}

/// Derives and installs the IKE SA keys from SKEYSEED (RFC 7296 §2.14).
fn install_ike_keys_with_seed(
    p: &dyn CryptoProvider,
    key_log: Option<&dyn crate::config::KeyLog>,
    sa: &mut IkeSa,
    suite: IkeSuite,
    seed: &[u8],
) -> Result<(), ProtoError> {
    let k = derive_ike_sa_keys(
        p,
        suite.prf,
        suite.encr,
        suite.integ,
        seed,
        &sa.ni,
        &sa.nr,
        &sa.spi_i,
        &sa.spi_r,
    )?;
    if let Some(log) = key_log {
        log.ike_sa_keys(
            &sa.spi_i,
            &sa.spi_r,
            suite.encr,
            suite.integ,
            k.sk_ei.as_bytes(),
            k.sk_er.as_bytes(),
            k.sk_ai.as_bytes(),
            k.sk_ar.as_bytes(),
        );
    }
    let keys = match sa.role {
        Role::Initiator => SkKeys::new(
            p,
            suite.encr,
            suite.integ,
            k.sk_ei.as_bytes(),
            k.sk_er.as_bytes(),
            k.sk_ai.as_bytes(),
            k.sk_ar.as_bytes(),
        )?,
        Role::Responder => SkKeys::new(
            p,
            suite.encr,
            suite.integ,
            k.sk_er.as_bytes(),
            k.sk_ei.as_bytes(),
            k.sk_ar.as_bytes(),
            k.sk_ai.as_bytes(),
        )?,
    };
    sa.keys = Some(keys);
    sa.sk_d = Some(k.sk_d.clone());
    sa.sk_pi = Some(k.sk_pi.clone());
    sa.sk_pr = Some(k.sk_pr.clone());
    sa.suite = Some(suite);
    Ok(())
}

fn local_auth_payload(
    p: &dyn CryptoProvider,
    config: &Config,
    suite: IkeSuite,
    peer_rfc7427: bool,
    octets: &[u8],
) -> Result<negotiator_wire::v2::Authentication, ProtoError> {
    match &config.local_auth {
        LocalAuth::Psk(psk) => auth::psk_payload(p, suite.prf, psk, octets),
        LocalAuth::Certificate { key, .. } => auth::sign_payload(key, octets, peer_rfc7427),
    }
}

fn push_certs(out: &mut Vec<Payload>, chain: &[Vec<u8>]) {
    // The leaf and any intermediates; a self-signed root at the end is left out, since the
    // peer must already trust it.
    let n = if chain.len() > 1 {
        chain.len() - 1
    } else {
        chain.len()
    };
    for c in &chain[..n] {
        out.push(Payload::new(PayloadBody::Cert(Certificate {
            encoding: CertEncoding::X509_SIGNATURE,
            data: c.clone(),
        })));
    }
}

fn certreq(anchors: &[Vec<u8>]) -> Payload {
    // RFC 7296 §3.7: concatenated SHA-1 hashes of the trusted CAs' public keys.
    let mut data = Vec::with_capacity(anchors.len() * 20);
    for a in anchors {
        if let Some(spki) = spki_of(a) {
            data.extend_from_slice(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &spki)
                    .as_ref(),
            );
        }
    }
    Payload::new(PayloadBody::CertReq(Certificate {
        encoding: CertEncoding::X509_SIGNATURE,
        data,
    }))
}

/// The DER SubjectPublicKeyInfo of a DER certificate.
fn spki_of(cert: &[u8]) -> Option<Vec<u8>> {
    use der::{Decode, Encode};
    let c = x509_cert::Certificate::from_der(cert).ok()?;
    c.tbs_certificate().subject_public_key_info().to_der().ok()
}

#[allow(clippy::too_many_arguments)]
fn verify_peer(
    config: &Config,
    id: &Identification,
    auth_p: &negotiator_wire::v2::Authentication,
    certs: &[Vec<u8>],
    octets: &[u8],
    p: &dyn CryptoProvider,
    suite: IkeSuite,
    unix: u64,
) -> Result<String, ProtoError> {
    let peer_id = Identity::from_payload(id);
    if let Some(want) = &config.remote_id
        && *want != peer_id
    {
        return Err(ProtoError::Authentication(format!(
            "peer identity {peer_id} is not the configured {want}"
        )));
    }
    match &config.remote_auth {
        RemoteAuth::Psk(psk) => {
            auth::psk_verify(p, suite.prf, psk, octets, auth_p)?;
            Ok("psk".into())
        }
        RemoteAuth::Certificate { anchors, crls } => {
            if auth_p.method == AuthMethod::SHARED_KEY_MIC {
                return Err(ProtoError::Authentication(
                    "peer used a pre-shared key, we require a certificate".into(),
                ));
            }
            let Some((leaf, intermediates)) = certs.split_first() else {
                return Err(ProtoError::Authentication(
                    "peer sent no certificate".into(),
                ));
            };
            // RFC 4945 §3.1: the identity must be confirmed by the certificate: a DN equals
            // the subject, other types appear in subjectAltName.
            use negotiator_pki::validate::PeerIdentity;
            let ids: Vec<PeerIdentity> = match id.id_type {
                IdType::DER_ASN1_DN => Vec::new(),
                IdType::FQDN => vec![PeerIdentity::Dns(String::from_utf8_lossy(&id.data).into())],
                IdType::RFC822_ADDR => {
                    vec![PeerIdentity::Email(
                        String::from_utf8_lossy(&id.data).into(),
                    )]
                }
                IdType::IPV4_ADDR | IdType::IPV6_ADDR => match ip_of_id(id) {
                    Some(a) => vec![PeerIdentity::Ip(a)],
                    None => {
                        return Err(ProtoError::Authentication(format!(
                            "malformed IP address identity {peer_id}"
                        )));
                    }
                },
                other => {
                    return Err(ProtoError::Authentication(format!(
                        "identity type {other:?} cannot be matched against a certificate"
                    )));
                }
            };
            let mut opts = negotiator_pki::validate::ValidationOptions::at(
                i64::try_from(unix).unwrap_or(i64::MAX),
            );
            if !crls.is_empty() {
                // With CRLs configured, an unknown status is a failure (RFC 5280 §6.3).
                opts.revocation = negotiator_pki::validate::RevocationMode::Require;
            }
            let path = negotiator_pki::validate::validate_peer(
                leaf,
                intermediates,
                anchors,
                crls,
                &opts,
                &ids,
            )
            .map_err(|e| {
                ProtoError::Authentication(format!("certificate of {peer_id} refused: {e}"))
            })?;
            let subject = path.path.first().cloned().unwrap_or_default();
            if id.id_type == IdType::DER_ASN1_DN
                && subject_of(leaf).as_deref() != Some(&id.data[..])
            {
                return Err(ProtoError::Authentication(format!(
                    "identity {peer_id} is not the subject of certificate \"{subject}\""
                )));
            }
            let spki = spki_of(leaf).ok_or_else(|| {
                ProtoError::Authentication("peer certificate has no readable public key".into())
            })?;
            auth::verify_signature_payload(&spki, octets, auth_p)?;
            Ok(format!(
                "certificate \"{subject}\" (method {}, revocation {})",
                auth_p.method.0,
                path.revocation.as_str()
            ))
        }
    }
}

fn ip_of_id(id: &Identification) -> Option<IpAddr> {
    match id.data.len() {
        4 => <[u8; 4]>::try_from(id.data.as_slice())
            .ok()
            .map(IpAddr::from),
        16 => <[u8; 16]>::try_from(id.data.as_slice())
            .ok()
            .map(IpAddr::from),
        _ => None,
    }
}

/// The DER subject Name of a DER certificate.
fn subject_of(cert: &[u8]) -> Option<Vec<u8>> {
    use der::{Decode, Encode};
    let c = x509_cert::Certificate::from_der(cert).ok()?;
    c.tbs_certificate().subject().to_der().ok()
}

/// Whether a Delete of the Child SA with inbound SPI `spi_in` is queued or in flight.
fn deleting_child(sa: &IkeSa, spi_in: u32) -> bool {
    let is_it = |r: &Request| matches!(r, Request::DeleteChild { spi_in: s, .. } if *s == spi_in);
    sa.state == IkeState::Deleting
        || sa.queued.iter().any(is_it)
        || sa.pending.as_ref().is_some_and(|p| is_it(&p.kind))
}

/// Proposals without their KE transforms, and the KE transform IDs of each proposal number.
type KeByProposal = Vec<(u8, Vec<u16>)>;

fn strip_ke(
    offer: &[negotiator_wire::v2::Proposal],
) -> (Vec<negotiator_wire::v2::Proposal>, KeByProposal) {
    let mut groups = Vec::new();
    let stripped = offer
        .iter()
        .map(|p| {
            let mut p = p.clone();
            let ke: Vec<u16> = p
                .transforms
                .iter()
                .filter(|t| t.transform_type == TransformType::KE)
                .map(|t| t.id)
                .collect();
            p.transforms
                .retain(|t| t.transform_type != TransformType::KE);
            groups.push((p.number, ke));
            p
        })
        .collect();
    (stripped, groups)
}

/// What the KEYMAT of a Child SA is computed from (RFC 7296 §2.17).
struct ChildKeyInput<'a> {
    /// Whether we initiated the exchange that creates the Child SA.
    we_initiated: bool,
    /// g^ir of the exchange's key exchange (PFS), if any.
    g_ir: Option<&'a [u8]>,
    ni: &'a [u8],
    nr: &'a [u8],
}

#[allow(clippy::too_many_arguments)]
fn child_params(
    p: &dyn CryptoProvider,
    config: &Config,
    sa: &IkeSa,
    esp: EspSuite,
    spi_in: u32,
    spi_out: u32,
    local_ts: Vec<TsRange>,
    remote_ts: Vec<TsRange>,
) -> Result<SaParams, ProtoError> {
    // The first Child SA: keyed from the IKE SA's nonces, its initiator is the IKE initiator.
    child_params_with(
        p,
        config,
        sa,
        esp,
        (spi_in, spi_out),
        (local_ts, remote_ts),
        ChildKeyInput {
            we_initiated: sa.role == Role::Initiator,
            g_ir: None,
            ni: &sa.ni,
            nr: &sa.nr,
        },
    )
}

/// A Child SA's parameters; `spis` is (inbound, outbound), `tss` is (local, remote).
fn child_params_with(
    p: &dyn CryptoProvider,
    config: &Config,
    sa: &IkeSa,
    esp: EspSuite,
    spis: (u32, u32),
    tss: (Vec<TsRange>, Vec<TsRange>),
    k: ChildKeyInput<'_>,
) -> Result<SaParams, ProtoError> {
    let (spi_in, spi_out) = spis;
    let (local_ts, remote_ts) = tss;
    let sk_d = sa.sk_d.as_ref().ok_or(ProtoError::Internal("no SK_d"))?;
    let suite = sa.suite.ok_or(ProtoError::Internal("no suite"))?;
    let enc_len = esp.encr.key_len();
    let integ_len = esp.integ.map_or(0, |i| i.key_len());
    // RFC 7296 §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); keys for the direction
    // from the exchange's initiator come first, encryption before integrity.
    let keymat = child_keymat(
        p,
        suite.prf,
        sk_d.as_bytes(),
        k.g_ir,
        k.ni,
        k.nr,
        2 * (enc_len + integ_len),
    )?;
    let km = keymat.as_bytes();
    let part = |o: usize, l: usize| {
        km.get(o..o + l)
            .map(|s| Secret::new(s.to_vec()))
            .ok_or(ProtoError::Internal("short KEYMAT"))
    };
    let i_to_r = SaKeys {
        encr: esp.encr,
        enc_key: part(0, enc_len)?,
        integ: esp.integ,
        integ_key: part(enc_len, integ_len)?,
    };
    let r_to_i = SaKeys {
        encr: esp.encr,
        enc_key: part(enc_len + integ_len, enc_len)?,
        integ: esp.integ,
        integ_key: part(2 * enc_len + integ_len, integ_len)?,
    };
    let (inbound, outbound) = if k.we_initiated {
        (r_to_i, i_to_r)
    } else {
        (i_to_r, r_to_i)
    };
    let encap = (config.force_udp_encap || sa.nat_local || sa.nat_remote).then_some(UdpEncap {
        local_port: sa.local.port(),
        remote_port: sa.remote.port(),
    });
    Ok(SaParams {
        ike_sa: u64::from_be_bytes(sa.our_spi()),
        spi_in,
        spi_out,
        local: sa.local.ip(),
        remote: sa.remote.ip(),
        encap,
        mode: Mode::Tunnel,
        local_ts,
        remote_ts,
        inbound,
        outbound,
        lifetime: config.child_lifetime,
        replay_window: config.replay_window,
    })
}

/// Lower-case hex of a byte string.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

#[allow(dead_code)]
fn _assert_send(e: Endpoint) -> impl Send {
    e
}

#[allow(dead_code)]
const _: Duration = Duration::from_secs(0);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EspProposal, IkeProposal, RetransmitConfig, default_child_lifetime};
    use negotiator_crypto::{Encr, Integ, Prf, default_provider};
    use negotiator_wire::v2::encode_payloads;

    struct Counter(u32);
    impl SpiAllocator for Counter {
        fn allocate_spi(&mut self) -> u32 {
            self.0 += 1;
            self.0
        }
        fn release_spi(&mut self, _: u32) {}
    }

    fn config(id: &str) -> Config {
        let (l, r) = (
            negotiator_sadb::TsRange::any_v4(),
            negotiator_sadb::TsRange::any_v4(),
        );
        Config {
            local_id: Identity::fqdn(id),
            remote_id: None,
            local_auth: LocalAuth::Psk(Secret::new(b"fragments".to_vec())),
            remote_auth: RemoteAuth::Psk(Secret::new(b"fragments".to_vec())),
            ike_proposals: vec![IkeProposal {
                encr: vec![Encr::AesCbc128],
                integ: vec![Integ::HmacSha256_128],
                prf: vec![Prf::HmacSha256],
                groups: vec![Group::Curve25519],
            }],
            esp_proposals: vec![EspProposal {
                encr: vec![Encr::AesGcm16_128],
                integ: vec![],
            }],
            local_ts: vec![l],
            remote_ts: vec![r],
            retransmit: RetransmitConfig::default(),
            cookie_threshold: 100,
            half_open_timeout: Duration::from_secs(30),
            dpd_interval: None,
            child_lifetime: default_child_lifetime(),
            replay_window: 64,
            force_udp_encap: false,
            key_log: None,
        }
    }

    /// Moves datagrams until both are quiet; returns what b sent.
    fn pump(a: &mut Endpoint, b: &mut Endpoint, now: Instant) -> Vec<Transmit> {
        let (mut sa, mut sb) = (Counter(1000), Counter(2000));
        let mut from_b = Vec::new();
        loop {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                moved = true;
                b.handle_datagram(now, t.remote, t.local, &t.data, &mut sb);
            }
            while let Some(t) = b.poll_transmit() {
                moved = true;
                a.handle_datagram(now, t.remote, t.local, &t.data, &mut sa);
                from_b.push(t);
            }
            if !moved {
                return from_b;
            }
        }
    }

    #[test]
    fn fragmented_request_is_reassembled_in_any_order_and_answered_once() {
        let now = Instant::now();
        let p = default_provider();
        let ia: SocketAddr = "192.0.2.1:500".parse().unwrap();
        let ib: SocketAddr = "192.0.2.2:500".parse().unwrap();
        let mut a = Endpoint::new(Arc::new(config("a")), p.clone(), (now, 0)).unwrap();
        let mut b = Endpoint::new(Arc::new(config("b")), p.clone(), (now, 0)).unwrap();
        let id = a.initiate(now, ia, ib).unwrap();
        pump(&mut a, &mut b, now);
        let ib_sas = b.ike_sas();
        assert_eq!(ib_sas.len(), 1);
        assert_eq!(ib_sas[0].state, IkeState::Established);
        // Both announced fragmentation support in IKE_SA_INIT.
        let key = id.0.to_be_bytes();
        assert!(a.sas[&key].peer_frag);
        assert!(b.sas[&ib_sas[0].id.0.to_be_bytes()].peer_frag);
        // a sends an INFORMATIONAL request (Delete of the IKE SA plus a notify to make it
        // longer) as three SKF fragments, last first, fragment 1 twice.
        let inner = vec![
            notify(NotifyType(40000), vec![0x5a; 100]),
            Payload::new(PayloadBody::Delete(Delete {
                protocol: ProtocolId::IKE,
                spi_size: 0,
                spis: Vec::new(),
            })),
        ];
        let mut plain = Vec::new();
        let first = encode_payloads(&inner, &mut plain);
        let chunks: Vec<Vec<u8>> = plain.chunks(50).map(<[u8]>::to_vec).collect();
        assert_eq!(chunks.len(), 3);
        let sa = a.sas.get_mut(&key).unwrap();
        let mid = sa.next_request_mid;
        let header = sa.header(ExchangeType::INFORMATIONAL, mid, false);
        let keys = sa.keys.as_mut().unwrap();
        let mut frags = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let n = u16::try_from(i + 1).unwrap();
            let np = if n == 1 { first } else { PayloadType::NONE };
            frags.push(
                keys.seal_raw(&*p, header.clone(), np, c.clone(), Some((n, 3)))
                    .unwrap(),
            );
        }
        let mut spis = Counter(3000);
        for i in [2usize, 0, 0] {
            b.handle_datagram(now, ib, ia, &frags[i], &mut spis);
            assert!(
                b.poll_transmit().is_none(),
                "no answer before the last fragment"
            );
        }
        // A forged fragment 2 (one bit flipped in its ciphertext) is ignored.
        let mut forged = frags[1].clone();
        let at = forged.len() - 20;
        forged[at] ^= 1;
        b.handle_datagram(now, ib, ia, &forged, &mut spis);
        assert!(b.poll_transmit().is_none());
        assert_eq!(b.ike_sas().len(), 1);
        b.handle_datagram(now, ib, ia, &frags[1], &mut spis);
        let resp = b
            .poll_transmit()
            .expect("the reassembled request is answered");
        assert_eq!(Header::parse(&resp.data).unwrap().message_id, mid);
        assert!(b.ike_sas().is_empty(), "the Delete inside took effect");
        assert!(
            std::iter::from_fn(|| b.poll_event()).any(|e| matches!(e, Event::IkeSaDeleted { .. }))
        );
    }
}
