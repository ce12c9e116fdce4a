//! `scalemodel sim`: the run in the deterministic simulator.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use scalemodel_core::digest::{DigestSink, Tee, TeeError};
use scalemodel_core::fault::Faults;
use scalemodel_core::node::CONNS;
use scalemodel_core::sim::{self, Config, Discard, MachineReport, Report, Sim, Standard};
use scalemodel_core::{End, Hlc, MACHINES_MAX, MachineId, Topology, VectorClock};
use scalemodel_mio::in_place;
pub use scalemodel_mio::in_place::{SimStamp, SimWidth, Width};

use crate::analysis::Analysis;
use crate::analyze_cmd;
use crate::caps::{INBOX_CAP, INBOX_CAPS, LINK_CAP, LINK_CAPS, SIM_STACK_BYTES};
use crate::cli::{ClockArg, Rates, SimArgs};
use crate::outln;
use crate::rundir::{self, CsvLogs, CsvSink, FaultSummary, Params, Rows, Run, Skew, Skewed};

/// The most machines a simulator built in holds: the parameters of a run of
/// any size are a `Config<WIDE>` until a simulator is chosen for them.
pub const WIDE: usize = MACHINES_MAX as usize;

/// The one command that replays a simulated run exactly.
pub fn replay<const M: usize>(
    config: &Config<M>,
    inbox_cap: usize,
    link_cap: usize,
    faults: &Faults,
) -> String {
    let mut line = format!(
        "scalemodel sim --seed {} --rates {}",
        config.seed,
        rates_text(config)
    );
    if config.machines != 3 {
        line.push_str(&format!(" --machines {}", config.machines));
    }
    if config.topology != Topology::All {
        line.push_str(&format!(" --topology {}", config.topology));
    }
    line.push_str(&format!(
        " --sides {} --duration {} --speed {} --latency {}ns --jitter {}ns --start-ns {} --inbox-cap {inbox_cap} --link-cap {link_cap}",
        config.sides,
        config.duration_ns as f64 / 1e9,
        config.speed,
        config.latency_ns,
        config.jitter_ns,
        config.start_ns,
    ));
    if !faults.as_slice().is_empty() {
        line.push_str(&format!(" --faults '{faults}'"));
    }
    line
}

/// The run's rates, comma-separated.
fn rates_text<const M: usize>(config: &Config<M>) -> String {
    let rates: Vec<String> = config
        .rates
        .iter()
        .take(usize::from(config.machines))
        .map(u32::to_string)
        .collect();
    rates.join(",")
}

/// The simulator's configuration from the command line, with the seed
/// drawn when none was given.
pub fn config(args: &SimArgs) -> Result<Config<WIDE>> {
    let model = &args.model;
    let seed = model.seed_or_random();
    let n = model.machines;
    let rates = model.rates.resolve(seed, n);
    if rates.len() != usize::from(n) {
        bail!(
            "--rates gives {} rates for {n} machines; give one per machine",
            rates.len()
        );
    }
    if let Some(id) = args.faults.highest_machine()
        && id.get() >= n
    {
        bail!(
            "--faults names machine {id}, but the run has {n} machines (ids 0 to {})",
            n - 1
        );
    }
    let mut config = Config {
        seed,
        rates: std::array::from_fn(|i| rates.get(i).copied().unwrap_or(0)),
        machines: n,
        topology: model.topology,
        sides: model.sides(),
        duration_ns: (model.duration * 1e9).round() as u64,
        latency_ns: nanos(args.latency, "--latency")?,
        jitter_ns: nanos(args.jitter, "--jitter")?,
        start_ns: args.start_ns,
        speed: model.speed,
        skew: [scalemodel_core::ClockSkew::NONE; WIDE],
    };
    check_start(&config)?;
    // A node that carries a clock of its own reads its skewed clock itself
    // (its HLC's physical time); a Lamport run's records are skewed on
    // their way to the logs ([`Skewed`]). One draw for both.
    if let Some(skew) = Written::skew(args, &config) {
        for (m, s) in config.skew.iter_mut().zip(&skew.machines) {
            *m = s.clock();
        }
    }
    if let Some(skew) = args.skew
        && config.start_ns < skew.offset_ns
    {
        bail!(
            "--skew sets clocks back by up to {} ns, before the Unix epoch from --start-ns {}: give --start-ns of at least {} (e.g. 1700000000000000000)",
            skew.offset_ns,
            config.start_ns,
            skew.offset_ns
        );
    }
    Ok(config)
}

