//! The loop: one `Poll`, a socket per connection slot of the core node, and
//! the node's deadlines on a [`Timer`].
//!
//! Each turn reads the clock and hands that `now` to the calls into the
//! node: it serves the handle (stop, start), runs the node's timeout when it
//! is due (at most one tick), reads what the sockets hold (within a byte
//! budget per connection), accepts new connections (unless the next
//! deadline is within `ACCEPT_QUIET_NS`), writes what the node has to send,
//! acts on every event the node emitted, then waits for readiness or the
//! next deadline. Bytes are the exception: they are handed with the clock
//! read just after the read that brought them, since the node stamps each
//! message's arrival with it and a tick takes only what arrived by its due
//! time (the core's tie-break, `Machine::tick`).
//!
//! A send's record is flushed to the kernel (`Host::flush`) before any byte
//! of its frames is written, so a process killed at any instant leaves no
//! peer holding a receive whose send is missing from the logs.
//!
//! What a stranger can cost is bounded per turn: it is read at most a byte
//! budget (and the node closes it at its first protocol error), at most as
//! many connections are accepted as the node has slots, and rejected
//! connections reach the host as notes at most `REJECTED_NOTES_PER_S` (10)
//! a second (the node's report counts them all), so that a flood of
//! strangers never becomes a flood of log lines the host would wait to
//! write. A node behind its schedule runs one tick per turn, so its sockets
//! and its stop are served between ticks. An accept that fails for want of
//! a resource (out of file descriptors, most often) refuses nothing and
//! ends nothing: it is noted with a count, the connection waits in the
//! kernel's backlog, and the loop accepts nothing for `ACCEPT_BACKOFF_NS`
//! (the listener stays readable, and retrying every turn would spin).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use scalemodel_core::node::{self, CONNS, Event, INBOX_CAP, NodeReport, OUTBOX_BYTES, StartError};
use scalemodel_core::{ConfigError, Stamp};

use crate::clockmap::ClockPair;
use crate::host::{Handle, Host, Note, Shared, Start};
use crate::socket::Socket;
use crate::timer::Timer;
use crate::wake::{Margin, Wait};

pub use crate::in_place::Capacity;

mod serve;
#[cfg(test)]
mod tests;

/// The core node this loop drives: the standard inbox and outbox sizes, at
/// most `M` machines and `C` connection slots.
pub type Core<const M: usize, const C: usize, H = ()> =
    node::Node<INBOX_CAP, OUTBOX_BYTES, M, C, H>;

const LISTENER: Token = Token(0);
const TIMER: Token = Token(1);
const WAKER: Token = Token(2);
/// Connection slot `i` is token `FIRST_CONN + i`.
const FIRST_CONN: usize = 3;
/// Readiness events one poll returns at most; the rest come next turn.
const POLL_EVENTS: usize = 64;
/// Rejected connections noted to the host per second, at most (after a
/// first burst of as many): a flood of strangers must not turn into a flood
/// of log lines, which a host writing to a slow pipe would wait on. The
/// node's report counts every one.
const REJECTED_NOTES_PER_S: u32 = 10;
/// How long before the node's next deadline (its next tick, when running)
/// the loop accepts no connection, at most a quarter of a tick period: a
/// burst of strangers' connections is work that would make the tick late.
/// They wait in the listener's backlog until just after it.
const ACCEPT_QUIET_NS: u64 = 1_000_000;
/// How long the loop accepts nothing after an accept failed for want of a
/// resource (file descriptors, memory): the listener stays readable, and
/// trying again every turn would spin. The waiting connection is taken once
/// a descriptor is free, and peers keep dialling meanwhile.
pub const ACCEPT_BACKOFF_NS: u64 = 10_000_000;

/// A token bucket for [`Note::Rejected`]: [`REJECTED_NOTES_PER_S`] a second.
#[derive(Debug, Clone, Copy)]
struct NoteBudget {
    tokens: u32,
    /// When the bucket was last refilled, on the timer's clock.
    refilled_ns: u64,
}

impl NoteBudget {
    const fn new(now_ns: u64) -> Self {
        Self {
            tokens: REJECTED_NOTES_PER_S,
            refilled_ns: now_ns,
        }
    }

