//! The node: one machine plus its link protocol, as a sans-IO state machine.
//!
//! A node never reads a clock or touches a socket. The host hands it time and
//! bytes (`handle_*`, every call takes `now` in ns on the host's monotonic
//! clock) and drains what it decided (`poll_event`, `poll_transmit`,
//! `poll_timeout`). The simulator, the mio host and the firmware drive this
//! same type.
//!
//! **Machines.** A node has a link to each machine its own may send to or
//! receive from under the run's topology ([`Config::topology`], for
//! `machines` machines), by peer id, and dials the ones
//! [`crate::Topology::link`] says it opens: dial slot `j` (the first slots)
//! dials the `j`-th of them counting from `id + 1` ([`Node::dial_target`]).
//! For three machines that is today's: slot 0 dials the next machine, the
//! other dials this one.
//!
//! **Phases.** *Set-up*: the node dials the machines it dials and accepts the
//! others; each link passes the handshake (`Hello`, `Welcome`, `Proof`,
//! each proving the key),
//! then `Ready` goes both ways. *Barrier*: every peer is ready; the host hands
//! the start time (a link lost here ends the node, unstarted, `peer lost`). *Running*: one tick per due time, messages read between
//! ticks. *Ending*: `Bye { sent }` both ways, bounded by a timeout. *Ended*:
//! the report is final.
//!
//! **Bounds.** Connections are `C` fixed slots ([`CONNS`] by default),
//! strangers included; a
//! stranger that never proves the key is closed at its handshake deadline or
//! evicted by a newer connection. The inbox holds `INBOX` messages; while it
//! is full the node reads nothing more (the host leaves the bytes in the
//! socket, so TCP holds them). Each link's outbox holds `OUT` bytes; a send
//! that does not fit stalls the machine, as a blocking socket would. Protocol
//! errors are counted by kind and close the connection at the first one, so
//! a connection costs at most one decoded frame after its first bad byte.
//!
//! **Strangers and peers.** A machine id is bound only by proof of the key,
//! and a bound id is never given to a second claimant (`id taken`). A
//! peer's first frame already proves the key: its `Hello` carries a MAC
//! over its id, ours and its challenge, which the node checks without a
//! round trip, so a stranger's `Hello` closes its connection at once (`bad
//! proof`). Until its first frame, nothing tells a stranger from a peer, so
//! the accepted slots (all but the dial's) are shared by rules under which
//! a connection that proved nothing never outranks one that did (see
//! `Conn::eviction_rank`): taking the last free slot evicts one unproven
//! connection, and a newcomer that finds no free slot is refused but evicts
//! one, so that the next finds room. Connections that proved nothing go
//! before those whose `Hello` proved the key (which keep their slot for a
//! round trip while their `Proof` comes), the oldest first, and a
//! connection accepted at this very `now` (its bytes not yet offered) is
//! never evicted: a host accepts a burst in one turn, and the burst must not
//! push out a peer whose `Hello` it has not read. A host therefore accepts
//! no more connections per `now` than there are accepted slots (`CONNS -
//! 1`), so that a peer in a burst of strangers always finds a slot. The dial's
//! slot is never shared, and an evicted peer's dial is retried. A host
//! bounds the rest: bytes read per connection per turn, connections
//! accepted per turn.
//!
//! **Overload.** One call of `handle_timeout` runs at most one tick, so a
//! host behind its schedule still serves its sockets and its stop between
//! ticks. A late tick still sees only the messages that had arrived by its
//! due time: `handle_bytes` stamps each arrival with its `now`, and
//! [`Machine::tick`] decides; lateness reaches the model only as a delay of
//! the messages the machine sends and reads. The node counts it four ways
//! (the report's `late_ticks`, `behind_ticks`, `max_behind`, `max_late_ns`)
//! and ends `overloaded`, never `completed`, when it could not keep its
//! schedule: ticks still owed at the run's end plus
//! [`Timeouts::catch_up_ns`], when it stops ticking (so that it ends within
//! a bound of the run's end however far behind it fell), or more than
//! [`BEHIND_MAX`] ticks overdue at once in a run where more than
//! [`LATE_PERCENT_MAX`] in a hundred of its ticks ran late.
//!
//! # A host of your own
//!
//! A host owns the clock, the sockets and the files; the node owns every
//! decision. The host's loop: act on each [`Event`] ([`Node::poll_event`]:
//! dial the peer [`Node::dial_target`] names, close a connection, log a
//! record, hand the start once every peer passed the barrier), move bytes
//! both ways ([`Node::poll_transmit`], [`Node::handle_bytes`],
//! [`Node::transmitted`]), and call [`Node::handle_timeout`] when
//! [`Node::poll_timeout`] says. Here one process runs three nodes of a
//! two-second run in virtual time, its "sockets" pairs of slots wired in
//! memory (a real host reads a monotonic clock, and moves the same bytes
//! over TCP, a UART or anything that carries bytes in order):
//!
//! ```
//! use scalemodel_core::node::{Config, ConnId, Event, Key, Node, Status, Timeouts};
//! use scalemodel_core::{ClockSkew, MachineId, Topology};
//!
//! const MS: u64 = 1_000_000;
//! type End = (usize, ConnId); // a node and one of its connection slots
//!
//! /// Moves what `from` has to send to `to`; true if any moved.
//! fn carry(nodes: &mut [Node<8, 256>], from: End, to: End, now: u64) -> bool {
//!     let Some(bytes) = nodes[from.0].poll_transmit(from.1) else {
//!         return false;
//!     };
//!     let bytes = bytes.to_vec();
//!     let used = nodes[to.0].handle_bytes(to.1, &bytes, now);
//!     nodes[from.0].transmitted(from.1, used, now);
//!     used > 0
//! }
//!
//! let config = |id: u8| Config {
//!     id: MachineId::new(id, 3).unwrap(),
//!     rate: 2 + u32::from(id), // ticks per second: 2, 3 and 4
//!     sides: 4,
//!     machines: 3,
//!     topology: Topology::All,
//!     seed: 7,
//!     speed: 1,
//!     duration_ns: 2_000 * MS,
//!     key: Key([42; 32]), // the run's secret: a stranger cannot join
//!     nonce: 100 + u64::from(id), // this node's own randomness
//!     timeouts: Timeouts::DEFAULT,
//!     skew: ClockSkew::NONE,
//! };
//! // An inbox of 8 messages and an outbox of 256 bytes per link.
//! let mut nodes: Vec<Node<8, 256>> = (0..3).map(|id| Node::new(config(id), 0).unwrap()).collect();
//! let mut wires: Vec<(End, End)> = Vec::new();
//! let (mut now, mut ready, mut started, mut records) = (0, [false; 3], false, [0; 3]);
//! loop {
//!     // What the nodes decided, and the bytes they send, until all is quiet.
//!     let mut busy = true;
//!     while busy {
//!         busy = false;
//!         for n in 0..3 {
//!             while let Some(event) = nodes[n].poll_event() {
//!                 busy = true;
//!                 match event {
//!                     Event::Dial(conn) => {
//!                         let peer = nodes[n].dial_target(conn).unwrap().index();
//!                         let accepted = nodes[peer].handle_accepted(now).unwrap();
//!                         nodes[n].handle_connected(conn, now);
//!                         wires.push(((n, conn), (peer, accepted)));
//!                     }
//!                     Event::Close(conn) => {
//!                         // What was queued goes first, as TCP sends it before its FIN.
//!                         if let Some(i) = wires.iter().position(|&(a, b)| a == (n, conn) || b == (n, conn)) {
//!                             let (a, b) = wires.swap_remove(i);
//!                             let remote = if a == (n, conn) { b } else { a };
//!                             carry(&mut nodes, (n, conn), remote, now);
//!                             nodes[remote.0].handle_closed(remote.1, now);
//!                         }
//!                         nodes[n].handle_closed(conn, now);
//!                     }
//!                     Event::Record(_) => records[n] += 1, // a real host logs it
//!                     Event::Barrier => ready[n] = true,
//!                     _ => {}
//!                 }
//!             }
//!         }
//!         for &(a, b) in &wires {
//!             busy |= carry(&mut nodes, a, b, now) | carry(&mut nodes, b, a, now);
//!         }
//!         // Every node passed the barrier: one start for all, 10 ms ahead.
//!         if ready == [true; 3] && !started {
//!             started = true;
//!             for node in &mut nodes {
//!                 node.handle_start(now + 10 * MS, 1_700_000_000_000_000_000, now).unwrap();
//!             }
//!         }
//!     }
//!     // Sleep until the earliest timeout; `None` from every node: all ended.
//!     let Some(next) = nodes.iter().filter_map(|n| n.poll_timeout()).min() else {
//!         break;
//!     };
//!     now = now.max(next);
//!     for node in &mut nodes {
//!         if node.poll_timeout().is_some_and(|t| t <= now) {
//!             node.handle_timeout(now);
//!         }
//!     }
//! }
//! assert!(nodes.iter().all(|n| n.status() == Some(Status::Completed)));
//! assert_eq!(records, [4, 6, 8]); // two seconds at 2, 3 and 4 ticks a second
//! ```