/// Simulates `config`, logging into `sink`, and writes `params.json` into
/// `out` when given.
fn execute(
    args: &SimArgs,
    config: Config<WIDE>,
    sink: Option<CsvLogs>,
    out: Option<&Path>,
) -> Result<Outcome> {
    let job = CliJob {
        run: Written::of(args, &config),
        config,
        faults: args.faults.clone(),
        sink,
        digest: args.digest,
    };
    let caps = Caps::of(args);
    let clock = args.model.clock;
    let run = on_sim_thread(move || with_clock(clock, caps, config.machines, job))???;
    if let Some(dir) = out {
        run.params.write(dir)?;
    }
    Ok(run)
}

/// Simulates the run `args` describe into `out`, logs and `params.json`,
/// printing nothing: one trial of `scalemodel study --sim`.
pub fn write_quietly(args: &SimArgs, out: &Path) -> Result<()> {
    let config = config(args)?;
    rundir::create(out)?;
    let sink = CsvLogs::create(out, config.machines)?;
    execute(args, config, Some(sink), Some(out)).map(drop)
}

/// Simulates the run `args` describe in memory and analyses it, writing
/// nothing: one trial of a study's simulator at scale.
pub fn analyse_in_memory(args: &SimArgs) -> Result<Analysis> {
    let config = config(args)?;
    let job = RowsJob {
        run: Written::of(args, &config),
        config,
        faults: args.faults.clone(),
    };
    let (params, rows) = with_clock(args.model.clock, Caps::of(args), config.machines, job)??;
    // A log per machine, even one that recorded nothing.
    let mut logs = rows.0;
    logs.resize_with(usize::from(config.machines), Vec::new);
    let run = Run {
        params,
        logs,
        bad_lines: Default::default(),
    };
    Ok(Analysis::measured(Path::new(""), run))
}

/// A simulated run into memory: its `params.json` and its rows.
struct RowsJob {
    run: Written,
    config: Config<WIDE>,
    faults: Faults,
}

impl SimJob for RowsJob {
    type Output = Result<(Params, Rows)>;
    fn run<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp>(
        self,
    ) -> Self::Output
    where
        Width<M, C>: SimWidth,
    {
        let config = self.config.to_width::<M>()?;
        let mut sim = built::<INBOX, LINK, M, C, H>(config, self.faults)?;
        let mut rows = Rows::default();
        let skew = self.run.host_skew::<H>();
        let report = sim.run(&mut Skewed::new(&mut rows, skew, config.start_ns))?;
        let acted = FaultSummary::acted(sim.faults(), sim.missed_faults());
        Ok((self.run.params(&config, &report, acted), rows))
    }
}

/// A simulator of `config` with `faults`, built in its allocation.
pub fn built<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp>(
    config: Config<M>,
    faults: Faults,
) -> Result<Box<Sim<INBOX, LINK, Standard, M, C, H>>>
where
    Width<M, C>: SimWidth,
{
    let mut sim = in_place::zeroed::<Sim<INBOX, LINK, Standard, M, C, H>>();
    sim.reset(config, faults)
        .context("invalid model parameters")?;
    Ok(sim)
}

/// What `params.json` says of a run beyond its `Config`, as the command
/// line gave it.
#[derive(Debug, Clone)]
struct Written {
    /// The range the rates were drawn from, if they were.
    rate_range: Option<[u32; 2]>,
    /// `--duration`, as given.
    duration_s: f64,
    caps: Caps,
    /// Each machine's clock skew (`--skew`), drawn from the run's seed.
    skew: Option<Skew>,
    /// `--clock`.
    clock: ClockArg,
}

impl Written {
    fn of<const M: usize>(args: &SimArgs, config: &Config<M>) -> Self {
        Self {
            rate_range: rate_range(&args.model.rates),
            duration_s: args.model.duration,
            caps: Caps::of(args),
            skew: Self::skew(args, config),
            clock: args.model.clock,
        }
    }

    /// Each machine's clock skew (`--skew`), drawn from the run's seed.
    fn skew<const M: usize>(args: &SimArgs, config: &Config<M>) -> Option<Skew> {
        args.skew
            .map(|b| Skew::draw(config.seed, config.machines, b.offset_ns, b.drift_ppm))
    }

    /// The skew the host reads records through: none where the nodes
    /// read their skewed clocks themselves (a run carrying `S`).
    fn host_skew<S: SimStamp>(&self) -> Option<&Skew> {
        self.skew.as_ref().filter(|_| !S::READS_TIME)
    }

