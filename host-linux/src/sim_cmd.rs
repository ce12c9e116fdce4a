//! `scalemodel sim`: the run in the deterministic simulator.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use scalemodel_core::End;
use scalemodel_core::MachineId;
use scalemodel_core::digest::{DigestSink, Tee, TeeError};
use scalemodel_core::fault::Faults;
use scalemodel_core::sim::{self, Config, Discard, MachineReport, Report, Sim};

use crate::analysis::Analysis;
use crate::analyze_cmd;
use crate::caps::{INBOX_CAP, INBOX_CAPS, LINK_CAP, LINK_CAPS, SIM_STACK_BYTES};
use crate::cli::{Rates, SimArgs};
use crate::outln;
use crate::rundir::{self, CsvSink, FaultSummary, Params, Rows, Run};

/// The one command that replays a simulated run exactly.
pub fn replay(config: &Config, inbox_cap: usize, link_cap: usize, faults: &Faults) -> String {
    let [r0, r1, r2] = config.rates;
    let mut line = format!(
        "scalemodel sim --seed {} --rates {r0},{r1},{r2} --sides {} --duration {} --speed {} --latency {}ns --jitter {}ns --start-ns {} --inbox-cap {inbox_cap} --link-cap {link_cap}",
        config.seed,
        config.sides,
        config.duration_ns as f64 / 1e9,
        config.speed,
        config.latency_ns,
        config.jitter_ns,
        config.start_ns,
    );
    if !faults.as_slice().is_empty() {
        line.push_str(&format!(" --faults '{faults}'"));
    }
    line
}

/// The simulator's configuration from the command line, with the seed
/// drawn when none was given.
fn config(args: &SimArgs) -> Result<Config> {
    let model = &args.model;
    let seed = model.seed_or_random();
    let config = Config {
        seed,
        rates: model
            .rates
            .resolve(seed, 3)
            .try_into()
            .map_err(|_| anyhow::anyhow!("--rates must give three rates for `sim`"))?,
        sides: model.sides(),
        duration_ns: (model.duration * 1e9).round() as u64,
        latency_ns: nanos(args.latency, "--latency")?,
        jitter_ns: nanos(args.jitter, "--jitter")?,
        start_ns: args.start_ns,
        speed: model.speed,
    };
    check_start(&config)?;
    Ok(config)
}

/// Simulates `config`, logging into `sink`, and writes `params.json` into
/// `out` when given.
fn execute(
    args: &SimArgs,
    config: Config,
    sink: Option<CsvSink>,
    out: Option<&Path>,
) -> Result<(Params, Outcome)> {
    let caps = Caps::of(args);
    let run = simulate(config, args.faults.clone(), caps, sink, args.digest)?;
    let params = params(args, &config, &run.report, run.acted.clone());
    if let Some(dir) = out {
        params.write(dir)?;
    }
    Ok((params, run))
}

/// Simulates the run `args` describe into `out`, logs and `params.json`,
/// printing nothing: one trial of `scalemodel study --sim`.
pub fn write_quietly(args: &SimArgs, out: &Path) -> Result<()> {
    let config = config(args)?;
    rundir::create(out)?;
    let sink = CsvSink::create(out)?;
    execute(args, config, Some(sink), Some(out)).map(drop)
}

/// Simulates the run `args` describe in memory and analyses it, writing
/// nothing: one trial of a study's simulator at scale. The simulator keeps
/// its queues on the stack: call it on a thread with
/// [`SIM_STACK_BYTES`] of stack.
pub fn analyse_in_memory(args: &SimArgs) -> Result<Analysis> {
    let config = config(args)?;
    let (report, rows, acted) = with_caps(
        Caps::of(args),
        RowsJob {
            config,
            faults: args.faults.clone(),
        },
    )??;
    // A log per machine, even one that recorded nothing.
    let mut logs = rows.0;
    logs.resize_with(config.rates.len(), Vec::new);
    let run = Run {
        params: params(args, &config, &report, acted),
        logs,
        bad_lines: Default::default(),
    };
    Ok(Analysis::of(Path::new(""), run))
}

/// A simulated run into memory: its report, its rows and the faults that acted.
struct RowsJob {
    config: Config,
    faults: Faults,
}

