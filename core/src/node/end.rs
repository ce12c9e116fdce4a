//! The end of the run: `Bye` both ways, the bound, and the final status.

use super::*;
use crate::Stamp;

/// The end of the run.
impl<const INBOX: usize, const OUT: usize, const M: usize, const C: usize, H: Stamp>
    Node<INBOX, OUT, M, C, H>
{
    /// Ends the run once its time is up and every tick ran (or the machine is
    /// stalled, and cannot run them).
    pub(super) fn maybe_end(&mut self) {
        let Some(start) = self.start else { return };
        // Behind its schedule at the end plus the grace, the machine stops
        // with its ticks short rather than run late for ever.
        // The end's time first: before it (every tick but the last few) the
        // rest is not worked out.
        if self.now_ns < start.end_ns || !matches!(self.phase, Phase::Running) {
            return;
        }
        let ticks_done =
            !self.ticks_left() || self.pending.is_some() || self.now_ns >= start.ticks_until_ns;
        if ticks_done {
            self.begin_end();
        }
    }

    pub(super) fn begin_end(&mut self) {
        if !matches!(self.phase, Phase::Running) {
            return;
        }
        self.stats.stalled_at_end = self.pending.is_some();
        let deadline_ns = self.now_ns.saturating_add(self.config.timeouts.bye_ns);
        self.phase = Phase::Ending { deadline_ns };
        self.progress_end();
    }

    /// Queues our `Bye` on link `i` once nothing waits to go before it.
    pub(super) fn queue_bye(&mut self, i: usize) {
        let peer = self.peer_of(i);
        let waiting = self.pending.is_some_and(|p| {
            let rest = p.sends.ids().get(p.next..).unwrap_or_default();
            rest.contains(&peer)
        });
        let link = &mut self.links[i];
        if link.state != LinkState::Up || link.bye_queued || waiting {
            return;
        }
        let bye = Frame::Bye {
            sent: link.clocks_queued,
        };
        if link.outbox.push(&bye).is_ok() {
            link.bye_queued = true;
        }
    }

    /// In the end phase: `Bye`s out, links closed once both went, and the end
    /// once every link is closed. While running: the answer to a peer that
    /// ended early, which may have found its outbox full or a send to that
    /// peer still waiting; it goes once they left, since the peer waits for
    /// it only for its `Bye` bound.
    /// Moves the end on: `Bye` where it is due, closes where both went.
    /// Called after every transmission and stall, mostly while running with
    /// no peer ended early, when there is nothing to do: on 64-bit hosts
    /// that test is inlined where it is called (the firmware keeps one
    /// body: flash).
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    pub(super) fn progress_end(&mut self) {
        let quiet =
            matches!(self.phase, Phase::Running) && !self.links.iter().any(|l| l.ended_early);
        if !quiet {
            self.progress_end_now();
        }
    }

    #[cfg(not(target_pointer_width = "64"))]
    pub(super) fn progress_end(&mut self) {
        self.progress_end_now();
    }

    /// [`Node::progress_end`]'s work.
    #[cfg_attr(not(target_pointer_width = "64"), inline(always))]
    fn progress_end_now(&mut self) {
        if matches!(self.phase, Phase::Running) {
            for j in 0..self.link_count() {
                let i = self.link_at(j);
                if self.links[i].ended_early {
                    self.queue_bye(i);
                }
            }
            return;
        }
        if !matches!(self.phase, Phase::Ending { .. }) {
            return;
        }
        for j in 0..self.link_count() {
            let i = self.link_at(j);
            self.queue_bye(i);
            let link = &self.links[i];
            if link.state == LinkState::Up
                && link.bye_done
                && link.report.peer_sent.is_some()
                && let Some(conn) = link.conn
            {
                self.links[i].state = LinkState::Done;
                self.links[i].conn = None;
                self.conns[conn.index()].state = State::Closing {
                    from: Some(self.peer_of(i)),
                };
                self.emit(Event::Close(conn));
            }
        }
        self.check_end();
    }

    pub(super) fn check_end(&mut self) {
        if matches!(self.phase, Phase::Ending { .. })
            && self.links.iter().all(|l| l.state != LinkState::Up)
        {
            let status = self.final_status();
            self.finish(status);
        }
    }

    /// The `Bye` bound passed: whoever said no `Bye` is lost.
    pub(super) fn give_up_end(&mut self) {
        self.end_stall();
        for j in 0..self.link_count() {
            let i = self.link_at(j);
            let link = &self.links[i];
            if let (LinkState::Up, Some(conn)) = (link.state, link.conn) {
                // No Bye came, or ours never went out whole (the peer stopped reading).
                let reason = if link.report.peer_sent.is_none() {
                    CloseReason::NoBye
                } else {
                    CloseReason::Closed
                };
                self.close(conn, reason);
            }
        }
        let status = self.final_status();
        self.finish(status);
    }

    pub(super) fn final_status(&self) -> Status {
        let trouble = self
            .links
            .iter()
            .any(|l| l.report.lost.is_some() || l.ended_early || l.state == LinkState::Lost);
        if self.stats.interrupted {
            Status::Interrupted
        } else if self.stats.overflow {
            Status::ClockOverflow
        } else if trouble {
            Status::PeerLost
        } else if self.stats.stalls > 0 {
            // Its ticks after a stall ran late, however it caught up.
            Status::Stalled
        } else if self.ticks_left() || !self.absorbed() {
            // It never caught up, or fell behind for too long.
            Status::Overloaded
        } else {
            Status::Completed
        }
    }

    /// Whether the machine's lateness was stalls the run absorbed: never
    /// more than [`BEHIND_MAX`] ticks behind, or late on at most
    /// [`LATE_PERCENT_MAX`] in a hundred of its ticks.
    fn absorbed(&self) -> bool {
        self.stats.max_behind <= BEHIND_MAX
            || late_within_bound(self.stats.late_ticks, self.machine.ticks())
    }

    /// The node is done: every connection closes, and the status is final.
    pub(super) fn finish(&mut self, status: Status) {
        self.end_stall();
        for i in 0..C {
            let conn = ConnId(i as u8);
            match self.conns[i].state {
                State::Free | State::Closing { .. } => {}
                State::Up(peer) => {
                    self.conns[i].state = State::Closing { from: Some(peer) };
                    self.emit(Event::Close(conn));
                }
                _ => self.close(conn, CloseReason::Stopped),
            }
        }
        self.phase = Phase::Ended(status);
        self.emit(Event::Ended(status));
    }
}
