//! One machine of a networked run, driven by a single mio `Poll`.
//!
//! Phases: **set-up** (listen, connect to the next machine, accept the other,
//! `Hello` both ways), **barrier** (`Ready` both ways, then the start time),
//! **run** (ticks on absolute deadlines; sockets drained as fast as data
//! comes), **end** (`Bye { sent }` both ways, then the accounting). Every wait
//! is bounded; what went wrong is named in a [`Note`] or a [`NodeError`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Poll, Token, Waker};
use scalemodel_core::rng::{self, ModelRng, Stream};
use scalemodel_core::wire::{Frame, PROTOCOL};
use scalemodel_core::{
    ClockOverflow, ConfigError, Event, Machine, MachineId, Message, N, Record, Tally,
};

use crate::conn::{Conn, ReadStop, Take};
use crate::timer::Timer;

/// Messages the inbox holds: about 45 minutes of the worst standard queue
/// growth (rates 1,6,6, die of 4: 3 messages a second). When it is full the
/// node stops reading that socket and TCP holds the rest: nothing is lost,
/// and the summary counts the holds.
pub const INBOX_CAP: usize = 1 << 13;
/// Connections that may wait for their `Hello` at once; more are refused.
const PENDING_MAX: usize = 8;
/// The wait between two connection attempts to a refusing peer.
const RETRY: Duration = Duration::from_millis(100);

const LISTENER: Token = Token(0);
const TIMER: Token = Token(1);
const WAKER: Token = Token(2);
const FIRST_CONN: usize = 3;

/// One machine's parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// This machine.
    pub id: MachineId,
    /// Ticks per model second.
    pub rate: u32,
    /// Faces of the die.
    pub sides: u8,
    /// The run's seed: this machine's die is stream `(seed, id)`.
    pub seed: u64,
    /// The run's id, checked in every `Hello`.
    pub run: u64,
    /// Model time runs this many times faster than wall time.
    pub speed: u32,
    /// The run's length in model ns.
    pub duration_ns: u64,
    /// The address of the next machine, `(id + 1) mod 3`, which this one connects to.
    pub next: SocketAddr,
    /// How long to keep trying to reach the peers and pass the barrier.
    pub connect_timeout: Duration,
    /// How long a new connection may take to say `Hello`.
    pub hello_timeout: Duration,
    /// How long to wait for the peers' `Bye` after the end.
    pub bye_timeout: Duration,
}

/// When model time 0 is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// As soon as this machine passes the barrier.
    AtBarrier,
    /// At this Unix time in ns.
    At(u64),
    /// When [`Handle::start_at`] says.
    Handed,
}

