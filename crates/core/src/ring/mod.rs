//! The ring: one io_uring instance and the ops in flight on it.
//!
//! Every op has the same lifecycle: a slot is taken, the op moves into it,
//! its SQE (and an optional linked timeout) is queued, [`Ring::flush`]
//! submits, [`Ring::reap`] turns its CQE into a [`Completion`] that hands the
//! op (and its buffers) back, and the slot is released only when the last CQE
//! that references it has arrived, so nothing the kernel may touch is freed
//! early: not after a cancel, not after a timeout, not at teardown.
//!
//! This file holds the public types, setup and teardown; the lifecycle's
//! steps each have a file: `slots` (user_data: slot + generation + tags),
//! `submit` (queueing, the SQPOLL credential gate, cancellation), `complete`
//! (reaping, re-arming, settling), `register` (provided-buffer groups and
//! registered buffers), and `hooks` (the few places an op adds to the
//! generic lifecycle, asked through a method on [`Op`]).

use std::collections::VecDeque;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use io_uring::IoUring;

use crate::bufs::BufGroup;
use crate::metrics::Metrics;
use crate::op::{Op, Output};
use crate::probe::{self, Features};
use crate::sys;

mod chain;
mod complete;
mod copy;
mod hooks;
mod register;
mod slots;
mod submit;

use slots::Slot;
use submit::CredGate;

// The message bits of user_data are msg.rs's; op.rs builds MSG_RING SQEs
// with them through this path.
pub use crate::msg::{Message, MSG_DATA_MASK};
/// How to build a [`Ring`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Submission queue entries (rounded up to a power of two, clamped to the
    /// kernel's maximum).
    pub entries: u32,
    /// Completion queue entries; `None` for `max(4 * entries, 4096)`. Ops in
    /// flight are not limited by this: an overflowing CQ is drained, not lost.
    pub cq_entries: Option<u32>,
    /// Ask for a kernel submission thread idling after this many ms.
    pub sqpoll: Option<u32>,
    /// Register an eventfd the kernel signals on completions (for event loops).
    pub eventfd: bool,
    /// Measure time spent in the kernel (see [`Metrics`]'s `*_ns` fields);
    /// costs two clock reads per op and per enter.
    pub profile: bool,
    /// Send file reads and writes (`Read`, `Write`, `Readv`, `Writev`,
    /// `ReadFixed`, `WriteFixed`) to the kernel's io-wq worker threads at
    /// once (IOSQE_ASYNC) instead of trying them inline first: the page-cache
    /// copy then runs on another core while the submitting thread goes on.
    /// For reads and writes of regular files; a socket or pipe op offloaded
    /// this way blocks a worker thread until it is ready.
    pub offload: bool,
    /// Opcodes to treat as unsupported, to exercise fallbacks in tests.
    #[doc(hidden)]
    pub disabled_opcodes: Vec<u8>,
    /// Treat the kernel as lacking multishot timeouts (before 6.4), to
    /// exercise [`Op::Interval`]'s re-armed one-shot timeouts in tests.
    #[doc(hidden)]
    pub no_multishot_timeouts: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            entries: 256,
            cq_entries: None,
            sqpoll: None,
            eventfd: false,
            profile: false,
            offload: false,
            disabled_opcodes: Vec::new(),
            no_multishot_timeouts: false,
        }
    }
}

/// Per-op options.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct OpOptions {
    /// Cancel the op if it has not completed after this long; it then
    /// completes with `-ETIMEDOUT` (a linked timeout in the kernel).
    pub timeout: Option<Duration>,
}

impl OpOptions {
    /// Options with this timeout (`None`: none) and every other option at
    /// its default.
    pub fn with_timeout(timeout: Option<Duration>) -> OpOptions {
        OpOptions { timeout }
    }
}

/// Names an op in flight: a slot index plus the slot's generation, so a late
/// CQE or a stale id can never reach a newer op in the same slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpId {
    index: u32,
    gen: u32,
}

impl OpId {
    /// The slot index: unique among ops whose completion has not been reaped.
    pub fn index(self) -> u32 {
        self.index
    }
}

/// A finished op, or one completion of a multishot op: its result (`>= 0`,
/// or `-errno`) and, with the op's final completion, the op handed back.
#[non_exhaustive]
pub struct Completion {
    pub id: OpId,
    pub result: i32,
    /// The op, with its final completion; `None` while more completions
    /// of a multishot op are to come.
    pub op: Option<Op>,
    /// The provided buffer holding this completion's data: read it with
    /// [`Ring::buffer`], then give it back with [`Ring::recycle`].
    pub buffer: Option<BufRef>,
    /// Whether `result` is a new fd (open, accept, socket), now the caller's.
    pub new_fd: bool,
    /// The chain, with its (only) completion: see [`Ring::submit_chain`].
    pub chain: Option<Box<crate::chain::Chain>>,
    /// The copy, with its (only) completion: see [`Ring::submit_copy`].
    pub copy: Option<Box<crate::copy::Copy>>,
}

