//! Writes the committed seed corpus, `corpus/<target>/`, from the real encoder.
//!
//! `cargo run --example seed_corpus` (in `fuzz/`). Every seed is checked here
//! to mean what its name says before it is written, so a change to the wire
//! format or to the targets' input layout fails loudly instead of leaving
//! stale seeds. The fuzzer adds its own finds next to them (not committed).

use std::fs;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use scalemodel_core::VectorClock;
use scalemodel_core::wire::{
    CHALLENGE_LEN, Decoder, Frame, MAX_FRAME_LEN, PROOF_LEN, PROTOCOL, encode,
};
use scalemodel_fuzz::join;

#[path = "../../fuzz_targets/ops.rs"]
mod ops;
use ops::{Input, Op};

#[path = "../../fuzz_targets/node_harness.rs"]
mod node_harness;
#[path = "../../fuzz_targets/node_ops.rs"]
mod node_ops;

mod node;

const FRAMES: [Frame; 9] = [
    Frame::Hello {
        protocol: PROTOCOL,
        from: 2,
        challenge: [0x11; CHALLENGE_LEN],
        proof: [0x33; PROOF_LEN],
    },
    Frame::Welcome {
        protocol: PROTOCOL,
        from: 0,
        challenge: [0x22; CHALLENGE_LEN],
        proof: [0x33; PROOF_LEN],
    },
    Frame::Proof {
        proof: [0x44; PROOF_LEN],
    },
    Frame::Ready,
    Frame::Clock {
        from: 1,
        clock: 300,
        seq: 0,
    },
    Frame::Bye { sent: 5 },
    Frame::Clock {
        from: u8::MAX,
        clock: u64::MAX,
        seq: u64::MAX,
    },
    Frame::HlcClock {
        from: 1,
        clock: 300,
        seq: 0,
        l: 1_700_000_000_000_000_000,
        c: 2,
    },
    Frame::VectorClock {
        from: 1,
        clock: 300,
        seq: 0,
        vector: VectorClock::EMPTY,
    },
];

/// The longest fixed-length frame: a `Welcome` with every field at its widest.
const WELCOME_MAX: Frame = Frame::Welcome {
    protocol: u16::MAX,
    from: u8::MAX,
    challenge: [0xFF; CHALLENGE_LEN],
    proof: [0xFF; PROOF_LEN],
};

/// The longest frame there is: a vector clock's of sixteen machines, every
/// number at its widest.
fn longest() -> Frame {
    Frame::VectorClock {
        from: u8::MAX,
        clock: u64::MAX,
        seq: u64::MAX,
        vector: VectorClock::from_entries(&[u32::MAX; 16]).expect("sixteen entries fit"),
    }
}

/// `FRAMES`, the vector clock's with three entries (a `const` cannot build it).
fn frames() -> Vec<Frame> {
    let mut frames = FRAMES.to_vec();
    if let Some(Frame::VectorClock { vector, .. }) = frames.last_mut() {
        *vector = VectorClock::from_entries(&[4, 7, 0]).expect("three entries fit");
    }
    frames
}

/// `Frame`'s variants, as `arbitrary` counts them (64-bit hosts).
const VARIANTS: u32 = 8;

fn encoded(frame: &Frame) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME_LEN];
    encode(frame, &mut buf).expect("any frame fits").to_vec()
}

fn decode(mut stream: &[u8]) -> Vec<Frame> {
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    while !stream.is_empty() {
        let feed = dec.feed(stream);
        out.extend(feed.event.and_then(Result::ok));
        stream = feed.rest;
    }
    out
}

/// A `decode_stream` input: the chunk sizes (each feeds `c + 1` bytes), then the stream.
fn stream_seed(chunks: &[u8], stream: &[u8], frames: &[Frame]) -> Vec<u8> {
    assert_eq!(decode(stream), frames, "the stream holds other frames");
    join(chunks, stream)
}

