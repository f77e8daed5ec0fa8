//! Reused buffers for the bytes ops carry.
//!
//! Ops own the memory the kernel reads and writes (see [`crate::op`]); the
//! pool keeps that from costing an allocation per op. Buffers come in
//! power-of-two classes from 256 B to 1 MiB; larger ones are not kept.

const MIN_SHIFT: u32 = 8;
const MAX_SHIFT: u32 = 20;
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;

/// Free buffers by size class, with a byte budget for what it keeps.
pub struct BufferPool {
    classes: [Vec<Vec<u8>>; CLASSES],
    kept: usize,
    budget: usize,
}

impl Default for BufferPool {
    fn default() -> Self {
        BufferPool::new(32 << 20)
    }
}

fn class_of(cap: usize) -> Option<usize> {
    let shift = cap.next_power_of_two().trailing_zeros().max(MIN_SHIFT);
    (shift <= MAX_SHIFT).then(|| (shift - MIN_SHIFT) as usize)
}

impl BufferPool {
    /// A pool that keeps at most `budget` bytes of free buffers.
    pub fn new(budget: usize) -> Self {
        BufferPool { classes: Default::default(), kept: 0, budget }
    }

    /// A buffer of exactly `len` bytes with unspecified (initialised) contents.
    pub fn take(&mut self, len: usize) -> Vec<u8> {
        if let Some(c) = class_of(len) {
            if let Some(mut buf) = self.classes[c].pop() {
                self.kept -= buf.capacity();
                // The capacity is the class size >= len, and every byte up to
                // the capacity was initialised when the buffer was made.
                buf.resize(len, 0);
                return buf;
            }
            let mut buf = vec![0u8; 1 << (c as u32 + MIN_SHIFT)];
            buf.truncate(len);
            return buf;
        }
        vec![0u8; len]
    }

    /// A buffer holding a copy of `data`.
    pub fn copy_of(&mut self, data: &[u8]) -> Vec<u8> {
        let mut buf = self.take(data.len());
        buf.copy_from_slice(data);
        buf
    }

    /// Returns a buffer for reuse.
    pub fn give(&mut self, mut buf: Vec<u8>) {
        let cap = buf.capacity();
        if !cap.is_power_of_two() || self.kept + cap > self.budget {
            return;
        }
        if let Some(c) = class_of(cap) {
            if 1usize << (c as u32 + MIN_SHIFT) == cap {
                // Length back to full capacity: those bytes are initialised.
                buf.resize(cap, 0);
                self.kept += cap;
                self.classes[c].push(buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_by_class() {
        let mut pool = BufferPool::new(1 << 20);
        let a = pool.take(3000);
        assert_eq!(a.len(), 3000);
        let ptr = a.as_ptr();
        pool.give(a);
        let b = pool.take(4096);
        assert_eq!(b.as_ptr(), ptr);
        assert_eq!(b.len(), 4096);
        assert_eq!(pool.copy_of(b"abc"), b"abc");
        let big = pool.take(3 << 20);
        assert_eq!(big.len(), 3 << 20);
        pool.give(big); // not kept: over the largest class
        assert_eq!(pool.kept, 0);
    }
}