impl Completion {
    /// Whether more completions of the same op will follow.
    pub fn more(&self) -> bool {
        self.op.is_none() && self.chain.is_none() && self.copy.is_none()
    }

    /// What the op hands back (see [`Op::output`]); nothing for a multishot
    /// op's intermediate completions.
    pub fn output(&self) -> Output<'_> {
        match &self.op {
            Some(op) => op.output(self.result),
            None => Output::None,
        }
    }
}

/// A buffer of a provided-buffer group, lent to the caller by a completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufRef {
    pub group: u16,
    pub id: u16,
}

/// Why an op could not be queued.
#[derive(Debug)]
#[non_exhaustive]
pub enum SubmitError {
    /// The ring is closing or closed.
    Closed,
    /// The kernel lacks the opcode and the op has no syscall fallback.
    Unsupported(&'static str),
    /// The kernel refused to take more submissions.
    Io(io::Error),
    /// The thread's credentials are no longer those this SQPOLL ring was
    /// made with (see [`Ring::credentials_changed`]).
    CredentialsChanged,
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::Closed => f.write_str("the ring is closed"),
            SubmitError::Unsupported(op) => write!(f, "this kernel's io_uring has no {op} operation"),
            SubmitError::Io(e) => write!(f, "io_uring submission failed: {e}"),
            SubmitError::CredentialsChanged => {
                f.write_str("the credentials changed since this SQPOLL ring was made; make a new ring")
            }
        }
    }
}

impl std::error::Error for SubmitError {}

/// One io_uring instance and the ops in flight on it.
///
/// A ring belongs to the thread that made it (it is set up SINGLE_ISSUER where
/// the kernel allows), so it is neither `Send` nor `Sync`.
pub struct Ring {
    uring: IoUring,
    slots: Vec<Slot>,
    free: Vec<u32>,
    in_use: usize,
    /// Completions made without the kernel (syscall fallbacks, cancelled
    /// pool ops), as CQEs.
    inline: VecDeque<(u64, i32)>,
    /// CQEs taken off the CQ while making room in the SQ, for the next reap.
    /// Kept raw: their slots must stay held until the reap hands them out.
    stash: VecDeque<(u64, i32, u32)>,
    cqe_buf: Vec<(u64, i32, u32)>,
    /// Messages other rings posted, until taken.
    messages: VecDeque<Message>,
    eventfd: Option<OwnedFd>,
    probe: io_uring::Probe,
    disabled: Vec<u8>,
    /// False once the kernel refused a multishot timeout (no probe bit
    /// tells): intervals then re-arm one-shot timeouts.
    multishot_timeouts: bool,
    setup_flags: Vec<&'static str>,
    closing: bool,
    /// Copies in flight, and the empty pipes of finished ones kept for the next.
    copies: usize,
    pipes: Vec<crate::copy::Pipe>,
    profile: bool,
    /// [`Config::offload`].
    offload: bool,
    metrics: Metrics,
    /// Provided-buffer groups by id. Declared after `uring`: a group's
    /// memory is unmapped only after the ring is gone.
    groups: Vec<Option<BufGroup>>,
    /// Registered-buffer table: per slot, the registration holding it (0:
    /// free). Made sparse on first use.
    fixed: Option<Vec<u32>>,
    fixed_serial: u32,
    /// Present on SQPOLL rings only.
    gate: Option<CredGate>,
    /// Process-unique: who messages are for (see [`Op::MsgRing`]).
    id: u32,
    /// The registered file table chains open into, made on the first chain.
    files: Option<chain::FileTable>,
    /// The kernel refused a sparse file table (older than 5.19).
    files_refused: bool,
    _thread_bound: PhantomData<*const ()>,
}

impl Ring {
    /// Sets up a ring with the best flags the kernel accepts (see
    /// [`probe::SETUP_CHAINS`]) and probes its opcodes.
    pub fn new(config: &Config) -> io::Result<Ring> {
        let entries = config.entries.max(1);
        let cq = config.cq_entries.unwrap_or_else(|| entries.saturating_mul(4).max(4096));
        let (uring, setup_flags) = probe::setup(entries, cq, config.sqpoll)?;
        let gate = if uring.params().is_setup_sqpoll() {
            let mut made = sys::Creds::default();
            made.read()?;
            Some(CredGate { now: made.clone(), made, held: Vec::new(), changed: false })
        } else {
            None
        };
        let mut p = io_uring::Probe::new();
        // A kernel without REGISTER_PROBE (< 5.6) leaves the probe empty, so
        // every op is treated as unsupported there, which is the truth for most.
        let _ = uring.submitter().register_probe(&mut p);
        let eventfd = if config.eventfd {
            // SAFETY: eventfd() returned a fresh fd that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(sys::eventfd()?) };
            uring.submitter().register_eventfd(fd.as_raw_fd())?;
            Some(fd)
        } else {
            None
        };
        Ok(Ring {
            uring,
            slots: Vec::new(),
            free: Vec::new(),
            in_use: 0,
            inline: VecDeque::new(),
            stash: VecDeque::new(),
            cqe_buf: Vec::with_capacity(256),
            messages: VecDeque::new(),
            eventfd,
            probe: p,
            disabled: config.disabled_opcodes.clone(),
            multishot_timeouts: !config.no_multishot_timeouts,
            setup_flags,
            closing: false,
            copies: 0,
            pipes: Vec::new(),
            profile: config.profile,
            offload: config.offload,
            metrics: Metrics::default(),
            groups: Vec::new(),
            fixed: None,
            fixed_serial: 0,
            gate,
            id: crate::msg::register(),
            files: None,
            files_refused: false,
            _thread_bound: PhantomData,
        })
    }

