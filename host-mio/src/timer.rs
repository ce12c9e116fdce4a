//! Tick deadlines: a monotonic clock and a way to wake the loop on time.
//!
//! mio's poll timeout has millisecond granularity, too coarse for ticks that
//! must land within microseconds of their deadline. A [`Timer`] lets a host
//! plug in a precise wake-up source (on Linux a timerfd armed with an absolute
//! deadline, registered with the same `Poll`); [`PollTimer`] is the portable
//! fallback that only shapes the poll timeout.

use std::io;
use std::time::{Duration, Instant};

use mio::{Registry, Token};

/// A monotonic clock and a wake-up source for absolute deadlines.
pub trait Timer {
    /// Monotonic time in ns on this timer's clock.
    fn now_ns(&self) -> u64;

    /// Registers the wake-up source, if it has one, under `token`.
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()>;

    /// Wakes the loop at `deadline_ns` (an absolute time from [`Timer::now_ns`]);
    /// replaces any earlier deadline.
    fn arm(&mut self, deadline_ns: u64) -> io::Result<()>;

    /// The poll timeout that makes the loop wake at the armed deadline, given
    /// the time now; `None` when the registered source wakes it.
    fn poll_timeout(&self, now_ns: u64) -> Option<Duration>;

    /// The registered source fired: consume the event.
    fn fired(&mut self) -> io::Result<()>;
}

/// The portable fallback: the armed deadline becomes the poll timeout, which
/// mio rounds up to whole milliseconds, so ticks may run up to 1 ms late.
#[derive(Debug)]
pub struct PollTimer {
    base: Instant,
    deadline_ns: Option<u64>,
}

impl PollTimer {
    /// A timer whose clock starts now.
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
            deadline_ns: None,
        }
    }
}

impl Default for PollTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer for PollTimer {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn register(&mut self, _: &Registry, _: Token) -> io::Result<()> {
        Ok(())
    }

    fn arm(&mut self, deadline_ns: u64) -> io::Result<()> {
        self.deadline_ns = Some(deadline_ns);
        Ok(())
    }

    fn poll_timeout(&self, now_ns: u64) -> Option<Duration> {
        self.deadline_ns
            .map(|d| Duration::from_nanos(d.saturating_sub(now_ns)))
    }

    fn fired(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_timer_turns_the_deadline_into_a_timeout() {
        let mut t = PollTimer::new();
        assert_eq!(t.poll_timeout(5), None);
        t.arm(1_500_000).unwrap();
        assert_eq!(t.poll_timeout(500_000), Some(Duration::from_millis(1)));
        assert_eq!(t.poll_timeout(2_000_000), Some(Duration::ZERO));
        let (a, b) = (t.now_ns(), t.now_ns());
        assert!(b >= a, "the clock went back from {a} to {b}");
    }
}
