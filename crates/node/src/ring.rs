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

use uring_machine_core::{BufferPool, Completion, Config, FixedBuffers, Mapping, Message, OpOptions, Output, Ring as CoreRing, CURRENT_POSITION};

#[allow(unused_imports)]
use napi::bindgen_prelude::FromNapiValue;

use crate::{js, uv};

/// A read's destination view was detached or shrunk while it was in flight.
pub const RES_DETACHED: i32 = -(1 << 20);
/// The ring is closed.
pub const RES_CLOSED: i32 = -(1 << 20) - 1;
/// An argument the JS layer should have rejected (never expected).
pub(crate) const RES_BAD_ARG: i32 = -libc::EINVAL;
/// Set on a pair's slot when more completions of the op follow (multishot).
pub const SLOT_MORE: i32 = 1 << 30;
/// A pair's slot for a message another Machine posted (the result is its value).
pub const SLOT_MESSAGE: i32 = -2;
/// A pair's slot for an fd another Machine passed (the result is the fd).
pub const SLOT_MESSAGE_FD: i32 = -3;

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
    /// (slot, result) pairs for JS, in memory this side owns (JS views it
    /// through an external ArrayBuffer that holds a count of it).
    results: Rc<Results>,
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
    /// Registered buffers by registration id.
    pub(crate) fixed: Vec<Option<FixedBuffers>>,
    /// The core ring's id: who messages are for. Value posts carrying
    /// another id (sent before a ring fd number was reused) are dropped.
    pub(crate) id: u32,
    /// Fds delivered to JS that JS holds for the caller and has not handed
    /// out yet (connections a multishot accept queued, passed fds not yet
    /// received): JS hands them out or closes them with `disown`, and
    /// teardown closes the rest, whoever goes away first (destroy, GC,
    /// the env: a terminated worker runs no JS to close them).
    pub(crate) held: std::collections::HashSet<i32>,
    /// JS waiters (message receivers) that keep the loop alive with no op in flight.
    pub(crate) holds: u32,
    /// Messages reaped and not yet handed to JS.
    msgs: Vec<Message>,
}

pub(crate) type Shared = Rc<RefCell<Inner>>;

/// Pairs one delivery carries at most.
const BATCH: usize = 4096;

/// The pairs buffer: written here, read by JS between deliveries.
pub(crate) struct Results(std::cell::UnsafeCell<Box<[i32]>>);

impl Results {
    fn new() -> Rc<Results> {
        Rc::new(Results(std::cell::UnsafeCell::new(vec![0i32; 2 * BATCH].into_boxed_slice())))
    }

    fn ptr(&self) -> *mut i32 {
        // SAFETY: only a raw pointer is made; writers run on the JS thread
        // while no JS code runs (so nothing reads concurrently).
        unsafe { (*self.0.get()).as_mut_ptr() }
    }
}

unsafe extern "C" fn release_results(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    drop(Rc::from_raw(hint as *const Results));
}

/// A per-op timeout from JS milliseconds; none for <= 0, NaN, or a value too
/// large for a Duration (JS allows at most 2^31 - 1 ms; the raw functions
/// must not panic on anything).
pub(crate) fn timeout(ms: f64) -> OpOptions {
    OpOptions::with_timeout(if ms > 0.0 { Duration::try_from_secs_f64(ms / 1000.0).ok() } else { None })
}

pub(crate) fn position(p: f64) -> u64 {
    if p < 0.0 {
        CURRENT_POSITION
    } else {
        p as u64
    }
}

unsafe extern "C" fn release_mapping(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    drop(Box::from_raw(hint as *mut std::sync::Arc<Mapping>));
}

/// What `registerBuffers` returns: the registration's id and its memory.
#[napi(object)]
pub struct Registration<'a> {
    pub id: u32,
    pub memory: Unknown<'a>,
}

/// One io_uring on this thread's event loop (wrapped by `Machine` in JS).
#[napi]
pub struct Ring {
    inner: Shared,
}

