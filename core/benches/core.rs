//! The core's hot paths, measured: one tick of each kind, the frame codec,
//! the streaming decoder over a large buffer, a running node's protocol
//! step, and the simulator with and without formatting its log.
//!
//! `cargo bench -p scalemodel-core` runs them; `docs/PERFORMANCE.md` keeps
//! the figures and what they mean. Nothing here is asserted: goals are met in
//! these figures, never in tests.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use scalemodel_core::digest::DigestSink;
use scalemodel_core::fault::Faults;
use scalemodel_core::node::{ConnId, Event, Key, Node, Timeouts};
use scalemodel_core::rng::{self, Stream};
use scalemodel_core::sim::{Config, Discard, Sim, Sink};
use scalemodel_core::wire::{self, Decoder, Frame, MAX_FRAME_LEN};
use scalemodel_core::{Die, LINE_MAX, Machine, MachineId, Message, N, Record, ticks_in};

/// A machine whose every tick is of one kind: a receive (its inbox refilled
/// each tick), a send (a die of 4 rolls 1..=3 most of the time) or an
/// internal event (a die of 255 faces rolls 4.. nearly always).
fn ticks(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick");
    g.throughput(Throughput::Elements(1));
    let mut dice = rng::stream(1, 3, Stream::Machine(MachineId::ZERO));
    let mut m: Machine<64> = Machine::new(MachineId::ZERO, 4, Die::THREE).unwrap();
    let mut k = 0u64;
    g.bench_function("receive", |b| {
        b.iter(|| {
            k += 1;
            let msg = Message {
                from: MachineId::ALL[1],
                clock: k,
                seq: k,
                stamp: (),
            };
            m.deliver(msg, 0).unwrap();
            black_box(m.tick(u64::MAX, k, &mut dice).unwrap())
        });
    });
    for (name, sides) in [("send_or_internal_d4", 4u8), ("internal_d255", 255)] {
        let mut m: Machine<64> =
            Machine::new(MachineId::ZERO, 4, Die::three(sides).unwrap()).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(m.tick(u64::MAX, 1, &mut dice).unwrap()));
        });
    }
    g.finish();
}

fn clock_frame(seq: u64) -> Frame {
    Frame::Clock {
        from: 1,
        clock: 1_000_000 + seq,
        seq,
    }
}

/// One `Clock` frame encoded, and decoded whole.
fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame");
    g.throughput(Throughput::Elements(1));
    let frame = clock_frame(123_456);
    let mut buf = [0u8; MAX_FRAME_LEN];
    g.bench_function("encode_clock", |b| {
        b.iter(|| black_box(wire::encode(black_box(&frame), &mut buf).unwrap().len()));
    });
    let bytes = wire::encode(&frame, &mut buf).unwrap().to_vec();
    g.bench_function("decode_clock", |b| {
        let mut d = Decoder::new();
        b.iter(|| black_box(d.feed(black_box(&bytes)).event));
    });
    g.finish();
}

/// The streaming decoder over 1 MiB-ish of back-to-back `Clock` frames,
/// fed in 4 KiB reads as a socket would hand them.
fn decoder(c: &mut Criterion) {
    const FRAMES: u64 = 100_000;
    let mut stream = Vec::new();
    let mut buf = [0u8; MAX_FRAME_LEN];
    for seq in 0..FRAMES {
        stream.extend_from_slice(wire::encode(&clock_frame(seq), &mut buf).unwrap());
    }
    let mut g = c.benchmark_group("decoder");
    g.throughput(Throughput::Elements(FRAMES));
    g.bench_function("clock_frames", |b| {
        b.iter(|| {
            let mut d = Decoder::new();
            let mut frames = 0u64;
            for read in stream.chunks(4096) {
                let mut rest = read;
                while !rest.is_empty() {
                    let feed = d.feed(rest);
                    frames += u64::from(matches!(feed.event, Some(Ok(_))));
                    rest = feed.rest;
                }
            }
            assert_eq!(frames, FRAMES);
        });
    });
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("clock_bytes", |b| {
        b.iter(|| {
            let mut d = Decoder::new();
            let mut rest = stream.as_slice();
            while !rest.is_empty() {
                rest = d.feed(rest).rest;
            }
        });
    });
    g.finish();
}

type BenchNode = Node<64, 256>;

/// Three nodes over instant links, driven until all three run: the harness
/// of the node benchmark.
struct Trio {
    nodes: Vec<BenchNode>,
    wires: Vec<((usize, ConnId), (usize, ConnId))>,
    barrier: [bool; N],
}

