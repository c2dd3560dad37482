//! The daemon's TOML configuration (`negotiator daemon --config FILE`).
//!
//! ```toml
//! [daemon]
//! listen = ["0.0.0.0"]
//! ike_port = 500
//! natt_port = 4500
//! control_socket = "/run/negotiator/control.sock"
//!
//! [[psk]]
//! id = "b.example"
//! secret = "..."            # or secret_file = "b.psk"
//!
//! [[connection]]
//! name = "b"
//! peer = "192.0.2.2"
//! local_id = "a.example"
//! remote_id = "b.example"
//! auth = "psk"
//! start_action = "start"
//! ```
//!
//! Errors carry the line and column of the offending value where there is one. Relative
//! file names are resolved against the configuration file's directory.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use negotiator_crypto::{Encr, Group, Integ, Prf, PrivateKey, Secret};
use negotiator_proto::{
    Config, EspProposal, Identity, IkeProposal, LocalAuth, RemoteAuth, RetransmitConfig,
    default_child_lifetime,
};
use negotiator_sadb::{Lifetime, TsRange};
use serde::{Deserialize, Serialize};
use toml::Spanned;
use zeroize::Zeroize;

/// Largest configuration file (and credential file) read.
pub const MAX_FILE: u64 = 1 << 20;

/// A configuration error, with the position it refers to when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line, if the error refers to a place in the file.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// 1-based (line, column) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Ctx<'a> {
    text: &'a str,
    base: PathBuf,
}

impl Ctx<'_> {
    fn err(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(self.text, s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError {
            line,
            column,
            message: message.into(),
        }
    }

    fn at<T>(&self, v: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        self.err(Some(v.span()), message)
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn read(&self, p: &Spanned<String>) -> Result<Vec<u8>, ConfigError> {
        let path = self.path(p.get_ref());
        read_small(&path).map_err(|e| self.at(p, e))
    }
}

// ---------------------------------------------------------------------------------------
// The file as written.

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    daemon: RawDaemon,
    #[serde(default)]
    identity: Vec<RawIdentity>,
    #[serde(default)]
    trust: RawTrust,
    #[serde(default)]
    psk: Vec<RawPsk>,
    #[serde(default)]
    connection: Vec<RawConnection>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    #[serde(default)]
    listen: Vec<Spanned<String>>,
    ike_port: Option<u16>,
    natt_port: Option<u16>,
    control_socket: Option<String>,
    log: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    id: Spanned<String>,
    key: Option<Spanned<String>>,
    certificate: Option<Spanned<String>>,
    profile: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    #[serde(default)]
    anchors: Vec<Spanned<String>>,
    #[serde(default)]
    crls: Vec<Spanned<String>>,
}

#[derive(Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawPsk {
    id: Spanned<String>,
    secret: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
}

impl fmt::Debug for RawPsk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPsk")
            .field("id", self.id.get_ref())
            .field("secret", &self.secret.as_ref().map(|_| ".."))
            .field(
                "secret_file",
                &self.secret_file.as_ref().map(|p| p.get_ref()),
            )
            .finish()
    }
}

impl Drop for RawPsk {
    fn drop(&mut self) {
        if let Some(s) = self.secret.as_mut() {
            s.get_mut().zeroize();
        }
    }
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    name: Spanned<String>,
    peer: Spanned<String>,
    peer_port: Option<u16>,
    peer_natt_port: Option<u16>,
    local_port: Option<u16>,
    local_natt_port: Option<u16>,
    version: Option<Spanned<u8>>,
    local_id: Spanned<String>,
    remote_id: Option<Spanned<String>>,
    auth: Option<Spanned<String>>,
    #[serde(default)]
    ike: Vec<Spanned<String>>,
    #[serde(default)]
    esp: Vec<Spanned<String>>,
    #[serde(default)]
    local_ts: Vec<Spanned<String>>,
    #[serde(default)]
    remote_ts: Vec<Spanned<String>>,
    rekey_time: Option<Spanned<u64>>,
    life_time: Option<Spanned<u64>>,
    start_action: Option<Spanned<String>>,
    dpd_delay: Option<u64>,
    force_encap: Option<bool>,
}

