//! The ring: setup, the op table, submission, completion, cancellation.
//!
//! Every op has the same lifecycle: a slot is taken, the op moves into it,
//! its SQE (and an optional linked timeout) is queued, [`Ring::flush`]
//! submits, [`Ring::reap`] turns its CQE into a [`Completion`] that hands the
//! op (and its buffers) back, and the slot is released only when the last CQE
//! that references it has arrived, so nothing the kernel may touch is freed
//! early: not after a cancel, not after a timeout, not at teardown.

use std::collections::VecDeque;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use crate::bufs::{BufGroup, FixedBuffers, Mapping};
use crate::metrics::Metrics;
use crate::op::{Op, Output};
use crate::probe::{self, Features};
use crate::sys;

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
    /// Opcodes to treat as unsupported, to exercise fallbacks in tests.
    #[doc(hidden)]
    pub disabled_opcodes: Vec<u8>,
}

impl Default for Config {
    fn default() -> Self {
        Config { entries: 256, cq_entries: None, sqpoll: None, eventfd: false, profile: false, disabled_opcodes: Vec::new() }
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
}

impl Completion {
    /// Whether more completions of the same op will follow.
    pub fn more(&self) -> bool {
        self.op.is_none()
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

/// A completion another ring posted to this one (see [`Op::MsgRing`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The sender's 60 bits.
    pub data: u64,
    /// The sender's value, or the fd the message carries.
    pub value: i32,
    /// Whether `value` is an fd, now owned by the receiver.
    pub fd: bool,
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

// user_data layout: bits 0..32 slot index, 32..61 generation, bit 61 marks
// a message from another ring, bit 62 the CQE of an op's linked timeout,
// bit 63 internal requests (cancels) whose CQEs carry nothing for anyone.
// A message's own bits: 0..60 the sender's data, 60 "value is an fd".
const GEN_MASK: u64 = (1 << 29) - 1;
const TAG_TIMEOUT: u64 = 1 << 62;
const TAG_INTERNAL: u64 = 1 << 63;
// TAG_MSG (bit 61) and a message's bits live in `crate::tags`, shared with op.rs.
pub use crate::tags::MSG_DATA_MASK;
use crate::tags::{MSG_FD, TAG_MSG};
/// Registered-buffer table size (slots are handed out per registration).
const FIXED_TABLE: u32 = 1024;

// io_uring_enter flags (include/uapi/linux/io_uring.h).
const ENTER_SQ_WAKEUP: u32 = 1 << 1;
const ENTER_SQ_WAIT: u32 = 1 << 2;

fn user_data(index: u32, gen: u32) -> u64 {
    ((gen as u64 & GEN_MASK) << 32) | index as u64
}

// Slot flags.
const F_LINKED_TIMEOUT: u8 = 1;
const F_ABORTED: u8 = 2;
const F_ORPHANED: u8 = 4;
/// Completed outside the kernel (the resolver pool), posted by MSG_RING.
const F_EXTERNAL: u8 = 8;
/// The op would have blocked; a POLLOUT poll of its fd is in flight under
/// its user_data, and the op is issued again when the poll fires.
const F_POLLING: u8 = 16;

#[derive(Default)]
struct Slot {
    gen: u32,
    /// The op while its own CQE is outstanding.
    op: Option<Op>,
    /// The linked timeout's timespec while its CQE is outstanding.
    link_ts: Option<Box<types::Timespec>>,
    /// CQEs still to arrive; the slot is free when this is 0.
    awaiting: u8,
    flags: u8,
    /// When the op was queued (profile mode).
    queued_at: Option<Instant>,
    /// A zero-copy send's result, held until the kernel's notification.
    partial: i32,
    /// When the op's timeout expires, for ops the ring issues again.
    deadline: Option<Instant>,
}

/// What an SQPOLL ring needs to never act with credentials its thread no
/// longer has. The kernel's submission thread keeps the credentials of the
/// thread that set the ring up (the class of libuv's CVE-2024-22017), so
/// SQEs are held here until [`Ring::flush`] has checked that the submitting
/// thread's credentials are still those; once they differ the ring refuses
/// every op. SQEs on an SQPOLL ring become visible to the kernel thread as
/// soon as they are in the SQ, so the check must come before, not at enter.
struct CredGate {
    made: sys::Creds,
    now: sys::Creds,
    held: Vec<(squeue::Entry, Option<squeue::Entry>)>,
    changed: bool,
}

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
    setup_flags: Vec<&'static str>,
    closing: bool,
    profile: bool,
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
            setup_flags,
            closing: false,
            profile: config.profile,
            metrics: Metrics::default(),
            groups: Vec::new(),
            fixed: None,
            fixed_serial: 0,
            gate,
            id: crate::msg::register(),
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

    /// Queues `op`. It reaches the kernel at the next [`Ring::flush`], or
    /// earlier if the SQ fills up. An op refused here is dropped, and what
    /// it owns is released (see [`Op::discard`]).
    pub fn submit(&mut self, op: Op, opts: &OpOptions) -> Result<OpId, SubmitError> {
        let carried = match op {
            Op::MsgRing { fd: Some(fd), .. } => Some(fd),
            _ => None,
        };
        let res = self.submit_op(op, opts);
        if let (Err(_), Some(fd)) = (&res, carried) {
            sys::close(fd); // never posted: the duplicate is still ours
        }
        res
    }

    fn submit_op(&mut self, mut op: Op, opts: &OpOptions) -> Result<OpId, SubmitError> {
        if self.closing {
            return Err(SubmitError::Closed);
        }
        if self.credentials_changed() {
            return Err(SubmitError::CredentialsChanged);
        }
        let index = self.alloc_slot();
        if self.profile {
            self.slots[index as usize].queued_at = Some(Instant::now());
        }
        let gen = self.slots[index as usize].gen;
        let ud = user_data(index, gen);
        let id = OpId { index, gen };

        if !self.supports(op.opcode()) {
            let Some(res) = op.fallback() else {
                self.release(index);
                return Err(SubmitError::Unsupported(op.name()));
            };
            // Delivered by the next reap, like a CQE; the eventfd is signalled
            // so that a loop waiting on it comes to reap.
            let slot = &mut self.slots[index as usize];
            slot.op = Some(op);
            slot.awaiting = 1;
            self.inline.push_back((ud, res));
            self.metrics.fallbacks += 1;
            if let Some(fd) = self.eventfd() {
                let _ = sys::eventfd_signal(fd);
            }
            return Ok(id);
        }

        // A multishot op has no single end for a timeout to bound.
        let invalid = (op.is_multishot() && opts.timeout.is_some())
            || op.buffer_group().is_some_and(|g| !matches!(self.groups.get(g as usize), Some(Some(g)) if !g.released));
        if invalid {
            self.release(index);
            return Err(SubmitError::Io(io::Error::from_raw_os_error(libc::EINVAL)));
        }
        if let Op::Resolve { lookup } = &op {
            let target = match sys::dup_cloexec(self.uring.as_raw_fd()) {
                // SAFETY: a fresh duplicate that nothing else owns.
                fd if fd >= 0 => unsafe { OwnedFd::from_raw_fd(fd) },
                e => {
                    self.release(index);
                    return Err(SubmitError::Io(io::Error::from_raw_os_error(-e)));
                }
            };
            if let Err(e) = crate::resolve::submit(lookup.clone(), target, ud) {
                self.release(index);
                return Err(SubmitError::Io(e));
            }
            let slot = &mut self.slots[index as usize];
            slot.op = Some(op);
            slot.awaiting = 1;
            slot.flags |= F_EXTERNAL;
            self.metrics.ops_submitted += 1;
            return Ok(id);
        }

        let need = if opts.timeout.is_some() { 2 } else { 1 };
        if let Err(e) = if self.gate.is_none() { self.make_room(need) } else { Ok(()) } {
            self.release(index);
            return Err(SubmitError::Io(e));
        }
        // Last, as nothing after it fails: a passed fd is in transit from here.
        if let Op::MsgRing { to, fd, .. } = op {
            if !fd.map_or(to == 0 || crate::msg::is_live(to), |fd| crate::msg::send(fd, to)) {
                self.release(index);
                return Err(SubmitError::Io(io::Error::from_raw_os_error(libc::EBADF)));
            }
        }
        if let Some(g) = op.buffer_group() {
            if let Some(Some(g)) = self.groups.get_mut(g as usize) {
                g.users += 1;
            }
        }
        if let Op::CancelFd { fd } = op {
            self.abort_rearms(fd);
        }
        let slot = &mut self.slots[index as usize];
        let entry = slot.op.insert(op).entry().user_data(ud);
        let pair = match opts.timeout {
            None => {
                slot.awaiting = 1;
                (entry, None)
            }
            Some(t) => {
                slot.awaiting = 2;
                slot.flags |= F_LINKED_TIMEOUT;
                slot.deadline = Instant::now().checked_add(t);
                let lt = Self::link_timeout(slot, t, ud);
                (entry.flags(squeue::Flags::IO_LINK), Some(lt))
            }
        };
        // SAFETY: the SQEs point into heap data owned by `slot.op` (and the
        // timespec in `slot.link_ts`), which stays in the table until this
        // op's CQEs are reaped; room was made above.
        unsafe { self.push(pair.0, pair.1) };
        self.metrics.ops_submitted += 1;
        Ok(id)
    }

    /// A LINK_TIMEOUT SQE of `t` for the op in `slot`; the slot owns its
    /// timespec until the slot is released. Replacing an earlier one is
    /// sound: that one's SQE was consumed with the op it was linked to,
    /// whose CQE has arrived, and the kernel copies the timespec at prep.
    fn link_timeout(slot: &mut Slot, t: Duration, ud: u64) -> squeue::Entry {
        let ts = slot.link_ts.insert(Box::new(types::Timespec::new().sec(t.as_secs()).nsec(t.subsec_nanos())));
        opcode::LinkTimeout::new(&**ts).build().user_data(ud | TAG_TIMEOUT)
    }

    /// Puts an SQE (or a linked pair, kept together) where the kernel will
    /// take it: the SQ, or on an SQPOLL ring the held list that
    /// [`Ring::flush`] releases after its credential check.
    ///
    /// # Safety
    /// Every pointer in the SQEs must stay valid until their CQEs are
    /// reaped, and unless the ring is gated the SQ must have room for them
    /// ([`Ring::make_room`]).
    unsafe fn push(&mut self, a: squeue::Entry, b: Option<squeue::Entry>) {
        if let Some(g) = &mut self.gate {
            g.held.push((a, b));
            return;
        }
        let mut sq = self.uring.submission();
        // SAFETY: the caller's contract. Both go in under one SQ borrow, so
        // the tail is published once and a link is never split.
        unsafe {
            sq.push(&a).expect("room was made");
            if let Some(b) = b {
                sq.push(&b).expect("room was made");
            }
        }
    }

    /// Moves held SQEs into the SQ if the thread still has the credentials
    /// the ring was made with; otherwise completes them with -EPERM (cancels
    /// still go: they only ever stop work).
    fn release_held(&mut self) -> io::Result<()> {
        let Some(g) = self.gate.as_mut() else { return Ok(()) };
        if g.held.is_empty() {
            return Ok(());
        }
        if !g.changed {
            // A failure to read them counts as a change: fail closed.
            g.changed = g.now.read().is_err() || g.now != g.made;
        }
        let changed = g.changed;
        let held = std::mem::take(&mut g.held);
        let mut refused = false;
        for (i, (a, b)) in held.iter().enumerate() {
            let ud = a.get_user_data();
            if changed && ud & TAG_INTERNAL == 0 {
                self.inline.push_back((ud, -libc::EPERM));
                if b.is_some() {
                    self.inline.push_back((ud | TAG_TIMEOUT, -libc::ECANCELED));
                }
                refused = true;
                continue;
            }
            if let Err(e) = self.make_room(1 + b.is_some() as usize) {
                if let Some(g) = self.gate.as_mut() {
                    g.held.splice(0..0, held[i..].iter().cloned());
                }
                return Err(e);
            }
            let mut sq = self.uring.submission();
            // SAFETY: these were queued through `push`, whose callers vouch
            // for their memory; room was made just above.
            unsafe {
                sq.push(a).expect("room was made");
                if let Some(b) = b {
                    sq.push(b).expect("room was made");
                }
            }
        }
        if refused {
            if let Some(fd) = self.eventfd() {
                let _ = sys::eventfd_signal(fd);
            }
        }
        Ok(())
    }

    /// The id of the op in flight at slot `index`, if any.
    pub fn op_id(&self, index: u32) -> Option<OpId> {
        self.slots.get(index as usize).filter(|s| s.op.is_some()).map(|s| OpId { index, gen: s.gen })
    }

    /// Asks the kernel to cancel `id`. Returns false when the op is no
    /// longer in flight. The op still completes through [`Ring::reap`]: with
    /// `-ECANCELED` if the cancel won, with its result if the op finished first.
    pub fn cancel(&mut self, id: OpId) -> bool {
        match self.slots.get(id.index as usize) {
            Some(s) if s.gen == id.gen && s.op.is_some() => {}
            _ => return false,
        }
        if self.slots[id.index as usize].flags & F_ABORTED != 0 {
            return true;
        }
        if self.slots[id.index as usize].flags & F_EXTERNAL != 0 {
            self.cancel_external(id.index);
            self.metrics.cancels += 1;
            return true;
        }
        // Marked only once the cancel is queued, so a failed push can be retried.
        if self.push_internal(opcode::AsyncCancel::new(user_data(id.index, id.gen)).build()).is_err() {
            return false;
        }
        self.slots[id.index as usize].flags |= F_ABORTED;
        self.metrics.cancels += 1;
        true
    }

    /// Starts closing: refuses new ops and cancels every op in flight. Their
    /// completions (mostly `-ECANCELED`) still arrive through [`Ring::reap`];
    /// fds produced by ops nobody can receive any more are closed.
    pub fn close(&mut self) {
        self.closing = true;
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            if slot.op.is_none() {
                continue;
            }
            slot.flags |= F_ORPHANED;
            if slot.flags & F_EXTERNAL != 0 {
                if slot.flags & F_ABORTED == 0 {
                    self.cancel_external(index as u32);
                }
                continue;
            }
            let ud = user_data(index as u32, slot.gen);
            let _ = self.push_internal(opcode::AsyncCancel::new(ud).build());
        }
    }

