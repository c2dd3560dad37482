//! Minimal HTTP/1.x transport for CMP (RFC 6712): `POST /pkix/` with
//! `Content-Type: application/pkixcmp`, Content-Length bodies only, one
//! request per connection, size budgets and timeouts, one thread per client
//! up to [`MAX_CONNECTIONS`].

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{CmpServer, MAX_MESSAGE};

/// Largest request head (request line + headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Concurrent connections served.
pub const MAX_CONNECTIONS: usize = 64;
/// Per-read/write timeout.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);
/// Deadline for reading a whole request (slow clients are cut off).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);
/// The path served.
pub const CMP_PATH: &str = "/pkix/";

/// Why a request was refused at the HTTP layer.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpError {
    /// 400.
    BadRequest(&'static str),
    /// 404.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 411.
    LengthRequired,
    /// 413.
    TooLarge,
    /// 415.
    UnsupportedMediaType,
}

impl HttpError {
    fn status(&self) -> &'static str {
        match self {
            HttpError::BadRequest(_) => "400 Bad Request",
            HttpError::NotFound => "404 Not Found",
            HttpError::MethodNotAllowed => "405 Method Not Allowed",
            HttpError::LengthRequired => "411 Length Required",
            HttpError::TooLarge => "413 Content Too Large",
            HttpError::UnsupportedMediaType => "415 Unsupported Media Type",
        }
    }
}

/// A parsed request head: the body length.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// Content-Length.
    pub content_length: usize,
}

/// Parses a request head (without the final CRLFCRLF).
pub fn parse_head(head: &[u8]) -> Result<RequestHead, HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| HttpError::BadRequest("head not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().ok_or(HttpError::BadRequest("empty request"))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::BadRequest("bad request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::BadRequest("not HTTP/1.x"));
    }
    // Accept an absolute-form target (proxies) by taking its path.
    let path = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/"),
        None => target,
    };
    if path != CMP_PATH && path != "/pkix" {
        return Err(HttpError::NotFound);
    }
    if method != "POST" {
        return Err(HttpError::MethodNotAllowed);
    }
    let mut length = None;
    let mut content_type_ok = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HttpError::BadRequest("bad header line"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            if length.is_some() {
                return Err(HttpError::BadRequest("duplicate Content-Length"));
            }
            let n: usize = value
                .parse()
                .map_err(|_| HttpError::BadRequest("bad Content-Length"))?;
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(HttpError::LengthRequired);
        } else if name.eq_ignore_ascii_case("content-type") {
            let media = value.split(';').next().unwrap_or("").trim();
            content_type_ok = media.eq_ignore_ascii_case("application/pkixcmp");
        }
    }
    if !content_type_ok {
        return Err(HttpError::UnsupportedMediaType);
    }
    let content_length = length.ok_or(HttpError::LengthRequired)?;
    if content_length > MAX_MESSAGE {
        return Err(HttpError::TooLarge);
    }
    Ok(RequestHead { content_length })
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

fn write_response(s: &mut TcpStream, status: &str, ctype: &str, body: &[u8]) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Serves one connection: reads one request, answers, closes.
pub fn serve_connection(server: &CmpServer, mut s: TcpStream) -> io::Result<()> {
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let start = std::time::Instant::now();
    let late = || {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "request not received within the deadline",
        )
    };
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find_head_end(&buf) {
            break i;
        }
        if buf.len() > MAX_HEAD {
            let e = HttpError::BadRequest("request head too large");
            return write_response(
                &mut s,
                e.status(),
                "text/plain",
                b"request head too large\n",
            );
        }
        if start.elapsed() > REQUEST_DEADLINE {
            return Err(late());
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
    };
    let head = buf.get(..head_end).unwrap_or(&[]);
    let req = match parse_head(head) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("{e:?}\n");
            return write_response(&mut s, e.status(), "text/plain", msg.as_bytes());
        }
    };
    let mut body: Vec<u8> = buf.get(head_end + 4..).unwrap_or(&[]).to_vec();
    if body.len() > req.content_length {
        body.truncate(req.content_length);
    }
    while body.len() < req.content_length {
        if start.elapsed() > REQUEST_DEADLINE {
            return Err(late());
        }
        let want = (req.content_length - body.len()).min(chunk.len());
        let n = s.read(chunk.get_mut(..want).unwrap_or(&mut []))?;
        if n == 0 {
            return Ok(());
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
    }
    let answer = server.handle(&body, now());
    write_response(&mut s, "200 OK", "application/pkixcmp", &answer)
}

/// Accepts connections forever, one thread per client (at most
/// [`MAX_CONNECTIONS`]; further clients get 503).
pub fn serve(listener: TcpListener, server: Arc<CmpServer>) -> io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let mut s = match conn {
            Ok(s) => s,
            Err(_) => continue,
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = s.set_write_timeout(Some(IO_TIMEOUT));
            let _ = write_response(&mut s, "503 Service Unavailable", "text/plain", b"busy\n");
            continue;
        }
        let server = Arc::clone(&server);
        let active = Arc::clone(&active);
        let spawned = std::thread::Builder::new()
            .name("cmp-conn".into())
            .spawn(move || {
                let _ = serve_connection(&server, s);
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            // The closure (and its counter decrement) was dropped with the error.
            continue;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_parsing() {
        let ok = b"POST /pkix/ HTTP/1.0\r\nHost: x\r\nContent-Type: application/pkixcmp\r\nContent-Length: 12";
        assert_eq!(parse_head(ok), Ok(RequestHead { content_length: 12 }));
        let get = b"GET /pkix/ HTTP/1.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: 1";
        assert_eq!(parse_head(get), Err(HttpError::MethodNotAllowed));
        let path =
            b"POST /other HTTP/1.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: 1";
        assert_eq!(parse_head(path), Err(HttpError::NotFound));
        let big = b"POST /pkix/ HTTP/1.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: 99999999";
        assert_eq!(parse_head(big), Err(HttpError::TooLarge));
        let chunked = b"POST /pkix/ HTTP/1.1\r\nContent-Type: application/pkixcmp\r\nTransfer-Encoding: chunked";
        assert_eq!(parse_head(chunked), Err(HttpError::LengthRequired));
        let ctype = b"POST /pkix/ HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 1";
        assert_eq!(parse_head(ctype), Err(HttpError::UnsupportedMediaType));
        let dup = b"POST /pkix/ HTTP/1.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: 1\r\nContent-Length: 2";
        assert!(matches!(parse_head(dup), Err(HttpError::BadRequest(_))));
    }
}
