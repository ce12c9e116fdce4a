//! The schedule rule per row without a division per row: a log's ticks
//! count 0, 1, 2, …, so each tick's model time follows from the last one's
//! by additions, and "not before it was due" is settled by a product.
//! Two or three 64-bit divisions per row were a third of the checker's time
//! in a swarm case.

use scalemodel_core::{due_ns, model_ns};

const NS: u64 = 1_000_000_000;

/// [`model_ns`] of one log's ticks at one rate, stepped from the last tick.
pub(super) struct Dues {
    rate: u64,
    /// The tick asked for last, if any.
    tick: Option<u64>,
    /// `tick % rate`.
    r: u64,
    /// `(tick / rate) * 1e9`, wrapping as [`model_ns`] does.
    base: u64,
    /// `r * 1e9 / rate`, and `r * 1e9 % rate`.
    within: u64,
    frac: u64,
}

impl Dues {
    /// The schedule of a machine at `rate`.
    pub(super) fn new(rate: u32) -> Self {
        Self {
            rate: u64::from(rate),
            tick: None,
            r: 0,
            base: 0,
            within: 0,
            frac: 0,
        }
    }

    /// Exactly `model_ns(tick, rate)`: by additions when `tick` follows the
    /// last one asked for, computed afresh otherwise.
    pub(super) fn model_ns(&mut self, tick: u64) -> u64 {
        let follows = self.tick.and_then(|t| t.checked_add(1)) == Some(tick);
        self.tick = Some(tick);
        if !follows {
            // Also where a rate of 0 fails as it always did.
            let due = model_ns(tick, self.rate as u32);
            self.r = tick % self.rate;
            self.base = (tick / self.rate).wrapping_mul(NS);
            self.within = self.r * NS / self.rate;
            self.frac = self.r * NS % self.rate;
            return due;
        }
        self.r += 1;
        if self.r == self.rate {
            self.r = 0;
            self.base = self.base.wrapping_add(NS);
            self.within = 0;
            self.frac = 0;
        } else {
            // (r + 1) * 1e9 / rate = r * 1e9 / rate + 1e9 / rate + carry.
            self.within += NS / self.rate;
            self.frac += NS % self.rate;
            if self.frac >= self.rate {
                self.frac -= self.rate;
                self.within += 1;
            }
        }
        self.base.wrapping_add(self.within)
    }
}

/// When a row with `model_ns` ran at `system_ns` before it was due, the
/// time it was due ([`due_ns`]); `None` when it was not early.
pub(super) fn early(start_ns: u64, model_ns: u64, speed: u32, system_ns: u64) -> Option<u64> {
    // `system_ns = start_ns + d` with `d >= model_ns / speed` is never
    // early, and `d >= floor(m / s)` is `(d + 1) * s > m`: no division.
    let speed = u128::from(speed.max(1));
    let on_time = system_ns
        .checked_sub(start_ns)
        .is_some_and(|d| (u128::from(d) + 1) * speed > u128::from(model_ns));
    if on_time {
        return None;
    }
    let earliest = due_ns(start_ns, model_ns, speed as u32);
    (system_ns < earliest).then_some(earliest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stepped or computed afresh, every tick's model time is `model_ns`'s,
    /// across rate ends, gaps, repeats and the wrap past `u64::MAX`.
    #[test]
    fn stepped_model_times_equal_model_ns() {
        let big = u64::MAX / NS * 7;
        for rate in [1, 2, 3, 7, 12, 999, 1_000_000_007, u32::MAX] {
            let mut dues = Dues::new(rate);
            let mut ticks: Vec<u64> = (0..3_000).collect();
            ticks.extend([5, 5, 4, 100, 101, u64::MAX - 2, u64::MAX - 1, u64::MAX]);
            ticks.extend(big..big + 2 * u64::from(rate.min(5_000)));
            ticks.extend([0, 1, 2]);
            for t in ticks {
                assert_eq!(dues.model_ns(t), model_ns(t, rate), "rate {rate} tick {t}");
            }
        }
    }

    /// `early` says what `due_ns` says, at the edges too.
    #[test]
    fn early_agrees_with_due_ns() {
        let values = [
            0,
            1,
            2,
            9,
            10,
            11,
            999,
            1_000,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        for speed in [0, 1, 2, 3, 10, u32::MAX] {
            for &start in &values {
                for &model in &values {
                    for &system in &values {
                        let earliest = due_ns(start, model, speed);
                        let expect = (system < earliest).then_some(earliest);
                        assert_eq!(
                            early(start, model, speed, system),
                            expect,
                            "speed {speed} start {start} model {model} system {system}"
                        );
                    }
                }
            }
        }
    }
}
