//! The op functions JS calls on the hot path, as raw Node-API functions.
//!
//! Measured on Node 20: a napi-rs class method costs ~700 ns per call and a
//! napi-rs function ~230 ns; a raw `napi_create_function` callback ~27 ns.
//! Each function's `data` is a counted pointer to the ring's shared state,
//! released when the function object is collected, so a call can never
//! reach freed state, even after the ring has closed (it then returns
//! `RES_CLOSED`).
//!
//! Every function returns the op's slot (>= 0) or a negative code: `-errno`
//! from submission, `RES_CLOSED`, or `RES_BAD_ARG` for arguments the JS
//! layer should already have refused. Wrongly typed arguments read as 0 and
//! are then refused by the kernel; nothing here can crash on them.

use std::cell::RefCell;
use std::os::raw::c_void;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

use uring_machine_core::{FixedSlice, FutexWord, Lookup, Op, SockAddr, SubmitError, ZcData};

use crate::js;
use crate::event_loop::schedule_flush;
use crate::state::{position, timeout, Inner, Shared, RES_BAD_ARG, RES_CLOSED};
use crate::uv;

type Cell = RefCell<Inner>;

/// The largest transfer one op takes (as the JS layer enforces): the bounce
/// buffer is allocated up front, so junk must not ask for gigabytes.
const MAX_LENGTH: u32 = i32::MAX as u32;

unsafe fn f64_arg(env: sys::napi_env, v: sys::napi_value) -> f64 {
    let mut x = 0f64;
    sys::napi_get_value_double(env, v, &mut x);
    if x.is_nan() {
        0.0
    } else {
        x
    }
}

unsafe fn i32_arg(env: sys::napi_env, v: sys::napi_value) -> i32 {
    let mut x = 0i32;
    sys::napi_get_value_int32(env, v, &mut x);
    x
}

unsafe fn u32_arg(env: sys::napi_env, v: sys::napi_value) -> u32 {
    let mut x = 0u32;
    sys::napi_get_value_uint32(env, v, &mut x);
    x
}

unsafe fn bool_arg(env: sys::napi_env, v: sys::napi_value) -> bool {
    let mut x = false;
    sys::napi_get_value_bool(env, v, &mut x);
    x
}

/// The generic op lifecycle's first half: queue the op, keep the loop alive.
/// An op refused here never reaches the core, which releases what it owns.
fn submit(cell: &Cell, op: Op, timeout_ms: f64) -> i32 {
    let Ok(mut inner) = cell.try_borrow_mut() else {
        op.discard();
        return -libc::EBUSY;
    };
    if inner.closing || inner.dead || inner.ring.is_none() {
        op.discard();
        return RES_CLOSED;
    }
    let Some(ring) = inner.ring.as_mut() else { return RES_CLOSED };
    match ring.submit(op, &timeout(timeout_ms)) {
        Ok(id) => {
            schedule_flush(&mut inner);
            if !inner.referenced {
                inner.referenced = true;
                // SAFETY: the poll handle is open while the ring is live.
                unsafe { uv::set_ref(inner.poll, true) };
            }
            id.index() as i32
        }
        Err(SubmitError::Closed) => RES_CLOSED,
        Err(SubmitError::Unsupported(_)) => -libc::ENOSYS,
        Err(SubmitError::Io(e)) => -e.raw_os_error().unwrap_or(libc::EIO),
        // The JS layer tells this EPERM apart by asking credentials_changed().
        Err(SubmitError::CredentialsChanged) => -libc::EPERM,
        Err(_) => -libc::EINVAL,
    }
}

