//! Op chains: several kernel ops submitted together as linked SQEs
//! (IOSQE_IO_LINK) on one direct descriptor, completing to the caller once.
//!
//! A chain opens a file into a slot of the ring's registered file table,
//! runs reads, writes, fsyncs on that slot (and statx on paths), and closes
//! it. The kernel runs the steps in order and cancels the ones after a
//! failure (or a short read or write: its link rule), so the caller gets
//! every step's result, or the first failure and `-ECANCELED` after it.
//!
//! Why the core picks the slot, not the kernel: with
//! IORING_FILE_INDEX_ALLOC the slot is known only from the open's CQE, too
//! late for the linked steps, whose SQEs name their fixed file at
//! submission. So the ring keeps the table's free list and opens into a
//! slot it chose (explicit `file_index`, 5.15) of a sparse table (5.19).
//!
//! Whatever happens, the slot is emptied before it is handed out again:
//! by the chain's own close, or, when that close was cancelled or never
//! asked for, by the ring (`ring::chain`). Nothing here is visible in
//! /proc/self/fd: a direct descriptor is not an fd.
//!
//! A [`Chain::read_file`] is a chain that goes on: its first submission is
//! open, then two reads (the second normally hits EOF, which ends it);
//! while reads return data the ring adds more reads on the same slot, with
//! no caller code in between, and closes the slot when a read returns 0.
//! That is Node's readFile loop for files of unknown size (read until EOF),
//! and gives the same bytes for regular files save under a concurrent
//! writer. Its result goes to the caller as soon as the last read is in;
//! the close follows in the background (the slot stays held until it is).

use std::ffi::CString;

use io_uring::{opcode, squeue, types};

use crate::stat::Stat;
use crate::stat_many::StatMany;

/// One step of a [`Chain`]. Every step but `Open` and `Statx` acts on the
/// file the chain's `Open` made.
#[non_exhaustive]
pub enum Step {
    /// `openat(2)` of `path` (relative to the working directory) into the
    /// chain's slot. Must be the chain's first step, and its only open.
    Open { path: CString, flags: i32, mode: u32 },
    /// A read into `buf` at `position` ([`crate::CURRENT_POSITION`]: the
    /// file's own): its full length, or, for an empty `buf`, its capacity,
    /// unzeroed (its length is then set to what the kernel wrote: zeroing
    /// 128 KiB per readFile cost more than its open).
    Read { buf: Vec<u8>, position: u64 },
    /// A write of `buf` at `position`.
    Write { buf: Vec<u8>, position: u64 },
    /// `statx(2)` of a path (the kernel has no statx of a fixed file).
    Statx { path: CString, flags: i32, mask: u32, buf: Box<Stat> },
    /// `fsync(2)` (or `fdatasync(2)`) of the file.
    Fsync { datasync: bool },
    /// `close(2)` of the file. Hard-linked to the step before it, so it
    /// runs whatever that step's result.
    Close,
}

