//! In-memory protocol tests in the style of quinn's test `Pair`: three nodes
//! (or a node and a hand-played peer) wired by a harness in virtual time.

use std::vec::Vec;

use super::*;
use crate::wire::{Decoder, MAX_FRAME_LEN};
use crate::{Event as Kind, MachineId, N, Record};

type TestNode = Node<8, 256>;

const KEY: Key = Key([42; 32]);
const MS: u64 = 1_000_000;

fn config(id: MachineId, rate: u32) -> Config {
    Config {
        id,
        rate,
        sides: 4,
        seed: 7,
        speed: 1,
        duration_ns: 2_000 * MS,
        key: KEY,
        nonce: 100 + u64::from(id.get()),
        timeouts: Timeouts::DEFAULT,
    }
}

/// One end of a wired connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct End {
    node: usize,
    conn: ConnId,
}

/// Three nodes, instant links, and everything each one said.
struct Trio {
    nodes: Vec<TestNode>,
    now: u64,
    /// Connections as pairs of ends; `None` once closed.
    wires: Vec<Option<(End, End)>>,
    events: [Vec<Event>; N],
    /// The start was handed.
    started: bool,
    /// Hand the start once all three passed the barrier.
    auto_start: bool,
    /// A node frozen until this time: no timeouts, no bytes in or out.
    paused: [u64; N],
}

impl Trio {
    fn new(rates: [u32; N], tweak: impl Fn(&mut Config)) -> Self {
        let nodes = MachineId::ALL
            .iter()
            .map(|&id| {
                let mut c = config(id, rates[id.index()]);
                tweak(&mut c);
                Node::new(c, 0).unwrap()
            })
            .collect();
        Self {
            nodes,
            now: 0,
            wires: Vec::new(),
            events: Default::default(),
            started: false,
            auto_start: true,
            paused: [0; N],
        }
    }

    fn remote(&self, end: End) -> Option<End> {
        self.wires.iter().flatten().find_map(|&(a, b)| {
            if a == end {
                Some(b)
            } else if b == end {
                Some(a)
            } else {
                None
            }
        })
    }

    fn unwire(&mut self, end: End) {
        for w in &mut self.wires {
            if w.is_some_and(|(a, b)| a == end || b == end) {
                *w = None;
            }
        }
    }

