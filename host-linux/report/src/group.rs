//! A configuration's trials, the rows of the report across trials, and the
//! spread of a figure over them: the data that [`crate::set`] and
//! [`crate::answers`] both read, below both.

use serde::Serialize;

use crate::evidence::{self, Band, Point};
use crate::text::fixed;
use scalemodel_analysis::causality::Pairs;
use scalemodel_analysis::{Analysis, MachineFigures};
use scalemodel_rundir::End;

/// One trial's headline figures.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRow {
    /// Its folder, relative to the report across trials (`trial-1`,
    /// `standard/trial-2`); its own `report.html` is in it.
    pub path: String,
    /// Its seed.
    pub seed: u64,
    /// Each machine's rate, ticks per model second.
    pub rates: Vec<u32>,
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
    /// The figures the verdicts compare.
    pub point: Point,
    /// The simulator's band for its rates and die (a study's trials).
    pub band: Option<Band>,
    /// Every machine's figures.
    pub machines: Vec<MachineFigures>,
    /// Its event pairs by causality, Lamport's order and the timestamps.
    pub causality: Option<Pairs>,
}

impl TrialRow {
    /// The row of analysed trial `a`, whose folder is `path` from the report.
    pub fn of(a: &Analysis, path: String) -> Self {
        let p = &a.run.params;
        let point = Point::of(a);
        Self {
            path,
            seed: p.seed,
            rates: p.rates.clone(),
            sides: p.sides,
            duration_s: p.duration_s,
            completed: p.machines.iter().all(|m| m.end == End::Completed),
            violations: a.violations.total(),
            largest_jump: point.largest_jump,
            largest_drift: point.largest_drift,
            slowest_growth_per_s: point.slowest_growth,
            slowest_predicted_per_s: point.slowest_predicted,
            point,
            band: None,
            machines: a.figures.clone(),
            causality: a.pairs.clone(),
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
    /// The range its rates come from, when all its trials share one: the
    /// range they were drawn from, or the given rates' span.
    pub span: Option<[u32; 2]>,
    /// Faces of the die.
    pub sides: u8,
    /// Its trials, in order.
    pub trials: Vec<TrialRow>,
    /// The same configuration in the simulator at scale (a study's), one
    /// point per seed; empty when not run.
    pub scale: Vec<Point>,
}

impl Group {
    /// A configuration without trials yet.
    pub fn new(name: impl Into<String>, rates: impl Into<String>, sides: u8) -> Self {
        Self {
            name: name.into(),
            rates: rates.into(),
            span: None,
            sides,
            trials: Vec::new(),
            scale: Vec::new(),
        }
    }

    pub(crate) fn config<'a>(&'a self, points: &'a [Point]) -> evidence::Config<'a> {
        evidence::Config {
            rates: &self.rates,
            span: self.span,
            sides: self.sides,
            points,
        }
    }
}

/// `median (min–max)` of `values`, with `decimals` places; `–` for none.
pub fn spread(values: &[f64], decimals: usize) -> String {
    match crate::plot::summary(values) {
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
