//! `scalemodel-analysis`: the figures that answer the exercise's questions,
//! measured from a run's logs: clock jumps, drift between machines, inbox
//! growth, and a queueing estimate to hold the growth against; the
//! [`staleness`](mod@staleness) the topology study compares; the
//! [`causality`] of its events (vector clocks rebuilt from the logs); with
//! [`timing`](mod@timing) (rate error and tick lateness) and [`stats`] (the statistics
//! the evidence rests on).
//!
//! Depends on `scalemodel-core`, `scalemodel-rundir` and
//! `scalemodel-check` (a run's violations are part of its analysis); it
//! draws nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::causality::{Causal, Pairs};
use crate::hlc::HlcFigures;
use crate::timing::{Timing, percentile, timing};
use scalemodel_check::{self as check, Violations};
use scalemodel_rundir::{Kind, Row, Run, Topology, is_model_link};

pub mod causality;
pub mod hlc;
pub mod staleness;
pub mod stats;
pub mod timing;

/// Points per series in the time-based figures and plots.
pub const SAMPLES: usize = 600;

/// The sizes of a machine's clock changes, one per event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Jumps {
    /// Mean change per event.
    pub mean: f64,
    /// 99th percentile change.
    pub p99: u64,
    /// Largest change.
    pub max: u64,
    /// Events that moved the clock by more than 1: the jumps.
    pub jumps: u64,
    /// Mean size of those jumps.
    pub mean_jump: f64,
    /// How many events changed the clock by each size.
    pub histogram: BTreeMap<u64, u64>,
}

/// How far a machine's clock trails the fastest machine's at the same model
/// time. When several machines share the highest rate, the gap at each time
/// is to whichever of their clocks is ahead then: trailing one tied machine
/// while leading the other would read as a negative gap to "the fastest".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// The machine compared against: the highest rate, lowest id on a tie
    /// (then the gap is to the furthest ahead of the tied, see [`Drift`]).
    pub against: u8,
    /// Mean gap, in clock units.
    pub mean: f64,
    /// Largest gap.
    pub max: i64,
    /// Least-squares slope of the gap, in clock units per model second.
    pub trend_per_s: f64,
}

/// A machine's inbox over the run (its length after each event).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Queue {
    /// Mean length.
    pub mean: f64,
    /// 99th percentile length.
    pub p99: u64,
    /// Longest.
    pub max: u64,
    /// Least-squares growth, in messages per model second.
    pub growth_per_s: f64,
}

/// The model's arithmetic for one machine's inbox.
///
/// A machine with rate `r` takes one message per tick when it has one; each
/// tick without one sends to each peer with probability `2 / sides`: with
/// three machines, face 3 and one of 1 or 2; with `n` machines and the die
/// of docs/MACHINES.md (topology `all`), face `n` (every other machine) and
/// the one face of `1..=n-1` that names that peer. So a machine's free ticks
/// per second are `f = max(0, r - arrivals)` and its arrivals are
/// `2 / sides` times the sum of every other machine's free ticks: a fixed
/// point, solved by iteration. Under `ring` a machine's arrivals are
/// `n / sides` of the previous machine's free ticks, under `leader` `n /
/// sides` of machine 0's (none for machine 0): every send face sends one
/// message on each of the sender's links ([`arrivals_in`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Messages expected to arrive per model second.
    pub arrivals_per_s: f64,
    /// Messages it can take per model second: its rate.
    pub service_per_s: f64,
    /// `arrivals ÷ service`: above 1 the inbox grows for good.
    pub load: f64,
    /// `max(0, arrivals - service)`: the inbox growth the model predicts.
    pub predicted_growth_per_s: f64,
    /// The growth measured in the run.
    pub measured_growth_per_s: f64,
}

/// Everything measured for one machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MachineFigures {
    /// Its id.
    pub id: u8,
    /// Ticks per model second.
    pub rate: u32,
    /// Ticks logged.
    pub ticks: u64,
    /// Receive events.
    pub receives: u64,
    /// Send events.
    pub sends: u64,
    /// Internal events.
    pub internals: u64,
    /// The clock after its last event.
    pub final_clock: u64,
    /// Its clock's changes.
    pub jumps: Jumps,
    /// Its gap to the fastest machine.
    pub drift: Drift,
    /// Its inbox.
    pub queue: Queue,
    /// The queueing estimate.
    pub estimate: Estimate,
    /// Timing figures (network runs).
    pub timing: Option<Timing>,
    /// Its timestamps against true time.
    pub clock_error: ClockError,
}

