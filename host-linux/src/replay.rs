//! The digital twin: a network trial run again in the simulator with what
//! the trial measured, and the two compared row by row.
//!
//! What the replay takes from the trial: its seed, rates, die, speed and
//! length; for every model message, how late its sender's tick ran (the send
//! row's `system_ns` against its due time), added to the link's delay, so
//! that messages reach the simulated receiver in the order and at about the
//! time they reached the real one; and each machine that died, stopped or
//! fell more than a tick period behind (a pause, or a host that starved it),
//! as the simulator's crash, stop and pause faults (a simulated trial's
//! own faults, as its `params.json` records them). The core's tie-break
//! makes the rest exact: a tick takes only what had arrived by its due time,
//! so how late the real hosts ran a tick changes no row but its `system_ns`.
//!
//! What it cannot know: when exactly a real frame arrived (the logs hold the
//! send's time, and the link's delay is a parameter), and when exactly a
//! process died or froze between two of its ticks. Every divergence comes
//! with the reason the data gives for it ([`Why`]).

use scalemodel_core::fault::{FAULTS_MAX, Fault, Faults};
use scalemodel_core::sim::{self, Carried, Config, LINKS, Network, Report, Sim, Sink, link_index};
use scalemodel_core::{MachineId, N, Record, model_ns, period_ns};

use crate::caps::{INBOX_CAP, LINK_CAP};
use crate::rundir::{End, FaultSummary, Kind, Params, Row, Run};

/// How close to a tick's due time (wall ns) an arrival counts as "near" it.
pub const NEAR_NS: u64 = 2_000_000;

/// Why a trial cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The simulator refused the trial's parameters.
    #[error("the simulator refused the trial's parameters: {0}")]
    Config(scalemodel_core::ConfigError),
    /// The replay failed inside the simulator (a bug).
    #[error("the replay failed: {0}")]
    Sim(String),
    /// The trial's duration is not a whole number of model ns in range.
    #[error("the trial's duration_s {0} is out of range")]
    Duration(f64),
}

/// What a replay runs: the simulator's parameters and faults, and each
/// message's measured sender lateness.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The simulator's parameters.
    pub config: Config,
    /// The deaths, stops and pauses the trial shows.
    pub faults: Faults,
    /// Pauses the trial shows that did not fit [`FAULTS_MAX`].
    pub faults_left_out: usize,
    /// Per directed link ([`link_index`]), per `seq`: when the message
    /// leaves its sender in the replay, in Unix ns: when it was sent in the
    /// trial (its send row's `system_ns`), or just after the message its
    /// receiver queued before it, if that one left later. A receiver's inbox
    /// is first in, first out, so its receive rows are the order in which
    /// its messages arrived: the replay keeps that order, whatever held a
    /// message on its way (a sender descheduled between logging the send and
    /// writing it, a receiver that read two at once).
    pub leave_ns: Vec<Vec<u64>>,
}

/// The due time of `row` in Unix ns: `start + model_ns / speed`.
fn due_unix(p: &Params, row: &Row) -> u64 {
    scalemodel_core::due_ns(p.start_ns, row.model_ns, p.speed)
}

/// How late `row`'s tick ran, in wall ns.
fn late_ns(p: &Params, row: &Row) -> u64 {
    row.system_ns.saturating_sub(due_unix(p, row))
}

