//! `scalemodel analyze DIR…`: check each run against the model, measure it,
//! and write `report.md`, `report.json` and four pictures into it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use scalemodel_core::MachineId;
use serde::Serialize;

use crate::analysis::{self, MachineFigures, fastest};
use crate::check::{self, Run, Violations};
use crate::merge;
use crate::outln;
use crate::plot;
use crate::rundir::{self, LinkSummary, Params};
use crate::text::{count, signed};

/// The pictures every report links to, with their titles.
pub const PLOTS: [(&str, &str); 4] = [
    ("clocks.png", "Logical clocks"),
    ("queues.png", "Inbox lengths"),
    ("jumps.png", "Clock jumps"),
    ("drift.png", "Drift behind the fastest machine"),
];

/// `report.json`: the same figures as `report.md`, for programs.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `sim` or `net`.
    pub mode: String,
    /// The run's seed.
    pub seed: u64,
    /// Model seconds.
    pub duration_s: f64,
    /// Faces of the die.
    pub sides: u8,
    /// Each machine's rate.
    pub rates: [u32; 3],
    /// Broken rules, as `file line N (tick T): rule: detail`: the first
    /// [`check::VIOLATIONS_KEPT`].
    pub violations: Vec<String>,
    /// Every broken rule found, listed or not.
    pub violations_total: u64,
    /// Per machine.
    pub machines: Vec<MachineFigures>,
    /// Per directed link.
    pub links: Vec<LinkSummary>,
}

/// A run, analysed.
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
}

/// Reads, checks and measures the run in `dir`.
///
/// A directory of hand-started nodes (three `node-<id>.json`, no
/// `params.json` yet) gets its `params.json` merged from them first.
pub fn analyse(dir: &Path) -> Result<Analysis> {
    let nodes_only = !dir.join(rundir::PARAMS).exists()
        && MachineId::ALL
            .iter()
            .all(|&id| dir.join(rundir::node_name(id)).exists());
    if nodes_only {
        merge::merge_nodes(dir)?.write(dir)?;
        outln!("{}: merged node-0/1/2.json into params.json", dir.display());
    }
    Ok(analysis_of(dir, check::read_run(dir)?))
}

/// Prints what the exercise asks of a run, machine by machine: its rate, its
/// final clock, its largest jump, how far its clock trails the fastest
/// machine's, and how its inbox grew against the queueing prediction.
pub fn print_science(a: &Analysis) {
    let against = a.figures.first().map_or(0, |m| m.drift.against);
    outln!(
        "{:>7} {:>4} {:>11} {:>12} {:>28} {:>30}",
        "machine",
        "rate",
        "final clock",
        "largest jump",
        format!("trails machine {against} mean / max"),
        "inbox growth /s (predicted)"
    );
    for m in &a.figures {
        outln!(
            "{:>7} {:>4} {:>11} {:>12} {:>28} {:>30}",
            m.id,
            m.rate,
            m.final_clock,
            m.jumps.max,
            format!("{:.1} / {}", m.drift.mean, m.drift.max),
            format!(
                "{} ({:.2})",
                signed(m.queue.growth_per_s, 2),
                m.estimate.predicted_growth_per_s
            ),
        );
    }
}

/// Checks and measures `run`, read from `dir`.
pub fn analysis_of(dir: &Path, run: Run) -> Analysis {
    let violations = check::check_run(&run);
    let figures = analysis::measure(&run);
    Analysis {
        dir: dir.to_owned(),
        run,
        violations,
        figures,
    }
}

/// True when `dir` is one run: a `params.json`, or a hand-started run's
/// `node-<id>.json` to merge.
fn is_run(dir: &Path) -> bool {
    dir.join(rundir::PARAMS).exists() || dir.join(rundir::node_name(MachineId::ZERO)).exists()
}

/// The runs `dir` names: itself when it is one, or else the runs one level
/// below it (the trials `run` and `sim` write, `trial-1` … `trial-N`, in
/// number order); itself again when there are none, so that its error names
/// what is missing.
fn runs_in(dir: &Path) -> Vec<PathBuf> {
    if is_run(dir) {
        return vec![dir.to_owned()];
    }
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_dir() && is_run(p))
        .collect();
    // `trial-2` before `trial-10`: by the number a name ends in, then by name.
    let number = |p: &PathBuf| -> (u64, PathBuf) {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let n = name[name.len() - digits..].parse().unwrap_or(u64::MAX);
        (n, p.clone())
    };
    runs.sort_by_cached_key(number);
    if runs.is_empty() {
        runs.push(dir.to_owned());
    }
    runs
}