mod conn;
mod end;
mod event;
mod frames;
pub mod handshake;
mod input;
#[cfg(target_pointer_width = "64")]
mod numbers;
mod outbox;
mod output;
mod reset;
#[cfg(test)]
mod tests;
mod tick;

use crate::Stamp;
use heapless::Deque;
use rand_core::{Rng, SeedableRng};

use crate::machine::tenth_period_ns;
use crate::rng::{self, ModelRng, Stream};
use crate::wire::{self, Challenge, Frame, PROTOCOL};
use crate::{
    ConfigError, Die, Event as Kind, Machine, MachineId, Message, Sends, Tally, Topology, due_ns,
    ticks_in,
};
use conn::{Conn, State};
pub use event::{
    CloseReason, ConnId, ErrorCounts, Event, Missing, NodeReport, PeerReport, ProtocolError, Status,
};
pub use handshake::Key;
use handshake::{Keyed, Role};
pub use outbox::{ClockFrame, Outbox};

/// Connection slots of a node of three machines (its default `C`): the
/// first dial the peers the node dials (for three machines, slot 0 dials
/// the next one), the rest take accepted connections, the peers' that dial
/// this node and strangers'.
pub const CONNS: usize = 8;
/// The most connection slots a node has: one bit each in `Node::deadlines`.
pub const CONNS_MAX: usize = u32::BITS as usize;
/// Messages an inbox holds by default, in the simulator and on the network:
/// about 45 minutes of the worst standard queue growth (rates 1,6,6, a die of
/// 4: 3 messages a second).
pub const INBOX_CAP: usize = 1 << 13;
/// Bytes a link's outbox holds by default on the network.
pub const OUTBOX_BYTES: usize = 64 * 1024;
/// The most ticks a machine may be behind its schedule (ticks already due
/// beyond the one running) and still end `completed` whatever the length of
/// its run: one, so that a stall shorter than two periods, which the host
/// absorbs, is counted (`behind_ticks`, `late_ticks`, `max_late_ns`) but is
/// not overload. A longer stall is not overload either when the run is long
/// enough to absorb it: see [`LATE_PERCENT_MAX`], and the README's "When a
/// machine cannot keep up" for why.
pub const BEHIND_MAX: u64 = 1;
/// The most ticks in a hundred that may run over a tenth of a period late
/// in a run that ends `completed` although it was more than [`BEHIND_MAX`]
/// ticks behind once: one, the line `scalemodel bench` draws for an exact
/// run (lateness p99 under a tenth of a period). A stall makes a burst of
/// late ticks about as long as the stall in periods, and then the machine
/// is back on schedule; the bound is in ticks of the model, so the same
/// stall counts the same at every speed.
pub const LATE_PERCENT_MAX: u64 = 1;

