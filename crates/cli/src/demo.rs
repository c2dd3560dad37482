//! `negotiator demo`: a throwaway CA, two negotiators on loopback, IKEv2 + ESP between
//! them, real packets through the userspace ESP engine both ways.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use negotiator_crypto::{Encr, Group, Integ, KeyType, Prf, Secret, default_provider};
use negotiator_daemon::{Node, NodeConfig, NodeEvent, NodeHandle, Snapshot};
use negotiator_pki::{Ca, IssueRequest, San};
use negotiator_proto::{
    Config, EspProposal, Identity, IkeProposal, LocalAuth, RemoteAuth, RetransmitConfig,
    default_child_lifetime, hex,
};
use negotiator_sadb::TsRange;
use serde_json::json;
use tokio::time::timeout;

/// Key exchange groups the demo offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoGroup {
    /// 2048-bit MODP (group 14).
    #[value(name = "modp2048", alias = "14")]
    Modp2048,
    /// 3072-bit MODP (group 15).
    #[value(name = "modp3072", alias = "15")]
    Modp3072,
    /// NIST P-256 (group 19).
    #[value(name = "ecp256", alias = "19")]
    Ecp256,
    /// NIST P-384 (group 20).
    #[value(name = "ecp384", alias = "20")]
    Ecp384,
    /// Curve25519 (group 31).
    #[value(name = "curve25519", alias = "31", alias = "x25519")]
    Curve25519,
}

impl DemoGroup {
    fn group(self) -> Group {
        match self {
            Self::Modp2048 => Group::Modp2048,
            Self::Modp3072 => Group::Modp3072,
            Self::Ecp256 => Group::Ecp256,
            Self::Ecp384 => Group::Ecp384,
            Self::Curve25519 => Group::Curve25519,
        }
    }
}

/// Authentication methods the demo can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoAuth {
    /// RSA-2048 certificates from the throwaway CA.
    Rsa,
    /// ECDSA P-256 certificates from the throwaway CA.
    Ecdsa,
    /// A random pre-shared key.
    Psk,
}

/// Cipher suites (used for both the IKE SA and the ESP Child SA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoCipher {
    /// AES-128-GCM-16, PRF HMAC-SHA2-256.
    #[value(name = "aes128gcm")]
    Aes128Gcm,
    /// AES-256-GCM-16, PRF HMAC-SHA2-384.
    #[value(name = "aes256gcm")]
    Aes256Gcm,
    /// AES-128-CBC with HMAC-SHA2-256-128, PRF HMAC-SHA2-256.
    #[value(name = "aes128cbc-sha256")]
    Aes128CbcSha256,
    /// AES-256-CBC with HMAC-SHA2-384-192, PRF HMAC-SHA2-384.
    #[value(name = "aes256cbc-sha384")]
    Aes256CbcSha384,
    /// AES-256-CBC with HMAC-SHA2-512-256, PRF HMAC-SHA2-512.
    #[value(name = "aes256cbc-sha512")]
    Aes256CbcSha512,
}

impl DemoCipher {
    fn suite(self) -> (Encr, Option<Integ>, Prf) {
        match self {
            Self::Aes128Gcm => (Encr::AesGcm16_128, None, Prf::HmacSha256),
            Self::Aes256Gcm => (Encr::AesGcm16_256, None, Prf::HmacSha384),
            Self::Aes128CbcSha256 => (
                Encr::AesCbc128,
                Some(Integ::HmacSha256_128),
                Prf::HmacSha256,
            ),
            Self::Aes256CbcSha384 => (
                Encr::AesCbc256,
                Some(Integ::HmacSha384_192),
                Prf::HmacSha384,
            ),
            Self::Aes256CbcSha512 => (
                Encr::AesCbc256,
                Some(Integ::HmacSha512_256),
                Prf::HmacSha512,
            ),
        }
    }
}

/// Options of `negotiator demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Key exchange group.
    #[arg(long, value_enum, default_value = "curve25519")]
    group: DemoGroup,
    /// Authentication.
    #[arg(long, value_enum, default_value = "ecdsa")]
    auth: DemoAuth,
    /// Cipher suite for IKE and ESP.
    #[arg(long, value_enum, default_value = "aes256gcm")]
    cipher: DemoCipher,
    /// Echo requests to send through the tunnel (each is answered).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    packets: u32,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Make the responder ask for a different group first, to exercise INVALID_KE_PAYLOAD.
    #[arg(long)]
    wrong_group_first: bool,
    /// Write the IKE SA keys to FILE as Wireshark ikev2_decryption_table lines (off by
    /// default: whoever has this file can decrypt and forge the demo's IKE traffic).
    #[arg(long, value_name = "FILE")]
    keylog: Option<std::path::PathBuf>,
}