// ---------------------------------------------------------------------------------------
// The validated configuration.

/// What to do with a connection when the daemon starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAction {
    /// Initiate at startup.
    Start,
    /// Initiate when traffic for the remote selectors appears (acquire).
    Trap,
    /// Only respond.
    None,
}

/// The `[daemon]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    /// Addresses to listen on (the first one is used for the nodes).
    pub listen: Vec<IpAddr>,
    /// IKE port (default 500).
    pub ike_port: u16,
    /// NAT-T port (default 4500).
    pub natt_port: u16,
    /// Control socket path.
    pub control_socket: PathBuf,
    /// Log filter, if set.
    pub log: Option<String>,
}

/// One `[[connection]]`.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Name, unique in the file.
    pub name: String,
    /// The peer's IKE address.
    pub peer: SocketAddr,
    /// The peer's NAT-T port.
    pub peer_natt_port: u16,
    /// Our IKE port for this connection.
    pub local_port: u16,
    /// Our NAT-T port for this connection.
    pub local_natt_port: u16,
    /// Start action.
    pub start_action: StartAction,
    /// The IKE core's configuration.
    pub ike: Arc<Config>,
    /// The connection's settings as written (positions left out), to see what a reload
    /// changed. Credentials are referred to by name, so a changed secret file or key
    /// is not seen here.
    pub fingerprint: String,
}

/// A whole, validated daemon configuration.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// `[daemon]`.
    pub daemon: DaemonSettings,
    /// `[[connection]]`s.
    pub connections: Vec<ConnectionConfig>,
}

impl DaemonConfig {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let bytes = read_small(path).map_err(|message| ConfigError {
            line: None,
            column: None,
            message,
        })?;
        // The text may hold pre-shared keys: wiped once parsed.
        let text = zeroize::Zeroizing::new(String::from_utf8(bytes).map_err(|e| {
            let mut b = e.into_bytes();
            b.zeroize();
            ConfigError {
                line: None,
                column: None,
                message: format!("{}: not UTF-8", path.display()),
            }
        })?);
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &base)
    }

    /// Parses and validates configuration text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let cx = Ctx {
            text,
            base: base.to_path_buf(),
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let mut msg = e.message().trim().to_string();
            if msg.is_empty() {
                msg = e.to_string();
            }
            cx.err(e.span(), msg)
        })?;
        build(&cx, &raw)
    }
}

