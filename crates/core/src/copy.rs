//! Copies that run in the core: bytes from one fd through a pipe the copy
//! owns to another, as splice pairs (src -> pipe linked to pipe -> dst)
//! the ring submits again on their completion, with no caller code in
//! between, until `length` bytes or end of file; then one completion with
//! the byte count, or the first error (and the bytes copied before it).
//!
//! size: one state machine. The splice loop and copyFile's steps share
//! `Copy`'s stages, fields and completion handling (`entries`, `record`,
//! `advance`); split across files, each stage would be read in two places.
//!
//! A pair's first splice asks for a chunk (the pipe's size, 1 MiB where
//! the system allows). When it moves less (a socket's partial data, the end
//! of a file), the kernel ends the link there (a short splice fails a
//! link) and cancels the second splice; the copy then drains what the
//! pipe holds with a splice of its own, and goes on. A second splice that
//! moves less than the pipe holds is re-submitted for the rest. A first
//! splice that returns 0 is the end of the source.
//!
//! [`Copy::file`] is Node's copyFile (libuv's steps, each an SQE the ring
//! submits as the one before it completes): open the source, statx it, open
//! the destination (`O_WRONLY | O_CREAT`, `O_EXCL` for COPYFILE_EXCL, the
//! source's mode), statx it (the same file: done, nothing copied), truncate
//! it, set the source's mode, the splice loop for the source's size, and
//! close both. The truncate is an IORING_OP_FTRUNCATE (6.9) and the closes
//! IORING_OP_CLOSEs with IOSQE_ASYNC, so io-wq runs them, on both cores, and
//! not the ring's thread one file after another: on ext4 a truncate waits
//! for the writeback of the pages it drops, and the close of a file
//! truncated to 0 starts its writeback (auto_da_alloc). Before 6.9 the
//! truncate is a plain syscall on the ring's thread, as are fchmod and the
//! FICLONE ioctl (no io_uring op), the closes of a copy cancelled or ended
//! by the ring closing, and the unlink of a destination left half written
//! (as libuv removes it).
//!
//! The pipe comes from the ring's pool of empty pipes when it has one
//! (kept from finished copies while any copy is in flight, none when
//! idle), else it is made (pipe2, F_SETPIPE_SZ). The pipe and copyFile's
//! two fds belong to the copy: they are closed when it is dropped or
//! (the fds) at its Close stage, after its last CQE, whatever ended it (an
//! error, a cancel, the ring closing); a pipe goes back to the pool only
//! empty (FIONREAD) from a copy without failure.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use io_uring::{opcode, squeue, types};

use crate::stat::Stat;

/// Bytes a copy asks its first splice for at most (its pipe's size).
pub const COPY_CHUNK: u32 = 1 << 20;
/// copyFile: fail with EEXIST if the destination exists.
pub const COPYFILE_EXCL: u32 = 1;
/// copyFile: try a copy-on-write clone first, copy if it fails.
pub const COPYFILE_FICLONE: u32 = 2;
/// copyFile: clone or fail.
pub const COPYFILE_FICLONE_FORCE: u32 = 4;

/// A step's result before its CQE has arrived.
const PENDING: i32 = i32::MIN;
/// The length that means "to the end of the source".
pub const TO_EOF: u64 = u64::MAX;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    OpenSrc,
    StatSrc,
    OpenDst,
    StatDst,
    /// IORING_OP_FTRUNCATE of the destination to 0 (6.9), in io-wq.
    Truncate,
    /// A splice pair: src -> pipe, pipe -> dst.
    Pair,
    /// pipe -> dst, for what the pipe still holds.
    Drain,
    /// copyFile's IORING_OP_CLOSEs of its fds (IOSQE_ASYNC: in io-wq).
    Close,
    Done,
}

/// Where a copy failed: the syscall, and which side (for the fd an error names).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// A step on the source (its open, statx, the splice out of it).
    Src,
    /// A step on the destination.
    Dst,
}

