//! What a node tells its host: events, end statuses, reasons and reports.

use core::fmt;

use crate::wire::{DecodeError, FrameKind};
use crate::{MachineId, Record, Tally};

/// A connection slot of a node, strangers' included; the host maps its
/// sockets (or simulated links) to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub(crate) u8);

impl ConnId {
    /// The slot's index, below [`super::CONNS`].
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection {}", self.0)
    }
}

/// Something the host must act on or may log, in the order it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "events tell the host what to do: drain them with poll_event"]
pub enum Event<const M: usize = 3, H = ()> {
    /// One tick's record: log it.
    Record(Record<M, H>),
    /// Open a connection for this dial slot to the machine
    /// [`super::Node::dial_target`] names (for three machines, the next
    /// one), then call `handle_connected` (or `handle_closed` if it failed).
    Dial(ConnId),
    /// Close this connection (what `poll_transmit` still gives may be sent
    /// first), then call `handle_closed`.
    Close(ConnId),
    /// A peer proved the run's key: its link is up.
    Joined(MachineId),
    /// A connection that never joined the run was closed.
    Rejected {
        /// Its slot.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
    /// A peer's link ended before a clean end of the run.
    PeerLost {
        /// The peer.
        peer: MachineId,
        /// Model ns since the start, if the run had started.
        at_model_ns: Option<u64>,
        /// Why.
        reason: CloseReason,
    },
    /// Both links are up and both peers are ready: hand the start time.
    Barrier,
    /// The node is done; its report is final.
    Ended(Status),
}

/// How a node's run ended. Only [`Status::Completed`] says the model held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Every tick ran on time, messages were read while ticks ran, and both
    /// links ended with a matching `Bye`.
    Completed,
    /// Told to stop before the end.
    Interrupted,
    /// A link broke, a peer ended early, sent no `Bye`, or broke the protocol.
    PeerLost,
    /// It stalled on a full outbox at least once (its later ticks ran
    /// late), or was still stalled when the run ended.
    Stalled,
    /// Could not keep its schedule: ticks were still owed at the end plus
    /// the catch-up grace, or more than [`super::BEHIND_MAX`] ticks were
    /// overdue at once and more than [`super::LATE_PERCENT_MAX`] in a
    /// hundred of its ticks ran late.
    Overloaded,
    /// The Lamport clock would have passed `u64::MAX`: the model stopped.
    ClockOverflow,
    /// The links or the start barrier did not come up in time.
    SetupFailed(Missing),
    /// The barrier passed but no start time came in time.
    NoStart,
}

impl Status {
    /// The word `params.json` uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Interrupted => "interrupted",
            Self::PeerLost => "peer lost",
            Self::Stalled => "stalled",
            Self::Overloaded => "overloaded",
            Self::ClockOverflow => "clock overflow",
            Self::SetupFailed(_) => "setup failed",
            Self::NoStart => "no start",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Which parts of the set-up were missing at its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Missing {
    /// A link this machine dials was not up (for three machines, the link
    /// to the next machine).
    pub next: bool,
    /// A link from a machine that dials this one was not up (for three
    /// machines, the other's).
    pub other: bool,
}

/// Why a connection was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CloseReason {
    /// The other side broke the protocol.
    Protocol(ProtocolError),
    /// The handshake did not finish within its bound.
    HandshakeTimeout,
    /// The other side closed the connection.
    Closed,
    /// The other side closed in the middle of a frame.
    Truncated,
    /// The connection was refused or failed.
    ConnectFailed,
    /// Unproven, and its slot was needed for a newer connection.
    Evicted,
    /// The peer said `Bye` before the run's end.
    EndedEarly,
    /// The peer sent no `Bye` within the bound after the end.
    NoBye,
    /// This node was stopped before its link came up.
    Stopped,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::HandshakeTimeout => f.write_str("the handshake did not finish in time"),
            Self::Closed => f.write_str("the connection closed"),
            Self::Truncated => f.write_str("the connection closed mid-frame"),
            Self::ConnectFailed => f.write_str("the connection failed"),
            Self::Evicted => f.write_str("unproven, and its slot went to a newer connection"),
            Self::EndedEarly => f.write_str("it said Bye before the run's end"),
            Self::NoBye => f.write_str("it sent no Bye in time after the end"),
            Self::Stopped => f.write_str("this machine was stopped"),
        }
    }
}

/// A rule of the link protocol the other side broke; the link closes at the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProtocolError {
    /// Bytes that do not decode to a frame.
    Decode(DecodeError),
    /// A frame that is not allowed where it came.
    Unexpected(FrameKind),
    /// A protocol version other than ours.
    Version(u16),
    /// A machine id that is not the one expected on this connection.
    WrongId(u8),
    /// The claimed id's link is already up; the first claimant keeps it.
    Taken(MachineId),
    /// A handshake proof that does not prove the run's key.
    BadProof,
    /// A `Clock` frame naming another sender than the link's peer.
    WrongSender(u8),
    /// A `Clock` frame out of sequence: a gap, a duplicate or a reordering.
    Seq {
        /// The `seq` due next.
        expected: u64,
        /// The `seq` that came.
        got: u64,
    },
    /// A `Bye` whose count differs from the `Clock` frames that came.
    ByeCount {
        /// What the `Bye` said.
        said: u64,
        /// `Clock` frames that came on the link.
        came: u64,
    },
}

impl ProtocolError {
    /// The number of kinds, for [`ErrorCounts`].
    pub const KINDS: usize = 9;

