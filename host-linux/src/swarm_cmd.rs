//! `scalemodel swarm`: many simulated runs with random parameters and random
//! faults, each checked against every invariant; a failure prints the one
//! command that replays it.
//!
//! Case `i` of a swarm with seed `S` has seed `S + i`; its parameters and
//! faults are drawn from that seed alone (stream [`Stream::Swarm`]), so a case
//! is the same whichever shard or worker runs it.

use std::any::Any;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use scalemodel_core::End;
use scalemodel_core::fault::{Fault, Faults};
use scalemodel_core::node::CloseReason;
use scalemodel_core::rng::{self, JumpTable, Stream, Streams};
use scalemodel_core::sim::{Config, Report, Sim, Standard};
use scalemodel_core::{MACHINES_MAX, MachineId, Topology};
use scalemodel_mio::in_place::{SimWidth, Width};

use crate::analysis::carried_vector;
use crate::analysis::causality::Causal;
use crate::check::Checker;
use crate::cli::{Shard, SwarmArgs, SwarmCommand, SwarmSubcommand};
use crate::outln;
use crate::rundir::{FaultSummary, Params};
use rows::CaseRows;
use summary::{FAILURES_KEPT, Failure, Summary, Swarm, Wall};

pub mod merge;
mod rows;
pub mod summary;
use crate::cli::ClockArg;
use crate::sim_cmd::{Caps, SimJob, SimStamp, WIDE, built, replay, with_clock};

/// The small capacities a case picks from, so that every bound is hit.
const INBOX_CAPS: [usize; 3] = [4, 16, 64];
/// See [`INBOX_CAPS`].
const LINK_CAPS: [usize; 3] = [2, 8, 16];
/// Cases a worker takes at a time: few enough that the workers end
/// together, enough that taking them costs nothing.
const CASES_PER_BATCH: u64 = 16;
/// Each worker's stack: room for a simulator of the capacities above.
const WORKER_STACK_BYTES: usize = 16 << 20;

/// The invariants every case is checked against, in words.
pub const INVARIANTS: &[&str] = &[
    "no panic, and the run ends within its step bound",
    "the logs obey the model: clock rules (a carried clock's too), every receive matches its send, FIFO per link, no tick early",
    "under --clock vector, every logged vector is happened-before's, rebuilt from the logs, and each receive's message vector is its send's",
    "every link balances: sent = received + queued + in flight + lost + inferred",
    "completed means it: every tick ran, never more than one tick behind or at most one tick in a hundred late, never stalled, nothing lost on its way to it",
    "a link that lost messages has at least one end that does not say completed",
    "a machine ends crashed exactly when a crash fault hit it",
    "without faults, nothing is lost and no machine ends peer lost, interrupted or crashed",
    "no Bye miscount and no seq gap or duplicate, fault or not",
    "each link ends cleanly unless a fault acted on one of its ends, or a pause or partition anywhere (a stall carries it on); with a protocol error only where garbage went on it",
    "no node's event queue overflowed",
];

/// One case: a run's parameters, capacities and faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The run.
    pub config: Config<WIDE>,
    /// Its queue capacities.
    pub caps: Caps,
    /// Its faults.
    pub faults: Faults,
    /// The clock its machines carry beside Lamport's.
    pub clock: ClockArg,
}

impl Case {
    /// The command that replays this case.
    pub fn replay(&self) -> String {
        let line = replay(&self.config, self.caps.inbox, self.caps.link, &self.faults);
        match self.clock {
            ClockArg::Lamport => line,
            clock => format!("{line} --clock {}", clock.name()),
        }
    }
}

/// What every case of a swarm runs: its number of machines and topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Machines, 3 to 16.
    pub machines: u8,
    /// Who sends to whom.
    pub topology: Topology,
    /// The clock the machines carry beside Lamport's (`--clock`): an HLC's
    /// cases run at the default capacities, the only ones it is built for.
    pub clock: ClockArg,
}

impl Shape {
    /// The exercise's: three machines, each sending to any other, with
    /// Lamport's clock alone.
    pub const THREE: Self = Self {
        machines: 3,
        topology: Topology::All,
        clock: ClockArg::Lamport,
    };
}

/// Case `index` of the swarm with seed `swarm_seed` of three machines under
/// `all`.
pub fn case(swarm_seed: u64, index: u64) -> Case {
    case_of(swarm_seed, index, Shape::THREE)
}

