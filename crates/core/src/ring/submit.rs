//! Queueing ops: the generic submit, the SQ's room, the SQPOLL credential
//! gate, and cancellation.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use io_uring::{opcode, squeue};

use super::slots::{user_data, F_ABORTED, F_EXTERNAL, F_LINKED_TIMEOUT, F_ORPHANED, TAG_INTERNAL, TAG_TIMEOUT};
use super::{OpId, OpOptions, Ring, SubmitError};
use crate::op::Op;
use crate::sys;

// io_uring_enter flags (include/uapi/linux/io_uring.h).
const ENTER_SQ_WAKEUP: u32 = 1 << 1;
const ENTER_SQ_WAIT: u32 = 1 << 2;

/// What an SQPOLL ring needs to never act with credentials its thread no
/// longer has. The kernel's submission thread keeps the credentials of the
/// thread that set the ring up (the class of libuv's CVE-2024-22017), so
/// SQEs are held here until [`Ring::flush`] has checked that the submitting
/// thread's credentials are still those; once they differ the ring refuses
/// every op. SQEs on an SQPOLL ring become visible to the kernel thread as
/// soon as they are in the SQ, so the check must come before, not at enter.
pub(super) struct CredGate {
    pub(super) made: sys::Creds,
    pub(super) now: sys::Creds,
    pub(super) held: Vec<(squeue::Entry, Option<squeue::Entry>)>,
    pub(super) changed: bool,
}

impl Ring {
    /// Queues `op`. It reaches the kernel at the next [`Ring::flush`], or
    /// earlier if the SQ fills up. An op refused here is dropped, and what
    /// it owns is released (see [`Op::discard`]).
    pub fn submit(&mut self, op: Op, opts: &OpOptions) -> Result<OpId, SubmitError> {
        let carried = op.carried_fd();
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

        if let Op::Interval { rearm, .. } = &mut op {
            *rearm |= !self.multishot_timeouts;
        }
        // A multishot op has no single end for a timeout to bound.
        let invalid = (op.is_multishot() && opts.timeout.is_some())
            || op.buffer_group().is_some_and(|g| !matches!(self.groups.get(g as usize), Some(Some(g)) if !g.released));
        if invalid {
            self.release(index);
            return Err(SubmitError::Io(io::Error::from_raw_os_error(libc::EINVAL)));
        }
        if let Some(lookup) = op.pool_job() {
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
        if !op.start_post() {
            self.release(index);
            return Err(SubmitError::Io(io::Error::from_raw_os_error(libc::EBADF)));
        }
        if let Some(g) = op.buffer_group() {
            if let Some(Some(g)) = self.groups.get_mut(g as usize) {
                g.users += 1;
            }
        }
        if let Some(fd) = op.cancels_fd() {
            self.abort_rearms(fd);
        }
        let offload = self.offload && op.is_file_io();
        let slot = &mut self.slots[index as usize];
        let entry = slot.op.insert(op).entry().user_data(ud);
        let entry = if offload { entry.flags(squeue::Flags::ASYNC) } else { entry };
        let pair = match opts.timeout {
            None => {
                slot.awaiting = 1;
                (entry, None)
            }
            Some(t) => {
                slot.awaiting = 2;
                slot.flags |= F_LINKED_TIMEOUT;
                slot.deadline = Instant::now().checked_add(t);
                let lt = slot.link_timeout(t, ud);
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

    /// Puts an SQE (or a linked pair, kept together) where the kernel will
    /// take it: the SQ, or on an SQPOLL ring the held list that
    /// [`Ring::flush`] releases after its credential check.
    ///
    /// # Safety
    /// Every pointer in the SQEs must stay valid until their CQEs are
    /// reaped, and unless the ring is gated the SQ must have room for them
    /// ([`Ring::make_room`]).
    pub(super) unsafe fn push(&mut self, a: squeue::Entry, b: Option<squeue::Entry>) {
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
    pub(super) fn release_held(&mut self) -> io::Result<()> {
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

    pub(super) fn push_internal(&mut self, entry: squeue::Entry) -> io::Result<()> {
        if self.gate.is_none() {
            self.make_room(1)?;
        }
        // SAFETY: internal entries (cancels) reference no memory; room was
        // made unless the ring is gated.
        unsafe { self.push(entry.user_data(TAG_INTERNAL), None) };
        Ok(())
    }

    /// Ensures `need` free SQ entries, submitting (and, if the kernel pushes
    /// back because completions pile up, reaping into the stash) as needed.
    pub(super) fn make_room(&mut self, need: usize) -> io::Result<()> {
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

    pub(super) fn needs_enter(&mut self) -> bool {
        let sq = self.uring.submission();
        sq.taskrun() || sq.cq_overflow()
    }

    pub(super) fn enter_submit(&mut self) -> io::Result<usize> {
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

    /// Asks the kernel to cancel `id`. Returns false when the op is no
    /// longer in flight. The op still completes through [`Ring::reap`]: with
    /// `-ECANCELED` if the cancel won, with its result if the op finished first.
    pub fn cancel(&mut self, id: OpId) -> bool {
        match self.slots.get(id.index as usize) {
            Some(s) if s.gen == id.gen && s.live() => {}
            _ => return false,
        }
        if self.slots[id.index as usize].flags & F_ABORTED != 0 {
            return true;
        }
        if self.slots[id.index as usize].copy.is_some() {
            self.cancel_copy(id.index);
            self.metrics.cancels += 1;
            return true;
        }
        if self.slots[id.index as usize].chain.is_some() {
            self.cancel_chain(id.index);
            self.metrics.cancels += 1;
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
        self.cancel_parked();
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            if !slot.live() {
                continue;
            }
            slot.flags |= F_ORPHANED;
            if slot.copy.is_some() {
                if slot.flags & F_ABORTED == 0 {
                    self.cancel_copy(index as u32);
                }
                continue;
            }
            if slot.chain.is_some() {
                if slot.flags & F_ABORTED == 0 {
                    self.cancel_chain(index as u32);
                }
                continue;
            }
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
}
