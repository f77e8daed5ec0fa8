//! Socket addresses in the kernel's layout (`sockaddr_in`, `sockaddr_in6`,
//! `sockaddr_un`), built from the text forms users write.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// A socket address owned on the heap by the op that passes it to the kernel.
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl SockAddr {
    /// An IPv4 or IPv6 address from its text form and a port.
    ///
    /// IPv6 accepts an optional zone (`fe80::1%lo` or `fe80::1%2`).
    pub fn inet(address: &str, port: u16) -> io::Result<SockAddr> {
        // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let (host, zone) = match address.split_once('%') {
            Some((h, z)) => (h, Some(z)),
            None => (address, None),
        };
        let ip: IpAddr = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| invalid(format!("not an IP address: {address:?}")))?;
        let len = match ip {
            IpAddr::V4(v4) => {
                if zone.is_some() {
                    return Err(invalid(format!("an IPv4 address has no zone: {address:?}")));
                }
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: port.to_be(),
                    sin_addr: libc::in_addr { s_addr: u32::from(v4).to_be() },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
                mem::size_of::<libc::sockaddr_in>()
            }
            IpAddr::V6(v6) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: port.to_be(),
                    sin6_flowinfo: 0,
                    sin6_addr: libc::in6_addr { s6_addr: v6.octets() },
                    sin6_scope_id: scope_id(zone, &v6)?,
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        Ok(SockAddr { storage, len: len as libc::socklen_t })
    }

    /// A unix-domain address. A leading NUL byte names the abstract namespace.
    pub fn unix(path: &[u8]) -> io::Result<SockAddr> {
        // SAFETY: plain data; all-zero is valid.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_un.
        let sun = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_un>() };
        if path.is_empty() {
            return Err(invalid("a unix socket path must not be empty".into()));
        }
        // Keep room for the terminating NUL of a filesystem path.
        if path.len() >= sun.sun_path.len() {
            return Err(invalid(format!(
                "a unix socket path is at most {} bytes, got {}",
                sun.sun_path.len() - 1,
                path.len()
            )));
        }
        if path[0] != 0 && path.contains(&0) {
            return Err(invalid("a unix socket path must not contain NUL bytes".into()));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(path) {
            *dst = *src as libc::c_char;
        }
        let base = mem::size_of::<libc::sa_family_t>();
        // Abstract names are exactly as long as given; paths carry their NUL.
        let len = if path[0] == 0 { base + path.len() } else { base + path.len() + 1 };
        Ok(SockAddr { storage, len: len as libc::socklen_t })
    }

    pub fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    #[allow(clippy::len_without_is_empty)] // an address is never empty
    pub fn len(&self) -> libc::socklen_t {
        self.len
    }

    pub fn family(&self) -> i32 {
        self.storage.ss_family as i32
    }
}

/// A socket's own address or its peer's, as `getsockname(2)` and
/// `getpeername(2)` report it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SockName {
    /// IPv4 or IPv6 (with its scope id).
    Inet(SocketAddr),
    /// A unix-domain path: empty for an unnamed socket, a leading NUL for
    /// the abstract namespace (no terminating NUL either way).
    Unix(Vec<u8>),
    /// Another family, by number.
    Other(i32),
}

impl SockName {
    /// The address `fd` is bound to, or with `peer` the one it is connected
    /// to; `Err(-errno)` as the syscall fails. A plain syscall: io_uring has
    /// no op for either, and neither ever blocks.
    pub fn of(fd: RawFd, peer: bool) -> Result<SockName, i32> {
        let (storage, len) = crate::sys::sock_name(fd, peer)?;
        let p = (&storage as *const libc::sockaddr_storage).cast::<u8>();
        Ok(match storage.ss_family as i32 {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in (family AF_INET) into storage.
                let sin = unsafe { &*p.cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                SockName::Inet(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6 (family AF_INET6) into storage.
                let sin6 = unsafe { &*p.cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                let port = u16::from_be(sin6.sin6_port);
                SockName::Inet(SocketAddr::V6(SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id)))
            }
            libc::AF_UNIX => {
                // SAFETY: the kernel wrote a sockaddr_un (family AF_UNIX) into storage.
                let sun = unsafe { &*p.cast::<libc::sockaddr_un>() };
                let base = mem::size_of::<libc::sa_family_t>();
                let n = (len as usize).saturating_sub(base).min(sun.sun_path.len());
                let mut path: Vec<u8> = sun.sun_path[..n].iter().map(|&c| c as u8).collect();
                // A filesystem path's length may count its NUL; an abstract name's never does.
                if path.first() != Some(&0) {
                    if let Some(end) = path.iter().position(|&b| b == 0) {
                        path.truncate(end);
                    }
                }
                SockName::Unix(path)
            }
            family => SockName::Other(family),
        })
    }
}

fn scope_id(zone: Option<&str>, ip: &Ipv6Addr) -> io::Result<u32> {
    let Some(zone) = zone else { return Ok(0) };
    if let Ok(n) = zone.parse::<u32>() {
        return Ok(n);
    }
    let name = std::ffi::CString::new(zone).map_err(|_| invalid(format!("bad IPv6 zone in {ip}%{zone}")))?;
    // SAFETY: `name` is a NUL-terminated string alive for the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(invalid(format!("unknown network interface {zone:?}")));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_layout() {
        let a = SockAddr::inet("127.0.0.1", 8080).unwrap();
        assert_eq!(a.family(), libc::AF_INET);
        assert_eq!(a.len() as usize, mem::size_of::<libc::sockaddr_in>());
        // SAFETY: built as a sockaddr_in above.
        let sin = unsafe { &*(a.as_ptr() as *const libc::sockaddr_in) };
        assert_eq!(u16::from_be(sin.sin_port), 8080);
        assert_eq!(u32::from_be(sin.sin_addr.s_addr), 0x7f00_0001);
    }

    #[test]
    fn ipv6_and_zone() {
        let a = SockAddr::inet("::1", 1).unwrap();
        assert_eq!(a.family(), libc::AF_INET6);
        let b = SockAddr::inet("fe80::1%1", 1).unwrap();
        // SAFETY: built as a sockaddr_in6 above.
        let sin6 = unsafe { &*(b.as_ptr() as *const libc::sockaddr_in6) };
        assert_eq!(sin6.sin6_scope_id, 1);
        assert!(SockAddr::inet("1.2.3.4%1", 1).is_err());
        assert!(SockAddr::inet("localhost", 1).is_err());
    }

    #[test]
    fn unix_paths() {
        let a = SockAddr::unix(b"/tmp/x.sock").unwrap();
        assert_eq!(a.len() as usize, 2 + 11 + 1);
        let abs = SockAddr::unix(b"\0name").unwrap();
        assert_eq!(abs.len() as usize, 2 + 5);
        assert!(SockAddr::unix(&[b'a'; 200]).is_err());
        assert!(SockAddr::unix(b"").is_err());
    }
}
