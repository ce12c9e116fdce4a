//! One TCP connection to a peer: framing, a bounded outbox and held input.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use scalemodel_core::wire::{self, DecodeError, Decoder, Frame, MAX_FRAME_LEN};

/// Bytes the outbox of one connection holds before its sender must wait.
pub const OUTBOX_BYTES: usize = 64 * 1024;
/// Bytes read from a socket in one call.
const READ_BYTES: usize = 4 * 1024;

/// Why reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStop {
    /// The socket has nothing more for now.
    WouldBlock,
    /// The consumer could not take a frame; it is held until [`Conn::pump`] runs again.
    Held,
    /// The peer closed its side.
    Eof,
    /// The stream ended in the middle of a frame.
    Truncated,
}

/// What the consumer did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Taken.
    Taken,
    /// Not now: hold it and stop reading (TCP holds the rest).
    Hold,
}

/// The outbox is full: the frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxFull;

/// A connection with its decoder and outbox.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    token: Token,
    decoder: Decoder,
    rbuf: Box<[u8; READ_BYTES]>,
    rstart: usize,
    rend: usize,
    held: Option<Frame>,
    out: Vec<u8>,
    out_off: usize,
    /// Bytes queued and bytes written since the connection opened.
    queued_total: u64,
    written_total: u64,
    /// Where each queued `Clock` frame ends, in `queued_total` terms.
    clock_ends: VecDeque<u64>,
    writable_interest: bool,
}

impl Conn {
    /// Wraps `stream` and registers it for reading under `token`.
    pub fn new(mut stream: TcpStream, token: Token, registry: &Registry) -> io::Result<Self> {
        registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Self {
            stream,
            token,
            decoder: Decoder::new(),
            rbuf: Box::new([0; READ_BYTES]),
            rstart: 0,
            rend: 0,
            held: None,
            out: Vec::with_capacity(OUTBOX_BYTES),
            out_off: 0,
            queued_total: 0,
            written_total: 0,
            clock_ends: VecDeque::new(),
            writable_interest: true,
        })
    }

    /// The connection's token.
    pub fn token(&self) -> Token {
        self.token
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// True when a frame waits for the consumer.
    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }

    /// Queues `frame`; nothing is queued when the outbox cannot take it whole.
    pub fn queue(&mut self, frame: &Frame) -> Result<(), OutboxFull> {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let bytes = wire::encode(frame, &mut buf).map_err(|_| OutboxFull)?;
        if self.out.len() - self.out_off + bytes.len() > OUTBOX_BYTES {
            return Err(OutboxFull);
        }
        if self.out.len() + bytes.len() > OUTBOX_BYTES {
            // Reclaim the written prefix before growing past the bound.
            self.out.drain(..self.out_off);
            self.out_off = 0;
        }
        self.out.extend_from_slice(bytes);
        self.queued_total += bytes.len() as u64;
        if matches!(frame, Frame::Clock { .. }) {
            self.clock_ends.push_back(self.queued_total);
        }
        Ok(())
    }

    /// Bytes waiting to be written.
    pub fn pending_bytes(&self) -> usize {
        self.out.len() - self.out_off
    }

    /// `Clock` frames queued but not yet fully written.
    pub fn unsent_clocks(&self) -> u64 {
        self.clock_ends.len() as u64
    }

    /// Writes from the outbox until it is empty or the socket would block;
    /// asks for WRITABLE events only while bytes remain.
    pub fn flush(&mut self, registry: &Registry) -> io::Result<()> {
        while self.out_off < self.out.len() {
            match self.stream.write(&self.out[self.out_off..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.out_off += n;
                    self.written_total += n as u64;
                    while self
                        .clock_ends
                        .front()
                        .is_some_and(|&e| e <= self.written_total)
                    {
                        self.clock_ends.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.out_off == self.out.len() {
            self.out.clear();
            self.out_off = 0;
        }
        let want = self.out_off < self.out.len();
        if want != self.writable_interest {
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry.reregister(&mut self.stream, self.token, interest)?;
            self.writable_interest = want;
        }
        Ok(())
    }

    /// Reads and decodes frames, offering each to `take`, until the socket
    /// would block, the peer closes, or `take` asks to hold a frame. Decode
    /// errors go to `bad` and reading goes on at the next frame.
    ///
    /// mio is edge-triggered: a caller that stopped on [`ReadStop::Held`] must
    /// call `pump` again once it can take frames, without waiting for an event.
    pub fn pump(
        &mut self,
        mut take: impl FnMut(Frame) -> Take,
        mut bad: impl FnMut(DecodeError),
    ) -> io::Result<ReadStop> {
        if let Some(frame) = self.held.take()
            && take(frame) == Take::Hold
        {
            self.held = Some(frame);
            return Ok(ReadStop::Held);
        }
        loop {
            while self.rstart < self.rend {
                let feed = self.decoder.feed(&self.rbuf[self.rstart..self.rend]);
                self.rstart = self.rend - feed.rest.len();
                match feed.event {
                    Some(Ok(frame)) if take(frame) == Take::Hold => {
                        self.held = Some(frame);
                        return Ok(ReadStop::Held);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => bad(e),
                    None => {}
                }
            }
            self.rstart = 0;
            self.rend = 0;
            match self.stream.read(&mut self.rbuf[..]) {
                Ok(0) if self.decoder.is_mid_frame() => return Ok(ReadStop::Truncated),
                Ok(0) => return Ok(ReadStop::Eof),
                Ok(n) => self.rend = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadStop::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes the sending side after the outbox (best effort).
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
    }

    /// Deregisters the socket; dropping the connection closes it.
    pub fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
    }
}
