//! One connection slot's socket: its bytes read but not yet used, and what
//! edge-triggered readiness told us about it.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use scalemodel_core::node::ConnId;

/// Bytes read from a socket in one call; also the most a slot keeps that
/// the node did not use yet.
pub(crate) const READ_CHUNK: usize = 4 * 1024;

/// True where mio's selector is epoll or kqueue, which report each arrival
/// of bytes as a new event even while unread bytes wait: there a short read
/// shows the socket drained. (mio's `poll` fallback and Windows' IOCP do
/// not promise it.)
/// (Nor does epoll when mio is built to use `poll` instead, tokio's
/// `mio_unsupported_force_poll_poll`.)
#[allow(unexpected_cfgs)]
const SHORT_READ_DRAINS: bool = cfg!(all(
    not(mio_unsupported_force_poll_poll),
    any(
        target_os = "android",
        target_os = "linux",
        target_os = "illumos",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "macos",
        target_os = "ios",
    )
));

/// A socket in a node's connection slot.
#[derive(Debug)]
pub(crate) struct Socket {
    /// The node's slot.
    pub(crate) conn: ConnId,
    stream: TcpStream,
    token: Token,
    /// A dial not yet known to have connected.
    pub(crate) connecting: bool,
    /// An event came for this socket since the last look at its dial.
    pub(crate) woke: bool,
    buf: Box<[u8; READ_CHUNK]>,
    /// `buf[start..end]` was read and not yet used by the node.
    start: usize,
    end: usize,
    /// The socket may hold more bytes: mio is edge-triggered, so this stays
    /// set until a read would block (or, on epoll and kqueue, comes back
    /// short: see [`Socket::fill`]), whatever stopped the last read.
    pub(crate) may_read: bool,
    /// The peer's end of the stream, or an error, was reported: read until
    /// a read says so, however short the reads before it.
    read_closed: bool,
    /// The last write would have blocked: wait for WRITABLE before the next.
    pub(crate) blocked: bool,
    /// WRITABLE is part of the registered interest.
    writable: bool,
}

impl Socket {
    /// Registers `stream` under `token`: READABLE always, WRITABLE while a
    /// dial is connecting (its completion is a WRITABLE event).
    pub(crate) fn new(
        conn: ConnId,
        mut stream: TcpStream,
        token: Token,
        registry: &Registry,
        connecting: bool,
    ) -> io::Result<Self> {
        // A `Clock` frame is a few bytes: with Nagle's algorithm, a second
        // frame on a link waits for the first one's ACK, which the peer
        // delays by up to 40 ms, and arrives ticks late. The model's
        // messages go as fast as the network carries them.
        stream.set_nodelay(true)?;
        let interest = if connecting {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        registry.register(&mut stream, token, interest)?;
        Ok(Self {
            conn,
            stream,
            token,
            connecting,
            woke: false,
            buf: Box::new([0; READ_CHUNK]),
            start: 0,
            end: 0,
            // A new socket may already hold bytes that came with the connection.
            may_read: !connecting,
            read_closed: false,
            blocked: false,
            writable: connecting,
        })
    }

    /// Whether a connecting dial finished: `None` while it has not, else
    /// whether it connected.
    pub(crate) fn connect_result(&self) -> Option<io::Result<()>> {
        // A non-blocking connect completes on WRITABLE: it worked if the
        // socket has no error and has a peer address.
        // The pending error comes first: a refused dial has no peer either.
        let error = match self.stream.take_error() {
            Ok(Some(e)) | Err(e) => e,
            Ok(None) => match self.stream.peer_addr() {
                Ok(_) => return Some(Ok(())),
                Err(e) => e,
            },
        };
        // No error and no peer yet: a wake-up before the connect finished.
        (error.kind() != io::ErrorKind::NotConnected).then_some(Err(error))
    }

    /// Takes in what a readiness event says of this socket.
    pub(crate) fn on_event(&mut self, event: &mio::event::Event) {
        self.woke = true;
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.may_read = true;
        }
        if event.is_read_closed() || event.is_error() {
            self.read_closed = true;
        }
        if event.is_writable() || event.is_write_closed() || event.is_error() {
            self.blocked = false;
        }
    }