    /// An op the pool runs cannot be stopped; it completes now with
    /// `-ECANCELED` and its slot moves on to a new generation, so the pool's
    /// late post finds nothing.
    fn cancel_external(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.flags |= F_ABORTED;
        self.inline.push_back((user_data(index, slot.gen), -libc::ECANCELED));
        if let Some(fd) = self.eventfd() {
            let _ = sys::eventfd_signal(fd);
        }
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

    /// Makes and registers a provided-buffer group of `count` (a power of
    /// two up to 32768) buffers of `size` bytes (kernel 5.19); returns its id.
    pub fn register_buf_group(&mut self, count: u16, size: u32) -> io::Result<u16> {
        if self.closing {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let id = match self.groups.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.groups.len() < u16::MAX as usize => {
                self.groups.push(None);
                self.groups.len() - 1
            }
            None => return Err(io::Error::from_raw_os_error(libc::ENOSPC)),
        };
        let g = BufGroup::new(count, size)?;
        // SAFETY: the ring memory lives in `g`, which the table keeps until
        // the group is unregistered (or the ring is gone).
        unsafe { self.uring.submitter().register_buf_ring_with_flags(g.ring_addr(), g.count(), id as u16, 0) }?;
        self.groups[id] = Some(g);
        Ok(id as u16)
    }

    /// The group goes once no op selects from it and every lent buffer is back.
    pub fn release_buf_group(&mut self, group: u16) {
        if let Some(Some(g)) = self.groups.get_mut(group as usize) {
            g.released = true;
        }
        self.free_group_if_done(group);
    }

    fn free_group_if_done(&mut self, group: u16) {
        let done = matches!(self.groups.get(group as usize), Some(Some(g)) if g.released && g.users == 0 && g.lent == 0);
        if done {
            let _ = self.uring.submitter().unregister_buf_ring(group);
            self.groups[group as usize] = None;
        }
    }

    /// The first `len` bytes of a lent buffer.
    pub fn buffer(&self, b: BufRef, len: usize) -> &[u8] {
        match self.groups.get(b.group as usize) {
            Some(Some(g)) => g.data(b.id, len),
            _ => &[],
        }
    }

    /// Gives a lent buffer back to its group, for the kernel to fill again.
    pub fn recycle(&mut self, b: BufRef) {
        if let Some(Some(g)) = self.groups.get_mut(b.group as usize) {
            g.lent = g.lent.saturating_sub(1);
            if !g.released {
                g.push(b.id);
                g.publish();
            }
        }
        self.free_group_if_done(b.group);
    }

    /// Maps `count` buffers of `size` bytes and registers them (kernel 5.19)
    /// for [`Op::ReadFixed`], [`Op::WriteFixed`] and [`Op::SendZc`].
    pub fn register_buffers(&mut self, count: u32, size: u32) -> io::Result<FixedBuffers> {
        let einval = || io::Error::from_raw_os_error(libc::EINVAL);
        if count == 0 || size == 0 || count > FIXED_TABLE || size > 1 << 30 {
            return Err(einval());
        }
        if self.fixed.is_none() {
            self.uring.submitter().register_buffers_sparse(FIXED_TABLE)?;
            self.fixed = Some(vec![0; FIXED_TABLE as usize]);
        }
        let table = self.fixed.as_mut().expect("made above");
        let n = count as usize;
        let first = (0..=table.len() - n)
            .find(|&i| table[i..i + n].iter().all(|&t| t == 0))
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSPC))?;
        let len = (n * size as usize).checked_next_multiple_of(4096).ok_or_else(einval)?;
        let map = Arc::new(Mapping::new(len)?);
        let iov: Vec<libc::iovec> = (0..n)
            // SAFETY: every buffer is inside the mapping.
            .map(|i| libc::iovec { iov_base: unsafe { map.as_ptr().add(i * size as usize) }.cast(), iov_len: size as usize })
            .collect();
        // SAFETY: the kernel pins these pages; the mapping is unmapped only
        // after the registration is dropped (and an unmapped range is never
        // reused under a pinned page: see crate::bufs).
        unsafe { self.uring.submitter().register_buffers_update(first as u32, &iov, None) }?;
        self.fixed_serial += 1;
        let serial = self.fixed_serial;
        table[first..first + n].iter_mut().for_each(|t| *t = serial);
        Ok(FixedBuffers { map, first: first as u32, count, size, serial })
    }

