//! Socket options through the ring (IORING_OP_URING_CMD socket commands,
//! kernel 6.7) and their plain-syscall path, and socket names (a plain
//! syscall: io_uring has no op for them), on loopback sockets.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use uring_machine_core::{Completion, Config, Op, OpId, OpOptions, Output, Ring, SockName};

fn run(ring: &mut Ring, id: OpId) -> Completion {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut done = Vec::new();
    loop {
        ring.flush().unwrap();
        ring.reap(&mut done);
        if let Some(i) = done.iter().position(|c| c.id == id) {
            return done.swap_remove(i);
        }
        assert!(Instant::now() < deadline, "op did not complete");
        ring.wait(Some(Duration::from_millis(20))).unwrap();
    }
}

fn set(r: &mut Ring, fd: i32, level: i32, optname: i32, value: i32) -> i32 {
    let id = r.submit(Op::SetSockOpt { fd, level, optname, value: Box::new(value) }, &OpOptions::default()).unwrap();
    run(r, id).result
}

/// The option's int value, or the op's negative result.
fn get(r: &mut Ring, fd: i32, level: i32, optname: i32) -> i32 {
    let id = r.submit(Op::GetSockOpt { fd, level, optname, value: vec![0; 4] }, &OpOptions::default()).unwrap();
    let c = run(r, id);
    if c.result < 0 {
        return c.result;
    }
    assert_eq!(c.result, 4, "an int-sized option");
    match c.op.as_ref().unwrap().output(c.result) {
        Output::Bytes(b) => i32::from_ne_bytes(b.try_into().unwrap()),
        _ => panic!("no bytes"),
    }
}

/// The plain syscall's view, independent of the ring.
fn libc_get(fd: i32, level: i32, optname: i32) -> i32 {
    let mut v = 0i32;
    let mut len = 4 as libc::socklen_t;
    // SAFETY: writes at most 4 bytes into a local.
    let res = unsafe { libc::getsockopt(fd, level, optname, (&mut v as *mut i32).cast(), &mut len) };
    assert_eq!(res, 0);
    v
}

fn tcp_socket() -> std::os::fd::OwnedFd {
    // SAFETY: no pointers; the fd is ours.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0);
    // SAFETY: a fresh fd nothing else owns.
    unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) }
}

/// Socket options on both paths: the ring's (or, on a kernel without
/// socket commands, the syscall's) and the syscall forced.
fn options_take_effect(r: &mut Ring) {
    let s = tcp_socket();
    let fd = s.as_raw_fd();
    for (level, name) in [
        (libc::SOL_SOCKET, libc::SO_REUSEADDR),
        (libc::SOL_SOCKET, libc::SO_REUSEPORT),
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
        (libc::IPPROTO_TCP, libc::TCP_NODELAY),
    ] {
        assert_eq!(get(r, fd, level, name), 0, "{level}/{name} starts off");
        assert_eq!(set(r, fd, level, name, 1), 0);
        assert_eq!(libc_get(fd, level, name), 1, "{level}/{name} is on for the kernel");
        assert_eq!(get(r, fd, level, name), 1);
        assert_eq!(set(r, fd, level, name, 0), 0);
        assert_eq!(libc_get(fd, level, name), 0);
    }
    // The kernel doubles a buffer size it is given (socket(7)).
    assert_eq!(set(r, fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 65536), 0);
    assert_eq!(get(r, fd, libc::SOL_SOCKET, libc::SO_RCVBUF), 131072);
    assert_eq!(libc_get(fd, libc::SOL_SOCKET, libc::SO_RCVBUF), 131072);
    assert_eq!(set(r, fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 65536), 0);
    assert_eq!(get(r, fd, libc::SOL_SOCKET, libc::SO_SNDBUF), 131072);

    // Not a socket: the syscall's answer, not io_uring's EOPNOTSUPP.
    let file = std::fs::File::open("/proc/self/stat").unwrap();
    assert_eq!(set(r, file.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1), -libc::ENOTSOCK);
    assert_eq!(get(r, file.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR), -libc::ENOTSOCK);
    assert_eq!(set(r, 1 << 20, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1), -libc::EBADF);
    assert_eq!(get(r, 1 << 20, libc::SOL_SOCKET, libc::SO_REUSEADDR), -libc::EBADF);
    assert_eq!(set(r, fd, libc::SOL_SOCKET, 12345, 1), -libc::ENOPROTOOPT);
    assert_eq!(r.metrics().pending, 0);
}

