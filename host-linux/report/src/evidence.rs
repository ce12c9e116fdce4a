//! The exercise's observations as evidence: each trial reduced to the
//! figures the questions need (a [`Point`]), and each observation checked
//! over the trials where it can be asked, with an effect size and its
//! uncertainty (see [`scalemodel_analysis::stats`]).
//!
//! The same checks run on a set's own trials (a run's, a study's network
//! trials) and on a study's simulator trials at scale. Configurations are
//! compared trial by trial through their seeds: trial k of every
//! configuration has the same seed, so the same random stream.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::text::{count, fixed, signed};
use scalemodel_analysis::stats::{self, Effect};
use scalemodel_analysis::{Analysis, MachineFigures};

/// One trial's figures, as the verdicts and the effect-size views use them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Its seed.
    pub seed: u64,
    /// Each machine's rate, ticks per model second.
    pub rates: Vec<u32>,
    /// Faces of the die.
    pub sides: u8,
    /// The slowest rate ÷ the fastest: 1 when all three are equal.
    pub ratio: f64,
    /// The largest clock jump of the slowest machine (the largest among
    /// them on a tie), clock units.
    pub slowest_jump: u64,
    /// The largest clock jump of the fastest machine (lowest id on a tie).
    pub fastest_jump: u64,
    /// The largest clock jump of any machine.
    pub largest_jump: u64,
    /// The largest gap of any machine behind the fastest, clock units.
    pub largest_drift: i64,
    /// The slowest machine's inbox growth, msgs per model second.
    pub slowest_growth: f64,
    /// What the queueing estimate predicts for it.
    pub slowest_predicted: f64,
    /// Its load: expected arrivals ÷ its rate (above 1, its inbox grows).
    pub slowest_load: f64,
    /// Its longest inbox, messages.
    pub slowest_max_queue: u64,
    /// Of the fastest machine's events, the share that moved its clock by
    /// more than 1.
    pub fastest_jump_share: f64,
    /// The slowest machine's mean inbox length rose from each quarter of
    /// the run to the next.
    pub slowest_grows_throughout: bool,
}

impl Point {
    /// The point of analysed trial `a`.
    pub fn of(a: &Analysis) -> Self {
        let p = &a.run.params;
        let figs = &a.figures;
        let slow = slowest(figs);
        let top =
            |f: &dyn Fn(&MachineFigures) -> f64| slow.iter().map(|m| f(m)).fold(0.0, f64::max);
        let fastest = figs.get(scalemodel_analysis::fastest(&p.rates));
        let (lo, hi) = (
            p.rates.iter().copied().min().unwrap_or(0),
            p.rates.iter().copied().max().unwrap_or(0),
        );
        Self {
            seed: p.seed,
            rates: p.rates.clone(),
            sides: p.sides,
            ratio: f64::from(lo) / f64::from(hi.max(1)),
            slowest_jump: slow.iter().map(|m| m.jumps.max).max().unwrap_or(0),
            fastest_jump: fastest.map_or(0, |m| m.jumps.max),
            largest_jump: figs.iter().map(|m| m.jumps.max).max().unwrap_or(0),
            largest_drift: figs.iter().map(|m| m.drift.max).max().unwrap_or(0),
            slowest_growth: top(&|m| m.queue.growth_per_s),
            slowest_predicted: top(&|m| m.estimate.predicted_growth_per_s),
            slowest_load: top(&|m| m.estimate.arrivals_per_s / m.estimate.service_per_s.max(1.0)),
            slowest_max_queue: slow.iter().map(|m| m.queue.max).max().unwrap_or(0),
            fastest_jump_share: fastest
                .map_or(0.0, |m| m.jumps.jumps as f64 / m.ticks.max(1) as f64),
            slowest_grows_throughout: slow.iter().all(|m| {
                let q = quarters(a, m.id);
                q.windows(2).all(|w| w[1] > w[0])
            }),
        }
    }

    /// All three rates are equal.
    pub fn equal_rates(&self) -> bool {
        self.ratio >= 1.0
    }
}

/// The slowest machines of a run (all those with the lowest rate).
pub fn slowest(figs: &[MachineFigures]) -> Vec<&MachineFigures> {
    let min = figs.iter().map(|m| m.rate).min().unwrap_or(0);
    figs.iter().filter(|m| m.rate == min).collect()
}

