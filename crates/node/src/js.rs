//! Raw Node-API helpers for the hot path, where napi-rs has no wrapper that
//! avoids per-call allocations or references.

use std::ffi::CString;
use std::os::raw::c_void;
use std::ptr;

use napi::sys;

/// `napi_float16_array` in Node's headers (napi-sys does not name it yet).
const FLOAT16_ARRAY: i32 = 11;

/// The bytes of a TypedArray, Buffer or DataView, or `None` for anything else.
/// A detached buffer yields an empty slice.
///
/// # Safety
/// `env` and `v` must be live for the current call or callback scope, and the
/// returned pointer used only before JS code runs again.
pub unsafe fn view_bytes(env: sys::napi_env, v: sys::napi_value) -> Option<(*mut u8, usize)> {
    let mut ty = 0;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    if sys::napi_get_typedarray_info(env, v, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
        == sys::Status::napi_ok
    {
        // Every element type by name; one this code does not know is refused,
        // never guessed (Node 24 added Float16Array, type 11, 2 bytes).
        let elem = match ty {
            sys::TypedarrayType::int8_array
            | sys::TypedarrayType::uint8_array
            | sys::TypedarrayType::uint8_clamped_array => 1,
            sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array | FLOAT16_ARRAY => 2,
            sys::TypedarrayType::int32_array
            | sys::TypedarrayType::uint32_array
            | sys::TypedarrayType::float32_array => 4,
            sys::TypedarrayType::float64_array
            | sys::TypedarrayType::bigint64_array
            | sys::TypedarrayType::biguint64_array => 8,
            _ => return None,
        };
        return Some((data as *mut u8, if data.is_null() { 0 } else { len * elem }));
    }
    let mut is_dv = false;
    if sys::napi_is_dataview(env, v, &mut is_dv) == sys::Status::napi_ok && is_dv {
        sys::napi_get_dataview_info(env, v, &mut len, &mut data, ptr::null_mut(), ptr::null_mut());
        return Some((data as *mut u8, if data.is_null() { 0 } else { len }));
    }
    None
}

/// A view's bytes `[offset, offset + len)` as a slice, when in bounds.
///
/// # Safety
/// As for [`view_bytes`]; the slice must not outlive the current scope.
pub unsafe fn view_range<'a>(env: sys::napi_env, v: sys::napi_value, offset: u32, len: u32) -> Option<&'a mut [u8]> {
    let (p, total) = view_bytes(env, v)?;
    let end = offset as usize + len as usize;
    if end > total {
        return None;
    }
    if len == 0 {
        return Some(&mut []);
    }
    Some(std::slice::from_raw_parts_mut(p.add(offset as usize), len as usize))
}

/// The UTF-8 bytes of a string, or the bytes of a Buffer/TypedArray.
///
/// # Safety
/// `env` and `v` must be live for the current call.
pub unsafe fn bytes(env: sys::napi_env, v: sys::napi_value) -> Option<Vec<u8>> {
    let mut len = 0usize;
    if sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len) == sys::Status::napi_ok {
        let mut buf = vec![0u8; len + 1];
        sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), len + 1, &mut len);
        buf.truncate(len);
        return Some(buf);
    }
    let (p, n) = view_bytes(env, v)?;
    Some(if n == 0 { Vec::new() } else { std::slice::from_raw_parts(p, n).to_vec() })
}

/// A path from a string or a Buffer/TypedArray, as a C string (no NUL inside).
///
/// # Safety
/// `env` and `v` must be live for the current call.
pub unsafe fn path(env: sys::napi_env, v: sys::napi_value) -> Option<CString> {
    CString::new(bytes(env, v)?).ok()
}

/// Array length and elements.
///
/// # Safety
/// `env` and `v` must be live for the current scope.
pub unsafe fn array_len(env: sys::napi_env, v: sys::napi_value) -> Option<u32> {
    let mut is = false;
    if sys::napi_is_array(env, v, &mut is) != sys::Status::napi_ok || !is {
        return None;
    }
    let mut n = 0u32;
    sys::napi_get_array_length(env, v, &mut n);
    Some(n)
}

/// # Safety
/// `env` and `v` must be live for the current scope.
pub unsafe fn element(env: sys::napi_env, v: sys::napi_value, i: u32) -> sys::napi_value {
    let mut out = ptr::null_mut();
    sys::napi_get_element(env, v, i, &mut out);
    out
}

/// A reference with `count` (0: weak).
///
/// # Safety
/// `env` and `v` must be live for the current call.
pub unsafe fn reference(env: sys::napi_env, v: sys::napi_value, count: u32) -> sys::napi_ref {
    let mut r = ptr::null_mut();
    sys::napi_create_reference(env, v, count, &mut r);
    r
}

/// The value of a reference; null if it was weak and collected.
///
/// # Safety
/// `env` must be live and a handle scope open.
pub unsafe fn deref(env: sys::napi_env, r: sys::napi_ref) -> sys::napi_value {
    let mut out = ptr::null_mut();
    if r.is_null() || sys::napi_get_reference_value(env, r, &mut out) != sys::Status::napi_ok {
        return ptr::null_mut();
    }
    out
}
