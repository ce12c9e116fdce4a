//! The hybrid logical clock ([`Hlc`], Kulkarni et al. 2014), replayed
//! over a run's logs: each event's `(l, c)`, with the event's own timestamp
//! (`system_ns`) as its machine's physical time and each receive taking the
//! stamp of the send it matched.
//!
//! What the model decides never depends on a clock's value, so these are
//! the stamps the machines would have carried had they kept an HLC: any
//! run has them, whatever clock it kept. Under `sim --skew` the timestamps
//! are the skewed clocks, and the replay shows how far `l` runs ahead of
//! a machine's own clock, against the paper's bound: `l − pt ≤ ε`, where
//! `ε` is how far apart two machines' clocks can be.

use serde::Serialize;

use scalemodel_core::{Hlc, HlcOverflow, due_ns};
use scalemodel_rundir::Row;

use crate::causality::{Causal, EventId};

/// Every event's HLC stamp, by machine and index.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    stamps: Vec<Vec<Hlc>>,
}

impl Replay {
    /// Runs the HLC over `logs` in `causal`'s order. A receive that matched
    /// no send ([`Causal::unmatched`]) is a local event, as it is there.
    pub fn of(logs: &[Vec<Row>], causal: &Causal) -> Result<Self, HlcOverflow> {
        let n = causal.n();
        let mut stamps: Vec<Vec<Hlc>> = logs[..n]
            .iter()
            .map(|l| Vec::with_capacity(l.len()))
            .collect();
        let mut clocks = vec![Hlc::new(); n];
        for &(i, k) in causal.order() {
            let (m, pt) = (usize::from(i), logs[usize::from(i)][k as usize].system_ns);
            let stamp = match causal.source((i, k)) {
                Some((from, at)) => {
                    let sent = stamps[usize::from(from)][at as usize];
                    clocks[m].receive(sent, pt)?
                }
                None => clocks[m].local(pt)?,
            };
            stamps[m].push(stamp);
        }
        Ok(Self { stamps })
    }

    /// The stamp of `event`.
    pub fn stamp(&self, (i, k): EventId) -> Hlc {
        self.stamps[usize::from(i)][k as usize]
    }

    /// Machine `i`'s stamps, in its log's order (strictly rising).
    pub fn machine(&self, i: usize) -> &[Hlc] {
        self.stamps.get(i).map_or(&[], Vec::as_slice)
    }
}

/// Where an event is: its machine and tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct At {
    /// The machine.
    pub machine: u8,
    /// Its tick.
    pub tick: u64,
}

/// The replayed HLC's figures: how far `l` ran ahead of physical time,
/// against the bound, and how far `c` counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HlcFigures {
    /// Events replayed.
    pub events: u64,
    /// Events whose `l` is ahead of their own machine's physical time (it
    /// came from a message stamped by a clock ahead of it).
    pub ahead: u64,
    /// The largest `l − pt`, in ns.
    pub max_ahead_ns: u64,
    /// The first event where `l − pt` is largest, if any is ahead.
    pub max_ahead_at: Option<At>,
    /// The paper's `ε`, in ns: how far apart two machines' clocks were,
    /// the largest timestamp error (against the tick's due time, true
    /// time) less the smallest, over every machine and event.
    pub epsilon_ns: u64,
    /// Whether `max_ahead_ns ≤ epsilon_ns`, as the paper proves it must be.
    pub within_bound: bool,
    /// The largest `c`.
    pub max_c: u32,
    /// Events with `c > 0`: stamps that needed the counter.
    pub counted: u64,
}

/// The figures of `replay` over `logs`, whose true time is each tick's due
/// time on a run that started at `start_ns` with speed `speed`.
pub fn figures(logs: &[Vec<Row>], replay: &Replay, start_ns: u64, speed: u32) -> HlcFigures {
    let mut f = HlcFigures::default();
    let (mut lo, mut hi) = (i128::MAX, i128::MIN);
    for (i, log) in logs.iter().enumerate().take(replay.stamps.len()) {
        for (row, stamp) in log.iter().zip(replay.machine(i)) {
            f.events += 1;
            let error =
                i128::from(row.system_ns) - i128::from(due_ns(start_ns, row.model_ns, speed));
            (lo, hi) = (lo.min(error), hi.max(error));
            // l is never behind pt: it is the largest of pt and what came.
            let ahead = stamp.l().saturating_sub(row.system_ns);
            if ahead > 0 {
                f.ahead += 1;
            }
            if ahead > f.max_ahead_ns {
                f.max_ahead_ns = ahead;
                f.max_ahead_at = Some(At {
                    machine: i as u8,
                    tick: row.tick,
                });
            }
            f.max_c = f.max_c.max(stamp.c());
            f.counted += u64::from(stamp.c() > 0);
        }
    }
    f.epsilon_ns =
        u64::try_from(hi.saturating_sub(lo)).unwrap_or(if hi < lo { 0 } else { u64::MAX });
    f.within_bound = f.max_ahead_ns <= f.epsilon_ns;
    f
}