#[napi]
impl Ring {
    /// `dsts`: an Array JS fills with read destinations by slot;
    /// `callback(n)`: called with the number of (slot, result) pairs ready in
    /// `results()`, or -1 once the ring has closed.
    #[napi(constructor)]
    pub fn new(env: Env, entries: u32, sqpoll: i32, profile: bool, dsts: Unknown, callback: Unknown) -> Result<Self> {
        let raw = env.raw();
        let mut config = Config::default();
        config.entries = entries.clamp(1, 32768);
        config.sqpoll = (sqpoll >= 0).then_some(sqpoll as u32);
        config.eventfd = true;
        config.profile = profile;
        let ring = CoreRing::new(&config)
            .map_err(|e| Error::new(Status::GenericFailure, uring_machine_core::unavailable_reason(&e)))?;
        let efd = ring.eventfd().expect("eventfd was requested");
        let id = ring.id();
        let lp = env.get_uv_event_loop()? as *mut c_void;
        let inner = Rc::new(RefCell::new(Inner {
            env: raw,
            ring: Some(ring),
            pool: BufferPool::default(),
            done: Vec::with_capacity(256),
            dst_offset: Vec::new(),
            results: Results::new(),
            // SAFETY: values are live for this call.
            dsts: unsafe { js::reference(raw, dsts.value().value, 1) },
            callback: unsafe { js::reference(raw, callback.value().value, 0) },
            async_ctx: ptr::null_mut(),
            poll: ptr::null_mut(),
            idle: ptr::null_mut(),
            flush_scheduled: false,
            referenced: false,
            closing: false,
            dead: false,
            fixed: Vec::new(),
            id,
            held: Default::default(),
            holds: 0,
            msgs: Vec::new(),
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
        let count = || Rc::into_raw(inner.clone()) as *mut c_void;
        let uncount = |p: *mut c_void| {
            // SAFETY: `p` came from `count` and its handle never opened.
            unsafe { drop(Rc::from_raw(p as *const RefCell<Inner>)) }
        };
        let fail = |inner: &Shared, what: &str, rc: i32| {
            // Nothing is open yet but the ring and the references: release them.
            let mut i = inner.borrow_mut();
            i.dead = true;
            i.ring = None;
            // SAFETY: references made above on this env.
            unsafe { release_refs(&i) };
            Error::new(Status::GenericFailure, format!("{what} failed ({rc})"))
        };
        let data = count();
        let poll = match uv::poll_start(lp, efd, data, on_poll) {
            Ok(h) => h,
            Err(rc) => {
                uncount(data);
                return Err(fail(&inner, "uv_poll_init", rc));
            }
        };
        let data = count();
        let idle = match uv::idle_init(lp, data) {
            Ok(h) => h,
            Err(rc) => {
                uncount(data);
                // SAFETY: the poll handle is open; its close callback frees it
                // and releases its count.
                unsafe { uv::close(poll, on_close_poll) };
                return Err(fail(&inner, "uv_idle_init", rc));
            }
        };
        {
            let mut i = inner.borrow_mut();
            i.poll = poll;
            i.idle = idle;
        }
        // SAFETY: the hook's argument is a counted pointer to `inner`.
        unsafe { sys::napi_add_env_cleanup_hook(raw, Some(on_env_cleanup), count()) };
        Ok(Ring { inner })
    }

    /// The Int32Array of (slot, result) pairs the callback's `n` counts.
    #[napi]
    pub fn results<'a>(&self, env: &'a Env) -> Result<Unknown<'a>> {
        let results = self.inner.try_borrow().map_err(|_| busy())?.results.clone();
        let raw = env.raw();
        // SAFETY: the external ArrayBuffer views memory owned by `results`;
        // its finalizer releases the count taken here, so the memory lives
        // as long as either side needs it.
        unsafe {
            let mut ab = ptr::null_mut();
            let hint = Rc::into_raw(results.clone()) as *mut c_void;
            let status = sys::napi_create_external_arraybuffer(
                raw,
                results.ptr() as *mut c_void,
                2 * BATCH * 4,
                Some(release_results),
                hint,
                &mut ab,
            );
            if status != sys::Status::napi_ok {
                drop(Rc::from_raw(hint as *const Results));
                return Err(Error::new(Status::GenericFailure, "external ArrayBuffers are not available here"));
            }
            let mut view = ptr::null_mut();
            sys::napi_create_typedarray(raw, sys::TypedarrayType::int32_array, 2 * BATCH, ab, 0, &mut view);
            Unknown::from_napi_value(raw, view)
        }
    }

    /// The op in flight at `slot` is cancelled; false if there is none.
    #[napi]
    pub fn cancel(&self, slot: u32) -> bool {
        let Ok(mut inner) = self.inner.try_borrow_mut() else { return false };
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
    pub fn close(&self) -> Result<bool> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        if inner.dead {
            return Ok(true);
        }
        let first = !inner.closing;
        inner.closing = true;
        let ring = inner.ring.as_mut().expect("live ring");
        ring.close();
        let _ = ring.flush();
        if ring.in_flight() == 0 {
            teardown(&mut inner, &self.inner);
            return Ok(true);
        }
        // The cancels must reach the kernel before the loop blocks, also if
        // the flush above could not submit them all.
        schedule_flush(&mut inner);
        if first {
            // JS hears that the ring has closed only through the callback,
            // which is held weakly: once its ops have settled, a Machine
            // nobody references could be collected before the ring's last
            // CQE, and its destroy() would never settle. Hold it until
            // teardown releases it.
            // SAFETY: the reference is live until teardown deletes it.
            unsafe { sys::napi_reference_ref(inner.env, inner.callback, ptr::null_mut()) };
        }
        Ok(false)
    }

    /// Whether this SQPOLL ring has seen its thread's credentials change
    /// (it then refuses every op; see the core's `Ring::credentials_changed`).
    #[napi]
    pub fn credentials_changed(&self) -> bool {
        self.inner.try_borrow().is_ok_and(|i| i.ring.as_ref().is_some_and(|r| r.credentials_changed()))
    }

    #[napi]
    pub fn metrics(&self) -> Result<Metrics> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        Ok(match inner.ring.as_mut() {
            Some(r) => Metrics::from(r.metrics()),
            None => Metrics::default(),
        })
    }

