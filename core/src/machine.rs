//! A model machine: its clock, its inbox and the tick rule.

use core::fmt;

use rand_core::Rng;

use crate::die::{Die, Face};
use crate::rng::roll;
use crate::{Clock, ClockOverflow, Event, Inbox, MachineId, Record, Sends, Stamp};

/// The model's message: the sender's clock at the send, numbered per
/// directed link, with the stamp of the clock the run carries beside
/// Lamport's (`H`, none by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<H = ()> {
    /// The sender.
    pub from: MachineId,
    /// The sender's Lamport clock after the send.
    pub clock: u64,
    /// The message's number on its directed link, from 0.
    pub seq: u64,
    /// The sender's carried clock after the send.
    pub stamp: H,
}

impl Message {
    /// A message of a run that carries Lamport's clock alone.
    pub const fn lamport(from: MachineId, clock: u64, seq: u64) -> Self {
        Self {
            from,
            clock,
            seq,
            stamp: (),
        }
    }
}

/// A machine's parameters are out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The rate must be at least one tick per second.
    ZeroRate,
    /// The die needs more faces than there are machines: `n` kinds of send
    /// and an internal event (4 for three machines).
    TooFewSides {
        /// The faces asked for.
        sides: u8,
        /// The run's number of machines.
        machines: u8,
    },
    /// The speed must be at least 1.
    ZeroSpeed,
    /// A run has 3 to 16 machines.
    Machines(u8),
    /// The run has more machines than the type holds (its capacity `M`).
    Capacity {
        /// The run's number of machines.
        machines: u8,
        /// The most the type holds, saturated at 255.
        capacity: u8,
    },
    /// A node's links and a stranger must fit in its connection slots.
    Conns {
        /// The node's links.
        links: u8,
        /// Its connection slots.
        slots: u8,
    },
    /// A machine's id must be below the run's number of machines.
    Id {
        /// The id asked for.
        id: u8,
        /// The run's number of machines.
        machines: u8,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroRate => f.write_str("a machine's rate must be at least 1 tick per second"),
            Self::TooFewSides { sides, machines } => write!(
                f,
                "the die needs at least {} sides for {machines} machines, got {sides}",
                u16::from(*machines) + 1
            ),
            Self::ZeroSpeed => f.write_str("the speed must be at least 1"),
            Self::Machines(n) => write!(f, "a run has 3 to 16 machines, got {n}"),
            Self::Capacity { machines, capacity } => write!(
                f,
                "{machines} machines do not fit in a type built for at most {capacity}"
            ),
            Self::Conns { links, slots } => write!(
                f,
                "a node of {links} links needs more than its {slots} connection slots"
            ),
            Self::Id { id, machines } => {
                write!(
                    f,
                    "machine id {id} is not below the {machines} machines of the run"
                )
            }
        }
    }
}

impl core::error::Error for ConfigError {}

/// The scheduled model time of `tick` at `rate` ticks per second: `tick * 1e9 / rate`, in ns.
///
/// Exactly `(tick as u128 * 1e9 / rate as u128) as u64` (the quotient fits u64
/// for any rate >= 1 and any tick a run can reach), computed in u64: with
/// `tick = q * rate + r`, the quotient is `q * 1e9 + r * 1e9 / rate`, and
/// `r * 1e9 < 2^32 * 1e9 < 2^64`. A u128 division costs a microcontroller
/// about 700 bytes of code and many cycles per tick.
pub const fn model_ns(tick: u64, rate: u32) -> u64 {
    const NS: u64 = 1_000_000_000;
    let rate = rate as u64;
    let (q, r) = (tick / rate, tick % rate);
    // Wrapping, as the u128 formula's cast truncates past u64::MAX.
    q.wrapping_mul(NS).wrapping_add(r * NS / rate)
}