/// The bytes `arbitrary` reads as `variant` of an enum with `count` variants.
fn variant(index: u32, count: u32) -> [u8; 4] {
    let selector = (u64::from(index) << 32).div_ceil(u64::from(count));
    u32::try_from(selector)
        .expect("index < count")
        .to_le_bytes()
}

/// Appends the bytes `arbitrary` reads as `frame`.
fn frame_bytes(frame: &Frame, seed: &mut Vec<u8>) {
    match *frame {
        Frame::Hello {
            protocol,
            from,
            challenge,
            proof,
        } => {
            seed.extend(variant(0, VARIANTS));
            seed.extend(protocol.to_le_bytes());
            seed.push(from);
            seed.extend(challenge);
            seed.extend(proof);
        }
        Frame::Welcome {
            protocol,
            from,
            challenge,
            proof,
        } => {
            seed.extend(variant(1, VARIANTS));
            seed.extend(protocol.to_le_bytes());
            seed.push(from);
            seed.extend(challenge);
            seed.extend(proof);
        }
        Frame::Proof { proof } => {
            seed.extend(variant(2, VARIANTS));
            seed.extend(proof);
        }
        Frame::Ready => seed.extend(variant(3, VARIANTS)),
        Frame::Clock { from, clock, seq } => {
            seed.extend(variant(4, VARIANTS));
            seed.push(from);
            seed.extend(clock.to_le_bytes());
            seed.extend(seq.to_le_bytes());
        }
        Frame::Bye { sent } => {
            seed.extend(variant(5, VARIANTS));
            seed.extend(sent.to_le_bytes());
        }
        Frame::HlcClock {
            from,
            clock,
            seq,
            l,
            c,
        } => {
            seed.extend(variant(6, VARIANTS));
            seed.push(from);
            seed.extend(clock.to_le_bytes());
            seed.extend(seq.to_le_bytes());
            seed.extend(l.to_le_bytes());
            seed.extend(c.to_le_bytes());
        }
        Frame::VectorClock {
            from,
            clock,
            seq,
            vector,
        } => {
            seed.extend(variant(7, VARIANTS));
            seed.push(from);
            seed.extend(clock.to_le_bytes());
            seed.extend(seq.to_le_bytes());
            // Its length, one byte for a range of 17, then each entry.
            let entries = vector.entries();
            seed.push(u8::try_from(entries.len()).expect("at most sixteen"));
            for e in entries {
                seed.extend(e.to_le_bytes());
            }
        }
    }
}

/// A `frame_roundtrip` input for `frame`, checked to parse back to it.
fn frame_seed(frame: &Frame) -> Vec<u8> {
    let mut seed = Vec::new();
    frame_bytes(frame, &mut seed);
    // Taking the rest, `arbitrary` reads a trailing array whole, then its
    // last element again from what is left.
    if let Frame::Hello { proof: tail, .. }
    | Frame::Welcome { proof: tail, .. }
    | Frame::Proof { proof: tail } = frame
    {
        seed.extend(tail.last());
    }
    let parsed = Frame::arbitrary_take_rest(Unstructured::new(&seed)).expect("parses");
    assert_eq!(parsed, *frame, "the seed does not parse to its frame");
    seed
}

/// A `machine_ops` input for `input`, checked to parse back to it.
fn ops_seed(input: &Input) -> Vec<u8> {
    let mut seed = vec![input.id];
    seed.extend(input.rate.to_le_bytes());
    seed.push(input.sides);
    for op in &input.ops {
        seed.push(1); // "one more element", as `arbitrary` reads a Vec that takes the rest
        match *op {
            Op::Deliver {
                from,
                clock,
                seq,
                at_ns,
            } => {
                seed.extend(variant(0, 2));
                seed.push(from);
                seed.extend(clock.to_le_bytes());
                seed.extend(seq.to_le_bytes());
                seed.extend(at_ns.to_le_bytes());
            }
            Op::Tick {
                due_ns,
                system_ns,
                draw,
            } => {
                seed.extend(variant(1, 2));
                seed.extend(due_ns.to_le_bytes());
                seed.extend(system_ns.to_le_bytes());
                seed.extend(draw.to_le_bytes());
            }
        }
    }
    let parsed = Input::arbitrary_take_rest(Unstructured::new(&seed)).expect("parses");
    assert_eq!(&parsed, input, "the seed does not parse to its input");
    seed
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(name), bytes).expect("corpus file");
    println!("corpus/{target}/{name}: {} bytes", bytes.len());
}