/// Case `index` of the swarm with seed `swarm_seed` whose cases are `shape`.
pub fn case_of(swarm_seed: u64, index: u64, shape: Shape) -> Case {
    let seed = swarm_seed.wrapping_add(index);
    case_drawn(
        seed,
        rng::stream(seed, shape.machines, Stream::Swarm),
        shape,
    )
}

/// The case with `seed` of `shape`, drawn from `draw`, its
/// [`Stream::Swarm`]; three machines under `all` draw as they did before
/// the swarm took other shapes.
fn case_drawn(seed: u64, mut draw: rng::ModelRng, shape: Shape) -> Case {
    let n = shape.machines;
    let mut pick = |lo: u64, hi: u64| rng::uniform(&mut draw, lo..=hi);
    let mut rates = [0; WIDE];
    for rate in rates.iter_mut().take(usize::from(n)) {
        *rate = pick(1, 12) as u32;
    }
    let mut config = Config::new(seed, rates);
    config.machines = n;
    config.topology = shape.topology;
    // A die of n + 1 to n + 9 faces: 4 to 12 for three machines.
    config.sides = pick(u64::from(n) + 1, u64::from(n) + 9) as u8;
    let duration_s = pick(1, 20);
    config.duration_ns = duration_s * 1_000_000_000;
    config.speed = [1, 1, 2, 4, 10][pick(0, 4) as usize];
    config.latency_ns = pick(0, 2_000_000);
    config.jitter_ns = [0, pick(0, 100_000_000)][pick(0, 1) as usize];
    config.start_ns = pick(0, 1 << 62);
    let caps = Caps {
        inbox: INBOX_CAPS[pick(0, 2) as usize],
        link: LINK_CAPS[pick(0, 2) as usize],
    };
    // Drawn all the same, so that the rest of the case is the Lamport
    // swarm's case of this seed.
    let caps = match shape.clock {
        ClockArg::Lamport => caps,
        _ => Caps::DEFAULT,
    };
    let mut faults = Faults::none();
    // A quarter of the cases run without faults.
    let count = [0, pick(1, 3)][usize::from(pick(0, 3) > 0)];
    let duration_ms = duration_s * 1_000;
    for _ in 0..count {
        let machine = MachineId::all(n)
            .nth(pick(0, u64::from(n) - 1) as usize)
            .unwrap_or(MachineId::ZERO);
        let other = machine.plus(1 + pick(0, u64::from(n) - 2) as u8, n);
        let at_ns = pick(0, duration_ms - 1) * 1_000_000;
        let until_ns = at_ns + pick(1, duration_ms / 2 + 1) * 1_000_000;
        let fault = match pick(0, 4) {
            0 => Fault::Crash { machine, at_ns },
            1 => Fault::Stop { machine, at_ns },
            2 => Fault::Pause {
                machine,
                from_ns: at_ns,
                until_ns,
            },
            3 => Fault::Partition {
                a: machine,
                b: other,
                from_ns: at_ns,
                until_ns,
            },
            _ => Fault::Garbage {
                from: machine,
                to: other,
                at_ns,
            },
        };
        // At most 3 faults, far below the bound: the push cannot fail.
        if faults.push(fault).is_err() {
            break;
        }
    }
    Case {
        config,
        caps,
        faults,
        clock: shape.clock,
    }
}

/// What checking one case found: what it exercised (it passed) or what broke.
pub type Verdict = Result<Tally, String>;

/// What the cases exercised, so that a passing swarm shows it tested something.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Cases run.
    pub cases: u64,
    /// Log records checked.
    pub records: u64,
    /// Messages sent.
    pub messages: u64,
    /// Messages lost to faults.
    pub lost: u64,
    /// Of those, messages a receiver found waiting as it closed the link,
    /// and counted.
    pub dropped: u64,
    /// Faults that acted, by kind: crash, stop, pause, partition, garbage.
    pub faults: [u64; 5],
    /// Times an inbox filled, and times a sender stalled.
    pub held: u64,
    /// See `held`.
    pub stalls: u64,
    /// Machines by end: completed, stalled, overloaded, peer lost,
    /// interrupted, crashed.
    pub ends: [u64; 6],
}

