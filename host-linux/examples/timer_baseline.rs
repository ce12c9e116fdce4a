//! Baseline tick lateness of a bare timerfd loop: one `mio::Poll`, one
//! [`TimerFd`] armed at absolute deadlines `start + k * 1e9 / rate`, nothing
//! else. The network node's tick lateness is compared against this.
//!
//! `cargo run --release -p scalemodel --example timer_baseline -- --rate 6 --duration 10`

use anyhow::{Context, Result};
use clap::Parser;
use mio::{Events, Poll, Token};
use scalemodel::timerfd::TimerFd;
use scalemodel_mio::timer::Timer;

const TIMER: Token = Token(0);

/// Measures tick lateness of a bare timerfd + mio loop.
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

    let mut poll = Poll::new().context("creating the poll")?;
    let mut events = Events::with_capacity(16);
    let mut timer = TimerFd::new().context("creating the timerfd")?;
    timer.register(poll.registry(), TIMER)?;

    let period_ns = 1e9 / args.rate;
    let ticks = (args.duration * args.rate).floor() as u64;
    let start = timer.now_ns();
    let mut lateness_ns: Vec<u64> = Vec::with_capacity(ticks as usize);

    for k in 1..=ticks {
        let deadline = start + (k as f64 * period_ns).round() as u64;
        timer.arm(deadline)?;
        'wait: loop {
            poll.poll(&mut events, timer.poll_timeout(timer.now_ns()))?;
            for event in events.iter() {
                if event.token() == TIMER {
                    timer.fired()?;
                    let now = timer.now_ns();
                    if now >= deadline {
                        lateness_ns.push(now - deadline);
                        break 'wait;
                    }
                }
            }
        }
    }

    lateness_ns.sort_unstable();
    let us = |q: f64| -> f64 {
        if lateness_ns.is_empty() {
            return 0.0;
        }
        let i = ((lateness_ns.len() - 1) as f64 * q).round() as usize;
        lateness_ns[i] as f64 / 1e3
    };
    println!(
        "timerfd baseline: {} ticks at {}/s over {} s: lateness p50 {:.1} us, p99 {:.1} us, max {:.1} us",
        lateness_ns.len(),
        args.rate,
        args.duration,
        us(0.5),
        us(0.99),
        us(1.0),
    );
    Ok(())
}
