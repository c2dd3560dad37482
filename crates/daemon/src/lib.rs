//! The tokio side of Negotiator: one task per node drives the sans-IO IKE core
//! ([`negotiator_proto::Endpoint`]), the SA database ([`negotiator_sadb::SaDb`]) and the
//! userspace ESP engine ([`negotiator_esp::EspEngine`]) over two UDP sockets.
//!
//! A node has an IKE socket (port-500 style: IKE messages without a marker) and a NAT-T
//! socket (port-4500 style, RFC 3948: ESP-in-UDP, IKE behind a non-ESP marker, keepalives).
//! Without root the ports are ephemeral, so the peer's NAT-T port is configured.

#![forbid(unsafe_code)]

pub mod config;
pub mod control;
pub mod service;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use negotiator_crypto::CryptoProvider;
use negotiator_esp::{EspEngine, UdpEncapKind, classify_udp_encap};
use negotiator_proto::{Config, Endpoint, Event, IkeSaId, IkeSaInfo, SpiAllocator};
use negotiator_sadb::{AcquireResult, Engine, SaDb, SadbEvent};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

/// Largest datagram we read.
const MAX_DATAGRAM: usize = 65535;
/// Packets held per destination while an SA is negotiated (acquire).
const ACQUIRE_QUEUE: usize = 32;

/// What a node is.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// A name for logs.
    pub name: String,
    /// The IKE configuration.
    pub ike: Arc<Config>,
    /// Address for both sockets.
    pub bind: IpAddr,
    /// IKE port (0: ephemeral).
    pub ike_port: u16,
    /// NAT-T / ESP-in-UDP port (0: ephemeral).
    pub natt_port: u16,
    /// The peer's IKE address, for acquires (negotiation on traffic).
    pub peer: Option<SocketAddr>,
    /// The peer's NAT-T port (4500 for a standard peer).
    pub peer_natt_port: u16,
}

/// One Child SA's status.
#[derive(Debug, Clone)]
pub struct ChildSaStatus {
    /// Inbound SPI.
    pub spi_in: u32,
    /// Outbound SPI.
    pub spi_out: u32,
    /// Encryption algorithm name.
    pub encryption: String,
    /// Integrity algorithm name, if not AEAD.
    pub integrity: Option<String>,
    /// Packets decrypted.
    pub packets_in: u64,
    /// Packets encrypted.
    pub packets_out: u64,
    /// Bytes decrypted.
    pub bytes_in: u64,
    /// Bytes encrypted.
    pub bytes_out: u64,
    /// Packets dropped by the anti-replay window.
    pub replay_drops: u64,
    /// Packets whose ICV did not verify.
    pub auth_failures: u64,
    /// The IKE SA that negotiated it (the SA database's tag).
    pub ike_sa: u64,
    /// Our traffic selectors.
    pub local_ts: Vec<negotiator_sadb::TsRange>,
    /// The peer's traffic selectors.
    pub remote_ts: Vec<negotiator_sadb::TsRange>,
    /// Time until the soft lifetime (rekey), if it has one.
    pub rekey_in: Option<Duration>,
    /// Time until the hard lifetime (expiry), if it has one.
    pub expires_in: Option<Duration>,
}

/// A node's state.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// IKE SAs.
    pub ike_sas: Vec<IkeSaInfo>,
    /// Child SAs.
    pub child_sas: Vec<ChildSaStatus>,
    /// The IKE socket's address.
    pub ike_addr: SocketAddr,
    /// The NAT-T socket's address.
    pub natt_addr: SocketAddr,
}

/// What a node reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum NodeEvent {
    /// An IKE SA was established.
    IkeSaEstablished(IkeSaId),
    /// An IKE SA failed.
    IkeSaFailed(IkeSaId, String),
    /// An IKE SA was deleted.
    IkeSaDeleted(IkeSaId),
    /// A Child SA was installed in the SA database and the ESP engine.
    ChildSaInstalled {
        /// Inbound SPI.
        spi_in: u32,
        /// Outbound SPI.
        spi_out: u32,
    },
    /// A Child SA could not be negotiated.
    ChildSaFailed(String),
    /// A Child SA was removed.
    ChildSaDeleted {
        /// Inbound SPI.
        spi_in: u32,
    },
    /// A decrypted inner packet.
    Inbound(Vec<u8>),
}

