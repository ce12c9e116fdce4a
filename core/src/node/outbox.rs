//! A fixed ring of bytes waiting to be transmitted.

use crate::wire::{self, Frame, MAX_FRAME_LEN};

/// The outbox cannot take the frame whole; nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Encoded frames waiting for the host to transmit them, at most `CAP` bytes.
#[derive(Debug, Clone)]
pub struct Outbox<const CAP: usize> {
    buf: [u8; CAP],
    head: usize,
    len: usize,
}

impl<const CAP: usize> Outbox<CAP> {
    const NONEMPTY: () = assert!(CAP >= MAX_FRAME_LEN, "an outbox holds at least one frame");

    /// An empty outbox.
    pub const fn new() -> Self {
        let () = Self::NONEMPTY;
        Self {
            buf: [0; CAP],
            head: 0,
            len: 0,
        }
    }

    /// Queues `frame` whole, or nothing.
    pub fn push(&mut self, frame: &Frame) -> Result<(), Full> {
        let mut scratch = [0u8; MAX_FRAME_LEN];
        let bytes = wire::encode(frame, &mut scratch).map_err(|_| Full)?;
        if bytes.len() > CAP - self.len {
            return Err(Full);
        }
        if !cfg!(target_pointer_width = "64") {
            // Byte by byte on the firmware: less flash, and its frames are few.
            for (i, &b) in bytes.iter().enumerate() {
                // (head + len + i) % CAP < CAP: always in bounds.
                self.buf[(self.head + self.len + i) % CAP] = b;
            }
            self.len += bytes.len();
            return Ok(());
        }
        // Two copies at most: up to the ring's end, then from its start.
        let tail = (self.head + self.len) % CAP;
        let (first, second) = bytes.split_at(bytes.len().min(CAP - tail));
        if let Some(dst) = self.buf.get_mut(tail..tail + first.len()) {
            dst.copy_from_slice(first);
        }
        if let Some(dst) = self.buf.get_mut(..second.len()) {
            dst.copy_from_slice(second);
        }
        self.len += bytes.len();
        Ok(())
    }

    /// True when a frame of `len` bytes would fit.
    pub const fn has_room(&self, len: usize) -> bool {
        len <= CAP - self.len
    }

    /// The oldest waiting bytes that lie in one piece (empty when none wait).
    pub fn front(&self) -> &[u8] {
        let end = (self.head + self.len).min(CAP);
        self.buf.get(self.head..end).unwrap_or_default()
    }

    /// Drops the first `n` waiting bytes (the host transmitted them) and
    /// returns how many frames that completed (delimiters passed).
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        let frames = if cfg!(target_pointer_width = "64") {
            // At most two runs: up to the ring's end, then from its start.
            let first = n.min(CAP - self.head);
            let delimiters = |bytes: &[u8]| bytes.iter().filter(|&&b| b == 0).count();
            delimiters(
                self.buf
                    .get(self.head..self.head + first)
                    .unwrap_or_default(),
            ) + delimiters(self.buf.get(..n - first).unwrap_or_default())
        } else {
            // Byte by byte on the firmware: less flash.
            (0..n)
                .filter(|i| self.buf[(self.head + i) % CAP] == 0)
                .count()
        };
        self.head = (self.head + n) % CAP;
        self.len -= n;
        if self.len == 0 {
            self.head = 0;
        }
        frames
    }

    /// Bytes waiting.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when nothing waits.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

impl<const CAP: usize> Default for Outbox<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn drain<const C: usize>(o: &mut Outbox<C>, chunk: usize) -> (Vec<u8>, usize) {
        let (mut out, mut frames) = (Vec::new(), 0);
        while !o.is_empty() {
            let n = o.front().len().min(chunk);
            out.extend_from_slice(&o.front()[..n]);
            frames += o.consume(n);
        }
        (out, frames)
    }

    #[test]
    fn frames_wrap_around_and_come_out_in_order() {
        let mut o = Outbox::<{ MAX_FRAME_LEN + 10 }>::new();
        let clock = |seq| Frame::Clock {
            from: 1,
            clock: 300,
            seq,
        };
        let mut expect = Vec::new();
        let mut got = Vec::new();
        for seq in 0..20 {
            o.push(&clock(seq)).unwrap();
            let mut buf = [0; MAX_FRAME_LEN];
            expect.extend_from_slice(wire::encode(&clock(seq), &mut buf).unwrap());
            let (bytes, frames) = drain(&mut o, 3);
            assert_eq!(frames, 1);
            got.extend(bytes);
        }
        assert_eq!(got, expect);
    }

    #[test]
    fn a_full_outbox_takes_nothing() {
        let mut o = Outbox::<MAX_FRAME_LEN>::new();
        let clock = Frame::Clock {
            from: 0,
            clock: u64::MAX,
            seq: u64::MAX,
        };
        o.push(&clock).unwrap();
        assert_eq!(o.push(&clock), Err(Full));
        assert!(!o.has_room(MAX_FRAME_LEN));
        assert_eq!(o.consume(usize::MAX), 1);
        assert!(o.is_empty() && o.has_room(MAX_FRAME_LEN));
    }
}