impl Step {
    /// The syscall a failure of this step names.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Open { .. } => "open",
            Step::Read { .. } => "read",
            Step::Write { .. } => "write",
            Step::Statx { .. } => "statx",
            Step::Fsync { .. } => "fsync",
            Step::Close => "close",
        }
    }

    /// The io_uring opcode, to check against the kernel's probe.
    pub(crate) fn opcode(&self) -> u8 {
        match self {
            Step::Open { .. } => opcode::OpenAt::CODE,
            Step::Read { .. } => opcode::Read::CODE,
            Step::Write { .. } => opcode::Write::CODE,
            Step::Statx { .. } => opcode::Statx::CODE,
            Step::Fsync { .. } => opcode::Fsync::CODE,
            Step::Close => opcode::Close::CODE,
        }
    }

    /// The SQE of this step on file-table slot `file`. Pointers in it
    /// borrow from the step's heap data.
    pub(crate) fn entry(&mut self, file: u32) -> squeue::Entry {
        let fixed = types::Fixed(file);
        match self {
            // No O_CLOEXEC: the kernel refuses it with a file_index (a
            // direct descriptor is never inherited anyway).
            Step::Open { path, flags, mode } => opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
                .flags(*flags & !libc::O_CLOEXEC)
                .mode(*mode)
                .file_index(types::DestinationSlot::try_from_slot_target(file).ok())
                .build(),
            Step::Read { buf, position } => {
                let len = if buf.is_empty() { buf.capacity() } else { buf.len() };
                opcode::Read::new(fixed, buf.as_mut_ptr(), len.min(u32::MAX as usize) as u32).offset(*position).build()
            }
            Step::Write { buf, position } => {
                opcode::Write::new(fixed, buf.as_ptr(), buf.len() as u32).offset(*position).build()
            }
            Step::Statx { path, flags, mask, buf } => {
                let out: *mut Stat = &mut **buf;
                opcode::Statx::new(types::Fd(libc::AT_FDCWD), path.as_ptr(), out.cast())
                    .flags(*flags)
                    .mask(*mask)
                    .build()
            }
            Step::Fsync { datasync } => {
                let flags = if *datasync { types::FsyncFlags::DATASYNC } else { types::FsyncFlags::empty() };
                opcode::Fsync::new(fixed).flags(flags).build()
            }
            Step::Close => opcode::Close::new(fixed).build(),
        }
    }
}

/// A step's result before its CQE has arrived.
pub(crate) const PENDING: i32 = i32::MIN;

/// The first read of a [`Chain::read_file`], and the size of each of its
/// first two reads: Node's buffer for files of unknown size.
pub const READ_FILE_CHUNK: usize = 64 * 1024;
/// Reads after the first two grow to this at most.
const READ_FILE_MAX_CHUNK: usize = 8 << 20;
/// A readFile's data may not exceed this (Node's kIoMaxLength).
pub const READ_FILE_MAX: usize = (1 << 31) - 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Plain,
    ReadFile,
    WriteFile,
    /// Independent statx steps in windows (`crate::stat_many`).
    StatMany,
}

/// Linked steps on one direct descriptor: see the module docs.
pub struct Chain {
    kind: Kind,
    /// The steps of the current submission (a plain chain has one).
    steps: Vec<Step>,
    /// Their results, [`PENDING`] until their CQEs arrive.
    results: Vec<i32>,
    /// A readFile's data so far, in order: each buffer and how much of it
    /// is data (the buffers keep their length, for reuse).
    data: Vec<(Vec<u8>, usize)>,
    total: usize,
    /// The first failure: its result and the syscall it names.
    error: Option<(i32, &'static str)>,
    /// Whether the file is open in the chain's slot (so it must be closed).
    open: bool,
    /// A [`Chain::stat_many`]'s paths and results.
    many: Option<Box<StatMany>>,
}

/// What the ring does when every CQE of a chain's submission has arrived.
pub(crate) enum Next {
    /// Submit the chain's (new) steps, on the same slot.
    More,
    /// The chain is over: hand it to the caller; then close the slot if
    /// `close` (the file is still open in it), or free it.
    Done { close: bool },
}

impl Chain {
    /// A chain of `steps`: an `Open` first, then any of the other steps
    /// (an optional `Close` last). `None` when the steps break that rule.
    /// A chain that does not end with `Close` is closed by the ring.
    pub fn new(steps: Vec<Step>) -> Option<Chain> {
        let opens = steps.iter().filter(|s| matches!(s, Step::Open { .. })).count();
        let closes = steps.iter().filter(|s| matches!(s, Step::Close)).count();
        let ok = matches!(steps.first(), Some(Step::Open { .. }))
            && opens == 1
            && closes <= 1
            && (closes == 0 || matches!(steps.last(), Some(Step::Close)))
            && steps.len() <= 64;
        ok.then(|| Chain::with(Kind::Plain, steps))
    }

    /// Node's `readFile` of `path` opened with `flags` (and `mode`, should
    /// they create it): see the module docs.
    pub fn read_file(path: CString, flags: i32, mode: u32) -> Chain {
        let buf = || Vec::with_capacity(READ_FILE_CHUNK);
        Chain::read_file_into(path, flags, mode, [buf(), buf()])
    }