/// The mean inbox length of machine `id` in each quarter of the run.
fn quarters(a: &Analysis, id: u8) -> [f64; 4] {
    let end = a.run.params.duration_s * 1e9;
    let mut sums = [(0.0, 0u32); 4];
    for r in a.run.logs.get(usize::from(id)).into_iter().flatten() {
        let q = ((r.model_ns as f64 / end * 4.0) as usize).min(3);
        sums[q].0 += r.queue_len as f64;
        sums[q].1 += 1;
    }
    sums.map(|(s, n)| if n == 0 { 0.0 } else { s / f64::from(n) })
}

/// An effect, named, with its unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    /// What was measured: `the slowest machine's largest jump minus the fastest's`.
    pub what: String,
    /// Its unit: `clock units`, `msgs/s`, `%`.
    pub unit: String,
    /// Decimals to show it with.
    pub decimals: usize,
    /// The median, its interval and, for a paired difference, its p-value.
    pub effect: Effect,
}

/// `12 above 0, 3 below, 5 at 0; ` for a paired difference, else nothing.
pub fn split_words(e: &Effect) -> String {
    e.split
        .map_or_else(String::new, |s| format!("{}; ", s.words()))
}

impl Measured {
    /// `median paired difference +12 clock units (95 % CI +8 to +15; sign
    /// test p = 0.06)`, or for a plain median `median 3.10 msgs/s (95 % CI
    /// 2.90 to 3.40)`.
    pub fn words(&self) -> String {
        let e = &self.effect;
        let d = self.decimals;
        match e.p {
            Some(p) => format!(
                "{}: median paired difference {} {} (95 % CI {} to {}; {}sign test {})",
                self.what,
                signed(e.median, d),
                self.unit,
                signed(e.low, d),
                signed(e.high, d),
                split_words(e),
                p_value(p)
            ),
            None => format!(
                "{}: median {} {} (95 % CI {} to {})",
                self.what,
                fixed(e.median, d),
                self.unit,
                fixed(e.low, d),
                fixed(e.high, d)
            ),
        }
    }
}

/// `p = 0.062`, `p < 0.001`.
pub fn p_value(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_owned()
    } else {
        format!("p = {p:.3}")
    }
}

/// An observation of the exercise, checked against the trials it applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// What is claimed.
    pub statement: String,
    /// Trials (or pairs of trials) it held in.
    pub held: usize,
    /// Trials (or pairs) it applied to.
    pub of: usize,
    /// Trials (or pairs) it could not be asked of.
    pub skipped: usize,
    /// It compares pairs of trials (one from each of two configurations,
    /// with the same seed), not single trials.
    pub paired: bool,
    /// Why those could not (empty when none were skipped).
    pub why_skipped: String,
    /// How it was tested.
    pub note: String,
    /// The effect behind it, when one is measured.
    pub effect: Option<Measured>,
}

impl Verdict {
    /// Where it held, said so that it reads right: `holds in all 3 trials`,
    /// `holds in 1 of 3 trials; 2 skipped (three equal rates)`, `not tested`.
    pub fn held_in(&self) -> String {
        let noun = if self.paired { "pair" } else { "trial" };
        let mut s = if self.of == 0 {
            "not tested".to_owned()
        } else if self.held == self.of {
            format!("holds in all {}", count(self.of as u64, noun))
        } else {
            format!("holds in {} of {}", self.held, count(self.of as u64, noun))
        };
        if self.skipped > 0 {
            s.push_str(&format!(
                "; {} skipped ({})",
                self.skipped, self.why_skipped
            ));
        }
        s
    }

    /// [`Verdict::held_in`], then the effect in words, if any.
    pub fn result(&self) -> String {
        match &self.effect {
            Some(m) => format!("{}; {}", self.held_in(), m.words()),
            None => self.held_in(),
        }
    }
}

/// A configuration's points, as the verdicts see it.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    /// Its rates as given: `1..=6`, `2,4,6`.
    pub rates: &'a str,
    /// The range its rates come from: drawn from, or the given rates' span.
    pub span: Option<[u32; 2]>,
    /// Faces of the die.
    pub sides: u8,
    /// Its trials.
    pub points: &'a [Point],
}