    /// This error's kind, `0..KINDS`, in declaration order.
    pub const fn kind(&self) -> usize {
        match self {
            Self::Decode(_) => 0,
            Self::Unexpected(_) => 1,
            Self::Version(_) => 2,
            Self::WrongId(_) => 3,
            Self::Taken(_) => 4,
            Self::BadProof => 5,
            Self::WrongSender(_) => 6,
            Self::Seq { .. } => 7,
            Self::ByeCount { .. } => 8,
        }
    }

    /// The name of kind `k` (as `params.json` and the summary spell it).
    pub const fn kind_name(k: usize) -> &'static str {
        match k {
            0 => "bad bytes",
            1 => "unexpected frame",
            2 => "wrong version",
            3 => "wrong id",
            4 => "id taken",
            5 => "bad proof",
            6 => "wrong sender",
            7 => "seq out of order",
            _ => "Bye count",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) => write!(f, "bad bytes ({e})"),
            Self::Unexpected(k) => write!(f, "an unexpected {k} frame"),
            Self::Version(v) => write!(
                f,
                "protocol version {v}, expected {}",
                crate::wire::PROTOCOL
            ),
            Self::WrongId(id) => write!(f, "it claims machine id {id}, not the one expected"),
            Self::Taken(id) => write!(f, "machine {id} is already connected"),
            Self::BadProof => f.write_str("its proof of the run's key is wrong"),
            Self::WrongSender(id) => write!(f, "a Clock frame claiming to be from machine {id}"),
            Self::Seq { expected, got } => write!(f, "seq {got} where {expected} was due"),
            Self::ByeCount { said, came } => {
                write!(f, "its Bye says {said} sent, but {came} came")
            }
        }
    }
}

/// Protocol errors counted by kind: bounded whatever the other side sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ErrorCounts(pub [u64; ProtocolError::KINDS]);

impl ErrorCounts {
    /// Counts one error.
    pub fn count(&mut self, e: &ProtocolError) {
        if let Some(c) = self.0.get_mut(e.kind()) {
            *c = c.saturating_add(1);
        }
    }

    /// All errors counted.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0, |a, &b| a.saturating_add(b))
    }
}

/// One peer's side of the accounting, as this node saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PeerReport {
    /// `Clock` messages the machine logged as sent to the peer.
    pub sent: u64,
    /// Of those, never queued for the peer because its link was gone or had
    /// ended, or dropped from the outbox when the link broke.
    pub undeliverable: u64,
    /// `Clock` messages still in the outbox or waiting to enter it.
    pub unsent: u64,
    /// What the peer's `Bye` said it sent, if it said.
    pub peer_sent: Option<u64>,
    /// Messages from the peer taken off the inbox (logged receives).
    pub received: u64,
    /// Messages from the peer left in the inbox at the end.
    pub queued: u64,
    /// Messages from the peer that arrived after this node's end.
    pub after_end: u64,
    /// Messages from the peer that were already on the connection when this
    /// node closed it, and that the host read and handed in before the
    /// close (see [`super::Node::handle_bytes`]): lost, and counted here,
    /// where they were lost, as the simulator counts a message that reaches
    /// a closed end.
    pub dropped: u64,
    /// Protocol errors on the link.
    pub protocol_errors: u64,
    /// When the link broke or the peer ended early, in model ns, if it did
    /// (`Some(0)` before the start).
    pub lost_at_model_ns: Option<u64>,
    /// Why the link broke, if it did.
    pub lost: Option<CloseReason>,
}

/// How a node's run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeReport<const M: usize = 3> {
    /// Counts from its records.
    pub tally: Tally<M>,
    /// Each peer's accounting, by peer id (this machine's own entry, and
    /// those of machines it has no link to, stay empty).
    #[serde(with = "crate::arrays")]
    pub peers: [PeerReport; M],
    /// Times the machine stalled on a full outbox.
    pub stalls: u64,
    /// Model ns it spent stalled (host-clock ns times the speed).
    pub stalled_model_ns: u64,
    /// Still stalled at the end.
    pub stalled_at_end: bool,
    /// Times the inbox filled, so that reading paused until a tick took a message.
    pub holds: u64,
    /// Ticks that ran after the next tick was already due (outside a
    /// stall's catch-up).
    pub behind_ticks: u64,
    /// The most ticks ever overdue beyond the one that ran (outside a
    /// stall's catch-up): about how long its longest stall was, in
    /// periods; above [`super::BEHIND_MAX`] with more than
    /// [`super::LATE_PERCENT_MAX`] in a hundred `late_ticks`, the machine is
    /// `overloaded`.
    pub max_behind: u64,
    /// Ticks that ran more than a tenth of a period after their due time,
    /// whatever the cause.
    pub late_ticks: u64,
    /// The latest a tick ran after its due time, in host-clock ns.
    pub max_late_ns: u64,
    /// Messages left in the inbox at the end.
    pub inbox_left: u32,
    /// Protocol errors by kind, from peers and strangers.
    pub errors: ErrorCounts,
    /// Connections that never joined the run.
    pub rejected: u64,
    /// Host-clock ns from the node's creation to its first tick.
    pub first_tick_ns: Option<u64>,
    /// Unix ns of model time 0, once started.
    pub start_unix_ns: Option<u64>,
    /// How it ended, once it did.
    pub status: Option<Status>,
    /// Events that did not fit the queue: zero unless a bound is wrong.
    pub dropped_events: u64,
}