impl Tally {
    /// The two tallies added up, or `None` when a figure passes `u64::MAX`.
    pub fn checked_add(&self, o: &Self) -> Option<Self> {
        let mut sum = Self {
            cases: self.cases.checked_add(o.cases)?,
            records: self.records.checked_add(o.records)?,
            messages: self.messages.checked_add(o.messages)?,
            lost: self.lost.checked_add(o.lost)?,
            dropped: self.dropped.checked_add(o.dropped)?,
            held: self.held.checked_add(o.held)?,
            stalls: self.stalls.checked_add(o.stalls)?,
            ..*self
        };
        for (a, b) in sum.faults.iter_mut().zip(o.faults) {
            *a = a.checked_add(b)?;
        }
        for (a, b) in sum.ends.iter_mut().zip(o.ends) {
            *a = a.checked_add(b)?;
        }
        Some(sum)
    }

    fn add(&mut self, o: &Self) {
        self.cases += o.cases;
        self.records += o.records;
        self.messages += o.messages;
        self.lost += o.lost;
        self.dropped += o.dropped;
        self.held += o.held;
        self.stalls += o.stalls;
        for (a, b) in self.faults.iter_mut().zip(o.faults) {
            *a += b;
        }
        for (a, b) in self.ends.iter_mut().zip(o.ends) {
            *a += b;
        }
    }

    fn of<const M: usize>(
        faults: &Faults,
        missed: &[bool],
        report: &Report<M>,
        records: u64,
    ) -> Self {
        let mut t = Self {
            cases: 1,
            records,
            ..Self::default()
        };
        for (f, &missed) in faults.as_slice().iter().zip(missed) {
            if !missed {
                let k = match f {
                    Fault::Crash { .. } => 0,
                    Fault::Stop { .. } => 1,
                    Fault::Pause { .. } => 2,
                    Fault::Partition { .. } => 3,
                    Fault::Garbage { .. } => 4,
                };
                t.faults[k] += 1;
            }
        }
        for l in report.links() {
            t.messages += l.sent;
            t.lost += l.lost;
        }
        for m in report.machines() {
            t.held += m.held;
            t.stalls += m.stalls;
            let k = match m.end() {
                Some(End::Completed) => 0,
                Some(End::Stalled) => 1,
                Some(End::Overloaded) => 2,
                Some(End::PeerLost) => 3,
                Some(End::Interrupted) => 4,
                _ => 5,
            };
            t.ends[k] += 1;
        }
        t
    }
}

/// What one worker keeps from case to case: a simulator per capacity pair,
/// reset for each case rather than built anew (with its three nodes, tens
/// of KiB to fill), the log rows' buffers, the checker's room, and the
/// table that makes each seed's random streams.
#[derive(Default)]
pub struct Worker {
    sims: HashMap<(usize, usize, usize, std::any::TypeId), Box<dyn Any>>,
    rows: CaseRows,
    checker: Checker,
    jumps: Box<JumpTable>,
}

/// Runs one case and checks every invariant.
pub fn check_case(case: &Case) -> Verdict {
    check_case_with(case, &mut Worker::default())
}

/// Runs one case with `worker`'s simulator and buffers and checks every
/// invariant.
pub fn check_case_with(case: &Case, worker: &mut Worker) -> Verdict {
    check_case_streams(case, &Streams::new(case.config.seed, 3), worker)
}

/// Case `index` of the swarm with seed `swarm_seed`, run with `worker` and
/// checked: [`case`] and [`check_case_with`] with the seed's streams made
/// once (the case is drawn from one of them, the simulator from the rest).
fn check_case_at(swarm_seed: u64, index: u64, shape: Shape, worker: &mut Worker) -> Verdict {
    let seed = swarm_seed.wrapping_add(index);
    let streams = Streams::with_table(seed, shape.machines, &worker.jumps);
    let case = case_drawn(seed, streams.get(Stream::Swarm), shape);
    check_case_streams(&case, &streams, worker)
}

/// [`check_case_with`], `streams` being `Streams::new` of the case's seed.
fn check_case_streams(case: &Case, streams: &Streams, worker: &mut Worker) -> Verdict {
    let job = CaseJob(case.clone(), streams, worker);
    let machines = case.config.machines;
    match catch_unwind(AssertUnwindSafe(|| {
        with_clock(case.clock, case.caps, machines, job)
    })) {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            Err(format!("panicked: {what}"))
        }
    }
}

struct CaseJob<'w>(Case, &'w Streams, &'w mut Worker);

