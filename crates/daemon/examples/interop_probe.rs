//! Interop probe: one Negotiator node (IKEv2 only) against a real peer such as strongSwan.
//!
//! Runs a single [`negotiator_daemon::Node`] on fixed ports, optionally initiates, prints
//! every node event and a snapshot of the SAs once the first Child SA is up, then deletes
//! the IKE SA itself (`--delete-after`) or waits for the peer to delete it. Exit status 0
//! when the IKE SA, its Child SA and the delete all happened, 1 otherwise, 2 on bad usage.
//!
//! ```text
//! interop_probe --local 192.0.2.1 --remote 192.0.2.2 --id a.lab.example \
//!     --remote-id b.lab.example --psk SECRET --initiate --delete-after 3 \
//!     --local-ts 198.51.100.0/28 --remote-ts 198.51.100.16/28
//! ```
//!
//! Output lines for scripts start with `probe:` (stdout); logs go to stderr
//! (`RUST_LOG` filter, default `info`).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use negotiator_crypto::{Encr, Integ, Secret, default_provider};
use negotiator_daemon::config::{cidr, identity, load_certs, load_key, proposal};
use negotiator_daemon::{Node, NodeConfig, NodeEvent, NodeHandle, Snapshot};
use negotiator_proto::{
    Config, EspProposal, IkeProposal, LocalAuth, RemoteAuth, RetransmitConfig,
    default_child_lifetime, hex,
};