/// Builds the replay of `run` with links of `latency_ns` (and up to
/// `jitter_ns` more, drawn per frame).
pub fn plan(run: &Run, latency_ns: u64, jitter_ns: u64) -> Result<Plan, ReplayError> {
    let p = &run.params;
    let duration_ns = p.duration_s * 1e9;
    if !(duration_ns.is_finite() && duration_ns > 0.0 && duration_ns < u64::MAX as f64) {
        return Err(ReplayError::Duration(p.duration_s));
    }
    let config = Config {
        seed: p.seed,
        rates: p.rates,
        sides: p.sides,
        duration_ns: duration_ns.round() as u64,
        latency_ns,
        jitter_ns,
        start_ns: p.start_ns,
        speed: p.speed,
    };
    let mut sent_ns = vec![Vec::new(); LINKS];
    for rows in &run.logs {
        for row in rows.iter().filter(|r| r.kind == Kind::Send) {
            for (&to, &seq) in row.peers.iter().zip(&row.seqs) {
                let (Some(from), Some(to)) = (MachineId::new(row.machine), MachineId::new(to))
                else {
                    continue;
                };
                let link = &mut sent_ns[link_index(from, to)];
                let Ok(seq) = usize::try_from(seq) else {
                    continue;
                };
                if link.len() <= seq {
                    link.resize(seq + 1, 0);
                }
                link[seq] = row.system_ns;
            }
        }
    }
    keep_arrival_order(run, &mut sent_ns);
    let (faults, faults_left_out) = faults_of(run);
    Ok(Plan {
        config,
        faults,
        faults_left_out,
        leave_ns: sent_ns,
    })
}

/// Moves each received message's leaving time to just after the one its
/// receiver took before it, where that one left later: see
/// [`Plan::leave_ns`].
fn keep_arrival_order(run: &Run, leave_ns: &mut [Vec<u64>]) {
    for (m, rows) in run.logs.iter().enumerate() {
        let me = MachineId::ALL[m];
        let mut last = 0u64;
        for row in rows.iter().filter(|r| r.kind == Kind::Receive) {
            let (Some(&from), Some(&seq)) = (row.peers.first(), row.seqs.first()) else {
                continue;
            };
            let Some(from) = MachineId::new(from) else {
                continue;
            };
            let slot = usize::try_from(seq)
                .ok()
                .and_then(|seq| leave_ns.get_mut(link_index(from, me))?.get_mut(seq));
            if let Some(t) = slot {
                *t = (*t).max(last.saturating_add(1));
                last = *t;
            }
        }
    }
}

/// The faults of `run`: a simulated run's own, as its `params.json`
/// records them; else those its logs show (see [`shown_faults`]).
fn faults_of(run: &Run) -> (Faults, usize) {
    let p = &run.params;
    let recorded = p.faults.as_ref().filter(|_| p.mode == "sim");
    match recorded.map(|f| f.iter().map(fault_of).collect::<Option<Vec<_>>>()) {
        Some(Some(faults)) => keep(faults),
        _ => keep(shown_faults(run)),
    }
}

/// A recorded fault as the simulator's, if its time is known.
fn fault_of(f: &FaultSummary) -> Option<Fault> {
    let id = MachineId::new;
    Some(match *f {
        FaultSummary::Crash { machine, at_ns } => Fault::Crash {
            machine: id(machine)?,
            at_ns: at_ns?,
        },
        FaultSummary::Stop { machine, at_ns } => Fault::Stop {
            machine: id(machine)?,
            at_ns: at_ns?,
        },
        FaultSummary::Pause {
            machine,
            from_ns,
            until_ns,
        } => Fault::Pause {
            machine: id(machine)?,
            from_ns,
            until_ns,
        },
        FaultSummary::Partition {
            a,
            b,
            from_ns,
            until_ns,
        } => Fault::Partition {
            a: id(a)?,
            b: id(b)?,
            from_ns,
            until_ns,
        },
        FaultSummary::Garbage { from, to, at_ns } => Fault::Garbage {
            from: id(from)?,
            to: id(to)?,
            at_ns,
        },
    })
}

