//! A fixed ring of bytes waiting to be transmitted.
//!
//! On a 64-bit host its storage is a [`heapless::Deque`], whose bytes are
//! written only as frames fill them: a node built in its allocation
//! zero-fills no outbox (2 × 64 KiB on the network), and the pages a run
//! never reaches stay untouched (the ring starts over at its first byte
//! whenever it empties). The firmware keeps a plain array, which costs less
//! flash, and its outboxes are small.
//!
//! **Clock frames as numbers** (64-bit hosts, for the simulator): an outbox
//! told to ([`Outbox::carry_clocks_as_numbers`]) keeps a `Clock` frame
//! queued while no bytes wait as its three numbers, with its encoded length
//! counted against `CAP` as if its bytes were there. The waiting frames are
//! then the numbers first, then the bytes (a `Clock` queued while bytes
//! wait goes behind them as bytes), so the order and the room are those of
//! the bytes alone; [`Outbox::front`] gives bytes only once no numbers wait
//! ahead of them, [`Outbox::front_clock`] the first numbers.

use crate::wire::{self, Frame, MAX_FRAME_LEN};

/// A `Clock` frame's fields, queued or carried without its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockFrame {
    /// The sender's id, as the frame carries it.
    pub from: u8,
    /// The sender's Lamport clock after the send.
    pub clock: u64,
    /// The message's number on its directed link.
    pub seq: u64,
}

impl ClockFrame {
    /// The frame these numbers stand for.
    pub const fn frame(self) -> Frame {
        Frame::Clock {
            from: self.from,
            clock: self.clock,
            seq: self.seq,
        }
    }
}

/// `Clock` frames an outbox keeps as numbers at most: as many of the
/// shortest (6 bytes) as fit the simulator's outbox of a Lamport run (one
/// frame of [`wire::FIXED_FRAME_MAX`]); past that they wait as bytes.
#[cfg(target_pointer_width = "64")]
const NUMBERS_MAX: usize = wire::FIXED_FRAME_MAX / 6;