/// How many ticks a machine at `rate` runs in a run of `duration_ns`: those
/// with `model_ns(k) < duration_ns`, i.e. `ceil(duration_ns * rate / 1e9)`.
///
/// Saturating at `u64::MAX`, computed in u64 (no u128 division on a
/// microcontroller): with `duration_ns = s * 1e9 + ns` it is
/// `s * rate + ceil(ns * rate / 1e9)`, and `ns * rate < 1e9 * 2^32 < 2^64`.
pub fn ticks_in(duration_ns: u64, rate: u32) -> u64 {
    const NS: u64 = 1_000_000_000;
    let rate = u64::from(rate);
    let (s, ns) = (duration_ns / NS, duration_ns % NS);
    s.checked_mul(rate)
        .and_then(|t| t.checked_add((ns * rate).div_ceil(NS)))
        .unwrap_or(u64::MAX)
}

/// When a tick whose model time is `model_ns` is due, on a clock where model
/// time 0 is `start_ns` and model time runs `speed` times faster:
/// `start_ns + model_ns / speed` (saturating). The one schedule rule of every
/// host and checker.
pub const fn due_ns(start_ns: u64, model_ns: u64, speed: u32) -> u64 {
    // Speed 1 (every standard run) skips the division: it is on the path of
    // every deadline a host asks for.
    let model = match speed {
        0 | 1 => model_ns,
        s => model_ns / s as u64,
    };
    start_ns.saturating_add(model)
}

/// The host-clock time between two ticks of a machine at `rate` ticks per
/// model second with model time `speed` times faster: `1e9 / (rate * speed)`
/// ns, rounded down, at least 1 (a rate or speed of 0 counts as 1). Hosts
/// size what they do between ticks by it; when a tick is due is
/// [`due_ns`]'s alone.
pub const fn period_ns(rate: u32, speed: u32) -> u64 {
    let per_s = (rate as u64) * (speed as u64);
    let per_s = if per_s == 0 { 1 } else { per_s };
    let period = 1_000_000_000 / per_s;
    if period == 0 { 1 } else { period }
}

/// A tenth of [`period_ns`], rounded down: how late a tick may run before it
/// counts as late. Equal to `period_ns(rate, speed) / 10`, worked out as
/// `1e8 / (rate * speed)` in 32 bits (0 once `rate * speed` passes 1e8):
/// one hardware division on a microcontroller, where the u64 form cost
/// about a hundred bytes of flash.
pub(crate) const fn tenth_period_ns(rate: u32, speed: u32) -> u64 {
    let per_s = (rate as u64) * (speed as u64);
    if per_s > 100_000_000 {
        return 0;
    }
    let per_s = if per_s == 0 { 1 } else { per_s as u32 };
    (100_000_000 / per_s) as u64
}

/// The model times of a machine's ticks one after the other, without a
/// division per tick: [`model_ns`]`(k, rate)` for `k` counting up from the
/// tick it was made at. With `k = q * rate + r` that is
/// `q * 1e9 + r * 1e9 / rate`; going from `r` to `r + 1` adds `1e9 / rate`
/// to the quotient and `1e9 % rate` to the remainder `r * 1e9 % rate`,
/// which carries one into the quotient when it reaches `rate`. (64-bit
/// hosts only: on the firmware the fields and their code would cost flash,
/// and its ticks are few.)
#[cfg(target_pointer_width = "64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Schedule {
    /// `q * 1e9`, wrapping as [`model_ns`] does.
    second_ns: u64,
    /// `r`, below the rate.
    r: u64,
    /// `r * 1e9 / rate`.
    within_ns: u64,
    /// `r * 1e9 % rate`.
    carry: u64,
    /// `1e9 / rate` and `1e9 % rate`.
    step_ns: u64,
    step_carry: u64,
    rate: u64,
}

#[cfg(target_pointer_width = "64")]
impl Schedule {
    const NS: u64 = 1_000_000_000;

    /// The schedule at tick 1 (the tick after the first); `rate` is not 0.
    const fn second(rate: u32) -> Self {
        let rate = rate as u64;
        let mut s = Self {
            second_ns: 0,
            r: 0,
            within_ns: 0,
            carry: 0,
            step_ns: Self::NS / rate,
            step_carry: Self::NS % rate,
            rate,
        };
        s.advance();
        s
    }

