//! The simulator at scale: many seeds of a configuration, each run in
//! memory, checked and reduced to its [`Point`], on every core.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser as _;

use crate::analysis::Analysis;
use crate::caps::SIM_STACK_BYTES;
use crate::cli::{Cli, ClockArg, Command, Rates, SimArgs};
use crate::report::clocks::ClockPoint;
use crate::report::evidence::Point;
use crate::report::topology::TopologyPoint;
use crate::rundir::Topology;
use crate::sim_cmd;

/// One simulated trial: its seed, rates and die, and its length in model seconds.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its seed.
    pub seed: u64,
    /// Its rates: a range to draw from, or given.
    pub rates: Rates,
    /// Faces of the die.
    pub sides: u8,
    /// Model seconds.
    pub duration: f64,
    /// Its number of machines.
    pub machines: u8,
    /// Who sends to whom.
    pub topology: Topology,
    /// `sim --skew`'s bounds for its physical clocks, if they lie.
    pub skew: Option<&'static str>,
    /// The clock its machines carry beside Lamport's (`--clock`).
    pub clock: ClockArg,
}

/// The Unix time a skewed job starts at: ahead of any offset `--skew`
/// allows (an hour), so that no clock reads before 1970.
const SKEWED_START_NS: &str = "1700000000000000000";

impl Job {
    /// `scalemodel sim`'s arguments for it, with every other flag at its
    /// default, by the same parser as the command line.
    pub fn args(&self) -> Result<SimArgs> {
        let (seed, rates) = (self.seed.to_string(), self.rates.to_string());
        let (sides, duration) = (self.sides.to_string(), self.duration.to_string());
        let (machines, topology) = (self.machines.to_string(), self.topology.to_string());
        let mut args = vec![
            "scalemodel",
            "sim",
            "--seed",
            &seed,
            "--rates",
            &rates,
            "--sides",
            &sides,
            "--duration",
            &duration,
            "--machines",
            &machines,
            "--topology",
            &topology,
        ];
        if let Some(skew) = self.skew {
            args.extend(["--skew", skew, "--start-ns", SKEWED_START_NS]);
        }
        if self.clock != ClockArg::Lamport {
            args.extend(["--clock", self.clock.name()]);
        }
        let cli = Cli::try_parse_from(args)?;
        match cli.command {
            Command::Sim(sim) => Ok(*sim),
            _ => bail!("`scalemodel sim` did not parse as the sim command"),
        }
    }

    /// Simulates it in memory and analyses it, or says why it failed (a
    /// simulated run that breaks a rule of the model is a bug, and an error).
    fn analysed(&self) -> Result<Analysis> {
        let a = sim_cmd::analyse_in_memory(&self.args()?)?;
        if !a.violations.is_empty() {
            let skew = self.skew.map_or(String::new(), |s| {
                format!(" --skew {s} --start-ns {SKEWED_START_NS}")
            });
            let skew = match self.clock {
                ClockArg::Lamport => skew,
                clock => format!("{skew} --clock {}", clock.name()),
            };
            bail!(
                "breaks {} rules of the model; replay it with `scalemodel sim --seed {} --rates {} --sides {} --duration {} --machines {} --topology {}{skew}`",
                a.violations.total(),
                self.seed,
                self.rates,
                self.sides,
                self.duration,
                self.machines,
                self.topology
            );
        }
        Ok(a)
    }
}

/// Simulates every job, on as many threads as there are cores, and gives
/// their points in the jobs' order.
pub fn points(jobs: &[Job]) -> Result<Vec<Point>> {
    each(jobs, |_, a| Point::of(&a))
}

/// Simulates every job as [`points`] does, and gives each as the topology
/// study compares it.
pub fn topology_points(jobs: &[Job]) -> Result<Vec<TopologyPoint>> {
    each(jobs, |job, a| TopologyPoint::of(&a, job.topology.name()))
}

/// Simulates every job as [`points`] does, with its causality and its
/// HLC, and gives each as the clock study compares it. A job that carried
/// an HLC is held to its replay ([`Analysis::with_causality`]): a carried
/// stamp that differs is an error, as any broken rule of a simulated run.
pub fn clock_points(jobs: &[Job]) -> Result<Vec<ClockPoint>> {
    let points = each(jobs, |_, a| {
        let a = a.with_causality();
        if let Some(v) = a.violations.first() {
            bail!("its carried clock is not its reference (replay or happened-before): {v}");
        }
        Ok(a)
    })?;
    points
        .into_iter()
        .zip(jobs)
        .map(|(a, job)| {
            a.and_then(|a| {
                ClockPoint::of(&a, job.skew.unwrap_or("none"))
                    .context("its clocks or its HLC could not be compared")
            })
            .with_context(|| format!("simulated trial with seed {}", job.seed))
        })
        .collect()
}

/// Simulates and analyses every job, on as many threads as there are cores,
/// and gives `reduce` of each in the jobs' order.
fn each<T: Send>(jobs: &[Job], reduce: impl Fn(&Job, Analysis) -> T + Sync) -> Result<Vec<T>> {
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let reduce = &reduce;
    let mut found: Vec<(usize, T)> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(jobs.len()).max(1))
            .map(|k| {
                thread::Builder::new()
                    .name(format!("scale-{k}"))
                    .stack_size(SIM_STACK_BYTES)
                    .spawn_scoped(s, || -> Result<Vec<(usize, T)>> {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(job) = jobs.get(i) else {
                                return Ok(out);
                            };
                            let a = job.analysed().with_context(|| {
                                format!("simulated trial with seed {}", job.seed)
                            })?;
                            out.push((i, reduce(job, a)));
                        }
                    })
                    .context("cannot start a simulator thread")
            })
            .collect::<Result<_>>()?;
        let mut all = Vec::with_capacity(jobs.len());
        for w in workers {
            let done = w
                .join()
                .map_err(|_| anyhow!("a simulator thread panicked"))??;
            all.extend(done);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    found.sort_unstable_by_key(|&(i, _)| i);
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_come_in_the_jobs_order_and_match_the_sim_command() {
        let jobs: Vec<Job> = (40..46)
            .map(|seed| Job {
                seed,
                rates: Rates::Range(1..=6),
                sides: 10,
                duration: 5.0,
                machines: 3,
                topology: Topology::All,
                skew: None,
                clock: ClockArg::Lamport,
            })
            .collect();
        let found = points(&jobs).expect("the jobs run");
        let seeds: Vec<u64> = found.iter().map(|p| p.seed).collect();
        assert_eq!(seeds, [40, 41, 42, 43, 44, 45]);
        // The same trial written by `scalemodel sim` and analysed from its folder.
        let dir = tempfile::tempdir().unwrap();
        sim_cmd::write_quietly(&jobs[2].args().unwrap(), dir.path()).unwrap();
        let a = crate::analyze_cmd::analyse(dir.path()).unwrap();
        assert_eq!(found[2], Point::of(&a));
        assert_eq!(points(&[]).unwrap(), []);
    }
}
