//! The report across trials: a run's trials, or a study's configurations,
//! side by side on shared scales, with the exercise's observations checked
//! against them.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{ReportError, write_file};

use crate::analysis::{self, Analysis, MachineFigures};
use crate::rundir::End;
use crate::text::{count, fixed};

/// One trial's headline figures.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRow {
    /// Its folder, relative to the report across trials (`trial-1`,
    /// `standard/trial-2`); its own `report.html` is in it.
    pub path: String,
    /// Its seed.
    pub seed: u64,
    /// Each machine's rate, ticks per model second.
    pub rates: [u32; 3],
    /// Faces of the die.
    pub sides: u8,
    /// Model seconds.
    pub duration_s: f64,
    /// Every machine ended `completed`.
    pub completed: bool,
    /// Broken rules found by the checker.
    pub violations: u64,
    /// The largest clock jump of any machine.
    pub largest_jump: u64,
    /// The largest gap of any machine behind the fastest, in clock units.
    pub largest_drift: i64,
    /// The slowest machine's inbox growth, msgs per model second (the
    /// largest among the slowest on a tie).
    pub slowest_growth_per_s: f64,
    /// What the queueing estimate predicts for it.
    pub slowest_predicted_per_s: f64,
    /// Every machine's figures.
    pub machines: Vec<MachineFigures>,
}

/// The slowest machines of a run (all those with the lowest rate).
pub fn slowest(figs: &[MachineFigures]) -> Vec<&MachineFigures> {
    let min = figs.iter().map(|m| m.rate).min().unwrap_or(0);
    figs.iter().filter(|m| m.rate == min).collect()
}

impl TrialRow {
    /// The row of analysed trial `a`, whose folder is `path` from the report.
    pub fn of(a: &Analysis, path: String) -> Self {
        let p = &a.run.params;
        let slow = slowest(&a.figures);
        let top = |f: fn(&MachineFigures) -> f64| slow.iter().map(|m| f(m)).fold(0.0, f64::max);
        Self {
            path,
            seed: p.seed,
            rates: p.rates,
            sides: p.sides,
            duration_s: p.duration_s,
            completed: p.machines.iter().all(|m| m.end == End::Completed),
            violations: a.violations.total(),
            largest_jump: a.figures.iter().map(|m| m.jumps.max).max().unwrap_or(0),
            largest_drift: a.figures.iter().map(|m| m.drift.max).max().unwrap_or(0),
            slowest_growth_per_s: top(|m| m.queue.growth_per_s),
            slowest_predicted_per_s: top(|m| m.estimate.predicted_growth_per_s),
            machines: a.figures.clone(),
        }
    }
}

/// One configuration's trials.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Its name: `standard`, `smaller spread of rates`, … or the run's own.
    pub name: String,
    /// Its rates as given on the command line (`1..=6`, `2,4,6`).
    pub rates: String,
    /// Faces of the die.
    pub sides: u8,
    /// Its trials, in order.
    pub trials: Vec<TrialRow>,
}

/// An observation of the exercise, checked against the trials it applies to.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// What is claimed.
    pub statement: String,
    /// Trials it held in.
    pub held: usize,
    /// Trials it applied to.
    pub of: usize,
    /// How it was tested.
    pub note: String,
}

/// The report across trials.
#[derive(Debug, Clone, Serialize)]
pub struct Set {
    /// Its title.
    pub title: String,
    /// Its configurations (one for a run).
    pub groups: Vec<Group>,
    /// The observations, checked.
    pub verdicts: Vec<Verdict>,
}

impl Verdict {
    /// Where it held, said so that it reads right: `holds in all 3 trials`,
    /// `holds in 1 of 3 trials`, `not tested`.
    pub fn held_in(&self) -> String {
        if self.of == 0 {
            "not tested".to_owned()
        } else if self.held == self.of {
            format!("holds in all {}", count(self.of as u64, "trial"))
        } else {
            format!(
                "holds in {} of {}",
                self.held,
                count(self.of as u64, "trial")
            )
        }
    }
}

fn fastest(a: &Analysis) -> Option<&MachineFigures> {
    a.figures.get(analysis::fastest(&a.run.params.rates))
}

/// The mean inbox length of machine `id` in each quarter of the run.
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

