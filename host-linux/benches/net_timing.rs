//! The network experiment's timing, measured beside its floor.
//!
//! Runs `scalemodel run --trials 1` and, at the same time, the bare timerfd
//! loop of `examples/timer_baseline.rs` at the fastest machine's rate, then
//! prints per machine the rate error and tick lateness, the baseline's
//! lateness, their ratio, each node's CPU time per tick (the whole process's,
//! set-up included), peak RSS and its start-up to first tick. The work is
//! `scalemodel bench`'s ([`scalemodel::bench_cmd::net`]); this keeps its
//! flags for other rates, speeds and `--spin` modes.
//!
//! `cargo bench -p scalemodel --bench net_timing -- [--duration 60] [--speed 1] [--seed 1] [--rates 6,6,6] [--spin auto]`

use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use scalemodel::bench_cmd::net::{Trial, baseline_beside, join_baseline, read_trial};

fn flag(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| default.to_owned(), Clone::clone)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let trial = Trial {
        duration_s: flag(&args, "--duration", "60")
            .parse()
            .context("--duration")?,
        speed: flag(&args, "--speed", "1").parse().context("--speed")?,
        seed: flag(&args, "--seed", "1").parse().context("--seed")?,
        rates: flag(&args, "--rates", "6,6,6"),
        spin: flag(&args, "--spin", "auto"),
    };
    ensure!(
        trial.duration_s > 0.0 && trial.speed > 0,
        "--duration and --speed must be positive"
    );
    let fastest = trial
        .fastest_per_s()
        .context("--rates must be three rates R0,R1,R2")?;
    // `run` starts its nodes from `scalemodel-node` beside its own binary,
    // and Cargo builds only this package's binaries for a benchmark.
    escargot::CargoBuild::new()
        .package("scalemodel-node")
        .bin("scalemodel-node")
        .release()
        .run()
        .context("cannot build scalemodel-node")?;
    let out = tempfile::tempdir()?;
    println!("net_timing: {}", trial.command());
    let base = baseline_beside(fastest, trial.wall());
    let status = trial
        .start(
            Command::new(env!("CARGO_BIN_EXE_scalemodel")),
            &out.path().join("bench"),
            &out.path().join("run.out"),
        )?
        .wait()?;
    let b = join_baseline(base)?;
    if !status.success() {
        let output = std::fs::read_to_string(out.path().join("run.out")).unwrap_or_default();
        bail!("scalemodel run failed: {status}\n{output}");
    }
    println!(
        "baseline (bare timerfd loop at {fastest}/s, same time): lateness p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs; CPU {:.1} µs per tick from the first wake-up ({:.1} µs with its set-up)",
        b.late.p50_us,
        b.late.p99_us,
        b.late.max_us,
        b.ticking_cpu_us_per_tick.unwrap_or(f64::NAN),
        b.cpu_us_per_tick
    );
    let t = read_trial(&out.path().join("bench").join("trial-1"))?;
    for m in &t.machines {
        let Some(timing) = m.timing else {
            println!("machine {} (rate {}): too few ticks to time", m.id, m.rate);
            continue;
        };
        println!(
            "machine {} (rate {}): {} ticks, rate error {:+.5} %, lateness p50 {:.1} µs, p99 {:.1} µs ({:.2}x baseline), max {:.1} µs; CPU {:.1} µs per tick from the first tick ({:.1} µs with the set-up); peak RSS {:.2} MiB; first tick {:.1} ms after start-up",
            m.id,
            m.rate,
            timing.ticks,
            timing.rate_error_pct,
            timing.late_p50_us,
            timing.late_p99_us,
            timing.late_p99_us / b.late.p99_us.max(1e-3),
            timing.late_max_us,
            m.ticking_cpu_us_per_tick.unwrap_or(f64::NAN),
            m.cpu_us_per_tick.unwrap_or(f64::NAN),
            m.peak_rss_kib.unwrap_or(0) as f64 / 1024.0,
            m.first_tick_ms.unwrap_or(f64::NAN),
        );
    }
    Ok(())
}
