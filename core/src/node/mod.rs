//! The node: one machine plus its link protocol, as a sans-IO state machine.
//!
//! A node never reads a clock or touches a socket. The host hands it time and
//! bytes (`handle_*`, every call takes `now` in ns on the host's monotonic
//! clock) and drains what it decided (`poll_event`, `poll_transmit`,
//! `poll_timeout`). The simulator, the mio host and the firmware drive this
//! same type.
//!
//! **Phases.** *Set-up*: the node dials the next machine (slot 0) and accepts
//! the other; each link passes the handshake (`Hello`, `Welcome`, `Proof`),
//! then `Ready` goes both ways. *Barrier*: both peers are ready; the host hands
//! the start time. *Running*: one tick per due time, messages read between
//! ticks. *Ending*: `Bye { sent }` both ways, bounded by a timeout. *Ended*:
//! the report is final.
//!
//! **Bounds.** Connections are [`CONNS`] fixed slots, strangers included; a
//! stranger that never proves the key is closed at its handshake deadline or
//! evicted by a newer connection. The inbox holds `INBOX` messages; while it
//! is full the node reads nothing more (the host leaves the bytes in the
//! socket, so TCP holds them). Each link's outbox holds `OUT` bytes; a send
//! that does not fit stalls the machine, as a blocking socket would. Protocol
//! errors are counted by kind and close the connection at the first one.

mod conn;
mod event;
pub mod handshake;
mod outbox;
mod reset;
#[cfg(test)]
mod tests;

use heapless::Deque;
use rand_core::{Rng, SeedableRng};

use crate::rng::{self, ModelRng, Stream};
use crate::wire::{self, Challenge, Frame, PROTOCOL};
use crate::{ConfigError, Event as Kind, Machine, MachineId, Message, Sends, Tally, due_ns};
use conn::{Conn, State};
pub use event::{
    CloseReason, ConnId, ErrorCounts, Event, Missing, NodeReport, PeerReport, ProtocolError, Status,
};
pub use handshake::Key;
use handshake::Role;
pub use outbox::Outbox;

/// Connection slots: slot 0 dials the next machine, the rest take accepted
/// connections, the other machine's and strangers'.
pub const CONNS: usize = 8;
/// Messages an inbox holds by default, in the simulator and on the network:
/// about 45 minutes of the worst standard queue growth (rates 1,6,6, a die of
/// 4: 3 messages a second).
pub const INBOX_CAP: usize = 1 << 13;
/// Bytes a link's outbox holds by default on the network.
pub const OUTBOX_BYTES: usize = 64 * 1024;
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
    /// This machine.
    pub id: MachineId,
    /// Ticks per model second.
    pub rate: u32,
    /// Faces of the die.
    pub sides: u8,
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
}

/// Why a start time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// The start barrier has not passed (or the run already started).
    NotReady,
    /// The start is earlier than now.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    const NEW: Self = Self {
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
            protocol_errors: 0,
            lost_at_model_ns: None,
            lost: None,
        },
    };

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
struct Pending {
    sends: Sends,
    clock: u64,
    /// The first of `sends` not yet queued.
    next: usize,
    since_ns: u64,
}

/// Figures gathered as the run goes.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    tally: Tally,
    stalls: u64,
    stalled_ns: u64,
    stalled_at_end: bool,
    /// A stall ended and the machine has not yet caught up with its
    /// schedule: its lateness is the stall's, not overload.
    catching_up: bool,
    holds: u64,
    behind_ticks: u64,
    max_late_ns: u64,
    errors: ErrorCounts,
    rejected: u64,
    first_tick_ns: Option<u64>,
    dropped_events: u64,
    interrupted: bool,
    overflow: bool,
}

/// One machine and its link protocol; `INBOX` messages of inbox, `OUT` bytes
/// of outbox per link.
#[derive(Debug, Clone)]
pub struct Node<const INBOX: usize, const OUT: usize> {
    config: Config,
    machine: Machine<INBOX>,
    dice: ModelRng,
    nonce: ModelRng,
    phase: Phase,
    start: Option<Start>,
    conns: [Conn; CONNS],
    /// The link to the next machine, then the link from the other.
    links: [Link<OUT>; 2],
    pending: Option<Pending>,
    events: Deque<Event, EVENTS>,
    created_ns: u64,
    setup_deadline_ns: u64,
    retry_at_ns: Option<u64>,
    now_ns: u64,
    stats: Stats,
}