    /// `params.json` of the run simulated as `config` with `report`, and
    /// the faults that `acted`.
    fn params<const M: usize>(
        &self,
        config: &Config<M>,
        report: &Report<M>,
        acted: Vec<FaultSummary>,
    ) -> Params {
        let mut params = Params::sim(
            config,
            self.rate_range,
            self.duration_s,
            self.caps.inbox,
            self.caps.link,
        );
        params.summarise(report);
        params.faults = Some(acted);
        params.skew = self.skew.clone();
        params.clock = (self.clock != ClockArg::Lamport).then(|| self.clock.name().to_owned());
        params
    }
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
        (Some(dir), false) => Some(CsvLogs::create(dir, config.machines)?),
        _ => None,
    };
    outln!("seed {}", config.seed);
    let shape = match (config.machines, config.topology) {
        (3, Topology::All) => String::new(),
        (n, topology) => format!("{n} machines, topology {topology}, "),
    };
    outln!(
        "sim: {shape}rates {} ({}), die of {}, {} s, latency {}, jitter {}, speed {}",
        rates_text(&config),
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
    let mut again = replay(&config, args.inbox_cap, args.link_cap, &args.faults);
    if let Some(b) = args.skew {
        again += &format!(" --skew {}ns,{}", b.offset_ns, b.drift_ppm);
        let skew = Skew::draw(config.seed, config.machines, b.offset_ns, b.drift_ppm);
        let clocks: Vec<String> = skew
            .machines
            .iter()
            .enumerate()
            .map(|(id, m)| {
                format!(
                    "{id}: {:+.3} ms, {:+.3} ppm",
                    m.offset_ns as f64 / 1e6,
                    m.drift_ppb as f64 / 1e3
                )
            })
            .collect();
        outln!("skewed clocks (offset, drift): {}", clocks.join("; "));
    }
    outln!("replay: {again}");

    let run = execute(args, config, sink, out.as_deref())?;
    outln!("{}", run.table);
    for fault in &run.missed {
        outln!(
            "fault `{fault}` had no effect: its machine had ended, or its link was closed or full"
        );
    }
    let elapsed = run.elapsed;
    outln!(
        "simulated {} machine-ticks in {:.3} s: {:.2} M machine-ticks/s{}",
        run.ticks,
        elapsed.as_secs_f64(),
        run.ticks as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6,
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
    /// The network's capacities, every run's unless it asks otherwise.
    pub const DEFAULT: Self = Self {
        inbox: INBOX_CAP,
        link: LINK_CAP,
    };

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
    /// Its `params.json`.
    params: Params,
    /// The table of machines and links it prints.
    table: String,
    /// Ticks of every machine.
    ticks: u64,
    /// The log's digest, when asked for.
    digest: Option<u64>,
    /// The time the run took, its logs written (to the kernel, not synced).
    elapsed: Duration,
    /// Faults that found nothing to act on, as written.
    missed: Vec<String>,
}

/// Runs `work` on a thread of its own with [`SIM_STACK_BYTES`] of stack.
fn on_sim_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    std::thread::Builder::new()
        .name("sim".to_owned())
        .stack_size(SIM_STACK_BYTES)
        .spawn(work)
        .context("cannot start the simulator thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the simulator thread panicked"))
}

/// Work for a simulator whose capacities are const generics: [`with_caps`]
/// and [`with_width`] pick the built-in instance that matches the run-time
/// choice.
pub trait SimJob {
    /// What the work gives.
    type Output;
    /// Does the work with `Sim<INBOX, LINK, Standard, M, C>`: up to `M`
    /// machines with `C` connection slots each.
    fn run<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp>(
        self,
    ) -> Self::Output
    where
        Width<M, C>: SimWidth;
}

/// Runs `job` at `caps` for a run of `machines`: three machines in the
/// simulator of three (the exercise's, and the firmware's), more in the one
/// of sixteen.
pub fn with_width<J: SimJob>(caps: Caps, machines: u8, job: J) -> Result<J::Output> {
    match machines {
        3 => with_caps::<3, CONNS, J>(caps, job),
        4..=MACHINES_MAX => with_caps::<WIDE, WIDE, J>(caps, job),
        other => bail!("a simulated run has 3 to {MACHINES_MAX} machines, not {other}"),
    }
}

