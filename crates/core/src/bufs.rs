//! Memory the kernel works in directly, rather than in an op's own buffer:
//! provided-buffer groups (a ring of buffers the kernel picks one from for
//! each completion of a multishot receive) and registered ("fixed") buffers.
//!
//! Both live in anonymous mappings, never in the allocator's heap: the
//! kernel pins registered pages, and if such memory went back to `malloc`
//! while still pinned, a late kernel write would land in whatever reused it.
//! An unmapped range is simply gone from our address space.

use std::io;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use crate::sys;

/// An anonymous read-write mapping, unmapped on drop.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a Mapping is a plain region of memory with no thread affinity; the
// JS side may drop its last handle on another thread.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `len` zeroed bytes, page aligned.
    pub fn new(len: usize) -> io::Result<Mapping> {
        let ptr = sys::mmap_anon(len.max(1))?;
        Ok(Mapping { ptr, len })
    }

    /// The first byte.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never, as made by [`Mapping::new`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        sys::munmap(self.ptr, self.len.max(1));
    }
}

/// Size of one `struct io_uring_buf` (addr u64, len u32, bid u16, resv u16).
const BUF_ENTRY: usize = 16;
/// The ring's tail shares the first entry's `resv` field.
const TAIL_OFFSET: usize = 14;

/// A provided-buffer ring: `count` buffers of `size` bytes the kernel takes
/// from in order and we hand back (recycle) once their data is consumed.
pub struct BufGroup {
    map: Mapping,
    count: u16,
    size: u32,
    tail: u16,
    /// Ops in flight that select buffers from this group.
    pub(crate) users: u32,
    /// Buffers completions lent out and not yet recycled.
    pub(crate) lent: u32,
    /// The owner asked for it to go; it does once `users` is 0.
    pub(crate) released: bool,
}

impl BufGroup {
    /// `count` (a power of two, at most 32768) buffers of `size` bytes, all
    /// offered to the kernel once registered.
    pub(crate) fn new(count: u16, size: u32) -> io::Result<BufGroup> {
        if count == 0 || !count.is_power_of_two() || count > 32768 || size == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let ring_bytes = (count as usize * BUF_ENTRY).next_multiple_of(4096);
        let map = Mapping::new(ring_bytes + count as usize * size as usize)?;
        let mut g = BufGroup { map, count, size, tail: 0, users: 0, lent: 0, released: false };
        for bid in 0..count {
            g.push(bid);
        }
        g.publish();
        Ok(g)
    }

    /// The ring's address, for IORING_REGISTER_PBUF_RING.
    pub(crate) fn ring_addr(&self) -> u64 {
        self.map.as_ptr() as u64
    }

    pub(crate) fn count(&self) -> u16 {
        self.count
    }

    /// Each buffer's size.
    pub fn size(&self) -> u32 {
        self.size
    }

    fn data_ptr(&self, bid: u16) -> *mut u8 {
        let ring_bytes = (self.count as usize * BUF_ENTRY).next_multiple_of(4096);
        // SAFETY: bid < count (checked by callers), so the offset is inside the mapping.
        unsafe { self.map.as_ptr().add(ring_bytes + bid as usize * self.size as usize) }
    }

    /// The first `len` bytes of buffer `bid`, as the kernel left them.
    pub(crate) fn data(&self, bid: u16, len: usize) -> &[u8] {
        if bid >= self.count {
            return &[];
        }
        // SAFETY: inside the mapping; the kernel handed this buffer to us (it
        // is not in the ring) so nothing writes it until it is recycled.
        unsafe { std::slice::from_raw_parts(self.data_ptr(bid), len.min(self.size as usize)) }
    }

    /// Puts buffer `bid` back at the ring's tail (not yet visible: see `publish`).
    pub(crate) fn push(&mut self, bid: u16) {
        if bid >= self.count {
            return;
        }
        let i = (self.tail & (self.count - 1)) as usize;
        // SAFETY: entry i is inside the ring part of the mapping; the kernel
        // reads entries only between its head and the published tail, and i
        // is past the tail.
        unsafe {
            let e = self.map.as_ptr().add(i * BUF_ENTRY);
            (e as *mut u64).write_volatile(self.data_ptr(bid) as u64);
            (e.add(8) as *mut u32).write_volatile(self.size);
            (e.add(12) as *mut u16).write_volatile(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes pushed buffers visible to the kernel.
    pub(crate) fn publish(&self) {
        // SAFETY: the tail field is 2-byte aligned inside the mapping; the
        // kernel reads it with acquire semantics.
        let tail = unsafe { AtomicU16::from_ptr(self.map.as_ptr().add(TAIL_OFFSET) as *mut u16) };
        tail.store(self.tail, Ordering::Release);
    }
}

/// Buffers registered with a ring (IORING_REGISTER_BUFFERS2 into a sparse
/// table): `count` buffers of `size` bytes at table indexes `first..`.
/// Cloning shares the memory, which lives until the last clone (and every
/// op using it) is gone.
#[derive(Clone)]
pub struct FixedBuffers {
    pub(crate) map: Arc<Mapping>,
    pub(crate) first: u32,
    pub(crate) count: u32,
    pub(crate) size: u32,
    pub(crate) serial: u32,
}

impl FixedBuffers {
    /// The memory of every buffer, one after another.
    pub fn mapping(&self) -> &Arc<Mapping> {
        &self.map
    }

    /// How many buffers.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Each buffer's size.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Bytes `offset..offset + len` of buffer `index`, for a fixed op; None
    /// when out of range.
    pub fn slice(&self, index: u32, offset: u32, len: u32) -> Option<FixedSlice> {
        if index >= self.count || offset.checked_add(len)? > self.size {
            return None;
        }
        Some(FixedSlice {
            map: self.map.clone(),
            table_index: (self.first + index) as u16,
            at: index as usize * self.size as usize + offset as usize,
            len,
        })
    }
}

/// A range of one registered buffer, held by an op in flight.
pub struct FixedSlice {
    map: Arc<Mapping>,
    pub(crate) table_index: u16,
    at: usize,
    pub(crate) len: u32,
}

impl FixedSlice {
    pub(crate) fn ptr(&self) -> *mut u8 {
        // SAFETY: `at + len` is inside the mapping (checked by `FixedBuffers::slice`).
        unsafe { self.map.as_ptr().add(self.at) }
    }
}