/// Builds a verdict over `applicable` of `total` points: `held` counts
/// where it held, `effect` measures it.
#[allow(clippy::too_many_arguments)]
fn verdict(
    statement: String,
    note: &str,
    total: usize,
    applicable: &[&Point],
    why_skipped: &str,
    held: impl Fn(&Point) -> bool,
    effect: Option<Measured>,
) -> Verdict {
    Verdict {
        statement,
        held: applicable.iter().filter(|p| held(p)).count(),
        of: applicable.len(),
        skipped: total - applicable.len(),
        paired: false,
        why_skipped: if total > applicable.len() {
            why_skipped.to_owned()
        } else {
            String::new()
        },
        note: note.to_owned(),
        effect,
    }
}

fn measured(what: &str, unit: &str, decimals: usize, effect: Option<Effect>) -> Option<Measured> {
    effect.map(|effect| Measured {
        what: what.to_owned(),
        unit: unit.to_owned(),
        decimals,
        effect,
    })
}

const EQUAL_RATES: &str = "three equal rates: no machine is the slowest";

/// The observations any set of trials can test, each over the trials it
/// applies to, with its effect.
pub fn verdicts(configs: &[Config]) -> Vec<Verdict> {
    let all: Vec<&Point> = configs.iter().flat_map(|c| c.points).collect();
    let mut v = Vec::new();

    // 1. The slowest machine's clock jumps the most.
    let unequal: Vec<&Point> = all.iter().copied().filter(|p| !p.equal_rates()).collect();
    v.push(verdict(
        "the slowest machine has the largest clock jumps".to_owned(),
        "its largest jump is the largest of the three",
        all.len(),
        &unequal,
        EQUAL_RATES,
        |p| p.slowest_jump == p.largest_jump,
        measured(
            "the slowest machine's largest jump minus the fastest's",
            "clock units",
            0,
            stats::paired(&diffs(&unequal, |p| {
                p.slowest_jump as f64 - p.fastest_jump as f64
            })),
        ),
    ));

    // 2. With a die of 4, a machine at most a third as fast as the fastest falls behind for good.
    let die4: Vec<&Point> = all.iter().copied().filter(|p| p.sides == 4).collect();
    let slow: Vec<&Point> = die4
        .iter()
        .copied()
        .filter(|p| p.ratio <= 1.0 / 3.0)
        .collect();
    v.push(verdict(
        "with a die of 4 the slowest machine's queue grows throughout the run whenever its rate is at most a third of the fastest".to_owned(),
        "grows throughout: its mean inbox length rises from each quarter of the run to the next",
        die4.len(),
        &slow,
        "the slowest rate is more than a third of the fastest",
        |p| p.slowest_grows_throughout,
        measured(
            "the slowest machine's inbox growth",
            "msgs/s",
            2,
            stats::median(&diffs(&slow, |p| p.slowest_growth)),
        ),
    ));

    // 3. The queueing estimate predicts the slowest machine's growth.
    let loaded: Vec<&Point> = all
        .iter()
        .copied()
        .filter(|p| p.slowest_predicted > 0.5)
        .collect();
    v.push(verdict(
        "the queueing estimate predicts the slowest machine's inbox growth within 10 %".to_owned(),
        "in the trials where it predicts growth above 0.5 msgs/s",
        all.len(),
        &loaded,
        "the estimate predicts growth of at most 0.5 msgs/s (load near or below 1)",
        |p| (p.slowest_growth - p.slowest_predicted).abs() <= 0.1 * p.slowest_predicted,
        measured(
            "measured minus predicted growth",
            "msgs/s",
            2,
            stats::paired(&diffs(&loaded, |p| p.slowest_growth - p.slowest_predicted)),
        ),
    ));

    // 4. With the defaults the fastest machine's clock barely jumps.
    let standard: Vec<&Point> = configs
        .iter()
        .filter(|c| c.sides == 10 && c.span == Some([1, 6]))
        .flat_map(|c| c.points)
        .collect();
    v.push(verdict(
        "with the defaults (rates 1..=6, die of 10) the fastest machine's clock barely jumps"
            .to_owned(),
        "barely: at most 5 % of its events change its clock by more than 1",
        standard.len(),
        &standard,
        "",
        |p| p.fastest_jump_share <= 0.05,
        measured(
            "the share of the fastest machine's events that jump",
            "%",
            1,
            stats::median(&diffs(&standard, |p| 100.0 * p.fastest_jump_share)),
        ),
    ));

    v.extend(spread_verdicts(configs));
    v.extend(internal_verdicts(configs));
    v
}