    /// `model_ns(k, rate)` for the schedule's tick `k`.
    const fn at_ns(&self) -> u64 {
        self.second_ns.wrapping_add(self.within_ns)
    }

    /// On to tick `k + 1`.
    const fn advance(&mut self) {
        self.r += 1;
        if self.r == self.rate {
            self.r = 0;
            self.second_ns = self.second_ns.wrapping_add(Self::NS);
            self.within_ns = 0;
            self.carry = 0;
        } else {
            // carry < rate and step_carry < rate: at most one carries over.
            self.within_ns += self.step_ns;
            self.carry += self.step_carry;
            if self.carry >= self.rate {
                self.carry -= self.rate;
                self.within_ns += 1;
            }
        }
    }
}

/// One model machine: a Lamport clock, an inbox of at most `CAP` messages and
/// the tick rule, in a run of at most `M` machines (its die says how many),
/// carrying the clock `H` beside Lamport's (none by default). It never
/// reads a clock or touches I/O.
#[derive(Debug, Clone)]
pub struct Machine<const CAP: usize, const M: usize = 3, H: Stamp = ()> {
    id: MachineId,
    rate: u32,
    die: Die,
    clock: Clock,
    /// The carried clock, advanced beside `clock`.
    stamp: H,
    inbox: Inbox<CAP, H>,
    ticks: u64,
    /// `model_ns(ticks, rate)`, kept rather than worked out (three divisions)
    /// each time a host asks when the next tick is due.
    next_ns: u64,
    /// The model time of the tick after the next, carried from tick to
    /// tick (64-bit hosts; the firmware works it out).
    #[cfg(target_pointer_width = "64")]
    after: Schedule,
    /// The `seq` of the next message to each machine, by id.
    next_seq: [u64; M],
}

impl<const CAP: usize, const M: usize, H: Stamp> Machine<CAP, M, H> {
    /// A machine at clock 0 with an empty inbox.
    pub fn new(id: MachineId, rate: u32, die: Die) -> Result<Self, ConfigError> {
        Self::check(id, rate, die)?;
        Ok(Self::new_checked(id, rate, die))
    }

    /// [`Machine::new`] once [`Machine::check`] passed: no `Result` around
    /// it, so that a node built in place builds its machine in place too.
    #[inline(always)]
    pub(crate) fn new_checked(id: MachineId, rate: u32, die: Die) -> Self {
        Self {
            id,
            rate,
            die,
            clock: Clock::new(),
            stamp: H::start(die.machines()),
            inbox: Inbox::new(),
            ticks: 0,
            next_ns: 0,
            #[cfg(target_pointer_width = "64")]
            after: Schedule::second(rate),
            next_seq: [0; M],
        }
    }

    /// Why [`Machine::new`] would refuse `id`, `rate` and `die`, if it
    /// would: a rate of 0, more machines than `M`, an id not below them.
    #[inline(always)]
    pub(crate) const fn check(id: MachineId, rate: u32, die: Die) -> Result<(), ConfigError> {
        if rate == 0 {
            return Err(ConfigError::ZeroRate);
        }
        let machines = die.machines();
        if machines as usize > M {
            let capacity = if M > u8::MAX as usize {
                u8::MAX
            } else {
                M as u8
            };
            return Err(ConfigError::Capacity { machines, capacity });
        }
        if id.get() >= machines {
            return Err(ConfigError::Id {
                id: id.get(),
                machines,
            });
        }
        Ok(())
    }

    /// Makes this machine what [`Machine::new`] would, in place: the inbox is
    /// emptied, not rebuilt. On an error nothing changed.
    pub fn reset(&mut self, id: MachineId, rate: u32, die: Die) -> Result<(), ConfigError> {
        Self::check(id, rate, die)?;
        // Every field by name: a new one does not compile until it is reset.
        let Self {
            id: my_id,
            rate: my_rate,
            die: my_die,
            clock,
            stamp,
            inbox,
            ticks,
            next_ns,
            #[cfg(target_pointer_width = "64")]
            after,
            next_seq,
        } = self;
        *my_id = id;
        *my_rate = rate;
        *my_die = die;
        *clock = Clock::new();
        *stamp = H::start(die.machines());
        inbox.clear();
        *ticks = 0;
        *next_ns = 0;
        #[cfg(target_pointer_width = "64")]
        {
            *after = Schedule::second(rate);
        }
        *next_seq = [0; M];
        Ok(())
    }

