//! Staleness: how far each machine's clock trails the highest clock of any
//! machine at the same model time, whoever holds it. The drift of the
//! exercise is measured against the fastest machine; staleness is what a
//! time leader is meant to shrink (docs/MACHINES.md, "The study of the
//! topologies"), so it is measured against the leading clock.

use serde::Serialize;

use crate::{clock_at, sample_times, stop_ns};
use scalemodel_rundir::Row;

/// A run's staleness over the machines and the sample times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Staleness {
    /// The mean gap to the highest clock, clock units, over every machine
    /// at every sample time it was running.
    pub mean: f64,
    /// The largest gap, clock units.
    pub max: u64,
}

/// The staleness of a run's machines: `logs[i]` is machine `i`'s log and
/// `rates[i]` its rate, over `0..=end_ns` of model time. A machine counts
/// at the sample times before its log stops (a crash, or the end), and only
/// the clocks of machines still running are the ones to keep up with: a
/// stopped clock is not news. With no machine running, the staleness is 0.
pub fn staleness(logs: &[Vec<Row>], rates: &[u32], end_ns: u64) -> Staleness {
    let stops: Vec<u64> = logs
        .iter()
        .zip(rates)
        .map(|(rows, &rate)| stop_ns(rows, rate, end_ns))
        .collect();
    let (mut sum, mut count, mut max) = (0.0, 0u64, 0u64);
    let mut clocks = Vec::with_capacity(logs.len());
    for t in sample_times(end_ns) {
        clocks.clear();
        clocks.extend(
            logs.iter()
                .zip(&stops)
                .filter(|&(_, &stop)| t <= stop)
                .map(|(rows, _)| clock_at(rows, t)),
        );
        let Some(&top) = clocks.iter().max() else {
            continue;
        };
        for &c in &clocks {
            let gap = top - c;
            sum += gap as f64;
            count += 1;
            max = max.max(gap);
        }
    }
    Staleness {
        mean: if count == 0 { 0.0 } else { sum / count as f64 },
        max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalemodel_rundir::Kind;

    /// A log of one internal event per second, the clock at second `s`
    /// being `clock(s)`, for `seconds` seconds from 1.
    fn log(seconds: u64, clock: impl Fn(u64) -> u64) -> Vec<Row> {
        (1..=seconds)
            .map(|s| Row {
                line: s as usize + 1,
                machine: 0,
                tick: s - 1,
                model_ns: s * 1_000_000_000,
                system_ns: s * 1_000_000_000,
                kind: Kind::Internal,
                clock: clock(s),
                queue_len: 0,
                peers: Vec::new(),
                msg_clock: None,
                seqs: Vec::new(),
                hlc: None,
                vc: None,
            })
            .collect()
    }

    #[test]
    fn equal_clocks_are_not_stale() {
        let logs = vec![log(10, |s| s), log(10, |s| s), log(10, |s| s)];
        let s = staleness(&logs, &[1, 1, 1], 10_000_000_000);
        assert_eq!(s, Staleness { mean: 0.0, max: 0 });
    }

    #[test]
    fn the_gap_is_to_the_highest_clock_whoever_holds_it() {
        // Machine 0 leads for 5 s (3 a second); then machine 2 (4 a
        // second). At 10 s the clocks are 20, 10 and 40: gaps 20, 30 and 0.
        let logs = vec![
            log(10, |s| s.min(5) * 3 + s.saturating_sub(5)),
            log(10, |s| s),
            log(10, |s| if s <= 5 { s } else { s * 4 }),
        ];
        let s = staleness(&logs, &[1, 1, 1], 10_000_000_000);
        assert_eq!(s.max, 30);
        assert!(s.mean > 0.0 && s.mean < 30.0, "{s:?}");
    }

    #[test]
    fn a_stopped_machine_is_neither_stale_nor_the_clock_to_keep_up_with() {
        // Machine 2 crashes after 3 s with the highest clock then; the two
        // others keep equal clocks: after the crash, nobody is stale.
        let logs = vec![log(100, |s| s), log(100, |s| s), log(3, |s| s * 10)];
        let s = staleness(&logs, &[1, 1, 1], 100_000_000_000);
        // Machines 0 and 1 trail by 9 at 1 s, 18 at 2 s and 27 at 3 s
        // while machine 2 ran; most samples come after.
        assert_eq!(s.max, 27);
        assert!(s.mean < 1.0, "{s:?}");
    }

    #[test]
    fn no_machine_running_is_no_staleness() {
        assert_eq!(staleness(&[], &[], 1_000), Staleness { mean: 0.0, max: 0 });
    }
}