fn build(cx: &Ctx<'_>, raw: &RawFile) -> Result<DaemonConfig, ConfigError> {
    let d = &raw.daemon;
    let mut listen = Vec::new();
    for l in &d.listen {
        listen.push(
            l.get_ref()
                .parse::<IpAddr>()
                .map_err(|_| cx.at(l, format!("listen: not an IP address: {}", l.get_ref())))?,
        );
    }
    if listen.is_empty() {
        listen.push(IpAddr::from([0, 0, 0, 0]));
    }
    let daemon = DaemonSettings {
        listen,
        ike_port: d.ike_port.unwrap_or(500),
        natt_port: d.natt_port.unwrap_or(4500),
        control_socket: d.control_socket.as_deref().map_or_else(
            || PathBuf::from("/run/negotiator/control.sock"),
            |p| cx.path(p),
        ),
        log: d.log.clone(),
    };

    let mut anchors = Vec::new();
    for a in &raw.trust.anchors {
        let bytes = cx.read(a)?;
        let certs = negotiator_pki::parse_certificate_pem_or_der(&bytes)
            .map_err(|e| cx.at(a, format!("{}: {e}", a.get_ref())))?;
        anchors.extend(certs);
    }
    let mut crls = Vec::new();
    for c in &raw.trust.crls {
        let bytes = cx.read(c)?;
        let der = if bytes.first() == Some(&0x30) {
            bytes
        } else {
            let (label, der) = der::pem::decode_vec(&bytes)
                .map_err(|e| cx.at(c, format!("{}: not PEM or DER: {e}", c.get_ref())))?;
            if label != "X509 CRL" {
                return Err(cx.at(
                    c,
                    format!("{}: PEM label {label}, not X509 CRL", c.get_ref()),
                ));
            }
            der
        };
        crls.push(der);
    }

    let mut connections: Vec<ConnectionConfig> = Vec::new();
    for c in &raw.connection {
        if connections.iter().any(|o| o.name == *c.name.get_ref()) {
            return Err(cx.at(
                &c.name,
                format!("duplicate connection name {}", c.name.get_ref()),
            ));
        }
        let k = connection(cx, raw, &daemon, c, &anchors, &crls)?;
        // One node (and socket pair) per connection for now: ports cannot be shared.
        if let Some(o) = connections.iter().find(|o| {
            (k.local_port != 0 && o.local_port == k.local_port)
                || (k.local_natt_port != 0 && o.local_natt_port == k.local_natt_port)
        }) {
            return Err(cx.at(
                &c.name,
                format!(
                    "connection {} uses the ports {}/{} of connection {}; each connection \
                     needs its own local_port and local_natt_port for now",
                    k.name, k.local_port, k.local_natt_port, o.name
                ),
            ));
        }
        connections.push(k);
    }
    Ok(DaemonConfig {
        daemon,
        connections,
    })
}