    /// True if a note may go now (and takes its token).
    fn take(&mut self, now_ns: u64) -> bool {
        let per_token_ns = 1_000_000_000 / u64::from(REJECTED_NOTES_PER_S);
        let earned = now_ns.saturating_sub(self.refilled_ns) / per_token_ns;
        if earned > 0 {
            let room = u64::from(REJECTED_NOTES_PER_S - self.tokens);
            self.tokens += u32::try_from(earned.min(room)).unwrap_or(0);
            self.refilled_ns = self.refilled_ns.saturating_add(earned * per_token_ns);
        }
        let ok = self.tokens > 0;
        self.tokens = self.tokens.saturating_sub(1);
        ok
    }
}

/// One node's parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// The core node's parameters (its key, rate, timeouts, ...).
    pub node: node::Config,
    /// Every machine's address, in id order (this one's unused): the node
    /// dials the ones its topology has it dial (`Node::dial_target`).
    pub peers: Vec<SocketAddr>,
    /// How long before a deadline to stop sleeping and poll without
    /// blocking (at most a quarter of a tick period): learned from the
    /// timer's overshoot by default, or fixed (see [`crate::wake`]).
    pub wait: Wait,
}

/// Why a node could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The core refused the parameters.
    #[error("invalid parameters")]
    Config(#[from] ConfigError),
    /// The poll, the timer or the listener could not be set up.
    #[error("cannot set up the event loop")]
    Io(#[from] io::Error),
}

/// Why a node's loop stopped before the node ended.
#[derive(Debug, thiserror::Error)]
pub enum NodeError<E> {
    /// The poll, the timer or the listener failed.
    #[error("network I/O failed")]
    Io(#[from] io::Error),
    /// The node refused the start time (more than the catch-up grace in the
    /// past, or before the barrier).
    #[error("cannot start at Unix time {unix_ns} ns")]
    Start {
        /// The start time handed.
        unix_ns: u64,
        /// Why the node refused it.
        source: StartError,
    },
    /// The host could not keep a record or flush its log.
    #[error("the host could not keep the log")]
    Host(#[source] E),
}

/// One machine of a networked run: a core node of at most `M` machines and
/// `C` connection slots behind sockets and a timer.
pub struct Node<T: Timer, const M: usize = 3, const C: usize = CONNS, S: Stamp = ()> {
    /// Boxed: the inbox and the outboxes make it about 330 KB (for `M = 3`).
    core: Box<Core<M, C, S>>,
    /// Every machine's address, in id order ([`Config::peers`]).
    peers: Vec<SocketAddr>,
    poll: Poll,
    listener: TcpListener,
    timer: T,
    shared: Arc<Shared>,
    waker: Arc<Waker>,
    /// The sockets, by the core's connection slot.
    sockets: [Option<Socket>; C],
    /// Each slot's last remote address, kept after its socket closed, since
    /// the node may name a connection once it is gone.
    addrs: [Option<SocketAddr>; C],
    events: Events,
    /// How long before a deadline the loop stops sleeping ([`Config::wait`]).
    margin: Margin,
    /// The time the timer is armed for and has not yet fired at: the timer
    /// is armed again only for another time (a system call saved per turn).
    armed_ns: Option<u64>,
    /// [`ACCEPT_QUIET_NS`], capped at a quarter of a tick period.
    accept_quiet_ns: u64,
    /// The listener may hold more connections (edge-triggered, as sockets).
    may_accept: bool,
    /// An accept failed for want of a resource: none until this time.
    accept_paused_until: Option<u64>,
    /// Accepts that failed for want of a resource, for the notes.
    accept_failures: u64,
    /// A write budget stopped with bytes left: the next poll must not wait.
    write_more: bool,
    /// The start barrier passed.
    barrier: bool,
    /// When model time 0 is, as [`Node::run`] was told.
    start: Start,
    /// The handle's stop was handed to the node.
    stopping: bool,
    /// The node ended: its report is final.
    ended: bool,
    /// Rejected connections noted to the host, by rate.
    rejected_notes: NoteBudget,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, nanos)
}

impl<T: Timer, const M: usize, const C: usize, S: Stamp> Node<T, M, C, S> {
    /// A node listening on `listener` (already bound, so that its address can
    /// be told to the peers before the node runs); its set-up time starts now.
    pub fn new(
        config: Config,
        listener: std::net::TcpListener,
        mut timer: T,
    ) -> Result<Self, NewError>
    where
        Core<M, C, S>: Capacity,
    {
        let period_ns = scalemodel_core::period_ns(config.node.rate, config.node.speed);
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        timer.register(poll.registry(), TIMER)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        // Built in its allocation (`in_place`): a core built on the stack
        // and moved would touch its size of stack, which stays in the peak
        // RSS, and the whole allocation, the inbox's never-used storage
        // included.
        let now_ns = timer.now_ns();
        let core = crate::in_place::boxed::<M, C, S>(config.node, now_ns)?;
        Ok(Self {
            core,
            peers: config.peers,
            poll,
            listener,
            timer,
            shared: Arc::default(),
            waker,
            sockets: std::array::from_fn(|_| None),
            addrs: [None; C],
            events: Events::with_capacity(POLL_EVENTS),
            margin: Margin::new(config.wait, period_ns / 4),
            armed_ns: None,
            accept_quiet_ns: ACCEPT_QUIET_NS.min(period_ns / 4),
            // The listener may have queued connections before registering.
            may_accept: true,
            accept_paused_until: None,
            accept_failures: 0,
            write_more: false,
            barrier: false,
            start: Start::Handed,
            stopping: false,
            ended: false,
            rejected_notes: NoteBudget::new(now_ns),
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

    /// Runs the node until it ends; returns its final report, whatever its
    /// status. An error means the loop could not go on: a socket or the poll
    /// failed, the node refused the start time, or the host failed.
    pub fn run<H: Host>(
        mut self,
        host: &mut H,
        start: Start,
    ) -> Result<NodeReport<M>, NodeError<H::Error>> {
        self.start = start;
        let mut now = self.timer.now_ns();
        loop {
            self.steer(host, now)?;
            // The tick before this turn's reads: a message it takes was read
            // in an earlier turn, so its arrival precedes `now`, and no
            // receive is ever logged before its send.
            if self.core.poll_timeout().is_some_and(|at| at <= now) {
                self.core.handle_timeout(now);
                self.act(host, now)?;
            }
            self.read_all(host, now)?;
            // After the tick, and not just before the next one.
            if self.can_accept(now) {
                self.accept(host, now)?;
            }
            self.write_all(host, now)?;
            if self.ended {
                return Ok(self.finish(now));
            }
            self.wait(host, now)?;
            now = self.timer.now_ns();
            self.ready(host, now)?;
        }
    }

    /// Hands the node what the [`Handle`] asked for: a stop, a start time.
    fn steer<H: Host>(&mut self, host: &mut H, now: u64) -> Result<(), NodeError<H::Error>> {
        if !self.stopping && self.shared.stop_asked() {
            self.stopping = true;
            self.core.handle_stop(now);
            self.act(host, now)?;
        }
        let Some(unix_ns) = self.start_due() else {
            return Ok(());
        };
        let at_ns = self.mono_ns_of(host, unix_ns);
        self.core
            .handle_start(at_ns, unix_ns, now)
            .map_err(|source| NodeError::Start { unix_ns, source })
    }

    /// The start time, once the barrier passed and the time is known, until
    /// the node took it.
    fn start_due(&self) -> Option<u64> {
        if !self.barrier || self.core.started() || self.ended {
            return None;
        }
        match self.start {
            Start::At(t) => Some(t),
            Start::Handed => self.shared.start_unix_ns(),
        }
    }

    /// Unix time `unix_ns` on the timer's clock, mapped once: from then on
    /// ticks follow the monotonic clock, which never steps. The clocks are
    /// read now (not the turn's `now`, which is a little older), the Unix
    /// one bracketed by two monotonic readings; the host hears the error bound.
    fn mono_ns_of<H: Host>(&self, host: &mut H, unix_ns: u64) -> u64 {
        let pair = ClockPair::read(|| self.timer.now_ns(), unix_now_ns);
        host.note(&Note::ClockMapped {
            error_ns: pair.error_ns,
        });
        pair.mono_ns_of(unix_ns)
    }

    /// Acts on every event the node emitted, in order.
    fn act<H: Host>(&mut self, host: &mut H, now: u64) -> Result<(), NodeError<H::Error>> {
        while let Some(event) = self.core.poll_event() {
            match event {
                Event::Record(record) => {
                    host.record(&record).map_err(NodeError::Host)?;
                    // Its frames are queued in the node, and no byte of them
                    // is written before this call returns.
                    if record.outgoing().next().is_some() {
                        host.flush().map_err(NodeError::Host)?;
                    }
                }
                Event::Dial(conn) => self.dial(conn, now)?,
                Event::Close(conn) => self.close(conn, now),
                Event::Joined(peer) => host.note(&Note::Joined(peer)),
                // Beyond the budget only the report's count says it.
                Event::Rejected { conn, reason } if self.rejected_notes.take(now) => {
                    host.note(&Note::Rejected {
                        addr: self.addrs.get(conn.index()).copied().flatten(),
                        reason,
                    });
                }
                Event::Rejected { .. } => {}
                Event::PeerLost {
                    peer,
                    at_model_ns,
                    reason,
                } => host.note(&Note::PeerLost {
                    peer,
                    at_model_ns,
                    reason,
                }),
                Event::Barrier => {
                    self.barrier = true;
                    host.ready();
                }
                // The status is in the node's report.
                Event::Ended(_) => self.ended = true,
            }
        }
        Ok(())
    }

    /// Waits for readiness, the node's next deadline, or the handle.
    fn wait<H: Host>(&mut self, host: &mut H, now: u64) -> Result<(), NodeError<H::Error>> {
        host.idle().map_err(NodeError::Host)?;
        let timeout = if self.has_work(now) {
            Some(Duration::ZERO)
        } else {
            let timeout = match self.core.poll_timeout() {
                Some(at) if at.saturating_sub(now) <= self.margin.ns() => Some(Duration::ZERO),
                Some(at) => {
                    let wake_ns = at - self.margin.ns();
                    if self.armed_ns != Some(wake_ns) {
                        self.timer.arm(wake_ns)?;
                        self.armed_ns = Some(wake_ns);
                    }
                    self.timer.poll_timeout(now)
                }
                // Only an ended node has no deadline, and the loop ends with it.
                None => None,
            };
            // A paused accept resumes on time, even with no event to wake for.
            match self.accept_paused_until.filter(|_| self.may_accept) {
                Some(at) => {
                    let pause = Duration::from_nanos(at.saturating_sub(now));
                    Some(timeout.map_or(pause, |t| t.min(pause)))
                }
                None => timeout,
            }
        };
        match self.poll.poll(&mut self.events, timeout) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Work left for the next turn (by a budget, or a start time to hand):
    /// then the poll must not wait.
    fn has_work(&self, now: u64) -> bool {
        self.can_accept(now)
            || self.write_more
            || self.start_due().is_some()
            || self.sockets.iter().flatten().any(|s| {
                (s.may_read || !s.unused().is_empty())
                    && !s.connecting
                    && self.core.can_read(s.conn)
            })
    }

    /// True when the loop may accept this turn: the listener may hold
    /// connections, no failed accept pauses it, and no deadline is near.
    fn can_accept(&self, now: u64) -> bool {
        self.may_accept
            && self.accept_paused_until.is_none_or(|at| now >= at)
            && !self.deadline_near(now)
    }

    /// True while the node's next deadline is near (and not yet passed):
    /// then the loop accepts nothing.
    fn deadline_near(&self, now: u64) -> bool {
        self.core
            .poll_timeout()
            .is_some_and(|at| at > now && at - now <= self.accept_quiet_ns)
    }

    /// Takes in what the poll reported: readiness flags first, then
    /// finished dials.
    fn ready<H: Host>(&mut self, host: &mut H, now: u64) -> Result<(), NodeError<H::Error>> {
        let mut timer_fired = false;
        for event in self.events.iter() {
            match event.token() {
                LISTENER => self.may_accept = true,
                TIMER => timer_fired = true,
                WAKER => {}
                Token(t) => {
                    let slot = t
                        .checked_sub(FIRST_CONN)
                        .and_then(|i| self.sockets.get_mut(i));
                    let Some(s) = slot.and_then(Option::as_mut) else {
                        continue;
                    };
                    s.on_event(event);
                }
            }
        }
        if timer_fired {
            self.timer.fired()?;
            // The timer is taken as no longer armed whatever the clock says,
            // so that the next wait arms it again: a timer left marked armed
            // after its one event would never wake the loop. For the timerfd
            // every event is the current arming's (arming it clears what an
            // earlier one left); for a timer that reports a stale event of
            // an earlier arming, this costs one arming more.
            let t = self.timer.now_ns();
            if let Some(armed) = self.armed_ns.take() {
                // A clock read before the armed time (a stale event) says
                // nothing of the overshoot.
                if t >= armed {
                    self.margin.woke(t - armed);
                }
            }
        }
        for i in 0..C {
            self.finish_dial(host, i, now)?;
        }
        Ok(())
    }

    /// The node ended: any socket it did not close gets what it still has to
    /// send (best effort) and is closed; the report is final.
    fn finish(mut self, now: u64) -> NodeReport<M> {
        for i in 0..C {
            if let Some(mut s) = self.sockets[i].take() {
                self.send_rest(&mut s, now);
                s.close(self.poll.registry());
            }
        }
        self.core.report()
    }
}