const USAGE: &str = "\
usage: interop_probe --local IP --remote IP --id ID [--remote-id ID]
         (--psk SECRET | --cert FILE --key FILE --ca FILE [--crl FILE]...)
         [--initiate] [--ike-port 500] [--natt-port 4500] [--peer-natt-port 4500]
         [--ike PROPOSAL]... [--esp PROPOSAL]...
         [--local-ts CIDR]... [--remote-ts CIDR]...
         [--delete-after SECS] [--timeout SECS] [--keylog FILE]

  ID        FQDN (a.lab.example), IP address, user@fqdn, or a DN (\"C=ZZ, O=Lab, CN=x\")
  --key     PKCS#8 private key, PEM (\"PRIVATE KEY\") or DER
  --cert    our certificate (PEM or DER; more certificates in the file are sent as chain)
  --ca      trusted CA certificate(s) for the peer
  PROPOSAL  strongSwan style, '-' separated: encryption (aes128 aes256 aes128gcm16
            aes256gcm16), integrity (sha256 sha384 sha512; with AEAD it names the PRF),
            prf (prfsha256 ...), groups (ecp256 ecp384 curve25519 modp2048 modp3072);
            default IKE: aes128gcm16-aes256gcm16-prfsha256-ecp256-curve25519-modp2048 and
            aes128-aes256-sha256-ecp256-curve25519-modp2048;
            default ESP: aes128gcm16-aes256gcm16 and aes128-aes256-sha256
  --delete-after SECS  delete the IKE SA ourselves SECS after the Child SA is up;
                       without it the probe waits for the peer's delete
  --timeout SECS       give up after SECS in all (default 60)
  --keylog FILE        append Wireshark ikev2_decryption_table lines (secret keys!)";

#[derive(Debug, Default)]
struct Args {
    local: Option<IpAddr>,
    remote: Option<IpAddr>,
    id: Option<String>,
    remote_id: Option<String>,
    psk: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca: Option<PathBuf>,
    /// CRL files (PEM or DER); with any, the peer's path must have a known status.
    crls: Vec<PathBuf>,
    initiate: bool,
    ike_port: u16,
    natt_port: u16,
    peer_natt_port: u16,
    ike: Vec<String>,
    esp: Vec<String>,
    local_ts: Vec<String>,
    remote_ts: Vec<String>,
    delete_after: Option<u64>,
    timeout: u64,
    keylog: Option<PathBuf>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        ike_port: 500,
        natt_port: 4500,
        peer_natt_port: 4500,
        timeout: 60,
        ..Args::default()
    };
    while let Some(opt) = it.next() {
        if opt == "--initiate" {
            a.initiate = true;
            continue;
        }
        if opt == "-h" || opt == "--help" {
            return Err(String::new());
        }
        let mut val = || it.next().ok_or_else(|| format!("{opt} needs a value"));
        let num = |v: String| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{opt}: not a number: {v}"))
        };
        let port = |v: String| -> Result<u16, String> {
            v.parse::<u16>()
                .map_err(|_| format!("{opt}: not a port: {v}"))
        };
        let ip = |v: String| -> Result<IpAddr, String> {
            v.parse::<IpAddr>()
                .map_err(|_| format!("{opt}: not an IP address: {v}"))
        };
        match opt.as_str() {
            "--local" => a.local = Some(ip(val()?)?),
            "--remote" => a.remote = Some(ip(val()?)?),
            "--id" => a.id = Some(val()?),
            "--remote-id" => a.remote_id = Some(val()?),
            "--psk" => a.psk = Some(val()?),
            "--cert" => a.cert = Some(val()?.into()),
            "--key" => a.key = Some(val()?.into()),
            "--ca" => a.ca = Some(val()?.into()),
            "--crl" => a.crls.push(val()?.into()),
            "--ike-port" => a.ike_port = port(val()?)?,
            "--natt-port" => a.natt_port = port(val()?)?,
            "--peer-natt-port" => a.peer_natt_port = port(val()?)?,
            "--ike" => a.ike.push(val()?),
            "--esp" => a.esp.push(val()?),
            "--local-ts" => a.local_ts.push(val()?),
            "--remote-ts" => a.remote_ts.push(val()?),
            "--delete-after" => a.delete_after = Some(num(val()?)?),
            "--timeout" => a.timeout = num(val()?)?,
            "--keylog" => a.keylog = Some(val()?.into()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// Appends Wireshark IKEv2 decryption table lines to a file (mode 0600).
#[derive(Debug)]
struct FileKeyLog(std::sync::Mutex<std::fs::File>);

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
        let line = negotiator_proto::wireshark_ikev2_line(
            spi_i, spi_r, encr, integ, sk_ei, sk_er, sk_ai, sk_ar,
        );
        if let Ok(mut f) = self.0.lock() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// A CRL file, PEM ("X509 CRL") or DER.
fn load_crl(p: &std::path::Path) -> Result<Vec<u8>, String> {
    let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    if let Ok(text) = std::str::from_utf8(&data)
        && let Some(start) = text.find("-----BEGIN X509 CRL-----")
    {
        let body = &text[start + "-----BEGIN X509 CRL-----".len()..];
        let end = body
            .find("-----END X509 CRL-----")
            .ok_or_else(|| format!("{}: unterminated PEM", p.display()))?;
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        return base64_decode(&b64).ok_or_else(|| format!("{}: bad base64", p.display()));
    }
    Ok(data)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s.trim_end_matches('=').as_bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

fn build_config(a: &Args) -> Result<Config, String> {
    let id = identity(a.id.as_deref().ok_or("--id is required")?)?;
    let remote_id = a.remote_id.as_deref().map(identity).transpose()?;
    let (local_auth, remote_auth) = match (&a.psk, &a.cert, &a.key, &a.ca) {
        (Some(psk), None, None, None) => {
            if psk.is_empty() {
                return Err("empty --psk".into());
            }
            let s = Secret::new(psk.as_bytes().to_vec());
            (LocalAuth::Psk(s.clone()), RemoteAuth::Psk(s))
        }
        (None, Some(cert), Some(key), Some(ca)) => {
            let chain = load_certs(cert)?;
            let key = load_key(key)?;
            let anchors = load_certs(ca)?;
            (
                LocalAuth::Certificate {
                    key: Arc::new(key),
                    chain,
                },
                RemoteAuth::Certificate {
                    anchors,
                    crls: a
                        .crls
                        .iter()
                        .map(|p| load_crl(p))
                        .collect::<Result<Vec<_>, String>>()?,
                },
            )
        }
        _ => return Err("give either --psk or all of --cert, --key and --ca".into()),
    };
    let ike_specs: Vec<String> = if a.ike.is_empty() {
        vec![
            "aes128gcm16-aes256gcm16-prfsha256-ecp256-curve25519-modp2048".into(),
            "aes128-aes256-sha256-ecp256-curve25519-modp2048".into(),
        ]
    } else {
        a.ike.clone()
    };
    let esp_specs: Vec<String> = if a.esp.is_empty() {
        vec![
            "aes128gcm16-aes256gcm16".into(),
            "aes128-aes256-sha256".into(),
        ]
    } else {
        a.esp.clone()
    };
    let mut ike_proposals = Vec::new();
    for s in &ike_specs {
        let (encr, integ, prf, groups) = proposal(s, true)?;
        ike_proposals.push(IkeProposal {
            encr,
            integ,
            prf,
            groups,
        });
    }
    let mut esp_proposals = Vec::new();
    for s in &esp_specs {
        let (encr, integ, prf, groups) = proposal(s, false)?;
        if !prf.is_empty() || !groups.is_empty() {
            // Child SAs of IKE_AUTH have no KE; strongSwan drops the group there too.
            eprintln!("interop_probe: note: group/PRF in ESP proposal {s} ignored");
        }
        esp_proposals.push(EspProposal { encr, integ });
    }
    let local_ts = if a.local_ts.is_empty() {
        vec![cidr(&a.local.ok_or("--local is required")?.to_string())?]
    } else {
        a.local_ts
            .iter()
            .map(|s| cidr(s))
            .collect::<Result<_, _>>()?
    };
    let remote_ts = if a.remote_ts.is_empty() {
        vec![cidr(&a.remote.ok_or("--remote is required")?.to_string())?]
    } else {
        a.remote_ts
            .iter()
            .map(|s| cidr(s))
            .collect::<Result<_, _>>()?
    };
    let key_log: Option<Arc<dyn negotiator_proto::KeyLog>> = match &a.keylog {
        Some(path) => {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("key log {}: {e}", path.display()))?;
            eprintln!(
                "interop_probe: WARNING: writing IKE SA keys to {} (anyone with it can decrypt the exchange)",
                path.display()
            );
            Some(Arc::new(FileKeyLog(std::sync::Mutex::new(f))))
        }
        None => None,
    };
    Ok(Config {
        local_id: id,
        remote_id,
        local_auth,
        remote_auth,
        ike_proposals,
        esp_proposals,
        local_ts,
        remote_ts,
        retransmit: RetransmitConfig {
            initial_timeout: Duration::from_secs(2),
            backoff: 1.5,
            max_retransmits: 3,
        },
        cookie_threshold: 100,
        half_open_timeout: Duration::from_secs(30),
        dpd_interval: None,
        child_lifetime: default_child_lifetime(),
        replay_window: 64,
        force_udp_encap: false,
        key_log,
    })
}

/// Prints one line for scripts and flushes it.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "probe: {line}");
    let _ = out.flush();
}

fn print_snapshot(s: &Snapshot) {
    say(&format!(
        "snapshot: {} IKE SA(s), {} Child SA(s); sockets IKE {} NAT-T {}",
        s.ike_sas.len(),
        s.child_sas.len(),
        s.ike_addr,
        s.natt_addr
    ));
    for sa in &s.ike_sas {
        let suite = sa.suite.map_or(String::from("-"), |s| {
            format!(
                "{}{}/{}/{}",
                s.encr.name(),
                s.integ.map_or(String::new(), |i| format!("/{}", i.name())),
                s.prf.name(),
                s.group.name()
            )
        });
        say(&format!(
            "  IKE SA {}_i {}_r {} {} {}  {} <-> {}  nat(local {}, remote {})",
            hex(&sa.spi_i),
            hex(&sa.spi_r),
            sa.role.as_str(),
            sa.state.as_str(),
            suite,
            sa.local,
            sa.remote,
            sa.nat.0,
            sa.nat.1
        ));
        say(&format!("    local  {} ({})", sa.local_id, sa.local_auth));
        say(&format!(
            "    remote {} ({})",
            sa.remote_id.as_deref().unwrap_or("-"),
            sa.remote_auth.as_deref().unwrap_or("-")
        ));
    }
    for c in &s.child_sas {
        say(&format!(
            "  Child SA ESP in {:08x} out {:08x} {}{}",
            c.spi_in,
            c.spi_out,
            c.encryption,
            c.integrity
                .as_ref()
                .map_or(String::new(), |i| format!("/{i}"))
        ));
    }
}

fn describe(ev: &NodeEvent) -> String {
    match ev {
        NodeEvent::IkeSaEstablished(id) => format!("event: IKE SA established ({:016x})", id.0),
        NodeEvent::IkeSaFailed(id, why) => format!("event: IKE SA failed ({:016x}): {why}", id.0),
        NodeEvent::IkeSaDeleted(id) => format!("event: IKE SA deleted ({:016x})", id.0),
        NodeEvent::ChildSaInstalled { spi_in, spi_out } => {
            format!("event: Child SA installed (in {spi_in:08x}, out {spi_out:08x})")
        }
        NodeEvent::ChildSaFailed(why) => format!("event: Child SA failed: {why}"),
        NodeEvent::ChildSaDeleted { spi_in } => {
            format!("event: Child SA deleted (in {spi_in:08x})")
        }
        NodeEvent::Inbound(p) => format!("event: inbound packet of {} octets", p.len()),
        other => format!("event: {other:?}"),
    }
}

async fn next_event(
    h: &mut NodeHandle,
    deadline: tokio::time::Instant,
) -> Result<NodeEvent, String> {
    let ev = tokio::time::timeout_at(deadline, h.events.recv())
        .await
        .map_err(|_| "timed out".to_string())?
        .ok_or_else(|| "node stopped".to_string())?;
    say(&describe(&ev));
    Ok(ev)
}

async fn run(a: Args, cfg: Config) -> Result<(), String> {
    let local = a.local.ok_or("--local is required")?;
    let remote = a.remote.ok_or("--remote is required")?;
    let peer = SocketAddr::new(remote, a.ike_port);
    let node = Node::bind(NodeConfig {
        name: "probe".into(),
        ike: Arc::new(cfg),
        bind: local,
        ike_port: a.ike_port,
        natt_port: a.natt_port,
        peer: Some(peer),
        peer_natt_port: a.peer_natt_port,
    })
    .await
    .map_err(|e| format!("binding {local} ports {}/{}: {e}", a.ike_port, a.natt_port))?;
    let mut h = node
        .spawn(default_provider())
        .map_err(|e| format!("starting the node: {e}"))?;
    say(&format!(
        "listening on IKE {} and NAT-T {}{}",
        h.ike_addr,
        h.natt_addr,
        if a.initiate {
            ", initiating"
        } else {
            ", waiting for the peer"
        }
    ));
    let r = exercise(&a, &mut h, peer).await;
    if r.is_err() {
        // Leave no half-working SA behind on the peer (e.g. IKE SA up, Child SA refused).
        tidy_up(&mut h).await;
    }
    let _ = h.shutdown().await;
    r
}

/// Deletes every established IKE SA, waiting up to 3 s for the deletes to complete.
async fn tidy_up(h: &mut NodeHandle) {
    let Ok(snap) = h.snapshot().await else { return };
    let ids: Vec<_> = snap
        .ike_sas
        .iter()
        .filter(|s| s.state == negotiator_proto::IkeState::Established)
        .map(|s| s.id)
        .collect();
    if ids.is_empty() {
        return;
    }
    for id in &ids {
        say(&format!("cleanup: deleting IKE SA {:016x}", id.0));
        let _ = h.delete_ike(*id).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut left = ids.len();
    while left > 0 {
        match next_event(h, deadline).await {
            Ok(NodeEvent::IkeSaDeleted(_) | NodeEvent::IkeSaFailed(..)) => left -= 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
}

/// Initiates (or waits), checks the SAs come up, then deletes (or waits for the delete).
async fn exercise(a: &Args, h: &mut NodeHandle, peer: SocketAddr) -> Result<(), String> {
    let h = &mut *h;
    if a.initiate {
        h.initiate(peer).await.map_err(|e| e.to_string())?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(a.timeout);
    // Phase 1: IKE SA and its first Child SA.
    let (mut ike_id, mut child_up) = (None, false);
    while ike_id.is_none() || !child_up {
        match next_event(h, deadline)
            .await
            .map_err(|e| format!("{e} before the SAs were up"))?
        {
            NodeEvent::IkeSaEstablished(id) => ike_id = Some(id),
            NodeEvent::ChildSaInstalled { .. } => child_up = true,
            NodeEvent::IkeSaFailed(_, why) => return Err(format!("IKE SA failed: {why}")),
            NodeEvent::ChildSaFailed(why) => return Err(format!("Child SA failed: {why}")),
            NodeEvent::IkeSaDeleted(_) => {
                return Err("IKE SA deleted before the Child SA was up".into());
            }
            _ => {}
        }
    }
    let snap = h.snapshot().await.map_err(|e| e.to_string())?;
    print_snapshot(&snap);
    say("ESTABLISHED");
    let id = ike_id.ok_or("no IKE SA")?;
    // Phase 2: the delete, from us or from the peer.
    if let Some(secs) = a.delete_after {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        say("deleting the IKE SA");
        h.delete_ike(id).await.map_err(|e| e.to_string())?;
    } else {
        say("waiting for the peer to delete the IKE SA");
    }
    let mut child_deleted = false;
    loop {
        match next_event(h, deadline)
            .await
            .map_err(|e| format!("{e} waiting for the delete"))?
        {
            NodeEvent::IkeSaDeleted(d) if d == id => break,
            NodeEvent::ChildSaDeleted { .. } => child_deleted = true,
            NodeEvent::IkeSaFailed(d, why) if d == id => {
                return Err(format!("IKE SA failed during the delete: {why}"));
            }
            _ => {}
        }
    }
    // Let the node send its last response before looking at the state.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while let Ok(ev) = h.events.try_recv() {
        if matches!(ev, NodeEvent::ChildSaDeleted { .. }) {
            child_deleted = true;
        }
        say(&describe(&ev));
    }
    let snap = h.snapshot().await.map_err(|e| e.to_string())?;
    print_snapshot(&snap);
    if !snap.ike_sas.is_empty() || !snap.child_sas.is_empty() {
        return Err("SAs left over after the delete".into());
    }
    if !child_deleted {
        return Err("the Child SA was not reported deleted".into());
    }
    say("DELETED");
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("interop_probe: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cfg = match build_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("interop_probe: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("interop_probe: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args, cfg)) {
        Ok(()) => {
            say("RESULT ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            say(&format!("RESULT failed: {e}"));
            ExitCode::FAILURE
        }
    }
}
