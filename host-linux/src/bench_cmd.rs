//! `scalemodel bench`: one table of the whole system on this machine.
//!
//! Each row is a figure, the command behind it (any one reruns its rows
//! alone), and the goal of issue 18 beside it, met or missed by how much:
//!
//! - the simulator with no log and writing its CSV logs, and the swarm on
//!   every core, each run as its own `scalemodel` command, whose printed
//!   throughput is the figure;
//! - the streaming decoder, timed here over back-to-back `Clock` frames
//!   through the core's public API;
//! - a network run at speed 1 (rates 2,4,6) beside a bare timerfd loop
//!   ([`net`]) and the Python solution ([`python`]), all three at the same
//!   time, so that each suffers the same machine: rate error, tick lateness,
//!   CPU per tick, peak RSS, start-up;
//! - the highest exact speed ([`speed`]).
//!
//! Every process it starts has a time bound and is ended by its id past it
//! ([`child`]); everything is written into a temporary folder, removed at
//! the end, unless `--out` keeps it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::outln;

pub mod child;
pub mod net;
pub mod python;
mod side_by_side;
pub mod speed;
pub mod table;
pub mod throughput;

use table::{Goal, Table, Unit};

/// How much of everything to run: the default, or `--quick`.
#[derive(Debug, Clone)]
struct Plan {
    /// `sim --duration`, model seconds.
    sim_duration_s: u64,
    /// `swarm --seeds`.
    swarm_seeds: u64,
    /// Frames in the decoder's buffer, and passes over it.
    decoder_frames: u64,
    decoder_passes: u32,
    /// The network run's length, seconds at speed 1.
    net_duration_s: f64,
    /// The speed search.
    search: speed::Search,
}

impl Plan {
    fn new(args: &BenchArgs) -> Self {
        let (quick, seed) = (args.quick, args.seed);
        let rates = side_by_side::RATES.to_owned();
        if quick {
            Self {
                sim_duration_s: 3_600,
                swarm_seeds: 300,
                decoder_frames: 100_000,
                decoder_passes: 1,
                net_duration_s: args.duration.unwrap_or(3.0),
                search: speed::Search {
                    seed,
                    rates,
                    wall_s: 1.0,
                    // A probe lasts at least 500 model seconds at rate 2
                    // (`speed::min_model_s`): at 1,000× half a second.
                    speeds: vec![1, 1_000],
                    bisect_steps: 0,
                },
            }
        } else {
            Self {
                // A model week: long enough that start-up does not count.
                sim_duration_s: 604_800,
                swarm_seeds: 50_000,
                decoder_frames: 1_000_000,
                decoder_passes: 5,
                net_duration_s: args.duration.unwrap_or(60.0),
                search: speed::Search {
                    seed,
                    rates,
                    // Rate error is measured from the first and last tick,
                    // so a probe's wall time sets how much one late tick
                    // weighs: 10 s leaves 1 ms of slack at 0.01 %; below
                    // 100× the probe runs longer (`speed::min_model_s`).
                    wall_s: 10.0,
                    speeds: vec![1, 10, 100, 1_000, 10_000],
                    bisect_steps: 2,
                },
            }
        }
    }
}

/// Everything the bench measured: the table and the figures behind it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The table, as printed.
    pub table: Table,
    /// The decoder's figures.
    pub decoder: Option<throughput::DecoderSpeed>,
    /// The network run, the bare loop and the Python solution.
    pub network: Option<side_by_side::SideBySide>,
    /// Every probe of the speed search.
    pub speed_probes: Vec<speed::Probe>,
}

/// The machine's 1-minute load average, from `/proc/loadavg`.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Where the bench writes: `--out` (kept), or a temporary folder.
enum Work {
    Kept(PathBuf),
    Temporary(tempfile::TempDir),
}

impl Work {
    fn path(&self) -> &Path {
        match self {
            Self::Kept(p) => p,
            Self::Temporary(t) => t.path(),
        }
    }
}