/// Why a node could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum NodeError<E> {
    /// The parameters are out of range.
    #[error("invalid parameters")]
    Config(#[from] ConfigError),
    /// A socket or the poll failed.
    #[error("network I/O failed")]
    Io(#[from] io::Error),
    /// A peer did not appear in time.
    #[error("{0}")]
    PeerMissing(String),
    /// The start time was not handed in time.
    #[error("no start time came within {0:?} of the barrier")]
    NoStart(Duration),
    /// Stopped before the run started.
    #[error("interrupted before the run started")]
    Interrupted,
    /// The Lamport clock would overflow.
    #[error("machine stopped")]
    Clock(#[from] ClockOverflow),
    /// The host refused a record.
    #[error("the log refused a record")]
    Log(#[source] E),
}

/// Something the host should know, e.g. to log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A connection was closed before it joined the run.
    Rejected {
        /// Who connected.
        addr: Option<SocketAddr>,
        /// Why it was closed.
        why: String,
    },
    /// A peer's connection broke before its `Bye`.
    PeerLost {
        /// The peer.
        peer: MachineId,
        /// Model ns since the start (0 before the start).
        at_model_ns: u64,
        /// How it broke.
        why: String,
    },
    /// A peer broke the protocol on an established link.
    Protocol {
        /// The peer.
        peer: MachineId,
        /// What it did.
        what: String,
    },
    /// A peer sent no `Bye` within the bound after the end.
    NoBye {
        /// The peer.
        peer: MachineId,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected { addr: Some(a), why } => {
                write!(f, "rejected a connection from {a}: {why}")
            }
            Self::Rejected { addr: None, why } => write!(f, "rejected a connection: {why}"),
            Self::PeerLost {
                peer,
                at_model_ns,
                why,
            } => write!(
                f,
                "lost machine {peer} at model time {:.3} s: {why}",
                *at_model_ns as f64 / 1e9
            ),
            Self::Protocol { peer, what } => {
                write!(f, "protocol error from machine {peer}: {what}")
            }
            Self::NoBye { peer } => write!(f, "machine {peer} sent no Bye before the bound"),
        }
    }
}

/// What the node tells its host as the run goes.
pub trait Host {
    /// Why a record could not be kept.
    type Error;
    /// One event's record, in order.
    fn record(&mut self, record: &Record) -> Result<(), Self::Error>;
    /// The barrier passed: all three links are up.
    fn ready(&mut self) {}
    /// Something worth logging.
    fn note(&mut self, note: &Note) {
        let _ = note;
    }
    /// The loop is about to wait: a good moment to flush the log, so that it
    /// is readable while the run goes and survives the process being killed.
    fn idle(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// How a machine's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It ran to the end and both peers said `Bye`.
    Completed,
    /// It was told to stop.
    Interrupted,
    /// A peer was lost (or ended early, or sent no `Bye`).
    PeerLost,
}

/// One peer's side of the accounting, as this machine saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeerReport {
    /// `Clock` messages this machine logged as sent to the peer.
    pub sent: u64,
    /// Of those, never handed to the peer's socket because it was gone.
    pub undeliverable: u64,
    /// `Clock` messages the peer said it sent (its `Bye`), if it said.
    pub peer_sent: Option<u64>,
    /// Messages from the peer taken off the inbox (logged receives).
    pub received: u64,
    /// Messages from the peer left in the inbox at the end, or arrived after it.
    pub left: u64,
    /// Protocol errors on the link (bad frames, `seq` gaps or duplicates, a
    /// `Bye` that does not match).
    pub protocol_errors: u64,
    /// When the link broke, in model ns, if it did.
    pub lost_at_model_ns: Option<u64>,
}

/// How one node's run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// Counts from its records.
    pub tally: Tally,
    /// Unix time in ns of model time 0.
    pub start_unix_ns: u64,
    /// Each peer's accounting, by peer id (this machine's own entry stays empty).
    pub peers: [PeerReport; N],
    /// Times the machine stalled on a full outbox.
    pub stalls: u64,
    /// Wall ns it spent stalled.
    pub stalled_ns: u64,
    /// Times reading from a peer stopped because the inbox was full.
    pub held: u64,
    /// Wall ns from the node's creation to its first tick.
    pub first_tick_ns: Option<u64>,
    /// How it ended.
    pub end: End,
}

/// Tells a running node to start or stop, from another thread.
#[derive(Debug, Clone)]
pub struct Handle {
    shared: Arc<Shared>,
    waker: Arc<Waker>,
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    start_unix_ns: AtomicU64,
}

impl Handle {
    /// Ends the run cleanly as soon as possible: the machine says `Bye` and
    /// reports itself interrupted.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }

