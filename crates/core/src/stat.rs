//! `statx(2)` results.

/// The kernel's `struct statx`, written by an [`crate::Op::Statx`].
#[repr(transparent)]
pub struct Stat(pub libc::statx);

impl Default for Stat {
    fn default() -> Self {
        // SAFETY: statx is plain data; all-zero is a valid value.
        Stat(unsafe { std::mem::zeroed() })
    }
}

/// The order of [`Stat::fields`]; the bridge and its users index by it.
pub const STAT_FIELDS: [&str; 18] = [
    "dev",
    "ino",
    "mode",
    "nlink",
    "uid",
    "gid",
    "rdev",
    "size",
    "blksize",
    "blocks",
    "atimeMs",
    "mtimeMs",
    "ctimeMs",
    "birthtimeMs",
    "atimeNs",
    "mtimeNs",
    "ctimeNs",
    "birthtimeNs",
];

fn ms(t: &libc::statx_timestamp) -> f64 {
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

fn ns(t: &libc::statx_timestamp) -> i128 {
    t.tv_sec as i128 * 1_000_000_000 + t.tv_nsec as i128
}

impl Stat {
    /// `st_dev`/`st_rdev` as `makedev` would combine them (what Node reports).
    fn makedev(major: u32, minor: u32) -> u64 {
        libc::makedev(major, minor)
    }

    /// The fields in [`STAT_FIELDS`] order as numbers (times in ms; the `*Ns`
    /// fields lose precision past 2^53 ns, use [`Stat::fields_i64`] for them).
    pub fn fields(&self) -> [f64; 18] {
        let s = &self.0;
        [
            Self::makedev(s.stx_dev_major, s.stx_dev_minor) as f64,
            s.stx_ino as f64,
            s.stx_mode as f64,
            s.stx_nlink as f64,
            s.stx_uid as f64,
            s.stx_gid as f64,
            Self::makedev(s.stx_rdev_major, s.stx_rdev_minor) as f64,
            s.stx_size as f64,
            s.stx_blksize as f64,
            s.stx_blocks as f64,
            ms(&s.stx_atime),
            ms(&s.stx_mtime),
            ms(&s.stx_ctime),
            ms(&s.stx_btime),
            ns(&s.stx_atime) as f64,
            ns(&s.stx_mtime) as f64,
            ns(&s.stx_ctime) as f64,
            ns(&s.stx_btime) as f64,
        ]
    }

    /// The fields in [`STAT_FIELDS`] order as exact integers (times in whole
    /// ms for the `*Ms` fields, exact ns for the `*Ns` ones).
    pub fn fields_i64(&self) -> [i64; 18] {
        let s = &self.0;
        let whole_ms = |t: &libc::statx_timestamp| t.tv_sec * 1000 + (t.tv_nsec / 1_000_000) as i64;
        [
            Self::makedev(s.stx_dev_major, s.stx_dev_minor) as i64,
            s.stx_ino as i64,
            s.stx_mode as i64,
            s.stx_nlink as i64,
            s.stx_uid as i64,
            s.stx_gid as i64,
            Self::makedev(s.stx_rdev_major, s.stx_rdev_minor) as i64,
            s.stx_size as i64,
            s.stx_blksize as i64,
            s.stx_blocks as i64,
            whole_ms(&s.stx_atime),
            whole_ms(&s.stx_mtime),
            whole_ms(&s.stx_ctime),
            whole_ms(&s.stx_btime),
            ns(&s.stx_atime) as i64,
            ns(&s.stx_mtime) as i64,
            ns(&s.stx_ctime) as i64,
            ns(&s.stx_btime) as i64,
        ]
    }
}
