//! The host's inputs: accepted and closed connections, bytes, time, start and stop.

use super::*;
use crate::Stamp;

/// The host's inputs.
impl<const INBOX: usize, const OUT: usize, const M: usize, const C: usize, H: Stamp>
    Node<INBOX, OUT, M, C, H>
{
    /// The host accepted a connection: its slot, or `None` when no slot is
    /// free (the host closes it). Taking the last free slot evicts one
    /// unproven connection (`Conn::eviction_rank`: those that proved nothing
    /// first, oldest first, never one opened at this very time), so that a
    /// slot is soon free again for the next one: strangers can delay a peer
    /// by a dial or two, but not keep it out.
    pub fn handle_accepted(&mut self, now_ns: u64) -> Option<ConnId> {
        self.tick_now(now_ns);
        if matches!(self.phase, Phase::Ended(_)) {
            return None;
        }
        let is_free = |c: &Conn| c.state == State::Free;
        let accepts = self.dial_slots()..C;
        let Some(i) = accepts.clone().find(|&i| is_free(&self.conns[i])) else {
            // Refused, but room is made for the next one: the host closes
            // the evicted slot before it accepts again.
            self.stats.rejected += 1;
            self.evict();
            return None;
        };
        let deadline_ns = self
            .now_ns
            .saturating_add(self.config.timeouts.handshake_ns);
        let frame_max = H::frame_max(self.machine.die().machines());
        self.conns[i].open(State::Accepted { deadline_ns }, self.now_ns, frame_max);
        self.mark_deadline(i);
        if !accepts.into_iter().any(|j| is_free(&self.conns[j])) {
            self.evict();
        }
        Some(ConnId(i as u8))
    }

    /// Closes the unproven connection that gives way first, if one does.
    fn evict(&mut self) {
        let now = self.now_ns;
        let victim = (self.dial_slots()..C)
            .filter_map(|j| Some((self.conns[j].eviction_rank(now)?, j)))
            .min();
        if let Some((_, j)) = victim {
            self.close(ConnId(j as u8), CloseReason::Evicted);
        }
    }

    /// The host's dial of slot `conn` connected: the handshake starts.
    pub fn handle_connected(&mut self, conn: ConnId, now_ns: u64) {
        self.tick_now(now_ns);
        let Some(peer) = self.dial_peer(conn.index()) else {
            return;
        };
        if !matches!(self.conns[conn.index()].state, State::Dialing { .. }) {
            return;
        }
        let challenge = self.challenge();
        let deadline_ns = self
            .now_ns
            .saturating_add(self.config.timeouts.handshake_ns);
        self.conns[conn.index()].state = State::Calling {
            challenge,
            deadline_ns,
        };
        let (id, next) = (self.config.id, peer);
        let proof = self.keyed.prove(
            &self.config.key,
            Role::Hello,
            (id, &challenge),
            (next, &handshake::NO_CHALLENGE),
        );
        let hello = Frame::Hello {
            protocol: PROTOCOL,
            from: id.get(),
            challenge,
            proof,
        };
        if !self.queue_handshake(conn.index(), &hello) {
            self.close(conn, CloseReason::ConnectFailed);
        }
    }

    /// Bytes that arrived on `conn`; returns how many were used. The rest must
    /// be offered again later: the node stops at a full inbox (see
    /// [`Node::can_read`]) and when its event queue needs draining.
    ///
    /// After an [`Event::Close`] of a peer's link, and before
    /// `handle_closed`, the host hands in what is already on the connection
    /// (a close with unread bytes would throw them away, and send a reset):
    /// the peer's `Clock` frames in it are counted lost where they were
    /// lost, in [`PeerReport::dropped`], and every byte is used.
    pub fn handle_bytes(&mut self, conn: ConnId, bytes: &[u8], now_ns: u64) -> usize {
        self.tick_now(now_ns);
        let mut used = 0;
        while used < bytes.len() && EVENTS - self.events.len() >= EVENT_ROOM {
            let Some(&Conn { state, .. }) = self.conns.get(conn.index()) else {
                return bytes.len();
            };
            match state {
                State::Free | State::Dialing { .. } | State::Closing { from: None } => {
                    return bytes.len();
                }
                // What the peer had sent when its link closed here: read,
                // counted lost, never taken.
                State::Closing { from: Some(peer) } => {
                    return self.count_dropped(conn, peer, bytes);
                }
                State::Up(_) if !self.can_read(conn) => break,
                _ => {}
            }
            let rest = bytes.get(used..).unwrap_or_default();
            let feed = self.conns[conn.index()].decoder.feed(rest);
            used = bytes.len() - feed.rest.len();
            match feed.event {
                None => {}
                Some(Err(e)) => self.protocol(conn, ProtocolError::Decode(e)),
                Some(Ok(frame)) => self.on_frame(conn, frame),
            }
        }
        used
    }

    /// Reads what `peer` had sent on `conn` when its link closed here: each
    /// `Clock` frame next in the link's sequence is counted `dropped` (lost),
    /// never delivered; anything else is ignored. Uses every byte.
    fn count_dropped(&mut self, conn: ConnId, peer: MachineId, bytes: &[u8]) -> usize {
        let Some(i) = self.link_index(peer) else {
            return bytes.len();
        };
        let mut rest = bytes;
        // Each turn uses at least one byte: bounded by the input's length.
        while !rest.is_empty() {
            let feed = self.conns[conn.index()].decoder.feed(rest);
            if feed.rest.len() >= rest.len() {
                break;
            }
            rest = feed.rest;
            if let Some(Ok(frame)) = feed.event
                && let Some((from, _, seq, _)) = H::message(&frame, self.machine.die().machines())
            {
                self.count_dropped_clock(i, peer, from, seq);
            }
        }
        bytes.len()
    }

    /// A `Clock` frame `peer` had sent on link `i` when the link closed
    /// here: counted `dropped` when it is the next in the link's sequence.
    #[inline(always)] // one body on the firmware: its flash is tight
    pub(super) fn count_dropped_clock(&mut self, i: usize, peer: MachineId, from: u8, seq: u64) {
        let link = &mut self.links[i];
        if from == peer.get() && seq == link.recv_seq && link.report.peer_sent.is_none() {
            link.recv_seq += 1;
            link.report.dropped += 1;
        }
    }

    /// The order in which a host offers bytes that are waiting on several
    /// connections at once: the links by their peer's id, lowest first, then
    /// every other slot. Messages that arrive together are so queued lowest
    /// sender first, as the simulator queues arrivals at one instant (by
    /// link, lowest sender first): one tie-break for every host.
    pub fn read_order(&self) -> [ConnId; C] {
        let mut order = [ConnId(0); C];
        // By id: the links array's order.
        let links = || self.links.iter().filter_map(|l| l.conn);
        let first = links();
        let rest = (0..C)
            .map(|i| ConnId(i as u8))
            .filter(|c| !links().any(|l| l == *c));
        for (slot, conn) in order.iter_mut().zip(first.chain(rest)) {
            *slot = conn;
        }
        order
    }

    /// True when `conn` may be read: a link reads only while its inbox has room
    /// (or the run has ended, when arrivals are only counted).
    pub fn can_read(&self, conn: ConnId) -> bool {
        match self.conn(conn).map(|c| c.state) {
            Some(State::Up(_)) => {
                matches!(self.phase, Phase::Ending { .. } | Phase::Ended(_))
                    || !self.machine.inbox().is_full()
            }
            Some(State::Free | State::Dialing { .. } | State::Closing { .. }) | None => false,
            Some(_) => true,
        }
    }

    /// The host's connection `conn` closed (by the other side, by an error, or
    /// after a [`Event::Close`]): its slot is free again.
    pub fn handle_closed(&mut self, conn: ConnId, now_ns: u64) {
        self.tick_now(now_ns);
        let Some(c) = self.conns.get_mut(conn.index()) else {
            return;
        };
        let (state, truncated) = (c.state, c.decoder.is_mid_frame());
        // Free first: the loss may end the run, and the end must not ask the
        // host to close this connection again.
        *c = Conn::FREE;
        match state {
            State::Free => return,
            State::Closing { .. } => {}
            State::Dialing { .. } | State::Calling { .. } if conn.index() < self.dial_slots() => {
                self.retry_later();
            }
            State::Up(peer) => {
                let reason = if truncated {
                    CloseReason::Truncated
                } else {
                    CloseReason::Closed
                };
                self.link_closed(peer, reason);
            }
            _ => {
                self.stats.rejected += 1;
                self.emit(Event::Rejected {
                    conn,
                    reason: CloseReason::Closed,
                });
            }
        }
        self.check_end();
    }

    /// The host transmitted the first `n` bytes `poll_transmit` gave for `conn`.
    pub fn transmitted(&mut self, conn: ConnId, n: usize, now_ns: u64) {
        self.tick_now(now_ns);
        let Some(c) = self.conns.get_mut(conn.index()) else {
            return;
        };
        let rest = c.consume(n);
        let state = c.state;
        if let (State::Up(peer), true) = (state, rest > 0)
            && let Some(i) = self.link_index(peer)
        {
            let link = &mut self.links[i];
            let frames = link.outbox.consume(rest);
            link.sent_frames(frames);
        }
        self.unstall();
        self.progress_end();
    }

    /// The time came (or passed) that `poll_timeout` gave: ticks, handshake
    /// deadlines, dials and the end. Runs at most one tick per call, so a host
    /// that is behind still serves its connections between ticks.
    pub fn handle_timeout(&mut self, now_ns: u64) {
        self.tick_now(now_ns);
        let now = self.now_ns;
        #[cfg(target_pointer_width = "64")]
        {
            let mut deadlines = self.deadlines;
            while deadlines != 0 {
                let i = deadlines.trailing_zeros() as usize;
                deadlines &= deadlines - 1;
                match self.conns[i].deadline_ns() {
                    Some(d) if now >= d => {
                        self.close(ConnId(i as u8), CloseReason::HandshakeTimeout)
                    }
                    Some(_) => {}
                    None => self.deadlines &= !(1 << i),
                }
            }
        }
        // Every slot on the firmware, whose flash the bits would cost.
        #[cfg(not(target_pointer_width = "64"))]
        for i in 0..C {
            if self.conns[i].deadline_ns().is_some_and(|d| now >= d) {
                self.close(ConnId(i as u8), CloseReason::HandshakeTimeout);
            }
        }
        match self.phase {
            Phase::SetUp | Phase::Barrier if now >= self.setup_deadline_ns => {
                let status = if matches!(self.phase, Phase::SetUp) {
                    // The links not up, one bit per peer id.
                    let down = self
                        .link_order()
                        .filter(|&i| self.links[i].state != LinkState::Up)
                        .fold(0u16, |bits, i| bits | 1 << i);
                    Status::SetupFailed(Missing {
                        next: down & self.plan.dials != 0,
                        other: down & !self.plan.dials != 0,
                    })
                } else {
                    Status::NoStart
                };
                self.finish(status);
            }
            Phase::SetUp => {
                if self.retry_at_ns.is_some_and(|t| now >= t) && self.dial_free() {
                    self.retry_at_ns = None;
                    let deadline_ns = now.saturating_add(self.config.timeouts.handshake_ns);
                    let frame_max = H::frame_max(self.machine.die().machines());
                    // Every free dial slot whose link is down, in slot order.
                    for j in 0..self.dial_slots() {
                        let i = usize::from(self.plan.dial_to[j]);
                        let down = self
                            .links
                            .get(i)
                            .is_some_and(|l| l.state == LinkState::Down);
                        if down && self.conns[j].state == State::Free {
                            self.conns[j].open(State::Dialing { deadline_ns }, now, frame_max);
                            self.mark_deadline(j);
                            self.emit(Event::Dial(ConnId(j as u8)));
                        }
                    }
                }
            }
            Phase::Running => {
                self.unstall();
                self.run_tick();
                self.maybe_end();
            }
            Phase::Ending { deadline_ns } if now >= deadline_ns => self.give_up_end(),
            Phase::Barrier | Phase::Ending { .. } | Phase::Ended(_) => {}
        }
    }

    /// Sets model time 0 at `at_ns` on the host's clock, which is Unix time
    /// `unix_ns` (for the records' `system_ns`).
    pub fn handle_start(
        &mut self,
        at_ns: u64,
        unix_ns: u64,
        now_ns: u64,
    ) -> Result<(), StartError> {
        self.tick_now(now_ns);
        if !matches!(self.phase, Phase::Barrier) {
            return Err(StartError::NotReady);
        }
        // A start that reached the node late (its host was descheduled, or
        // the launcher's lead time was short for a loaded machine) is a
        // stall at the start: the first ticks run late and are counted as
        // late ticks. Older than the catch-up grace, it is refused.
        if at_ns.saturating_add(self.config.timeouts.catch_up_ns()) < self.now_ns {
            return Err(StartError::InPast);
        }
        let end_ns = due_ns(at_ns, self.config.duration_ns, self.config.speed);
        let grace = self.config.timeouts.catch_up_ns();
        self.start = Some(Start {
            at_ns,
            unix_ns,
            end_ns,
            ticks_until_ns: end_ns.saturating_add(grace),
            late_ns: tenth_period_ns(self.config.rate, self.config.speed),
        });
        self.phase = Phase::Running;
        Ok(())
    }

    /// Ends the run now, cleanly: `Bye` on both links, status `interrupted`.
    pub fn handle_stop(&mut self, now_ns: u64) {
        self.tick_now(now_ns);
        self.stats.interrupted = true;
        match self.phase {
            Phase::SetUp | Phase::Barrier => self.finish(Status::Interrupted),
            Phase::Running => self.begin_end(),
            Phase::Ending { .. } | Phase::Ended(_) => {}
        }
    }
}
