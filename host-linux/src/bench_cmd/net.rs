//! The network experiment's timing, measured beside its floor: a `run` of
//! one trial and, at the same time, a bare timerfd loop with absolute
//! deadlines and nothing else to do ([`crate::timerfd::baseline_lateness_with`])
//! at the fastest machine's rate. Used by `scalemodel bench`, by the
//! `net_timing` benchmark and by the `timer_baseline` example.

use std::path::Path;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use scalemodel_core::N;
use serde::Serialize;

use super::child::{self, Started};
use crate::check::check_run;
use crate::rundir::{End, read_run};
use crate::timerfd::baseline_lateness_with;
use crate::timing::{Timing, percentile, timing};

/// How long after its model duration a `run` may take before it is ended:
/// its nodes' start-up, their bounded end (at most 7.5 s after the run's,
/// then `run`'s 2 s more), with room.
const RUN_GRACE: Duration = Duration::from_secs(60);

/// Lateness percentiles in µs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lateness {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl Lateness {
    /// The percentiles of `ns`, lateness values in ns (sorted here).
    pub fn of(mut ns: Vec<i64>) -> Self {
        ns.sort_unstable();
        let us = |p| percentile(&ns, p) as f64 / 1e3;
        Self {
            p50_us: us(50.0),
            p99_us: us(99.0),
            max_us: us(100.0),
        }
    }
}

/// The bare timer loop's figures: the floor of a node's lateness and CPU.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baseline {
    /// Its wake-ups per second.
    pub rate: f64,
    /// Wake-ups it made.
    pub ticks: u64,
    /// How late each wake-up came after its deadline.
    pub late: Lateness,
    /// Its thread's CPU time per wake-up, in µs, its set-up (the poll and
    /// the timer made) included: what one wake-up costs on this machine,
    /// the floor of a node's CPU per tick.
    pub cpu_us_per_tick: f64,
    /// Its thread's CPU time per wake-up in µs from the first wake-up to
    /// the last (the set-up left out), ÷ the wake-ups after the first: the
    /// same measure as a node's [`Machine::ticking_cpu_us_per_tick`].
    /// `None` with fewer than two wake-ups.
    pub ticking_cpu_us_per_tick: Option<f64>,
}

/// This thread's CPU time in ns.
fn thread_cpu_ns() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}

/// Runs the bare timer loop at `rate` per second for `wall` in the calling thread.
pub fn baseline(rate: f64, wall: Duration) -> std::io::Result<Baseline> {
    let before = thread_cpu_ns();
    let mut first_ns = None;
    let late = baseline_lateness_with(rate, wall, |k| {
        if k == 1 {
            first_ns = Some(thread_cpu_ns());
        }
    })?;
    let after = thread_cpu_ns();
    let ticks = late.len() as u64;
    let late = late
        .into_iter()
        .map(|ns| i64::try_from(ns).unwrap_or(i64::MAX))
        .collect();
    Ok(Baseline {
        rate,
        ticks,
        late: Lateness::of(late),
        cpu_us_per_tick: (after - before) / 1e3 / ticks.max(1) as f64,
        ticking_cpu_us_per_tick: first_ns
            .filter(|_| ticks >= 2)
            .map(|first| (after - first) / 1e3 / (ticks - 1) as f64),
    })
}

/// Starts the bare timer loop on its own thread, beside whatever runs next.
pub fn baseline_beside(rate: f64, wall: Duration) -> JoinHandle<std::io::Result<Baseline>> {
    std::thread::spawn(move || baseline(rate, wall))
}

/// The bare loop's result, once its thread is done.
pub fn join_baseline(h: JoinHandle<std::io::Result<Baseline>>) -> Result<Baseline> {
    h.join()
        .map_err(|_| anyhow::anyhow!("the bare timer loop's thread panicked"))?
        .context("the bare timer loop")
}

/// One networked trial's parameters, as `run` takes them.
#[derive(Debug, Clone)]
pub struct Trial {
    /// `--seed`.
    pub seed: u64,
    /// `--rates`, e.g. `2,4,6`.
    pub rates: String,
    /// `--speed`.
    pub speed: u32,
    /// `--duration`, model seconds.
    pub duration_s: f64,
    /// `--spin`: `auto` or a delay.
    pub spin: String,
}

impl Trial {
    /// `run`'s arguments for this trial, without `--out`.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = ["run", "--trials", "1", "--no-analyze"]
            .map(str::to_owned)
            .to_vec();
        for (flag, value) in [
            ("--seed", self.seed.to_string()),
            ("--rates", self.rates.clone()),
            ("--speed", self.speed.to_string()),
            ("--duration", self.duration_s.to_string()),
        ] {
            a.push(flag.to_owned());
            a.push(value);
        }
        if self.spin != "auto" {
            a.extend(["--spin".to_owned(), self.spin.clone()]);
        }
        a
    }

    /// The command a user types to run it alone.
    pub fn command(&self) -> String {
        format!("scalemodel {}", self.args().join(" "))
    }

    /// The fastest machine's ticks per wall second: the bare loop's rate.
    pub fn fastest_per_s(&self) -> Option<f64> {
        let fastest = self
            .rates
            .split(',')
            .filter_map(|r| r.trim().parse::<u32>().ok())
            .max()?;
        Some(f64::from(fastest) * f64::from(self.speed))
    }

    /// The trial's length in wall time.
    pub fn wall(&self) -> Duration {
        Duration::from_secs_f64(self.duration_s / f64::from(self.speed.max(1)))
    }

    /// Starts `run` writing into `out`, its output in `log`. `scalemodel`
    /// is the binary to run: [`crate::procinfo::scalemodel_command`] from
    /// the `scalemodel` binary itself, never from another program (a
    /// benchmark's own `/proc/self/exe` is the benchmark, which would start
    /// itself again).
    pub fn start(&self, mut scalemodel: Command, out: &Path, log: &Path) -> Result<Started> {
        scalemodel.args(self.args()).arg("--out").arg(out);
        child::start(
            &mut scalemodel,
            &self.command(),
            log,
            self.wall() + RUN_GRACE,
        )
    }
}