/// How far a machine's timestamps (`system_ns`) are from true time, the
/// time its tick was due (`start_ns + model_ns / speed`): a late tick on
/// the network, a skewed clock under `sim --skew`, 0 in a simulator whose
/// clocks are true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ClockError {
    /// At its first event, in ns.
    pub first_ns: i64,
    /// At its last event, in ns.
    pub last_ns: i64,
    /// The largest, either way, in ns.
    pub max_abs_ns: u64,
}

/// The [`ClockError`] of one machine's `rows`.
pub fn clock_error(rows: &[Row], start_ns: u64, speed: u32) -> ClockError {
    let error = |r: &Row| {
        let due = scalemodel_core::due_ns(start_ns, r.model_ns, speed);
        let e = i128::from(r.system_ns) - i128::from(due);
        i64::try_from(e).unwrap_or(if e < 0 { i64::MIN } else { i64::MAX })
    };
    ClockError {
        first_ns: rows.first().map_or(0, error),
        last_ns: rows.last().map_or(0, error),
        max_abs_ns: rows
            .iter()
            .map(|r| error(r).unsigned_abs())
            .max()
            .unwrap_or(0),
    }
}

/// A run, analysed: read, checked against the model and measured.
#[derive(Debug)]
pub struct Analysis {
    /// The run directory.
    pub dir: PathBuf,
    /// The run as read.
    pub run: Run,
    /// Its broken rules.
    pub violations: Violations,
    /// Its figures.
    pub figures: Vec<MachineFigures>,
    /// Its cross-machine event pairs by causality (vector clocks rebuilt
    /// from the logs), Lamport's order and the timestamps; `None` when
    /// only its figures were measured ([`Analysis::measured`]).
    pub pairs: Option<Pairs>,
    /// The HLC replayed over its logs ([`hlc`](mod@hlc)): how far it ran
    /// ahead of physical time; `None` when only its figures were measured,
    /// or if the counter overflowed.
    pub hlc: Option<HlcFigures>,
}

impl Analysis {
    /// Checks and measures `run`, read from `dir`.
    pub fn of(dir: &Path, run: Run) -> Self {
        Self::measured(dir, run).with_causality()
    }

    /// This analysis with its pairs and its HLC, as [`Analysis::of`] gives.
    /// A run that carried an HLC (`--clock hlc`) is held to its replay,
    /// and one that carried a vector clock (`--clock vector`) to the
    /// vectors rebuilt from its logs: each logged stamp must be the one
    /// they give, which a receive that logged a stamp its send did not
    /// carry breaks (the checker holds each line to the rules from the
    /// logged message stamp alone).
    pub fn with_causality(mut self) -> Self {
        let (logs, p) = (&self.run.logs, &self.run.params);
        let causal = Causal::of(logs);
        self.pairs = Some(causality::pairs(logs, &causal));
        let replay = hlc::Replay::of(logs, &causal).ok();
        self.hlc = replay
            .as_ref()
            .map(|r| hlc::figures(logs, r, p.start_ns, p.speed));
        let mut wrong = Vec::new();
        match p.clock.as_deref() {
            Some("hlc") => {
                if let Some(replay) = &replay {
                    carried_hlc(logs, &causal, replay, &mut wrong);
                }
            }
            Some("vector") => carried_vector(logs, &causal, &mut wrong),
            _ => {}
        }
        for (row, detail) in wrong {
            self.violations.push(check::Violation {
                file: scalemodel_rundir::log_name(row.machine),
                line: Some(row.line),
                tick: Some(row.tick),
                rule: check::Rule::Clock,
                detail,
            });
        }
        self
    }

    /// Checks and measures `run` as [`Analysis::of`] does, without its
    /// pairs: the runs a study summarises by the thousand, whose pairs
    /// nothing reads.
    pub fn measured(dir: &Path, run: Run) -> Self {
        let violations = check::check_run(&run);
        let figures = measure(&run);
        Self {
            dir: dir.to_owned(),
            run,
            violations,
            figures,
            pairs: None,
            hlc: None,
        }
    }
}

