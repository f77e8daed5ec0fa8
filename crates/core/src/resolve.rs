//! The blocking-operation pool: a few native threads for what io_uring has
//! no opcode for (`getaddrinfo` first). A job's result is stored in the op's
//! [`Lookup`], then its completion is posted into the submitting ring with
//! a MSG_RING from a small ring each pool thread owns: to the event loop it
//! is one more CQE, reaped in the same batch as the rest.
//!
//! A job holds a duplicate of the target ring's fd, so the post can never
//! reach a different ring that reused the number; if the target has closed
//! by then, the message lands in a ring nobody reads, and is dropped with it.

use std::collections::VecDeque;
use std::ffi::CString;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use io_uring::{opcode, types, IoUring};

/// Pool threads at most; each blocks in one `getaddrinfo` at a time.
const MAX_THREADS: usize = 4;

/// The result of an [`crate::Op::Resolve`] that `getaddrinfo` failed other
/// than with EAI_SYSTEM (which completes with `-errno`): why is in
/// [`Lookup::error`]. Below every errno (the kernel's MAX_ERRNO is 4095).
pub const LOOKUP_FAILED: i32 = -4096;

/// Why `getaddrinfo` found nothing (its EAI_* codes, EAI_SYSTEM aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    BadFlags,
    NoName,
    Again,
    Fail,
    NoData,
    Family,
    SockType,
    Service,
    AddrFamily,
    Memory,
    Overflow,
}

impl LookupError {
    /// From getaddrinfo's return code (this target's libc numbering); a
    /// code it does not know is a failure of the resolver.
    fn from_code(rc: i32) -> LookupError {
        // glibc's EAI_ADDRFAMILY, which the libc crate does not name (musl has none).
        const EAI_ADDRFAMILY: i32 = -9;
        match rc {
            libc::EAI_BADFLAGS => LookupError::BadFlags,
            libc::EAI_NONAME => LookupError::NoName,
            libc::EAI_AGAIN => LookupError::Again,
            libc::EAI_NODATA => LookupError::NoData,
            libc::EAI_FAMILY => LookupError::Family,
            libc::EAI_SOCKTYPE => LookupError::SockType,
            libc::EAI_SERVICE => LookupError::Service,
            EAI_ADDRFAMILY => LookupError::AddrFamily,
            libc::EAI_MEMORY => LookupError::Memory,
            libc::EAI_OVERFLOW => LookupError::Overflow,
            _ => LookupError::Fail,
        }
    }
}

/// One name to resolve, and its answer once the pool has run it.
pub struct Lookup {
    host: CString,
    family: i32,
    answer: OnceLock<Vec<IpAddr>>,
    error: OnceLock<LookupError>,
}

impl Lookup {
    /// A lookup of `host` for `family` (`AF_UNSPEC`, `AF_INET` or `AF_INET6`).
    pub fn new(host: CString, family: i32) -> Arc<Lookup> {
        Arc::new(Lookup { host, family, answer: OnceLock::new(), error: OnceLock::new() })
    }

    /// The addresses found, in the resolver's order (empty before or on failure).
    pub fn addresses(&self) -> &[IpAddr] {
        self.answer.get().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Why the lookup failed, when it completed with [`LOOKUP_FAILED`].
    pub fn error(&self) -> Option<LookupError> {
        self.error.get().copied()
    }

    /// Runs `getaddrinfo`: the number of addresses, `-errno`, or [`LOOKUP_FAILED`].
    fn run(&self) -> i32 {
        match crate::sys::getaddrinfo(&self.host, self.family) {
            Ok(addrs) => {
                let n = addrs.len() as i32;
                let _ = self.answer.set(addrs);
                n
            }
            Err((libc::EAI_SYSTEM, errno)) => -errno,
            Err((rc, _)) => {
                let _ = self.error.set(LookupError::from_code(rc));
                LOOKUP_FAILED
            }
        }
    }
}

struct Job {
    lookup: Arc<Lookup>,
    target: OwnedFd,
    user_data: u64,
}

struct Pool {
    queue: Mutex<(VecDeque<Job>, usize /* idle threads */, usize /* threads */)>,
    ready: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool { queue: Mutex::new((VecDeque::new(), 0, 0)), ready: Condvar::new() })
}

/// Queues `lookup`; its completion arrives on the ring behind `target` as a
/// CQE with `user_data` and the lookup's result.
pub(crate) fn submit(lookup: Arc<Lookup>, target: OwnedFd, user_data: u64) -> io::Result<()> {
    let p = pool();
    let mut q = p.queue.lock().unwrap_or_else(|e| e.into_inner());
    if q.1 == 0 && q.2 < MAX_THREADS {
        // The thread's ring is made here, so a failure is the caller's error
        // rather than a job that never completes.
        let ring = IoUring::new(8)?;
        std::thread::Builder::new().name("uring-resolve".into()).spawn(move || work(ring))?;
        q.2 += 1;
        q.1 += 1;
    }
    q.0.push_back(Job { lookup, target, user_data });
    drop(q);
    p.ready.notify_one();
    Ok(())
}

fn work(mut ring: IoUring) {
    let p = pool();
    loop {
        let job = {
            let mut q = p.queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(job) = q.0.pop_front() {
                    q.1 -= 1;
                    break job;
                }
                q = p.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let res = job.lookup.run();
        post(&mut ring, &job, res);
        drop(job);
        p.queue.lock().unwrap_or_else(|e| e.into_inner()).1 += 1;
    }
}

fn post(ring: &mut IoUring, job: &Job, res: i32) {
    let sqe = opcode::MsgRingData::new(types::Fd(job.target.as_raw_fd()), res, job.user_data, None).build();
    // SAFETY: a MSG_RING data SQE references no memory.
    if unsafe { ring.submission().push(&sqe) }.is_err() {
        return;
    }
    while let Err(e) = ring.submit_and_wait(1) {
        if e.raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
    // Our own completion (the post's status) carries nothing for us.
    ring.completion().for_each(drop);
}
