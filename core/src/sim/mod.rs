//! The deterministic simulator: three [`Node`]s over six simulated links in
//! virtual time, with injected faults.
//!
//! The simulator is a host of the very node the network runs: every frame of
//! the link protocol (handshake, barrier, `Clock`, `Bye`) is encoded, carried
//! and decoded, so every protocol rule runs here, deterministically.
//!
//! **Time.** The simulator's clock stands for the hosts' clocks, in ns. The
//! run starts once all three nodes passed the start barrier (a few latencies
//! after time 0); from then on machine `i`'s tick `k` is due at
//! `start + tick * 1e9 / rate_i / speed` ([`crate::due_ns`]) and its records'
//! `system_ns` is `start_ns + (clock - start)`. A frame transmitted at `t`
//! arrives at `t + latency + jitter` (jitter drawn uniformly from
//! `0..=jitter_ns` on the run's network stream), never before the frame ahead
//! of it, so every link is FIFO like TCP. Latency and jitter are network
//! times: `--speed` does not scale them. Fault times are model times.
//!
//! **Order of simultaneous events** (fixed, so a seed gives one run): faults
//! first, in the order given; then arrivals, by link in the order 0→1, 0→2,
//! 1→0, 1→2, 2→0, 2→1; then each node's timeout (its ticks), by id. A message
//! that arrives at `t` is therefore in the inbox for a tick at `t`. A tick
//! that runs late (its machine was paused or stalled) still sees only what
//! had arrived by its due time: that rule is [`crate::Machine::tick`]'s, which every
//! host obeys.
//!
//! **Bounds.** Each inbox holds `INBOX` messages; while it is full its node
//! reads nothing, so arrivals wait on their link. Each link holds `LINK`
//! frames and each node's outbox one largest frame of its run (see
//! [`SIM_OUTBOX`]: a few `Clock` frames); a sender whose link and outbox are full stalls, as a
//! machine on a blocking socket would. Nothing is dropped
//! silently: what a fault destroys is counted, per link, as `lost`, so that
//! `sent = received + queued + in_flight + lost` holds on every link.
//!
//! **Records first.** A node's records reach the sink before any byte of
//! the frames they log moves onto a link (`settle` acts on a node's events,
//! then pumps its outbox), as a network node flushes a send's record before
//! writing its frames: a crash at any instant leaves no receive whose send
//! is missing, here, on the network and in the firmware.

mod bits;
mod faults;
mod link;
mod next;
mod report;
mod reset;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_n;

use crate::Stamp;
use core::fmt;

use heapless::Vec;

use crate::fault::{FAULTS_MAX, Fault, Faults};
use crate::node::{CONNS, Checked, ConnId, Event, Key, Node, StartError, Timeouts};
use crate::rng::{self, ModelRng, Stream, Streams};
use crate::wire::{Decoder, Frame, MAX_FRAME_LEN};
use crate::{ConfigError, MACHINES_MAX, MACHINES_MIN, MachineId, Record, Topology, ticks_in};
use bits::Links;
use link::{Link, Segment};
pub use report::{LinkReport, MachineReport, Report};

/// The largest link index, exclusive: links are numbered `from * M + to`
/// (see [`link_index`]) and `M` is at most [`MACHINES_MAX`].
pub const LINKS_MAX: usize = MACHINES_MAX as usize * MACHINES_MAX as usize;
/// Bytes of each simulated node's outbox per link: room for the largest
/// frame of any run. It takes one largest frame of its own run's kinds
/// ([`Node::hold_one_frame`]): that of the fixed kinds (39 bytes, a few
/// `Clock` frames), or a vector clock's of the run's `n` where longer.
pub const SIM_OUTBOX: usize = MAX_FRAME_LEN;
/// Messages each simulated inbox holds by default: the network's capacity.
pub const INBOX_CAP: usize = crate::node::INBOX_CAP;
/// Frames each simulated link holds by default before its sender stalls.
pub const LINK_CAP: usize = 1 << 12;

/// A simulated node of a run of at most `M` machines with `C` connection
/// slots, carrying the clock `H` beside Lamport's.
pub type SimNode<const INBOX: usize, const M: usize = 3, const C: usize = CONNS, H = ()> =
    Node<INBOX, SIM_OUTBOX, M, C, H>;

/// A run's parameters, for a simulator of at most `M` machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config<const M: usize = 3> {
    /// The run's seed: the die rolls, the jitter and the handshakes come from it.
    pub seed: u64,
    /// Each machine's rate in ticks per model second; those from
    /// `machines` on are not used.
    pub rates: [u32; M],
    /// The run's number of machines `n`: 3 to `M`.
    pub machines: u8,
    /// Who may send to whom.
    pub topology: Topology,
    /// Faces of the die (at least `n + 1`).
    pub sides: u8,
    /// The run's length in model ns.
    pub duration_ns: u64,
    /// The link delay in ns of network (wall) time.
    pub latency_ns: u64,
    /// The largest extra delay drawn per frame, in ns (0: none).
    pub jitter_ns: u64,
    /// Wall-clock Unix time in ns of model time 0, for `system_ns`.
    pub start_ns: u64,
    /// Model time runs this many times faster than wall time.
    pub speed: u32,
    /// Each machine's physical clock, by id: read by the nodes whose
    /// carried clock reads time ([`Stamp::READS_TIME`]; the host skews
    /// the records of any other run instead). True by default. (64-bit
    /// hosts.)
    #[cfg(target_pointer_width = "64")]
    pub skew: [crate::ClockSkew; M],
}

