//! The daemon: one [`Node`] per configured connection, and the control socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use negotiator_crypto::CryptoProvider;
use negotiator_proto::{IkeSaInfo, hex};
use serde_json::{Value, json};
use tokio::net::UnixListener;
use tokio::sync::{Mutex, mpsc};
use tracing::{info, warn};

use crate::config::{ConnectionConfig, DaemonConfig, StartAction, ts_to_string};
use crate::control::{self, Request};
use crate::{ChildSaStatus, Node, NodeConfig, NodeEvent, NodeHandle, Snapshot};

/// One running connection.
#[derive(Debug)]
struct Running {
    cfg: ConnectionConfig,
    handle: NodeHandle,
}

/// The running daemon.
#[derive(Debug)]
pub struct Daemon {
    config_path: Option<PathBuf>,
    provider: Arc<dyn CryptoProvider>,
    conns: Vec<Running>,
}

impl Daemon {
    /// Starts a node for each connection; `config_path` is re-read by `reload`.
    pub async fn start(
        cfg: DaemonConfig,
        config_path: Option<PathBuf>,
        provider: Arc<dyn CryptoProvider>,
    ) -> Result<Self, String> {
        let mut d = Self {
            config_path,
            provider,
            conns: Vec::new(),
        };
        for c in cfg.connections {
            let r = d.start_connection(&cfg.daemon.listen, c).await;
            match r {
                Ok(r) => d.conns.push(r),
                Err(e) => {
                    d.shutdown().await;
                    return Err(e);
                }
            }
        }
        Ok(d)
    }

