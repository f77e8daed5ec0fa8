//! Chains (see `uring_machine_core::chain`): readFile and writeFile, each
//! one submission of linked ops on a direct descriptor and one completion.
//!
//! A chain's completion reports its length (readFile: the new Buffer at
//! `dsts[slot]` holds the data) or its first failure encoded as
//! `-(errno + (step << 12))`, `step` naming the syscall that failed
//! (`deliver::STEP_CODES`; JS reads the same table), so JS can shape the error
//! as Node does (`syscall: 'open'` with the path, `'read'` without).


use uring_machine_core::chain::READ_FILE_CHUNK;
use uring_machine_core::{Chain, SubmitError};

use super::{bool_arg, copy_in, i32_arg, u32_arg, Cell};
use crate::event_loop::schedule_flush;
use crate::js;
use crate::state::{timeout, RES_BAD_ARG, RES_CLOSED};
use crate::uv;

/// The chain lifecycle's first half, like `super::submit` for single ops.
fn submit_chain(cell: &Cell, chain: Chain, timeout_ms: f64) -> i32 {
    let Ok(mut inner) = cell.try_borrow_mut() else { return -libc::EBUSY };
    if inner.closing || inner.dead {
        return RES_CLOSED;
    }
    let Some(ring) = inner.ring.as_mut() else { return RES_CLOSED };
    match ring.submit_chain(chain, &timeout(timeout_ms)) {
        Ok(id) => {
            schedule_flush(&mut inner);
            if !inner.referenced {
                inner.referenced = true;
                // SAFETY: the poll handle is open while the ring is live.
                unsafe { uv::set_ref(inner.poll, true) };
            }
            id.index() as i32
        }
        Err(SubmitError::Closed) => RES_CLOSED,
        // JS falls back to single ops (a kernel before 5.19, an SQPOLL ring).
        Err(SubmitError::Unsupported(_)) => -libc::ENOSYS,
        Err(SubmitError::Io(e)) => -e.raw_os_error().unwrap_or(libc::EIO),
        Err(SubmitError::CredentialsChanged) => -libc::EPERM,
        Err(_) => -libc::EINVAL,
    }
}

// readFile(path, flags, mode)
op_fn!(
    read_file(3) | c,
    e,
    a | match js::path(e, a[0]) {
        Some(path) => {
            // Pooled: reading into fresh 64 KiB buffers (malloc, free,
            // consolidation) cost more than the reads.
            let bufs = match c.try_borrow_mut() {
                Ok(mut inner) => [inner.pool.take(READ_FILE_CHUNK), inner.pool.take(READ_FILE_CHUNK)],
                Err(_) => [Vec::with_capacity(READ_FILE_CHUNK), Vec::with_capacity(READ_FILE_CHUNK)],
            };
            submit_chain(c, Chain::read_file_into(path, i32_arg(e, a[1]), u32_arg(e, a[2]), bufs), 0.0)
        }
        None => RES_BAD_ARG,
    }
);

// writeFile(path, flags, mode, view, offset, length, flush)
op_fn!(
    write_file(7) | c,
    e,
    a | match (js::path(e, a[0]), copy_in(c, e, a[3], u32_arg(e, a[4]), u32_arg(e, a[5]))) {
        (Some(path), Some(data)) => {
            let chain = Chain::write_file(path, i32_arg(e, a[1]), u32_arg(e, a[2]), data, bool_arg(e, a[6]));
            submit_chain(c, chain, 0.0)
        }
        _ => RES_BAD_ARG,
    }
);
