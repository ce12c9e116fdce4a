//! The report across trials: a run's trials, or a study's configurations,
//! side by side on shared scales, with the exercise's observations checked
//! against them as evidence (see [`super::evidence`]).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::answers::{Answer, answers};
use super::clocks::{self, ClockPoint};
use super::evidence::{self, Band, Measured, Point, Verdict, slowest};
pub use super::group::{Group, TrialRow, spread};
use super::plot::effect;
use super::topology::{self, TopologyPoint};
use super::{ReportError, write_file};

use crate::text::{count, fixed};
use scalemodel_analysis::{self as analysis, Analysis, MachineFigures};

/// The report across trials.
#[derive(Debug, Clone, Serialize)]
pub struct Set {
    /// Its title (written first in `report.json`, beside the intro).
    #[serde(skip)]
    pub title: String,
    /// Its configurations (one for a run).
    pub groups: Vec<Group>,
    /// The observations, checked over the set's own trials.
    pub verdicts: Vec<Verdict>,
    /// The same observations over the simulator's trials at scale (a
    /// study's); empty when not run.
    pub scale_verdicts: Vec<Verdict>,
    /// The set's own trials against the simulator's bands (a study's).
    pub band_verdicts: Vec<Verdict>,
    /// The exercise's questions answered from the data (a study's: empty
    /// without a standard configuration), and the notebook's idea when the
    /// topologies were compared.
    pub answers: Vec<Answer>,
    /// The topology study's runs (a study's; empty when not run), also in
    /// `topologies.csv`: kept in `report.json`, since the study's folder
    /// does not hold them, for `analyze` to keep.
    pub topology_points: Vec<TopologyPoint>,
    /// Its table: each number of machines and topology.
    pub topology_table: Vec<topology::Row>,
    /// Its comparisons with all-to-all, for each number of machines.
    pub topology_answers: Vec<topology::Answer>,
    /// The clock study's runs (a study's; empty when not run), also in
    /// `clocks.csv`, and kept in `report.json` as the topology study's are.
    pub clock_points: Vec<ClockPoint>,
    /// Its table: each skew of the physical clocks.
    pub clock_table: Vec<clocks::Row>,
    /// Its comparison of the clocks, for each skew.
    pub clock_answers: Vec<clocks::Answer>,
}

/// The range `a`'s rates come from: drawn from, or the given rates' span.
fn span(a: &Analysis) -> [u32; 2] {
    let p = &a.run.params;
    p.rate_range.unwrap_or_else(|| {
        let r = p.rates.iter().copied();
        [r.clone().min().unwrap_or(0), r.max().unwrap_or(0)]
    })
}

impl Set {
    /// The set of `groups`, each a configuration's name, rates, die and
    /// analysed trials with their folders relative to the report; the
    /// verdicts are checked over every trial, and between configurations
    /// that differ only in their spread of rates or their die.
    pub fn of(title: String, groups: Vec<(Group, Vec<(&Analysis, String)>)>) -> Self {
        let groups: Vec<Group> = groups
            .into_iter()
            .map(|(mut g, trials)| {
                let spans: Vec<[u32; 2]> = trials.iter().map(|(a, _)| span(a)).collect();
                g.span = spans
                    .first()
                    .filter(|&first| spans.iter().all(|s| s == first))
                    .copied();
                g.trials = trials
                    .into_iter()
                    .map(|(a, path)| TrialRow::of(a, path))
                    .collect();
                g
            })
            .collect();
        let points: Vec<Vec<Point>> = groups
            .iter()
            .map(|g| g.trials.iter().map(|t| t.point.clone()).collect())
            .collect();
        let configs: Vec<_> = groups
            .iter()
            .zip(&points)
            .map(|(g, p)| g.config(p))
            .collect();
        let verdicts = evidence::verdicts(&configs);
        let mut set = Self {
            title,
            groups,
            verdicts,
            scale_verdicts: Vec::new(),
            band_verdicts: Vec::new(),
            answers: Vec::new(),
            topology_points: Vec::new(),
            topology_table: Vec::new(),
            topology_answers: Vec::new(),
            clock_points: Vec::new(),
            clock_table: Vec::new(),
            clock_answers: Vec::new(),
        };
        set.answer();
        set
    }