/// The outbox cannot take the frame whole; nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Encoded frames waiting for the host to transmit them, at most `CAP` bytes.
#[derive(Debug, Clone)]
pub struct Outbox<const CAP: usize> {
    #[cfg(target_pointer_width = "64")]
    buf: heapless::Deque<u8, CAP>,
    /// `Clock` frames waiting ahead of `buf`'s bytes as their numbers.
    #[cfg(target_pointer_width = "64")]
    numbers: heapless::Deque<ClockFrame, NUMBERS_MAX>,
    /// The encoded length of `numbers`' frames.
    #[cfg(target_pointer_width = "64")]
    numbers_len: usize,
    /// `Clock` frames may wait as numbers.
    #[cfg(target_pointer_width = "64")]
    as_numbers: bool,
    /// Bytes it takes at most: `CAP`, or fewer (the simulator's one frame).
    #[cfg(target_pointer_width = "64")]
    limit: usize,
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
            numbers: heapless::Deque::new(),
            numbers_len: 0,
            as_numbers: false,
            limit: CAP,
        }
    }

    /// From now on it takes at most `bytes` (at least one largest frame of
    /// the fixed kinds, [`wire::FIXED_FRAME_MAX`], and at most `CAP`): the
    /// simulator's outbox holds one largest frame of its run, whatever
    /// its storage. A frame longer than the limit never fits, so a host
    /// sets it to at least its run's largest.
    pub fn set_limit(&mut self, bytes: usize) {
        self.limit = bytes.clamp(wire::FIXED_FRAME_MAX, CAP);
    }

    /// From now on a `Clock` frame queued while no bytes wait is kept as its
    /// numbers (see the module's doc); `false` restores bytes for all.
    /// Numbers already waiting stay numbers.
    pub fn carry_clocks_as_numbers(&mut self, on: bool) {
        self.as_numbers = on;
    }

    /// Queues the `Clock` frame `clock` whole, or nothing: as
    /// [`Outbox::push`] with its frame, without building the frame.
    pub fn push_clock(&mut self, clock: ClockFrame) -> Result<(), Full> {
        if self.as_numbers && self.buf.is_empty() && !self.numbers.is_full() {
            let len = wire::clock_frame_len(clock.clock, clock.seq);
            if !self.has_room(len) {
                return Err(Full);
            }
            self.numbers.push_back(clock).map_err(|_| Full)?;
            self.numbers_len += len;
            return Ok(());
        }
        self.push_bytes(&clock.frame())
    }

    /// Queues `frame` whole, or nothing.
    pub fn push(&mut self, frame: &Frame) -> Result<(), Full> {
        if let Frame::Clock { from, clock, seq } = *frame {
            return self.push_clock(ClockFrame { from, clock, seq });
        }
        self.push_bytes(frame)
    }

    /// Queues `frame`'s bytes whole, or nothing.
    fn push_bytes(&mut self, frame: &Frame) -> Result<(), Full> {
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

    /// The oldest waiting bytes that lie in one piece (empty when none
    /// wait, or when numbers wait ahead of them).
    pub fn front(&self) -> &[u8] {
        if !self.numbers.is_empty() {
            return &[];
        }
        self.buf.as_slices().0
    }

    /// The oldest waiting frame, when it waits as numbers.
    pub fn front_clock(&self) -> Option<ClockFrame> {
        self.numbers.front().copied()
    }

    /// Drops the oldest frame waiting as numbers (the host carried it);
    /// true if there was one.
    pub fn take_clock(&mut self) -> bool {
        let Some(c) = self.numbers.pop_front() else {
            return false;
        };
        self.numbers_len -= wire::clock_frame_len(c.clock, c.seq);
        true
    }

    /// Turns the frames waiting as numbers into their bytes, in place ahead
    /// of the bytes already waiting: for a host that needs the bytes after
    /// all. Room was counted for them as they were queued.
    pub fn numbers_to_bytes(&mut self) {
        while let Some(c) = self.numbers.pop_back() {
            let mut scratch = [0u8; MAX_FRAME_LEN];
            // A Clock frame always encodes, to `clock_frame_len` bytes (the
            // assertion below would see one that did not).
            if let Ok(bytes) = wire::encode(&c.frame(), &mut scratch) {
                self.numbers_len -= bytes.len();
                for &b in bytes.iter().rev() {
                    let pushed = self.buf.push_front(b);
                    debug_assert!(pushed.is_ok(), "room was counted for the frame");
                }
            }
        }
        debug_assert_eq!(self.numbers_len, 0, "numbers lost on the way to bytes");
    }

    /// Drops the first `n` waiting bytes (the host transmitted them) and
    /// returns how many frames that completed (delimiters passed). While
    /// numbers wait ahead of the bytes, none were offered, and none go.
    pub fn consume(&mut self, n: usize) -> usize {
        if !self.numbers.is_empty() {
            return 0;
        }
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

    /// Bytes waiting, those of frames waiting as numbers included.
    pub const fn len(&self) -> usize {
        self.buf.len() + self.numbers_len
    }

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.numbers.clear();
        self.numbers_len = 0;
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
    #[cfg(target_pointer_width = "64")]
    pub const fn has_room(&self, len: usize) -> bool {
        len <= self.limit.saturating_sub(self.len())
    }

    /// True when a frame of `len` bytes would fit.
    #[cfg(not(target_pointer_width = "64"))]
    pub const fn has_room(&self, len: usize) -> bool {
        len <= CAP - self.len()
    }

    /// True when nothing waits.
    #[cfg(not(target_pointer_width = "64"))]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when nothing waits. (The ring's own test, a comparison, rather
    /// than its length, which takes branches: a host asks after every call.)
    #[cfg(target_pointer_width = "64")]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.numbers_len == 0
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
        let fit = MAX_FRAME_LEN / wire::CLOCK_FRAME_MAX;
        for _ in 0..fit {
            o.push(&clock).unwrap();
        }
        assert_eq!(o.push(&clock), Err(Full));
        assert_eq!(o.len(), fit * wire::CLOCK_FRAME_MAX);
        assert!(!o.has_room(MAX_FRAME_LEN));
        assert_eq!(o.consume(usize::MAX), fit);
        assert!(o.is_empty() && o.has_room(MAX_FRAME_LEN));
    }

    #[test]
    fn a_limited_outbox_takes_one_frame_of_its_limit() {
        let mut o = Outbox::<MAX_FRAME_LEN>::new();
        o.set_limit(0);
        assert!(o.has_room(wire::FIXED_FRAME_MAX) && !o.has_room(wire::FIXED_FRAME_MAX + 1));
        let clock = Frame::Clock {
            from: 0,
            clock: u64::MAX,
            seq: u64::MAX,
        };
        // Two of the longest Clock frames (24 bytes) pass 39 bytes.
        o.push(&clock).unwrap();
        assert_eq!(o.push(&clock), Err(Full));
        o.set_limit(usize::MAX);
        o.push(&clock).unwrap();
        assert_eq!(o.len(), 2 * wire::CLOCK_FRAME_MAX);
    }
}
