//! The Lamport clock.

use core::fmt;

/// A Lamport logical clock: a `u64` that starts at 0 and never wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Clock(u64);

/// The clock would pass `u64::MAX`; the model stops rather than wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOverflow;

impl fmt::Display for ClockOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lamport clock overflow: the clock would pass u64::MAX")
    }
}

impl core::error::Error for ClockOverflow {}

impl Clock {
    /// A clock at 0.
    pub const fn new() -> Self {
        Self(0)
    }

    /// The current value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// A local event (send or internal): `clock += 1`. Returns the new value.
    pub fn tick(&mut self) -> Result<u64, ClockOverflow> {
        self.0 = self.0.checked_add(1).ok_or(ClockOverflow)?;
        Ok(self.0)
    }

    /// The receive rule: `clock = max(clock, msg) + 1`. Returns the new value.
    pub fn receive(&mut self, msg: u64) -> Result<u64, ClockOverflow> {
        self.0 = self.0.max(msg).checked_add(1).ok_or(ClockOverflow)?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn starts_at_zero_and_ticks() {
        let mut c = Clock::new();
        assert_eq!(c.get(), 0);
        assert_eq!(c.tick(), Ok(1));
        assert_eq!(c.tick(), Ok(2));
    }

    #[test]
    fn receive_takes_the_max_plus_one() {
        let mut c = Clock::new();
        assert_eq!(c.receive(10), Ok(11));
        assert_eq!(c.receive(3), Ok(12));
        assert_eq!(c.receive(12), Ok(13));
    }

    #[test]
    fn overflow_is_an_error_and_leaves_the_clock_alone() {
        let mut c = Clock::new();
        assert_eq!(c.receive(u64::MAX - 1), Ok(u64::MAX));
        assert_eq!(c.tick(), Err(ClockOverflow));
        assert_eq!(c.receive(0), Err(ClockOverflow));
        assert_eq!(c.get(), u64::MAX);
    }

    proptest! {
        #[test]
        fn receive_rule_holds(start in 0u64..u64::MAX / 2, msg in any::<u64>()) {
            let mut c = Clock::new();
            c.receive(start).unwrap();
            let before = c.get();
            match c.receive(msg) {
                Ok(now) => {
                    prop_assert_eq!(now, before.max(msg) + 1);
                    prop_assert!(now > before && now > msg);
                }
                Err(ClockOverflow) => prop_assert_eq!(msg, u64::MAX),
            }
        }

        #[test]
        fn clock_strictly_increases(ops in proptest::collection::vec(proptest::option::of(0u64..1_000_000), 0..200)) {
            let mut c = Clock::new();
            let mut last = 0;
            for op in ops {
                let now = match op { Some(m) => c.receive(m), None => c.tick() }.unwrap();
                prop_assert!(now > last || (now == 1 && last == 0));
                last = now;
            }
        }
    }
}