    /// Sets model time 0 to Unix time `unix_ns` (for [`Start::Handed`]).
    pub fn start_at(&self, unix_ns: u64) {
        self.shared
            .start_unix_ns
            .store(unix_ns.max(1), Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// We connected (to the next machine).
    Out,
    /// We accepted.
    In,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A connect in progress.
    Connecting,
    /// Waiting for the peer's `Hello` until the deadline.
    Hello { deadline_ns: u64 },
    /// A link of the run.
    Up,
}

#[derive(Debug)]
struct Slot {
    conn: Conn,
    meta: Meta,
}

/// A slot's state apart from its socket, so both can be borrowed at once.
#[derive(Debug)]
struct Meta {
    dir: Dir,
    state: State,
    addr: Option<SocketAddr>,
    peer: Option<MachineId>,
    ready: bool,
    next_seq: u64,
    /// Why the slot must close, once set.
    close: Option<String>,
    /// The peer closed its side (after its `Bye`, or not).
    eof: bool,
}

/// One machine of a networked run.
pub struct Node<T: Timer> {
    config: Config,
    poll: Poll,
    listener: TcpListener,
    timer: T,
    shared: Arc<Shared>,
    waker: Arc<Waker>,
    slots: Vec<Option<Slot>>,
    /// The slot of each peer's link once it said `Hello`.
    links: [Option<usize>; N],
    /// Peers whose link broke or ended; sends to them are undeliverable.
    gone: [bool; N],
    /// Boxed: the inbox is large, and the node moves.
    machine: Box<Machine<INBOX_CAP>>,
    dice: ModelRng,
    tally: Tally,
    peers: [PeerReport; N],
    /// Sends waiting for room in an outbox, in order; the machine waits meanwhile.
    pending: Vec<(MachineId, Message)>,
    stalled_since: Option<u64>,
    stalls: u64,
    stalled_ns: u64,
    held: u64,
    /// After the end: arrivals are counted as left, not delivered.
    ended: bool,
    /// When the next connection attempt may start.
    retry_at_ns: Option<u64>,
    created_ns: u64,
    first_tick_ns: Option<u64>,
    /// Model time 0 on the timer's clock, once known.
    start_mono_ns: u64,
    notes: Vec<Note>,
    /// Both links are up: `Ready` must go out on both.
    ready_due: bool,
    ready_sent: bool,
}

fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl<T: Timer> Node<T> {
    /// A node listening on `listener` (already bound, so that its address can
    /// be told to the peers before the node runs).
    pub fn new(
        config: Config,
        listener: std::net::TcpListener,
        mut timer: T,
    ) -> Result<Self, io::Error> {
        let machine = Machine::new(config.id, config.rate, config.sides)
            .map(Box::new)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if config.speed == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                ConfigError::ZeroSpeed,
            ));
        }
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, mio::Interest::READABLE)?;
        timer.register(poll.registry(), TIMER)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let created_ns = timer.now_ns();
        Ok(Self {
            dice: rng::stream(config.seed, Stream::Machine(config.id)),
            config,
            poll,
            listener,
            timer,
            shared: Arc::default(),
            waker,
            slots: Vec::new(),
            links: [None; N],
            gone: [false; N],
            machine,
            tally: Tally::new(),
            peers: [PeerReport::default(); N],
            pending: Vec::with_capacity(2),
            stalled_since: None,
            stalls: 0,
            stalled_ns: 0,
            held: 0,
            ended: false,
            retry_at_ns: Some(created_ns),
            created_ns,
            first_tick_ns: None,
            start_mono_ns: 0,
            notes: Vec::new(),
            ready_due: false,
            ready_sent: false,
        })
    }

    /// A handle to start or stop the node from another thread.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
            waker: Arc::clone(&self.waker),
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Runs the node through all its phases.
    pub fn run<H: Host>(
        mut self,
        host: &mut H,
        start: Start,
    ) -> Result<NodeReport, NodeError<H::Error>> {
        let setup_deadline = self.timer.now_ns() + nanos(self.config.connect_timeout);
        while !self.barrier_passed() {
            if self.stopping() {
                return Err(NodeError::Interrupted);
            }
            let now = self.timer.now_ns();
            if now >= setup_deadline {
                return Err(NodeError::PeerMissing(self.missing()));
            }
            self.turn(host, setup_deadline)?;
        }
        host.ready();
        let start_unix_ns = match start {
            Start::AtBarrier => unix_now_ns(),
            Start::At(t) => t,
            Start::Handed => self.wait_for_start(host)?,
        };
        // Map Unix time to the monotonic clock once; ticks then follow the
        // monotonic clock, which never steps.
        let (mono, unix) = (self.timer.now_ns(), unix_now_ns());
        self.start_mono_ns = mono.saturating_add_signed(start_unix_ns as i64 - unix as i64);
        let end = self.run_ticks(host, start_unix_ns)?;
        self.finish(host, end, start_unix_ns)
    }

    fn barrier_passed(&self) -> bool {
        let peers = [self.config.id.next(), self.config.id.other()];
        peers.iter().all(|p| {
            self.links[p.index()]
                .and_then(|i| self.slots[i].as_ref())
                .is_some_and(|s| s.meta.ready)
        })
    }

    fn missing(&self) -> String {
        let (next, other) = (self.config.id.next(), self.config.id.other());
        let secs = self.config.connect_timeout.as_secs_f64();
        let mut why = Vec::new();
        if self.links[next.index()].is_none() {
            why.push(format!(
                "machine {next} at {} did not answer within {secs} s",
                self.config.next
            ));
        }
        if self.links[other.index()].is_none() {
            why.push(format!(
                "machine {other} did not connect to {} within {secs} s",
                self.local_addr()
                    .map_or_else(|_| "this machine".to_owned(), |a| a.to_string())
            ));
        }
        if why.is_empty() {
            why.push(format!("the start barrier did not pass within {secs} s"));
        }
        why.join("; ")
    }

    fn wait_for_start<H: Host>(&mut self, host: &mut H) -> Result<u64, NodeError<H::Error>> {
        let deadline = self.timer.now_ns() + nanos(self.config.connect_timeout);
        loop {
            match self.shared.start_unix_ns.load(Ordering::SeqCst) {
                0 => {}
                t => return Ok(t),
            }
            if self.stopping() {
                return Err(NodeError::Interrupted);
            }
            if self.timer.now_ns() >= deadline {
                return Err(NodeError::NoStart(self.config.connect_timeout));
            }
            self.turn(host, deadline)?;
        }
    }

    /// The monotonic deadline of tick `k`: `start + k * 1e9 / (rate * speed)`.
    fn deadline_ns(&self, k: u64) -> u64 {
        let scale = u128::from(self.config.rate) * u128::from(self.config.speed);
        let offset = u128::from(k) * 1_000_000_000 / scale;
        self.start_mono_ns
            .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX))
    }

    fn run_ticks<H: Host>(
        &mut self,
        host: &mut H,
        start_unix_ns: u64,
    ) -> Result<End, NodeError<H::Error>> {
        let speed = u64::from(self.config.speed);
        let end_mono = self.start_mono_ns + self.config.duration_ns / speed;
        loop {
            if self.stopping() {
                return Ok(End::Interrupted);
            }
            let now = self.timer.now_ns();
            if now >= end_mono {
                return Ok(End::Completed);
            }
            let mut wake = end_mono;
            while self.pending.is_empty() && self.machine.next_tick_ns() < self.config.duration_ns {
                let due = self.deadline_ns(self.machine.ticks());
                if self.timer.now_ns() < due {
                    wake = wake.min(due);
                    break;
                }
                // The wall clock may lag the monotonic mapping by a few µs:
                // never log a tick before its wall-clock due time.
                let due_unix = start_unix_ns + self.machine.next_tick_ns() / speed;
                let unix = unix_now_ns();
                if unix < due_unix {
                    wake = wake.min(self.timer.now_ns() + (due_unix - unix));
                    break;
                }
                self.tick(host, unix)?;
            }
            self.turn(host, wake)?;
        }
    }

    fn tick<H: Host>(&mut self, host: &mut H, system_ns: u64) -> Result<(), NodeError<H::Error>> {
        if self.tally.ticks == 0 {
            let now = self.timer.now_ns();
            self.first_tick_ns = Some(now - self.created_ns);
        }
        let record = self.machine.tick(system_ns, &mut self.dice)?;
        self.tally.observe(&record);
        for (to, msg) in record.outgoing() {
            self.send(to, msg);
        }
        host.record(&record).map_err(NodeError::Log)?;
        if matches!(record.event, Event::Receive(_)) {
            // Room in the inbox again: take what a full inbox held back.
            self.resume_reads(host);
        }
        Ok(())
    }
}