impl SimJob for RowsJob {
    type Output = Result<(Report, Rows, Vec<FaultSummary>)>;
    fn run<const INBOX: usize, const LINK: usize>(self) -> Self::Output {
        let mut sim = Sim::<INBOX, LINK>::new(self.config, self.faults)
            .context("invalid model parameters")?;
        let mut rows = Rows::default();
        let report = sim.run(&mut rows)?;
        let acted = FaultSummary::acted(sim.faults(), sim.missed_faults());
        Ok((report, rows, acted))
    }
}

/// `params.json` of the run `args` describe, simulated as `config` with
/// `report`, and the faults that `acted`.
fn params(args: &SimArgs, config: &Config, report: &Report, acted: Vec<FaultSummary>) -> Params {
    let caps = Caps::of(args);
    let mut params = Params::sim(
        config,
        rate_range(&args.model.rates),
        args.model.duration,
        caps.inbox,
        caps.link,
    );
    params.summarise(report);
    params.faults = Some(acted);
    params
}

/// The range the rates are drawn from, for `params.json`; `None` when given.
fn rate_range(rates: &Rates) -> Option<[u32; 2]> {
    match rates {
        Rates::Range(r) => Some([*r.start(), *r.end()]),
        Rates::Exact(_) => None,
    }
}

/// Runs `scalemodel sim`.
pub fn run(args: &SimArgs) -> Result<()> {
    let model = &args.model;
    model.check().map_err(anyhow::Error::msg)?;
    model.only_three("sim").map_err(anyhow::Error::msg)?;
    let config = config(args)?;
    // The directory first: a run that cannot be written prints nothing else.
    let out = match (&model.out, args.no_log) {
        (Some(dir), _) => Some(dir.clone()),
        (None, false) => Some(rundir::default_out("sim")?),
        (None, true) => None,
    };
    if let Some(dir) = &out {
        rundir::create(dir)?;
    }
    let sink = match (&out, args.no_log) {
        (Some(dir), false) => Some(CsvSink::create(dir)?),
        _ => None,
    };
    outln!("seed {}", config.seed);
    let [r0, r1, r2] = config.rates;
    outln!(
        "sim: rates {r0},{r1},{r2} ({}), die of {}, {} s, latency {}, jitter {}, speed {}",
        match &model.rates {
            Rates::Range(r) => format!("drawn from {}..={}", r.start(), r.end()),
            Rates::Exact(_) => "given".to_owned(),
        },
        config.sides,
        model.duration,
        humantime::format_duration(args.latency),
        humantime::format_duration(args.jitter),
        config.speed,
    );
    if !args.faults.as_slice().is_empty() {
        outln!("faults: {}", args.faults);
    }
    outln!(
        "replay: {}",
        replay(&config, args.inbox_cap, args.link_cap, &args.faults)
    );

    let (_, run) = execute(args, config, sink, out.as_deref())?;
    let (report, elapsed) = (run.report, run.elapsed);
    print_table(&report);
    for fault in &run.missed {
        outln!(
            "fault `{fault}` had no effect: its machine had ended, or its link was closed or full"
        );
    }
    let ticks: u64 = report.machines.iter().map(|m| m.tally.ticks).sum();
    outln!(
        "simulated {ticks} machine-ticks in {:.3} s: {:.2} M machine-ticks/s{}",
        elapsed.as_secs_f64(),
        ticks as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6,
        if args.no_log { " (no log)" } else { "" },
    );
    if let Some(digest) = run.digest {
        outln!("digest {digest:#018x}");
    }
    match &out {
        Some(dir) if !args.no_log && !args.no_analyze => analyse(dir),
        Some(dir) => {
            outln!("wrote {}", dir.display());
            Ok(())
        }
        None => {
            outln!("wrote nothing (--no-log without --out)");
            Ok(())
        }
    }
}

/// Analyses the run just written into `dir`: the science summary, then its
/// report's paths. A simulated run that breaks a rule is a bug, and an error.
fn analyse(dir: &Path) -> Result<()> {
    let a = analyze_cmd::analyse(dir)?;
    crate::report::write(&a)?;
    outln!();
    analyze_cmd::print_science(&a);
    outln!("wrote {}", dir.display());
    outln!("  report: {}", dir.join("report.html").display());
    if !a.violations.is_empty() {
        bail!(
            "the simulated run breaks {} rules of the model; see {}",
            a.violations.total(),
            dir.join("report.md").display()
        );
    }
    Ok(())
}

