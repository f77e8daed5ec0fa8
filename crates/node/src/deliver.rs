//! Delivery: reaped completions into JS. Each batch is written as (slot,
//! result) pairs into the shared Int32Array, read data copied out of the
//! core op into the caller's view on the way (the kernel only ever touched
//! memory the core op owns), and handed to one JS callback in a callback
//! scope, so promise continuations run right after it.

use std::os::raw::c_void;
use std::ptr;

use napi::sys;

use uring_machine_core::{Chain, Completion, Output, Step};

use crate::convert;
use crate::js;
use crate::state::{Shared, BATCH, RES_CLOSED, RES_DETACHED, SLOT_MESSAGE, SLOT_MESSAGE_FD, SLOT_MORE};

/// Writes the reaped completions into the pairs buffer (copying read data
/// into the destination views) and calls JS once. No borrow of the state is
/// held while Node-API runs code that could reach JS: nothing JS could do
/// from there can alias it.
pub(crate) fn deliver(shared: &Shared, env: sys::napi_env) {
    let (mut done, results, dsts_ref, cb, ctx) = {
        let Ok(mut inner) = shared.try_borrow_mut() else { return };
        if (inner.done.is_empty() && inner.msgs.is_empty()) || inner.dead {
            return;
        }
        (std::mem::take(&mut inner.done), inner.results.clone(), inner.dsts, inner.callback, inner.async_ctx)
    };
    let k = done.len().min(BATCH);
    let mut n = k;
    // SAFETY: a handle scope is open (we are inside `turn`); `results` owns
    // 2 * BATCH i32s; the references are live until teardown, which cannot
    // run while this function holds `shared`.
    unsafe {
        let pairs = std::slice::from_raw_parts_mut(results.ptr(), 2 * BATCH);
        let dsts = js::deref(env, dsts_ref);
        // Stream slots given chunks in this delivery: their staging cursor
        // (kept in dst_offset) goes back to 0 after it, as JS's does.
        let mut staged: Vec<u32> = Vec::new();
        // Connections a multishot accept made: the stream holds them for
        // the caller (a one-shot op's fd is the caller's at once).
        let mut held: Vec<i32> = Vec::new();
        for (i, c) in done.iter().take(k).enumerate() {
            if c.new_fd && (c.more() || c.op.as_ref().is_some_and(|op| op.is_multishot())) {
                held.push(c.result);
            }
            let slot = c.id.index();
            pairs[2 * i] = slot as i32 | if c.more() { SLOT_MORE } else { 0 };
            pairs[2 * i + 1] = match c.buffer {
                Some(b) => stage_chunk(shared, env, dsts, slot, b, c.result, &mut staged),
                None => {
                    let off =
                        shared.try_borrow().ok().and_then(|s| s.dst_offset.get(slot as usize).copied()).unwrap_or(0);
                    copy_out(env, dsts, slot, off, c)
                }
            };
        }
        // Messages from other Machines fill what room is left.
        if let Ok(mut inner) = shared.try_borrow_mut() {
            for slot in staged {
                if let Some(c) = inner.dst_offset.get_mut(slot as usize) {
                    *c = 0;
                }
            }
            inner.held.extend(held);
            let take = inner.msgs.len().min(BATCH - n);
            for m in inner.msgs.drain(..take).collect::<Vec<_>>() {
                if m.fd {
                    // The core gave it to us only if it was in transit to
                    // this ring: ours, held until JS hands it out.
                    inner.held.insert(m.value);
                }
                pairs[2 * n] = if m.fd { SLOT_MESSAGE_FD } else { SLOT_MESSAGE };
                pairs[2 * n + 1] = m.value;
                n += 1;
            }
        }
    }
    if let Ok(mut inner) = shared.try_borrow_mut() {
        let pool = &mut inner.pool;
        for c in done.drain(..) {
            if let Some(op) = c.op {
                op.recycle(|b| pool.give(b));
            }
            if let Some(chain) = c.chain {
                chain.recycle(|b| pool.give(b));
            }
        }
        if inner.done.is_empty() {
            inner.done = done; // keep the allocation
        }
    }
    if n == 0 {
        return;
    }
    // SAFETY: a handle scope is open; no borrow is held while JS runs.
    unsafe { call(env, cb, ctx, n as i32) };
}

