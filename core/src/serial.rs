//! A node's connections and its host's control over one serial line: how a
//! node on a board takes part in a networked run (docs/MCU.md).
//!
//! The board runs a [node](crate::node::Node); a host on the other end of
//! its serial line (the board's bridge) holds the TCP sockets, the files
//! and the run's launcher. One byte stream each way carries everything, as
//! frames: postcard, COBS-encoded and ended by `0x00`, as the
//! [wire](crate::wire)'s (a receiver finds the next frame after any bad
//! byte). The host sends [`Down`] frames, the board [`Up`] frames. Since
//! one stream carries them all, they keep their order: the bytes a node
//! sent on a connection come before its [`Up::Close`], and a record before
//! the bytes of its send.
//!
//! **Lines.** A connection is a *line*, numbered by the host, and a line
//! number is never given twice in a run: bytes still on their way for a
//! closed line can therefore never reach a newer connection. A dial
//! ([`Up::Dial`]) is answered by [`Down::Connected`] or
//! [`Down::DialFailed`]; a connection the host accepted is offered with
//! [`Down::Accepted`], and one the node refuses is closed by [`Up::Close`].
//! Either side ends a line: [`Up::Close`] (the node closed it) or
//! [`Down::Closed`] (the peer did).
//!
//! **Credit.** Neither side sends a line's bytes the other has no room
//! for, so that the line is never blocked by one connection and nothing is
//! dropped: the board grants the host [`Up::Credit`] for bytes towards the
//! node (the room in its buffer for the line, given again as the node takes
//! bytes), and the host grants the board [`Down::Credit`] for bytes towards
//! the peer (given again as its socket takes them). A node that reads
//! nothing more (its inbox full) grants nothing, and the peer's bytes wait
//! in TCP, as on Linux: the same backpressure. The host reads the line's
//! other frames (records, control) at once, whatever the credit.

use serde::{Deserialize, Serialize};

use crate::node::{self, CloseReason, Key, NodeReport, Timeouts};
use crate::{MachineId, Topology};

/// The version of these frames, in [`Up::Booted`]: a host refuses a board
/// of another.
pub const VERSION: u16 = 1;
/// The most bytes of a connection one frame carries.
pub const CHUNK: usize = 64;
/// The longest encoded frame either way, its delimiter included: a
/// [`Up::Ended`] report of three machines is the longest, at about 300 B.
pub const FRAME_MAX: usize = 512;

/// A connection on the line, numbered by the host; never reused in a run.
pub type Line = u16;

/// A node's parameters, as the host hands them to the board (the key
/// included: the serial line is the board's private channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// This machine.
    pub id: u8,
    /// Ticks per model second.
    pub rate: u32,
    /// Faces of the die.
    pub sides: u8,
    /// The run's number of machines.
    pub machines: u8,
    /// Which machines talk to which.
    pub topology: Topology,
    /// The run's seed.
    pub seed: u64,
    /// Model time per host time.
    pub speed: u32,
    /// The run's length in model ns.
    pub duration_ns: u64,
    /// The run's key.
    pub key: [u8; 32],
    /// Seeds the handshake's challenges (fresh entropy from the host).
    pub nonce: u64,
    /// [`Timeouts::setup_ns`].
    pub setup_ns: u64,
    /// [`Timeouts::handshake_ns`].
    pub handshake_ns: u64,
    /// [`Timeouts::bye_ns`].
    pub bye_ns: u64,
    /// [`Timeouts::retry_ns`].
    pub retry_ns: u64,
    /// [`Timeouts::end_skew_ns`].
    pub end_skew_ns: u64,
}

impl Setup {
    /// The parameters of `config`.
    pub const fn of(config: &node::Config) -> Self {
        let t = &config.timeouts;
        Self {
            id: config.id.get(),
            rate: config.rate,
            sides: config.sides,
            machines: config.machines,
            topology: config.topology,
            seed: config.seed,
            speed: config.speed,
            duration_ns: config.duration_ns,
            key: config.key.0,
            nonce: config.nonce,
            setup_ns: t.setup_ns,
            handshake_ns: t.handshake_ns,
            bye_ns: t.bye_ns,
            retry_ns: t.retry_ns,
            end_skew_ns: t.end_skew_ns,
        }
    }

    /// The node's parameters; `None` when the id is not below `machines`
    /// (the rest [`node::Node::new`] checks).
    pub fn config(&self) -> Option<node::Config> {
        Some(node::Config {
            id: MachineId::new(self.id, self.machines)?,
            rate: self.rate,
            sides: self.sides,
            machines: self.machines,
            topology: self.topology,
            seed: self.seed,
            speed: self.speed,
            duration_ns: self.duration_ns,
            key: Key(self.key),
            nonce: self.nonce,
            timeouts: Timeouts {
                setup_ns: self.setup_ns,
                handshake_ns: self.handshake_ns,
                bye_ns: self.bye_ns,
                retry_ns: self.retry_ns,
                end_skew_ns: self.end_skew_ns,
            },
            #[cfg(target_pointer_width = "64")]
            skew: crate::ClockSkew::NONE,
        })
    }
}

