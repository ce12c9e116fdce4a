//! The report across trials: a run's trials, or a study's configurations,
//! side by side on shared scales, with the exercise's observations checked
//! against them.

use serde::Serialize;

use crate::analysis::{Analysis, MachineFigures};
use crate::rundir::End;

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
