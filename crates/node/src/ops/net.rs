//! The socket function that is no op: sockName (getsockname/getpeername,
//! a plain syscall at once; io_uring has no op for them).

use napi::sys;

use uring_machine_core::SockName;

use super::{bool_arg, i32_arg};

// sockName(fd, peer, out): getsockname(2), or getpeername(2) with `peer`,
// at once (io_uring has no op for them; neither blocks). Returns 0 or
// -errno; on 0 `out` is [family, address, port]: AF_INET or AF_INET6 with
// the address's text, AF_UNIX with the path (port 0), or another family
// alone.
op_fn!(
    sock_name(3) | _c,
    e,
    a | match SockName::of(i32_arg(e, a[0]), bool_arg(e, a[1])) {
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
    }
);