fn connection(
    cx: &Ctx<'_>,
    raw: &RawFile,
    daemon: &DaemonSettings,
    c: &RawConnection,
    anchors: &[Vec<u8>],
    crls: &[Vec<u8>],
) -> Result<ConnectionConfig, ConfigError> {
    if let Some(v) = &c.version {
        match v.get_ref() {
            2 => {}
            1 => return Err(cx.at(v, "IKEv1 (version = 1) is not supported yet")),
            n => return Err(cx.at(v, format!("version {n}: must be 2 (or 1 for IKEv1)"))),
        }
    }
    let peer_ip: IpAddr = c.peer.get_ref().parse().map_err(|_| {
        cx.at(
            &c.peer,
            format!("peer: not an IP address: {}", c.peer.get_ref()),
        )
    })?;
    let local_id = identity(c.local_id.get_ref()).map_err(|e| cx.at(&c.local_id, e))?;
    let remote_id = match &c.remote_id {
        Some(r) => Some(identity(r.get_ref()).map_err(|e| cx.at(r, e))?),
        None => None,
    };
    let auth = c.auth.as_ref().map_or("psk", |a| a.get_ref().as_str());
    let (local_auth, remote_auth) = match auth {
        "psk" => {
            // The secret shared with the peer: the [[psk]] naming the remote identity, else
            // the one naming ours.
            let wanted = [c.remote_id.as_ref(), Some(&c.local_id)];
            let p = wanted
                .iter()
                .flatten()
                .find_map(|id| raw.psk.iter().find(|p| p.id.get_ref() == id.get_ref()))
                .ok_or_else(|| {
                    cx.at(
                        &c.name,
                        format!(
                            "connection {}: no [[psk]] with id {} or {}",
                            c.name.get_ref(),
                            c.remote_id.as_ref().map_or("(none)", |r| r.get_ref()),
                            c.local_id.get_ref()
                        ),
                    )
                })?;
            let secret = psk_secret(cx, p)?;
            (LocalAuth::Psk(secret.clone()), RemoteAuth::Psk(secret))
        }
        "pubkey" => {
            let ident = raw
                .identity
                .iter()
                .find(|i| i.id.get_ref() == c.local_id.get_ref())
                .ok_or_else(|| {
                    cx.at(
                        &c.local_id,
                        format!("no [[identity]] with id {}", c.local_id.get_ref()),
                    )
                })?;
            let (key, chain) = identity_credential(cx, ident)?;
            if anchors.is_empty() {
                return Err(cx.at(
                    &c.name,
                    "auth = \"pubkey\" needs [trust] anchors to check the peer",
                ));
            }
            (
                LocalAuth::Certificate {
                    key: Arc::new(key),
                    chain,
                },
                RemoteAuth::Certificate {
                    anchors: anchors.to_vec(),
                    crls: crls.to_vec(),
                },
            )
        }
        other => {
            let a = c.auth.as_ref().map_or(&c.name, |a| a);
            return Err(cx.at(a, format!("auth {other:?}: must be \"psk\" or \"pubkey\"")));
        }
    };
    let mut ike_proposals = Vec::new();
    for s in &c.ike {
        let (encr, integ, prf, groups) = proposal(s.get_ref(), true).map_err(|e| cx.at(s, e))?;
        ike_proposals.push(IkeProposal {
            encr,
            integ,
            prf,
            groups,
        });
    }
    if ike_proposals.is_empty() {
        ike_proposals = default_ike_proposals();
    }
    let mut esp_proposals = Vec::new();
    for s in &c.esp {
        let (encr, integ, prf, groups) = proposal(s.get_ref(), false).map_err(|e| cx.at(s, e))?;
        if !prf.is_empty() || !groups.is_empty() {
            return Err(cx.at(
                s,
                format!("ESP proposal {}: PRF/group not allowed", s.get_ref()),
            ));
        }
        esp_proposals.push(EspProposal { encr, integ });
    }
    if esp_proposals.is_empty() {
        esp_proposals = default_esp_proposals();
    }
    let ts = |list: &[Spanned<String>], dflt: IpAddr| -> Result<Vec<TsRange>, ConfigError> {
        if list.is_empty() {
            return cidr(&dflt.to_string())
                .map(|t| vec![t])
                .map_err(|e| cx.err(None, e));
        }
        list.iter()
            .map(|s| cidr(s.get_ref()).map_err(|e| cx.at(s, e)))
            .collect()
    };
    let local_default = daemon
        .listen
        .first()
        .copied()
        .filter(|a| !a.is_unspecified())
        .unwrap_or(if peer_ip.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from([0u16; 8])
        });
    let local_ts = ts(&c.local_ts, local_default)?;
    let remote_ts = ts(&c.remote_ts, peer_ip)?;
    let mut child_lifetime = default_child_lifetime();
    if let Some(l) = &c.life_time {
        child_lifetime.hard_secs = Some(*l.get_ref());
    }
    if let Some(r) = &c.rekey_time {
        child_lifetime.soft_secs = Some(*r.get_ref());
    }
    check_lifetime(cx, c, &child_lifetime)?;
    let start_action = match c.start_action.as_ref().map(|s| (s, s.get_ref().as_str())) {
        None | Some((_, "none")) => StartAction::None,
        Some((_, "start")) => StartAction::Start,
        Some((_, "trap")) => StartAction::Trap,
        Some((s, other)) => {
            return Err(cx.at(
                s,
                format!("start_action {other:?}: must be \"start\", \"trap\" or \"none\""),
            ));
        }
    };
    let ike = Config {
        local_id,
        remote_id,
        local_auth,
        remote_auth,
        ike_proposals,
        esp_proposals,
        local_ts,
        remote_ts,
        retransmit: RetransmitConfig::default(),
        cookie_threshold: 64,
        half_open_timeout: Duration::from_secs(30),
        dpd_interval: c.dpd_delay.filter(|d| *d > 0).map(Duration::from_secs),
        child_lifetime,
        replay_window: 64,
        force_udp_encap: c.force_encap.unwrap_or(false),
        key_log: None,
    };
    Ok(ConnectionConfig {
        name: c.name.get_ref().clone(),
        peer: SocketAddr::new(peer_ip, c.peer_port.unwrap_or(500)),
        peer_natt_port: c.peer_natt_port.unwrap_or(4500),
        local_port: c.local_port.unwrap_or(daemon.ike_port),
        local_natt_port: c.local_natt_port.unwrap_or(daemon.natt_port),
        start_action,
        ike: Arc::new(ike),
        fingerprint: serde_json::to_string(c).unwrap_or_default(),
    })
}

