//! The `Ring` class JavaScript sees: one core ring on this thread's event
//! loop. Ops check and convert their arguments, queue one SQE and return the
//! op's slot index; JS keeps the promise. Completions come back as
//! (slot, result) pairs written into a shared Int32Array and handed to one
//! JS callback per batch.
//!
//! Loop integration: the first op queued after a flush starts an idle handle,
//! so the loop flushes before it can block; the ring's eventfd, watched by a
//! poll handle, wakes the loop for completions. The poll handle keeps the
//! loop alive only while ops are in flight.
//!
//! Memory: the kernel only ever touches memory owned by the core op (a
//! pooled buffer, a boxed sockaddr...). Writes copy the caller's bytes in at
//! submit; reads copy out into the caller's view at completion. So no JS
//! object, GC cycle, detached ArrayBuffer or terminated worker can free
//! memory the kernel is still writing to.

use std::cell::RefCell;
use std::os::raw::c_void;
use std::ptr;
use std::rc::Rc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use napi_derive::napi;

use uring_machine_core::{BufferPool, Completion, Config, OpOptions, Output, Ring as CoreRing, CURRENT_POSITION};

use crate::{js, uv};

/// A read's destination view was detached or shrunk while it was in flight.
pub const RES_DETACHED: i32 = -(1 << 20);
/// The ring is closed.
pub const RES_CLOSED: i32 = -(1 << 20) - 1;
/// An argument the JS layer should have rejected (never expected).
pub(crate) const RES_BAD_ARG: i32 = -libc::EINVAL;

/// Completion rounds per wake: reap, settle, let continuations queue more,
/// submit, reap again. Bounded so other loop work is not starved.
const MAX_ROUNDS: usize = 8;

pub(crate) struct Inner {
    pub(crate) env: sys::napi_env,
    pub(crate) ring: Option<CoreRing>,
    pub(crate) pool: BufferPool,
    done: Vec<Completion>,
    /// Per slot: where in the destination view a read's bytes go.
    pub(crate) dst_offset: Vec<u32>,
    /// Int32Array of (slot, result) pairs, shared with JS.
    results: sys::napi_ref,
    results_ptr: *mut i32,
    results_pairs: usize,
    /// JS array of destination views, indexed by slot (JS fills and clears it).
    dsts: sys::napi_ref,
    /// JS completion callback. Weak: the JS Machine holds it, and a strong
    /// reference would keep the Machine alive through this object forever.
    callback: sys::napi_ref,
    async_ctx: sys::napi_async_context,
    pub(crate) poll: *mut c_void,
    /// Started while SQEs wait for a flush (see `uv::idle_init`).
    pub(crate) idle: *mut c_void,
    pub(crate) flush_scheduled: bool,
    /// Whether the poll handle keeps the loop alive (ops are in flight).
    pub(crate) referenced: bool,
    pub(crate) closing: bool,
    pub(crate) dead: bool,
}

pub(crate) type Shared = Rc<RefCell<Inner>>;

pub(crate) fn timeout(ms: f64) -> OpOptions {
    OpOptions { timeout: (ms > 0.0 && ms.is_finite()).then(|| Duration::from_secs_f64(ms / 1000.0)) }
}

pub(crate) fn position(p: f64) -> u64 {
    if p < 0.0 {
        CURRENT_POSITION
    } else {
        p as u64
    }
}

/// One io_uring on this thread's event loop (wrapped by `Machine` in JS).
#[napi]
pub struct Ring {
    inner: Shared,
}