    /// [`Chain::read_file`] whose first two reads go into `bufs` (reused
    /// buffers, say; their lengths are the reads' lengths, or, empty, their
    /// capacities). Hand them back with [`Chain::recycle`].
    pub fn read_file_into(path: CString, flags: i32, mode: u32, bufs: [Vec<u8>; 2]) -> Chain {
        let [a, b] = bufs;
        let read = |buf| Step::Read { buf, position: crate::CURRENT_POSITION };
        Chain::with(Kind::ReadFile, vec![Step::Open { path, flags, mode }, read(a), read(b)])
    }

    /// Hands every data buffer of the chain to `f` (for a pool); a
    /// readFile's data goes with them.
    pub fn recycle(self, mut f: impl FnMut(Vec<u8>)) {
        for (b, _) in self.data {
            f(b);
        }
        for s in self.steps {
            if let Step::Read { buf, .. } | Step::Write { buf, .. } = s {
                f(buf);
            }
        }
    }

    /// Node's `writeFile` of `data` to `path` opened with `flags` and
    /// `mode`: open, write, fsync if `flush`, close, in one submission. A
    /// short write (the kernel ends the link there) goes on with the rest,
    /// as Node's loop does, on the same slot.
    pub fn write_file(path: CString, flags: i32, mode: u32, data: Vec<u8>, flush: bool) -> Chain {
        let mut steps = vec![Step::Open { path, flags, mode }];
        steps.extend(Chain::write_rest(data, flush));
        Chain::with(Kind::WriteFile, steps)
    }

    fn write_rest(data: Vec<u8>, flush: bool) -> Vec<Step> {
        let mut steps = vec![Step::Write { buf: data, position: crate::CURRENT_POSITION }];
        if flush {
            steps.push(Step::Fsync { datasync: false });
        }
        steps.push(Step::Close);
        steps
    }

    fn with(kind: Kind, steps: Vec<Step>) -> Chain {
        let results = vec![PENDING; steps.len()];
        Chain { kind, steps, results, data: Vec::new(), total: 0, error: None, open: false, many: None }
    }

    /// `statx(2)` of every path in `paths` (with `flags`, `mask`, as a
    /// `Step::Statx` takes them): independent steps on no file slot, not
    /// linked, so one failing cancels nothing; the ring submits them in
    /// windows that fit its SQ and completes once, when every path has its
    /// result ([`Chain::stat_results`]). `None` for no paths.
    pub fn stat_many(paths: Vec<CString>, flags: i32, mask: u32) -> Option<Chain> {
        if paths.is_empty() {
            return None;
        }
        let mut chain = Chain::with(Kind::StatMany, Vec::new());
        chain.many = Some(Box::new(StatMany::new(paths, flags, mask)));
        Some(chain)
    }

    /// A [`Chain::stat_many`]'s results, one per path in order: `0` or
    /// `-errno` (`-ECANCELED` for paths a cancel kept from the kernel), and
    /// what statx wrote (meaningful where the result is 0).
    pub fn stat_results(&self) -> Option<(&[i32], &[Stat])> {
        self.many.as_ref().map(|m| (m.results(), m.stats()))
    }

    /// Before the first submission on a ring whose SQ holds `capacity`
    /// entries: a stat_many makes its first window.
    pub(crate) fn prepare(&mut self, capacity: usize) {
        if let Some(m) = self.many.as_mut() {
            m.fit(capacity);
            self.steps = Chain::stat_steps(m);
            self.results = vec![PENDING; self.steps.len()];
        }
    }

    /// The statx steps of a stat_many's next window (none when it is done).
    fn stat_steps(m: &mut StatMany) -> Vec<Step> {
        let (flags, mask) = m.how();
        let paths = m.window().unwrap_or_default();
        paths.into_iter().map(|path| Step::Statx { path, flags, mask, buf: Box::default() }).collect()
    }

    /// Whether the chain's steps act on a file slot (every chain but a
    /// stat_many, whose steps take paths).
    pub(crate) fn needs_file(&self) -> bool {
        self.kind != Kind::StatMany
    }