/// Whether `late` late ticks among `ticks` keep the model: at most
/// [`LATE_PERCENT_MAX`] in a hundred.
pub const fn late_within_bound(late: u64, ticks: u64) -> bool {
    late.saturating_mul(100) <= ticks.saturating_mul(LATE_PERCENT_MAX)
}
/// Events the queue holds: more than any one `handle_*` call can make.
const EVENTS: usize = 32;
/// `handle_bytes` stops reading while fewer events than this fit.
const EVENT_ROOM: usize = 6;

/// The node's time bounds, in ns on the host's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From creation until both links are up and the start barrier passed,
    /// and again from the barrier until the start time is handed.
    pub setup_ns: u64,
    /// From a connection's start (a dial's, too) until its handshake is done.
    pub handshake_ns: u64,
    /// From the end of the run until both peers said `Bye`.
    pub bye_ns: u64,
    /// Between two attempts to dial the next machine.
    pub retry_ns: u64,
    /// A peer's `Bye` this long before our end still counts as on time (the
    /// hosts' clocks differ a little).
    pub end_skew_ns: u64,
}

impl Timeouts {
    /// How long after the run's end a machine behind its schedule may go on
    /// running the ticks it still owes: half the `Bye` wait, so that its
    /// `Bye` still reaches peers that ended on time and wait `bye_ns` for
    /// it. A node therefore ends at most `catch_up_ns + bye_ns` after the
    /// run's end (7.5 s by default), however far behind it fell.
    pub const fn catch_up_ns(&self) -> u64 {
        self.bye_ns / 2
    }