/// Sending, and the stall of a machine whose outbox is full.
impl<T: Timer> Node<T> {
    fn send(&mut self, to: MachineId, msg: Message) {
        self.peers[to.index()].sent += 1;
        if self.gone[to.index()] || self.links[to.index()].is_none() {
            self.peers[to.index()].undeliverable += 1;
            return;
        }
        if self.pending.is_empty() && self.queue_clock(to, msg) {
            return;
        }
        // Backpressure: the machine waits, as on a blocking socket.
        self.pending.push((to, msg));
        if self.stalled_since.is_none() {
            self.stalled_since = Some(self.timer.now_ns());
            self.stalls += 1;
        }
    }

    /// Queues and writes a `Clock` frame; false when the outbox is full.
    fn queue_clock(&mut self, to: MachineId, msg: Message) -> bool {
        let Some(slot) = self.links[to.index()].and_then(|i| self.slots[i].as_mut()) else {
            return false;
        };
        let frame = Frame::Clock {
            from: msg.from.get(),
            clock: msg.clock,
            seq: msg.seq,
        };
        if slot.conn.queue(&frame).is_err() {
            return false;
        }
        if let Err(e) = slot.conn.flush(self.poll.registry()) {
            slot.meta
                .close
                .get_or_insert_with(|| format!("write failed: {e}"));
        }
        true
    }

    /// Hands waiting sends to their outboxes while there is room.
    fn unstall(&mut self) {
        while let Some(&(to, msg)) = self.pending.first() {
            if self.gone[to.index()] {
                self.peers[to.index()].undeliverable += 1;
            } else if !self.queue_clock(to, msg) {
                return;
            }
            self.pending.remove(0);
        }
        if let Some(since) = self.stalled_since.take() {
            self.stalled_ns += self.timer.now_ns() - since;
        }
    }
}