/// Commands to a running node.
#[derive(Debug)]
enum Command {
    Initiate(SocketAddr),
    Send(Vec<u8>),
    Snapshot(oneshot::Sender<Snapshot>),
    DeleteIke(IkeSaId),
    DeleteChild(IkeSaId, u32),
    Liveness(IkeSaId),
    Shutdown(oneshot::Sender<()>),
}

/// A handle on a running node.
#[derive(Debug)]
pub struct NodeHandle {
    tx: mpsc::Sender<Command>,
    /// Events from the node.
    pub events: mpsc::Receiver<NodeEvent>,
    /// The IKE socket's address.
    pub ike_addr: SocketAddr,
    /// The NAT-T socket's address.
    pub natt_addr: SocketAddr,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "node stopped")
}

impl NodeHandle {
    /// Starts an IKE SA towards `remote` (its IKE address).
    pub async fn initiate(&self, remote: SocketAddr) -> io::Result<()> {
        self.tx
            .send(Command::Initiate(remote))
            .await
            .map_err(|_| closed())
    }

    /// Protects and sends an inner IPv4/IPv6 packet (negotiating an SA if none exists).
    pub async fn send(&self, packet: Vec<u8>) -> io::Result<()> {
        self.tx
            .send(Command::Send(packet))
            .await
            .map_err(|_| closed())
    }

    /// The node's state.
    pub async fn snapshot(&self) -> io::Result<Snapshot> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Snapshot(tx))
            .await
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())
    }

    /// Deletes an IKE SA with an INFORMATIONAL exchange.
    pub async fn delete_ike(&self, id: IkeSaId) -> io::Result<()> {
        self.tx
            .send(Command::DeleteIke(id))
            .await
            .map_err(|_| closed())
    }

    /// Deletes one Child SA (by its inbound SPI) of an IKE SA with an INFORMATIONAL exchange.
    pub async fn delete_child(&self, id: IkeSaId, spi_in: u32) -> io::Result<()> {
        self.tx
            .send(Command::DeleteChild(id, spi_in))
            .await
            .map_err(|_| closed())
    }

    /// Sends a liveness check.
    pub async fn liveness(&self, id: IkeSaId) -> io::Result<()> {
        self.tx
            .send(Command::Liveness(id))
            .await
            .map_err(|_| closed())
    }

    /// Stops the node.
    pub async fn shutdown(&self) -> io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Shutdown(tx))
            .await
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())
    }
}

/// A bound, not yet running node.
#[derive(Debug)]
pub struct Node {
    cfg: NodeConfig,
    ike: UdpSocket,
    natt: UdpSocket,
}

impl Node {
    /// Binds the sockets.
    pub async fn bind(cfg: NodeConfig) -> io::Result<Self> {
        let ike = UdpSocket::bind(SocketAddr::new(cfg.bind, cfg.ike_port)).await?;
        let natt = UdpSocket::bind(SocketAddr::new(cfg.bind, cfg.natt_port)).await?;
        // Bursts of ESP-in-UDP must not overflow the default ~200 KB socket buffers.
        for (sock, bytes) in [(&ike, 1 << 20), (&natt, 4 << 20)] {
            if let Err(e) = negotiator_platform::set_socket_buffers(sock, bytes) {
                debug!("cannot enlarge socket buffers: {e}");
            }
        }
        Ok(Self { cfg, ike, natt })
    }

    /// The IKE socket's address.
    pub fn ike_addr(&self) -> io::Result<SocketAddr> {
        self.ike.local_addr()
    }

    /// The NAT-T socket's address.
    pub fn natt_addr(&self) -> io::Result<SocketAddr> {
        self.natt.local_addr()
    }

    /// Sets the peer's NAT-T port once it is known.
    pub fn set_peer_natt_port(&mut self, port: u16) {
        self.cfg.peer_natt_port = port;
    }

