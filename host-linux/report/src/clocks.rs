//! The clock study's evidence: the same simulated runs seen through
//! Lamport's clocks, vector clocks and an HLC, with true physical clocks
//! and with skewed ones.
//!
//! Nothing the model decides depends on a clock's value, so each trial's
//! events are one set of events, stamped three ways: the vector clocks
//! rebuilt from the logs (causality itself; the study runs each unskewed
//! seed again carrying them and holds the carried vectors to these),
//! Lamport's clocks as logged, and the HLC the trial carried, held to the
//! HLC replayed over the timestamps (`scalemodel_analysis::hlc`).
//! Trial `k` of every skew has the same seed: the same events, only the
//! physical clocks differ, so the clocks are compared pair by pair.

use serde::{Deserialize, Serialize};

use crate::evidence::{Measured, p_value, split_words};
use crate::text::{and_list, fixed};
use scalemodel_analysis::Analysis;
use scalemodel_analysis::stats::{self, Effect};

/// What the clock study's table and comparisons rest on, for its section.
pub const INTRO: &str = "Each trial's events stamped three ways, every clock carried in the machines' messages: vector clocks (each unskewed seed runs again carrying one; its vectors equal those rebuilt from the logs, causality itself, and its events the HLC run's), Lamport's clocks as logged, and a hybrid logical clock (HLC, equal to the HLC replayed over the timestamps). Trial `k` has the same seed under every skew: the same events, only the physical clocks differ. Medians over each skew's runs (every run is a row of `clocks.csv`).";

/// One trial, as the clock study compares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockPoint {
    /// Its seed.
    pub seed: u64,
    /// Its physical clocks: `none` (true), or `sim --skew`'s bounds.
    pub skew: String,
    /// Pairs of events on different machines.
    pub pairs: u64,
    /// Of those, concurrent (the vector clocks tell them), %.
    pub concurrent_pct: f64,
    /// Of the pairs Lamport's clocks order, the concurrent ones, %.
    pub lamport_claims_pct: f64,
    /// Of the pairs the HLC orders, the concurrent ones, %.
    pub hlc_claims_pct: f64,
    /// Causally ordered pairs whose timestamps put the cause after its
    /// effect, %.
    pub timestamps_inverted_pct: f64,
    /// Causally ordered pairs the HLC puts the wrong way round or ties
    /// (0 while its rules hold).
    pub hlc_inverted: u64,
    /// Events whose HLC `l` is ahead of their machine's clock, %.
    pub hlc_ahead_pct: f64,
    /// The largest `l − pt`, ms.
    pub hlc_max_ahead_ms: f64,
    /// The bound `ε`: the widest gap between two machines' clocks, ms.
    pub epsilon_ms: f64,
    /// `l − pt ≤ ε` at every event.
    pub hlc_within_bound: bool,
    /// The HLC's largest counter.
    pub hlc_max_c: u32,
}

/// `part` of `whole` in percent, 0 of nothing.
fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

impl ClockPoint {
    /// The point of trial `a` (analysed with its pairs and its HLC) under
    /// `skew`; `None` when either is missing (a clock that does not rise,
    /// an HLC counter that overflowed: the checker says why).
    pub fn of(a: &Analysis, skew: &str) -> Option<Self> {
        let (p, h) = (a.pairs.as_ref()?, a.hlc.as_ref()?);
        let (lamport, hlc, time) = (p.lamport.as_ref()?, p.hlc.as_ref()?, p.timestamps.as_ref());
        Some(Self {
            seed: a.run.params.seed,
            skew: skew.to_owned(),
            pairs: p.pairs,
            concurrent_pct: pct(p.concurrent, p.pairs),
            lamport_claims_pct: pct(lamport.concurrent, lamport.ordered),
            hlc_claims_pct: pct(hlc.concurrent, hlc.ordered),
            // Timestamps that fall back (none do in the simulator) put
            // every pair in doubt: counted as all inverted.
            timestamps_inverted_pct: time.map_or(100.0, |t| pct(t.inverted, p.ordered)),
            hlc_inverted: hlc.inverted,
            hlc_ahead_pct: pct(h.ahead, h.events),
            hlc_max_ahead_ms: h.max_ahead_ns as f64 / 1e6,
            epsilon_ms: h.epsilon_ns as f64 / 1e6,
            hlc_within_bound: h.within_bound,
            hlc_max_c: h.max_c,
        })
    }
}

