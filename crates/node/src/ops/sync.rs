//! msgRingFd, the op table entry written by hand (see `super::gen`): the
//! duplicate it posts is made by the core's `Op::pass_fd`, which owns it
//! from that moment.

use uring_machine_core::Op;

use super::{f64_arg, i32_arg, submit, u32_arg};

// msgRingFd(targetFd, targetId, fd, timeout): posts a duplicate of `fd`,
// which the op owns until the receiver takes it (the core closes it if the
// post fails, or if the receiver goes away first); -errno if `fd` cannot
// be duplicated.
op_fn!(
    msg_ring_fd(4) | c,
    e,
    a | match Op::pass_fd(i32_arg(e, a[0]), u32_arg(e, a[1]), i32_arg(e, a[2])) {
        Ok(op) => submit(c, op, f64_arg(e, a[3])),
        Err(errno) => errno,
    }
);