    /// Drops the registration of `bufs` (ops in flight keep their pages);
    /// the memory goes with the last clone of `bufs`.
    pub fn unregister_buffers(&mut self, bufs: &FixedBuffers) -> io::Result<()> {
        let Some(table) = self.fixed.as_mut() else { return Ok(()) };
        let range = bufs.first as usize..(bufs.first + bufs.count) as usize;
        if table.get(range.clone()).is_none_or(|r| r.iter().any(|&t| t != bufs.serial)) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let empty = vec![libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; bufs.count as usize];
        // SAFETY: empty iovecs reference no memory; they clear the slots.
        unsafe { self.uring.submitter().register_buffers_update(bufs.first, &empty, None) }?;
        table[range].iter_mut().for_each(|t| *t = 0);
        Ok(())
    }

    /// Submits queued SQEs, and runs deferred completion work when the kernel
    /// flags some. One syscall at most; none when there is nothing to do.
    pub fn flush(&mut self) -> io::Result<usize> {
        self.release_held()?;
        let queued = self.uring.submission().len();
        if queued == 0 && !self.needs_enter() {
            return Ok(0);
        }
        self.enter_submit()
    }

    /// Whether [`Ring::reap`] would find completions (or must enter to get them).
    pub fn has_completions(&mut self) -> bool {
        !self.inline.is_empty() || !self.stash.is_empty() || self.needs_enter() || !self.uring.completion().is_empty()
    }