/// The simulator's queue capacities for one run: one of [`INBOX_CAPS`] and
/// one of [`LINK_CAPS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Messages an inbox holds.
    pub inbox: usize,
    /// Frames a link holds.
    pub link: usize,
}

impl Caps {
    /// The capacities `args` ask for.
    fn of(args: &SimArgs) -> Self {
        Self {
            inbox: args.inbox_cap,
            link: args.link_cap,
        }
    }
}

/// What one simulated run gave.
#[derive(Debug)]
struct Outcome {
    report: Report,
    /// The log's digest, when asked for.
    digest: Option<u64>,
    /// The time the run took, its logs written (to the kernel, not synced).
    elapsed: Duration,
    /// Faults that found nothing to act on, as written.
    missed: Vec<String>,
    /// The faults that acted, for `params.json`.
    acted: Vec<FaultSummary>,
}

/// Runs the simulator on a thread with room for its fixed-capacity queues on
/// the stack, at the capacities in `caps`.
fn simulate(
    config: Config,
    faults: Faults,
    caps: Caps,
    sink: Option<CsvSink>,
    digest: bool,
) -> Result<Outcome> {
    let job = CliJob {
        config,
        faults,
        sink,
        digest,
    };
    std::thread::Builder::new()
        .name("sim".to_owned())
        .stack_size(SIM_STACK_BYTES)
        .spawn(move || with_caps(caps, job))
        .context("cannot start the simulator thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the simulator thread panicked"))??
}

/// Work for a simulator whose capacities are const generics: [`with_caps`]
/// picks the built-in instance that matches the run-time choice.
pub trait SimJob {
    /// What the work gives.
    type Output;
    /// Does the work with `Sim<INBOX, LINK>`.
    fn run<const INBOX: usize, const LINK: usize>(self) -> Self::Output;
}

/// Runs `job` at `caps`: one arm per entry of [`INBOX_CAPS`].
pub fn with_caps<J: SimJob>(caps: Caps, job: J) -> Result<J::Output> {
    match caps.inbox {
        4 => with_link::<4, J>(caps.link, job),
        16 => with_link::<16, J>(caps.link, job),
        64 => with_link::<64, J>(caps.link, job),
        INBOX_CAP => with_link::<INBOX_CAP, J>(caps.link, job),
        other => bail!("--inbox-cap {other} is not built in; choose one of {INBOX_CAPS:?}"),
    }
}

/// Picks the link capacity: one arm per entry of [`LINK_CAPS`].
fn with_link<const INBOX: usize, J: SimJob>(link: usize, job: J) -> Result<J::Output> {
    Ok(match link {
        2 => job.run::<INBOX, 2>(),
        8 => job.run::<INBOX, 8>(),
        16 => job.run::<INBOX, 16>(),
        LINK_CAP => job.run::<INBOX, LINK_CAP>(),
        other => bail!("--link-cap {other} is not built in; choose one of {LINK_CAPS:?}"),
    })
}

/// `scalemodel sim`'s run: into the CSV logs, the digest, both or neither.
struct CliJob {
    config: Config,
    faults: Faults,
    sink: Option<CsvSink>,
    digest: bool,
}

impl SimJob for CliJob {
    type Output = Result<Outcome>;
    fn run<const INBOX: usize, const LINK: usize>(self) -> Result<Outcome> {
        simulate_with::<INBOX, LINK>(self.config, self.faults, self.sink, self.digest)
    }
}

