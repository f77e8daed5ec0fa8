//! Child processes without fork hazards: `posix_spawn` (vfork+exec inside
//! libc, safe in a threaded process), a pidfd for race-free signalling and
//! waiting, and the wait itself as an io_uring op ([`crate::Op::WaitId`]).

use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::ptr;

use crate::sys;

/// What a child's stdin, stdout or stderr is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio {
    /// The parent's own fd.
    Inherit,
    /// `/dev/null`.
    Null,
    /// A new pipe; the parent gets the other end.
    Pipe,
    /// This fd of the parent's.
    Fd(RawFd),
}

/// A spawned child: its pid, a pidfd, and the parent's ends of its pipes.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    pub pidfd: RawFd,
    pub stdio: [Option<RawFd>; 3],
}

extern "C" {
    static environ: *const *const libc::c_char;
}

/// Starts `file` (searched in PATH) with `argv` (`argv[0]` included), `envp`
/// (None: the parent's environment) and `cwd`. Signal dispositions and the
/// signal mask are reset in the child (Node ignores SIGPIPE, which exec would
/// otherwise keep).
pub fn spawn(
    file: &CStr,
    argv: &[CString],
    envp: Option<&[CString]>,
    cwd: Option<&CStr>,
    stdio: [Stdio; 3],
) -> io::Result<Child> {
    let mut pipes: Vec<RawFd> = Vec::new(); // every pipe end we made, to clean up on failure
    let mut parent_ends = [None; 3];
    let mut child_ends = [None; 3];
    for (i, s) in stdio.iter().enumerate() {
        if *s == Stdio::Pipe {
            let [r, w] = sys::pipe(0)?;
            pipes.extend([r, w]);
            // The child reads its stdin and writes its stdout/stderr.
            let (child, parent) = if i == 0 { (r, w) } else { (w, r) };
            child_ends[i] = Some(child);
            parent_ends[i] = Some(parent);
        }
    }
    let cleanup = |pipes: &[RawFd]| pipes.iter().for_each(|&fd| sys::close(fd));

    let argv_ptrs: Vec<*mut libc::c_char> =
        argv.iter().map(|a| a.as_ptr() as *mut libc::c_char).chain(std::iter::once(ptr::null_mut())).collect();
    let envp_ptrs: Option<Vec<*mut libc::c_char>> = envp
        .map(|e| e.iter().map(|v| v.as_ptr() as *mut libc::c_char).chain(std::iter::once(ptr::null_mut())).collect());
    let devnull = c"/dev/null";

    // SAFETY: the file actions and attributes are initialised before use and
    // destroyed after; every pointer passed (paths, argv, envp) outlives the
    // posix_spawnp call, and the arrays are NULL-terminated.
    unsafe {
        let mut actions = MaybeUninit::<libc::posix_spawn_file_actions_t>::uninit();
        let mut attr = MaybeUninit::<libc::posix_spawnattr_t>::uninit();
        libc::posix_spawn_file_actions_init(actions.as_mut_ptr());
        libc::posix_spawnattr_init(attr.as_mut_ptr());
        let (actions, attr) = (actions.as_mut_ptr(), attr.as_mut_ptr());
        let mut rc = 0;
        for (i, s) in stdio.iter().enumerate() {
            let target = i as libc::c_int;
            rc = match s {
                Stdio::Inherit => 0,
                Stdio::Null => {
                    libc::posix_spawn_file_actions_addopen(actions, target, devnull.as_ptr(), libc::O_RDWR, 0)
                }
                Stdio::Pipe => libc::posix_spawn_file_actions_adddup2(actions, child_ends[i].unwrap(), target),
                Stdio::Fd(fd) => libc::posix_spawn_file_actions_adddup2(actions, *fd, target),
            };
            if rc != 0 {
                break;
            }
        }
        if rc == 0 {
            if let Some(dir) = cwd {
                rc = sys::spawn_addchdir(actions, dir);
            }
        }
        if rc == 0 {
            let mut all = MaybeUninit::<libc::sigset_t>::uninit();
            let mut none = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigfillset(all.as_mut_ptr());
            libc::sigemptyset(none.as_mut_ptr());
            libc::posix_spawnattr_setsigdefault(attr, all.as_ptr());
            libc::posix_spawnattr_setsigmask(attr, none.as_ptr());
            libc::posix_spawnattr_setflags(
                attr,
                (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short,
            );
            let mut pid = 0;
            let env = envp_ptrs.as_ref().map_or(environ, |e| e.as_ptr() as *const *const libc::c_char);
            rc = libc::posix_spawnp(
                &mut pid,
                file.as_ptr(),
                actions,
                attr,
                argv_ptrs.as_ptr(),
                env as *const *mut libc::c_char,
            );
            if rc == 0 {
                libc::posix_spawn_file_actions_destroy(actions);
                libc::posix_spawnattr_destroy(attr);
                // The child's ends belong to the child now.
                child_ends.iter().flatten().for_each(|&fd| sys::close(fd));
                // Nobody but this process can reap the child, so the pid is
                // still ours to open.
                let pidfd = match pidfd_open(pid) {
                    Ok(fd) => fd,
                    Err(e) => {
                        parent_ends.iter().flatten().for_each(|&fd| sys::close(fd));
                        return Err(e);
                    }
                };
                return Ok(Child { pid, pidfd, stdio: parent_ends });
            }
        }
        libc::posix_spawn_file_actions_destroy(actions);
        libc::posix_spawnattr_destroy(attr);
        cleanup(&pipes);
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// `pidfd_open(2)`: an fd that names the process `pid` (close-on-exec).
pub fn pidfd_open(pid: i32) -> io::Result<RawFd> {
    // SAFETY: no pointers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(fd as RawFd)
    }
}

/// `pidfd_send_signal(2)`: signals the process the pidfd names, never a
/// recycled pid.
pub fn pidfd_send_signal(pidfd: RawFd, sig: i32) -> io::Result<()> {
    // SAFETY: a null siginfo is allowed (the kernel fills it as for kill()).
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd, sig, ptr::null::<libc::siginfo_t>(), 0) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The fields of a waitid result (`siginfo_t` for SIGCHLD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildStatus {
    /// 0 when WNOHANG found no child in a waitable state.
    pub pid: i32,
    /// CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_TRAPPED or CLD_CONTINUED.
    pub code: i32,
    /// The exit status (CLD_EXITED) or the signal number (otherwise).
    pub status: i32,
}

impl ChildStatus {
    /// Reads the SIGCHLD fields of a siginfo. The kernel's generic layout:
    /// si_code at byte 8; si_pid, si_uid, si_status at 16, 20, 24 (every
    /// 64-bit Linux architecture this crate builds for).
    pub(crate) fn from_siginfo(info: &libc::siginfo_t) -> ChildStatus {
        // SAFETY: siginfo_t is 128 bytes of plain data.
        let bytes = unsafe { std::slice::from_raw_parts((info as *const libc::siginfo_t).cast::<u8>(), 28) };
        let at = |o: usize| i32::from_ne_bytes(bytes[o..o + 4].try_into().unwrap());
        ChildStatus { pid: at(16), code: at(8), status: at(24) }
    }
}
