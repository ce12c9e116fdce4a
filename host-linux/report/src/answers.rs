//! The study's answers in words: one short paragraph per question of the
//! exercise, written from the data with the numbers filled in and the
//! figures named — what a student hands in, generated and true to the run.
//!
//! Each paragraph uses the set's own trials (the network's, in a study) and,
//! when the study ran it, the simulator at scale; a question the set cannot
//! answer (no standard configuration, no smaller spread) gets no paragraph.

use serde::Serialize;

use super::evidence::{Point, Verdict};
use super::group::Group;
use crate::text::{fixed, signed};
use scalemodel_analysis::stats;

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The question, as the exercise asks it.
    pub question: String,
    /// The answer, in words and numbers.
    pub text: String,
    /// The pictures it rests on (files beside the report).
    pub figures: Vec<String>,
}

/// The load above which a slow inbox grows for good, and the critical
/// region around it where it only drifts: a load within 10 % of 1.
pub const CRITICAL: [f64; 2] = [0.9, 1.1];

/// The answers a set's data can give (its configurations, and its verdicts
/// over its own trials and over the simulator's): a study's (more than one
/// configuration, or the simulator at scale), none for a single run.
pub fn answers(groups: &[Group], verdicts: &[Verdict], scale_verdicts: &[Verdict]) -> Vec<Answer> {
    let study = groups.len() > 1 || groups.iter().any(|g| !g.scale.is_empty());
    if !study {
        return Vec::new();
    }
    let Some(standard) = groups
        .iter()
        .find(|g| g.span == Some([1, 6]) && g.sides == 10)
    else {
        return Vec::new();
    };
    let fewer = groups
        .iter()
        .find(|g| g.span == Some([1, 6]) && g.sides < 10);
    let mut a = vec![jumps(standard), drift(standard), inbox(standard, fewer)];
    let spread = |v: &&Verdict| v.statement.starts_with("a smaller spread of rates");
    let internal = |v: &&Verdict| v.statement.starts_with("fewer internal events");
    a.extend(compared(
        (verdicts, scale_verdicts),
        "What does a smaller spread of rates change?",
        spread,
        "drift-vs-ratio.png",
    ));
    a.extend(compared(
        (verdicts, scale_verdicts),
        "What do fewer internal events change?",
        internal,
        "growth-vs-load.png",
    ));
    a
}

/// A configuration's points from where its trials ran, and from the
/// simulator at scale.
fn sources(g: &Group) -> (Vec<&Point>, Vec<&Point>) {
    (
        g.trials.iter().map(|t| &t.point).collect(),
        g.scale.iter().collect(),
    )
}

/// `12 (range 4–30)` over `points`.
fn median_range(points: &[&Point], f: impl Fn(&Point) -> f64, decimals: usize) -> String {
    let v: Vec<f64> = points.iter().map(|p| f(p)).collect();
    super::group::spread(&v, decimals)
}

/// `12 (5–95 %: 4–30)` over `points`, or `–`.
fn median_band(points: &[&Point], f: impl Fn(&Point) -> f64, decimals: usize) -> String {
    let v: Vec<f64> = points.iter().map(|p| f(p)).collect();
    match (
        stats::percentile(&v, 50.0),
        stats::percentile(&v, 5.0),
        stats::percentile(&v, 95.0),
    ) {
        (Some(m), Some(lo), Some(hi)) => format!(
            "{} (5–95 %: {}–{})",
            fixed(m, decimals),
            fixed(lo, decimals),
            fixed(hi, decimals)
        ),
        _ => "–".to_owned(),
    }
}

/// What the trials ran on, for a sentence: `the 5 network trials`.
fn own(g: &Group) -> String {
    let n = g.trials.len();
    let net = g
        .trials
        .first()
        .is_some_and(|t| t.machines.iter().any(|m| m.timing.is_some()));
    format!(
        "the {n} {} trial{}",
        if net { "network" } else { "simulated" },
        if n == 1 { "" } else { "s" }
    )
}