    /// Whether the steps are linked (a cancel must chase the ones a
    /// cancelled step starts).
    pub(crate) fn linked(&self) -> bool {
        self.kind != Kind::StatMany
    }

    /// The steps of the last submission, their buffers and stat results
    /// filled in as far as their results say.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The results of the last submission's steps, in order: `>= 0`, or
    /// `-errno` (`-ECANCELED` for steps the kernel cancelled after a
    /// failure or a short transfer).
    pub fn results(&self) -> &[i32] {
        &self.results
    }

    /// The first failure: its `-errno` and the syscall it names.
    pub fn error(&self) -> Option<(i32, &'static str)> {
        self.error
    }

    /// A readFile's data, in order (its segments' lengths sum to [`Chain::len`]).
    pub fn data(&self) -> impl Iterator<Item = &[u8]> {
        self.data.iter().map(|(v, n)| &v[..*n])
    }

    /// Whether this is a [`Chain::read_file`] (its result is its data).
    pub fn reads_file(&self) -> bool {
        self.kind == Kind::ReadFile
    }

    /// How many bytes a readFile read.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether a readFile read nothing.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The result a completion reports: a readFile's length, 0 for a plain
    /// chain that succeeded, or the first failure's `-errno`.
    pub fn result(&self) -> i32 {
        match self.error {
            Some((e, _)) => e,
            None if self.kind == Kind::ReadFile => self.total.min(i32::MAX as usize) as i32,
            None => 0,
        }
    }

    /// The SQE flags of step `i` of the current submission: linked to the
    /// next one, hard-linked before a `Close` (so that a failed or short
    /// step still closes) and, in a readFile, between its reads (a short
    /// first read must not cancel the read that sees EOF).
    pub(crate) fn link_flags(&self, i: usize) -> squeue::Flags {
        if i + 1 >= self.steps.len() || !self.linked() {
            return squeue::Flags::empty();
        }
        let hard = match (&self.steps[i], &self.steps[i + 1]) {
            (Step::Open { .. }, _) => false,
            // Not in a writeFile: its short write must cancel the close, so
            // the rest can go on on the same slot (`short_write`); a failed
            // write leaves the file open and the ring closes it.
            (_, Step::Close) => self.kind != Kind::WriteFile,
            (Step::Read { .. }, Step::Read { .. }) => self.kind == Kind::ReadFile,
            _ => false,
        };
        if hard {
            squeue::Flags::IO_HARDLINK
        } else {
            squeue::Flags::IO_LINK
        }
    }

    /// IOSQE_ASYNC for step `i`: a writeFile's write and close go to the
    /// kernel's io-wq workers at once rather than inline on the submitting
    /// thread. The close of a file an O_TRUNC open emptied is where ext4
    /// (auto_da_alloc) starts its writeback: block allocation and the
    /// device's kick, some 20 us per file here, which inline ran on the JS
    /// thread, one file after another. The open needs no flag: with O_CREAT
    /// or O_TRUNC the kernel sends it to a worker itself (benches/RESULTS.md,
    /// "writeFile: where the time goes").
    pub(crate) fn async_flags(&self, i: usize) -> squeue::Flags {
        match (self.kind, &self.steps[i]) {
            (Kind::WriteFile, Step::Write { .. } | Step::Close) => squeue::Flags::ASYNC,
            _ => squeue::Flags::empty(),
        }
    }

    pub(crate) fn len_steps(&self) -> usize {
        self.steps.len()
    }

    pub(crate) fn step_mut(&mut self, i: usize) -> &mut Step {
        &mut self.steps[i]
    }

    /// Whether step `i` is still waiting for its CQE.
    pub(crate) fn pending(&self, i: usize) -> bool {
        self.results.get(i) == Some(&PENDING)
    }