/// A copy's pipe: read end, write end, and its size (the chunk a first
/// splice asks for). The ring keeps the empty pipes of finished copies for
/// the next ones while any copy is in flight.
pub(crate) struct Pipe {
    fds: [OwnedFd; 2],
    size: u32,
}

impl Pipe {
    fn new() -> std::io::Result<Pipe> {
        let [r, w] = crate::sys::pipe(COPY_CHUNK as i32)?;
        // SAFETY: fresh fds nobody else owns.
        let fds = unsafe { [OwnedFd::from_raw_fd(r), OwnedFd::from_raw_fd(w)] };
        // SAFETY: a query of the pipe just made.
        let size = unsafe { libc::fcntl(w, libc::F_GETPIPE_SZ) };
        Ok(Pipe { fds, size: if size > 0 { size as u32 } else { COPY_CHUNK } })
    }

    fn ends(&self) -> [RawFd; 2] {
        [self.fds[0].as_raw_fd(), self.fds[1].as_raw_fd()]
    }

    /// Whether the kernel says the pipe holds nothing.
    fn is_empty(&self) -> bool {
        let mut n: libc::c_int = -1;
        // SAFETY: FIONREAD writes one int into `n`, which outlives the call.
        unsafe { libc::ioctl(self.fds[0].as_raw_fd(), libc::FIONREAD, &mut n) == 0 && n == 0 }
    }
}

/// copyFile's paths, flags and what it learnt of the two files.
struct FileJob {
    src: CString,
    dst: CString,
    mode: u32,
    stat: Box<Stat>,
    src_mode: u32,
    src_dev: u64,
    src_ino: u64,
    dst_opened: bool,
    /// The destination's size and mode as its statx saw them (for the truncate's rules).
    dst_seen: (u64, u32),
    /// The fds the Close stage's SQEs close, by step, and their sides.
    closing: [(RawFd, Side); 2],
}

/// A copy in the core: see the module docs.
pub struct Copy {
    stage: Stage,
    src: RawFd,
    dst: RawFd,
    /// copyFile's fds (source, destination), closed by the copy.
    owned: [Option<OwnedFd>; 2],
    /// Explicit offsets, advanced as bytes move; -1: the file's own position.
    src_pos: i64,
    dst_pos: i64,
    length: u64,
    /// Bytes that reached the destination.
    copied: u64,
    /// Bytes in the pipe, not yet at the destination.
    in_pipe: u32,
    /// What the last first splice asked for.
    want: u32,
    /// The pipe (made, or taken from the ring's pool, at the first splice).
    pipe: Option<Pipe>,
    chunk: u32,
    error: Option<(i32, &'static str, Side)>,
    results: [i32; 2],
    steps: usize,
    file: Option<Box<FileJob>>,
    rounds: u32,
    /// The ring runs ftruncate (IORING_OP_FTRUNCATE) and close as SQEs.
    ring_truncate: bool,
    ring_close: bool,
}

impl Copy {
    /// A copy of `length` bytes ([`TO_EOF`]: to the end) from `src` at
    /// `src_pos` to `dst` at `dst_pos` (`-1`: the file's own position, which
    /// the copy advances).
    pub fn fds(src: RawFd, dst: RawFd, length: u64, src_pos: i64, dst_pos: i64) -> Copy {
        let mut c = Copy::with(Stage::Pair, None);
        c.src = src;
        c.dst = dst;
        c.length = length;
        c.src_pos = src_pos;
        c.dst_pos = dst_pos;
        if length == 0 {
            c.stage = Stage::Done;
        }
        c
    }

    /// Node's copyFile of `src` to `dst` with COPYFILE_* `mode`: see the module docs.
    pub fn file(src: CString, dst: CString, mode: u32) -> Copy {
        let job = FileJob {
            src,
            dst,
            mode,
            // SAFETY: statx is plain data; all zeroes is a valid value.
            stat: Box::new(Stat(unsafe { std::mem::zeroed() })),
            src_mode: 0,
            src_dev: 0,
            src_ino: 0,
            dst_opened: false,
            dst_seen: (0, 0),
            closing: [(-1, Side::Src); 2],
        };
        Copy::with(Stage::OpenSrc, Some(Box::new(job)))
    }

