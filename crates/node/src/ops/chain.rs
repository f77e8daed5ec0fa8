//! Chains (see `uring_machine_core::chain`): readFile, writeFile and the
//! caller's own steps (batch), each one submission of linked ops on a
//! direct descriptor and one completion; statMany, independent statx steps
//! completing once.
//!
//! A chain's completion reports its length (readFile: the new ArrayBuffer,
//! which JS makes a Buffer, or for more than 64 KiB the new Buffer, at
//! `dsts[slot]` holds the data) or its first failure encoded as
//! `-(errno + (step << 12))`, `step` naming the syscall that failed
//! (`deliver::STEP_CODES`; JS reads the same table), so JS can shape the error
//! as Node does (`syscall: 'open'` with the path, `'read'` without).

use std::ffi::CString;

use uring_machine_core::chain::READ_FILE_CHUNK;
use uring_machine_core::{Chain, Step};

use super::{bool_arg, copy_in, f64_arg, i32_arg, submit_with, u32_arg, Cell, MAX_LENGTH};
use crate::js;
use crate::state::{position, timeout, RES_BAD_ARG};

/// The chain lifecycle's first half, like `super::submit` for single ops;
/// `-ENOSYS` (a kernel before 5.19, an SQPOLL ring) makes JS use single ops.
fn submit_chain(cell: &Cell, chain: Chain, timeout_ms: f64) -> i32 {
    submit_with(cell, chain, drop, |ring, chain| ring.submit_chain(chain, &timeout(timeout_ms)))
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

/// The steps JS's `batch()` builder encodes, each an array led by its kind
/// (packages/uring-machine/src/ops/batch.ts writes the same):
/// `[0, path, flags, mode]` open, `[1, length, position]` read,
/// `[2, view, offset, length, position]` write, `[3, datasync]` fsync,
/// `[4, path, flags, mask]` statx, `[5]` close. A read's data goes into a
/// buffer the chain owns and is copied into the caller's view at
/// completion (`deliver::steps_out`), as a single read's is.
///
/// # Safety
/// `env` and `arr` are live for the current call.
unsafe fn batch_steps(c: &Cell, e: napi::sys::napi_env, arr: napi::sys::napi_value) -> Option<Vec<Step>> {
    let n = js::array_len(e, arr)?;
    let mut steps = Vec::with_capacity(n as usize);
    for i in 0..n {
        let s = js::element(e, arr, i);
        let a = |k: u32| js::element(e, s, k);
        let step = match i32_arg(e, a(0)) {
            0 => Step::Open { path: js::path(e, a(1))?, flags: i32_arg(e, a(2)), mode: u32_arg(e, a(3)) },
            1 => {
                let len = u32_arg(e, a(1));
                if len > MAX_LENGTH {
                    return None;
                }
                Step::Read { buf: vec![0; len as usize], position: position(f64_arg(e, a(2))) }
            }
            2 => {
                let buf = copy_in(c, e, a(1), u32_arg(e, a(2)), u32_arg(e, a(3)))?;
                Step::Write { buf, position: position(f64_arg(e, a(4))) }
            }
            3 => Step::Fsync { datasync: bool_arg(e, a(1)) },
            4 => Step::Statx {
                path: js::path(e, a(1))?,
                flags: i32_arg(e, a(2)),
                mask: u32_arg(e, a(3)),
                buf: Box::default(),
            },
            5 => Step::Close,
            _ => return None,
        };
        steps.push(step);
    }
    Some(steps)
}

// batch(steps): a chain of the caller's steps (see `batch_steps`).
op_fn!(
    batch(1) | c,
    e,
    a | match batch_steps(c, e, a[0]).and_then(Chain::new) {
        Some(chain) => submit_chain(c, chain, 0.0),
        None => RES_BAD_ARG,
    }
);

/// The paths of a statMany, from a JS array of strings or Buffers.
///
/// # Safety
/// `env` and `arr` are live for the current call.
unsafe fn paths(e: napi::sys::napi_env, arr: napi::sys::napi_value) -> Option<Vec<CString>> {
    let n = js::array_len(e, arr)?;
    (0..n).map(|i| js::path(e, js::element(e, arr, i))).collect()
}

// statMany(paths, flags, mask): statx of every path, independent steps;
// the results go into [Int32Array(n), statx array(18 n)] at dsts[slot].
op_fn!(
    stat_many(3) | _c,
    e,
    a | match paths(e, a[0]).and_then(|p| Chain::stat_many(p, i32_arg(e, a[1]), u32_arg(e, a[2]))) {
        Some(chain) => submit_chain(_c, chain, 0.0),
        None => RES_BAD_ARG,
    }
);
