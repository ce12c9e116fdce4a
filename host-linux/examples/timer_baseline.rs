//! The floor for tick lateness on this machine: a bare timerfd loop with
//! absolute deadlines and nothing else to do (see
//! [`scalemodel::timerfd::baseline_lateness`]). The `net_timing` benchmark
//! runs the same loop beside a real run and compares the two.
//!
//! `cargo run --release -p scalemodel --example timer_baseline -- --rate 6 --duration 10`

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use scalemodel::timerfd::baseline_lateness;
use scalemodel::timing::percentile;

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
    anyhow::ensure!(args.duration >= 0.0, "--duration must not be negative");
    let mut late: Vec<i64> = baseline_lateness(args.rate, Duration::from_secs_f64(args.duration))?
        .into_iter()
        .map(|ns| ns as i64)
        .collect();
    late.sort_unstable();
    let us = |p| percentile(&late, p) as f64 / 1e3;
    println!(
        "timerfd baseline: {} ticks at {}/s over {} s: lateness p50 {:.1} us, p99 {:.1} us, max {:.1} us",
        late.len(),
        args.rate,
        args.duration,
        us(50.0),
        us(99.0),
        us(100.0),
    );
    Ok(())
}