    fn with(stage: Stage, file: Option<Box<FileJob>>) -> Copy {
        Copy {
            stage,
            src: -1,
            dst: -1,
            owned: [None, None],
            src_pos: -1,
            dst_pos: -1,
            length: TO_EOF,
            copied: 0,
            in_pipe: 0,
            want: 0,
            pipe: None,
            chunk: COPY_CHUNK,
            error: None,
            results: [PENDING; 2],
            steps: 0,
            file,
            rounds: 0,
            ring_truncate: false,
            ring_close: false,
        }
    }

    /// Bytes that reached the destination.
    pub fn copied(&self) -> u64 {
        self.copied
    }

    /// The first failure: `-errno`, the syscall it names, and its side.
    pub fn error(&self) -> Option<(i32, &'static str, Side)> {
        self.error
    }

    /// `0`, or the first failure's `-errno`.
    pub fn result(&self) -> i32 {
        self.error.map_or(0, |e| e.0)
    }

    /// Whether this is a [`Copy::file`].
    pub fn is_file(&self) -> bool {
        self.file.is_some()
    }

    /// Submissions the copy made (splice rounds and copyFile's steps).
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// The opcodes this copy needs, to check against the kernel's probe.
    pub(crate) fn opcodes(&self) -> &'static [u8] {
        if self.file.is_some() {
            &[opcode::Splice::CODE, opcode::OpenAt::CODE, opcode::Statx::CODE]
        } else {
            &[opcode::Splice::CODE]
        }
    }

    /// Whether it is over before anything was submitted (a length of 0).
    pub(crate) fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Whether step `i` of the current submission still waits for its CQE.
    pub(crate) fn pending(&self, i: usize) -> bool {
        i < self.steps && self.results[i] == PENDING
    }

