//! A physical clock that lies: off by an offset and running fast or slow by
//! a drift. The simulator gives each node one (`sim --skew`), so that what
//! a machine believes the time is (its records' `system_ns`, and an HLC's
//! physical time) reads it, while its ticks stay on true model time.
//! (64-bit hosts: the firmware's clocks are true.)

/// One machine's clock: `start + offset + e + e · drift` after `e` ns of
/// true time since the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockSkew {
    /// Added to true time, in ns.
    pub offset_ns: i64,
    /// Added per ns of true time since the run's start, in parts per
    /// billion.
    pub drift_ppb: i64,
}

impl ClockSkew {
    /// A true clock.
    pub const NONE: Self = Self {
        offset_ns: 0,
        drift_ppb: 0,
    };

    /// What this clock reads at the true Unix time `true_ns`, in a run
    /// whose model time 0 is `start_ns`: never below 0, and never falling
    /// as `true_ns` rises (a drift is above -100 %).
    pub fn read(&self, start_ns: u64, true_ns: u64) -> u64 {
        let since = i128::from(true_ns) - i128::from(start_ns);
        let drift = since * i128::from(self.drift_ppb) / 1_000_000_000;
        let read = i128::from(true_ns) + i128::from(self.offset_ns) + drift;
        u64::try_from(read.max(0)).unwrap_or(u64::MAX)
    }
}