/// The rows of a run that carried an HLC whose stamps are not the replay's,
/// or whose receive logged a message stamp its send did not carry.
fn carried_hlc<'r>(
    logs: &'r [Vec<Row>],
    causal: &Causal,
    replay: &hlc::Replay,
    wrong: &mut Vec<(&'r Row, String)>,
) {
    for (i, log) in logs.iter().enumerate() {
        for (k, (row, want)) in log.iter().zip(replay.machine(i)).enumerate() {
            let Some((own, msg)) = row.hlc else { continue };
            // A receive's message stamp is its send's.
            let sent = causal
                .source((i as u8, k as u32))
                .map(|from| replay.stamp(from));
            if own != *want {
                let detail = format!("HLC {own}, but the HLC replayed over the logs gives {want}");
                wrong.push((row, detail));
            } else if let (Kind::Receive, Some(msg), Some(sent)) = (row.kind, msg, sent)
                && msg != sent
            {
                let detail = format!("took a message stamped {msg}, but its send carried {sent}");
                wrong.push((row, detail));
            }
        }
    }
}

/// The rows of a run that carried a vector clock whose vector is not the
/// one rebuilt from the logs' sends and receives (happened-before itself),
/// or whose receive logged a message vector its send did not carry: with
/// the checker's rules on each line, this holds every receive to dominate
/// its send.
pub fn carried_vector<'r, L: AsRef<[Row]>>(
    logs: &'r [L],
    causal: &Causal,
    wrong: &mut Vec<(&'r Row, String)>,
) {
    let same = |carried: &[u32], rebuilt: &[u64]| {
        carried.len() == rebuilt.len()
            && carried
                .iter()
                .zip(rebuilt)
                .all(|(a, b)| u64::from(*a) == *b)
    };
    for (i, log) in logs.iter().enumerate() {
        for (k, row) in log.as_ref().iter().enumerate().take(causal.len(i)) {
            let Some((own, msg)) = &row.vc else { continue };
            // At most 256 machines, and a log's rows held in memory.
            let event = (i as u8, k as u32);
            let want = causal.clock(event);
            let sent = causal.source(event).map(|from| causal.clock(from));
            if !same(own, want) {
                let detail =
                    format!("vector {own:?}, but the logs' happened-before gives {want:?}");
                wrong.push((row, detail));
            } else if let (Kind::Receive, Some(msg), Some(sent)) = (row.kind, msg, sent)
                && !same(msg, sent)
            {
                let detail =
                    format!("took a message with vector {msg:?}, but its send carried {sent:?}");
                wrong.push((row, detail));
            }
        }
    }
}

/// The figures of every machine of a run (one per rate in `params.json`;
/// a machine without a log has no rows).
pub fn measure(run: &Run) -> Vec<MachineFigures> {
    let p = &run.params;
    let arrivals = arrivals_in(&p.rates, p.sides, p.topology);
    (0..p.n())
        .map(|id| {
            let rows = run.logs.get(id).map_or(&[][..], Vec::as_slice);
            let rate = p.rates[id];
            let count = |k| rows.iter().filter(|r| r.kind == k).count() as u64;
            let queue = queue(rows);
            MachineFigures {
                // At most 16 machines: the id fits a u8.
                id: id as u8,
                rate,
                ticks: rows.len() as u64,
                receives: count(Kind::Receive),
                sends: count(Kind::Send),
                internals: count(Kind::Internal),
                final_clock: rows.last().map_or(0, |r| r.clock),
                jumps: jumps(rows),
                drift: drift(run, id),
                estimate: Estimate {
                    arrivals_per_s: arrivals[id],
                    service_per_s: f64::from(rate),
                    load: arrivals[id] / f64::from(rate.max(1)),
                    predicted_growth_per_s: (arrivals[id] - f64::from(rate)).max(0.0),
                    measured_growth_per_s: queue.growth_per_s,
                },
                queue,
                timing: (p.mode == "net")
                    .then(|| timing(rows, rate, p.start_ns, p.speed))
                    .flatten(),
                clock_error: clock_error(rows, p.start_ns, p.speed),
            }
        })
        .collect()
}

/// A load within 10 % of 1: the critical case, where the estimate predicts
/// almost no growth but the inbox wanders up and down (a random walk), so
/// its measured growth over one run can be well above the prediction.
pub fn critical(load: f64) -> bool {
    (0.9..=1.1).contains(&load)
}

