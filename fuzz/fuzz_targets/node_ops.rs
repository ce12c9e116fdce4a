//! The input of the `node_protocol` target, shared with the seed generator
//! (`examples/seed_corpus.rs`) so that its seeds parse as intended.
//!
//! Every field maps onto a valid value (no input is skipped): the fuzzer
//! spends its bytes on what happens, not on finding a valid configuration.

use arbitrary::Arbitrary;
use scalemodel_core::wire::{Challenge, Frame};

/// Machine 0's parameters and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct NodeInput {
    /// Ticks per model second: `1 + rate`.
    pub rate: u8,
    /// Faces of the die: `4 + sides % 13`.
    pub sides: u8,
    /// Model time runs `1 + speed` times faster than the host's clock.
    pub speed: u8,
    /// The run's length in model ms.
    pub duration_ms: u32,
    /// The run's seed; the node's challenges come from it too.
    pub seed: u64,
    /// What happens, in order.
    pub ops: Vec<NodeOp>,
}

/// One thing the host or a peer does. A `conn` names a slot by `conn % 8`;
/// an op on a slot the node never named (by `Dial` or an accept) does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum NodeOp {
    /// The host accepts a connection (`handle_accepted`).
    Accept,
    /// The host's dial of slot 0 connected (`handle_connected`).
    Connected,
    /// The peer sends these bytes; the node is offered what it has not used.
    Bytes {
        /// The slot.
        conn: u8,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// The peer sends this frame.
    Frame {
        /// The slot.
        conn: u8,
        /// The frame.
        frame: Frame,
    },
    /// The peer takes the next handshake step with a correct proof, after
    /// taking what the node sent: a `Welcome` from machine 1 to the node's
    /// `Hello`, a `Proof` to its `Welcome`, else a `Hello` from machine 2.
    Handshake {
        /// The slot.
        conn: u8,
        /// The peer's challenge, if the step has one.
        challenge: Challenge,
    },
    /// The peer sends a `Clock` frame with its id and its next `seq` on the slot.
    Clock {
        /// The slot.
        conn: u8,
        /// The clock it carries.
        clock: u64,
    },
    /// The peer sends `Bye` with the `Clock` frames it sent by [`NodeOp::Clock`].
    Bye {
        /// The slot.
        conn: u8,
    },
    /// The node is offered again what it has not used on the slot, whether it
    /// can read or not.
    Read {
        /// The slot.
        conn: u8,
    },
    /// The host transmits up to `max` bytes of what `poll_transmit` gives.
    Transmit {
        /// The slot.
        conn: u8,
        /// The most bytes.
        max: u16,
    },
    /// The host's connection closed (`handle_closed`).
    Closed {
        /// The slot.
        conn: u8,
    },
    /// Time passes by `ns`, then `handle_timeout`.
    Wait {
        /// Host-clock ns.
        ns: u32,
    },
    /// Time leaps by `ns` (saturating), then `handle_timeout`.
    Leap {
        /// Host-clock ns.
        ns: u64,
    },
    /// Time moves to `poll_timeout` (if later), then `handle_timeout`.
    Timeout,
    /// The host hands the start time, `delay_ns` from now (`handle_start`).
    Start {
        /// From now to the start, in host-clock ns; negative is in the past.
        delay_ns: i32,
        /// Unix ns of the start.
        unix_ns: u64,
    },
    /// The host stops the node (`handle_stop`).
    Stop,
}