    /// The answers from the data as they stand: the exercise's questions,
    /// then the notebook's idea when the topologies were compared.
    fn answer(&mut self) {
        self.answers = answers(&self.groups, &self.verdicts, &self.scale_verdicts);
        if !self.topology_answers.is_empty() {
            let mut text = topology::verdict(&self.topology_answers);
            for a in &self.topology_answers {
                if a.topology == "leader" && a.trials == "every trial" {
                    text.push(' ');
                    text.push_str(&a.words);
                    text.push('.');
                }
            }
            self.answers.push(Answer {
                question: "Does one time leader broadcasting its clock keep the machines more up to date than everyone messaging everyone (the notebook's idea)?".to_owned(),
                text,
                figures: vec!["topologies.csv".to_owned()],
            });
        }
        if !self.clock_answers.is_empty() {
            self.answers.push(Answer {
                question: "Which clock tells a cause from a coincidence: Lamport's, a vector clock or a hybrid logical clock (HLC)?".to_owned(),
                text: clocks::verdict(&self.clock_answers),
                figures: vec!["clocks.csv".to_owned()],
            });
        }
    }

    /// Adds the clock study: its runs `points`, their table and their
    /// comparisons, and its answer.
    pub fn add_clocks(&mut self, points: Vec<ClockPoint>) {
        self.clock_table = clocks::table(&points);
        self.clock_answers = clocks::answers(&points);
        self.clock_points = points;
        self.answer();
    }

    /// Adds the topology study: its runs `points`, their table and their
    /// comparisons, and its answer on the notebook's idea.
    pub fn add_topologies(&mut self, points: Vec<TopologyPoint>) {
        self.topology_table = topology::table(&points);
        self.topology_answers = topology::answers(&points);
        self.topology_points = points;
        self.answer();
    }

    /// Adds the simulator at scale: `scale`, each configuration's points in
    /// the groups' order, and `bands`, one for each of the set's trials in
    /// order. `whose` says where the set's trials ran: `network`, `simulated`.
    pub fn add_scale(&mut self, whose: &str, scale: Vec<Vec<Point>>, bands: Vec<Option<Band>>) {
        for (g, points) in self.groups.iter_mut().zip(scale) {
            g.scale = points;
        }
        self.keep_scale(whose, bands);
    }

    /// Gives the set's trials `bands`, one per trial in order, and checks
    /// the observations over the groups' points at scale and the trials
    /// against their bands (see [`Set::add_scale`]).
    pub fn keep_scale(&mut self, whose: &str, bands: Vec<Option<Band>>) {
        let mut bands = bands.into_iter();
        for g in &mut self.groups {
            for t in &mut g.trials {
                t.band = bands.next().flatten();
            }
        }
        let configs: Vec<_> = self.groups.iter().map(|g| g.config(&g.scale)).collect();
        self.scale_verdicts = if configs.iter().any(|c| !c.points.is_empty()) {
            evidence::verdicts(&configs)
        } else {
            Vec::new()
        };
        let trials: Vec<_> = self
            .trials()
            .map(|(_, t)| (&t.point, t.band.as_ref()))
            .collect();
        self.band_verdicts = evidence::band_verdicts(whose, &trials);
        self.answer();
    }

    /// Every trial, with its configuration.
    fn trials(&self) -> impl Iterator<Item = (&Group, &TrialRow)> {
        self.groups
            .iter()
            .flat_map(|g| g.trials.iter().map(move |t| (g, t)))
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

const COLUMNS: [Column; 8] = [
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
    ("concurrent event pairs (%)", 1, |t| {
        t.causality
            .as_ref()
            .map_or(f64::NAN, |p| 100.0 * p.concurrent_share)
    }),
    ("Lamport-ordered pairs that are concurrent (%)", 1, |t| {
        t.causality
            .as_ref()
            .and_then(|p| p.lamport.as_ref())
            .map_or(f64::NAN, |l| 100.0 * l.disagree_share)
    }),
];

/// The titles of the figures compared across trials.
pub(crate) fn across_titles() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.0).collect()
}

