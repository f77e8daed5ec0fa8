//! Socket ops: socket/bind/listen/accept/connect, send/recv/shutdown, the
//! multishot streams (recvMulti, readMulti, acceptMulti), sendZc from a
//! copy, setsockopt/getsockopt, resolve (getaddrinfo on the pool), and
//! sockName (getsockname/getpeername: a plain syscall, no op).

use napi::sys;

use uring_machine_core::{Lookup, Op, SockAddr, SockName, ZcData};

use super::{bool_arg, copy_in, f64_arg, i32_arg, submit, submit_into, u32_arg, Cell};
use crate::js;
use crate::state::RES_BAD_ARG;

/// `port >= 0`: `host` is an IP address; `port < 0`: a unix path.
///
/// # Safety
/// `env` and `host` are live for the current call.
unsafe fn sockaddr(env: sys::napi_env, host: sys::napi_value, port: i32) -> Option<Box<SockAddr>> {
    // Bytes, not a C string: abstract unix names start with a NUL.
    let text = js::bytes(env, host)?;
    let addr = if port >= 0 {
        SockAddr::inet(std::str::from_utf8(&text).ok()?, u16::try_from(port).ok()?)
    } else {
        SockAddr::unix(&text)
    };
    addr.ok().map(Box::new)
}

// socket(domain, type, protocol, timeout)
op_fn!(
    socket(4) | c,
    e,
    a | {
        submit(
            c,
            Op::Socket { domain: i32_arg(e, a[0]), ty: i32_arg(e, a[1]), protocol: i32_arg(e, a[2]) },
            f64_arg(e, a[3]),
        )
    }
);

// bind(fd, host, port, timeout)
op_fn!(
    bind(4) | c,
    e,
    a | match sockaddr(e, a[1], i32_arg(e, a[2])) {
        Some(addr) => submit(c, Op::Bind { fd: i32_arg(e, a[0]), addr }, f64_arg(e, a[3])),
        None => RES_BAD_ARG,
    }
);

// listen(fd, backlog, timeout)
op_fn!(
    listen(3) | c,
    e,
    a | submit(c, Op::Listen { fd: i32_arg(e, a[0]), backlog: i32_arg(e, a[1]) }, f64_arg(e, a[2]))
);

// accept(fd, flags, timeout)
op_fn!(accept(3) | c, e, a | submit(c, Op::Accept { fd: i32_arg(e, a[0]), flags: i32_arg(e, a[1]) }, f64_arg(e, a[2])));

// connect(fd, host, port, timeout)
op_fn!(
    connect(4) | c,
    e,
    a | match sockaddr(e, a[1], i32_arg(e, a[2])) {
        Some(addr) => submit(c, Op::Connect { fd: i32_arg(e, a[0]), addr }, f64_arg(e, a[3])),
        None => RES_BAD_ARG,
    }
);

// send(fd, view, offset, length, flags, timeout)
op_fn!(
    send(6) | c,
    e,
    a | match copy_in(c, e, a[1], u32_arg(e, a[2]), u32_arg(e, a[3])) {
        Some(buf) => submit(c, Op::Send { fd: i32_arg(e, a[0]), buf, flags: i32_arg(e, a[4]) }, f64_arg(e, a[5])),
        None => RES_BAD_ARG,
    }
);

// recv(fd, view, offset, length, flags, timeout)
op_fn!(
    recv(6) | c,
    e,
    a | {
        let (fd, flags) = (i32_arg(e, a[0]), i32_arg(e, a[4]));
        submit_into(c, u32_arg(e, a[2]), u32_arg(e, a[3]), |buf| Op::Recv { fd, buf, flags }, f64_arg(e, a[5]))
    }
);

// shutdown(fd, how, timeout)
op_fn!(
    shutdown(3) | c,
    e,
    a | submit(c, Op::Shutdown { fd: i32_arg(e, a[0]), how: i32_arg(e, a[1]) }, f64_arg(e, a[2]))
);

// recvMulti(fd, group, flags) / readMulti(fd, group) / acceptMulti(fd, flags):
// multishot; each completion but the last is flagged MORE in the pairs, and
// a data chunk is staged into the view at dsts[slot].
op_fn!(recv_multi(3) |c, e, a| submit_stream(c, Op::RecvMulti { fd: i32_arg(e, a[0]), group: u32_arg(e, a[1]) as u16, flags: i32_arg(e, a[2]) }));
op_fn!(read_multi(2) |c, e, a| submit_stream(c, Op::ReadMulti { fd: i32_arg(e, a[0]), group: u32_arg(e, a[1]) as u16 }));

