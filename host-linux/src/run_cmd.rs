//! `scalemodel run`: the standard experiment, one `node` process per
//! machine (three by default, `--machines`) over TCP on loopback, trial
//! after trial.
//!
//! The launcher draws a fresh key for each trial and hands it to the nodes on
//! their stdin. Each node binds a free port and tells the launcher (see
//! [`crate::node_cmd`] for the protocol); the launcher hands every node the
//! machines' addresses, waits for the start barrier, hands them one start time,
//! and merges their summaries into `params.json`. Children never outlive the
//! launcher: each gets a parent-death signal, sees its stdin close when the
//! launcher goes, and is killed by its pid if it is still there when its
//! trial is given up.
//!
//! A node that dies during the run (killed, or exiting with an error) leaves
//! the others to finish at their rates (they end `peer lost`); the launcher
//! waits for them, cuts the dead machine's log back to its last whole line,
//! writes its summary from that log (ended `crashed`, with the cause), and the
//! trial's directory is complete. Its stderr reaches the user line by line,
//! and its last line is part of the cause. `run` then goes on with the next
//! trial and at the end exits with [`EXIT_MACHINE_DIED`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use scalemodel_core::MachineId;

use crate::analysis::Analysis;
use crate::analyze_cmd;
use crate::cli::RunArgs;
use crate::merge;
use crate::outln;
use crate::report::{self, set::Group, set::Set};
use crate::rundir::{self, FaultSummary, LinkSummary};
use crate::text::{count, signed};
use crate::timing::{Timing, timing};
use crate::{key, node_cmd, salvage};

mod nodes;

pub use nodes::Death;
use nodes::{Nodes, gather, start_margin};

/// Lines from the nodes waiting for the launcher, at most.
const LINES_MAX: usize = 1024;
/// How long a node may take, once its run has ended, to flush its log,
/// write its summary and exit; the wait after a trial's end is this plus
/// [`node_cmd::end_bound`], the node's own bound.
const EXIT_SLACK: Duration = Duration::from_secs(2);

/// `run`'s exit status when a machine died in a trial (its process was
/// killed, or exited with an error); 1 is any other failure, 2 a usage error.
pub const EXIT_MACHINE_DIED: u8 = 3;
/// `run`'s exit status when every trial ran whole and kept the rules, but a
/// machine did not complete one (`overloaded`, `stalled`, ...): its figures
/// are not the model's.
pub const EXIT_NOT_COMPLETED: u8 = 4;

/// `run` failed in a way that has its own exit status (`code`), which `main`
/// exits with.
#[derive(Debug, thiserror::Error)]
#[error("{text}")]
pub struct Failed {
    /// The exit status: [`EXIT_MACHINE_DIED`] or [`EXIT_NOT_COMPLETED`].
    pub code: u8,
    text: String,
}

