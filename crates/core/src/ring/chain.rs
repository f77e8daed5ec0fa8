//! Chains in the ring (see [`crate::chain`]): the registered file table
//! and its free list, submitting a chain's linked SQEs, their CQEs, and
//! emptying a chain's file slot whatever became of the chain.
//!
//! A chain takes one op slot for its whole life; each of its SQEs carries
//! that slot's user_data plus its step number (`slots::step_data`), so a
//! chain completes once, when the CQE of every step has arrived. The op
//! slot is released only after the file slot is empty again: the chain's
//! memory (paths, buffers, statx results) lives until its last CQE, and a
//! file slot is never handed to another chain while a file is in it.

use std::collections::VecDeque;
use std::io;

use io_uring::opcode;

use super::slots::{step_data, F_ABORTED, F_ORPHANED, TAG_INTERNAL, TAG_TIMEOUT};

/// The user_data tag of a cancel of a chain's step: internal, and naming
/// the step (single ops' internal requests carry no slot).
pub(super) const TAG_CHAIN_CANCEL: u64 = TAG_INTERNAL | TAG_TIMEOUT;
use super::{Completion, OpId, OpOptions, Ring, SubmitError};
use crate::chain::{Chain, Next, Step};
use crate::sys;

/// File-table size: at most this, and at most RLIMIT_NOFILE (the kernel's
/// own limit on a registered table). Chains beyond it wait for a slot.
const FILE_TABLE: u32 = 4096;

/// The ring's registered file table, made sparse on the first chain.
pub(super) struct FileTable {
    free: Vec<u32>,
    size: u32,
    /// Op slots of chains waiting for a file slot, in arrival order.
    parked: VecDeque<u32>,
}

impl Ring {
    /// Whether this ring can run chains: a sparse file table (5.19) and the
    /// opcodes of every step.
    pub fn supports_chains(&mut self) -> bool {
        let codes = [opcode::OpenAt::CODE, opcode::Read::CODE, opcode::Write::CODE, opcode::Close::CODE];
        codes.iter().all(|&c| self.supports(c)) && self.gate.is_none() && self.file_table().is_ok()
    }

    /// SQEs queued and not yet submitted (a chain's next reads, the close
    /// of a finished chain's slot, queued during a reap).
    pub fn unsubmitted(&mut self) -> usize {
        self.uring.submission().len() + self.gate.as_ref().map_or(0, |g| g.held.len())
    }

    /// Free slots of the file table (its size when no chain holds one), for
    /// leak checks; 0 before the first chain.
    pub fn free_file_slots(&self) -> usize {
        self.files.as_ref().map_or(0, |t| t.free.len())
    }

    /// The file table's size (0 before the first chain).
    pub fn file_slots(&self) -> usize {
        self.files.as_ref().map_or(0, |t| t.size as usize)
    }

    fn file_table(&mut self) -> io::Result<&mut FileTable> {
        if self.files.is_none() {
            if self.files_refused {
                return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
            }
            let size = FILE_TABLE.min(sys::nofile_limit().max(16));
            if let Err(e) = self.uring.submitter().register_files_sparse(size) {
                self.files_refused = true;
                return Err(e);
            }
            // Handed out from the low end first (popped from the back).
            let free = (0..size).rev().collect();
            self.files = Some(FileTable { free, size, parked: VecDeque::new() });
        }
        Ok(self.files.as_mut().expect("made above"))
    }

