//! Configuration parsing: the shipped examples, and errors that name the line.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use negotiator_crypto::{Encr, Group, Integ, Prf};
use negotiator_daemon::config::{ConfigError, DaemonConfig, StartAction, ts_to_string};
use negotiator_proto::{Identity, LocalAuth, RemoteAuth};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config")
}

#[test]
fn road_warrior_example_parses() {
    let c = DaemonConfig::load(&examples().join("road-warrior-psk.toml")).expect("parses");
    assert_eq!(c.daemon.ike_port, 500);
    assert_eq!(c.daemon.natt_port, 4500);
    assert_eq!(
        c.daemon.control_socket,
        PathBuf::from("/run/negotiator/control.sock")
    );
    assert_eq!(c.daemon.log.as_deref(), Some("info"));
    assert_eq!(c.connections.len(), 1);
    let k = &c.connections[0];
    assert_eq!(k.name, "office");
    assert_eq!(k.peer, "203.0.113.1:500".parse::<SocketAddr>().unwrap());
    assert_eq!(k.peer_natt_port, 4500);
    assert_eq!(k.start_action, StartAction::Start);
    assert_eq!(k.ike.local_id, Identity::email("laptop@example.net"));
    assert_eq!(k.ike.remote_id, Some(Identity::fqdn("gw.example.net")));
    match (&k.ike.local_auth, &k.ike.remote_auth) {
        (LocalAuth::Psk(a), RemoteAuth::Psk(b)) => {
            assert_eq!(a.as_bytes(), b"correct horse battery staple");
            assert_eq!(b.as_bytes(), b"correct horse battery staple");
        }
        other => panic!("expected PSK, got {other:?}"),
    }
    assert_eq!(k.ike.ike_proposals.len(), 2);
    assert_eq!(k.ike.ike_proposals[0].encr, vec![Encr::AesGcm16_256]);
    assert!(k.ike.ike_proposals[0].integ.is_empty());
    assert_eq!(k.ike.ike_proposals[0].prf, vec![Prf::HmacSha256]);
    assert_eq!(k.ike.ike_proposals[0].groups, vec![Group::Ecp256]);
    assert_eq!(k.ike.ike_proposals[1].encr, vec![Encr::AesCbc256]);
    assert_eq!(k.ike.ike_proposals[1].integ, vec![Integ::HmacSha256_128]);
    assert_eq!(k.ike.ike_proposals[1].prf, vec![Prf::HmacSha256]);
    assert_eq!(k.ike.ike_proposals[1].groups, vec![Group::Modp2048]);
    assert_eq!(k.ike.esp_proposals[0].encr, vec![Encr::AesGcm16_256]);
    assert_eq!(k.ike.esp_proposals[1].encr, vec![Encr::AesCbc128]);
    assert_eq!(k.ike.esp_proposals[1].integ, vec![Integ::HmacSha256_128]);
    let r: Vec<String> = k.ike.remote_ts.iter().map(ts_to_string).collect();
    assert_eq!(r, ["10.10.0.0/16"]);
    assert_eq!(
        k.ike.remote_ts[0].start,
        "10.10.0.0".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        k.ike.remote_ts[0].end,
        "10.10.255.255".parse::<IpAddr>().unwrap()
    );
    assert_eq!(k.ike.child_lifetime.soft_secs, Some(3000));
    assert_eq!(k.ike.child_lifetime.hard_secs, Some(3600));
    assert_eq!(k.ike.dpd_interval, Some(std::time::Duration::from_secs(30)));
}

#[test]
fn site_to_site_example_parses() {
    let c = DaemonConfig::load(&examples().join("site-to-site-cert.toml")).expect("parses");
    assert_eq!(
        c.daemon.listen,
        vec!["198.51.100.1".parse::<IpAddr>().unwrap()]
    );
    let k = &c.connections[0];
    assert_eq!(k.name, "site-b");
    assert_eq!(k.start_action, StartAction::Trap);
    match (&k.ike.local_auth, &k.ike.remote_auth) {
        (LocalAuth::Certificate { chain, .. }, RemoteAuth::Certificate { anchors, crls }) => {
            assert_eq!(chain.len(), 1);
            assert_eq!(anchors.len(), 1);
            assert_eq!(crls.len(), 1);
            // DER SEQUENCE headers.
            assert_eq!(chain[0][0], 0x30);
            assert_eq!(crls[0][0], 0x30);
        }
        other => panic!("expected certificates, got {other:?}"),
    }
    assert_eq!(
        k.ike.local_id.to_string(),
        "C=ZZ, O=Example Lab, CN=gw-a.example.net"
    );
    let l: Vec<String> = k.ike.local_ts.iter().map(ts_to_string).collect();
    let r: Vec<String> = k.ike.remote_ts.iter().map(ts_to_string).collect();
    assert_eq!(l, ["192.0.2.0/25"]);
    assert_eq!(r, ["192.0.2.128/25"]);
    assert_eq!(k.ike.ike_proposals[0].prf, vec![Prf::HmacSha384]);
    assert_eq!(k.ike.ike_proposals[0].groups, vec![Group::Ecp384]);
}

const GOOD: &str = r#"[daemon]
ike_port = 10500
natt_port = 14500

[[psk]]
id = "b.example"
secret = "s3cret"

[[connection]]
name = "b"
peer = "127.0.0.1"
local_id = "a.example"
remote_id = "b.example"
"#;

fn parse(text: &str) -> Result<DaemonConfig, ConfigError> {
    DaemonConfig::parse(text, Path::new("/nonexistent-dir"))
}