impl<const M: usize> Config<M> {
    /// The standard parameters for `seed` and `rates`: `M` machines, each
    /// may send to any other, a die of 10, 60 s, 100 µs latency, no jitter,
    /// start at 0, speed 1.
    pub const fn new(seed: u64, rates: [u32; M]) -> Self {
        Self {
            seed,
            rates,
            machines: if M > u8::MAX as usize {
                u8::MAX
            } else {
                M as u8
            },
            topology: Topology::All,
            sides: 10,
            duration_ns: 60_000_000_000,
            latency_ns: 100_000,
            jitter_ns: 0,
            start_ns: 0,
            speed: 1,
            #[cfg(target_pointer_width = "64")]
            skew: [crate::ClockSkew::NONE; M],
        }
    }

    /// The run's number of machines, as an index bound.
    pub(crate) const fn n(&self) -> usize {
        self.machines as usize
    }

    /// The same run for a simulator of at most `K` machines (rates beyond
    /// `K` dropped, missing ones 0), if its `n` fits.
    pub fn to_width<const K: usize>(&self) -> Result<Config<K>, ConfigError> {
        if self.n() > K {
            return Err(ConfigError::Capacity {
                machines: self.machines,
                capacity: K.min(usize::from(u8::MAX)) as u8,
            });
        }
        Ok(Config {
            seed: self.seed,
            rates: core::array::from_fn(|i| self.rates.get(i).copied().unwrap_or(0)),
            machines: self.machines,
            topology: self.topology,
            sides: self.sides,
            duration_ns: self.duration_ns,
            latency_ns: self.latency_ns,
            jitter_ns: self.jitter_ns,
            start_ns: self.start_ns,
            speed: self.speed,
            #[cfg(target_pointer_width = "64")]
            skew: core::array::from_fn(|i| {
                self.skew.get(i).copied().unwrap_or(crate::ClockSkew::NONE)
            }),
        })
    }

    /// The nodes' time bounds: the defaults, stretched for slow links so
    /// that a handshake (1.5 round trips) and the `Bye` exchange always fit.
    fn timeouts(&self) -> Timeouts {
        let d = Timeouts::DEFAULT;
        let trip = self.latency_ns.saturating_add(self.jitter_ns);
        let at_least = |ns: u64, trips: u64| ns.max(trip.saturating_mul(trips));
        Timeouts {
            setup_ns: at_least(d.setup_ns, 20),
            handshake_ns: at_least(d.handshake_ns, 8),
            bye_ns: at_least(d.bye_ns, 8),
            retry_ns: d.retry_ns,
            end_skew_ns: d.end_skew_ns,
        }
    }

    /// The node parameters of machine `id` in this run, whose streams are
    /// `streams`.
    fn node(&self, id: MachineId, streams: &Streams) -> crate::node::Config {
        let mut key = [0u8; 32];
        for (k, b) in key.iter_mut().zip(self.seed.to_le_bytes().iter().cycle()) {
            *k = *b;
        }
        crate::node::Config {
            id,
            rate: self.rates.get(id.index()).copied().unwrap_or(0),
            sides: self.sides,
            machines: self.machines,
            topology: self.topology,
            seed: self.seed,
            speed: self.speed,
            duration_ns: self.duration_ns,
            key: Key(key),
            nonce: rand_core::Rng::next_u64(&mut streams.get(Stream::Nonce(id))),
            timeouts: self.timeouts(),
            #[cfg(target_pointer_width = "64")]
            skew: self.skew.get(id.index()).copied().unwrap_or_default(),
        }
    }
}

/// Where the simulator sends each record, in the order they happen; a
/// simulator of at most `M` machines carrying the clock `H` sends records
/// of `M` and `H`.
pub trait Sink<const M: usize = 3, H = ()> {
    /// Why a record could not be taken.
    type Error;
    /// The sink reads the records. One that keeps nothing ([`Discard`])
    /// says not, and the nodes then queue none
    /// ([`Node::queue_records`]): the run, its tallies and its report are
    /// the same.
    const READS_RECORDS: bool = true;
    /// Takes one record.
    fn record(&mut self, record: &Record<M, H>) -> Result<(), Self::Error>;
}

/// A sink that keeps nothing: for runs that only want the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

impl<const M: usize, H> Sink<M, H> for Discard {
    type Error = core::convert::Infallible;
    const READS_RECORDS: bool = false;
    fn record(&mut self, _: &Record<M, H>) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// What a frame on a simulated link carries, for [`Network::delay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// A model message: a `Clock` frame (or a carried clock's, an
    /// `HlcClock` or a `VectorClock`) with its `seq` on the link.
    Clock {
        /// The message's number on its link.
        seq: u64,
    },
    /// Any other frame (handshake, `Ready`, `Bye`) or injected garbage.
    Other,
    /// The sender's close, after its last frame.
    Close,
}

impl Carried {
    /// It carries a model message.
    pub(super) const fn is_clock(self) -> bool {
        matches!(self, Self::Clock { .. })
    }

    /// What the whole frame `bytes` carries.
    pub(super) fn of(bytes: &[u8]) -> Self {
        if let Some(Frame::Clock { seq, .. }) = crate::wire::whole_clock(bytes) {
            return Self::Clock { seq };
        }
        match Decoder::new().feed(bytes).event {
            Some(Ok(frame)) => frame
                .message()
                .map_or(Self::Other, |(_, seq)| Self::Clock { seq }),
            _ => Self::Other,
        }
    }
}

