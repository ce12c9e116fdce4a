//! The digital twin: a network trial run again in the simulator with what
//! the trial measured, and the two compared row by row.
//!
//! What the replay takes from the trial: its seed, rates, die, speed and
//! length; for every model message, when it left (its send row's
//! `system_ns`) and where it stood in its receiver's queue (the receive
//! rows: an inbox is first in, first out), so that messages reach the
//! simulated receiver in the order and at about the time they reached the
//! real one ([`Plan::leave_ns`]); and each machine that died, stopped or
//! fell more than a tick period behind (a pause, or a host that starved it)
//! or stopped short at the catch-up grace, as the simulator's crash, stop
//! and pause faults (a simulated trial's own
//! faults, as its `params.json` records them). The core's tie-break makes
//! the rest exact: a tick takes only what had arrived by its due time, so
//! how late the real hosts ran a tick changes no row but its `system_ns`.
//!
//! What it cannot know: when exactly a real frame arrived (the logs hold the
//! send's time, and the link's delay is a parameter), and when exactly a
//! process died or froze between two of its ticks. Every divergence comes
//! with the reason the data gives for it ([`Why`], in `compare`).

mod compare;

pub use compare::{Agreement, Divergence, Why, compare};

use scalemodel_core::fault::{FAULTS_MAX, Fault, Faults};
use scalemodel_core::node::Timeouts;
use scalemodel_core::sim::{self, Carried, Config, Network, Report, Sim, Sink, link_index};
use scalemodel_core::{MachineId, N, Record, Topology, model_ns, period_ns, ticks_in};

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
    /// The trial has a number of machines the replay does not simulate.
    #[error("the trial has {0} machines, more than the replay simulates yet")]
    Machines(usize),
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
        rates: p
            .rates
            .as_slice()
            .try_into()
            .map_err(|_| ReplayError::Machines(p.n()))?,
        machines: N as u8,
        topology: Topology::All,
        sides: p.sides,
        duration_ns: duration_ns.round() as u64,
        latency_ns,
        jitter_ns,
        start_ns: p.start_ns,
        speed: p.speed,
        skew: [scalemodel_core::ClockSkew::NONE; N],
    };
    let mut sent_ns = vec![Vec::new(); N * N];
    for rows in &run.logs {
        for row in rows.iter().filter(|r| r.kind == Kind::Send) {
            for (&to, &seq) in row.peers.iter().zip(&row.seqs) {
                let (Some(from), Some(to)) =
                    (MachineId::new(row.machine, 3), MachineId::new(to, 3))
                else {
                    continue;
                };
                let link = &mut sent_ns[link_index::<N>(from, to)];
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
            let Some(from) = MachineId::new(from, 3) else {
                continue;
            };
            let slot = usize::try_from(seq)
                .ok()
                .and_then(|seq| leave_ns.get_mut(link_index::<N>(from, me))?.get_mut(seq));
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
    let id = |n| MachineId::new(n, 3);
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
    // Machines that stopped short at the catch-up grace.
    let mut short = Vec::new();
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
        short.extend(stopped_short(p, id, rows));
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
    // Deaths, stops and the catch-ups cut short first: they decide the most.
    all.sort_by_key(|f| !matches!(f, Fault::Crash { .. } | Fault::Stop { .. }));
    let ends = all
        .iter()
        .take_while(|f| matches!(f, Fault::Crash { .. } | Fault::Stop { .. }))
        .count();
    all.splice(ends..ends, short);
    all
}

/// An `overloaded` machine that still owed ticks at the end plus the
/// catch-up grace stopped there; in the replay, a pause from its first
/// missing tick until past the grace (half way to its peers' `Bye` bound)
/// makes the simulated node stop short by the same rule.
fn stopped_short(p: &Params, id: MachineId, rows: &[Row]) -> Option<Fault> {
    let m = p.machines.get(id.index())?;
    let rate = p.rates[id.index()];
    if m.end != End::Overloaded || rows.len() as u64 >= ticks_in(p.duration_ns(), rate) {
        return None;
    }
    let next = rows.last().map_or(0, |r| r.tick.saturating_add(1));
    let t = Timeouts::DEFAULT;
    let wall_ns = t.catch_up_ns() + (t.bye_ns - t.catch_up_ns()) / 2;
    Some(Fault::Pause {
        machine: id,
        from_ns: model_ns(next, rate),
        until_ns: p
            .duration_ns()
            .saturating_add(wall_ns.saturating_mul(u64::from(p.speed.max(1)))),
    })
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
            .and_then(|seq| self.leave_ns.get(link_index::<N>(from, to))?.get(seq))
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

/// The link delay to replay `run` with when none is asked for: the
/// simulator's own for a simulated run, else [`NET_LATENCY_NS`].
pub fn default_latency(p: &Params) -> u64 {
    p.latency_ns.unwrap_or(NET_LATENCY_NS)
}

/// A loopback link's delay on the network, as the replay assumes it: about
/// what a `Clock` frame takes from the sender's write to the receiver's read
/// on an idle host (tens of microseconds).
pub const NET_LATENCY_NS: u64 = 50_000;