fn main() {
    // decode_stream: valid frames in various chunkings, and garbage around them.
    let frames = frames();
    let all: Vec<u8> = frames.iter().flat_map(encoded).collect();
    write(
        "decode_stream",
        "all-frames-chunks-of-4",
        &stream_seed(&[3], &all, &frames),
    );
    write(
        "decode_stream",
        "all-frames-byte-by-byte",
        &stream_seed(&[0], &all, &frames),
    );
    let longest = longest();
    let max = encoded(&longest);
    assert_eq!(
        max.len(),
        MAX_FRAME_LEN,
        "longest() is not the longest frame"
    );
    write(
        "decode_stream",
        "longest-frame-mixed-chunks",
        &stream_seed(&[6, 0, 22, 1], &max, &[longest]),
    );
    let mut garbage = vec![0xFF; 2 * MAX_FRAME_LEN];
    garbage.push(0);
    garbage.extend([0x02, 0x08, 0x00]); // discriminant 8: no such frame
    garbage.extend(encoded(&Frame::Ready));
    garbage.extend([0x05, 0x02]); // truncated at the end
    write(
        "decode_stream",
        "garbage-then-ready",
        &stream_seed(&[9, 2], &garbage, &[Frame::Ready]),
    );
    let clocks: Vec<Frame> = (0..6)
        .map(|seq| Frame::Clock {
            from: 0,
            clock: 1 << (seq * 9),
            seq,
        })
        .collect();
    let stream: Vec<u8> = clocks.iter().flat_map(encoded).collect();
    write(
        "decode_stream",
        "clock-run",
        &stream_seed(&[0, 7, 1, 31, 2, 63, 3, 127], &stream, &clocks),
    );

    // frame_roundtrip: one of each kind.
    let names = [
        "hello",
        "welcome",
        "proof",
        "ready",
        "clock",
        "bye",
        "clock-max",
        "hlc-clock",
        "vector-clock",
    ];
    assert_eq!(names.len(), frames.len());
    for (name, frame) in names.iter().zip(&frames) {
        write("frame_roundtrip", name, &frame_seed(frame));
    }
    write("frame_roundtrip", "welcome-max", &frame_seed(&WELCOME_MAX));
    write("frame_roundtrip", "vector-clock-max", &frame_seed(&longest));

    // machine_ops: a full inbox, a few ticks of each face, an overflow, a
    // message that arrives while a tick is late.
    let deliver = |from, clock, seq| Op::Deliver {
        from,
        clock,
        seq,
        at_ns: 500,
    };
    let tick = |draw| Op::Tick {
        due_ns: 1_000,
        system_ns: 1_000,
        draw,
    };
    let face = |f: u64| (f << 60) + 1; // faces of a die of 16
    let mut ops: Vec<Op> = (0..5).map(|seq| deliver(0, 7 + seq, seq)).collect();
    ops.extend((0..6).map(|_| tick(0)));
    ops.extend((0..16).map(|f| tick(face(f))));
    let input = Input {
        id: 1,
        rate: 6,
        sides: 16,
        ops,
    };
    write(
        "machine_ops",
        "full-inbox-then-every-face",
        &ops_seed(&input),
    );
    let input = Input {
        id: 2,
        rate: 1,
        sides: 4,
        ops: vec![
            deliver(1, u64::MAX - 1, 0),
            tick(0),
            deliver(0, 3, 0),
            tick(0),
            tick(face(1)),
        ],
    };
    write("machine_ops", "clock-overflow", &ops_seed(&input));
    let input = Input {
        id: 0,
        rate: 2,
        sides: 10,
        ops: vec![
            Op::Deliver {
                from: 1,
                clock: 9,
                seq: 0,
                at_ns: 1_500,
            },
            Op::Tick {
                due_ns: 1_000,
                system_ns: 2_000,
                draw: face(4),
            },
            Op::Tick {
                due_ns: 1_500,
                system_ns: 2_000,
                draw: 0,
            },
        ],
    };
    write("machine_ops", "arrived-while-late", &ops_seed(&input));

    node::seeds();
    serial_seeds();
}