/// The median of `f` over the points whose rate ratio lies in `ratios`.
fn median_at(points: &[&Point], ratios: [f64; 2], f: impl Fn(&Point) -> f64) -> Option<f64> {
    let v: Vec<f64> = points
        .iter()
        .filter(|p| ratios[0] - 1e-9 <= p.ratio && p.ratio <= ratios[1] + 1e-9)
        .map(|p| f(p))
        .collect();
    stats::percentile(&v, 50.0)
}

/// `at a rate ratio of 1/6 … X; at 1/2 or more, Y`, from the simulator (or
/// the trials, without one).
fn by_ratio(points: &[&Point], f: impl Fn(&Point) -> f64 + Copy, unit: &str) -> String {
    match (
        median_at(points, [0.0, 1.0 / 6.0], f),
        median_at(points, [0.5, 0.99], f),
    ) {
        (Some(far), Some(near)) => format!(
            " It {} with the spread of rates: its median is {} {unit} where the slowest machine runs at 1/6 of the fastest's rate, {} {unit} where it runs at half or more.",
            if far > near { "grows" } else { "does not grow" },
            fixed(far, 0),
            fixed(near, 0)
        ),
        _ => String::new(),
    }
}

fn jumps(g: &Group) -> Answer {
    let (trials, scale) = sources(g);
    // Said from the data: the slowest machine's median largest jump against
    // the fastest's, over the simulator's trials when it ran.
    let basis = if scale.is_empty() { &trials } else { &scale };
    let median = |f: fn(&Point) -> f64| {
        stats::percentile(&basis.iter().map(|p| f(p)).collect::<Vec<_>>(), 50.0)
    };
    let most = median(|p| p.slowest_jump as f64) > median(|p| p.fastest_jump as f64);
    let mut text = format!(
        "In the standard configuration (rates {}, a die of {}) the slowest machine's clock {}. In {} its largest jump was {} clock units, the fastest machine's {}.",
        g.rates,
        g.sides,
        if most {
            "jumps the most"
        } else {
            "does not jump more than the fastest's"
        },
        own(g),
        median_range(&trials, |p| p.slowest_jump as f64, 0),
        median_range(&trials, |p| p.fastest_jump as f64, 0),
    );
    if !scale.is_empty() {
        let unequal: Vec<f64> = scale
            .iter()
            .filter(|p| !p.equal_rates())
            .map(|p| p.slowest_jump as f64 - p.fastest_jump as f64)
            .collect();
        text.push_str(&format!(
            " Over {} simulated trials the slowest machine's largest jump was {} clock units",
            scale.len(),
            median_band(&scale, |p| p.slowest_jump as f64, 0)
        ));
        if let Some(e) = stats::paired(&unequal) {
            text.push_str(&format!(
                ", and its largest jump minus the fastest's was a median of {} (95 % CI {} to {}, {} trials with unequal rates).",
                signed(e.median, 0),
                signed(e.low, 0),
                signed(e.high, 0),
                e.n
            ));
        } else {
            text.push('.');
        }
        text.push_str(&by_ratio(&scale, |p| p.slowest_jump as f64, "clock units"));
    }
    text.push_str(" A jump is a receive that carries a clock far ahead of the slow machine's own: the fast machines count faster, and every message they send pulls the slow clock forward.");
    Answer {
        question: "How large are the jumps in the logical clocks, and on which machine?".to_owned(),
        text,
        figures: vec!["jumps-vs-ratio.png".to_owned()],
    }
}

fn drift(g: &Group) -> Answer {
    let (trials, scale) = sources(g);
    let mut text = format!(
        "The slow clocks fall behind the fastest between the messages that pull them forward. In {} the largest gap behind the fastest machine was {} clock units.",
        own(g),
        median_range(&trials, |p| p.largest_drift as f64, 0),
    );
    if !scale.is_empty() {
        text.push_str(&format!(
            " Over {} simulated trials it was {} clock units.",
            scale.len(),
            median_band(&scale, |p| p.largest_drift as f64, 0)
        ));
        text.push_str(&by_ratio(&scale, |p| p.largest_drift as f64, "clock units"));
    }
    Answer {
        question: "How far do the machines' clocks drift apart?".to_owned(),
        text,
        figures: vec!["drift-vs-ratio.png".to_owned()],
    }
}