    /// 10 s set-up, 2 s handshake, 5 s for `Bye`, 100 ms between dials, 10 ms skew.
    pub const DEFAULT: Self = Self {
        setup_ns: 10_000_000_000,
        handshake_ns: 2_000_000_000,
        bye_ns: 5_000_000_000,
        retry_ns: 100_000_000,
        end_skew_ns: 10_000_000,
    };
}

/// One node's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// This machine: its id is below `machines`.
    pub id: MachineId,
    /// Ticks per model second.
    pub rate: u32,
    /// Faces of the die: more than `machines`.
    pub sides: u8,
    /// The run's number of machines, 3 to 16 (and at most the node's `M`).
    pub machines: u8,
    /// Which machines talk to which: the node links to the machines its
    /// own can send to or receive from.
    pub topology: Topology,
    /// The run's seed: this machine's die is stream `(seed, id)`.
    pub seed: u64,
    /// Model time runs this many times faster than the host's clock.
    pub speed: u32,
    /// The run's length in model ns.
    pub duration_ns: u64,
    /// The run's key: a peer must prove it to join.
    pub key: Key,
    /// Seeds the handshake challenges; the host gives fresh entropy (the
    /// simulator a stream of the run's seed).
    pub nonce: u64,
    /// Time bounds.
    pub timeouts: Timeouts,
    /// The machine's physical clock, read by a node whose carried clock
    /// reads time ([`Stamp::READS_TIME`]: an HLC's physical time and its
    /// records' `system_ns`); true unless the simulator skews it. Any other
    /// node never reads it: its host skews its records if it will.
    /// (64-bit hosts.)
    #[cfg(target_pointer_width = "64")]
    pub skew: crate::ClockSkew,
}

impl Config {
    /// The run's die: `sides`, `machines` and `topology`, checked.
    pub const fn die(&self) -> Result<Die, ConfigError> {
        Die::new(self.sides, self.machines, self.topology)
    }
}

/// A node's links, worked out from its [`Config`] once: loops over them
/// read a short list rather than ask the topology (on the firmware, a
/// division per peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan<const M: usize> {
    /// The peers the node links to, one bit per id.
    peers: u16,
    /// The peers the node dials, one bit per id.
    dials: u16,
    /// The links' peers in the node's order: `(id + k) mod n` for `k` from
    /// 1 (for three machines, the next and then the other); `links` of them.
    order: [u8; M],
    links: u8,
    /// The peer each dial slot dials, in the same order; `dial_slots` of them.
    dial_to: [u8; M],
    dial_slots: u8,
}