#[napi]
impl Ring {
    /// `results`: an Int32Array for (slot, result) pairs; `dsts`: an Array
    /// JS fills with read destinations by slot; `callback(n)`: called with
    /// the number of pairs ready, or -1 once the ring has closed.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        entries: u32,
        sqpoll: i32,
        results: Unknown,
        dsts: Unknown,
        callback: Unknown,
    ) -> Result<Self> {
        let raw = env.raw();
        let config = Config {
            entries: entries.clamp(1, 32768),
            sqpoll: (sqpoll >= 0).then_some(sqpoll as u32),
            eventfd: true,
            ..Default::default()
        };
        let ring = CoreRing::new(&config)
            .map_err(|e| Error::new(Status::GenericFailure, uring_machine_core::unavailable_reason(&e)))?;
        // SAFETY: values are live for this call.
        let (results_ptr, bytes) = unsafe { js::view_bytes(raw, results.value().value) }
            .ok_or_else(|| Error::new(Status::InvalidArg, "results must be an Int32Array"))?;
        let efd = ring.eventfd().expect("eventfd was requested");
        let lp = env.get_uv_event_loop()? as *mut c_void;
        let inner = Rc::new(RefCell::new(Inner {
            env: raw,
            ring: Some(ring),
            pool: BufferPool::default(),
            done: Vec::with_capacity(256),
            dst_offset: Vec::new(),
            // SAFETY: values are live for this call.
            results: unsafe { js::reference(raw, results.value().value, 1) },
            results_ptr: results_ptr as *mut i32,
            results_pairs: bytes / 8,
            dsts: unsafe { js::reference(raw, dsts.value().value, 1) },
            callback: unsafe { js::reference(raw, callback.value().value, 0) },
            async_ctx: ptr::null_mut(),
            poll: ptr::null_mut(),
            idle: ptr::null_mut(),
            flush_scheduled: false,
            referenced: false,
            closing: false,
            dead: false,
        }));
        // SAFETY: napi calls on the live env of this call.
        unsafe {
            let mut resource = ptr::null_mut();
            let mut name = ptr::null_mut();
            sys::napi_create_object(raw, &mut resource);
            sys::napi_create_string_utf8(raw, c"uring-machine".as_ptr(), 13, &mut name);
            sys::napi_async_init(raw, resource, name, &mut inner.borrow_mut().async_ctx);
        }
        // Each handle and the cleanup hook hold one count of `inner`,
        // released when the handle has closed / the hook is removed.
        let data = || Rc::into_raw(inner.clone()) as *mut c_void;
        let poll = uv::poll_start(lp, efd, data(), on_poll)
            .map_err(|rc| Error::new(Status::GenericFailure, format!("uv_poll_init failed ({rc})")))?;
        let idle = uv::idle_init(lp, data())
            .map_err(|rc| Error::new(Status::GenericFailure, format!("uv_idle_init failed ({rc})")))?;
        {
            let mut i = inner.borrow_mut();
            i.poll = poll;
            i.idle = idle;
        }
        // SAFETY: the hook's argument is a counted pointer to `inner`.
        unsafe { sys::napi_add_env_cleanup_hook(raw, Some(on_env_cleanup), data()) };
        Ok(Ring { inner })
    }

    /// The op in flight at `slot` is cancelled; false if there is none.
    #[napi]
    pub fn cancel(&self, slot: u32) -> bool {
        let mut inner = self.inner.borrow_mut();
        let Some(ring) = inner.ring.as_mut() else { return false };
        let queued = match ring.op_id(slot) {
            Some(id) => ring.cancel(id),
            None => false,
        };
        if queued {
            schedule_flush(&mut inner);
        }
        queued
    }

    /// Refuses new ops and cancels those in flight. True if the ring closed
    /// at once; otherwise the callback gets -1 once the last op has settled.
    #[napi]
    pub fn close(&self) -> bool {
        let mut inner = self.inner.borrow_mut();
        if inner.dead {
            return true;
        }
        inner.closing = true;
        let ring = inner.ring.as_mut().expect("live ring");
        ring.close();
        let _ = ring.flush();
        if ring.in_flight() == 0 {
            teardown(&mut inner, &self.inner);
            return true;
        }
        false
    }

    #[napi]
    pub fn metrics(&self) -> Metrics {
        let mut inner = self.inner.borrow_mut();
        match inner.ring.as_mut() {
            Some(r) => Metrics::from(r.metrics()),
            None => Metrics::default(),
        }
    }

    #[napi]
    pub fn features(&self) -> Option<Features> {
        self.inner.borrow().ring.as_ref().map(|r| Features::from(r.features()))
    }

    /// The op functions, as raw Node-API functions (see `ops.rs`): napi-rs's
    /// method glue costs 200-700 ns per call on Node 20, a raw call ~30 ns.
    #[napi]
    pub fn functions<'a>(&self, env: &'a Env) -> Result<Unknown<'a>> {
        crate::ops::functions(env, &self.inner)
    }
}