fn diffs(points: &[&Point], f: impl Fn(&Point) -> f64) -> Vec<f64> {
    points.iter().map(|p| f(p)).collect()
}

/// The trials of `a` and `b` with the same seed, in `a`'s order.
fn pairs<'a>(a: &'a [Point], b: &'a [Point]) -> Vec<(&'a Point, &'a Point)> {
    let by_seed: HashMap<u64, &Point> = b.iter().map(|p| (p.seed, p)).collect();
    a.iter()
        .filter_map(|p| by_seed.get(&p.seed).map(|&q| (p, q)))
        .collect()
}

/// A paired verdict: over `pairs`, those `skip` leaves, `held` where it
/// held and `diff` the effect.
#[allow(clippy::too_many_arguments)]
fn paired_verdict(
    statement: String,
    note: &str,
    pairs: &[(&Point, &Point)],
    skip: impl Fn(&Point, &Point) -> bool,
    why_skipped: &str,
    held: impl Fn(&Point, &Point) -> bool,
    (what, unit, decimals): (&str, &str, usize),
    diff: impl Fn(&Point, &Point) -> f64,
) -> Verdict {
    let asked: Vec<_> = pairs.iter().filter(|(a, b)| !skip(a, b)).collect();
    let d: Vec<f64> = asked.iter().map(|(a, b)| diff(a, b)).collect();
    Verdict {
        statement,
        held: asked.iter().filter(|(a, b)| held(a, b)).count(),
        of: asked.len(),
        skipped: pairs.len() - asked.len(),
        paired: true,
        why_skipped: if pairs.len() > asked.len() {
            why_skipped.to_owned()
        } else {
            String::new()
        },
        note: note.to_owned(),
        effect: measured(what, unit, decimals, stats::paired(&d)),
    }
}

/// A smaller spread of rates means less drift, checked pair by pair
/// between two configurations with the same die whose ranges nest (a
/// study's standard and smaller-spread configurations): the same seeds.
fn spread_verdicts(configs: &[Config]) -> Vec<Verdict> {
    let mut v = Vec::new();
    for wide in configs {
        for narrow in configs {
            let (Some([wl, wh]), Some([nl, nh])) = (wide.span, narrow.span) else {
                continue;
            };
            let inside = wl <= nl && nh <= wh && nh - nl < wh - wl;
            if !inside || wide.sides != narrow.sides {
                continue;
            }
            let pairs = pairs(wide.points, narrow.points);
            if pairs.is_empty() {
                continue;
            }
            v.push(paired_verdict(
                format!(
                    "a smaller spread of rates ({}) means less drift than {} (die of {})",
                    narrow.rates, wide.rates, wide.sides
                ),
                "largest drift behind the fastest machine, trial against trial with the same seed",
                &pairs,
                |a, b| a.equal_rates() || b.equal_rates(),
                "one of the two drew three equal rates, whose clocks keep together by construction",
                |a, b| b.largest_drift < a.largest_drift,
                (
                    "the wider spread's largest drift minus the smaller's",
                    "clock units",
                    0,
                ),
                |a, b| (a.largest_drift - b.largest_drift) as f64,
            ));
        }
    }
    v
}

