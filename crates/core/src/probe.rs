//! Setting a ring up with the best flags the kernel accepts, and telling
//! what the kernel supports.

use std::io;

use io_uring::{opcode, IoUring};

use crate::sys;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // the kernel's names: IORING_SETUP_TASKRUN_FLAG
enum Flag {
    SingleIssuer,
    DeferTaskrun,
    TaskrunFlag,
    SubmitAll,
    CoopTaskrun,
    Sqpoll,
}

impl Flag {
    fn name(self) -> &'static str {
        match self {
            Flag::SingleIssuer => "SINGLE_ISSUER",
            Flag::DeferTaskrun => "DEFER_TASKRUN",
            Flag::TaskrunFlag => "TASKRUN_FLAG",
            Flag::SubmitAll => "SUBMIT_ALL",
            Flag::CoopTaskrun => "COOP_TASKRUN",
            Flag::Sqpoll => "SQPOLL",
        }
    }
}

use Flag::*;

/// Flag sets tried in order; a kernel that refuses one (EINVAL: too old for
/// a flag) gets the next. DEFER_TASKRUN (6.1) keeps completion work on our
/// thread until we ask for it, which is what an event loop wants; SQPOLL
/// (on request) trades a kernel thread for submissions without syscalls.
pub const SETUP_CHAINS: &[&[&str]] = &[
    &["SINGLE_ISSUER", "DEFER_TASKRUN", "TASKRUN_FLAG", "SUBMIT_ALL"],
    &["SINGLE_ISSUER", "COOP_TASKRUN", "TASKRUN_FLAG", "SUBMIT_ALL"],
    &["COOP_TASKRUN", "TASKRUN_FLAG", "SUBMIT_ALL"],
    &["SUBMIT_ALL"],
    &[],
];

const CHAINS: &[&[Flag]] = &[
    &[SingleIssuer, DeferTaskrun, TaskrunFlag, SubmitAll],
    &[SingleIssuer, CoopTaskrun, TaskrunFlag, SubmitAll],
    &[CoopTaskrun, TaskrunFlag, SubmitAll],
    &[SubmitAll],
    &[],
];

const SQPOLL_CHAINS: &[&[Flag]] = &[&[Sqpoll, SingleIssuer, SubmitAll], &[Sqpoll, SubmitAll], &[Sqpoll]];

