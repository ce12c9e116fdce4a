//! `Clock` frames carried as their numbers: the simulator's fast path.
//!
//! On a link with no fault and no network that reads the frames, the bytes
//! of a `Clock` frame only travel: the sender encodes them, the simulator
//! copies them from the outbox, finds their delimiter and queues them, and
//! the receiver decodes them back into the three numbers it started from.
//! A host may instead carry the numbers ([`Node::carry_clocks_as_numbers`]):
//! the sender's outbox keeps the frame as numbers with its encoded length
//! counted for the room it takes ([`super::Outbox`]), the host takes it
//! with [`Node::poll_clock`] and [`Node::transmitted_clock`], and hands it
//! to the receiver with [`Node::handle_clock`], which does what
//! [`Node::handle_bytes`] does with the frame's bytes. Each call mirrors
//! its byte-wise twin step by step, so the node decides the same either
//! way; the simulator's tests run both over many seeds and compare every
//! record and report. (64-bit hosts: the firmware's flash would not hold
//! a second path.)

use super::*;
use crate::Stamp;

/// `Clock` frames as numbers.
impl<const INBOX: usize, const OUT: usize, const M: usize, const C: usize, H: Stamp>
    Node<INBOX, OUT, M, C, H>
{
    /// From now on (`on`) a `Clock` frame queued on a link with no bytes
    /// waiting ahead of it waits as numbers, for [`Node::poll_clock`];
    /// [`Node::poll_transmit`] gives the bytes behind them once they went.
    /// Off by default, and off again after [`Node::reset`].
    pub fn carry_clocks_as_numbers(&mut self, on: bool) {
        for link in &mut self.links {
            link.outbox.carry_clocks_as_numbers(on);
        }
    }

    /// From now on each outbox takes one largest frame of the run's kinds
    /// at most ([`Stamp::frame_max`]), as the simulator's do, whatever its
    /// `OUT` bytes of storage: its backpressure is the same for every
    /// clock of a run's length. A new or reset node's take their `OUT`.
    pub fn hold_one_frame(&mut self) {
        let bytes = H::frame_max(self.machine.die().machines());
        for link in &mut self.links {
            link.outbox.set_limit(bytes);
        }
    }

    /// The next frame to transmit on `conn` when it is a `Clock` frame
    /// waiting as numbers: transmit it with [`Node::transmitted_clock`], or
    /// ask for its bytes with [`Node::clocks_to_bytes`]. `None` when
    /// anything else comes first, or nothing.
    pub fn poll_clock(&self, conn: ConnId) -> Option<ClockFrame> {
        let c = self.conn(conn)?;
        if !c.pending().is_empty() {
            return None;
        }
        let State::Up(peer) = c.state else {
            return None;
        };
        self.links[self.link_index(peer)?].outbox.front_clock()
    }

    /// The host carried the frame [`Node::poll_clock`] gave for `conn`: as
    /// [`Node::transmitted`] with that frame's bytes.
    pub fn transmitted_clock(&mut self, conn: ConnId, now_ns: u64) {
        self.tick_now(now_ns);
        let Some(c) = self.conns.get(conn.index()) else {
            return;
        };
        // `poll_clock` gave a frame only with no handshake bytes ahead.
        debug_assert!(c.pending().is_empty());
        if let State::Up(peer) = c.state
            && let Some(i) = self.link_index(peer)
        {
            let link = &mut self.links[i];
            if link.outbox.take_clock() {
                link.sent_frames(1);
            }
        }
        self.unstall();
        self.progress_end();
    }

    /// Turns the `Clock` frames waiting as numbers on `conn` into bytes, for
    /// [`Node::poll_transmit`]: a host that must hold a frame's bytes (its
    /// link is full) takes them as bytes.
    pub fn clocks_to_bytes(&mut self, conn: ConnId) {
        if let Some(State::Up(peer)) = self.conn(conn).map(|c| c.state)
            && let Some(i) = self.link_index(peer)
        {
            self.links[i].outbox.numbers_to_bytes();
        }
    }

    /// A whole `Clock` frame arrived on `conn` as numbers: what
    /// [`Node::handle_bytes`] does with its bytes. True if it was used
    /// (taken, or counted and dropped, as `handle_bytes` uses every byte);
    /// false if it must be offered again later (the inbox is full, or the
    /// event queue needs draining).
    pub fn handle_clock(&mut self, conn: ConnId, frame: ClockFrame, now_ns: u64) -> bool {
        if self.conn(conn).is_some_and(|c| c.decoder.is_mid_frame()) {
            // The bytes would finish another frame: only the bytes say how.
            let mut buf = [0u8; wire::MAX_FRAME_LEN];
            let Ok(bytes) = wire::encode(&frame.frame(), &mut buf) else {
                return false;
            };
            let len = bytes.len();
            return self.handle_bytes(conn, bytes, now_ns) == len;
        }
        // In `handle_bytes`'s order: the time, the event queue's room, the slot.
        self.tick_now(now_ns);
        if EVENTS - self.events.len() < EVENT_ROOM {
            return false;
        }
        let Some(c) = self.conn(conn) else {
            return true;
        };
        match c.state {
            State::Free | State::Dialing { .. } | State::Closing { from: None } => true,
            State::Closing { from: Some(peer) } => {
                if let Some(i) = self.link_index(peer) {
                    self.count_dropped_clock(i, peer, frame.from, frame.seq);
                }
                true
            }
            State::Up(_) if !self.can_read(conn) => false,
            // As `on_frame` does with a running link's frame.
            State::Up(peer) => {
                self.on_link_clock(conn, peer, frame);
                true
            }
            _ => {
                self.on_frame(conn, frame.frame());
                true
            }
        }
    }
}
