//! In-memory protocol tests in the style of quinn's test `Pair`: three nodes
//! (or a node and a hand-played peer) wired by a harness in virtual time.

use std::vec::Vec;

use super::*;
use crate::wire::{Decoder, MAX_FRAME_LEN};
use crate::{Event as Kind, MachineId, N, Record, Stamp};

type TestNode = Node<8, 256>;

const KEY: Key = Key([42; 32]);
const MS: u64 = 1_000_000;

mod machines;
mod overload;
mod run;
mod set_up;

fn config(id: MachineId, rate: u32) -> Config {
    Config {
        id,
        rate,
        sides: 4,
        machines: 3,
        topology: crate::Topology::All,
        seed: 7,
        speed: 1,
        duration_ns: 2_000 * MS,
        key: KEY,
        nonce: 100 + u64::from(id.get()),
        timeouts: Timeouts::DEFAULT,
        skew: crate::ClockSkew::NONE,
    }
}

/// One end of a wired connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct End {
    node: usize,
    conn: ConnId,
}

/// Three nodes, instant links, and everything each one said.
struct Trio<H: Stamp = ()> {
    nodes: Vec<Node<8, 256, 3, CONNS, H>>,
    now: u64,
    /// Connections as pairs of ends; `None` once closed.
    wires: Vec<Option<(End, End)>>,
    events: [Vec<Event<3, H>>; N],
    /// The start was handed.
    started: bool,
    /// Hand the start once all three passed the barrier.
    auto_start: bool,
    /// A node frozen until this time: no timeouts, no bytes in or out.
    paused: [u64; N],
}

impl Trio {
    fn new(rates: [u32; N], tweak: impl Fn(&mut Config)) -> Self {
        Trio::build(rates, tweak)
    }
}

impl<H: Stamp> Trio<H> {
    /// Three nodes carrying the clock `H`.
    fn build(rates: [u32; N], tweak: impl Fn(&mut Config)) -> Self {
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

    fn act(&mut self, n: usize, e: Event<3, H>) {
        let now = self.now;
        match e {
            Event::Dial(conn) => {
                let peer = self.nodes[n].config().id.plus(1, 3).index();
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

    /// Runs until started, then machine 0 hears `frame` on machine 1's
    /// link, and the run goes on to its end.
    fn forge_on_link_one(&mut self, frame: &Frame) {
        self.run(50 * MS);
        assert!(self.started);
        let conn = conn_to_one(self);
        let mut buf = [0; MAX_FRAME_LEN];
        let bytes = wire::encode(frame, &mut buf).unwrap().to_vec();
        self.nodes[0].handle_bytes(conn, &bytes, self.now);
        self.run(u64::MAX);
    }

    fn records(&self, n: usize) -> Vec<Record<3, H>> {
        self.events[n]
            .iter()
            .filter_map(|e| match e {
                Event::Record(r) => Some(*r),
                _ => None,
            })
            .collect()
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

/// Machine 0 at 200 ticks a second with both links up and both
/// peers' `Ready` received: at the barrier. Returns machine 1's and 2's connections.
fn fast_zero_at_the_barrier() -> (Bench, ConnId, ConnId) {
    let mut b = Bench::new();
    b.node = Node::new(config(MachineId::ZERO, 200), 0).unwrap();
    to_the_barrier(b)
}

/// Machine 0 at 200 ticks a second, running, machine 2 lost to a protocol
/// error, and a tick's send to machine 1 stalled (nothing was transmitted);
/// then stopped. Returns machine 1's connection.
fn stalled_and_stopped_with_one_link_left() -> (Bench, ConnId) {
    let (mut b, one, two) = fast_zero_at_the_barrier();
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

/// Machine 0 with a hand-played machine 2 up and the barrier half-done.
fn bench_with_link() -> (Bench, ConnId) {
    let mut b = Bench::new();
    let conn = b.join_as_two();
    (b, conn)
}

/// Machine 0's connection to machine 1 in a running trio.
fn conn_to_one<H: Stamp>(t: &Trio<H>) -> ConnId {
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

/// Review: a `Bye` before the barrier was taken silently as an on-time end.
/// Machine 0 with both hand-played peers up and ready: the barrier passed,
/// no start yet. Returns machine 1's and machine 2's connections.
fn bench_at_barrier() -> (Bench, ConnId, ConnId) {
    to_the_barrier(Bench::new())
}

/// `b`'s node with both hand-played peers up and ready: the barrier
/// passed, no start yet. Returns machine 1's and machine 2's connections.
fn to_the_barrier(mut b: Bench) -> (Bench, ConnId, ConnId) {
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