/// Appends Wireshark IKEv2 decryption table lines to a file created with mode 0600.
#[derive(Debug)]
struct FileKeyLog(std::sync::Mutex<std::fs::File>);

impl FileKeyLog {
    fn create(path: &std::path::Path) -> Result<Self, String> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        // Appending to an existing file is fine (Wireshark reads every line), but not to one
        // that others can read.
        if let Ok(m) = std::fs::metadata(path)
            && m.is_file()
            && m.mode() & 0o077 != 0
        {
            return Err(format!(
                "key log {} is readable by others (mode {:o}); refusing to write keys into it",
                path.display(),
                m.mode() & 0o777
            ));
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("key log {}: {e}", path.display()))?;
        Ok(Self(std::sync::Mutex::new(f)))
    }
}

impl negotiator_proto::KeyLog for FileKeyLog {
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
    ) {
        use std::io::Write;
        let line = negotiator_proto::wireshark_ikev2_line(
            spi_i, spi_r, encr, integ, sk_ei, sk_er, sk_ai, sk_ar,
        );
        let r = match self.0.lock() {
            Ok(mut f) => writeln!(f, "{line}").and_then(|()| f.flush()),
            Err(_) => Ok(()),
        };
        if let Err(e) = r {
            tracing::warn!("cannot write the key log: {e}");
        }
    }
}

const ALICE_INNER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const BOB_INNER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 17);

fn net(a: [u8; 4], b: [u8; 4]) -> TsRange {
    TsRange {
        start: IpAddr::from(a),
        end: IpAddr::from(b),
        protocol: 0,
        start_port: 0,
        end_port: 65535,
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

struct Side {
    id: Identity,
    local: LocalAuth,
    remote: RemoteAuth,
}

fn credentials(args: &DemoArgs) -> Result<(Side, Side), String> {
    if args.auth == DemoAuth::Psk {
        let mut k = vec![0u8; 32];
        default_provider()
            .fill_random(&mut k)
            .map_err(|e| e.to_string())?;
        let psk = Secret::new(k);
        let a = Side {
            id: Identity::fqdn("alice.demo.example"),
            local: LocalAuth::Psk(psk.clone()),
            remote: RemoteAuth::Psk(psk.clone()),
        };
        let b = Side {
            id: Identity::fqdn("bob.demo.example"),
            local: LocalAuth::Psk(psk.clone()),
            remote: RemoteAuth::Psk(psk),
        };
        return Ok((a, b));
    }
    let kt = if args.auth == DemoAuth::Rsa {
        KeyType::Rsa2048
    } else {
        KeyType::EcdsaP256
    };
    let now = now_unix();
    let day = Duration::from_secs(86_400);
    let mut ca = Ca::generate("CN=Negotiator Demo CA, O=Negotiator", kt, day * 2, now)
        .map_err(|e| format!("demo CA: {e}"))?;
    let mut host = |cn: &str, dns: &str| -> Result<Side, String> {
        let req = IssueRequest {
            subject: format!("CN={cn}, O=Negotiator"),
            sans: vec![
                San::Dns(dns.into()),
                San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ],
            validity: day,
            eku_ipsec_ike: true,
        };
        let (key, cert) = ca
            .issue_with_new_key(&req, kt, now)
            .map_err(|e| format!("issuing {cn}: {e}"))?;
        let subject = subject_der(&cert)?;
        Ok(Side {
            id: Identity::der_dn(subject),
            local: LocalAuth::Certificate {
                key: Arc::new(key),
                chain: vec![cert, ca.certificate_der().to_vec()],
            },
            remote: RemoteAuth::Certificate {
                anchors: vec![ca.certificate_der().to_vec()],
                crls: Vec::new(),
            },
        })
    };
    let a = host("alice", "alice.demo.example")?;
    let b = host("bob", "bob.demo.example")?;
    Ok((a, b))
}

fn subject_der(cert: &[u8]) -> Result<Vec<u8>, String> {
    use der::{Decode, Encode};
    let c =
        x509_cert::Certificate::from_der(cert).map_err(|e| format!("issued certificate: {e}"))?;
    c.tbs_certificate()
        .subject()
        .to_der()
        .map_err(|e| format!("subject: {e}"))
}

fn config(
    args: &DemoArgs,
    side: Side,
    initiator: bool,
    key_log: Option<Arc<dyn negotiator_proto::KeyLog>>,
) -> Config {
    let (encr, integ, prf) = args.cipher.suite();
    let mut groups = vec![args.group.group()];
    if args.wrong_group_first && initiator {
        // Offer another group first so that the responder answers INVALID_KE_PAYLOAD.
        let other = if args.group.group() == Group::Ecp256 {
            Group::Curve25519
        } else {
            Group::Ecp256
        };
        groups.insert(0, other);
    }
    let (local_ts, remote_ts) = if initiator {
        (
            net([198, 51, 100, 0], [198, 51, 100, 15]),
            net([198, 51, 100, 16], [198, 51, 100, 31]),
        )
    } else {
        (
            net([198, 51, 100, 16], [198, 51, 100, 31]),
            net([198, 51, 100, 0], [198, 51, 100, 15]),
        )
    };
    Config {
        local_id: side.id,
        remote_id: None,
        local_auth: side.local,
        remote_auth: side.remote,
        ike_proposals: vec![IkeProposal {
            encr: vec![encr],
            integ: integ.into_iter().collect(),
            prf: vec![prf],
            groups: if initiator {
                groups
            } else {
                vec![args.group.group()]
            },
        }],
        esp_proposals: vec![EspProposal {
            encr: vec![encr],
            integ: integ.into_iter().collect(),
        }],
        local_ts: vec![local_ts],
        remote_ts: vec![remote_ts],
        retransmit: RetransmitConfig {
            initial_timeout: Duration::from_millis(500),
            backoff: 1.5,
            max_retransmits: 4,
        },
        cookie_threshold: 1000,
        half_open_timeout: Duration::from_secs(30),
        dpd_interval: None,
        child_lifetime: default_child_lifetime(),
        replay_window: 64,
        force_udp_encap: true,
        key_log,
    }
}

/// An IPv4 ICMP echo packet with valid checksums.
fn icmp_echo(src: Ipv4Addr, dst: Ipv4Addr, reply: bool, id: u16, seq: u16) -> Vec<u8> {
    let payload = b"negotiator demo: through the userspace ESP engine";
    let icmp_len = 8 + payload.len();
    let total = 20 + icmp_len;
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&u16::try_from(total).unwrap_or(0).to_be_bytes());
    p[4..6].copy_from_slice(&seq.to_be_bytes());
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20] = if reply { 0 } else { 8 };
    p[24..26].copy_from_slice(&id.to_be_bytes());
    p[26..28].copy_from_slice(&seq.to_be_bytes());
    p[28..].copy_from_slice(payload);
    let c = checksum(&p[20..]);
    p[22..24].copy_from_slice(&c.to_be_bytes());
    p
}