    #[napi]
    pub fn features(&self) -> Result<Option<Features>> {
        Ok(self.inner.try_borrow().map_err(|_| busy())?.ring.as_ref().map(|r| Features::from(r.features())))
    }

    /// [ring fd, id]: where another Machine posts messages to this one.
    #[napi]
    pub fn address(&self) -> Result<Vec<u32>> {
        let inner = self.inner.try_borrow().map_err(|_| busy())?;
        let fd = inner.ring.as_ref().map(|r| r.fd()).unwrap_or(-1);
        Ok(vec![fd as u32, inner.id])
    }

    /// Waiters for messages: while > 0 the loop stays alive without ops.
    #[napi]
    pub fn hold(&self, delta: i32) -> Result<()> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        inner.holds = inner.holds.saturating_add_signed(delta);
        let busy = inner.holds > 0 || inner.ring.as_ref().is_some_and(|r| r.in_flight() > 0);
        if busy != inner.referenced && !inner.dead {
            inner.referenced = busy;
            // SAFETY: the poll handle is open while the ring is live.
            unsafe { uv::set_ref(inner.poll, busy) };
        }
        Ok(())
    }

    /// A provided-buffer group of `count` buffers of `size` bytes: its id, or -errno.
    #[napi]
    pub fn buf_group(&self, count: u32, size: u32) -> i32 {
        let Ok(mut inner) = self.inner.try_borrow_mut() else { return -libc::EBUSY };
        let Some(ring) = inner.ring.as_mut() else { return RES_CLOSED };
        if count > 32768 {
            return -libc::EINVAL;
        }
        match ring.register_buf_group(count as u16, size) {
            Ok(id) => id as i32,
            Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
        }
    }

    /// The group goes once its ops have ended and its buffers are back.
    #[napi]
    pub fn release_group(&self, id: u32) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            if let Some(ring) = inner.ring.as_mut() {
                ring.release_buf_group(id as u16);
            }
        }
    }

    /// Registers `count` buffers of `size` bytes; JS sees their memory as
    /// one external ArrayBuffer that holds a count of the mapping, so the
    /// memory outlives both the registration and every view of it.
    #[napi]
    pub fn register_buffers<'a>(&self, env: &'a Env, count: u32, size: u32) -> Result<Registration<'a>> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let ring = inner.ring.as_mut().ok_or_else(|| Error::new(Status::GenericFailure, format!("{}:register_buffers", libc::EBADF)))?;
        let bufs = ring
            .register_buffers(count, size)
            .map_err(|e| Error::new(Status::GenericFailure, format!("{}:register_buffers", e.raw_os_error().unwrap_or(libc::EIO))))?;
        let map = bufs.mapping().clone();
        let id = match inner.fixed.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                inner.fixed.push(None);
                inner.fixed.len() - 1
            }
        };
        inner.fixed[id] = Some(bufs);
        drop(inner);
        let raw = env.raw();
        // SAFETY: the ArrayBuffer views memory the boxed Arc keeps mapped
        // until its finalizer runs.
        unsafe {
            let len = count as usize * size as usize;
            let hint = Box::into_raw(Box::new(map.clone())) as *mut c_void;
            let mut ab = ptr::null_mut();
            let status = sys::napi_create_external_arraybuffer(raw, map.as_ptr() as *mut c_void, len, Some(release_mapping), hint, &mut ab);
            if status != sys::Status::napi_ok {
                drop(Box::from_raw(hint as *mut std::sync::Arc<Mapping>));
                let _ = self.unregister_buffers(id as u32);
                return Err(Error::new(Status::GenericFailure, "external ArrayBuffers are not available here"));
            }
            Ok(Registration { id: id as u32, memory: Unknown::from_napi_value(raw, ab)? })
        }
    }

    /// Ends registration `id`; false if there is none.
    #[napi]
    pub fn unregister_buffers(&self, id: u32) -> bool {
        let Ok(mut inner) = self.inner.try_borrow_mut() else { return false };
        let Some(bufs) = inner.fixed.get_mut(id as usize).and_then(Option::take) else { return false };
        if let Some(ring) = inner.ring.as_mut() {
            let _ = ring.unregister_buffers(&bufs);
        }
        true
    }

    /// The op functions, as raw Node-API functions (see `ops.rs`): napi-rs's
    /// method glue costs 200-700 ns per call on Node 20, a raw call ~30 ns.
    #[napi]
    pub fn functions<'a>(&self, env: &'a Env) -> Result<Unknown<'a>> {
        crate::ops::functions(env, &self.inner)
    }
}

