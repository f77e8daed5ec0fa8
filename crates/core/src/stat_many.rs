//! `statx(2)` of many paths as one chain ([`crate::Chain::stat_many`]):
//! independent steps, not linked (one path failing must not cancel the
//! others), on no file slot (statx takes a path), completing once with
//! every path's result.
//!
//! The paths go to the kernel in windows: a window's SQEs are submitted
//! together, and when every CQE of it has arrived the ring submits the
//! next, with no caller code in between. A window fits the ring's SQ (the
//! ring says how large it is at submission) and the 8 bits of step number
//! a chain's user_data carries, so 10k paths are one call and a few dozen
//! submissions.

use std::ffi::CString;

use crate::stat::Stat;

/// The most paths in flight at once for one chain (at most 255: a step's
/// number is 8 bits of its user_data, and the slot counts CQEs in a u8).
pub(crate) const MAX_WINDOW: usize = 128;

pub(crate) struct StatMany {
    /// Every path; each is taken (left empty) when its step is made.
    paths: Vec<CString>,
    /// The first path not submitted yet.
    next: usize,
    /// The first path of the current window.
    base: usize,
    flags: i32,
    mask: u32,
    window: usize,
    /// Per path: `0`, or `-errno` (`-ECANCELED` for paths never submitted
    /// because the caller cancelled).
    results: Vec<i32>,
    /// Per path: what statx wrote (zeroed where it failed).
    stats: Vec<Stat>,
}

impl StatMany {
    pub(crate) fn new(paths: Vec<CString>, flags: i32, mask: u32) -> StatMany {
        let n = paths.len();
        StatMany {
            paths,
            next: 0,
            base: 0,
            flags,
            mask,
            window: MAX_WINDOW,
            results: vec![-libc::ECANCELED; n],
            stats: (0..n).map(|_| Stat::default()).collect(),
        }
    }

    /// Makes windows fit an SQ of `capacity` entries (half of it, so other
    /// ops keep room).
    pub(crate) fn fit(&mut self, capacity: usize) {
        self.window = (capacity / 2).clamp(1, MAX_WINDOW);
    }

    /// The statx flags and mask every path is stat'ed with.
    pub(crate) fn how(&self) -> (i32, u32) {
        (self.flags, self.mask)
    }

    /// The paths of the next window, or `None` when every path is done.
    pub(crate) fn window(&mut self) -> Option<Vec<CString>> {
        if self.next >= self.paths.len() {
            return None;
        }
        let end = (self.next + self.window).min(self.paths.len());
        self.base = self.next;
        let paths = self.paths[self.next..end].iter_mut().map(std::mem::take).collect();
        self.next = end;
        Some(paths)
    }

    /// Takes the results of the window just completed, in order: each
    /// path's result and, where it succeeded, what statx wrote.
    pub(crate) fn collect<'a>(&mut self, done: impl Iterator<Item = (i32, Option<&'a Stat>)>) {
        for (i, (res, st)) in done.enumerate() {
            let at = self.base + i;
            self.results[at] = res;
            if let (Some(st), true) = (st, res >= 0) {
                self.stats[at] = Stat(st.0);
            }
        }
    }

    pub(crate) fn results(&self) -> &[i32] {
        &self.results
    }

    pub(crate) fn stats(&self) -> &[Stat] {
        &self.stats
    }
}