    /// The eventfd the kernel signals when completions are ready.
    pub fn eventfd(&self) -> Option<RawFd> {
        self.eventfd.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// Clears the eventfd's signal; call before [`Ring::reap`] so that a
    /// completion arriving during the reap signals it again.
    pub fn reset_eventfd(&self) {
        if let Some(fd) = self.eventfd() {
            let _ = sys::eventfd_reset(fd);
        }
    }

    /// Whether the kernel supports `opcode` (and it is not disabled).
    pub fn supports(&self, opcode: u8) -> bool {
        self.probe.is_supported(opcode) && !self.disabled.contains(&opcode)
    }

    /// The kernel, its opcodes, and the setup flags in force on this ring.
    pub fn features(&self) -> Features {
        probe::features(&self.uring, &self.probe, &self.setup_flags)
    }

    /// Counters since the ring was made.
    pub fn metrics(&mut self) -> Metrics {
        let mut m = self.metrics;
        m.pending = self.in_use as u64;
        m.unsubmitted = self.uring.submission().len() as u64;
        m.sq_entries = self.uring.params().sq_entries() as u64;
        m.cq_entries = self.uring.params().cq_entries() as u64;
        m
    }

    /// Ops whose slots are still held (their final CQE has not arrived).
    pub fn in_flight(&self) -> usize {
        self.in_use
    }

    /// Whether this is an SQPOLL ring whose thread's credentials changed
    /// since it was made (a setuid, setgid, setgroups or capability change,
    /// seen at the first [`Ring::flush`] after it). Such a ring refuses new
    /// ops with [`SubmitError::CredentialsChanged`]; the ops queued but not
    /// yet submitted when the change was seen complete with `-EPERM`. Ops
    /// the kernel already had run on.
    pub fn credentials_changed(&self) -> bool {
        self.gate.as_ref().is_some_and(|g| g.changed)
    }

    /// Whether [`Ring::close`] has begun.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// The id of the op in flight at slot `index`, if any.
    pub fn op_id(&self, index: u32) -> Option<OpId> {
        self.slots.get(index as usize).filter(|s| s.live()).map(|s| OpId { index, gen: s.gen })
    }

    /// This ring's fd: where other rings post messages (see [`Op::MsgRing`]).
    pub fn fd(&self) -> RawFd {
        self.uring.as_raw_fd()
    }

    /// This ring's process-unique id (never 0): the `to` of messages for it.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Moves the messages other rings have posted into `out`.
    pub fn take_messages(&mut self, out: &mut Vec<Message>) -> usize {
        let n = self.messages.len();
        out.extend(self.messages.drain(..));
        n
    }

    /// Like [`Ring::take_messages`], for messages addressed as
    /// [`Op::message`] and [`Op::pass_fd`] make them: a value message whose
    /// data is not this ring's id is dropped (it was posted to a ring that
    /// had this ring's fd number before). Returns how many were moved.
    pub fn take_addressed_messages(&mut self, out: &mut Vec<Message>) -> usize {
        let id = self.id;
        let n = out.len();
        out.extend(self.messages.drain(..).filter(|m| crate::msg::addressed_to(m, id)));
        out.len() - n
    }
}

impl Drop for Ring {
    /// Cancels what is in flight and waits (up to two seconds) for the
    /// kernel to let go of it. Memory of ops the kernel still holds after
    /// that is leaked, never freed under it.
    fn drop(&mut self) {
        // First, so that nothing more is passed to us, and whatever was
        // (still in the CQ, or in the kernel's deferred work) is closed.
        crate::msg::retire(self.id);
        self.drop_in_flight();
        for m in self.messages.drain(..) {
            if m.fd {
                sys::close(m.value); // posted to us, never taken
            }
        }
    }
}

impl Ring {
    fn drop_in_flight(&mut self) {
        if self.in_use == 0 {
            return;
        }
        self.close();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut sink = Vec::new();
        while self.in_use > 0 && Instant::now() < deadline {
            let _ = self.wait(Some(Duration::from_millis(20)));
            self.reap(&mut sink);
            sink.clear();
        }
        if self.in_use > 0 {
            for slot in self.slots.drain(..) {
                if slot.awaiting > 0 {
                    std::mem::forget(slot);
                }
            }
            // Buffer groups the stuck ops may still fill go with them.
            std::mem::forget(std::mem::take(&mut self.groups));
        }
    }
}