    /// Moves every ready completion into `out`; returns how many. Runs
    /// deferred task work and flushes an overflowed CQ as needed, so no
    /// completion is left behind in the kernel.
    ///
    /// The slots of the returned completions are free again when this
    /// returns: an op submitted afterwards may get the same
    /// [`OpId::index`]. Code that keys its own state by index must look up
    /// every returned completion before it submits more (or use [`OpId`]s,
    /// which never repeat).
    pub fn reap(&mut self, out: &mut Vec<Completion>) -> usize {
        self.reap_max(out, usize::MAX)
    }

    /// Like [`Ring::reap`], but moves at most `max` completions; the rest
    /// stay in the kernel's CQ, their slots held, for a later reap.
    pub fn reap_max(&mut self, out: &mut Vec<Completion>, max: usize) -> usize {
        let start = out.len();
        let room = |out: &Vec<Completion>| max.saturating_sub(out.len() - start);
        while room(out) > 0 {
            let Some((ud, res, flags)) =
                self.inline.pop_front().map(|(u, r)| (u, r, 0)).or_else(|| self.stash.pop_front())
            else {
                break;
            };
            self.on_cqe(ud, res, flags, out);
        }
        let mut batch = std::mem::take(&mut self.cqe_buf);
        while room(out) > 0 {
            if self.needs_enter() {
                // IORING_SQ_CQ_OVERFLOW: completions wait in the kernel's
                // backlog because the CQ was full (the CQ's own overflow
                // counter is something else: CQEs the kernel dropped, which
                // with NODROP happens only when it cannot allocate).
                if self.uring.submission().cq_overflow() {
                    self.metrics.cq_overflows += 1;
                }
                let _ = self.enter_submit();
            }
            batch.clear();
            {
                let mut cq = self.uring.completion();
                cq.sync();
                // A CQE yields at most one completion, so this never overshoots.
                batch.extend(cq.take(room(out)).map(|c| (c.user_data(), c.result(), c.flags())));
            }
            if batch.is_empty() {
                break;
            }
            for &(ud, res, flags) in &batch {
                self.on_cqe(ud, res, flags, out);
            }
        }
        self.cqe_buf = batch;
        let n = out.len() - start;
        if n > 0 {
            self.metrics.completion_batches += 1;
        }
        n
    }