impl Drop for Ring {
    /// The JS object was collected: no op can be pending (JS keeps a Machine
    /// with pending ops reachable), so close what is left.
    fn drop(&mut self) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            teardown(&mut inner, &self.inner);
        }
    }
}

/// Recovers a counted `Shared` from a handle's data without taking its count.
///
/// # Safety
/// `p` must be a pointer made by `Rc::into_raw` whose count is still held.
unsafe fn shared_from(p: *mut c_void) -> Shared {
    let p = p as *const RefCell<Inner>;
    Rc::increment_strong_count(p);
    Rc::from_raw(p)
}

unsafe extern "C" fn on_poll(handle: *mut c_void, _status: i32, _events: i32) {
    turn(&shared_from(uv::data(handle)));
}

/// Makes sure SQEs queued now are submitted before the loop next blocks.
pub(crate) fn schedule_flush(inner: &mut Inner) {
    if !inner.flush_scheduled && !inner.dead {
        inner.flush_scheduled = true;
        // SAFETY: the idle handle is open while the ring is live.
        unsafe { uv::idle_start(inner.idle, on_idle) };
    }
}

/// Before the loop would block: submit what was queued since the last flush,
/// and deliver completions that are already there.
pub(crate) unsafe extern "C" fn on_idle(handle: *mut c_void) {
    let shared = shared_from(uv::data(handle));
    {
        let Ok(mut inner) = shared.try_borrow_mut() else { return };
        inner.flush_scheduled = false;
        uv::idle_stop(handle);
    }
    turn(&shared);
}

unsafe extern "C" fn on_close_poll(handle: *mut c_void) {
    drop(Rc::from_raw(uv::data(handle) as *const RefCell<Inner>));
    uv::free(handle, true);
}

unsafe extern "C" fn on_close_idle(handle: *mut c_void) {
    drop(Rc::from_raw(uv::data(handle) as *const RefCell<Inner>));
    uv::free(handle, false);
}

/// The env is going away (worker terminated, process exiting) with this
/// ring still open: cancel what is in flight, wait for the kernel to let go
/// of its memory, close the handles.
unsafe extern "C" fn on_env_cleanup(arg: *mut c_void) {
    // Takes over the count the hook held.
    let shared = Rc::from_raw(arg as *const RefCell<Inner>);
    if let Ok(mut inner) = shared.try_borrow_mut() {
        if let Some((cb, ctx)) = teardown_inner(&mut inner, None) {
            release_callback(inner.env, cb, ctx);
        }
    };
}

/// Closes the ring and its handles (from `close()`, `turn` or the GC), and
/// removes the env cleanup hook, releasing its count of `shared`.
fn teardown(inner: &mut Inner, shared: &Shared) {
    let hook = Rc::as_ptr(shared) as *mut c_void;
    if let Some((cb, ctx)) = teardown_inner(inner, Some(hook)) {
        // SAFETY: on the env's thread; the references are ours.
        unsafe { release_callback(inner.env, cb, ctx) };
    }
}

/// The shared part of teardown. Returns the callback reference and async
/// context, still alive, for a caller that wants to notify JS first; `None`
/// if it was torn down already.
fn teardown_inner(inner: &mut Inner, hook: Option<*mut c_void>) -> Option<(sys::napi_ref, sys::napi_async_context)> {
    if inner.dead {
        return None;
    }
    inner.dead = true;
    inner.closing = true;
    // Dropping the core ring cancels and waits for anything still in flight.
    inner.ring = None;
    inner.done.clear();
    inner.results_ptr = ptr::null_mut();
    let env = inner.env;
    // SAFETY: the handles are open (dead was false) and closed once; napi
    // calls happen on the env's thread while it is alive.
    unsafe {
        uv::close(inner.poll, on_close_poll);
        uv::close(inner.idle, on_close_idle);
        if let Some(arg) = hook {
            sys::napi_remove_env_cleanup_hook(env, Some(on_env_cleanup), arg);
            // The hook held one count of the Rc behind `arg`; the caller
            // holds another, so this never frees `inner`.
            Rc::decrement_strong_count(arg as *const RefCell<Inner>);
        }
        sys::napi_delete_reference(env, inner.results);
        sys::napi_delete_reference(env, inner.dsts);
    }
    Some((inner.callback, inner.async_ctx))
}