/// Runs `scalemodel bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let plan = Plan::new(args);
    child::stop_on_signals()?;
    // Found wanting before minutes of measuring, not after.
    if let Some(path) = &args.json {
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !folder.is_dir() {
            anyhow::bail!(
                "--json {}: the folder {} does not exist",
                path.display(),
                folder.display()
            );
        }
    }
    let work = match &args.out {
        Some(dir) => {
            crate::rundir::create(dir)?;
            Work::Kept(dir.clone())
        }
        None => Work::Temporary(tempfile::tempdir().context("cannot make a temporary folder")?),
    };
    let dir = work.path();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_before = load_average();
    outln!(
        "bench: {} build, {cores} cores, load average {}{}; writing into {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        load_before.map_or_else(|| "unknown".to_owned(), |l| format!("{l:.2}")),
        if args.quick { ", --quick" } else { "" },
        dir.display()
    );
    let mut table = Table::default();
    let decoder = deterministic_rows(&plan, dir, cores, &mut table)?;
    let mut report = Report {
        table,
        decoder: Some(decoder),
        network: None,
        speed_probes: Vec::new(),
    };
    if args.skip_network {
        report
            .table
            .notes
            .push("--skip-network: no network run, no Python, no speed search".to_owned());
    } else {
        let python = if args.skip_python {
            report
                .table
                .notes
                .push("--skip-python: the Python column is empty".to_owned());
            false
        } else if let Some(version) = python::found() {
            outln!("bench: {version} found: the Python solution runs beside scalemodel");
            true
        } else {
            outln!("bench: python3 not found: the Python column is skipped");
            report
                .table
                .notes
                .push("python3 not found: the Python column is empty".to_owned());
            false
        };
        let side = side_by_side::run(
            dir,
            args.seed,
            plan.net_duration_s,
            python,
            &mut report.table,
        )?;
        // The long run is the search's first probe, at speed 1.
        let known = speed::Probe {
            speed: 1,
            command: side.command.clone(),
            inexact: speed::judge(&side.scalemodel, 1).err(),
        };
        report.network = Some(side);
        speed_rows(&plan, dir, args.out.is_some(), known, &mut report)?;
    }
    let load_after = load_average();
    report.table.machine = format!(
        "scalemodel {} ({} build) on {cores} cores; load average {} at the start, {} at the end",
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        load_before.map_or_else(|| "unknown".to_owned(), |l| format!("{l:.2}")),
        load_after.map_or_else(|| "unknown".to_owned(), |l| format!("{l:.2}")),
    );
    let md = report.table.markdown();
    outln!();
    outln!("{md}");
    let json = serde_json::to_string_pretty(&report).context("the bench's JSON")?;
    if args.out.is_some() {
        write(&dir.join("bench.md"), &md)?;
        write(&dir.join("bench.json"), &json)?;
        outln!("wrote {} and bench.json", dir.join("bench.md").display());
    }
    if let Some(path) = &args.json {
        write(path, &json)?;
        outln!("wrote {}", path.display());
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The simulator, the swarm and the decoder: their rows, and the decoder's figures.
fn deterministic_rows(
    plan: &Plan,
    dir: &Path,
    cores: usize,
    table: &mut Table,
) -> Result<throughput::DecoderSpeed> {
    let secs = plan.sim_duration_s.to_string();
    let no_log: Vec<String> = ["sim", "--duration", &secs, "--seed", "5", "--no-log"]
        .map(str::to_owned)
        .to_vec();
    let shown = format!("scalemodel {}", no_log.join(" "));
    outln!("bench: the simulator, no log: {shown}");
    let rate = throughput::sim(&no_log, &dir.join("sim-no-log.out"))?;
    let c = table.command(shown);
    let figure = "simulator, no log, one core: machine-ticks/s";
    table.row(
        figure,
        Unit::PerSecond,
        Some(rate),
        Some(Goal::AtLeast(50e6)),
        c,
    );

    let csv_dir = dir.join("sim-csv");
    let mut csv: Vec<String> = ["sim", "--duration", &secs, "--seed", "5", "--no-analyze"]
        .map(str::to_owned)
        .to_vec();
    let shown = format!("scalemodel {} --out DIR", csv.join(" "));
    csv.extend(["--out".to_owned(), csv_dir.display().to_string()]);
    outln!("bench: the simulator writing CSV: {shown}");
    let rate = throughput::sim(&csv, &dir.join("sim-csv.out"));
    // Hundreds of MB of logs: never kept, whatever happened.
    let _ = std::fs::remove_dir_all(&csv_dir);
    let c = table.command(shown);
    let figure = "simulator writing CSV to a file: events/s";
    table.row(
        figure,
        Unit::PerSecond,
        Some(rate?),
        Some(Goal::AtLeast(10e6)),
        c,
    );

    let seeds = plan.swarm_seeds.to_string();
    let swarm: Vec<String> = ["swarm", "--seeds", &seeds, "--seed", "2026"]
        .map(str::to_owned)
        .to_vec();
    let shown = format!("scalemodel {}", swarm.join(" "));
    outln!("bench: the swarm: {shown}");
    let rate = throughput::swarm(&swarm, &dir.join("swarm.out"))?;
    let c = table.command(shown);
    let figure = format!("swarm on all {cores} cores: cases/s");
    table.row(
        &figure,
        Unit::PerSecond,
        Some(rate),
        Some(Goal::AtLeast(50_000.0)),
        c,
    );

    outln!(
        "bench: the streaming decoder over {} Clock frames, best of {}",
        plan.decoder_frames,
        plan.decoder_passes
    );
    let d = throughput::decoder(plan.decoder_frames, plan.decoder_passes)?;
    let c = table.command("scalemodel bench --skip-network".to_owned());
    let figure = "streaming decoder, Clock frames in 4-KiB reads: frames/s";
    table.row(
        figure,
        Unit::PerSecond,
        Some(d.frames_per_s),
        Some(Goal::AtLeast(100e6)),
        c,
    );
    let figure = "streaming decoder: MB/s";
    table.row(figure, Unit::MegabytesPerSecond, Some(d.mb_per_s), None, c);
    Ok(d)
}

/// The search for the highest exact speed, and its row.
fn speed_rows(
    plan: &Plan,
    dir: &Path,
    keep: bool,
    known: speed::Probe,
    report: &mut Report,
) -> Result<()> {
    let s = &plan.search;
    outln!(
        "bench: the highest exact speed, rates {}: the run above at speed 1, then probes of {} s (at least {} model seconds) at speeds {:?}, then {} bisection steps",
        s.rates,
        s.wall_s,
        s.shortest_model_s(),
        s.speeds.get(1..).unwrap_or_default(),
        s.bisect_steps
    );
    let (best, probes) = s.run(dir, keep, vec![known], |p| match &p.inexact {
        None => outln!("bench:   speed {}: exact", p.speed),
        Some(why) => outln!("bench:   speed {}: not exact: {why}", p.speed),
    })?;
    let shown = match best.and_then(|b| probes.iter().find(|p| p.speed == b)) {
        Some(p) => p.command.clone(),
        None => format!(
            "scalemodel run --trials 1 --no-analyze --seed {} --rates {} --speed K --duration max({}×K, {})",
            s.seed,
            s.rates,
            s.wall_s,
            s.shortest_model_s()
        ),
    };
    let c = report.table.command(shown);
    let figure = format!(
        "highest exact speed, rates {} (rate error ≤ {} %, lateness p99 < a tenth of a period, rules kept, every end completed)",
        s.rates,
        speed::RATE_ERROR_PCT_MAX
    );
    report.table.row(
        &figure,
        Unit::Speed,
        best.map(f64::from),
        Some(Goal::AtLeast(10_000.0)),
        c,
    );
    // The goal on a busy machine: the speed at which the bare
    // loop's own lateness allows exactness (its p99 below a tenth of the
    // fastest machine's period).
    let fastest = s
        .rates
        .split(',')
        .filter_map(|r| r.trim().parse::<u32>().ok())
        .max()
        .unwrap_or(1);
    if let Some(side) = &report.network {
        let b = &side.baseline;
        let allowed = 1e6 / (10.0 * b.late.p99_us.max(1e-3) * f64::from(fastest));
        let c = report.table.command(format!(
            "cargo run --release -p scalemodel --example timer_baseline -- --rate {} --duration {}",
            b.rate, plan.net_duration_s
        ));
        report.table.row(
            &format!(
                "the speed the bare loop's own lateness allows (its p99 < a tenth of the period at rate {fastest})"
            ),
            Unit::Speed,
            Some(allowed),
            None,
            c,
        );
    }
    // The slowest inexact probe says what the speed above the best one broke.
    let first_broken = probes
        .iter()
        .filter_map(|p| p.inexact.as_ref().map(|why| (p.speed, why)))
        .min_by_key(|(speed, _)| *speed);
    if let Some((speed, why)) = first_broken {
        report
            .table
            .notes
            .push(format!("speed {speed} was not exact: {why}"));
    }
    report.speed_probes = probes;
    Ok(())
}
