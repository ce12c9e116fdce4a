//! The deterministic simulator: three machines and six links in virtual time.
//!
//! Time is a `u64` of model nanoseconds from the run's start. Machine `i` ticks
//! at `tick * 1e9 / rate_i`; a message sent at `t` arrives at
//! `t + latency + jitter` (jitter drawn uniformly from `0..=jitter_ns` on the
//! run's network stream), never before the message ahead of it on the same
//! link, so every link is FIFO like TCP. The run covers model times
//! `0 .. duration`; what is still on a link at the end is counted in flight.
//!
//! **Order of simultaneous events** (fixed, so a seed gives one run): at equal
//! times deliveries come before ticks; deliveries go by link in the order
//! 0→1, 0→2, 1→0, 1→2, 2→0, 2→1; ticks go by machine id. A message that
//! arrives at `t` is therefore in the inbox for a tick at `t`.
//!
//! **Bounds.** Each inbox holds `INBOX` messages and each link `LINK`. When an
//! inbox is full, arrivals wait on their link (TCP holds them) and the
//! receiver's report counts them as `held`. When a link is full, the sender
//! stalls as on a blocking socket: its tick is logged, the message waits in the
//! sender, and the machine does not tick again until the link takes it; its
//! later ticks run late (visible as `system_ns` past schedule) and its report
//! counts the stalls. Nothing is ever dropped. A machine still stalled at the
//! end is reported as such.
//!
//! Every step is a tick or a delivery, so a run takes at most
//! `ticks + messages` steps.

use core::fmt;

use heapless::{Deque, Vec};

use crate::rng::{self, ModelRng, Stream};
use crate::{ClockOverflow, ConfigError, Machine, MachineId, Message, N, Record, Tally};

/// The number of directed links.
pub const LINKS: usize = N * (N - 1);

/// A run's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The run's seed: the die rolls and the jitter come from it.
    pub seed: u64,
    /// Each machine's rate in ticks per model second.
    pub rates: [u32; N],
    /// Faces of the die (at least 4).
    pub sides: u8,
    /// The run's length in model ns.
    pub duration_ns: u64,
    /// The link delay in model ns.
    pub latency_ns: u64,
    /// The largest extra delay drawn per message, in model ns (0: none).
    pub jitter_ns: u64,
    /// Wall-clock Unix time in ns of model time 0, for `system_ns`.
    pub start_ns: u64,
    /// Model time runs this many times faster than wall time in `system_ns`.
    pub speed: u32,
}

impl Config {
    /// The standard parameters for `seed` and `rates`: a die of 10, 60 s,
    /// 100 µs latency, no jitter, start at 0, speed 1.
    pub const fn new(seed: u64, rates: [u32; N]) -> Self {
        Self {
            seed,
            rates,
            sides: 10,
            duration_ns: 60_000_000_000,
            latency_ns: 100_000,
            jitter_ns: 0,
            start_ns: 0,
            speed: 1,
        }
    }
}

/// Where the simulator sends each record, in the order they happen.
pub trait Sink {
    /// Why a record could not be taken.
    type Error;
    /// Takes one record.
    fn record(&mut self, record: &Record) -> Result<(), Self::Error>;
}

/// A sink that keeps nothing: for runs that only want the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

impl Sink for Discard {
    type Error = core::convert::Infallible;
    fn record(&mut self, _: &Record) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError<E> {
    /// A machine's clock would overflow.
    Clock(MachineId, ClockOverflow),
    /// The sink refused a record.
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for SimError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Clock(id, e) => write!(f, "machine {id}: {e}"),
            Self::Sink(e) => write!(f, "writing a record: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for SimError<E> {}

/// How one machine's run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineReport {
    /// Ticks per model second.
    pub rate: u32,
    /// Counts from its records.
    pub tally: Tally,
    /// Times it stalled on a full link.
    pub stalls: u64,
    /// Model ns it spent stalled.
    pub stalled_ns: u64,
    /// Arrivals that waited on their link because its inbox was full.
    pub held: u64,
    /// Still stalled when the run ended.
    pub stalled_at_end: bool,
    /// Messages left in its inbox at the end.
    pub inbox_left: u32,
}

/// One directed link's accounting at the end: `sent = received + queued + in_flight`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkReport {
    /// The sender.
    pub from: MachineId,
    /// The receiver.
    pub to: MachineId,
    /// Messages the sender logged as sent.
    pub sent: u64,
    /// Messages the receiver logged as received.
    pub received: u64,
    /// Messages waiting in the receiver's inbox.
    pub queued: u64,
    /// Messages on the link or still in a stalled sender.
    pub in_flight: u64,
}

impl LinkReport {
    /// Every message is accounted for.
    pub const fn balanced(&self) -> bool {
        self.sent == self.received + self.queued + self.in_flight
    }
}

/// The result of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Each machine, by id.
    pub machines: [MachineReport; N],
    /// Each link, in the order 0→1, 0→2, 1→0, 1→2, 2→0, 2→1.
    pub links: [LinkReport; LINKS],
}