/// A frame from the host to the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Down<'a> {
    /// Build the node (once, after [`Up::Booted`]).
    Setup(Setup),
    /// Say the board's clock now: [`Up::Time`].
    Sync,
    /// Model time 0 is `at_ns` on the board's clock, which is Unix time
    /// `unix_ns`; the board answers [`Up::Started`].
    Start {
        /// On the board's clock, as [`Up::Time`] reads it.
        at_ns: u64,
        /// Model time 0 in Unix ns, for the records' `system_ns`.
        unix_ns: u64,
    },
    /// The dial of the node's connection slot `slot` connected, as `line`.
    Connected {
        /// The slot of [`Up::Dial`].
        slot: u8,
        /// The new line.
        line: Line,
    },
    /// The dial of slot `slot` failed.
    DialFailed {
        /// The slot of [`Up::Dial`].
        slot: u8,
    },
    /// The host accepted a connection, as `line`.
    Accepted {
        /// The new line.
        line: Line,
    },
    /// Bytes from the peer of `line`, within the board's credit.
    Bytes {
        /// The line.
        line: Line,
        /// At most [`CHUNK`] bytes.
        data: &'a [u8],
    },
    /// The peer of `line` closed it (or it failed).
    Closed {
        /// The line.
        line: Line,
    },
    /// The host's socket took `bytes` more of `line`'s.
    Credit {
        /// The line.
        line: Line,
        /// Bytes.
        bytes: u16,
    },
    /// End the run now, cleanly (the launcher said `stop`).
    Stop,
}