/// The Internet checksum (RFC 1071).
fn checksum(b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in b.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(u16::try_from(sum).unwrap_or(0xffff))
}

/// Parses an ICMP echo packet: (src, dst, is_reply, seq), checking both checksums.
fn parse_echo(p: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, bool, u16)> {
    if p.len() < 28
        || p[0] != 0x45
        || p[9] != 1
        || checksum(&p[..20]) != 0
        || checksum(&p[20..]) != 0
    {
        return None;
    }
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let reply = match p[20] {
        0 => true,
        8 => false,
        _ => return None,
    };
    Some((src, dst, reply, u16::from_be_bytes([p[26], p[27]])))
}

async fn wait_for<F: FnMut(&NodeEvent) -> bool>(
    h: &mut NodeHandle,
    what: &str,
    mut f: F,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ev = tokio::time::timeout_at(deadline, h.events.recv())
            .await
            .map_err(|_| format!("timed out waiting for {what}"))?
            .ok_or_else(|| format!("node stopped while waiting for {what}"))?;
        match &ev {
            NodeEvent::IkeSaFailed(_, reason) => return Err(format!("IKE SA failed: {reason}")),
            NodeEvent::ChildSaFailed(reason) => return Err(format!("Child SA failed: {reason}")),
            _ => {}
        }
        if f(&ev) {
            return Ok(());
        }
    }
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(run_async(args))
}

