//! The raw kernel surface: every libc call of the engine goes through here.
//!
//! Everything above this module is safe Rust. Each `unsafe` block below says
//! why it is sound.

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;

/// Turns a libc `-1` return into the thread's `errno` as an [`io::Error`].
macro_rules! syscall {
    ($call:expr) => {{
        let res = $call;
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// A non-blocking, close-on-exec eventfd: the ring signals it on completions.
pub fn eventfd() -> io::Result<RawFd> {
    // SAFETY: eventfd takes no pointers.
    syscall!(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })
}

/// Resets an eventfd's counter; `Ok(false)` when it was not signalled.
pub fn eventfd_reset(fd: RawFd) -> io::Result<bool> {
    let mut value: u64 = 0;
    // SAFETY: reads 8 bytes into a local u64 that outlives the call.
    let res = unsafe { libc::read(fd, (&mut value as *mut u64).cast(), 8) };
    if res == 8 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EAGAIN) {
        Ok(false)
    } else {
        Err(err)
    }
}

/// Signals an eventfd, so a loop watching it wakes up.
pub fn eventfd_signal(fd: RawFd) -> io::Result<()> {
    let value: u64 = 1;
    // SAFETY: writes 8 bytes from a local u64 that outlives the call.
    let res = unsafe { libc::write(fd, (&value as *const u64).cast(), 8) };
    if res == 8 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Closes an fd, ignoring the result: used for fds nobody can receive any more.
pub fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd`; closing an invalid fd only returns EBADF.
    unsafe { libc::close(fd) };
}

/// The soft RLIMIT_NOFILE (the kernel's cap on a registered file table).
pub fn nofile_limit() -> u32 {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `r` is a valid rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return 0;
    }
    r.rlim_cur.min(u32::MAX as u64) as u32
}

/// The kernel release string, as `uname -r` prints it.
pub fn kernel_release() -> String {
    // SAFETY: utsname is plain data; uname fills it and NUL-terminates fields.
    unsafe {
        let mut uts: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut uts) != 0 {
            return String::from("unknown");
        }
        CStr::from_ptr(uts.release.as_ptr()).to_string_lossy().into_owned()
    }
}

/// `bind(2)`, for kernels without IORING_OP_BIND.
pub fn bind(fd: RawFd, addr: *const libc::sockaddr, len: libc::socklen_t) -> i32 {
    // SAFETY: `addr` points at `len` bytes owned by the caller for the call.
    neg_errno(unsafe { libc::bind(fd, addr, len) })
}

/// `listen(2)`, for kernels without IORING_OP_LISTEN.
pub fn listen(fd: RawFd, backlog: i32) -> i32 {
    // SAFETY: no pointers.
    neg_errno(unsafe { libc::listen(fd, backlog) })
}

/// `socket(2)` with close-on-exec, for kernels without IORING_OP_SOCKET.
pub fn socket(domain: i32, ty: i32, protocol: i32) -> i32 {
    // SAFETY: no pointers.
    neg_errno(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })
}

/// `ftruncate(2)`, for kernels without IORING_OP_FTRUNCATE (before 6.9).
pub fn ftruncate(fd: RawFd, len: u64) -> i32 {
    let Ok(len) = libc::off_t::try_from(len) else { return -libc::EINVAL };
    // SAFETY: no pointers.
    neg_errno(unsafe { libc::ftruncate(fd, len) })
}

/// `setsockopt(2)` of an int-sized option, for kernels whose io_uring has
/// no socket commands (before 6.7) and options it refuses.
pub fn setsockopt(fd: RawFd, level: i32, name: i32, value: i32) -> i32 {
    let len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the kernel reads `len` bytes from a local that outlives the call.
    neg_errno(unsafe { libc::setsockopt(fd, level, name, (&value as *const i32).cast(), len) })
}

/// `getsockopt(2)` into `buf`; the option's length on success. The plain
/// path of the ring's getsockopt, as for [`setsockopt`].
pub fn getsockopt(fd: RawFd, level: i32, name: i32, buf: &mut [u8]) -> i32 {
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `buf`, borrowed for the call.
    let res = neg_errno(unsafe { libc::getsockopt(fd, level, name, buf.as_mut_ptr().cast(), &mut len) });
    if res < 0 {
        res
    } else {
        len as i32
    }
}

/// `getsockname(2)`, or `getpeername(2)` with `peer`: the address in the
/// kernel's layout and its length, or `-errno`. io_uring has no op for them.
pub fn sock_name(fd: RawFd, peer: bool) -> Result<(libc::sockaddr_storage, libc::socklen_t), i32> {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let out = (&mut storage as *mut libc::sockaddr_storage).cast();
    // SAFETY: the kernel writes at most `len` bytes into the local storage.
    let res = unsafe {
        if peer {
            libc::getpeername(fd, out, &mut len)
        } else {
            libc::getsockname(fd, out, &mut len)
        }
    };
    match neg_errno(res) {
        e if e < 0 => Err(e),
        _ => Ok((storage, len)),
    }
}

/// A close-on-exec pipe, `[read end, write end]`, grown to `size` bytes
/// where the system allows (`F_SETPIPE_SZ`; the default is 64 KiB).
pub fn pipe(size: i32) -> io::Result<[RawFd; 2]> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two ints into `fds`, which outlives the call.
    syscall!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    if size > 0 {
        // SAFETY: no pointers; failure (a size over pipe-max-size) keeps the default.
        unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, size) };
    }
    Ok(fds)
}

/// io_uring's result convention from a libc one: `-errno` on failure.
fn neg_errno(res: i32) -> i32 {
    if res < 0 {
        -io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
    } else {
        res
    }
}

/// `len` bytes of zeroed, private, anonymous memory.
pub fn mmap_anon(len: usize) -> io::Result<*mut u8> {
    // SAFETY: a fresh anonymous mapping at an address the kernel picks
    // touches no existing memory.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p.cast())
}

/// Unmaps what [`mmap_anon`] mapped.
pub fn munmap(p: *mut u8, len: usize) {
    // SAFETY: callers pass a mapping of theirs that nothing references any more.
    unsafe { libc::munmap(p.cast(), len) };
}

/// A close-on-exec duplicate of `fd`, or `-errno`.
pub fn dup_cloexec(fd: RawFd) -> i32 {
    // SAFETY: no pointers.
    neg_errno(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })
}

/// `getaddrinfo(3)` of `host` (SOCK_STREAM, like Node's `dns.lookup`): the
/// addresses in the resolver's order, or its failure: `Err((code, errno))`
/// with getaddrinfo's EAI_* code and, for EAI_SYSTEM, the errno.
pub fn getaddrinfo(host: &CStr, family: i32) -> Result<Vec<std::net::IpAddr>, (i32, i32)> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    // SAFETY: an all-zero addrinfo is the documented "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: host is NUL-terminated; hints and list outlive the call.
    let rc = unsafe { libc::getaddrinfo(host.as_ptr(), std::ptr::null(), &hints, &mut list) };
    if rc != 0 {
        let errno =
            if rc == libc::EAI_SYSTEM { io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO) } else { 0 };
        return Err((rc, errno));
    }
    let mut out = Vec::new();
    let mut p = list;
    while !p.is_null() {
        // SAFETY: p walks the list getaddrinfo returned, freed only below;
        // each ai_addr points to a sockaddr of the family it says.
        unsafe {
            let ai = &*p;
            if !ai.ai_addr.is_null() {
                match ai.ai_family {
                    libc::AF_INET => {
                        let sa = &*(ai.ai_addr as *const libc::sockaddr_in);
                        out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr))));
                    }
                    libc::AF_INET6 => {
                        let sa = &*(ai.ai_addr as *const libc::sockaddr_in6);
                        out.push(IpAddr::V6(Ipv6Addr::from(sa.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            p = ai.ai_next;
        }
    }
    // SAFETY: list came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    Ok(out)
}

/// A close-on-exec AF_UNIX stream socket pair.
pub fn socketpair() -> io::Result<[RawFd; 2]> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two ints into `fds`, which outlives the call.
    syscall!(unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) })?;
    Ok(fds)
}

/// Sets or clears O_NONBLOCK on `fd`.
pub fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: no pointers.
    let flags = syscall!(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    let want = if on { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    if want != flags {
        // SAFETY: no pointers.
        syscall!(unsafe { libc::fcntl(fd, libc::F_SETFL, want) })?;
    }
    Ok(())
}

/// `poll(2)` with a zero timeout: the ready events of each (fd, events).
pub fn poll_now(fds: &[(RawFd, i16)]) -> io::Result<Vec<i16>> {
    let mut p: Vec<libc::pollfd> = fds.iter().map(|&(fd, events)| libc::pollfd { fd, events, revents: 0 }).collect();
    // SAFETY: `p` holds p.len() pollfds and outlives the call.
    syscall!(unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, 0) })?;
    Ok(p.iter().map(|x| x.revents).collect())
}

/// The calling thread's credentials, as far as they decide what an op may
/// touch: real, effective, saved and filesystem ids, supplementary groups
/// and capability sets. Compared, never interpreted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    ids: [u32; 8],
    caps: [u32; 6],
    groups: Vec<u32>,
}

impl Creds {
    /// Reads the thread's credentials into `self` (reusing its group list):
    /// six syscalls, no allocation once the group list has its size.
    pub fn read(&mut self) -> io::Result<()> {
        let [ru, eu, su, rg, eg, sg, fu, fg] = &mut self.ids;
        // SAFETY: each pointer is to a u32 of `self.ids`, alive for the call.
        syscall!(unsafe { libc::getresuid(ru, eu, su) })?;
        // SAFETY: as above.
        syscall!(unsafe { libc::getresgid(rg, eg, sg) })?;
        // setfsuid/setfsgid with an invalid id change nothing and return the
        // current value: the only way to read them.
        // SAFETY: no pointers.
        *fu = unsafe { libc::setfsuid(u32::MAX) } as u32;
        // SAFETY: no pointers.
        *fg = unsafe { libc::setfsgid(u32::MAX) } as u32;
        loop {
            let cap = self.groups.capacity();
            // SAFETY: the kernel writes at most `cap` gids into the vector's
            // spare capacity; its length is set to what was written.
            let n = unsafe { libc::getgroups(cap as i32, self.groups.as_mut_ptr()) };
            if n >= 0 {
                // SAFETY: the first n elements were written by getgroups.
                unsafe { self.groups.set_len(n as usize) };
                break;
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINVAL) {
                return Err(err);
            }
            // SAFETY: with a size of 0 getgroups only counts.
            let need = syscall!(unsafe { libc::getgroups(0, std::ptr::null_mut()) })?;
            self.groups.reserve(need as usize + 8);
        }
        // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
        let mut header = CapHeader { version: 0x2008_0522, pid: 0 };
        let mut data = [CapData::default(); 2];
        // SAFETY: capget reads the header and writes two CapData, both locals.
        syscall!(unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) })?;
        self.caps = [
            data[0].effective,
            data[1].effective,
            data[0].permitted,
            data[1].permitted,
            data[0].inheritable,
            data[1].inheritable,
        ];
        Ok(())
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `posix_spawn_file_actions_addchdir_np` (glibc 2.29, musl 1.1.24), looked
/// up at run time: the prebuilt gnu binaries are linked against glibc 2.17,
/// where a direct call would be a weak import that is null on older systems.
/// Returns `ENOSYS` where the C library lacks it.
///
/// # Safety
/// `actions` must point to initialised file actions.
pub unsafe fn spawn_addchdir(actions: *mut libc::posix_spawn_file_actions_t, dir: &CStr) -> i32 {
    type AddChdir = unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, *const libc::c_char) -> libc::c_int;
    static ADDCHDIR: std::sync::OnceLock<Option<AddChdir>> = std::sync::OnceLock::new();
    let f = ADDCHDIR.get_or_init(|| {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only
        // searches the loaded objects; a non-null result is the function of
        // that name, whose C signature is the one AddChdir spells.
        unsafe {
            let p = libc::dlsym(libc::RTLD_DEFAULT, c"posix_spawn_file_actions_addchdir_np".as_ptr());
            (!p.is_null()).then(|| std::mem::transmute::<*mut libc::c_void, AddChdir>(p))
        }
    });
    match f {
        // SAFETY: the caller guarantees `actions`; `dir` is NUL-terminated
        // and libc copies it.
        Some(f) => unsafe { f(actions, dir.as_ptr()) },
        None => libc::ENOSYS,
    }
}
