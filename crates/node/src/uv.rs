//! The few libuv calls that put the ring on Node's event loop. Node exports
//! libuv's symbols to addons; they resolve when the addon is loaded.

use std::os::raw::{c_int, c_void};

pub type PollCb = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
pub type IdleCb = unsafe extern "C" fn(handle: *mut c_void);
pub type CloseCb = unsafe extern "C" fn(handle: *mut c_void);

// uv_handle_type values, stable across libuv 1.x.
const UV_POLL: c_int = 8;
const UV_IDLE: c_int = 6;
pub const UV_READABLE: c_int = 1;

extern "C" {
    fn uv_handle_size(ty: c_int) -> usize;
    fn uv_poll_init(lp: *mut c_void, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut c_void, events: c_int, cb: PollCb) -> c_int;
    fn uv_idle_init(lp: *mut c_void, handle: *mut c_void) -> c_int;
    fn uv_idle_start(handle: *mut c_void, cb: IdleCb) -> c_int;
    fn uv_idle_stop(handle: *mut c_void) -> c_int;
    fn uv_ref(handle: *mut c_void);
    fn uv_unref(handle: *mut c_void);
    fn uv_close(handle: *mut c_void, cb: CloseCb);
}

/// Memory for a handle of libuv's own size for this build, 16-byte aligned,
/// with `data` (the first field of every uv handle) set.
fn alloc_handle(ty: c_int, data: *mut c_void) -> *mut c_void {
    // SAFETY: uv_handle_size only reads a table.
    let size = unsafe { uv_handle_size(ty) };
    let words = size.div_ceil(16);
    let mem: Box<[u128]> = vec![0u128; words].into_boxed_slice();
    let handle = Box::into_raw(mem) as *mut u128 as *mut c_void;
    // SAFETY: `data` is the first pointer-sized field of uv_handle_t.
    unsafe { *(handle as *mut *mut c_void) = data };
    handle
}

/// The `data` pointer of a handle.
///
/// # Safety
/// `handle` must come from [`poll_start`] or [`idle_init`].
pub unsafe fn data(handle: *mut c_void) -> *mut c_void {
    *(handle as *mut *mut c_void)
}

/// Frees a handle's memory; only from its close callback.
///
/// # Safety
/// `handle` must be a closed handle from [`poll_start`] or [`idle_init`].
pub unsafe fn free(handle: *mut c_void, ty_is_poll: bool) {
    let size = uv_handle_size(if ty_is_poll { UV_POLL } else { UV_IDLE });
    let words = size.div_ceil(16);
    drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(handle as *mut u128, words)));
}

/// A started poll handle watching `fd` for readability, unreferenced.
pub fn poll_start(lp: *mut c_void, fd: c_int, data: *mut c_void, cb: PollCb) -> Result<*mut c_void, c_int> {
    let h = alloc_handle(UV_POLL, data);
    // SAFETY: `lp` is the env's live loop and `h` a zeroed handle of the right size.
    unsafe {
        let rc = uv_poll_init(lp, h, fd);
        if rc != 0 {
            free(h, true);
            return Err(rc);
        }
        let rc = uv_poll_start(h, UV_READABLE, cb);
        uv_unref(h);
        if rc != 0 {
            return Err(rc);
        }
    }
    Ok(h)
}

/// An idle handle, not started, unreferenced (it never keeps the loop alive).
///
/// While an idle handle is active, libuv polls without blocking; so starting
/// one when the first SQE of a batch is queued guarantees the loop comes
/// round to flush it before it can block, wherever the SQE was queued from
/// (a prepare handle would not: libuv does not visit prepare handles started
/// during the prepare phase until the next iteration, after it has blocked).
pub fn idle_init(lp: *mut c_void, data: *mut c_void) -> Result<*mut c_void, c_int> {
    let h = alloc_handle(UV_IDLE, data);
    // SAFETY: as for poll_start.
    unsafe {
        let rc = uv_idle_init(lp, h);
        if rc != 0 {
            free(h, false);
            return Err(rc);
        }
        uv_unref(h);
    }
    Ok(h)
}

/// # Safety
/// `handle` must be an open idle handle.
pub unsafe fn idle_start(handle: *mut c_void, cb: IdleCb) {
    uv_idle_start(handle, cb);
}

/// # Safety
/// `handle` must be an open idle handle.
pub unsafe fn idle_stop(handle: *mut c_void) {
    uv_idle_stop(handle);
}

/// Whether the handle keeps the loop alive.
///
/// # Safety
/// `handle` must be open.
pub unsafe fn set_ref(handle: *mut c_void, on: bool) {
    if on {
        uv_ref(handle)
    } else {
        uv_unref(handle)
    }
}

/// Closes a handle; `cb` runs on a later loop turn and must free it.
///
/// # Safety
/// `handle` must be open and not closing.
pub unsafe fn close(handle: *mut c_void, cb: CloseCb) {
    uv_close(handle, cb)
}
