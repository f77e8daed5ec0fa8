//! What the ring registers with the kernel beyond its queues: provided-
//! buffer groups (the kernel picks a buffer per completion) and the
//! registered-buffer table (fixed reads and writes, zero-copy sends).

use std::io;
use std::sync::Arc;

use super::{BufRef, Ring};
use crate::bufs::{BufGroup, FixedBuffers, Mapping};

/// Registered-buffer table size (slots are handed out per registration).
const FIXED_TABLE: u32 = 1024;

impl Ring {
    /// Makes and registers a provided-buffer group of `count` (a power of
    /// two up to 32768) buffers of `size` bytes (kernel 5.19); returns its id.
    pub fn register_buf_group(&mut self, count: u16, size: u32) -> io::Result<u16> {
        if self.closing {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let id = match self.groups.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.groups.len() < u16::MAX as usize => {
                self.groups.push(None);
                self.groups.len() - 1
            }
            None => return Err(io::Error::from_raw_os_error(libc::ENOSPC)),
        };
        let g = BufGroup::new(count, size)?;
        // SAFETY: the ring memory lives in `g`, which the table keeps until
        // the group is unregistered (or the ring is gone).
        unsafe { self.uring.submitter().register_buf_ring_with_flags(g.ring_addr(), g.count(), id as u16, 0) }?;
        self.groups[id] = Some(g);
        Ok(id as u16)
    }

    /// The group goes once no op selects from it and every lent buffer is back.
    pub fn release_buf_group(&mut self, group: u16) {
        if let Some(Some(g)) = self.groups.get_mut(group as usize) {
            g.released = true;
        }
        self.free_group_if_done(group);
    }

    pub(super) fn free_group_if_done(&mut self, group: u16) {
        let done =
            matches!(self.groups.get(group as usize), Some(Some(g)) if g.released && g.users == 0 && g.lent == 0);
        if done {
            let _ = self.uring.submitter().unregister_buf_ring(group);
            self.groups[group as usize] = None;
        }
    }

    /// The first `len` bytes of a lent buffer.
    pub fn buffer(&self, b: BufRef, len: usize) -> &[u8] {
        match self.groups.get(b.group as usize) {
            Some(Some(g)) => g.data(b.id, len),
            _ => &[],
        }
    }

    /// Gives a lent buffer back to its group, for the kernel to fill again.
    pub fn recycle(&mut self, b: BufRef) {
        if let Some(Some(g)) = self.groups.get_mut(b.group as usize) {
            g.lent = g.lent.saturating_sub(1);
            if !g.released {
                g.push(b.id);
                g.publish();
            }
        }
        self.free_group_if_done(b.group);
    }

    /// Maps `count` buffers of `size` bytes and registers them (kernel 5.19)
    /// for [`crate::Op::ReadFixed`], [`crate::Op::WriteFixed`] and [`crate::Op::SendZc`].
    pub fn register_buffers(&mut self, count: u32, size: u32) -> io::Result<FixedBuffers> {
        let einval = || io::Error::from_raw_os_error(libc::EINVAL);
        if count == 0 || size == 0 || count > FIXED_TABLE || size > 1 << 30 {
            return Err(einval());
        }
        if self.fixed.is_none() {
            self.uring.submitter().register_buffers_sparse(FIXED_TABLE)?;
            self.fixed = Some(vec![0; FIXED_TABLE as usize]);
        }
        let table = self.fixed.as_mut().expect("made above");
        let n = count as usize;
        let first = (0..=table.len() - n)
            .find(|&i| table[i..i + n].iter().all(|&t| t == 0))
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSPC))?;
        let len = (n * size as usize).checked_next_multiple_of(4096).ok_or_else(einval)?;
        let map = Arc::new(Mapping::new(len)?);
        let iov: Vec<libc::iovec> = (0..n)
            // SAFETY: every buffer is inside the mapping.
            .map(|i| libc::iovec {
                iov_base: unsafe { map.as_ptr().add(i * size as usize) }.cast(),
                iov_len: size as usize,
            })
            .collect();
        // SAFETY: the kernel pins these pages; the mapping is unmapped only
        // after the registration is dropped (and an unmapped range is never
        // reused under a pinned page: see crate::bufs).
        unsafe { self.uring.submitter().register_buffers_update(first as u32, &iov, None) }?;
        self.fixed_serial += 1;
        let serial = self.fixed_serial;
        table[first..first + n].iter_mut().for_each(|t| *t = serial);
        Ok(FixedBuffers { map, first: first as u32, count, size, serial })
    }

    /// Drops the registration of `bufs` (ops in flight keep their pages);
    /// the memory goes with the last clone of `bufs`.
    pub fn unregister_buffers(&mut self, bufs: &FixedBuffers) -> io::Result<()> {
        let Some(table) = self.fixed.as_mut() else { return Ok(()) };
        let range = bufs.first as usize..(bufs.first + bufs.count) as usize;
        if table.get(range.clone()).is_none_or(|r| r.iter().any(|&t| t != bufs.serial)) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let empty = vec![libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; bufs.count as usize];
        // SAFETY: empty iovecs reference no memory; they clear the slots.
        unsafe { self.uring.submitter().register_buffers_update(bufs.first, &empty, None) }?;
        table[range].iter_mut().for_each(|t| *t = 0);
        Ok(())
    }
}