impl SimJob for CaseJob<'_> {
    type Output = Verdict;

    fn run<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp>(
        self,
    ) -> Verdict
    where
        Width<M, C>: SimWidth,
    {
        let Case {
            config,
            caps,
            faults,
            clock,
        } = self.0;
        let config = config.to_width::<M>().map_err(|e| e.to_string())?;
        let streams = self.1;
        let Worker {
            sims,
            rows,
            checker,
            ..
        } = self.2;
        type Simulator<const I: usize, const L: usize, const M: usize, const C: usize, H> =
            Sim<I, L, Standard, M, C, H>;
        let sim = match sims
            .get_mut(&(INBOX, LINK, M, std::any::TypeId::of::<H>()))
            .and_then(|s| s.downcast_mut::<Simulator<INBOX, LINK, M, C, H>>())
        {
            Some(sim) => {
                sim.reset_with(config, faults, streams)
                    .map_err(|e| e.to_string())?;
                sim
            }
            None => {
                let sim =
                    built::<INBOX, LINK, M, C, H>(config, faults).map_err(|e| format!("{e:#}"))?;
                let slot = sims
                    .entry((INBOX, LINK, M, std::any::TypeId::of::<H>()))
                    .insert_entry(sim);
                slot.into_mut()
                    .downcast_mut::<Simulator<INBOX, LINK, M, C, H>>()
                    .ok_or("a worker's simulator is of another type (a bug)")?
            }
        };
        rows.clear(config.machines);
        let report = sim.run(rows).map_err(|e| e.to_string())?;
        let duration_s = config.duration_ns as f64 / 1e9;
        let mut params = Params::sim(&config, None, duration_s, caps.inbox, caps.link);
        params.summarise(&report);
        params.record_faults(sim.faults(), sim.missed_faults());
        params.clock = (clock != ClockArg::Lamport).then(|| clock.name().to_owned());
        let logs = rows.logs();
        if let Some(v) = checker.check_slices(&params, &logs).first() {
            return Err(v.to_string());
        }
        if clock == ClockArg::Vector {
            let mut wrong = Vec::new();
            carried_vector(&logs, &Causal::of(&logs), &mut wrong);
            if let Some((row, detail)) = wrong.first() {
                return Err(format!(
                    "{} line {}: {detail}",
                    crate::rundir::log_name(row.machine),
                    row.line
                ));
            }
        }
        let dropped: u64 = sim.nodes().iter().map(|n| n.dropped_events()).sum();
        if dropped > 0 {
            return Err(format!("{dropped} node events did not fit their queue"));
        }
        // Each node's report made once: why each link ended, and what a
        // receiver counted as it closed.
        let peers: Vec<_> = sim.nodes().iter().map(|n| n.report().peers).collect();
        let why: Vec<_> = peers.iter().map(|p| p.map(|p| p.lost)).collect();
        check_ends(sim.faults(), sim.missed_faults(), &report, &why)?;
        let records = rows.logs().iter().map(|r| r.len() as u64).sum();
        let mut tally = Tally::of(sim.faults(), sim.missed_faults(), &report, records);
        tally.dropped = peers.iter().flatten().map(|p| p.dropped).sum();
        Ok(tally)
    }
}