async fn run_async(args: DemoArgs) -> Result<(), String> {
    let provider = default_provider();
    let (a, b) = credentials(&args)?;
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let node_cfg = |name: &str, ike: Config| NodeConfig {
        name: name.into(),
        ike: Arc::new(ike),
        bind: loopback,
        ike_port: 0,
        natt_port: 0,
        peer: None,
        peer_natt_port: 4500,
    };
    let key_log: Option<Arc<dyn negotiator_proto::KeyLog>> = match &args.keylog {
        Some(path) => {
            eprintln!(
                "negotiator: WARNING: writing IKE SA keys to {} (anyone with this file can decrypt the exchange)",
                path.display()
            );
            Some(Arc::new(FileKeyLog::create(path)?))
        }
        None => None,
    };
    // Only the initiator logs: both sides derive the same keys.
    let mut alice = Node::bind(node_cfg("alice", config(&args, a, true, key_log)))
        .await
        .map_err(|e| format!("binding alice's sockets: {e}"))?;
    let mut bob = Node::bind(node_cfg("bob", config(&args, b, false, None)))
        .await
        .map_err(|e| format!("binding bob's sockets: {e}"))?;
    let io = |e: std::io::Error| e.to_string();
    let a_natt = alice.natt_addr().map_err(io)?;
    let (b_ike, b_natt) = (bob.ike_addr().map_err(io)?, bob.natt_addr().map_err(io)?);
    alice.set_peer_natt_port(b_natt.port());
    alice.set_peer(b_ike);
    bob.set_peer_natt_port(a_natt.port());
    let mut ha = alice.spawn(provider.clone()).map_err(io)?;
    let mut hb = bob.spawn(provider).map_err(io)?;

    // The first packet triggers an acquire: alice has no SA for bob's inner network yet.
    let first = icmp_echo(ALICE_INNER, BOB_INNER, false, 0x4e47, 0);
    ha.send(first).await.map_err(io)?;
    let r = async {
        wait_for(&mut ha, "alice's Child SA", |e| {
            matches!(e, NodeEvent::ChildSaInstalled { .. })
        })
        .await?;
        wait_for(&mut hb, "bob's Child SA", |e| {
            matches!(e, NodeEvent::ChildSaInstalled { .. })
        })
        .await?;
        // Bob answers every echo request; alice counts the replies.
        // At most WINDOW requests are outstanding, as a ping flood would keep them.
        const WINDOW: u32 = 256;
        let mut replies = 0u32;
        let mut requests_seen = 0u32;
        let total = args.packets;
        let mut sent = 1u32;
        let echo = |seq: u32| {
            icmp_echo(
                ALICE_INNER,
                BOB_INNER,
                false,
                0x4e47,
                u16::try_from(seq % 65536).unwrap_or(0),
            )
        };
        // Each reply (or a lost packet's timeout) moves the deadline: 10 s without progress fails.
        let mut deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while replies < total {
            while sent < total && sent - replies < WINDOW {
                ha.send(echo(sent)).await.map_err(io)?;
                sent += 1;
            }
            tokio::select! {
                ev = hb.events.recv() => {
                    if let Some(NodeEvent::Inbound(p)) = ev
                        && let Some((src, dst, false, seq)) = parse_echo(&p)
                            && dst == BOB_INNER {
                                requests_seen += 1;
                                hb.send(icmp_echo(dst, src, true, 0x4e47, seq)).await.map_err(io)?;
                            }
                }
                ev = ha.events.recv() => {
                    if let Some(NodeEvent::Inbound(p)) = ev
                        && let Some((src, dst, true, _)) = parse_echo(&p)
                            && src == BOB_INNER && dst == ALICE_INNER {
                                replies += 1;
                                deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                            }
                }
                () = tokio::time::sleep_until(deadline) => {
                    return Err(format!("only {replies} of {total} echo replies arrived ({requests_seen} requests reached bob)"));
                }
            }
        }
        Ok::<(), String>(())
    };
    timeout(Duration::from_secs(600), r)
        .await
        .map_err(|_| "demo timed out".to_string())??;

    // A liveness check exercises INFORMATIONAL before the state is shown.
    let sa = ha.snapshot().await.map_err(io)?;
    if let Some(ike) = sa.ike_sas.first() {
        ha.liveness(ike.id).await.map_err(io)?;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sa = ha.snapshot().await.map_err(io)?;
    let sb = hb.snapshot().await.map_err(io)?;
    if args.json {
        outln!("{}", to_json(&sa, &sb));
    } else {
        print_summary(&args, &sa, &sb);
    }
    // Clean up: delete the IKE SA (and with it the Child SA) from alice's side.
    if let Some(ike) = sa.ike_sas.first() {
        ha.delete_ike(ike.id).await.map_err(io)?;
        wait_for(&mut hb, "the delete", |e| {
            matches!(e, NodeEvent::IkeSaDeleted(_))
        })
        .await?;
        wait_for(&mut ha, "the delete", |e| {
            matches!(e, NodeEvent::IkeSaDeleted(_))
        })
        .await?;
    }
    let _ = ha.shutdown().await;
    let _ = hb.shutdown().await;
    Ok(())
}

fn role_of(i: usize) -> &'static str {
    if i == 0 { "initiator" } else { "responder" }
}