    /// This machine's id.
    pub const fn id(&self) -> MachineId {
        self.id
    }

    /// Ticks per model second.
    pub const fn rate(&self) -> u32 {
        self.rate
    }

    /// The die: its faces, the run's number of machines and the topology.
    pub const fn die(&self) -> Die {
        self.die
    }

    /// The Lamport clock's value.
    pub const fn clock(&self) -> u64 {
        self.clock.get()
    }

    /// The carried clock's stamp.
    pub const fn stamp(&self) -> H {
        self.stamp
    }

    /// Ticks done so far; also the index of the next tick.
    pub const fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The scheduled model time of the next tick, in ns.
    pub const fn next_tick_ns(&self) -> u64 {
        self.next_ns
    }

    /// The scheduled model time of the tick after the next, in ns.
    pub const fn after_next_tick_ns(&self) -> u64 {
        #[cfg(target_pointer_width = "64")]
        {
            self.after.at_ns()
        }
        #[cfg(not(target_pointer_width = "64"))]
        {
            model_ns(self.ticks + 1, self.rate)
        }
    }

    /// The inbox.
    pub const fn inbox(&self) -> &Inbox<CAP, H> {
        &self.inbox
    }

    /// Messages sent so far on the link to `to` (0 for an id beyond `M`).
    pub const fn sent_to(&self, to: MachineId) -> u64 {
        if to.index() < M {
            self.next_seq[to.index()]
        } else {
            0
        }
    }

    /// Puts a message that arrived at `at_ns` (on the host's clock, the one
    /// [`Machine::tick`]'s `due_ns` is on) in the inbox, or hands it back when
    /// the inbox is full.
    pub fn deliver(&mut self, msg: Message<H>, at_ns: u64) -> Result<(), Message<H>> {
        self.inbox.push(msg, at_ns)
    }

    /// The tick that was due at `due_ns` on the host's clock, run at wall-clock
    /// time `system_ns`: take the oldest message if one had arrived by
    /// `due_ns`, else roll the die. Returns the event's record; its
    /// [`Record::outgoing`] messages are for the host to send.
    ///
    /// **The tie-break**, the one rule every host obeys: a message that
    /// arrives at or before a tick's due time is in the queue for that tick;
    /// one that arrives after it, while the tick is late, waits for the next
    /// tick, and the record's `queue_len` counts only what had arrived by the
    /// due time. So how late a host runs a tick changes nothing the model
    /// decides: a machine's log is a function of its due times and its
    /// messages' arrival times.
    ///
    /// The carried clock takes `system_ns` as its physical time.
    ///
    /// On [`ClockOverflow`] (of either clock) the clocks, the inbox and the
    /// tick count are left as they were (a die roll already made is spent).
    // Inlined into the node's tick on 64-bit hosts: the call and the
    // record's copy out cost a third of the tick's own work. (Not on the
    // firmware: flash.)
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub fn tick<R: Rng + ?Sized>(
        &mut self,
        due_ns: u64,
        system_ns: u64,
        rng: &mut R,
    ) -> Result<Record<M, H>, ClockOverflow> {
        // The carried clock steps on a copy, kept once Lamport's stepped
        // too (for `()`, nothing at all).
        let mut stamp = self.stamp;
        let event = if let Some(msg) = self.inbox.front_by(due_ns) {
            stamp.receive(self.id, msg.stamp, system_ns)?;
            self.clock.receive(msg.clock)?;
            self.inbox.pop();
            Event::Receive(msg)
        } else {
            let face = roll(rng, self.die.sides());
            stamp.local(self.id, system_ns)?;
            self.clock.tick()?;
            match self.die.face(self.id, face) {
                Face::One(to) => Event::Send(Sends::one(to, self.take_seq(to))),
                Face::All => Event::Send(self.send_all()),
                Face::Internal => Event::Internal,
            }
        };
        self.stamp = stamp;
        let record = Record {
            machine: self.id,
            tick: self.ticks,
            model_ns: self.next_ns,
            system_ns,
            clock: self.clock.get(),
            // The inbox holds at most CAP messages; saturate for a CAP beyond u32.
            queue_len: u32::try_from(self.inbox.len_by(due_ns)).unwrap_or(u32::MAX),
            event,
            stamp,
        };
        self.ticks += 1;
        #[cfg(target_pointer_width = "64")]
        {
            self.next_ns = self.after.at_ns();
            self.after.advance();
        }
        #[cfg(not(target_pointer_width = "64"))]
        {
            self.next_ns = model_ns(self.ticks, self.rate);
        }
        Ok(record)
    }

