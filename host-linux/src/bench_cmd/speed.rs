//! The highest `--speed` at which a networked run stays exact: probed
//! upwards by factors of ten, then bisected a little.
//!
//! A probe is a short `run` of one trial (a few seconds of wall time at
//! every speed). It is exact when every machine's rate error is at most
//! [`RATE_ERROR_PCT_MAX`], every machine's tick lateness p99 is below a
//! tenth of its tick period (p99 and not the largest, so that one
//! scheduling stall the host absorbed does not decide), the checker finds
//! no broken rule (conformance and conservation) and every machine ends
//! `completed`.

use std::fmt;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::net::{Trial, TrialFigures, read_trial};
use crate::rundir::End;

/// The largest rate error, in percent, of an exact run.
pub const RATE_ERROR_PCT_MAX: f64 = 0.01;

/// Why a probe was not exact.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inexact {
    /// `run` itself failed, or wrote no trial to read.
    RunFailed(String),
    /// The checker found rules broken.
    Broken {
        /// How many violations.
        violations: u64,
        /// The first, in words.
        first: String,
    },
    /// A machine did not end `completed`.
    NotCompleted {
        /// The machine.
        machine: u8,
        /// How it ended.
        end: End,
    },
    /// A machine ran fewer than two ticks: nothing to time.
    Untimed {
        /// The machine.
        machine: u8,
    },
    /// A machine's rate was off by more than [`RATE_ERROR_PCT_MAX`].
    Rate {
        /// The machine.
        machine: u8,
        /// Its rate error, percent.
        pct: f64,
    },
    /// A machine's lateness p99 reached a tenth of its period.
    Late {
        /// The machine.
        machine: u8,
        /// Its p99, µs.
        p99_us: f64,
        /// A tenth of its period, µs.
        limit_us: f64,
    },
}

impl fmt::Display for Inexact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RunFailed(why) => write!(f, "the run failed: {why}"),
            Self::Broken { violations, first } => {
                write!(f, "{violations} rules broken, first: {first}")
            }
            Self::NotCompleted { machine, end } => write!(f, "machine {machine} ended {end}"),
            Self::Untimed { machine } => write!(f, "machine {machine} ran under two ticks"),
            Self::Rate { machine, pct } => write!(
                f,
                "machine {machine}'s rate error {pct:+.5} % is over {RATE_ERROR_PCT_MAX} %"
            ),
            Self::Late {
                machine,
                p99_us,
                limit_us,
            } => write!(
                f,
                "machine {machine}'s lateness p99 {p99_us:.1} µs is not below a tenth of its period, {limit_us:.1} µs"
            ),
        }
    }
}

/// Judges a trial run at `speed`: `Ok` when it is exact.
pub fn judge(t: &TrialFigures, speed: u32) -> Result<(), Inexact> {
    if t.violations > 0 {
        return Err(Inexact::Broken {
            violations: t.violations,
            first: t.first_violation.clone().unwrap_or_default(),
        });
    }
    for m in &t.machines {
        if m.end != End::Completed {
            return Err(Inexact::NotCompleted {
                machine: m.id,
                end: m.end,
            });
        }
        let Some(timing) = m.timing else {
            return Err(Inexact::Untimed { machine: m.id });
        };
        if timing.rate_error_pct.abs() > RATE_ERROR_PCT_MAX {
            return Err(Inexact::Rate {
                machine: m.id,
                pct: timing.rate_error_pct,
            });
        }
        let period_us = 1e6 / (f64::from(m.rate.max(1)) * f64::from(speed.max(1)));
        if timing.late_p99_us >= period_us / 10.0 {
            return Err(Inexact::Late {
                machine: m.id,
                p99_us: timing.late_p99_us,
                limit_us: period_us / 10.0,
            });
        }
    }
    Ok(())
}

/// One probe's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The speed probed.
    pub speed: u32,
    /// Its command.
    pub command: String,
    /// `None` when exact, or why not.
    pub inexact: Option<Inexact>,
}

/// How the search goes: the seed and rates of every probe, how long each
/// runs, the speeds to try upwards, and how many bisection steps follow.
#[derive(Debug, Clone)]
pub struct Search {
    /// `--seed` of every probe.
    pub seed: u64,
    /// `--rates` of every probe.
    pub rates: String,
    /// Each probe's wall time in seconds.
    pub wall_s: f64,
    /// The speeds tried upwards, until one is not exact.
    pub speeds: Vec<u32>,
    /// Bisection steps between the last exact speed and the first inexact one.
    pub bisect_steps: u32,
}