/// The exercise's observations that any set of trials can test, each
/// checked in the trials it applies to.
pub fn verdicts(trials: &[&Analysis]) -> Vec<Verdict> {
    let mut v = Vec::new();

    // 1. The slowest machine's clock jumps the most.
    let applicable: Vec<&&Analysis> = trials
        .iter()
        .filter(|a| slowest(&a.figures).len() < 3)
        .collect();
    let held = applicable
        .iter()
        .filter(|a| {
            let top = a.figures.iter().map(|m| m.jumps.max).max().unwrap_or(0);
            slowest(&a.figures).iter().any(|m| m.jumps.max == top)
        })
        .count();
    let skipped = trials.len() - applicable.len();
    v.push(Verdict {
        statement: "the slowest machine has the largest clock jumps".to_owned(),
        held,
        of: applicable.len(),
        note: if skipped == 0 {
            "its largest jump is the largest of the three".to_owned()
        } else {
            format!(
                "its largest jump is the largest of the three; {} with three equal rates skipped",
                count(skipped as u64, "trial")
            )
        },
    });

    // 2. With a die of 4, a machine at most a third as fast as the fastest falls behind for good.
    let applicable: Vec<&&Analysis> = trials
        .iter()
        .filter(|a| a.run.params.sides == 4)
        .filter(|a| {
            let r = &a.run.params.rates;
            let (lo, hi) = (r.iter().min(), r.iter().max());
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
    let applicable: Vec<&&Analysis> = trials
        .iter()
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
    let standard: Vec<&&Analysis> = trials
        .iter()
        .filter(|a| a.run.params.sides == 10 && a.run.params.rate_range == Some([1, 6]))
        .collect();
    let held = standard
        .iter()
        .filter(|a| fastest(a).is_some_and(|m| m.jumps.jumps as f64 <= 0.05 * m.ticks as f64))
        .count();
    v.push(Verdict {
        statement:
            "with the defaults (rates 1..=6, die of 10) the fastest machine's clock barely jumps"
                .to_owned(),
        held,
        of: standard.len(),
        note: "barely: at most 5 % of its events change its clock by more than 1".to_owned(),
    });
    v
}

/// A smaller spread of rates means less drift, checked trial by trial
/// between two configurations that differ only in their rates' range: the
/// same die, the same seeds in the same order, and one range inside the
/// other (a study's standard and smaller-spread configurations).
fn spread_verdicts(groups: &[(Group, Vec<(&Analysis, String)>)]) -> Vec<Verdict> {
    // The range the rates were drawn from, or the given rates' own span.
    let span = |a: &Analysis| {
        let p = &a.run.params;
        p.rate_range.unwrap_or_else(|| {
            let r = p.rates.iter().copied();
            [r.clone().min().unwrap_or(0), r.max().unwrap_or(0)]
        })
    };
    let range = |trials: &[(&Analysis, String)]| -> Option<[u32; 2]> {
        let first = span(trials.first()?.0);
        trials
            .iter()
            .all(|(a, _)| span(a) == first)
            .then_some(first)
    };
    let max_drift = |a: &Analysis| a.figures.iter().map(|m| m.drift.max).max().unwrap_or(0);
    let mut v = Vec::new();
    for (wide, w) in groups {
        for (narrow, n) in groups {
            let (Some([wl, wh]), Some([nl, nh])) = (range(w), range(n)) else {
                continue;
            };
            let inside = wl <= nl && nh <= wh && nh - nl < wh - wl;
            let paired = w.len() == n.len()
                && w.iter().zip(n).all(|((a, _), (b, _))| {
                    let (p, q) = (&a.run.params, &b.run.params);
                    p.seed == q.seed && p.sides == q.sides
                });
            if !inside || !paired {
                continue;
            }
            let held = w
                .iter()
                .zip(n)
                .filter(|((a, _), (b, _))| max_drift(b) < max_drift(a))
                .count();
            v.push(Verdict {
                statement: format!(
                    "a smaller spread of rates ({}) means less drift than {} (die of {})",
                    narrow.rates, wide.rates, wide.sides
                ),
                held,
                of: w.len(),
                note: "largest drift behind the fastest machine, trial k against trial k, which has the same seed"
                    .to_owned(),
            });
        }
    }
    v
}

impl Set {
    /// The set of `groups`, each a configuration's name, rates, die and
    /// analysed trials with their folders relative to the report; the
    /// verdicts are checked over every trial, and between configurations
    /// that differ only in their spread of rates.
    pub fn of(title: String, groups: Vec<(Group, Vec<(&Analysis, String)>)>) -> Self {
        let all: Vec<&Analysis> = groups
            .iter()
            .flat_map(|(_, t)| t.iter().map(|&(a, _)| a))
            .collect();
        let mut verdicts = verdicts(&all);
        verdicts.extend(spread_verdicts(&groups));
        let groups = groups
            .into_iter()
            .map(|(mut g, trials)| {
                g.trials = trials
                    .into_iter()
                    .map(|(a, path)| TrialRow::of(a, path))
                    .collect();
                g
            })
            .collect();
        Self {
            title,
            groups,
            verdicts,
        }
    }

    /// Every trial, with its configuration.
    fn trials(&self) -> impl Iterator<Item = (&Group, &TrialRow)> {
        self.groups
            .iter()
            .flat_map(|g| g.trials.iter().map(move |t| (g, t)))
    }
}

/// `median (min–max)` of `values`, with `decimals` places; `–` for none.
pub fn spread(values: &[f64], decimals: usize) -> String {
    match super::plot::summary(values) {
        None => "–".to_owned(),
        Some(s) if s.min == s.max => fixed(s.median, decimals),
        Some(s) => format!(
            "{} ({}–{})",
            fixed(s.median, decimals),
            fixed(s.min, decimals),
            fixed(s.max, decimals)
        ),
    }
}

fn fastest_of(t: &TrialRow) -> Option<&MachineFigures> {
    t.machines.get(analysis::fastest(&t.rates))
}

fn slowest_max(t: &TrialRow, f: fn(&MachineFigures) -> f64) -> f64 {
    slowest(&t.machines)
        .iter()
        .map(|m| f(m))
        .fold(f64::MIN, f64::max)
}

/// The figures compared across trials: a column title, its decimals, and
/// how to read it from a trial.
type Column = (&'static str, usize, fn(&TrialRow) -> f64);

const COLUMNS: [Column; 6] = [
    ("slowest: largest jump (clock units)", 0, |t| {
        slowest_max(t, |m| m.jumps.max as f64)
    }),
    ("fastest: largest jump (clock units)", 0, |t| {
        fastest_of(t).map_or(0.0, |m| m.jumps.max as f64)
    }),
    ("largest drift (clock units)", 0, |t| t.largest_drift as f64),
    ("slowest: inbox growth (msgs/s)", 2, |t| {
        t.slowest_growth_per_s
    }),
    ("slowest: max inbox (msgs)", 0, |t| {
        slowest_max(t, |m| m.queue.max as f64)
    }),
    ("receives per event (%)", 1, |t| {
        let (rx, all) = t
            .machines
            .iter()
            .fold((0, 0), |(r, n), m| (r + m.receives, n + m.ticks));
        100.0 * rx as f64 / all.max(1) as f64
    }),
];

/// `report.md` across trials: every trial in a table, each figure's median
/// and range per configuration, the pictures `pictures` names (file, title)
/// and the verdicts. `intro` is the paragraph under the title.
pub fn markdown(set: &Set, intro: &str, pictures: &[(&str, &str)]) -> String {
    let mut md = String::new();
    let many = set.groups.len() > 1;
    let _ = writeln!(md, "# {}\n", set.title);
    let _ = writeln!(md, "{intro}\n");
    let _ = writeln!(md, "## Trials\n");
    let _ = writeln!(
        md,
        "{}| trial | seed | rates (ticks/s) | die | ends | broken rules | largest jump (clock units) | largest drift (clock units) | slowest: inbox growth, predicted (msgs/s) |",
        if many { "| configuration " } else { "" }
    );
    let _ = writeln!(
        md,
        "{}|---|---:|---|---:|---|---:|---:|---:|---|",
        if many { "|---" } else { "" }
    );
    for (g, t) in set.trials() {
        let [r0, r1, r2] = t.rates;
        let _ = writeln!(
            md,
            "{}| [{}]({}/report.md) | {} | {r0}, {r1}, {r2} | {} | {} | {} | {} | {} | {}, {} |",
            if many {
                format!("| {} ", g.name)
            } else {
                String::new()
            },
            t.path.rsplit('/').next().unwrap_or(&t.path),
            t.path,
            t.seed,
            t.sides,
            if t.completed {
                "completed"
            } else {
                "not completed"
            },
            t.violations,
            t.largest_jump,
            t.largest_drift,
            fixed(t.slowest_growth_per_s, 2),
            fixed(t.slowest_predicted_per_s, 2),
        );
    }
    let _ = writeln!(md, "\n## Across trials\n");
    let _ = writeln!(
        md,
        "Median and, in brackets, the range (least–most) over each configuration's trials: the spread of these figures is skewed, so a mean would mislead.\n"
    );
    let titles: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    let _ = writeln!(md, "| configuration | trials | {} |", titles.join(" | "));
    let _ = writeln!(md, "|---|---:|{}", "---:|".repeat(COLUMNS.len()));
    for g in &set.groups {
        let cells: Vec<String> = COLUMNS
            .iter()
            .map(|&(_, decimals, f)| spread(&g.trials.iter().map(f).collect::<Vec<_>>(), decimals))
            .collect();
        let _ = writeln!(
            md,
            "| {} (rates {}, die of {}) | {} | {} |",
            g.name,
            g.rates,
            g.sides,
            g.trials.len(),
            cells.join(" | ")
        );
    }
    md.push('\n');
    for (file, title) in pictures {
        let _ = writeln!(md, "![{title}]({file})\n");
    }
    let _ = writeln!(md, "## The exercise's observations, checked\n");
    for v in &set.verdicts {
        let _ = writeln!(md, "- **{}**: {}. ({})", v.statement, v.held_in(), v.note);
    }
    md
}

/// The pictures across trials: file, title, axis, the figure per trial,
/// and the reference drawn on each configuration's box, if any.
type Picture = (
    &'static str,
    &'static str,
    &'static str,
    fn(&TrialRow) -> f64,
    Option<fn(&TrialRow) -> f64>,
);

const PICTURES: [Picture; 3] = [
    (
        "across-jumps.png",
        "Largest clock jump of each trial",
        "clock units",
        |t| t.largest_jump as f64,
        None,
    ),
    (
        "across-drift.png",
        "Largest drift behind the fastest machine, each trial",
        "clock units",
        |t| t.largest_drift as f64,
        None,
    ),
    (
        "across-growth.png",
        "The slowest machine's inbox growth, each trial (dashed: predicted)",
        "msgs per model second",
        |t| t.slowest_growth_per_s,
        Some(|t| t.slowest_predicted_per_s),
    ),
];

/// Draws the pictures across trials into `dir`: one box per configuration,
/// every trial a point, on one scale per figure.
fn pictures(dir: &Path, set: &Set) -> Result<(), ReportError> {
    let label = |g: &Group| g.name.clone();
    for (file, title, y_desc, figure, reference) in PICTURES {
        let groups: Vec<(String, Vec<f64>)> = set
            .groups
            .iter()
            .map(|g| (label(g), g.trials.iter().map(figure).collect()))
            .collect();
        let marks: Vec<(String, f64)> = reference.map_or_else(Vec::new, |r| {
            set.groups
                .iter()
                .filter_map(|g| {
                    // A configuration's prediction, when its trials share one
                    // (given rates); drawn rates each have their own.
                    let first = r(g.trials.first()?);
                    let shared = g.trials.iter().all(|t| (r(t) - first).abs() < 1e-9);
                    shared.then(|| (label(g), first))
                })
                .collect()
        });
        super::plot::across(&dir.join(file), title, y_desc, &groups, &marks)?;
    }
    Ok(())
}

/// Writes the set's `report.json`, pictures, `report.md` and `report.html`
/// into `dir`.
pub fn write(dir: &Path, set: &Set, intro: &str) -> Result<(), ReportError> {
    // Plain numbers and strings: serialising cannot fail.
    let json = serde_json::to_string_pretty(set).unwrap_or_default() + "\n";
    write_file(&dir.join("report.json"), json)?;
    pictures(dir, set)?;
    let shown: Vec<(&str, &str)> = PICTURES.iter().map(|p| (p.0, p.1)).collect();
    write_file(&dir.join("report.md"), markdown(set, intro, &shown))?;
    super::html::set(&dir.join("report.html"), set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_the_median_and_the_range_or_one_number() {
        assert_eq!(spread(&[], 0), "–");
        assert_eq!(spread(&[f64::NAN], 2), "–");
        assert_eq!(spread(&[8.0, 8.0], 0), "8");
        assert_eq!(spread(&[10.0, 1.0, 2.0], 0), "2 (1–10)");
        assert_eq!(spread(&[1.0, 2.0, f64::NAN], 2), "1.50 (1.00–2.00)");
    }

    #[test]
    fn a_spread_near_zero_has_no_minus_zero() {
        assert_eq!(spread(&[-0.001, -0.001], 2), "0.00");
        assert_eq!(spread(&[-0.001, -0.002, 0.3], 2), "0.00 (0.00–0.30)");
    }
}