/// `0.83`, or `1.00, critical` for a load near 1 (see [`critical`]).
pub fn load_words(load: f64) -> String {
    if critical(load) {
        format!("{load:.2}, critical")
    } else {
        format!("{load:.2}")
    }
}

/// The machine with the highest rate (`rates` by id), lowest id on a tie;
/// 0 when there are none.
pub fn fastest(rates: &[u32]) -> usize {
    (0..rates.len()).fold(0, |best, i| if rates[i] > rates[best] { i } else { best })
}

/// Every machine with the highest rate, in id order.
pub fn fastest_all(rates: &[u32]) -> Vec<usize> {
    let top = rates.iter().copied().max().unwrap_or(0);
    (0..rates.len()).filter(|&i| rates[i] == top).collect()
}

/// What a drift is measured against, in words: `machine 2's, the fastest`,
/// or on a tie `the clock ahead of machines 0 and 2, tied fastest at 6
/// ticks/s` (`0, 2 and 4` for three).
pub fn drift_reference(rates: &[u32]) -> String {
    match fastest_all(rates).as_slice() {
        [] => "no machine's".to_owned(),
        [one] => format!("machine {one}'s, the fastest"),
        [rest @ .., last] => {
            let ids: Vec<String> = rest.iter().map(usize::to_string).collect();
            format!(
                "the clock ahead of machines {} and {last}, tied fastest at {} ticks/s",
                ids.join(", "),
                rates[*last]
            )
        }
    }
}

fn jumps(rows: &[Row]) -> Jumps {
    let mut prev = 0;
    let mut sizes: Vec<i64> = rows
        .iter()
        .map(|r| {
            let d = r.clock.saturating_sub(prev);
            prev = r.clock;
            saturating_i64(d)
        })
        .collect();
    let mut histogram = BTreeMap::new();
    for &s in &sizes {
        *histogram.entry(s as u64).or_insert(0) += 1;
    }
    let big: Vec<i64> = sizes.iter().copied().filter(|&s| s > 1).collect();
    let mean = |v: &[i64]| {
        if v.is_empty() {
            0.0
        } else {
            // In f64: the sizes of a forged log would overflow an i64 sum.
            v.iter().map(|&s| s as f64).sum::<f64>() / v.len() as f64
        }
    };
    let (m, mj) = (mean(&sizes), mean(&big));
    sizes.sort_unstable();
    Jumps {
        mean: m,
        p99: percentile(&sizes, 99.0) as u64,
        max: sizes.last().copied().unwrap_or(0) as u64,
        jumps: big.len() as u64,
        mean_jump: mj,
        histogram,
    }
}

/// The clock of a machine at model time `t`: after its last event at or before `t`.
pub fn clock_at(rows: &[Row], t: u64) -> u64 {
    let n = rows.partition_point(|r| r.model_ns <= t);
    if n == 0 { 0 } else { rows[n - 1].clock }
}

/// `SAMPLES` evenly spaced model times over `0..=end_ns`.
pub fn sample_times(end_ns: u64) -> impl Iterator<Item = u64> {
    (0..=SAMPLES).map(move |i| (end_ns as u128 * i as u128 / SAMPLES as u128) as u64)
}

/// A log ends early when its last event is more than two ticks before the
/// run's end: the machine stopped (a crash), not just between ticks.
pub fn ends_early(rows: &[Row], rate: u32, end_ns: u64) -> bool {
    let last = rows.last().map_or(0, |r| r.model_ns);
    let two_ticks = 2_000_000_000 / u64::from(rate.max(1));
    last.saturating_add(two_ticks) < end_ns
}

/// Where a log's series stop: its last event when it ends early, else the
/// run's end (or its last event, if later).
pub fn stop_ns(rows: &[Row], rate: u32, end_ns: u64) -> u64 {
    let last = rows.last().map_or(0, |r| r.model_ns);
    if ends_early(rows, rate, end_ns) {
        last
    } else {
        end_ns.max(last)
    }
}

