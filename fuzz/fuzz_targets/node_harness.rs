//! The `node_protocol` target's harness: machine 0 driven by a host and two
//! peers played from the input, every rule checked after every call. Shared
//! with the seed generator, which runs each seed through it.

use scalemodel_core::node::{
    CONNS, CloseReason, Config, ConnId, Event, Key, Node, StartError, Status, Timeouts,
};
use scalemodel_core::wire::{Challenge, DecodeError, Decoder, Frame};
use scalemodel_core::{Event as Kind, MachineId, N, Record, due_ns};

use crate::node_ops::{NodeInput, NodeOp};

/// The peers: what they send, and the checks on what the node says.
#[path = "node_peer.rs"]
mod node_peer;

/// The node under test: 8 messages of inbox, 256 bytes of outbox per link.
pub type TestNode = Node<8, 256>;

/// The run's key; the harness proves it for the peers.
pub const KEY: Key = Key([42; 32]);

/// The machine under test: it dials machine 1 and is dialled by machine 2.
const ME: MachineId = MachineId::ZERO;

/// Events one call makes at most, from the code: a call closes each slot at
/// most once (a closed slot stays `Closing` until `handle_closed`), with two
/// events at most (`Rejected` or `PeerLost`, then `Close`; a peer that says
/// `Bye` early is lost before its connection closes, and the close then says
/// nothing more); besides, at most one each of `Record` or `Dial`, `Joined`,
/// `Barrier` and `Ended`. The node's queue (32) must never drop one.
pub const EVENTS_PER_CALL_MAX: usize = 2 * CONNS + 4;

/// Bound on `poll_transmit` turns to empty a slot: the handshake bytes, the
/// two pieces of the outbox ring, and what a stalled tick queues meanwhile.
const FLUSH_TURNS_MAX: usize = 8;

/// What a run did, for the seed generator's checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// The start barrier passed.
    pub barrier: bool,
    /// The start time was taken.
    pub started: bool,
    /// How the node ended, if it did.
    pub status: Option<Status>,
    /// Records logged.
    pub records: u64,
    /// Of those, receives.
    pub receives: u64,
    /// `Clock` frames the node transmitted.
    pub clocks_said: u64,
    /// Protocol errors in the report.
    pub errors: u64,
    /// `Rejected` and `PeerLost` events naming a protocol error.
    pub protocol_events: u64,
    /// `handle_bytes` calls that left bytes unused.
    pub short_reads: u64,
    /// Times the machine stalled on a full outbox.
    pub stalls: u64,
}

/// Which call the events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Timeout,
    Other,
}

/// A connection slot as the peer at its other end sees it.
#[derive(Debug, Default)]
struct Slot {
    /// The node's id for the slot, once the node named it.
    id: Option<ConnId>,
    /// Taken (accepted or dialled) and not yet `handle_closed`.
    open: bool,
    /// Slot 0 asked to be dialled and has not connected.
    dialing: bool,
    /// The node asked the host to close it.
    closing: bool,
    /// The node decodes what arrives: open, connected and not closing.
    reading: bool,
    /// Bytes sent that the node has not used yet.
    backlog: Vec<u8>,
    /// Decodes what the node used while reading, as the node does.
    heard: Decoder,
    /// The first frame (or error) the node heard on the connection.
    first_heard: Option<Result<Frame, DecodeError>>,
    /// Decodes what the node transmitted.
    said: Decoder,
    said_hello: Option<Challenge>,
    said_welcome: Option<Challenge>,
    said_proof: bool,
    said_ready: bool,
    said_clocks: u64,
    said_bye: bool,
    sent_hello: bool,
    sent_welcome: bool,
    sent_proof: bool,
    /// The `seq` of the peer's next [`NodeOp::Clock`].
    clocks_sent: u64,
}

impl Slot {
    /// A slot the node just named `id`, as it opens it.
    fn fresh(id: ConnId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }
}

/// The peer on slot `s`: slot 0 is the dial to machine 1, the others accept
/// machine 2 (and strangers).
fn peer(s: usize) -> MachineId {
    if s == 0 { ME.plus(1, 3) } else { ME.plus(2, 3) }
}

/// The node, its host and its peers.
pub struct Harness {
    node: TestNode,
    speed: u32,
    now: u64,
    slots: [Slot; CONNS],
    start_ns: Option<u64>,
    barrier: bool,
    ended: Option<Status>,
    /// The clock of every send the records logged, by destination and seq.
    sends: [Vec<u64>; N],
    /// Receives logged, by sender: the next `seq` due.
    received: [u64; N],
    last_clock: u64,
    /// Protocol errors that no link report keeps: strangers' (`Rejected`),
    /// and links' before the barrier (`PeerLost`; the link starts afresh).
    unkept_errors: u64,
    /// `Rejected` events on accepted slots, and refused accepts: the
    /// report's `rejected`.
    rejected: u64,
    summary: Summary,
}

