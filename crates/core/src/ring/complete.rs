//! Completions: reaping CQEs (with the kernel's deferred work and an
//! overflowed CQ), re-arming an op that would have blocked, and settling an
//! op's last CQE into a [`Completion`].

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use io_uring::{cqueue, opcode, squeue, types};

use super::slots::{
    split, user_data, F_ABORTED, F_LINKED_TIMEOUT, F_ORPHANED, F_POLLING, GEN_MASK, TAG_INTERNAL, TAG_TIMEOUT,
};
use super::{BufRef, Completion, OpId, Ring};
use crate::msg::TAG_MSG;
use crate::op::Op;
use crate::sys;

impl Ring {
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

    /// A CANCEL by fd finds only what is in the kernel: an op between its
    /// would-block completion and its re-issue is marked here so it is not
    /// issued again.
    pub(super) fn abort_rearms(&mut self, fd: RawFd) {
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
                Some(left) => (poll.flags(squeue::Flags::IO_LINK), Some(slot.link_timeout(left, ud))),
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

    /// An interval's one-shot timeout fired (or the kernel refused its
    /// multishot one): hands out a tick and issues the timeout again.
    /// Returns whether the CQE is used up so.
    fn repeat_interval(&mut self, index: u32, res: i32, out: &mut Vec<Completion>) -> bool {
        let slot = &mut self.slots[index as usize];
        let Some(Op::Interval { rearm, .. }) = &mut slot.op else { return false };
        if slot.flags & (F_ABORTED | F_ORPHANED) != 0 {
            return false; // cancelled, by its caller or the ring closing
        }
        let tick = match (res, *rearm) {
            (r, true) if r == -libc::ETIME => true,
            // Unknown timeout flags are EINVAL (before 6.4); the timespec
            // the op owns is always valid, so nothing else is.
            (r, false) if r == -libc::EINVAL => {
                *rearm = true;
                self.multishot_timeouts = false;
                false
            }
            _ => return false,
        };
        if self.gate.is_none() && self.make_room(1).is_err() {
            return false; // ends with this result rather than stall
        }
        let slot = &mut self.slots[index as usize];
        let gen = slot.gen;
        let entry = slot.op.as_mut().expect("checked above").entry().user_data(user_data(index, gen));
        // SAFETY: the timespec is the op's, in its slot until the final CQE; room was made.
        unsafe { self.push(entry, None) };
        if tick {
            self.metrics.multishot_completions += 1;
            out.push(Completion {
                id: OpId { index, gen },
                result: 0,
                op: None,
                buffer: None,
                new_fd: false,
                chain: None,
                copy: None,
            });
        }
        true
    }

    fn on_cqe(&mut self, ud: u64, res: i32, flags: u32, out: &mut Vec<Completion>) {
        if ud & TAG_INTERNAL != 0 {
            if ud & super::chain::TAG_CHAIN_CANCEL == super::chain::TAG_CHAIN_CANCEL {
                if self.is_copy_cancel(ud) {
                    self.copy_cancel_cqe(ud, res);
                } else {
                    self.chain_cancel_cqe(ud, res);
                }
            }
            return;
        }
        if ud & TAG_MSG != 0 && ud & TAG_TIMEOUT == 0 {
            if let Some(m) = crate::msg::received(ud, res, self.id) {
                self.metrics.messages += 1;
                self.messages.push_back(m);
            }
            return;
        }
        let (index, gen) = split(ud);
        let Some(slot) = self.slots.get_mut(index as usize) else { return };
        if (slot.gen as u64 & GEN_MASK) != gen as u64 || slot.awaiting == 0 {
            // A pool op's post after its cancel; otherwise cannot happen
            // while the table is intact. Never trust it blindly.
            return;
        }
        if slot.copy.is_some() {
            return self.copy_cqe(ud, res, out);
        }
        if slot.chain.is_some() || slot.file.is_some() {
            return self.chain_cqe(ud, res, out);
        }
        let more = cqueue::more(flags);
        if ud & TAG_TIMEOUT == 0 && !more && self.repeat_interval(index, res, out) {
            return;
        }
        let slot = &mut self.slots[index as usize];
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
                    let mut result = op.map_result(res);
                    if slot.flags & F_ORPHANED != 0 && res >= 0 && op.produces_fd() {
                        sys::close(res);
                        result = -libc::ECANCELED;
                    }
                    let new_fd = result >= 0 && op.produces_fd();
                    // A multishot timeout is off the kernel's timeout list from
                    // its expiry until the task work that posts this CQE
                    // re-arms it (with DEFER_TASKRUN, until we next enter): a
                    // cancel in that window finds nothing (seen on 6.18). It
                    // is back on the list now, so cancel it again.
                    let recancel = matches!(op, Op::Interval { .. }) && slot.flags & (F_ABORTED | F_ORPHANED) != 0;
                    if recancel {
                        let _ = self.push_internal(opcode::AsyncCancel::new(ud).build());
                    }
                    let buffer = self.lend(group, flags);
                    self.metrics.multishot_completions += 1;
                    out.push(Completion {
                        id: OpId { index, gen },
                        result,
                        op: None,
                        buffer,
                        new_fd,
                        chain: None,
                        copy: None,
                    });
                    return;
                }
                // A zero-copy send's result: the op ends with the kernel's
                // notification that it no longer reads the buffer.
                Some(op) if more && op.ends_with_notification() => {
                    slot.partial = res;
                    return;
                }
                Some(op) if cqueue::notif(flags) && op.ends_with_notification() => {
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
        if let Some(mut op) = slot.op.take() {
            // The kernel's io_uring refused the op in a way its plain syscall
            // may not (see the table's `fallback_when`): that answers instead.
            // Not for a caller that went away.
            let wanted = slot.flags & (F_ABORTED | F_ORPHANED) == 0;
            let res = match (wanted && op.falls_back_on(res)).then(|| op.fallback()).flatten() {
                Some(r) => {
                    self.metrics.fallbacks += 1;
                    r
                }
                None => res,
            };
            let slot = &mut self.slots[index as usize];
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
            op.ended(res);
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
            out.push(Completion {
                id: OpId { index, gen },
                result,
                op: Some(op),
                buffer,
                new_fd,
                chain: None,
                copy: None,
            });
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
}
