//! The start's one mapping from Unix time to the monotonic clock, bracketed.
//!
//! The start is given in Unix time; ticks follow the monotonic clock, which
//! never steps. The two clocks cannot be read at the same instant, so the
//! Unix clock is read between two monotonic readings: the Unix reading
//! happened somewhere in that bracket. The midpoint is used, and half the
//! bracket is the mapping's error bound. A reading can be stretched by a
//! preemption or a slow clock source, so it is taken [`BRACKET_READS`]
//! times and the narrowest bracket kept.

/// Brackets taken; the narrowest is kept.
pub const BRACKET_READS: usize = 8;

/// One reading of both clocks: the monotonic clock stood at `mono_ns`
/// (within ±`error_ns`) when the Unix clock read `unix_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockPair {
    /// The bracket's midpoint on the monotonic clock, in ns.
    pub mono_ns: u64,
    /// The Unix clock's reading in the bracket, in ns.
    pub unix_ns: u64,
    /// Half the bracket, rounded up: how far `mono_ns` may be off, in ns.
    pub error_ns: u64,
}

impl ClockPair {
    /// Reads `mono`, `unix`, `mono` [`BRACKET_READS`] times and keeps the
    /// narrowest bracket (the first of equals).
    pub fn read(mut mono: impl FnMut() -> u64, mut unix: impl FnMut() -> u64) -> Self {
        let mut bracket = || {
            let before = mono();
            let unix_ns = unix();
            // A monotonic clock never goes back; should it, the width is 0
            // from `before`, as good a guess as any.
            let width = mono().saturating_sub(before);
            let pair = Self {
                mono_ns: before.saturating_add(width / 2),
                unix_ns,
                error_ns: width.div_ceil(2),
            };
            (width, pair)
        };
        let mut best = bracket();
        for _ in 1..BRACKET_READS {
            let next = bracket();
            if next.0 < best.0 {
                best = next;
            }
        }
        best.1
    }

    /// Unix time `unix_ns` on the monotonic clock (within ±`error_ns`);
    /// 0 for a time before the monotonic clock's origin, `u64::MAX` beyond
    /// its range.
    pub fn mono_ns_of(&self, unix_ns: u64) -> u64 {
        let at = i128::from(self.mono_ns) + i128::from(unix_ns) - i128::from(self.unix_ns);
        u64::try_from(at.max(0)).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A fake pair of clocks: the monotonic one steps by the next of
    /// `steps` at each reading; the Unix one reads monotonic + `offset`.
    fn fake(steps: &[u64], offset: u64) -> ClockPair {
        let (mono, i) = (Cell::new(1_000), Cell::new(0));
        let read_mono = || {
            let step = steps.get(i.get()).copied().unwrap_or(1);
            i.set(i.get() + 1);
            mono.set(mono.get() + step);
            mono.get()
        };
        let read_unix = || mono.get() + offset;
        ClockPair::read(read_mono, read_unix)
    }

    #[test]
    fn the_narrowest_bracket_is_kept_and_its_midpoint_used() {
        // Each bracket: before, (unix), after. The third is 4 ns wide; the
        // others were stretched (a preemption of 5 ms, say).
        let steps = [
            1, 5_000_000, 1, 900, 1, 4, 1, 70, 1, 60, 1, 50, 1, 40, 1, 30,
        ];
        let pair = fake(&steps, 7_000_000_000);
        // Before of the third bracket: 1000 + 1 + 5e6 + 1 + 900 + 1.
        let before = 1_000 + 1 + 5_000_000 + 1 + 900 + 1;
        assert_eq!(pair.error_ns, 2);
        assert_eq!(pair.mono_ns, before + 2);
        // The fake Unix clock read the monotonic one at `before` + offset:
        // the mapping is off by the half bracket at most.
        assert_eq!(pair.unix_ns, before + 7_000_000_000);
        let start = 9_000_000_000;
        let truth = start - 7_000_000_000;
        let mapped = pair.mono_ns_of(start);
        assert!(
            mapped.abs_diff(truth) <= pair.error_ns,
            "{mapped} vs {truth}"
        );
        assert_eq!(mapped, truth + 2);
    }

    #[test]
    fn a_time_off_the_monotonic_range_saturates() {
        let pair = ClockPair {
            mono_ns: 10,
            unix_ns: 1_000,
            error_ns: 0,
        };
        assert_eq!(pair.mono_ns_of(500), 0);
        assert_eq!(pair.mono_ns_of(1_005), 15);
        let late = ClockPair {
            mono_ns: u64::MAX - 1,
            unix_ns: 0,
            error_ns: 0,
        };
        assert_eq!(late.mono_ns_of(10), u64::MAX);
    }

    #[test]
    fn a_clock_that_went_back_gives_a_zero_bracket() {
        let pair = ClockPair::read(
            {
                let t = Cell::new(100u64);
                move || {
                    t.set(t.get() - 1);
                    t.get()
                }
            },
            || 5,
        );
        assert_eq!((pair.mono_ns, pair.error_ns), (99, 0));
    }
}