/// Each figure's median and range over a configuration's trials.
pub(crate) fn across_cells(g: &Group) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|&(_, decimals, f)| spread(&g.trials.iter().map(f).collect::<Vec<_>>(), decimals))
        .collect()
}

/// `report.md` across trials: every trial in a table, each figure's median
/// and range per configuration, the pictures `pictures` names (file, title)
/// and the verdicts. `intro` is the paragraph under the title.
pub fn markdown(set: &Set, intro: &str, pictures: &[(&str, &str)]) -> String {
    let mut md = String::new();
    let many = set.groups.len() > 1;
    let _ = writeln!(md, "# {}\n", set.title);
    let _ = writeln!(md, "{intro}\n");
    if !set.answers.is_empty() {
        let _ = writeln!(md, "## Answers\n");
        for a in &set.answers {
            let links: Vec<String> = a.figures.iter().map(|f| format!("[{f}]({f})")).collect();
            let _ = writeln!(
                md,
                "**{}** {} (See {}.)\n",
                a.question,
                a.text,
                links.join(", ")
            );
        }
    }
    let _ = writeln!(md, "## Trials\n");
    let _ = writeln!(
        md,
        "{}| trial | seed | rates (ticks/s) | die | ends | broken rules | largest jump (clock units) | largest drift (clock units) | slowest: inbox growth, predicted (msgs/s) | slowest: load |",
        if many { "| configuration " } else { "" }
    );
    let _ = writeln!(
        md,
        "{}|---|---:|---|---:|---|---:|---:|---:|---|---:|",
        if many { "|---" } else { "" }
    );
    for (g, t) in set.trials() {
        let rates = crate::text::joined(&t.rates, ", ");
        let _ = writeln!(
            md,
            "{}| [{}]({}/report.md) | {} | {rates} | {} | {} | {} | {} | {} | {}, {} | {} |",
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
            analysis::load_words(t.point.slowest_load),
        );
    }
    let _ = writeln!(md, "\n## Across trials\n");
    let _ = writeln!(
        md,
        "Median and, in brackets, the range (least–most) over each configuration's trials: the spread of these figures is skewed, so a mean would mislead.\n"
    );
    let _ = writeln!(
        md,
        "| configuration | trials | {} |",
        across_titles().join(" | ")
    );
    let _ = writeln!(md, "|---|---:|{}", "---:|".repeat(COLUMNS.len()));
    for g in &set.groups {
        let _ = writeln!(
            md,
            "| {} (rates {}, die of {}) | {} | {} |",
            g.name,
            g.rates,
            g.sides,
            g.trials.len(),
            across_cells(g).join(" | ")
        );
    }
    md.push('\n');
    for (file, title) in pictures {
        let _ = writeln!(md, "![{title}]({file})\n");
    }
    let _ = writeln!(md, "## The exercise's observations, checked\n");
    verdict_list(&mut md, &set.verdicts);
    if !set.scale_verdicts.is_empty() {
        let per = set.groups.iter().map(|g| g.scale.len()).max().unwrap_or(0);
        let _ = writeln!(
            md,
            "\n## The same observations in the simulator at scale\n\n{} per configuration, the same seeds in every configuration.\n",
            count(per as u64, "simulated trial")
        );
        verdict_list(&mut md, &set.scale_verdicts);
    }
    if !set.band_verdicts.is_empty() {
        let _ = writeln!(md, "\n## The network against the simulator\n");
        verdict_list(&mut md, &set.band_verdicts);
    }
    topology_markdown(&mut md, set);
    clock_markdown(&mut md, set);
    md
}

/// The clock study's section: its table, then each skew's comparison with
/// its effect sizes.
fn clock_markdown(md: &mut String, set: &Set) {
    if set.clock_table.is_empty() {
        return;
    }
    study_markdown(
        md,
        &format!("The clocks compared in the simulator\n\n{}", clocks::INTRO),
        &clocks::COLUMNS,
        &format!("|---|{}", "---:|".repeat(clocks::COLUMNS.len() - 1)),
        set.clock_table.iter().map(|r| r.cells().to_vec()),
        &clocks::verdict(&set.clock_answers),
        set.clock_answers.iter().map(|a| (&a.words, &a.effects[..])),
    );
}

