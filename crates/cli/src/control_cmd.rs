//! `negotiator sa list`, `negotiator up`, `negotiator down`, `negotiator reload`: clients of
//! a running daemon's control socket.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use negotiator_daemon::control::{Request, request};
use serde_json::Value;

/// Default control socket.
const DEFAULT_SOCKET: &str = "/run/negotiator/control.sock";

/// The control socket option shared by the commands.
#[derive(Debug, Args)]
pub struct SocketArg {
    /// The daemon's control socket.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// `sa` subcommands.
#[derive(Debug, Subcommand)]
pub enum SaCommand {
    /// List IKE SAs and Child SAs of every connection.
    List(ListArgs),
}

/// Arguments of `sa list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print the daemon's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub socket: SocketArg,
}

/// Arguments of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Connection name.
    pub connection: String,
    #[command(flatten)]
    pub socket: SocketArg,
}

/// Arguments of `down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// Connection name, IKE SA SPI (16 hex digits) or Child SA SPI (8 hex digits).
    pub target: String,
    #[command(flatten)]
    pub socket: SocketArg,
}

/// Arguments of `reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    #[command(flatten)]
    pub socket: SocketArg,
}

/// Runs `sa ...`.
pub fn run_sa(cmd: SaCommand) -> Result<(), String> {
    match cmd {
        SaCommand::List(a) => {
            let v = request(&a.socket.socket, &Request::List)?;
            if a.json {
                outln!("{v}");
            } else {
                for line in format_list(&v) {
                    outln!("{line}");
                }
            }
            Ok(())
        }
    }
}

/// Runs `up`.
pub fn run_up(a: UpArgs) -> Result<(), String> {
    request(
        &a.socket.socket,
        &Request::Up {
            connection: a.connection.clone(),
        },
    )?;
    outln!("{}: initiating", a.connection);
    Ok(())
}

/// Runs `down`.
pub fn run_down(a: DownArgs) -> Result<(), String> {
    let v = request(
        &a.socket.socket,
        &Request::Down {
            target: a.target.clone(),
        },
    )?;
    let n_ike = v["deleted_ike_sas"].as_u64();
    let n_child = v["deleted_child_sas"].as_u64();
    match (n_ike, n_child) {
        (Some(n), _) => outln!("{}: deleting {n} IKE SA(s)", a.target),
        (_, Some(n)) => outln!("{}: deleting {n} Child SA(s)", a.target),
        _ => outln!("{}: deleting", a.target),
    }
    Ok(())
}

/// Runs `reload`.
pub fn run_reload(a: ReloadArgs) -> Result<(), String> {
    let v = request(&a.socket.socket, &Request::Reload)?;
    let names = |k: &str| {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".into())
    };
    outln!(
        "reloaded: stopped {}; started {}",
        names("stopped"),
        names("started")
    );
    Ok(())
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn list_of(v: &Value) -> String {
    v.as_array()
        .map(|a| a.iter().map(s).collect::<Vec<_>>().join(","))
        .filter(|x| !x.is_empty())
        .unwrap_or_else(|| "-".into())
}

fn secs(v: &Value) -> String {
    v.as_u64().map_or_else(|| "-".into(), |n| format!("{n}s"))
}

fn child_lines(c: &Value, out: &mut Vec<String>) {
    out.push(format!(
        "    child  {} in {} out {}  {} === {}",
        s(&c["algorithms"]),
        s(&c["spi_in"]),
        s(&c["spi_out"]),
        list_of(&c["local_ts"]),
        list_of(&c["remote_ts"]),
    ));
    out.push(format!(
        "           in {} pkts {} bytes, out {} pkts {} bytes, rekey in {}",
        s(&c["packets_in"]),
        s(&c["bytes_in"]),
        s(&c["packets_out"]),
        s(&c["bytes_out"]),
        secs(&c["rekey_in_secs"]),
    ));
}

/// The human-readable listing of a `list` response.
pub fn format_list(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let empty = Vec::new();
    for c in v["connections"].as_array().unwrap_or(&empty) {
        out.push(format!(
            "{}: peer {}, start_action {}, local {}",
            s(&c["name"]),
            s(&c["peer"]),
            s(&c["start_action"]),
            s(&c["ike_addr"])
        ));
        if let Some(e) = c.get("error") {
            out.push(format!("  error: {}", s(e)));
        }
        let sas = c["ike_sas"].as_array().unwrap_or(&empty);
        if sas.is_empty() {
            out.push("  no IKE SA".into());
        }
        for sa in sas {
            out.push(format!(
                "  IKEv{} {} ({})  spi {}_i {}_r  {}",
                s(&sa["version"]),
                s(&sa["state"]),
                s(&sa["role"]),
                s(&sa["spi_i"]),
                s(&sa["spi_r"]),
                s(&sa["algorithms"]),
            ));
            out.push(format!(
                "    {} [{}] {} <-> {} [{}] {}",
                s(&sa["local_id"]),
                s(&sa["local_auth"]),
                s(&sa["local"]),
                s(&sa["remote_id"]),
                s(&sa["remote_auth"]),
                s(&sa["remote"]),
            ));
            for ch in sa["child_sas"].as_array().unwrap_or(&empty) {
                child_lines(ch, &mut out);
            }
        }
        for ch in c["orphan_child_sas"].as_array().unwrap_or(&empty) {
            out.push("  (Child SA without IKE SA)".into());
            child_lines(ch, &mut out);
        }
    }
    if out.is_empty() {
        out.push("no connections".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_shows_every_field() {
        let v: Value = serde_json::from_str(
            r#"{"ok":true,"connections":[{"name":"to-a","peer":"127.0.0.1:500",
            "start_action":"start","ike_addr":"127.0.0.1:40000","natt_addr":"127.0.0.1:40001",
            "ike_sas":[{"version":2,"state":"established","role":"initiator",
              "spi_i":"0102030405060708","spi_r":"1112131415161718",
              "algorithms":"aes256gcm16-prfsha256-ecp256","local":"127.0.0.1:40000",
              "remote":"127.0.0.1:50000","local_id":"b.test","remote_id":"a.test",
              "local_auth":"psk","remote_auth":"psk",
              "child_sas":[{"spi_in":"c0000001","spi_out":"c0000002","algorithms":"aes256gcm16",
                "local_ts":["10.2.0.0/24"],"remote_ts":["10.1.0.0/24"],"packets_in":3,
                "packets_out":4,"bytes_in":300,"bytes_out":400,"rekey_in_secs":null}]}],
            "orphan_child_sas":[]}]}"#,
        )
        .unwrap();
        let want = [
            "to-a: peer 127.0.0.1:500, start_action start, local 127.0.0.1:40000",
            "  IKEv2 established (initiator)  spi 0102030405060708_i 1112131415161718_r  aes256gcm16-prfsha256-ecp256",
            "    b.test [psk] 127.0.0.1:40000 <-> a.test [psk] 127.0.0.1:50000",
            "    child  aes256gcm16 in c0000001 out c0000002  10.2.0.0/24 === 10.1.0.0/24",
            "           in 3 pkts 300 bytes, out 4 pkts 400 bytes, rekey in -",
        ];
        assert_eq!(format_list(&v), want);
        let none: Value = serde_json::from_str(r#"{"ok":true,"connections":[]}"#).unwrap();
        assert_eq!(format_list(&none), ["no connections"]);
    }
}
