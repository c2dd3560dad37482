//! Operating-system interfaces for Negotiator: the one crate of the workspace where `unsafe`
//! is allowed (every other crate forbids it through the workspace lints). Each `unsafe` block
//! carries a `SAFETY:` comment, enforced by `clippy::undocumented_unsafe_blocks`.
//!
//! Today it holds socket buffer tuning for the UDP sockets that carry IKE and ESP-in-UDP.
//! The TUN device and XFRM netlink engines of issue 3 will live here too.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

fn set_int_opt(fd: &impl AsFd, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    let raw = fd.as_fd().as_raw_fd();
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
        .map_err(|_| io::Error::other("socklen_t overflow"))?;
    // SAFETY: `raw` is a valid open descriptor borrowed for the duration of the call, the
    // option value points to a live c_int on our stack and `len` is exactly its size.
    let r = unsafe {
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            name,
            (&raw const value).cast::<libc::c_void>(),
            len,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn get_int_opt(fd: &impl AsFd, name: libc::c_int) -> io::Result<libc::c_int> {
    let raw = fd.as_fd().as_raw_fd();
    let mut value: libc::c_int = 0;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
        .map_err(|_| io::Error::other("socklen_t overflow"))?;
    // SAFETY: `raw` is a valid open descriptor; `value` and `len` are live locals that the
    // kernel writes at most `len` (= size of c_int) bytes into.
    let r = unsafe {
        libc::getsockopt(
            raw,
            libc::SOL_SOCKET,
            name,
            (&raw mut value).cast::<libc::c_void>(),
            &raw mut len,
        )
    };
    if r == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Asks for receive and send buffers of `bytes` each on a socket (SO_RCVBUF/SO_SNDBUF). The
/// kernel may cap the value (net.core.rmem_max / wmem_max); a burst of ESP-in-UDP packets
/// then still fits where the default (about 200 KB) would drop.
pub fn set_socket_buffers(sock: &impl AsFd, bytes: usize) -> io::Result<()> {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    set_int_opt(sock, libc::SO_RCVBUF, v)?;
    set_int_opt(sock, libc::SO_SNDBUF, v)
}

/// The socket's current (receive, send) buffer sizes as the kernel reports them.
pub fn socket_buffers(sock: &impl AsFd) -> io::Result<(usize, usize)> {
    let r = get_int_opt(sock, libc::SO_RCVBUF)?;
    let s = get_int_opt(sock, libc::SO_SNDBUF)?;
    Ok((
        usize::try_from(r).unwrap_or(0),
        usize::try_from(s).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysctl(name: &str) -> usize {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn buffers_grow_up_to_the_kernel_cap() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (r0, _) = socket_buffers(&s).unwrap();
        let want = 4 * 1024 * 1024;
        set_socket_buffers(&s, want).unwrap();
        let (r, w) = socket_buffers(&s).unwrap();
        // Linux doubles the requested value for bookkeeping and caps it at rmem_max
        // (socket(7)); so the result is 2 * min(want, cap).
        assert_eq!(
            r,
            2 * want.min(sysctl("rmem_max")),
            "receive buffer (was {r0})"
        );
        assert_eq!(w, 2 * want.min(sysctl("wmem_max")), "send buffer");
    }

    #[test]
    fn non_socket_descriptor_is_an_error() {
        // A descriptor that is valid for the type system but refers to a non-socket file.
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert!(set_socket_buffers(&f, 1 << 20).is_err());
        assert!(socket_buffers(&f).is_err());
    }
}