/// A multishot completion's data: copied out of its provided buffer into
/// the stream's staging view (`dsts[slot]`) after the chunks before it in
/// this delivery, and the provided buffer recycled at once. JS copies each
/// chunk out of the staging view while handling this delivery. Returns the
/// result to report.
///
/// # Safety
/// A handle scope is open and `dsts` is the live destination array.
unsafe fn stage_chunk(
    shared: &Shared,
    env: sys::napi_env,
    dsts: sys::napi_value,
    slot: u32,
    b: uring_machine_core::BufRef,
    result: i32,
    staged: &mut Vec<u32>,
) -> i32 {
    let at = shared.try_borrow().ok().and_then(|s| s.dst_offset.get(slot as usize).copied()).unwrap_or(0);
    let staging = if result > 0 { js::view_range(env, js::element(env, dsts, slot), at, result as u32) } else { None };
    let Ok(mut inner) = shared.try_borrow_mut() else { return -libc::EBUSY };
    let inner = &mut *inner;
    let Some(ring) = inner.ring.as_mut() else { return RES_CLOSED };
    let res = match staging {
        Some(dst) => {
            dst.copy_from_slice(ring.buffer(b, result as usize));
            let i = slot as usize;
            if inner.dst_offset.len() <= i {
                inner.dst_offset.resize(i + 1, 0);
            }
            if at == 0 {
                staged.push(slot);
            }
            inner.dst_offset[i] = at + result as u32;
            result
        }
        None if result > 0 => RES_DETACHED,
        None => result,
    };
    ring.recycle(b);
    res
}

/// Copies an op's output into its destination; returns the result to report.
///
/// # Safety
/// A handle scope is open and `dsts` is the live destination array.
unsafe fn copy_out(env: sys::napi_env, dsts: sys::napi_value, slot: u32, off: u32, c: &Completion) -> i32 {
    if let Some(chain) = &c.chain {
        return chain_out(env, dsts, slot, chain);
    }
    if let Some(copy) = &c.copy {
        // [bytes copied, the failing side]; JS made the Float64Array.
        let side = match copy.error() {
            Some((_, _, uring_machine_core::copy::Side::Src)) => 1.0,
            Some((_, _, uring_machine_core::copy::Side::Dst)) => 2.0,
            None => 0.0,
        };
        if let Some(d) = js::view_range(env, js::element(env, dsts, slot), 0, 16) {
            d[..8].copy_from_slice(&(copy.copied() as f64).to_ne_bytes());
            d[8..].copy_from_slice(&f64::to_ne_bytes(side));
        }
        return copy.result();
    }
    match c.output() {
        Output::None => convert::result(c),
        Output::Bytes(bytes) => {
            let dst = js::element(env, dsts, slot);
            match js::view_range(env, dst, off, bytes.len() as u32) {
                Some(d) => {
                    d.copy_from_slice(bytes);
                    c.result
                }
                None => RES_DETACHED,
            }
        }
        Output::Segments { bufs, total } => {
            let arr = js::element(env, dsts, slot);
            let mut left = total;
            for (i, b) in bufs.iter().enumerate() {
                if left == 0 {
                    break;
                }
                let take = left.min(b.len());
                match js::view_range(env, js::element(env, arr, i as u32), 0, take as u32) {
                    Some(d) => d.copy_from_slice(&b[..take]),
                    None => return RES_DETACHED,
                }
                left -= take;
            }
            c.result
        }
        Output::Child(st) => {
            // [pid, code, status] into the Float64Array JS put at dsts[slot].
            let dst = js::element(env, dsts, slot);
            let mut ty = 0;
            let mut len = 0usize;
            let mut data: *mut c_void = ptr::null_mut();
            let ok =
                sys::napi_get_typedarray_info(env, dst, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
                    == sys::Status::napi_ok;
            if !ok || data.is_null() || len < 3 || ty != sys::TypedarrayType::float64_array {
                return RES_DETACHED;
            }
            std::slice::from_raw_parts_mut(data as *mut f64, 3).copy_from_slice(&[
                st.pid as f64,
                st.code as f64,
                st.status as f64,
            ]);
            c.result
        }
        Output::Addresses(addrs) => {
            let arr = js::element(env, dsts, slot);
            if js::array_len(env, arr).is_none() {
                return RES_DETACHED;
            }
            for (i, a) in addrs.iter().enumerate() {
                let text = a.to_string();
                let mut v = ptr::null_mut();
                sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut v);
                sys::napi_set_element(env, arr, i as u32, v);
            }
            c.result
        }
        Output::Stat(st) => {
            if !stat_into(env, js::element(env, dsts, slot), 0, st) {
                return RES_DETACHED;
            }
            c.result
        }
        // Outputs of ops this bridge does not submit (Output is non_exhaustive).
        _ => c.result,
    }
}