/// The state is in use further up the stack (a re-entrant call from JS
/// code the ring itself is running): refuse rather than alias it.
fn busy() -> Error {
    Error::new(Status::GenericFailure, "uring-machine: ring is busy (re-entrant call)")
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
    let env = inner.env;
    // SAFETY: the handles are open (dead was false) and closed once; napi
    // calls happen on the env's thread while it is alive.
    unsafe {
        // Stop watching the eventfd before the ring (which owns it) closes it.
        uv::close(inner.poll, on_close_poll);
        uv::close(inner.idle, on_close_idle);
        if let Some(arg) = hook {
            sys::napi_remove_env_cleanup_hook(env, Some(on_env_cleanup), arg);
            // The hook held one count of the Rc behind `arg`; the caller
            // holds another, so this never frees `inner`.
            Rc::decrement_strong_count(arg as *const RefCell<Inner>);
        }
        sys::napi_delete_reference(env, inner.dsts);
    }
    // Dropping the core ring cancels and waits for anything still in flight.
    inner.ring = None;
    inner.done.clear();
    for m in inner.msgs.drain(..) {
        if m.fd {
            // SAFETY: an fd passed to us that JS never received.
            unsafe { libc::close(m.value) };
        }
    }
    for fd in inner.held.drain() {
        // SAFETY: JS held it for the caller and never handed it out.
        unsafe { libc::close(fd) };
    }
    inner.fixed.clear();
    Some((inner.callback, inner.async_ctx))
}

