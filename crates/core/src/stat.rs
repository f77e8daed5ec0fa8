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

/// A statx timestamp: whole seconds since the epoch and nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

impl From<&libc::statx_timestamp> for Timestamp {
    fn from(t: &libc::statx_timestamp) -> Self {
        Timestamp { sec: t.tv_sec, nsec: t.tv_nsec }
    }
}

impl Stat {
    /// `st_dev` as `makedev` combines the kernel's major and minor.
    pub fn dev(&self) -> u64 {
        libc::makedev(self.0.stx_dev_major, self.0.stx_dev_minor)
    }

    pub fn ino(&self) -> u64 {
        self.0.stx_ino
    }

    /// File type and permission bits.
    pub fn mode(&self) -> u32 {
        self.0.stx_mode as u32
    }

    pub fn nlink(&self) -> u32 {
        self.0.stx_nlink
    }

    pub fn uid(&self) -> u32 {
        self.0.stx_uid
    }

    pub fn gid(&self) -> u32 {
        self.0.stx_gid
    }

    /// `st_rdev` as `makedev` combines the kernel's major and minor.
    pub fn rdev(&self) -> u64 {
        libc::makedev(self.0.stx_rdev_major, self.0.stx_rdev_minor)
    }

    pub fn size(&self) -> u64 {
        self.0.stx_size
    }

    pub fn blksize(&self) -> u32 {
        self.0.stx_blksize
    }

    /// 512-byte blocks allocated.
    pub fn blocks(&self) -> u64 {
        self.0.stx_blocks
    }

    pub fn atime(&self) -> Timestamp {
        (&self.0.stx_atime).into()
    }

    pub fn mtime(&self) -> Timestamp {
        (&self.0.stx_mtime).into()
    }

    pub fn ctime(&self) -> Timestamp {
        (&self.0.stx_ctime).into()
    }

    /// Creation time (zero where the filesystem does not record one).
    pub fn btime(&self) -> Timestamp {
        (&self.0.stx_btime).into()
    }
}