/// Submits a read-like op whose bytes land in `view[offset..]` at completion.
/// The view is not inspected here: the kernel never touches it, and the copy
/// at completion checks its bounds then, when they matter.
fn submit_into(cell: &Cell, offset: u32, length: u32, make: impl FnOnce(Vec<u8>) -> Op, timeout_ms: f64) -> i32 {
    if length > MAX_LENGTH {
        return RES_BAD_ARG;
    }
    let buf = match cell.try_borrow_mut() {
        Ok(mut inner) => inner.pool.take(length as usize),
        Err(_) => return -libc::EBUSY,
    };
    let slot = submit(cell, make(buf), timeout_ms);
    if slot >= 0 {
        let mut inner = cell.borrow_mut();
        let i = slot as usize;
        if inner.dst_offset.len() <= i {
            inner.dst_offset.resize(i + 1, 0);
        }
        inner.dst_offset[i] = offset;
    }
    slot
}

/// A pooled copy of `view[offset..offset + length]`, taken now: the kernel
/// never reads JS memory.
///
/// # Safety
/// `env` and `view` are live for the current call.
unsafe fn copy_in(cell: &Cell, env: sys::napi_env, view: sys::napi_value, offset: u32, length: u32) -> Option<Vec<u8>> {
    let data = js::view_range(env, view, offset, length)?;
    let mut inner = cell.try_borrow_mut().ok()?;
    Some(inner.pool.copy_of(data))
}

/// The buffers of a readv (`copy`: false, sized like the views) or a writev
/// (copies of the views). Elements are read without holding the ring's
/// state: reading an element may run JS (a getter).
///
/// # Safety
/// `env` and `views` are live for the current call.
unsafe fn vectors(cell: &Cell, env: sys::napi_env, views: sys::napi_value, copy: bool) -> Option<Vec<Vec<u8>>> {
    let n = js::array_len(env, views)?;
    if n == 0 || n > 1024 {
        return None;
    }
    let mut bufs = Vec::with_capacity(n as usize);
    for i in 0..n {
        let v = js::element(env, views, i);
        // No JS runs between taking the view's pointer and copying from it.
        let (p, len) = js::view_bytes(env, v)?;
        if len > MAX_LENGTH as usize {
            return None;
        }
        let mut inner = cell.try_borrow_mut().ok()?;
        bufs.push(if copy {
            inner.pool.copy_of(if len == 0 { &[][..] } else { std::slice::from_raw_parts(p, len) })
        } else {
            inner.pool.take(len)
        });
    }
    Some(bufs)
}

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

/// Declares a raw op function: `name(args...) -> slot | -code`.
macro_rules! op_fn {
    ($name:ident($argc:literal) |$cell:ident, $env:ident, $a:ident| $body:expr) => {
        unsafe extern "C" fn $name(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
            let mut argc: usize = $argc;
            let mut $a = [ptr::null_mut(); $argc];
            let mut data = ptr::null_mut();
            sys::napi_get_cb_info(env, info, &mut argc, $a.as_mut_ptr(), ptr::null_mut(), &mut data);
            // SAFETY: `data` is the counted pointer this function was made with.
            let $cell: &Cell = &*(data as *const Cell);
            let $env = env;
            let res: i32 = $body;
            let mut out = ptr::null_mut();
            sys::napi_create_int32(env, res, &mut out);
            out
        }
    };
}

op_fn!(nop(1) | c, e, a | submit(c, Op::Nop, f64_arg(e, a[0])));

// read(fd, view, offset, length, position, timeout)
op_fn!(
    read(6) | c,
    e,
    a | {
        let (fd, pos) = (i32_arg(e, a[0]), position(f64_arg(e, a[4])));
        submit_into(c, u32_arg(e, a[2]), u32_arg(e, a[3]), |buf| Op::Read { fd, buf, position: pos }, f64_arg(e, a[5]))
    }
);

// write(fd, view, offset, length, position, timeout)
op_fn!(
    write(6) | c,
    e,
    a | match copy_in(c, e, a[1], u32_arg(e, a[2]), u32_arg(e, a[3])) {
        Some(buf) =>
            submit(c, Op::Write { fd: i32_arg(e, a[0]), buf, position: position(f64_arg(e, a[4])) }, f64_arg(e, a[5])),
        None => RES_BAD_ARG,
    }
);