/// serial_frames: a board's line both ways, every frame kind, byte by byte
/// and in mixed chunks, each seed checked to read back whole.
fn serial_seeds() {
    use postcard::accumulator::{CobsAccumulator, FeedResult};
    use scalemodel_core::serial::{self, Down, FRAME_MAX, Up};
    type Up3<'a> = Up<'a, 3>;

    fn frame<T: serde::Serialize>(frame: &T) -> Vec<u8> {
        let mut buf = [0; FRAME_MAX];
        serial::encode(frame, &mut buf).expect("fits").to_vec()
    }
    /// How many `$frame`s `stream` holds, each read whole.
    macro_rules! count {
        ($frame:ty, $stream:expr) => {{
            let mut acc = CobsAccumulator::<FRAME_MAX>::new();
            let (mut n, mut stream): (usize, &[u8]) = (0, $stream);
            while !stream.is_empty() {
                stream = match acc.feed_ref::<$frame>(stream) {
                    FeedResult::Consumed => break,
                    FeedResult::Success { remaining, .. } => {
                        n += 1;
                        remaining
                    }
                    _ => panic!("a seed's frame does not read back"),
                };
            }
            n
        }};
    }
    let data = [0, 1, 2, 0, 255];
    let downs = [
        frame(&Down::Sync),
        frame(&Down::Start {
            at_ns: 1 << 40,
            unix_ns: 1_700_000_000_000_000_000,
        }),
        frame(&Down::Connected { slot: 0, line: 0 }),
        frame(&Down::DialFailed { slot: 0 }),
        frame(&Down::Accepted { line: 1 }),
        frame(&Down::Credit {
            line: 1,
            bytes: 4096,
        }),
        frame(&Down::Bytes {
            line: 1,
            data: &data,
        }),
        frame(&Down::Closed { line: 1 }),
        frame(&Down::Stop),
    ];
    let ups = [
        frame(&Up3::Booted {
            version: serial::VERSION,
        }),
        frame(&Up3::Built { refused: None }),
        frame(&Up3::Dial { slot: 0, peer: 0 }),
        frame(&Up3::Credit {
            line: 0,
            bytes: 128,
        }),
        frame(&Up3::Bytes {
            line: 0,
            data: &data,
        }),
        frame(&Up3::Time { now_ns: 1 << 33 }),
        frame(&Up3::Ready),
        frame(&Up3::Started { refused: None }),
        frame(&Up3::Record(b"2,0,0,1700000000000000000,internal,1,0,,,\n")),
        frame(&Up3::Close { line: 0 }),
        frame(&Up3::Fault("a frame that does not decode")),
    ];
    let down: Vec<u8> = downs.concat();
    let up: Vec<u8> = ups.concat();
    assert_eq!(count!(Down<'_>, &down), downs.len());
    assert_eq!(count!(Up3<'_>, &up), ups.len());
    write("serial_frames", "down-byte-by-byte", &join(&[0], &down));
    write(
        "serial_frames",
        "up-mixed-chunks",
        &join(&[6, 0, 22, 1], &up),
    );
    let mut garbage = vec![0xFF; 2 * FRAME_MAX];
    garbage.push(0);
    garbage.extend(&ups[6]);
    write(
        "serial_frames",
        "overfull-then-ready",
        &join(&[63, 2], &garbage),
    );
}
