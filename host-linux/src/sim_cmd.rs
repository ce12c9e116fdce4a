//! `scalemodel sim`: the run in the deterministic simulator.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use scalemodel_core::sim::{Config, Discard, Report, Sim};
use scalemodel_core::{MachineId, N};

use crate::cli::{Rates, SimArgs};
use crate::rundir::{self, CsvSink, Params};

/// Messages each simulated inbox holds: far more than a day-long run at rates 1..=6 queues.
pub const INBOX_CAP: usize = 1 << 14;
/// Messages each simulated link holds before its sender stalls.
pub const LINK_CAP: usize = 1 << 12;

/// The simulator with the host's capacities.
type HostSim = Sim<INBOX_CAP, LINK_CAP>;

/// Runs `scalemodel sim`.
pub fn run(args: &SimArgs) -> Result<()> {
    let model = &args.model;
    let seed = model.seed_or_random();
    let rates = model.rates.resolve(seed);
    println!("seed {seed}");
    let config = Config {
        seed,
        rates,
        sides: model.sides,
        duration_ns: (model.duration * 1e9).round() as u64,
        latency_ns: nanos(args.latency, "--latency")?,
        jitter_ns: nanos(args.jitter, "--jitter")?,
        start_ns: args.start_ns,
        speed: model.speed,
    };
    let [r0, r1, r2] = rates;
    println!(
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
    println!(
        "replay: scalemodel sim --seed {seed} --rates {r0},{r1},{r2} --sides {} --duration {} --speed {} --latency {} --jitter {} --start-ns {}",
        config.sides,
        model.duration,
        config.speed,
        humantime::format_duration(args.latency),
        humantime::format_duration(args.jitter),
        config.start_ns,
    );

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

    let (report, elapsed) = simulate(config, sink)?;

    let rate_range = match &model.rates {
        Rates::Range(r) => Some([*r.start(), *r.end()]),
        Rates::Exact(_) => None,
    };
    let mut params = Params::sim(&config, rate_range, model.duration, INBOX_CAP, LINK_CAP);
    params.summarise(&report);
    if let Some(dir) = &out {
        params.write(dir)?;
    }

    print_table(&report);
    let ticks: u64 = report.machines.iter().map(|m| m.tally.ticks).sum();
    println!(
        "simulated {ticks} machine-ticks in {:.3} s: {:.2} M machine-ticks/s{}",
        elapsed.as_secs_f64(),
        ticks as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6,
        if args.no_log { " (no log)" } else { "" },
    );
    match &out {
        Some(dir) => println!("wrote {}", dir.display()),
        None => println!("wrote nothing (--no-log without --out)"),
    }
    Ok(())
}

/// Runs the simulator on a thread with room for its fixed-capacity queues on
/// the stack; returns the report and the time the run itself took.
fn simulate(config: Config, sink: Option<CsvSink>) -> Result<(Report, Duration)> {
    // The simulator keeps its queues inline (no allocation in the core): about
    // 2 MiB at the host's capacities, more than a default thread's stack.
    const STACK_BYTES: usize = 64 << 20;
    let work = move || -> Result<(Report, Duration)> {
        let mut sim = HostSim::new(config).context("invalid model parameters")?;
        let started = Instant::now();
        match sink {
            Some(mut sink) => {
                let report = sim.run(&mut sink)?;
                let elapsed = started.elapsed();
                sink.finish()?;
                Ok((report, elapsed))
            }
            None => {
                let report = sim.run(&mut Discard)?;
                Ok((report, started.elapsed()))
            }
        }
    };
    std::thread::Builder::new()
        .name("sim".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(work)
        .context("cannot start the simulator thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the simulator thread panicked"))?
}

fn nanos(d: Duration, flag: &str) -> Result<u64> {
    u64::try_from(d.as_nanos()).with_context(|| format!("{flag} is too long"))
}

fn print_table(report: &Report) {
    println!(
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
        println!(
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
            println!(
                "        machine {id}: stalled {} times ({:.3} s) on a full link; {} arrivals held by a full inbox",
                m.stalls,
                m.stalled_ns as f64 / 1e9,
                m.held
            );
        }
    }
    let unbalanced = report.links.iter().filter(|l| !l.balanced()).count();
    let in_flight: u64 = report.links.iter().map(|l| l.in_flight).sum();
    let queued: u64 = report.links.iter().map(|l| l.queued).sum();
    println!(
        "links: {queued} messages left in inboxes, {in_flight} in flight, {} of {} links balanced",
        report.links.len() - unbalanced,
        report.links.len()
    );
    let _ = N;
}
