//! Process ops: waitid.

use uring_machine_core::Op;

use super::{f64_arg, i32_arg, submit, u32_arg};

// waitid(idtype, id, options, timeout): [pid, code, status] go to the Float64Array at dsts[slot]
op_fn!(waitid(4) |c, e, a| submit(c, Op::waitid(u32_arg(e, a[0]), u32_arg(e, a[1]), i32_arg(e, a[2])), f64_arg(e, a[3])));
