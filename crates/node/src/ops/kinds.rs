//! The argument kinds of the op table's `js` entries: how many JS arguments
//! each takes (`argc!`) and how they become the Rust value the entry's build
//! expression names (`arg!`). [`super::gen`] expands the table with them;
//! `crates/core/examples/gen_native.rs` lists the same kinds with their
//! TypeScript types. A new kind is an arm in both macros here and a line
//! in gen_native's `KINDS`.
//!
//! | kind | JS arguments | Rust value (refused: `RES_BAD_ARG`) |
//! |---|---|---|
//! | `Fd`, `I32` | number | `i32` |
//! | `U32` | number | `u32` |
//! | `U16` | number | `u16` (a uint32, truncated) |
//! | `Bool` | boolean | `bool` |
//! | `Position` | number | `u64`; negative: the fd's position |
//! | `Offset` | number | `i64`; negative or NaN: -1, the fd's position |
//! | `Size` | number | `u64` in 0..=i64::MAX, else refused |
//! | `Count` | number | `u64` above 0, else refused |
//! | `Millis` | number (ms) | `u64` ns; not finite or <= 0: 0 |
//! | `Path`, `Name` | string or bytes | `CString` (refused with a NUL) |
//! | `Into` | view, offset, length | `Vec<u8>` from the pool; at completion the bytes land in `view[offset..]` |
//! | `From` | view, offset, length | `Vec<u8>`: a pooled copy of `view[offset..offset + length]` |
//! | `IntoVecs`, `FromVecs` | array of views | `Vec<Vec<u8>>` (1..=1024 buffers), empty or copies |
//! | `Addr` | host, port | `Box<SockAddr>`: IP and port, or a unix path when port < 0 |
//! | `Futex` | Int32Array, index | `FutexWord` (over a SharedArrayBuffer only) |
//! | `Fixed` | id, index, offset, length | `FixedSlice` of a registered buffer |
//!
//! Every function but a `Stream` one then reads a trailing `timeout` (ms).

use napi::sys;

use uring_machine_core::{FixedSlice, FutexWord, SockAddr};

use super::{Cell, MAX_LENGTH};
use crate::js;

/// How many JS arguments a kind takes.
macro_rules! argc {
    (Into) => {
        3
    };
    (From) => {
        3
    };
    (Addr) => {
        2
    };
    (Futex) => {
        2
    };
    (Fixed) => {
        4
    };
    ($single:ident) => {
        1
    };
}

/// `let $x = <kind's conversion of a[i..]>;`, moving `i` past its JS
/// arguments; a refused argument returns from the op function's body.
/// `dst` is set by `Into`: the offset its bytes land at in the view.
macro_rules! arg {
    (Fd, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::i32_arg($e, $a[$i]);
        $i += 1;
    };
    (I32, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::i32_arg($e, $a[$i]);
        $i += 1;
    };
    (U32, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::u32_arg($e, $a[$i]);
        $i += 1;
    };
    (U16, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::u32_arg($e, $a[$i]) as u16;
        $i += 1;
    };
    (Bool, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::bool_arg($e, $a[$i]);
        $i += 1;
    };
    (Position, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = crate::state::position(super::f64_arg($e, $a[$i]));
        $i += 1;
    };
    (Offset, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::kinds::offset(super::f64_arg($e, $a[$i]));
        $i += 1;
    };
    (Size, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::f64_arg($e, $a[$i]);
        if !(0.0..=i64::MAX as f64).contains(&$x) {
            return crate::state::RES_BAD_ARG;
        }
        let $x = $x as u64;
        $i += 1;
    };
    (Count, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::f64_arg($e, $a[$i]);
        if $x <= 0.0 {
            return crate::state::RES_BAD_ARG;
        }
        let $x = $x as u64;
        $i += 1;
    };
    (Millis, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let $x = super::kinds::millis_ns(super::f64_arg($e, $a[$i]));
        $i += 1;
    };
    (Path, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let Some($x) = crate::js::path($e, $a[$i]) else { return crate::state::RES_BAD_ARG };
        $i += 1;
    };
    (Name, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        arg!(Path, $x, $c, $e, $a, $i, $dst);
    };
    // The view itself is not read now: the kernel never touches it, and the
    // copy at completion checks its bounds then, when they matter.
    (Into, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let (offset, length) = (super::u32_arg($e, $a[$i + 1]), super::u32_arg($e, $a[$i + 2]));
        if length > super::MAX_LENGTH {
            return crate::state::RES_BAD_ARG;
        }
        let $x = match $c.try_borrow_mut() {
            Ok(mut inner) => inner.pool.take(length as usize),
            Err(_) => return -libc::EBUSY,
        };
        $dst = Some(offset);
        $i += 3;
    };
    (From, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let Some($x) = super::copy_in($c, $e, $a[$i], super::u32_arg($e, $a[$i + 1]), super::u32_arg($e, $a[$i + 2])) else {
            return crate::state::RES_BAD_ARG;
        };
        $i += 3;
    };
    (IntoVecs, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let Some($x) = super::kinds::vectors($c, $e, $a[$i], false) else { return crate::state::RES_BAD_ARG };
        $i += 1;
    };
    (FromVecs, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let Some($x) = super::kinds::vectors($c, $e, $a[$i], true) else { return crate::state::RES_BAD_ARG };
        $i += 1;
    };
    (Addr, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let Some($x) = super::kinds::sockaddr($e, $a[$i], super::i32_arg($e, $a[$i + 1])) else {
            return crate::state::RES_BAD_ARG;
        };
        $i += 2;
    };
    (Futex, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let Some($x) = super::kinds::futex_word($e, $a[$i], super::u32_arg($e, $a[$i + 1])) else {
            return crate::state::RES_BAD_ARG;
        };
        $i += 2;
    };
    (Fixed, $x:ident, $c:ident, $e:ident, $a:ident, $i:ident, $dst:ident) => {
        let Some($x) = super::kinds::fixed_slice(
            $c,
            super::u32_arg($e, $a[$i]),
            super::u32_arg($e, $a[$i + 1]),
            super::u32_arg($e, $a[$i + 2]),
            super::u32_arg($e, $a[$i + 3]),
        ) else {
            return crate::state::RES_BAD_ARG;
        };
        $i += 4;
    };
}