#[test]
fn socket_options_through_the_ring() {
    let mut r = Ring::new(&Config::default()).unwrap();
    options_take_effect(&mut r);
    // Where the kernel has socket commands (6.7) all went through io_uring
    // but a getsockopt of another level than SOL_SOCKET (TCP_NODELAY twice)
    // and the non-socket's two: the kernel's io_uring refuses those.
    // The getsockopt of TCP_NODELAY is always the syscall's.
    let before = r.metrics().fallbacks;
    let s = tcp_socket();
    assert_eq!(get(&mut r, s.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY), 0);
    assert_eq!(r.metrics().fallbacks, before + 1);
    let m = r.metrics();
    eprintln!("{} of 25 sockopt ops took the syscall", m.fallbacks);
    assert!(m.fallbacks >= 4, "TCP_NODELAY's getsockopt (2) and the non-socket (2) always do");
}

#[test]
fn socket_options_fall_back_to_the_syscall() {
    let mut r = Ring::new(&{
        let mut c = Config::default();
        c.disabled_opcodes = vec![io_uring::opcode::SetSockOpt::CODE];
        c
    })
    .unwrap();
    options_take_effect(&mut r);
    // All 25 of them, never reaching the kernel's io_uring.
    assert_eq!((r.metrics().fallbacks, r.metrics().ops_submitted), (25, 0));
}

#[test]
fn reuseaddr_lets_a_port_in_time_wait_be_bound_again() {
    let mut r = Ring::new(&Config::default()).unwrap();
    // A connection closed by the server first leaves the server's side in TIME_WAIT.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (a, _) = l.accept().unwrap();
    drop(a);
    drop(l);
    std::thread::sleep(Duration::from_millis(50));
    drop(c);
    std::thread::sleep(Duration::from_millis(50));
    let addr = uring_machine_core::SockAddr::inet("127.0.0.1", port).unwrap();
    let plain = tcp_socket();
    // SAFETY: the address is alive for the call.
    let res = unsafe { libc::bind(plain.as_raw_fd(), addr.as_ptr(), addr.len()) };
    assert_eq!(
        (res, std::io::Error::last_os_error().raw_os_error()),
        (-1, Some(libc::EADDRINUSE)),
        "TIME_WAIT holds the port"
    );
    let s = tcp_socket();
    assert_eq!(set(&mut r, s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1), 0);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::bind(s.as_raw_fd(), addr.as_ptr(), addr.len()) }, 0);
}

#[test]
fn socket_names() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = l.local_addr().unwrap();
    assert_eq!(SockName::of(l.as_raw_fd(), false), Ok(SockName::Inet(at)));
    assert_eq!(SockName::of(l.as_raw_fd(), true), Err(-libc::ENOTCONN));
    let c = TcpStream::connect(at).unwrap();
    let (a, peer) = l.accept().unwrap();
    assert_eq!(SockName::of(a.as_raw_fd(), true), Ok(SockName::Inet(peer)));
    assert_eq!(SockName::of(c.as_raw_fd(), true), Ok(SockName::Inet(at)));
    assert_eq!(SockName::of(c.as_raw_fd(), false), Ok(SockName::Inet(peer)));
    if let Ok(l6) = TcpListener::bind("[::1]:0") {
        let SocketAddr::V6(v6) = l6.local_addr().unwrap() else { panic!() };
        assert_eq!(SockName::of(l6.as_raw_fd(), false), Ok(SockName::Inet(SocketAddr::V6(v6))));
    }
    let dir = std::env::temp_dir().join(format!("um-sockname-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let u = std::os::unix::net::UnixListener::bind(&dir).unwrap();
    assert_eq!(SockName::of(u.as_raw_fd(), false), Ok(SockName::Unix(dir.as_os_str().as_encoded_bytes().to_vec())));
    let (p, _q) = std::os::unix::net::UnixStream::pair().unwrap();
    assert_eq!(SockName::of(p.as_raw_fd(), false), Ok(SockName::Unix(Vec::new())), "unnamed");
    std::fs::remove_file(&dir).unwrap();
    let file = std::fs::File::open("/proc/self/stat").unwrap();
    assert_eq!(SockName::of(file.as_raw_fd(), false), Err(-libc::ENOTSOCK));
    assert_eq!(SockName::of(1 << 20, true), Err(-libc::EBADF));
}