/// Runs `scalemodel run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let model = &args.model;
    model.check().map_err(anyhow::Error::msg)?;
    if let Some(id) = args.mcu {
        if model.machines != 3 || model.clock != crate::cli::ClockArg::Lamport {
            bail!(
                "--mcu {id} needs a run of three machines with --clock lamport: the board's node"
            );
        }
        node_cmd::board::check(&args.firmware)?;
    }
    let seed = model.seed_or_random();
    outln!("seed {seed}");
    let out = match &model.out {
        Some(dir) => dir.clone(),
        None => rundir::default_out("run")?,
    };
    rundir::create(&out)?;
    outln!(
        "run: {} of {} s at speed {}, {}rates {}, die of {}, into {}",
        count(args.trials, "trial"),
        model.duration,
        model.speed,
        machines_text(model),
        model.rates,
        model.sides(),
        out.display()
    );
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let mut failures = Vec::new();
    let mut died = false;
    // Trials that ran whole but where a machine did not keep the model.
    let mut incomplete = Vec::new();
    let mut trials = Vec::new();
    // Each trial's directory, and whether it is complete.
    let mut written: Vec<(u32, bool)> = Vec::new();
    for k in 1..=args.trials {
        let trial_seed = seed.wrapping_add(u64::from(k - 1));
        let dir = out.join(format!("trial-{k}"));
        rundir::create(&dir)?;
        match run_trial(args, k, trial_seed, &dir, &interrupted) {
            Ok(trial) => {
                print_trial(&trial);
                if !args.no_analyze
                    && let Err(e) = report::write(&trial.analysis)
                {
                    failures.push(format!("trial {k}: no report: {e:#}"));
                }
                if !trial.analysis.violations.is_empty() {
                    failures.push(format!(
                        "trial {k} broke {} rules of the model",
                        trial.analysis.violations.total()
                    ));
                }
                for death in &trial.deaths {
                    died = true;
                    failures.push(format!("trial {k}: {death}"));
                }
                if trial.deaths.is_empty()
                    && let Some(ends) = rundir::not_completed(&trial.analysis.run.params)
                {
                    incomplete.push(format!("trial {k}: {ends}"));
                }
                written.push((k, true));
                trials.push(trial);
            }
            Err(e) => {
                died |= e.downcast_ref::<Death>().is_some() || e.downcast_ref::<Deaths>().is_some();
                failures.push(format!("trial {k}: {e:#}"));
                written.push((k, false));
            }
        }
        if interrupted.load(Ordering::SeqCst) {
            failures.push(format!("interrupted during trial {k}"));
            break;
        }
    }
    print_overall(&trials);
    print_written(&out, &written);
    if !args.no_analyze && !trials.is_empty() {
        match write_run_report(args, seed, &out, &trials) {
            Ok(()) => print_open(&out, &trials),
            Err(e) => failures.push(format!("no report across the trials: {e:#}")),
        }
    }
    if failures.is_empty() && incomplete.is_empty() {
        return Ok(());
    }
    let code = if died {
        EXIT_MACHINE_DIED
    } else if failures.is_empty() {
        EXIT_NOT_COMPLETED
    } else {
        bail!("{}", failures.join("; "));
    };
    failures.extend(incomplete);
    let text = failures.join("; ");
    let text = if code == EXIT_NOT_COMPLETED {
        format!("not every machine completed, so these trials are not the model's figures: {text}")
    } else {
        text
    };
    Err(Failed { code, text }.into())
}

/// `N machines, topology T, ` for a run other than three machines under
/// `all`, whose lines read as before the topologies.
fn machines_text(model: &crate::cli::ModelArgs) -> String {
    if model.machines == 3 && model.topology == rundir::Topology::All {
        String::new()
    } else {
        format!("{} machines, topology {}, ", model.machines, model.topology)
    }
}

/// What a run's report cannot answer, and the command that does.
pub const NEEDS_STUDY: &str = "A run answers how large the clock jumps are, on which machine, and how far the clocks drift, for its own configuration. What a smaller spread of rates and fewer internal events change, and how the slow inbox grows against the queueing estimate over many rates, need `scalemodel study`: it runs the exercise's configurations on the network, 5 trials of a minute each, and 1,000 times each in the simulator, and answers every question in words (see the README's first section).";