fn check_lifetime(cx: &Ctx<'_>, c: &RawConnection, l: &Lifetime) -> Result<(), ConfigError> {
    if let (Some(s), Some(h)) = (l.soft_secs, l.hard_secs)
        && s >= h
    {
        let at = c
            .rekey_time
            .as_ref()
            .map(Spanned::span)
            .or(c.life_time.as_ref().map(Spanned::span));
        return Err(cx.err(
            at,
            format!("rekey_time ({s} s) must be shorter than life_time ({h} s)"),
        ));
    }
    Ok(())
}

fn psk_secret(cx: &Ctx<'_>, p: &RawPsk) -> Result<Secret, ConfigError> {
    let bytes = match (&p.secret, &p.secret_file) {
        (Some(s), None) => s.get_ref().as_bytes().to_vec(),
        (None, Some(f)) => {
            let mut b = cx.read(f)?;
            while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                b.pop();
            }
            b
        }
        _ => return Err(cx.at(&p.id, "[[psk]]: give exactly one of secret and secret_file")),
    };
    if bytes.is_empty() {
        return Err(cx.at(&p.id, "[[psk]]: empty secret"));
    }
    Ok(Secret::new(bytes))
}

fn identity_credential(
    cx: &Ctx<'_>,
    i: &RawIdentity,
) -> Result<(PrivateKey, Vec<Vec<u8>>), ConfigError> {
    match (&i.key, &i.certificate, &i.profile) {
        (Some(k), Some(c), None) => {
            let key = load_key(&cx.path(k.get_ref())).map_err(|e| cx.at(k, e))?;
            let chain = load_certs(&cx.path(c.get_ref())).map_err(|e| cx.at(c, e))?;
            Ok((key, chain))
        }
        (None, None, Some(p)) => {
            if i.password_file.is_none() {
                return Err(cx.at(p, "profile needs password_file"));
            }
            Err(cx.at(
                p,
                "identity profiles are not supported yet; give key and certificate",
            ))
        }
        _ => Err(cx.at(
            &i.id,
            "[[identity]]: give key and certificate, or profile and password_file",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Shared text forms (also used by the interop probe).

/// The default IKE proposals (AEAD first).
pub fn default_ike_proposals() -> Vec<IkeProposal> {
    [
        "aes128gcm16-aes256gcm16-prfsha256-ecp256-curve25519-modp2048",
        "aes128-aes256-sha256-ecp256-curve25519-modp2048",
    ]
    .iter()
    .filter_map(|s| proposal(s, true).ok())
    .map(|(encr, integ, prf, groups)| IkeProposal {
        encr,
        integ,
        prf,
        groups,
    })
    .collect()
}

/// The default ESP proposals.
pub fn default_esp_proposals() -> Vec<EspProposal> {
    ["aes128gcm16-aes256gcm16", "aes128-aes256-sha256"]
        .iter()
        .filter_map(|s| proposal(s, false).ok())
        .map(|(encr, integ, _, _)| EspProposal { encr, integ })
        .collect()
}

/// An identity from its text form: IP address, DN (`C=ZZ, O=Lab, CN=x`), `user@fqdn`, FQDN.
pub fn identity(s: &str) -> Result<Identity, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Identity::ip(ip));
    }
    if s.contains('=') {
        use der::Encode;
        let name = negotiator_pki::parse_dn(s).map_err(|e| format!("identity {s}: {e}"))?;
        let der = name.to_der().map_err(|e| format!("identity {s}: {e}"))?;
        return Ok(Identity::der_dn(der));
    }
    if s.contains('@') {
        return Ok(Identity::email(s));
    }
    if s.is_empty() {
        return Err("empty identity".into());
    }
    Ok(Identity::fqdn(s))
}

/// A traffic selector from `a.b.c.d/len` or an address (any protocol and port).
pub fn cidr(s: &str) -> Result<TsRange, String> {
    let (addr, len) = s.split_once('/').unwrap_or((s, ""));
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("traffic selector {s}: bad address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = if len.is_empty() {
        max
    } else {
        len.parse()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("traffic selector {s}: bad prefix length"))?
    };
    let (start, end) = match ip {
        IpAddr::V4(v) => {
            let x = u32::from(v);
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            (
                IpAddr::from((x & mask).to_be_bytes()),
                IpAddr::from((x | !mask).to_be_bytes()),
            )
        }
        IpAddr::V6(v) => {
            let x = u128::from(v);
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            (
                IpAddr::from((x & mask).to_be_bytes()),
                IpAddr::from((x | !mask).to_be_bytes()),
            )
        }
    };
    Ok(TsRange {
        start,
        end,
        protocol: 0,
        start_port: 0,
        end_port: 65535,
    })
}