/// The share of `points` whose slowest machine is loaded above 1, in words.
fn loaded_share(points: &[&Point]) -> String {
    let over = points
        .iter()
        .filter(|p| p.slowest_load > CRITICAL[1])
        .count();
    format!(
        "{} % of them",
        fixed(100.0 * over as f64 / points.len().max(1) as f64, 0)
    )
}

fn inbox(standard: &Group, fewer: Option<&Group>) -> Answer {
    let (trials, scale) = sources(standard);
    let longest = standard
        .trials
        .iter()
        .max_by_key(|t| t.point.slowest_max_queue);
    let mut text = format!(
        "A machine's inbox grows when its load — the messages that arrive per second over the messages it can take, its rate — exceeds 1; the queueing estimate predicts the growth as arrivals minus rate. In the standard configuration the slowest inbox grew by {} msgs/s in {}",
        median_range(&trials, |p| p.slowest_growth, 2),
        own(standard),
    );
    if let Some(t) = longest {
        let rates = crate::text::joined(&t.rates, ", ");
        text.push_str(&format!(
            ", and held at most {} messages ({}, rates {rates}, load {})",
            t.point.slowest_max_queue,
            t.path,
            fixed(t.point.slowest_load, 2)
        ));
    }
    text.push('.');
    let loaded: Vec<&Point> = scale
        .iter()
        .copied()
        .chain(fewer.into_iter().flat_map(|g| g.scale.iter()))
        .filter(|p| p.slowest_load > CRITICAL[1])
        .collect();
    if !scale.is_empty() {
        text.push_str(&format!(
            " In the simulator the slowest load exceeded {} in {} with the defaults",
            CRITICAL[1],
            loaded_share(&scale)
        ));
        if let Some(f) = fewer.filter(|f| !f.scale.is_empty()) {
            let fs: Vec<&Point> = f.scale.iter().collect();
            text.push_str(&format!(
                " and in {} with a die of {}",
                loaded_share(&fs),
                f.sides
            ));
        }
        text.push('.');
        let d: Vec<f64> = loaded
            .iter()
            .map(|p| p.slowest_growth - p.slowest_predicted)
            .collect();
        if let Some(e) = stats::paired(&d) {
            let predicted: Vec<f64> = loaded.iter().map(|p| p.slowest_predicted).collect();
            let typical = stats::percentile(&predicted, 50.0).unwrap_or(0.0);
            // Within a tenth of the typical prediction: as fast as predicted.
            let verdict = if e.median.abs() <= 0.1 * typical {
                "the inbox grows without bound, as fast as predicted"
            } else if e.median > 0.0 {
                "the inbox grows without bound, faster than predicted"
            } else {
                "the inbox grows more slowly than predicted"
            };
            text.push_str(&format!(
                " Where it did, the measured growth missed the prediction by a median of {} msgs/s (95 % CI {} to {}, {} trials; the median prediction {} msgs/s): {verdict}.",
                signed(e.median, 2),
                signed(e.low, 2),
                signed(e.high, 2),
                e.n,
                fixed(typical, 2)
            ));
        }
        let critical: Vec<&Point> = scale
            .iter()
            .copied()
            .filter(|p| CRITICAL[0] <= p.slowest_load && p.slowest_load <= CRITICAL[1])
            .collect();
        if let Some(example) = critical.first() {
            let rates = crate::text::joined(&example.rates, ", ");
            text.push_str(&format!(
                " Near a load of 1 (from {} to {}: the critical region, {} trials, such as rates {rates}, load {}) the estimate predicts almost no growth, but the inbox wanders up and down: its growth there was {} msgs/s.",
                CRITICAL[0],
                CRITICAL[1],
                critical.len(),
                fixed(example.slowest_load, 2),
                median_band(&critical, |p| p.slowest_growth, 2)
            ));
        }
    }
    Answer {
        question: "How does the slow machine's inbox grow?".to_owned(),
        text,
        figures: vec!["growth-vs-load.png".to_owned()],
    }
}