/// Writes the report across the run's trials into `out`.
fn write_run_report(args: &RunArgs, seed: u64, out: &Path, trials: &[Trial]) -> Result<()> {
    let model = &args.model;
    let group = Group::new("this run", model.rates.to_string(), model.sides());
    let rows = trials
        .iter()
        .map(|t| (&t.analysis, format!("trial-{}", t.k)))
        .collect();
    let name = out.file_name().map_or_else(
        || out.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let set = Set::of(format!("Run `{name}`"), vec![(group, rows)]);
    let intro = format!(
        "{} of {} s of model time on the network ({} over TCP on loopback) at speed {}, {}rates {}, a die of {} sides; trial k has seed {seed} + k − 1. Each trial's own report is in its folder. {NEEDS_STUDY}",
        count(trials.len() as u64, "trial"),
        model.duration,
        processes_text(model.machines),
        model.speed,
        machines_text(model),
        model.rates,
        model.sides(),
    );
    report::write_set(out, &set, &intro)?;
    Ok(())
}

/// The node processes of a run of `n` machines, in words.
fn processes_text(n: u8) -> String {
    if n == 3 {
        "three processes".to_owned()
    } else {
        format!("{n} processes")
    }
}

/// Ends the summary with the reports to open: the run's, then each trial's.
fn print_open(out: &Path, trials: &[Trial]) {
    outln!("open (each report.html has a report.md beside it):");
    outln!("  {}", out.join("report.html").display());
    for t in trials {
        outln!("  {}", t.analysis.dir.join("report.html").display());
    }
}

/// Says what was written: every trial's directory, or which are complete
/// and which are not (a trial that failed before its end has no `params.json`).
fn print_written(out: &Path, written: &[(u32, bool)]) {
    let names = |complete: bool| {
        written
            .iter()
            .filter(|&&(_, c)| c == complete)
            .map(|(k, _)| format!("trial-{k}"))
            .collect::<Vec<_>>()
    };
    let (complete, incomplete) = (names(true), names(false));
    if incomplete.is_empty() {
        outln!("wrote {}", out.display());
    } else if complete.is_empty() {
        outln!(
            "no trial completed in {}: {} failed before their summary was written",
            out.display(),
            incomplete.join(", ")
        );
    } else {
        outln!(
            "wrote {} ({}); {} failed before their summary was written",
            out.display(),
            complete.join(", "),
            incomplete.join(", ")
        );
    }
}

/// One trial's results.
struct Trial {
    k: u32,
    /// Its run directory, checked and measured.
    analysis: Analysis,
    timings: Vec<Option<Timing>>,
    /// The machines whose process died (their summaries rebuilt from their logs).
    deaths: Vec<Death>,
}

fn run_trial(
    args: &RunArgs,
    k: u32,
    seed: u64,
    dir: &Path,
    interrupted: &AtomicBool,
) -> Result<Trial> {
    let model = &args.model;
    // Bounded: a node that talks faster than the launcher reads waits on its pipe.
    let (tx, rx) = mpsc::sync_channel(LINES_MAX);
    let (mut nodes, key) = Nodes::spawn(args, seed, dir, &tx)?;
    drop(tx);
    let note = |i: usize, line: &str| eprintln!("  trial {k}, machine {i}: {line}");
    nodes
        .tell(&format!("key {}", key::to_hex(&key)))
        .map_err(|e| nodes.why_gone(e, &rx, &note))?;
    // `--connect-timeout` is at most a day: no overflow.
    let setup_deadline = Instant::now() + args.connect_timeout + Duration::from_secs(5);
    let addrs = gather(
        &rx,
        &mut nodes,
        "listening",
        setup_deadline,
        interrupted,
        &note,
    )?;
    let peers = format!("peers {}", addrs.join(" "));
    let asked = Instant::now();
    nodes
        .tell(&peers)
        .map_err(|e| nodes.why_gone(e, &rx, &note))?;
    gather(&rx, &mut nodes, "ready", setup_deadline, interrupted, &note)?;
    let margin = start_margin(asked.elapsed());
    let start = SystemTime::now() + margin;
    let start_ns = u64::try_from(start.duration_since(UNIX_EPOCH)?.as_nanos())?;
    let start_line = format!("start {start_ns}");
    nodes
        .tell(&start_line)
        .map_err(|e| nodes.why_gone(e, &rx, &note))?;

    let wall = Duration::from_secs_f64(model.duration / f64::from(model.speed));
    let bar = ProgressBar::new(wall.as_millis() as u64).with_style(
        ProgressStyle::with_template("trial {prefix} [{bar:40}] {elapsed_precise} / {msg}")?
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{k}/{}", args.trials));
    bar.set_message(format!("{:.1} s", wall.as_secs_f64()));
    let say = |i: usize, line: &str| above(&bar, format!("  trial {k}, machine {i}: {line}"));
    let began = Instant::now();
    let after_end = node_cmd::end_bound() + EXIT_SLACK;
    let deadline = began + margin + wall + after_end;
    let mut stopping = false;
    loop {
        for i in nodes.reap()? {
            if nodes.exits[i].is_some_and(|s| !s.success()) {
                above(
                    &bar,
                    format!("  trial {k}: machine {i} died; the others go on to the end"),
                );
            }
        }
        if nodes.all_exited() {
            break;
        }
        if Instant::now() >= deadline {
            bar.abandon();
            bail!(
                "the nodes did not finish within {after_end:?} of the end, their own bound: \
                 a node stuck outside its loop (stopped, or swapping)"
            );
        }
        if interrupted.load(Ordering::SeqCst) && !stopping {
            above(&bar, format!("trial {k}: interrupted; stopping the nodes"));
            nodes.stop();
            stopping = true;
        }
        // Wait for one line, then take all that are there, so that a chatty
        // node never waits on its pipe for long.
        let first = rx.recv_timeout(Duration::from_millis(100)).ok();
        for line in first.into_iter().chain(rx.try_iter()) {
            nodes.take(line, &say);
        }
        bar.set_position(began.elapsed().as_millis() as u64);
    }
    nodes.drain(&rx, &say);
    bar.finish_and_clear();
    let deaths: Vec<Death> = (0..nodes.exits.len())
        .filter_map(|i| nodes.death(i, ""))
        .collect();
    for death in &deaths {
        outln!("trial {k}: {death}");
    }
    let run_id = nodes.run_id;
    drop(nodes);
    let dead = Deaths(deaths);
    let analysis = match finish_trial(args, seed, run_id, start_ns, &addrs, dir, &dead, stopping) {
        Ok(done) => done,
        // Say who died first: it is what made the rest fail.
        Err(e) if !dead.0.is_empty() => return Err(e.context(dead)),
        Err(e) => return Err(e),
    };
    let run = &analysis.run;
    let timings = run
        .logs
        .iter()
        .zip(&run.params.rates)
        .map(|(log, &rate)| timing(log, rate, start_ns, model.speed))
        .collect();
    Ok(Trial {
        k,
        analysis,
        timings,
        deaths: dead.0,
    })
}

/// The machines that died in a trial.
#[derive(Debug)]
struct Deaths(Vec<Death>);

impl std::fmt::Display for Deaths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let deaths: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&deaths.join("; "))
    }
}

