//! The network rows: scalemodel's run at speed 1, the Python solution and
//! the bare timer loop, all three at the same time on the same machine,
//! each measured the same way: lateness and rate error from every tick's
//! due and actual time; CPU per tick from each process's own CPU clock,
//! both from its first tick to its end (the steady state, judged against
//! the goal; the bare loop measured the same way) and over the whole
//! process (set-up included); peak RSS from each process's high-water
//! mark; start-up both from each process's start to its first tick and from
//! the command's launch to the first tick of any machine.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::net::{self, Baseline, Trial, TrialFigures};
use super::python;
use super::table::{Goal, Table, Unit};
use crate::outln;
use crate::timing::Timing;

/// The rates of every network run the bench makes: the exercise's spread,
/// with the fastest machine at the default range's top.
pub const RATES: &str = "2,4,6";

/// The network run, its floor and the Python solution beside it.
#[derive(Debug, Clone, Serialize)]
pub struct SideBySide {
    /// scalemodel's command.
    pub command: String,
    /// The bare timer loop at the fastest rate, run at the same time.
    pub baseline: Baseline,
    /// scalemodel's trial.
    pub scalemodel: TrialFigures,
    /// From `run`'s launch to the first tick of any machine, ms.
    pub scalemodel_launch_to_first_tick_ms: Option<f64>,
    /// The Python solution's figures, if it ran.
    pub python: Option<python::Figures>,
    /// From `python3`'s launch to the first tick of any machine, ms.
    pub python_launch_to_first_tick_ms: Option<f64>,
}

fn ms_between(from_ns: u64, to_ns: Option<u64>) -> Option<f64> {
    to_ns.map(|t| (t as f64 - from_ns as f64) / 1e6)
}

/// Runs the three side by side for `duration_s` seconds in `dir` and adds
/// their rows to `table`.
pub fn run(
    dir: &Path,
    seed: u64,
    duration_s: f64,
    with_python: bool,
    table: &mut Table,
) -> Result<SideBySide> {
    let trial = Trial {
        seed,
        rates: RATES.to_owned(),
        speed: 1,
        duration_s,
        spin: "auto".to_owned(),
    };
    let fastest = trial.fastest_per_s().context("the bench's rates")?;
    outln!(
        "bench: the network for {duration_s} s: {}, beside a bare timerfd loop at {fastest}/s{}",
        trial.command(),
        if with_python {
            " and the Python solution"
        } else {
            ""
        }
    );
    let base = net::baseline_beside(fastest, trial.wall());
    let run = trial.start(
        crate::procinfo::scalemodel_command(),
        &dir.join("net"),
        &dir.join("net.out"),
    )?;
    let py = if with_python {
        Some(python::start(dir, duration_s, RATES, seed)?)
    } else {
        None
    };
    let run_launched = run.launched_unix_ns;
    let py_launched = py.as_ref().map(|p| p.launched_unix_ns);
    let status = run.wait()?;
    // Python's failure costs its column, not the bench (a stop ends both).
    let py = match py.map(python::finish).transpose() {
        Ok(py) => py,
        Err(e) if super::child::is_interrupted(&e) => return Err(e),
        Err(e) => {
            let why = format!("the Python column is empty: {e:#}");
            outln!("bench: {why}");
            table.notes.push(why);
            None
        }
    };
    let baseline = net::join_baseline(base)?;
    let trial_dir = dir.join("net").join("trial-1");
    let sm = net::read_trial(&trial_dir).with_context(|| {
        format!(
            "`{}` ended with {status} and left no trial to read (its output: {})",
            trial.command(),
            dir.join("net.out").display()
        )
    })?;
    let side = SideBySide {
        command: trial.command(),
        baseline,
        scalemodel_launch_to_first_tick_ms: ms_between(run_launched, sm.first_tick_unix_ns()),
        python_launch_to_first_tick_ms: py_launched.zip(py.as_ref()).and_then(|(at, f)| {
            ms_between(at, f.machines.iter().map(|m| m.first_tick_unix_ns).min())
        }),
        scalemodel: sm,
        python: py,
    };
    rows(&side, &trial, duration_s, seed, table);
    Ok(side)
}

/// A figure of a scalemodel machine's timing.
type OfTiming = fn(&Timing) -> f64;
/// The same figure of a Python machine.
type OfPython = fn(&python::Machine) -> f64;