/// Submits a multishot op whose chunks are staged into the view at
/// dsts[slot] from offset 0 in each delivery (see `ring::stage_chunk`).
fn submit_stream(cell: &Cell, op: Op) -> i32 {
    let slot = submit(cell, op, 0.0);
    if slot >= 0 {
        let mut inner = cell.borrow_mut();
        let i = slot as usize;
        if inner.dst_offset.len() <= i {
            inner.dst_offset.resize(i + 1, 0);
        }
        inner.dst_offset[i] = 0;
    }
    slot
}
op_fn!(accept_multi(2) |c, e, a| submit(c, Op::AcceptMulti { fd: i32_arg(e, a[0]), flags: i32_arg(e, a[1]) }, 0.0));

// sendZc(fd, view, offset, length, flags, timeout): the bytes are copied in
// now; the kernel then sends from that copy without copying again.
op_fn!(send_zc(6) |c, e, a| match copy_in(c, e, a[1], u32_arg(e, a[2]), u32_arg(e, a[3])) {
    Some(b) => submit(c, Op::SendZc { fd: i32_arg(e, a[0]), data: ZcData::Owned(b), flags: i32_arg(e, a[4]) }, f64_arg(e, a[5])),
    None => RES_BAD_ARG,
});

// resolve(host, family, timeout): getaddrinfo on the pool; the addresses (as
// strings) are pushed onto the array at dsts[slot].
op_fn!(resolve(3) |c, e, a| match js::path(e, a[0]) {
    Some(host) => submit(c, Op::Resolve { lookup: Lookup::new(host, i32_arg(e, a[1])) }, f64_arg(e, a[2])),
    None => RES_BAD_ARG,
});

// setsockopt(fd, level, optname, value, timeout): an int-sized option.
op_fn!(
    setsockopt(5) | c,
    e,
    a | {
        let (fd, level, optname) = (i32_arg(e, a[0]), i32_arg(e, a[1]), i32_arg(e, a[2]));
        submit(c, Op::SetSockOpt { fd, level, optname, value: Box::new(i32_arg(e, a[3])) }, f64_arg(e, a[4]))
    }
);

// getsockopt(fd, level, optname, view, offset, length, timeout): the
// option's bytes are staged into the view at dsts[slot], like a recv's.
op_fn!(
    getsockopt(7) | c,
    e,
    a | {
        let (fd, level, optname) = (i32_arg(e, a[0]), i32_arg(e, a[1]), i32_arg(e, a[2]));
        let make = |value| Op::GetSockOpt { fd, level, optname, value };
        submit_into(c, u32_arg(e, a[4]), u32_arg(e, a[5]), make, f64_arg(e, a[6]))
    }
);

// sockName(fd, peer, out): getsockname(2), or getpeername(2) with `peer`,
// at once (io_uring has no op for them; neither blocks). Returns 0 or
// -errno; on 0 `out` is [family, address, port]: AF_INET or AF_INET6 with
// the address's text, AF_UNIX with the path (port 0), or another family
// alone.
op_fn!(sock_name(3) |_c, e, a| match SockName::of(i32_arg(e, a[0]), bool_arg(e, a[1])) {
    Err(errno) => errno,
    Ok(name) => {
        let (family, text, port) = match name {
            SockName::Inet(sa) => {
                let family = if sa.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
                (family, sa.ip().to_string().into_bytes(), sa.port())
            }
            SockName::Unix(path) => (libc::AF_UNIX, path, 0),
            SockName::Other(family) => (family, Vec::new(), 0),
            _ => (libc::AF_UNSPEC, Vec::new(), 0),
        };
        let (mut f, mut t, mut p) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        sys::napi_create_int32(e, family, &mut f);
        sys::napi_create_string_utf8(e, text.as_ptr().cast(), text.len() as isize, &mut t);
        sys::napi_create_int32(e, port as i32, &mut p);
        for (i, v) in [f, t, p].into_iter().enumerate() {
            sys::napi_set_element(e, a[2], i as u32, v);
        }
        0
    }
});