/// One run of `Sim<INBOX, LINK>`, into the CSV logs, the digest, both or neither.
fn simulate_with<const INBOX: usize, const LINK: usize>(
    config: Config,
    faults: Faults,
    sink: Option<CsvSink>,
    digest: bool,
) -> Result<Outcome> {
    let mut sim = Sim::<INBOX, LINK>::new(config, faults).context("invalid model parameters")?;
    let started = Instant::now();
    let (report, digest, csv) = match (sink, digest) {
        (Some(csv), true) => {
            let mut tee = Tee(csv, DigestSink::new());
            let report = sim.run(&mut tee).map_err(|e| match e {
                sim::SimError::Sink(TeeError::First(e)) => csv_failed(sim::SimError::Sink(e)),
                other => anyhow::anyhow!("{other}"),
            })?;
            let Tee(csv, hash) = tee;
            (report, Some(hash.value()), Some(csv))
        }
        (Some(mut csv), false) => (sim.run(&mut csv).map_err(csv_failed)?, None, Some(csv)),
        (None, true) => {
            let mut hash = DigestSink::new();
            (sim.run(&mut hash)?, Some(hash.value()), None)
        }
        (None, false) => (sim.run(&mut Discard)?, None, None),
    };
    if let Some(csv) = csv {
        csv.finish()?;
    }
    // Counted until the writer has handed the kernel every line: the
    // records still queued for it are part of the run's cost.
    let elapsed = started.elapsed();
    let acted = FaultSummary::acted(sim.faults(), sim.missed_faults());
    let missed = sim
        .faults()
        .as_slice()
        .iter()
        .zip(sim.missed_faults())
        .filter(|&(_, &missed)| missed)
        .map(|(fault, _)| fault.to_string())
        .collect();
    Ok(Outcome {
        report,
        digest,
        elapsed,
        missed,
        acted,
    })
}

/// Refuses a `--start-ns` so late that the run's `system_ns` would pass
/// `u64::MAX` (in the year 2554): the log would then lie about the times.
fn check_start(config: &Config) -> Result<()> {
    /// Room after the model's end for late ticks and the closing exchange.
    const END_SLACK_NS: u64 = 3_600 * 1_000_000_000;
    let span = (config.duration_ns / u64::from(config.speed)).saturating_add(END_SLACK_NS);
    let latest = u64::MAX.saturating_sub(span);
    if config.start_ns > latest {
        bail!(
            "--start-ns {} is too late: the run's system times would pass u64::MAX ns; give at most {latest}",
            config.start_ns
        );
    }
    Ok(())
}