/// Runs `job` as [`with_width`] does, with the machines carrying `clock`
/// beside Lamport's: a clock other than Lamport's alone is built at the
/// default capacities only (each instance is a whole simulator's code).
pub fn with_clock<J: SimJob>(
    clock: ClockArg,
    caps: Caps,
    machines: u8,
    job: J,
) -> Result<J::Output> {
    match clock {
        ClockArg::Lamport => with_width(caps, machines, job),
        carried if caps != Caps::DEFAULT => bail!(
            "--clock {} is built for the default --inbox-cap {INBOX_CAP} and --link-cap {LINK_CAP} only",
            carried.name()
        ),
        ClockArg::Hlc => Ok(match machines {
            3 => job.run::<INBOX_CAP, LINK_CAP, 3, CONNS, Hlc>(),
            4..=MACHINES_MAX => job.run::<INBOX_CAP, LINK_CAP, WIDE, WIDE, Hlc>(),
            other => bail!("a simulated run has 3 to {MACHINES_MAX} machines, not {other}"),
        }),
        ClockArg::Vector => Ok(match machines {
            3 => job.run::<INBOX_CAP, LINK_CAP, 3, CONNS, VectorClock<3>>(),
            4..=MACHINES_MAX => job.run::<INBOX_CAP, LINK_CAP, WIDE, WIDE, VectorClock<WIDE>>(),
            other => bail!("a simulated run has 3 to {MACHINES_MAX} machines, not {other}"),
        }),
    }
}

/// Runs `job` at `caps` with up to `M` machines: one arm per entry of
/// [`INBOX_CAPS`].
pub fn with_caps<const M: usize, const C: usize, J: SimJob>(caps: Caps, job: J) -> Result<J::Output>
where
    Width<M, C>: SimWidth,
{
    match caps.inbox {
        4 => with_link::<4, M, C, J>(caps.link, job),
        16 => with_link::<16, M, C, J>(caps.link, job),
        64 => with_link::<64, M, C, J>(caps.link, job),
        INBOX_CAP => with_link::<INBOX_CAP, M, C, J>(caps.link, job),
        other => bail!("--inbox-cap {other} is not built in; choose one of {INBOX_CAPS:?}"),
    }
}

/// Picks the link capacity: one arm per entry of [`LINK_CAPS`].
fn with_link<const INBOX: usize, const M: usize, const C: usize, J: SimJob>(
    link: usize,
    job: J,
) -> Result<J::Output>
where
    Width<M, C>: SimWidth,
{
    Ok(match link {
        2 => job.run::<INBOX, 2, M, C, ()>(),
        8 => job.run::<INBOX, 8, M, C, ()>(),
        16 => job.run::<INBOX, 16, M, C, ()>(),
        LINK_CAP => job.run::<INBOX, LINK_CAP, M, C, ()>(),
        other => bail!("--link-cap {other} is not built in; choose one of {LINK_CAPS:?}"),
    })
}

/// `scalemodel sim`'s run: into the CSV logs, the digest, both or neither.
struct CliJob {
    run: Written,
    config: Config<WIDE>,
    faults: Faults,
    sink: Option<CsvLogs>,
    digest: bool,
}

impl SimJob for CliJob {
    type Output = Result<Outcome>;
    fn run<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp>(
        self,
    ) -> Result<Outcome>
    where
        Width<M, C>: SimWidth,
    {
        let config = self.config.to_width::<M>()?;
        let mut sim = built::<INBOX, LINK, M, C, H>(config, self.faults)?;
        let sink = self.sink.map(CsvLogs::start::<M, H>).transpose()?;
        let started = Instant::now();
        let (report, digest) = run_into(&mut *sim, sink, self.digest, self.run.host_skew::<H>())?;
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
            params: self.run.params(&config, &report, acted),
            table: table(&report, config.topology),
            ticks: report.machines().iter().map(|m| m.tally.ticks).sum(),
            digest,
            elapsed,
            missed,
        })
    }
}

/// Runs `sim` into the CSV logs, the digest, both or neither, each record
/// read through the machines' skewed clocks when `skew` is given.
fn run_into<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp>(
    sim: &mut Sim<INBOX, LINK, Standard, M, C, H>,
    sink: Option<CsvSink<M, H>>,
    digest: bool,
    skew: Option<&Skew>,
) -> Result<(Report<M>, Option<u64>)> {
    let start_ns = sim.config().start_ns;
    let (report, digest, csv) = match (sink, digest) {
        (Some(csv), true) => {
            let mut tee = Tee(csv, DigestSink::new());
            let report = sim
                .run(&mut Skewed::new(&mut tee, skew, start_ns))
                .map_err(|e| match e {
                    sim::SimError::Sink(TeeError::First(e)) => csv_failed(sim::SimError::Sink(e)),
                    other => anyhow::anyhow!("{other}"),
                })?;
            let Tee(csv, hash) = tee;
            (report, Some(hash.value()), Some(csv))
        }
        (Some(mut csv), false) => (
            sim.run(&mut Skewed::new(&mut csv, skew, start_ns))
                .map_err(csv_failed)?,
            None,
            Some(csv),
        ),
        (None, true) => {
            let mut hash = DigestSink::new();
            (
                sim.run(&mut Skewed::new(&mut hash, skew, start_ns))?,
                Some(hash.value()),
                None,
            )
        }
        (None, false) => (sim.run(&mut Discard)?, None, None),
    };
    if let Some(csv) = csv {
        csv.finish()?;
    }
    Ok((report, digest))
}