impl Search {
    fn trial(&self, speed: u32) -> Trial {
        Trial {
            seed: self.seed,
            rates: self.rates.clone(),
            speed,
            duration_s: self.model_s(speed),
            spin: "auto".to_owned(),
        }
    }

    /// A probe's model time at `speed`: `wall_s` of wall time, and never
    /// less than [`min_model_s`] of the slowest rate, so that the two rules
    /// of exactness agree (see there).
    pub fn model_s(&self, speed: u32) -> f64 {
        (self.wall_s * f64::from(speed)).max(self.shortest_model_s())
    }

    /// [`min_model_s`] of the slowest machine.
    pub fn shortest_model_s(&self) -> f64 {
        let slowest = self
            .rates
            .split(',')
            .filter_map(|r| r.trim().parse::<u32>().ok())
            .min()
            .unwrap_or(1);
        min_model_s(slowest)
    }

    /// Runs one probe in `work/speed-K`; its run directory is removed
    /// unless `keep`.
    fn probe(&self, speed: u32, work: &Path, keep: bool) -> Result<Probe> {
        let trial = self.trial(speed);
        let dir = work.join(format!("speed-{speed}"));
        let log = work.join(format!("speed-{speed}.out"));
        let started = trial.start(crate::procinfo::scalemodel_command(), &dir, &log)?;
        let status = started.wait();
        let inexact = match status {
            // A stopped bench has no answer: it ends, it does not go on.
            Err(e) if super::child::is_interrupted(&e) => return Err(e),
            Err(e) => Some(Inexact::RunFailed(format!("{e:#}"))),
            Ok(_) => match read_trial(&dir.join("trial-1")) {
                // `run` exits non-zero for a trial that did not complete;
                // the trial, when written, says why.
                Ok(t) => judge(&t, speed).err(),
                Err(e) => Some(Inexact::RunFailed(format!(
                    "{e:#} (its output: {})",
                    log.display()
                ))),
            },
        };
        if !keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Ok(Probe {
            speed,
            command: trial.command(),
            inexact,
        })
    }

    /// Probes upwards, then bisects; `report` is told of each probe as it
    /// ends. `known` are probes already made (the bench's long run at speed
    /// 1), taken in order before the speeds to try. Returns the highest
    /// exact speed found and every probe.
    pub fn run(
        &self,
        work: &Path,
        keep: bool,
        known: Vec<Probe>,
        mut report: impl FnMut(&Probe),
    ) -> Result<(Option<u32>, Vec<Probe>)> {
        let mut probes = Vec::new();
        let (mut exact, mut inexact) = (None::<u32>, None::<u32>);
        let mut known = known.into_iter();
        for &speed in &self.speeds {
            let p = match known.next() {
                Some(p) => p,
                None => self.probe(speed, work, keep)?,
            };
            report(&p);
            let (speed, ok) = (p.speed, p.inexact.is_none());
            probes.push(p);
            if ok {
                exact = Some(speed);
            } else {
                inexact = Some(speed);
                break;
            }
        }
        for _ in 0..self.bisect_steps {
            let (Some(lo), Some(hi)) = (exact, inexact) else {
                break;
            };
            let mid = geometric_mid(lo, hi);
            if mid <= lo || mid >= hi {
                break;
            }
            let p = self.probe(mid, work, keep)?;
            report(&p);
            if p.inexact.is_none() {
                exact = Some(mid);
            } else {
                inexact = Some(mid);
            }
            probes.push(p);
        }
        Ok((exact, probes))
    }
}

/// The shortest model time, in seconds, over which a machine at `rate`
/// whose ticks all keep the lateness bound (a tenth of a period) cannot
/// miss the rate bound for that lateness alone.
///
/// The rate error is measured from the first and the last tick. No tick
/// runs early, so lateness changes the span between them by at most the
/// larger of the two lateness figures, and the error by that over the span.
/// With a tenth of a period, `1 / (10 * rate * speed)` wall seconds, it
/// stays within [`RATE_ERROR_PCT_MAX`] over `1 / (10 * rate *
/// RATE_ERROR_PCT_MAX / 100)` model seconds whatever the speed: 500 at rate
/// 2. A shorter probe would call inexact a run whose every tick kept the
/// lateness bound.
pub fn min_model_s(rate: u32) -> f64 {
    1.0 / (10.0 * f64::from(rate.max(1)) * RATE_ERROR_PCT_MAX / 100.0)
}