/// The faults `run`'s logs show: a machine that died or was stopped, just
/// after its last logged tick; a machine that ran a tick more than a period
/// late, paused from that tick's due time until it ran.
fn shown_faults(run: &Run) -> Vec<Fault> {
    let p = &run.params;
    let speed = u64::from(p.speed.max(1));
    let mut all = Vec::new();
    for id in MachineId::ALL {
        let rows = &run.logs[id.index()];
        let rate = p.rates[id.index()];
        let period = period_ns(rate, p.speed);
        for row in rows {
            let late = late_ns(p, row);
            if late > period {
                all.push(Fault::Pause {
                    machine: id,
                    from_ns: row.model_ns,
                    until_ns: row.model_ns.saturating_add(late.saturating_mul(speed)),
                });
            }
        }
        let end = p.machines.get(id.index()).map(|m| m.end);
        if !matches!(end, Some(End::Crashed | End::Interrupted)) {
            continue;
        }
        // After its last tick and before its next: a microsecond of wall
        // time after the last one was due, or half way to the next.
        let at_ns = rows.last().map_or(0, |last| {
            let next = model_ns(last.tick.saturating_add(1), rate);
            let gap = next.saturating_sub(last.model_ns);
            last.model_ns + (1_000 * speed).min(gap / 2).max(1)
        });
        all.push(match end {
            Some(End::Crashed) => Fault::Crash { machine: id, at_ns },
            _ => Fault::Stop { machine: id, at_ns },
        });
    }
    // Deaths and stops first: they decide the most.
    all.sort_by_key(|f| !matches!(f, Fault::Crash { .. } | Fault::Stop { .. }));
    all
}

/// The first [`FAULTS_MAX`] of `all`, and how many more there were.
fn keep(all: Vec<Fault>) -> (Faults, usize) {
    let left_out = all.len().saturating_sub(FAULTS_MAX);
    let mut faults = Faults::none();
    for fault in all.into_iter().take(FAULTS_MAX) {
        // Only FAULTS_MAX were taken, so each fits.
        if faults.push(fault).is_err() {
            break;
        }
    }
    (faults, left_out)
}

/// The replay's links: each frame takes the link's delay, and a model
/// message leaves when [`Plan::leave_ns`] says.
#[derive(Debug, Clone)]
struct Measured {
    leave_ns: Vec<Vec<u64>>,
}

impl Network for Measured {
    fn delay(
        &mut self,
        from: MachineId,
        to: MachineId,
        carried: Carried,
        system_ns: Option<u64>,
        standard: u64,
    ) -> u64 {
        let (Carried::Clock { seq }, Some(now)) = (carried, system_ns) else {
            return standard;
        };
        let left = usize::try_from(seq)
            .ok()
            .and_then(|seq| self.leave_ns.get(link_index(from, to))?.get(seq))
            .copied()
            .unwrap_or(0);
        standard.saturating_add(left.saturating_sub(now))
    }
}

/// Every record of a run, per machine, in order.
#[derive(Debug, Default)]
pub struct Records(pub [Vec<Record>; N]);

impl Sink for Records {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
        self.0[record.machine.index()].push(*record);
        Ok(())
    }
}

/// Runs `plan` in the simulator, at the network's capacities, on a thread
/// with room for the simulator's inline queues.
pub fn simulate(plan: &Plan) -> Result<(Records, Report), ReplayError> {
    let plan = plan.clone();
    std::thread::Builder::new()
        .name("replay".to_owned())
        .stack_size(crate::caps::SIM_STACK_BYTES)
        .spawn(move || {
            let net = Measured {
                leave_ns: plan.leave_ns,
            };
            let mut sim = Box::new(
                Sim::<INBOX_CAP, LINK_CAP, Measured>::with_network(plan.config, plan.faults, net)
                    .map_err(ReplayError::Config)?,
            );
            let mut records = Records::default();
            let report = sim
                .run(&mut records)
                .map_err(|e: sim::SimError<_>| ReplayError::Sim(e.to_string()))?;
            Ok((records, report))
        })
        .map_err(|e| ReplayError::Sim(format!("cannot start the replay's thread: {e}")))?
        .join()
        .map_err(|_| ReplayError::Sim("the replay's thread panicked".to_owned()))?
}

/// Two rows say the same, but for `system_ns` (and the line they are on).
fn same(a: &Row, b: &Row) -> bool {
    (
        a.machine,
        a.tick,
        a.model_ns,
        a.kind,
        a.clock,
        a.queue_len,
        &a.peers,
        a.msg_clock,
        &a.seqs,
    ) == (
        b.machine,
        b.tick,
        b.model_ns,
        b.kind,
        b.clock,
        b.queue_len,
        &b.peers,
        b.msg_clock,
        &b.seqs,
    )
}

