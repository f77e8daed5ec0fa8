//! uring-machine's Node-API bridge: argument checking and conversion around
//! `uring-machine-core`, and the hook into Node's event loop. No engine
//! logic lives here.

#![deny(clippy::all)]

mod class;
mod constants;
mod convert;
mod deliver;
mod event_loop;
mod js;
mod ops;
mod state;
mod uv;

use napi_derive::napi;

pub use class::Ring;
pub use convert::{Features, Metrics};

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

/// A close-on-exec AF_UNIX stream socket pair (a plain syscall).
#[napi]
pub fn socketpair() -> napi::Result<Vec<i32>> {
    uring_machine_core::socketpair().map(|fds| fds.to_vec()).map_err(|e| os_error(e, "socketpair"))
}

/// Sets or clears O_NONBLOCK on `fd`.
#[napi]
pub fn set_nonblocking(fd: i32, on: bool) -> napi::Result<()> {
    uring_machine_core::set_nonblocking(fd, on).map_err(|e| os_error(e, "fcntl"))
}

/// poll(2) with a zero timeout over `fds` (each with `events`): the ready events, in order.
#[napi]
pub fn poll_now(fds: Vec<i32>, events: Vec<i32>) -> napi::Result<Vec<i32>> {
    let list: Vec<(i32, i16)> =
        fds.iter().zip(events.iter().chain(std::iter::repeat(&0))).map(|(&f, &e)| (f, e as i16)).collect();
    uring_machine_core::poll_now(&list).map(|r| r.into_iter().map(i32::from).collect()).map_err(|e| os_error(e, "poll"))
}

fn c_string(s: String, what: &str) -> napi::Result<std::ffi::CString> {
    std::ffi::CString::new(s)
        .map_err(|_| napi::Error::new(napi::Status::InvalidArg, format!("{what} must not contain NUL bytes")))
}

fn os_error(e: std::io::Error, syscall: &str) -> napi::Error {
    // "<errno>:<syscall>" lets the JS side build a SystemError.
    napi::Error::new(napi::Status::GenericFailure, format!("{}:{syscall}", e.raw_os_error().unwrap_or(libc::EIO)))
}

/// Starts a child with posix_spawn: `stdio` is three of -1 (inherit), -2
/// (/dev/null), -3 (a pipe) or an fd. Returns [pid, pidfd, stdin, stdout,
/// stderr] with -1 where the parent has no end.
#[napi]
pub fn spawn(
    file: String,
    args: Vec<String>,
    env: Option<Vec<String>>,
    cwd: Option<String>,
    stdio: Vec<i32>,
) -> napi::Result<Vec<i32>> {
    use uring_machine_core::process::{self, Stdio};
    let file = c_string(file, "file")?;
    let argv = args.into_iter().map(|a| c_string(a, "args")).collect::<napi::Result<Vec<_>>>()?;
    let envp = env.map(|e| e.into_iter().map(|v| c_string(v, "env")).collect::<napi::Result<Vec<_>>>()).transpose()?;
    let cwd = cwd.map(|c| c_string(c, "cwd")).transpose()?;
    let pick = |i: usize| match stdio.get(i).copied().unwrap_or(-1) {
        -2 => Stdio::Null,
        -3 => Stdio::Pipe,
        fd if fd >= 0 => Stdio::Fd(fd),
        _ => Stdio::Inherit,
    };
    let child = process::spawn(&file, &argv, envp.as_deref(), cwd.as_deref(), [pick(0), pick(1), pick(2)])
        .map_err(|e| os_error(e, "spawn"))?;
    let end = |o: Option<i32>| o.unwrap_or(-1);
    Ok(vec![child.pid, child.pidfd, end(child.stdio[0]), end(child.stdio[1]), end(child.stdio[2])])
}

/// pidfd_open(2).
#[napi]
pub fn pidfd_open(pid: i32) -> napi::Result<i32> {
    uring_machine_core::process::pidfd_open(pid).map_err(|e| os_error(e, "pidfd_open"))
}

/// pidfd_send_signal(2).
#[napi]
pub fn pidfd_send_signal(pidfd: i32, signal: i32) -> napi::Result<()> {
    uring_machine_core::process::pidfd_send_signal(pidfd, signal).map_err(|e| os_error(e, "pidfd_send_signal"))
}

/// The order of the fields a statx op writes into its Float64Array.
#[napi]
pub fn stat_fields() -> Vec<&'static str> {
    convert::STAT_FIELDS.to_vec()
}
