//! The op table: slots, and the user_data that names them in the kernel.
//!
//! user_data layout: bits 0..24 slot index, 24..32 the step of a chain
//! (see `chain`), 32..61 generation, bit 61 marks
//! a message from another ring (its own bits are `crate::msg`'s), bit 62 the
//! CQE of an op's linked timeout, bit 63 internal requests (cancels) whose
//! CQEs carry nothing for anyone. The generation makes a late CQE or a stale
//! [`OpId`] miss a newer op in the same slot.

use std::time::{Duration, Instant};

use io_uring::{opcode, squeue, types};

use super::Ring;
use crate::op::Op;

pub(super) const GEN_MASK: u64 = (1 << 29) - 1;
pub(super) const TAG_TIMEOUT: u64 = 1 << 62;
pub(super) const TAG_INTERNAL: u64 = 1 << 63;

/// Slot indices stay below this: the bits above carry a chain's step.
pub(super) const MAX_SLOTS: u32 = 1 << 24;

pub(super) fn user_data(index: u32, gen: u32) -> u64 {
    ((gen as u64 & GEN_MASK) << 32) | index as u64
}

/// The user_data of step `step` of the chain in slot `index`.
pub(super) fn step_data(index: u32, gen: u32, step: usize) -> u64 {
    user_data(index, gen) | ((step as u64 & 0xff) << 24)
}

/// The slot a CQE's user_data names, and the generation it names.
pub(super) fn split(ud: u64) -> (u32, u32) {
    ((ud as u32) & (MAX_SLOTS - 1), ((ud >> 32) & GEN_MASK) as u32)
}

/// The chain step a CQE's user_data names (0 for a single op).
pub(super) fn step_of(ud: u64) -> usize {
    ((ud >> 24) & 0xff) as usize
}

// Slot flags.
pub(super) const F_LINKED_TIMEOUT: u8 = 1;
pub(super) const F_ABORTED: u8 = 2;
pub(super) const F_ORPHANED: u8 = 4;
/// Completed outside the kernel (the resolver pool), posted by MSG_RING.
pub(super) const F_EXTERNAL: u8 = 8;
/// The op would have blocked; a POLLOUT poll of its fd is in flight under
/// its user_data, and the op is issued again when the poll fires.
pub(super) const F_POLLING: u8 = 16;

#[derive(Default)]
pub(super) struct Slot {
    pub(super) gen: u32,
    /// The op while its own CQE is outstanding.
    pub(super) op: Option<Op>,
    /// The linked timeout's timespec while its CQE is outstanding.
    pub(super) link_ts: Option<Box<types::Timespec>>,
    /// CQEs still to arrive; the slot is free when this is 0.
    pub(super) awaiting: u8,
    pub(super) flags: u8,
    /// When the op was queued (profile mode).
    pub(super) queued_at: Option<Instant>,
    /// A zero-copy send's result, held until the kernel's notification.
    pub(super) partial: i32,
    /// When the op's timeout expires, for ops the ring issues again.
    pub(super) deadline: Option<Instant>,
    /// The chain in this slot, while any of its CQEs is outstanding.
    pub(super) chain: Option<Box<crate::chain::Chain>>,
    /// The file-table slot this slot's chain holds (until it is empty again).
    pub(super) file: Option<u32>,
    /// The copy in this slot, while any of its CQEs is outstanding.
    pub(super) copy: Option<Box<crate::copy::Copy>>,
}

impl Slot {
    /// Whether an op or a chain the caller can still cancel is in this slot.
    pub(super) fn live(&self) -> bool {
        self.op.is_some() || self.chain.is_some() || self.copy.is_some()
    }
}

impl Slot {
    /// A LINK_TIMEOUT SQE of `t` for the op in this slot; the slot owns its
    /// timespec until it is released. Replacing an earlier one is sound:
    /// that one's SQE was consumed with the op it was linked to, whose CQE
    /// has arrived, and the kernel copies the timespec at prep.
    pub(super) fn link_timeout(&mut self, t: Duration, ud: u64) -> squeue::Entry {
        let ts = self.link_ts.insert(Box::new(types::Timespec::new().sec(t.as_secs()).nsec(t.subsec_nanos())));
        opcode::LinkTimeout::new(&**ts).build().user_data(ud | TAG_TIMEOUT)
    }
}

impl Ring {
    pub(super) fn alloc_slot(&mut self) -> u32 {
        self.in_use += 1;
        match self.free.pop() {
            Some(i) => i,
            None => {
                assert!((self.slots.len() as u32) < MAX_SLOTS, "more than 2^24 ops in flight");
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        }
    }

    pub(super) fn release(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.gen = slot.gen.wrapping_add(1) & GEN_MASK as u32;
        slot.flags = 0;
        slot.op = None;
        slot.link_ts = None;
        slot.queued_at = None;
        slot.partial = 0;
        slot.deadline = None;
        slot.chain = None;
        slot.copy = None;
        debug_assert!(slot.file.is_none(), "a file-table slot outlived its chain");
        self.in_use -= 1;
        self.free.push(index);
    }
}