/// Why the first rows that differ on a machine differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The message one of them took arrived within [`NEAR_NS`] of the
    /// tick's due time on the network (estimated: its send's `system_ns` plus
    /// the link's delay), so the measured order is finer than the data.
    NearTick {
        /// The message's sender.
        from: u8,
        /// Its `seq`.
        seq: u64,
        /// Its estimated arrival minus the tick's due time, in wall ns.
        gap_ns: i128,
    },
    /// The replay's links are not the trial's (`--latency`, `--jitter`): a
    /// message that was in time for the tick in one is not in the other.
    Links {
        /// The message's sender.
        from: u8,
        /// Its `seq`.
        seq: u64,
        /// Its arrival minus the tick's due time with the trial's links and
        /// with the replay's, in wall ns.
        gaps_ns: (i128, i128),
    },
    /// Two messages from different peers arrived within [`NEAR_NS`] of each
    /// other, and the two runs took them in the other order.
    Crossed {
        /// The first message's sender and `seq` (the network took it).
        net: (u8, u64),
        /// The other's (the replay took it).
        replay: (u8, u64),
        /// The difference of their send times on the network, in wall ns.
        gap_ns: i128,
    },
    /// The network took a message that was sent more than [`NEAR_NS`] after
    /// the one the replay took: the earlier one was held on its way (its
    /// sender descheduled between logging the send and writing it, or its
    /// receiver between reading and taking it), which no log records.
    Overtaken {
        /// The message the network took (sent later).
        net: (u8, u64),
        /// The message the replay took (sent earlier).
        replay: (u8, u64),
        /// How much earlier the replay's was sent, in wall ns.
        gap_ns: u64,
    },
    /// The tick, or one just before it, ran more than a period late on the
    /// network (the host paused or starved the process).
    Late {
        /// The tick that ran late.
        tick: u64,
        /// How late, in wall ns.
        late_ns: u64,
    },
    /// A machine in the message's path died or stopped just then.
    Fault {
        /// The machine.
        machine: u8,
    },
    /// A message's sender had diverged first: what it sent differed.
    Upstream {
        /// The sender.
        machine: u8,
        /// Its first line that differs.
        line: usize,
    },
    /// One log ends before the other (a death or stop at another instant).
    Ended,
    /// Nothing in the data explains it.
    Unexplained,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |ns: i128| ns as f64 / 1e6;
        match self {
            Self::NearTick { from, seq, gap_ns } => write!(
                f,
                "a message near a tick: {from}'s seq {seq} reached it about {:.3} ms {} the tick was due",
                ms(gap_ns.abs()),
                if *gap_ns <= 0 { "before" } else { "after" }
            ),
            Self::Links { from, seq, gaps_ns } => write!(
                f,
                "the links: {from}'s seq {seq} reached it {:.3} ms {} the tick was due with the trial's links, {:.3} ms {} with the replay's",
                ms(gaps_ns.0.abs()),
                if gaps_ns.0 <= 0 { "before" } else { "after" },
                ms(gaps_ns.1.abs()),
                if gaps_ns.1 <= 0 { "before" } else { "after" }
            ),
            Self::Crossed {
                net,
                replay,
                gap_ns,
            } => write!(
                f,
                "two messages met: {}'s seq {} and {}'s seq {} were sent {:.3} ms apart on the network, closer than the logs order their arrivals",
                net.0,
                net.1,
                replay.0,
                replay.1,
                ms(gap_ns.abs())
            ),
            Self::Overtaken {
                net,
                replay,
                gap_ns,
            } => write!(
                f,
                "a message held on its way: {}'s seq {} was sent {:.3} ms before {}'s seq {} but reached the receiver after it (a process descheduled after it logged the send, or a slow link)",
                replay.0,
                replay.1,
                *gap_ns as f64 / 1e6,
                net.0,
                net.1
            ),
            Self::Late { tick, late_ns } => write!(
                f,
                "a stall: tick {tick} ran {:.3} ms late on the network (paused or starved)",
                *late_ns as f64 / 1e6
            ),
            Self::Fault { machine } => write!(f, "a fault: machine {machine} died or stopped then"),
            Self::Upstream { machine, line } => write!(
                f,
                "machine {machine} diverged first (line {line}), so what it sent differs"
            ),
            Self::Ended => {
                f.write_str("one log ends earlier: the death or stop came at another instant")
            }
            Self::Unexplained => f.write_str("unexplained"),
        }
    }
}