// readv(fd, views, position, timeout)
op_fn!(
    readv(4) | c,
    e,
    a | match vectors(c, e, a[1], false) {
        Some(bufs) => submit(c, Op::readv(i32_arg(e, a[0]), bufs, position(f64_arg(e, a[2]))), f64_arg(e, a[3])),
        None => RES_BAD_ARG,
    }
);

// writev(fd, views, position, timeout)
op_fn!(
    writev(4) | c,
    e,
    a | match vectors(c, e, a[1], true) {
        Some(bufs) => submit(c, Op::writev(i32_arg(e, a[0]), bufs, position(f64_arg(e, a[2]))), f64_arg(e, a[3])),
        None => RES_BAD_ARG,
    }
);

// open(path, flags, mode, timeout)
op_fn!(
    open(4) | c,
    e,
    a | match js::path(e, a[0]) {
        Some(path) => submit(
            c,
            Op::Open { dirfd: libc::AT_FDCWD, path, flags: i32_arg(e, a[1]), mode: u32_arg(e, a[2]) },
            f64_arg(e, a[3])
        ),
        None => RES_BAD_ARG,
    }
);

// close(fd, timeout)
op_fn!(close(2) | c, e, a | submit(c, Op::Close { fd: i32_arg(e, a[0]) }, f64_arg(e, a[1])));

// statx(dirfd, path, flags, mask, timeout): fields go to the typed array at dsts[slot]
op_fn!(
    statx(5) | c,
    e,
    a | match js::path(e, a[1]) {
        Some(path) => {
            let op = Op::Statx {
                dirfd: i32_arg(e, a[0]),
                path,
                flags: i32_arg(e, a[2]),
                mask: u32_arg(e, a[3]),
                buf: Default::default(),
            };
            submit(c, op, f64_arg(e, a[4]))
        }
        None => RES_BAD_ARG,
    }
);

// fsync(fd, datasync, timeout)
op_fn!(
    fsync(3) | c,
    e,
    a | submit(c, Op::Fsync { fd: i32_arg(e, a[0]), datasync: bool_arg(e, a[1]) }, f64_arg(e, a[2]))
);

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

// sleep(ms, timeout)
op_fn!(
    sleep(2) | c,
    e,
    a | {
        let ms = f64_arg(e, a[0]);
        let ns = if ms.is_finite() && ms > 0.0 { (ms * 1e6) as u64 } else { 0 };
        submit(c, Op::sleep_ns(ns), f64_arg(e, a[1]))
    }
);

// poll(fd, events, timeout)
op_fn!(poll(3) | c, e, a | submit(c, Op::Poll { fd: i32_arg(e, a[0]), events: u32_arg(e, a[1]) }, f64_arg(e, a[2])));

// unlink(path, flags, timeout): flags AT_REMOVEDIR makes it rmdir
op_fn!(unlink(3) |c, e, a| match js::path(e, a[0]) {
    Some(path) => submit(c, Op::Unlink { dirfd: libc::AT_FDCWD, path, flags: i32_arg(e, a[1]) }, f64_arg(e, a[2])),
    None => RES_BAD_ARG,
});

// rename(from, to, flags, timeout)
op_fn!(rename(4) |c, e, a| match (js::path(e, a[0]), js::path(e, a[1])) {
    (Some(from), Some(to)) => submit(c, Op::Rename { from, to, flags: u32_arg(e, a[2]) }, f64_arg(e, a[3])),
    _ => RES_BAD_ARG,
});

// mkdir(path, mode, timeout)
op_fn!(mkdir(3) |c, e, a| match js::path(e, a[0]) {
    Some(path) => submit(c, Op::Mkdir { dirfd: libc::AT_FDCWD, path, mode: u32_arg(e, a[1]) }, f64_arg(e, a[2])),
    None => RES_BAD_ARG,
});

// symlink(target, path, timeout)
op_fn!(symlink(3) |c, e, a| match (js::path(e, a[0]), js::path(e, a[1])) {
    (Some(target), Some(path)) => submit(c, Op::Symlink { target, path }, f64_arg(e, a[2])),
    _ => RES_BAD_ARG,
});