/// The link index of `from → to`, in tie-break order.
pub const fn link_index(from: MachineId, to: MachineId) -> usize {
    let (f, t) = (from.index(), to.index());
    f * (N - 1) + if t < f { t } else { t - 1 }
}

/// The ends of link `index`.
pub const fn link_ends(index: usize) -> (MachineId, MachineId) {
    let f = index / (N - 1);
    let k = index % (N - 1);
    let t = if k < f { k } else { k + 1 };
    (MachineId::ALL[f], MachineId::ALL[t])
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    arrive_ns: u64,
    msg: Message,
}

#[derive(Debug, Clone)]
struct Link<const CAP: usize> {
    queue: Deque<InFlight, CAP>,
    last_arrive_ns: u64,
    held: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    tally: Tally,
    stalls: u64,
    stalled_ns: u64,
    held: u64,
    stalled_since: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Deliver(usize),
    Tick(usize),
}

/// A simulated run: three machines with inboxes of `INBOX` and links of `LINK` messages.
#[derive(Debug, Clone)]
pub struct Sim<const INBOX: usize, const LINK: usize> {
    config: Config,
    machines: [Machine<INBOX>; N],
    dice: [ModelRng; N],
    jitter: ModelRng,
    links: [Link<LINK>; LINKS],
    /// Sends a stalled machine still has to hand to its links, in order.
    pending: [Vec<(MachineId, Message), 2>; N],
    stats: [Stats; N],
    now_ns: u64,
}

