//! Frames: the handshake, the barrier, `Clock` and `Bye`, and protocol errors.

use super::*;
use crate::Stamp;

/// Frames.
impl<const INBOX: usize, const OUT: usize, const M: usize, const C: usize, H: Stamp>
    Node<INBOX, OUT, M, C, H>
{
    pub(super) fn on_frame(&mut self, conn: ConnId, frame: Frame) {
        let id = self.config.id;
        let state = self.conns[conn.index()].state;
        if let State::Up(peer) = state {
            // A running link's frame: the key is not needed, nor copied.
            return self.on_link_frame(conn, peer, frame);
        }
        // A copy, as the handshake below also changes `self`.
        let (key, keyed) = (&self.config.key.clone(), &self.keyed.clone());
        let outcome = match (state, frame) {
            (State::Up(peer), frame) => return self.on_link_frame(conn, peer, frame),
            (
                State::Calling { challenge, .. },
                Frame::Welcome {
                    protocol,
                    from,
                    challenge: theirs,
                    proof,
                },
            ) => {
                // Calling happens on dial slots only, each with its peer.
                let next = self.dial_peer(conn.index()).unwrap_or(id);
                if protocol != PROTOCOL {
                    Err(ProtocolError::Version(protocol))
                } else if from != next.get() {
                    Err(ProtocolError::WrongId(from))
                } else if !keyed.verify(
                    key,
                    Role::Answerer,
                    (id, &challenge),
                    (next, &theirs),
                    &proof,
                ) {
                    Err(ProtocolError::BadProof)
                } else {
                    let proof = keyed.prove(key, Role::Caller, (id, &challenge), (next, &theirs));
                    if self.queue_handshake(conn.index(), &Frame::Proof { proof }) {
                        Ok(Some(next))
                    } else {
                        return self.close(conn, CloseReason::ConnectFailed);
                    }
                }
            }
            (
                State::Accepted { deadline_ns },
                Frame::Hello {
                    protocol,
                    from,
                    challenge: theirs,
                    proof,
                },
            ) => {
                // The caller must be a peer that dials this node.
                let claimed = MachineId::new(from, self.config.machines)
                    .filter(|&p| self.link_index(p).is_some() && !self.dials_to(p));
                if protocol != PROTOCOL {
                    Err(ProtocolError::Version(protocol))
                } else if let Some(other) = claimed
                    && !keyed.verify(
                        key,
                        Role::Hello,
                        (other, &theirs),
                        (id, &handshake::NO_CHALLENGE),
                        &proof,
                    )
                {
                    // A stranger: closed at its first frame, so it never
                    // holds a slot a peer's Hello would rank above.
                    Err(ProtocolError::BadProof)
                } else if let Some(other) = claimed
                    && self.links[other.index()].state != LinkState::Down
                {
                    Err(ProtocolError::Taken(other))
                } else if let Some(other) = claimed {
                    let ours = self.challenge();
                    let proof = keyed.prove(key, Role::Answerer, (other, &theirs), (id, &ours));
                    let welcome = Frame::Welcome {
                        protocol: PROTOCOL,
                        from: id.get(),
                        challenge: ours,
                        proof,
                    };
                    if !self.queue_handshake(conn.index(), &welcome) {
                        return self.close(conn, CloseReason::ConnectFailed);
                    }
                    self.conns[conn.index()].state = State::Answering {
                        since_ns: self.now_ns,
                        claimed: other,
                        theirs,
                        ours,
                        deadline_ns,
                    };
                    Ok(None)
                } else {
                    Err(ProtocolError::WrongId(from))
                }
            }
            (
                State::Answering {
                    claimed,
                    theirs,
                    ours,
                    ..
                },
                Frame::Proof { proof },
            ) => {
                if keyed.verify(key, Role::Caller, (claimed, &theirs), (id, &ours), &proof) {
                    Ok(Some(claimed))
                } else {
                    Err(ProtocolError::BadProof)
                }
            }
            (_, frame) => Err(ProtocolError::Unexpected(frame.kind())),
        };
        match outcome {
            Ok(Some(peer)) => self.bind(conn, peer),
            Ok(None) => {}
            Err(e) => self.protocol(conn, e),
        }
    }

    /// A proven peer takes its link; only during set-up, and never from a
    /// link that is up (the first claimant keeps it).
    pub(super) fn bind(&mut self, conn: ConnId, peer: MachineId) {
        let Some(i) = self.link_index(peer) else {
            return self.protocol(conn, ProtocolError::WrongId(peer.get()));
        };
        if !matches!(self.phase, Phase::SetUp) || self.links[i].state != LinkState::Down {
            return self.protocol(conn, ProtocolError::Taken(peer));
        }
        self.links[i].reset();
        self.links[i].conn = Some(conn);
        self.links[i].state = LinkState::Up;
        self.conns[conn.index()].state = State::Up(peer);
        self.emit(Event::Joined(peer));
        if self.my_links().all(|l| l.state == LinkState::Up) {
            for j in 0..self.link_count() {
                let i = self.link_at(j);
                let link = &mut self.links[i];
                // Once per link: one that stayed up while the other came back
                // has queued its Ready already. A fresh link's outbox is
                // empty: Ready always fits.
                if !link.ready_queued && link.outbox.push(&Frame::Ready).is_ok() {
                    link.ready_queued = true;
                    link.ready_unsent = 1;
                }
            }
        }
        self.check_barrier();
    }

    pub(super) fn check_barrier(&mut self) {
        let ready = self
            .my_links()
            .all(|l| l.state == LinkState::Up && l.ready_got && l.ready_queued);
        if matches!(self.phase, Phase::SetUp) && ready {
            self.phase = Phase::Barrier;
            self.setup_deadline_ns = self.now_ns.saturating_add(self.config.timeouts.setup_ns);
            self.emit(Event::Barrier);
        }
    }

    pub(super) fn on_link_frame(&mut self, conn: ConnId, peer: MachineId, frame: Frame) {
        let Some(i) = self.link_index(peer) else {
            return;
        };
        let result = match frame {
            Frame::Ready if matches!(self.phase, Phase::SetUp) && !self.links[i].ready_got => {
                self.links[i].ready_got = true;
                self.check_barrier();
                Ok(())
            }
            #[cfg(target_pointer_width = "64")]
            Frame::Clock { from, clock, seq } => {
                return self.on_link_clock(conn, peer, ClockFrame { from, clock, seq });
            }
            // The firmware's one body (flash).
            #[cfg(not(target_pointer_width = "64"))]
            Frame::Clock { from, clock, seq }
                if H::CLOCK_FRAMES && !matches!(self.phase, Phase::SetUp) =>
            {
                let msg = Message {
                    from: peer,
                    clock,
                    seq,
                    stamp: H::ZERO,
                };
                self.on_clock(i, peer, msg, from)
            }
            // A carried clock's own frame, for a node of that clock alone.
            #[cfg(target_pointer_width = "64")]
            Frame::HlcClock { .. } | Frame::VectorClock { .. }
                if !matches!(self.phase, Phase::SetUp) =>
            {
                match H::message(&frame, self.machine.die().machines()) {
                    Some((from, clock, seq, stamp)) => {
                        let msg = Message {
                            from: peer,
                            clock,
                            seq,
                            stamp,
                        };
                        self.on_clock(i, peer, msg, from)
                    }
                    None => Err(ProtocolError::Unexpected(frame.kind())),
                }
            }
            // A peer says `Bye` only once past its barrier, which it passes
            // only on our `Ready`: before ours went, none can come.
            Frame::Bye { sent }
                if (!matches!(self.phase, Phase::SetUp) || self.links[i].ready_queued)
                    && self.links[i].report.peer_sent.is_none() =>
            {
                self.on_bye(i, sent)
            }
            other => Err(ProtocolError::Unexpected(other.kind())),
        };
        if let Err(e) = result {
            self.protocol(conn, e);
        }
    }

    /// A `Clock` frame on the running link to `peer`: a model message once
    /// the barrier passed, a protocol error before. (64-bit hosts: the
    /// firmware reads a frame in `on_link_frame` alone, for its flash.)
    #[cfg(target_pointer_width = "64")]
    pub(super) fn on_link_clock(&mut self, conn: ConnId, peer: MachineId, frame: ClockFrame) {
        let Some(i) = self.link_index(peer) else {
            return;
        };
        // A run that carries a clock beside Lamport's takes its messages
        // in that clock's frame alone.
        let result = if matches!(self.phase, Phase::SetUp) || !H::CLOCK_FRAMES {
            Err(ProtocolError::Unexpected(wire::FrameKind::Clock))
        } else {
            let msg = Message {
                from: peer,
                clock: frame.clock,
                seq: frame.seq,
                stamp: H::ZERO,
            };
            self.on_clock(i, peer, msg, frame.from)
        };
        if let Err(e) = result {
            self.protocol(conn, e);
        }
    }

    pub(super) fn on_clock(
        &mut self,
        i: usize,
        peer: MachineId,
        msg: Message<H>,
        from: u8,
    ) -> Result<(), ProtocolError> {
        let link = &mut self.links[i];
        if from != peer.get() {
            return Err(ProtocolError::WrongSender(from));
        }
        if link.report.peer_sent.is_some() {
            return Err(ProtocolError::Unexpected(wire::FrameKind::Clock));
        }
        if msg.seq != link.recv_seq {
            return Err(ProtocolError::Seq {
                expected: link.recv_seq,
                got: msg.seq,
            });
        }
        link.recv_seq += 1;
        if matches!(self.phase, Phase::Ending { .. } | Phase::Ended(_)) {
            link.report.after_end += 1;
        } else if self.machine.deliver(msg, self.now_ns).is_ok() {
            if self.machine.inbox().is_full() {
                // Reading pauses until a tick takes a message: TCP holds the rest.
                self.stats.holds += 1;
            }
        } else {
            // handle_bytes reads a link only while the inbox has room; should
            // that ever fail, the message is counted, not dropped unseen.
            link.report.after_end += 1;
            self.stats.dropped_events += 1;
        }
        Ok(())
    }

    pub(super) fn on_bye(&mut self, i: usize, sent: u64) -> Result<(), ProtocolError> {
        let came = self.links[i].recv_seq;
        if sent != came {
            return Err(ProtocolError::ByeCount { said: sent, came });
        }
        self.links[i].report.peer_sent = Some(sent);
        let early = match (self.phase, self.start) {
            (Phase::Running, Some(s)) => {
                self.now_ns.saturating_add(self.config.timeouts.end_skew_ns) < s.end_ns
            }
            // At our barrier, or still waiting for a `Ready` when this peer
            // passed its own and ended: either way before the start.
            (Phase::SetUp | Phase::Barrier, _) => true,
            _ => false,
        };
        if early {
            // The peer is gone for the model: what we would send it is
            // undeliverable from now on, and the run did not hold.
            let peer = self.peer_of(i);
            self.links[i].ended_early = true;
            self.links[i].report.lost = Some(CloseReason::EndedEarly);
            self.links[i].report.lost_at_model_ns = Some(self.model_now().unwrap_or(0));
            self.emit(Event::PeerLost {
                peer,
                at_model_ns: self.model_now(),
                reason: CloseReason::EndedEarly,
            });
            // What waited for this peer is undeliverable now: offer it again.
            self.unstall();
            self.queue_bye(i);
        }
        self.end_if_lost_before_start();
        self.progress_end();
        Ok(())
    }

    /// After the barrier and before the start (the start time not yet
    /// handed, or handed and not yet come: no tick ran), a link that is gone
    /// (closed, or its peer said `Bye`) ends the node: a bound id never binds
    /// again, so the run could only start without that peer, which the
    /// barrier promised it would not. The end closes the other link too, so
    /// its peer ends the same way rather than run alone.
    ///
    /// Before our own barrier, once our `Ready` went out, a peer may already
    /// be past its own. If it ended (its `Bye` came), it never comes back, and
    /// the others may have passed their barriers on our `Ready`: the node
    /// ends the same way. A link merely closed then may still come back.
    pub(super) fn end_if_lost_before_start(&mut self) {
        let before_start = match self.phase {
            Phase::Barrier => true,
            Phase::Running => self.start.is_some_and(|s| self.now_ns < s.at_ns),
            Phase::SetUp => self.my_links().any(|l| l.ended_early),
            _ => false,
        };
        let gone = |l: &Link<OUT>| l.state != LinkState::Up || l.ended_early;
        if before_start && self.my_links().any(gone) {
            self.finish(Status::PeerLost);
        }
    }

    /// A protocol error on `conn`: counted by kind, and the connection closes.
    pub(super) fn protocol(&mut self, conn: ConnId, e: ProtocolError) {
        self.stats.errors.count(&e);
        if let State::Up(peer) = self.conns[conn.index()].state
            && let Some(i) = self.link_index(peer)
        {
            self.links[i].report.protocol_errors += 1;
        }
        self.close(conn, CloseReason::Protocol(e));
    }

    /// Asks the host to close `conn`, with the consequences for its link.
    pub(super) fn close(&mut self, conn: ConnId, reason: CloseReason) {
        let state = self.conns[conn.index()].state;
        match state {
            State::Free | State::Closing { .. } => return,
            State::Up(peer) => self.link_closed(peer, reason),
            State::Dialing { .. } | State::Calling { .. } if conn.index() < self.dial_slots() => {
                self.retry_later();
                if matches!(state, State::Calling { .. }) {
                    self.emit(Event::Rejected { conn, reason });
                }
            }
            _ => {
                self.stats.rejected += 1;
                self.emit(Event::Rejected { conn, reason });
            }
        }
        // A link's loss may end the run, and the end closes every connection,
        // this one too: it is asked to close once, before `Ended`.
        if !matches!(self.conns[conn.index()].state, State::Closing { .. }) {
            let from = match state {
                State::Up(peer) => Some(peer),
                _ => None,
            };
            self.conns[conn.index()].state = State::Closing { from };
            self.emit(Event::Close(conn));
        }
    }

    pub(super) fn retry_later(&mut self) {
        self.retry_at_ns = Some(self.now_ns.saturating_add(self.config.timeouts.retry_ns));
    }

    /// `peer`'s connection is gone: clean if both `Bye`s went, else the link is lost.
    pub(super) fn link_closed(&mut self, peer: MachineId, reason: CloseReason) {
        let Some(i) = self.link_index(peer) else {
            return;
        };
        let link = &mut self.links[i];
        link.conn = None;
        if link.state != LinkState::Up {
            return;
        }
        if link.bye_done && link.report.peer_sent.is_some() {
            link.state = LinkState::Done;
            return;
        }
        if matches!(self.phase, Phase::SetUp) {
            // Before the barrier a link may come up again, by a new proof;
            // a link this node dials by dialling it again.
            self.links[i].reset();
            if self.dials_to(peer) {
                self.retry_later();
            }
            self.emit(Event::PeerLost {
                peer,
                at_model_ns: None,
                reason,
            });
            return;
        }
        let at_model_ns = self.model_now();
        let link = &mut self.links[i];
        link.state = LinkState::Lost;
        link.report.undeliverable += link.clocks_unsent;
        link.clocks_unsent = 0;
        link.outbox.clear();
        if link.report.lost.is_none() {
            link.report.lost = Some(reason);
            link.report.lost_at_model_ns = Some(at_model_ns.unwrap_or(0));
            self.emit(Event::PeerLost {
                peer,
                at_model_ns,
                reason,
            });
        }
        // What waited for this peer is undeliverable now: offer it again.
        self.unstall();
        self.end_if_lost_before_start();
    }
}