    /// Sets the peer for acquires.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.cfg.peer = Some(peer);
    }

    /// Starts the node's task on the current tokio runtime.
    pub fn spawn(self, provider: Arc<dyn CryptoProvider>) -> io::Result<NodeHandle> {
        let ike_addr = self.ike.local_addr()?;
        let natt_addr = self.natt.local_addr()?;
        let now = Instant::now();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut endpoint = Endpoint::new(self.cfg.ike.clone(), provider.clone(), (now, unix))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        // IKE SAs float to the NAT-T socket when a NAT is detected (RFC 7296 §2.23); `flush`
        // then sends their messages from it with the non-ESP marker.
        endpoint.set_natt_ports(natt_addr.port(), self.cfg.peer_natt_port);
        let (tx, rx) = mpsc::channel(1024);
        let (etx, erx) = mpsc::channel(4096);
        let state = NodeState {
            name: self.cfg.name.clone(),
            cfg: self.cfg,
            endpoint,
            sadb: SaDb::new(),
            esp: EspEngine::new(provider.clone()),
            provider,
            ike: self.ike,
            natt: self.natt,
            ike_addr,
            natt_addr,
            events: etx,
            acquire_queue: HashMap::new(),
            out_buf: vec![0u8; MAX_DATAGRAM],
        };
        let span = tracing::info_span!("node", name = %state.name);
        tokio::spawn(tracing::Instrument::instrument(state.run(rx), span));
        Ok(NodeHandle {
            tx,
            events: erx,
            ike_addr,
            natt_addr,
        })
    }
}

struct NodeState {
    name: String,
    cfg: NodeConfig,
    endpoint: Endpoint,
    sadb: SaDb,
    esp: EspEngine,
    provider: Arc<dyn CryptoProvider>,
    ike: UdpSocket,
    natt: UdpSocket,
    ike_addr: SocketAddr,
    natt_addr: SocketAddr,
    events: mpsc::Sender<NodeEvent>,
    acquire_queue: HashMap<IpAddr, VecDeque<Vec<u8>>>,
    out_buf: Vec<u8>,
}

/// Lends the SA database's SPI allocation to the IKE core.
struct Spis<'a> {
    sadb: &'a mut SaDb,
    provider: &'a dyn CryptoProvider,
}

impl SpiAllocator for Spis<'_> {
    fn allocate_spi(&mut self) -> u32 {
        let p = self.provider;
        self.sadb.allocate_spi(&mut |b: &mut [u8]| {
            // A failing system RNG leaves zeros; the allocator then retries with other bytes.
            let _ = p.fill_random(b);
        })
    }

    fn release_spi(&mut self, spi: u32) {
        self.sadb.release_spi(spi);
    }
}

fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 if packet.len() >= 20 => {
            let b: [u8; 4] = packet[16..20].try_into().ok()?;
            Some(IpAddr::from(b))
        }
        6 if packet.len() >= 40 => {
            let b: [u8; 16] = packet[24..40].try_into().ok()?;
            Some(IpAddr::from(b))
        }
        _ => None,
    }
}

