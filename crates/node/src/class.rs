//! The `Ring` class JavaScript sees: one core ring on this thread's event
//! loop (see `event_loop`). Ops are raw functions (see `ops`, handed out by
//! `functions()`): they check and convert their arguments, queue one SQE
//! and return the op's slot index; JS keeps the promise. Completions come
//! back through `deliver`.
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

use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use napi_derive::napi;

use uring_machine_core::{BufferPool, Config, Mapping, Ring as CoreRing};

#[allow(unused_imports)]
use napi::bindgen_prelude::FromNapiValue;

use crate::convert::{Features, Metrics};
use crate::event_loop::{attach, keep_alive, schedule_flush, teardown};
use crate::js;
use crate::state::{Inner, Results, Shared, BATCH, RES_CLOSED};

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
    pub fn new(
        env: Env,
        entries: u32,
        sqpoll: i32,
        profile: bool,
        offload: bool,
        dsts: Unknown,
        callback: Unknown,
    ) -> Result<Self> {
        let raw = env.raw();
        let mut config = Config::default();
        config.entries = entries.clamp(1, 32768);
        config.sqpoll = (sqpoll >= 0).then_some(sqpoll as u32);
        config.eventfd = true;
        config.profile = profile;
        config.offload = offload;
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
        attach(raw, lp, efd, &inner)?;
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
                Some(crate::state::release_results),
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
            Some(r) => Metrics {
                file_slots_in_use: (r.file_slots() - r.free_file_slots()) as f64,
                ..Metrics::from(r.metrics())
            },
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
        keep_alive(&mut inner, busy);
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
        let ring = inner
            .ring
            .as_mut()
            .ok_or_else(|| Error::new(Status::GenericFailure, format!("{}:register_buffers", libc::EBADF)))?;
        let bufs = ring.register_buffers(count, size).map_err(|e| {
            Error::new(Status::GenericFailure, format!("{}:register_buffers", e.raw_os_error().unwrap_or(libc::EIO)))
        })?;
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
            let status = sys::napi_create_external_arraybuffer(
                raw,
                map.as_ptr() as *mut c_void,
                len,
                Some(release_mapping),
                hint,
                &mut ab,
            );
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

    /// The op functions, as raw Node-API functions (see `ops/`): napi-rs's
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