/// How long each frame takes on its link. The simulator draws the run's
/// latency and jitter for every frame (so the jitter stream is the same
/// whatever the network) and asks the network for the delay; a link stays
/// FIFO whatever it answers.
pub trait Network {
    /// `delay` reads its `carried` argument. A network that does not
    /// (the run's own, [`Standard`]) sets this false: the simulator then
    /// does not decode each frame to tell it, and passes
    /// [`Carried::Other`] for frames.
    const READS_CARRIED: bool = true;

    /// The delay in ns of `carried`, put on link `from → to` now: at
    /// `system_ns` on the records' scale (Unix ns; `None` before the run's
    /// start); `standard` is the run's latency plus this frame's jitter draw.
    fn delay(
        &mut self,
        from: MachineId,
        to: MachineId,
        carried: Carried,
        system_ns: Option<u64>,
        standard: u64,
    ) -> u64;
}

/// The run's own network: every frame takes its latency and jitter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standard;

impl Network for Standard {
    const READS_CARRIED: bool = false;

    fn delay(
        &mut self,
        _: MachineId,
        _: MachineId,
        _: Carried,
        _: Option<u64>,
        standard: u64,
    ) -> u64 {
        standard
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError<E> {
    /// The sink refused a record.
    Sink(E),
    /// A node refused the start (a bug: all three passed the barrier).
    Start(StartError),
    /// The run took more steps than its bound: a bug, never a result.
    Stuck {
        /// The simulator's clock when it gave up, in ns.
        at_ns: u64,
    },
}

impl<E: fmt::Display> fmt::Display for SimError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sink(e) => write!(f, "writing a record: {e}"),
            Self::Start(e) => write!(f, "starting the run: {e} (a bug in scalemodel)"),
            Self::Stuck { at_ns } => write!(
                f,
                "the simulation passed its step bound at {at_ns} ns (a bug in scalemodel)"
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for SimError<E> {}

/// True if `faults` hold a pause or a partition.
fn has_spans(faults: &Faults) -> bool {
    faults
        .as_slice()
        .iter()
        .any(|f| matches!(f, Fault::Pause { .. } | Fault::Partition { .. }))
}

/// The index of link `from → to` in a simulator of at most `M` machines:
/// `from * M + to`, so that the indices' order is the tie-break order.
pub const fn link_index<const M: usize>(from: MachineId, to: MachineId) -> usize {
    from.index() * M + to.index()
}

/// The ends of link `index` in a simulator of at most `M` machines.
pub const fn link_ends<const M: usize>(index: usize) -> (MachineId, MachineId) {
    (
        MachineId::from_index(index / M),
        MachineId::from_index(index % M),
    )
}

/// The next thing to happen; the derived order is the tie-break order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Fault(usize),
    Arrive(usize),
    Timeout(usize),
}

/// A simulated run: `n` nodes (at most `M`, each with `C` connection
/// slots) with inboxes of `INBOX` messages over links of `LINK` frames,
/// each frame delayed as the [`Network`] `W` says.
///
/// Its arrays are sized by `M`; a run uses the first `n` of each
/// ([`Config::machines`]). The nodes from `n` on are never called.
#[derive(Debug, Clone)]
pub struct Sim<
    const INBOX: usize,
    const LINK: usize,
    W: Network = Standard,
    const M: usize = 3,
    const C: usize = CONNS,
    H: Stamp = (),
> {
    config: Config<M>,
    faults: Faults,
    /// Faults already applied (or, for spans, begun).
    begun: [bool; FAULTS_MAX],
    /// Faults that found nothing to act on.
    missed: [bool; FAULTS_MAX],
    /// Each fault's time and a span's end on the simulator's clock, once
    /// the run started ([`Sim::convert_faults`]).
    host_faults: [(u64, u64); FAULTS_MAX],
    /// Some fault is a pause or a partition: without one, no time needs
    /// moving past a span.
    has_spans: bool,
    nodes: [SimNode<INBOX, M, C, H>; M],
    /// Link `from → to` at `[from][to]`.
    links: [[Link<LINK>; M]; M],
    /// Machines that crashed, with the model time of the crash.
    crashed: [Option<u64>; M],
    /// Machines that passed the start barrier.
    barrier: [bool; M],
    /// Machines called since `settle` last looked at them.
    touched: [bool; M],
    /// Each node's `poll_timeout`, asked again only after a call that can
    /// change it (`stale`): a step changes one or two nodes, and the next
    /// step's search would otherwise ask them all.
    timeouts: [Option<u64>; M],
    /// See `timeouts`.
    stale: [bool; M],
    /// Links whose sender closed and whose close could not yet be posted
    /// (their queue was full): `settle` looks only at these.
    flushing: Links<M>,
    /// Links that may hold a segment or a close: set where one is put on a
    /// link, cleared where the search finds the link empty, so that the
    /// search skips the empty ones without touching them.
    carrying: Links<M>,
    /// The next-step search's kept candidates (see `next.rs`).
    next: next::Next<M>,
    jitter: ModelRng,
    garbage: ModelRng,
    now_ns: u64,
    /// Model time 0 on the simulator's clock, once the run started.
    start_ns: Option<u64>,
    steps: u64,
    /// `Clock` frames travel as their numbers (see
    /// [`Node::carry_clocks_as_numbers`]): no fault and no network reads
    /// their bytes. (64-bit hosts.)
    #[cfg(target_pointer_width = "64")]
    numbers: bool,
    net: W,
}

impl<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: Stamp>
    Sim<INBOX, LINK, Standard, M, C, H>
{
    /// A run at time 0 with `faults` to inject, over links with the run's
    /// latency and jitter.
    pub fn new(config: Config<M>, faults: Faults) -> Result<Self, ConfigError> {
        Self::with_network(config, faults, Standard)
    }
}

impl<const INBOX: usize, const LINK: usize, W: Network, const M: usize, const C: usize, H: Stamp>
    Sim<INBOX, LINK, W, M, C, H>
{
    /// A run at time 0 with `faults` to inject, each frame delayed as `net`
    /// says.
    pub fn with_network(config: Config<M>, faults: Faults, net: W) -> Result<Self, ConfigError> {
        let streams = Streams::new(config.seed, config.machines);
        Self::check(&config, &streams)?;
        // Each node straight into its place (no array of results to unwrap,
        // whose moves of the whole nodes can stall an optimising build).
        #[allow(unused_mut)] // the firmware sets nothing
        let mut nodes = core::array::from_fn(|i| {
            Node::from_checked(Checked(config.node(Self::machine(&config, i), &streams)), 0)
        });
        #[cfg(target_pointer_width = "64")]
        let numbers = Self::numbers_do(&faults);
        #[cfg(target_pointer_width = "64")]
        for node in &mut nodes {
            SimNode::<INBOX, M, C, H>::carry_clocks_as_numbers(node, numbers);
            SimNode::<INBOX, M, C, H>::hold_one_frame(node);
        }
        Ok(Self {
            config,
            begun: [false; FAULTS_MAX],
            missed: [false; FAULTS_MAX],
            host_faults: [(0, 0); FAULTS_MAX],
            has_spans: has_spans(&faults),
            faults,
            nodes,
            links: [const { [const { Link::NEW }; M] }; M],
            crashed: [None; M],
            barrier: [false; M],
            touched: [true; M],
            timeouts: [None; M],
            stale: [true; M],
            flushing: Links::EMPTY,
            carrying: Links::EMPTY,
            next: next::Next::NEW,
            jitter: streams.get(Stream::Network),
            garbage: streams.get(Stream::Faults),
            now_ns: 0,
            start_ns: None,
            steps: 0,
            #[cfg(target_pointer_width = "64")]
            numbers,
            net,
        })
    }

    /// Why [`Sim::new`] would refuse `config`, if it would: its number of
    /// machines, then each node's parameters (`streams` are the seed's).
    fn check(config: &Config<M>, streams: &Streams) -> Result<(), ConfigError> {
        let n = config.machines;
        if !(MACHINES_MIN..=MACHINES_MAX).contains(&n) {
            return Err(ConfigError::Machines(n));
        }
        if config.n() > M {
            return Err(ConfigError::Capacity {
                machines: n,
                capacity: M.min(usize::from(u8::MAX)) as u8,
            });
        }
        for id in MachineId::all(n) {
            SimNode::<INBOX, M, C>::check(&config.node(id, streams))?;
        }
        Ok(())
    }

    /// The machine whose node sits at index `i`: machine `i` for the run's
    /// `n`, and (never called) machine 0 beyond.
    fn machine(config: &Config<M>, i: usize) -> MachineId {
        if i < config.n() {
            MachineId::from_index(i)
        } else {
            MachineId::ZERO
        }
    }

    /// The run's number of machines, as an index bound: `M` itself in a
    /// simulator of three, whose loops over the machines then unroll.
    #[inline(always)]
    const fn n(&self) -> usize {
        if M <= MACHINES_MIN as usize {
            M
        } else {
            self.config.n()
        }
    }

    /// Link `l` (`from * M + to`).
    #[inline(always)]
    fn link(&self, l: usize) -> &Link<LINK> {
        &self.links.as_flattened()[l]
    }

    /// Link `l`, to change.
    #[inline(always)]
    fn link_mut(&mut self, l: usize) -> &mut Link<LINK> {
        &mut self.links.as_flattened_mut()[l]
    }

    /// Machine `m`'s peers, the next machine first: the order in which
    /// `pump` serves its links, and in which a crash or a close visits them.
    #[inline(always)]
    fn peers(&self, m: usize) -> impl Iterator<Item = MachineId> + use<INBOX, LINK, W, M, C, H> {
        let (me, n) = (MachineId::from_index(m), self.config.machines);
        (1..n).map(move |k| me.plus(k, n))
    }

    /// `Clock` frames may travel as numbers in a run with `faults`: none
    /// (a fault may inject bytes or cut a link mid-frame) and a network that
    /// does not read what frames carry.
    #[cfg(target_pointer_width = "64")]
    fn numbers_do(faults: &Faults) -> bool {
        faults.as_slice().is_empty() && !W::READS_CARRIED
    }

    /// Carries every `Clock` frame as bytes, as a run with faults does,
    /// even where its numbers would do: the path the fast one is checked
    /// against. Call it before [`Sim::run`].
    #[cfg(target_pointer_width = "64")]
    pub fn carry_clocks_as_bytes(&mut self) {
        self.numbers = false;
        for node in &mut self.nodes {
            node.carry_clocks_as_numbers(false);
        }
    }

    /// The run's parameters.
    pub const fn config(&self) -> &Config<M> {
        &self.config
    }

    /// The faults injected into this run.
    pub const fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The run's nodes, by id.
    pub fn nodes(&self) -> &[SimNode<INBOX, M, C, H>] {
        self.nodes.get(..self.n()).unwrap_or_default()
    }

    /// Runs to the end, handing each record to `sink` as it happens.
    pub fn run<S: Sink<M, H>>(&mut self, sink: &mut S) -> Result<Report<M>, SimError<S::Error>> {
        let ticks: u64 = self
            .config
            .rates
            .iter()
            .take(self.n())
            .map(|&r| ticks_in(self.config.duration_ns, r))
            .sum();
        // Every step is a tick, a frame's arrival, a close or a fault; a
        // message is at most a few frames. Far above any honest run.
        let limit = ticks.saturating_mul(16).saturating_add(1_000_000);
        #[cfg(target_pointer_width = "64")]
        for node in &mut self.nodes {
            node.queue_records(S::READS_RECORDS);
        }
        for id in 0..self.n() {
            self.stale[id] = true;
            self.nodes[id].handle_timeout(0);
        }
        self.settle(sink)?;
        while let Some((at, step)) = self.next_step() {
            self.steps += 1;
            if self.steps > limit {
                return Err(SimError::Stuck { at_ns: self.now_ns });
            }
            self.now_ns = at;
            match step {
                Step::Fault(k) => self.apply_fault(k),
                Step::Arrive(l) => self.arrive(l),
                Step::Timeout(m) => {
                    self.touched[m] = true;
                    self.stale[m] = true;
                    self.nodes[m].handle_timeout(at);
                }
            }
            #[cfg(target_pointer_width = "64")]
            if self.settled_quietly() {
                continue;
            }
            self.settle(sink)?;
        }
        // Faults whose time never came (every machine had ended) did nothing.
        for (k, missed) in self.missed.iter_mut().enumerate() {
            *missed |= !self.begun[k] && k < self.faults.as_slice().len();
        }
        Ok(self.report())
    }

    /// The earliest step, searched from scratch: the firmware's search (its
    /// flash is worth more than the time), and the check of the kept one.
    fn scan_step(&mut self) -> Option<(u64, Step)> {
        for m in 0..self.n() {
            if self.stale[m] {
                self.timeouts[m] = self.nodes[m].poll_timeout();
                self.stale[m] = false;
            }
            debug_assert_eq!(
                self.timeouts[m],
                self.nodes[m].poll_timeout(),
                "node {m} changed without its timeout marked stale"
            );
        }
        // Candidates come in the tie-break order (faults, arrivals by link,
        // timeouts by node), so comparing times alone (a strict `<` keeps the
        // first of equals) chooses as comparing `(time, step)` does; the
        // firmware compares both, which takes less of its flash.
        let mut best: Option<(u64, Step)> = None;
        let mut consider = |at: u64, step: Step| {
            let earlier = |b: (u64, Step)| {
                if cfg!(target_pointer_width = "64") {
                    at < b.0
                } else {
                    (at, step) < b
                }
            };
            if best.is_none_or(earlier) {
                best = Some((at, step));
            }
        };
        if self.start_ns.is_some()
            && !self.faults.as_slice().is_empty()
            && (0..self.n()).any(|m| self.crashed[m].is_none() && self.nodes[m].status().is_none())
        {
            for (k, fault) in self.faults.as_slice().iter().enumerate() {
                if !self.begun[k] {
                    let at = self.host_faults[k].0.max(self.now_ns);
                    consider(self.fault_acts_at(fault, at), Step::Fault(k));
                }
            }
        }
        // The links that may carry something, lowest first.
        let mut carrying = self.carrying;
        while let Some(l) = carrying.pop_first() {
            let link = self.link(l);
            // (Not on the firmware: the flash this takes is worth more there.)
            if cfg!(target_pointer_width = "64") && link.queue.is_empty() && link.fin_ns.is_none() {
                self.carrying.remove(l);
                continue;
            }
            if let Some(at) = self.arrival_at(l) {
                consider(at, Step::Arrive(l));
            }
        }
        for m in 0..self.n() {
            if self.crashed[m].is_some() {
                continue;
            }
            if let Some(t) = self.timeouts[m] {
                consider(self.awake_at(m, t.max(self.now_ns)), Step::Timeout(m));
            }
        }
        best
    }

    /// Acts on every event and moves every byte that can move, until quiet.
    fn settle<S: Sink<M, H>>(&mut self, sink: &mut S) -> Result<(), SimError<S::Error>> {
        loop {
            let mut busy = false;
            // Only nodes the last step called can have news.
            for m in 0..self.n() {
                if !self.touched[m] || !self.running(m) {
                    continue;
                }
                busy = true;
                self.touched[m] = false;
                while let Some(event) = self.nodes[m].poll_event() {
                    self.act(m, event, sink)?;
                }
                // Most calls find nothing to move (a tick without a send):
                // one test then, without a call. (Not on the firmware: flash.)
                #[cfg(target_pointer_width = "64")]
                if self.transmit_idle(m) {
                    continue;
                }
                if self.pump(m) {
                    // Transmitting can end a stall or a link: look again,
                    // unless the node has nothing new (no event, nothing to
                    // move), which a look again would find. (Always on the
                    // firmware: flash.)
                    #[cfg(target_pointer_width = "64")]
                    let again = self.nodes[m].has_events() || !self.transmit_idle(m);
                    #[cfg(not(target_pointer_width = "64"))]
                    let again = true;
                    self.touched[m] = again;
                }
            }
            // Only while a close waits (rarely).
            let mut flushing = self.flushing;
            while let Some(l) = flushing.pop_first() {
                busy |= self.flush_closing(l);
            }
            // A pass that touched no node and left no close waiting is the
            // last: the next would find nothing. (Not on the firmware: flash.)
            let done = cfg!(target_pointer_width = "64")
                && self.flushing.is_empty()
                && !self.touched.iter().take(self.n()).any(|&t| t);
            if !busy || done {
                #[cfg(debug_assertions)]
                self.assert_settled();
                return Ok(());
            }
        }
    }

    /// Settles a step after which every running node it touched has
    /// nothing to do (no event, nothing to move) and no close waits: most
    /// ticks and arrivals. It does what `settle` would, in line, without
    /// the call; false (having only cleared quiet nodes' marks, as `settle`
    /// would) when there is work for `settle`. (Not on the firmware: flash.)
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn settled_quietly(&mut self) -> bool {
        if !self.flushing.is_empty() {
            return false;
        }
        for m in 0..self.n() {
            if !self.touched[m] || !self.running(m) {
                continue;
            }
            if self.nodes[m].has_events() || !self.transmit_idle(m) {
                return false;
            }
            self.touched[m] = false;
        }
        #[cfg(debug_assertions)]
        self.assert_settled();
        true
    }

    /// What lets `arrive` leave a sender untouched when its link had room:
    /// once settled, no running node has a whole frame or bytes to send
    /// that a link with room could take.
    #[cfg(debug_assertions)]
    fn assert_settled(&self) {
        for m in (0..self.n()).filter(|&m| self.running(m)) {
            for peer in self.peers(m) {
                let l = link_index::<M>(MachineId::from_index(m), peer);
                let link = self.link(l);
                let Some((conn, _)) = link.ends else { continue };
                if link.closing || link.queue.is_full() {
                    continue;
                }
                #[cfg(target_pointer_width = "64")]
                debug_assert!(
                    self.nodes[m].poll_clock(conn).is_none(),
                    "node {m} settled with a Clock frame for link {l}, which has room"
                );
                debug_assert!(
                    link.staging.last() != Some(&0) && self.nodes[m].poll_transmit(conn).is_none(),
                    "node {m} settled with bytes for link {l}, which has room"
                );
            }
        }
    }

    /// Machine `m` runs now: not crashed, not paused.
    fn running(&self, m: usize) -> bool {
        self.crashed[m].is_none() && self.awake_at(m, self.now_ns) == self.now_ns
    }

    fn act<S: Sink<M, H>>(
        &mut self,
        m: usize,
        event: Event<M, H>,
        sink: &mut S,
    ) -> Result<(), SimError<S::Error>> {
        let now = self.now_ns;
        match event {
            Event::Record(record) => sink.record(&record).map_err(SimError::Sink)?,
            Event::Dial(conn) => self.dial(m, conn),
            Event::Close(conn) => self.close(m, conn),
            Event::Barrier => {
                self.barrier[m] = true;
                let n = self.n();
                if self.barrier.iter().take(n).all(|&b| b) {
                    self.start_ns = Some(now);
                    self.convert_faults(now);
                    self.next.all_changed();
                    self.touched = [true; M];
                    self.stale = [true; M];
                    for node in self.nodes.iter_mut().take(n) {
                        node.handle_start(now, self.config.start_ns, now)
                            .map_err(SimError::Start)?;
                    }
                }
            }
            Event::Joined(_)
            | Event::Rejected { .. }
            | Event::PeerLost { .. }
            | Event::Ended(_) => {}
        }
        Ok(())
    }

    /// Node `m` dials the machine it asks for: the connection is made at
    /// once.
    fn dial(&mut self, m: usize, conn: ConnId) {
        let Some(them) = self.nodes[m].dial_target(conn) else {
            return self.nodes[m].handle_closed(conn, self.now_ns);
        };
        let peer = them.index();
        let accepted = match self.crashed[peer] {
            None => {
                self.stale[peer] = true;
                self.nodes[peer].handle_accepted(self.now_ns)
            }
            Some(_) => None,
        };
        self.touched[peer] = true;
        self.stale[m] = true;
        let Some(theirs) = accepted else {
            return self.nodes[m].handle_closed(conn, self.now_ns);
        };
        let me = MachineId::from_index(m);
        for (l, ends) in [
            (link_index::<M>(me, them), (conn, theirs)),
            (link_index::<M>(them, me), (theirs, conn)),
        ] {
            let link = self.link_mut(l);
            link.reset();
            link.ends = Some(ends);
            self.next.link_changed(l);
        }
        self.nodes[m].handle_connected(conn, self.now_ns);
    }

    /// Node `m` closes `conn`: a close follows its frames to the peer, and
    /// what the peer still sends is dropped on arrival.
    fn close(&mut self, m: usize, conn: ConnId) {
        let me = MachineId::from_index(m);
        self.stale[m] = true;
        for peer in self.peers(m) {
            let out = link_index::<M>(me, peer);
            if self.link(out).ends.is_some_and(|(mine, _)| mine == conn) {
                self.shut(out);
            }
            // The peer's link into `conn` may be gone from the peer's side
            // already; its frames to us are dropped on arrival either way.
            let back = link_index::<M>(peer, me);
            if self.link(back).ends.is_some_and(|(_, mine)| mine == conn) {
                // What had reached `m` and waited to be read (a partition
                // still holds what it holds), the node counts, as a host
                // drains its socket before the close.
                while let Some(seg) = self.link(back).queue.front()
                    && self.deliverable_at(back, seg.arrive_ns.max(self.now_ns)) <= self.now_ns
                {
                    let bytes = seg.bytes.clone();
                    #[cfg(target_pointer_width = "64")]
                    let numbers = seg.numbers;
                    self.link_mut(back).queue.pop_front();
                    // The peer may find room on the link again.
                    self.touched[peer.index()] = true;
                    #[cfg(target_pointer_width = "64")]
                    if let Some(frame) = numbers {
                        let used = self.nodes[m].handle_clock(conn, frame, self.now_ns);
                        debug_assert!(used, "a closing link uses every frame");
                        continue;
                    }
                    let used = self.nodes[m].handle_bytes(conn, &bytes, self.now_ns);
                    debug_assert_eq!(used, bytes.len(), "a closing link uses every byte");
                }
                self.link_mut(back).detach();
                self.next.link_changed(back);
            }
        }
        self.nodes[m].handle_closed(conn, self.now_ns);
    }

    /// The sender of link `l` is done with it: what it handed over still
    /// goes (as TCP sends a closed socket's buffer), then the close.
    fn shut(&mut self, l: usize) {
        self.link_mut(l).closing = true;
        self.flushing.insert(l);
        self.flush_closing(l);
    }

    /// Posts a closing link's last whole frame, then schedules its close.
    /// True if anything changed.
    fn flush_closing(&mut self, l: usize) -> bool {
        let link = self.link(l);
        if !link.closing || link.fin_ns.is_some() {
            self.flushing.remove(l);
            return false;
        }
        if !link.staging.is_empty() && link.staging.last() == Some(&0) && !self.post_staged(l) {
            return false; // the link is full: the close waits behind the frame
        }
        // A partial frame never left its node, which counts it as unsent.
        self.link_mut(l).staging.clear();
        let delay = self.delay(l, Carried::Close);
        let now_ns = self.now_ns;
        let link = self.link_mut(l);
        link.fin_ns = Some(link.arrival(now_ns, delay));
        self.carrying.insert(l);
        self.next.link_changed(l);
        self.flushing.remove(l);
        true
    }

    /// The delay of what goes on link `l` now: the run's latency and a
    /// jitter draw (always drawn, so that the stream is the same whatever the
    /// network), as the network makes it.
    pub(super) fn delay(&mut self, l: usize, carried: Carried) -> u64 {
        let jitter = match self.config.jitter_ns {
            0 => 0,
            max => rng::uniform(&mut self.jitter, 0..=max),
        };
        let standard = self.config.latency_ns.saturating_add(jitter);
        let (from, to) = link_ends::<M>(l);
        let system_ns = self.start_ns.map(|start| {
            let since = self.now_ns.saturating_sub(start);
            self.config.start_ns.saturating_add(since)
        });
        self.net.delay(from, to, carried, system_ns, standard)
    }

    /// Node `m` has nothing to move: no bytes for any connection (one test,
    /// not a `poll_transmit` per link) and nothing staged, so no frame
    /// waits for room either.
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn transmit_idle(&mut self, m: usize) -> bool {
        self.nodes[m].transmit_idle() && self.links[m].iter().all(|l| l.staging.is_empty())
    }

    /// Moves node `m`'s outgoing bytes onto its links, frame by frame, while
    /// they have room. True if anything moved.
    #[cfg_attr(target_pointer_width = "64", inline(never))]
    fn pump(&mut self, m: usize) -> bool {
        let mut moved = false;
        let me = MachineId::from_index(m);
        for peer in self.peers(m) {
            let l = link_index::<M>(me, peer);
            let link = self.link(l);
            let Some((conn, _)) = link.ends else {
                continue;
            };
            if link.closing {
                continue;
            }
            loop {
                if !self.post_staged(l) {
                    break; // the link is full
                }
                #[cfg(target_pointer_width = "64")]
                if self.numbers && self.carry_clock(m, l, conn) {
                    moved = true;
                    continue;
                }
                let Some(bytes) = self.nodes[m].poll_transmit(conn) else {
                    break;
                };
                let take = bytes
                    .iter()
                    .position(|&b| b == 0)
                    .map_or(bytes.len(), |i| i + 1);
                let staging = &mut self.links.as_flattened_mut()[l].staging;
                let take = take.min(MAX_FRAME_LEN - staging.len());
                let piece = bytes.get(..take).unwrap_or_default();
                if take == 0 || staging.extend_from_slice(piece).is_err() {
                    break;
                }
                self.stale[m] = true;
                self.nodes[m].transmitted(conn, take, self.now_ns);
                moved = true;
            }
        }
        moved
    }

    /// Puts node `m`'s next frame on link `l` as numbers, if it waits as
    /// numbers and the link has room; true if it did. This is what the byte
    /// path does with the frame's bytes (stage them, `transmitted`, post
    /// them with the same delay draw), without the bytes. When the link is
    /// full the frame is turned into bytes, which wait in staging as any
    /// frame's would, so the outbox's room is the same both ways.
    #[cfg(target_pointer_width = "64")]
    fn carry_clock(&mut self, m: usize, l: usize, conn: ConnId) -> bool {
        let Some(frame) = self.nodes[m].poll_clock(conn) else {
            return false;
        };
        if self.link(l).queue.is_full() || !self.link(l).staging.is_empty() {
            self.nodes[m].clocks_to_bytes(conn);
            return false;
        }
        let delay = self.delay(l, Carried::Other);
        let now_ns = self.now_ns;
        let link = self.link_mut(l);
        let arrive_ns = link.arrival(now_ns, delay);
        // Only a new head changes when the link delivers next.
        let head = link.queue.is_empty();
        if link
            .queue
            .push_back(Segment::of_clock(arrive_ns, frame))
            .is_err()
        {
            return false; // checked for room above
        }
        if head {
            self.next.link_changed(l);
        }
        self.carrying.insert(l);
        self.stale[m] = true;
        self.nodes[m].transmitted_clock(conn, self.now_ns);
        true
    }

    /// Puts link `l`'s staged frame on the link once it is whole; false when
    /// the link is full (the frame waits in staging).
    fn post_staged(&mut self, l: usize) -> bool {
        let link = self.link(l);
        let whole = link.staging.last() == Some(&0) || link.staging.is_full();
        if !whole {
            return true;
        }
        if link.queue.is_full() {
            return false;
        }
        // The staged bytes are one whole frame from the node's encoder, so
        // its variant byte tells a `Clock`; the network may want its `seq`.
        // (Not on the firmware: flash.)
        let (carried, clock) = if cfg!(target_pointer_width = "64") && !W::READS_CARRIED {
            let clock = crate::wire::is_encoded_clock(&link.staging);
            debug_assert_eq!(clock, Carried::of(&link.staging).is_clock());
            (Carried::Other, clock)
        } else {
            let carried = Carried::of(&link.staging);
            (carried, carried.is_clock())
        };
        let delay = self.delay(l, carried);
        let now_ns = self.now_ns;
        let link = self.link_mut(l);
        let bytes = core::mem::take(&mut link.staging);
        let arrive_ns = link.arrival(now_ns, delay);
        // Only a new head changes when the link delivers next.
        let head = link.queue.is_empty();
        match link.queue.push_back(Segment::new(arrive_ns, bytes, clock)) {
            Ok(()) => {
                self.carrying.insert(l);
                if head {
                    self.next.link_changed(l);
                }
                true
            }
            Err(seg) => {
                // Checked for room above; should it fail, the frame waits.
                link.staging = seg.bytes;
                false
            }
        }
    }

    /// When link `l`'s next segment or close can reach its receiver, if any
    /// can: not before it arrives, not while a partition holds it, not while
    /// the receiver is paused or its inbox is full.
    fn arrival_at(&self, l: usize) -> Option<u64> {
        let link = self.link(l);
        let (_, to) = link_ends::<M>(l);
        let at = match link.queue.front() {
            Some(seg) => {
                let receiving = link.ends.is_some() && self.crashed[to.index()].is_none();
                if receiving
                    && let Some((_, theirs)) = link.ends
                    && !self.nodes[to.index()].can_read(theirs)
                {
                    return None; // it waits for a tick to make room
                }
                seg.arrive_ns
            }
            None => link.fin_ns?,
        };
        // Without a pause or a partition, nothing holds it (one test here
        // rather than a call). (Not on the firmware: flash.)
        if cfg!(target_pointer_width = "64") && !self.has_spans {
            return Some(at.max(self.now_ns));
        }
        Some(self.deliverable_at(l, at.max(self.now_ns)))
    }

    /// Node `m`'s processing of the next segment on link `l`.
    fn arrive(&mut self, l: usize) {
        let (from, to) = link_ends::<M>(l);
        self.stale[to.index()] = true;
        self.touched[to.index()] = true;
        // Its head goes, or its close.
        self.next.link_changed(l);
        let receiver = (self.crashed[to.index()].is_none())
            .then_some(self.link(l).ends)
            .flatten();
        // The sender may find room on the link again. Only a full link holds
        // anything back (a whole frame waits in staging only then, and a
        // settled sender has nothing else to move), so a sender whose link
        // had room is left alone: a settle pass less per arrival. (Not on
        // the firmware, whose flash the test would cost.)
        let link = self.link(l);
        if !cfg!(target_pointer_width = "64")
            || link.queue.is_full()
            || link.queue.is_empty()
            || receiver.is_none()
        {
            self.touched[from.index()] = true;
        }
        let Some(seg) = self.links.as_flattened()[l].queue.front() else {
            // The close, after every frame.
            let link = self.link_mut(l);
            link.fin_ns = None;
            link.closing = false;
            link.ends = None;
            if let Some((_, theirs)) = receiver {
                let back = link_index::<M>(to, from);
                self.link_mut(back).detach();
                self.next.link_changed(back);
                self.nodes[to.index()].handle_closed(theirs, self.now_ns);
            }
            return;
        };
        let Some((_, theirs)) = receiver else {
            // Nobody reads this end any more.
            let clock = seg.clock;
            let link = self.link_mut(l);
            link.lost += u64::from(clock);
            link.queue.pop_front();
            return;
        };
        #[cfg(target_pointer_width = "64")]
        if let Some(frame) = seg.numbers {
            if self.nodes[to.index()].handle_clock(theirs, frame, self.now_ns) {
                self.link_mut(l).queue.pop_front();
            }
            return;
        }
        let used = self.nodes[to.index()].handle_bytes(theirs, &seg.bytes, self.now_ns);
        let link = self.link_mut(l);
        if let Some(seg) = link.queue.front_mut() {
            if used >= seg.bytes.len() {
                link.queue.pop_front();
            } else if used > 0 {
                let rest: Vec<u8, MAX_FRAME_LEN> =
                    Vec::from_slice(seg.bytes.get(used..).unwrap_or_default()).unwrap_or_default();
                seg.bytes = rest;
            }
        }
    }
}
