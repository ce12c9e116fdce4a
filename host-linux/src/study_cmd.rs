//! `scalemodel study`: the exercise's whole protocol, side by side.
//!
//! Four configurations — the standard one, a smaller spread of rates, fewer
//! internal events, and both — each run `--trials` times (on the network, or
//! in the simulator with `--sim`), every trial analysed, and one
//! `report.md` comparing them, with the exercise's observations checked
//! against the data. Every verdict is computed; none is written by hand.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::analysis::Analysis;
use crate::analysis::{self, MachineFigures};
use crate::analyze_cmd;
use crate::cli::{Rates, StudyArgs};
use crate::outln;
use crate::procinfo::scalemodel_command;
use crate::report;
use crate::rundir;
use crate::text::count;

/// One configuration of the study.
struct Setup {
    name: &'static str,
    folder: &'static str,
    rates: Rates,
    sides: u8,
}

/// A configuration's analysed trials.
struct Outcome {
    setup: Setup,
    trials: Vec<Analysis>,
}

/// Runs `scalemodel study`.
pub fn run(args: &StudyArgs) -> Result<()> {
    let seed = args.seed.unwrap_or_else(crate::cli::random_u64);
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => rundir::default_out("study")?,
    };
    rundir::create(&out)?;
    let small = args.small_rates.clone();
    let setups = [
        Setup {
            name: "standard",
            folder: "standard",
            rates: Rates::Range(1..=6),
            sides: 10,
        },
        Setup {
            name: "smaller spread of rates",
            folder: "smaller-spread",
            rates: small.clone(),
            sides: 10,
        },
        Setup {
            name: "fewer internal events",
            folder: "fewer-internal",
            rates: Rates::Range(1..=6),
            sides: 4,
        },
        Setup {
            name: "both",
            folder: "both",
            rates: small,
            sides: 4,
        },
    ];
    outln!(
        "study: seed {seed}, {} of {} s per configuration, {}, into {}",
        count(args.trials, "trial"),
        args.duration,
        if args.sim {
            "in the simulator"
        } else {
            "on the network"
        },
        out.display()
    );
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for setup in setups {
        let dir = out.join(setup.folder);
        let dirs = if args.sim {
            simulate(args, seed, &setup, &dir)?
        } else {
            network(args, seed, &setup, &dir)?
        };
        let mut trials = Vec::new();
        for d in dirs {
            let a = analyze_cmd::analyse(&d)?;
            report::write(&a)?;
            if !a.violations.is_empty() {
                bail!(
                    "{} breaks {} rules of the model; see its report.md",
                    d.display(),
                    a.violations.total()
                );
            }
            trials.push(a);
        }
        outln!(
            "  {}: {} analysed",
            setup.name,
            count(trials.len() as u64, "trial")
        );
        outcomes.push(Outcome { setup, trials });
    }
    let report = report(args, seed, &outcomes);
    std::fs::write(out.join("report.md"), &report).context("writing report.md")?;
    for line in report.lines().filter(|l| l.starts_with("- **")) {
        outln!("{}", line.trim_start_matches("- "));
    }
    outln!(
        "study took {:.1} s; wrote {}",
        started.elapsed().as_secs_f64(),
        out.join("report.md").display()
    );
    Ok(())
}

fn simulate(args: &StudyArgs, seed: u64, setup: &Setup, dir: &Path) -> Result<Vec<PathBuf>> {
    (1..=args.trials)
        .map(|k| {
            let trial = dir.join(format!("trial-{k}"));
            let status = scalemodel_command()
                .args([
                    "sim",
                    "--seed",
                    &seed.wrapping_add(u64::from(k - 1)).to_string(),
                ])
                .args([
                    "--rates",
                    &setup.rates.to_string(),
                    "--sides",
                    &setup.sides.to_string(),
                ])
                .args(["--duration", &args.duration.to_string()])
                .arg("--out")
                .arg(&trial)
                .stdout(std::process::Stdio::null())
                .status()?;
            if !status.success() {
                bail!(
                    "scalemodel sim failed for {} trial {k}: {status}",
                    setup.name
                );
            }
            Ok(trial)
        })
        .collect()
}