/// One machine of a networked trial, from its log and summary.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Its id.
    pub id: u8,
    /// Its rate, ticks per model second.
    pub rate: u32,
    /// Its ticks' timing; `None` with fewer than two ticks.
    pub timing: Option<Timing>,
    /// Its process's CPU time per tick in µs, set-up included.
    pub cpu_us_per_tick: Option<f64>,
    /// Its process's CPU time in µs from its first tick to the end of its
    /// loop, ÷ the ticks after the first: the steady state, the set-up,
    /// the links and the start barrier left out (`ticking_cpu_ms`).
    pub ticking_cpu_us_per_tick: Option<f64>,
    /// Its process's peak RSS in KiB.
    pub peak_rss_kib: Option<u64>,
    /// From its process's start to its first tick, in ms.
    pub first_tick_ms: Option<f64>,
    /// Unix time in ns of its first tick.
    pub first_tick_unix_ns: Option<u64>,
    /// How it ended.
    pub end: End,
}

/// A networked trial as the bench judges it.
#[derive(Debug, Clone, Serialize)]
pub struct TrialFigures {
    /// Its machines.
    pub machines: Vec<Machine>,
    /// Rules of the model it broke, counted (conformance and conservation).
    pub violations: u64,
    /// The first of them, in words.
    pub first_violation: Option<String>,
}

impl TrialFigures {
    /// The worst of the machines' values of `f`, by size.
    pub fn worst(&self, f: impl Fn(&Timing) -> f64) -> Option<f64> {
        self.machines
            .iter()
            .filter_map(|m| m.timing.as_ref().map(&f))
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
    }

    /// The earliest first tick of any machine, Unix ns.
    pub fn first_tick_unix_ns(&self) -> Option<u64> {
        self.machines
            .iter()
            .filter_map(|m| m.first_tick_unix_ns)
            .min()
    }
}

/// Reads the trial `dir` (a run directory) and checks it against the model.
pub fn read_trial(dir: &Path) -> Result<TrialFigures> {
    let run = read_run(dir).with_context(|| format!("cannot read the trial {}", dir.display()))?;
    let violations = check_run(&run);
    let p = &run.params;
    let mut machines = Vec::with_capacity(N);
    for (i, rows) in run.logs.iter().enumerate() {
        let id = u8::try_from(i).unwrap_or(u8::MAX);
        let rate = p.rates.get(i).copied().unwrap_or(0);
        let t = timing(rows, rate, p.start_ns, p.speed);
        let proc = p.processes.iter().find(|s| s.id == id);
        let end = p
            .machines
            .iter()
            .find(|m| m.id == id)
            .map_or(End::Crashed, |m| m.end);
        machines.push(Machine {
            id,
            rate,
            cpu_us_per_tick: proc
                .and_then(|p| p.cpu_ms)
                .zip(t)
                .map(|(ms, t)| ms * 1e3 / t.ticks as f64),
            ticking_cpu_us_per_tick: proc
                .and_then(|p| p.ticking_cpu_ms)
                .zip(t)
                .filter(|(_, t)| t.ticks >= 2)
                .map(|(ms, t)| ms * 1e3 / (t.ticks - 1) as f64),
            timing: t,
            peak_rss_kib: proc.and_then(|p| p.peak_rss_kib),
            first_tick_ms: proc.and_then(|p| p.first_tick_ms),
            first_tick_unix_ns: rows.first().map(|r| r.system_ns),
            end,
        });
    }
    Ok(TrialFigures {
        machines,
        violations: violations.total(),
        first_violation: violations.first().map(|v| format!("{v}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_is_the_command_a_user_types() {
        let t = Trial {
            seed: 1,
            rates: "2,4,6".to_owned(),
            speed: 10,
            duration_s: 50.0,
            spin: "auto".to_owned(),
        };
        assert_eq!(
            t.command(),
            "scalemodel run --trials 1 --no-analyze --seed 1 --rates 2,4,6 --speed 10 --duration 50"
        );
        assert_eq!(t.fastest_per_s(), Some(60.0));
        assert_eq!(t.wall(), Duration::from_secs(5));
    }

    #[test]
    fn lateness_percentiles_by_nearest_rank() {
        let l = Lateness::of((1..=100).rev().map(|us| us * 1000).collect());
        assert_eq!((l.p50_us, l.p99_us, l.max_us), (50.0, 99.0, 100.0));
    }
}