    /// Moves bytes and acts on events until nothing changes.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut busy = false;
            for n in 0..N {
                while let Some(e) = self.nodes[n].poll_event() {
                    busy = true;
                    self.events[n].push(e);
                    self.act(n, e);
                }
            }
            for w in 0..self.wires.len() {
                let Some((a, b)) = self.wires[w] else {
                    continue;
                };
                for (from, to) in [(a, b), (b, a)] {
                    busy |= self.carry(from, to);
                }
            }
            if !busy {
                return;
            }
        }
        panic!("the trio never settled");
    }

    fn carry(&mut self, from: End, to: End) -> bool {
        if self.paused[from.node] > self.now || self.paused[to.node] > self.now {
            return false;
        }
        let Some(bytes) = self.nodes[from.node].poll_transmit(from.conn) else {
            return false;
        };
        let bytes = bytes.to_vec();
        if !self.nodes[to.node].can_read(to.conn) {
            return false;
        }
        let used = self.nodes[to.node].handle_bytes(to.conn, &bytes, self.now);
        self.nodes[from.node].transmitted(from.conn, used, self.now);
        used > 0
    }

    fn act(&mut self, n: usize, e: Event) {
        let now = self.now;
        match e {
            Event::Dial(conn) => {
                let peer = self.nodes[n].config().id.next().index();
                let accepted = self.nodes[peer].handle_accepted(now).unwrap();
                self.nodes[n].handle_connected(conn, now);
                self.wires.push(Some((
                    End { node: n, conn },
                    End {
                        node: peer,
                        conn: accepted,
                    },
                )));
            }
            Event::Close(conn) => {
                let end = End { node: n, conn };
                // What was queued goes first, as TCP sends it before the FIN.
                if let Some(remote) = self.remote(end) {
                    self.carry(end, remote);
                    self.unwire(end);
                    self.nodes[remote.node].handle_closed(remote.conn, now);
                }
                self.nodes[n].handle_closed(conn, now);
            }
            Event::Barrier if self.auto_start && !self.started && self.all_barrier() => {
                self.start();
            }
            _ => {}
        }
    }

    fn all_barrier(&self) -> bool {
        (0..N).all(|n| self.events[n].contains(&Event::Barrier) || self.nodes[n].started())
    }

    fn start(&mut self) {
        self.started = true;
        let at = self.now + 10 * MS;
        for node in &mut self.nodes {
            node.handle_start(at, 1_000_000_000_000, self.now).unwrap();
        }
    }

    /// Runs in virtual time until every node ended (or `until`).
    fn run(&mut self, until: u64) {
        self.settle();
        while self.now < until {
            let timeouts = (0..N).filter_map(|n| {
                let t = self.nodes[n].poll_timeout()?;
                Some(t.max(self.paused[n]))
            });
            let Some(next) = timeouts.min() else {
                return;
            };
            self.now = next.max(self.now).min(until);
            for n in 0..N {
                if self.paused[n] > self.now {
                    continue;
                }
                if self.nodes[n].poll_timeout().is_some_and(|t| t <= self.now) {
                    self.nodes[n].handle_timeout(self.now);
                }
            }
            self.settle();
        }
    }

    fn records(&self, n: usize) -> Vec<Record> {
        self.events[n]
            .iter()
            .filter_map(|e| match e {
                Event::Record(r) => Some(*r),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn three_nodes_run_to_a_clean_end_and_account_for_every_message() {
    let mut t = Trio::new([2, 5, 6], |_| {});
    t.run(u64::MAX);
    for n in 0..N {
        assert_eq!(
            t.nodes[n].status(),
            Some(Status::Completed),
            "{:?}",
            t.events[n]
        );
        assert_eq!(t.nodes[n].dropped_events(), 0);
        let r = t.nodes[n].report();
        assert_eq!(r.tally.ticks, 2 * [2u64, 5, 6][n]);
        assert_eq!(r.errors.total(), 0);
        // Ticks ran exactly on time in virtual time.
        assert_eq!(r.max_late_ns, 0);
        for rec in t.records(n) {
            let due = 1_000_000_000_000 + rec.model_ns;
            assert_eq!(rec.system_ns, due);
        }
    }
    // Conservation on every directed link, from both ends' reports.
    let mut moved = 0;
    for from in MachineId::ALL {
        for to in [from.next(), from.other()] {
            let s = t.nodes[from.index()].report().peers[to.index()];
            let r = t.nodes[to.index()].report().peers[from.index()];
            assert_eq!(s.unsent + s.undeliverable, 0);
            assert_eq!(s.sent, r.received + r.queued + r.after_end, "{from}->{to}");
            assert_eq!(r.peer_sent, Some(s.sent));
            moved += s.sent;
        }
    }
    assert!(moved > 5, "only {moved} messages moved");
}

#[test]
fn a_full_inbox_holds_reading_and_nothing_is_lost() {
    // A slow machine 0 (inbox 8) with fast peers that mostly send.
    let mut t = Trio::new([1, 6, 6], |c| c.duration_ns = 4_000 * MS);
    t.run(u64::MAX);
    let slow = t.nodes[0].report();
    assert!(slow.holds > 0, "{slow:?}");
    assert_eq!(slow.tally.max_queue, 7);
    for from in [MachineId::ONE, MachineId::TWO] {
        let s = t.nodes[from.index()].report().peers[0];
        let r = slow.peers[from.index()];
        assert_eq!(
            s.sent,
            r.received + r.queued + r.after_end + s.unsent + s.undeliverable
        );
    }
}

/// A node and a peer played by hand: the test reads and writes frames.
struct Bench {
    node: TestNode,
    now: u64,
    events: Vec<Event>,
    decoder: Decoder,
}

impl Bench {
    /// Machine 0, which machine 2 dials.
    fn new() -> Self {
        let mut node = Node::new(config(MachineId::ZERO, 4), 0).unwrap();
        node.handle_timeout(0);
        let mut b = Self {
            node,
            now: 0,
            events: Vec::new(),
            decoder: Decoder::new(),
        };
        b.drain();
        b
    }

    fn drain(&mut self) {
        while let Some(e) = self.node.poll_event() {
            self.events.push(e);
        }
    }

    fn send(&mut self, conn: ConnId, frame: &Frame) -> usize {
        let mut buf = [0; MAX_FRAME_LEN];
        let bytes = wire::encode(frame, &mut buf).unwrap().to_vec();
        self.send_bytes(conn, &bytes)
    }

    fn send_bytes(&mut self, conn: ConnId, bytes: &[u8]) -> usize {
        let used = self.node.handle_bytes(conn, bytes, self.now);
        self.drain();
        used
    }

    /// The frames the node has for `conn`.
    fn recv(&mut self, conn: ConnId) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(bytes) = self.node.poll_transmit(conn) {
            let bytes = bytes.to_vec();
            self.node.transmitted(conn, bytes.len(), self.now);
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let feed = self.decoder.feed(rest);
                out.extend(feed.event.map(Result::unwrap));
                rest = feed.rest;
            }
        }
        self.drain();
        out
    }

    /// Plays machine 2 through the handshake; returns its connection.
    fn join_as_two(&mut self) -> ConnId {
        let conn = self.node.handle_accepted(self.now).unwrap();
        let ours = [9; 16];
        self.send(conn, &hello_from_two(ours));
        let [
            Frame::Welcome {
                challenge, proof, ..
            },
        ] = self.recv(conn)[..]
        else {
            panic!("no Welcome: {:?}", self.events);
        };
        let (two, zero) = (MachineId::TWO, MachineId::ZERO);
        assert!(handshake::verify(
            &KEY,
            Role::Answerer,
            (two, &ours),
            (zero, &challenge),
            &proof
        ));
        let proof = handshake::prove(&KEY, Role::Caller, (two, &ours), (zero, &challenge));
        self.send(conn, &Frame::Proof { proof });
        assert!(
            self.events.contains(&Event::Joined(two)),
            "{:?}",
            self.events
        );
        conn
    }

    fn rejected(&self) -> Vec<CloseReason> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Rejected { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn the_answerer_proves_the_key_before_the_caller_says_anything_of_the_run() {
    let mut b = Bench::new();
    let conn = b.node.handle_accepted(0).unwrap();
    // Nothing goes out before the caller speaks.
    assert_eq!(b.node.poll_transmit(conn), None);
    b.join_as_two();
}

#[test]
fn handshake_errors_close_the_connection_and_are_counted_by_kind() {
    let hello = |protocol, from| Frame::Hello {
        protocol,
        from,
        challenge: [1; 16],
        proof: hello_proof(MachineId::TWO, [1; 16]),
    };
    let cases = [
        (hello(PROTOCOL + 1, 2), ProtocolError::Version(PROTOCOL + 1)),
        (hello(PROTOCOL, 1), ProtocolError::WrongId(1)),
        (stranger_hello([1; 16]), ProtocolError::BadProof),
        (
            Frame::Ready,
            ProtocolError::Unexpected(wire::FrameKind::Ready),
        ),
        (
            Frame::Clock {
                from: 2,
                clock: 1,
                seq: 0,
            },
            ProtocolError::Unexpected(wire::FrameKind::Clock),
        ),
    ];
    for (frame, error) in cases {
        let mut b = Bench::new();
        let conn = b.node.handle_accepted(0).unwrap();
        b.send(conn, &frame);
        assert_eq!(b.rejected(), [CloseReason::Protocol(error)], "{frame:?}");
        assert!(b.events.contains(&Event::Close(conn)));
        assert_eq!(b.node.report().errors.0[error.kind()], 1);
        // The slot is closing: more bytes are dropped, not read.
        assert_eq!(b.send(conn, &hello(PROTOCOL, 2)), MAX_FRAME_LEN.min(37));
        assert_eq!(b.node.report().errors.total(), 1);
    }
}

#[test]
fn a_wrong_proof_is_refused_and_the_id_stays_free() {
    let mut b = Bench::new();
    let conn = b.node.handle_accepted(0).unwrap();
    b.send(conn, &hello_from_two([3; 16]));
    assert_eq!(b.recv(conn).len(), 1);
    b.send(conn, &Frame::Proof { proof: [0; 16] });
    assert_eq!(
        b.rejected(),
        [CloseReason::Protocol(ProtocolError::BadProof)]
    );
    b.node.handle_closed(conn, 0);
    // The real machine 2 still gets in.
    b.join_as_two();
}

/// Plays machine 1 through the handshake on the dial; returns its slot.
fn join_as_one(b: &mut Bench) -> ConnId {
    let dial = ConnId(0);
    b.node.handle_connected(dial, b.now);
    let [
        Frame::Hello {
            challenge: hello,
            proof: first,
            ..
        },
    ] = b.recv(dial)[..]
    else {
        panic!("no Hello: {:?}", b.events);
    };
    let (zero, one, ours) = (MachineId::ZERO, MachineId::ONE, [4; 16]);
    let none = handshake::NO_CHALLENGE;
    assert!(handshake::verify(
        &KEY,
        Role::Hello,
        (zero, &hello),
        (one, &none),
        &first
    ));
    let proof = handshake::prove(&KEY, Role::Answerer, (zero, &hello), (one, &ours));
    b.send(
        dial,
        &Frame::Welcome {
            protocol: PROTOCOL,
            from: 1,
            challenge: ours,
            proof,
        },
    );
    assert!(b.events.contains(&Event::Joined(one)));
    dial
}

#[test]
fn a_peer_that_joins_again_during_set_up_leaves_one_ready_on_the_other_link() {
    // Found by the fuzz target node_protocol.
    let mut b = Bench::new();
    let dial = join_as_one(&mut b);
    // Machine 2 joins, loses its connection before any Ready, and joins again.
    let two = b.join_as_two();
    b.node.handle_closed(two, b.now);
    b.join_as_two();
    let frames = b.recv(dial);
    assert!(
        matches!(frames[..], [Frame::Proof { .. }, Frame::Ready]),
        "{frames:?}"
    );
}

/// Machine 0 at 200 ticks a second, running, machine 2 lost to a protocol
/// error, and a tick's send to machine 1 stalled (nothing was transmitted);
/// then stopped. Returns machine 1's connection.
fn stalled_and_stopped_with_one_link_left() -> (Bench, ConnId) {
    let mut b = Bench::new();
    b.node = Node::new(config(MachineId::ZERO, 200), 0).unwrap();
    b.node.handle_timeout(0);
    b.drain();
    let one = join_as_one(&mut b);
    let two = b.join_as_two();
    for conn in [one, two] {
        b.send(conn, &Frame::Ready);
    }
    b.node.handle_start(b.now, 0, b.now).unwrap();
    b.send_bytes(two, &[0x55, 0x00]);
    while b.node.report().stalls == 0 {
        b.now = b.node.poll_timeout().unwrap();
        b.node.handle_timeout(b.now);
        b.drain();
        assert!(b.node.status().is_none(), "no stall: {:?}", b.node.report());
    }
    b.node.handle_stop(b.now);
    b.drain();
    (b, one)
}

#[test]
fn a_protocol_error_that_ends_the_run_closes_its_connection_once_and_before_ended() {
    // Found by the fuzz target node_protocol.
    let (mut b, one) = stalled_and_stopped_with_one_link_left();
    // Losing machine 1 too ends the waiting send, then the run.
    b.send_bytes(one, &[0x55, 0x00]);
    let closes = b.events.iter().filter(|e| **e == Event::Close(one)).count();
    assert_eq!(closes, 1, "{:?}", b.events.last_chunk::<4>());
    assert_eq!(b.events.last(), Some(&Event::Ended(Status::Interrupted)));
}

#[test]
fn a_connection_closed_by_the_host_is_not_asked_to_close_when_its_loss_ends_the_run() {
    // Found by the fuzz target node_protocol.
    let (mut b, one) = stalled_and_stopped_with_one_link_left();
    let before = b.events.len();
    b.node.handle_closed(one, b.now);
    b.drain();
    let after = &b.events[before..];
    assert!(!after.contains(&Event::Close(one)), "{after:?}");
    assert_eq!(after.last(), Some(&Event::Ended(Status::Interrupted)));
}

#[test]
fn a_second_claimant_never_displaces_the_first() {
    let mut b = Bench::new();
    b.join_as_two();
    let conn = b.node.handle_accepted(0).unwrap();
    b.send(conn, &hello_from_two([5; 16]));
    assert_eq!(
        b.rejected(),
        [CloseReason::Protocol(ProtocolError::Taken(MachineId::TWO))]
    );
}

#[test]
fn garbage_is_one_counted_error_whatever_its_length() {
    let mut b = Bench::new();
    let conn = b.node.handle_accepted(0).unwrap();
    let junk = std::vec![0x55u8; 1 << 16];
    assert_eq!(b.send_bytes(conn, &junk), junk.len());
    assert_eq!(b.node.report().errors.total(), 1);
    assert_eq!(b.rejected().len(), 1);
}

#[test]
fn a_silent_stranger_is_closed_at_its_handshake_deadline() {
    let mut b = Bench::new();
    let conn = b.node.handle_accepted(0).unwrap();
    let deadline = Timeouts::DEFAULT.handshake_ns;
    assert!(b.node.poll_timeout().unwrap() <= deadline);
    b.node.handle_timeout(deadline);
    b.drain();
    assert_eq!(b.rejected(), [CloseReason::HandshakeTimeout]);
    assert!(b.events.contains(&Event::Close(conn)));
}

#[test]
fn taking_the_last_slot_evicts_the_oldest_stranger() {
    let mut b = Bench::new();
    let first = b.node.handle_accepted(0).unwrap();
    for t in 1..CONNS as u64 - 2 {
        assert!(b.node.handle_accepted(t).is_some());
        b.drain();
        assert!(b.rejected().is_empty());
    }
    // The last free slot: the oldest stranger goes, so a slot frees again.
    let last = b.node.handle_accepted(100).unwrap();
    b.drain();
    assert_eq!(b.rejected(), [CloseReason::Evicted]);
    assert!(b.events.contains(&Event::Close(first)));
    // Until the host has closed it, no slot is free.
    assert_eq!(b.node.handle_accepted(101), None);
    b.node.handle_closed(first, 102);
    assert_eq!(b.node.handle_accepted(103), Some(first));
    assert_ne!(last, first);
}

#[test]
fn a_burst_of_connections_never_evicts_one_not_yet_read() {
    // One host turn accepts a burst at one `now`: once every slot is taken
    // by it, the rest are refused rather than pushing out a connection whose
    // first bytes (perhaps a peer's Hello) were never offered.
    let mut b = Bench::new();
    let burst: Vec<ConnId> = (1..CONNS)
        .map(|_| b.node.handle_accepted(10).unwrap())
        .collect();
    b.drain();
    assert!(b.rejected().is_empty(), "{:?}", b.events);
    assert_eq!(b.node.handle_accepted(10), None);
    assert_eq!(b.node.report().rejected, 1);
    // The peer among them says Hello and joins.
    let peer = *burst.last().unwrap();
    b.now = 10;
    b.send(peer, &hello_from_two([9; 16]));
    prove_as_two(&mut b, peer, [9; 16]);
    assert!(b.events.contains(&Event::Joined(MachineId::TWO)));
}

/// Machine 2's `Hello` proof over `challenge`, to machine 0.
fn hello_proof(from: MachineId, challenge: [u8; 16]) -> wire::Proof {
    let none = handshake::NO_CHALLENGE;
    handshake::prove(
        &KEY,
        Role::Hello,
        (from, &challenge),
        (MachineId::ZERO, &none),
    )
}

/// `Hello` from machine 2 with `challenge`, proving the key.
fn hello_from_two(challenge: [u8; 16]) -> Frame {
    Frame::Hello {
        protocol: PROTOCOL,
        from: 2,
        challenge,
        proof: hello_proof(MachineId::TWO, challenge),
    }
}

/// `Hello` as machine 2 from a stranger: all right but the proof, which
/// needs the key.
fn stranger_hello(challenge: [u8; 16]) -> Frame {
    Frame::Hello {
        protocol: PROTOCOL,
        from: 2,
        challenge,
        proof: [0; 16],
    }
}

/// Answers the `Welcome` waiting on `conn` as machine 2 with `ours`.
fn prove_as_two(b: &mut Bench, conn: ConnId, ours: [u8; 16]) {
    let [Frame::Welcome { challenge, .. }] = b.recv(conn)[..] else {
        panic!("no Welcome: {:?}", b.events);
    };
    let (two, zero) = (MachineId::TWO, MachineId::ZERO);
    let proof = handshake::prove(&KEY, Role::Caller, (two, &ours), (zero, &challenge));
    b.send(conn, &Frame::Proof { proof });
}

#[test]
fn silent_strangers_give_way_before_a_peer_that_said_hello() {
    // Strangers that connect and say nothing, reopened as soon as evicted,
    // four every turn of 1 ms: machine 2's connection, once its Hello is
    // read, outlives them all while its Proof is on the way.
    let mut b = Bench::new();
    let peer = b.node.handle_accepted(0).unwrap();
    b.now = 1;
    b.send(peer, &hello_from_two([9; 16]));
    let mut evicted = 0;
    let last = conn::ANSWER_GRACE_NS / MS - 1;
    for turn in 2..=last {
        let now = turn * MS;
        for _ in 0..4 {
            if b.node.handle_accepted(now).is_some() {
                b.drain();
            }
        }
        // The host closes what the node asked it to.
        let closes: Vec<ConnId> = b
            .events
            .drain(..)
            .filter_map(|e| match e {
                Event::Close(c) => Some(c),
                Event::Rejected { reason, .. } => {
                    assert_eq!(reason, CloseReason::Evicted);
                    None
                }
                _ => None,
            })
            .collect();
        for c in closes {
            assert_ne!(c, peer, "the peer was evicted at turn {turn}");
            b.node.handle_closed(c, now);
            evicted += 1;
        }
    }
    assert!(evicted > 100, "the strangers churned: {evicted}");
    b.now = last * MS;
    prove_as_two(&mut b, peer, [9; 16]);
    assert!(
        b.events.contains(&Event::Joined(MachineId::TWO)),
        "{:?}",
        b.events
    );
}

#[test]
fn strangers_saying_hello_at_any_rate_never_keep_a_peer_out() {
    // Seven strangers a turn of 1 ms, each saying Hello as machine 2 (all
    // right but the proof, which needs the key) and connecting again at
    // once. Protocol 2's Hello proved nothing, so each held its slot for
    // ANSWER_GRACE_NS and machine 2 was refused for good. Now each is
    // closed at its Hello, and machine 2, which comes in the middle of a
    // burst, gets a slot and joins while the flood goes on.
    let mut b = Bench::new();
    let mut peer = None;
    let mut strangers = 0u64;
    for turn in 1..=2 * conn::ANSWER_GRACE_NS / MS {
        b.now = turn * MS;
        for k in 0..CONNS - 1 {
            if turn == 50 && k == 3 {
                let conn = b.node.handle_accepted(b.now);
                assert!(conn.is_some(), "machine 2 refused: {:?}", b.node.report());
                b.send(conn.unwrap(), &hello_from_two([9; 16]));
                peer = conn;
            }
            if let Some(c) = b.node.handle_accepted(b.now) {
                strangers += 1;
                b.send(c, &stranger_hello([k as u8; 16]));
            }
            // The host closes what the node asked it to.
            let closes: Vec<ConnId> = b
                .events
                .drain(..)
                .filter_map(|e| match e {
                    Event::Close(c) => Some(c),
                    _ => None,
                })
                .collect();
            for c in closes {
                assert_ne!(Some(c), peer, "machine 2 closed at turn {turn}");
                b.node.handle_closed(c, b.now);
            }
        }
        if turn == 60 {
            prove_as_two(&mut b, peer.unwrap(), [9; 16]);
            assert!(
                b.events.contains(&Event::Joined(MachineId::TWO)),
                "{:?}",
                b.events
            );
        }
    }
    assert!(strangers > 2_000, "the strangers churned: {strangers}");
    let errors = b.node.report().errors;
    assert_eq!(errors.0[ProtocolError::BadProof.kind()], strangers);
}

#[test]
fn hellos_that_prove_the_key_keep_their_slot_only_for_a_round_trip() {
    // Every slot holds a Hello that proves the key (a peer's, or one replayed
    // by someone on the path): for ANSWER_GRACE_NS newer connections are
    // refused, then the oldest gives way.
    let mut b = Bench::new();
    let first = b.node.handle_accepted(0).unwrap();
    b.send(first, &hello_from_two([1; 16]));
    for t in 1..CONNS as u64 - 1 {
        let c = b.node.handle_accepted(t).unwrap();
        b.now = t;
        b.send(c, &hello_from_two([t as u8; 16]));
    }
    b.drain();
    assert!(b.rejected().is_empty(), "{:?}", b.events);
    let grace = conn::ANSWER_GRACE_NS;
    assert_eq!(b.node.handle_accepted(grace - 1), None);
    b.drain();
    assert!(b.rejected().is_empty(), "{:?}", b.events);
    // With every slot taken, a newcomer is refused but makes room: the
    // oldest Hello past its grace gives way, for the next one.
    assert_eq!(b.node.handle_accepted(grace), None);
    b.drain();
    assert_eq!(b.rejected(), [CloseReason::Evicted]);
    assert!(b.events.contains(&Event::Close(first)));
    b.node.handle_closed(first, grace);
    assert_eq!(b.node.handle_accepted(grace), Some(first));
    b.drain();
    // The others are still within their grace.
    assert_eq!(b.rejected(), [CloseReason::Evicted]);
    assert_eq!(b.node.report().rejected, 3);
}

/// Machine 0 with a hand-played machine 2 up and the barrier half-done.
fn bench_with_link() -> (Bench, ConnId) {
    let mut b = Bench::new();
    let conn = b.join_as_two();
    (b, conn)
}

#[test]
fn clock_frames_before_the_barrier_are_unexpected() {
    let (mut b, conn) = bench_with_link();
    b.send(
        conn,
        &Frame::Clock {
            from: 2,
            clock: 1,
            seq: 0,
        },
    );
    assert!(b.events.iter().any(|e| matches!(
        e,
        Event::PeerLost {
            peer: MachineId::TWO,
            reason: CloseReason::Protocol(ProtocolError::Unexpected(wire::FrameKind::Clock)),
            ..
        }
    )));
}

/// Machine 0's connection to machine 1 in a running trio.
fn conn_to_one(t: &Trio) -> ConnId {
    t.wires
        .iter()
        .flatten()
        .find_map(|&(a, b)| match (a.node, b.node) {
            (0, 1) => Some(a.conn),
            (1, 0) => Some(b.conn),
            _ => None,
        })
        .unwrap()
}

#[test]
fn a_duplicate_clock_frame_is_a_seq_error() {
    let mut t = Trio::new([3, 6, 3], |_| {});
    t.run(1_000 * MS);
    let conn = conn_to_one(&t);
    let came = {
        let p = t.nodes[0].report().peers[1];
        p.received + p.queued
    };
    assert!(came > 0, "machine 1 sent nothing yet");
    // The last frame that came, once more: a duplicate.
    let dup = Frame::Clock {
        from: 1,
        clock: 1,
        seq: came - 1,
    };
    let mut buf = [0; MAX_FRAME_LEN];
    let bytes = wire::encode(&dup, &mut buf).unwrap().to_vec();
    t.nodes[0].handle_bytes(conn, &bytes, t.now);
    t.run(u64::MAX);
    let r = t.nodes[0].report();
    let seq = ProtocolError::Seq {
        expected: came,
        got: came - 1,
    };
    assert_eq!(r.peers[1].lost, Some(CloseReason::Protocol(seq)));
    assert_eq!(r.errors.0[seq.kind()], 1);
    assert_eq!(t.nodes[0].status(), Some(Status::PeerLost));
}

#[test]
fn what_a_peer_had_sent_when_its_link_closed_is_counted_lost_not_delivered() {
    let mut t = Trio::new([3, 6, 3], |_| {});
    t.run(1_000 * MS);
    let conn = conn_to_one(&t);
    let came = {
        let p = t.nodes[0].report().peers[1];
        p.received + p.queued
    };
    let encode = |frames: &[Frame]| {
        let mut bytes = std::vec::Vec::new();
        for f in frames {
            let mut buf = [0; MAX_FRAME_LEN];
            bytes.extend_from_slice(wire::encode(f, &mut buf).unwrap());
        }
        bytes
    };
    // A Bye that miscounts: machine 0 closes the link (the Close waits in
    // its events, the connection is closing).
    let bye = encode(&[Frame::Bye { sent: came + 10 }]);
    t.nodes[0].handle_bytes(conn, &bye, t.now);
    // The host drains what machine 1 had already sent: the next two in
    // sequence count, a frame out of sequence and another sender do not.
    let clock = |from, seq| Frame::Clock {
        from,
        clock: 99,
        seq,
    };
    let rest = encode(&[
        clock(1, came),
        clock(1, came + 1),
        clock(1, came + 5),
        clock(2, came + 2),
    ]);
    assert_eq!(t.nodes[0].handle_bytes(conn, &rest, t.now), rest.len());
    let p = t.nodes[0].report().peers[1];
    assert_eq!(p.dropped, 2);
    assert_eq!(p.received + p.queued + p.after_end, came, "none delivered");
    t.run(u64::MAX);
    assert_eq!(t.nodes[0].report().peers[1].dropped, 2);
    assert_eq!(t.nodes[0].status(), Some(Status::PeerLost));
}

/// A running trio, then one link's frames forged by the test.
#[test]
fn seq_gaps_duplicates_wrong_senders_and_wrong_byes_are_caught() {
    let forged = [
        (
            Frame::Clock {
                from: 1,
                clock: 5,
                seq: 7,
            },
            ProtocolError::Seq {
                expected: 0,
                got: 7,
            },
        ),
        (
            Frame::Clock {
                from: 2,
                clock: 5,
                seq: 0,
            },
            ProtocolError::WrongSender(2),
        ),
        (
            Frame::Bye { sent: 3 },
            ProtocolError::ByeCount { said: 3, came: 0 },
        ),
        (
            Frame::Ready,
            ProtocolError::Unexpected(wire::FrameKind::Ready),
        ),
    ];
    for (frame, error) in forged {
        let mut t = Trio::new([3, 3, 3], |_| {});
        t.run(50 * MS);
        assert!(t.started);
        // Machine 0 hears the forgery on machine 1's link.
        let conn = conn_to_one(&t);
        let mut buf = [0; MAX_FRAME_LEN];
        let bytes = wire::encode(&frame, &mut buf).unwrap().to_vec();
        t.nodes[0].handle_bytes(conn, &bytes, t.now);
        t.run(u64::MAX);
        let r = t.nodes[0].report();
        assert_eq!(r.errors.0[error.kind()], 1, "{frame:?}");
        let Some(CloseReason::Protocol(seen)) = r.peers[1].lost else {
            panic!("{frame:?}: {r:?}");
        };
        assert_eq!(seen.kind(), error.kind());
        assert_eq!(r.peers[1].protocol_errors, 1);
        for n in 0..2 {
            assert_eq!(t.nodes[n].status(), Some(Status::PeerLost), "{frame:?}");
        }
        // The link to the untouched machine 2 still ends cleanly.
        assert_eq!(r.peers[2].lost, None);
    }
}

#[test]
fn a_peer_that_ends_early_is_lost_and_nothing_sent_to_it_vanishes() {
    let mut t = Trio::new([4, 4, 4], |_| {});
    t.run(500 * MS);
    t.nodes[1].handle_stop(t.now);
    t.run(u64::MAX);
    assert_eq!(t.nodes[1].status(), Some(Status::Interrupted));
    for n in [0, 2] {
        assert_eq!(t.nodes[n].status(), Some(Status::PeerLost));
        let r = t.nodes[n].report();
        assert_eq!(r.peers[1].lost, Some(CloseReason::EndedEarly));
        let got = t.nodes[1].report().peers[n];
        let s = r.peers[1];
        assert_eq!(
            s.sent,
            got.received + got.queued + got.after_end + s.undeliverable
        );
        assert!(s.undeliverable > 0 || s.sent == got.received + got.queued);
    }
}

#[test]
fn a_peer_that_closes_without_bye_is_lost_with_its_time() {
    let mut t = Trio::new([4, 4, 4], |_| {});
    t.run(800 * MS);
    // Machine 2 vanishes: its connections close with no Bye.
    for w in t.wires.clone().into_iter().flatten() {
        for (me, other) in [(w.0, w.1), (w.1, w.0)] {
            if me.node == 2 {
                t.nodes[other.node].handle_closed(other.conn, t.now);
            }
        }
    }
    t.wires
        .retain(|w| w.is_none_or(|(a, b)| a.node != 2 && b.node != 2));
    t.nodes.truncate(3);
    let lost_at = t.now - 10 * MS;
    t.run(u64::MAX);
    for n in [0, 1] {
        let r = t.nodes[n].report();
        assert_eq!(r.peers[2].lost, Some(CloseReason::Closed));
        assert_eq!(r.peers[2].lost_at_model_ns, Some(lost_at));
        assert_eq!(t.nodes[n].status(), Some(Status::PeerLost));
    }
}

#[test]
fn set_up_names_the_missing_link_at_its_deadline() {
    let mut node: TestNode = Node::new(config(MachineId::ONE, 2), 0).unwrap();
    node.handle_timeout(0);
    assert_eq!(node.poll_event(), Some(Event::Dial(ConnId(0))));
    node.handle_closed(ConnId(0), 1);
    // It dials again after the retry bound.
    node.handle_timeout(Timeouts::DEFAULT.retry_ns + 1);
    assert_eq!(node.poll_event(), Some(Event::Dial(ConnId(0))));
    node.handle_timeout(Timeouts::DEFAULT.setup_ns);
    let events: Vec<_> = core::iter::from_fn(|| node.poll_event()).collect();
    let failed = Status::SetupFailed(Missing {
        next: true,
        other: true,
    });
    assert_eq!(events.last(), Some(&Event::Ended(failed)));
    assert_eq!(node.poll_timeout(), None);
}

#[test]
fn a_dial_that_never_connects_is_given_up_and_tried_again() {
    let mut node: TestNode = Node::new(config(MachineId::ONE, 2), 0).unwrap();
    node.handle_timeout(0);
    assert_eq!(node.poll_event(), Some(Event::Dial(ConnId(0))));
    // The host's connect hangs (a peer that drops packets never refuses).
    let deadline = Timeouts::DEFAULT.handshake_ns;
    assert_eq!(node.poll_timeout(), Some(deadline));
    node.handle_timeout(deadline);
    assert_eq!(node.poll_event(), Some(Event::Close(ConnId(0))));
    node.handle_closed(ConnId(0), deadline);
    node.handle_timeout(deadline + Timeouts::DEFAULT.retry_ns);
    assert_eq!(node.poll_event(), Some(Event::Dial(ConnId(0))));
}

#[test]
fn a_start_in_the_past_or_before_the_barrier_is_refused() {
    let mut node: TestNode = Node::new(config(MachineId::ONE, 2), 0).unwrap();
    assert_eq!(node.handle_start(10, 0, 5), Err(StartError::NotReady));
    let mut t = Trio::new([1, 1, 1], |_| {});
    t.auto_start = false;
    t.run(50 * MS);
    assert!(t.all_barrier() && !t.started);
    assert_eq!(
        t.nodes[0].handle_start(t.now - 1, 0, t.now),
        Err(StartError::InPast)
    );
    assert_eq!(t.nodes[0].handle_start(t.now, 0, t.now), Ok(()));
    assert_eq!(
        t.nodes[0].handle_start(t.now, 0, t.now),
        Err(StartError::NotReady)
    );
}

#[test]
fn a_node_behind_schedule_runs_one_tick_per_call_and_says_overloaded() {
    let mut t = Trio::new([5, 5, 5], |_| {});
    t.run(100 * MS);
    // Machine 0's host freezes for half a second (2.5 tick periods).
    let late = t.now + 500 * MS;
    t.paused[0] = late;
    t.run(late);
    let before = t.nodes[0].report().tally.ticks;
    t.nodes[0].handle_timeout(late);
    assert_eq!(t.nodes[0].report().tally.ticks, before + 1);
    t.run(u64::MAX);
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 10);
    assert!(r.behind_ticks > 0 && r.max_late_ns >= 300 * MS, "{r:?}");
    assert_eq!(t.nodes[0].status(), Some(Status::Overloaded));
    assert_eq!(t.nodes[1].status(), Some(Status::Completed));
}

#[test]
fn records_come_out_with_the_model_rules() {
    let mut t = Trio::new([3, 3, 3], |_| {});
    t.run(u64::MAX);
    for n in 0..N {
        let recs = t.records(n);
        let mut last = 0;
        for r in &recs {
            assert!(r.clock > last);
            last = r.clock;
            if let Kind::Receive(m) = r.event {
                assert!(r.clock > m.clock);
            }
        }
    }
}

/// Review: a link to the next machine lost during set-up was never dialled
/// again, and the node failed its set-up at the deadline.
#[test]
fn a_link_to_the_next_machine_lost_in_set_up_is_dialled_again() {
    let mut b = Bench::new();
    let dial = join_as_one(&mut b);
    b.node.handle_closed(dial, b.now);
    b.drain();
    b.events.clear();
    let retry = b.now + Timeouts::DEFAULT.retry_ns;
    assert!(b.node.poll_timeout().unwrap() <= retry);
    b.node.handle_timeout(retry);
    b.drain();
    assert!(b.events.contains(&Event::Dial(ConnId(0))), "{:?}", b.events);
}

/// Review: a `Bye` before the barrier was taken silently as an on-time end.
/// Machine 0 with both hand-played peers up and ready: the barrier passed,
/// no start yet. Returns machine 1's and machine 2's connections.
fn bench_at_barrier() -> (Bench, ConnId, ConnId) {
    let mut b = Bench::new();
    b.node.handle_timeout(0);
    b.drain();
    let one = join_as_one(&mut b);
    let two = b.join_as_two();
    for conn in [one, two] {
        b.send(conn, &Frame::Ready);
    }
    assert!(b.events.contains(&Event::Barrier), "{:?}", b.events);
    (b, one, two)
}

#[test]
fn a_link_gone_between_the_barrier_and_the_start_ends_the_node_unstarted() {
    // A peer's Bye (it ended before the start) or a closed link after the
    // barrier: the node used to start anyway and run without that peer.
    // Now it ends at once, `peer lost`, closes the other link (so that its
    // peer ends too) and refuses the start.
    // The start not yet handed (a launcher's nodes), and handed but not
    // yet come (hand-started nodes get theirs with the barrier).
    for (bye, handed) in [(true, false), (false, false), (true, true), (false, true)] {
        let (mut b, one, two) = bench_at_barrier();
        if handed {
            b.node.handle_start(b.now + 1_000 * MS, 0, b.now).unwrap();
            b.now += 500 * MS;
        }
        if bye {
            b.send(one, &Frame::Bye { sent: 0 });
        } else {
            b.node.handle_closed(one, b.now);
            b.drain();
        }
        assert_eq!(b.node.status(), Some(Status::PeerLost), "{bye} {handed}");
        assert!(b.events.contains(&Event::Close(two)), "{bye} {handed}");
        assert_eq!(
            b.node.handle_start(b.now, 0, b.now),
            Err(StartError::NotReady)
        );
        b.node.handle_timeout(b.now + 2_000 * MS);
        let report = b.node.report();
        assert_eq!(report.tally.ticks, 0);
        assert_eq!(report.first_tick_ns, None);
    }
}

#[test]
fn a_bye_before_the_barrier_is_unexpected() {
    let (mut b, conn) = bench_with_link();
    b.send(conn, &Frame::Bye { sent: 0 });
    let bye = ProtocolError::Unexpected(wire::FrameKind::Bye);
    assert_eq!(b.node.report().errors.0[bye.kind()], 1);
    assert!(b.events.contains(&Event::Close(conn)));
}

/// The tie-break: a tick that runs late (here, its host frozen for two
/// seconds) takes only what had arrived by its due time; what came while
/// it was late waits for the next tick. Over 20 seeds, so that many messages
/// come while the machine is frozen.
#[test]
fn a_late_tick_takes_only_what_arrived_by_its_due_time() {
    let (mut came_while_frozen, mut late_ticks) = (0, 0);
    for seed in 0..20 {
        let (came, late) = late_ticks_take_nothing_that_came_late(seed);
        came_while_frozen += came;
        late_ticks += late;
    }
    assert!(late_ticks >= 200, "only {late_ticks} ticks ran late");
    assert!(
        came_while_frozen >= 20,
        "{came_while_frozen} messages came while frozen"
    );
}

/// Machine 0 frozen from 1 s to 3 s of a `seed`'s run; returns how many of
/// the messages it took had come while it was frozen, and how many of its
/// ticks ran late.
fn late_ticks_take_nothing_that_came_late(seed: u64) -> (usize, usize) {
    const UNIX: u64 = 1_000_000_000_000;
    let mut t = Trio::new([6, 6, 6], |c| {
        c.duration_ns = 6_000 * MS;
        c.seed = seed;
    });
    t.run(1_000 * MS);
    let (frozen, resumed) = (t.now, 3_000 * MS);
    t.paused[0] = resumed;
    t.run(u64::MAX);
    // Model time 0 is at 10 ms on the harness's clock, at Unix `UNIX`.
    let unix = |host_ns: u64| UNIX + host_ns - 10 * MS;
    let sent_at = |from: MachineId, seq: u64| {
        t.records(from.index()).iter().find_map(|r| {
            let mut out = r.outgoing();
            out.any(|(to, m)| to == MachineId::ZERO && m.seq == seq)
                .then_some(r.system_ns)
        })
    };
    let (mut came_while_frozen, mut late_ticks) = (0, 0);
    for r in t.records(0) {
        let due = UNIX + r.model_ns;
        late_ticks += usize::from(r.system_ns > due);
        let Kind::Receive(m) = r.event else { continue };
        let sent = sent_at(m.from, m.seq).expect("every receive has its send");
        // Instant links: a message arrives when sent, or when its receiver wakes.
        let arrived = if sent > unix(frozen) && sent < unix(resumed) {
            came_while_frozen += 1;
            unix(resumed)
        } else {
            sent
        };
        assert!(
            arrived <= due,
            "seed {seed}: tick {} took a message that came late",
            r.tick
        );
    }
    (came_while_frozen, late_ticks)
}

/// Review (issue 16): a peer's early `Bye` was answered once, when it came,
/// and never again while the run went on: when a send to that peer still
/// waited behind a full outbox, the stopped peer gave up on the link without
/// our `Bye`.
#[test]
fn an_early_bye_is_answered_once_the_sends_before_it_left() {
    let mut b = Bench::new();
    b.node = Node::new(config(MachineId::ZERO, 200), 0).unwrap();
    b.node.handle_timeout(0);
    b.drain();
    let one = join_as_one(&mut b);
    let two = b.join_as_two();
    for conn in [one, two] {
        b.send(conn, &Frame::Ready);
    }
    b.recv(one);
    b.recv(two);
    b.node.handle_start(b.now, 0, b.now).unwrap();
    // Machine 2 reads everything, machine 1 a frame per stall, until a send
    // to both waits for machine 1's room: one to machine 2 waits behind it.
    let (mut clocks_to_two, mut stalls_freed) = (0, 0);
    // Machine 1's frames are not decoded: a frame may wrap the outbox's end.
    let discard_one_frame = |b: &mut Bench| {
        while let Some(front) = b.node.poll_transmit(one) {
            let end = front.iter().position(|&x| x == 0);
            let n = end.map_or(front.len(), |i| i + 1);
            b.node.transmitted(one, n, b.now);
            if end.is_some() {
                return;
            }
        }
    };
    loop {
        b.now = b.node.poll_timeout().unwrap();
        b.node.handle_timeout(b.now);
        b.drain();
        clocks_to_two += b.recv(two).len() as u64;
        let r = b.node.report();
        if r.peers[2].unsent > 0 {
            break;
        }
        while stalls_freed < r.stalls {
            discard_one_frame(&mut b);
            stalls_freed += 1;
        }
        assert!(b.node.status().is_none(), "no stall: {r:?}");
    }
    // Machine 2 was stopped: its Bye comes early, while our send to it waits.
    b.send(two, &Frame::Bye { sent: 0 });
    assert_eq!(b.node.report().peers[2].lost, Some(CloseReason::EndedEarly));
    assert_eq!(b.recv(two), []);
    // Machine 1 reads: the waiting send to machine 2 is undeliverable now,
    // and our Bye goes, long before our end.
    while b.node.poll_transmit(one).is_some() {
        discard_one_frame(&mut b);
    }
    assert_eq!(b.node.report().peers[2].undeliverable, 1);
    assert_eq!(
        b.recv(two),
        [Frame::Bye {
            sent: clocks_to_two
        }]
    );
    assert!(b.node.status().is_none());
}

/// Bytes waiting on several connections at once are offered lowest sender
/// first, as the simulator queues arrivals at one instant; every slot once.
#[test]
fn bytes_that_wait_together_are_read_lowest_sender_first() {
    let mut t = Trio::new([2, 2, 2], |_| {});
    t.run(50 * MS);
    assert!(t.started);
    for n in 0..N {
        let node = &t.nodes[n];
        let order = node.read_order();
        let mut peers: Vec<(MachineId, ConnId)> = (0..2)
            .map(|i| (node.peer_of(i), node.links[i].conn.expect("a link is up")))
            .collect();
        peers.sort();
        assert_eq!(order[..2], [peers[0].1, peers[1].1], "machine {n}");
        let mut seen: Vec<usize> = order.iter().map(|c| c.index()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..CONNS).collect::<Vec<_>>(), "machine {n}");
    }
    // Machine 1 dials machine 2 (slot 0) but reads machine 0 first.
    let one = &t.nodes[1];
    assert_eq!(one.read_order()[0], one.links[1].conn.expect("up"));
    assert_ne!(one.read_order()[0], ConnId(0));
}