    /// Bytes read and not yet used by the node.
    pub(crate) fn unused(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// The node used the first `n` of [`Socket::unused`].
    pub(crate) fn used(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Reads at most `max` bytes (and at most [`READ_CHUNK`]) once the
    /// unused bytes are all used; `Ok(0)` is the end of the stream.
    ///
    /// A read that comes back short has emptied the socket's receive
    /// buffer: on epoll and kqueue, which report every arrival after it as
    /// a new event, that clears [`Socket::may_read`] without a second read
    /// to hear `WouldBlock` (a system call saved per message; tokio does the
    /// same, tokio-rs/tokio#5866). Not after the peer's end or an error was
    /// reported, since no event will come for them again: then the socket
    /// is read until a read says so. Elsewhere mio asks for reads until
    /// `WouldBlock`, and gets them.
    pub(crate) fn fill(&mut self, max: usize) -> io::Result<usize> {
        debug_assert!(self.unused().is_empty(), "offer the unused bytes first");
        let max = max.min(READ_CHUNK);
        loop {
            match self.stream.read(&mut self.buf[..max]) {
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                    if SHORT_READ_DRAINS && 0 < n && n < max && !self.read_closed {
                        self.may_read = false;
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.may_read = false;
                    return Err(e);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes some of `bytes`; `Ok(0)` only for empty `bytes`.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        loop {
            match self.stream.write(bytes) {
                Ok(0) if !bytes.is_empty() => return Err(io::ErrorKind::WriteZero.into()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }

    /// Asks for WRITABLE events only while bytes wait, as they would
    /// otherwise wake the loop every time the socket drains.
    pub(crate) fn want_writable(&mut self, registry: &Registry, want: bool) -> io::Result<()> {
        if want == self.writable {
            return Ok(());
        }
        let interest = if want {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        registry.reregister(&mut self.stream, self.token, interest)?;
        self.writable = want;
        Ok(())
    }

    /// Sends FIN after what was written, and leaves the poll; dropping the
    /// socket then closes it.
    pub(crate) fn close(mut self, registry: &Registry) {
        // Both best effort: the socket is closed when it drops either way;
        // a failed shutdown only means the other side sees a reset.
        let _ = self.stream.shutdown(Shutdown::Write);
        let _ = registry.deregister(&mut self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use scalemodel_core::MachineId;
    use scalemodel_core::node;
    use std::time::Duration;

    /// A slot's socket (accepted, registered) and the std stream at the
    /// other end.
    fn pair(poll: &Poll) -> io::Result<(Socket, std::net::TcpStream)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let peer = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (ours, _) = listener.accept()?;
        ours.set_nonblocking(true)?;
        let s = Socket::new(
            conn(),
            TcpStream::from_std(ours),
            Token(7),
            poll.registry(),
            false,
        )?;
        Ok((s, peer))
    }

    /// Waits (at most 10 s, which only a broken kernel needs) for events,
    /// hands them to `s`, and says whether any came.
    fn wait_event(poll: &mut Poll, s: &mut Socket, limit: Duration) -> io::Result<bool> {
        let mut events = Events::with_capacity(8);
        poll.poll(&mut events, Some(limit))?;
        let mut any = false;
        for event in &events {
            s.on_event(event);
            any = true;
        }
        Ok(any)
    }

    /// A short read shows the socket drained (no read to hear `WouldBlock`),
    /// and bytes that arrive after it still wake the loop: epoll reports
    /// each arrival.
    #[test]
    fn a_short_read_drains_and_later_bytes_still_wake_the_loop() -> io::Result<()> {
        let mut poll = Poll::new()?;
        let (mut s, mut peer) = pair(&poll)?;
        peer.write_all(&[1, 2, 3])?;
        assert!(wait_event(&mut poll, &mut s, Duration::from_secs(10))?);
        assert!(s.may_read);
        assert_eq!(s.fill(READ_CHUNK)?, 3);
        assert_eq!(s.may_read, !SHORT_READ_DRAINS);
        s.used(3);
        peer.write_all(&[4, 5])?;
        assert!(wait_event(&mut poll, &mut s, Duration::from_secs(10))?);
        assert!(s.may_read);
        assert_eq!(s.fill(READ_CHUNK)?, 2);
        assert_eq!(s.unused(), &[4, 5]);
        s.used(2);
        // A full read says nothing of what is left.
        peer.write_all(&[6; 8])?;
        assert!(wait_event(&mut poll, &mut s, Duration::from_secs(10))?);
        assert_eq!(s.fill(8)?, 8);
        assert!(s.may_read);
        s.used(8);
        assert_eq!(
            s.fill(READ_CHUNK).map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock)
        );
        assert!(!s.may_read);
        Ok(())
    }

    /// Once the peer's end was reported, no event will come for it again:
    /// a short read does not end the reading, the end of the stream does.
    #[test]
    fn after_the_peers_end_a_short_read_does_not_stop_the_reads() -> io::Result<()> {
        let mut poll = Poll::new()?;
        let (mut s, mut peer) = pair(&poll)?;
        peer.write_all(&[1, 2, 3])?;
        peer.shutdown(Shutdown::Write)?;
        // The bytes and the end may come as one event or two.
        while !s.read_closed {
            assert!(wait_event(&mut poll, &mut s, Duration::from_secs(10))?);
        }
        assert_eq!(s.fill(READ_CHUNK)?, 3);
        assert!(s.may_read);
        s.used(3);
        assert_eq!(s.fill(READ_CHUNK)?, 0);
        Ok(())
    }

    /// A slot id, from a node.
    fn conn() -> ConnId {
        let config = node::Config {
            id: MachineId::ZERO,
            rate: 1,
            sides: 10,
            machines: 3,
            topology: scalemodel_core::Topology::All,
            seed: 1,
            speed: 1,
            duration_ns: 1,
            key: node::Key([1; 32]),
            nonce: 1,
            timeouts: node::Timeouts::DEFAULT,
            skew: scalemodel_core::ClockSkew::NONE,
        };
        let mut core = node::Node::<1, 128>::new(config, 0).expect("a valid config");
        core.handle_accepted(0).expect("a free slot")
    }

    /// Nagle's algorithm held a link's second `Clock` frame until the
    /// peer's delayed ACK, up to 40 ms: ticks late on a fast run.
    #[test]
    fn a_slot_sends_small_frames_at_once() -> io::Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let stream = TcpStream::connect(listener.local_addr()?)?;
        let poll = mio::Poll::new()?;
        let s = Socket::new(conn(), stream, Token(7), poll.registry(), true)?;
        assert!(s.stream.nodelay()?);
        Ok(())
    }
}