fn network(args: &StudyArgs, seed: u64, setup: &Setup, dir: &Path) -> Result<Vec<PathBuf>> {
    outln!(
        "== {}: rates {}, die of {}",
        setup.name,
        setup.rates,
        setup.sides
    );
    let status = scalemodel_command()
        .args([
            "run",
            "--trials",
            &args.trials.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .args([
            "--rates",
            &setup.rates.to_string(),
            "--sides",
            &setup.sides.to_string(),
        ])
        .args([
            "--duration",
            &args.duration.to_string(),
            "--speed",
            &args.speed.to_string(),
        ])
        .arg("--out")
        .arg(dir)
        .status()?;
    if !status.success() {
        bail!("scalemodel run failed for {}: {status}", setup.name);
    }
    Ok((1..=args.trials)
        .map(|k| dir.join(format!("trial-{k}")))
        .collect())
}

/// The slowest machines of a run (all those with the lowest rate).
fn slowest(figs: &[MachineFigures]) -> Vec<&MachineFigures> {
    let min = figs.iter().map(|m| m.rate).min().unwrap_or(0);
    figs.iter().filter(|m| m.rate == min).collect()
}

fn fastest(a: &Analysis) -> Option<&MachineFigures> {
    a.figures.get(analysis::fastest(&a.run.params.rates))
}

fn mean_sd(values: &[f64]) -> String {
    if values.is_empty() {
        return "–".to_owned();
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    format!("{mean:.2} ± {sd:.2}")
}

/// The mean inbox length of the slowest machine in each quarter of the run.
fn quarters(a: &Analysis, id: u8) -> [f64; 4] {
    let end = a.run.params.duration_s * 1e9;
    let mut sums = [(0.0, 0u32); 4];
    for r in &a.run.logs[usize::from(id)] {
        let q = ((r.model_ns as f64 / end * 4.0) as usize).min(3);
        sums[q].0 += r.queue_len as f64;
        sums[q].1 += 1;
    }
    sums.map(|(s, n)| if n == 0 { 0.0 } else { s / f64::from(n) })
}

/// A checked statement: how many trials it held in, out of how many it applied to.
struct Verdict {
    statement: String,
    held: usize,
    of: usize,
    note: String,
}

fn verdicts(outcomes: &[Outcome]) -> Vec<Verdict> {
    let all = || outcomes.iter().flat_map(|o| o.trials.iter());
    let mut v = Vec::new();

    // 1. The slowest machine's clock jumps the most.
    let applicable: Vec<&Analysis> = all().filter(|a| slowest(&a.figures).len() < 3).collect();
    let held = applicable
        .iter()
        .filter(|a| {
            let top = a.figures.iter().map(|m| m.jumps.max).max().unwrap_or(0);
            slowest(&a.figures).iter().any(|m| m.jumps.max == top)
        })
        .count();
    v.push(Verdict {
        statement: "the slowest machine has the largest clock jumps".to_owned(),
        held,
        of: applicable.len(),
        note: format!(
            "over all configurations; {} trials with three equal rates skipped",
            all().count() - applicable.len()
        ),
    });

    // 2. With a die of 4, a machine at most a third as fast as the fastest falls behind for good.
    let applicable: Vec<&Analysis> = all()
        .filter(|a| a.run.params.sides == 4)
        .filter(|a| {
            let (lo, hi) = (
                a.run.params.rates.iter().min(),
                a.run.params.rates.iter().max(),
            );
            matches!((lo, hi), (Some(lo), Some(hi)) if lo * 3 <= *hi)
        })
        .collect();
    let held = applicable
        .iter()
        .filter(|a| {
            slowest(&a.figures).iter().all(|m| {
                let q = quarters(a, m.id);
                q.windows(2).all(|w| w[1] > w[0])
            })
        })
        .count();
    v.push(Verdict {
        statement: "with a die of 4 the slowest machine's queue grows throughout the run whenever its rate is at most a third of the fastest".to_owned(),
        held,
        of: applicable.len(),
        note: "grows throughout: its mean inbox length rises from each quarter of the run to the next".to_owned(),
    });

    // 3. The queueing estimate predicts the slowest machine's growth.
    let applicable: Vec<&Analysis> = all()
        .filter(|a| {
            slowest(&a.figures)
                .iter()
                .any(|m| m.estimate.predicted_growth_per_s > 0.5)
        })
        .collect();
    let held = applicable
        .iter()
        .filter(|a| {
            slowest(&a.figures).iter().all(|m| {
                let e = &m.estimate;
                (e.measured_growth_per_s - e.predicted_growth_per_s).abs()
                    <= 0.1 * e.predicted_growth_per_s
            })
        })
        .count();
    v.push(Verdict {
        statement: "the queueing estimate predicts the slowest machine's inbox growth within 10 %"
            .to_owned(),
        held,
        of: applicable.len(),
        note: "in the trials where it predicts growth above 0.5 msgs/s".to_owned(),
    });

    // 4. With the defaults the fastest machine's clock barely jumps.
    let standard: Vec<&Analysis> = outcomes
        .first()
        .map(|o| o.trials.iter().collect())
        .unwrap_or_default();
    let held = standard
        .iter()
        .filter(|a| fastest(a).is_some_and(|m| m.jumps.jumps as f64 <= 0.05 * m.ticks as f64))
        .count();
    v.push(Verdict {
        statement: "with the defaults the fastest machine's clock barely jumps".to_owned(),
        held,
        of: standard.len(),
        note: "barely: at most 5 % of its events change its clock by more than 1".to_owned(),
    });

    // 5. A smaller spread of rates shrinks the drift (trial by trial, same seeds).
    for (wide, narrow, die) in [(0, 1, 10), (2, 3, 4)] {
        let (Some(w), Some(n)) = (outcomes.get(wide), outcomes.get(narrow)) else {
            continue;
        };
        let max_drift = |a: &Analysis| a.figures.iter().map(|m| m.drift.max).max().unwrap_or(0);
        let pairs = w.trials.iter().zip(&n.trials);
        let held = pairs
            .clone()
            .filter(|(a, b)| max_drift(b) < max_drift(a))
            .count();
        v.push(Verdict {
            statement: format!(
                "a smaller spread of rates ({}) means less drift than 1..=6 (die of {die})",
                n.setup.rates
            ),
            held,
            of: pairs.count(),
            note: "largest drift behind the fastest machine, trial k against trial k".to_owned(),
        });
    }
    v
}

fn report(args: &StudyArgs, seed: u64, outcomes: &[Outcome]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Study: the exercise's experiments side by side\n");
    let _ = writeln!(
        md,
        "{} trials of {} s of model time per configuration, {}, seeds {seed} to {} (trial k of every configuration uses seed {seed} + k − 1). Each trial's own report is in its folder.\n",
        args.trials,
        args.duration,
        if args.sim {
            "in the deterministic simulator"
        } else {
            "on the network (three processes over TCP on loopback)"
        },
        seed.wrapping_add(u64::from(args.trials) - 1),
    );
    let _ = writeln!(md, "## Key figures\n");
    let _ = writeln!(md, "Mean ± standard deviation over the trials.\n");
    let _ = writeln!(
        md,
        "| configuration | rates (ticks/s) | die | slowest: largest jump (clock units) | fastest: largest jump | largest drift (clock units) | slowest: inbox growth (msgs/s) | slowest: max inbox (msgs) | receives per event (%) |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for o in outcomes {
        let col =
            |f: &dyn Fn(&Analysis) -> f64| mean_sd(&o.trials.iter().map(f).collect::<Vec<_>>());
        let slow = |a: &Analysis, f: fn(&MachineFigures) -> f64| {
            slowest(&a.figures)
                .iter()
                .map(|m| f(m))
                .fold(f64::MIN, f64::max)
        };
        let _ = writeln!(
            md,
            "| [{}]({}/) | {} | {} | {} | {} | {} | {} | {} | {} |",
            o.setup.name,
            o.setup.folder,
            o.setup.rates,
            o.setup.sides,
            col(&|a| slow(a, |m| m.jumps.max as f64)),
            col(&|a| fastest(a).map_or(0.0, |m| m.jumps.max as f64)),
            col(&|a| a.figures.iter().map(|m| m.drift.max).max().unwrap_or(0) as f64),
            col(&|a| slow(a, |m| m.queue.growth_per_s)),
            col(&|a| slow(a, |m| m.queue.max as f64)),
            col(&|a| {
                let (rx, all) = a
                    .figures
                    .iter()
                    .fold((0, 0), |(r, t), m| (r + m.receives, t + m.ticks));
                100.0 * rx as f64 / all.max(1) as f64
            }),
        );
    }
    let _ = writeln!(md, "\n## The exercise's observations, checked\n");
    for v in verdicts(outcomes) {
        // Said as a count of where it held, so that "1 of 3" reads right.
        let mark = if v.of == 0 {
            "not tested".to_owned()
        } else if v.held == v.of {
            format!("holds in all {}", count(v.of as u64, "trial"))
        } else {
            format!("holds in {} of {}", v.held, count(v.of as u64, "trial"))
        };
        let _ = writeln!(md, "- **{}**: {mark}. ({})", v.statement, v.note);
    }
    let _ = writeln!(md, "\n## Pictures (trial 1 of each configuration)\n");
    let header: Vec<&str> = outcomes.iter().map(|o| o.setup.name).collect();
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(outcomes.len()));
    for (file, title) in report::PLOTS {
        let cells: Vec<String> = outcomes
            .iter()
            .map(|o| {
                format!(
                    "![{title}, {}]({}/trial-1/{file})",
                    o.setup.name, o.setup.folder
                )
            })
            .collect();
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    md
}
