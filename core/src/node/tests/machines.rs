//! `n` nodes of capacity 16 (4 to 16 machines, each topology) wired by a
//! harness in virtual time: they connect as the topology says, pass the
//! barrier, run and end cleanly, every message accounted for.

use super::*;
use crate::Topology;
use std::{format, vec};

type Wide = Node<64, 1024, 16, 24>;

/// `n` nodes, instant links, and everything each one said.
struct Group {
    nodes: Vec<Wide>,
    now: u64,
    wires: Vec<Option<(End, End)>>,
    events: Vec<Vec<Event<16>>>,
    started: bool,
}

impl Group {
    fn new(n: u8, topology: Topology) -> Self {
        let nodes = MachineId::all(n)
            .map(|id| {
                let mut c = config(id, 2 + u32::from(id.get()) % 5);
                c.machines = n;
                c.topology = topology;
                c.sides = crate::Die::default_sides(n);
                c.duration_ns = 20_000 * MS;
                Node::new(c, 0).expect("a valid node")
            })
            .collect();
        Self {
            nodes,
            now: 0,
            wires: Vec::new(),
            events: vec![Vec::new(); usize::from(n)],
            started: false,
        }
    }

    fn remote(&self, end: End) -> Option<End> {
        self.wires.iter().flatten().find_map(|&(a, b)| match () {
            () if a == end => Some(b),
            () if b == end => Some(a),
            () => None,
        })
    }

    fn carry(&mut self, from: End, to: End) -> bool {
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

    fn settle(&mut self) {
        for _ in 0..100_000 {
            let mut busy = false;
            for n in 0..self.nodes.len() {
                while let Some(e) = self.nodes[n].poll_event() {
                    busy = true;
                    self.events[n].push(e);
                    self.act(n, e);
                }
            }
            for w in 0..self.wires.len() {
                if let Some((a, b)) = self.wires[w] {
                    busy |= self.carry(a, b) | self.carry(b, a);
                }
            }
            if !busy {
                return;
            }
        }
        panic!("the group never settled");
    }

    fn act(&mut self, n: usize, e: Event<16>) {
        let now = self.now;
        match e {
            Event::Dial(conn) => {
                let peer = self.nodes[n]
                    .dial_target(conn)
                    .expect("a dial slot")
                    .index();
                let accepted = self.nodes[peer].handle_accepted(now).expect("a free slot");
                self.nodes[n].handle_connected(conn, now);
                let ends = (
                    End { node: n, conn },
                    End {
                        node: peer,
                        conn: accepted,
                    },
                );
                self.wires.push(Some(ends));
            }
            Event::Close(conn) => {
                let end = End { node: n, conn };
                if let Some(remote) = self.remote(end) {
                    self.carry(end, remote);
                    for w in &mut self.wires {
                        if w.is_some_and(|(a, b)| a == end || b == end) {
                            *w = None;
                        }
                    }
                    self.nodes[remote.node].handle_closed(remote.conn, now);
                }
                self.nodes[n].handle_closed(conn, now);
            }
            Event::Barrier if !self.started => {
                let all = (0..self.nodes.len()).all(|m| self.events[m].contains(&Event::Barrier));
                if all {
                    self.started = true;
                    for node in &mut self.nodes {
                        node.handle_start(now + 10 * MS, 1_000_000_000_000, now)
                            .unwrap();
                    }
                }
            }
            _ => {}
        }
    }

    fn run(&mut self) {
        self.settle();
        // Bounded: every turn moves time to the next timeout.
        for _ in 0..1_000_000 {
            let Some(next) = self.nodes.iter().filter_map(Node::poll_timeout).min() else {
                return;
            };
            self.now = next.max(self.now);
            for node in &mut self.nodes {
                if node.poll_timeout().is_some_and(|t| t <= self.now) {
                    node.handle_timeout(self.now);
                }
            }
            self.settle();
        }
        panic!("the group never ended");
    }
}

#[test]
fn n_nodes_connect_run_and_end_cleanly_in_each_topology() {
    for n in [4, 5, 8, 16] {
        for topology in [Topology::All, Topology::Ring, Topology::Leader] {
            let mut g = Group::new(n, topology);
            g.run();
            let label = format!("{n} machines, {topology}");
            let mut moved = 0;
            for (m, node) in g.nodes.iter().enumerate() {
                assert_eq!(node.status(), Some(Status::Completed), "{label}: {m}");
                let me = node.config().id;
                for e in &g.events[m] {
                    let Event::Record(r) = e else { continue };
                    for (to, _) in r.outgoing() {
                        assert!(topology.sends(me, to, n), "{label}: {me} sent to {to}");
                    }
                }
                for to in MachineId::all(n).filter(|&p| topology.sends(me, p, n)) {
                    let s = node.report().peers[to.index()];
                    let r = g.nodes[to.index()].report().peers[me.index()];
                    assert_eq!(s.unsent + s.undeliverable, 0, "{label}");
                    assert_eq!(
                        s.sent,
                        r.received + r.queued + r.after_end,
                        "{label}: {me}->{to}"
                    );
                    assert_eq!(r.peer_sent, Some(s.sent), "{label}: {me}->{to}");
                    moved += s.sent;
                }
            }
            assert!(moved > 0, "{label}: no message moved");
        }
    }
}

#[test]
fn a_node_whose_links_do_not_fit_its_slots_is_refused() {
    let mut c = config(MachineId::ZERO, 2);
    (c.machines, c.topology, c.sides) = (16, Topology::All, 23);
    assert_eq!(
        Node::<4, 128, 16, 8>::new(c.clone(), 0).err(),
        Some(ConfigError::Conns {
            links: 15,
            slots: 8
        })
    );
    assert_eq!(
        Node::<4, 128, 3>::new(c, 0).err(),
        Some(ConfigError::Capacity {
            machines: 16,
            capacity: 3
        })
    );
}
