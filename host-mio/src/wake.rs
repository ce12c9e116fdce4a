//! How the loop waits for a tick: asleep on the timer, then awake for a
//! margin before the deadline.
//!
//! A sleeping thread wakes late: the timer fires at its deadline, but the
//! kernel takes a while to schedule the thread again (its *overshoot*, tens
//! of µs on an idle machine, milliseconds under load). Waiting awake (polls
//! with a zero timeout) for the last stretch before a deadline hides that
//! overshoot, at the price of a busy core for the whole stretch.
//!
//! [`Wait::Learned`], the default, arms the timer early by what the machine's
//! own overshoot has been, measured at each timer wake-up: the
//! [`MARGIN_QUANTILE_PCT`]th percentile of the last [`SAMPLES`] overshoots.
//! Most wake-ups then land at or just after the deadline, and only the few
//! that land well before it wait awake, briefly: a tick costs little more
//! than its own work, and its lateness is the overshoot less the margin,
//! never more than a plain sleep's. [`Wait::Fixed`] is the precise mode: a
//! fixed awake margin (300 µs was the old default), for the lowest lateness
//! a margin longer than most overshoots buys, at the cost of a core busy for
//! most of the margin before every tick.

use std::time::Duration;

/// Overshoots the learned margin is taken from: the most recent ones.
pub const SAMPLES: usize = 64;
/// The percentile of the recent overshoots the learned margin is: low, so
/// that few wake-ups come early and wait awake (each one costs CPU), yet
/// most of the typical overshoot is hidden.
pub const MARGIN_QUANTILE_PCT: usize = 10;

/// How long before a deadline the loop stops sleeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// A margin learned from the timer's measured overshoot, at most this long.
    Learned {
        /// The margin's upper bound.
        max: Duration,
    },
    /// Always this margin (zero: always sleep until the deadline).
    Fixed(Duration),
}

impl Wait {
    /// The default: a learned margin of at most 300 µs.
    pub const DEFAULT: Self = Self::Learned {
        max: Duration::from_micros(300),
    };
}

impl Default for Wait {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The margin before each deadline, and what it is learned from.
#[derive(Debug, Clone)]
pub struct Margin {
    /// The margin's bound, in ns; the margin itself when not learned.
    cap_ns: u64,
    learn: bool,
    /// Recent overshoots in ns, a ring; `filled` of them are valid.
    samples: [u64; SAMPLES],
    next: usize,
    filled: usize,
    margin_ns: u64,
}

impl Margin {
    /// The margin `wait` asks for, never more than `cap_ns` (a quarter of a
    /// tick period, say); a learned one starts at zero (a plain sleep).
    pub fn new(wait: Wait, cap_ns: u64) -> Self {
        let (bound, learn) = match wait {
            Wait::Learned { max } => (max, true),
            Wait::Fixed(margin) => (margin, false),
        };
        let cap_ns = u64::try_from(bound.as_nanos())
            .unwrap_or(u64::MAX)
            .min(cap_ns);
        Self {
            cap_ns,
            learn,
            samples: [0; SAMPLES],
            next: 0,
            filled: 0,
            margin_ns: if learn { 0 } else { cap_ns },
        }
    }

    /// How long before a deadline to stop sleeping, in ns.
    pub const fn ns(&self) -> u64 {
        self.margin_ns
    }

    /// The timer woke the loop `overshoot_ns` after it was due.
    pub fn woke(&mut self, overshoot_ns: u64) {
        if !self.learn {
            return;
        }
        self.samples[self.next] = overshoot_ns;
        self.next = (self.next + 1) % SAMPLES;
        self.filled = (self.filled + 1).min(SAMPLES);
        let mut recent = self.samples;
        let recent = &mut recent[..self.filled];
        let k = (self.filled - 1) * MARGIN_QUANTILE_PCT / 100;
        let (_, &mut q, _) = recent.select_nth_unstable(k);
        self.margin_ns = q.min(self.cap_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP_NS: u64 = 1_000_000;

    #[test]
    fn a_fixed_margin_is_kept_and_capped() {
        let mut m = Margin::new(Wait::Fixed(Duration::from_micros(300)), CAP_NS);
        m.woke(5_000);
        assert_eq!(m.ns(), 300_000);
        let capped = Margin::new(Wait::Fixed(Duration::from_secs(1)), CAP_NS);
        assert_eq!(capped.ns(), CAP_NS);
        assert_eq!(Margin::new(Wait::Fixed(Duration::ZERO), CAP_NS).ns(), 0);
    }

    #[test]
    fn a_learned_margin_follows_a_low_percentile_of_recent_overshoots() {
        let mut m = Margin::new(Wait::DEFAULT, CAP_NS);
        assert_eq!(m.ns(), 0, "nothing learned yet: a plain sleep");
        // Overshoots of 50..=149 µs, one of each, then again: the tenth
        // percentile of the last 64 is near the low end of what they were.
        for i in 0..200u64 {
            m.woke(50_000 + (i % 100) * 1_000);
        }
        let window: Vec<u64> = (136..200u64).map(|i| 50_000 + (i % 100) * 1_000).collect();
        let mut sorted = window.clone();
        sorted.sort_unstable();
        assert_eq!(m.ns(), sorted[(SAMPLES - 1) * MARGIN_QUANTILE_PCT / 100]);
        assert!(m.ns() < 100_000, "{}", m.ns());
        // A burst of slow wake-ups raises it, but never past the bound.
        for _ in 0..SAMPLES {
            m.woke(5_000_000);
        }
        assert_eq!(m.ns(), 300_000);
        // And it comes back down when the machine is quick again.
        for _ in 0..SAMPLES {
            m.woke(20_000);
        }
        assert_eq!(m.ns(), 20_000);
    }

    #[test]
    fn one_slow_wake_up_does_not_move_the_margin() {
        let mut m = Margin::new(Wait::DEFAULT, CAP_NS);
        for _ in 0..SAMPLES {
            m.woke(40_000);
        }
        m.woke(4_000_000);
        assert_eq!(m.ns(), 40_000);
    }
}
