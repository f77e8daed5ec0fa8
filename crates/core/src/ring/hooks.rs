//! Where an op adds to the generic lifecycle: each hook is asked of every
//! op at one step of `submit` or `complete`, and only the ops named in it
//! answer anything but "nothing". Kept beside the lifecycle rather than in
//! op.rs: these are the lifecycle's questions, one match each.

use std::os::fd::RawFd;
use std::sync::Arc;

use crate::op::Op;
use crate::resolve::Lookup;
use crate::sys;

/// Addressed messages (see `crate::msg`): constructors rather than hooks,
/// kept here because msg.rs, which op.rs imports, must not import op.rs.
impl Op {
    /// A post of `value` to ring `to` (its [`crate::Ring::id`]) behind the
    /// ring fd `target`, addressed: its data is `to`.
    pub fn message(target: RawFd, to: u32, value: i32) -> Op {
        Op::MsgRing { target, to, data: to as u64, value, fd: None }
    }

    /// A post of a close-on-exec duplicate of `fd` to ring `to` behind the
    /// ring fd `target`: the op owns the duplicate (see the module's rules).
    /// Fails with `-errno` when `fd` cannot be duplicated.
    pub fn pass_fd(target: RawFd, to: u32, fd: RawFd) -> Result<Op, i32> {
        match sys::dup_cloexec(fd) {
            dup if dup >= 0 => Ok(Op::MsgRing { target, to, data: to as u64, value: 0, fd: Some(dup) }),
            e => Err(e),
        }
    }
}

impl Op {
    /// An fd the op owns and must close itself if it is never posted (a
    /// MsgRing's duplicate). Asked before submit.
    pub(super) fn carried_fd(&self) -> Option<RawFd> {
        match self {
            Op::MsgRing { fd: Some(fd), .. } => Some(*fd),
            _ => None,
        }
    }

    /// The job the op is, when it runs on the resolver pool rather than in
    /// the kernel (completed by a MSG_RING post from the pool).
    pub(super) fn pool_job(&self) -> Option<&Arc<Lookup>> {
        match self {
            Op::Resolve { lookup } => Some(lookup),
            _ => None,
        }
    }

    /// Last step of submit, as nothing after it fails: a MsgRing's target
    /// must still be live, and a passed fd is in transit to it from here.
    /// False refuses the op (-EBADF).
    pub(super) fn start_post(&self) -> bool {
        match *self {
            Op::MsgRing { to, fd: None, .. } => to == 0 || crate::msg::is_live(to),
            Op::MsgRing { to, fd: Some(fd), .. } => crate::msg::send(fd, to),
            _ => true,
        }
    }

    /// The fd whose ops this op cancels (CancelFd), so the ring can also
    /// stop those it would otherwise issue again (see `abort_rearms`).
    pub(super) fn cancels_fd(&self) -> Option<RawFd> {
        match self {
            Op::CancelFd { fd } => Some(*fd),
            _ => None,
        }
    }

    /// Whether the op's result CQE is followed by a notification CQE that
    /// ends it (a zero-copy send: the kernel reads the buffer until then).
    pub(super) fn ends_with_notification(&self) -> bool {
        matches!(self, Op::SendZc { .. })
    }

    /// The op ended with `res` (the kernel's): a MsgRing whose post failed
    /// still owns its duplicate, unless its target retired and closed it.
    pub(super) fn ended(&self, res: i32) {
        if let Op::MsgRing { fd: Some(fd), .. } = *self {
            if res < 0 {
                crate::msg::undelivered(fd);
            }
        }
    }
}