impl<const INBOX: usize, const LINK: usize> Sim<INBOX, LINK> {
    /// A run at model time 0.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        if config.speed == 0 {
            return Err(ConfigError::ZeroSpeed);
        }
        let mut machines = [const { None }; N];
        for (slot, id) in machines.iter_mut().zip(MachineId::ALL) {
            *slot = Some(Machine::new(id, config.rates[id.index()], config.sides)?);
        }
        let machines = machines.map(|m| m.expect("every slot was filled above"));
        Ok(Self {
            config,
            machines,
            dice: MachineId::ALL.map(|id| rng::stream(config.seed, Stream::Machine(id))),
            jitter: rng::stream(config.seed, Stream::Network),
            links: [const {
                Link {
                    queue: Deque::new(),
                    last_arrive_ns: 0,
                    held: false,
                }
            }; LINKS],
            pending: [const { Vec::new() }; N],
            stats: [Stats::default(); N],
            now_ns: 0,
        })
    }

    /// The run's parameters.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The machines, by id.
    pub const fn machines(&self) -> &[Machine<INBOX>; N] {
        &self.machines
    }

    /// Runs to the end, handing each record to `sink` as it happens.
    pub fn run<S: Sink>(&mut self, sink: &mut S) -> Result<Report, SimError<S::Error>> {
        while let Some((at, kind)) = self.next_event() {
            self.now_ns = at;
            match kind {
                Kind::Deliver(link) => self.deliver(link),
                Kind::Tick(m) => self.tick(m, sink)?,
            }
        }
        Ok(self.report())
    }

    /// The earliest event before the end, by the documented order.
    fn next_event(&mut self) -> Option<(u64, Kind)> {
        let (now, end) = (self.now_ns, self.config.duration_ns);
        let mut best: Option<(u64, Kind)> = None;
        let mut consider = |at: u64, kind: Kind| {
            if at < end && best.is_none_or(|b| (at, kind) < b) {
                best = Some((at, kind));
            }
        };
        for (i, link) in self.links.iter_mut().enumerate() {
            let Some(head) = link.queue.front() else {
                continue;
            };
            let to = link_ends(i).1.index();
            if self.machines[to].inbox().is_full() {
                if head.arrive_ns <= now && !link.held {
                    link.held = true;
                    self.stats[to].held += 1;
                }
                continue;
            }
            consider(head.arrive_ns.max(now), Kind::Deliver(i));
        }
        for (m, machine) in self.machines.iter().enumerate() {
            if self.pending[m].is_empty() {
                consider(machine.next_tick_ns().max(now), Kind::Tick(m));
            }
        }
        best
    }

    fn deliver(&mut self, link: usize) {
        let (from, to) = link_ends(link);
        let Some(head) = self.links[link].queue.pop_front() else {
            return;
        };
        if let Err(msg) = self.machines[to.index()].deliver(head.msg) {
            // next_event never picks a link whose receiver is full; keep the
            // message where it was rather than lose it.
            let _ = self.links[link].queue.push_front(InFlight { msg, ..head });
            return;
        }
        self.links[link].held = false;
        self.flush(from);
    }

    /// Hands a stalled machine's waiting sends to its links while they have room.
    fn flush(&mut self, from: MachineId) {
        let m = from.index();
        while let Some(&(to, msg)) = self.pending[m].first() {
            if self.links[link_index(from, to)].queue.is_full() {
                return;
            }
            self.pending[m].remove(0);
            self.put_on_link(from, to, msg);
        }
        if let Some(since) = self.stats[m].stalled_since.take() {
            self.stats[m].stalled_ns += self.now_ns - since;
        }
    }

    fn tick<S: Sink>(&mut self, m: usize, sink: &mut S) -> Result<(), SimError<S::Error>> {
        let id = MachineId::ALL[m];
        let system_ns = self.config.start_ns + self.now_ns / u64::from(self.config.speed);
        let record = self.machines[m]
            .tick(system_ns, &mut self.dice[m])
            .map_err(|e| SimError::Clock(id, e))?;
        for (to, msg) in record.outgoing() {
            let link_full = self.links[link_index(id, to)].queue.is_full();
            if self.pending[m].is_empty() && !link_full {
                self.put_on_link(id, to, msg);
            } else {
                // A blocked machine does not tick, so at most one tick's two
                // sends ever wait here.
                let _ = self.pending[m].push((to, msg));
                let stats = &mut self.stats[m];
                if stats.stalled_since.is_none() {
                    stats.stalled_since = Some(self.now_ns);
                    stats.stalls += 1;
                }
            }
        }
        self.stats[m].tally.observe(&record);
        sink.record(&record).map_err(SimError::Sink)
    }

    fn put_on_link(&mut self, from: MachineId, to: MachineId, msg: Message) {
        let jitter = match self.config.jitter_ns {
            0 => 0,
            max => rng::uniform(&mut self.jitter, 0..=max),
        };
        let link = &mut self.links[link_index(from, to)];
        let arrive_ns = (self.now_ns + self.config.latency_ns)
            .saturating_add(jitter)
            .max(link.last_arrive_ns);
        link.last_arrive_ns = arrive_ns;
        // Callers check for room first.
        let _ = link.queue.push_back(InFlight { arrive_ns, msg });
    }

    /// The accounting as it stands.
    pub fn report(&self) -> Report {
        let machines = MachineId::ALL.map(|id| {
            let (machine, stats) = (&self.machines[id.index()], &self.stats[id.index()]);
            let stalled_now = stats.stalled_since.map_or(0, |s| self.now_ns - s);
            MachineReport {
                rate: machine.rate(),
                tally: stats.tally,
                stalls: stats.stalls,
                stalled_ns: stats.stalled_ns + stalled_now,
                held: stats.held,
                stalled_at_end: stats.stalled_since.is_some(),
                inbox_left: u32::try_from(machine.inbox().len()).unwrap_or(u32::MAX),
            }
        });
        let links = core::array::from_fn(|i| {
            let (from, to) = link_ends(i);
            let receiver = &self.machines[to.index()];
            let waiting = self.pending[from.index()].iter().filter(|(t, _)| *t == to);
            LinkReport {
                from,
                to,
                sent: self.machines[from.index()].sent_to(to),
                received: self.stats[to.index()].tally.received_from(from),
                queued: receiver.inbox().iter().filter(|m| m.from == from).count() as u64,
                in_flight: (self.links[i].queue.len() + waiting.count()) as u64,
            }
        });
        Report { machines, links }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;
    use std::vec::Vec as StdVec;

    #[derive(Default)]
    struct Keep(StdVec<Record>);

    impl Sink for Keep {
        type Error = core::convert::Infallible;
        fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
            self.0.push(*record);
            Ok(())
        }
    }

    fn run<const I: usize, const L: usize>(config: Config) -> (StdVec<Record>, Report) {
        let mut sim = Sim::<I, L>::new(config).expect("valid config");
        let mut keep = Keep::default();
        let report = sim.run(&mut keep).expect("no overflow");
        (keep.0, report)
    }

    #[test]
    fn link_indices_round_trip_in_tie_break_order() {
        let order = [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)];
        for (i, (f, t)) in order.into_iter().enumerate() {
            let (f, t) = (MachineId::ALL[f], MachineId::ALL[t]);
            assert_eq!(link_index(f, t), i);
            assert_eq!(link_ends(i), (f, t));
        }
    }

    #[test]
    fn a_run_ticks_on_schedule_and_balances_every_link() {
        let mut config = Config::new(3, [1, 3, 6]);
        config.duration_ns = 10_000_000_000;
        config.start_ns = 1_000;
        config.speed = 2;
        let (records, report) = run::<64, 64>(config);
        for (id, m) in report.machines.iter().enumerate() {
            assert_eq!(m.tally.ticks, 10 * u64::from(config.rates[id]));
            assert_eq!(m.stalls, 0);
        }
        for r in &records {
            assert_eq!(
                r.model_ns,
                crate::model_ns(r.tick, config.rates[r.machine.index()])
            );
            assert_eq!(r.system_ns, 1_000 + r.model_ns / 2);
        }
        assert!(
            report.links.iter().all(LinkReport::balanced),
            "{:?}",
            report.links
        );
        assert!(report.links.iter().any(|l| l.received > 0));
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let mut config = Config::new(9, [2, 5, 6]);
        config.jitter_ns = 50_000_000;
        let (a, _) = run::<64, 64>(config);
        let (b, _) = run::<64, 64>(config);
        assert_eq!(a, b);
        config.seed = 10;
        let (c, _) = run::<64, 64>(config);
        assert_ne!(a, c);
    }

    #[test]
    fn jitter_never_reorders_a_link() {
        let mut config = Config::new(5, [6, 6, 6]);
        config.jitter_ns = 900_000_000;
        let (records, report) = run::<64, 64>(config);
        let mut next = [[0u64; N]; N];
        for r in &records {
            if let Event::Receive(m) = r.event {
                let expect = &mut next[m.from.index()][r.machine.index()];
                assert_eq!(m.seq, *expect);
                *expect += 1;
            }
        }
        assert!(report.links.iter().all(LinkReport::balanced));
    }

    #[test]
    fn full_inboxes_hold_and_full_links_stall_without_loss() {
        let mut config = Config::new(1, [1, 6, 6]);
        config.sides = 4;
        let (records, report) = run::<2, 2>(config);
        let slow = &report.machines[0];
        assert!(slow.held > 0, "{slow:?}");
        // Records show the inbox after the take, so a full inbox of 2 logs 1.
        assert_eq!(slow.tally.max_queue, 1);
        assert!(report.machines[1].stalls + report.machines[2].stalls > 0);
        assert!(
            report.links.iter().all(LinkReport::balanced),
            "{:?}",
            report.links
        );
        // A stalled machine's ticks run late, never early, and never reorder.
        for r in &records {
            let at = (r.system_ns - config.start_ns) / u64::from(config.speed);
            assert!(at >= r.model_ns);
        }
    }

    #[test]
    fn a_message_arriving_at_a_tick_is_taken_by_that_tick() {
        // With no latency, a send at t from machine 0 reaches machine 1 before
        // machine 1's own tick at t: deliveries come first.
        let seed = (0..1_000)
            .find(|&seed| {
                let mut dice = rng::stream(seed, Stream::Machine(MachineId::ZERO));
                rng::roll(&mut dice, 10) == 1
            })
            .expect("some seed rolls a 1 first");
        let mut config = Config::new(seed, [1, 1, 1]);
        config.latency_ns = 0;
        config.duration_ns = 1;
        let (records, _) = run::<4, 4>(config);
        assert!(matches!(records[0].event, Event::Send(_)));
        assert_eq!(records[0].machine, MachineId::ZERO);
        assert_eq!(records[1].machine, MachineId::ONE);
        assert!(matches!(records[1].event, Event::Receive(m) if m.from == MachineId::ZERO));
    }
}
