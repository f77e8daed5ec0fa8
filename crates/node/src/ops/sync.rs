//! Ops between threads: futex wait/wake on shared memory, and messages
//! posted to another Machine's ring (a value, or a passed fd).

use std::os::raw::c_void;
use std::ptr;

use napi::sys;

use uring_machine_core::{FutexWord, Op};

use super::{f64_arg, i32_arg, submit, u32_arg};
use crate::state::RES_BAD_ARG;

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

// msgRing(targetFd, targetId, value, timeout): posts `value` to another
// Machine (its ring's id doubles as the message's data).
op_fn!(msg_ring(4) |c, e, a| {
    submit(c, Op::message(i32_arg(e, a[0]), u32_arg(e, a[1]), i32_arg(e, a[2])), f64_arg(e, a[3]))
});
// msgRingFd(targetFd, targetId, fd, timeout): posts a duplicate of `fd`,
// which the op owns until the receiver takes it (the core closes it if the
// post fails, or if the receiver goes away first); -errno if `fd` cannot
// be duplicated.
op_fn!(msg_ring_fd(4) |c, e, a| match Op::pass_fd(i32_arg(e, a[0]), u32_arg(e, a[1]), i32_arg(e, a[2])) {
    Ok(op) => submit(c, op, f64_arg(e, a[3])),
    Err(errno) => errno,
});