/// The event loop: one poll, then every ready socket.
impl<T: Timer> Node<T> {
    /// One turn of the loop: wait until `wake_ns` at most, then serve every event.
    fn turn<H: Host>(&mut self, host: &mut H, wake_ns: u64) -> Result<(), NodeError<H::Error>> {
        let mut wake = wake_ns;
        for slot in self.slots.iter().flatten() {
            if let State::Hello { deadline_ns } = slot.meta.state {
                wake = wake.min(deadline_ns);
            }
        }
        if let Some(retry) = self.retry_at_ns {
            wake = wake.min(retry);
        }
        host.idle().map_err(NodeError::Log)?;
        self.timer.arm(wake)?;
        let mut events = Events::with_capacity(64);
        let timeout = self.timer.poll_timeout(self.timer.now_ns());
        match self.poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        for event in &events {
            match event.token() {
                LISTENER => self.accept(host)?,
                TIMER => self.timer.fired()?,
                WAKER => {}
                Token(t) => {
                    let i = t - FIRST_CONN;
                    if event.is_writable() || event.is_error() {
                        self.writable(i);
                    }
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        self.read(host, i);
                    }
                }
            }
        }
        let now = self.timer.now_ns();
        self.expire_hellos(now);
        if self.retry_at_ns.is_some_and(|t| now >= t) {
            self.connect_next()?;
        }
        if self.ready_due && !self.ready_sent {
            self.send_ready();
        }
        self.reap(host);
        if !self.pending.is_empty() {
            self.unstall();
        }
        for note in self.notes.drain(..) {
            host.note(&note);
        }
        Ok(())
    }

    fn accept<H: Host>(&mut self, _host: &mut H) -> io::Result<()> {
        loop {
            let (stream, addr) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A connection that failed between SYN and accept is not ours to mourn.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return Err(e),
            };
            let waiting = self
                .slots
                .iter()
                .flatten()
                .filter(|s| s.meta.state != State::Up)
                .count();
            if waiting >= PENDING_MAX {
                self.notes.push(Note::Rejected {
                    addr: Some(addr),
                    why: format!("{PENDING_MAX} connections already wait for their Hello"),
                });
                continue;
            }
            let deadline_ns = self.timer.now_ns() + nanos(self.config.hello_timeout);
            self.add_slot(stream, Dir::In, State::Hello { deadline_ns }, Some(addr))?;
        }
    }

    fn add_slot(
        &mut self,
        stream: TcpStream,
        dir: Dir,
        state: State,
        addr: Option<SocketAddr>,
    ) -> io::Result<usize> {
        let i = self
            .slots
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.slots.len());
        let conn = Conn::new(stream, Token(FIRST_CONN + i), self.poll.registry())?;
        let mut slot = Slot {
            conn,
            meta: Meta {
                dir,
                state,
                addr,
                peer: None,
                ready: false,
                next_seq: 0,
                close: None,
                eof: false,
            },
        };
        if state != State::Connecting {
            self.hello(&mut slot);
        }
        if i == self.slots.len() {
            self.slots.push(Some(slot));
        } else {
            self.slots[i] = Some(slot);
        }
        Ok(i)
    }

    fn hello(&self, slot: &mut Slot) {
        let hello = Frame::Hello {
            protocol: PROTOCOL,
            run: self.config.run,
            from: self.config.id.get(),
        };
        let sent = slot.conn.queue(&hello).is_ok() && slot.conn.flush(self.poll.registry()).is_ok();
        if !sent {
            slot.meta
                .close
                .get_or_insert_with(|| "could not send Hello".to_owned());
        }
    }

    /// Starts a connection to the next machine, unless one is up or under way.
    fn connect_next(&mut self) -> io::Result<()> {
        self.retry_at_ns = None;
        let next = self.config.id.next();
        let busy = self.links[next.index()].is_some()
            || self
                .slots
                .iter()
                .flatten()
                .any(|s| s.meta.dir == Dir::Out && s.meta.peer.is_none());
        if busy || self.ended {
            return Ok(());
        }
        match TcpStream::connect(self.config.next) {
            Ok(stream) => {
                self.add_slot(stream, Dir::Out, State::Connecting, Some(self.config.next))?;
            }
            Err(_) => self.retry_at_ns = Some(self.timer.now_ns() + nanos(RETRY)),
        }
        Ok(())
    }

    fn writable(&mut self, i: usize) {
        let registry = self.poll.registry();
        let hello_deadline = self.timer.now_ns() + nanos(self.config.hello_timeout);
        let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        if slot.meta.state == State::Connecting {
            // A non-blocking connect completes on WRITABLE: it worked if the
            // socket has no error and a peer address.
            let stream = slot.conn.stream();
            match (stream.take_error(), stream.peer_addr()) {
                (Ok(None), Ok(_)) => {
                    slot.meta.state = State::Hello {
                        deadline_ns: hello_deadline,
                    };
                }
                (Err(e) | Ok(Some(e)), _) | (_, Err(e)) => {
                    if e.kind() == io::ErrorKind::NotConnected {
                        return; // not finished yet: a spurious wake-up
                    }
                    slot.meta.close = Some(format!("connect failed: {e}"));
                    return;
                }
            }
            let mut slot = self.slots[i].take();
            if let Some(s) = slot.as_mut() {
                self.hello(s);
            }
            self.slots[i] = slot;
            return;
        }
        if let Err(e) = slot.conn.flush(registry) {
            slot.meta
                .close
                .get_or_insert_with(|| format!("write failed: {e}"));
        }
    }

    fn expire_hellos(&mut self, now: u64) {
        for slot in self.slots.iter_mut().flatten() {
            if let State::Hello { deadline_ns } = slot.meta.state
                && now >= deadline_ns
                && slot.meta.close.is_none()
            {
                slot.meta.close = Some(format!("no Hello within {:?}", self.config.hello_timeout));
            }
        }
    }

    /// Closes every slot marked for closing, with a note saying why.
    fn reap<H: Host>(&mut self, _host: &mut H) {
        for i in 0..self.slots.len() {
            let Some(slot) = self.slots[i].as_mut() else {
                continue;
            };
            let Some(why) = slot.meta.close.take() else {
                continue;
            };
            let mut slot = self.slots[i].take().expect("checked above");
            slot.conn.deregister(self.poll.registry());
            match slot.meta.peer.filter(|_| slot.meta.state == State::Up) {
                Some(peer) => self.lose(peer, &slot, why),
                None => {
                    if slot.meta.dir == Dir::Out {
                        self.retry_at_ns = Some(self.timer.now_ns() + nanos(RETRY));
                    }
                    let refused = why.contains("connect failed");
                    if !refused {
                        self.notes.push(Note::Rejected {
                            addr: slot.meta.addr,
                            why,
                        });
                    }
                }
            }
        }
    }

    /// A link of the run is gone: its unsent messages are undeliverable.
    fn lose(&mut self, peer: MachineId, slot: &Slot, why: String) {
        let p = peer.index();
        self.gone[p] = true;
        self.peers[p].undeliverable += slot.conn.unsent_clocks();
        if self.peers[p].lost_at_model_ns.is_none()
            && !(slot.meta.eof && self.peers[p].peer_sent.is_some())
        {
            let now = self.timer.now_ns();
            let at = now.saturating_sub(self.start_mono_ns) * u64::from(self.config.speed);
            let at = if self.start_mono_ns == 0 { 0 } else { at };
            self.peers[p].lost_at_model_ns = Some(at);
            self.notes.push(Note::PeerLost {
                peer,
                at_model_ns: at,
                why,
            });
        }
    }
}