/// # Safety
/// On the env's thread, once per ring.
unsafe fn release_callback(env: sys::napi_env, cb: sys::napi_ref, ctx: sys::napi_async_context) {
    sys::napi_delete_reference(env, cb);
    sys::napi_async_destroy(env, ctx);
}

/// Reap, settle, repeat: one wake of the loop.
fn turn(shared: &Shared) {
    let env = match shared.try_borrow() {
        Ok(i) if !i.dead => i.env,
        _ => return,
    };
    let mut scope = ptr::null_mut();
    // SAFETY: uv callbacks run on the env's thread outside any JS scope.
    unsafe { sys::napi_open_handle_scope(env, &mut scope) };
    for _ in 0..MAX_ROUNDS {
        let any = {
            let mut guard = shared.borrow_mut();
            let inner = &mut *guard;
            let Some(ring) = inner.ring.as_mut() else { break };
            ring.reset_eventfd();
            let _ = ring.flush();
            // At most one delivery's worth: a reaped op's slot is free for
            // reuse, so everything reaped must reach JS before JS can submit.
            ring.reap_max(&mut inner.done, inner.results_pairs) > 0
        };
        if !any {
            break;
        }
        deliver(shared, env);
    }
    let mut closed = None;
    {
        let mut inner = shared.borrow_mut();
        // Completions left after the last round: the eventfd was reset
        // before them, so come back before the loop blocks.
        if inner.ring.as_mut().is_some_and(|r| r.has_completions()) {
            schedule_flush(&mut inner);
        }
        if let Some(ring) = inner.ring.as_ref() {
            let idle = ring.in_flight() == 0;
            if inner.closing && idle {
                let hook = Rc::as_ptr(shared) as *mut c_void;
                closed = teardown_inner(&mut inner, Some(hook));
            } else if idle && inner.referenced {
                inner.referenced = false;
                // SAFETY: the poll handle is open while the ring is live.
                unsafe { uv::set_ref(inner.poll, false) };
            }
        }
    }
    // SAFETY: a handle scope is open; no borrow is held while JS runs.
    unsafe {
        if let Some((cb, ctx)) = closed {
            // Everything is released: now JS may learn the ring has closed.
            call(env, cb, ctx, -1);
            release_callback(env, cb, ctx);
        }
        sys::napi_close_handle_scope(env, scope);
    }
}

/// Writes the reaped completions into the shared pairs array (copying read
/// data into the destination views) and calls JS once.
fn deliver(shared: &Shared, env: sys::napi_env) {
    {
        let (n, cb, ctx) = {
            let mut guard = shared.borrow_mut();
            let inner = &mut *guard;
            if inner.done.is_empty() || inner.results_ptr.is_null() {
                return;
            }
            let k = inner.done.len();
            debug_assert!(k <= inner.results_pairs, "reap_max bounds a delivery");
            // SAFETY: references are live while the ring is; the pairs array
            // holds `results_pairs` pairs; no JS runs until make_callback.
            unsafe {
                let dsts = js::deref(env, inner.dsts);
                let pairs = std::slice::from_raw_parts_mut(inner.results_ptr, k * 2);
                for (i, c) in inner.done.drain(..k).enumerate() {
                    let slot = c.id.index();
                    let off = inner.dst_offset.get(slot as usize).copied().unwrap_or(0);
                    let res = copy_out(env, dsts, slot, off, &c);
                    pairs[2 * i] = slot as i32;
                    pairs[2 * i + 1] = res;
                    let pool = &mut inner.pool;
                    c.op.recycle(|b| pool.give(b));
                }
            }
            (k, inner.callback, inner.async_ctx)
        };
        // SAFETY: a handle scope is open; no borrow is held while JS runs.
        unsafe { call(env, cb, ctx, n as i32) };
    }
}

