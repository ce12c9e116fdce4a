//! A simulated directed link: frames in flight with their arrival times.

use heapless::{Deque, Vec};

use super::Carried;
#[cfg(target_pointer_width = "64")]
use crate::node::ClockFrame;
use crate::wire::MAX_FRAME_LEN;

/// One frame (or one burst of garbage) on its way.
#[derive(Debug, Clone)]
pub(super) struct Segment {
    /// When it reaches the receiver, on the simulator's clock.
    pub(super) arrive_ns: u64,
    pub(super) bytes: Vec<u8, MAX_FRAME_LEN>,
    /// It carries a model message (a `Clock` frame).
    pub(super) clock: bool,
    /// A `Clock` frame carried as its numbers (`bytes` is then empty).
    #[cfg(target_pointer_width = "64")]
    pub(super) numbers: Option<ClockFrame>,
}

impl Segment {
    /// A segment of `bytes`, which end with the frame delimiter; `clock`
    /// when they are a `Clock` frame (see [`Carried::of`]).
    pub(super) const fn new(arrive_ns: u64, bytes: Vec<u8, MAX_FRAME_LEN>, clock: bool) -> Self {
        Self {
            arrive_ns,
            bytes,
            clock,
            #[cfg(target_pointer_width = "64")]
            numbers: None,
        }
    }

    /// A segment of the `Clock` frame `frame`, carried as numbers.
    #[cfg(target_pointer_width = "64")]
    pub(super) const fn of_clock(arrive_ns: u64, frame: ClockFrame) -> Self {
        Self {
            arrive_ns,
            bytes: Vec::new(),
            clock: true,
            numbers: Some(frame),
        }
    }
}

/// The bytes between a sender's outbox and a receiver's socket: at most `CAP`
/// frames, FIFO, each arriving no earlier than the one ahead of it.
#[derive(Debug, Clone)]
pub(super) struct Link<const CAP: usize> {
    pub(super) queue: Deque<Segment, CAP>,
    /// The latest arrival so far, so that jitter never reorders.
    pub(super) last_arrive_ns: u64,
    /// A frame being gathered from the sender's outbox (it may come in two
    /// pieces when the outbox wraps around).
    pub(super) staging: Vec<u8, MAX_FRAME_LEN>,
    /// The sender closed: its last frames still go, then the close.
    pub(super) closing: bool,
    /// When the close reaches the receiver, after every frame ahead of it.
    pub(super) fin_ns: Option<u64>,
    /// The connection this link belongs to: the sender's and the receiver's slots.
    pub(super) ends: Option<(crate::node::ConnId, crate::node::ConnId)>,
    /// Model messages destroyed on the way (the receiver was gone).
    pub(super) lost: u64,
}

impl<const CAP: usize> Link<CAP> {
    pub(super) const NEW: Self = Self {
        queue: Deque::new(),
        last_arrive_ns: 0,
        staging: Vec::new(),
        closing: false,
        fin_ns: None,
        ends: None,
        lost: 0,
    };

    /// Makes this link [`Link::NEW`] field by field: the queue's storage,
    /// never read while empty, is not written (a simulator built in its
    /// allocation then touches only the pages its queues reach).
    pub(super) fn reset(&mut self) {
        let Self {
            queue,
            last_arrive_ns,
            staging,
            closing,
            fin_ns,
            ends,
            lost,
        } = self;
        queue.clear();
        *last_arrive_ns = 0;
        staging.clear();
        *closing = false;
        *fin_ns = None;
        *ends = None;
        *lost = 0;
    }

    /// Model messages on the way: on the link, and a whole one staged for it.
    pub(super) fn clocks(&self) -> u64 {
        let staged = self.staging.last() == Some(&0) && Carried::of(&self.staging).is_clock();
        self.queue.iter().filter(|s| s.clock).count() as u64 + u64::from(staged)
    }

    /// The arrival time of a segment sent at `now_ns` with `delay_ns`, FIFO.
    pub(super) fn arrival(&mut self, now_ns: u64, delay_ns: u64) -> u64 {
        let at = now_ns.saturating_add(delay_ns).max(self.last_arrive_ns);
        self.last_arrive_ns = at;
        at
    }

    /// Drops the frame being gathered: the sender's node still counts a
    /// partial one as unsent, but a whole one had left it, so a whole model
    /// message there is lost.
    pub(super) fn drop_staging(&mut self) {
        let whole = self.staging.last() == Some(&0);
        if whole && Carried::of(&self.staging).is_clock() {
            self.lost += 1;
        }
        self.staging.clear();
    }

    /// The receiver's end closed: nothing more goes on this link.
    pub(super) fn detach(&mut self) {
        self.ends = None;
        self.drop_staging();
    }
}