fn to_json(a: &Snapshot, b: &Snapshot) -> serde_json::Value {
    let mut ike = Vec::new();
    let mut child = Vec::new();
    let mut endpoints = Vec::new();
    for (i, s) in [a, b].into_iter().enumerate() {
        for sa in &s.ike_sas {
            let suite = sa.suite;
            ike.push(json!({
                "version": 2,
                "role": sa.role.as_str(),
                "state": sa.state.as_str(),
                "spi_i": hex(&sa.spi_i),
                "spi_r": hex(&sa.spi_r),
                "encryption": suite.map(|s| s.encr.name()),
                "integrity": suite.and_then(|s| s.integ).map(|i| i.name()),
                "prf": suite.map(|s| s.prf.name()),
                "dh_group": suite.map(|s| s.group.id()),
                "auth": sa.local_auth,
                "local_id": sa.local_id,
                "remote_id": sa.remote_id,
            }));
        }
        for c in &s.child_sas {
            child.push(json!({
                "role": role_of(i),
                "protocol": "esp",
                "spi_in": format!("{:08x}", c.spi_in),
                "spi_out": format!("{:08x}", c.spi_out),
                "encryption": c.encryption,
                "integrity": c.integrity,
                "packets_in": c.packets_in,
                "packets_out": c.packets_out,
                "replay_drops": c.replay_drops,
            }));
        }
        endpoints.push(json!({
            "role": role_of(i),
            "address": s.ike_addr.ip().to_string(),
            "port": s.ike_addr.port(),
        }));
    }
    json!({ "ike_sas": ike, "child_sas": child, "endpoints": endpoints })
}

fn print_summary(args: &DemoArgs, a: &Snapshot, b: &Snapshot) {
    outln!("Negotiator demo: two negotiators on loopback, IKEv2 + ESP-in-UDP\n");
    let v = |p: Option<clap::builder::PossibleValue>| {
        p.map(|p| p.get_name().to_string()).unwrap_or_default()
    };
    outln!(
        "  --group {} --auth {} --cipher {}, {} echo requests through the tunnel, each answered",
        v(args.group.to_possible_value()),
        v(args.auth.to_possible_value()),
        v(args.cipher.to_possible_value()),
        args.packets
    );
    for (i, s) in [a, b].into_iter().enumerate() {
        let name = if i == 0 { "alice" } else { "bob" };
        outln!(
            "\n{name} ({}), IKE {} / ESP-in-UDP {}",
            role_of(i),
            s.ike_addr,
            SocketAddr::new(s.natt_addr.ip(), s.natt_addr.port())
        );
        for sa in &s.ike_sas {
            outln!(
                "  IKE SA {}_i {}_r  {}  {}",
                hex(&sa.spi_i),
                hex(&sa.spi_r),
                sa.state.as_str(),
                sa.suite.map_or(String::new(), |s| format!(
                    "{}{}/{}/{}",
                    s.encr.name(),
                    s.integ.map_or(String::new(), |i| format!("/{}", i.name())),
                    s.prf.name(),
                    s.group.name()
                ))
            );
            outln!("    local  {}  ({})", sa.local_id, sa.local_auth);
            outln!(
                "    remote {}  ({})",
                sa.remote_id.as_deref().unwrap_or("-"),
                sa.remote_auth.as_deref().unwrap_or("-")
            );
        }
        for c in &s.child_sas {
            outln!(
                "  Child SA ESP {:08x}_i {:08x}_o  {}{}  in {} pkts / {} B, out {} pkts / {} B, replay drops {}",
                c.spi_in,
                c.spi_out,
                c.encryption,
                c.integrity
                    .as_ref()
                    .map_or(String::new(), |i| format!("/{i}")),
                c.packets_in,
                c.bytes_in,
                c.packets_out,
                c.bytes_out,
                c.replay_drops
            );
        }
    }
    outln!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (before complement).
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&b), !0xddf2);
    }

    #[test]
    fn echo_packets_parse_back() {
        let p = icmp_echo(ALICE_INNER, BOB_INNER, false, 7, 9);
        assert_eq!(parse_echo(&p), Some((ALICE_INNER, BOB_INNER, false, 9)));
        let mut bad = p.clone();
        bad[30] ^= 1;
        assert_eq!(parse_echo(&bad), None);
    }
}
