//! The ring on Node's event loop: the first op queued after a flush starts
//! an idle handle, so the loop flushes before it can block; the ring's
//! eventfd, watched by a poll handle, wakes the loop for completions, and
//! one wake reaps and delivers in rounds (`turn`). The poll handle keeps the
//! loop alive only while ops are in flight. Teardown (from `close()`, the
//! GC or the env's cleanup hook) closes the handles and the ring.

use std::cell::RefCell;
use std::os::raw::c_void;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

use crate::deliver::{call, deliver};
use crate::state::{Inner, Shared, BATCH};
use crate::uv;

/// Completion rounds per wake: reap, settle, let continuations queue more,
/// submit, reap again. Bounded so other loop work is not starved.
const MAX_ROUNDS: usize = 8;

/// Puts a new ring's state on the loop: a poll handle on `efd`, an idle
/// handle, and the env cleanup hook. Each holds one count of `inner`,
/// released when the handle has closed / the hook is removed. On failure
/// nothing is left open but the ring and the references the caller made,
/// and those are released.
pub(crate) fn attach(env: sys::napi_env, lp: *mut c_void, efd: i32, inner: &Shared) -> Result<()> {
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
            return Err(fail(inner, "uv_poll_init", rc));
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
            return Err(fail(inner, "uv_idle_init", rc));
        }
    };
    {
        let mut i = inner.borrow_mut();
        i.poll = poll;
        i.idle = idle;
    }
    // SAFETY: the hook's argument is a counted pointer to `inner`.
    unsafe { sys::napi_add_env_cleanup_hook(env, Some(on_env_cleanup), count()) };
    Ok(())
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

/// Whether the poll handle keeps the loop alive (ops in flight, or JS
/// waiting for messages).
pub(crate) fn keep_alive(inner: &mut Inner, on: bool) {
    if on != inner.referenced && !inner.dead {
        inner.referenced = on;
        // SAFETY: the poll handle is open while the ring is live.
        unsafe { uv::set_ref(inner.poll, on) };
    }
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
pub(crate) fn teardown(inner: &mut Inner, shared: &Shared) {
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
            uring_machine_core::close(m.value); // passed to us, never received by JS
        }
    }
    // JS held these for the caller and never handed them out.
    inner.held.drain().for_each(uring_machine_core::close);
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
            let msgs = ring.take_addressed_messages(&mut inner.msgs) > 0;
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
        // SQEs a reap queued (a chain's next reads, its slot's close) go
        // out before the loop blocks too.
        if !inner.msgs.is_empty() || inner.ring.as_mut().is_some_and(|r| r.has_completions() || r.unsubmitted() > 0) {
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