// link(from, to, timeout)
op_fn!(link(3) |c, e, a| match (js::path(e, a[0]), js::path(e, a[1])) {
    (Some(from), Some(to)) => submit(c, Op::Link { from, to, flags: 0 }, f64_arg(e, a[2])),
    _ => RES_BAD_ARG,
});

// ftruncate(fd, len, timeout)
op_fn!(ftruncate(3) |c, e, a| {
    let len = f64_arg(e, a[1]);
    if !(0.0..=i64::MAX as f64).contains(&len) {
        RES_BAD_ARG
    } else {
        submit(c, Op::Ftruncate { fd: i32_arg(e, a[0]), len: len as u64 }, f64_arg(e, a[2]))
    }
});

// fallocate(fd, mode, offset, len, timeout)
op_fn!(fallocate(5) |c, e, a| {
    let (offset, len) = (f64_arg(e, a[2]), f64_arg(e, a[3]));
    if offset < 0.0 || len <= 0.0 {
        RES_BAD_ARG
    } else {
        submit(c, Op::Fallocate { fd: i32_arg(e, a[0]), mode: i32_arg(e, a[1]), offset: offset as u64, len: len as u64 }, f64_arg(e, a[4]))
    }
});

// fadvise(fd, offset, len, advice, timeout)
op_fn!(fadvise(5) |c, e, a| {
    let (offset, len) = (f64_arg(e, a[1]), f64_arg(e, a[2]));
    if offset < 0.0 || len < 0.0 {
        RES_BAD_ARG
    } else {
        submit(c, Op::Fadvise { fd: i32_arg(e, a[0]), offset: offset as u64, len: len as i64, advice: i32_arg(e, a[3]) }, f64_arg(e, a[4]))
    }
});

/// The futex word `view[index]` of an Int32Array over a SharedArrayBuffer.
///
/// # Safety
/// `env` and `view` are live for the current call.
unsafe fn futex_word(env: sys::napi_env, view: sys::napi_value, index: u32) -> Option<FutexWord> {
    let mut ty = 0;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    let mut ab = ptr::null_mut();
    if sys::napi_get_typedarray_info(env, view, &mut ty, &mut len, &mut data, &mut ab, ptr::null_mut()) != sys::Status::napi_ok
        || ty != sys::TypedarrayType::int32_array
        || index as usize >= len
        || data.is_null()
    {
        return None;
    }
    // A plain ArrayBuffer could be detached under a waiter; a
    // SharedArrayBuffer cannot, and is what threads share.
    let mut plain = false;
    sys::napi_is_arraybuffer(env, ab, &mut plain);
    if plain {
        return None;
    }
    // SAFETY: in bounds and Int32Array-aligned; JS keeps the view (and so
    // the shared memory) alive until the op's completion is delivered.
    Some(FutexWord::new((data as *const u32).add(index as usize)))
}

// futexWait(i32, index, expected, timeout)
op_fn!(futex_wait(4) |c, e, a| match futex_word(e, a[0], u32_arg(e, a[1])) {
    Some(word) => submit(c, Op::FutexWait { word, expected: i32_arg(e, a[2]) as u32 }, f64_arg(e, a[3])),
    None => RES_BAD_ARG,
});

// futexWake(i32, index, count, timeout)
op_fn!(futex_wake(4) |c, e, a| match futex_word(e, a[0], u32_arg(e, a[1])) {
    Some(word) => submit(c, Op::FutexWake { word, count: u32_arg(e, a[2]) }, f64_arg(e, a[3])),
    None => RES_BAD_ARG,
});

/// A splice offset from JS: -1 (or any negative) means "the fd's position".
fn offset(x: f64) -> i64 {
    if x < 0.0 || x.is_nan() {
        -1
    } else {
        x.min(i64::MAX as f64) as i64
    }
}