impl<const INBOX: usize, const OUT: usize> Node<INBOX, OUT> {
    /// A node in set-up at `now_ns`; it asks to dial at its first timeout.
    pub fn new(config: Config, now_ns: u64) -> Result<Self, ConfigError> {
        if config.speed == 0 {
            return Err(ConfigError::ZeroSpeed);
        }
        let machine = Machine::new(config.id, config.rate, config.sides)?;
        Ok(Self {
            machine,
            dice: rng::stream(config.seed, Stream::Machine(config.id)),
            nonce: ModelRng::seed_from_u64(config.nonce),
            phase: Phase::SetUp,
            start: None,
            conns: [Conn::FREE; CONNS],
            links: [Link::NEW, Link::NEW],
            pending: None,
            events: Deque::new(),
            created_ns: now_ns,
            setup_deadline_ns: now_ns.saturating_add(config.timeouts.setup_ns),
            retry_at_ns: Some(now_ns),
            now_ns,
            stats: Stats::default(),
            config,
        })
    }

    /// This node's parameters.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The machine.
    pub const fn machine(&self) -> &Machine<INBOX> {
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

    /// The index into `links` of `peer`'s link.
    fn link_index(&self, peer: MachineId) -> Option<usize> {
        if peer == self.config.id.next() {
            Some(0)
        } else if peer == self.config.id.other() {
            Some(1)
        } else {
            None
        }
    }

    /// The peer of `links[i]`.
    fn peer_of(&self, i: usize) -> MachineId {
        if i == 0 {
            self.config.id.next()
        } else {
            self.config.id.other()
        }
    }

    fn conn(&self, conn: ConnId) -> Option<&Conn> {
        self.conns.get(conn.index())
    }

    fn emit(&mut self, event: Event) {
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

/// The host's inputs.
impl<const INBOX: usize, const OUT: usize> Node<INBOX, OUT> {
    /// The host accepted a connection: its slot, or `None` when no slot is
    /// free (the host closes it). Taking the last free slot evicts the oldest
    /// unproven connection, so that a slot is soon free again for the next
    /// one: strangers can delay a peer, but not keep it out.
    pub fn handle_accepted(&mut self, now_ns: u64) -> Option<ConnId> {
        self.tick_now(now_ns);
        if matches!(self.phase, Phase::Ended(_)) {
            return None;
        }
        let is_free = |c: &Conn| c.state == State::Free;
        let Some(i) = (1..CONNS).find(|&i| is_free(&self.conns[i])) else {
            self.stats.rejected += 1;
            return None;
        };
        let deadline_ns = self
            .now_ns
            .saturating_add(self.config.timeouts.handshake_ns);
        self.conns[i].open(State::Accepted { deadline_ns }, self.now_ns);
        if !(1..CONNS).any(|j| is_free(&self.conns[j])) {
            let oldest = (1..CONNS)
                .filter(|&j| j != i && self.conns[j].is_unproven())
                .min_by_key(|&j| self.conns[j].opened_ns);
            if let Some(j) = oldest {
                self.close(ConnId(j as u8), CloseReason::Evicted);
            }
        }
        Some(ConnId(i as u8))
    }

    /// The host's dial of slot `conn` connected: the handshake starts.
    pub fn handle_connected(&mut self, conn: ConnId, now_ns: u64) {
        self.tick_now(now_ns);
        if conn.index() != 0 || !matches!(self.conns[0].state, State::Dialing { .. }) {
            return;
        }
        let challenge = self.challenge();
        let deadline_ns = self
            .now_ns
            .saturating_add(self.config.timeouts.handshake_ns);
        self.conns[0].state = State::Calling {
            challenge,
            deadline_ns,
        };
        let hello = Frame::Hello {
            protocol: PROTOCOL,
            from: self.config.id.get(),
            challenge,
        };
        if !self.conns[0].queue(&hello) {
            self.close(conn, CloseReason::ConnectFailed);
        }
    }

    /// Bytes that arrived on `conn`; returns how many were used. The rest must
    /// be offered again later: the node stops at a full inbox (see
    /// [`Node::can_read`]) and when its event queue needs draining.
    pub fn handle_bytes(&mut self, conn: ConnId, bytes: &[u8], now_ns: u64) -> usize {
        self.tick_now(now_ns);
        let mut used = 0;
        while used < bytes.len() && EVENTS - self.events.len() >= EVENT_ROOM {
            let Some(&Conn { state, .. }) = self.conns.get(conn.index()) else {
                return bytes.len();
            };
            match state {
                // Nothing to read for: what a closing connection sends is dropped.
                State::Free | State::Dialing { .. } | State::Closing => return bytes.len(),
                State::Up(_) if !self.can_read(conn) => break,
                _ => {}
            }
            let rest = bytes.get(used..).unwrap_or_default();
            let feed = self.conns[conn.index()].decoder.feed(rest);
            used = bytes.len() - feed.rest.len();
            match feed.event {
                None => {}
                Some(Err(e)) => self.protocol(conn, ProtocolError::Decode(e)),
                Some(Ok(frame)) => self.on_frame(conn, frame),
            }
        }
        used
    }

    /// True when `conn` may be read: a link reads only while its inbox has room
    /// (or the run has ended, when arrivals are only counted).
    pub fn can_read(&self, conn: ConnId) -> bool {
        match self.conn(conn).map(|c| c.state) {
            Some(State::Up(_)) => {
                matches!(self.phase, Phase::Ending { .. } | Phase::Ended(_))
                    || !self.machine.inbox().is_full()
            }
            Some(State::Free | State::Dialing { .. } | State::Closing) | None => false,
            Some(_) => true,
        }
    }

    /// The host's connection `conn` closed (by the other side, by an error, or
    /// after a [`Event::Close`]): its slot is free again.
    pub fn handle_closed(&mut self, conn: ConnId, now_ns: u64) {
        self.tick_now(now_ns);
        let Some(c) = self.conns.get_mut(conn.index()) else {
            return;
        };
        let (state, truncated) = (c.state, c.decoder.is_mid_frame());
        // Free first: the loss may end the run, and the end must not ask the
        // host to close this connection again.
        *c = Conn::FREE;
        match state {
            State::Free => return,
            State::Closing => {}
            State::Dialing { .. } | State::Calling { .. } if conn.index() == 0 => {
                self.retry_later();
            }
            State::Up(peer) => {
                let reason = if truncated {
                    CloseReason::Truncated
                } else {
                    CloseReason::Closed
                };
                self.link_closed(peer, reason);
            }
            _ => {
                self.stats.rejected += 1;
                self.emit(Event::Rejected {
                    conn,
                    reason: CloseReason::Closed,
                });
            }
        }
        self.check_end();
    }

    /// The host transmitted the first `n` bytes `poll_transmit` gave for `conn`.
    pub fn transmitted(&mut self, conn: ConnId, n: usize, now_ns: u64) {
        self.tick_now(now_ns);
        let Some(c) = self.conns.get_mut(conn.index()) else {
            return;
        };
        let rest = c.consume(n);
        let state = c.state;
        if let (State::Up(peer), true) = (state, rest > 0)
            && let Some(i) = self.link_index(peer)
        {
            let link = &mut self.links[i];
            let frames = link.outbox.consume(rest);
            link.sent_frames(frames);
        }
        self.unstall();
        self.progress_end();
    }

    /// The time came (or passed) that `poll_timeout` gave: ticks, handshake
    /// deadlines, dials and the end. Runs at most one tick per call, so a host
    /// that is behind still serves its connections between ticks.
    pub fn handle_timeout(&mut self, now_ns: u64) {
        self.tick_now(now_ns);
        let now = self.now_ns;
        for i in 0..CONNS {
            if self.conns[i].deadline_ns().is_some_and(|d| now >= d) {
                self.close(ConnId(i as u8), CloseReason::HandshakeTimeout);
            }
        }
        match self.phase {
            Phase::SetUp | Phase::Barrier if now >= self.setup_deadline_ns => {
                let status = if self.phase == Phase::SetUp {
                    Status::SetupFailed(Missing {
                        next: self.links[0].state != LinkState::Up,
                        other: self.links[1].state != LinkState::Up,
                    })
                } else {
                    Status::NoStart
                };
                self.finish(status);
            }
            Phase::SetUp => {
                if self.retry_at_ns.is_some_and(|t| now >= t) && self.conns[0].state == State::Free
                {
                    self.retry_at_ns = None;
                    let deadline_ns = now.saturating_add(self.config.timeouts.handshake_ns);
                    self.conns[0].open(State::Dialing { deadline_ns }, now);
                    self.emit(Event::Dial(ConnId(0)));
                }
            }
            Phase::Running => {
                self.unstall();
                self.run_tick();
                self.maybe_end();
            }
            Phase::Ending { deadline_ns } if now >= deadline_ns => self.give_up_end(),
            Phase::Barrier | Phase::Ending { .. } | Phase::Ended(_) => {}
        }
    }

    /// Sets model time 0 at `at_ns` on the host's clock, which is Unix time
    /// `unix_ns` (for the records' `system_ns`).
    pub fn handle_start(
        &mut self,
        at_ns: u64,
        unix_ns: u64,
        now_ns: u64,
    ) -> Result<(), StartError> {
        self.tick_now(now_ns);
        if self.phase != Phase::Barrier {
            return Err(StartError::NotReady);
        }
        if at_ns < self.now_ns {
            return Err(StartError::InPast);
        }
        let end_ns = due_ns(at_ns, self.config.duration_ns, self.config.speed);
        self.start = Some(Start {
            at_ns,
            unix_ns,
            end_ns,
        });
        self.phase = Phase::Running;
        Ok(())
    }

    /// Ends the run now, cleanly: `Bye` on both links, status `interrupted`.
    pub fn handle_stop(&mut self, now_ns: u64) {
        self.tick_now(now_ns);
        self.stats.interrupted = true;
        match self.phase {
            Phase::SetUp | Phase::Barrier => self.finish(Status::Interrupted),
            Phase::Running => self.begin_end(),
            Phase::Ending { .. } | Phase::Ended(_) => {}
        }
    }
}

/// The host's outputs.
impl<const INBOX: usize, const OUT: usize> Node<INBOX, OUT> {
    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to transmit on `conn`, oldest first; report what went with
    /// [`Node::transmitted`].
    pub fn poll_transmit(&self, conn: ConnId) -> Option<&[u8]> {
        let c = self.conn(conn)?;
        let handshake = c.pending();
        if !handshake.is_empty() {
            return Some(handshake);
        }
        let State::Up(peer) = c.state else {
            return None;
        };
        let front = self.links[self.link_index(peer)?].outbox.front();
        (!front.is_empty()).then_some(front)
    }

    /// When to call [`Node::handle_timeout`] next, on the host's clock; `None`
    /// once the node has ended. A time already past means: now.
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut at = self
            .conns
            .iter()
            .filter_map(Conn::deadline_ns)
            .min()
            .unwrap_or(u64::MAX);
        match self.phase {
            Phase::SetUp => {
                at = at.min(self.setup_deadline_ns);
                if self.conns[0].state == State::Free {
                    at = at.min(self.retry_at_ns.unwrap_or(u64::MAX));
                }
            }
            Phase::Barrier => at = at.min(self.setup_deadline_ns),
            Phase::Running => {
                let start = self.start?;
                at = at.min(start.end_ns);
                if self.pending.is_none() && self.ticks_left() {
                    let model = self.machine.next_tick_ns();
                    at = at.min(due_ns(start.at_ns, model, self.config.speed));
                }
            }
            Phase::Ending { deadline_ns } => at = at.min(deadline_ns),
            Phase::Ended(_) => return None,
        }
        Some(at)
    }

    /// What the node knows of its run so far; final once it has ended.
    pub fn report(&self) -> NodeReport {
        let t = &self.stats.tally;
        let mut peers = [PeerReport::default(); crate::N];
        for (i, link) in self.links.iter().enumerate() {
            let peer = self.peer_of(i);
            let pending = self.pending.map_or(0, |p| {
                let rest = p.sends.as_slice().get(p.next..).unwrap_or_default();
                rest.iter().filter(|(to, _)| *to == peer).count() as u64
            });
            peers[peer.index()] = PeerReport {
                sent: t.sent_to(peer),
                received: t.received_from(peer),
                queued: self
                    .machine
                    .inbox()
                    .iter()
                    .filter(|m| m.from == peer)
                    .count() as u64,
                unsent: link.clocks_unsent + pending,
                ..link.report
            };
        }
        NodeReport {
            tally: *t,
            peers,
            stalls: self.stats.stalls,
            stalled_model_ns: self
                .stalled_ns()
                .saturating_mul(u64::from(self.config.speed)),
            stalled_at_end: self.stats.stalled_at_end,
            holds: self.stats.holds,
            behind_ticks: self.stats.behind_ticks,
            max_late_ns: self.stats.max_late_ns,
            inbox_left: u32::try_from(self.machine.inbox().len()).unwrap_or(u32::MAX),
            errors: self.stats.errors,
            rejected: self.stats.rejected,
            first_tick_ns: self.stats.first_tick_ns,
            start_unix_ns: self.start.map(|s| s.unix_ns),
            status: self.status(),
            dropped_events: self.stats.dropped_events,
        }
    }

    /// Events that did not fit the queue (zero unless a bound is wrong).
    pub const fn dropped_events(&self) -> u64 {
        self.stats.dropped_events
    }

    fn stalled_ns(&self) -> u64 {
        let open = self
            .pending
            .map_or(0, |p| self.now_ns.saturating_sub(p.since_ns));
        self.stats.stalled_ns.saturating_add(open)
    }
}

/// Frames.
impl<const INBOX: usize, const OUT: usize> Node<INBOX, OUT> {
    fn on_frame(&mut self, conn: ConnId, frame: Frame) {
        let id = self.config.id;
        let key = &self.config.key.clone();
        let state = self.conns[conn.index()].state;
        let outcome = match (state, frame) {
            (State::Up(peer), frame) => return self.on_link_frame(conn, peer, frame),
            (
                State::Calling { challenge, .. },
                Frame::Welcome {
                    protocol,
                    from,
                    challenge: theirs,
                    proof,
                },
            ) => {
                let next = id.next();
                if protocol != PROTOCOL {
                    Err(ProtocolError::Version(protocol))
                } else if from != next.get() {
                    Err(ProtocolError::WrongId(from))
                } else if !handshake::verify(
                    key,
                    Role::Answerer,
                    (id, &challenge),
                    (next, &theirs),
                    &proof,
                ) {
                    Err(ProtocolError::BadProof)
                } else {
                    let proof =
                        handshake::prove(key, Role::Caller, (id, &challenge), (next, &theirs));
                    if self.conns[conn.index()].queue(&Frame::Proof { proof }) {
                        Ok(Some(next))
                    } else {
                        return self.close(conn, CloseReason::ConnectFailed);
                    }
                }
            }
            (
                State::Accepted { deadline_ns },
                Frame::Hello {
                    protocol,
                    from,
                    challenge: theirs,
                },
            ) => {
                let other = id.other();
                if protocol != PROTOCOL {
                    Err(ProtocolError::Version(protocol))
                } else if from != other.get() {
                    Err(ProtocolError::WrongId(from))
                } else if self.links[1].state != LinkState::Down {
                    Err(ProtocolError::Taken(other))
                } else {
                    let ours = self.challenge();
                    let proof =
                        handshake::prove(key, Role::Answerer, (other, &theirs), (id, &ours));
                    let welcome = Frame::Welcome {
                        protocol: PROTOCOL,
                        from: id.get(),
                        challenge: ours,
                        proof,
                    };
                    let c = &mut self.conns[conn.index()];
                    if !c.queue(&welcome) {
                        return self.close(conn, CloseReason::ConnectFailed);
                    }
                    c.state = State::Answering {
                        claimed: other,
                        theirs,
                        ours,
                        deadline_ns,
                    };
                    Ok(None)
                }
            }
            (
                State::Answering {
                    claimed,
                    theirs,
                    ours,
                    ..
                },
                Frame::Proof { proof },
            ) => {
                if handshake::verify(key, Role::Caller, (claimed, &theirs), (id, &ours), &proof) {
                    Ok(Some(claimed))
                } else {
                    Err(ProtocolError::BadProof)
                }
            }
            (_, frame) => Err(ProtocolError::Unexpected(frame.kind())),
        };
        match outcome {
            Ok(Some(peer)) => self.bind(conn, peer),
            Ok(None) => {}
            Err(e) => self.protocol(conn, e),
        }
    }

    /// A proven peer takes its link; only during set-up, and never from a
    /// link that is up (the first claimant keeps it).
    fn bind(&mut self, conn: ConnId, peer: MachineId) {
        let Some(i) = self.link_index(peer) else {
            return self.protocol(conn, ProtocolError::WrongId(peer.get()));
        };
        if self.phase != Phase::SetUp || self.links[i].state != LinkState::Down {
            return self.protocol(conn, ProtocolError::Taken(peer));
        }
        self.links[i] = Link::NEW;
        self.links[i].conn = Some(conn);
        self.links[i].state = LinkState::Up;
        self.conns[conn.index()].state = State::Up(peer);
        self.emit(Event::Joined(peer));
        if self.links.iter().all(|l| l.state == LinkState::Up) {
            for link in &mut self.links {
                // Once per link: one that stayed up while the other came back
                // has queued its Ready already. A fresh link's outbox is
                // empty: Ready always fits.
                if !link.ready_queued && link.outbox.push(&Frame::Ready).is_ok() {
                    link.ready_queued = true;
                    link.ready_unsent = 1;
                }
            }
        }
        self.check_barrier();
    }

    fn check_barrier(&mut self) {
        let ready = self
            .links
            .iter()
            .all(|l| l.state == LinkState::Up && l.ready_got && l.ready_queued);
        if self.phase == Phase::SetUp && ready {
            self.phase = Phase::Barrier;
            self.setup_deadline_ns = self.now_ns.saturating_add(self.config.timeouts.setup_ns);
            self.emit(Event::Barrier);
        }
    }

    fn on_link_frame(&mut self, conn: ConnId, peer: MachineId, frame: Frame) {
        let Some(i) = self.link_index(peer) else {
            return;
        };
        let result = match frame {
            Frame::Ready if self.phase == Phase::SetUp && !self.links[i].ready_got => {
                self.links[i].ready_got = true;
                self.check_barrier();
                Ok(())
            }
            Frame::Clock { from, clock, seq } if self.phase != Phase::SetUp => self.on_clock(
                i,
                peer,
                Message {
                    from: peer,
                    clock,
                    seq,
                },
                from,
            ),
            // Before the barrier no run has begun, so none can end.
            Frame::Bye { sent }
                if self.phase != Phase::SetUp && self.links[i].report.peer_sent.is_none() =>
            {
                self.on_bye(i, sent)
            }
            other => Err(ProtocolError::Unexpected(other.kind())),
        };
        if let Err(e) = result {
            self.protocol(conn, e);
        }
    }

    fn on_clock(
        &mut self,
        i: usize,
        peer: MachineId,
        msg: Message,
        from: u8,
    ) -> Result<(), ProtocolError> {
        let link = &mut self.links[i];
        if from != peer.get() {
            return Err(ProtocolError::WrongSender(from));
        }
        if link.report.peer_sent.is_some() {
            return Err(ProtocolError::Unexpected(wire::FrameKind::Clock));
        }
        if msg.seq != link.recv_seq {
            return Err(ProtocolError::Seq {
                expected: link.recv_seq,
                got: msg.seq,
            });
        }
        link.recv_seq += 1;
        if matches!(self.phase, Phase::Ending { .. } | Phase::Ended(_)) {
            link.report.after_end += 1;
        } else if self.machine.deliver(msg).is_ok() {
            if self.machine.inbox().is_full() {
                // Reading pauses until a tick takes a message: TCP holds the rest.
                self.stats.holds += 1;
            }
        } else {
            // handle_bytes reads a link only while the inbox has room; should
            // that ever fail, the message is counted, not dropped unseen.
            link.report.after_end += 1;
            self.stats.dropped_events += 1;
        }
        Ok(())
    }

    fn on_bye(&mut self, i: usize, sent: u64) -> Result<(), ProtocolError> {
        let came = self.links[i].recv_seq;
        if sent != came {
            return Err(ProtocolError::ByeCount { said: sent, came });
        }
        self.links[i].report.peer_sent = Some(sent);
        let early = match (self.phase, self.start) {
            (Phase::Running, Some(s)) => {
                self.now_ns.saturating_add(self.config.timeouts.end_skew_ns) < s.end_ns
            }
            (Phase::Barrier, _) => true,
            _ => false,
        };
        if early {
            // The peer is gone for the model: what we would send it is
            // undeliverable from now on, and the run did not hold.
            let peer = self.peer_of(i);
            self.links[i].ended_early = true;
            self.links[i].report.lost = Some(CloseReason::EndedEarly);
            self.links[i].report.lost_at_model_ns = Some(self.model_now().unwrap_or(0));
            self.emit(Event::PeerLost {
                peer,
                at_model_ns: self.model_now(),
                reason: CloseReason::EndedEarly,
            });
            self.drop_pending_to(peer);
            self.queue_bye(i);
        }
        self.progress_end();
        Ok(())
    }

    /// A protocol error on `conn`: counted by kind, and the connection closes.
    fn protocol(&mut self, conn: ConnId, e: ProtocolError) {
        self.stats.errors.count(&e);
        if let State::Up(peer) = self.conns[conn.index()].state
            && let Some(i) = self.link_index(peer)
        {
            self.links[i].report.protocol_errors += 1;
        }
        self.close(conn, CloseReason::Protocol(e));
    }

    /// Asks the host to close `conn`, with the consequences for its link.
    fn close(&mut self, conn: ConnId, reason: CloseReason) {
        let state = self.conns[conn.index()].state;
        match state {
            State::Free | State::Closing => return,
            State::Up(peer) => self.link_closed(peer, reason),
            State::Dialing { .. } | State::Calling { .. } if conn.index() == 0 => {
                self.retry_later();
                if matches!(state, State::Calling { .. }) {
                    self.emit(Event::Rejected { conn, reason });
                }
            }
            _ => {
                self.stats.rejected += 1;
                self.emit(Event::Rejected { conn, reason });
            }
        }
        // A link's loss may end the run, and the end closes every connection,
        // this one too: it is asked to close once, before `Ended`.
        if self.conns[conn.index()].state != State::Closing {
            self.conns[conn.index()].state = State::Closing;
            self.emit(Event::Close(conn));
        }
    }

    fn retry_later(&mut self) {
        self.retry_at_ns = Some(self.now_ns.saturating_add(self.config.timeouts.retry_ns));
    }

    /// `peer`'s connection is gone: clean if both `Bye`s went, else the link is lost.
    fn link_closed(&mut self, peer: MachineId, reason: CloseReason) {
        let Some(i) = self.link_index(peer) else {
            return;
        };
        let link = &mut self.links[i];
        link.conn = None;
        if link.state != LinkState::Up {
            return;
        }
        if link.bye_done && link.report.peer_sent.is_some() {
            link.state = LinkState::Done;
            return;
        }
        if self.phase == Phase::SetUp {
            // Before the barrier a link may come up again, by a new proof;
            // the link to the next machine by dialling it again.
            self.links[i] = Link::NEW;
            if i == 0 {
                self.retry_later();
            }
            self.emit(Event::PeerLost {
                peer,
                at_model_ns: None,
                reason,
            });
            return;
        }
        let at_model_ns = self.model_now();
        let link = &mut self.links[i];
        link.state = LinkState::Lost;
        link.report.undeliverable += link.clocks_unsent;
        link.clocks_unsent = 0;
        link.outbox.clear();
        if link.report.lost.is_none() {
            link.report.lost = Some(reason);
            link.report.lost_at_model_ns = Some(at_model_ns.unwrap_or(0));
            self.emit(Event::PeerLost {
                peer,
                at_model_ns,
                reason,
            });
        }
        self.drop_pending_to(peer);
    }
}

/// Ticks, sends and the stall.
impl<const INBOX: usize, const OUT: usize> Node<INBOX, OUT> {
    fn ticks_left(&self) -> bool {
        self.machine.next_tick_ns() < self.config.duration_ns
    }

    /// Runs the next tick if it is due and the machine is not stalled.
    fn run_tick(&mut self) {
        let Some(start) = self.start else { return };
        if self.pending.is_some() || !self.ticks_left() || self.stats.overflow {
            return;
        }
        let speed = self.config.speed;
        let due = due_ns(start.at_ns, self.machine.next_tick_ns(), speed);
        let now = self.now_ns;
        if now < due {
            return;
        }
        let after = crate::model_ns(self.machine.ticks() + 1, self.machine.rate());
        if now < due_ns(start.at_ns, after, speed) {
            self.stats.catching_up = false;
        } else if !self.stats.catching_up {
            self.stats.behind_ticks += 1;
        }
        self.stats.max_late_ns = self.stats.max_late_ns.max(now - due);
        let system_ns = start.unix_ns.saturating_add(now - start.at_ns);
        let Ok(record) = self.machine.tick(system_ns, &mut self.dice) else {
            // A clock at u64::MAX: the model cannot go on. End, and say so.
            self.stats.overflow = true;
            return self.begin_end();
        };
        if self.stats.first_tick_ns.is_none() {
            self.stats.first_tick_ns = Some(now.saturating_sub(self.created_ns));
        }
        self.stats.tally.observe(&record);
        self.emit(Event::Record(record));
        if let Kind::Send(sends) = record.event {
            self.pending = Some(Pending {
                sends,
                clock: record.clock,
                next: 0,
                since_ns: now,
            });
            self.unstall();
            if self.pending.is_some() {
                self.stats.stalls += 1;
            }
        }
    }

    /// Queues the waiting sends while they fit; the stall ends when all did.
    fn unstall(&mut self) {
        let Some(mut p) = self.pending else { return };
        let from = self.config.id;
        while let Some(&(to, seq)) = p.sends.as_slice().get(p.next) {
            let msg = Message {
                from,
                clock: p.clock,
                seq,
            };
            if !self.offer(to, msg) {
                self.pending = Some(p);
                return;
            }
            p.next += 1;
        }
        self.pending = None;
        let waited = self.now_ns.saturating_sub(p.since_ns);
        if waited > 0 {
            self.stats.stalled_ns = self.stats.stalled_ns.saturating_add(waited);
            self.stats.catching_up = true;
        }
        self.progress_end();
    }

    /// Queues one message on its link; false when the outbox is full. A link
    /// that is gone or ended takes it as undeliverable.
    fn offer(&mut self, to: MachineId, msg: Message) -> bool {
        let Some(i) = self.link_index(to) else {
            return true;
        };
        let link = &mut self.links[i];
        if !link.takes_clocks() {
            link.report.undeliverable += 1;
            return true;
        }
        let frame = Frame::Clock {
            from: msg.from.get(),
            clock: msg.clock,
            seq: msg.seq,
        };
        if link.outbox.push(&frame).is_err() {
            return false;
        }
        link.clocks_unsent += 1;
        link.clocks_queued += 1;
        true
    }

    /// The sends waiting for a link that no longer takes them: offered again,
    /// they count as undeliverable, and the machine may go on.
    fn drop_pending_to(&mut self, _peer: MachineId) {
        self.unstall();
    }

    /// The stall ends with the run: its time is counted, and what still
    /// waited is undeliverable.
    fn end_stall(&mut self) {
        let Some(p) = self.pending.take() else { return };
        let waited = self.now_ns.saturating_sub(p.since_ns);
        self.stats.stalled_ns = self.stats.stalled_ns.saturating_add(waited);
        for &(to, _) in p.sends.as_slice().get(p.next..).unwrap_or_default() {
            if let Some(i) = self.link_index(to) {
                self.links[i].report.undeliverable += 1;
            }
        }
    }
}

/// The end of the run.
impl<const INBOX: usize, const OUT: usize> Node<INBOX, OUT> {
    /// Ends the run once its time is up and every tick ran (or the machine is
    /// stalled, and cannot run them).
    fn maybe_end(&mut self) {
        let Some(start) = self.start else { return };
        let ticks_done = !self.ticks_left() || self.pending.is_some();
        if self.phase == Phase::Running && self.now_ns >= start.end_ns && ticks_done {
            self.begin_end();
        }
    }

    fn begin_end(&mut self) {
        if self.phase != Phase::Running {
            return;
        }
        self.stats.stalled_at_end = self.pending.is_some();
        let deadline_ns = self.now_ns.saturating_add(self.config.timeouts.bye_ns);
        self.phase = Phase::Ending { deadline_ns };
        self.progress_end();
    }

    /// Queues our `Bye` on link `i` once nothing waits to go before it.
    fn queue_bye(&mut self, i: usize) {
        let peer = self.peer_of(i);
        let waiting = self.pending.is_some_and(|p| {
            let rest = p.sends.as_slice().get(p.next..).unwrap_or_default();
            rest.iter().any(|(to, _)| *to == peer)
        });
        let link = &mut self.links[i];
        if link.state != LinkState::Up || link.bye_queued || waiting {
            return;
        }
        let bye = Frame::Bye {
            sent: link.clocks_queued,
        };
        if link.outbox.push(&bye).is_ok() {
            link.bye_queued = true;
        }
    }

    /// In the end phase: `Bye`s out, links closed once both went, and the end
    /// once every link is closed.
    fn progress_end(&mut self) {
        if !matches!(self.phase, Phase::Ending { .. }) {
            return;
        }
        for i in 0..self.links.len() {
            self.queue_bye(i);
            let link = &self.links[i];
            if link.state == LinkState::Up
                && link.bye_done
                && link.report.peer_sent.is_some()
                && let Some(conn) = link.conn
            {
                self.links[i].state = LinkState::Done;
                self.links[i].conn = None;
                self.conns[conn.index()].state = State::Closing;
                self.emit(Event::Close(conn));
            }
        }
        self.check_end();
    }

    fn check_end(&mut self) {
        if matches!(self.phase, Phase::Ending { .. })
            && self.links.iter().all(|l| l.state != LinkState::Up)
        {
            let status = self.final_status();
            self.finish(status);
        }
    }

    /// The `Bye` bound passed: whoever said no `Bye` is lost.
    fn give_up_end(&mut self) {
        self.end_stall();
        for i in 0..self.links.len() {
            let link = &self.links[i];
            if let (LinkState::Up, Some(conn)) = (link.state, link.conn) {
                // No Bye came, or ours never went out whole (the peer stopped reading).
                let reason = if link.report.peer_sent.is_none() {
                    CloseReason::NoBye
                } else {
                    CloseReason::Closed
                };
                self.close(conn, reason);
            }
        }
        let status = self.final_status();
        self.finish(status);
    }

    fn final_status(&self) -> Status {
        let trouble = self
            .links
            .iter()
            .any(|l| l.report.lost.is_some() || l.ended_early || l.state == LinkState::Lost);
        if self.stats.interrupted {
            Status::Interrupted
        } else if self.stats.overflow {
            Status::ClockOverflow
        } else if trouble {
            Status::PeerLost
        } else if self.stats.stalls > 0 {
            // Its ticks after a stall ran late, however it caught up.
            Status::Stalled
        } else if self.stats.behind_ticks > 0 {
            Status::Overloaded
        } else {
            Status::Completed
        }
    }

    /// The node is done: every connection closes, and the status is final.
    fn finish(&mut self, status: Status) {
        self.end_stall();
        for i in 0..CONNS {
            let conn = ConnId(i as u8);
            match self.conns[i].state {
                State::Free | State::Closing => {}
                State::Up(_) => {
                    self.conns[i].state = State::Closing;
                    self.emit(Event::Close(conn));
                }
                _ => self.close(conn, CloseReason::Stopped),
            }
        }
        self.phase = Phase::Ended(status);
        self.emit(Event::Ended(status));
    }
}
