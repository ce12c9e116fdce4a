//! The floor for tick lateness on this machine: a bare timerfd loop with
//! absolute deadlines and nothing else to do (see
//! [`scalemodel::timerfd::baseline_lateness`]). `scalemodel bench` and the
//! `net_timing` benchmark run the same loop beside a real run
//! ([`scalemodel::bench_cmd::net::baseline`]) and compare the two.
//!
//! `cargo run --release -p scalemodel --example timer_baseline -- --rate 6 --duration 10`

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use scalemodel::bench_cmd::net::baseline;

/// Measures the tick lateness of a bare timerfd + mio loop.
#[derive(Debug, Parser)]
struct Args {
    /// Ticks per second.
    #[arg(long, default_value_t = 6.0)]
    rate: f64,
    /// Run time in seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    anyhow::ensure!(
        args.duration >= 0.0 && args.duration <= 1e6,
        "--duration must be between 0 and 1e6 seconds"
    );
    let b = baseline(args.rate, Duration::from_secs_f64(args.duration))?;
    println!(
        "timerfd baseline: {} ticks at {}/s over {} s: lateness p50 {:.1} us, p99 {:.1} us, max {:.1} us; CPU {:.1} us per wake-up from the first ({:.1} us with the set-up)",
        b.ticks,
        args.rate,
        args.duration,
        b.late.p50_us,
        b.late.p99_us,
        b.late.max_us,
        b.ticking_cpu_us_per_tick.unwrap_or(f64::NAN),
        b.cpu_us_per_tick,
    );
    Ok(())
}