    /// The SQEs of the current stage (one or a linked pair; the ring sets
    /// their user_data). Pointers in them borrow from the copy's heap data.
    pub(crate) fn entries(&mut self) -> Vec<squeue::Entry> {
        self.results = [PENDING; 2];
        self.rounds += 1;
        let stat_of = |fd: RawFd, stat: &mut Box<Stat>| {
            let out: *mut Stat = &mut **stat;
            opcode::Statx::new(types::Fd(fd), c"".as_ptr(), out.cast())
                .flags(libc::AT_EMPTY_PATH)
                .mask(libc::STATX_BASIC_STATS)
                .build()
        };
        let entries = match self.stage {
            Stage::OpenSrc => {
                let job = self.file.as_ref().expect("a copyFile");
                vec![opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), job.src.as_ptr())
                    .flags(libc::O_RDONLY | libc::O_CLOEXEC)
                    .build()]
            }
            Stage::StatSrc => vec![stat_of(self.src, &mut self.file.as_mut().expect("a copyFile").stat)],
            Stage::OpenDst => {
                let job = self.file.as_ref().expect("a copyFile");
                let excl = if job.mode & COPYFILE_EXCL != 0 { libc::O_EXCL } else { 0 };
                vec![opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), job.dst.as_ptr())
                    .flags(libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC | excl)
                    .mode(job.src_mode & 0o7777)
                    .build()]
            }
            Stage::StatDst => vec![stat_of(self.dst, &mut self.file.as_mut().expect("a copyFile").stat)],
            Stage::Truncate => vec![opcode::Ftruncate::new(types::Fd(self.dst), 0).build()],
            Stage::Close => {
                let job = self.file.as_mut().expect("a copyFile");
                let mut v = Vec::with_capacity(2);
                for (i, fd) in self.owned.iter_mut().enumerate() {
                    if let Some(fd) = fd.take() {
                        let side = if i == 0 { Side::Src } else { Side::Dst };
                        // The SQE owns the fd now (`advance` closes it if the SQE never ran).
                        let raw = fd.into_raw_fd();
                        job.closing[v.len()] = (raw, side);
                        v.push(opcode::Close::new(types::Fd(raw)).build().flags(squeue::Flags::ASYNC));
                    }
                }
                v
            }
            Stage::Pair => {
                let [r, w] = self.pipe.as_ref().map(Pipe::ends).expect("made at the stage");
                let left = self.length - self.copied;
                self.want = left.min(self.chunk as u64) as u32;
                let a = opcode::Splice::new(types::Fd(self.src), self.src_pos, types::Fd(w), -1, self.want)
                    .build()
                    .flags(squeue::Flags::IO_LINK);
                let b = opcode::Splice::new(types::Fd(r), -1, types::Fd(self.dst), self.dst_pos, self.want).build();
                vec![a, b]
            }
            Stage::Drain => {
                let r = self.pipe.as_ref().map(|p| p.fds[0].as_raw_fd()).expect("made at the stage");
                vec![opcode::Splice::new(types::Fd(r), -1, types::Fd(self.dst), self.dst_pos, self.in_pipe).build()]
            }
            Stage::Done => Vec::new(),
        };
        self.steps = entries.len();
        entries
    }

    /// Records step `i`'s CQE.
    pub(crate) fn record(&mut self, i: usize, res: i32) {
        // A splice cancelled while it blocked in an io-wq worker can end
        // with the kernel-internal ERESTARTSYS family: an interrupted call.
        let res = if (-516..=-512).contains(&res) { -libc::EINTR } else { res };
        if let Some(r) = self.results.get_mut(i) {
            *r = res;
        }
    }

    fn fail(&mut self, res: i32, name: &'static str, side: Side) {
        self.error.get_or_insert((res, name, side));
    }

    /// Called when every CQE of the current submission has arrived; `stop`:
    /// the caller cancelled or the ring is closing. Returns whether there
    /// is more to submit ([`Copy::entries`]); when not, the copy is over.
    pub(crate) fn advance(&mut self, stop: bool, pool: &mut Vec<Pipe>) -> bool {
        let [a, b] = self.results;
        let cancelled = |r: i32| r == -libc::ECANCELED || (stop && r == -libc::EINTR);
        match self.stage {
            Stage::OpenSrc | Stage::OpenDst => {
                let src = self.stage == Stage::OpenSrc;
                let side = if src { Side::Src } else { Side::Dst };
                if a < 0 {
                    self.fail(if cancelled(a) { -libc::ECANCELED } else { a }, "open", side);
                } else {
                    // SAFETY: a successful open's result is a new fd nobody else owns.
                    self.owned[!src as usize] = Some(unsafe { OwnedFd::from_raw_fd(a) });
                    if src {
                        self.src = a;
                        self.stage = Stage::StatSrc;
                    } else {
                        self.dst = a;
                        self.file.as_mut().expect("a copyFile").dst_opened = true;
                        let excl = self.file.as_ref().is_some_and(|j| j.mode & COPYFILE_EXCL != 0);
                        self.stage = Stage::StatDst;
                        if excl {
                            self.prepare(None);
                        }
                    }
                }
            }
            Stage::StatSrc => {
                if a < 0 {
                    self.fail(a, "fstat", Side::Src);
                } else {
                    let job = self.file.as_mut().expect("a copyFile");
                    job.src_mode = job.stat.mode();
                    job.src_dev = job.stat.dev();
                    job.src_ino = job.stat.ino();
                    self.length = job.stat.size();
                    self.stage = Stage::OpenDst;
                }
            }
            Stage::StatDst => {
                if a < 0 {
                    self.fail(a, "fstat", Side::Dst);
                } else {
                    let job = self.file.as_ref().expect("a copyFile");
                    let st = &job.stat;
                    if st.dev() == job.src_dev && st.ino() == job.src_ino {
                        self.stage = Stage::Done; // the same file: nothing to do
                    } else {
                        let dst = (st.size(), st.mode());
                        self.prepare(Some(dst));
                    }
                }
            }
            Stage::Pair => {
                if a < 0 {
                    self.fail(if cancelled(a) { -libc::ECANCELED } else { a }, "splice", Side::Src);
                } else if a == 0 {
                    self.stage = Stage::Done; // end of the source
                } else {
                    if self.src_pos >= 0 {
                        self.src_pos += a as i64;
                    }
                    self.in_pipe = a as u32;
                    // The second splice was cancelled by the link when the
                    // first was short: not a failure, the pipe is drained next.
                    let broken = b == -libc::ECANCELED && (a as u32) < self.want && !stop;
                    if !broken {
                        self.moved(b);
                    }
                    self.after_splice();
                }
            }
            Stage::Drain => {
                self.moved(a);
                self.after_splice();
            }
            Stage::Truncate => {
                let dst = self.file.as_ref().expect("a copyFile").dst_seen;
                if a < 0 && (a != -libc::EACCES || dst.0 > 0) {
                    self.fail(if cancelled(a) { -libc::ECANCELED } else { a }, "ftruncate", Side::Dst);
                } else {
                    self.prepare_rest(Some(dst));
                }
            }
            Stage::Close => {
                self.closed();
                return false;
            }
            Stage::Done => {}
        }
        if self.error.is_none() && stop && self.stage != Stage::Done {
            self.fail(-libc::ECANCELED, "splice", Side::Src);
        }
        self.prime(pool);
        if self.error.is_some() {
            self.stage = Stage::Done;
        }
        if self.stage == Stage::Done {
            // copyFile's closes: SQEs in io-wq (a destination truncated to 0
            // on ext4 starts its writeback at close), unless stopping.
            if self.ring_close && !stop && self.owned.iter().any(Option::is_some) {
                self.stage = Stage::Close;
                return true;
            }
            self.finish();
            return false;
        }
        true
    }

    /// Tells the copy which steps the ring runs as SQEs: IORING_OP_FTRUNCATE
    /// (`truncate`), and the closes at the end (`close`).
    pub(crate) fn use_ring_for(&mut self, truncate: bool, close: bool) {
        self.ring_truncate = truncate;
        self.ring_close = close;
    }

    /// Before a splice pair: gives the copy a pipe (one of `pool`'s, or a
    /// new one); a failure to make one ends the copy.
    pub(crate) fn prime(&mut self, pool: &mut Vec<Pipe>) {
        if self.stage != Stage::Pair || self.pipe.is_some() || self.error.is_some() {
            return;
        }
        match pool.pop().map_or_else(Pipe::new, Ok) {
            Ok(p) => {
                self.chunk = p.size;
                self.pipe = Some(p);
            }
            Err(e) => {
                self.fail(-e.raw_os_error().unwrap_or(libc::EMFILE), "pipe", Side::Src);
                self.stage = Stage::Done;
            }
        }
    }

    /// The copy's pipe, once it is over, if it can serve another copy: no
    /// failure, nothing left in it.
    pub(crate) fn take_pipe(&mut self) -> Option<Pipe> {
        let pipe = self.pipe.take();
        let clean = self.stage == Stage::Done && self.error.is_none() && self.in_pipe == 0;
        pipe.filter(|p| clean && p.is_empty())
    }

    /// The Close stage's CQEs: a close that never ran is made here; the
    /// first failure is the copy's if it has none; then the removal of a
    /// destination not finished.
    fn closed(&mut self) {
        let job = self.file.as_mut().expect("a copyFile");
        for i in 0..self.steps {
            let (fd, side) = job.closing[i];
            let mut res = self.results[i];
            if res == -libc::ECANCELED {
                // SAFETY: the SQE that owned `fd` was not issued; it is closed once, here.
                res = if unsafe { libc::close(fd) } < 0 { errno() } else { 0 };
            }
            if res < 0 {
                self.error.get_or_insert((res, "close", side));
            }
        }
        self.stage = Stage::Done;
        self.finish();
    }

    /// The result `k` of a splice out of the pipe.
    fn moved(&mut self, k: i32) {
        if k < 0 {
            let stop = k == -libc::EINTR;
            self.fail(if stop { -libc::ECANCELED } else { k }, "splice", Side::Dst);
        } else if k == 0 {
            // The pipe holds bytes and the copy holds its write end: a
            // destination that takes none (a /proc file). Fail rather than
            // spin, with EIO (what Node's copyFile reports for /proc/version).
            self.fail(-libc::EIO, "splice", Side::Dst);
        } else {
            let k = (k as u32).min(self.in_pipe);
            self.in_pipe -= k;
            self.copied += k as u64;
            if self.dst_pos >= 0 {
                self.dst_pos += k as i64;
            }
        }
    }

    fn after_splice(&mut self) {
        self.stage = if self.in_pipe > 0 {
            Stage::Drain
        } else if self.copied >= self.length {
            Stage::Done
        } else {
            Stage::Pair
        };
    }

    /// copyFile between opening the destination and copying: truncate it
    /// (unless `dst` says it is empty), set the source's mode (unless `dst`
    /// says it has it), the clone if asked; then the copy of the source's size.
    fn prepare(&mut self, dst: Option<(u64, u32)>) {
        let fd = self.dst;
        if let Some(seen) = dst {
            if self.ring_truncate {
                self.file.as_mut().expect("a copyFile").dst_seen = seen;
                self.stage = Stage::Truncate;
                return;
            }
            let size = seen.0;
            // As libuv: always (a /proc file fails it, EIO), but EACCES
            // (ceph-fuse on a file made read-only) is ignored for an empty one.
            if crate::sys::ftruncate(fd, 0) < 0 {
                let e = errno();
                if e != -libc::EACCES || size > 0 {
                    return self.fail(e, "ftruncate", Side::Dst);
                }
            }
        }
        self.prepare_rest(dst)
    }

    /// copyFile after the truncate: the mode, the clone if asked, then the copy.
    fn prepare_rest(&mut self, dst: Option<(u64, u32)>) {
        let job = self.file.as_ref().expect("a copyFile");
        let (mode, flags) = (job.src_mode, job.mode);
        let fd = self.dst;
        if dst.is_none_or(|(_, m)| m & 0o7777 != mode & 0o7777) {
            // SAFETY: fchmod of an fd the copy owns.
            if unsafe { libc::fchmod(fd, mode & 0o7777) } < 0 && errno() != -libc::EPERM {
                return self.fail(errno(), "fchmod", Side::Dst);
            }
        }
        if mode & libc::S_IFMT == libc::S_IFDIR {
            return self.fail(-libc::EISDIR, "sendfile", Side::Src);
        }
        if flags & (COPYFILE_FICLONE | COPYFILE_FICLONE_FORCE) != 0 {
            // SAFETY: FICLONE takes the source fd as its argument.
            if unsafe { libc::ioctl(fd, libc::FICLONE, self.src) } == 0 {
                self.stage = Stage::Done;
                return;
            }
            if flags & COPYFILE_FICLONE_FORCE != 0 {
                return self.fail(errno(), "ioctl", Side::Dst);
            }
        }
        self.stage = if self.length == 0 { Stage::Done } else { Stage::Pair };
    }

    /// The end (nothing of the copy is in the kernel any more): copyFile
    /// closes its fds, reporting a close's failure, and removes a
    /// destination it did not finish.
    fn finish(&mut self) {
        self.stage = Stage::Done;
        let Some(job) = self.file.as_ref() else { return };
        for (i, fd) in self.owned.iter_mut().enumerate() {
            if let Some(fd) = fd.take() {
                let raw = fd.into_raw_fd();
                // SAFETY: the copy owned `raw`; it is closed once, here.
                if unsafe { libc::close(raw) } < 0 && self.error.is_none() {
                    let side = if i == 0 { Side::Src } else { Side::Dst };
                    self.error = Some((errno(), "close", side));
                }
            }
        }
        if self.error.is_some() && job.dst_opened {
            // SAFETY: a NUL-terminated path the copy owns.
            unsafe { libc::unlink(job.dst.as_ptr()) };
        }
    }
}

/// The last syscall's `-errno`.
fn errno() -> i32 {
    -std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}
