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
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mio::net::TcpListener;
use mio::{Events, Poll, Token, Waker};
use scalemodel_core::rng::{self, ModelRng, Stream};
use scalemodel_core::wire::Frame;
use scalemodel_core::{ClockOverflow, ConfigError, Event, Machine, MachineId, Message, N, Tally};

use crate::conn::Conn;
use crate::timer::Timer;

mod end;
mod frames;
mod net;
mod report;

use report::Shared;
pub use report::{End, Handle, Host, NodeReport, Note, PeerReport};

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
    /// How long before a deadline to stop sleeping and poll without
    /// blocking: waking from idle is slow and noisy on many machines, so the
    /// last stretch is spent awake (at most a quarter of a tick period).
    pub spin: Duration,
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
    /// The poll's events, kept between turns.
    events: Events,
    /// [`Config::spin`], capped at a quarter of a tick period, in ns.
    spin_ns: u64,
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
        let period_ns = 1_000_000_000 / (u64::from(config.rate) * u64::from(config.speed)).max(1);
        let spin_ns = nanos(config.spin).min(period_ns / 4);
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
            events: Events::with_capacity(64),
            spin_ns,
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