    /// The next `seq` on the link to `to`, counted. `to` is below the
    /// die's machines, which [`Machine::check`] holds to `M`.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn take_seq(&mut self, to: MachineId) -> u64 {
        match self.next_seq.get_mut(to.index()) {
            Some(next) => {
                let seq = *next;
                *next = seq + 1;
                seq
            }
            None => 0,
        }
    }

    /// A send to every other machine, in id order, each message numbered.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn send_all(&mut self) -> Sends<M> {
        let mut sends = Sends::none();
        for to in MachineId::all(self.die.machines()) {
            if to != self.id {
                let seq = self.take_seq(to);
                sends.push(to, seq);
            }
        }
        sends
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Topology;
    use rand_core::TryRng;

    /// Yields the given words in turn, so a test picks the die faces.
    struct Faces<'a> {
        words: &'a [u64],
        used: usize,
    }

    impl<'a> Faces<'a> {
        fn new(words: &'a [u64]) -> Self {
            Self { words, used: 0 }
        }
    }

    impl TryRng for Faces<'_> {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.try_next_u64()? as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            let w = self.words[self.used];
            self.used += 1;
            Ok(w)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            unimplemented!("the machine draws whole words")
        }
    }

    /// The 64-bit word that `roll(_, sides)` maps to `face`.
    fn word(face: u8, sides: u8) -> u64 {
        ((u128::from(face - 1) << 64) / u128::from(sides) + 1) as u64
    }

    fn three(sides: u8) -> Die {
        Die::three(sides).unwrap()
    }

    fn machine() -> Machine<4> {
        Machine::new(MachineId::ONE, 2, three(10)).unwrap()
    }

    #[test]
    fn faces_map_to_the_model_rules() {
        let words = [
            word(1, 10),
            word(2, 10),
            word(3, 10),
            word(4, 10),
            word(10, 10),
        ];
        let mut rng = Faces::new(&words);
        let mut m = machine();
        let r = m.tick(100, 100, &mut rng).unwrap();
        assert_eq!(r.event, Event::Send(Sends::one(MachineId::TWO, 0)));
        assert_eq!((r.clock, r.tick, r.model_ns, r.system_ns), (1, 0, 0, 100));
        let r = m.tick(200, 200, &mut rng).unwrap();
        assert_eq!(r.event, Event::Send(Sends::one(MachineId::ZERO, 0)));
        assert_eq!((r.clock, r.model_ns), (2, 500_000_000));
        let r = m.tick(300, 300, &mut rng).unwrap();
        let both = Sends::both((MachineId::ZERO, 1), (MachineId::TWO, 1));
        assert_eq!(r.event, Event::Send(both));
        assert_eq!(r.outgoing().count(), 2);
        for _ in 0..2 {
            let r = m.tick(400, 400, &mut rng).unwrap();
            assert_eq!(r.event, Event::Internal);
        }
        assert_eq!(m.clock(), 5);
        assert_eq!(m.sent_to(MachineId::ZERO), 2);
        assert_eq!(m.sent_to(MachineId::TWO), 2);
    }

    #[test]
    fn five_machines_send_by_the_die_for_five() {
        let id = |n| MachineId::new(n, 5).unwrap();
        let (sides, all, ring) = (12, Topology::All, Topology::Ring);
        let mut m = Machine::<4, 16>::new(id(3), 2, Die::new(sides, 5, all).unwrap()).unwrap();
        let words = [
            word(1, sides),
            word(2, sides),
            word(5, sides),
            word(6, sides),
        ];
        let mut rng = Faces::new(&words);
        let mut events = [(); 4].map(|()| m.tick(0, 0, &mut rng).unwrap().event);
        assert_eq!(events[0], Event::Send(Sends::one(id(4), 0)));
        assert_eq!(events[1], Event::Send(Sends::one(id(0), 0)));
        let Event::Send(to_all) = events[2] else {
            panic!("face 5 of 5 machines sends to all: {:?}", events[2]);
        };
        let want = [(id(0), 1), (id(1), 0), (id(2), 0), (id(4), 1)];
        assert!(to_all.iter().eq(want));
        assert_eq!(events[3], Event::Internal);
        // A ring sends to the next on every send face.
        m.reset(id(4), 2, Die::new(sides, 5, ring).unwrap())
            .unwrap();
        let mut rng = Faces::new(&words);
        events = [(); 4].map(|()| m.tick(0, 0, &mut rng).unwrap().event);
        let sends: [u64; 3] = core::array::from_fn(|seq| seq as u64);
        for (event, seq) in events.iter().zip(sends) {
            assert_eq!(*event, Event::Send(Sends::one(id(0), seq)));
        }
        assert_eq!(events[3], Event::Internal);
    }

    #[test]
    fn a_waiting_message_is_taken_without_a_roll() {
        let mut rng = Faces::new(&[]);
        let mut m = machine();
        let msg = |clock, seq| Message {
            from: MachineId::ZERO,
            clock,
            seq,
            stamp: (),
        };
        m.deliver(msg(7, 0), 0).unwrap();
        m.deliver(msg(3, 1), 0).unwrap();
        let r = m.tick(0, 0, &mut rng).unwrap();
        assert_eq!(r.event, Event::Receive(msg(7, 0)));
        assert_eq!((r.clock, r.queue_len), (8, 1));
        let r = m.tick(0, 0, &mut rng).unwrap();
        assert_eq!((r.clock, r.queue_len), (9, 0));
        assert_eq!(rng.used, 0);
    }

    #[test]
    fn a_message_that_arrives_while_a_tick_is_late_waits_for_the_next() {
        let mut m = machine();
        let msg = |seq| Message {
            from: MachineId::ZERO,
            clock: 10,
            seq,
            stamp: (),
        };
        m.deliver(msg(0), 100).unwrap();
        m.deliver(msg(1), 150).unwrap();
        // Due at 99, run at 200: neither had arrived by 99.
        let words = [word(10, 10)];
        let r = m.tick(99, 200, &mut Faces::new(&words)).unwrap();
        assert_eq!(
            (r.event, r.queue_len, r.system_ns),
            (Event::Internal, 0, 200)
        );
        // Due at 100, run late: the first arrived exactly then and is taken;
        // the second came while the tick was late and is not counted.
        let r = m.tick(100, 300, &mut Faces::new(&[])).unwrap();
        assert_eq!((r.event, r.queue_len), (Event::Receive(msg(0)), 0));
        let r = m.tick(150, 300, &mut Faces::new(&[])).unwrap();
        assert_eq!((r.event, r.queue_len), (Event::Receive(msg(1)), 0));
    }

    #[test]
    fn a_full_inbox_hands_the_message_back() {
        let mut m = machine();
        let msg = |seq| Message {
            from: MachineId::TWO,
            clock: 1,
            seq,
            stamp: (),
        };
        for seq in 0..4 {
            m.deliver(msg(seq), 0).unwrap();
        }
        assert_eq!(m.deliver(msg(4), 0), Err(msg(4)));
        assert_eq!(m.inbox().len(), 4);
    }

    #[test]
    fn overflow_leaves_the_machine_as_it_was() {
        let mut m = machine();
        let big = Message {
            from: MachineId::TWO,
            clock: u64::MAX - 1,
            seq: 0,
            stamp: (),
        };
        m.deliver(big, 0).unwrap();
        let r = m.tick(0, 0, &mut Faces::new(&[])).unwrap();
        assert_eq!(r.clock, u64::MAX);
        assert_eq!(m.clock(), u64::MAX);
        m.deliver(Message { seq: 1, ..big }, 0).unwrap();
        assert_eq!(m.tick(0, 0, &mut Faces::new(&[])), Err(ClockOverflow));
        assert_eq!((m.ticks(), m.inbox().len()), (1, 1));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert_eq!(
            Machine::<1>::new(MachineId::ZERO, 0, three(10)).err(),
            Some(ConfigError::ZeroRate)
        );
        let five = Die::new(12, 5, Topology::All).unwrap();
        assert_eq!(
            Machine::<1>::new(MachineId::ZERO, 1, five).err(),
            Some(ConfigError::Capacity {
                machines: 5,
                capacity: 3
            })
        );
        let four = Die::new(12, 4, Topology::Ring).unwrap();
        assert_eq!(
            Machine::<1, 16>::new(MachineId::new(4, 16).unwrap(), 1, four).err(),
            Some(ConfigError::Id { id: 4, machines: 4 })
        );
        assert!(Machine::<1, 16>::new(MachineId::new(3, 16).unwrap(), 1, four).is_ok());
        assert_eq!(model_ns(3, 6), 500_000_000);
        assert_eq!(period_ns(6, 1), 166_666_666);
        assert_eq!(period_ns(0, 0), 1_000_000_000);
        assert_eq!(period_ns(u32::MAX, u32::MAX), 1);
    }

    #[test]
    fn a_tenth_period_is_the_period_over_ten_at_the_edges() {
        let values = [
            0, 1, 2, 3, 6, 7, 10, 1_000, 9_999, 10_000, 10_001, 99_999_999,
        ];
        let more = [100_000_000, 100_000_001, 1_000_000_000, 1_000_000_001];
        for rate in values
            .into_iter()
            .chain(more)
            .chain([u32::MAX - 1, u32::MAX])
        {
            for speed in values.into_iter().chain(more).chain([u32::MAX]) {
                let want = period_ns(rate, speed) / 10;
                assert_eq!(tenth_period_ns(rate, speed), want, "{rate} {speed}");
            }
        }
    }

    #[test]
    fn reset_is_new_in_place() {
        let mut m = machine();
        let msg = Message {
            from: MachineId::ONE,
            clock: 5,
            seq: 0,
            stamp: (),
        };
        m.deliver(msg, 0).unwrap();
        let rx = m.tick(0, 0, &mut Faces::new(&[])).unwrap();
        let tx = m.tick(0, 0, &mut Faces::new(&[word(1, 10)])).unwrap();
        assert_eq!((rx.clock, tx.clock), (6, 7));
        let fresh = Machine::<4>::new(MachineId::TWO, 3, three(6)).unwrap();
        assert_eq!(
            m.reset(MachineId::TWO, 0, three(6)),
            Err(ConfigError::ZeroRate)
        );
        let five = Die::new(12, 5, Topology::All).unwrap();
        assert_eq!(
            m.reset(MachineId::TWO, 3, five),
            Err(ConfigError::Capacity {
                machines: 5,
                capacity: 3
            })
        );
        assert_eq!(m.ticks(), 2, "a refused reset changes nothing");
        m.reset(MachineId::TWO, 3, three(6)).unwrap();
        assert_eq!(std::format!("{m:?}"), std::format!("{fresh:?}"));
    }

    /// The scheduling rule as it was written first, in u128.
    fn model_ns_u128(tick: u64, rate: u32) -> u64 {
        (u128::from(tick) * 1_000_000_000 / u128::from(rate)) as u64
    }

    #[test]
    fn model_ns_at_the_edges() {
        for tick in [0, 1, 999, u64::MAX / 1_000_000_000, u64::MAX - 1, u64::MAX] {
            for rate in [1, 2, 3, 6, 7, 1_000_000_000, u32::MAX - 1, u32::MAX] {
                assert_eq!(
                    model_ns(tick, rate),
                    model_ns_u128(tick, rate),
                    "{tick} {rate}"
                );
            }
        }
    }

    /// `ticks_in` as it was written first, in u128.
    fn ticks_in_u128(duration_ns: u64, rate: u32) -> u64 {
        let t = u128::from(duration_ns) * u128::from(rate);
        u64::try_from(t.div_ceil(1_000_000_000)).unwrap_or(u64::MAX)
    }

    #[test]
    fn ticks_in_at_the_edges() {
        let durations = [
            0,
            1,
            999_999_999,
            1_000_000_000,
            60_000_000_000,
            u64::MAX - 1,
            u64::MAX,
        ];
        for d in durations {
            for rate in [1, 2, 6, 7, 1_000_000_000, u32::MAX] {
                assert_eq!(ticks_in(d, rate), ticks_in_u128(d, rate), "{d} {rate}");
            }
        }
    }

    #[test]
    fn the_schedule_steps_through_model_ns() {
        for rate in [
            1,
            2,
            3,
            6,
            7,
            1000,
            999_999_937,
            1_000_000_000,
            1_000_000_001,
            u32::MAX,
        ] {
            let mut m = Machine::<4>::new(MachineId::ZERO, rate, three(10)).unwrap();
            let mut rng = crate::rng::stream(1, 3, crate::rng::Stream::Machine(MachineId::ZERO));
            let mut s = Schedule::second(rate);
            for k in 1..3000u64 {
                assert_eq!(s.at_ns(), model_ns(k, rate), "{k} {rate}");
                s.advance();
            }
            for k in 0..50u64 {
                assert_eq!(m.next_tick_ns(), model_ns(k, rate));
                assert_eq!(m.after_next_tick_ns(), model_ns(k + 1, rate));
                let record = m.tick(0, 0, &mut rng).unwrap();
                assert_eq!(record.model_ns, model_ns(k, rate));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_schedule_is_model_ns(rate in 1u32.., start in 0u64..2_000_000, steps in 1usize..400) {
            // Stepped from tick 1 to `start`, then checked tick by tick.
            let mut s = Schedule::second(rate);
            let skip = start % (u64::from(rate) * 3 + 5);
            for _ in 1..skip {
                s.advance();
            }
            let first = skip.max(1);
            for k in first..first + steps as u64 {
                proptest::prop_assert_eq!(s.at_ns(), model_ns(k, rate));
                s.advance();
            }
        }

        #[test]
        fn ticks_in_is_the_u128_formula(
            d in proptest::num::u64::ANY,
            shift in 0u32..64,
            rate in 1u32..,
        ) {
            let d = d >> shift;
            proptest::prop_assert_eq!(ticks_in(d, rate), ticks_in_u128(d, rate));
            let small = rate % 64 + 1;
            proptest::prop_assert_eq!(ticks_in(d, small), ticks_in_u128(d, small));
        }

        #[test]
        fn a_tenth_period_is_the_period_over_ten(
            rate in proptest::num::u32::ANY,
            speed in proptest::num::u32::ANY,
            shift in 0u32..32,
        ) {
            let (slow, fast) = (rate >> shift, speed >> shift);
            proptest::prop_assert_eq!(tenth_period_ns(rate, speed), period_ns(rate, speed) / 10);
            proptest::prop_assert_eq!(tenth_period_ns(slow, fast), period_ns(slow, fast) / 10);
        }

        #[test]
        fn model_ns_is_the_u128_formula(
            tick in proptest::num::u64::ANY,
            shift in 0u32..64,
            rate in 1u32..,
            small in 1u32..=64,
        ) {
            let tick = tick >> shift;
            proptest::prop_assert_eq!(model_ns(tick, rate), model_ns_u128(tick, rate));
            proptest::prop_assert_eq!(model_ns(tick, small), model_ns_u128(tick, small));
        }
    }
}