/// A frame from the board to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Up<'a, const M: usize = 3> {
    /// The board is up, speaking frames of `version`; it waits for
    /// [`Down::Setup`].
    Booted {
        /// [`VERSION`].
        version: u16,
    },
    /// The node was built; `None`, or why it was refused.
    Built {
        /// What [`node::Node::new`] said.
        refused: Option<&'a str>,
    },
    /// Dial the peer `peer` for connection slot `slot`.
    Dial {
        /// The slot, for [`Down::Connected`].
        slot: u8,
        /// The machine to dial.
        peer: u8,
    },
    /// The node takes `bytes` more of `line`'s.
    Credit {
        /// The line.
        line: Line,
        /// Bytes.
        bytes: u16,
    },
    /// Bytes for the peer of `line`, within the host's credit.
    Bytes {
        /// The line.
        line: Line,
        /// At most [`CHUNK`] bytes.
        data: &'a [u8],
    },
    /// The node closed `line` (or refused it).
    Close {
        /// The line.
        line: Line,
    },
    /// The start barrier passed.
    Ready,
    /// The board's clock when it wrote this frame, in answer to
    /// [`Down::Sync`]: the frame reaches the host at once (a UART's byte
    /// goes out as it is written), so the host maps the board's clock to
    /// its own from the earliest arrival of several.
    Time {
        /// ns on the board's clock.
        now_ns: u64,
    },
    /// The start was taken (`refused`: `None`), or why not.
    Started {
        /// What [`node::Node::handle_start`] said.
        refused: Option<&'a str>,
    },
    /// One line of the machine's log (`Record::write_line`'s, with its `\n`).
    Record(&'a [u8]),
    /// A peer proved the key: its link is up.
    Joined {
        /// The peer.
        peer: MachineId,
    },
    /// A connection that never joined the run was closed.
    Rejected {
        /// Why.
        reason: CloseReason,
    },
    /// A peer's link was lost.
    PeerLost {
        /// The peer.
        peer: MachineId,
        /// When, in model time, if the run had started.
        at_model_ns: Option<u64>,
        /// Why.
        reason: CloseReason,
    },
    /// The node ended; its report is final.
    Ended(NodeReport<M>),
    /// The board cannot go on: a frame it could not read, or a panic; the
    /// text says which and where.
    Fault(&'a str),
}

/// Encodes `frame` (postcard, COBS, `0x00`) into `buf`: `None` when it does
/// not fit.
pub fn encode<'b, T: Serialize>(frame: &T, buf: &'b mut [u8]) -> Option<&'b mut [u8]> {
    postcard::to_slice_cobs(frame, buf).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{CloseReason, PeerReport, ProtocolError, Status};
    use crate::wire::DecodeError;
    use postcard::accumulator::{CobsAccumulator, FeedResult};

    /// Encodes `frame` and reads it back through an accumulator, one byte
    /// at a time as the board does.
    fn round_trip<'de, T>(
        frame: &T,
        buf: &'de mut [u8],
        acc: &'de mut CobsAccumulator<FRAME_MAX>,
    ) -> T
    where
        T: Serialize + Deserialize<'de> + core::fmt::Debug,
    {
        let len = encode(frame, buf).expect("fits").len();
        assert!(len <= FRAME_MAX);
        let bytes = &buf[..len];
        let (last, head) = bytes.split_last().unwrap();
        assert_eq!(*last, 0, "a frame ends with its delimiter");
        assert!(!head.contains(&0), "and has no other zero");
        for i in 0..head.len() {
            assert!(matches!(acc.feed::<()>(&head[i..=i]), FeedResult::Consumed));
        }
        match acc.feed_ref::<T>(&bytes[len - 1..]) {
            FeedResult::Success { data, remaining } => {
                assert!(remaining.is_empty());
                data
            }
            _ => panic!("the frame does not read back"),
        }
    }

    fn config() -> node::Config {
        node::Config {
            id: MachineId::TWO,
            rate: 5,
            sides: 10,
            machines: 3,
            topology: Topology::Ring,
            seed: 42,
            speed: 10,
            duration_ns: 60_000_000_000,
            key: Key([7; 32]),
            nonce: 99,
            timeouts: Timeouts::DEFAULT,
            skew: crate::ClockSkew::NONE,
        }
    }

    #[test]
    fn a_setup_carries_every_parameter_of_the_node() {
        let setup = Setup::of(&config());
        assert_eq!(setup.config(), Some(config()));
        let (mut buf, mut acc) = ([0; FRAME_MAX], CobsAccumulator::new());
        let back = round_trip(&Down::Setup(setup.clone()), &mut buf, &mut acc);
        assert_eq!(back, Down::Setup(setup.clone()));
        // An id the run does not have is refused, not wrapped.
        let wrong = Setup { id: 3, ..setup };
        assert_eq!(wrong.config(), None);
    }

    #[test]
    fn every_frame_reads_back_as_it_was_written() {
        let data = [0, 1, 0, 255, 0];
        let downs = [
            Down::Sync,
            Down::Start {
                at_ns: u64::MAX,
                unix_ns: 1,
            },
            Down::Connected {
                slot: 0,
                line: Line::MAX,
            },
            Down::DialFailed { slot: 2 },
            Down::Accepted { line: 7 },
            Down::Bytes {
                line: 3,
                data: &data,
            },
            Down::Closed { line: 3 },
            Down::Credit {
                line: 3,
                bytes: u16::MAX,
            },
            Down::Stop,
        ];
        for frame in downs {
            let (mut buf, mut acc) = ([0; FRAME_MAX], CobsAccumulator::new());
            assert_eq!(round_trip(&frame, &mut buf, &mut acc), frame);
        }
        let mut report = node::Node::<8, 256>::new(config(), 0).unwrap().report();
        report.status = Some(Status::Completed);
        report.start_unix_ns = Some(u64::MAX);
        report.first_tick_ns = Some(3);
        report.tally.sent = [u64::MAX, 2, 3];
        report.tally.received = [4, 5, u64::MAX];
        report.errors.0 = [u64::MAX; ProtocolError::KINDS];
        report.peers[1] = PeerReport {
            sent: u64::MAX,
            peer_sent: Some(u64::MAX),
            lost_at_model_ns: Some(1),
            lost: Some(CloseReason::Protocol(ProtocolError::Seq {
                expected: u64::MAX,
                got: 0,
            })),
            ..PeerReport::default()
        };
        let longest = [b'9'; crate::LINE_MAX];
        let ups = [
            Up::Booted { version: VERSION },
            Up::Built {
                refused: Some("why"),
            },
            Up::Dial { slot: 0, peer: 1 },
            Up::Credit {
                line: 1,
                bytes: 128,
            },
            Up::Bytes {
                line: 1,
                data: &[0xff; CHUNK],
            },
            Up::Close { line: 1 },
            Up::Ready,
            Up::Time { now_ns: u64::MAX },
            Up::Started { refused: None },
            Up::Record(&longest),
            Up::Joined {
                peer: MachineId::ONE,
            },
            Up::Rejected {
                reason: CloseReason::Protocol(ProtocolError::Decode(DecodeError::BadCobs)),
            },
            Up::PeerLost {
                peer: MachineId::ZERO,
                at_model_ns: Some(u64::MAX),
                reason: CloseReason::NoBye,
            },
            Up::Ended(report),
            Up::Fault("a frame that does not decode"),
        ];
        for frame in ups {
            let (mut buf, mut acc) = ([0; FRAME_MAX], CobsAccumulator::new());
            assert_eq!(round_trip(&frame, &mut buf, &mut acc), frame);
        }
    }

    #[test]
    fn a_machine_id_past_the_largest_run_does_not_decode() {
        let mut buf = [0; 8];
        let bytes = postcard::to_slice(&16u8, &mut buf).unwrap();
        assert!(postcard::from_bytes::<MachineId>(bytes).is_err());
        let bytes = postcard::to_slice(&15u8, &mut buf).unwrap();
        assert_eq!(
            postcard::from_bytes::<MachineId>(bytes).ok(),
            MachineId::new(15, 16)
        );
    }
}