    /// Submits and blocks until at least one completion is ready or
    /// `timeout` passes. For programs that own their thread (no event loop).
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.release_held()?;
        if self.has_completions() {
            return self.flush().map(|_| ());
        }
        self.metrics.enters += 1;
        let start = self.profile.then(Instant::now);
        let res = match timeout {
            Some(t) if self.uring.params().is_feature_ext_arg() => {
                let ts = types::Timespec::new().sec(t.as_secs()).nsec(t.subsec_nanos());
                let args = types::SubmitArgs::new().timespec(&ts);
                self.uring.submitter().submit_with_args(1, &args)
            }
            _ => self.uring.submit_and_wait(1),
        };
        if let Some(t) = start {
            self.metrics.enter_ns += t.elapsed().as_nanos() as u64;
        }
        match res {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME) | Some(libc::EINTR)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn needs_enter(&mut self) -> bool {
        let sq = self.uring.submission();
        sq.taskrun() || sq.cq_overflow()
    }

    fn enter_submit(&mut self) -> io::Result<usize> {
        self.metrics.enters += 1;
        let start = self.profile.then(Instant::now);
        let res = loop {
            match self.uring.submit() {
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                other => break other,
            }
        };
        if let Some(t) = start {
            self.metrics.enter_ns += t.elapsed().as_nanos() as u64;
        }
        res
    }

