//! The network experiment's timing, measured beside its floor.
//!
//! Runs `scalemodel run --trials 1` and, at the same time, the bare timerfd
//! loop of `examples/timer_baseline.rs` at the fastest machine's rate, then
//! prints per machine the rate error and tick lateness, the baseline's
//! lateness, their ratio, each node's CPU time per tick (the whole process's,
//! set-up included), peak RSS and its start-up to first tick.
//!
//! `cargo bench -p scalemodel --bench net_timing -- [--duration 60] [--speed 1] [--seed 1] [--rates 6,6,6] [--spin auto]`

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use scalemodel::rundir::read_run;
use scalemodel::timerfd::baseline_lateness;
use scalemodel::timing::{percentile, timing};

fn flag(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| default.to_owned(), Clone::clone)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let duration: f64 = flag(&args, "--duration", "60")
        .parse()
        .context("--duration")?;
    let speed: u32 = flag(&args, "--speed", "1").parse().context("--speed")?;
    let seed = flag(&args, "--seed", "1");
    let rates = flag(&args, "--rates", "6,6,6");
    let spin = flag(&args, "--spin", "auto");
    ensure!(
        duration > 0.0 && speed > 0,
        "--duration and --speed must be positive"
    );
    // `run` starts its nodes from `scalemodel-node` beside its own binary,
    // and Cargo builds only this package's binaries for a benchmark.
    escargot::CargoBuild::new()
        .package("scalemodel-node")
        .bin("scalemodel-node")
        .release()
        .run()
        .context("cannot build scalemodel-node")?;
    let out = tempfile::tempdir()?;
    let dir = out.path().join("bench");
    println!(
        "net_timing: scalemodel run --trials 1 --duration {duration} --speed {speed} --seed {seed} --rates {rates} --spin {spin}"
    );

    let fastest: u32 = rates
        .split(',')
        .filter_map(|r| r.parse().ok())
        .max()
        .context("--rates must be three rates R0,R1,R2")?;
    let wall = Duration::from_secs_f64(duration / f64::from(speed));
    let baseline_rate = f64::from(fastest * speed);
    // Its CPU time too: a wake-up's cost on this machine, the floor of a
    // node's CPU per tick.
    let baseline = std::thread::spawn(move || {
        let cpu = || rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let before = cpu();
        let late = baseline_lateness(baseline_rate, wall)?;
        let after = cpu();
        let ns =
            (after.tv_sec - before.tv_sec) as f64 * 1e9 + (after.tv_nsec - before.tv_nsec) as f64;
        Ok::<_, std::io::Error>((late, ns))
    });
    let status = Command::new(env!("CARGO_BIN_EXE_scalemodel"))
        .args(["run", "--trials", "1", "--seed", &seed, "--rates", &rates])
        .args(["--spin", &spin])
        .args([
            "--duration",
            &duration.to_string(),
            "--speed",
            &speed.to_string(),
        ])
        .arg("--out")
        .arg(&dir)
        .status()?;
    let (base, base_cpu_ns) = baseline
        .join()
        .map_err(|_| anyhow::anyhow!("the baseline thread panicked"))??;
    let base_cpu_us = base_cpu_ns / 1e3 / base.len().max(1) as f64;
    let mut base: Vec<i64> = base.into_iter().map(|ns| ns as i64).collect();
    if !status.success() {
        bail!("scalemodel run failed: {status}");
    }
    base.sort_unstable();
    let us = |p| percentile(&base, p) as f64 / 1e3;
    let (b50, b99, bmax) = (us(50.0), us(99.0), us(100.0));
    println!(
        "baseline (bare timerfd loop at {baseline_rate}/s, same time): lateness p50 {b50:.1} µs, p99 {b99:.1} µs, max {bmax:.1} µs; CPU {base_cpu_us:.1} µs per tick"
    );

    let run = read_run(&dir.join("trial-1"))?;
    let p = &run.params;
    for (id, rows) in run.logs.iter().enumerate() {
        let t = timing(rows, p.rates[id], p.start_ns, p.speed).context("too few ticks to time")?;
        let proc = p.processes.get(id);
        println!(
            "machine {id} (rate {}): {} ticks, rate error {:+.5} %, lateness p50 {:.1} µs, p99 {:.1} µs ({:.2}x baseline), max {:.1} µs; CPU {:.1} µs per tick; peak RSS {:.2} MiB; first tick {:.1} ms after start-up",
            p.rates[id],
            t.ticks,
            t.rate_error_pct,
            t.late_p50_us,
            t.late_p99_us,
            t.late_p99_us / b99.max(1e-3),
            t.late_max_us,
            proc.and_then(|p| p.cpu_ms).unwrap_or(f64::NAN) * 1e3 / t.ticks as f64,
            proc.and_then(|p| p.peak_rss_kib).unwrap_or(0) as f64 / 1024.0,
            proc.and_then(|p| p.first_tick_ms).unwrap_or(f64::NAN),
        );
    }
    Ok(())
}
