//! File ops: reads and writes (plain and vectored), open/close/statx/fsync,
//! the path ops (unlink, rename, mkdir, symlink, link), ftruncate,
//! fallocate, fadvise, splice/tee and the xattr ops.

use napi::sys;

use uring_machine_core::Op;

use super::{bool_arg, copy_in, f64_arg, i32_arg, submit, submit_into, u32_arg, Cell, MAX_LENGTH};
use crate::js;
use crate::state::{position, RES_BAD_ARG};

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
