//! The raw op functions of the op table's `js` entries, expanded from
//! `for_each_op!` (crates/core/src/table.rs): one function per entry, named
//! as in JS, that reads the entry's arguments in order with the conversion
//! of each one's kind ([`super::kinds`]), builds the op with the entry's
//! build expression, and submits it with the trailing `timeout` (none for a
//! `Stream`). Each is the same raw napi callback a hand-written `op_fn!`
//! was: the argument count is a constant, the argument indices fold to
//! constants, nothing is allocated beyond what the op owns.
//!
//! The entries not expanded here are skipped by name in `bridge_ops!`'s
//! first arm, each with the reason, and written by hand beside it.

use uring_machine_core::Op;

use super::{submit, Cell, RawFn};

/// The generic submit, then where an `Into`'s bytes (or a multishot's
/// staged chunks, from 0) land in the view at dsts[slot].
#[inline(always)]
fn submit_at(cell: &Cell, op: Op, timeout_ms: f64, dst: Option<u32>) -> i32 {
    let slot = submit(cell, op, timeout_ms);
    if let (Some(offset), true) = (dst, slot >= 0) {
        let mut inner = cell.borrow_mut();
        let i = slot as usize;
        if inner.dst_offset.len() <= i {
            inner.dst_offset.resize(i + 1, 0);
        }
        inner.dst_offset[i] = offset;
    }
    slot
}

/// The trailing `timeout`: every function but a `Stream` one reads one.
macro_rules! timeout_argc {
    (Stream) => {
        0
    };
    ($other:ident) => {
        1
    };
}

/// Submits `$op` as its result kind asks: a multishot with a buffer group
/// stages its chunks into the view at dsts[slot] from 0 (see
/// `ring::stage_chunk`), and takes no timeout.
macro_rules! finish {
    (Stream, $op:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {{
        let staged = if $op.buffer_group().is_some() { Some(0) } else { $dst };
        submit_at($c, $op, 0.0, staged)
    }};
    ($other:ident, $op:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        submit_at($c, $op, super::f64_arg($e, $a[$i]), $dst)
    };
}

macro_rules! bridge_ops {
    // msgRingFd: its `DupFd` is a duplicate the op must own from the moment
    // it exists, which only the core's `Op::pass_fd` makes (the raw dup is
    // the core's syscall module's); hand-written in `super::sync`.
    (@fn msgRingFd $($rest:tt)*) => {};
    (@fn $js:ident($($arg:ident : $kind:ident),*) -> $res:ident => $build:expr) => {
        #[allow(non_snake_case)]
        pub(super) unsafe extern "C" fn $js(
            env: ::napi::sys::napi_env,
            info: ::napi::sys::napi_callback_info,
        ) -> ::napi::sys::napi_value {
            const ARGC: usize = 0 $(+ argc!($kind))* + timeout_argc!($res);
            #[allow(unused_mut, unused_variables, unused_assignments, clippy::let_unit_value)]
            #[inline(always)]
            unsafe fn body(c: &Cell, e: ::napi::sys::napi_env, a: &[::napi::sys::napi_value; ARGC]) -> i32 {
                let mut i = 0usize;
                let mut dst: Option<u32> = None;
                $(arg!($kind, $arg, c, e, a, i, dst);)*
                let op: Op = $build;
                finish!($res, op, c, e, a, i, dst)
            }
            let mut argc: usize = ARGC;
            let mut a = [::std::ptr::null_mut(); ARGC];
            let mut data = ::std::ptr::null_mut();
            ::napi::sys::napi_get_cb_info(env, info, &mut argc, a.as_mut_ptr(), ::std::ptr::null_mut(), &mut data);
            // SAFETY: `data` is the counted pointer this function was made with.
            let cell: &Cell = &*(data as *const Cell);
            let res = body(cell, env, &a);
            let mut out = ::std::ptr::null_mut();
            ::napi::sys::napi_create_int32(env, res, &mut out);
            out
        }
    };
    (@entry msgRingFd) => { None };
    (@entry $js:ident) => {
        Some((
            match ::std::ffi::CStr::from_bytes_with_nul(concat!(stringify!($js), "\0").as_bytes()) {
                Ok(name) => name,
                Err(_) => panic!("a js name with a NUL"),
            },
            $js as RawFn,
        ))
    };
    ($(
        $(#[$doc:meta])*
        $V:ident $({ $($f:ident : $t:ty),* $(,)? })? => {
            opcode: $oc:ident,
            syscall: $sys0:literal $(| $sysn:literal)* $(=> $pick:expr)?,
            kernel: $kernel:literal,
            sqe: $sqe:expr,
            $(fallback: $fb:expr,)?
            $(fallback_when: |$fr:ident| $fw:expr,)?
            $(result: |$r:ident| $mr:expr,)?
            $(output: $okind:ident => |$n:ident| $out:expr,)?
            $(produces_fd: $pfd:literal,)?
            $(waits_writable: $ww:expr,)?
            $(multishot: $bg:expr,)?
            $(recycle: |$rf:ident| $rc:expr,)?
            js: [$($js:ident($($arg:ident : $kind:ident),* $(,)?) -> $res:ident => $build:expr),* $(,)?] $(,)?
        }
    )*) => {
        $($(bridge_ops!(@fn $js($($arg : $kind),*) -> $res => $build);)*)*

        /// The table's functions by JS name (`None`: one written by hand).
        pub(super) const FUNCTIONS: &[Option<(&::std::ffi::CStr, RawFn)>] = &[$($(bridge_ops!(@entry $js),)*)*];
    };
}

uring_machine_core::for_each_op!(bridge_ops);
