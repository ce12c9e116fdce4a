//! Physical clocks that lie, in the simulator: each machine's clock off by
//! an offset and running fast or slow by a drift, both drawn from the
//! run's seed. The skew is what a machine believes, not when it runs: its
//! ticks stay on true model time, and only the `system_ns` it logs reads
//! its own clock, `start_ns + offset + e + e · drift` after `e` ns of true
//! time.

use serde::{Deserialize, Serialize};

use scalemodel_core::Record;
use scalemodel_core::rng::{self, Stream};
use scalemodel_core::sim::Sink;

/// The largest offset `--skew` draws from, in ns: an hour.
pub const OFFSET_NS_MAX: u64 = 3_600_000_000_000;

/// The largest drift `--skew` draws from, in ppm: 10 %.
pub const DRIFT_PPM_MAX: u32 = 100_000;

/// One machine's clock: how far off it starts, and how fast it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineSkew {
    /// Added to true time, in ns.
    pub offset_ns: i64,
    /// Added per ns of true time since `start_ns`, in parts per billion.
    pub drift_ppb: i64,
}

impl MachineSkew {
    /// What this machine's clock reads at the true Unix time `true_ns`, in
    /// a run whose model time 0 is `start_ns`: never below 0, and never
    /// falling as `true_ns` rises (a drift is above -100 %).
    pub fn read(&self, start_ns: u64, true_ns: u64) -> u64 {
        self.clock().read(start_ns, true_ns)
    }

    /// The core's clock of this skew, which a simulated node carrying a
    /// clock of its own reads: one formula for both.
    pub const fn clock(&self) -> scalemodel_core::ClockSkew {
        scalemodel_core::ClockSkew {
            offset_ns: self.offset_ns,
            drift_ppb: self.drift_ppb,
        }
    }
}

/// `params.json`'s `skew`: the bounds `--skew` gave and what each machine
/// drew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skew {
    /// Offsets were drawn from `±offset_ns`.
    pub offset_ns: u64,
    /// Drifts were drawn from `±drift_ppm`.
    pub drift_ppm: u32,
    /// Each machine's, by id.
    pub machines: Vec<MachineSkew>,
}

impl Skew {
    /// Each of `n` machines' skew for the run with `seed`: offsets uniform
    /// in `±offset_ns` (whole ns), drifts in `±drift_ppm` (whole ppb),
    /// machine 0 first, from stream `4 + 2n`, the one after every stream of
    /// the core's table (`scalemodel_core::rng`), so that a skewed run
    /// rolls the dice, jitters and faults of the same run without skew.
    pub fn draw(seed: u64, n: u8, offset_ns: u64, drift_ppm: u32) -> Self {
        let mut rng = rng::stream(seed, n, Stream::Swarm);
        rng.jump();
        let offset_ns = offset_ns.min(OFFSET_NS_MAX);
        let drift_ppb = u64::from(drift_ppm.min(DRIFT_PPM_MAX)) * 1000;
        let mut signed = |max: u64| {
            // Both bounds are far below i64::MAX: the casts are exact.
            rng::uniform(&mut rng, 0..=2 * max) as i64 - max as i64
        };
        let machines = (0..n)
            .map(|_| {
                let offset_ns = signed(offset_ns);
                let drift_ppb = signed(drift_ppb);
                MachineSkew {
                    offset_ns,
                    drift_ppb,
                }
            })
            .collect();
        Self {
            offset_ns,
            drift_ppm: drift_ppm.min(DRIFT_PPM_MAX),
            machines,
        }
    }