// splice(fdIn, offIn, fdOut, offOut, len, flags, timeout)
op_fn!(splice(7) |c, e, a| {
    let op = Op::Splice {
        fd_in: i32_arg(e, a[0]),
        off_in: offset(f64_arg(e, a[1])),
        fd_out: i32_arg(e, a[2]),
        off_out: offset(f64_arg(e, a[3])),
        len: u32_arg(e, a[4]),
        flags: u32_arg(e, a[5]),
    };
    submit(c, op, f64_arg(e, a[6]))
});

// tee(fdIn, fdOut, len, flags, timeout)
op_fn!(tee(5) |c, e, a| {
    submit(c, Op::Tee { fd_in: i32_arg(e, a[0]), fd_out: i32_arg(e, a[1]), len: u32_arg(e, a[2]), flags: u32_arg(e, a[3]) }, f64_arg(e, a[4]))
});

// getxattr(path, name, view, offset, length, timeout): the value lands in view[offset..]
op_fn!(getxattr(6) |c, e, a| match (js::path(e, a[0]), js::path(e, a[1])) {
    (Some(path), Some(name)) => submit_into(c, u32_arg(e, a[3]), u32_arg(e, a[4]), |value| Op::GetXattr { path, name, value }, f64_arg(e, a[5])),
    _ => RES_BAD_ARG,
});

// fgetxattr(fd, name, view, offset, length, timeout)
op_fn!(fgetxattr(6) |c, e, a| match js::path(e, a[1]) {
    Some(name) => {
        let fd = i32_arg(e, a[0]);
        submit_into(c, u32_arg(e, a[3]), u32_arg(e, a[4]), |value| Op::FGetXattr { fd, name, value }, f64_arg(e, a[5]))
    }
    None => RES_BAD_ARG,
});

// setxattr(path, name, view, offset, length, flags, timeout)
op_fn!(setxattr(7) |c, e, a| match (js::path(e, a[0]), js::path(e, a[1]), copy_in(c, e, a[2], u32_arg(e, a[3]), u32_arg(e, a[4]))) {
    (Some(path), Some(name), Some(value)) => submit(c, Op::SetXattr { path, name, value, flags: i32_arg(e, a[5]) }, f64_arg(e, a[6])),
    _ => RES_BAD_ARG,
});

// fsetxattr(fd, name, view, offset, length, flags, timeout)
op_fn!(fsetxattr(7) |c, e, a| match (js::path(e, a[1]), copy_in(c, e, a[2], u32_arg(e, a[3]), u32_arg(e, a[4]))) {
    (Some(name), Some(value)) => submit(c, Op::FSetXattr { fd: i32_arg(e, a[0]), name, value, flags: i32_arg(e, a[5]) }, f64_arg(e, a[6])),
    _ => RES_BAD_ARG,
});

// waitid(idtype, id, options, timeout): [pid, code, status] go to the Float64Array at dsts[slot]
op_fn!(waitid(4) |c, e, a| submit(c, Op::waitid(u32_arg(e, a[0]), u32_arg(e, a[1]), i32_arg(e, a[2])), f64_arg(e, a[3])));

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

/// A range of registered buffer `index` of registration `id`.
fn fixed_slice(cell: &Cell, id: u32, index: u32, offset: u32, length: u32) -> Option<FixedSlice> {
    let inner = cell.try_borrow().ok()?;
    inner.fixed.get(id as usize)?.as_ref()?.slice(index, offset, length)
}

// readFixed/writeFixed(fd, id, index, offset, length, position, timeout)
op_fn!(read_fixed(7) |c, e, a| match fixed_slice(c, u32_arg(e, a[1]), u32_arg(e, a[2]), u32_arg(e, a[3]), u32_arg(e, a[4])) {
    Some(buf) => submit(c, Op::ReadFixed { fd: i32_arg(e, a[0]), buf, position: position(f64_arg(e, a[5])) }, f64_arg(e, a[6])),
    None => RES_BAD_ARG,
});
op_fn!(write_fixed(7) |c, e, a| match fixed_slice(c, u32_arg(e, a[1]), u32_arg(e, a[2]), u32_arg(e, a[3]), u32_arg(e, a[4])) {
    Some(buf) => submit(c, Op::WriteFixed { fd: i32_arg(e, a[0]), buf, position: position(f64_arg(e, a[5])) }, f64_arg(e, a[6])),
    None => RES_BAD_ARG,
});