/// What the checker cannot see in `params.json`: a machine that never
/// ended, and why each link ended, against the faults that acted.
fn check_ends<const M: usize>(
    faults: &Faults,
    missed: &[bool],
    report: &Report<M>,
    why: &[[Option<CloseReason>; M]],
) -> Result<(), String> {
    for (id, m) in MachineId::all(MACHINES_MAX).zip(report.machines()) {
        if m.end().is_none() {
            return Err(format!("machine {id} never ended"));
        }
    }
    let acted = FaultSummary::acted(faults, missed);
    for (me, why) in MachineId::all(MACHINES_MAX).zip(why) {
        for (peer, &reason) in MachineId::all(MACHINES_MAX).zip(why).take(why.len()) {
            if peer == me || peer.index() >= report.machines().len() {
                continue;
            }
            if let Some(e) = link_end_unexplained(&acted, me.get(), peer.get(), reason) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Why machine `me`'s link to `peer` ended with `reason` (`None`: cleanly,
/// with `Bye` both ways) although no fault that `acted` explains it, if so.
fn link_end_unexplained(
    acted: &[FaultSummary],
    me: u8,
    peer: u8,
    reason: Option<CloseReason>,
) -> Option<String> {
    // Built only for a failure: formatting it for every link was a tenth of
    // what a case costs outside the simulator.
    let link = || format!("machine {me}'s link to {peer}");
    match reason {
        None => None,
        Some(CloseReason::Protocol(e)) => {
            let garbage = acted.iter().any(
                |f| matches!(*f, FaultSummary::Garbage { from, to, .. } if from == peer && to == me),
            );
            (!garbage).then(|| {
                format!(
                    "{} ended with a protocol error ({e}), but no garbage went on it",
                    link()
                )
            })
        }
        Some(r) => {
            // A machine frozen (or cut off) near the end can hold up the
            // others' `Bye`s through a stall: a pause or a partition
            // anywhere may explain it.
            let explains = |f: &FaultSummary| {
                f.touches(me)
                    || f.touches(peer)
                    || matches!(
                        f,
                        FaultSummary::Pause { .. } | FaultSummary::Partition { .. }
                    )
            };
            (!acted.iter().any(explains)).then(|| {
                format!("{} ended lost ({r}), but no fault acted on either end, nor a pause or partition anywhere", link())
            })
        }
    }
}

/// What one worker found over all the cases it ran.
#[derive(Default)]
struct Outcome {
    /// The tallies of the cases that passed.
    total: Tally,
    /// How many cases failed.
    failed: u64,
    /// The failed cases with the lowest numbers, and why: at least the
    /// first [`FAILURES_KEPT`], at most twice as many.
    failures: Vec<(u64, String)>,
    /// The slowest case and its time.
    slowest: (Duration, u64),
}

impl Outcome {
    /// Counts a failure, keeping the lowest-numbered ones.
    fn fail(&mut self, case: u64, why: String) {
        self.failed += 1;
        self.failures.push((case, why));
        if self.failures.len() >= 2 * FAILURES_KEPT {
            self.failures.sort();
            self.failures.truncate(FAILURES_KEPT);
        }
    }
}

/// Runs `scalemodel swarm`, or `swarm merge`.
pub fn command(args: &SwarmCommand) -> Result<()> {
    match (&args.subcommand, &args.run) {
        (Some(SwarmSubcommand::Merge(merge)), _) => merge::run(merge),
        (None, Some(run_args)) => run(run_args),
        // clap asks for `--seeds` when neither is given.
        (None, None) => bail!("`swarm` needs `--seeds N`, or `merge FILE...`"),
    }
}

/// Runs `scalemodel swarm` (not `merge`).
pub fn run(args: &SwarmArgs) -> Result<()> {
    if let Some(path) = &args.json {
        check_folder(path)?;
    }
    let seed = args.seed.unwrap_or_else(crate::cli::random_u64);
    let shape = Shape {
        machines: args.machines,
        topology: args.topology,
        clock: args.clock,
    };
    let Shard { index, count } = args.shard;
    // The shard's cases are dealt by number, never listed: a billion of
    // them would take 8 GB.
    let cases = args.shard.cases_of(args.seeds);
    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256);
    let of_shape = match shape {
        Shape::THREE => String::new(),
        Shape {
            machines,
            topology,
            clock,
        } => format!(
            ", {machines} machines, topology {topology}, clock {}",
            clock.name()
        ),
    };
    outln!(
        "swarm: seed {seed}, cases {cases} of {} (shard {index}/{count}){of_shape}, {workers} workers",
        args.seeds
    );
    let bar = indicatif::ProgressBar::new(cases);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} cases, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let next = AtomicU64::new(0);
    let started = Instant::now();
    let outcomes = std::thread::scope(|scope| -> Result<Vec<Outcome>> {
        let mut handles = Vec::new();
        for w in 0..workers {
            let work = || {
                let mut worker = Worker::default();
                let mut out = Outcome::default();
                // Seeds are taken a batch at a time and the results kept by
                // the worker until it ends: no shared lock per case.
                loop {
                    let first = next.fetch_add(CASES_PER_BATCH, Ordering::Relaxed);
                    if first >= cases {
                        return out;
                    }
                    let last = first.saturating_add(CASES_PER_BATCH).min(cases);
                    for n in first..last {
                        // The shard's n-th case (below `seeds`, so no overflow).
                        let i = (index - 1) + n * count;
                        let one = Instant::now();
                        let verdict = check_case_at(seed, i, shape, &mut worker);
                        let took = one.elapsed();
                        if took > out.slowest.0 {
                            out.slowest = (took, i);
                        }
                        match verdict {
                            Ok(t) => out.total.add(&t),
                            Err(why) => out.fail(i, why),
                        }
                    }
                    bar.inc(last - first);
                }
            };
            let handle = std::thread::Builder::new()
                .name(format!("swarm-{w}"))
                .stack_size(WORKER_STACK_BYTES)
                .spawn_scoped(scope, work)?;
            handles.push(handle);
        }
        let mut outcomes = Vec::new();
        for h in handles {
            match h.join() {
                Ok(out) => outcomes.push(out),
                Err(_) => bail!("a swarm worker panicked outside a case"),
            }
        }
        Ok(outcomes)
    })?;
    let mut failures = Vec::new();
    let mut failure_count = 0u64;
    let mut t = Tally::default();
    let (mut slow, mut slow_case) = (Duration::ZERO, 0u64);
    for out in outcomes {
        failures.extend(out.failures);
        failure_count += out.failed;
        t.add(&out.total);
        if out.slowest.0 > slow {
            (slow, slow_case) = out.slowest;
        }
    }
    bar.finish_and_clear();
    let wall = Wall {
        shard: args.shard.into(),
        workers: workers as u64,
        seconds: started.elapsed().as_secs_f64(),
        slowest_case: slow_case,
        slowest_case_seconds: slow.as_secs_f64(),
    };
    failures.sort();
    failures.truncate(FAILURES_KEPT);
    let failures = failures
        .into_iter()
        .map(|(i, message)| Failure {
            case: i,
            message,
            replay: case_of(seed, i, shape).replay(),
        })
        .collect();
    let summary = Summary::new(
        Swarm {
            seed,
            seeds: args.seeds,
            shape,
        },
        args.shard,
        &t,
        failure_count,
        failures,
        vec![wall],
    );
    summary.print();
    if let Some(path) = &args.json {
        summary.write(path)?;
        outln!("wrote {}", path.display());
    }
    summary.verdict()
}

/// Refuses a `--json` file whose folder does not exist: found before
/// minutes of cases, not after.
fn check_folder(path: &Path) -> Result<()> {
    let folder = summary::folder_of(path);
    if !folder.is_dir() {
        bail!(
            "--json {}: the folder {} does not exist",
            path.display(),
            folder.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalemodel_core::node::ProtocolError;

    #[test]
    fn a_worker_keeps_its_lowest_failures_and_counts_the_rest() {
        let mut out = Outcome::default();
        for case in (0..5 * FAILURES_KEPT as u64).rev() {
            out.fail(case, String::new());
            assert!(out.failures.len() < 2 * FAILURES_KEPT);
        }
        out.failures.sort();
        let kept: Vec<u64> = out
            .failures
            .iter()
            .map(|f| f.0)
            .take(FAILURES_KEPT)
            .collect();
        assert_eq!(kept, (0..FAILURES_KEPT as u64).collect::<Vec<_>>());
        assert_eq!(out.failed, 5 * FAILURES_KEPT as u64);
    }

    #[test]
    fn a_link_end_needs_a_fault_that_explains_it() {
        let crash_2 = FaultSummary::Crash {
            machine: 2,
            at_ns: Some(1),
        };
        let garbage = FaultSummary::Garbage {
            from: 1,
            to: 0,
            at_ns: 1,
        };
        let protocol = Some(CloseReason::Protocol(ProtocolError::BadProof));
        assert_eq!(link_end_unexplained(&[], 0, 1, None), None);
        assert!(link_end_unexplained(&[], 0, 1, Some(CloseReason::NoBye)).is_some());
        assert!(link_end_unexplained(&[crash_2], 0, 1, Some(CloseReason::Closed)).is_some());
        let pause_2 = FaultSummary::Pause {
            machine: 2,
            from_ns: 1,
            until_ns: 2,
        };
        assert_eq!(
            link_end_unexplained(&[pause_2], 0, 1, Some(CloseReason::NoBye)),
            None
        );
        assert_eq!(
            link_end_unexplained(&[crash_2], 0, 2, Some(CloseReason::Closed)),
            None
        );
        assert_eq!(link_end_unexplained(&[garbage], 0, 1, protocol), None);
        // Garbage the other way, or a crash, makes no protocol error here.
        assert!(link_end_unexplained(&[garbage], 1, 0, protocol).is_some());
        assert!(link_end_unexplained(&[crash_2], 0, 2, protocol).is_some());
    }
}
