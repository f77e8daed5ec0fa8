//! `deny-io-uring [--errno NAME] -- PROGRAM ARGS...`
//!
//! Runs PROGRAM under a seccomp filter that makes `io_uring_setup`,
//! `io_uring_enter` and `io_uring_register` fail with EPERM (the default,
//! what Docker's default profile does) or ENOSYS (`--errno ENOSYS`, what a
//! kernel without io_uring says), and allows every other system call. The
//! filter is inherited across `execve` and `fork`, so PROGRAM and all its
//! children see a system without io_uring.
//!
//! No privileges are needed: the process sets `PR_SET_NO_NEW_PRIVS` first,
//! which lets an unprivileged process install a filter.

use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

// --- Classic BPF instruction encoding (linux/bpf_common.h, linux/filter.h) ---

/// Instruction class: load into the accumulator.
const BPF_LD: u16 = 0x00;
/// Instruction class: jump.
const BPF_JMP: u16 = 0x05;
/// Instruction class: return.
const BPF_RET: u16 = 0x06;
/// Load size: 32-bit word.
const BPF_W: u16 = 0x00;
/// Load mode: absolute offset into the data (here `struct seccomp_data`).
const BPF_ABS: u16 = 0x20;
/// Jump condition: accumulator == k.
const BPF_JEQ: u16 = 0x10;
/// Operand source: the constant `k`.
const BPF_K: u16 = 0x00;
#[cfg(target_arch = "x86_64")]
/// Instruction class: arithmetic on the accumulator.
const BPF_ALU: u16 = 0x04;
#[cfg(target_arch = "x86_64")]
/// ALU operation: accumulator &= k.
const BPF_AND: u16 = 0x50;

// --- seccomp (linux/seccomp.h, linux/audit.h) ---

/// `seccomp(2)` operation that installs a BPF program. (Not to be confused
/// with SECCOMP_MODE_FILTER = 2, the same request spelled for
/// `prctl(PR_SET_SECCOMP, ...)`: as a `seccomp(2)` operation, 2 is
/// SECCOMP_GET_ACTION_AVAIL.)
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
/// Filter verdict: let the system call run.
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// Filter verdict: fail the call with errno = the low 16 bits (SECCOMP_RET_DATA).
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// The part of a verdict that carries its data (here, the errno).
const SECCOMP_RET_DATA: u32 = 0x0000_ffff;

/// Offsets into `struct seccomp_data { int nr; __u32 arch; __u64 ip; __u64 args[6]; }`.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

/// AUDIT_ARCH_X86_64 = EM_X86_64 (62) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 62 | 0x8000_0000 | 0x4000_0000;
/// AUDIT_ARCH_AARCH64 = EM_AARCH64 (183) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 183 | 0x8000_0000 | 0x4000_0000;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("deny-io-uring knows the seccomp arch of x86_64 and aarch64 only");

/// x32 system calls share AUDIT_ARCH_X86_64 and are numbered with this bit
/// set; masking it off denies io_uring to x32 code as well.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The io_uring system calls. They have the same numbers on x86_64 and on
/// aarch64 (asm-generic): 425, 426, 427, added in Linux 5.1.
const NR_IO_URING_SETUP: u32 = libc::SYS_io_uring_setup as u32;
const NR_IO_URING_ENTER: u32 = libc::SYS_io_uring_enter as u32;
const NR_IO_URING_REGISTER: u32 = libc::SYS_io_uring_register as u32;
const _: () = assert!(NR_IO_URING_SETUP == 425 && NR_IO_URING_ENTER == 426 && NR_IO_URING_REGISTER == 427);

const fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter: on this arch, the three io_uring calls get `errno`; all else
/// (including calls made under another arch's ABI, whose numbers mean other
/// things) is allowed.
fn program(errno: u32) -> Vec<libc::sock_filter> {
    let deny = SECCOMP_RET_ERRNO | (errno & SECCOMP_RET_DATA);
    let mut p = vec![
        // A = seccomp_data.arch
        stmt(BPF_LD | BPF_W | BPF_ABS, OFFSET_ARCH),
        // if A != AUDIT_ARCH: allow (skip to the last instruction)
        jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 0, 0), // jf patched below
        // A = seccomp_data.nr
        stmt(BPF_LD | BPF_W | BPF_ABS, OFFSET_NR),
    ];
    #[cfg(target_arch = "x86_64")]
    // A &= !X32_SYSCALL_BIT
    p.push(stmt(BPF_ALU | BPF_AND | BPF_K, !X32_SYSCALL_BIT));
    p.extend([
        // if A == io_uring_setup || A == io_uring_enter || A == io_uring_register: deny
        jump(BPF_JMP | BPF_JEQ | BPF_K, NR_IO_URING_SETUP, 3, 0),
        jump(BPF_JMP | BPF_JEQ | BPF_K, NR_IO_URING_ENTER, 2, 0),
        jump(BPF_JMP | BPF_JEQ | BPF_K, NR_IO_URING_REGISTER, 1, 0),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        stmt(BPF_RET | BPF_K, deny),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    ]);
    // The arch check jumps over everything between it and the final ALLOW.
    let skip = p.len() - 1 - 2;
    p[1].jf = u8::try_from(skip).expect("filter is short");
    p
}

fn install(errno: u32) -> io::Result<()> {
    let mut filter = program(errno);
    let prog =
        libc::sock_fprog { len: u16::try_from(filter.len()).expect("filter is short"), filter: filter.as_mut_ptr() };
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes plain integer arguments and
    // touches no memory of ours.
    if unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `prog` points at `filter`, a live Vec of `prog.len` initialized
    // sock_filter structs, both outliving the call; the kernel copies the
    // program during the call and keeps no pointer into our memory.
    let rc = unsafe {
        libc::syscall(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0 as libc::c_ulong, &prog as *const libc::sock_fprog)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

const USAGE: &str = "usage: deny-io-uring [--errno EPERM|ENOSYS] -- PROGRAM ARGS...";

fn parse_errno(name: &str) -> Option<u32> {
    match name {
        "EPERM" => Some(libc::EPERM as u32),
        "ENOSYS" => Some(libc::ENOSYS as u32),
        _ => None,
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("deny-io-uring: {msg}\n{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let mut errno = libc::EPERM as u32;
    let mut command: Vec<OsString> = Vec::new();
    while let Some(arg) = args.next() {
        let a = arg.to_string_lossy();
        if a == "--" {
            command.extend(args.by_ref());
            break;
        } else if a == "-h" || a == "--help" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        } else if a == "--errno" || a.starts_with("--errno=") {
            let name = match a.strip_prefix("--errno=") {
                Some(v) => v.to_string(),
                None => match args.next() {
                    Some(v) => v.to_string_lossy().into_owned(),
                    None => return usage_error("--errno needs a value"),
                },
            };
            match parse_errno(&name) {
                Some(e) => errno = e,
                None => return usage_error(&format!("unknown errno '{name}' (EPERM or ENOSYS)")),
            }
        } else {
            return usage_error(&format!("unexpected argument '{a}' (put the program after --)"));
        }
    }
    if command.is_empty() {
        return usage_error("no program given");
    }
    let mut argv = Vec::with_capacity(command.len());
    for a in &command {
        match CString::new(a.as_bytes()) {
            Ok(c) => argv.push(c),
            Err(_) => return usage_error("arguments cannot contain NUL bytes"),
        }
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());

    if let Err(e) = install(errno) {
        eprintln!("deny-io-uring: cannot install the seccomp filter: {e}");
        return ExitCode::from(125);
    }
    // SAFETY: argv_ptrs is a null-terminated array of pointers to the
    // NUL-terminated strings in `argv`, all alive for the call; execvp
    // returns only on failure, leaving our memory as it was.
    unsafe { libc::execvp(argv_ptrs[0], argv_ptrs.as_ptr()) };
    let e = io::Error::last_os_error();
    eprintln!("deny-io-uring: cannot run {}: {e}", command[0].to_string_lossy());
    ExitCode::from(if e.kind() == io::ErrorKind::NotFound { 127 } else { 126 })
}