    /// Ensures `need` free SQ entries, submitting (and, if the kernel pushes
    /// back because completions pile up, reaping into the stash) as needed.
    fn make_room(&mut self, need: usize) -> io::Result<()> {
        for _ in 0..8 {
            {
                let sq = self.uring.submission();
                if sq.capacity() - sq.len() >= need {
                    return Ok(());
                }
            }
            self.metrics.sq_full_flushes += 1;
            if self.uring.params().is_setup_sqpoll() {
                // The kernel thread consumes the SQ on its own, but only
                // while awake: wake it and wait for room in one enter
                // (SQ_WAIT alone sleeps forever if the thread idles).
                self.metrics.enters += 1;
                // SAFETY: no argument is passed; the flags are the kernel's.
                let _ = unsafe {
                    self.uring.submitter().enter::<libc::sigset_t>(0, 0, ENTER_SQ_WAKEUP | ENTER_SQ_WAIT, None)
                };
                continue;
            }
            match self.enter_submit() {
                Ok(_) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EAGAIN)) => {
                    // The kernel holds back submissions while completions
                    // pile up in its backlog: move CQEs aside (raw, slots
                    // still held) so it can post more.
                    self.metrics.cq_overflows += 1;
                    let mut cq = self.uring.completion();
                    cq.sync();
                    self.stash.extend(cq.map(|c| (c.user_data(), c.result(), c.flags())));
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::from_raw_os_error(libc::EBUSY))
    }

