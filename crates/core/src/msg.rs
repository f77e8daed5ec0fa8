//! Messages between rings: how they are addressed, and who owns an fd
//! passed with one ([`crate::Op::MsgRing`] with `fd`).
//!
//! Addressing: a ring fd number names whatever ring has it now, so a post
//! to a ring that has gone away can reach a newer ring that reused the
//! number. [`crate::Op::message`] and [`crate::Op::pass_fd`] address a message with its
//! target's [`crate::Ring::id`]: the kernel refuses it (the ring is not
//! live) or the receiver's [`crate::Ring::take_addressed_messages`] drops
//! a value that names another ring; an fd is claimed only by its target.
//!
//! A passed fd is a duplicate whose number travels in a MSG_RING completion.
//! Between the sender's submit and the receiver's reap of that completion
//! the kernel holds only a number: if the receiver goes away first (closed,
//! collected, its thread ended), its CQ and the kernel's deferred task work
//! go with it, and the sender has already been told "delivered". So the
//! process keeps one table of fds in transit and the rings that may still
//! take them:
//!
//! - a send registers the fd for its target ring, only while that ring is
//!   live (else it is refused, and the sender closes its duplicate);
//! - a receiver owns a passed fd only by claiming it from the table when it
//!   reaps the message; a message whose fd is not in transit to it is
//!   ignored (never closed: the number may be somebody else's by now);
//! - a sender whose post failed closes the fd only if it is still in transit;
//! - a ring going away retires: it is no longer live, and every fd still in
//!   transit to it is closed.
//!
//! Each fd number is in the table at most once (it is open while there, and
//! an open number is unique), and every step is one critical section, so an
//! fd is closed exactly once whichever way the race between a send, a
//! delivery and a teardown goes.

use std::collections::{HashMap, HashSet};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::sys;

// A message's user_data: bit 61 (`TAG_MSG`, reserved for it by the ring's
// layout in ring/slots.rs) marks it, bit 60 says its value is an fd, and
// bits 0..60 are the sender's.
pub(crate) const TAG_MSG: u64 = 1 << 61;
pub(crate) const MSG_FD: u64 = 1 << 60;
/// The bits of a message's data the sender chooses.
pub const MSG_DATA_MASK: u64 = (1 << 60) - 1;

/// A completion another ring posted to this one (see [`crate::Op::MsgRing`]).
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

#[derive(Default)]
struct Transit {
    /// Rings that may still claim messages.
    live: HashSet<u32>,
    /// Fds posted and not yet claimed, and the ring each is for.
    fds: HashMap<RawFd, u32>,
}

static TRANSIT: Mutex<Option<Transit>> = Mutex::new(None);
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

fn with<T>(f: impl FnOnce(&mut Transit) -> T) -> T {
    // A panic elsewhere while holding the lock leaves the table consistent
    // (every step is a single insert or remove): keep using it.
    let mut guard = TRANSIT.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Transit::default))
}

/// A new process-unique ring id (never 0), live until [`retire`].
pub(crate) fn register() -> u32 {
    let id = loop {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if id != 0 {
            break id;
        }
    };
    with(|t| t.live.insert(id));
    id
}

/// Whether ring `id` may still receive.
pub(crate) fn is_live(id: u32) -> bool {
    with(|t| t.live.contains(&id))
}

/// Puts `fd` in transit to ring `to`; false (nothing changed) if that ring is gone.
pub(crate) fn send(fd: RawFd, to: u32) -> bool {
    with(|t| {
        if !t.live.contains(&to) {
            return false;
        }
        t.fds.insert(fd, to);
        true
    })
}

/// A message carrying `fd` reached ring `id`: true if the fd is now its own.
fn claim(fd: RawFd, id: u32) -> bool {
    with(|t| match t.fds.get(&fd) {
        Some(&to) if to == id => {
            t.fds.remove(&fd);
            true
        }
        _ => false,
    })
}

/// The post of `fd` failed: closes it if nobody else has (a retired target).
pub(crate) fn undelivered(fd: RawFd) {
    if with(|t| t.fds.remove(&fd).is_some()) {
        sys::close(fd);
    }
}

/// Ring `id` is going away: it takes nothing more, and what was in transit to it is closed.
pub(crate) fn retire(id: u32) {
    let orphans: Vec<RawFd> = with(|t| {
        t.live.remove(&id);
        let fds: Vec<RawFd> = t.fds.iter().filter(|&(_, &to)| to == id).map(|(&fd, _)| fd).collect();
        for fd in &fds {
            t.fds.remove(fd);
        }
        fds
    });
    orphans.into_iter().for_each(sys::close);
}

/// The message a CQE tagged [`TAG_MSG`] brings to ring `id`; `None` for an
/// fd that is not in transit to it (neither its to use nor to close).
pub(crate) fn received(ud: u64, res: i32, id: u32) -> Option<Message> {
    let fd = ud & MSG_FD != 0;
    if fd && !claim(res, id) {
        return None;
    }
    Some(Message { data: ud & MSG_DATA_MASK, value: res, fd })
}

/// Whether `m` is for ring `id`: an fd always is (the transit table made
/// sure), a value when its data names `id`.
pub(crate) fn addressed_to(m: &Message, id: u32) -> bool {
    m.fd || m.data == id as u64
}