/// Runs `scalemodel analyze`: each DIR is a run, or a folder of runs (the
/// trials of `scalemodel run`).
pub fn run(dirs: &[PathBuf]) -> Result<()> {
    let mut failed = Vec::new();
    for dir in dirs.iter().flat_map(|d| runs_in(d)) {
        let dir = &dir;
        if !is_run(dir) {
            eprintln!(
                "{}: no run here: no params.json, and no folder in it with one (such as a trial-1/ of `scalemodel run`)",
                dir.display()
            );
            failed.push(format!("{} could not be analysed", dir.display()));
            continue;
        }
        let started = Instant::now();
        match analyse(dir).and_then(|a| write(&a).map(|()| a)) {
            Ok(a) => {
                outln!("{}", summary_line(&a, started.elapsed().as_secs_f64()));
                for v in a.violations.iter().take(50) {
                    outln!("  {v}");
                }
                let total = a.violations.total();
                if total > 50 {
                    outln!(
                        "  … and {} more; report.md lists the first {}",
                        total - 50,
                        a.violations.len()
                    );
                }
                if total > 0 {
                    failed.push(format!("{} breaks {total} rules", dir.display()));
                }
            }
            Err(e) => {
                eprintln!("{}: {e:#}", dir.display());
                failed.push(format!("{} could not be analysed", dir.display()));
            }
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

fn summary_line(a: &Analysis, secs: f64) -> String {
    let slow = a.figures.iter().min_by_key(|m| m.rate);
    let verdict = if a.violations.is_empty() {
        "conforms".to_owned()
    } else {
        count(a.violations.total(), "violation")
    };
    let queue = slow.map_or_else(String::new, |m| {
        format!(
            "; slowest machine {} inbox growth {} msgs/s (predicted {:.2}), max jump {}",
            m.id,
            signed(m.queue.growth_per_s, 2),
            m.estimate.predicted_growth_per_s,
            m.jumps.max
        )
    });
    let ends = not_completed(&a.run.params)
        .map(|e| format!("; not completed: {e}"))
        .unwrap_or_default();
    format!(
        "{}: {verdict}{ends}{queue}; analysed in {secs:.3} s",
        a.dir.display()
    )
}

/// The machines that did not end `completed`, e.g. `machine 1 crashed,
/// machine 0 peer lost`; `None` when every machine completed.
fn not_completed(p: &Params) -> Option<String> {
    let odd: Vec<String> = p
        .machines
        .iter()
        .filter(|m| m.end != rundir::End::Completed)
        .map(|m| format!("machine {} {}", m.id, m.end))
        .collect();
    (!odd.is_empty()).then(|| odd.join(", "))
}

/// Writes `report.json`, the pictures and `report.md` into the run directory.
pub fn write(a: &Analysis) -> Result<()> {
    let p = &a.run.params;
    let report = Report {
        mode: p.mode.clone(),
        seed: p.seed,
        duration_s: p.duration_s,
        sides: p.sides,
        rates: p.rates,
        violations: a.violations.iter().map(ToString::to_string).collect(),
        violations_total: a.violations.total(),
        machines: a.figures.clone(),
        links: p.links.clone(),
    };
    let json = serde_json::to_string_pretty(&report)? + "\n";
    std::fs::write(a.dir.join("report.json"), json).context("writing report.json")?;
    plots(a)?;
    std::fs::write(a.dir.join("report.md"), markdown(a)).context("writing report.md")?;
    Ok(())
}

fn legend(m: &MachineFigures) -> String {
    format!("machine {} ({}/s)", m.id, m.rate)
}

fn plots(a: &Analysis) -> Result<()> {
    let (logs, figs, p) = (&a.run.logs, &a.figures, &a.run.params);
    let series = |y: fn(&check::Row) -> f64| -> Vec<plot::Series> {
        figs.iter()
            .zip(logs.iter())
            .map(|(m, rows)| {
                (
                    legend(m),
                    rows.iter()
                        .map(|r| (r.model_ns as f64 / 1e9, y(r)))
                        .collect(),
                )
            })
            .collect()
    };
    plot::lines(
        &a.dir.join(PLOTS[0].0),
        "Logical clock against model time",
        "Lamport clock",
        &series(|r| r.clock as f64),
    )?;
    plot::lines(
        &a.dir.join(PLOTS[1].0),
        "Inbox length after each event",
        "messages waiting",
        &series(|r| r.queue_len as f64),
    )?;
    let panels: Vec<(String, Vec<(u64, u64)>)> = figs
        .iter()
        .map(|m| {
            let name = format!(
                "{}: {} jumps > 1, largest {}",
                legend(m),
                m.jumps.jumps,
                m.jumps.max
            );
            (
                name,
                m.jumps.histogram.iter().map(|(&k, &v)| (k, v)).collect(),
            )
        })
        .collect();
    plot::histograms(
        &a.dir.join(PLOTS[2].0),
        "Size of each clock change",
        &panels,
    )?;
    let fast = fastest(&p.rates);
    let end_ns = (p.duration_s * 1e9) as u64;
    let drift: Vec<plot::Series> = figs
        .iter()
        .zip(logs.iter())
        .map(|(m, rows)| (legend(m), analysis::drift_series(&logs[fast], rows, end_ns)))
        .collect();
    plot::lines(
        &a.dir.join(PLOTS[3].0),
        &format!("How far each clock trails machine {fast}, the fastest"),
        "clock units behind",
        &drift,
    )?;
    Ok(())
}

/// `report.md`: short sections, tables, the pictures by relative path, units on every number.
pub fn markdown(a: &Analysis) -> String {
    let p = &a.run.params;
    let mut md = String::new();
    let name = a.dir.file_name().map_or_else(
        || a.dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let [r0, r1, r2] = p.rates;
    let drawn = p.rate_range.map_or_else(
        || "given".to_owned(),
        |[lo, hi]| format!("drawn from {lo}..={hi}"),
    );
    let _ = writeln!(md, "# Run `{name}`\n");
    let _ = writeln!(
        md,
        "A `{}` run with seed {}: {} s of model time at speed {}, a die of {} sides, rates {r0}, {r1} and {r2} ticks/s ({drawn}).\n",
        p.mode, p.seed, p.duration_s, p.speed, p.sides
    );
    let _ = writeln!(md, "## Conformance\n");
    if a.violations.is_empty() {
        let _ = writeln!(
            md,
            "Every rule of the model holds: the receive rule, clocks that only increase, sends and internal events only with an empty inbox, each receive matched to one earlier send on its link by `seq` with the same clock, FIFO links, conservation per link, ticks on schedule.\n"
        );
    } else {
        let _ = writeln!(md, "**{} violations:**\n", a.violations.total());
        for v in a.violations.iter() {
            let _ = writeln!(md, "- {v}");
        }
        if a.violations.not_kept() > 0 {
            let _ = writeln!(
                md,
                "- … and {} more, counted but not listed.",
                a.violations.not_kept()
            );
        }
        md.push('\n');
    }
    if let Some(ends) = not_completed(p) {
        let _ = writeln!(
            md,
            "**Not every machine completed** ({ends}): the model did not hold to the end of this run, so its figures describe a run with faults or overload.\n"
        );
    }
    let _ = writeln!(md, "## Machines\n");
    let _ = writeln!(
        md,
        "| machine | rate (ticks/s) | ticks | receive / send / internal | final clock | jumps > 1 | mean jump | p99 change | largest change | drift mean / max (clock units) | drift trend (units/s) | inbox mean / p99 / max (msgs) | inbox growth (msgs/s) |"
    );
    let _ = writeln!(
        md,
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---|---:|"
    );
    for m in &a.figures {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} / {} / {} | {} | {} | {:.2} | {} | {} | {:.1} / {} | {} | {:.1} / {} / {} | {} |",
            m.id,
            m.rate,
            m.ticks,
            m.receives,
            m.sends,
            m.internals,
            m.final_clock,
            m.jumps.jumps,
            m.jumps.mean_jump,
            m.jumps.p99,
            m.jumps.max,
            m.drift.mean,
            m.drift.max,
            signed(m.drift.trend_per_s, 2),
            m.queue.mean,
            m.queue.p99,
            m.queue.max,
            signed(m.queue.growth_per_s, 3)
        );
    }
    let _ = writeln!(
        md,
        "\nA jump is a change of the clock by more than 1 in one event (only a receive can jump). Drift is how far a clock trails machine {}'s, the fastest, at the same model time.\n",
        fastest(&p.rates)
    );
    let _ = writeln!(md, "## Queueing estimate\n");
    let _ = writeln!(
        md,
        "Each tick without a message sends to each peer with probability 2/{} (face 3, and face 1 or 2), so a machine's arrivals are 2/{} of its peers' free ticks per second, and a machine whose arrivals exceed its rate never has a free tick.\n",
        p.sides, p.sides
    );
    let _ = writeln!(
        md,
        "| machine | arrivals (msgs/s) | service (msgs/s) | predicted growth (msgs/s) | measured growth (msgs/s) |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|");
    for m in &a.figures {
        let e = &m.estimate;
        let _ = writeln!(
            md,
            "| {} | {:.2} | {:.2} | {:.2} | {} |",
            m.id,
            e.arrivals_per_s,
            e.service_per_s,
            e.predicted_growth_per_s,
            signed(e.measured_growth_per_s, 2)
        );
    }
    let _ = writeln!(md, "\n## Links\n");
    let _ = writeln!(
        md,
        "| link | sent (msgs) | received (msgs) | left in inbox (msgs) | in flight (msgs) |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    for l in &p.links {
        let _ = writeln!(
            md,
            "| {} → {} | {} | {} | {} | {} |",
            l.from, l.to, l.sent, l.received, l.queued, l.in_flight
        );
    }
    if a.figures.iter().any(|m| m.timing.is_some()) {
        let _ = writeln!(md, "\n## Timing\n");
        let _ = writeln!(
            md,
            "| machine | rate error (%) | lateness p50 / p99 / max (µs) |"
        );
        let _ = writeln!(md, "|---:|---:|---|");
        for m in &a.figures {
            if let Some(t) = m.timing {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.0} / {:.0} / {:.0} |",
                    m.id,
                    signed(t.rate_error_pct, 4),
                    t.late_p50_us,
                    t.late_p99_us,
                    t.late_max_us
                );
            }
        }
    }
    let _ = writeln!(md, "\n## Pictures\n");
    for (file, title) in PLOTS {
        let _ = writeln!(md, "![{title}]({file})\n");
    }
    md
}
