//! The `node_protocol` seeds: machine 0 through a handshake, a run, its end
//! and its faults, each run through the harness and checked to do what its
//! name says.

use arbitrary::{Arbitrary, Unstructured};
use scalemodel_core::node::Status;
use scalemodel_core::wire::{CHALLENGE_LEN, Frame, PROOF_LEN, PROTOCOL};

use super::{frame_bytes, variant, write};
use crate::node_harness::{Harness, Summary};
use crate::node_ops::{NodeInput, NodeOp};

/// Appends the bytes `arbitrary` reads as `op`.
fn node_op_bytes(op: &NodeOp, seed: &mut Vec<u8>) {
    const OPS: u32 = 15;
    let mut tag = |index| seed.extend(variant(index, OPS));
    match *op {
        NodeOp::Accept => tag(0),
        NodeOp::Connected => tag(1),
        NodeOp::Bytes { conn, ref bytes } => {
            tag(2);
            seed.push(conn);
            for &b in bytes {
                seed.extend([1, b]); // "one more byte", as `arbitrary` reads a Vec
            }
            seed.push(0);
        }
        NodeOp::Frame { conn, frame } => {
            tag(3);
            seed.push(conn);
            frame_bytes(&frame, seed);
        }
        NodeOp::Handshake { conn, challenge } => {
            tag(4);
            seed.push(conn);
            seed.extend(challenge);
        }
        NodeOp::Clock { conn, clock } => {
            tag(5);
            seed.push(conn);
            seed.extend(clock.to_le_bytes());
        }
        NodeOp::Bye { conn } => {
            tag(6);
            seed.push(conn);
        }
        NodeOp::Read { conn } => {
            tag(7);
            seed.push(conn);
        }
        NodeOp::Transmit { conn, max } => {
            tag(8);
            seed.push(conn);
            seed.extend(max.to_le_bytes());
        }
        NodeOp::Closed { conn } => {
            tag(9);
            seed.push(conn);
        }
        NodeOp::Wait { ns } => {
            tag(10);
            seed.extend(ns.to_le_bytes());
        }
        NodeOp::Leap { ns } => {
            tag(11);
            seed.extend(ns.to_le_bytes());
        }
        NodeOp::Timeout => tag(12),
        NodeOp::Start { delay_ns, unix_ns } => {
            tag(13);
            seed.extend(delay_ns.to_le_bytes());
            seed.extend(unix_ns.to_le_bytes());
        }
        NodeOp::Stop => tag(14),
    }
}

/// A `node_protocol` input, checked to parse back to `input` and to run
/// through the harness to a summary that passes `check`.
fn node_seed(input: &NodeInput, check: impl Fn(&Summary) -> bool) -> Vec<u8> {
    let mut seed = vec![input.rate, input.sides, input.speed];
    seed.extend(input.duration_ms.to_le_bytes());
    seed.extend(input.seed.to_le_bytes());
    for op in &input.ops {
        seed.push(1); // "one more element"
        node_op_bytes(op, &mut seed);
    }
    let parsed = NodeInput::arbitrary_take_rest(Unstructured::new(&seed)).expect("parses");
    assert_eq!(&parsed, input, "the seed does not parse to its input");
    let summary = Harness::run(input);
    assert!(check(&summary), "the seed does something else: {summary:?}");
    seed
}

/// Dial machine 1, accept machine 2, both handshakes with correct proofs,
/// then `Ready` from both peers: the barrier.
fn join() -> Vec<NodeOp> {
    let step = |conn, c| NodeOp::Handshake {
        conn,
        challenge: [c; CHALLENGE_LEN],
    };
    vec![
        NodeOp::Timeout, // at 0: Dial
        NodeOp::Connected,
        step(0, 1), // Welcome from machine 1
        NodeOp::Accept,
        step(1, 2), // Hello from machine 2
        step(1, 0), // Proof
        step(0, 0), // Ready
        step(1, 0), // Ready
    ]
}

/// Machine 0's input: `rate` ticks per second, a die of 4, real time.
fn node_input(rate: u8, duration_ms: u32, ops: Vec<NodeOp>) -> NodeInput {
    NodeInput {
        rate: rate - 1,
        sides: 0,
        speed: 0,
        duration_ms,
        seed: 7,
        ops,
    }
}

const START: NodeOp = NodeOp::Start {
    delay_ns: 0,
    unix_ns: 1_700_000_000_000_000_000,
};

/// Each peer's messages, the node's ticks and its frames out, `rounds` times.
fn rounds(rounds: u64) -> Vec<NodeOp> {
    let mut ops = Vec::new();
    for k in 0..rounds {
        ops.extend([
            NodeOp::Clock {
                conn: 0,
                clock: 10 + 3 * k,
            },
            NodeOp::Clock {
                conn: 1,
                clock: 20 + 2 * k,
            },
        ]);
        ops.extend(ticks(1));
    }
    ops
}

/// `n` ticks (or other timeouts), each followed by transmitting everything.
fn ticks(n: usize) -> Vec<NodeOp> {
    let out = |conn| NodeOp::Transmit {
        conn,
        max: u16::MAX,
    };
    (0..n)
        .flat_map(|_| [NodeOp::Timeout, out(0), out(1)])
        .collect()
}