/// Parsed proposal: encryption, integrity, PRF and group lists.
pub type Algs = (Vec<Encr>, Vec<Integ>, Vec<Prf>, Vec<Group>);

/// One proposal in strongSwan's `-`-separated notation; `ike` requires PRF and groups.
/// In an AEAD proposal a hash names the PRF; otherwise it is integrity and PRF.
pub fn proposal(s: &str, ike: bool) -> Result<Algs, String> {
    let (mut encr, mut integ, mut prf, mut groups) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for tok in s.split('-') {
        let gcm = tok.strip_suffix("16").unwrap_or(tok);
        if let Some(e) = Encr::from_name(tok).or_else(|| Encr::from_name(gcm)) {
            encr.push(e);
        } else if let Some(p) = Prf::from_name(tok) {
            prf.push(p);
        } else if let Some(i) = Integ::from_name(tok) {
            integ.push(i);
        } else if let Some(g) = Group::from_name(tok) {
            groups.push(g);
        } else {
            return Err(format!("proposal {s}: unknown algorithm {tok}"));
        }
    }
    if encr.is_empty() {
        return Err(format!("proposal {s}: no encryption algorithm"));
    }
    let aead = encr.iter().all(|e| e.is_aead());
    if encr.iter().any(|e| e.is_aead()) != aead {
        return Err(format!("proposal {s}: mixes AEAD and non-AEAD encryption"));
    }
    let derived_prf: Vec<Prf> = integ
        .iter()
        .map(|i| match i {
            Integ::HmacSha256_128 => Prf::HmacSha256,
            Integ::HmacSha384_192 => Prf::HmacSha384,
            Integ::HmacSha512_256 => Prf::HmacSha512,
        })
        .collect();
    if aead {
        integ.clear();
    } else if integ.is_empty() {
        return Err(format!("proposal {s}: no integrity algorithm"));
    }
    if ike {
        if prf.is_empty() {
            prf = derived_prf;
        }
        if prf.is_empty() {
            return Err(format!("proposal {s}: no PRF"));
        }
        if groups.is_empty() {
            return Err(format!("proposal {s}: no key exchange group"));
        }
    }
    Ok((encr, integ, prf, groups))
}

