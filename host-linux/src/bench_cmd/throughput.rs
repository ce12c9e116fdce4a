//! The deterministic parts' throughput: the simulator and the swarm, each
//! run as its own command (so the figure is the one a user gets by running
//! that command), and the streaming decoder, timed here through the core's
//! public API.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use scalemodel_core::wire::{self, Decoder, Frame, MAX_FRAME_LEN};

use super::child;

/// The longest any one throughput command may take before it is ended.
const COMMAND_LIMIT: Duration = Duration::from_secs(600);

/// Runs `scalemodel ARGS` (this very binary), its output kept in `log`.
fn scalemodel(args: &[String], log: &Path) -> Result<String> {
    let what = format!("scalemodel {}", args.join(" "));
    let mut cmd = crate::procinfo::scalemodel_command();
    cmd.args(args);
    child::run(&mut cmd, &what, log, COMMAND_LIMIT)
}

/// `sim`'s figure from its output: machine-ticks per second, from the line
/// `simulated N machine-ticks in S s: …`.
pub fn sim_rate(output: &str) -> Option<f64> {
    let line = output.lines().find(|l| l.starts_with("simulated "))?;
    let mut words = line.split_whitespace();
    let ticks: f64 = words.nth(1)?.parse().ok()?;
    let secs: f64 = words.nth(2)?.parse().ok()?;
    (secs > 0.0).then(|| ticks / secs)
}

/// `swarm`'s figure from its output: cases per second, from the line
/// `N seeds, F failures in S s (C cases/s; …`, and the failures.
pub fn swarm_rate(output: &str) -> Option<(f64, u64)> {
    let line = output
        .lines()
        .find(|l| l.contains(" seeds, ") && l.contains(" cases/s"))?;
    let failures = line
        .split(", ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let rate = line
        .split_once('(')?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((rate, failures))
}

/// Runs the simulator with `args` and returns machine-ticks (or, with the
/// log, events: one per machine-tick) per second.
pub fn sim(args: &[String], log: &Path) -> Result<f64> {
    let output = scalemodel(args, log)?;
    sim_rate(&output).with_context(|| {
        format!(
            "`scalemodel {}` printed no `simulated … machine-ticks in … s` line (see {})",
            args.join(" "),
            log.display()
        )
    })
}

/// Runs the swarm with `args` and returns its cases per second.
pub fn swarm(args: &[String], log: &Path) -> Result<f64> {
    let output = scalemodel(args, log)?;
    let (rate, failures) = swarm_rate(&output).with_context(|| {
        format!(
            "`scalemodel {}` printed no `… cases/s` line (see {})",
            args.join(" "),
            log.display()
        )
    })?;
    if failures > 0 {
        bail!(
            "the swarm found {failures} failures (see {})",
            log.display()
        );
    }
    Ok(rate)
}

/// The streaming decoder's speed over back-to-back `Clock` frames.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DecoderSpeed {
    /// Frames decoded per second.
    pub frames_per_s: f64,
    /// Bytes of the stream read per second, in MB (10^6 bytes).
    pub mb_per_s: f64,
}

/// Times the core's streaming decoder over `frames` back-to-back `Clock`
/// frames fed in 4-KiB reads, as a socket hands them: the best of `passes`
/// passes (the least disturbed by the rest of the machine).
pub fn decoder(frames: u64, passes: u32) -> Result<DecoderSpeed> {
    let mut stream = Vec::new();
    let mut buf = [0u8; MAX_FRAME_LEN];
    for seq in 0..frames {
        // Clocks and seqs as a long run has them: several bytes of varint each.
        let frame = Frame::Clock {
            from: 1,
            clock: 1_000_000 + seq,
            seq,
        };
        let bytes = wire::encode(&frame, &mut buf).context("encoding a Clock frame")?;
        stream.extend_from_slice(bytes);
    }
    let mut best = Duration::MAX;
    for _ in 0..passes.max(1) {
        let started = Instant::now();
        let mut d = Decoder::new();
        let mut decoded = 0u64;
        for read in stream.chunks(4096) {
            let mut rest = read;
            while !rest.is_empty() {
                let feed = d.feed(std::hint::black_box(rest));
                decoded += u64::from(matches!(feed.event, Some(Ok(Frame::Clock { .. }))));
                rest = feed.rest;
            }
        }
        best = best.min(started.elapsed());
        ensure!(
            decoded == frames,
            "the decoder read {decoded} of {frames} Clock frames"
        );
    }
    let secs = best.as_secs_f64().max(1e-9);
    Ok(DecoderSpeed {
        frames_per_s: frames as f64 / secs,
        mb_per_s: stream.len() as f64 / secs / 1e6,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_from_the_commands_lines() {
        let sim =
            "seed 5\nsimulated 4233600 machine-ticks in 0.500 s: 8.47 M machine-ticks/s (no log)\n";
        assert_eq!(sim_rate(sim), Some(4_233_600.0 / 0.5));
        assert_eq!(sim_rate("simulated nothing"), None);
        let swarm = "swarm: seed 2026, cases 300 of 300 (shard 1/1), 2 workers\n\
                     300 seeds, 0 failures in 0.1 s (2965 cases/s; slowest case 7: 0.412 ms)\n";
        assert_eq!(swarm_rate(swarm), Some((2965.0, 0)));
        assert_eq!(swarm_rate("300 seeds, x failures in 1 s (5 cases/s;"), None);
    }

    #[test]
    fn the_decoder_reads_every_frame() {
        let speed = decoder(10_000, 1).unwrap();
        assert!(
            speed.frames_per_s > 0.0 && speed.mb_per_s > 0.0,
            "{speed:?}"
        );
    }
}
