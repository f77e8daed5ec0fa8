//! Ops on registered (fixed) buffers: readFixed, writeFixed, sendZcFixed.

use uring_machine_core::{FixedSlice, Op, ZcData};

use super::{f64_arg, i32_arg, submit, u32_arg, Cell};
use crate::state::{position, RES_BAD_ARG};

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

// sendZcFixed(fd, id, index, offset, length, flags, timeout)
op_fn!(send_zc_fixed(7) |c, e, a| match fixed_slice(c, u32_arg(e, a[1]), u32_arg(e, a[2]), u32_arg(e, a[3]), u32_arg(e, a[4])) {
    Some(s) => submit(c, Op::SendZc { fd: i32_arg(e, a[0]), data: ZcData::Fixed(s), flags: i32_arg(e, a[5]) }, f64_arg(e, a[6])),
    None => RES_BAD_ARG,
});