/// Reads a file of at most [`MAX_FILE`] bytes.
pub fn read_small(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_FILE {
        return Err(format!("{}: larger than 1 MiB", path.display()));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads a PKCS#8 private key (PEM `PRIVATE KEY` or DER).
pub fn load_key(path: &Path) -> Result<PrivateKey, String> {
    let bytes = Secret::new(read_small(path)?);
    let der = if bytes.as_bytes().first() == Some(&0x30) {
        bytes
    } else {
        let (label, der) = der::pem::decode_vec(bytes.as_bytes())
            .map_err(|e| format!("{}: not PEM or DER: {e}", path.display()))?;
        let der = Secret::new(der);
        if label != "PRIVATE KEY" {
            return Err(format!(
                "{}: PEM label {label}; convert with `openssl pkcs8 -topk8 -nocrypt`",
                path.display()
            ));
        }
        der
    };
    PrivateKey::from_pkcs8_der(der.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads certificates (PEM bundle or one DER certificate).
pub fn load_certs(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let bytes = read_small(path)?;
    negotiator_pki::parse_certificate_pem_or_der(&bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Formats a traffic selector as a CIDR when it is one, else `start-end`.
pub fn ts_to_string(t: &TsRange) -> String {
    let prefix = match (t.start, t.end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => {
            let d = u32::from(s) ^ u32::from(e);
            (d.wrapping_add(1) & d == 0 && u32::from(s) & d == 0).then(|| 32 - d.count_ones())
        }
        (IpAddr::V6(s), IpAddr::V6(e)) => {
            let d = u128::from(s) ^ u128::from(e);
            (d.wrapping_add(1) & d == 0 && u128::from(s) & d == 0).then(|| 128 - d.count_ones())
        }
        _ => None,
    };
    let mut out = match prefix {
        Some(p) => format!("{}/{p}", t.start),
        None => format!("{}-{}", t.start, t.end),
    };
    if t.protocol != 0 || t.start_port != 0 || t.end_port != 65535 {
        out.push_str(&format!("[{}/{}-{}]", t.protocol, t.start_port, t.end_port));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn cidr_bounds_match_hand_computation() {
        let t = cidr("198.51.100.16/28").unwrap();
        assert_eq!(t.start, "198.51.100.16".parse::<IpAddr>().unwrap());
        assert_eq!(t.end, "198.51.100.31".parse::<IpAddr>().unwrap());
        let h = cidr("192.0.2.1").unwrap();
        assert_eq!((h.start, h.end), (h.start, "192.0.2.1".parse().unwrap()));
        assert!(cidr("10.0.0.0/33").is_err());
        assert!(cidr("nonsense/8").is_err());
        let all = cidr("0.0.0.0/0").unwrap();
        assert_eq!(all.end, "255.255.255.255".parse::<IpAddr>().unwrap());
        let v6 = cidr("2001:db8::/32").unwrap();
        assert_eq!(
            v6.end,
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
                .parse::<IpAddr>()
                .unwrap()
        );
        assert_eq!(ts_to_string(&v6), "2001:db8::/32");
        assert_eq!(ts_to_string(&t), "198.51.100.16/28");
        let odd = TsRange {
            end: "198.51.100.20".parse().unwrap(),
            ..t
        };
        assert_eq!(ts_to_string(&odd), "198.51.100.16-198.51.100.20");
    }

    #[test]
    fn proposals_follow_strongswan_notation() {
        let (e, i, p, g) = proposal("aes128-sha256-ecp256", true).unwrap();
        assert_eq!(e, vec![Encr::AesCbc128]);
        assert_eq!(i, vec![Integ::HmacSha256_128]);
        assert_eq!(p, vec![Prf::HmacSha256]);
        assert_eq!(g, vec![Group::Ecp256]);
        let (e, i, p, _) = proposal("aes256gcm16-sha384-modp3072", true).unwrap();
        assert_eq!(e, vec![Encr::AesGcm16_256]);
        assert!(i.is_empty());
        assert_eq!(p, vec![Prf::HmacSha384]);
        assert!(proposal("aes128-ecp256", true).is_err());
        assert!(proposal("aes128gcm16-aes128-sha256-ecp256", true).is_err());
        assert!(proposal("des-sha1-modp1024", true).is_err());
        assert!(
            proposal("aes128-sha256", true).is_err(),
            "IKE needs a group"
        );
        let (e, i, _, _) = proposal("aes128-sha256", false).unwrap();
        assert_eq!((e, i), (vec![Encr::AesCbc128], vec![Integ::HmacSha256_128]));
    }
}