// sendZc(fd, view, offset, length, flags, timeout): the bytes are copied in
// now; the kernel then sends from that copy without copying again.
op_fn!(send_zc(6) |c, e, a| match copy_in(c, e, a[1], u32_arg(e, a[2]), u32_arg(e, a[3])) {
    Some(b) => submit(c, Op::SendZc { fd: i32_arg(e, a[0]), data: ZcData::Owned(b), flags: i32_arg(e, a[4]) }, f64_arg(e, a[5])),
    None => RES_BAD_ARG,
});
// sendZcFixed(fd, id, index, offset, length, flags, timeout)
op_fn!(send_zc_fixed(7) |c, e, a| match fixed_slice(c, u32_arg(e, a[1]), u32_arg(e, a[2]), u32_arg(e, a[3]), u32_arg(e, a[4])) {
    Some(s) => submit(c, Op::SendZc { fd: i32_arg(e, a[0]), data: ZcData::Fixed(s), flags: i32_arg(e, a[5]) }, f64_arg(e, a[6])),
    None => RES_BAD_ARG,
});

// msgRing(targetFd, targetId, value, timeout): posts `value` to another
// Machine (its ring's id doubles as the message's data).
op_fn!(msg_ring(4) |c, e, a| {
    let to = u32_arg(e, a[1]);
    submit(c, Op::MsgRing { target: i32_arg(e, a[0]), to, data: to as u64, value: i32_arg(e, a[2]), fd: None }, f64_arg(e, a[3]))
});
// msgRingFd(targetFd, targetId, fd, timeout): posts a duplicate of `fd`,
// which the op owns until the receiver takes it (the core closes it if the
// post fails, or if the receiver goes away first).
op_fn!(msg_ring_fd(4) |c, e, a| {
    let dup = crate::dup_cloexec(i32_arg(e, a[2]));
    if dup < 0 {
        dup
    } else {
        let to = u32_arg(e, a[1]);
        submit(c, Op::MsgRing { target: i32_arg(e, a[0]), to, data: to as u64, value: 0, fd: Some(dup) }, f64_arg(e, a[3]))
    }
});

// hold(fd): an fd JS makes for its own use (a copy's pipe) is held like
// those it keeps for the caller, so teardown closes it if JS cannot (a
// terminated worker runs no `finally`). 1, or RES_CLOSED after teardown.
op_fn!(hold(1) |c, e, a| match c.try_borrow_mut() {
    Ok(mut inner) if !inner.dead => {
        inner.held.insert(i32_arg(e, a[0]));
        1
    }
    Ok(_) => RES_CLOSED,
    Err(_) => -libc::EBUSY,
});

// disown(fd, close): JS hands out (close false) or drops (close true) an fd
// it held for the caller (see `Inner::held`). 1 if it was held, else 0:
// after teardown nothing is held, and teardown closed it already.
op_fn!(disown(2) |c, e, a| {
    let fd = i32_arg(e, a[0]);
    match c.try_borrow_mut() {
        Ok(mut inner) => {
            let held = inner.held.remove(&fd);
            if held && bool_arg(e, a[1]) {
                // SAFETY: held for the caller, who never got it.
                unsafe { libc::close(fd) };
            }
            held as i32
        }
        Err(_) => -libc::EBUSY,
    }
});

// resolve(host, family, timeout): getaddrinfo on the pool; the addresses (as
// strings) are pushed onto the array at dsts[slot].
op_fn!(resolve(3) |c, e, a| match js::path(e, a[0]) {
    Some(host) => submit(c, Op::Resolve { lookup: Lookup::new(host, i32_arg(e, a[1])) }, f64_arg(e, a[2])),
    None => RES_BAD_ARG,
});

