//! Two daemons on 127.0.0.1 talking PSK IKEv2, driven through their control sockets.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use negotiator_crypto::default_provider;
use negotiator_daemon::config::DaemonConfig;
use negotiator_daemon::control::{self, Request};
use negotiator_daemon::service::{Daemon, serve_control};
use serde_json::Value;
use tokio::sync::Mutex;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "negotiator-daemon-e2e-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

async fn ask(socket: &Path, req: Request) -> Result<Value, String> {
    let socket = socket.to_path_buf();
    tokio::task::spawn_blocking(move || control::request(&socket, &req))
        .await
        .map_err(|e| e.to_string())?
}

async fn start(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("write config");
    let cfg = DaemonConfig::load(&file).expect("config parses");
    let sock = dir.join(format!("{name}.sock"));
    let listener = control::bind(&sock).expect("bind control socket");
    let d = Daemon::start(cfg, Some(file), default_provider())
        .await
        .expect("daemon starts");
    tokio::spawn(serve_control(listener, Arc::new(Mutex::new(d))));
    sock
}

fn conn<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["connections"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no connection {name} in {list}"))
}

/// Polls `list` until `pred` holds for the named connection.
async fn wait_for(sock: &Path, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let l = ask(sock, Request::List).await.expect("list");
        let c = conn(&l, name).clone();
        if pred(&c) {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {c}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn established_with_child(c: &Value) -> bool {
    c["ike_sas"].as_array().is_some_and(|a| {
        a.len() == 1
            && a[0]["state"] == "established"
            && a[0]["child_sas"].as_array().is_some_and(|k| k.len() == 1)
    })
}

fn empty(c: &Value) -> bool {
    c["ike_sas"].as_array().is_some_and(Vec::is_empty)
        && c["orphan_child_sas"].as_array().is_some_and(Vec::is_empty)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_negotiate_list_and_delete() {
    let dir = scratch("psk");
    let a_text = r#"
[daemon]
listen = ["127.0.0.1"]
ike_port = 0
natt_port = 0

[[psk]]
id = "b.test"
secret = "e2e shared secret"

[[connection]]
name = "to-b"
peer = "127.0.0.1"
local_id = "a.test"
remote_id = "b.test"
auth = "psk"
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
start_action = "none"
"#;
    let a_sock = start(&dir, "a", a_text).await;
    let a0 = conn(&ask(&a_sock, Request::List).await.expect("list a"), "to-b").clone();
    let a_ike: std::net::SocketAddr = a0["ike_addr"].as_str().unwrap().parse().unwrap();
    let a_natt: std::net::SocketAddr = a0["natt_addr"].as_str().unwrap().parse().unwrap();
    assert!(empty(&a0), "{a0}");

    let b_text = format!(
        r#"
[daemon]
listen = ["127.0.0.1"]
ike_port = 0
natt_port = 0

[[psk]]
id = "b.test"
secret = "e2e shared secret"

[[connection]]
name = "to-a"
peer = "127.0.0.1"
peer_port = {}
peer_natt_port = {}
local_id = "b.test"
remote_id = "a.test"
auth = "psk"
ike = ["aes256gcm16-prfsha256-ecp256"]
esp = ["aes256gcm16"]
local_ts = ["10.2.0.0/24"]
remote_ts = ["10.1.0.0/24"]
rekey_time = 3000
life_time = 3600
start_action = "start"
"#,
        a_ike.port(),
        a_natt.port()
    );
    let b_sock = start(&dir, "b", &b_text).await;

    let b = wait_for(&b_sock, "to-a", "B established", established_with_child).await;
    let a = wait_for(&a_sock, "to-b", "A established", established_with_child).await;
    let (bi, ai) = (&b["ike_sas"][0], &a["ike_sas"][0]);
    assert_eq!(bi["version"], 2);
    assert_eq!(bi["role"], "initiator");
    assert_eq!(ai["role"], "responder");
    assert_eq!(bi["spi_i"], ai["spi_i"]);
    assert_eq!(bi["spi_r"], ai["spi_r"]);
    assert_eq!(bi["spi_i"].as_str().map(str::len), Some(16));
    assert_eq!(bi["algorithms"], "aes256gcm16-prfsha256-ecp256");
    assert_eq!(bi["local_id"], "b.test");
    assert_eq!(bi["remote_id"], "a.test");
    assert_eq!(ai["remote_id"], "b.test");
    let (bc, ac) = (&bi["child_sas"][0], &ai["child_sas"][0]);
    assert_eq!(bc["spi_in"], ac["spi_out"]);
    assert_eq!(bc["spi_out"], ac["spi_in"]);
    assert_eq!(bc["algorithms"], "aes256gcm16");
    assert_eq!(bc["local_ts"], serde_json::json!(["10.2.0.0/24"]));
    assert_eq!(bc["remote_ts"], serde_json::json!(["10.1.0.0/24"]));
    assert_eq!(ac["local_ts"], serde_json::json!(["10.1.0.0/24"]));
    assert_eq!(bc["packets_out"], 0);
    let rekey = bc["rekey_in_secs"].as_u64().expect("rekey time known");
    assert!((2990..=3000).contains(&rekey), "{bc}");

    // Unknown names and SPIs are refused with a message.
    let e = ask(
        &b_sock,
        Request::Down {
            target: "nope".into(),
        },
    )
    .await
    .expect_err("unknown target");
    assert!(e.contains("nope"), "{e}");
    let e = ask(
        &b_sock,
        Request::Up {
            connection: "nope".into(),
        },
    )
    .await
    .expect_err("unknown connection");
    assert!(e.contains("nope"), "{e}");

    // Down by connection name deletes the IKE SA (and its Child SA) on both sides.
    ask(
        &b_sock,
        Request::Down {
            target: "to-a".into(),
        },
    )
    .await
    .expect("down");
    wait_for(&b_sock, "to-a", "B empty", empty).await;
    wait_for(&a_sock, "to-b", "A empty", empty).await;

    // Up again, then down by the Child SA's SPI: the IKE SA stays.
    ask(
        &b_sock,
        Request::Up {
            connection: "to-a".into(),
        },
    )
    .await
    .expect("up");
    let b = wait_for(&b_sock, "to-a", "B re-established", established_with_child).await;
    wait_for(&a_sock, "to-b", "A re-established", established_with_child).await;
    let spi = b["ike_sas"][0]["child_sas"][0]["spi_in"]
        .as_str()
        .unwrap()
        .to_string();
    ask(&b_sock, Request::Down { target: spi })
        .await
        .expect("down child");
    let no_child = |c: &Value| {
        c["ike_sas"].as_array().is_some_and(|a| {
            a.len() == 1 && a[0]["child_sas"].as_array().is_some_and(Vec::is_empty)
        }) && c["orphan_child_sas"].as_array().is_some_and(Vec::is_empty)
    };
    wait_for(&b_sock, "to-a", "B child deleted", no_child).await;
    wait_for(&a_sock, "to-b", "A child deleted", no_child).await;

    // A broken file is refused by reload (with its line) and changes nothing.
    std::fs::write(dir.join("b.toml"), format!("{b_text}\nbogus = [\n")).unwrap();
    let e = ask(&b_sock, Request::Reload).await.expect_err("bad reload");
    assert!(e.contains("line"), "{e}");
    let b = wait_for(&b_sock, "to-a", "B unchanged", no_child).await;
    assert_eq!(b["ike_sas"].as_array().map(Vec::len), Some(1));
    // An unchanged file keeps the connection and its IKE SA.
    std::fs::write(dir.join("b.toml"), &b_text).unwrap();
    let r = ask(&b_sock, Request::Reload).await.expect("reload");
    assert_eq!(r["stopped"], serde_json::json!([]), "{r}");
    wait_for(&b_sock, "to-a", "B kept", no_child).await;

    // The control socket is private to its owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&b_sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let _ = std::fs::remove_dir_all(&dir);
}