    fn push_internal(&mut self, entry: squeue::Entry) -> io::Result<()> {
        if self.gate.is_none() {
            self.make_room(1)?;
        }
        // SAFETY: internal entries (cancels) reference no memory; room was
        // made unless the ring is gated.
        unsafe { self.push(entry.user_data(TAG_INTERNAL), None) };
        Ok(())
    }

    /// A CANCEL by fd finds only what is in the kernel: an op between its
    /// would-block completion and its re-issue is marked here so it is not
    /// issued again.
    fn abort_rearms(&mut self, fd: RawFd) {
        for slot in &mut self.slots {
            if slot.op.as_ref().and_then(Op::waits_writable) == Some(fd) {
                slot.flags |= F_ABORTED;
            }
        }
    }

    /// Handles a would-block completion of an op that waits for its fd to
    /// be writable, and the completion of that wait. Returns `None` when the
    /// op was issued again (the CQE is used up and the op stays in flight),
    /// otherwise the result the op ends with.
    fn rearm(&mut self, index: u32, res: i32) -> Option<i32> {
        let slot = &mut self.slots[index as usize];
        let Some(fd) = slot.op.as_ref().and_then(Op::waits_writable) else { return Some(res) };
        let polling = slot.flags & F_POLLING != 0;
        slot.flags &= !F_POLLING;
        // What the op ends with if it is not issued again: a poll's events
        // or a would-block are no result of the op's own.
        let end = match res {
            r if r >= 0 && !polling => return Some(r),
            r if r < 0 && r != -libc::EAGAIN => return Some(r),
            _ if slot.flags & (F_ABORTED | F_ORPHANED) != 0 => return Some(-libc::ECANCELED),
            // Cancelled by the timeout's expiry (reported as ETIMEDOUT).
            _ => -libc::ECANCELED,
        };
        let ud = user_data(index, slot.gen);
        let left = slot.deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let (a, b) = if polling {
            // Writable (or in error, which the op itself then reports).
            (slot.op.as_mut().expect("checked above").entry().user_data(ud), None)
        } else {
            let poll = opcode::PollAdd::new(types::Fd(fd), libc::POLLOUT as u32).build().user_data(ud);
            match left {
                None => (poll, None),
                Some(left) if left.is_zero() => return Some(end),
                Some(left) => (poll.flags(squeue::Flags::IO_LINK), Some(Self::link_timeout(slot, left, ud))),
            }
        };
        if self.gate.is_none() {
            if let Err(e) = self.make_room(1 + b.is_some() as usize) {
                return Some(-e.raw_os_error().unwrap_or(libc::EBUSY));
            }
        }
        let slot = &mut self.slots[index as usize];
        if !polling {
            slot.flags |= F_POLLING;
        }
        slot.awaiting += b.is_some() as u8;
        // SAFETY: the op's memory is in its slot until its final CQE; the
        // poll references none; the timespec is the slot's. Room was made.
        unsafe { self.push(a, b) };
        None
    }

    fn on_cqe(&mut self, ud: u64, res: i32, flags: u32, out: &mut Vec<Completion>) {
        if ud & TAG_INTERNAL != 0 {
            return;
        }
        if ud & TAG_MSG != 0 && ud & TAG_TIMEOUT == 0 {
            if ud & MSG_FD != 0 && !crate::msg::claim(res, self.id) {
                return; // not in transit to us: neither ours to use nor to close
            }
            self.metrics.messages += 1;
            self.messages.push_back(Message { data: ud & MSG_DATA_MASK, value: res, fd: ud & MSG_FD != 0 });
            return;
        }
        let index = (ud & 0xffff_ffff) as u32;
        let gen = ((ud >> 32) & GEN_MASK) as u32;
        let Some(slot) = self.slots.get_mut(index as usize) else { return };
        if (slot.gen as u64 & GEN_MASK) != gen as u64 || slot.awaiting == 0 {
            // A pool op's post after its cancel; otherwise cannot happen
            // while the table is intact. Never trust it blindly.
            return;
        }
        let more = cqueue::more(flags);
        if ud & TAG_TIMEOUT != 0 {
            if res == -libc::ETIME {
                self.metrics.timeouts += 1;
            }
            // The timespec stays until the slot is released: a re-armed op
            // may have linked a new one (see `link_timeout`).
            slot.awaiting -= 1;
            if slot.awaiting == 0 {
                self.release(index);
            }
            return;
        }
        {
            match &slot.op {
                // One completion of many: the op stays in its slot.
                Some(op) if more && op.is_multishot() => {
                    let (group, gen) = (op.buffer_group(), slot.gen);
                    let mut result = res;
                    if slot.flags & F_ORPHANED != 0 && res >= 0 && op.produces_fd() {
                        sys::close(res);
                        result = -libc::ECANCELED;
                    }
                    let new_fd = result >= 0 && op.produces_fd();
                    let buffer = self.lend(group, flags);
                    self.metrics.multishot_completions += 1;
                    out.push(Completion { id: OpId { index, gen }, result, op: None, buffer, new_fd });
                    return;
                }
                // A zero-copy send's result: the op ends with the kernel's
                // notification that it no longer reads the buffer.
                Some(Op::SendZc { .. }) if more => {
                    slot.partial = res;
                    return;
                }
                Some(Op::SendZc { .. }) if cqueue::notif(flags) => {
                    let partial = slot.partial;
                    return self.finish(index, partial, 0, out);
                }
                _ => {}
            }
        }
        self.finish(index, res, flags, out)
    }