    async fn start_connection(
        &self,
        listen: &[std::net::IpAddr],
        c: ConnectionConfig,
    ) -> Result<Running, String> {
        let bind = listen
            .iter()
            .find(|a| a.is_ipv4() == c.peer.is_ipv4())
            .copied()
            .unwrap_or_else(|| {
                if c.peer.is_ipv4() {
                    std::net::IpAddr::from([0, 0, 0, 0])
                } else {
                    std::net::IpAddr::from([0u16; 8])
                }
            });
        let node = Node::bind(NodeConfig {
            name: c.name.clone(),
            ike: c.ike.clone(),
            bind,
            ike_port: c.local_port,
            natt_port: c.local_natt_port,
            peer: (c.start_action == StartAction::Trap).then_some(c.peer),
            peer_natt_port: c.peer_natt_port,
        })
        .await
        .map_err(|e| {
            format!(
                "connection {}: cannot bind {bind} ports {}/{}: {e}",
                c.name, c.local_port, c.local_natt_port
            )
        })?;
        let mut handle = node
            .spawn(self.provider.clone())
            .map_err(|e| format!("connection {}: {e}", c.name))?;
        // Lifecycle events are logged; the node waits for them to be taken.
        let (_, dummy) = mpsc::channel(1);
        let mut events = std::mem::replace(&mut handle.events, dummy);
        let name = c.name.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                match ev {
                    NodeEvent::Inbound(_) => {}
                    NodeEvent::IkeSaFailed(id, why) => {
                        warn!(connection = %name, ike_sa = id.0, "IKE SA failed: {why}")
                    }
                    NodeEvent::ChildSaFailed(why) => {
                        warn!(connection = %name, "Child SA failed: {why}")
                    }
                    other => info!(connection = %name, "{other:?}"),
                }
            }
        });
        info!(connection = %c.name, ike = %handle.ike_addr, natt = %handle.natt_addr, "connection loaded");
        if c.start_action == StartAction::Start
            && let Err(e) = handle.initiate(c.peer).await
        {
            warn!(connection = %c.name, "cannot initiate: {e}");
        }
        Ok(Running { cfg: c, handle })
    }

    /// Answers one control request.
    pub async fn handle(&mut self, req: Request) -> Value {
        let r = match req {
            Request::List => Ok(self.list().await),
            Request::Up { connection } => self.up(&connection).await,
            Request::Down { target } => self.down(&target).await,
            Request::Reload => self.reload().await,
        };
        r.unwrap_or_else(control::error_response)
    }

    /// All connections with their IKE and Child SAs.
    pub async fn list(&self) -> Value {
        let mut conns = Vec::new();
        for r in &self.conns {
            let v = match r.handle.snapshot().await {
                Ok(s) => connection_json(&r.cfg, &s),
                Err(e) => json!({ "name": r.cfg.name, "error": e.to_string() }),
            };
            conns.push(v);
        }
        json!({ "ok": true, "connections": conns })
    }

    fn find(&self, name: &str) -> Option<&Running> {
        self.conns.iter().find(|r| r.cfg.name == name)
    }

    /// Initiates a connection.
    pub async fn up(&self, name: &str) -> Result<Value, String> {
        let r = self
            .find(name)
            .ok_or_else(|| format!("no connection named {name}"))?;
        r.handle
            .initiate(r.cfg.peer)
            .await
            .map_err(|e| e.to_string())?;
        Ok(json!({ "ok": true, "initiated": name }))
    }

    /// Deletes by connection name (all its IKE SAs), IKE SPI or Child SPI.
    pub async fn down(&self, target: &str) -> Result<Value, String> {
        if let Some(r) = self.find(target) {
            let s = r.handle.snapshot().await.map_err(|e| e.to_string())?;
            let mut n = 0usize;
            for sa in &s.ike_sas {
                r.handle
                    .delete_ike(sa.id)
                    .await
                    .map_err(|e| e.to_string())?;
                n += 1;
            }
            return Ok(json!({ "ok": true, "deleted_ike_sas": n }));
        }
        let t = target.trim_start_matches("0x").to_ascii_lowercase();
        for r in &self.conns {
            let Ok(s) = r.handle.snapshot().await else {
                continue;
            };
            for sa in &s.ike_sas {
                if t.len() == 16 && (hex(&sa.spi_i) == t || hex(&sa.spi_r) == t) {
                    r.handle
                        .delete_ike(sa.id)
                        .await
                        .map_err(|e| e.to_string())?;
                    return Ok(json!({ "ok": true, "deleted_ike_sas": 1 }));
                }
                if t.len() == 8
                    && let Some(c) = sa
                        .children
                        .iter()
                        .find(|c| format!("{:08x}", c.0) == t || format!("{:08x}", c.1) == t)
                {
                    r.handle
                        .delete_child(sa.id, c.0)
                        .await
                        .map_err(|e| e.to_string())?;
                    return Ok(json!({ "ok": true, "deleted_child_sas": 1 }));
                }
            }
        }
        Err(format!(
            "{target}: no such connection, IKE SA (16 hex digits) or Child SA (8 hex digits)"
        ))
    }

    /// Re-reads the configuration: removed or changed connections are stopped, new or
    /// changed ones started; unchanged ones keep their SAs. A bad file changes nothing.
    pub async fn reload(&mut self) -> Result<Value, String> {
        let path = self
            .config_path
            .clone()
            .ok_or("no configuration file to reload")?;
        let cfg = DaemonConfig::load(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut kept = Vec::new();
        let mut stopped = Vec::new();
        for r in std::mem::take(&mut self.conns) {
            let same = cfg
                .connections
                .iter()
                .any(|c| c.name == r.cfg.name && c.fingerprint == r.cfg.fingerprint);
            if same {
                kept.push(r);
            } else {
                stop(&r).await;
                stopped.push(r.cfg.name.clone());
            }
        }
        self.conns = kept;
        let mut started = Vec::new();
        let mut errors = Vec::new();
        for c in cfg.connections {
            if self.find(&c.name).is_some() {
                continue;
            }
            let name = c.name.clone();
            match self.start_connection(&cfg.daemon.listen, c).await {
                Ok(r) => {
                    self.conns.push(r);
                    started.push(name);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        Ok(json!({ "ok": true, "stopped": stopped, "started": started }))
    }

    /// Deletes every IKE SA and stops every node.
    pub async fn shutdown(&mut self) {
        for r in std::mem::take(&mut self.conns) {
            stop(&r).await;
        }
    }
}

/// Deletes a connection's IKE SAs (best effort, briefly) and stops its node.
async fn stop(r: &Running) {
    if let Ok(s) = r.handle.snapshot().await {
        for sa in &s.ike_sas {
            let _ = r.handle.delete_ike(sa.id).await;
        }
        if !s.ike_sas.is_empty() {
            // Let the INFORMATIONAL go out before the sockets close.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    let _ = r.handle.shutdown().await;
}

/// Serves the control socket until the listener fails.
pub async fn serve_control(listener: UnixListener, daemon: Arc<Mutex<Daemon>>) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                warn!("control socket: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let daemon = daemon.clone();
        tokio::spawn(async move {
            let line =
                match tokio::time::timeout(control::TIMEOUT, control::read_line(&stream)).await {
                    Ok(Ok(l)) => l,
                    _ => return,
                };
            let resp = match control::parse_request(&line) {
                Ok(req) => daemon.lock().await.handle(req).await,
                Err(e) => control::error_response(e),
            };
            let mut out = resp.to_string().into_bytes();
            out.push(b'\n');
            let _ = tokio::time::timeout(control::TIMEOUT, control::write_all(&stream, &out)).await;
        });
    }
}

/// Loads `path`, starts the connections, and serves the control socket (from the file, or
/// `socket` if given) until the process is stopped.
pub async fn run(
    path: &Path,
    socket: Option<PathBuf>,
    provider: Arc<dyn CryptoProvider>,
) -> Result<(), String> {
    let cfg = DaemonConfig::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let sock_path = socket.unwrap_or_else(|| cfg.daemon.control_socket.clone());
    let listener = control::bind(&sock_path)
        .map_err(|e| format!("control socket {}: {e}", sock_path.display()))?;
    let daemon = Daemon::start(cfg, Some(path.to_path_buf()), provider).await?;
    info!(socket = %sock_path.display(), "daemon running");
    serve_control(listener, Arc::new(Mutex::new(daemon))).await;
    Ok(())
}

fn ike_json(sa: &IkeSaInfo, children: Vec<Value>) -> Value {
    let algs = sa.suite.map(|s| {
        let mut v = vec![s.encr.name().to_string()];
        if let Some(i) = s.integ {
            v.push(i.name().to_string());
        }
        v.push(s.prf.name().to_string());
        v.push(s.group.name().to_string());
        v.join("-")
    });
    json!({
        "id": sa.id.0,
        "version": 2,
        "state": sa.state.as_str(),
        "role": sa.role.as_str(),
        "spi_i": hex(&sa.spi_i),
        "spi_r": hex(&sa.spi_r),
        "algorithms": algs,
        "local": sa.local.to_string(),
        "remote": sa.remote.to_string(),
        "local_id": sa.local_id,
        "remote_id": sa.remote_id,
        "local_auth": sa.local_auth,
        "remote_auth": sa.remote_auth,
        "nat_local": sa.nat.0,
        "nat_remote": sa.nat.1,
        "child_sas": children,
    })
}

fn child_json(c: &ChildSaStatus) -> Value {
    let algs = match &c.integrity {
        Some(i) => format!("{}-{i}", c.encryption),
        None => c.encryption.clone(),
    };
    json!({
        "spi_in": format!("{:08x}", c.spi_in),
        "spi_out": format!("{:08x}", c.spi_out),
        "algorithms": algs,
        "local_ts": c.local_ts.iter().map(ts_to_string).collect::<Vec<_>>(),
        "remote_ts": c.remote_ts.iter().map(ts_to_string).collect::<Vec<_>>(),
        "packets_in": c.packets_in,
        "packets_out": c.packets_out,
        "bytes_in": c.bytes_in,
        "bytes_out": c.bytes_out,
        "replay_drops": c.replay_drops,
        "auth_failures": c.auth_failures,
        "rekey_in_secs": c.rekey_in.map(|d| d.as_secs()),
        "expires_in_secs": c.expires_in.map(|d| d.as_secs()),
    })
}

/// A connection's SAs as JSON (the `list` response's `connections` entries).
pub fn connection_json(cfg: &ConnectionConfig, s: &Snapshot) -> Value {
    let mut used = vec![false; s.child_sas.len()];
    let mut ikes = Vec::new();
    for sa in &s.ike_sas {
        let mut children = Vec::new();
        for (i, c) in s.child_sas.iter().enumerate() {
            let mine = sa.children.iter().any(|k| k.0 == c.spi_in);
            if mine && let Some(u) = used.get_mut(i) {
                *u = true;
                children.push(child_json(c));
            }
        }
        ikes.push(ike_json(sa, children));
    }
    // Child SAs whose IKE SA is gone (they run until their hard lifetime).
    let orphans: Vec<Value> = s
        .child_sas
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(c, _)| child_json(c))
        .collect();
    json!({
        "name": cfg.name,
        "peer": cfg.peer.to_string(),
        "start_action": match cfg.start_action {
            StartAction::Start => "start",
            StartAction::Trap => "trap",
            StartAction::None => "none",
        },
        "ike_addr": s.ike_addr.to_string(),
        "natt_addr": s.natt_addr.to_string(),
        "ike_sas": ikes,
        "orphan_child_sas": orphans,
    })
}
