//! The host's outputs: events, bytes to transmit, the next deadline, the report.

use super::*;
use crate::Stamp;

/// The host's outputs.
impl<const INBOX: usize, const OUT: usize, const M: usize, const C: usize, H: Stamp>
    Node<INBOX, OUT, M, C, H>
{
    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<Event<M, H>> {
        self.events.pop_front()
    }

    /// True when [`Node::poll_event`] has an event: a host that looks again
    /// only at a node with news can skip one without.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Bytes to transmit on `conn`, oldest first; report what went with
    /// [`Node::transmitted`].
    pub fn poll_transmit(&self, conn: ConnId) -> Option<&[u8]> {
        let c = self.conn(conn)?;
        let handshake = c.pending();
        if !handshake.is_empty() {
            return Some(handshake);
        }
        let State::Up(peer) = c.state else {
            return None;
        };
        let front = self.links[self.link_index(peer)?].outbox.front();
        (!front.is_empty()).then_some(front)
    }

    /// True when [`Node::poll_transmit`] has nothing for any connection: a
    /// host that asks every connection after every call can skip an idle
    /// node in one test.
    /// (64-bit hosts only: the firmware keeps no bits for it.)
    #[cfg(target_pointer_width = "64")]
    pub fn transmit_idle(&mut self) -> bool {
        // Slots whose handshake bytes all went lose their bit.
        let mut bits = self.handshake_out;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if self.conns[i].pending().is_empty() {
                self.handshake_out &= !(1 << i);
            }
        }
        let idle = self.handshake_out == 0 && self.links.iter().all(|l| l.outbox.is_empty());
        debug_assert!(
            !idle || (0..C).all(|i| self.poll_transmit(ConnId(i as u8)).is_none()),
            "a slot with bytes to transmit has no bit in `handshake_out`"
        );
        idle
    }

    /// When to call [`Node::handle_timeout`] next, on the host's clock; `None`
    /// once the node has ended. A time already past means: now.
    pub fn poll_timeout(&self) -> Option<u64> {
        #[cfg(target_pointer_width = "64")]
        let mut at = {
            let (mut at, mut deadlines) = (u64::MAX, self.deadlines);
            while deadlines != 0 {
                let i = deadlines.trailing_zeros() as usize;
                deadlines &= deadlines - 1;
                if let Some(d) = self.conns[i].deadline_ns() {
                    at = at.min(d);
                }
            }
            debug_assert_eq!(
                at,
                self.conns
                    .iter()
                    .filter_map(Conn::deadline_ns)
                    .min()
                    .unwrap_or(u64::MAX),
                "a slot with a deadline has no bit"
            );
            at
        };
        // Every slot on the firmware, whose flash the bits would cost.
        #[cfg(not(target_pointer_width = "64"))]
        let mut at = self
            .conns
            .iter()
            .filter_map(Conn::deadline_ns)
            .min()
            .unwrap_or(u64::MAX);
        match self.phase {
            Phase::SetUp => {
                at = at.min(self.setup_deadline_ns);
                if self.dial_free() {
                    at = at.min(self.retry_at_ns.unwrap_or(u64::MAX));
                }
            }
            Phase::Barrier => at = at.min(self.setup_deadline_ns),
            Phase::Running => {
                let start = self.start?;
                at = at.min(start.end_ns);
                if self.pending.is_none() && self.ticks_left() {
                    let model = self.machine.next_tick_ns();
                    at = at.min(due_ns(start.at_ns, model, self.config.speed));
                }
            }
            Phase::Ending { deadline_ns } => at = at.min(deadline_ns),
            Phase::Ended(_) => return None,
        }
        Some(at)
    }

    /// What the node knows of its run so far; final once it has ended.
    pub fn report(&self) -> NodeReport<M> {
        let t = &self.stats.tally;
        let mut peers = [PeerReport::default(); M];
        for i in self.link_order() {
            let (peer, link) = (self.peer_of(i), &self.links[i]);
            let pending = self.pending.map_or(0, |p| {
                let rest = p.sends.ids().get(p.next..).unwrap_or_default();
                rest.iter().filter(|&&to| to == peer).count() as u64
            });
            peers[peer.index()] = PeerReport {
                sent: t.sent_to(peer),
                received: t.received_from(peer),
                queued: self
                    .machine
                    .inbox()
                    .iter()
                    .filter(|m| m.from == peer)
                    .count() as u64,
                unsent: link.clocks_unsent + pending,
                ..link.report
            };
        }
        NodeReport {
            tally: *t,
            peers,
            stalls: self.stats.stalls,
            stalled_model_ns: self
                .stalled_ns()
                .saturating_mul(u64::from(self.config.speed)),
            stalled_at_end: self.stats.stalled_at_end,
            holds: self.stats.holds,
            behind_ticks: self.stats.behind_ticks,
            max_behind: self.stats.max_behind,
            late_ticks: self.stats.late_ticks,
            max_late_ns: self.stats.max_late_ns,
            inbox_left: u32::try_from(self.machine.inbox().len()).unwrap_or(u32::MAX),
            errors: self.stats.errors,
            rejected: self.stats.rejected,
            first_tick_ns: self.stats.first_tick_ns,
            start_unix_ns: self.start.map(|s| s.unix_ns),
            status: self.status(),
            dropped_events: self.stats.dropped_events,
        }
    }

    /// Events that did not fit the queue (zero unless a bound is wrong).
    pub const fn dropped_events(&self) -> u64 {
        self.stats.dropped_events
    }

    pub(super) fn stalled_ns(&self) -> u64 {
        let open = self
            .pending
            .map_or(0, |p| self.now_ns.saturating_sub(p.since_ns));
        self.stats.stalled_ns.saturating_add(open)
    }
}