/// How far machine `id`'s clock trails the fastest's, at [`SAMPLES`] model
/// times over the run and once more where it stops, as (model seconds,
/// clock units): what [`Drift`] sums up and the pictures draw. It stops
/// where either log ends early: past that, a clock only looks frozen.
pub fn drift_series(run: &Run, id: usize) -> Vec<(f64, f64)> {
    let p = &run.params;
    let end_ns = (p.duration_s.max(0.0) * 1e9) as u64;
    let fast = fastest_all(&p.rates);
    let log = |i: usize| run.logs.get(i).map_or(&[][..], Vec::as_slice);
    let rows = log(id);
    let stop = fast
        .iter()
        .map(|&f| stop_ns(log(f), p.rates[f], end_ns))
        .fold(stop_ns(rows, p.rates[id], end_ns), u64::min);
    let gap = |t| {
        let ahead = fast.iter().map(|&f| clock_at(log(f), t)).max();
        (
            t as f64 / 1e9,
            ahead.unwrap_or(0) as f64 - clock_at(rows, t) as f64,
        )
    };
    let mut points: Vec<(f64, f64)> = sample_times(end_ns)
        .take_while(|&t| t < stop)
        .map(gap)
        .collect();
    points.push(gap(stop));
    points
}

fn drift(run: &Run, id: usize) -> Drift {
    let points = drift_series(run, id);
    let against = fastest(&run.params.rates) as u8;
    let n = points.len().max(1) as f64;
    Drift {
        against,
        mean: points.iter().map(|p| p.1).sum::<f64>() / n,
        max: points.iter().map(|p| p.1 as i64).max().unwrap_or(0),
        trend_per_s: slope(&points),
    }
}

fn queue(rows: &[Row]) -> Queue {
    let points: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (r.model_ns as f64 / 1e9, r.queue_len as f64))
        .collect();
    let mut lens: Vec<i64> = rows.iter().map(|r| saturating_i64(r.queue_len)).collect();
    lens.sort_unstable();
    Queue {
        mean: lens.iter().map(|&l| l as f64).sum::<f64>() / lens.len().max(1) as f64,
        p99: percentile(&lens, 99.0) as u64,
        max: lens.last().copied().unwrap_or(0) as u64,
        growth_per_s: slope(&points),
    }
}

/// `v` as an i64, `i64::MAX` when larger: the percentiles work in i64.
fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The least-squares slope of `y` over `x`; 0 when `x` does not vary.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), p| {
        (a + (p.0 - mx) * (p.1 - my), b + (p.0 - mx) * (p.0 - mx))
    });
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

/// Each machine's expected arrivals per model second (`rates` by id), by
/// the fixed point of [`Estimate`]'s arithmetic, under the topology `all`.
pub fn arrivals(rates: &[u32], sides: u8) -> Vec<f64> {
    arrivals_in(rates, sides, Topology::All)
}