/// One skew's comparison of the clocks, over its trials.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// `none`, or `sim --skew`'s bounds.
    pub skew: String,
    /// Trials.
    pub runs: usize,
    /// Trials whose HLC kept its bound and put no cause after its effect.
    pub hlc_sound: usize,
    /// The HLC's share of ordered pairs that are concurrent minus
    /// Lamport's, paired by trial, in percentage points.
    pub hlc_minus_lamport: Option<Effect>,
    /// The effects: the HLC's claims against Lamport's (paired), the
    /// timestamps' inversions, how often `l` ran ahead.
    pub effects: Vec<Measured>,
    /// The comparison in words.
    pub words: String,
}

/// The skews in the order they were run, each once.
fn skews(points: &[ClockPoint]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for p in points {
        if !out.contains(&p.skew.as_str()) {
            out.push(&p.skew);
        }
    }
    out
}

/// Each skew's comparison.
pub fn answers(points: &[ClockPoint]) -> Vec<Answer> {
    skews(points)
        .into_iter()
        .map(|skew| {
            let of: Vec<&ClockPoint> = points.iter().filter(|p| p.skew == skew).collect();
            answer(skew, &of)
        })
        .collect()
}

fn answer(skew: &str, points: &[&ClockPoint]) -> Answer {
    let values = |f: fn(&ClockPoint) -> f64| -> Vec<f64> { points.iter().map(|p| f(p)).collect() };
    let named = |what: &str, unit: &str, decimals, effect: Option<Effect>| {
        effect.map(|effect| Measured {
            what: what.to_owned(),
            unit: unit.to_owned(),
            decimals,
            effect,
        })
    };
    let claims = stats::paired(&values(|p| p.hlc_claims_pct - p.lamport_claims_pct));
    let inverted = stats::median(&values(|p| p.timestamps_inverted_pct));
    let ahead = stats::median(&values(|p| p.hlc_ahead_pct));
    let hlc_sound = points
        .iter()
        .filter(|p| p.hlc_within_bound && p.hlc_inverted == 0)
        .count();
    let words = words(skew, points, claims.as_ref(), hlc_sound);
    let hlc_minus_lamport = claims.clone();
    let effects = [
        named(
            "concurrent pairs (the vector clocks tell each)",
            "%",
            1,
            stats::median(&values(|p| p.concurrent_pct)),
        ),
        named(
            "pairs Lamport's order orders that are concurrent",
            "%",
            1,
            stats::median(&values(|p| p.lamport_claims_pct)),
        ),
        named(
            "the same share for the HLC, minus Lamport's",
            "percentage points",
            2,
            claims,
        ),
        named(
            "causally ordered pairs the timestamps put the wrong way round",
            "%",
            3,
            inverted,
        ),
        named(
            "events whose HLC l is ahead of their machine's clock",
            "%",
            2,
            ahead,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    Answer {
        skew: skew.to_owned(),
        runs: points.len(),
        hlc_sound,
        hlc_minus_lamport,
        effects,
        words,
    }
}

/// `true physical clocks` or `clocks skewed by --skew 1s,1000`.
fn clocks(skew: &str) -> String {
    if skew == "none" {
        "true physical clocks".to_owned()
    } else {
        format!("physical clocks skewed by `--skew {skew}`")
    }
}

fn words(skew: &str, points: &[&ClockPoint], claims: Option<&Effect>, sound: usize) -> String {
    let head = format!("With {} ({} trials)", clocks(skew), points.len());
    let Some(e) = claims else {
        return format!("{head}: no trials to compare");
    };
    let median = |f| median_of(points, f);
    let worst_ahead = points
        .iter()
        .map(|p| p.hlc_max_ahead_ms)
        .fold(0.0, f64::max);
    let sound_words = if sound == points.len() {
        "in every trial".to_owned()
    } else {
        format!(
            "in only {sound} of {} trials (**its rules broke**)",
            points.len()
        )
    };
    format!(
        "{head}, the vector clocks tell the {} % of event pairs that are concurrent; Lamport's order claims a cause for {} % of the pairs it orders and the HLC's for {} %, {} ({} percentage points, 95 % CI {} to {}; {}sign test {}). The timestamps put {} % of causes after their effects; the HLC put no cause after its effect and kept `l − pt ≤ ε` {sound_words}, its `l` ahead of a machine's clock in {} % of events, by at most {} ms (medians over the trials, the largest gap over all)",
        fixed(median(|p| p.concurrent_pct), 1),
        fixed(median(|p| p.lamport_claims_pct), 1),
        fixed(median(|p| p.hlc_claims_pct), 1),
        compared(e),
        signed(e.median),
        signed(e.low),
        signed(e.high),
        split_words(e),
        p_value(e.p.unwrap_or(1.0)),
        fixed(median(|p| p.timestamps_inverted_pct), 3),
        fixed(median(|p| p.hlc_ahead_pct), 2),
        fixed(worst_ahead, 1),
    )
}

/// `+0.31`, `-0.02`.
fn signed(x: f64) -> String {
    format!("{x:+.2}")
}

/// How the HLC's claims compare with Lamport's in `e`, the paired
/// difference's median and its interval: `more often than Lamport's`,
/// `less often …`, `no less often …` where the interval starts at 0 (the
/// trials that tie, which the sign test drops, hold the median there), or
/// `as often as Lamport's (…)`.
fn compared(e: &Effect) -> &'static str {
    if e.low > 0.0 {
        "more often than Lamport's"
    } else if e.high < 0.0 {
        "less often than Lamport's"
    } else if e.low == 0.0 && e.high > 0.0 {
        "no less often than Lamport's (the interval of the difference starts at 0)"
    } else if e.high == 0.0 && e.low < 0.0 {
        "no more often than Lamport's (the interval of the difference ends at 0)"
    } else {
        "as often as Lamport's (the interval of the difference holds 0)"
    }
}

/// The answer to the study's question, from every skew's comparison.
pub fn verdict(answers: &[Answer]) -> String {
    if answers.is_empty() {
        return "The clocks were not compared.".to_owned();
    }
    // Each outcome once, with the physical clocks it came with.
    let mut each: Vec<(&str, Vec<String>)> = Vec::new();
    for a in answers {
        let how = a
            .hlc_minus_lamport
            .as_ref()
            .map_or("(not compared)", compared);
        match each.iter_mut().find(|(h, _)| *h == how) {
            Some((_, with)) => with.push(clocks(&a.skew)),
            None => each.push((how, vec![clocks(&a.skew)])),
        }
    }
    let each: Vec<String> = each
        .into_iter()
        .map(|(how, with)| format!("{how} with {}", and_list(&with)))
        .collect();
    let sound = answers.iter().all(|a| a.hlc_sound == a.runs);
    format!(
        "Only the vector clocks tell cause from coincidence: Lamport's clocks and the HLC both order pairs of events that are concurrent; the HLC, which orders by physical time first, claims a cause between concurrent events {}. What the HLC adds is physical time: unlike the timestamps it puts no cause after its effect, and {}.",
        each.join("; "),
        if sound {
            "its `l` stayed within the bound `ε` of the machines' clocks in every trial"
        } else {
            "**its bound `l − pt ≤ ε` failed in some trials** (below)"
        }
    )
}

/// The median of `f` over `points`, 0 of none.
fn median_of(points: &[&ClockPoint], f: fn(&ClockPoint) -> f64) -> f64 {
    let values: Vec<f64> = points.iter().map(|p| f(p)).collect();
    stats::median(&values).map_or(0.0, |e| e.median)
}

/// One row of the clock study's table: a skew, each figure's median.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `none`, or `sim --skew`'s bounds.
    pub skew: String,
    /// Trials.
    pub runs: usize,
    /// Concurrent pairs, %.
    pub concurrent_pct: f64,
    /// Lamport-ordered pairs that are concurrent, %.
    pub lamport_claims_pct: f64,
    /// HLC-ordered pairs that are concurrent, %.
    pub hlc_claims_pct: f64,
    /// Causes the timestamps stamp after their effects, %.
    pub timestamps_inverted_pct: f64,
    /// Events whose HLC `l` is ahead, %.
    pub hlc_ahead_pct: f64,
    /// The largest `l − pt`, ms.
    pub hlc_max_ahead_ms: f64,
    /// The bound `ε`, ms.
    pub epsilon_ms: f64,
}