/// The answer from the verdicts that compare configurations trial by
/// trial (`which`): the simulator's when it ran, else the set's own.
fn compared(
    (own, scale): (&[Verdict], &[Verdict]),
    question: &str,
    which: impl Fn(&&Verdict) -> bool,
    figure: &str,
) -> Option<Answer> {
    let (verdicts, whose) = if scale.iter().any(|v| which(&v)) {
        (scale, "simulated trials with the same seeds")
    } else {
        (own, "trials with the same seeds")
    };
    let sentences: Vec<String> = verdicts
        .iter()
        .filter(&which)
        .filter_map(|v| {
            let m = v.effect.as_ref()?;
            let e = &m.effect;
            Some(format!(
                "{}: held in {} of {} pairs of {whose}; {}: median {} {} (95 % CI {} to {}{}){}.",
                upper_first(&v.statement),
                v.held,
                v.of,
                m.what,
                signed(e.median, m.decimals),
                m.unit,
                signed(e.low, m.decimals),
                signed(e.high, m.decimals),
                e.split
                    .map_or_else(String::new, |s| format!("; {}", s.words())),
                if v.skipped > 0 {
                    format!("; {} pairs skipped, {}", v.skipped, v.why_skipped)
                } else {
                    String::new()
                }
            ))
        })
        .collect();
    (!sentences.is_empty()).then(|| Answer {
        question: question.to_owned(),
        text: sentences.join(" "),
        figures: vec![figure.to_owned()],
    })
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::{Group, Set};

    fn answers_of(set: &Set) -> Vec<Answer> {
        answers(&set.groups, &set.verdicts, &set.scale_verdicts)
    }

    fn point(seed: u64, rates: [u32; 3], slowest_jump: u64, fastest_jump: u64) -> Point {
        let (lo, hi) = (*rates.iter().min().unwrap(), *rates.iter().max().unwrap());
        Point {
            seed,
            rates: rates.to_vec(),
            sides: 10,
            ratio: f64::from(lo) / f64::from(hi),
            slowest_jump,
            fastest_jump,
            largest_jump: slowest_jump.max(fastest_jump),
            largest_drift: 10,
            slowest_growth: 0.0,
            slowest_predicted: 0.0,
            slowest_load: 0.5,
            slowest_max_queue: 2,
            fastest_jump_share: 0.0,
            slowest_grows_throughout: false,
        }
    }

    fn set_of(scale: Vec<Point>) -> Set {
        let mut g = Group::new("standard", "1..=6", 10);
        g.span = Some([1, 6]);
        g.scale = scale;
        Set {
            title: "t".to_owned(),
            groups: vec![g],
            verdicts: Vec::new(),
            scale_verdicts: Vec::new(),
            band_verdicts: Vec::new(),
            answers: Vec::new(),
            topology_points: Vec::new(),
            topology_table: Vec::new(),
            topology_answers: Vec::new(),
            clock_points: Vec::new(),
            clock_table: Vec::new(),
            clock_answers: Vec::new(),
        }
    }

    #[test]
    fn the_answers_say_what_the_data_say() {
        let slow_jumps: Vec<Point> = (0..9).map(|s| point(s, [1, 6, 3], 12, 1)).collect();
        let text = &answers_of(&set_of(slow_jumps))[0].text;
        assert!(
            text.contains("the slowest machine's clock jumps the most"),
            "{text}"
        );
        assert!(
            text.contains("minus the fastest's was a median of +11"),
            "{text}"
        );
        // Data where the fastest jumps more: the answer does not say otherwise.
        let fast_jumps: Vec<Point> = (0..9).map(|s| point(s, [1, 6, 3], 1, 12)).collect();
        let text = &answers_of(&set_of(fast_jumps))[0].text;
        assert!(
            text.contains("does not jump more than the fastest's"),
            "{text}"
        );
        // A single run answers nothing: its report points to the study.
        assert!(answers_of(&set_of(Vec::new())).is_empty());
    }
}