/// What acted on a trial from outside the model, as the launcher saw it:
/// each machine whose process died, and, when it stopped the nodes
/// (Ctrl-C), the others; the times are unknown.
fn faults_seen(deaths: &Deaths, stopped: bool, machines: usize) -> Vec<FaultSummary> {
    let dead: Vec<MachineId> = deaths.0.iter().map(|d| d.id).collect();
    let crashes = dead.iter().map(|id| FaultSummary::Crash {
        machine: id.get(),
        at_ns: None,
    });
    let n = machines as u8;
    let stops = (0..n)
        .filter_map(|i| MachineId::new(i, n))
        .filter(|id| stopped && !dead.contains(id))
        .map(|id| FaultSummary::Stop {
            machine: id.get(),
            at_ns: None,
        });
    crashes.chain(stops).collect()
}

/// Writes the dead machines' summaries from their logs, merges every
/// summary into `params.json` and checks the trial.
#[allow(clippy::too_many_arguments)]
fn finish_trial(
    args: &RunArgs,
    seed: u64,
    run_id: u64,
    start_ns: u64,
    addrs: &[String],
    dir: &Path,
    deaths: &Deaths,
    stopped: bool,
) -> Result<Analysis> {
    for death in &deaths.0 {
        let id = death.id;
        salvage::salvage(
            dir,
            id.get(),
            args.model.net_run(seed, run_id),
            addrs[id.index()].clone(),
            start_ns,
            &death.cause,
            salvage::SalvagedBy::Run,
        )?;
    }
    let mut params = merge::merge_nodes(dir)
        .with_context(|| format!("cannot merge the nodes' summaries in {}", dir.display()))?;
    params.faults = Some(faults_seen(deaths, stopped, addrs.len()));
    // A board's bridge that died wrote no summary of its own: its
    // machine still ran on the board.
    if let Some(mcu) = args.mcu
        && let Some(p) = params.processes.iter_mut().find(|p| p.id == mcu)
    {
        p.host
            .get_or_insert_with(|| node_cmd::board::HOST.to_owned());
    }
    if params.seed != seed || params.start_ns != start_ns {
        bail!("the nodes' summaries do not match the trial (seed {seed}, start {start_ns})");
    }
    params.write(dir)?;
    for id in 0..addrs.len() {
        let _ = std::fs::remove_file(dir.join(rundir::node_name(id)));
    }
    Ok(Analysis::of(dir, rundir::read_run(dir)?))
}