/// A splice offset from JS: -1 (or any negative) means "the fd's position".
pub(super) fn offset(x: f64) -> i64 {
    if x < 0.0 || x.is_nan() {
        -1
    } else {
        x.min(i64::MAX as f64) as i64
    }
}

/// A sleep's milliseconds as nanoseconds (not finite or <= 0: 0).
pub(super) fn millis_ns(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        (ms * 1e6) as u64
    } else {
        0
    }
}

/// The buffers of a readv (`copy`: false, sized like the views) or a writev
/// (copies of the views). Elements are read without holding the ring's
/// state: reading an element may run JS (a getter).
///
/// # Safety
/// `env` and `views` are live for the current call.
pub(super) unsafe fn vectors(
    cell: &Cell,
    env: sys::napi_env,
    views: sys::napi_value,
    copy: bool,
) -> Option<Vec<Vec<u8>>> {
    let n = js::array_len(env, views)?;
    if n == 0 || n > 1024 {
        return None;
    }
    let mut bufs = Vec::with_capacity(n as usize);
    for i in 0..n {
        let v = js::element(env, views, i);
        // No JS runs between taking the view's pointer and copying from it.
        let (p, len) = js::view_bytes(env, v)?;
        if len > MAX_LENGTH as usize {
            return None;
        }
        let mut inner = cell.try_borrow_mut().ok()?;
        bufs.push(if copy {
            inner.pool.copy_of(if len == 0 { &[][..] } else { std::slice::from_raw_parts(p, len) })
        } else {
            inner.pool.take(len)
        });
    }
    Some(bufs)
}

/// `port >= 0`: `host` is an IP address; `port < 0`: a unix path.
///
/// # Safety
/// `env` and `host` are live for the current call.
pub(super) unsafe fn sockaddr(env: sys::napi_env, host: sys::napi_value, port: i32) -> Option<Box<SockAddr>> {
    // Bytes, not a C string: abstract unix names start with a NUL.
    let text = js::bytes(env, host)?;
    let addr = if port >= 0 {
        SockAddr::inet(std::str::from_utf8(&text).ok()?, u16::try_from(port).ok()?)
    } else {
        SockAddr::unix(&text)
    };
    addr.ok().map(Box::new)
}

/// The futex word `view[index]` of an Int32Array over a SharedArrayBuffer.
///
/// # Safety
/// `env` and `view` are live for the current call.
pub(super) unsafe fn futex_word(env: sys::napi_env, view: sys::napi_value, index: u32) -> Option<FutexWord> {
    use std::os::raw::c_void;
    use std::ptr;
    let mut ty = 0;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    let mut ab = ptr::null_mut();
    if sys::napi_get_typedarray_info(env, view, &mut ty, &mut len, &mut data, &mut ab, ptr::null_mut())
        != sys::Status::napi_ok
        || ty != sys::TypedarrayType::int32_array
        || index as usize >= len
        || data.is_null()
    {
        return None;
    }
    // A plain ArrayBuffer could be detached under a waiter; a
    // SharedArrayBuffer cannot, and is what threads share.
    let mut plain = false;
    sys::napi_is_arraybuffer(env, ab, &mut plain);
    if plain {
        return None;
    }
    // SAFETY: in bounds and Int32Array-aligned; JS keeps the view (and so
    // the shared memory) alive until the op's completion is delivered.
    Some(FutexWord::new((data as *const u32).add(index as usize)))
}

/// A range of registered buffer `index` of registration `id`.
pub(super) fn fixed_slice(cell: &Cell, id: u32, index: u32, offset: u32, length: u32) -> Option<FixedSlice> {
    let inner = cell.try_borrow().ok()?;
    inner.fixed.get(id as usize)?.as_ref()?.slice(index, offset, length)
}
