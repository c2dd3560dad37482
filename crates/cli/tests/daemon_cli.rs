//! `negotiator daemon` processes driven by `negotiator sa list --json`, `up`, `down`,
//! `reload` (the real binary, PSK on 127.0.0.1, ephemeral ports).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_negotiator"))
}

/// Kills the daemon when the test ends, passing or not.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &Path) -> Daemon {
    let c = Command::new(bin())
        .args(["daemon", "--foreground", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    Daemon(c)
}

fn cli(args: &[&str], sock: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--socket")
        .arg(sock)
        .output()
        .expect("run negotiator")
}

/// `sa list --json`, retried while the daemon comes up.
fn list(sock: &Path) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = cli(&["sa", "list", "--json"], sock);
        if o.status.success() {
            return serde_json::from_slice(&o.stdout).expect("JSON listing");
        }
        assert!(
            Instant::now() < deadline,
            "sa list failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for(sock: &Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let l = list(sock);
        let c = l["connections"][0].clone();
        if pred(&c) {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {c}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn up(c: &Value) -> bool {
    c["ike_sas"].as_array().is_some_and(|a| {
        a.len() == 1
            && a[0]["state"] == "established"
            && a[0]["child_sas"].as_array().is_some_and(|k| k.len() == 1)
    })
}

fn down(c: &Value) -> bool {
    c["ike_sas"].as_array().is_some_and(Vec::is_empty)
        && c["orphan_child_sas"].as_array().is_some_and(Vec::is_empty)
}

fn config(
    sock: &Path,
    name: &str,
    me: &str,
    peer: &str,
    peer_ports: (u16, u16),
    start: &str,
) -> String {
    format!(
        r#"[daemon]
listen = ["127.0.0.1"]
ike_port = 0
natt_port = 0
control_socket = "{}"

[[psk]]
id = "gw-b.test"
secret = "cli e2e secret"

[[connection]]
name = "{name}"
peer = "127.0.0.1"
peer_port = {}
peer_natt_port = {}
local_id = "{me}"
remote_id = "{peer}"
auth = "psk"
start_action = "{start}"
"#,
        sock.display(),
        peer_ports.0,
        peer_ports.1
    )
}

#[test]
fn daemons_list_and_delete_via_the_cli() {
    let dir = std::env::temp_dir().join(format!("negotiator-cli-daemon-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (a_sock, b_sock) = (dir.join("a.sock"), dir.join("b.sock"));

    let a_cfg = dir.join("a.toml");
    std::fs::write(
        &a_cfg,
        config(
            &a_sock,
            "to-b",
            "gw-a.test",
            "gw-b.test",
            (500, 4500),
            "none",
        ),
    )
    .unwrap();
    let o = Command::new(bin())
        .args(["daemon", "--check", "--config"])
        .arg(&a_cfg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _a = start(&a_cfg);
    let a0 = list(&a_sock)["connections"][0].clone();
    let port = |k: &str| -> u16 {
        let addr: std::net::SocketAddr = a0[k].as_str().unwrap().parse().unwrap();
        addr.port()
    };
    let a_ports = (port("ike_addr"), port("natt_addr"));
    assert!(down(&a0), "{a0}");

    let b_cfg = dir.join("b.toml");
    std::fs::write(
        &b_cfg,
        config(&b_sock, "to-a", "gw-b.test", "gw-a.test", a_ports, "start"),
    )
    .unwrap();
    let _b = start(&b_cfg);

    let b = wait_for(&b_sock, "B up", up);
    let a = wait_for(&a_sock, "A up", up);
    assert_eq!(b["ike_sas"][0]["spi_i"], a["ike_sas"][0]["spi_i"]);
    assert_eq!(b["ike_sas"][0]["remote_id"], "gw-a.test");
    assert_eq!(a["ike_sas"][0]["remote_id"], "gw-b.test");
    assert_eq!(
        b["ike_sas"][0]["child_sas"][0]["spi_in"],
        a["ike_sas"][0]["child_sas"][0]["spi_out"]
    );

    // The text listing names the states and the SPIs.
    let o = cli(&["sa", "list"], &b_sock);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("IKEv2 established (initiator)"), "{text}");
    let spi = b["ike_sas"][0]["child_sas"][0]["spi_in"].as_str().unwrap();
    assert!(text.contains(spi), "{text}");

    let o = cli(&["down", "to-a"], &b_sock);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_for(&b_sock, "B down", down);
    wait_for(&a_sock, "A down", down);

    let o = cli(&["up", "to-a"], &b_sock);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_for(&a_sock, "A up again", up);

    let o = cli(&["down", "no-such-thing"], &b_sock);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-thing"));

    let o = cli(&["reload"], &a_sock);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_for(&a_sock, "A kept its SA over reload", up);
    let _ = std::fs::remove_dir_all(&dir);
}