impl Harness {
    /// Machine 0 at time 0, configured from the input.
    pub fn new(input: &NodeInput) -> Self {
        let config = Config {
            id: ME,
            rate: 1 + u32::from(input.rate),
            sides: 4 + input.sides % 13,
            machines: 3,
            topology: scalemodel_core::Topology::All,
            seed: input.seed,
            speed: 1 + u32::from(input.speed),
            duration_ns: u64::from(input.duration_ms) * 1_000_000,
            key: KEY,
            nonce: !input.seed,
            timeouts: Timeouts::DEFAULT,
            skew: scalemodel_core::ClockSkew::NONE,
        };
        let speed = config.speed;
        let node = TestNode::new(config, 0).expect("the input maps onto a valid configuration");
        Self {
            node,
            speed,
            now: 0,
            slots: Default::default(),
            start_ns: None,
            barrier: false,
            ended: None,
            sends: Default::default(),
            received: [0; N],
            last_clock: 0,
            unkept_errors: 0,
            rejected: 0,
            summary: Summary::default(),
        }
    }

    /// Runs every op of the input, checking after each call.
    pub fn run(input: &NodeInput) -> Summary {
        let mut h = Self::new(input);
        for op in &input.ops {
            h.apply(op);
        }
        let report = h.node.report();
        h.summary.errors = report.errors.total();
        h.summary.stalls = report.stalls;
        h.summary
    }

    fn apply(&mut self, op: &NodeOp) {
        let slot = |conn: u8| usize::from(conn) % CONNS;
        match *op {
            NodeOp::Accept => self.accept(),
            NodeOp::Connected => self.connected(),
            NodeOp::Bytes { conn, ref bytes } => self.send_bytes(slot(conn), bytes),
            NodeOp::Frame { conn, frame } => self.send(slot(conn), &frame),
            NodeOp::Handshake { conn, challenge } => self.handshake(slot(conn), challenge),
            NodeOp::Clock { conn, clock } => {
                let s = slot(conn);
                let seq = self.slots[s].clocks_sent;
                self.slots[s].clocks_sent += 1;
                let from = peer(s).get();
                self.send(s, &Frame::Clock { from, clock, seq });
            }
            NodeOp::Bye { conn } => {
                let sent = self.slots[slot(conn)].clocks_sent;
                self.send(slot(conn), &Frame::Bye { sent });
            }
            NodeOp::Read { conn } => self.offer(slot(conn)),
            NodeOp::Transmit { conn, max } => self.transmit(slot(conn), usize::from(max)),
            NodeOp::Closed { conn } => self.closed(slot(conn)),
            NodeOp::Wait { ns } => self.timeout_at(self.now.saturating_add(u64::from(ns))),
            NodeOp::Leap { ns } => self.timeout_at(self.now.saturating_add(ns)),
            NodeOp::Timeout => {
                let at = self.node.poll_timeout().unwrap_or(self.now);
                self.timeout_at(at.max(self.now));
            }
            NodeOp::Start { delay_ns, unix_ns } => self.start(delay_ns, unix_ns),
            NodeOp::Stop => {
                self.node.handle_stop(self.now);
                self.drain(Call::Other);
            }
        }
    }
}

/// The host's calls.
impl Harness {
    fn accept(&mut self) {
        let got = self.node.handle_accepted(self.now);
        if got.is_none() && self.ended.is_none() {
            // Refused (after evicting the oldest stranger, if any).
            self.rejected += 1;
        }
        self.drain(Call::Other);
        if let Some(id) = got {
            assert!(self.ended.is_none(), "an ended node accepted {id}");
            let s = id.index();
            assert!((1..CONNS).contains(&s), "accepted into slot {s}");
            assert!(!self.slots[s].open, "accepted into {id}, which is in use");
            self.slots[s] = Slot {
                open: true,
                reading: true,
                ..Slot::fresh(id)
            };
        }
    }

    fn connected(&mut self) {
        let Some(id) = self.slots[0].id else { return };
        self.node.handle_connected(id, self.now);
        let slot = &mut self.slots[0];
        if slot.dialing {
            slot.dialing = false;
            slot.reading = true;
        }
        self.drain(Call::Other);
    }