/// Calls the JS callback in a callback scope, so that promise continuations
/// (microtasks) run right after it, and reports a throw like Node does.
///
/// # Safety
/// On the env's thread with a handle scope open.
pub(crate) unsafe fn call(env: sys::napi_env, cb: sys::napi_ref, ctx: sys::napi_async_context, n: i32) {
    let func = js::deref(env, cb);
    if func.is_null() {
        return;
    }
    let mut arg = ptr::null_mut();
    sys::napi_create_int32(env, n, &mut arg);
    // The receiver must be an object (undefined makes Node throw).
    let mut recv = ptr::null_mut();
    sys::napi_get_global(env, &mut recv);
    let mut result = ptr::null_mut();
    let status = sys::napi_make_callback(env, ctx, recv, func, 1, &arg, &mut result);
    if status == sys::Status::napi_pending_exception {
        let mut err = ptr::null_mut();
        sys::napi_get_and_clear_last_exception(env, &mut err);
        sys::napi_fatal_exception(env, err);
    }
}

/// The syscall a chain's failure names, by its code (index + 1); JS
/// (completion.ts) reads the same table.
const STEP_CODES: [&str; 6] = ["open", "read", "write", "close", "fsync", "statx"];

/// A readFile's data up to this goes to JS as an ArrayBuffer (see
/// `chain_out`): the first read's size. 16 and 64 KiB files measured no
/// slower that way, 256 KiB ones the same, 4 MiB ones slower.
const ARRAY_BUFFER_MAX: usize = uring_machine_core::chain::READ_FILE_CHUNK;

/// A chain's completion into JS: a readFile's data at `dsts[slot]`, up to
/// [`ARRAY_BUFFER_MAX`] bytes as a new ArrayBuffer of its exact length (JS
/// makes the Buffer over it, at offset 0: `completion.ts`), beyond that as
/// a new Buffer; returns the result to report.
///
/// Small data as an ArrayBuffer, not by `napi_create_buffer`: that one's
/// Buffer::New adds a typed array, its prototype switch to Buffer's and
/// two handle scopes in C++, and measured 0.3-0.5 us per 4 KiB file more
/// than this plus JS's `Buffer.from(ab)` (benches/RESULTS.md, readFile),
/// the zero fill of the ArrayBuffer included. That zero fill grows with
/// the data (a 4 MiB file was slower by it), and a Buffer's memory is not
/// zeroed: large data goes the old way.
///
/// # Safety
/// A handle scope is open and `dsts` is the live destination array.
unsafe fn chain_out(env: sys::napi_env, dsts: sys::napi_value, slot: u32, chain: &Chain) -> i32 {
    if let Some((results, stats)) = chain.stat_results() {
        // A statMany: [Int32Array(n), statx array(18 n)] at dsts[slot].
        let out = js::element(env, dsts, slot);
        let st = js::element(env, out, 1);
        let ok = i32s_into(env, js::element(env, out, 0), results)
            && results.iter().zip(stats).enumerate().all(|(i, (&r, s))| r < 0 || stat_into(env, st, i, s));
        if !ok {
            return RES_DETACHED;
        }
    } else if !chain.reads_file() && !steps_out(env, js::element(env, dsts, slot), chain) {
        return RES_DETACHED;
    }
    if let Some((res, name)) = chain.error() {
        let step = STEP_CODES.iter().position(|&n| n == name).map_or(0, |i| i as i32 + 1);
        return res - (step << 12);
    }
    if !chain.reads_file() {
        return chain.result();
    }
    let mut data = ptr::null_mut();
    let mut buf = ptr::null_mut();
    let made = if chain.len() <= ARRAY_BUFFER_MAX {
        sys::napi_create_arraybuffer(env, chain.len(), &mut data, &mut buf)
    } else {
        sys::napi_create_buffer(env, chain.len(), &mut data, &mut buf)
    };
    if made != sys::Status::napi_ok || (data.is_null() && !chain.is_empty()) {
        return RES_DETACHED;
    }
    let mut at = 0;
    for seg in chain.data() {
        // SAFETY: the buffer was made with room for every segment.
        ptr::copy_nonoverlapping(seg.as_ptr(), (data as *mut u8).add(at), seg.len());
        at += seg.len();
    }
    sys::napi_set_element(env, dsts, slot, buf);
    chain.result()
}

