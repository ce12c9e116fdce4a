//! `scalemodel replay`: a trial run again in the simulator with what it
//! measured, and the two compared row by row (see [`crate::replay`]).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use scalemodel_core::MachineId;
use scalemodel_core::fault::Faults;

use crate::analyze_cmd;
use crate::caps::{INBOX_CAP, LINK_CAP};
use crate::cli::ReplayArgs;
use crate::outln;
use crate::replay::{self, Agreement, Plan, Records};
use crate::rundir::{self, Kind, LogWriter, Params, Row, Run};

/// Runs `scalemodel replay`.
pub fn run(args: &ReplayArgs) -> Result<()> {
    let dir = &args.dir;
    // A hand-started trial gets its params.json first, as `analyze` does.
    analyze_cmd::prepare(dir)?;
    let run = rundir::read_run(dir)
        .with_context(|| format!("cannot read the trial in {}", dir.display()))?;
    crate::cli::only_three("replay", run.params.rates.len(), run.params.topology)
        .map_err(anyhow::Error::msg)?;
    let latency = match args.latency {
        Some(d) => nanos(d, "--latency")?,
        None => replay::default_latency(&run.params),
    };
    let plan = replay::plan(&run, latency, nanos(args.jitter, "--jitter")?)?;
    // Refused before the work, not after it: a new or empty folder.
    if let Some(out) = &args.out {
        rundir::create(out)?;
    }
    let (records, report) = replay::simulate(&plan)?;
    let agreement = replay::compare(&run, &records, &plan);
    let text = describe(dir, &run, &plan, &agreement);
    outln!("{text}");
    if let Some(out) = &args.out {
        write(out, &plan, &records, &report, &text)?;
        outln!("wrote the replay into {}", out.display());
    }
    Ok(())
}

fn nanos(d: Duration, flag: &str) -> Result<u64> {
    u64::try_from(d.as_nanos()).with_context(|| format!("{flag} is too long"))
}

/// The replay's account in words: its parameters, the agreement per
/// machine, and each machine's first divergence with its reason.
fn describe(dir: &Path, run: &Run, plan: &Plan, a: &Agreement) -> String {
    let p = &run.params;
    let rates = crate::report::text::joined(&p.rates, ",");
    let mut t = String::new();
    let _ = writeln!(
        t,
        "replay of {} ({}, seed {}, rates {rates}, die of {}, speed {}, {} s) in the simulator",
        dir.display(),
        p.mode,
        p.seed,
        p.sides,
        p.speed,
        p.duration_s
    );
    let _ = writeln!(
        t,
        "links: {} µs{}; each message leaves when it left in the trial, in the order its receiver took it",
        plan.config.latency_ns as f64 / 1e3,
        match plan.config.jitter_ns {
            0 => String::new(),
            j => format!(" + up to {} µs of jitter", j as f64 / 1e3),
        },
    );
    let _ = writeln!(t, "faults the trial shows: {}", faults_text(&plan.faults));
    if plan.faults_left_out > 0 {
        let _ = writeln!(
            t,
            "  ({} more stalls not replayed: the simulator takes {} faults)",
            plan.faults_left_out,
            scalemodel_core::fault::FAULTS_MAX
        );
    }
    let _ = writeln!(t, "machine   rows  agree        %");
    for (m, &(agree, rows)) in a.rows.iter().enumerate() {
        let _ = writeln!(
            t,
            "{m:>7} {rows:>6} {agree:>6} {:>8.2}",
            percent(agree, rows)
        );
    }
    let (agree, rows) = a.total();
    let _ = writeln!(
        t,
        "{:>7} {rows:>6} {agree:>6} {:>8.2}",
        "all",
        percent(agree, rows)
    );
    for (m, d) in a.first.iter().enumerate() {
        let Some(d) = d else { continue };
        let _ = writeln!(
            t,
            "machine {m} first parts at line {} of {}:",
            d.line,
            rundir::log_name(MachineId::ALL[m])
        );
        let _ = writeln!(
            t,
            "  trial:  {}",
            d.net.as_ref().map_or("(no line)".to_owned(), line)
        );
        let _ = writeln!(
            t,
            "  replay: {}",
            d.replay.as_ref().map_or("(no line)".to_owned(), line)
        );
        let _ = writeln!(t, "  why: {}", d.why);
    }
    if a.first.iter().all(Option::is_none) {
        let _ = writeln!(t, "every row agrees (all fields but system_ns)");
    }
    t.truncate(t.trim_end().len());
    t
}

fn percent(part: usize, all: usize) -> f64 {
    if all == 0 {
        100.0
    } else {
        100.0 * part as f64 / all as f64
    }
}

fn faults_text(faults: &Faults) -> String {
    if faults.as_slice().is_empty() {
        "none".to_owned()
    } else {
        faults.to_string()
    }
}

/// A row as its log line.
fn line(r: &Row) -> String {
    let join = |v: &[String]| v.join(";");
    let kind = match r.kind {
        Kind::Send => "send",
        Kind::Receive => "receive",
        Kind::Internal => "internal",
    };
    format!(
        "{},{},{},{},{kind},{},{},{},{},{}",
        r.machine,
        r.tick,
        r.model_ns,
        r.system_ns,
        r.clock,
        r.queue_len,
        join(&r.peers.iter().map(ToString::to_string).collect::<Vec<_>>()),
        r.msg_clock.map_or(String::new(), |c| c.to_string()),
        join(&r.seqs.iter().map(ToString::to_string).collect::<Vec<_>>()),
    )
}

/// Writes the replay as a run directory (made by [`run`]) with `replay.md`
/// beside its logs.
fn write(
    out: &Path,
    plan: &Plan,
    records: &Records,
    report: &scalemodel_core::sim::Report,
    text: &str,
) -> Result<()> {
    for id in MachineId::ALL {
        let mut log = LogWriter::create(out, id, "")?;
        for r in &records.0[id.index()] {
            log.write(r)?;
        }
        log.finish()?;
    }
    let duration_s = plan.config.duration_ns as f64 / 1e9;
    let mut params = Params::sim(&plan.config, None, duration_s, INBOX_CAP, LINK_CAP);
    params.summarise(report);
    params.write(out)?;
    let md = out.join("replay.md");
    std::fs::write(&md, format!("# Replay\n\n```\n{text}\n```\n"))
        .with_context(|| format!("cannot write {}", md.display()))
}