/// Each machine's expected arrivals per model second (`rates` by id) under
/// `topology`, by the fixed point of [`Estimate`]'s arithmetic.
pub fn arrivals_in(rates: &[u32], sides: u8, topology: Topology) -> Vec<f64> {
    let sides = f64::from(sides.max(1));
    let n = rates.len();
    // Messages a free tick of machine `j` sends machine `i`.
    let per_free_tick = |j: usize, i: usize| -> f64 {
        let link = u8::try_from(j)
            .ok()
            .zip(u8::try_from(i).ok())
            .is_some_and(|(j, i)| is_model_link(n, topology, j, i));
        match topology {
            _ if !link => 0.0,
            Topology::All => 2.0 / sides,
            Topology::Ring | Topology::Leader => n as f64 / sides,
        }
    };
    let rates: Vec<f64> = rates.iter().copied().map(f64::from).collect();
    let arrivals = |free: &[f64]| -> Vec<f64> {
        if topology == Topology::All {
            // Every other machine's free ticks, summed as before the
            // topologies, so that the figures stay the same to the bit.
            let total: f64 = free.iter().sum();
            return free.iter().map(|f| 2.0 / sides * (total - f)).collect();
        }
        (0..n)
            .map(|i| (0..n).map(|j| per_free_tick(j, i) * free[j]).sum())
            .collect()
    };
    let mut free = rates.clone();
    // Damped iteration: the plain one oscillates for a die of 4, the damped
    // one contracts by at least a quarter per round for `n` machines and any
    // die of `n + 1` or more (its rates of change, `(1 + p) / 2` and
    // `(1 - (n - 1) p) / 2` with `p = 2 / sides`, are at most 3/4 in size),
    // so 200 rounds settle it far below a message per year.
    for _ in 0..200 {
        let arrive = arrivals(&free);
        for (f, (r, a)) in free.iter_mut().zip(rates.iter().zip(&arrive)) {
            *f = 0.5 * (*f + (r - a).max(0.0));
        }
    }
    arrivals(&free)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_and_a_leader_send_on_their_links_alone() {
        // Ring of five at 6 ticks/s, a die of 12: a = 5/12 (6 - a).
        let a = arrivals_in(&[6; 5], 12, Topology::Ring);
        assert!(a.iter().all(|a| (a - 30.0 / 17.0).abs() < 1e-9), "{a:?}");
        // The leader never receives; the others take 5/12 of its 6 ticks.
        let a = arrivals_in(&[6; 5], 12, Topology::Leader);
        assert_eq!(a[0], 0.0);
        assert!(a[1..].iter().all(|a| (a - 2.5).abs() < 1e-9), "{a:?}");
    }

    #[test]
    fn the_slow_machine_gains_three_messages_a_second() {
        let a = arrivals(&[1, 6, 6], 4);
        assert!((a[0] - 4.0).abs() < 1e-9, "{a:?}");
        assert!((a[1] - 2.0).abs() < 1e-9, "{a:?}");
        // A die of 4 with equal rates: f = 6 - 0.5 * 2f, so f = 3 and 3 arrive.
        let a = arrivals(&[6, 6, 6], 4);
        assert!((a[0] - 3.0).abs() < 1e-9, "{a:?}");
        let a = arrivals(&[6, 6, 6], 10);
        // Balanced: f = 6 - 0.2 * 2f, so f = 30/7 and arrivals 12/7 each.
        assert!((a[0] - 12.0 / 7.0).abs() < 1e-9, "{a:?}");
    }

    #[test]
    fn the_critical_case_is_named_with_its_load() {
        // Rates 3, 3, 1 with a die of 10 load the slow machine to exactly
        // 1, where the prediction is 0 growth.
        let a = arrivals(&[3, 3, 1], 10);
        assert!((a[2] - 1.0).abs() < 1e-9, "{a:?}");
        assert_eq!(load_words(a[2]), "1.00, critical");
        assert_eq!(load_words(0.83), "0.83");
        assert_eq!(load_words(1.67), "1.67");
        assert!(critical(0.9) && critical(1.1) && !critical(1.11));
    }

    #[test]
    fn slopes_fit_lines() {
        let pts: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 * x as f64 + 1.0)).collect();
        assert!((slope(&pts) - 3.0).abs() < 1e-12);
        assert_eq!(slope(&[(1.0, 1.0)]), 0.0);
        assert_eq!(fastest(&[3, 6, 6]), 1);
        assert_eq!(fastest_all(&[6, 3, 6]), [0, 2]);
        assert_eq!(drift_reference(&[1, 6, 3]), "machine 1's, the fastest");
        assert_eq!(
            drift_reference(&[6, 3, 6]),
            "the clock ahead of machines 0 and 2, tied fastest at 6 ticks/s"
        );
        assert_eq!(
            drift_reference(&[6, 3, 6, 1, 6]),
            "the clock ahead of machines 0, 2 and 4, tied fastest at 6 ticks/s"
        );
        assert_eq!(fastest(&[1, 2, 3, 4, 9, 9, 2]), 4);
    }

    #[test]
    fn each_of_n_machines_receives_two_in_sides_of_every_other_free_tick() {
        // Sixteen equal rates with a die of 23 (n + 7): f = r - (2/23) 15 f,
        // so f = 23 r / 53, and each machine's arrivals are r - f.
        let a = arrivals(&[5; 16], 23);
        assert_eq!(a.len(), 16);
        let f = 23.0 * 5.0 / 53.0;
        assert!(a.iter().all(|x| (x - (5.0 - f)).abs() < 1e-9), "{a:?}");
        // The smallest die for five machines still settles.
        let a = arrivals(&[1, 6, 6, 6, 6], 6);
        assert!(a.iter().all(|x| x.is_finite()), "{a:?}");
        assert!(a[0] > 1.0, "the slow machine is overloaded: {a:?}");
    }
}