/// Prints a line on stderr above the progress bar; a hidden bar (stderr is
/// not a terminal) would swallow it, so then it goes straight to stderr.
fn above(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn print_trial(t: &Trial) {
    let p = &t.analysis.run.params;
    let rates = crate::report::text::joined(&p.rates, ",");
    outln!(
        "trial {} (seed {}, rates {rates}): {}",
        t.k,
        p.seed,
        t.analysis.dir.display()
    );
    analyze_cmd::print_science(&t.analysis);
    outln!(
        "{:>7} {:>4} {:>6} {:>11} {:>30} {:>9} {:>8} {:>8} {:>12} {:>10}",
        "machine",
        "rate",
        "ticks",
        "rate err %",
        "late p50 / p99 / max (µs)",
        "max queue",
        "RSS MiB",
        "CPU ms",
        "µs per tick",
        "end"
    );
    for (i, m) in p.machines.iter().enumerate() {
        let timing = t.timings.get(i).copied().flatten();
        let proc = p.processes.get(i);
        let late = timing.map_or_else(
            || "-".to_owned(),
            |t| {
                format!(
                    "{:.0} / {:.0} / {:.0}",
                    t.late_p50_us, t.late_p99_us, t.late_max_us
                )
            },
        );
        // The steady state's CPU per tick: from the first tick to the end,
        // ÷ the ticks after the first (the set-up is in `CPU ms` only).
        let per_tick = proc
            .and_then(|p| p.ticking_cpu_ms)
            .filter(|_| m.ticks >= 2)
            .map(|ms| ms * 1e3 / (m.ticks - 1) as f64);
        outln!(
            "{:>7} {:>4} {:>6} {:>11} {:>30} {:>9} {:>8} {:>8} {:>12} {:>10}",
            m.id,
            m.rate,
            m.ticks,
            timing.map_or_else(|| "-".to_owned(), |t| signed(t.rate_error_pct, 4)),
            late,
            m.max_queue,
            proc.and_then(|p| p.peak_rss_kib)
                .map_or_else(|| "-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
            proc.and_then(|p| p.cpu_ms)
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.0}")),
            per_tick.map_or_else(|| "-".to_owned(), |c| format!("{c:.0}")),
            m.end,
        );
    }
    for proc in &p.processes {
        if let Some(host) = &proc.host {
            outln!(
                "  machine {} ran on {host}; its RSS and CPU are its bridge's",
                proc.id
            );
        }
    }
    let balanced = p.links.iter().filter(|l| l.balance().is_ok()).count();
    let sent = p.links.iter().map(|l| l.sent).fold(0, u64::saturating_add);
    let total =
        |part: fn(&LinkSummary) -> u64| p.links.iter().map(part).fold(0, u64::saturating_add);
    let (in_flight, lost, inferred) = (
        total(|l| l.in_flight),
        total(|l| l.lost),
        total(|l| l.inferred),
    );
    outln!(
        "  conservation: {balanced} of {} links balanced, {sent} messages sent, {in_flight} in flight, {lost} lost (counted), {inferred} inferred lost; conformance: {}",
        p.links.len(),
        count(t.analysis.violations.total(), "violation")
    );
    for v in t.analysis.violations.iter().take(10) {
        outln!("    {v}");
    }
}

fn print_overall(trials: &[Trial]) {
    if trials.is_empty() {
        return;
    }
    let timings: Vec<Timing> = trials
        .iter()
        .flat_map(|t| t.timings.iter().flatten().copied())
        .collect();
    let worst = |f: fn(&Timing) -> f64| timings.iter().map(f).fold(0.0_f64, |a, b| a.max(b.abs()));
    let processes = || trials.iter().flat_map(|t| &t.analysis.run.params.processes);
    let rss = processes()
        .filter_map(|p| p.peak_rss_kib)
        .max()
        .unwrap_or(0);
    let first_tick = processes()
        .filter_map(|p| p.first_tick_ms)
        .fold(0.0_f64, f64::max);
    let violations: u64 = trials.iter().map(|t| t.analysis.violations.total()).sum();
    outln!(
        "overall: {}; worst rate error {:.4} %, worst lateness p99 {:.0} µs, max {:.0} µs; peak RSS {:.1} MiB; slowest start-up to first tick {:.1} ms; {}",
        count(trials.len() as u64, "trial"),
        worst(|t| t.rate_error_pct),
        worst(|t| t.late_p99_us),
        worst(|t| t.late_max_us),
        rss as f64 / 1024.0,
        first_tick,
        count(violations, "violation"),
    );
}