/// A batch's results into `[Int32Array(steps), per step: its read's view or
/// its statx array]` (what JS put at dsts[slot]; nothing to do for a chain
/// that has no such array): every step's result, each read's data, each
/// statx's fields, as far as the chain got. False if a destination is gone.
///
/// # Safety
/// A handle scope is open and `out` is live.
unsafe fn steps_out(env: sys::napi_env, out: sys::napi_value, chain: &Chain) -> bool {
    if js::array_len(env, out).is_none() {
        return true;
    }
    if !i32s_into(env, js::element(env, out, 0), chain.results()) {
        return false;
    }
    for (i, (step, &res)) in chain.steps().iter().zip(chain.results()).enumerate() {
        let dst = js::element(env, out, i as u32 + 1);
        let ok = match step {
            Step::Read { buf, .. } if res > 0 => {
                let n = (res as usize).min(buf.len());
                match js::view_range(env, dst, 0, n as u32) {
                    Some(d) => {
                        d.copy_from_slice(&buf[..n]);
                        true
                    }
                    None => false,
                }
            }
            Step::Statx { buf, .. } if res >= 0 => stat_into(env, dst, 0, buf),
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Copies `src` into the Int32Array `dst` (at least as long).
///
/// # Safety
/// A handle scope is open and `dst` is live.
unsafe fn i32s_into(env: sys::napi_env, dst: sys::napi_value, src: &[i32]) -> bool {
    let mut ty = 0;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    let ok = sys::napi_get_typedarray_info(env, dst, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
        == sys::Status::napi_ok;
    if !ok || ty != sys::TypedarrayType::int32_array || len < src.len() || (data.is_null() && !src.is_empty()) {
        return false;
    }
    // SAFETY: an Int32Array of at least `src.len()` elements at `data`.
    std::slice::from_raw_parts_mut(data as *mut i32, src.len()).copy_from_slice(src);
    true
}

/// Writes `st`'s 18 fields at element `at * 18` of `dst`, a Float64Array
/// or BigInt64Array (as Stats or BigIntStats read them).
///
/// # Safety
/// A handle scope is open and `dst` is live.
unsafe fn stat_into(env: sys::napi_env, dst: sys::napi_value, at: usize, st: &uring_machine_core::Stat) -> bool {
    let mut ty = 0;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    let ok = sys::napi_get_typedarray_info(env, dst, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
        == sys::Status::napi_ok;
    if !ok || data.is_null() || len < (at + 1) * 18 {
        return false;
    }
    // SAFETY: the typed array has at least (at + 1) * 18 elements of its type.
    if ty == sys::TypedarrayType::bigint64_array {
        std::slice::from_raw_parts_mut((data as *mut i64).add(at * 18), 18).copy_from_slice(&convert::stat_i64(st));
    } else if ty == sys::TypedarrayType::float64_array {
        std::slice::from_raw_parts_mut((data as *mut f64).add(at * 18), 18).copy_from_slice(&convert::stat_f64(st));
    } else {
        return false;
    }
    true
}