/// Fewer internal events — a smaller die, the same rates — load the slowest
/// inbox and let it fall further behind, checked pair by pair between two
/// configurations that differ only in their die.
fn internal_verdicts(configs: &[Config]) -> Vec<Verdict> {
    let mut v = Vec::new();
    for many in configs {
        for few in configs {
            if many.rates != few.rates || few.sides >= many.sides {
                continue;
            }
            let pairs = pairs(many.points, few.points);
            if pairs.is_empty() {
                continue;
            }
            let note = "trial against trial with the same seed, so the same rates";
            v.push(paired_verdict(
                format!(
                    "fewer internal events (a die of {} rather than {}, rates {}) make the slowest machine's inbox grow faster",
                    few.sides, many.sides, many.rates
                ),
                note,
                &pairs,
                |_, _| false,
                "",
                |a, b| b.slowest_growth > a.slowest_growth,
                (
                    "the growth with fewer internal events minus with more",
                    "msgs/s",
                    2,
                ),
                |a, b| b.slowest_growth - a.slowest_growth,
            ));
            v.push(paired_verdict(
                format!(
                    "fewer internal events (a die of {} rather than {}, rates {}) let the clocks drift further apart",
                    few.sides, many.sides, many.rates
                ),
                note,
                &pairs,
                |a, b| a.equal_rates() || b.equal_rates(),
                "three equal rates: no spread of rates to drift by",
                |a, b| b.largest_drift > a.largest_drift,
                (
                    "the largest drift with fewer internal events minus with more",
                    "clock units",
                    0,
                ),
                |a, b| (b.largest_drift - a.largest_drift) as f64,
            ));
        }
    }
    v
}

/// A figure the simulator's bands hold a trial against: its name and how
/// to read it from a point.
type Figure = (&'static str, fn(&Point) -> f64);

/// The figures of [`Band`], in its order.
const BAND_FIGURES: [Figure; 3] = [
    ("largest clock jump", |p| p.largest_jump as f64),
    ("largest drift", |p| p.largest_drift as f64),
    ("slowest machine's inbox growth", |p| p.slowest_growth),
];

/// The simulator's 5–95 % band for one trial's rates and die: where
/// [`BAND_FIGURES`] lay in simulated runs with other seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Simulated runs it rests on.
    pub runs: usize,
    /// For each of [`BAND_FIGURES`], the 5th and 95th percentiles.
    pub figures: [[f64; 2]; 3],
}

impl Band {
    /// The band of `points`; `None` when there are none.
    pub fn of(points: &[Point]) -> Option<Self> {
        let mut figures = [[0.0; 2]; 3];
        for (band, (_, f)) in figures.iter_mut().zip(BAND_FIGURES) {
            let values: Vec<f64> = points.iter().map(f).collect();
            *band = [
                stats::percentile(&values, 5.0)?,
                stats::percentile(&values, 95.0)?,
            ];
        }
        Some(Self {
            runs: points.len(),
            figures,
        })
    }
}

