//! The control socket: one JSON request per line, one JSON response per line.
//!
//! Requests: `{"cmd":"list"}`, `{"cmd":"up","connection":NAME}`,
//! `{"cmd":"down","target":NAME|SPI}`, `{"cmd":"reload"}`. Every response is an object with
//! `"ok": true|false`; failures carry `"error"`.

use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::{UnixListener, UnixStream};

/// Longest request or response line accepted.
pub const MAX_LINE: usize = 1 << 20;
/// How long one side waits for the other.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// A control request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// List the SAs of every connection.
    List,
    /// Initiate a connection.
    Up {
        /// Connection name.
        connection: String,
    },
    /// Delete the IKE SAs of a connection, an IKE SA (by SPI, 16 hex digits) or a Child
    /// SA (by its inbound or outbound SPI, 8 hex digits).
    Down {
        /// A connection name or an SPI.
        target: String,
    },
    /// Re-read the configuration file.
    Reload,
}

/// Parses one request line.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    serde_json::from_slice(line).map_err(|e| format!("bad request: {e}"))
}

/// Binds the control socket: creates the directory if needed, replaces a stale socket
/// file, and restricts the socket to its owner (mode 0600).
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
            // A live daemon answers; a stale file is removed.
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{}: another daemon is listening", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists and is not a socket", path.display()),
            ));
        }
        Err(_) => {}
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// Reads one line (without the newline) of at most [`MAX_LINE`] bytes.
pub async fn read_line(s: &UnixStream) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        s.readable().await?;
        match s.try_read(&mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before a full line",
                ));
            }
            Ok(n) => {
                let got = buf.get(..n).unwrap_or_default();
                if let Some(i) = got.iter().position(|b| *b == b'\n') {
                    line.extend_from_slice(got.get(..i).unwrap_or_default());
                    return Ok(line);
                }
                line.extend_from_slice(got);
                if line.len() > MAX_LINE {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Writes all of `data`.
pub async fn write_all(s: &UnixStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        s.writable().await?;
        match s.try_write(data) {
            Ok(n) => data = data.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A failure response.
pub fn error_response(msg: impl Into<String>) -> Value {
    serde_json::json!({ "ok": false, "error": msg.into() })
}

/// Client side (blocking): sends one request and returns the response object.
pub fn request(socket: &Path, req: &Request) -> Result<Value, String> {
    let mut s = std::os::unix::net::UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot connect to the control socket {}: {e} (is the daemon running?)",
            socket.display()
        )
    })?;
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    let mut line = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    line.push(b'\n');
    s.write_all(&line)
        .map_err(|e| format!("control socket: {e}"))?;
    let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX);
    let mut r = io::BufReader::new(s.take(limit));
    let mut resp = Vec::new();
    r.read_until(b'\n', &mut resp)
        .map_err(|e| format!("control socket: {e}"))?;
    if resp.last() != Some(&b'\n') {
        return Err("control socket: truncated or oversized response".into());
    }
    let v: Value =
        serde_json::from_slice(&resp).map_err(|e| format!("control socket: bad response: {e}"))?;
    if v.get("ok") == Some(&Value::Bool(true)) {
        Ok(v)
    } else {
        Err(v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("request failed")
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_from_the_documented_json() {
        assert_eq!(parse_request(br#"{"cmd":"list"}"#), Ok(Request::List));
        assert_eq!(
            parse_request(br#"{"cmd":"up","connection":"office"}"#),
            Ok(Request::Up {
                connection: "office".into()
            })
        );
        assert_eq!(
            parse_request(br#"{"cmd":"down","target":"c0ffee01"}"#),
            Ok(Request::Down {
                target: "c0ffee01".into()
            })
        );
        assert_eq!(parse_request(br#"{"cmd":"reload"}"#), Ok(Request::Reload));
        assert!(parse_request(br#"{"cmd":"explode"}"#).is_err());
        assert!(parse_request(br#"{"cmd":"up"}"#).is_err());
        assert!(parse_request(b"not json").is_err());
        assert!(parse_request(br#"{"cmd":"up","connection":7}"#).is_err());
    }
}