/// A round speed between `lo` and `hi`, near their geometric mean (the
/// search spans decades): one significant digit.
pub fn geometric_mid(lo: u32, hi: u32) -> u32 {
    let mean = (f64::from(lo) * f64::from(hi)).sqrt();
    let scale = 10f64.powf(mean.log10().floor());
    let mid = ((mean / scale).round() * scale) as u32;
    if mid > lo && mid < hi {
        return mid;
    }
    lo + (hi - lo) / 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_cmd::net::Machine;
    use crate::timing::Timing;

    fn trial(p99_us: f64, rate_error_pct: f64, end: End) -> TrialFigures {
        let machine = |id: u8, rate: u32| Machine {
            id,
            rate,
            timing: Some(Timing {
                ticks: 100,
                rate_error_pct,
                late_p50_us: 1.0,
                late_p99_us: p99_us,
                late_max_us: 5000.0,
            }),
            cpu_us_per_tick: None,
            ticking_cpu_us_per_tick: None,
            peak_rss_kib: None,
            first_tick_ms: None,
            first_tick_unix_ns: None,
            end,
        };
        TrialFigures {
            machines: vec![machine(0, 2), machine(1, 4), machine(2, 6)],
            violations: 0,
            first_violation: None,
        }
    }

    #[test]
    fn exact_means_rate_lateness_rules_and_ends() {
        // At speed 100 the fastest period is 1,667 µs: a tenth is 166.7 µs.
        assert_eq!(judge(&trial(150.0, 0.005, End::Completed), 100), Ok(()));
        assert!(matches!(
            judge(&trial(170.0, 0.005, End::Completed), 100),
            Err(Inexact::Late { machine: 2, .. })
        ));
        assert!(matches!(
            judge(&trial(1.0, -0.02, End::Completed), 100),
            Err(Inexact::Rate { machine: 0, .. })
        ));
        assert!(matches!(
            judge(&trial(1.0, 0.0, End::Overloaded), 100),
            Err(Inexact::NotCompleted {
                end: End::Overloaded,
                ..
            })
        ));
        let mut broken = trial(1.0, 0.0, End::Completed);
        broken.violations = 3;
        assert!(matches!(
            judge(&broken, 1),
            Err(Inexact::Broken { violations: 3, .. })
        ));
    }

    #[test]
    fn a_known_probe_that_is_not_exact_ends_the_search_unrun() {
        let search = Search {
            seed: 1,
            rates: "2,4,6".to_owned(),
            wall_s: 10.0,
            speeds: vec![1, 10, 100],
            bisect_steps: 2,
        };
        let slow = Probe {
            speed: 1,
            command: "the long run".to_owned(),
            inexact: Some(Inexact::Untimed { machine: 0 }),
        };
        let work = tempfile::tempdir().unwrap();
        let mut told = Vec::new();
        let (best, probes) = search
            .run(work.path(), false, vec![slow], |p| told.push(p.speed))
            .unwrap();
        assert_eq!((best, told), (None, vec![1]));
        assert_eq!(probes.len(), 1);
        assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_probe_is_long_enough_that_lateness_within_its_bound_keeps_the_rate() {
        assert_eq!(min_model_s(2), 500.0);
        let search = Search {
            seed: 1,
            rates: "4,2,6".to_owned(),
            wall_s: 10.0,
            speeds: vec![],
            bisect_steps: 0,
        };
        assert_eq!(search.model_s(10), 500.0);
        assert_eq!(search.model_s(1_000), 10_000.0);
        // The worst case: rate 2 at speed 10, the first tick on time and
        // the last a tenth of a period late, over the shortest probe.
        let (rate, speed) = (2.0, 10.0);
        let span_wall = search.model_s(10) / speed + 1.0 / (10.0 * rate * speed);
        let ticks = search.model_s(10) * rate + 1.0;
        let measured = (ticks - 1.0) / (span_wall * speed);
        let pct = (measured - rate).abs() / rate * 100.0;
        assert!(pct <= RATE_ERROR_PCT_MAX * (1.0 + 1e-9), "{pct}");
        // Half the probe would miss the rate bound for the same lateness.
        let half = (ticks - 1.0) / 2.0 / ((span_wall - search.model_s(10) / speed / 2.0) * speed);
        assert!((half - rate).abs() / rate * 100.0 > RATE_ERROR_PCT_MAX);
    }

    #[test]
    fn bisection_picks_round_speeds_between_the_two() {
        assert_eq!(geometric_mid(10, 100), 30);
        assert_eq!(geometric_mid(1000, 10_000), 3000);
        assert_eq!(geometric_mid(30, 100), 50);
        assert_eq!(geometric_mid(10, 30), 20);
        assert_eq!(geometric_mid(1, 2), 1);
        assert_eq!(geometric_mid(1, 10), 3);
    }
}