impl<const M: usize> Plan<M> {
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn new(config: &Config) -> Self {
        let (id, n, topology) = (config.id, config.machines, config.topology);
        let mut plan = Self {
            peers: 0,
            dials: 0,
            order: [0; M],
            links: 0,
            dial_to: [0; M],
            dial_slots: 0,
        };
        for k in 1..n {
            let (links, dials) = topology.link(id, k, n);
            let peer = id.plus(k, n);
            let i = peer.index();
            if !links || i >= M || i >= 16 {
                continue;
            }
            plan.peers |= 1 << i;
            plan.order[usize::from(plan.links)] = peer.get();
            plan.links += 1;
            if dials {
                plan.dials |= 1 << i;
                plan.dial_to[usize::from(plan.dial_slots)] = peer.get();
                plan.dial_slots += 1;
            }
        }
        plan
    }
}

/// Why a start time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// The start barrier has not passed (or the run already started).
    NotReady,
    /// The start is earlier than now by more than the catch-up grace
    /// ([`Timeouts::catch_up_ns`]); a start less late is taken, its first
    /// ticks late.
    InPast,
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NotReady => "the start barrier has not passed",
            Self::InPast => "the start time is in the past",
        })
    }
}

impl core::error::Error for StartError {}

/// Tested with `matches!`, never `==`: a derived `PartialEq` (two variants
/// carry data) is an out-of-line function on the firmware, and it and its
/// calls took about 350 B of its flash.
#[derive(Debug, Clone, Copy)]
enum Phase {
    SetUp,
    Barrier,
    Running,
    Ending { deadline_ns: u64 },
    Ended(Status),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Start {
    /// Model time 0 on the host's clock.
    at_ns: u64,
    /// Model time 0 in Unix ns, for the records' `system_ns`.
    unix_ns: u64,
    /// The end of the run on the host's clock.
    end_ns: u64,
    /// The run's end plus the catch-up grace: a machine behind its
    /// schedule runs no tick from then on (see [`Timeouts::catch_up_ns`]).
    ticks_until_ns: u64,
    /// A tick later than this (a tenth of a period) counts as late.
    late_ns: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    Down,
    Up,
    /// Both `Bye`s went; closed cleanly.
    Done,
    Lost,
}

/// One peer's link: its outbox and its side of the protocol.
#[derive(Debug, Clone)]
struct Link<const OUT: usize> {
    conn: Option<ConnId>,
    state: LinkState,
    outbox: Outbox<OUT>,
    ready_got: bool,
    ready_queued: bool,
    /// `Ready` frames at the head of the outbox not yet transmitted.
    ready_unsent: u8,
    /// `Clock` frames in the outbox not yet transmitted (they follow `Ready`).
    clocks_unsent: u64,
    /// `Clock` frames queued on the link: what our `Bye` says.
    clocks_queued: u64,
    bye_queued: bool,
    bye_done: bool,
    /// The `seq` due next from the peer.
    recv_seq: u64,
    /// The peer ended before the run's end.
    ended_early: bool,
    report: PeerReport,
}

impl<const OUT: usize> Link<OUT> {
    /// A link down, its outbox empty. Called at run time (a constant's
    /// image the compiler would copy whole), it writes only the small
    /// fields: the outbox's storage stays unwritten, so a node built in its
    /// allocation leaves those pages untouched.
    const fn new() -> Self {
        Self {
            conn: None,
            state: LinkState::Down,
            outbox: Outbox::new(),
            ready_got: false,
            ready_queued: false,
            ready_unsent: 0,
            clocks_unsent: 0,
            clocks_queued: 0,
            bye_queued: false,
            bye_done: false,
            recv_seq: 0,
            ended_early: false,
            report: PeerReport {
                sent: 0,
                undeliverable: 0,
                unsent: 0,
                peer_sent: None,
                received: 0,
                queued: 0,
                after_end: 0,
                dropped: 0,
                protocol_errors: 0,
                lost_at_model_ns: None,
                lost: None,
            },
        }
    }

