//! uring-machine's Node-API bridge: argument checking and conversion around
//! `uring-machine-core`, and the hook into Node's event loop. No engine
//! logic lives here.

#![deny(clippy::all)]

mod js;
mod ops;
mod ring;
mod uv;

use napi_derive::napi;

pub use ring::{Features, Metrics, Ring};

/// Why io_uring cannot be used in this process, or `null` if it can.
#[napi]
pub fn unavailable_reason() -> Option<String> {
    match uring_machine_core::probe() {
        Ok(_) => None,
        Err(e) => Some(uring_machine_core::unavailable_reason(&e)),
    }
}

/// The kernel's io_uring support; throws with the reason where there is none.
#[napi]
pub fn probe() -> napi::Result<Features> {
    uring_machine_core::probe()
        .map(Features::from)
        .map_err(|e| napi::Error::new(napi::Status::GenericFailure, uring_machine_core::unavailable_reason(&e)))
}

/// A close-on-exec pipe `[read end, write end]` of about `size` bytes.
#[napi]
pub fn pipe(size: i32) -> napi::Result<Vec<i32>> {
    uring_machine_core::pipe(size)
        .map(|fds| fds.to_vec())
        .map_err(|e| napi::Error::new(napi::Status::GenericFailure, format!("pipe2: {e}")))
}

/// The order of the fields a statx op writes into its Float64Array.
#[napi]
pub fn stat_fields() -> Vec<&'static str> {
    uring_machine_core::STAT_FIELDS.to_vec()
}

/// Result codes beyond errno: [detached destination, closed ring].
#[napi]
pub fn special_results() -> Vec<i32> {
    vec![ring::RES_DETACHED, ring::RES_CLOSED]
}