/// Copies an op's output into its destination; returns the result to report.
///
/// # Safety
/// A handle scope is open and `dsts` is the live destination array.
unsafe fn copy_out(env: sys::napi_env, dsts: sys::napi_value, slot: u32, off: u32, c: &Completion) -> i32 {
    match c.op.output(c.result) {
        Output::None => c.result,
        Output::Bytes(bytes) => {
            let dst = js::element(env, dsts, slot);
            match js::view_range(env, dst, off, bytes.len() as u32) {
                Some(d) => {
                    d.copy_from_slice(bytes);
                    c.result
                }
                None => RES_DETACHED,
            }
        }
        Output::Segments { bufs, total } => {
            let arr = js::element(env, dsts, slot);
            let mut left = total;
            for (i, b) in bufs.iter().enumerate() {
                if left == 0 {
                    break;
                }
                let take = left.min(b.len());
                match js::view_range(env, js::element(env, arr, i as u32), 0, take as u32) {
                    Some(d) => d.copy_from_slice(&b[..take]),
                    None => return RES_DETACHED,
                }
                left -= take;
            }
            c.result
        }
        Output::Stat(st) => {
            let dst = js::element(env, dsts, slot);
            let mut ty = 0;
            let mut len = 0usize;
            let mut data: *mut c_void = ptr::null_mut();
            let ok =
                sys::napi_get_typedarray_info(env, dst, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
                    == sys::Status::napi_ok;
            if !ok || data.is_null() || len < 18 {
                return RES_DETACHED;
            }
            if ty == sys::TypedarrayType::bigint64_array {
                std::slice::from_raw_parts_mut(data as *mut i64, 18).copy_from_slice(&st.fields_i64());
            } else if ty == sys::TypedarrayType::float64_array {
                std::slice::from_raw_parts_mut(data as *mut f64, 18).copy_from_slice(&st.fields());
            } else {
                return RES_DETACHED;
            }
            c.result
        }
    }
}

/// Calls the JS callback in a callback scope, so that promise continuations
/// (microtasks) run right after it, and reports a throw like Node does.
///
/// # Safety
/// On the env's thread with a handle scope open.
unsafe fn call(env: sys::napi_env, cb: sys::napi_ref, ctx: sys::napi_async_context, n: i32) {
    let func = js::deref(env, cb);
    if func.is_null() {
        return;
    }
    let mut arg = ptr::null_mut();
    sys::napi_create_int32(env, n, &mut arg);
    // The receiver must be an object (undefined makes Node throw).
    let mut recv = ptr::null_mut();
    sys::napi_get_global(env, &mut recv);
    let mut result = ptr::null_mut();
    let status = sys::napi_make_callback(env, ctx, recv, func, 1, &arg, &mut result);
    if status == sys::Status::napi_pending_exception {
        let mut err = ptr::null_mut();
        sys::napi_get_and_clear_last_exception(env, &mut err);
        sys::napi_fatal_exception(env, err);
    }
}

/// Counters, as `machine.metrics()` reports them.
#[napi(object)]
#[derive(Default)]
pub struct Metrics {
    pub sq_entries: f64,
    pub cq_entries: f64,
    pub ops_submitted: f64,
    pub ops_completed: f64,
    pub pending: f64,
    pub unsubmitted: f64,
    pub enters: f64,
    pub completion_batches: f64,
    pub cq_overflows: f64,
    pub sq_full_flushes: f64,
    pub cancels: f64,
    pub timeouts: f64,
    pub fallbacks: f64,
}

impl From<uring_machine_core::Metrics> for Metrics {
    fn from(m: uring_machine_core::Metrics) -> Self {
        Metrics {
            sq_entries: m.sq_entries as f64,
            cq_entries: m.cq_entries as f64,
            ops_submitted: m.ops_submitted as f64,
            ops_completed: m.ops_completed as f64,
            pending: m.pending as f64,
            unsubmitted: m.unsubmitted as f64,
            enters: m.enters as f64,
            completion_batches: m.completion_batches as f64,
            cq_overflows: m.cq_overflows as f64,
            sq_full_flushes: m.sq_full_flushes as f64,
            cancels: m.cancels as f64,
            timeouts: m.timeouts as f64,
            fallbacks: m.fallbacks as f64,
        }
    }
}

/// What the kernel supports, as `Machine.probe()` reports it.
#[napi(object)]
pub struct Features {
    pub kernel: String,
    pub ops: std::collections::HashMap<String, bool>,
    pub setup_flags: Vec<String>,
    pub features: Vec<String>,
}

impl From<uring_machine_core::Features> for Features {
    fn from(f: uring_machine_core::Features) -> Self {
        Features {
            kernel: f.kernel,
            ops: f.ops.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            setup_flags: f.setup_flags.into_iter().map(String::from).collect(),
            features: f.features.into_iter().map(String::from).collect(),
        }
    }
}
