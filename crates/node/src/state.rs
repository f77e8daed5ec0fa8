//! The bridge's per-ring state, shared by the napi class, the raw op
//! functions, the event-loop glue and delivery; and the codes its results
//! carry beyond errno. A leaf: it imports none of the modules that use it.

use std::cell::RefCell;
use std::os::raw::c_void;
use std::rc::Rc;
use std::time::Duration;

use napi::sys;

use uring_machine_core::{
    BufferPool, Completion, FixedBuffers, Message, OpOptions, Ring as CoreRing, CURRENT_POSITION,
};

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

pub(crate) struct Inner {
    pub(crate) env: sys::napi_env,
    pub(crate) ring: Option<CoreRing>,
    pub(crate) pool: BufferPool,
    pub(crate) done: Vec<Completion>,
    /// Per slot: where in the destination view a read's bytes go.
    pub(crate) dst_offset: Vec<u32>,
    /// (slot, result) pairs for JS, in memory this side owns (JS views it
    /// through an external ArrayBuffer that holds a count of it).
    pub(crate) results: Rc<Results>,
    /// JS array of destination views, indexed by slot (JS fills and clears it).
    pub(crate) dsts: sys::napi_ref,
    /// JS completion callback. Weak: the JS Machine holds it, and a strong
    /// reference would keep the Machine alive through this object forever.
    pub(crate) callback: sys::napi_ref,
    pub(crate) async_ctx: sys::napi_async_context,
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
    /// The core ring's id: who messages are for (the core drops value
    /// posts addressed to another id: see `Ring::take_addressed_messages`).
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
    pub(crate) msgs: Vec<Message>,
}

pub(crate) type Shared = Rc<RefCell<Inner>>;

/// Pairs one delivery carries at most.
pub(crate) const BATCH: usize = 4096;

/// The pairs buffer: written here, read by JS between deliveries.
pub(crate) struct Results(std::cell::UnsafeCell<Box<[i32]>>);

impl Results {
    pub(crate) fn new() -> Rc<Results> {
        Rc::new(Results(std::cell::UnsafeCell::new(vec![0i32; 2 * BATCH].into_boxed_slice())))
    }

    pub(crate) fn ptr(&self) -> *mut i32 {
        // SAFETY: only a raw pointer is made; writers run on the JS thread
        // while no JS code runs (so nothing reads concurrently).
        unsafe { (*self.0.get()).as_mut_ptr() }
    }
}

/// The finalizer of the external ArrayBuffer over a [`Results`]: `hint`
/// is the count of it the buffer held.
pub(crate) unsafe extern "C" fn release_results(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
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