/// The first rows that differ on one machine.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// The network's row, if its log goes that far.
    pub net: Option<Row>,
    /// The replay's row, if its log goes that far.
    pub replay: Option<Row>,
    /// The line both would be on (the header is line 1).
    pub line: usize,
    /// Why they differ.
    pub why: Why,
}

/// How far a network run and its replay agree, per machine.
#[derive(Debug, Clone)]
pub struct Agreement {
    /// Rows that agree, and rows in the longer of the two logs.
    pub rows: [(usize, usize); N],
    /// Each machine's first divergence.
    pub first: [Option<Divergence>; N],
}

impl Agreement {
    /// Rows that agree and rows in all, over the machines.
    pub fn total(&self) -> (usize, usize) {
        self.rows
            .iter()
            .fold((0, 0), |(a, n), &(x, y)| (a + x, n + y))
    }
}

/// Compares a network run's logs with its replay's, row by row.
pub fn compare(run: &Run, replay: &Records, plan: &Plan) -> Agreement {
    let replay: [Vec<Row>; N] = std::array::from_fn(|m| {
        let records = &replay.0[m];
        records
            .iter()
            .enumerate()
            .map(|(i, r)| Row::from_record(r, i + 2))
            .collect()
    });
    let mut rows = [(0, 0); N];
    let mut first_at: [Option<usize>; N] = [None; N];
    for m in 0..N {
        let (a, b) = (&run.logs[m], &replay[m]);
        let agree = a.iter().zip(b).filter(|(x, y)| same(x, y)).count();
        rows[m] = (agree, a.len().max(b.len()));
        first_at[m] = (0..a.len().max(b.len())).find(|&i| match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => !same(x, y),
            _ => true,
        });
    }
    let first = std::array::from_fn(|m| {
        first_at[m].map(|i| {
            let (net, rep) = (run.logs[m].get(i).cloned(), replay[m].get(i).cloned());
            let why = explain(run, plan, &first_at, &net, &rep);
            Divergence {
                net,
                replay: rep,
                line: i + 2,
                why,
            }
        })
    });
    Agreement { rows, first }
}

/// The message a receive row took: its sender and `seq`.
fn taken(row: &Row) -> Option<(u8, u64)> {
    (row.kind == Kind::Receive).then(|| Some((*row.peers.first()?, *row.seqs.first()?)))?
}

/// Where the network's log of `from` holds the send of `seq` to `to`: its
/// index in the log and its row.
fn send_of(run: &Run, from: u8, to: u8, seq: u64) -> Option<(usize, &Row)> {
    let rows = run.logs.get(usize::from(from))?;
    rows.iter().enumerate().find(|(_, r)| {
        r.kind == Kind::Send
            && r.peers
                .iter()
                .zip(&r.seqs)
                .any(|(&t, &s)| t == to && s == seq)
    })
}