/// Writes the `node_protocol` seeds.
pub fn seeds() {
    let target = "node_protocol";
    let ok = |s: &Summary| s.errors == 0 && s.protocol_events == 0;

    let mut ops = join();
    ops.push(START);
    ops.extend(rounds(2));
    ops.extend(ticks(5));
    let input = node_input(4, 2_000, ops);
    write(
        target,
        "handshake-ready-clocks",
        &node_seed(&input, |s| {
            ok(s) && s.barrier && s.receives == 4 && s.clocks_said > 0 && s.status.is_none()
        }),
    );

    // 4 ticks in a model second, then both Byes: completed.
    let mut ops = join();
    ops.push(START);
    ops.extend(rounds(1));
    ops.extend(ticks(4));
    ops.extend([NodeOp::Bye { conn: 0 }, NodeOp::Bye { conn: 1 }]);
    ops.extend([NodeOp::Closed { conn: 0 }, NodeOp::Closed { conn: 1 }]);
    let input = node_input(4, 1_000, ops);
    write(
        target,
        "clean-end",
        &node_seed(&input, |s| {
            ok(s) && s.records == 4 && s.status == Some(Status::Completed)
        }),
    );

    // Machine 2 says Bye at once, then sends a Clock: one error, counted,
    // though no event names it (its link was already lost).
    let mut ops = join();
    ops.push(START);
    ops.extend(ticks(1));
    ops.extend([NodeOp::Bye { conn: 1 }, NodeOp::Clock { conn: 1, clock: 9 }]);
    ops.extend(ticks(2));
    let input = node_input(4, 2_000, ops);
    write(
        target,
        "early-bye-then-clock",
        &node_seed(&input, |s| s.errors == 1 && s.protocol_events == 0),
    );

    // Taking the last slot evicts the oldest stranger, and the next accept
    // is refused; a wrong id, garbage, a wrong proof and a wrong version each
    // close their stranger; the set-up times out.
    let mut ops = vec![NodeOp::Timeout];
    ops.extend((0..8).map(|_| NodeOp::Accept));
    ops.push(NodeOp::Closed { conn: 1 });
    let hello = |protocol, from| NodeOp::Frame {
        conn: 0,
        frame: Frame::Hello {
            protocol,
            from,
            challenge: [5; CHALLENGE_LEN],
            proof: [0; PROOF_LEN],
        },
    };
    let on = |conn, op: NodeOp| match op {
        NodeOp::Frame { frame, .. } => NodeOp::Frame { conn, frame },
        other => other,
    };
    let mut garbage = vec![0x55; 50];
    garbage.push(0);
    ops.extend([
        on(2, hello(PROTOCOL, 1)),
        NodeOp::Bytes {
            conn: 3,
            bytes: garbage,
        },
        NodeOp::Handshake {
            conn: 4,
            challenge: [6; CHALLENGE_LEN],
        },
        NodeOp::Frame {
            conn: 4,
            frame: Frame::Proof {
                proof: [0; PROOF_LEN],
            },
        },
        on(5, hello(PROTOCOL + 1, 2)),
        NodeOp::Wait { ns: 3_000_000_000 },
        NodeOp::Timeout,
    ]);
    let input = node_input(2, 1_000, ops);
    write(
        target,
        "strangers-and-bad-handshakes",
        &node_seed(&input, |s| {
            s.errors == 4
                && s.protocol_events == 4
                && matches!(s.status, Some(Status::SetupFailed(_)))
        }),
    );

    // Machine 2 proves itself, loses its connection before any Ready and
    // joins again: each link still says Ready once, and the barrier passes.
    let mut ops = join();
    let readies = ops.split_off(6);
    ops.extend([NodeOp::Closed { conn: 1 }, NodeOp::Accept]);
    ops.extend(join().drain(4..6)); // Hello, Proof
    ops.extend(readies);
    ops.extend(ticks(1));
    let input = node_input(2, 1_000, ops);
    write(
        target,
        "peer-rejoins-during-set-up",
        &node_seed(&input, |s| ok(s) && s.barrier && !s.started),
    );

    // Machine 2 breaks the protocol; nothing goes out to machine 1 until a
    // send to it stalls; stopped, the node loses machine 1 too, by an error
    // or by the host's close: that ends the run, and no connection is asked
    // to close twice, or after `Ended`.
    let bad = |conn| NodeOp::Bytes {
        conn,
        bytes: vec![0x55, 0x00],
    };
    for (name, last, errors) in [
        ("last-link-lost-while-stalled", bad(0), 2),
        (
            "last-link-closed-while-stalled",
            NodeOp::Closed { conn: 0 },
            1,
        ),
    ] {
        let mut ops = join();
        ops.extend([START, bad(1)]);
        ops.extend((0..150).map(|_| NodeOp::Wait { ns: 5_000_000 }));
        ops.extend([NodeOp::Stop, last]);
        let input = node_input(200, 2_000, ops);
        let check = |s: &Summary| {
            s.errors == errors && s.stalls > 0 && s.status == Some(Status::Interrupted)
        };
        write(target, name, &node_seed(&input, check));
    }

    // Twelve messages from machine 2 before a tick: the inbox (8) fills and
    // reading holds until ticks take messages off it.
    let mut ops = join();
    ops.push(START);
    ops.extend((0..12).map(|k| NodeOp::Clock {
        conn: 1,
        clock: 100 + k,
    }));
    for _ in 0..4 {
        ops.extend(ticks(1));
        ops.push(NodeOp::Read { conn: 1 });
    }
    let input = node_input(6, 2_000, ops);
    write(
        target,
        "full-inbox-holds-reading",
        &node_seed(&input, |s| ok(s) && s.short_reads > 0 && s.receives == 4),
    );

    // Stopped mid-run; the peers never say Bye: interrupted at the bound.
    let mut ops = join();
    ops.push(START);
    ops.extend(rounds(2));
    ops.push(NodeOp::Stop);
    ops.extend(ticks(1));
    ops.push(NodeOp::Leap { ns: u64::MAX });
    let input = node_input(3, 60_000, ops);
    write(
        target,
        "stop-then-no-bye",
        &node_seed(&input, |s| ok(s) && s.status == Some(Status::Interrupted)),
    );
}