/// The network rows of `side` in `table`.
fn rows(side: &SideBySide, trial: &Trial, duration_s: f64, seed: u64, table: &mut Table) {
    let run = table.command(trial.command());
    let py = side
        .python
        .as_ref()
        .map(|_| table.command(python::command(duration_s, RATES, seed)));
    let cmds = (run, py);
    let (sm, pf, b) = (&side.scalemodel, side.python.as_ref(), &side.baseline);
    let fig = |what: &str| format!("network, speed 1, rates {RATES}, {duration_s} s: {what}");

    table.pair(
        &fig("rate error, worst machine"),
        Unit::Percent,
        (
            sm.worst(|t| t.rate_error_pct),
            pf.and_then(|f| f.worst(|m| m.rate_error_pct)),
        ),
        Some(Goal::AtMost(0.001)),
        cmds,
    );
    let late: [(&str, OfTiming, OfPython); 3] = [
        ("p50", |t| t.late_p50_us, |m| m.late_p50_us),
        ("p99", |t| t.late_p99_us, |m| m.late_p99_us),
        ("max", |t| t.late_max_us, |m| m.late_max_us),
    ];
    for (name, of_timing, of_python) in late {
        table.pair(
            &fig(&format!("tick lateness {name}, worst machine")),
            Unit::Micros,
            (sm.worst(of_timing), pf.and_then(|f| f.worst(of_python))),
            None,
            cmds,
        );
    }
    let bare = table.command(format!(
        "cargo run --release -p scalemodel --example timer_baseline -- --rate {} --duration {duration_s}",
        b.rate
    ));
    for (name, v) in [
        ("p50", b.late.p50_us),
        ("p99", b.late.p99_us),
        ("max", b.late.max_us),
    ] {
        let figure = format!(
            "bare timerfd loop at {}/s, at the same time: lateness {name}",
            b.rate
        );
        table.row(&figure, Unit::Micros, Some(v), None, bare);
    }
    let floor = b.late.p99_us.max(1e-3);
    table.pair(
        &fig("lateness p99 ÷ the bare loop's p99, worst machine"),
        Unit::Ratio,
        (
            sm.worst(|t| t.late_p99_us).map(|v| v / floor),
            pf.and_then(|f| f.worst(|m| m.late_p99_us))
                .map(|v| v / floor),
        ),
        None,
        cmds,
    );
    let fastest_sm = sm.machines.iter().max_by_key(|m| m.rate);
    let fastest_py = pf.and_then(|f| f.machines.iter().max_by_key(|m| m.rate));
    // The goal's comparison is like for like: the machine that ticks at the
    // bare loop's rate, over as many ticks. The worst machine's p99 above
    // is the largest of three estimates, one of them the second-largest of
    // 120 ticks (rate 2), against the bare loop's single estimate over 360.
    table.pair(
        &fig(&format!(
            "lateness p99 ÷ the bare loop's p99, the machine at rate {} (the bare loop's rate)",
            b.rate
        )),
        Unit::Ratio,
        (
            fastest_sm
                .filter(|m| f64::from(m.rate) == b.rate)
                .and_then(|m| m.timing.as_ref())
                .map(|t| t.late_p99_us / floor),
            fastest_py
                .filter(|m| f64::from(m.rate) == b.rate)
                .map(|m| m.late_p99_us / floor),
        ),
        Some(Goal::AtMost(0.5)),
        cmds,
    );
    // The goal is the steady state's: what each tick costs once the run
    // goes. The whole process's figure, set-up included, stays beside it
    // (a 60-s run at rate 6 has 360 ticks, so the set-up weighs on it).
    table.pair(
        &fig("CPU per tick, the machine at rate 6, from its first tick to its end"),
        Unit::Micros,
        (fastest_sm.and_then(|m| m.ticking_cpu_us_per_tick), None),
        Some(Goal::AtMost(30.0)),
        cmds,
    );
    table.row(
        &format!(
            "bare timerfd loop at {}/s: CPU per wake-up, from its first wake-up to its last",
            b.rate
        ),
        Unit::Micros,
        b.ticking_cpu_us_per_tick,
        None,
        bare,
    );
    table.pair(
        &fig("CPU per tick, the machine at rate 6 (its process, set-up included)"),
        Unit::Micros,
        (
            fastest_sm.and_then(|m| m.cpu_us_per_tick),
            fastest_py.map(|m| m.cpu_us_per_tick),
        ),
        None,
        cmds,
    );
    table.row(
        &format!(
            "bare timerfd loop at {}/s: CPU per wake-up, set-up included",
            b.rate
        ),
        Unit::Micros,
        Some(b.cpu_us_per_tick),
        None,
        bare,
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    table.pair(
        &fig("peak RSS per process, the largest"),
        Unit::Mebibytes,
        (
            sm.machines
                .iter()
                .filter_map(|m| m.peak_rss_kib)
                .max()
                .map(mib),
            pf.and_then(|f| f.machines.iter().map(|m| m.peak_rss_kib).max())
                .map(mib),
        ),
        Some(Goal::AtMost(3.0)),
        cmds,
    );
    let py_start_up = pf.and_then(|f| {
        f.machines
            .iter()
            .map(|m| (m.first_tick_unix_ns as f64 - m.started_unix_ns as f64) / 1e6)
            .max_by(f64::total_cmp)
    });
    table.pair(
        &fig("start-up, a machine's process start to its first tick, the slowest"),
        Unit::Millis,
        (
            sm.machines
                .iter()
                .filter_map(|m| m.first_tick_ms)
                .max_by(f64::total_cmp),
            py_start_up,
        ),
        Some(Goal::AtMost(100.0)),
        cmds,
    );
    table.pair(
        &fig("start-up, the command's launch to the first tick"),
        Unit::Millis,
        (
            side.scalemodel_launch_to_first_tick_ms,
            side.python_launch_to_first_tick_ms,
        ),
        None,
        cmds,
    );
}