/// The table's column titles, for [`Row::cells`].
pub const COLUMNS: [&str; 9] = [
    "physical clocks",
    "runs",
    "concurrent pairs (%)",
    "Lamport-ordered pairs concurrent (%)",
    "HLC-ordered pairs concurrent (%)",
    "causes stamped after effects (%)",
    "events with HLC l ahead (%)",
    "largest l − pt (ms)",
    "bound ε (ms)",
];

impl Row {
    /// Its cells under [`COLUMNS`], as text.
    pub fn cells(&self) -> [String; 9] {
        [
            if self.skew == "none" {
                "true".to_owned()
            } else {
                format!("--skew {}", self.skew)
            },
            self.runs.to_string(),
            fixed(self.concurrent_pct, 1),
            fixed(self.lamport_claims_pct, 1),
            fixed(self.hlc_claims_pct, 1),
            fixed(self.timestamps_inverted_pct, 3),
            fixed(self.hlc_ahead_pct, 2),
            fixed(self.hlc_max_ahead_ms, 1),
            fixed(self.epsilon_ms, 1),
        ]
    }
}

/// The table: one row per skew, in the order run.
pub fn table(points: &[ClockPoint]) -> Vec<Row> {
    skews(points)
        .into_iter()
        .map(|skew| {
            let of: Vec<&ClockPoint> = points.iter().filter(|p| p.skew == skew).collect();
            let median = |f| median_of(&of, f);
            Row {
                skew: skew.to_owned(),
                runs: of.len(),
                concurrent_pct: median(|p| p.concurrent_pct),
                lamport_claims_pct: median(|p| p.lamport_claims_pct),
                hlc_claims_pct: median(|p| p.hlc_claims_pct),
                timestamps_inverted_pct: median(|p| p.timestamps_inverted_pct),
                hlc_ahead_pct: median(|p| p.hlc_ahead_pct),
                hlc_max_ahead_ms: median(|p| p.hlc_max_ahead_ms),
                epsilon_ms: median(|p| p.epsilon_ms),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(seed: u64, skew: &str, lamport: f64, hlc: f64, sound: bool) -> ClockPoint {
        ClockPoint {
            seed,
            skew: skew.to_owned(),
            pairs: 1000,
            concurrent_pct: 10.0,
            lamport_claims_pct: lamport,
            hlc_claims_pct: hlc,
            timestamps_inverted_pct: if skew == "none" { 0.0 } else { 0.5 },
            hlc_inverted: 0,
            hlc_ahead_pct: 3.0,
            hlc_max_ahead_ms: seed as f64,
            epsilon_ms: 100.0,
            hlc_within_bound: sound,
            hlc_max_c: 2,
        }
    }

    #[test]
    fn the_answers_say_what_the_points_say() {
        let mut points: Vec<ClockPoint> = (0..20)
            .map(|s| point(s, "none", 9.0, 9.0 + 0.1 * (s % 3) as f64 - 0.1, true))
            .collect();
        points.extend((0..20).map(|s| point(s, "1s,1000", 9.0, 9.5 + 0.01 * s as f64, true)));
        let answers = answers(&points);
        assert_eq!(answers.len(), 2);
        let (none, skewed) = (&answers[0], &answers[1]);
        assert_eq!((none.skew.as_str(), none.runs), ("none", 20));
        assert!(
            none.words.contains("as often as Lamport's"),
            "{}",
            none.words
        );
        assert!(
            skewed.words.contains("more often than Lamport's"),
            "{}",
            skewed.words
        );
        assert!(
            skewed.words.contains("by at most 19.0 ms"),
            "{}",
            skewed.words
        );
        assert_eq!(skewed.hlc_sound, 20);
        let v = verdict(&answers);
        assert!(v.contains("as often as Lamport's (the interval of the difference holds 0) with true physical clocks; more often than Lamport's with physical clocks skewed by `--skew 1s,1000`"), "{v}");
        assert!(v.contains("in every trial"), "{v}");
        let table = table(&points);
        assert_eq!(table[1].cells()[0], "--skew 1s,1000");
        assert_eq!(table[1].runs, 20);
        assert!(
            (table[1].hlc_claims_pct - 9.6).abs() < 0.01,
            "{:?}",
            table[1]
        );
    }

    #[test]
    fn ties_that_hold_the_median_at_zero_are_said_as_such() {
        // Equal in 12 trials, higher in 8: the median is 0, its interval
        // starts there, and the sign test (ties dropped) still sees 8 to 0.
        let points: Vec<ClockPoint> = (0..20)
            .map(|s| point(s, "50ms,100", 9.0, if s < 12 { 9.0 } else { 9.3 }, true))
            .collect();
        let answers = answers(&points);
        let e = answers[0].hlc_minus_lamport.as_ref().expect("compared");
        assert_eq!((e.median, e.low), (0.0, 0.0), "{e:?}");
        let words = &answers[0].words;
        assert!(words.contains("no less often than Lamport's"), "{words}");
        assert!(
            words.contains("8 above 0, 0 below, 12 at 0; sign test"),
            "{words}"
        );
        assert!(verdict(&answers).contains("no less often than Lamport's"));
    }

    #[test]
    fn a_broken_bound_is_said_not_hidden() {
        let mut points: Vec<ClockPoint> = (0..10)
            .map(|s| point(s, "50ms,100", 9.0, 9.2, true))
            .collect();
        points[3].hlc_within_bound = false;
        let answers = answers(&points);
        assert_eq!(answers[0].hlc_sound, 9);
        assert!(
            answers[0].words.contains("in only 9 of 10 trials"),
            "{}",
            answers[0].words
        );
        assert!(verdict(&answers).contains("failed in some trials"));
        assert_eq!(verdict(&[]), "The clocks were not compared.");
    }
}
