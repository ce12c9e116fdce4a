//! A fixed ring of bytes waiting to be transmitted.
//!
//! On a 64-bit host its storage is a [`heapless::Deque`], whose bytes are
//! written only as frames fill them: a node built in its allocation
//! zero-fills no outbox (2 × 64 KiB on the network), and the pages a run
//! never reaches stay untouched (the ring starts over at its first byte
//! whenever it empties). The firmware keeps a plain array, which costs less
//! flash, and its outboxes are small.

use crate::wire::{self, Frame, MAX_FRAME_LEN};

/// The outbox cannot take the frame whole; nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Encoded frames waiting for the host to transmit them, at most `CAP` bytes.
#[derive(Debug, Clone)]
pub struct Outbox<const CAP: usize> {
    #[cfg(target_pointer_width = "64")]
    buf: heapless::Deque<u8, CAP>,
    #[cfg(not(target_pointer_width = "64"))]
    buf: [u8; CAP],
    #[cfg(not(target_pointer_width = "64"))]
    head: usize,
    #[cfg(not(target_pointer_width = "64"))]
    len: usize,
}

#[cfg(target_pointer_width = "64")]
impl<const CAP: usize> Outbox<CAP> {
    const NONEMPTY: () = assert!(CAP >= MAX_FRAME_LEN, "an outbox holds at least one frame");

    /// An empty outbox.
    pub const fn new() -> Self {
        let () = Self::NONEMPTY;
        Self {
            buf: heapless::Deque::new(),
        }
    }

    /// Queues `frame` whole, or nothing.
    pub fn push(&mut self, frame: &Frame) -> Result<(), Full> {
        let mut scratch = [0u8; MAX_FRAME_LEN];
        let bytes = wire::encode(frame, &mut scratch).map_err(|_| Full)?;
        if !self.has_room(bytes.len()) {
            return Err(Full);
        }
        for &b in bytes.iter() {
            // Room was checked for the whole frame: no push fails.
            self.buf.push_back(b).map_err(|_| Full)?;
        }
        Ok(())
    }

    /// The oldest waiting bytes that lie in one piece (empty when none wait).
    pub fn front(&self) -> &[u8] {
        self.buf.as_slices().0
    }

    /// Drops the first `n` waiting bytes (the host transmitted them) and
    /// returns how many frames that completed (delimiters passed).
    pub fn consume(&mut self, n: usize) -> usize {
        let len = self.buf.len();
        let n = n.min(len);
        let (front, back) = self.buf.as_slices();
        let first = n.min(front.len());
        let delimiters = |bytes: &[u8]| bytes.iter().filter(|&&b| b == 0).count();
        let frames = delimiters(front.get(..first).unwrap_or_default())
            + delimiters(back.get(..n - first).unwrap_or_default());
        if n == len {
            // Empty: start over at the first byte, so that the ring's
            // storage is touched only as far as its fullest moment.
            self.buf.clear();
        } else {
            self.buf.retain_back(len - n);
        }
        frames
    }

    /// Bytes waiting.
    pub const fn len(&self) -> usize {
        self.buf.len()
    }

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

#[cfg(not(target_pointer_width = "64"))]
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
        // Byte by byte: less flash, and the firmware's frames are few.
        for (i, &b) in bytes.iter().enumerate() {
            // (head + len + i) % CAP < CAP: always in bounds.
            self.buf[(self.head + self.len + i) % CAP] = b;
        }
        self.len += bytes.len();
        Ok(())
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
        // Byte by byte on the firmware: less flash.
        let frames = (0..n)
            .filter(|i| self.buf[(self.head + i) % CAP] == 0)
            .count();
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

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

impl<const CAP: usize> Outbox<CAP> {
    /// True when a frame of `len` bytes would fit.
    pub const fn has_room(&self, len: usize) -> bool {
        len <= CAP - self.len()
    }

    /// True when nothing waits.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
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