// cancelFd(fd, timeout): cancels every op in flight on fd.
op_fn!(cancel_fd(2) |c, e, a| submit(c, Op::CancelFd { fd: i32_arg(e, a[0]) }, f64_arg(e, a[1])));

/// flush(): submits what is queued now, instead of when the loop next idles.
/// For a wake another thread waits for while this one keeps the loop busy.
unsafe extern "C" fn flush(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut data = ptr::null_mut();
    let mut argc = 0usize;
    sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), ptr::null_mut(), &mut data);
    // SAFETY: `data` is the counted pointer this function was made with.
    let cell: &Cell = &*(data as *const Cell);
    let res = match cell.try_borrow_mut() {
        Ok(mut inner) => match inner.ring.as_mut() {
            Some(ring) => ring.flush().map(|n| n as i32).unwrap_or_else(|e| -e.raw_os_error().unwrap_or(libc::EIO)),
            None => RES_CLOSED,
        },
        Err(_) => -libc::EBUSY,
    };
    let mut out = ptr::null_mut();
    sys::napi_create_int32(env, res, &mut out);
    out
}

type RawFn = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

const FUNCTIONS: &[(&std::ffi::CStr, RawFn)] = &[
    (c"nop", nop),
    (c"read", read),
    (c"write", write),
    (c"readv", readv),
    (c"writev", writev),
    (c"open", open),
    (c"close", close),
    (c"statx", statx),
    (c"fsync", fsync),
    (c"socket", socket),
    (c"bind", bind),
    (c"listen", listen),
    (c"accept", accept),
    (c"connect", connect),
    (c"send", send),
    (c"recv", recv),
    (c"shutdown", shutdown),
    (c"sleep", sleep),
    (c"poll", poll),
    (c"unlink", unlink),
    (c"rename", rename),
    (c"mkdir", mkdir),
    (c"symlink", symlink),
    (c"link", link),
    (c"ftruncate", ftruncate),
    (c"fallocate", fallocate),
    (c"fadvise", fadvise),
    (c"futexWait", futex_wait),
    (c"futexWake", futex_wake),
    (c"splice", splice),
    (c"tee", tee),
    (c"flush", flush),
    (c"getxattr", getxattr),
    (c"fgetxattr", fgetxattr),
    (c"setxattr", setxattr),
    (c"fsetxattr", fsetxattr),
    (c"waitid", waitid),
    (c"recvMulti", recv_multi),
    (c"readMulti", read_multi),
    (c"acceptMulti", accept_multi),
    (c"readFixed", read_fixed),
    (c"writeFixed", write_fixed),
    (c"sendZc", send_zc),
    (c"sendZcFixed", send_zc_fixed),
    (c"msgRing", msg_ring),
    (c"msgRingFd", msg_ring_fd),
    (c"resolve", resolve),
    (c"cancelFd", cancel_fd),
    (c"hold", hold),
    (c"disown", disown),
];

unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    drop(Rc::from_raw(data as *const Cell));
}

/// An object of the op functions bound to `shared`.
pub fn functions<'a>(env: &'a Env, shared: &Shared) -> Result<Unknown<'a>> {
    let raw = env.raw();
    // SAFETY: napi calls on the live env of this call; each function's data
    // holds one count of `shared`, released by its finalizer.
    unsafe {
        let mut obj = ptr::null_mut();
        sys::napi_create_object(raw, &mut obj);
        for (name, cb) in FUNCTIONS {
            let data = Rc::into_raw(shared.clone()) as *mut c_void;
            let mut f = ptr::null_mut();
            let bytes = name.to_bytes();
            sys::napi_create_function(raw, name.as_ptr(), bytes.len() as isize, Some(*cb), data, &mut f);
            sys::napi_add_finalizer(raw, f, data, Some(release), ptr::null_mut(), ptr::null_mut());
            sys::napi_set_named_property(raw, obj, name.as_ptr(), f);
        }
        Unknown::from_napi_value(raw, obj)
    }
}