/// Why the first differing rows `net` and `rep` (of one machine) differ.
fn explain(
    run: &Run,
    plan: &Plan,
    first_at: &[Option<usize>; N],
    net: &Option<Row>,
    rep: &Option<Row>,
) -> Why {
    let p = &run.params;
    let (Some(net), Some(rep)) = (net, rep) else {
        return Why::Ended;
    };
    let me = net.machine;
    // A machine that died or stopped near here.
    for fault in plan.faults.as_slice() {
        if let Fault::Crash { machine, at_ns } | Fault::Stop { machine, at_ns } = *fault {
            let period = scalemodel_core::model_ns(1, p.rates[machine.index()]);
            if at_ns.abs_diff(net.model_ns) <= 2 * period {
                return Why::Fault {
                    machine: machine.get(),
                };
            }
        }
    }
    let messages: Vec<(u8, u64)> = [taken(net), taken(rep)].into_iter().flatten().collect();
    // A sender that diverged before it sent what this tick took.
    for &(from, seq) in &messages {
        if let Some((i, _)) = send_of(run, from, me, seq)
            && let Some(d) = first_at.get(usize::from(from)).copied().flatten()
            && d <= i
        {
            return Why::Upstream {
                machine: from,
                line: d + 2,
            };
        }
    }
    // This tick, or the one before, ran more than a period late.
    let rows = &run.logs[usize::from(me)];
    let period = period_ns(p.rates[usize::from(me)], p.speed);
    let at = rows.iter().position(|r| r.line == net.line).unwrap_or(0);
    for r in rows[at.saturating_sub(1)..=at].iter().rev() {
        let late = late_ns(p, r);
        if late > period {
            return Why::Late {
                tick: r.tick,
                late_ns: late,
            };
        }
    }
    let latency = i128::from(plan.config.latency_ns);
    let sent = |(from, seq): (u8, u64)| send_of(run, from, me, seq).map(|(_, r)| r.system_ns);
    if let (Some(a), Some(b)) = (taken(net), taken(rep))
        && a.0 != b.0
        && let (Some(ta), Some(tb)) = (sent(a), sent(b))
    {
        let gap_ns = i128::from(tb) - i128::from(ta);
        if gap_ns.unsigned_abs() <= u128::from(NEAR_NS) {
            return Why::Crossed {
                net: a,
                replay: b,
                gap_ns,
            };
        }
        if ta > tb {
            return Why::Overtaken {
                net: a,
                replay: b,
                gap_ns: ta - tb,
            };
        }
    }
    let due = i128::from(due_unix(p, net));
    // Other links than the trial's: a message in time in one, late in the other.
    let trial_latency = i128::from(default_latency(p));
    let in_time = |t: u64, latency: i128| i128::from(t) + latency <= due;
    let mut to_me = run.logs.iter().flatten().filter_map(|r| {
        let i = r
            .peers
            .iter()
            .position(|&to| to == me && r.kind == Kind::Send)?;
        Some(((r.machine, *r.seqs.get(i)?), r.system_ns))
    });
    let moved = |&((from, seq), t): &((u8, u64), u64)| {
        (in_time(t, trial_latency) != in_time(t, latency)).then_some(Why::Links {
            from,
            seq,
            gaps_ns: (
                i128::from(t) + trial_latency - due,
                i128::from(t) + latency - due,
            ),
        })
    };
    if latency != trial_latency || plan.config.jitter_ns > 0 {
        let taken_sent: Vec<_> = messages
            .iter()
            .filter_map(|&m| Some((m, sent(m)?)))
            .collect();
        if let Some(why) = taken_sent
            .iter()
            .find_map(moved)
            .or_else(|| to_me.find_map(|x| moved(&x)))
        {
            return why;
        }
    }
    // A message taken, or any message to this machine (which changes the
    // queue's length), that arrived near the tick's due time.
    let near = |(from, seq): (u8, u64), t: u64| {
        let gap_ns = i128::from(t) + latency - due;
        (gap_ns.unsigned_abs() <= u128::from(NEAR_NS)).then_some(Why::NearTick {
            from,
            seq,
            gap_ns,
        })
    };
    let taken_near = messages.iter().find_map(|&m| near(m, sent(m)?));
    taken_near
        .or_else(|| {
            run.logs.iter().flatten().find_map(|r| {
                let i = r
                    .peers
                    .iter()
                    .position(|&to| to == me && r.kind == Kind::Send)?;
                near((r.machine, *r.seqs.get(i)?), r.system_ns)
            })
        })
        .unwrap_or(Why::Unexplained)
}

/// The link delay to replay `run` with when none is asked for: the
/// simulator's own for a simulated run, else [`NET_LATENCY_NS`].
pub fn default_latency(p: &Params) -> u64 {
    p.latency_ns.unwrap_or(NET_LATENCY_NS)
}

/// A loopback link's delay on the network, as the replay assumes it: about
/// what a `Clock` frame takes from the sender's write to the receiver's read
/// on an idle host (tens of microseconds).
pub const NET_LATENCY_NS: u64 = 50_000;