    /// Queues `chain`: its steps reach the kernel, linked, at the next
    /// [`Ring::flush`]. It completes once (see [`Completion::chain`]). A
    /// chain refused here is dropped. With every file slot taken, it waits
    /// (in the ring, in order) for one. Per-op timeouts are not taken.
    pub fn submit_chain(&mut self, mut chain: Chain, opts: &OpOptions) -> Result<OpId, SubmitError> {
        chain.prepare(self.uring.submission().capacity());
        if self.closing {
            return Err(SubmitError::Closed);
        }
        if self.gate.is_some() {
            // The credential gate releases SQEs in pairs, which could split a link.
            return Err(SubmitError::Unsupported("chain (on an SQPOLL ring)"));
        }
        if opts.timeout.is_some() {
            return Err(SubmitError::Io(io::Error::from_raw_os_error(libc::EINVAL)));
        }
        if let Some(step) = chain.steps().iter().find(|s| !self.supports(s.opcode())) {
            return Err(SubmitError::Unsupported(step.name()));
        }
        if !chain.needs_file() {
            // A stat_many: no file slot, no table (nor its kernel) needed.
            let index = self.alloc_slot();
            let slot = &mut self.slots[index as usize];
            let id = OpId { index, gen: slot.gen };
            slot.chain = Some(Box::new(chain));
            self.metrics.ops_submitted += 1;
            self.push_steps(index);
            return Ok(id);
        }
        if let Err(e) = self.file_table() {
            return Err(match e.raw_os_error() {
                Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => SubmitError::Unsupported("chain (no sparse file table)"),
                _ => SubmitError::Io(e),
            });
        }
        let need = chain.len_steps();
        if let Err(e) = self.make_room(need) {
            return Err(SubmitError::Io(e));
        }
        let index = self.alloc_slot();
        let slot = &mut self.slots[index as usize];
        let id = OpId { index, gen: slot.gen };
        slot.chain = Some(Box::new(chain));
        self.metrics.ops_submitted += 1;
        let table = self.files.as_mut().expect("made above");
        match table.free.pop() {
            Some(file) => {
                self.slots[index as usize].file = Some(file);
                self.push_steps(index);
            }
            None => table.parked.push_back(index),
        }
        Ok(id)
    }

    /// Pushes the current steps of the chain in op slot `index`, linked.
    /// Room was made, or is made here (a chain re-armed from a reap).
    fn push_steps(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        let Some(chain) = slot.chain.as_mut() else { return };
        // A chain without a file (a stat_many) names none: slot 0 is unused.
        let Some(file) = (if chain.needs_file() { slot.file } else { Some(0) }) else { return };
        let n = chain.len_steps();
        if self.make_room(n).is_err() {
            // Cannot happen short of a broken ring: end the chain as cancelled.
            let gen = self.slots[index as usize].gen;
            let slot = &mut self.slots[index as usize];
            slot.awaiting = n as u8;
            for i in 0..n {
                self.inline.push_back((step_data(index, gen, i), -libc::ECANCELED));
            }
            return;
        }
        let slot = &mut self.slots[index as usize];
        let gen = slot.gen;
        let chain = slot.chain.as_mut().expect("checked above");
        let mut sq = self.uring.submission();
        for i in 0..n {
            let flags = chain.link_flags(i) | chain.async_flags(i);
            let entry = chain.step_mut(i).entry(file).flags(flags).user_data(step_data(index, gen, i));
            // SAFETY: the SQEs point into heap data owned by the chain's
            // steps, which stay in the slot until every step's CQE has
            // arrived (`chain_cqe`); room for all of them was made above,
            // and they go in under one SQ borrow so the link is never split.
            unsafe { sq.push(&entry).expect("room was made") };
        }
        drop(sq);
        self.slots[index as usize].awaiting = n as u8;
    }

    /// Cancels the chain in `index` (its slot is live): the steps in the
    /// kernel are asked to stop, a parked chain ends at once.
    pub(super) fn cancel_chain(&mut self, index: u32) {
        let gen = self.slots[index as usize].gen;
        self.slots[index as usize].flags |= F_ABORTED;
        if let Some(t) = self.files.as_mut() {
            if let Some(at) = t.parked.iter().position(|&i| i == index) {
                t.parked.remove(at);
                let slot = &mut self.slots[index as usize];
                if let Some(c) = slot.chain.as_mut() {
                    c.cancel_unsubmitted();
                }
                slot.awaiting = 1;
                // One CQE's worth, reported for step 0 (already cancelled).
                self.inline.push_back((step_data(index, gen, 0), -libc::ECANCELED));
                if let Some(fd) = self.eventfd() {
                    let _ = sys::eventfd_signal(fd);
                }
                return;
            }
        }
        self.cancel_pending(index);
    }