/// Refuses a `--start-ns` so late that the run's `system_ns` would pass
/// `u64::MAX` (in the year 2554): the log would then lie about the times.
fn check_start<const M: usize>(config: &Config<M>) -> Result<()> {
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

/// The table `sim` prints: each machine, how each ended, the links.
fn table<const M: usize>(report: &Report<M>, topology: Topology) -> String {
    let mut lines = vec![format!(
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
    )];
    for (id, m) in MachineId::all(MACHINES_MAX).zip(report.machines()) {
        let t = &m.tally;
        lines.push(format!(
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
        ));
        if m.stalls > 0 || m.held > 0 {
            lines.push(format!(
                "        machine {id}: stalled {} times ({:.3} s) on a full link; its inbox filled {} times",
                m.stalls,
                m.stalled_ns as f64 / 1e9,
                m.held
            ));
        }
    }
    let ends: Vec<String> = (MachineId::all(MACHINES_MAX).zip(report.machines()))
        .map(|(id, m)| format!("machine {id} {}", end_words(m)))
        .collect();
    lines.push(format!("ends: {}", ends.join("; ")));
    // The run's model links, and any other that carried a message (a bug).
    let n = report.machines().len();
    let links: Vec<_> = report
        .links()
        .filter(|l| rundir::is_model_link(n, topology, l.from.get(), l.to.get()) || l.sent > 0)
        .collect();
    let unbalanced = links.iter().filter(|l| !l.balanced()).count();
    let in_flight: u64 = links.iter().map(|l| l.in_flight).sum();
    let queued: u64 = links.iter().map(|l| l.queued).sum();
    lines.push(format!(
        "links: {queued} messages left in inboxes, {in_flight} in flight, {} of {} links balanced",
        links.len() - unbalanced,
        links.len()
    ));
    for l in report.links().filter(|l| l.lost > 0) {
        lines.push(format!(
            "        link {}->{}: {} of {} sent lost ({} received, {} queued, {} in flight)",
            l.from, l.to, l.lost, l.sent, l.received, l.queued, l.in_flight
        ));
    }
    lines.join("\n")
}

/// How a machine ended, in the words `params.json` uses, with the time of a crash.
fn end_words<const M: usize>(m: &MachineReport<M>) -> String {
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

    /// `config` simulated at `caps` into `logs` and the digest as asked, on
    /// a thread of its own as `sim` does.
    fn simulate(
        config: Config,
        faults: Faults,
        caps: Caps,
        logs: Option<CsvLogs>,
        digest: bool,
    ) -> Result<Outcome> {
        let job = CliJob {
            run: Written {
                rate_range: None,
                duration_s: config.duration_ns as f64 / 1e9,
                caps,
                skew: None,
                clock: ClockArg::Lamport,
            },
            config: config.to_width()?,
            faults,
            sink: logs,
            digest,
        };
        on_sim_thread(move || with_width(caps, config.machines, job))??
    }

    #[test]
    fn every_built_in_capacity_runs_and_a_small_inbox_fills() {
        for inbox in INBOX_CAPS {
            for link in LINK_CAPS {
                let caps = Caps { inbox, link };
                let run =
                    simulate(config(1, [1, 6, 6], 30), Faults::none(), caps, None, true).unwrap();
                assert!(run.digest.is_some());
                let slow = &run.params.machines[0];
                // Records show the inbox after the take: a full inbox of C logs C - 1.
                assert!((slow.max_queue as usize) < inbox, "{caps:?}");
                if inbox == 4 {
                    assert_eq!(slow.max_queue, 3, "{caps:?}");
                    assert!(slow.held > 0, "{caps:?}");
                }
                assert_eq!(run.params.links.len(), 6);
                assert!(
                    run.params.links.iter().all(|l| l.balance().is_ok()),
                    "{caps:?}"
                );
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
        let csv = CsvLogs::create(dir.path(), 3).unwrap();
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
        let csv = CsvLogs::create(dir.path(), 3).unwrap();
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
        assert!(logged.params.machines.iter().all(|m| m.stalls == 0));
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