/// A run that stopped writing its logs, with the cause kept: the core's
/// error (no_std) words its sink's error but does not chain it, and the
/// file's I/O error (a full disk) would be lost.
fn csv_failed(e: sim::SimError<rundir::RunDirError>) -> anyhow::Error {
    match e {
        sim::SimError::Sink(e) => anyhow::Error::new(e).context("writing a record"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn nanos(d: Duration, flag: &str) -> Result<u64> {
    u64::try_from(d.as_nanos()).with_context(|| format!("{flag} is too long"))
}

fn print_table(report: &Report) {
    outln!(
        "{:>7} {:>4} {:>7} {:>8} {:>6} {:>8} {:>9} {:>11} {:>8}",
        "machine",
        "rate",
        "ticks",
        "receives",
        "sends",
        "internal",
        "max queue",
        "final clock",
        "max jump"
    );
    for id in MachineId::ALL {
        let m = &report.machines[id.index()];
        let t = &m.tally;
        outln!(
            "{:>7} {:>4} {:>7} {:>8} {:>6} {:>8} {:>9} {:>11} {:>8}",
            id.get(),
            m.rate,
            t.ticks,
            t.receives,
            t.sends,
            t.internals,
            t.max_queue,
            t.clock,
            t.max_jump
        );
        if m.stalls > 0 || m.held > 0 {
            outln!(
                "        machine {id}: stalled {} times ({:.3} s) on a full link; its inbox filled {} times",
                m.stalls,
                m.stalled_ns as f64 / 1e9,
                m.held
            );
        }
    }
    let ends: Vec<String> = MachineId::ALL
        .iter()
        .map(|&id| format!("machine {id} {}", end_words(&report.machines[id.index()])))
        .collect();
    outln!("ends: {}", ends.join("; "));
    let unbalanced = report.links.iter().filter(|l| !l.balanced()).count();
    let in_flight: u64 = report.links.iter().map(|l| l.in_flight).sum();
    let queued: u64 = report.links.iter().map(|l| l.queued).sum();
    outln!(
        "links: {queued} messages left in inboxes, {in_flight} in flight, {} of {} links balanced",
        report.links.len() - unbalanced,
        report.links.len()
    );
    for l in report.links.iter().filter(|l| l.lost > 0) {
        outln!(
            "        link {}->{}: {} of {} sent lost ({} received, {} queued, {} in flight)",
            l.from,
            l.to,
            l.lost,
            l.sent,
            l.received,
            l.queued,
            l.in_flight
        );
    }
}

/// How a machine ended, in the words `params.json` uses, with the time of a crash.
fn end_words(m: &MachineReport) -> String {
    match (m.end(), m.crashed_at_model_ns) {
        (Some(End::Crashed), Some(at_model_ns)) => {
            format!("crashed at {} s", at_model_ns as f64 / 1e9)
        }
        (Some(end), _) => end.to_string(),
        (None, _) => "unfinished".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use scalemodel_core::digest::Fnv1a;

    use super::*;

    fn config(seed: u64, rates: [u32; scalemodel_core::N], seconds: u64) -> Config {
        let mut config = Config::new(seed, rates);
        config.sides = 4;
        config.duration_ns = seconds * 1_000_000_000;
        config
    }

    #[test]
    fn every_built_in_capacity_runs_and_a_small_inbox_fills() {
        for inbox in INBOX_CAPS {
            for link in LINK_CAPS {
                let caps = Caps { inbox, link };
                let run =
                    simulate(config(1, [1, 6, 6], 30), Faults::none(), caps, None, true).unwrap();
                assert!(run.digest.is_some());
                let slow = &run.report.machines[0];
                // Records show the inbox after the take: a full inbox of C logs C - 1.
                assert!((slow.tally.max_queue as usize) < inbox, "{caps:?}");
                if inbox == 4 {
                    assert_eq!(slow.tally.max_queue, 3, "{caps:?}");
                    assert!(slow.held > 0, "{caps:?}");
                }
                assert!(run.report.links.iter().all(|l| l.balanced()), "{caps:?}");
            }
        }
        let caps = Caps { inbox: 5, link: 8 };
        let err = simulate(config(1, [1, 6, 6], 1), Faults::none(), caps, None, true).unwrap_err();
        assert!(err.to_string().contains("--inbox-cap 5"), "{err}");
    }

    #[test]
    fn a_full_disk_stops_the_run_with_the_file_named() {
        if !Path::new("/dev/full").exists() {
            return;
        }
        let caps = Caps {
            inbox: INBOX_CAP,
            link: LINK_CAP,
        };
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/full", dir.path().join("machine-2.csv")).unwrap();
        let csv = CsvSink::create(dir.path()).unwrap();
        let err = simulate(
            config(4, [6, 6, 6], 600),
            Faults::none(),
            caps,
            Some(csv),
            false,
        )
        .unwrap_err();
        let words = format!("{err:#}");
        assert!(words.contains("machine-2.csv"), "{words}");
        assert!(words.contains("No space left"), "{words}");
    }

    #[test]
    fn the_digest_is_the_log_text_in_simulation_order() {
        let caps = Caps {
            inbox: INBOX_CAP,
            link: LINK_CAP,
        };
        let config = config(3, [2, 5, 6], 20);
        let dir = tempfile::tempdir().unwrap();
        let csv = CsvSink::create(dir.path()).unwrap();
        let logged = simulate(config, Faults::none(), caps, Some(csv), true).unwrap();
        let bare = simulate(config, Faults::none(), caps, None, true).unwrap();
        assert_eq!(logged.digest, bare.digest);
        assert_eq!(
            simulate(config, Faults::none(), caps, None, false)
                .unwrap()
                .digest,
            None
        );

        // Without stalls every tick runs on schedule, so simulation order is
        // (model time, machine id): rebuild it from the three files.
        assert!(logged.report.machines.iter().all(|m| m.stalls == 0));
        let mut lines: Vec<(u64, u8, String)> = Vec::new();
        for id in MachineId::ALL {
            let text = std::fs::read_to_string(dir.path().join(rundir::log_name(id))).unwrap();
            for line in text.lines().skip(1) {
                let model_ns = line.split(',').nth(2).unwrap().parse().unwrap();
                lines.push((model_ns, id.get(), format!("{line}\n")));
            }
        }
        lines.sort_by_key(|(t, id, _)| (*t, *id));
        let mut fnv = Fnv1a::new();
        lines
            .iter()
            .for_each(|(_, _, line)| fnv.update(line.as_bytes()));
        assert_eq!(logged.digest, Some(fnv.value()));
    }
}