    /// Back to [`Link::new`]'s state, field by field: assigning a new link
    /// would copy its outbox's whole storage (64 KiB on the network),
    /// touching pages the run may never use. Every field is named, so that
    /// a new one cannot be forgotten here.
    fn reset(&mut self) {
        let Self {
            conn,
            state,
            outbox,
            ready_got,
            ready_queued,
            ready_unsent,
            clocks_unsent,
            clocks_queued,
            bye_queued,
            bye_done,
            recv_seq,
            ended_early,
            report,
        } = self;
        *conn = None;
        *state = LinkState::Down;
        outbox.clear();
        *ready_got = false;
        *ready_queued = false;
        *ready_unsent = 0;
        *clocks_unsent = 0;
        *clocks_queued = 0;
        *bye_queued = false;
        *bye_done = false;
        *recv_seq = 0;
        *ended_early = false;
        *report = PeerReport::default();
    }

    /// `Clock` frames may still go on this link: until our `Bye`, and not to
    /// a peer that ended early (after its normal end a peer still counts
    /// what arrives until our `Bye`).
    const fn takes_clocks(&self) -> bool {
        matches!(self.state, LinkState::Up) && !self.bye_queued && !self.ended_early
    }

    /// Accounts for `frames` frames fully transmitted: `Ready` first, then
    /// `Clock`s, then `Bye` (the only order they are queued in).
    fn sent_frames(&mut self, frames: usize) {
        for _ in 0..frames {
            if self.ready_unsent > 0 {
                self.ready_unsent -= 1;
            } else if self.clocks_unsent > 0 {
                self.clocks_unsent -= 1;
            } else if self.bye_queued {
                self.bye_done = true;
            }
        }
    }
}

/// A tick's sends that did not fit: the machine waits until they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending<const M: usize, H> {
    sends: Sends<M>,
    clock: u64,
    /// The carried clock the messages carry.
    stamp: H,
    /// The first of `sends` not yet queued.
    next: usize,
    since_ns: u64,
}

/// A node's parameters, checked: [`Node::from_checked`] builds from them
/// without a fallible step (see [`Node::checked`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked(pub(crate) Config);

/// Figures gathered as the run goes.
#[derive(Debug, Clone, Copy, Default)]
struct Stats<const M: usize> {
    tally: Tally<M>,
    stalls: u64,
    stalled_ns: u64,
    stalled_at_end: bool,
    /// A stall ended and the machine has not yet caught up with its
    /// schedule: its lateness is the stall's, not overload.
    catching_up: bool,
    holds: u64,
    behind_ticks: u64,
    /// The most ticks overdue beyond the one that ran, outside a stall's
    /// catch-up: over [`BEHIND_MAX`], with too many `late_ticks`, makes the
    /// machine `overloaded`.
    max_behind: u64,
    /// Ticks that ran more than a tenth of a period late, whatever the
    /// cause.
    late_ticks: u64,
    max_late_ns: u64,
    errors: ErrorCounts,
    rejected: u64,
    first_tick_ns: Option<u64>,
    dropped_events: u64,
    interrupted: bool,
    overflow: bool,
}

/// One machine and its link protocol; `INBOX` messages of inbox, `OUT` bytes
/// of outbox per link, in a run of at most `M` machines, with `C`
/// connection slots (at most [`CONNS_MAX`]; enough for its links and a
/// stranger, or [`Node::new`] refuses it).
#[derive(Debug, Clone)]
pub struct Node<
    const INBOX: usize,
    const OUT: usize,
    const M: usize = 3,
    const C: usize = CONNS,
    H: Stamp = (),