    fn closed(&mut self, s: usize) {
        let Some(id) = self.slots[s].id else { return };
        self.node.handle_closed(id, self.now);
        self.slots[s] = Slot::fresh(id);
        self.drain(Call::Other);
    }

    fn timeout_at(&mut self, now: u64) {
        self.now = now;
        self.node.handle_timeout(now);
        let ticks = self.drain(Call::Timeout);
        let Some(t) = self.node.poll_timeout() else {
            return;
        };
        // At u64::MAX every deadline saturates to now.
        if t > now || now == u64::MAX {
            return;
        }
        // Not in the future only while ticks are due: then this call ran one,
        // so a host that calls whenever the time has come makes progress.
        let start = self.start_ns.expect("only a started node has ticks due");
        let next = self.node.machine().next_tick_ns();
        assert_eq!(
            t,
            due_ns(start, next, self.speed),
            "poll_timeout {t} is not after now {now}, and it is not the next tick's due time"
        );
        assert_eq!(
            ticks, 1,
            "ticks are due at {now} and handle_timeout ran none"
        );
    }

    fn start(&mut self, delay_ns: i32, unix_ns: u64) {
        let at = self.now.saturating_add_signed(i64::from(delay_ns));
        let ready = self.barrier && self.start_ns.is_none() && self.ended.is_none();
        let result = self.node.handle_start(at, unix_ns, self.now);
        // A start late by at most the catch-up grace is taken, its first
        // ticks late; one later is refused.
        let in_time = at.saturating_add(Timeouts::DEFAULT.catch_up_ns()) >= self.now;
        match result {
            Ok(()) => {
                assert!(ready && in_time, "a start at {at} taken at {}", self.now);
                self.start_ns = Some(at);
                self.summary.started = true;
            }
            Err(StartError::NotReady) => assert!(!ready, "refused {result:?} at the barrier"),
            Err(StartError::InPast) => assert!(ready && !in_time, "refused {result:?}"),
        }
        self.drain(Call::Other);
    }

    /// Offers the node what it has not used on slot `s`.
    fn offer(&mut self, s: usize) {
        let Some(id) = self.slots[s].id else { return };
        let given = self.slots[s].backlog.len();
        if given == 0 {
            return;
        }
        let used = self.node.handle_bytes(id, &self.slots[s].backlog, self.now);
        assert!(used <= given, "handle_bytes used {used} of {given} bytes");
        let slot = &mut self.slots[s];
        if slot.reading {
            let mut rest = slot.backlog.get(..used).unwrap_or_default();
            while !rest.is_empty() {
                let feed = slot.heard.feed(rest);
                if slot.first_heard.is_none() {
                    slot.first_heard = feed.event;
                }
                rest = feed.rest;
            }
        }
        slot.backlog.drain(..used);
        self.drain(Call::Other);
        if used < given {
            // The queue was drained before the call and one call makes at
            // most EVENTS_PER_CALL_MAX events: only a full inbox stops reading.
            assert!(
                !self.node.can_read(id),
                "handle_bytes used {used} of {given} bytes on {id}, which it can read"
            );
            self.summary.short_reads += 1;
        }
    }

    fn transmit(&mut self, s: usize, max: usize) {
        let Some(id) = self.slots[s].id else { return };
        let bytes = match self.node.poll_transmit(id) {
            Some(all) => {
                assert!(!all.is_empty(), "poll_transmit gave nothing on {id}");
                all.get(..max.min(all.len())).unwrap_or_default().to_vec()
            }
            None => Vec::new(),
        };
        self.node.transmitted(id, bytes.len(), self.now);
        self.drain(Call::Other);
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let feed = self.slots[s].said.feed(rest);
            match feed.event {
                None => {}
                Some(Ok(frame)) => self.said(s, frame),
                Some(Err(e)) => panic!("the node sent bytes that do not decode on {id}: {e}"),
            }
            rest = feed.rest;
        }
    }

    /// Transmits all the node has for slot `s`.
    fn flush(&mut self, s: usize) {
        for _ in 0..FLUSH_TURNS_MAX {
            let Some(id) = self.slots[s].id else { return };
            if self.node.poll_transmit(id).is_none() {
                return;
            }
            self.transmit(s, usize::MAX);
        }
    }
}