/// Builds a ring, walking the flag chain; returns it with the flags in force.
pub(crate) fn setup(entries: u32, cq: u32, sqpoll: Option<u32>) -> io::Result<(IoUring, Vec<&'static str>)> {
    let chains = if sqpoll.is_some() { SQPOLL_CHAINS } else { CHAINS };
    let mut last = io::Error::from_raw_os_error(libc::EINVAL);
    for chain in chains {
        let mut b = IoUring::builder();
        // Keep the ring's memory out of forked children: a ring never crosses a fork.
        b.dontfork().setup_clamp().setup_cqsize(cq);
        for flag in *chain {
            match flag {
                SingleIssuer => b.setup_single_issuer(),
                DeferTaskrun => b.setup_defer_taskrun(),
                TaskrunFlag => b.setup_taskrun_flag(),
                SubmitAll => b.setup_submit_all(),
                CoopTaskrun => b.setup_coop_taskrun(),
                Sqpoll => b.setup_sqpoll(sqpoll.unwrap_or(1000)),
            };
        }
        match b.build(entries) {
            Ok(ring) => return Ok((ring, chain.iter().map(|f| f.name()).collect())),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// What the kernel offers, as [`probe`] and [`crate::Ring::features`] report it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Features {
    /// `uname -r`.
    pub kernel: String,
    /// Each opcode this crate knows, by liburing's name, and whether the
    /// kernel's probe lists it.
    pub ops: Vec<(&'static str, bool)>,
    /// The setup flags in force.
    pub setup_flags: Vec<&'static str>,
    /// Kernel feature bits reported at setup (IORING_FEAT_*).
    pub features: Vec<&'static str>,
}

macro_rules! op_names {
    ($($name:literal => $op:ident),* $(,)?) => {
        /// Opcodes by liburing's name.
        pub const OPCODES: &[(&str, u8)] = &[$(($name, opcode::$op::CODE)),*];
    };
}

op_names! {
    "nop" => Nop, "readv" => Readv, "writev" => Writev, "fsync" => Fsync,
    "read_fixed" => ReadFixed, "write_fixed" => WriteFixed, "poll_add" => PollAdd,
    "poll_remove" => PollRemove, "sync_file_range" => SyncFileRange, "sendmsg" => SendMsg,
    "recvmsg" => RecvMsg, "timeout" => Timeout, "timeout_remove" => TimeoutRemove,
    "accept" => Accept, "async_cancel" => AsyncCancel, "link_timeout" => LinkTimeout,
    "connect" => Connect, "fallocate" => Fallocate, "openat" => OpenAt, "close" => Close,
    "files_update" => FilesUpdate, "statx" => Statx, "read" => Read, "write" => Write,
    "fadvise" => Fadvise, "madvise" => Madvise, "send" => Send, "recv" => Recv,
    "epoll_ctl" => EpollCtl, "splice" => Splice, "provide_buffers" => ProvideBuffers,
    "remove_buffers" => RemoveBuffers, "tee" => Tee, "shutdown" => Shutdown,
    "renameat" => RenameAt, "unlinkat" => UnlinkAt, "mkdirat" => MkDirAt,
    "symlinkat" => SymlinkAt, "linkat" => LinkAt, "msg_ring" => MsgRingData,
    "fsetxattr" => FSetXattr, "setxattr" => SetXattr, "fgetxattr" => FGetXattr,
    "getxattr" => GetXattr, "socket" => Socket, "send_zc" => SendZc,
    "sendmsg_zc" => SendMsgZc, "read_multishot" => ReadMulti, "waitid" => WaitId,
    "futex_wait" => FutexWait, "futex_wake" => FutexWake, "futex_waitv" => FutexWaitV,
    "fixed_fd_install" => FixedFdInstall, "ftruncate" => Ftruncate, "bind" => Bind,
    "listen" => Listen, "recv_zc" => RecvZc, "epoll_wait" => EpollWait,
    "readv_fixed" => ReadvFixed, "writev_fixed" => WritevFixed, "pipe" => Pipe,
}

pub(crate) fn features(ring: &IoUring, probe: &io_uring::Probe, setup_flags: &[&'static str]) -> Features {
    let p = ring.params();
    let feats: [(&str, bool); 12] = [
        ("NODROP", p.is_feature_nodrop()),
        ("SUBMIT_STABLE", p.is_feature_submit_stable()),
        ("RW_CUR_POS", p.is_feature_rw_cur_pos()),
        ("CUR_PERSONALITY", p.is_feature_cur_personality()),
        ("FAST_POLL", p.is_feature_fast_poll()),
        ("POLL_32BITS", p.is_feature_poll_32bits()),
        ("SQPOLL_NONFIXED", p.is_feature_sqpoll_nonfixed()),
        ("EXT_ARG", p.is_feature_ext_arg()),
        ("NATIVE_WORKERS", p.is_feature_native_workers()),
        ("RSRC_TAGS", p.is_feature_resource_tagging()),
        ("CQE_SKIP", p.is_feature_skip_cqe_on_success()),
        ("LINKED_FILE", p.is_feature_linked_file()),
    ];
    Features {
        kernel: sys::kernel_release(),
        ops: OPCODES.iter().map(|&(name, code)| (name, probe.is_supported(code))).collect(),
        setup_flags: setup_flags.to_vec(),
        features: feats.iter().filter(|f| f.1).map(|f| f.0).collect(),
    }
}

/// Probes the kernel once with a small ring: its io_uring opcodes, the setup
/// flags it accepts, its features. Fails the way [`crate::Ring::new`] would
/// (EPERM under a seccomp profile or `kernel.io_uring_disabled`, ENOSYS on
/// kernels without io_uring).
pub fn probe() -> io::Result<Features> {
    let ring = crate::Ring::new(&crate::Config { entries: 8, cq_entries: Some(16), ..Default::default() })?;
    Ok(ring.features())
}

/// Why io_uring cannot be used here, in words for an error message.
pub fn unavailable_reason(err: &io::Error) -> String {
    let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0);
    match err.raw_os_error() {
        Some(libc::ENOSYS) => "this kernel has no io_uring (io_uring_setup: ENOSYS): it is older than Linux 5.1 or was built without io_uring; uring-machine needs 5.6+".into(),
        Some(libc::EPERM) if disabled == 2 => "io_uring is disabled on this system (kernel.io_uring_disabled = 2)".into(),
        Some(libc::EPERM) if disabled == 1 => "io_uring is restricted to the io_uring_group on this system (kernel.io_uring_disabled = 1)".into(),
        Some(libc::EPERM) => "io_uring_setup was denied (EPERM): a seccomp profile (such as Docker's default) or a security module forbids io_uring".into(),
        Some(libc::ENOMEM) => "io_uring_setup failed with ENOMEM: the locked-memory limit (ulimit -l) is too low for the ring".into(),
        _ => format!("io_uring_setup failed: {err}"),
    }
}