/// Releases the references made by the constructor (failure path).
///
/// # Safety
/// On the env's thread, once per ring.
unsafe fn release_refs(inner: &Inner) {
    sys::napi_delete_reference(inner.env, inner.dsts);
    release_callback(inner.env, inner.callback, inner.async_ctx);
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
            let Ok(mut guard) = shared.try_borrow_mut() else { break };
            let inner = &mut *guard;
            let Some(ring) = inner.ring.as_mut() else { break };
            ring.reset_eventfd();
            let _ = ring.flush();
            // At most one delivery's worth: a reaped op's slot is free for
            // reuse, so everything reaped must reach JS before JS can submit.
            let ops = ring.reap_max(&mut inner.done, BATCH) > 0;
            let msgs = ring.take_messages(&mut inner.msgs) > 0;
            ops || msgs || !inner.msgs.is_empty()
        };
        if !any {
            break;
        }
        deliver(shared, env);
    }
    let mut closed = None;
    if let Ok(mut inner) = shared.try_borrow_mut() {
        // Completions left after the last round, or messages reaped but
        // not yet delivered (each delivery takes what room the ops leave):
        // the eventfd was reset before them and nothing will signal it for
        // them again, so come back before the loop blocks.
        if !inner.msgs.is_empty() || inner.ring.as_mut().is_some_and(|r| r.has_completions()) {
            schedule_flush(&mut inner);
        }
        if let Some(ring) = inner.ring.as_ref() {
            let idle = ring.in_flight() == 0;
            if inner.closing && idle {
                let hook = Rc::as_ptr(shared) as *mut c_void;
                closed = teardown_inner(&mut inner, Some(hook));
            } else if idle && inner.referenced && inner.holds == 0 {
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

/// Writes the reaped completions into the pairs buffer (copying read data
/// into the destination views) and calls JS once. No borrow of the state is
/// held while Node-API runs code that could reach JS: nothing JS could do
/// from there can alias it.
fn deliver(shared: &Shared, env: sys::napi_env) {
    let (mut done, results, dsts_ref, cb, ctx) = {
        let Ok(mut inner) = shared.try_borrow_mut() else { return };
        if (inner.done.is_empty() && inner.msgs.is_empty()) || inner.dead {
            return;
        }
        (std::mem::take(&mut inner.done), inner.results.clone(), inner.dsts, inner.callback, inner.async_ctx)
    };
    let k = done.len().min(BATCH);
    let mut n = k;
    // SAFETY: a handle scope is open (we are inside `turn`); `results` owns
    // 2 * BATCH i32s; the references are live until teardown, which cannot
    // run while this function holds `shared`.
    unsafe {
        let pairs = std::slice::from_raw_parts_mut(results.ptr(), 2 * BATCH);
        let dsts = js::deref(env, dsts_ref);
        // Stream slots given chunks in this delivery: their staging cursor
        // (kept in dst_offset) goes back to 0 after it, as JS's does.
        let mut staged: Vec<u32> = Vec::new();
        // Connections a multishot accept made: the stream holds them for
        // the caller (a one-shot op's fd is the caller's at once).
        let mut held: Vec<i32> = Vec::new();
        for (i, c) in done.iter().take(k).enumerate() {
            if c.new_fd && (c.more() || c.op.as_ref().is_some_and(|op| op.is_multishot())) {
                held.push(c.result);
            }
            let slot = c.id.index();
            pairs[2 * i] = slot as i32 | if c.more() { SLOT_MORE } else { 0 };
            pairs[2 * i + 1] = match c.buffer {
                Some(b) => stage_chunk(shared, env, dsts, slot, b, c.result, &mut staged),
                None => {
                    let off = shared.try_borrow().ok().and_then(|s| s.dst_offset.get(slot as usize).copied()).unwrap_or(0);
                    copy_out(env, dsts, slot, off, c)
                }
            };
        }
        // Messages from other Machines fill what room is left.
        if let Ok(mut inner) = shared.try_borrow_mut() {
            for slot in staged {
                if let Some(c) = inner.dst_offset.get_mut(slot as usize) {
                    *c = 0;
                }
            }
            inner.held.extend(held);
            let id = inner.id as u64;
            let take = inner.msgs.len().min(BATCH - n);
            for m in inner.msgs.drain(..take).collect::<Vec<_>>() {
                if m.fd {
                    // The core gave it to us only if it was in transit to
                    // this ring: ours, held until JS hands it out.
                    inner.held.insert(m.value);
                } else if m.data != id {
                    continue; // for a Machine that had this ring fd number before
                }
                pairs[2 * n] = if m.fd { SLOT_MESSAGE_FD } else { SLOT_MESSAGE };
                pairs[2 * n + 1] = m.value;
                n += 1;
            }
        }
    }
    if let Ok(mut inner) = shared.try_borrow_mut() {
        let pool = &mut inner.pool;
        for c in done.drain(..) {
            if let Some(op) = c.op {
                op.recycle(|b| pool.give(b));
            }
        }
        if inner.done.is_empty() {
            inner.done = done; // keep the allocation
        }
    }
    if n == 0 {
        return;
    }
    // SAFETY: a handle scope is open; no borrow is held while JS runs.
    unsafe { call(env, cb, ctx, n as i32) };
}

/// A multishot completion's data: copied out of its provided buffer into
/// the stream's staging view (`dsts[slot]`) after the chunks before it in
/// this delivery, and the provided buffer recycled at once. JS copies each
/// chunk out of the staging view while handling this delivery. Returns the
/// result to report.
///
/// # Safety
/// A handle scope is open and `dsts` is the live destination array.
unsafe fn stage_chunk(
    shared: &Shared,
    env: sys::napi_env,
    dsts: sys::napi_value,
    slot: u32,
    b: uring_machine_core::BufRef,
    result: i32,
    staged: &mut Vec<u32>,
) -> i32 {
    let at = shared.try_borrow().ok().and_then(|s| s.dst_offset.get(slot as usize).copied()).unwrap_or(0);
    let staging = if result > 0 { js::view_range(env, js::element(env, dsts, slot), at, result as u32) } else { None };
    let Ok(mut inner) = shared.try_borrow_mut() else { return -libc::EBUSY };
    let inner = &mut *inner;
    let Some(ring) = inner.ring.as_mut() else { return RES_CLOSED };
    let res = match staging {
        Some(dst) => {
            dst.copy_from_slice(ring.buffer(b, result as usize));
            let i = slot as usize;
            if inner.dst_offset.len() <= i {
                inner.dst_offset.resize(i + 1, 0);
            }
            if at == 0 {
                staged.push(slot);
            }
            inner.dst_offset[i] = at + result as u32;
            result
        }
        None if result > 0 => RES_DETACHED,
        None => result,
    };
    ring.recycle(b);
    res
}

/// Copies an op's output into its destination; returns the result to report.
///
/// # Safety
/// A handle scope is open and `dsts` is the live destination array.
unsafe fn copy_out(env: sys::napi_env, dsts: sys::napi_value, slot: u32, off: u32, c: &Completion) -> i32 {
    match c.output() {
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
        Output::Child(st) => {
            // [pid, code, status] into the Float64Array JS put at dsts[slot].
            let dst = js::element(env, dsts, slot);
            let mut ty = 0;
            let mut len = 0usize;
            let mut data: *mut c_void = ptr::null_mut();
            let ok = sys::napi_get_typedarray_info(env, dst, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
                == sys::Status::napi_ok;
            if !ok || data.is_null() || len < 3 || ty != sys::TypedarrayType::float64_array {
                return RES_DETACHED;
            }
            std::slice::from_raw_parts_mut(data as *mut f64, 3).copy_from_slice(&[st.pid as f64, st.code as f64, st.status as f64]);
            c.result
        }
        Output::Addresses(addrs) => {
            let arr = js::element(env, dsts, slot);
            if js::array_len(env, arr).is_none() {
                return RES_DETACHED;
            }
            for (i, a) in addrs.iter().enumerate() {
                let text = a.to_string();
                let mut v = ptr::null_mut();
                sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut v);
                sys::napi_set_element(env, arr, i as u32, v);
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
        // Outputs of ops this bridge does not submit (Output is non_exhaustive).
        _ => c.result,
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
    pub multishot_completions: f64,
    pub messages: f64,
    pub enter_ns: f64,
    pub op_latency_ns: f64,
    pub op_latency_max_ns: f64,
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
            multishot_completions: m.multishot_completions as f64,
            messages: m.messages as f64,
            enter_ns: m.enter_ns as f64,
            op_latency_ns: m.op_latency_ns as f64,
            op_latency_max_ns: m.op_latency_max_ns as f64,
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