/// What a frame did to its link, for the node to act on after the read.
#[derive(Debug, Default)]
struct Outcome {
    /// A link came up with this peer.
    up: Option<MachineId>,
    /// Notes to pass on.
    notes: Vec<Note>,
    /// Protocol errors counted.
    errors: u64,
    /// The inbox was full: reading stopped.
    held: bool,
}

/// Reading: frames from a slot, by the slot's state.
impl<T: Timer> Node<T> {
    fn read<H: Host>(&mut self, _host: &mut H, i: usize) {
        let Some(mut slot) = self.slots.get_mut(i).and_then(Option::take) else {
            return;
        };
        if slot.meta.state != State::Connecting && slot.meta.close.is_none() {
            self.pump(&mut slot);
        }
        self.slots[i] = Some(slot);
    }

    /// Pumps a slot's socket, then applies what its frames did.
    fn pump(&mut self, slot: &mut Slot) {
        let mut out = Outcome::default();
        let ctx = Ctx {
            id: self.config.id,
            run: self.config.run,
            ended: self.ended,
            links: self.links,
        };
        let machine = &mut self.machine;
        let peers = &mut self.peers;
        let meta = &mut slot.meta;
        let mut bad = Vec::new();
        let stop = slot.conn.pump(
            |frame| ctx.on_frame(meta, frame, machine, peers, &mut out),
            |e| bad.push(e),
        );
        for e in bad {
            match (meta.state, meta.peer) {
                (State::Up, Some(peer)) => {
                    out.errors += 1;
                    out.notes.push(Note::Protocol {
                        peer,
                        what: format!("bad frame: {e}"),
                    });
                }
                _ => {
                    meta.close
                        .get_or_insert_with(|| format!("bad frame before Hello: {e}"));
                }
            }
        }
        match stop {
            Ok(ReadStop::WouldBlock) => {}
            Ok(ReadStop::Held) => out.held = true,
            Ok(ReadStop::Eof) => {
                meta.eof = true;
                let clean = meta
                    .peer
                    .is_some_and(|p| peers[p.index()].peer_sent.is_some());
                if !clean {
                    meta.close
                        .get_or_insert_with(|| "the connection closed".to_owned());
                }
            }
            Ok(ReadStop::Truncated) => {
                meta.eof = true;
                meta.close
                    .get_or_insert_with(|| "the connection closed mid-frame".to_owned());
            }
            Err(e) => {
                meta.close
                    .get_or_insert_with(|| format!("read failed: {e}"));
            }
        }
        if let Some(peer) = meta.peer {
            self.peers[peer.index()].protocol_errors += out.errors;
        }
        if out.held {
            self.held += 1;
        }
        if let Some(peer) = out.up {
            self.links[peer.index()] = Some(slot.conn.token().0 - FIRST_CONN);
            // Both links up: the barrier's first half.
            self.maybe_ready();
        }
        self.notes.append(&mut out.notes);
    }