> {
    config: Config,
    /// `config.key` as HMAC's keyed state, made once for the handshake's
    /// six proofs.
    keyed: Keyed,
    machine: Machine<INBOX, M, H>,
    dice: ModelRng,
    nonce: ModelRng,
    phase: Phase,
    start: Option<Start>,
    conns: [Conn; C],
    /// Slots that may hold a handshake deadline, one bit each: set where a
    /// slot opens into a state with one (`Dialing`, `Accepted`; `Calling`
    /// and `Answering` follow only from those), cleared by
    /// `handle_timeout` once the slot has none. A superset, so that the
    /// deadline scans of `poll_timeout` and `handle_timeout` skip the
    /// slots of a running node's links, which have none.
    #[cfg(target_pointer_width = "64")]
    deadlines: u32,
    /// Slots that may hold handshake bytes to transmit, one bit each: set
    /// where a frame is queued on a slot, cleared by `transmit_idle` once
    /// the slot's bytes went. A superset, for [`Node::transmit_idle`].
    #[cfg(target_pointer_width = "64")]
    handshake_out: u32,
    /// Ticks queue their records ([`Node::queue_records`]; 64-bit hosts).
    #[cfg(target_pointer_width = "64")]
    records: bool,
    /// The links by peer id; only the peers in `plan` have one.
    links: [Link<OUT>; M],
    /// Which links the node has and which it dials, worked out once.
    plan: Plan<M>,
    pending: Option<Pending<M, H>>,
    events: Deque<Event<M, H>, EVENTS>,
    created_ns: u64,
    setup_deadline_ns: u64,
    retry_at_ns: Option<u64>,
    now_ns: u64,
    stats: Stats<M>,
}

