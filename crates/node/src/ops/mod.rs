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
//!
//! This module holds what every op shares (argument reads, the generic
//! submit, the bounce-buffer copies, `op_fn!`) and the registration. The
//! op functions of the op table's `js` entries are expanded from the table
//! by [`gen`], with the argument conversions of [`kinds`]; the few written
//! by hand live in [`control`] (flush, and the fds JS holds) and [`sync`]
//! (msgRingFd).

use std::cell::RefCell;
use std::os::raw::c_void;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

use uring_machine_core::{Op, OpId, Ring as CoreRing, SubmitError};

use crate::event_loop::schedule_flush;
use crate::js;
use crate::state::{timeout, Inner, Shared, RES_CLOSED};
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
    submit_with(cell, op, Op::discard, |ring, op| ring.submit(op, &timeout(timeout_ms)))
}

/// The first half of every lifecycle (an op, a chain, a core copy): a live
/// ring takes `item` through `go`; then the flush is scheduled and the loop
/// kept alive. The slot, or a negative code JS reads (`-ENOSYS` where the
/// ring can't run it: JS then falls back). `refused` gets back an item that
/// never reached the ring.
pub(super) fn submit_with<T>(
    cell: &Cell,
    item: T,
    refused: impl FnOnce(T),
    go: impl FnOnce(&mut CoreRing, T) -> std::result::Result<OpId, SubmitError>,
) -> i32 {
    let Ok(mut inner) = cell.try_borrow_mut() else {
        refused(item);
        return -libc::EBUSY;
    };
    let live = !inner.closing && !inner.dead;
    let Some(ring) = inner.ring.as_mut().filter(|_| live) else {
        refused(item);
        return RES_CLOSED;
    };
    match go(ring, item) {
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

/// Declares a raw op function: `name(args...) -> slot | -code`. Used by the
/// child modules (it names `super::Cell`), which the table below lists.
macro_rules! op_fn {
    ($name:ident($argc:literal) |$cell:ident, $env:ident, $a:ident| $body:expr) => {
        pub(super) unsafe extern "C" fn $name(
            env: ::napi::sys::napi_env,
            info: ::napi::sys::napi_callback_info,
        ) -> ::napi::sys::napi_value {
            let mut argc: usize = $argc;
            let mut $a = [::std::ptr::null_mut(); $argc];
            let mut data = ::std::ptr::null_mut();
            ::napi::sys::napi_get_cb_info(env, info, &mut argc, $a.as_mut_ptr(), ::std::ptr::null_mut(), &mut data);
            // SAFETY: `data` is the counted pointer this function was made with.
            let $cell: &super::Cell = &*(data as *const super::Cell);
            let $env = env;
            let res: i32 = $body;
            let mut out = ::std::ptr::null_mut();
            ::napi::sys::napi_create_int32(env, res, &mut out);
            out
        }
    };
}

// After `op_fn!` (and `kinds`' macros): a macro is in scope only in the
// modules declared below it.
#[macro_use]
mod kinds;
mod chain;
mod control;
mod copy;
mod gen;
mod net;
mod sync;

type RawFn = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// The op functions that are not the op table's `js` entries, or that are
/// but are written by hand (each says why): listed beside the table's own
/// ([`gen::FUNCTIONS`]).
const HAND_WRITTEN: &[(&std::ffi::CStr, RawFn)] = &[
    (c"flush", control::flush),
    (c"hold", control::hold),
    (c"disown", control::disown),
    (c"msgRingFd", sync::msg_ring_fd),
    (c"sockName", net::sock_name),
    (c"readFile", chain::read_file),
    (c"writeFile", chain::write_file),
    (c"copy", copy::copy),
    (c"copyFile", copy::copy_file),
    (c"batch", chain::batch),
    (c"statMany", chain::stat_many),
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
        for (name, cb) in gen::FUNCTIONS.iter().flatten().chain(HAND_WRITTEN) {
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