    /// Sends `Ready` on both links.
    fn send_ready(&mut self) {
        self.ready_sent = true;
        for i in self.links.iter().flatten() {
            let Some(slot) = self.slots[*i].as_mut() else {
                continue;
            };
            let ok = slot.conn.queue(&Frame::Ready).is_ok()
                && slot.conn.flush(self.poll.registry()).is_ok();
            if !ok {
                slot.meta
                    .close
                    .get_or_insert_with(|| "could not send Ready".to_owned());
            }
        }
    }

    /// Marks `Ready` as due once both links are up; [`Node::turn`] sends it
    /// when every slot is back in the table.
    fn maybe_ready(&mut self) {
        let peers = [self.config.id.next(), self.config.id.other()];
        if peers.iter().all(|p| self.links[p.index()].is_some()) {
            self.ready_due = true;
        }
    }

    /// Pumps every link that a full inbox stopped.
    fn resume_reads<H: Host>(&mut self, host: &mut H) {
        for i in 0..self.slots.len() {
            if self.slots[i].as_ref().is_some_and(|s| s.conn.is_holding()) {
                self.read(host, i);
            }
        }
    }
}

/// What frame handling needs of the node, copied so that the node's other
/// fields can be borrowed at the same time.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    id: MachineId,
    run: u64,
    ended: bool,
    links: [Option<usize>; N],
}

impl Ctx {
    fn on_frame(
        &self,
        meta: &mut Meta,
        frame: Frame,
        machine: &mut Machine<INBOX_CAP>,
        peers: &mut [PeerReport; N],
        out: &mut Outcome,
    ) -> Take {
        if meta.close.is_some() {
            return Take::Taken; // closing: ignore the rest
        }
        let (State::Up, Some(peer)) = (meta.state, meta.peer) else {
            self.on_hello(meta, frame, out);
            return Take::Taken;
        };
        let mut error = |what: String| {
            out.errors += 1;
            out.notes.push(Note::Protocol { peer, what });
        };
        match frame {
            Frame::Ready if !meta.ready => meta.ready = true,
            Frame::Clock { from, clock, seq } => {
                if from != peer.get() {
                    error(format!("a Clock frame claiming to be from machine {from}"));
                }
                if seq != meta.next_seq {
                    error(format!("seq {seq} where {} was next", meta.next_seq));
                }
                let msg = Message {
                    from: peer,
                    clock,
                    seq,
                };
                if self.ended {
                    peers[peer.index()].left += 1;
                } else if machine.deliver(msg).is_err() {
                    return Take::Hold;
                }
                meta.next_seq = seq.saturating_add(1);
            }
            Frame::Bye { sent } if peers[peer.index()].peer_sent.is_none() => {
                peers[peer.index()].peer_sent = Some(sent);
            }
            other => error(format!("an unexpected {other:?}")),
        }
        Take::Taken
    }