impl<const INBOX: usize, const OUT: usize, const M: usize, const C: usize, H: Stamp>
    Node<INBOX, OUT, M, C, H>
{
    /// A node in set-up at `now_ns`; it asks to dial at its first timeout.
    pub fn new(config: Config, now_ns: u64) -> Result<Self, ConfigError> {
        Ok(Self::from_checked(Self::checked(config)?, now_ns))
    }

    /// `config`, if [`Node::new`] accepts it: the first half of building a
    /// node, for a host that builds it in place.
    pub fn checked(config: Config) -> Result<Checked, ConfigError> {
        Self::check(&config)?;
        Ok(Checked(config))
    }

    /// What [`Node::new`] makes, from checked parameters: infallible and
    /// inlined, so that a host can write it straight into its allocation
    /// (`Box::write(Box::new_uninit(), Node::from_checked(..))`) rather than
    /// build the whole node (about 330 KB with the network's sizes) on the
    /// stack and copy it, and so that the inbox's storage, never written
    /// before it is used, is never touched.
    #[inline(always)]
    pub fn from_checked(config: Checked, now_ns: u64) -> Self {
        let Checked(config) = config;
        Self {
            keyed: Keyed::new(&config.key),
            // Checked: `config.die()` takes these sides and machines.
            machine: Machine::new_checked(
                config.id,
                config.rate,
                match config.die() {
                    Ok(die) => die,
                    Err(_) => Die::THREE,
                },
            ),
            dice: rng::stream(config.seed, config.machines, Stream::Machine(config.id)),
            nonce: ModelRng::seed_from_u64(config.nonce),
            phase: Phase::SetUp,
            start: None,
            conns: [Conn::FREE; C],
            #[cfg(target_pointer_width = "64")]
            deadlines: 0,
            #[cfg(target_pointer_width = "64")]
            handshake_out: 0,
            #[cfg(target_pointer_width = "64")]
            records: true,
            links: [const { Link::new() }; M],
            plan: Plan::new(&config),
            pending: None,
            events: Deque::new(),
            created_ns: now_ns,
            setup_deadline_ns: now_ns.saturating_add(config.timeouts.setup_ns),
            retry_at_ns: Some(now_ns),
            now_ns,
            stats: Stats::default(),
            config,
        }
    }

    /// This node's parameters.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The machine.
    pub const fn machine(&self) -> &Machine<INBOX, M, H> {
        &self.machine
    }

    /// The status, once the node has ended.
    pub const fn status(&self) -> Option<Status> {
        match self.phase {
            Phase::Ended(s) => Some(s),
            _ => None,
        }
    }

    /// True once the run started (the start time was handed).
    pub const fn started(&self) -> bool {
        self.start.is_some()
    }

    /// The index into `links` of `peer`'s link, if the node links to it.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn link_index(&self, peer: MachineId) -> Option<usize> {
        let i = peer.index();
        (i < 16 && self.plan.peers & (1 << i) != 0).then_some(i)
    }

    /// The peer of `links[i]`.
    const fn peer_of(&self, i: usize) -> MachineId {
        MachineId::from_index(i)
    }

    /// The `j`-th link in the node's order (see [`Plan::order`]), for `j`
    /// below [`Node::link_count`].
    fn link_at(&self, j: usize) -> usize {
        self.plan.order.get(j).map_or(0, |&i| usize::from(i))
    }

    /// How many links the node has.
    const fn link_count(&self) -> usize {
        self.plan.links as usize
    }

    /// The links' indices in the node's order.
    fn link_order(&self) -> impl Iterator<Item = usize> + '_ {
        let order = self.plan.order.get(..self.link_count()).unwrap_or_default();
        order.iter().map(|&i| usize::from(i))
    }

    /// The links the node has, in the node's order.
    fn my_links(&self) -> impl Iterator<Item = &Link<OUT>> {
        self.link_order().filter_map(|i| self.links.get(i))
    }

    /// True when this node dials `peer` (rather than `peer` dialling it).
    const fn dials_to(&self, peer: MachineId) -> bool {
        peer.index() < 16 && self.plan.dials & (1 << peer.index()) != 0
    }

    /// The slots that dial: as many as the peers the node dials.
    const fn dial_slots(&self) -> usize {
        self.plan.dial_slots as usize
    }

    /// True when a dial slot is free (for three machines: slot 0), so
    /// that the retry time counts.
    fn dial_free(&self) -> bool {
        let dials = self.conns.get(..self.dial_slots()).unwrap_or_default();
        dials.iter().any(|c| c.state == State::Free)
    }

    /// The peer dial slot `slot` dials.
    fn dial_peer(&self, slot: usize) -> Option<MachineId> {
        let to = self.plan.dial_to.get(..self.dial_slots())?.get(slot)?;
        Some(MachineId::from_index(usize::from(*to)))
    }

    /// The peer the host must connect dial slot `conn` to, after an
    /// [`Event::Dial`].
    pub fn dial_target(&self, conn: ConnId) -> Option<MachineId> {
        self.dial_peer(conn.index())
    }

    /// Queues a handshake frame on slot `i` (see [`Conn::queue`]), marking
    /// the slot as one with bytes to transmit (the mark is kept on 64-bit
    /// hosts only, like [`Node::mark_deadline`]'s): the one way a
    /// handshake frame is queued, so that no frame goes unmarked.
    #[inline(always)]
    fn queue_handshake(&mut self, i: usize, frame: &Frame) -> bool {
        #[cfg(target_pointer_width = "64")]
        {
            self.handshake_out |= 1 << i;
        }
        self.conns[i].queue(frame)
    }

    /// Slot `i` opened into a state with a handshake deadline. The bits
    /// are kept on 64-bit hosts only: the firmware looks at every slot,
    /// which takes less of its flash.
    #[inline(always)]
    fn mark_deadline(&mut self, i: usize) {
        #[cfg(target_pointer_width = "64")]
        {
            self.deadlines |= 1 << i;
        }
        let _ = i;
    }

    fn conn(&self, conn: ConnId) -> Option<&Conn> {
        self.conns.get(conn.index())
    }

    fn emit(&mut self, event: Event<M, H>) {
        if self.events.push_back(event).is_err() {
            // Sized so that no call fills it; counted (and reported) if one does.
            self.stats.dropped_events += 1;
        }
    }

    fn tick_now(&mut self, now_ns: u64) {
        // The host's clock is monotonic; never let a late call move time back.
        self.now_ns = self.now_ns.max(now_ns);
    }

    /// Model ns since the start at the host's `now_ns`, once started.
    fn model_now(&self) -> Option<u64> {
        let start = self.start?;
        let wall = self.now_ns.saturating_sub(start.at_ns);
        Some(wall.saturating_mul(u64::from(self.config.speed)))
    }

    fn challenge(&mut self) -> Challenge {
        let mut c = [0; wire::CHALLENGE_LEN];
        self.nonce.fill_bytes(&mut c);
        c
    }
}