impl NodeState {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut ike_buf = vec![0u8; MAX_DATAGRAM];
        let mut natt_buf = vec![0u8; MAX_DATAGRAM];
        info!(ike = %self.ike_addr, natt = %self.natt_addr, "node running");
        // The IKE core's deadline is a scan over its IKE SAs; it is asked again only after
        // something touched the core, not after every ESP packet.
        let mut ike_deadline = None;
        let mut ike_dirty = true;
        loop {
            if ike_dirty {
                ike_deadline = self.endpoint.poll_timeout();
                ike_dirty = false;
            }
            let deadline = [ike_deadline, self.sadb.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let sleep = tokio::time::sleep_until(deadline.into());
            tokio::select! {
                r = self.ike.recv_from(&mut ike_buf) => match r {
                    Ok((n, from)) => {
                        ike_dirty = true;
                        let now = Instant::now();
                        let mut spis = Spis { sadb: &mut self.sadb, provider: &*self.provider };
                        self.endpoint.handle_datagram(now, self.ike_addr, from, &ike_buf[..n], &mut spis);
                    }
                    Err(e) => debug!("IKE socket: {e}"),
                },
                r = self.natt.recv_from(&mut natt_buf) => match r {
                    Ok((n, from)) => ike_dirty |= self.handle_natt(&mut natt_buf[..n], from).await,
                    Err(e) => debug!("NAT-T socket: {e}"),
                },
                () = sleep => {
                    ike_dirty = true;
                    let now = Instant::now();
                    self.endpoint.handle_timeout(now);
                    self.sadb.handle_timeout(now);
                }
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(Command::Shutdown(done)) => {
                        let _ = done.send(());
                        return;
                    }
                    Some(c) => ike_dirty |= self.command(c).await,
                },
            }
            ike_dirty |= self.flush().await;
        }
    }

    /// Runs one command; returns whether the IKE core was touched.
    async fn command(&mut self, c: Command) -> bool {
        let now = Instant::now();
        match c {
            Command::Initiate(remote) => {
                if let Err(e) = self.endpoint.initiate(now, self.ike_addr, remote) {
                    warn!("cannot initiate: {e}");
                }
            }
            Command::Send(packet) => return self.send_inner(packet, now).await,
            Command::Snapshot(tx) => {
                let _ = tx.send(self.snapshot());
                return false;
            }
            Command::DeleteIke(id) => {
                if let Err(e) = self.endpoint.delete_ike(now, id) {
                    warn!("cannot delete: {e}");
                }
            }
            Command::DeleteChild(id, spi_in) => {
                if let Err(e) = self.endpoint.delete_child(now, id, spi_in) {
                    warn!("cannot delete Child SA: {e}");
                }
            }
            Command::Liveness(id) => {
                if let Err(e) = self.endpoint.liveness_check(now, id) {
                    warn!("cannot send liveness check: {e}");
                }
            }
            Command::Shutdown(_) => {}
        }
        true
    }

    fn snapshot(&self) -> Snapshot {
        let now = Instant::now();
        let left = |secs: Option<u64>, since: Instant| {
            secs.map(|s| (since + Duration::from_secs(s)).saturating_duration_since(now))
        };
        let child_sas = self
            .sadb
            .iter()
            .map(|e| {
                let p = &e.params;
                let i = self
                    .esp
                    .inbound_sa(p.spi_in)
                    .map(|s| s.stats())
                    .unwrap_or_default();
                let o = self
                    .esp
                    .outbound_sa(p.spi_in)
                    .map(|s| s.stats())
                    .unwrap_or_default();
                ChildSaStatus {
                    spi_in: p.spi_in,
                    spi_out: p.spi_out,
                    encryption: p.outbound.encr.name().to_string(),
                    integrity: p.outbound.integ.map(|i| i.name().to_string()),
                    packets_in: i.packets,
                    packets_out: o.packets,
                    bytes_in: i.bytes,
                    bytes_out: o.bytes,
                    replay_drops: i.replay_drops,
                    auth_failures: i.auth_failures,
                    ike_sa: p.ike_sa,
                    local_ts: p.local_ts.clone(),
                    remote_ts: p.remote_ts.clone(),
                    rekey_in: left(p.lifetime.soft_secs, e.installed_at),
                    expires_in: left(p.lifetime.hard_secs, e.installed_at),
                }
            })
            .collect();
        Snapshot {
            ike_sas: self.endpoint.ike_sas(),
            child_sas,
            ike_addr: self.ike_addr,
            natt_addr: self.natt_addr,
        }
    }

    /// Protects one outbound packet, or holds it while an SA is negotiated; returns whether
    /// a negotiation was started (the IKE core was touched).
    async fn send_inner(&mut self, packet: Vec<u8>, now: Instant) -> bool {
        let Some(dst) = destination(&packet) else {
            debug!("not an IP packet; dropped");
            return false;
        };
        match self.sadb.acquire(dst, now) {
            AcquireResult::Established { .. } => {
                self.seal_and_send(dst, &packet).await;
                false
            }
            AcquireResult::Pending => {
                self.queue(dst, packet);
                false
            }
            AcquireResult::Start { .. } => {
                self.queue(dst, packet);
                match self.cfg.peer {
                    Some(peer) => {
                        info!(%dst, "acquire: negotiating an SA");
                        if let Err(e) = self.endpoint.initiate(now, self.ike_addr, peer) {
                            warn!("acquire for {dst} failed: {e}");
                            self.sadb.acquire_failed(dst);
                            self.acquire_queue.remove(&dst);
                        }
                    }
                    None => {
                        debug!(%dst, "no SA and no peer to negotiate with");
                        self.sadb.acquire_failed(dst);
                        self.acquire_queue.remove(&dst);
                    }
                }
                true
            }
        }
    }

    fn queue(&mut self, dst: IpAddr, packet: Vec<u8>) {
        let q = self.acquire_queue.entry(dst).or_default();
        if q.len() < ACQUIRE_QUEUE {
            q.push_back(packet);
        }
    }

    async fn seal_and_send(&mut self, dst: IpAddr, packet: &[u8]) {
        // The newest SA covering the destination (make-before-break on rekey).
        let Some(entry) = self.sadb.outbound_for(dst) else {
            return;
        };
        let spi_in = entry.params.spi_in;
        let remote = entry.params.remote;
        let port = entry
            .params
            .encap
            .map_or(self.cfg.peer_natt_port, |e| e.remote_port);
        // Tunnel mode: the inner packet is a whole IP datagram (next header 4 or 41).
        let nh = if packet.first().map(|b| b >> 4) == Some(6) {
            41
        } else {
            4
        };
        match self.esp.seal_pair(spi_in, packet, nh, &mut self.out_buf) {
            Ok(n) => {
                let len = u64::try_from(packet.len()).unwrap_or(u64::MAX);
                self.sadb.record_outbound_pair(spi_in, len, Instant::now());
                if let Err(e) = self
                    .natt
                    .send_to(&self.out_buf[..n], SocketAddr::new(remote, port))
                    .await
                {
                    debug!("ESP send: {e}");
                }
            }
            Err(e) => debug!("ESP seal failed: {e}"),
        }
    }

    /// Handles one datagram on the NAT-T socket; returns whether it went to the IKE core.
    async fn handle_natt(&mut self, datagram: &mut [u8], from: SocketAddr) -> bool {
        match classify_udp_encap(datagram) {
            UdpEncapKind::Keepalive => false,
            UdpEncapKind::Invalid(why) => {
                debug!(%from, "NAT-T datagram dropped: {why}");
                false
            }
            UdpEncapKind::Ike(_) => {
                let now = Instant::now();
                let mut spis = Spis {
                    sadb: &mut self.sadb,
                    provider: &*self.provider,
                };
                // After the 4-octet non-ESP marker.
                let ike = &datagram[4..];
                self.endpoint
                    .handle_datagram(now, self.natt_addr, from, ike, &mut spis);
                true
            }
            UdpEncapKind::Esp(_) => {
                self.handle_esp(datagram, from);
                false
            }
        }
    }

    /// Decapsulates one ESP packet and hands its payload to the application.
    fn handle_esp(&mut self, datagram: &mut [u8], from: SocketAddr) {
        match self.esp.open(datagram) {
            Ok((spi, d)) => {
                let len = u64::try_from(d.payload.len()).unwrap_or(u64::MAX);
                self.sadb.record_inbound(spi, len, Instant::now());
                let inner = datagram[d.payload].to_vec();
                if self.events.try_send(NodeEvent::Inbound(inner)).is_err() {
                    // Like a full receive queue: the packet is dropped, the node goes on.
                    debug!("application queue full; inbound packet dropped");
                }
            }
            Err(e) => {
                let spi = datagram
                    .get(..4)
                    .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                match e {
                    negotiator_esp::EspError::Replay(_) => self.sadb.record_replay_drop(spi),
                    negotiator_esp::EspError::AuthFailed => self.sadb.record_auth_failure(spi),
                    _ => {}
                }
                debug!(%from, "ESP packet dropped: {e}");
            }
        }
    }

    /// Sends the IKE core's queued datagrams: from the NAT-T socket behind the non-ESP marker
    /// (RFC 3948 §2.2) when the IKE SA floated there, else from the IKE socket.
    async fn send_ike(&mut self) {
        while let Some(t) = self.endpoint.poll_transmit() {
            let r = if t.local.port() == self.natt_addr.port() {
                let mut d = Vec::with_capacity(t.data.len() + 4);
                d.extend_from_slice(&[0, 0, 0, 0]);
                d.extend_from_slice(&t.data);
                self.natt.send_to(&d, t.remote).await
            } else {
                self.ike.send_to(&t.data, t.remote).await
            };
            if let Err(e) = r {
                debug!(remote = %t.remote, "IKE send: {e}");
            }
        }
    }

    /// Sends what is queued and handles events; returns whether the IKE core's timers may have
    /// changed (so that its deadline must be asked again).
    async fn flush(&mut self) -> bool {
        self.send_ike().await;
        let mut touched = false;
        while let Some(ev) = self.endpoint.poll_event() {
            touched = true;
            self.handle_event(ev).await;
        }
        while let Some(ev) = self.sadb.poll_event() {
            touched = true;
            match ev {
                SadbEvent::Installed { spi_in, spi_out } => {
                    info!(
                        spi_in = %format!("{spi_in:08x}"),
                        spi_out = %format!("{spi_out:08x}"),
                        "Child SA installed in the SA database and the ESP engine"
                    );
                    self.report(NodeEvent::ChildSaInstalled { spi_in, spi_out })
                        .await;
                }
                SadbEvent::SoftExpired { spi_in } => {
                    // RFC 7296 §2.8: rekey with CREATE_CHILD_SA; the old SA keeps running
                    // until the new one is installed and the old one deleted.
                    info!(spi_in = %format!("{spi_in:08x}"), "Child SA soft lifetime reached; rekeying");
                    let ike = self.endpoint.ike_sa_of_child(spi_in);
                    let Some(ike) = ike else {
                        debug!(spi_in = %format!("{spi_in:08x}"), "soft-expired Child SA has no IKE SA; not rekeyed");
                        continue;
                    };
                    let mut spis = Spis {
                        sadb: &mut self.sadb,
                        provider: &*self.provider,
                    };
                    if let Err(e) =
                        self.endpoint
                            .rekey_child(Instant::now(), ike, spi_in, &mut spis)
                    {
                        warn!(spi_in = %format!("{spi_in:08x}"), "Child SA rekey not started: {e}");
                    }
                    // The request goes out now, not at the next wake-up.
                    self.send_ike().await;
                }
                SadbEvent::HardExpired { spi_in } | SadbEvent::Deleted { spi_in, .. } => {
                    let spi_out = self.esp.outbound_sa(spi_in).map_or(0, |s| s.spi());
                    self.esp.remove(spi_in, spi_out);
                    info!(spi_in = %format!("{spi_in:08x}"), "Child SA removed from the ESP engine");
                    self.report(NodeEvent::ChildSaDeleted { spi_in }).await;
                }
                _ => {}
            }
        }
        touched
    }

    /// Reports a lifecycle event; these are never dropped (the receiver applies backpressure).
    fn report(&self, ev: NodeEvent) -> impl std::future::Future<Output = ()> + Send + use<> {
        let tx = self.events.clone();
        async move {
            let _ = tx.send(ev).await;
        }
    }

    async fn handle_event(&mut self, ev: Event) {
        match ev {
            Event::IkeSaEstablished { id } => {
                self.report(NodeEvent::IkeSaEstablished(id)).await;
            }
            Event::IkeSaFailed { id, reason } => {
                self.report(NodeEvent::IkeSaFailed(id, reason)).await;
            }
            Event::IkeSaDeleted { id } => {
                self.report(NodeEvent::IkeSaDeleted(id)).await;
            }
            Event::ChildSaEstablished { params, .. } => {
                let mut params = *params;
                if let Some(e) = params.encap.as_mut() {
                    // An IKE SA that floated (RFC 7296 §2.23) already carries the NAT-T ports,
                    // possibly a NAT's mapping of the peer's; one that stayed on the IKE port
                    // (encapsulation forced without a NAT) gets the configured NAT-T ports.
                    if e.local_port != self.natt_addr.port() {
                        e.local_port = self.natt_addr.port();
                        e.remote_port = self.cfg.peer_natt_port;
                    }
                }
                let spi_in = params.spi_in;
                let remote_ts = params.remote_ts.clone();
                if let Err(e) = self.sadb.install(params, Instant::now()) {
                    warn!("SA database refused the Child SA: {e}");
                    return;
                }
                if let Some(entry) = self.sadb.lookup_inbound(spi_in)
                    && let Err(e) = self.esp.install(entry)
                {
                    warn!("ESP engine refused the Child SA: {e}");
                    return;
                }
                // Release packets held by an acquire.
                let waiting: Vec<IpAddr> = self
                    .acquire_queue
                    .keys()
                    .filter(|d| remote_ts.iter().any(|t| t.contains(**d)))
                    .copied()
                    .collect();
                for dst in waiting {
                    if let Some(q) = self.acquire_queue.remove(&dst) {
                        for p in q {
                            let _ = self.send_inner(p, Instant::now()).await;
                        }
                    }
                }
            }
            Event::ChildSaFailed { reason, .. } => {
                self.report(NodeEvent::ChildSaFailed(reason)).await;
            }
            Event::ChildSaDeleted { spi_in, .. } => {
                self.sadb.delete(spi_in);
            }
            _ => {}
        }
    }
}