/// Checks each of `trials` (a study's `whose` trials: `network`) against
/// its band from the simulator: one verdict per figure, over the trials
/// that have a band. If the model holds, a trial falls within its band
/// about 90 % of the time.
pub fn band_verdicts(whose: &str, trials: &[(&Point, Option<&Band>)]) -> Vec<Verdict> {
    let banded: Vec<(&Point, &Band)> = trials
        .iter()
        .filter_map(|&(p, b)| b.map(|b| (p, b)))
        .collect();
    if banded.is_empty() {
        return Vec::new();
    }
    let runs = banded.iter().map(|(_, b)| b.runs).min().unwrap_or(0);
    BAND_FIGURES
        .iter()
        .enumerate()
        .map(|(i, &(name, f))| {
            let within = banded
                .iter()
                .filter(|(p, b)| {
                    let [lo, hi] = b.figures[i];
                    lo <= f(p) && f(p) <= hi
                })
                .count();
            Verdict {
                statement: format!(
                    "each {whose} trial's {name} lies within the simulator's 5–95 % band for its rates and die"
                ),
                held: within,
                of: banded.len(),
                skipped: trials.len() - banded.len(),
                paired: false,
                why_skipped: if trials.len() > banded.len() {
                    "no band was simulated for it".to_owned()
                } else {
                    String::new()
                },
                note: format!(
                    "each band from {runs} or more simulated runs with the trial's own rates and die and other seeds; if the model holds, about 9 in 10 trials fall within it, and as few as {within} of {} do so by chance with probability {}",
                    banded.len(),
                    fixed(stats::fewer_within(within as u64, banded.len() as u64, 0.9), 3)
                ),
                effect: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(seed: u64, rates: [u32; 3], sides: u8, drift: i64, growth: f64) -> Point {
        let (lo, hi) = (*rates.iter().min().unwrap(), *rates.iter().max().unwrap());
        Point {
            seed,
            rates: rates.to_vec(),
            sides,
            ratio: f64::from(lo) / f64::from(hi),
            slowest_jump: 10,
            fastest_jump: 2,
            largest_jump: 10,
            largest_drift: drift,
            slowest_growth: growth,
            slowest_predicted: 0.0,
            slowest_load: 0.5,
            slowest_max_queue: 3,
            fastest_jump_share: 0.01,
            slowest_grows_throughout: false,
        }
    }

    #[test]
    fn configurations_are_paired_by_seed_and_equal_rates_skipped() {
        let wide: Vec<Point> = (1..=5).map(|s| point(s, [1, 6, 3], 10, 40, 0.0)).collect();
        let mut narrow: Vec<Point> = (1..=5).map(|s| point(s, [3, 4, 4], 10, 5, 0.0)).collect();
        narrow[1] = point(2, [4, 4, 4], 10, 0, 0.0);
        // Seed 9 has no partner: not compared.
        narrow.push(point(9, [3, 4, 3], 10, 100, 0.0));
        let configs = [
            Config {
                rates: "1..=6",
                span: Some([1, 6]),
                sides: 10,
                points: &wide,
            },
            Config {
                rates: "3..=4",
                span: Some([3, 4]),
                sides: 10,
                points: &narrow,
            },
        ];
        let v = spread_verdicts(&configs);
        assert_eq!(v.len(), 1);
        let s = &v[0];
        assert_eq!((s.held, s.of, s.skipped), (4, 4, 1));
        let e = &s.effect.as_ref().unwrap().effect;
        assert_eq!(e.median, 35.0);
        assert!((e.p.unwrap() - 0.125).abs() < 1e-12);
        assert!(
            s.held_in().starts_with(
                "holds in all 4 pairs; 1 skipped (one of the two drew three equal rates"
            ),
            "{}",
            s.held_in()
        );
    }

    #[test]
    fn fewer_internal_events_compare_the_same_seeds() {
        let many: Vec<Point> = (1..=4).map(|s| point(s, [1, 6, 3], 10, 20, 0.1)).collect();
        let few: Vec<Point> = (1..=4).map(|s| point(s, [1, 6, 3], 4, 30, 2.6)).collect();
        let configs = [
            Config {
                rates: "1..=6",
                span: Some([1, 6]),
                sides: 10,
                points: &many,
            },
            Config {
                rates: "1..=6",
                span: Some([1, 6]),
                sides: 4,
                points: &few,
            },
        ];
        let v = internal_verdicts(&configs);
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].held, v[0].of), (4, 4));
        let growth = v[0].effect.as_ref().unwrap();
        assert!((growth.effect.median - 2.5).abs() < 1e-9);
        assert_eq!(growth.decimals, 2);
        assert!(
            growth.words().contains("+2.50 msgs/s"),
            "{}",
            growth.words()
        );
        assert_eq!(v[1].effect.as_ref().unwrap().effect.median, 10.0);
    }

    #[test]
    fn a_band_holds_what_lies_inside_it() {
        let band: Vec<Point> = (0..=100)
            .map(|k| point(k, [1, 6, 3], 10, k as i64, 0.0))
            .collect();
        let inside = point(200, [1, 6, 3], 10, 50, 0.0);
        let outside = point(201, [1, 6, 3], 10, 99, 0.0);
        let band = Band::of(&band).unwrap();
        assert_eq!(band.figures[1], [5.0, 95.0]);
        let v = band_verdicts(
            "network",
            &[
                (&inside, Some(&band)),
                (&outside, Some(&band)),
                (&inside, None),
            ],
        );
        let drift = &v[1];
        assert!(
            drift
                .statement
                .contains("each network trial's largest drift")
        );
        assert_eq!((drift.held, drift.of, drift.skipped), (1, 2, 1));
        assert!(drift.note.contains("from 101 or more simulated runs"));
        assert_eq!(Band::of(&[]), None);
    }

    #[test]
    fn p_values_read_plainly() {
        assert_eq!(p_value(0.0625), "p = 0.062");
        assert_eq!(p_value(1e-9), "p < 0.001");
    }
}
