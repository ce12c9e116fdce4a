//! Reading: the frames of each connection, by the connection's state.

use scalemodel_core::wire::{Frame, PROTOCOL};
use scalemodel_core::{Machine, MachineId, Message, N};

use super::{Dir, FIRST_CONN, Host, INBOX_CAP, Meta, Node, Note, PeerReport, Slot, State};
use crate::conn::{ReadStop, Take};
use crate::timer::Timer;

/// What a frame did to its link, for the node to act on after the read.
#[derive(Debug, Default)]
struct Outcome {
    /// A link came up with this peer.
    up: Option<MachineId>,
    /// Notes to pass on.
    notes: Vec<Note>,
    /// Protocol errors counted.
    errors: u64,
    /// The inbox was full: reading stopped.
    held: bool,
}

/// Reading: frames from a slot, by the slot's state.
impl<T: Timer> Node<T> {
    pub(super) fn read<H: Host>(&mut self, _host: &mut H, i: usize) {
        let Some(mut slot) = self.slots.get_mut(i).and_then(Option::take) else {
            return;
        };
        if slot.meta.state != State::Connecting && slot.meta.close.is_none() {
            self.pump(&mut slot);
        }
        self.slots[i] = Some(slot);
    }

    /// Pumps a slot's socket, then applies what its frames did.
    pub(super) fn pump(&mut self, slot: &mut Slot) {
        let mut out = Outcome::default();
        let ctx = Ctx {
            id: self.config.id,
            ended: self.ended,
            links: self.links,
        };
        let machine = &mut self.machine;
        let peers = &mut self.peers;
        let meta = &mut slot.meta;
        let mut bad = Vec::new();
        let stop = slot.conn.pump(
            |frame| ctx.on_frame(meta, frame, machine, peers, &mut out),
            |e| bad.push(e),
        );
        for e in bad {
            match (meta.state, meta.peer) {
                (State::Up, Some(peer)) => {
                    out.errors += 1;
                    out.notes.push(Note::Protocol {
                        peer,
                        what: format!("bad frame: {e}"),
                    });
                }
                _ => {
                    meta.close
                        .get_or_insert_with(|| format!("bad frame before Hello: {e}"));
                }
            }
        }
        match stop {
            Ok(ReadStop::WouldBlock) => {}
            Ok(ReadStop::Held) => out.held = true,
            Ok(ReadStop::Eof) => {
                meta.eof = true;
                let clean = meta
                    .peer
                    .is_some_and(|p| peers[p.index()].peer_sent.is_some());
                if !clean {
                    meta.close
                        .get_or_insert_with(|| "the connection closed".to_owned());
                }
            }
            Ok(ReadStop::Truncated) => {
                meta.eof = true;
                meta.close
                    .get_or_insert_with(|| "the connection closed mid-frame".to_owned());
            }
            Err(e) => {
                meta.close
                    .get_or_insert_with(|| format!("read failed: {e}"));
            }
        }
        if let Some(peer) = meta.peer {
            self.peers[peer.index()].protocol_errors += out.errors;
        }
        if out.held {
            self.held += 1;
        }
        if let Some(peer) = out.up {
            self.links[peer.index()] = Some(slot.conn.token().0 - FIRST_CONN);
            // Both links up: the barrier's first half.
            self.maybe_ready();
        }
        self.notes.append(&mut out.notes);
    }

    /// Sends `Ready` on both links.
    pub(super) fn send_ready(&mut self) {
        self.ready_sent = true;
        for i in self.links.iter().flatten() {
            let Some(slot) = self.slots[*i].as_mut() else {
                continue;
            };
            let ok = slot.conn.queue(&Frame::Ready).is_ok()
                && slot.conn.flush(self.poll.registry()).is_ok();
            if !ok {
                slot.meta
                    .close
                    .get_or_insert_with(|| "could not send Ready".to_owned());
            }
        }
    }

    /// Marks `Ready` as due once both links are up; [`Node::turn`] sends it
    /// when every slot is back in the table.
    pub(super) fn maybe_ready(&mut self) {
        let peers = [self.config.id.next(), self.config.id.other()];
        if peers.iter().all(|p| self.links[p.index()].is_some()) {
            self.ready_due = true;
        }
    }

    /// Pumps every link that a full inbox stopped.
    pub(super) fn resume_reads<H: Host>(&mut self, host: &mut H) {
        for i in 0..self.slots.len() {
            if self.slots[i].as_ref().is_some_and(|s| s.conn.is_holding()) {
                self.read(host, i);
            }
        }
    }
}

/// What frame handling needs of the node, copied so that the node's other
/// fields can be borrowed at the same time.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    id: MachineId,
    ended: bool,
    links: [Option<usize>; N],
}

impl Ctx {
    pub(super) fn on_frame(
        &self,
        meta: &mut Meta,
        frame: Frame,
        machine: &mut Machine<INBOX_CAP>,
        peers: &mut [PeerReport; N],
        out: &mut Outcome,
    ) -> Take {
        if meta.close.is_some() {
            return Take::Taken; // closing: ignore the rest
        }
        let (State::Up, Some(peer)) = (meta.state, meta.peer) else {
            self.on_hello(meta, frame, out);
            return Take::Taken;
        };
        let mut error = |what: String| {
            out.errors += 1;
            out.notes.push(Note::Protocol { peer, what });
        };
        match frame {
            Frame::Ready if !meta.ready => meta.ready = true,
            Frame::Clock { from, clock, seq } => {
                if from != peer.get() {
                    error(format!("a Clock frame claiming to be from machine {from}"));
                }
                if seq != meta.next_seq {
                    error(format!("seq {seq} where {} was next", meta.next_seq));
                }
                let msg = Message {
                    from: peer,
                    clock,
                    seq,
                };
                if self.ended {
                    peers[peer.index()].left += 1;
                } else if machine.deliver(msg).is_err() {
                    return Take::Hold;
                }
                meta.next_seq = seq.saturating_add(1);
            }
            Frame::Bye { sent } if peers[peer.index()].peer_sent.is_none() => {
                peers[peer.index()].peer_sent = Some(sent);
            }
            other => error(format!("an unexpected {other:?}")),
        }
        Take::Taken
    }

    /// A frame on a connection that has not said `Hello` yet.
    pub(super) fn on_hello(&self, meta: &mut Meta, frame: Frame, out: &mut Outcome) {
        let expect = match meta.dir {
            Dir::Out => self.id.next(),
            Dir::In => self.id.other(),
        };
        let why = match frame {
            Frame::Hello { protocol, .. } if protocol != PROTOCOL => {
                format!("protocol {protocol}, expected {PROTOCOL}")
            }
            Frame::Hello { from, .. } if from != expect.get() => {
                format!("it says it is machine {from}, expected machine {expect}")
            }
            Frame::Hello { .. } if self.links[expect.index()].is_some() => {
                format!("machine {expect} is already connected")
            }
            Frame::Hello { .. } => {
                meta.state = State::Up;
                meta.peer = Some(expect);
                out.up = Some(expect);
                return;
            }
            other => format!("{other:?} before Hello"),
        };
        meta.close = Some(why);
    }
}
