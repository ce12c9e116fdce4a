//! The flat files beside a report across trials, for pandas and friends:
//! `trials.csv`, one row per trial and machine, and, for a study that ran
//! the simulator at scale, `scale.csv`, one row per simulated trial.

use std::path::Path;

use serde::Serialize;

use super::ReportError;
use super::evidence::Point;
use super::set::Set;

/// One machine of one trial: a row of `trials.csv`.
#[derive(Debug, Serialize)]
struct MachineRow<'a> {
    configuration: &'a str,
    trial: &'a str,
    seed: u64,
    sides: u8,
    duration_s: f64,
    machine: u8,
    rate: u32,
    slowest: bool,
    fastest: bool,
    ticks: u64,
    receives: u64,
    sends: u64,
    internals: u64,
    final_clock: u64,
    largest_jump: u64,
    jumps: u64,
    mean_jump: f64,
    drift_mean: f64,
    drift_max: i64,
    drift_trend_per_s: f64,
    queue_mean: f64,
    queue_max: u64,
    growth_per_s: f64,
    arrivals_per_s: f64,
    load: f64,
    predicted_growth_per_s: f64,
    completed: bool,
    violations: u64,
}

/// One simulated trial at scale: a row of `scale.csv`.
#[derive(Debug, Serialize)]
struct ScaleRow<'a> {
    configuration: &'a str,
    seed: u64,
    // The first three machines' rates: a study at scale runs three
    // machines (a study of more machines is issue 19's step 3).
    rate_0: Option<u32>,
    rate_1: Option<u32>,
    rate_2: Option<u32>,
    sides: u8,
    ratio: f64,
    slowest_jump: u64,
    fastest_jump: u64,
    largest_jump: u64,
    largest_drift: i64,
    slowest_growth_per_s: f64,
    slowest_predicted_per_s: f64,
    slowest_load: f64,
    slowest_max_queue: u64,
}

impl<'a> ScaleRow<'a> {
    fn of(configuration: &'a str, p: &Point) -> Self {
        let rate = |i: usize| p.rates.get(i).copied();
        let (rate_0, rate_1, rate_2) = (rate(0), rate(1), rate(2));
        Self {
            configuration,
            seed: p.seed,
            rate_0,
            rate_1,
            rate_2,
            sides: p.sides,
            ratio: p.ratio,
            slowest_jump: p.slowest_jump,
            fastest_jump: p.fastest_jump,
            largest_jump: p.largest_jump,
            largest_drift: p.largest_drift,
            slowest_growth_per_s: p.slowest_growth,
            slowest_predicted_per_s: p.slowest_predicted,
            slowest_load: p.slowest_load,
            slowest_max_queue: p.slowest_max_queue,
        }
    }
}

/// Writes `rows` as CSV with a header to `path`.
fn write_rows<T: Serialize>(path: &Path, rows: impl Iterator<Item = T>) -> Result<(), ReportError> {
    let fail = |e: csv::Error| ReportError::Write {
        path: path.to_owned(),
        source: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_path(path).map_err(fail)?;
    for row in rows {
        w.serialize(row).map_err(fail)?;
    }
    w.flush().map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Writes `trials.csv` (`scale.csv` when the set ran the simulator at
/// scale, `topologies.csv` when it compared the topologies) into `dir`.
pub fn write(dir: &Path, set: &Set) -> Result<(), ReportError> {
    if !set.clock_points.is_empty() {
        write_rows(&dir.join("clocks.csv"), set.clock_points.iter())?;
    }
    if !set.topology_points.is_empty() {
        write_rows(&dir.join("topologies.csv"), set.topology_points.iter())?;
    }
    let machines = set.groups.iter().flat_map(|g| {
        g.trials.iter().flat_map(move |t| {
            let low = t.rates.iter().copied().min().unwrap_or(0);
            let high = t.rates.iter().copied().max().unwrap_or(0);
            t.machines.iter().map(move |m| MachineRow {
                configuration: &g.name,
                trial: &t.path,
                seed: t.seed,
                sides: t.sides,
                duration_s: t.duration_s,
                machine: m.id,
                rate: m.rate,
                slowest: m.rate == low,
                fastest: m.rate == high,
                ticks: m.ticks,
                receives: m.receives,
                sends: m.sends,
                internals: m.internals,
                final_clock: m.final_clock,
                largest_jump: m.jumps.max,
                jumps: m.jumps.jumps,
                mean_jump: m.jumps.mean_jump,
                drift_mean: m.drift.mean,
                drift_max: m.drift.max,
                drift_trend_per_s: m.drift.trend_per_s,
                queue_mean: m.queue.mean,
                queue_max: m.queue.max,
                growth_per_s: m.queue.growth_per_s,
                arrivals_per_s: m.estimate.arrivals_per_s,
                load: m.estimate.load,
                predicted_growth_per_s: m.estimate.predicted_growth_per_s,
                completed: t.completed,
                violations: t.violations,
            })
        })
    });
    write_rows(&dir.join("trials.csv"), machines)?;
    if set.groups.iter().any(|g| !g.scale.is_empty()) {
        let points = set
            .groups
            .iter()
            .flat_map(|g| g.scale.iter().map(|p| ScaleRow::of(&g.name, p)));
        write_rows(&dir.join("scale.csv"), points)?;
    }
    Ok(())
}
