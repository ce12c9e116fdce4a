//! Sockets in and out of the node's slots, and bytes between them and the
//! node, each within its per-turn budget.

use std::io;
use std::net::SocketAddr;

use mio::Token;
use mio::net::TcpStream;
use scalemodel_core::Stamp;
use scalemodel_core::node::ConnId;

use super::{FIRST_CONN, Node, NodeError};
use crate::host::{Host, Note};
use crate::socket::Socket;
use crate::timer::Timer;

/// Bytes read from one connection per turn, at most, so that a busy peer
/// delays the next tick by little.
const READ_BUDGET: usize = 16 * 1024;
/// Bytes written to one connection per turn, at most.
const WRITE_BUDGET: usize = 64 * 1024;
/// Bytes read from a connection the node closes, at most: what its peer had
/// sent and the node had not read yet (the receive buffer), so that the
/// node can count it; beyond this the close still throws the rest away.
const DRAIN_BYTES_MAX: usize = 1 << 20;
/// Connections accepted per turn, at most, so that a flood of strangers
/// cannot hold the loop: as many as the node has slots for accepted
/// connections (all but the dial's). The node never evicts a connection
/// accepted in the same turn, so one more would be refused, and that one
/// might be a peer's. (`C` slots, `C - 1` accepts.)
const fn accepts_per_turn(slots: usize) -> usize {
    slots.saturating_sub(1)
}