/// Appends a line to GOOD's [[connection]] and returns the error.
fn err_with(extra: &str) -> ConfigError {
    let text = format!("{GOOD}{extra}\n");
    match parse(&text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    }
}

/// GOOD has 13 lines; an appended line is line 14.
const NEXT: usize = 14;

#[test]
fn minimal_config_defaults() {
    let c = parse(GOOD).expect("parses");
    let k = &c.connections[0];
    assert_eq!(k.local_port, 10500);
    assert_eq!(k.local_natt_port, 14500);
    assert_eq!(k.start_action, StartAction::None);
    assert_eq!(k.peer.port(), 500);
    assert!(!k.ike.ike_proposals.is_empty());
    assert!(!k.ike.esp_proposals.is_empty());
    // The fingerprint ignores positions but sees values.
    let moved = parse(&format!("\n\n{GOOD}")).expect("parses");
    assert_eq!(moved.connections[0].fingerprint, k.fingerprint);
    let changed = parse(&GOOD.replace("127.0.0.1", "127.0.0.2")).expect("parses");
    assert_ne!(changed.connections[0].fingerprint, k.fingerprint);
    let r: Vec<String> = k.ike.remote_ts.iter().map(ts_to_string).collect();
    assert_eq!(r, ["127.0.0.1/32"]);
}

#[test]
fn syntax_error_names_line() {
    let e = err_with("start_action = \"start");
    assert_eq!(e.line, Some(NEXT), "{e}");
}

#[test]
fn unknown_key_names_line() {
    let e = err_with("frobnicate = 1");
    assert_eq!(e.line, Some(NEXT), "{e}");
    assert!(e.message.contains("frobnicate"), "{e}");
}

#[test]
fn wrong_type_names_line() {
    let e = err_with("peer_port = \"five hundred\"");
    assert_eq!(e.line, Some(NEXT), "{e}");
}

#[test]
fn unknown_proposal_keyword_names_line() {
    let e = err_with("ike = [\"aes256gcm16-prfsha256-ecp256\",\n  \"aes256-sha256-modp1024\"]");
    assert_eq!(e.line, Some(NEXT + 1), "{e}");
    assert!(e.message.contains("modp1024"), "{e}");
    assert_eq!(e.column, Some(3), "{e}");
}

#[test]
fn bad_cidr_names_line() {
    let e = err_with("remote_ts = [\"10.0.0.0/33\"]");
    assert_eq!(e.line, Some(NEXT), "{e}");
    assert!(e.message.contains("prefix"), "{e}");
    let e = err_with("local_ts = [\"10.0.0.300/24\"]");
    assert_eq!(e.line, Some(NEXT), "{e}");
    assert!(e.message.contains("bad address"), "{e}");
}

#[test]
fn missing_file_names_line() {
    let text = GOOD.replace("secret = \"s3cret\"", "secret_file = \"no-such.psk\"");
    let e = parse(&text).expect_err("missing file");
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("no-such.psk"), "{e}");
}

#[test]
fn ikev1_is_not_supported_yet() {
    let e = err_with("version = 1");
    assert_eq!(e.line, Some(NEXT), "{e}");
    assert!(e.message.contains("not supported yet"), "{e}");
}

#[test]
fn bad_start_action_and_auth_name_line() {
    let e = err_with("start_action = \"later\"");
    assert_eq!(e.line, Some(NEXT), "{e}");
    let e = err_with("auth = \"eap\"");
    assert_eq!(e.line, Some(NEXT), "{e}");
}

#[test]
fn duplicate_connection_names_line() {
    let text = format!(
        "{GOOD}\n[[connection]]\nname = \"b\"\npeer = \"127.0.0.2\"\nlocal_id = \"a.example\"\n"
    );
    let e = parse(&text).expect_err("duplicate");
    assert_eq!(e.line, Some(16), "{e}");
    assert!(e.message.contains("duplicate"), "{e}");
}

#[test]
fn missing_psk_and_lifetime_order() {
    let text = GOOD.replace("\nid = \"b.example\"", "\nid = \"c.example\"");
    let e = parse(&text).expect_err("no psk");
    assert_eq!(e.line, Some(10), "{e}");
    let e = err_with("rekey_time = 4000\nlife_time = 3600");
    assert_eq!(e.line, Some(NEXT), "{e}");
}

#[test]
fn bad_peer_and_identity() {
    let e = err_with("peer_natt_port = 70000");
    assert_eq!(e.line, Some(NEXT), "{e}");
    let text = GOOD.replace("peer = \"127.0.0.1\"", "peer = \"gw.example\"");
    let e = parse(&text).expect_err("bad peer");
    assert_eq!(e.line, Some(11), "{e}");
}

#[test]
fn connections_sharing_ports_are_refused() {
    let second = "\n[[connection]]\nname = \"c\"\npeer = \"127.0.0.2\"\nlocal_id = \"a.example\"\nremote_id = \"b.example\"\n";
    let e = parse(&format!("{GOOD}{second}")).expect_err("shared ports");
    assert_eq!(e.line, Some(16), "{e}");
    assert!(e.message.contains("ports"), "{e}");
    let own = format!("{GOOD}{second}local_port = 10600\nlocal_natt_port = 14600\n");
    let c = parse(&own).expect("own ports");
    assert_eq!(c.connections[1].local_port, 10600);
}

#[test]
fn debug_output_hides_the_secret() {
    let c = parse(GOOD).expect("parses");
    let d = format!("{c:?}");
    assert!(!d.contains("s3cret"), "{d}");
    assert!(d.contains("Psk(..)"), "{d}");
}