/// The topology study's section: its table, then every comparison with
/// all-to-all and its effect sizes.
fn topology_markdown(md: &mut String, set: &Set) {
    if set.topology_table.is_empty() {
        return;
    }
    study_markdown(
        md,
        "The topologies in the simulator\n\nMedians over each size and topology's runs (every run is a row of `topologies.csv`). Staleness is each machine's gap to the highest clock of any machine at the same model time.",
        &topology::COLUMNS,
        "|---:|---|---:|---:|---:|---:|---:|---:|",
        set.topology_table.iter().map(|r| r.cells().to_vec()),
        &topology::verdict(&set.topology_answers),
        set.topology_answers
            .iter()
            .map(|a| (&a.words, &a.effects[..])),
    );
}

/// A study's section: its `heading` (with the paragraph under it), a table
/// of `rows` under `columns` aligned by `rule`, the `verdict`, and each
/// comparison's words with its effect sizes.
fn study_markdown<'a>(
    md: &mut String,
    heading: &str,
    columns: &[&str],
    rule: &str,
    rows: impl Iterator<Item = Vec<String>>,
    verdict: &str,
    answers: impl Iterator<Item = (&'a String, &'a [Measured])>,
) {
    let _ = writeln!(md, "\n## {heading}\n");
    let _ = writeln!(md, "| {} |", columns.join(" | "));
    let _ = writeln!(md, "{rule}");
    for r in rows {
        let _ = writeln!(md, "| {} |", r.join(" | "));
    }
    let _ = writeln!(md, "\n{verdict}\n");
    for (words, effects) in answers {
        let _ = writeln!(md, "- **{words}**");
        for e in effects {
            let _ = writeln!(md, "  - {}", e.words());
        }
    }
}

/// Each verdict as a list item: the statement in bold, the result with its
/// effect, and how it was tested.
fn verdict_list(md: &mut String, verdicts: &[Verdict]) {
    for v in verdicts {
        let _ = writeln!(md, "- **{}**: {}. ({})", v.statement, v.result(), v.note);
    }
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
    if has_views(set) {
        let configs: Vec<effect::Config> = set
            .groups
            .iter()
            .map(|g| effect::Config {
                name: &g.name,
                scale: g.scale.iter().collect(),
                trials: g.trials.iter().map(|t| &t.point).collect(),
            })
            .collect();
        for view in &effect::VIEWS {
            effect::effect(&dir.join(view.file), view, &configs)?;
        }
    }
    Ok(())
}

/// A study's set gets the effect-size views: it answers the questions, or
/// it ran the simulator at scale.
fn has_views(set: &Set) -> bool {
    !set.answers.is_empty() || set.groups.iter().any(|g| !g.scale.is_empty())
}

/// Writes the set's `report.json`, pictures and `report.md` into `dir`
/// (`trials.csv` and `report.html` are [`crate::write_set`]'s);
/// returns the effect-size views it drew (file, title), for `report.html`.
pub fn write(
    dir: &Path,
    set: &Set,
    intro: &str,
) -> Result<Vec<(&'static str, &'static str)>, ReportError> {
    // Plain numbers and strings: serialising cannot fail.
    /// `report.json`: the set, and the paragraph under its title, so that
    /// `analyze` re-analysing the folder can keep it.
    #[derive(Serialize)]
    struct Written<'a> {
        title: &'a str,
        intro: &'a str,
        #[serde(flatten)]
        set: &'a Set,
    }
    let written = Written {
        title: &set.title,
        intro,
        set,
    };
    let json = serde_json::to_string_pretty(&written).unwrap_or_default() + "\n";
    write_file(&dir.join("report.json"), json)?;
    pictures(dir, set)?;
    let mut shown: Vec<(&str, &str)> = PICTURES.iter().map(|p| (p.0, p.1)).collect();
    let views: Vec<(&'static str, &'static str)> = if has_views(set) {
        effect::VIEWS.iter().map(|v| (v.file, v.title)).collect()
    } else {
        Vec::new()
    };
    shown.extend(&views);
    write_file(&dir.join("report.md"), markdown(set, intro, &shown))?;
    Ok(views)
}