impl<T: Timer, const M: usize, const C: usize, S: Stamp> Node<T, M, C, S> {
    /// Accepts waiting connections, each into the slot the node gives it.
    pub(super) fn accept<H: Host>(
        &mut self,
        host: &mut H,
        now: u64,
    ) -> Result<(), NodeError<H::Error>> {
        for _ in 0..accepts_per_turn(C) {
            let (stream, addr) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.may_accept = false;
                    return Ok(());
                }
                // A signal, or a connection that failed between its SYN and
                // the accept: the next one may be fine.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    continue;
                }
                // The listener itself is broken (not listening): a bug.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Err(e.into()),
                // Out of descriptors (EMFILE, ENFILE), buffers or memory, or
                // an error of the connection that Linux reports here: the
                // node goes on; the connection waits in the backlog.
                Err(e) => {
                    self.accept_failed(host, &e, now);
                    return Ok(());
                }
            };
            self.accept_paused_until = None;
            // No slot: the stream drops, which closes it.
            if let Some(conn) = self.core.handle_accepted(now) {
                self.adopt(conn, stream, addr, false)?;
            }
            // An eviction frees a slot for the next accept.
            self.act(host, now)?;
        }
        Ok(())
    }

    /// An accept failed for want of a resource: noted (within the notes'
    /// budget; counted in each note), and no accept until
    /// [`super::ACCEPT_BACKOFF_NS`] has passed, since the listener stays
    /// readable and trying every turn would spin.
    fn accept_failed<H: Host>(&mut self, host: &mut H, e: &io::Error, now: u64) {
        self.accept_failures += 1;
        self.accept_paused_until = Some(now.saturating_add(super::ACCEPT_BACKOFF_NS));
        if self.rejected_notes.take(now) {
            host.note(&Note::AcceptFailed {
                os_error: e.raw_os_error(),
                kind: e.kind(),
                count: self.accept_failures,
            });
        }
    }

    /// Puts `stream` in slot `conn` and registers it.
    fn adopt(
        &mut self,
        conn: ConnId,
        stream: TcpStream,
        addr: SocketAddr,
        connecting: bool,
    ) -> io::Result<()> {
        let i = conn.index();
        let (Some(slot), Some(last)) = (self.sockets.get_mut(i), self.addrs.get_mut(i)) else {
            return Err(io::Error::other(format!(
                "the node named {conn}, beyond its slots"
            )));
        };
        if slot.is_some() {
            return Err(io::Error::other(format!(
                "the node gave {conn} again before it was closed"
            )));
        }
        let token = Token(FIRST_CONN + i);
        *slot = Some(Socket::new(
            conn,
            stream,
            token,
            self.poll.registry(),
            connecting,
        )?);
        *last = Some(addr);
        Ok(())
    }

    /// Starts a non-blocking connect in slot `conn` to the machine the
    /// node names for it ([`scalemodel_core::node::Node::dial_target`]).
    pub(super) fn dial(&mut self, conn: ConnId, now: u64) -> io::Result<()> {
        let target = self.core.dial_target(conn);
        let Some(&addr) = target.and_then(|peer| self.peers.get(peer.index())) else {
            // No address for it (the host's bug, or a slot not dialled):
            // the node sees a failed dial and retries after its bound.
            self.core.handle_closed(conn, now);
            return Ok(());
        };
        match TcpStream::connect(addr) {
            Ok(stream) => self.adopt(conn, stream, addr, true),
            Err(_) => {
                // Failed at once: the node dials again after its retry bound.
                self.core.handle_closed(conn, now);
                Ok(())
            }
        }
    }

    /// Looks at slot `i`'s dial if an event came for it: connected, failed,
    /// or not yet.
    pub(super) fn finish_dial<H: Host>(
        &mut self,
        host: &mut H,
        i: usize,
        now: u64,
    ) -> Result<(), NodeError<H::Error>> {
        let Some(s) = self.sockets.get_mut(i).and_then(Option::as_mut) else {
            return Ok(());
        };
        if !s.connecting || !std::mem::take(&mut s.woke) {
            return Ok(());
        }
        let conn = s.conn;
        match s.connect_result() {
            None => return Ok(()),
            Some(Ok(())) => {
                s.connecting = false;
                s.may_read = true;
                s.want_writable(self.poll.registry(), false)?;
                self.core.handle_connected(conn, now);
            }
            Some(Err(_)) => self.drop_socket(conn, now),
        }
        self.act(host, now)
    }

    /// Reads every socket that may hold bytes.
    pub(super) fn read_all<H: Host>(
        &mut self,
        host: &mut H,
        now: u64,
    ) -> Result<(), NodeError<H::Error>> {
        // Lowest sender first: the core's order for bytes that wait together.
        for conn in self.core.read_order() {
            self.read_one(host, conn.index(), now)?;
        }
        Ok(())
    }

    /// Offers slot `i`'s bytes to the node while it can read them, reading
    /// more from the socket up to the budget. What the node does not take
    /// stays in the slot for a later turn.
    ///
    /// Bytes are handed with the time they were read, taken after the read
    /// (not the turn's older `now`): the node stamps each message's arrival
    /// with it, and a tick takes only what arrived by its due time, so a
    /// stamp must never be earlier than the bytes were.
    fn read_one<H: Host>(
        &mut self,
        host: &mut H,
        i: usize,
        mut now: u64,
    ) -> Result<(), NodeError<H::Error>> {
        let mut budget = READ_BUDGET;
        loop {
            let Some(s) = self.sockets.get_mut(i).and_then(Option::as_mut) else {
                return Ok(());
            };
            let conn = s.conn;
            if s.connecting || !self.core.can_read(conn) {
                return Ok(());
            }
            if !s.unused().is_empty() {
                let used = self.core.handle_bytes(conn, s.unused(), now);
                s.used(used);
                self.act(host, now)?;
                if used == 0 {
                    return Ok(());
                }
                continue;
            }
            // A short read may have shown the socket drained: its bytes
            // are offered above all the same.
            if budget == 0 || !s.may_read {
                return Ok(());
            }
            match s.fill(budget) {
                Ok(0) => {}
                Ok(n) => {
                    budget -= n;
                    now = self.timer.now_ns().max(now);
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(_) => {}
            }
            // The end of the stream, or a read error: the connection is gone.
            self.drop_socket(conn, now);
            return self.act(host, now);
        }
    }

    /// Writes what the node has for every socket.
    pub(super) fn write_all<H: Host>(
        &mut self,
        host: &mut H,
        now: u64,
    ) -> Result<(), NodeError<H::Error>> {
        self.write_more = false;
        for i in 0..C {
            self.write_one(i, now)?;
            self.act(host, now)?;
        }
        Ok(())
    }

    /// Writes slot `i`'s bytes until the socket would block or the budget is
    /// spent; asks for WRITABLE only while bytes wait.
    fn write_one(&mut self, i: usize, now: u64) -> io::Result<()> {
        let Some(s) = self.sockets.get_mut(i).and_then(Option::as_mut) else {
            return Ok(());
        };
        if s.connecting || s.blocked {
            return Ok(());
        }
        let conn = s.conn;
        let mut budget = WRITE_BUDGET;
        while let Some(bytes) = self.core.poll_transmit(conn) {
            if budget == 0 {
                self.write_more = true;
                break;
            }
            let chunk = bytes.get(..budget).unwrap_or(bytes);
            match s.write(chunk) {
                Ok(n) => {
                    budget -= n;
                    self.core.transmitted(conn, n, now);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    s.blocked = true;
                    break;
                }
                Err(_) => {
                    self.drop_socket(conn, now);
                    return Ok(());
                }
            }
        }
        let waiting = self.core.poll_transmit(conn).is_some();
        s.want_writable(self.poll.registry(), waiting)
    }

    /// The node asked to close `conn`: what it still has to send goes first
    /// (best effort), then FIN, and the node hears the slot is free.
    pub(super) fn close(&mut self, conn: ConnId, now: u64) {
        if let Some(mut s) = self.sockets.get_mut(conn.index()).and_then(Option::take) {
            self.send_rest(&mut s, now);
            self.drain(&mut s, now);
            s.close(self.poll.registry());
        }
        self.core.handle_closed(conn, now);
    }

    /// Hands the node what is already on `s` (at most [`DRAIN_BYTES_MAX`],
    /// without waiting) before it closes: the node counts the peer's
    /// messages in it as lost, where a close would throw them away unseen
    /// (and send a reset).
    fn drain(&mut self, s: &mut Socket, now: u64) {
        if s.connecting {
            return;
        }
        let mut budget = DRAIN_BYTES_MAX;
        loop {
            if !s.unused().is_empty() {
                let used = self.core.handle_bytes(s.conn, s.unused(), now);
                s.used(used);
                if used == 0 {
                    return;
                }
                continue;
            }
            match s.fill(budget) {
                Ok(n) if n > 0 && n <= budget => budget -= n,
                // Nothing more for now, the end of the stream, or an error.
                _ => return,
            }
        }
    }

    /// Writes what the node has for `s` until the socket would block, fails
    /// or the budget is spent, without waiting.
    pub(super) fn send_rest(&mut self, s: &mut Socket, now: u64) {
        if s.connecting {
            return;
        }
        let mut budget = WRITE_BUDGET;
        while let Some(bytes) = self.core.poll_transmit(s.conn) {
            let chunk = bytes.get(..budget).unwrap_or(bytes);
            match s.write(chunk) {
                Ok(n) if n > 0 => {
                    budget -= n;
                    self.core.transmitted(s.conn, n, now);
                }
                _ => return,
            }
        }
    }

    /// The connection in `conn` ended on its own (end of stream, an error,
    /// a failed dial): the socket goes, and the node hears it.
    fn drop_socket(&mut self, conn: ConnId, now: u64) {
        if let Some(s) = self.sockets.get_mut(conn.index()).and_then(Option::take) {
            s.close(self.poll.registry());
        }
        self.core.handle_closed(conn, now);
    }
}