    /// A frame on a connection that has not said `Hello` yet.
    fn on_hello(&self, meta: &mut Meta, frame: Frame, out: &mut Outcome) {
        let expect = match meta.dir {
            Dir::Out => self.id.next(),
            Dir::In => self.id.other(),
        };
        let why = match frame {
            Frame::Hello { protocol, .. } if protocol != PROTOCOL => {
                format!("protocol {protocol}, expected {PROTOCOL}")
            }
            Frame::Hello { run, .. } if run != self.run => {
                format!("run {run}, expected {}", self.run)
            }
            Frame::Hello { from, .. } if from != expect.get() => {
                format!("it says it is machine {from}, expected machine {expect}")
            }
            Frame::Hello { .. } if self.links[expect.index()].is_some() => {
                format!("machine {expect} is already connected")
            }
            Frame::Hello { .. } => {
                meta.state = State::Up;
                meta.peer = Some(expect);
                out.up = Some(expect);
                return;
            }
            other => format!("{other:?} before Hello"),
        };
        meta.close = Some(why);
    }
}

/// The end: `Bye` both ways, then the accounting.
impl<T: Timer> Node<T> {
    fn finish<H: Host>(
        mut self,
        host: &mut H,
        end: End,
        start_unix_ns: u64,
    ) -> Result<NodeReport, NodeError<H::Error>> {
        self.ended = true;
        for msg in self.machine.inbox().iter() {
            self.peers[msg.from.index()].left += 1;
        }
        // Frames a full inbox held back now count as left.
        self.resume_reads(host);
        let peers = [self.config.id.next(), self.config.id.other()];
        let deadline = self.timer.now_ns() + nanos(self.config.bye_timeout);
        let mut bye_queued = [false; N];
        loop {
            self.unstall();
            for &peer in &peers {
                let p = peer.index();
                let waiting = self.pending.iter().any(|(to, _)| *to == peer);
                if bye_queued[p] || waiting || self.gone[p] {
                    continue;
                }
                let sent = self.machine.sent_to(peer);
                let Some(slot) = self.links[p].and_then(|i| self.slots[i].as_mut()) else {
                    continue;
                };
                if slot.conn.queue(&Frame::Bye { sent }).is_ok() {
                    bye_queued[p] = true;
                    if let Err(e) = slot.conn.flush(self.poll.registry()) {
                        slot.meta
                            .close
                            .get_or_insert_with(|| format!("write failed: {e}"));
                    }
                }
            }
            let done = peers.iter().all(|&peer| {
                let p = peer.index();
                let flushed = self.links[p]
                    .and_then(|i| self.slots[i].as_ref())
                    .is_none_or(|s| s.conn.pending_bytes() == 0);
                self.gone[p] || (bye_queued[p] && flushed && self.peers[p].peer_sent.is_some())
            });
            if done {
                break;
            }
            if self.timer.now_ns() >= deadline {
                for &peer in &peers {
                    if !self.gone[peer.index()] && self.peers[peer.index()].peer_sent.is_none() {
                        self.notes.push(Note::NoBye { peer });
                    }
                }
                break;
            }
            self.turn(host, deadline)?;
        }
        for (to, _) in self.pending.drain(..) {
            self.peers[to.index()].undeliverable += 1;
        }
        for slot in self.slots.iter_mut().flatten() {
            slot.conn.shutdown_write();
            slot.conn.deregister(self.poll.registry());
        }
        let mut trouble = false;
        for &peer in &peers {
            let r = &mut self.peers[peer.index()];
            r.received = self.tally.received_from(peer);
            match r.peer_sent {
                Some(sent) if sent != r.received + r.left => {
                    r.protocol_errors += 1;
                    self.notes.push(Note::Protocol {
                        peer,
                        what: format!(
                            "its Bye says {sent} sent, but {} were received and {} left",
                            r.received, r.left
                        ),
                    });
                }
                Some(_) => {}
                None => trouble = true,
            }
            trouble |= r.lost_at_model_ns.is_some();
        }
        for note in self.notes.drain(..) {
            host.note(&note);
        }
        let end = match end {
            End::Completed if trouble => End::PeerLost,
            other => other,
        };
        if let Some(since) = self.stalled_since.take() {
            self.stalled_ns += self.timer.now_ns() - since;
        }
        Ok(NodeReport {
            tally: self.tally,
            start_unix_ns,
            peers: self.peers,
            stalls: self.stalls,
            stalled_ns: self.stalled_ns,
            held: self.held,
            first_tick_ns: self.first_tick_ns,
            end,
        })
    }
}
