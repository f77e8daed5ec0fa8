//! Copies in the ring (see [`crate::copy`]): submitting a copy's SQEs, its
//! CQEs, submitting its next ones from the reap, and its cancel.
//!
//! A copy takes one op slot for its whole life; each of its SQEs carries
//! that slot's user_data plus its step (0 or 1 of a splice pair), so the
//! copy moves on only when every CQE of a submission has arrived, and
//! completes once. The copy (its pipe, its paths, its statx buffer) stays
//! in the slot until then: nothing a CQE refers to is freed before it.

use io_uring::opcode;

use super::chain::TAG_CHAIN_CANCEL;
use super::slots::{step_data, F_ABORTED, F_ORPHANED};
use super::{Completion, OpId, OpOptions, Ring, SubmitError};
use crate::copy::Copy;

/// Empty pipes a ring keeps for its next copies, at most.
const PIPE_POOL: usize = 64;

impl Ring {
    /// Whether this ring can run [`struct@Copy`]s in the core: splice (5.7), and
    /// no SQPOLL credential gate (it could split a linked pair).
    pub fn supports_copy(&self) -> bool {
        self.supports(opcode::Splice::CODE) && self.gate.is_none()
    }

    /// Queues `copy`: its first SQEs reach the kernel at the next
    /// [`Ring::flush`], and the ring submits the rest as they complete. It
    /// completes once ([`Completion::copy`]); `result` is 0 or the first
    /// failure's `-errno`, the bytes copied are the copy's. Per-op timeouts
    /// are not taken (cancel it).
    pub fn submit_copy(&mut self, mut copy: Copy, opts: &OpOptions) -> Result<OpId, SubmitError> {
        if self.closing {
            return Err(SubmitError::Closed);
        }
        if self.gate.is_some() {
            return Err(SubmitError::Unsupported("copy (on an SQPOLL ring)"));
        }
        if opts.timeout.is_some() {
            return Err(SubmitError::Io(std::io::Error::from_raw_os_error(libc::EINVAL)));
        }
        if !copy.opcodes().iter().all(|&c| self.supports(c)) {
            return Err(SubmitError::Unsupported("splice"));
        }
        copy.use_ring_for(self.supports(opcode::Ftruncate::CODE), self.supports(opcode::Close::CODE));
        copy.prime(&mut self.pipes);
        let index = self.alloc_slot();
        let gen = self.slots[index as usize].gen;
        self.metrics.ops_submitted += 1;
        self.copies += 1;
        let done = copy.is_done();
        self.slots[index as usize].copy = Some(Box::new(copy));
        if done {
            // Nothing to move (a length of 0): complete through the reap.
            self.slots[index as usize].awaiting = 1;
            self.inline.push_back((step_data(index, gen, 0), 0));
            if let Some(fd) = self.eventfd() {
                let _ = crate::sys::eventfd_signal(fd);
            }
        } else {
            self.push_copy(index);
        }
        Ok(OpId { index, gen })
    }

    /// Pushes the current SQEs of the copy in op slot `index`.
    fn push_copy(&mut self, index: u32) {
        let gen = self.slots[index as usize].gen;
        let Some(copy) = self.slots[index as usize].copy.as_mut() else { return };
        let entries = copy.entries();
        let n = entries.len();
        if self.make_room(n).is_err() {
            // Cannot happen short of a broken ring: end the copy as cancelled.
            self.slots[index as usize].awaiting = n as u8;
            for i in 0..n {
                self.inline.push_back((step_data(index, gen, i), -libc::ECANCELED));
            }
            return;
        }
        let mut sq = self.uring.submission();
        for (i, e) in entries.into_iter().enumerate() {
            // SAFETY: the SQEs point into heap data the copy owns (paths,
            // the statx buffer; fds it or its caller holds), and the copy
            // stays in its slot until every CQE has arrived (`copy_cqe`);
            // room was made, and a linked pair goes in under one SQ borrow.
            unsafe { sq.push(&e.user_data(step_data(index, gen, i))).expect("room was made") };
        }
        drop(sq);
        self.slots[index as usize].awaiting = n as u8;
    }

    /// Cancels the copy in `index` (its slot is live).
    pub(super) fn cancel_copy(&mut self, index: u32) {
        self.slots[index as usize].flags |= F_ABORTED;
        self.cancel_copy_pending(index);
    }

    /// Asks the kernel to cancel every step of the copy whose CQE has not
    /// arrived (a linked step not issued yet is not found: asked again as
    /// CQEs come in).
    fn cancel_copy_pending(&mut self, index: u32) {
        let gen = self.slots[index as usize].gen;
        let pending: Vec<usize> = match self.slots[index as usize].copy.as_ref() {
            Some(c) => (0..2).filter(|&i| c.pending(i)).collect(),
            None => return,
        };
        for i in pending {
            let ud = step_data(index, gen, i);
            let entry = opcode::AsyncCancel::new(ud).build().user_data(TAG_CHAIN_CANCEL | ud);
            if self.make_room(1).is_ok() {
                // SAFETY: a cancel references no memory; room was made.
                unsafe { self.push(entry, None) };
            }
        }
    }

    /// Whether the cancel CQE `ud` is of a copy's step (not a chain's).
    pub(super) fn is_copy_cancel(&self, ud: u64) -> bool {
        let (index, _) = super::slots::split(ud);
        self.slots.get(index as usize).is_some_and(|s| s.copy.is_some())
    }

    /// The CQE of a cancel `cancel_copy_pending` asked for: not found
    /// means not issued yet, so ask again.
    pub(super) fn copy_cancel_cqe(&mut self, ud: u64, res: i32) {
        if res != -libc::ENOENT {
            return;
        }
        let (index, gen) = super::slots::split(ud);
        let step = super::slots::step_of(ud);
        let again = self.slots.get(index as usize).is_some_and(|s| {
            s.gen == gen && s.flags & F_ABORTED != 0 && s.copy.as_ref().is_some_and(|c| c.pending(step))
        });
        if again {
            self.cancel_copy_pending(index);
        }
    }

    /// A CQE of a copy's step.
    pub(super) fn copy_cqe(&mut self, ud: u64, res: i32, out: &mut Vec<Completion>) {
        let (index, gen) = super::slots::split(ud);
        let step = super::slots::step_of(ud);
        let slot = &mut self.slots[index as usize];
        slot.awaiting = slot.awaiting.saturating_sub(1);
        let Some(copy) = slot.copy.as_mut() else { return };
        copy.record(step, res);
        if slot.awaiting > 0 {
            if slot.flags & F_ABORTED != 0 {
                self.cancel_copy_pending(index);
            }
            return;
        }
        let stop = slot.flags & (F_ABORTED | F_ORPHANED) != 0;
        if copy.is_done() || !copy.advance(stop, &mut self.pipes) {
            let mut copy = self.slots[index as usize].copy.take().expect("checked above");
            self.metrics.ops_completed += 1;
            self.copies -= 1;
            // Its pipe, empty, serves the next copy; none is kept once no
            // copy is in flight.
            match copy.take_pipe() {
                Some(p) if self.copies > 0 && self.pipes.len() < PIPE_POOL => self.pipes.push(p),
                _ => {}
            }
            if self.copies == 0 {
                self.pipes.clear();
            }
            out.push(Completion {
                id: OpId { index, gen },
                result: copy.result(),
                op: None,
                buffer: None,
                new_fd: false,
                chain: None,
                copy: Some(copy),
            });
            self.release(index);
        } else {
            self.push_copy(index);
        }
    }
}