impl Trio {
    fn running() -> Self {
        let nodes = MachineId::ALL
            .iter()
            .map(|&id| {
                let config = scalemodel_core::node::Config {
                    id,
                    rate: 4,
                    sides: 10,
                    machines: 3,
                    topology: scalemodel_core::Topology::All,
                    seed: 7,
                    speed: 1,
                    duration_ns: u64::MAX / 4,
                    key: Key([42; 32]),
                    nonce: u64::from(id.get()),
                    timeouts: Timeouts::DEFAULT,
                    skew: scalemodel_core::ClockSkew::NONE,
                };
                Node::new(config, 0).unwrap()
            })
            .collect();
        let mut t = Self {
            nodes,
            wires: Vec::new(),
            barrier: [false; N],
        };
        for n in &mut t.nodes {
            n.handle_timeout(0);
        }
        for _ in 0..1_000 {
            if t.barrier.iter().all(|&b| b) {
                break;
            }
            t.settle();
        }
        for n in &mut t.nodes {
            n.handle_start(1, 0, 0).unwrap();
        }
        t
    }

    fn settle(&mut self) {
        for n in 0..N {
            while let Some(e) = self.nodes[n].poll_event() {
                match e {
                    Event::Dial(conn) => {
                        let peer = (n + 1) % N;
                        let theirs = self.nodes[peer].handle_accepted(0).unwrap();
                        self.nodes[n].handle_connected(conn, 0);
                        self.wires.push(((n, conn), (peer, theirs)));
                    }
                    Event::Barrier => self.barrier[n] = true,
                    _ => {}
                }
            }
        }
        for w in 0..self.wires.len() {
            let (a, b) = self.wires[w];
            for (from, to) in [(a, b), (b, a)] {
                if let Some(bytes) = self.nodes[from.0].poll_transmit(from.1) {
                    let bytes = bytes.to_vec();
                    let used = self.nodes[to.0].handle_bytes(to.1, &bytes, 0);
                    self.nodes[from.0].transmitted(from.1, used, 0);
                }
            }
        }
    }
}

/// A running node's protocol step: a `Clock` frame from a peer is read,
/// the tick that takes it runs, its events and bytes are drained.
fn node_step(c: &mut Criterion) {
    const STEPS: u64 = 1_000;
    let trio = Trio::running();
    // Machine 0's connection to machine 2, which dialled it.
    let (_, (_, conn)) = trio.wires[2];
    let node = trio.nodes[0].clone();
    let mut buf = [0u8; MAX_FRAME_LEN];
    let frames: Vec<Vec<u8>> = (0..STEPS)
        .map(|seq| {
            let f = Frame::Clock {
                from: 2,
                clock: seq + 10,
                seq,
            };
            wire::encode(&f, &mut buf).unwrap().to_vec()
        })
        .collect();
    let mut g = c.benchmark_group("node");
    g.throughput(Throughput::Elements(STEPS));
    g.bench_function("receive_step", |b| {
        b.iter_batched_ref(
            || node.clone(),
            |node| {
                let mut now = 1;
                for bytes in &frames {
                    let used = node.handle_bytes(conn, bytes, now);
                    assert_eq!(used, bytes.len());
                    now = node.poll_timeout().unwrap().max(now);
                    node.handle_timeout(now);
                    while let Some(e) = node.poll_event() {
                        let _ = black_box(e);
                    }
                }
                assert!(node.status().is_none());
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// Formats every record's CSV line, as the log writer does, into a buffer
/// that is reused: the simulator "with the log", without the disk.
#[derive(Default)]
struct Lines {
    bytes: u64,
}

impl Sink for Lines {
    type Error = core::convert::Infallible;
    fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
        let mut buf = [0u8; LINE_MAX];
        self.bytes += record.write_line(&mut buf).len() as u64;
        Ok(())
    }
}

/// A simulated model hour at rates 2,4,1 (seed 5's), with no log, with its
/// lines formatted, and hashed as `--digest` does; throughput in machine-ticks.
fn simulator(c: &mut Criterion) {
    let mut config = Config::new(5, [2, 4, 1]);
    config.duration_ns = 3_600_000_000_000;
    let machine_ticks: u64 = config
        .rates
        .iter()
        .map(|&r| ticks_in(config.duration_ns, r))
        .sum();
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.throughput(Throughput::Elements(machine_ticks));
    let mut sim: Box<Sim<8192, 4096>> = Box::new(Sim::new(config, Faults::none()).unwrap());
    g.bench_function("no_log", |b| {
        b.iter(|| {
            sim.reset(config, Faults::none()).unwrap();
            black_box(sim.run(&mut Discard).unwrap())
        });
    });
    g.bench_function("csv_lines", |b| {
        b.iter(|| {
            sim.reset(config, Faults::none()).unwrap();
            let mut lines = Lines::default();
            sim.run(&mut lines).unwrap();
            black_box(lines.bytes)
        });
    });
    g.bench_function("digest", |b| {
        b.iter(|| {
            sim.reset(config, Faults::none()).unwrap();
            let mut d = DigestSink::new();
            sim.run(&mut d).unwrap();
            black_box(d.value())
        });
    });
    g.finish();
}

criterion_group!(benches, ticks, codec, decoder, node_step, simulator);
criterion_main!(benches);
