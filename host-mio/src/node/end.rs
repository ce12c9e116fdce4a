//! The end of a run: `Bye` both ways, then the accounting.

use scalemodel_core::N;
use scalemodel_core::wire::Frame;

use super::{End, Host, Node, NodeError, NodeReport, Note, nanos};
use crate::timer::Timer;

/// The end: `Bye` both ways, then the accounting.
impl<T: Timer> Node<T> {
    pub(super) fn finish<H: Host>(
        mut self,
        host: &mut H,
        end: End,
        start_unix_ns: u64,
    ) -> Result<NodeReport, NodeError<H::Error>> {
        self.ended = true;
        for msg in self.machine.inbox().iter() {
            self.peers[msg.from.index()].left += 1;
        }
        // Frames a full inbox held back now count as left.
        self.resume_reads(host);
        let peers = [self.config.id.next(), self.config.id.other()];
        let deadline = self.timer.now_ns() + nanos(self.config.bye_timeout);
        let mut bye_queued = [false; N];
        loop {
            self.unstall();
            for &peer in &peers {
                let p = peer.index();
                let waiting = self.pending.iter().any(|(to, _)| *to == peer);
                if bye_queued[p] || waiting || self.gone[p] {
                    continue;
                }
                let sent = self.machine.sent_to(peer);
                let Some(slot) = self.links[p].and_then(|i| self.slots[i].as_mut()) else {
                    continue;
                };
                if slot.conn.queue(&Frame::Bye { sent }).is_ok() {
                    bye_queued[p] = true;
                    if let Err(e) = slot.conn.flush(self.poll.registry()) {
                        slot.meta
                            .close
                            .get_or_insert_with(|| format!("write failed: {e}"));
                    }
                }
            }
            let done = peers.iter().all(|&peer| {
                let p = peer.index();
                let flushed = self.links[p]
                    .and_then(|i| self.slots[i].as_ref())
                    .is_none_or(|s| s.conn.pending_bytes() == 0);
                self.gone[p] || (bye_queued[p] && flushed && self.peers[p].peer_sent.is_some())
            });
            if done {
                break;
            }
            if self.timer.now_ns() >= deadline {
                for &peer in &peers {
                    if !self.gone[peer.index()] && self.peers[peer.index()].peer_sent.is_none() {
                        self.notes.push(Note::NoBye { peer });
                    }
                }
                break;
            }
            self.turn(host, deadline)?;
        }
        for (to, _) in self.pending.drain(..) {
            self.peers[to.index()].undeliverable += 1;
        }
        for slot in self.slots.iter_mut().flatten() {
            slot.conn.shutdown_write();
            slot.conn.deregister(self.poll.registry());
        }
        let mut trouble = false;
        for &peer in &peers {
            let r = &mut self.peers[peer.index()];
            r.received = self.tally.received_from(peer);
            match r.peer_sent {
                Some(sent) if sent != r.received + r.left => {
                    r.protocol_errors += 1;
                    self.notes.push(Note::Protocol {
                        peer,
                        what: format!(
                            "its Bye says {sent} sent, but {} were received and {} left",
                            r.received, r.left
                        ),
                    });
                }
                Some(_) => {}
                None => trouble = true,
            }
            trouble |= r.lost_at_model_ns.is_some();
        }
        for note in self.notes.drain(..) {
            host.note(&note);
        }
        let end = match end {
            End::Completed if trouble => End::PeerLost,
            other => other,
        };
        if let Some(since) = self.stalled_since.take() {
            self.stalled_ns += self.timer.now_ns() - since;
        }
        Ok(NodeReport {
            tally: self.tally,
            start_unix_ns,
            peers: self.peers,
            stalls: self.stalls,
            stalled_ns: self.stalled_ns,
            held: self.held,
            first_tick_ns: self.first_tick_ns,
            end,
        })
    }
}