    /// Checks the bounds and that every machine's draw lies within them;
    /// the error names the field.
    pub fn validate(&self, n: usize) -> Result<(), String> {
        if self.offset_ns > OFFSET_NS_MAX || self.drift_ppm > DRIFT_PPM_MAX {
            return Err(format!(
                "`skew` bounds are {} ns and {} ppm; they must be at most {OFFSET_NS_MAX} ns and {DRIFT_PPM_MAX} ppm",
                self.offset_ns, self.drift_ppm
            ));
        }
        if self.machines.len() != n {
            return Err(format!(
                "`skew.machines` holds {} machines; the run has {n}",
                self.machines.len()
            ));
        }
        let drift = i64::from(self.drift_ppm) * 1000;
        let offset = self.offset_ns as i64;
        match self.machines.iter().position(|m| {
            !(-offset..=offset).contains(&m.offset_ns) || !(-drift..=drift).contains(&m.drift_ppb)
        }) {
            Some(id) => Err(format!(
                "`skew.machines[{id}]` lies outside ±{} ns and ±{} ppm",
                self.offset_ns, self.drift_ppm
            )),
            None => Ok(()),
        }
    }

    /// Machine `id`'s skew (none for a machine the run does not have).
    pub fn of(&self, id: usize) -> MachineSkew {
        self.machines.get(id).copied().unwrap_or(MachineSkew {
            offset_ns: 0,
            drift_ppb: 0,
        })
    }
}

/// A sink that hands on each record with its `system_ns` read from its
/// machine's skewed clock, or as it is when the run has no skew (one
/// sink type either way, so that a host builds its simulator's run loop
/// once per sink, not twice).
pub struct Skewed<'a, S> {
    /// Where the records go.
    pub inner: &'a mut S,
    /// The clocks, if they lie.
    pub skew: Option<&'a Skew>,
    /// The run's `start_ns`.
    pub start_ns: u64,
}

impl<'a, S> Skewed<'a, S> {
    /// `inner`, its records read through `skew`'s clocks when given.
    pub fn new(inner: &'a mut S, skew: Option<&'a Skew>, start_ns: u64) -> Self {
        Self {
            inner,
            skew,
            start_ns,
        }
    }
}

impl<const M: usize, H: Copy, S: Sink<M, H>> Sink<M, H> for Skewed<'_, S> {
    type Error = S::Error;
    const READS_RECORDS: bool = S::READS_RECORDS;

    fn record(&mut self, record: &Record<M, H>) -> Result<(), Self::Error> {
        let Some(skew) = self.skew else {
            return self.inner.record(record);
        };
        let mut skewed = *record;
        skewed.system_ns = skew
            .of(record.machine.index())
            .read(self.start_ns, record.system_ns);
        self.inner.record(&skewed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skewed_clock_is_offset_drifts_and_never_falls() {
        let m = MachineSkew {
            offset_ns: -5_000,
            drift_ppb: 100_000_000,
        };
        // 10 % fast: 1 s after the start it reads 1.1 s, less 5 µs.
        assert_eq!(
            m.read(1_000, 1_000 + 1_000_000_000),
            1_000 + 1_100_000_000 - 5_000
        );
        // Set back past the epoch, it reads 0.
        assert_eq!(m.read(0, 1_000), 0);
        let slow = MachineSkew {
            offset_ns: 0,
            drift_ppb: -999_999_999,
        };
        let reads: Vec<u64> = (0..1000).map(|t| slow.read(0, t)).collect();
        assert!(reads.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn draws_are_within_their_bounds_and_the_same_for_a_seed() {
        let a = Skew::draw(7, 5, 50_000_000, 100);
        assert_eq!(a, Skew::draw(7, 5, 50_000_000, 100));
        assert_ne!(a, Skew::draw(8, 5, 50_000_000, 100));
        assert_eq!(a.validate(5), Ok(()));
        assert!(
            a.machines.iter().any(|m| m.offset_ns < 0)
                && a.machines.iter().any(|m| m.offset_ns > 0)
        );
        assert!(a.validate(4).unwrap_err().contains("skew.machines"));
        let mut bad = a.clone();
        bad.machines[2].drift_ppb = 100_001;
        assert!(bad.validate(5).unwrap_err().contains("skew.machines[2]"));
    }
}
