//! The functions on the ring itself and on the fds JS holds that are not op
//! table entries (they make no op): flush, and hold/disown.

use std::ptr;

use napi::sys;

use super::{bool_arg, i32_arg, Cell};
use crate::state::RES_CLOSED;

/// flush(): submits what is queued now, instead of when the loop next idles.
/// For a wake another thread waits for while this one keeps the loop busy.
pub(super) unsafe extern "C" fn flush(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut data = ptr::null_mut();
    let mut argc = 0usize;
    sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), ptr::null_mut(), &mut data);
    // SAFETY: `data` is the counted pointer this function was made with.
    let cell: &Cell = &*(data as *const Cell);
    let res = match cell.try_borrow_mut() {
        Ok(mut inner) => match inner.ring.as_mut() {
            Some(ring) => ring.flush().map(|n| n as i32).unwrap_or_else(|e| -e.raw_os_error().unwrap_or(libc::EIO)),
            None => RES_CLOSED,
        },
        Err(_) => -libc::EBUSY,
    };
    let mut out = ptr::null_mut();
    sys::napi_create_int32(env, res, &mut out);
    out
}

// hold(fd): an fd JS makes for its own use (a copy's pipe) is held like
// those it keeps for the caller, so teardown closes it if JS cannot (a
// terminated worker runs no `finally`). 1, or RES_CLOSED after teardown.
op_fn!(
    hold(1) | c,
    e,
    a | match c.try_borrow_mut() {
        Ok(mut inner) if !inner.dead => {
            inner.held.insert(i32_arg(e, a[0]));
            1
        }
        Ok(_) => RES_CLOSED,
        Err(_) => -libc::EBUSY,
    }
);

// disown(fd, close): JS hands out (close false) or drops (close true) an fd
// it held for the caller (see `Inner::held`). 1 if it was held, else 0:
// after teardown nothing is held, and teardown closed it already.
op_fn!(
    disown(2) | c,
    e,
    a | {
        let fd = i32_arg(e, a[0]);
        match c.try_borrow_mut() {
            Ok(mut inner) => {
                let held = inner.held.remove(&fd);
                if held && bool_arg(e, a[1]) {
                    // Held for the caller, who never got it: ours to close.
                    uring_machine_core::close(fd);
                }
                held as i32
            }
            Err(_) => -libc::EBUSY,
        }
    }
);
