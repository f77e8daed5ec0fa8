//! Copies in the core (see `uring_machine_core::copy`): `copy` between two
//! fds and `copyFile` between two paths, each one native call, one
//! completion. The bytes copied go into the Float64Array JS puts at
//! `dsts[slot]` (`[bytes, side]`, side 1 for a failure on the source, 2 on
//! the destination); the result is 0 or `-errno`.

use uring_machine_core::copy::TO_EOF;
use uring_machine_core::Copy;

use super::{f64_arg, submit_with, u32_arg, Cell};
use crate::js;
use crate::state::{timeout, RES_BAD_ARG};

/// A copy's lifecycle's first half, like `super::submit`; `-ENOSYS` (an
/// SQPOLL ring, a kernel before 5.7) makes JS use its splice loop.
fn submit_copy(cell: &Cell, copy: Copy) -> i32 {
    submit_with(cell, copy, drop, |ring, copy| ring.submit_copy(copy, &timeout(0.0)))
}

/// A position argument: `-1` (or any negative) for the file's own.
fn pos(p: f64) -> i64 {
    if p < 0.0 {
        -1
    } else {
        p as i64
    }
}

// copy(srcFd, dstFd, length (-1: to EOF), srcPosition, dstPosition)
op_fn!(
    copy(5) | c,
    e,
    a | {
        let length = f64_arg(e, a[2]);
        let length = if length < 0.0 { TO_EOF } else { length as u64 };
        let (src, dst) = (super::i32_arg(e, a[0]), super::i32_arg(e, a[1]));
        if src < 0 || dst < 0 {
            RES_BAD_ARG
        } else {
            submit_copy(c, Copy::fds(src, dst, length, pos(f64_arg(e, a[3])), pos(f64_arg(e, a[4]))))
        }
    }
);

// copyFile(src, dst, mode)
op_fn!(
    copy_file(3) | c,
    e,
    a | match (js::path(e, a[0]), js::path(e, a[1])) {
        (Some(src), Some(dst)) => submit_copy(c, Copy::file(src, dst, u32_arg(e, a[2]))),
        _ => RES_BAD_ARG,
    }
);
