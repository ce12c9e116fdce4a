//! The event loop: one poll, then every ready socket; connections come and go.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Token};
use scalemodel_core::MachineId;
use scalemodel_core::wire::{Frame, PROTOCOL};

use super::{
    Dir, FIRST_CONN, Host, LISTENER, Meta, Node, NodeError, Note, PENDING_MAX, RETRY, Slot, State,
    TIMER, WAKER, nanos,
};
use crate::conn::Conn;
use crate::timer::Timer;

/// The event loop: one poll, then every ready socket.
impl<T: Timer> Node<T> {
    /// One turn of the loop: wait until `wake_ns` at most, then serve every event.
    pub(super) fn turn<H: Host>(
        &mut self,
        host: &mut H,
        wake_ns: u64,
    ) -> Result<(), NodeError<H::Error>> {
        let mut wake = wake_ns;
        for slot in self.slots.iter().flatten() {
            if let State::Hello { deadline_ns } = slot.meta.state {
                wake = wake.min(deadline_ns);
            }
        }
        if let Some(retry) = self.retry_at_ns {
            wake = wake.min(retry);
        }
        host.idle().map_err(NodeError::Log)?;
        let now = self.timer.now_ns();
        let timeout = if wake.saturating_sub(now) <= self.spin_ns {
            Some(Duration::ZERO)
        } else {
            self.timer.arm(wake - self.spin_ns)?;
            self.timer.poll_timeout(now)
        };
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        match self.poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        for event in &events {
            match event.token() {
                LISTENER => self.accept(host)?,
                TIMER => self.timer.fired()?,
                WAKER => {}
                Token(t) => {
                    let i = t - FIRST_CONN;
                    if event.is_writable() || event.is_error() {
                        self.writable(i);
                    }
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        self.read(host, i);
                    }
                }
            }
        }
        self.events = events;
        let now = self.timer.now_ns();
        self.expire_hellos(now);
        if self.retry_at_ns.is_some_and(|t| now >= t) {
            self.connect_next()?;
        }
        if self.ready_due && !self.ready_sent {
            self.send_ready();
        }
        self.reap(host);
        if !self.pending.is_empty() {
            self.unstall();
        }
        for note in self.notes.drain(..) {
            host.note(&note);
        }
        Ok(())
    }

    pub(super) fn accept<H: Host>(&mut self, _host: &mut H) -> io::Result<()> {
        loop {
            let (stream, addr) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A connection that failed between SYN and accept is not ours to mourn.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return Err(e),
            };
            let waiting = self
                .slots
                .iter()
                .flatten()
                .filter(|s| s.meta.state != State::Up)
                .count();
            if waiting >= PENDING_MAX {
                self.notes.push(Note::Rejected {
                    addr: Some(addr),
                    why: format!("{PENDING_MAX} connections already wait for their Hello"),
                });
                continue;
            }
            let deadline_ns = self.timer.now_ns() + nanos(self.config.hello_timeout);
            self.add_slot(stream, Dir::In, State::Hello { deadline_ns }, Some(addr))?;
        }
    }

    pub(super) fn add_slot(
        &mut self,
        stream: TcpStream,
        dir: Dir,
        state: State,
        addr: Option<SocketAddr>,
    ) -> io::Result<usize> {
        let i = self
            .slots
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.slots.len());
        let conn = Conn::new(stream, Token(FIRST_CONN + i), self.poll.registry())?;
        let mut slot = Slot {
            conn,
            meta: Meta {
                dir,
                state,
                addr,
                peer: None,
                ready: false,
                next_seq: 0,
                close: None,
                eof: false,
            },
        };
        if state != State::Connecting {
            self.hello(&mut slot);
        }
        if i == self.slots.len() {
            self.slots.push(Some(slot));
        } else {
            self.slots[i] = Some(slot);
        }
        Ok(i)
    }

    pub(super) fn hello(&self, slot: &mut Slot) {
        let hello = Frame::Hello {
            protocol: PROTOCOL,
            challenge: [0; 16],
            from: self.config.id.get(),
        };
        let sent = slot.conn.queue(&hello).is_ok() && slot.conn.flush(self.poll.registry()).is_ok();
        if !sent {
            slot.meta
                .close
                .get_or_insert_with(|| "could not send Hello".to_owned());
        }
    }

    /// Starts a connection to the next machine, unless one is up or under way.
    pub(super) fn connect_next(&mut self) -> io::Result<()> {
        self.retry_at_ns = None;
        let next = self.config.id.next();
        let busy = self.links[next.index()].is_some()
            || self
                .slots
                .iter()
                .flatten()
                .any(|s| s.meta.dir == Dir::Out && s.meta.peer.is_none());
        if busy || self.ended {
            return Ok(());
        }
        match TcpStream::connect(self.config.next) {
            Ok(stream) => {
                self.add_slot(stream, Dir::Out, State::Connecting, Some(self.config.next))?;
            }
            Err(_) => self.retry_at_ns = Some(self.timer.now_ns() + nanos(RETRY)),
        }
        Ok(())
    }

    pub(super) fn writable(&mut self, i: usize) {
        let registry = self.poll.registry();
        let hello_deadline = self.timer.now_ns() + nanos(self.config.hello_timeout);
        let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        if slot.meta.state == State::Connecting {
            // A non-blocking connect completes on WRITABLE: it worked if the
            // socket has no error and a peer address.
            let stream = slot.conn.stream();
            match (stream.take_error(), stream.peer_addr()) {
                (Ok(None), Ok(_)) => {
                    slot.meta.state = State::Hello {
                        deadline_ns: hello_deadline,
                    };
                }
                (Err(e) | Ok(Some(e)), _) | (_, Err(e)) => {
                    if e.kind() == io::ErrorKind::NotConnected {
                        return; // not finished yet: a spurious wake-up
                    }
                    slot.meta.close = Some(format!("connect failed: {e}"));
                    return;
                }
            }
            let mut slot = self.slots[i].take();
            if let Some(s) = slot.as_mut() {
                self.hello(s);
            }
            self.slots[i] = slot;
            return;
        }
        if let Err(e) = slot.conn.flush(registry) {
            slot.meta
                .close
                .get_or_insert_with(|| format!("write failed: {e}"));
        }
    }

    pub(super) fn expire_hellos(&mut self, now: u64) {
        for slot in self.slots.iter_mut().flatten() {
            if let State::Hello { deadline_ns } = slot.meta.state
                && now >= deadline_ns
                && slot.meta.close.is_none()
            {
                slot.meta.close = Some(format!("no Hello within {:?}", self.config.hello_timeout));
            }
        }
    }

    /// Closes every slot marked for closing, with a note saying why.
    pub(super) fn reap<H: Host>(&mut self, _host: &mut H) {
        for i in 0..self.slots.len() {
            let Some(slot) = self.slots[i].as_mut() else {
                continue;
            };
            let Some(why) = slot.meta.close.take() else {
                continue;
            };
            let mut slot = self.slots[i].take().expect("checked above");
            slot.conn.deregister(self.poll.registry());
            match slot.meta.peer.filter(|_| slot.meta.state == State::Up) {
                Some(peer) => self.lose(peer, &slot, why),
                None => {
                    if slot.meta.dir == Dir::Out {
                        self.retry_at_ns = Some(self.timer.now_ns() + nanos(RETRY));
                    }
                    let refused = why.contains("connect failed");
                    if !refused {
                        self.notes.push(Note::Rejected {
                            addr: slot.meta.addr,
                            why,
                        });
                    }
                }
            }
        }
    }

    /// A link of the run is gone: its unsent messages are undeliverable.
    pub(super) fn lose(&mut self, peer: MachineId, slot: &Slot, why: String) {
        let p = peer.index();
        self.gone[p] = true;
        self.peers[p].undeliverable += slot.conn.unsent_clocks();
        if self.peers[p].lost_at_model_ns.is_none()
            && !(slot.meta.eof && self.peers[p].peer_sent.is_some())
        {
            let now = self.timer.now_ns();
            let at = now.saturating_sub(self.start_mono_ns) * u64::from(self.config.speed);
            let at = if self.start_mono_ns == 0 { 0 } else { at };
            self.peers[p].lost_at_model_ns = Some(at);
            self.notes.push(Note::PeerLost {
                peer,
                at_model_ns: at,
                why,
            });
        }
    }
}