/// The node's events and report.
impl Harness {
    /// Drains the events of one call and checks them; returns the ticks run.
    fn drain(&mut self, call: Call) -> usize {
        let (mut count, mut ticks) = (0, 0);
        let mut closed = [false; CONNS];
        let mut must_close = [false; CONNS];
        while let Some(event) = self.node.poll_event() {
            count += 1;
            assert!(count <= EVENTS_PER_CALL_MAX, "{count} events from one call");
            assert!(self.ended.is_none(), "{event:?} after the end");
            match event {
                Event::Record(r) => {
                    assert_eq!(call, Call::Timeout, "a tick outside handle_timeout");
                    ticks += 1;
                    assert_eq!(ticks, 1, "two ticks in one call");
                    self.record(&r);
                }
                Event::Dial(id) => {
                    assert_eq!(id.index(), 0, "a dial on {id}");
                    assert!(!self.slots[0].open, "a dial on a slot in use");
                    self.slots[0] = Slot {
                        open: true,
                        dialing: true,
                        ..Slot::fresh(id)
                    };
                }
                Event::Close(id) => {
                    let s = id.index();
                    let slot = &mut self.slots[s];
                    assert!(slot.open, "{id} asked to close, but it is not open");
                    assert!(!slot.closing, "{id} asked to close twice");
                    closed[s] = true;
                    slot.closing = true;
                    slot.reading = false;
                    slot.dialing = false;
                }
                Event::Joined(peer) => assert_ne!(peer, ME),
                Event::Rejected { conn, reason } => {
                    if conn.index() != 0 {
                        self.rejected += 1;
                    }
                    if let CloseReason::Protocol(_) = reason {
                        self.summary.protocol_events += 1;
                        self.unkept_errors += 1;
                        must_close[conn.index()] = true;
                    }
                }
                Event::PeerLost { peer, reason, .. } => {
                    assert_ne!(peer, ME);
                    if let CloseReason::Protocol(_) = reason {
                        self.summary.protocol_events += 1;
                        if !self.barrier {
                            self.unkept_errors += 1;
                        }
                    }
                }
                Event::Barrier => {
                    assert!(!self.barrier, "a second barrier");
                    self.barrier = true;
                    self.summary.barrier = true;
                }
                Event::Ended(status) => {
                    assert_eq!(self.node.status(), Some(status));
                    self.ended = Some(status);
                    self.summary.status = Some(status);
                }
            }
        }
        for (s, (&must, &did)) in must_close.iter().zip(&closed).enumerate() {
            assert!(!must || did, "a protocol error on slot {s} and no Close");
        }
        assert_eq!(self.node.dropped_events(), 0, "the event queue overflowed");
        self.check_report();
        ticks
    }

    fn record(&mut self, r: &Record) {
        assert!(self.start_ns.is_some(), "a tick before the start");
        assert_eq!((r.machine, r.tick), (ME, self.summary.records));
        assert!(
            r.clock > self.last_clock,
            "the clock went from {} to {}",
            self.last_clock,
            r.clock
        );
        if let Kind::Receive(m) = r.event {
            assert_ne!(m.from, ME);
            assert_eq!(
                m.seq,
                self.received[m.from.index()],
                "a receive out of order"
            );
            assert_eq!(
                r.clock,
                self.last_clock.max(m.clock) + 1,
                "the receive rule"
            );
            self.received[m.from.index()] += 1;
            self.summary.receives += 1;
        }
        for (to, msg) in r.outgoing() {
            let sends = &mut self.sends[to.index()];
            assert_eq!(msg.seq, sends.len() as u64, "send seq to {to}");
            assert_eq!(msg.clock, r.clock);
            sends.push(msg.clock);
        }
        self.last_clock = r.clock;
        self.summary.records += 1;
    }

    fn check_report(&self) {
        let r = self.node.report();
        // Every protocol error is counted once: a stranger's with its
        // `Rejected`, a link's in the link's report (or, before the barrier,
        // where a broken link starts afresh, with its `PeerLost`). A link's
        // error after a peer's early `Bye` has no event of its own.
        let kept: u64 = r.peers.iter().map(|p| p.protocol_errors).sum();
        assert_eq!(
            r.errors.total(),
            self.unkept_errors + kept,
            "{:?}",
            r.errors
        );
        for (p, peer) in r.peers.iter().enumerate() {
            // A connection closes at its first error, and after the barrier
            // a link never comes back.
            assert!(peer.protocol_errors <= 1, "machine {p}: {peer:?}");
        }
        assert_eq!(r.rejected, self.rejected, "rejected connections");
        assert_eq!(r.tally.ticks, self.summary.records);
        assert_eq!(r.status, self.ended);
        assert_eq!(self.node.poll_timeout().is_none(), self.ended.is_some());
    }
}