    /// An op's last CQE (or its linked timeout's).
    fn finish(&mut self, index: u32, res: i32, flags: u32, out: &mut Vec<Completion>) {
        let Some(res) = self.rearm(index, res) else { return };
        let slot = &mut self.slots[index as usize];
        slot.awaiting -= 1;
        if let Some(op) = slot.op.take() {
            // An op cancelled while it blocked in an io-wq worker (a splice on
            // a socket, seen on 6.18) can complete with the kernel-internal
            // ERESTARTSYS family (512-516): it is an interrupted call.
            let res = if (-516..=-512).contains(&res) { -libc::EINTR } else { res };
            let mut result = op.map_result(res);
            let cancelled = res == -libc::ECANCELED || res == -libc::EINTR;
            // A cancel nobody asked for on an op with a linked timeout is the
            // timeout firing: its own CQE (-ETIME) may arrive before or after.
            if cancelled && slot.flags & F_LINKED_TIMEOUT != 0 && slot.flags & (F_ABORTED | F_ORPHANED) == 0 {
                result = -libc::ETIMEDOUT;
            } else if cancelled {
                result = -libc::ECANCELED;
            }
            if slot.flags & F_ORPHANED != 0 && result >= 0 && op.produces_fd() {
                sys::close(result);
                result = -libc::ECANCELED;
            }
            if let Op::MsgRing { fd: Some(fd), .. } = op {
                if res < 0 {
                    crate::msg::undelivered(fd); // the duplicate is still ours, unless its target retired
                }
            }
            self.metrics.ops_completed += 1;
            if let Some(t) = slot.queued_at.take() {
                let ns = t.elapsed().as_nanos() as u64;
                self.metrics.op_latency_ns += ns;
                self.metrics.op_latency_max_ns = self.metrics.op_latency_max_ns.max(ns);
            }
            let gen = slot.gen;
            let group = op.buffer_group();
            let buffer = self.lend(group, flags);
            if let Some(g) = group {
                if let Some(Some(grp)) = self.groups.get_mut(g as usize) {
                    grp.users -= 1;
                }
                self.free_group_if_done(g);
            }
            let new_fd = result >= 0 && op.produces_fd();
            out.push(Completion { id: OpId { index, gen }, result, op: Some(op), buffer, new_fd });
        }
        if self.slots[index as usize].awaiting == 0 {
            self.release(index);
        }
    }

    /// The buffer a CQE says the kernel filled, now lent to the caller.
    fn lend(&mut self, group: Option<u16>, flags: u32) -> Option<BufRef> {
        let (group, id) = (group?, cqueue::buffer_select(flags)?);
        let Some(Some(g)) = self.groups.get_mut(group as usize) else { return None };
        g.lent += 1;
        Some(BufRef { group, id })
    }

    fn alloc_slot(&mut self) -> u32 {
        self.in_use += 1;
        match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.gen = slot.gen.wrapping_add(1) & GEN_MASK as u32;
        slot.flags = 0;
        slot.op = None;
        slot.link_ts = None;
        slot.queued_at = None;
        slot.partial = 0;
        slot.deadline = None;
        self.in_use -= 1;
        self.free.push(index);
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