    /// Asks the kernel to cancel every step of the chain in `index` whose
    /// CQE has not arrived (a step not issued yet is not found: see
    /// `chain_cqe`, which asks again as each CQE comes in).
    fn cancel_pending(&mut self, index: u32) {
        let gen = self.slots[index as usize].gen;
        let pending: Vec<usize> = match self.slots[index as usize].chain.as_ref() {
            Some(c) => (0..c.len_steps()).filter(|&i| c.pending(i)).collect(),
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

    /// The CQE of a cancel `cancel_pending` asked for. A step that was not
    /// found had not been issued yet (the step before it was still
    /// running, or its completion's task work had not issued it): ask
    /// again, now that this CQE shows the kernel has moved on.
    pub(super) fn chain_cancel_cqe(&mut self, ud: u64, res: i32) {
        if res != -libc::ENOENT {
            return;
        }
        let (index, gen) = super::slots::split(ud);
        let step = super::slots::step_of(ud);
        let again = self.slots.get(index as usize).is_some_and(|s| {
            s.gen == gen && s.flags & F_ABORTED != 0 && s.chain.as_ref().is_some_and(|c| c.pending(step))
        });
        if again {
            self.cancel_pending(index);
        }
    }

    /// A CQE of a chain's step, or of the close of a finished chain's slot.
    pub(super) fn chain_cqe(&mut self, ud: u64, res: i32, out: &mut Vec<Completion>) {
        let (index, gen) = super::slots::split(ud);
        let step = super::slots::step_of(ud);
        let slot = &mut self.slots[index as usize];
        slot.awaiting = slot.awaiting.saturating_sub(1);
        let Some(chain) = slot.chain.as_mut() else {
            // The background close of a finished readFile's slot.
            if res < 0 && res != -libc::EBADF {
                self.clear_file(index);
            }
            if self.slots[index as usize].awaiting == 0 {
                self.free_file(index);
                self.release(index);
            }
            return;
        };
        chain.record(step, res);
        if slot.awaiting > 0 {
            if slot.flags & F_ABORTED != 0 && chain.linked() {
                // A step hard-linked to a cancelled one starts after it: it
                // was not in the kernel for the first cancel to find.
                self.cancel_pending(index);
            }
            return;
        }
        let stop = slot.flags & (F_ABORTED | F_ORPHANED) != 0;
        match chain.advance(stop) {
            Next::More => self.push_steps(index),
            Next::Done { close } => {
                let chain = self.slots[index as usize].chain.take().expect("checked above");
                let result = chain.result();
                self.metrics.ops_completed += 1;
                out.push(Completion {
                    id: OpId { index, gen },
                    result,
                    op: None,
                    buffer: None,
                    new_fd: false,
                    chain: Some(chain),
                    copy: None,
                });
                let orphaned = self.slots[index as usize].flags & F_ORPHANED != 0;
                if close && !orphaned && self.push_close(index).is_ok() {
                    return; // the slot is released at the close's CQE
                }
                if close {
                    self.clear_file(index);
                }
                self.free_file(index);
                self.release(index);
            }
        }
    }

    /// Queues the close of a finished chain's file slot, under the chain's
    /// op slot (still held) so its CQE finds its way back here.
    fn push_close(&mut self, index: u32) -> io::Result<()> {
        let Some(file) = self.slots[index as usize].file else { return Ok(()) };
        self.make_room(1)?;
        let gen = self.slots[index as usize].gen;
        let entry = Step::Close.entry(file).user_data(step_data(index, gen, 0));
        self.slots[index as usize].awaiting = 1;
        // SAFETY: a close of a fixed file references no memory; room was made.
        unsafe { self.push(entry, None) };
        Ok(())
    }

    /// Empties the file slot of op slot `index` at once, closing whatever
    /// is in it (a synchronous files update to -1; an empty slot is fine).
    fn clear_file(&mut self, index: u32) {
        if let Some(file) = self.slots[index as usize].file {
            let _ = self.uring.submitter().register_files_update(file, &[-1]);
            self.metrics.chain_cleanups += 1;
        }
    }

    /// Gives the (empty) file slot of op slot `index` back, to the first
    /// parked chain if one waits.
    fn free_file(&mut self, index: u32) {
        let Some(file) = self.slots[index as usize].file.take() else { return };
        let Some(t) = self.files.as_mut() else { return };
        match t.parked.pop_front() {
            Some(next) => {
                self.slots[next as usize].file = Some(file);
                self.push_steps(next);
            }
            None => t.free.push(file),
        }
    }

    /// At close: chains still parked end as cancelled.
    pub(super) fn cancel_parked(&mut self) {
        let parked: Vec<u32> = self.files.as_ref().map(|t| t.parked.iter().copied().collect()).unwrap_or_default();
        for index in parked {
            self.cancel_chain(index);
        }
    }
}