    /// Records step `i`'s CQE.
    pub(crate) fn record(&mut self, i: usize, res: i32) {
        if let Some(r) = self.results.get_mut(i) {
            *r = res;
        }
        match self.steps.get_mut(i) {
            Some(Step::Read { buf, .. }) if buf.is_empty() && res > 0 => {
                let n = (res as usize).min(buf.capacity());
                // SAFETY: the kernel wrote `n` bytes at the start of the
                // capacity (the SQE's length was the capacity), so they are
                // initialized; `n` is within the capacity.
                unsafe { buf.set_len(n) };
            }
            Some(Step::Open { .. }) if res >= 0 => self.open = true,
            Some(Step::Close) if res >= 0 || res == -libc::EBADF => self.open = false,
            _ => {}
        }
    }

    /// Ends the chain as cancelled before anything was submitted.
    pub(crate) fn cancel_unsubmitted(&mut self) {
        for r in &mut self.results {
            *r = -libc::ECANCELED;
        }
    }

    /// Called when every CQE of the current submission has arrived;
    /// `stop`: the caller cancelled or the ring is closing.
    pub(crate) fn advance(&mut self, stop: bool) -> Next {
        if let Some(m) = self.many.as_mut() {
            m.collect(self.steps.iter().zip(&self.results).map(|(s, &r)| match s {
                Step::Statx { buf, .. } => (r, Some(&**buf)),
                _ => (r, None),
            }));
            self.steps = if stop { Vec::new() } else { Chain::stat_steps(m) };
            self.results = vec![PENDING; self.steps.len()];
            if !self.steps.is_empty() {
                return Next::More;
            }
            if stop {
                self.error = Some((-libc::ECANCELED, "statx"));
            }
            return Next::Done { close: false };
        }
        // The first failure, in step order (a later step's -ECANCELED is
        // the kernel's consequence of it).
        if self.kind == Kind::WriteFile && !stop && self.open {
            if let Some(next) = self.short_write() {
                self.results = vec![PENDING; next.len()];
                self.steps = next;
                return Next::More;
            }
        }
        if self.error.is_none() {
            self.error = self.first_failure();
        }
        if self.kind != Kind::ReadFile {
            return Next::Done { close: self.open };
        }
        // readFile: collect what the reads brought.
        let mut eof = false;
        for (step, &res) in self.steps.iter_mut().zip(&self.results) {
            if let Step::Read { buf, .. } = step {
                if res > 0 && !eof {
                    let n = (res as usize).min(buf.len());
                    self.total += n;
                    self.data.push((std::mem::take(buf), n));
                } else if res == 0 {
                    eof = true;
                }
            }
        }
        if self.total > READ_FILE_MAX && self.error.is_none() {
            self.error = Some((-libc::EFBIG, "read"));
        }
        if self.error.is_some() || eof || stop || !self.open {
            if stop && self.error.is_none() && !eof {
                self.error = Some((-libc::ECANCELED, "read"));
            }
            return Next::Done { close: self.open };
        }
        let size = self.total.clamp(READ_FILE_CHUNK, READ_FILE_MAX_CHUNK);
        self.steps = vec![Step::Read { buf: Vec::with_capacity(size), position: crate::CURRENT_POSITION }];
        self.results = vec![PENDING];
        Next::More
    }

    /// After a writeFile's write that wrote part of its buffer (and so
    /// ended the link): the steps that write the rest and close.
    fn short_write(&mut self) -> Option<Vec<Step>> {
        let at = self.steps.iter().position(|s| matches!(s, Step::Write { .. }))?;
        let n = self.results[at];
        let flush = self.steps.iter().any(|s| matches!(s, Step::Fsync { .. }));
        let Step::Write { buf, .. } = &mut self.steps[at] else { return None };
        if n < 0 || n as usize >= buf.len() {
            return None;
        }
        self.total += n as usize;
        let rest = buf.split_off(n as usize);
        Some(Chain::write_rest(rest, flush))
    }

    fn first_failure(&self) -> Option<(i32, &'static str)> {
        let mut cancelled = None;
        for (step, &res) in self.steps.iter().zip(&self.results) {
            if res == -libc::ECANCELED {
                cancelled.get_or_insert((res, step.name()));
            } else if res < 0 && res != PENDING {
                return Some((res, step.name()));
            }
        }
        // Only cancellations: the caller's, or a short transfer's break.
        cancelled
    }
}
